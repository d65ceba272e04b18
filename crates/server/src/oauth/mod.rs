//! OAuth 2.0 / OIDC endpoints.

pub mod authorize;
pub mod ciba;
pub mod client_auth;
pub mod client_keys;
pub mod code_grant;
pub mod consent;
pub mod discovery;
pub mod introspect;
pub mod issue;
pub mod jwt_bearer;
pub mod network_enablement;
pub mod openapi;
pub mod token;
pub mod userinfo;

use crate::errors::OAuthReply;
use axum::http::{HeaderMap, header};
use netauth_proto::{Form, OAuthError};

/// Parses an OAuth request body: `application/x-www-form-urlencoded` only
/// (RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1).
pub fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthReply> {
    if !is_form_content_type(headers) {
        return Err(content_type_error());
    }
    Ok(Form::parse(body)?)
}

fn mime(headers: &HeaderMap) -> &str {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    ct.split(';').next().unwrap_or("").trim()
}

fn is_form_content_type(headers: &HeaderMap) -> bool {
    mime(headers).eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn content_type_error() -> OAuthReply {
    OAuthError::invalid_request("the request body must be application/x-www-form-urlencoded").into()
}

/// A form body labelled `application/json`, for a client whose
/// compatibility profile says its SDK sends that
/// (`netauth_domain::compat`). Looked at only after the ordinary reading
/// failed, and decided before anything is verified, so that every other
/// client gets the ordinary answer with no side effect (no assertion
/// spent); the extractor checks the profile again once the client is
/// authenticated. A JSON object is never read as a form.
async fn form_labelled_json(
    app: &crate::infra::state::App,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Form> {
    if !mime(headers).eq_ignore_ascii_case("application/json") || body.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let form = Form::parse(body).ok()?;
    let id = crate::oauth::client_auth::claimed_client_id(headers, &form)?;
    if id.len() > 255 {
        return None;
    }
    let client = app.client(&id).await.ok()??;
    netauth_domain::compat::reads_form_labelled_json(client.compat_profile).then_some(form)
}

/// A body that could not be read: 413 only when it is over
/// `server.request_body_limit`; a malformed one (bad chunked encoding, a
/// connection cut mid-body) is the client's error, 400.
fn body_error(r: axum::extract::rejection::BytesRejection) -> OAuthReply {
    use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
    match r {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            OAuthError::invalid_request("the request body is too large").with_status(413).into()
        }
        _ => OAuthError::invalid_request("the request body could not be read").into(),
    }
}

/// Which authentication methods an endpoint accepts from a client, as a
/// type so that each handler's signature says it.
pub trait MethodRule: Send + Sync + 'static {
    const RULE: crate::oauth::client_auth::MethodRule;
}

/// The method the client registered, and no other: the token and
/// backchannel authentication endpoints.
pub struct RegisteredMethod;
impl MethodRule for RegisteredMethod {
    const RULE: crate::oauth::client_auth::MethodRule = crate::oauth::client_auth::MethodRule::Registered;
}

/// Introspection and revocation: a client registered for a secret may
/// present it with Basic or in the form (see `client_auth::MethodRule`).
pub struct EitherSecretMethod;
impl MethodRule for EitherSecretMethod {
    const RULE: crate::oauth::client_auth::MethodRule =
        crate::oauth::client_auth::MethodRule::EitherSecretMethod;
}

/// An OAuth request from an authenticated client: what every endpoint that
/// authenticates clients starts with (token, introspection, revocation,
/// backchannel authentication). Extracting it parses the form and runs
/// client authentication under the endpoint's [`MethodRule`]; handlers see
/// only authenticated clients.
pub struct ClientRequest<R: MethodRule = RegisteredMethod> {
    pub form: Form,
    pub client: std::sync::Arc<netauth_domain::client::Client>,
    /// The URL the request was sent to (an accepted assertion audience).
    pub endpoint_url: String,
    pub headers: HeaderMap,
    /// At the token endpoint, a JWT bearer grant's assertion that
    /// authenticated the client (no other credentials were presented):
    /// already verified and spent.
    pub grant_assertion: Option<netauth_domain::client_auth::GrantAssertion>,
    /// What the handler learns for the request log (`infra::request_log`).
    pub note: crate::infra::request_log::Note,
    _rule: std::marker::PhantomData<R>,
}

impl<R: MethodRule> axum::extract::FromRequest<crate::infra::state::AppState> for ClientRequest<R> {
    type Rejection = OAuthReply;

    async fn from_request(
        req: axum::extract::Request,
        app: &crate::infra::state::AppState,
    ) -> Result<Self, OAuthReply> {
        use axum::extract::{ConnectInfo, OriginalUri};
        let (parts, body) = req.into_parts();
        let note = parts.extensions.get::<crate::infra::request_log::Note>().cloned().unwrap_or_default();
        // Set once the client is authenticated, so that CORS answers only
        // its own registered origins (`infra::cors`).
        let cors = parts.extensions.get::<crate::infra::cors::CorsClient>().cloned();
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0)
            .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
        let path = parts.extensions.get::<OriginalUri>().map_or(parts.uri.path(), |u| u.0.path());
        let endpoint_url = format!("{}{}", app.issuer, path);
        // Only the token endpoint takes a grant assertion as credentials.
        let at_token = crate::routes::TOKEN.paths().any(|p| p == path);
        let headers = parts.headers.clone();
        let body = axum::body::Bytes::from_request(axum::extract::Request::from_parts(parts, body), app)
            .await
            .map_err(body_error)?;
        // `labelled_json`: read as a form although labelled JSON, which the
        // authenticated client's profile must allow (checked below).
        let (form, labelled_json) = if is_form_content_type(&headers) {
            (Form::parse(&body)?, false)
        } else {
            (form_labelled_json(app, &headers, &body).await.ok_or_else(content_type_error)?, true)
        };
        let addr = crate::infra::client_ip::client_ip(peer, &headers, &app.config.server.trusted_proxies);
        use crate::oauth::client_auth::AuthAt;
        if let Some(g) = form.get("grant_type") {
            note.grant_type(g);
        }
        let auth = match crate::oauth::client_auth::authenticate_request(
            app,
            &headers,
            &form,
            addr,
            &endpoint_url,
            if at_token { AuthAt::Token } else { AuthAt::OAuth },
            R::RULE,
        )
        .await
        {
            Ok(a) => a,
            Err(e) => {
                if let Some(id) = crate::oauth::client_auth::claimed_client_id(&headers, &form) {
                    note.client(&id);
                }
                return Err(e);
            }
        };
        // Read as a form only for the client that authenticated (the claim
        // looked at before authenticating is not proof).
        if labelled_json && !netauth_domain::compat::reads_form_labelled_json(auth.client.compat_profile) {
            return Err(content_type_error());
        }
        note.client(&auth.client.client_id);
        if let Some(slot) = &cors {
            slot.set(&auth.client.client_id);
        }
        Ok(Self {
            form,
            client: auth.client,
            endpoint_url,
            headers,
            grant_assertion: auth.grant_assertion,
            note,
            _rule: std::marker::PhantomData,
        })
    }
}
