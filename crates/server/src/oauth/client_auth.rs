//! Client authentication, one implementation for every endpoint that
//! authenticates clients (RFC 6749 §2.3, RFC 7523 §2.2, OIDC Core §9, the
//! CAMARA profile §1.3, and seed 002's application JWT).
//!
//! ```text
//! request ──► presented_credentials()   which method, exactly one (SECURITY.md 23)
//!         ──► FailureLimiter::check      429 when this address, or this id from
//!                                        it, is over budget (SECURITY.md 24)
//!         ──► App::client()              cached registration
//!         ──► verify: secret (constant time) | assertion (domain::client_auth)
//!         ──► client_keys::spend_jti      single use on every node (SECURITY.md 22)
//!         ──► status check               suspended clients get nothing (SECURITY.md 17)
//! ```
//! Every failure is 401 `invalid_client` with `WWW-Authenticate`, except
//! for the JWT bearer grant's assertion: when a token request presents no
//! other credentials, the signed assertion itself authenticates the client
//! (RFC 7523 §3.1, CAMARA profile §1.3), and its failures are 400
//! `invalid_grant`.
//! The method must be the registered one, except that introspection and
//! revocation take a secret either way ([`MethodRule`]).

use crate::errors::OAuthReply;
use crate::infra::state::App;
use crate::oauth::client_keys::{JtiSpace, spend_jti, verify_with_client_keys};
use axum::http::{HeaderMap, header};
use base64::Engine;
use netauth_domain::client::{AuthMethod, Client, verify_secret_dummy};
use netauth_domain::client_auth::{
    AssertionError, GrantAssertion, JWT_BEARER_ASSERTION_TYPE, VerifiedAssertion, peek_claims,
    verify_app_jwt, verify_client_assertion, verify_grant_assertion,
};
use netauth_proto::{Form, GrantType, OAuthError};
use std::net::IpAddr;
use std::sync::Arc;

/// Which presented method a client may use at an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodRule {
    /// Exactly the registered `token_endpoint_auth_method` (token and
    /// backchannel authentication endpoints).
    Registered,
    /// Introspection and revocation: a client registered for
    /// `client_secret_basic` or `client_secret_post` may present its secret
    /// either way. RFC 8414 §2 lists the methods per endpoint
    /// (`introspection_endpoint_auth_methods_supported`), not per client,
    /// and common libraries (Authlib's `revoke_token`) use Basic there
    /// whatever the client's registration says; the secret is the same
    /// secret, so accepting either costs nothing. Key-based clients still
    /// use their key, and two methods in one request stay refused
    /// (SECURITY.md 23).
    EitherSecretMethod,
}

impl MethodRule {
    fn allows(self, presented: AuthMethod, registered: AuthMethod) -> bool {
        presented == registered
            || (self == MethodRule::EitherSecretMethod && presented.uses_secret() && registered.uses_secret())
    }
}

/// What the request presented.
#[derive(Debug)]
enum Presented {
    Basic {
        client_id: String,
        secret: String,
    },
    Post {
        client_id: String,
        secret: String,
    },
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
    AppJwt {
        jwt: String,
    },
    /// No credentials, at the token endpoint, with the JWT bearer grant:
    /// the grant's assertion authenticates its issuer.
    GrantAssertion {
        assertion: String,
    },
}

impl Presented {
    fn method(&self) -> AuthMethod {
        match self {
            Self::Basic { .. } => AuthMethod::ClientSecretBasic,
            Self::Post { .. } => AuthMethod::ClientSecretPost,
            Self::Assertion { .. } => AuthMethod::PrivateKeyJwt,
            Self::AppJwt { .. } => AuthMethod::AppJwt,
            // Signed with the keys private_key_jwt uses.
            Self::GrantAssertion { .. } => AuthMethod::PrivateKeyJwt,
        }
    }
    fn scheme(&self) -> &'static str {
        match self {
            Self::AppJwt { .. } => "Bearer",
            _ => "Basic",
        }
    }
}

fn invalid_request(d: &'static str) -> OAuthReply {
    OAuthError::invalid_request(d).into()
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined
/// with `:` and base64-encoded.
fn form_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn presented_credentials(
    headers: &HeaderMap,
    form: &Form,
    grant_assertion_allowed: bool,
) -> Result<Presented, OAuthReply> {
    let mut found: Vec<Presented> = Vec::new();
    let mut auth_headers = headers.get_all(header::AUTHORIZATION).iter();
    let auth = auth_headers.next();
    if auth_headers.next().is_some() {
        return Err(invalid_request("more than one Authorization header"));
    }
    if let Some(v) = auth {
        let v = v.to_str().map_err(|_| invalid_request("malformed Authorization header"))?;
        let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid_request("malformed Basic credentials"))?;
            let (id, secret) =
                raw.split_once(':').ok_or_else(|| invalid_request("malformed Basic credentials"))?;
            found.push(Presented::Basic { client_id: form_decode(id), secret: form_decode(secret) });
        } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            found.push(Presented::AppJwt { jwt: rest.to_owned() });
        } else {
            return Err(invalid_request("unsupported Authorization scheme"));
        }
    }
    if let Some(secret) = form.get("client_secret") {
        let client_id =
            form.get("client_id").ok_or_else(|| invalid_request("client_secret without client_id"))?;
        found.push(Presented::Post { client_id: client_id.to_owned(), secret: secret.to_owned() });
    }
    match (form.get("client_assertion_type"), form.get("client_assertion")) {
        (Some(JWT_BEARER_ASSERTION_TYPE), Some(a)) => found.push(Presented::Assertion {
            client_id: form.get("client_id").map(str::to_owned),
            assertion: a.to_owned(),
        }),
        (Some(_), Some(_)) => return Err(invalid_request("unsupported client_assertion_type")),
        (Some(_), None) | (None, Some(_)) => {
            return Err(invalid_request("client_assertion and client_assertion_type go together"));
        }
        (None, None) => {}
    }
    if found.len() > 1 {
        return Err(invalid_request("more than one client authentication method in the request"));
    }
    if found.is_empty()
        && grant_assertion_allowed
        && form.get("grant_type") == Some(GrantType::JwtBearer.as_str())
        && let Some(a) = form.get("assertion")
    {
        found.push(Presented::GrantAssertion { assertion: a.to_owned() });
    }
    let p = found
        .pop()
        .ok_or_else(|| OAuthReply::from(OAuthError::invalid_client("client authentication required")))?;
    // A client_id parameter next to Basic credentials must name the same client.
    if let Presented::Basic { client_id, .. } = &p
        && form.get("client_id").is_some_and(|id| id != client_id)
    {
        return Err(invalid_request("client_id does not match the Basic credentials"));
    }
    Ok(p)
}

/// The client id a request claims, before anything is verified (for the
/// request log, after authentication failed).
pub fn claimed_client_id(headers: &HeaderMap, form: &Form) -> Option<String> {
    presented_credentials(headers, form, true)
        .ok()
        .and_then(|p| claimed_id(&p))
        .or_else(|| form.get("client_id").map(str::to_owned))
}

/// The client id a presentation claims, before anything is verified.
fn claimed_id(p: &Presented) -> Option<String> {
    match p {
        Presented::Basic { client_id, .. } | Presented::Post { client_id, .. } => Some(client_id.clone()),
        Presented::Assertion { client_id: Some(id), .. } => Some(id.clone()),
        Presented::Assertion { client_id: None, assertion } => {
            peek_claims(assertion)?.get("sub")?.as_str().map(str::to_owned)
        }
        Presented::AppJwt { jwt } => peek_claims(jwt)?.get("application_id")?.as_str().map(str::to_owned),
        Presented::GrantAssertion { assertion } => {
            peek_claims(assertion)?.get("iss")?.as_str().map(str::to_owned)
        }
    }
}

/// An authenticated client, and the JWT bearer grant assertion that
/// authenticated it, if one did (verified, its `jti` spent).
pub struct Authenticated {
    pub client: Arc<Client>,
    pub grant_assertion: Option<GrantAssertion>,
}

/// Where a client authenticates, which decides what it may present there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthAt {
    /// The token endpoint: a JWT bearer grant's assertion may authenticate
    /// its issuer when nothing else is presented.
    Token,
    /// The other OAuth endpoints (introspection, revocation, backchannel).
    OAuth,
    /// Seed 002's Network Enablement: the application JWT only. Its `jti`
    /// is single use here and, separately, at the token endpoint: the seed
    /// has the backend present the same JWT to both (docs/integration/vonage.md).
    NetworkEnablement,
}

impl AuthAt {
    /// The replay space of application JWTs presented here.
    fn app_jwt_space(self) -> &'static str {
        match self {
            Self::NetworkEnablement => "network-enablement:",
            Self::Token | Self::OAuth => "",
        }
    }
}

/// Authenticates the client of a request to `endpoint_url`.
pub async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    form: &Form,
    addr: IpAddr,
    endpoint_url: &str,
    rule: MethodRule,
) -> Result<Arc<Client>, OAuthReply> {
    Ok(authenticate_request(app, headers, form, addr, endpoint_url, AuthAt::OAuth, rule).await?.client)
}

/// [`authenticate`], for a request to an endpoint of kind `at`.
pub async fn authenticate_request(
    app: &App,
    headers: &HeaderMap,
    form: &Form,
    addr: IpAddr,
    endpoint_url: &str,
    at: AuthAt,
    rule: MethodRule,
) -> Result<Authenticated, OAuthReply> {
    let presented = presented_credentials(headers, form, at == AuthAt::Token)?;
    if at == AuthAt::NetworkEnablement && !matches!(presented, Presented::AppJwt { .. }) {
        return Err(
            OAuthError::invalid_client("an application JWT in Authorization: Bearer is required").into()
        );
    }
    let scheme = presented.scheme();
    let is_grant = matches!(presented, Presented::GrantAssertion { .. });
    let claimed = claimed_id(&presented);
    if let Some(wait) = app.limiter.check(claimed.as_deref(), addr) {
        return Err(OAuthError::too_many_attempts(wait).into());
    }
    let fail = |description: String| {
        crate::infra::metrics::Metrics::inc(&app.metrics.client_auth_failures);
        app.limiter.record_failure(claimed.as_deref(), addr);
        tracing::info!(client_id = claimed.as_deref().unwrap_or("-"), %addr, reason = %description, "client authentication failed");
        if is_grant {
            // RFC 7523 §3.1: an assertion that does not verify is invalid_grant.
            return OAuthError::invalid_grant(description).into();
        }
        OAuthReply { error: OAuthError::invalid_client(description), scheme }
    };
    let client = match &claimed {
        Some(id) if id.len() <= 255 => app.client(id).await?,
        _ => None,
    };
    let Some(client) = client else {
        if let Presented::Basic { secret, .. } | Presented::Post { secret, .. } = &presented {
            verify_secret_dummy(secret);
        }
        if is_grant {
            return Err(fail("the assertion's `iss` is not a registered client".into()));
        }
        return Err(fail("client authentication failed".into()));
    };
    let t = app.now();
    // A grant assertion is checked against the client's keys, whatever its
    // registered method: holding the private key authenticates it.
    if !is_grant && !rule.allows(presented.method(), client.token_endpoint_auth_method) {
        // The same answer as for an unknown client, so that ids cannot be
        // enumerated; the log says what happened.
        tracing::info!(client_id = %client.client_id, registered = client.token_endpoint_auth_method.as_str(),
            presented = presented.method().as_str(), "authentication method differs from the registered one");
        if let Presented::Basic { secret, .. } | Presented::Post { secret, .. } = &presented {
            verify_secret_dummy(secret);
        }
        return Err(fail("client authentication failed".into()));
    }
    let mut grant_assertion = None;
    match &presented {
        Presented::Basic { secret, .. } | Presented::Post { secret, .. } => {
            if !client.verify_secret(secret, t) {
                return Err(fail("client authentication failed".into()));
            }
        }
        Presented::Assertion { assertion, .. } => {
            let issuer = app.issuer.as_str();
            let audiences = [issuer, endpoint_url, &format!("{issuer}{}", crate::routes::TOKEN.path)];
            let skew = app.config.client_auth.clock_skew_secs;
            let v = verify_with_keys(app, &client, |set| {
                verify_client_assertion(assertion, &client, set, &audiences, t, skew)
            })
            .await
            .map_err(&fail)?;
            record_jti(app, &client, &v).await.map_err(|r| match r {
                Ok(d) => fail(d),
                Err(store) => store,
            })?;
        }
        Presented::AppJwt { jwt } => {
            let skew = app.config.client_auth.clock_skew_secs;
            let mut v = verify_with_keys(app, &client, |set| verify_app_jwt(jwt, &client, set, t, skew))
                .await
                .map_err(&fail)?;
            v.jti.insert_str(0, at.app_jwt_space());
            record_jti(app, &client, &v).await.map_err(|r| match r {
                Ok(d) => fail(d),
                Err(store) => store,
            })?;
        }
        Presented::GrantAssertion { assertion } => {
            // RFC 7523 §3: the issuer or the token endpoint (canonical, or
            // the alias it was sent to).
            let issuer = app.issuer.as_str();
            let audiences = [issuer, endpoint_url, &format!("{issuer}{}", crate::routes::TOKEN.path)];
            let g = verify_grant_assertion_with_keys(app, &client, assertion, &audiences, t)
                .await
                .map_err(&fail)?;
            record_grant_jti(app, &client, &g).await.map_err(|r| match r {
                Ok(d) => fail(d),
                Err(store) => store,
            })?;
            grant_assertion = Some(g);
        }
    }
    if !client.is_active() {
        return Err(fail("the client is suspended".into()));
    }
    Ok(Authenticated { client, grant_assertion })
}

/// Verifies a JWT bearer grant assertion of `client` with its registered
/// keys (see `verify_grant_assertion`); the caller records its `jti`.
pub async fn verify_grant_assertion_with_keys(
    app: &App,
    client: &Client,
    assertion: &str,
    audiences: &[&str],
    now: netauth_domain::UnixTime,
) -> Result<GrantAssertion, String> {
    let skew = app.config.client_auth.clock_skew_secs;
    verify_with_keys(app, client, |set| verify_grant_assertion(assertion, client, set, audiences, now, skew))
        .await
}

/// Records a grant assertion's `jti`: single use on every node, in a space
/// of its own (`grant:`), so that it never collides with the client's
/// assertion `jti`s.
pub async fn record_grant_jti(
    app: &App,
    client: &Client,
    g: &GrantAssertion,
) -> Result<(), Result<String, OAuthReply>> {
    match spend_jti(app, &client.client_id, JtiSpace::Grant, &g.jti, g.exp).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Ok("the assertion's jti has already been used".into())),
        Err(e) => Err(Err(e.into())),
    }
}

/// Verifies with the client's keys (see `client_keys`); the description
/// of a failure is what the 401 says.
async fn verify_with_keys<T>(
    app: &App,
    client: &Client,
    verify: impl Fn(&jsonwebtoken::jwk::JwkSet) -> Result<T, AssertionError>,
) -> Result<T, String> {
    verify_with_client_keys(app, client, verify).await.map_err(|e| e.to_string())
}

/// `Ok(Err(store failure))` is not an authentication failure: the outer
/// `Result` separates "replayed" (a description) from the database being down.
async fn record_jti(
    app: &App,
    client: &Client,
    v: &VerifiedAssertion,
) -> Result<(), Result<String, OAuthReply>> {
    match spend_jti(app, &client.client_id, JtiSpace::Assertion, &v.jti, v.exp).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Ok("the assertion's jti has already been used".into())),
        Err(e) => Err(Err(e.into())),
    }
}
