//! Validating an authorization request (RFC 6749 §4.1.1, §4.1.2.1; OIDC
//! Core §3.1.2.1–3.1.2.2; RFC 9101; the CAMARA profile §1.4, §1.9).
//!
//! The order matters: the client and the redirect URI are checked first and
//! any problem with them is an HTML page, never a redirect (SECURITY.md 1–3,
//! no open redirector); everything after that goes back to the client as an
//! error response carrying `state` and `iss` (seed 003's codes and
//! descriptions). The client's compatibility profile
//! (`netauth_domain::compat`) is applied where the scopes and the hint are
//! read; without one the CAMARA profile applies exactly.

use crate::infra::state::App;
use crate::oauth::client_keys::{JtiSpace, KeysError, spend_jti, verify_with_client_keys};
use crate::pages::{Display as PageDisplay, Lang, PageError};
use axum::http::StatusCode;
use netauth_domain::authorize::{PendingAuthorization, RedirectUriError, resolve_redirect_uri};
use netauth_domain::client::Client;
use netauth_domain::client_auth::verify_authorization_request_object;
use netauth_domain::compat;
use netauth_domain::flows::{PolicyGrant, authorize_request};
use netauth_proto::authorize::AuthorizationParams;
use netauth_proto::{Form, GrantType, OAuthError, OAuthErrorCode, Scope, ScopeSet};
use std::sync::Arc;

/// Why a request stops.
#[derive(Debug)]
pub enum Rejection {
    /// Not safe to redirect: an error page for the person.
    Page(PageError),
    /// Back to the client (RFC 6749 §4.1.2.1).
    Redirect { redirect_uri: String, error: OAuthError, state: Option<String> },
}

impl From<netauth_store::StoreError> for Rejection {
    fn from(e: netauth_store::StoreError) -> Self {
        Self::Page(e.into())
    }
}

/// A request that passed every check that does not depend on who the
/// subscriber is. `pending` lacks its handle, session and times, which the
/// flow fills in if the request has to wait for a page.
pub struct Validated {
    pub client: Arc<Client>,
    pub pending: PendingAuthorization,
}

/// The language and display of the request's pages, from its raw
/// parameters (so that even its error pages speak the person's language).
pub fn look(p: &AuthorizationParams) -> (Lang, PageDisplay) {
    let lang = Lang::negotiate(p.ui_locales.as_deref());
    let display = p.display.as_deref().and_then(PageDisplay::parse).unwrap_or_default();
    (lang, display)
}

pub fn page_display(d: netauth_proto::authorize::Display) -> PageDisplay {
    PageDisplay::parse(d.as_str()).unwrap_or_default()
}

fn page(lang: Lang, display: PageDisplay, message: impl Into<String>) -> Rejection {
    Rejection::Page(PageError::new(StatusCode::BAD_REQUEST, "Invalid request", message).shown(lang, display))
}

pub async fn validate(app: &App, form: &Form, endpoint_url: &str) -> Result<Validated, Rejection> {
    let plain = AuthorizationParams::from_form(form);
    let (lang, display) = look(&plain);
    // 1. The client: unknown or missing is a page (seed 003: "a generic error page").
    let Some(client_id) = plain.client_id.as_deref() else {
        return Err(page(lang, display, "The request does not name an application (client_id is missing)."));
    };
    let client = match client_id.len() <= 255 {
        true => app.client(client_id).await?,
        false => None,
    };
    let Some(client) = client else {
        return Err(page(lang, display, "The application that sent you here is not known to this server."));
    };
    // 2. A request object, whose parameters replace the plain ones.
    let params = match plain.request.as_deref() {
        None => plain.clone(),
        Some(jwt) => match request_object(app, &client, jwt, endpoint_url).await {
            Ok(object) => match plain.merge_request_object(object) {
                Ok(m) => m,
                Err(e) => return Err(redirect_or_page(&client, &plain, e, lang, display)),
            },
            Err(e) => return Err(redirect_or_page(&client, &plain, e, lang, display)),
        },
    };
    // 3. The redirect URI.
    let redirect_uri = match resolve_redirect_uri(&client.redirect_uris, params.redirect_uri.as_deref()) {
        Ok(u) => u,
        Err(RedirectUriError::Missing) => {
            return Err(page(
                lang,
                display,
                "The request does not say where to return (redirect_uri is missing).",
            ));
        }
        Err(RedirectUriError::NotRegistered) => {
            return Err(page(
                lang,
                display,
                "The address to return to (redirect_uri) is not registered for this application.",
            ));
        }
    };
    let state = params.state.clone();
    let back = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        state: state.clone().filter(|s| s.len() <= netauth_proto::authorize::MAX_STATE_LEN),
    };
    // 4. Everything else answers by redirect.
    if !client.is_active() || !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(back(OAuthError::unauthorized_client(
            "The application that makes the request is not authorized to access this endpoint",
        )));
    }
    let v = params.validate().map_err(back)?;
    let scope_text = params.scope.clone().unwrap_or_else(|| client.scopes.join(" "));
    let profile = client.compat_profile;
    let (purpose, mut asked) =
        match compat::normalise_scopes(profile, Some(&scope_text), params.purpose.as_deref()) {
            Ok(Some(ps)) => (Some(ps.purpose), ps.scopes),
            Ok(None) => (None, ScopeSet::parse(&scope_text).map_err(|_| back(cannot_understand()))?),
            Err(_) => return Err(back(cannot_understand())),
        };
    // CAMARA profile §1.9: OIDC claims asked without `openid` are invalid_request.
    if !v.claims.is_empty() && !asked.has(&Scope::OPENID) {
        return Err(back(OAuthError::invalid_request("claims requested without the openid scope")));
    }
    // A phone claim asked for is the `phone` scope's data: the same consent.
    if (v.claims.asks("phone_number") || v.claims.asks("phone_number_verified"))
        && client.scopes.iter().any(|c| c == "phone")
        && let Ok(phone) = Scope::parse("phone")
    {
        asked.insert(phone);
    }
    let rules = app.legal_bases().await?;
    let decision =
        authorize_request(&client, Some(&asked), purpose.as_ref(), &rules, PolicyGrant::AuthorizationCode)
            .map_err(|e| back(OAuthError::from(e)))?;
    if decision.scopes.is_empty() {
        return Err(back(OAuthError::invalid_scope("no scope was requested")));
    }
    let consent_purpose = match &decision.purpose {
        Some(p) => p.to_string(),
        None => app.config.authorize.default_purpose.clone(),
    };
    let scopes: Vec<String> = decision.scopes.iter().map(|s| s.to_string()).collect();
    let consent_scopes: Vec<String> = decision.consent_scopes().map(|s| s.to_string()).collect();
    let pending = PendingAuthorization {
        id_hash: String::new(),
        session_hash: String::new(),
        version: 0,
        client_id: client.client_id.clone(),
        entry_path: String::new(),
        redirect_uri,
        redirect_uri_sent: params.redirect_uri.is_some(),
        state,
        scopes,
        scope_sent: params.scope.is_some(),
        purpose: decision.purpose.as_ref().map(|p| p.to_string()),
        consent_purpose,
        consent_scopes,
        nonce: params.nonce.clone(),
        code_challenge: v.code_challenge.map(|c| c.as_str().to_owned()),
        prompt: v.prompt,
        max_age: v.max_age,
        display: v.display,
        ui_locales: params.ui_locales.clone().filter(|l| l.len() <= 64),
        // CAMARA profile §1.4: login_hint is undefined here and never an
        // error; a number pre-fills the fallback page.
        login_hint: params
            .login_hint
            .as_deref()
            .and_then(|h| hint_number(&compat::authorize_login_hint(profile, h))),
        enabled_for: None,
        handover_hash: None,
        acr_requested: params.acr_values.is_some() || v.claims.asks("acr"),
        claims: v.claims,
        authenticated: None,
        handset: None,
        created_at: 0,
        expires_at: 0,
    };
    Ok(Validated { client, pending })
}

/// Seed 003's description for a scope it cannot parse.
fn cannot_understand() -> OAuthError {
    OAuthError::invalid_scope("scope value cannot be understood")
}

/// A request object that fails: by redirect if the plain parameters name a
/// registered redirect URI, else a page.
fn redirect_or_page(
    client: &Client,
    plain: &AuthorizationParams,
    error: OAuthError,
    lang: Lang,
    display: PageDisplay,
) -> Rejection {
    match resolve_redirect_uri(&client.redirect_uris, plain.redirect_uri.as_deref()) {
        Ok(redirect_uri) => Rejection::Redirect { redirect_uri, error, state: plain.state.clone() },
        Err(_) => {
            page(lang, display, format!("The signed request could not be accepted: {}", error.description))
        }
    }
}

async fn request_object(
    app: &App,
    client: &Client,
    jwt: &str,
    endpoint_url: &str,
) -> Result<AuthorizationParams, OAuthError> {
    let bad = |d: String| OAuthError::new(OAuthErrorCode::InvalidRequestObject, d);
    let canonical = format!("{}{}", app.issuer, crate::routes::AUTHORIZE.path);
    let audiences = [app.issuer.as_str(), canonical.as_str(), endpoint_url];
    let (now, skew) = (app.now(), app.config.client_auth.clock_skew_secs);
    let v = verify_with_client_keys(app, client, |set| {
        verify_authorization_request_object(jwt, client, set, &audiences, now, skew)
    })
    .await
    .map_err(|e| match e {
        KeysError::NoKeys => bad("the client has no registered keys to verify the request object".into()),
        KeysError::Fetch(e) => bad(e.to_string()),
        KeysError::Invalid(e) => bad(format!("request object: {e}")),
    })?;
    // Single use, like a client assertion (and in the same space as CIBA's
    // signed requests).
    match spend_jti(app, &client.client_id, JtiSpace::RequestObject, &v.jti, v.exp).await {
        Ok(true) => {}
        Ok(false) => return Err(bad("request object: its jti has already been used".into())),
        Err(_) => return Err(OAuthError::temporarily_unavailable("the request could not be checked")),
    }
    Ok(AuthorizationParams::from_claims(&v.claims))
}

/// A number in a `login_hint`: `tel:+47…`, `+47…` or digits with the
/// country code; anything else is ignored.
pub fn hint_number(hint: &str) -> Option<String> {
    normalise_number(hint.strip_prefix("tel:").unwrap_or(hint))
}

/// A number as a person types it (`+47 900 00 001`, `0047…`, `4790000001`)
/// in E.164, if it can be one.
pub fn normalise_number(typed: &str) -> Option<String> {
    let t = typed.trim();
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    if t.chars().any(|c| !(c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'))) {
        return None;
    }
    let digits = digits.strip_prefix("00").map(str::to_owned).unwrap_or(digits);
    let e164 = format!("+{digits}");
    netauth_proto::Msisdn::parse(&e164).ok().map(|m| m.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_normalise() {
        assert_eq!(normalise_number("+47 900 00 001").as_deref(), Some("+4790000001"));
        assert_eq!(normalise_number("0034 600-000-003").as_deref(), Some("+34600000003"));
        assert_eq!(hint_number("tel:+34600000003").as_deref(), Some("+34600000003"));
        assert_eq!(hint_number("user@example.com"), None);
        assert_eq!(normalise_number("12"), None);
    }
}
