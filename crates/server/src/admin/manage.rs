//! Client registry operations shared by the admin API and the CLI, so both
//! validate the same way and both revoke tokens on suspension and deletion.
//! Both hand over the grant types, the authentication method and the ID
//! token algorithm as the text they were given, and the parsers here name a
//! mistake: one wording per mistake, whichever door it came through (issue
//! #11 point 8). serde's own "unknown variant … at line 1 column 88" would
//! differ from the CLI's, and would not say what netauth serves.

use netauth_domain::UnixTime;
use netauth_domain::ciba::DeliveryMode;
use netauth_domain::client::{
    AuthMethod, Client, ClientSecret, ClientStatus, SigningAlg, generate_client_id,
};
use netauth_domain::client_auth::parse_jwks;
use netauth_domain::compat::CompatProfile;
use netauth_domain::revocation::RevocationKind;
use netauth_domain::secret::Secret;
use netauth_proto::{GrantType, Scope};
use netauth_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{0}")]
    Invalid(String),
    #[error("no client with this id")]
    NotFound,
    #[error("a client with this id already exists")]
    Exists,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ManageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Self::Exists,
            e => Self::Store(e),
        }
    }
}

fn invalid(s: impl Into<String>) -> ManageError {
    ManageError::Invalid(s.into())
}

/// "field `x` is not one netauth serves: use a, b or c": the wording of
/// every unknown name, here and in `admin::network`. The field is the admin
/// API's (the CLI's help names it beside the flag).
pub(crate) fn not_served_message(field: &str, value: &str, served: &[&str]) -> String {
    let list = match served.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    format!("{field} `{value}` is not one netauth serves: use {list}")
}

fn not_served(field: &str, value: &str, served: &[&str]) -> ManageError {
    invalid(not_served_message(field, value, served))
}

/// A grant type the token endpoint implements, by its RFC name.
pub fn parse_grant_type(s: &str) -> Result<GrantType, ManageError> {
    let served = crate::oauth::token::IMPLEMENTED_GRANTS;
    served
        .iter()
        .copied()
        .find(|g| g.as_str() == s)
        .ok_or_else(|| not_served("grant_types", s, &served.iter().map(|g| g.as_str()).collect::<Vec<_>>()))
}

/// A client authentication method, by its RFC 7591 name.
pub fn parse_auth_method(s: &str) -> Result<AuthMethod, ManageError> {
    const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::AppJwt,
    ];
    AuthMethod::parse(s)
        .ok_or_else(|| not_served("token_endpoint_auth_method", s, &ALL.map(AuthMethod::as_str)))
}

/// An ID token signing algorithm, by its JWA name.
pub fn parse_signing_alg(s: &str) -> Result<SigningAlg, ManageError> {
    SigningAlg::parse(s).ok_or_else(|| {
        not_served("id_token_signed_response_alg", s, &SigningAlg::ALL.map(SigningAlg::as_str))
    })
}

/// A compatibility profile, by its name (`netauth_domain::compat`).
pub fn parse_compat_profile(s: &str) -> Result<CompatProfile, ManageError> {
    CompatProfile::parse(s)
        .ok_or_else(|| not_served("compat_profile", s, &CompatProfile::ALL.map(CompatProfile::as_str)))
}

/// A patch's `"compat_profile"`: absent leaves the profile as it is,
/// `null` removes it (JSON Merge Patch, RFC 7396), a name sets it.
fn present<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(de).map(Some)
}

fn parse_grant_types(v: &[String]) -> Result<Vec<GrantType>, ManageError> {
    v.iter().map(|g| parse_grant_type(g)).collect()
}

/// A client registration request (RFC 7591 names where they exist).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// Chosen by netauth when absent: 128 random bits.
    #[serde(default)]
    pub client_id: Option<String>,
    pub name: String,
    // Text, parsed by `parse_auth_method` (see the module documentation).
    #[schema(value_type = AuthMethod)]
    pub token_endpoint_auth_method: String,
    /// Defaults to `["client_credentials"]`.
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub purposes: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub cors_origins: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Option<SigningAlg>)]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(default)]
    pub access_token_ttl: Option<i64>,
    #[serde(default)]
    pub refresh_token_ttl: Option<i64>,
    /// CIBA delivery mode: poll (default), ping or push.
    #[serde(default)]
    pub backchannel_token_delivery_mode: Option<DeliveryMode>,
    /// Where ping and push notifications go.
    #[serde(default)]
    pub backchannel_client_notification_endpoint: Option<String>,
    /// An operator SDK's dialect accepted beside the CAMARA profile
    /// (docs/operator-sdks.md); strict CAMARA when absent.
    #[serde(default)]
    #[schema(value_type = Option<CompatProfile>)]
    pub compat_profile: Option<String>,
}

/// Changes to a client; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub purposes: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub cors_origins: Option<Vec<String>>,
    #[schema(value_type = Option<SigningAlg>)]
    pub id_token_signed_response_alg: Option<String>,
    pub access_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub backchannel_token_delivery_mode: Option<DeliveryMode>,
    pub backchannel_client_notification_endpoint: Option<String>,
    /// A profile name sets it; `null` removes it (strict CAMARA).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CompatProfile>, nullable = true)]
    pub compat_profile: Option<Option<String>>,
}

/// A client as the admin API and CLI show it: secrets by id only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    #[serde(flatten)]
    pub client: ClientNoSecrets,
    pub secrets: Vec<SecretView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretView {
    pub id: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// `Client` without its secret digests.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClientNoSecrets {
    pub client_id: String,
    pub name: String,
    pub status: ClientStatus,
    pub token_endpoint_auth_method: AuthMethod,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub redirect_uris: Vec<String>,
    #[schema(value_type = Vec<String>)]
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub purposes: Vec<String>,
    pub cors_origins: Vec<String>,
    pub id_token_signed_response_alg: SigningAlg,
    pub access_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub backchannel_token_delivery_mode: Option<DeliveryMode>,
    pub backchannel_client_notification_endpoint: Option<String>,
    /// Strict CAMARA when absent (docs/operator-sdks.md).
    pub compat_profile: Option<CompatProfile>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client: ClientNoSecrets {
                client_id: c.client_id.clone(),
                name: c.name.clone(),
                status: c.status,
                token_endpoint_auth_method: c.token_endpoint_auth_method,
                jwks: c.jwks.clone(),
                jwks_uri: c.jwks_uri.clone(),
                redirect_uris: c.redirect_uris.clone(),
                grant_types: c.grant_types.clone(),
                scopes: c.scopes.clone(),
                purposes: c.purposes.clone(),
                cors_origins: c.cors_origins.clone(),
                id_token_signed_response_alg: c.id_token_signed_response_alg,
                access_token_ttl: c.access_token_ttl,
                refresh_token_ttl: c.refresh_token_ttl,
                backchannel_token_delivery_mode: c.backchannel_token_delivery_mode,
                backchannel_client_notification_endpoint: c.backchannel_client_notification_endpoint.clone(),
                compat_profile: c.compat_profile,
                created_at: c.created_at,
                updated_at: c.updated_at,
            },
            secrets: c
                .secrets
                .iter()
                .map(|s| SecretView { id: s.id.clone(), created_at: s.created_at, expires_at: s.expires_at })
                .collect(),
        }
    }
}

/// The result of creating a client or a secret: the plaintext secret is
/// shown this once and never stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub client: ClientView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
}

fn is_loopback_host(u: &reqwest::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn check_redirect_uri(s: &str) -> Result<(), ManageError> {
    let u =
        reqwest::Url::parse(s).map_err(|_| invalid(format!("redirect_uri `{s}` is not an absolute URI")))?;
    if u.fragment().is_some() {
        return Err(invalid(format!("redirect_uri `{s}` must not have a fragment")));
    }
    // Private-use schemes (com.example.app:/cb) are allowed for native apps
    // (RFC 8252 §7.1); http only on loopback (RFC 8252 §7.3).
    if u.scheme() == "http" && !is_loopback_host(&u) {
        return Err(invalid(format!("redirect_uri `{s}`: http is only allowed on loopback; use https")));
    }
    Ok(())
}

fn check_client(c: &Client, max_ttl: i64) -> Result<(), ManageError> {
    if c.name.trim().is_empty() || c.name.len() > 200 {
        return Err(invalid("name must be 1 to 200 characters"));
    }
    if c.client_id.is_empty()
        || c.client_id.len() > 128
        || !c.client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    {
        return Err(invalid("client_id must be 1 to 128 characters of A-Z a-z 0-9 - . _ ~"));
    }
    if c.grant_types.is_empty() {
        return Err(invalid("grant_types must not be empty"));
    }
    // A code client without a redirect URI could never be sent a code:
    // /authorize only redirects to a registered one.
    if c.grant_types.contains(&GrantType::AuthorizationCode) && c.redirect_uris.is_empty() {
        return Err(invalid(
            "authorization_code needs redirect_uris: /authorize sends the code to one of them",
        ));
    }
    for s in c.scopes.iter().chain(&c.purposes) {
        Scope::parse(s).map_err(|_| invalid(format!("`{s}` is not a valid scope value")))?;
    }
    for p in &c.purposes {
        if !p.starts_with("dpv:") {
            return Err(invalid(format!("purpose `{p}` must be a dpv: value")));
        }
    }
    for r in &c.redirect_uris {
        check_redirect_uri(r)?;
    }
    for o in &c.cors_origins {
        let u = reqwest::Url::parse(o).map_err(|_| invalid(format!("CORS origin `{o}` is not a URL")))?;
        if u.path() != "/" || u.query().is_some() || o.ends_with('/') {
            return Err(invalid(format!("CORS origin `{o}` must be scheme://host[:port] only")));
        }
    }
    let uses_keys = matches!(c.token_endpoint_auth_method, AuthMethod::PrivateKeyJwt | AuthMethod::AppJwt);
    if c.jwks.is_some() && c.jwks_uri.is_some() {
        return Err(invalid("give jwks or jwks_uri, not both"));
    }
    if let Some(j) = &c.jwks {
        if parse_jwks(j).keys.is_empty() {
            return Err(invalid("jwks must be a JWK Set with at least one usable public key"));
        }
        if j.to_string().contains("\"d\"") {
            return Err(invalid("jwks must hold public keys only"));
        }
    }
    if let Some(u) = &c.jwks_uri {
        let url = reqwest::Url::parse(u).map_err(|_| invalid("jwks_uri is not a URL"))?;
        if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback_host(&url)) {
            return Err(invalid("jwks_uri must be https (http only on loopback)"));
        }
    }
    if uses_keys && c.jwks.is_none() && c.jwks_uri.is_none() {
        return Err(invalid(format!("{} needs jwks or jwks_uri", c.token_endpoint_auth_method.as_str())));
    }
    // The grant's assertion is signed with the client's keys.
    if c.grant_types.contains(&GrantType::JwtBearer) && c.jwks.is_none() && c.jwks_uri.is_none() {
        return Err(invalid(format!("{} needs jwks or jwks_uri", GrantType::JwtBearer.as_str())));
    }
    match (c.backchannel_token_delivery_mode, &c.backchannel_client_notification_endpoint) {
        (Some(DeliveryMode::Ping | DeliveryMode::Push), None) => {
            return Err(invalid("ping and push need backchannel_client_notification_endpoint"));
        }
        (_, Some(e)) => {
            let u = reqwest::Url::parse(e)
                .map_err(|_| invalid("backchannel_client_notification_endpoint is not a URL"))?;
            if u.scheme() != "https" && !(u.scheme() == "http" && is_loopback_host(&u)) {
                return Err(invalid(
                    "backchannel_client_notification_endpoint must be https (http only on loopback)",
                ));
            }
        }
        _ => {}
    }
    for (name, ttl) in [("access_token_ttl", c.access_token_ttl), ("refresh_token_ttl", c.refresh_token_ttl)]
    {
        if let Some(t) = ttl
            && (t <= 0 || (name == "access_token_ttl" && t > max_ttl))
        {
            return Err(invalid(format!("{name} must be between 1 and {max_ttl}")));
        }
    }
    Ok(())
}

/// Builds and validates a client from a registration request, with a
/// generated secret when the method uses one.
pub fn build_client(
    req: NewClient,
    max_ttl: i64,
    now: UnixTime,
) -> Result<(Client, Option<Secret>), ManageError> {
    let t = now;
    let mut c = Client {
        client_id: req.client_id.unwrap_or_else(generate_client_id),
        name: req.name,
        status: ClientStatus::Active,
        token_endpoint_auth_method: parse_auth_method(&req.token_endpoint_auth_method)?,
        secrets: Vec::new(),
        jwks: req.jwks,
        jwks_uri: req.jwks_uri,
        redirect_uris: req.redirect_uris,
        grant_types: match &req.grant_types {
            Some(g) => parse_grant_types(g)?,
            None => vec![GrantType::ClientCredentials],
        },
        scopes: req.scopes,
        purposes: req.purposes,
        cors_origins: req.cors_origins,
        id_token_signed_response_alg: req
            .id_token_signed_response_alg
            .as_deref()
            .map(parse_signing_alg)
            .transpose()?
            .unwrap_or_default(),
        access_token_ttl: req.access_token_ttl,
        refresh_token_ttl: req.refresh_token_ttl,
        backchannel_token_delivery_mode: req.backchannel_token_delivery_mode,
        backchannel_client_notification_endpoint: req.backchannel_client_notification_endpoint,
        compat_profile: req.compat_profile.as_deref().map(parse_compat_profile).transpose()?,
        created_at: t,
        updated_at: t,
    };
    let secret = if c.token_endpoint_auth_method.uses_secret() {
        let (plain, rec) = ClientSecret::generate(t, None);
        c.secrets.push(rec);
        Some(plain)
    } else {
        None
    };
    check_client(&c, max_ttl)?;
    Ok((c, secret))
}

pub async fn create_client(
    store: &dyn Store,
    req: NewClient,
    max_ttl: i64,
    now: UnixTime,
) -> Result<Created, ManageError> {
    let (c, secret) = build_client(req, max_ttl, now)?;
    store.insert_client(&c).await?;
    // Nodes may have cached "no such client" for this id.
    announce(store, &c.client_id, false, 60, now).await?;
    let secret_id = secret.as_ref().and_then(|_| c.secrets.first().map(|s| s.id.clone()));
    Ok(Created { client: ClientView::from(&c), client_secret: secret, secret_id })
}

async fn load(store: &dyn Store, id: &str) -> Result<Client, ManageError> {
    store.get_client(id).await?.ok_or(ManageError::NotFound)
}

async fn save(store: &dyn Store, c: &mut Client, now: UnixTime) -> Result<(), ManageError> {
    c.updated_at = now;
    if store.update_client(c).await? { Ok(()) } else { Err(ManageError::NotFound) }
}

/// Tells every node that a client changed. With `revoke_tokens`, every
/// token issued to it so far stops working.
async fn announce(
    store: &dyn Store,
    id: &str,
    revoke_tokens: bool,
    max_lifetime: i64,
    now: UnixTime,
) -> Result<(), ManageError> {
    let t = now;
    let issued_before = if revoke_tokens { t } else { 0 };
    store.append_revocation(RevocationKind::Client, id, issued_before, t + max_lifetime, t).await?;
    Ok(())
}

pub async fn patch_client(
    store: &dyn Store,
    id: &str,
    p: ClientPatch,
    max_ttl: i64,
    now: UnixTime,
) -> Result<ClientView, ManageError> {
    let mut c = load(store, id).await?;
    if let Some(v) = p.name {
        c.name = v;
    }
    if let Some(v) = p.grant_types {
        c.grant_types = parse_grant_types(&v)?;
    }
    if let Some(v) = p.scopes {
        c.scopes = v;
    }
    if let Some(v) = p.purposes {
        c.purposes = v;
    }
    if let Some(v) = p.redirect_uris {
        c.redirect_uris = v;
    }
    if let Some(v) = p.jwks {
        c.jwks = Some(v);
        c.jwks_uri = None;
    }
    if let Some(v) = p.jwks_uri {
        c.jwks_uri = Some(v);
        c.jwks = None;
    }
    if let Some(v) = p.cors_origins {
        c.cors_origins = v;
    }
    if let Some(v) = p.id_token_signed_response_alg {
        c.id_token_signed_response_alg = parse_signing_alg(&v)?;
    }
    if let Some(v) = p.access_token_ttl {
        c.access_token_ttl = Some(v);
    }
    if let Some(v) = p.refresh_token_ttl {
        c.refresh_token_ttl = Some(v);
    }
    if let Some(v) = p.backchannel_token_delivery_mode {
        c.backchannel_token_delivery_mode = Some(v);
    }
    if let Some(v) = p.backchannel_client_notification_endpoint {
        c.backchannel_client_notification_endpoint = Some(v);
    }
    if let Some(v) = p.compat_profile {
        c.compat_profile = v.as_deref().map(parse_compat_profile).transpose()?;
    }
    check_client(&c, max_ttl)?;
    save(store, &mut c, now).await?;
    announce(store, id, false, max_ttl, now).await?;
    Ok(ClientView::from(&c))
}

/// Suspends or reactivates. Suspension revokes every token issued so far.
pub async fn set_status(
    store: &dyn Store,
    id: &str,
    status: ClientStatus,
    max_lifetime: i64,
    now: UnixTime,
) -> Result<ClientView, ManageError> {
    let mut c = load(store, id).await?;
    c.status = status;
    save(store, &mut c, now).await?;
    announce(store, id, status == ClientStatus::Suspended, max_lifetime, now).await?;
    Ok(ClientView::from(&c))
}

pub async fn delete_client(
    store: &dyn Store,
    id: &str,
    max_lifetime: i64,
    now: UnixTime,
) -> Result<(), ManageError> {
    if !store.delete_client(id).await? {
        return Err(ManageError::NotFound);
    }
    announce(store, id, true, max_lifetime, now).await
}

/// Adds a new secret; the existing ones expire after `expire_existing_in`
/// seconds (kept as they are when absent), so a client rolls over without
/// downtime.
/// The longest a secret's lifetime can be set to: any longer is "never",
/// which is what leaving `expires_in` out says, and bounding it keeps
/// `now + expires_in` far from overflowing.
pub const MAX_SECRET_LIFETIME: i64 = 10 * 365 * 86400;

pub async fn add_secret(
    store: &dyn Store,
    id: &str,
    expires_in: Option<i64>,
    expire_existing_in: Option<i64>,
    now: UnixTime,
) -> Result<Created, ManageError> {
    let mut c = load(store, id).await?;
    if !c.token_endpoint_auth_method.uses_secret() {
        return Err(invalid("this client authenticates with keys, not secrets"));
    }
    let t = now;
    if let Some(s) = expire_existing_in {
        if !(0..=MAX_SECRET_LIFETIME).contains(&s) {
            return Err(invalid("expire_existing_in must be between 0 and 315360000 seconds (10 years)"));
        }
        for old in &mut c.secrets {
            old.expires_at = Some(old.expires_at.map_or(t + s, |e| e.min(t + s)));
        }
    }
    if expires_in.is_some_and(|e| !(1..=MAX_SECRET_LIFETIME).contains(&e)) {
        return Err(invalid("expires_in must be between 1 and 315360000 seconds (10 years)"));
    }
    // Expired secrets are dropped; the list stays short.
    c.secrets.retain(|s| s.is_live(t));
    if c.secrets.len() >= 5 {
        return Err(invalid("a client holds at most 5 live secrets; delete one first"));
    }
    let (plain, rec) = ClientSecret::generate(t, expires_in.map(|e| t + e));
    let secret_id = rec.id.clone();
    c.secrets.push(rec);
    save(store, &mut c, now).await?;
    announce(store, id, false, 60, now).await?;
    Ok(Created { client: ClientView::from(&c), client_secret: Some(plain), secret_id: Some(secret_id) })
}

pub async fn delete_secret(
    store: &dyn Store,
    id: &str,
    secret_id: &str,
    now: UnixTime,
) -> Result<ClientView, ManageError> {
    let mut c = load(store, id).await?;
    let before = c.secrets.len();
    c.secrets.retain(|s| s.id != secret_id);
    if c.secrets.len() == before {
        return Err(ManageError::NotFound);
    }
    save(store, &mut c, now).await?;
    announce(store, id, false, 60, now).await?;
    Ok(ClientView::from(&c))
}
