//! What every CAMARA resource-API call goes through, in order:
//!
//! ```text
//! x-correlator valid? (400, echoed on every answer) ─► Caller: bearer token (401)
//!   ─► per-client rate and quota (429 + Retry-After) ─► authorize: scope, and the
//!   legal basis of the token's purpose (403 PERMISSION_DENIED) ─► JsonBody: schema
//!   (400 INVALID_ARGUMENT) ─► resolve_subject: Commonalities Appendix A (422/404)
//!   ─► spend a single-use token (401 if spent) ─► answer
//! ```
//!
//! Commonalities API Design Guide §3.2 (error model), Appendix A (token vs
//! body identifier); CAMARA_common.yaml (`XCorrelator`, `PhoneNumber`).

use crate::camara::bearer::Bearer;
use crate::camara::version::CorrelatorRule;
use crate::errors::ApiReply;
use crate::infra::api_limits::Refusal;
use crate::infra::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use netauth_domain::subscriber::Subscriber;
use netauth_domain::token::AccessClaims;
use netauth_proto::CamaraError;
use serde_json::{Map, Value};

pub const X_CORRELATOR: HeaderName = HeaderName::from_static("x-correlator");

/// `XCorrelator`: `^[a-zA-Z0-9-_:;.\/<>{}]{0,256}$`.
pub fn is_valid_correlator(v: &[u8]) -> bool {
    v.len() <= 256 && v.iter().all(|b| b.is_ascii_alphanumeric() || b"-_:;./<>{}".contains(b))
}

/// `PhoneNumber`: `^\+[1-9][0-9]{4,14}$`. Only the pattern: a number that
/// fits it but exists nowhere is the API's to answer (404, or `false`).
pub fn is_phone_number(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (5..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

/// Middleware on every resource-API route: keeps answers about subscribers
/// out of caches and applies the path's contract to `x-correlator` (v2:
/// refuses a malformed one, echoes a valid one on every answer, errors
/// included; the v0 contracts: see [`CorrelatorRule`]).
pub async fn correlator(State(rule): State<CorrelatorRule>, req: Request, next: Next) -> Response {
    let mut values = req.headers().get_all(&X_CORRELATOR).iter();
    let value = match (rule, values.next(), values.next()) {
        (CorrelatorRule::Ignored, ..) | (_, None, _) => None,
        (CorrelatorRule::EchoAny, Some(v), None) => Some(v.clone()),
        (CorrelatorRule::Checked, Some(v), None) if is_valid_correlator(v.as_bytes()) => Some(v.clone()),
        (CorrelatorRule::EchoAny, Some(_), Some(_)) => {
            return ApiReply(CamaraError::invalid_argument("x-correlator must be sent once")).into_response();
        }
        (CorrelatorRule::Checked, ..) => {
            return ApiReply(CamaraError::invalid_argument(
                "x-correlator must match ^[a-zA-Z0-9-_:;.\\/<>{}]{0,256}$ and be sent once",
            ))
            .into_response();
        }
    };
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(v) = value {
        h.insert(X_CORRELATOR, v);
    }
    resp
}

/// 405 in the CAMARA dialect, with the methods the path does allow.
pub fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = ApiReply(CamaraError::method_not_allowed()).into_response();
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// An authenticated caller within its client's rate and quota.
pub struct Caller(pub AccessClaims);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiReply;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiReply> {
        let Bearer(claims) = Bearer::from_request_parts(parts, app).await?;
        match app.api_limits.admit(&claims.client_id, app.now_ms()) {
            Ok(()) => Ok(Self(claims)),
            Err(Refusal::Rate { retry_after }) => {
                Err(CamaraError::too_many_requests().with_retry_after(retry_after).into())
            }
            Err(Refusal::Quota { retry_after }) => {
                Err(CamaraError::quota_exceeded().with_retry_after(retry_after).into())
            }
        }
    }
}

fn denied(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiReply {
    CamaraError::permission_denied(message).into()
}

/// 403 `PERMISSION_DENIED` unless the token holds one of `scopes` (the
/// operation's alternative security requirements) and, for a token issued
/// under a purpose, the operator's legal bases still allow one of them for
/// that purpose (a rule withdrawn after issuance stops the token here).
pub async fn authorize(app: &AppState, claims: &AccessClaims, scopes: &[&str]) -> Result<(), ApiReply> {
    let held: Vec<&str> = scopes.iter().copied().filter(|s| claims.has_scope(s)).collect();
    if held.is_empty() {
        return Err(denied("Client does not have sufficient permissions to perform this action."));
    }
    if let Some(purpose) = &claims.purpose {
        // The per-node cache of the rules: no database round trip.
        let rules = app.legal_bases().await?;
        if !held.iter().any(|s| rules.rule(s, purpose.as_str()).is_some()) {
            return Err(denied(format!("The purpose {purpose} is not allowed for this operation.")));
        }
    }
    Ok(())
}

/// Spends a single-use token (Number Verification): the first call that
/// gets an answer records the token in the Store, which every node shares;
/// any later call, on any node, is 401. Calls refused before this point
/// (403, 400, 422) revealed nothing and spend nothing.
pub async fn spend_if_single_use(app: &AppState, claims: &AccessClaims) -> Result<(), ApiReply> {
    if !claims.single_use {
        return Ok(());
    }
    // The jti is sealed inside the token: nobody else can record it first.
    if app.jti.record(&claims.client_id, &format!("access-token:{}", claims.jti), claims.exp).await? {
        Ok(())
    } else {
        Err(CamaraError::unauthenticated().into())
    }
}

/// Whose line the call is about (Commonalities Appendix A, for APIs that
/// may not confirm identity, such as SIM Swap): a three-legged token names
/// the subscriber and the body must not (422 `UNNECESSARY_IDENTIFIER`, even
/// for the same number); a two-legged token names nobody and the body must
/// (422 `MISSING_IDENTIFIER`). Unknown numbers are 404
/// `IDENTIFIER_NOT_FOUND`, suspended lines 422 `SERVICE_NOT_APPLICABLE`.
pub async fn resolve_subject(
    app: &AppState,
    claims: &AccessClaims,
    phone_number: Option<&str>,
) -> Result<Subscriber, ApiReply> {
    let found = match (claims.sub.as_deref(), phone_number) {
        (Some(_), Some(_)) => return Err(CamaraError::unnecessary_identifier().into()),
        (None, None) => return Err(CamaraError::missing_identifier().into()),
        (Some(sub), None) => app.network.subscriber(sub).await?,
        (None, Some(n)) => app.network.subscriber_by_number(n).await?,
    };
    let s = found.ok_or_else(CamaraError::identifier_not_found)?;
    if !s.is_active() {
        return Err(CamaraError::service_not_applicable().into());
    }
    Ok(s)
}

/// A JSON object body, checked by hand against the operation's schema so
/// that every violation is a 400 `INVALID_ARGUMENT` naming the property
/// (never axum's plain-text rejections).
pub struct JsonBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiReply;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiReply> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(CamaraError::invalid_argument("the request body must be application/json").into());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| CamaraError::invalid_argument("the request body could not be read (too large?)"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(Self(m)),
            Ok(_) => Err(CamaraError::invalid_argument("the request body must be a JSON object").into()),
            Err(e) => Err(CamaraError::invalid_argument(format!("the request body is not JSON: {e}")).into()),
        }
    }
}

impl JsonBody {
    /// 400 for any property the schema does not define.
    pub fn allow_only(&self, known: &[&str]) -> Result<(), ApiReply> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(CamaraError::invalid_argument(format!("unknown property `{k}`")).into()),
            None => Ok(()),
        }
    }

    /// A string property matching `pattern_ok`, if present.
    pub fn string(
        &self,
        name: &str,
        pattern_ok: fn(&str) -> bool,
        what: &str,
    ) -> Result<Option<&str>, ApiReply> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if pattern_ok(s) => Ok(Some(s)),
            Some(_) => Err(CamaraError::invalid_argument(format!("`{name}` must be {what}")).into()),
        }
    }

    /// `phoneNumber` (`PhoneNumber` schema), if present.
    pub fn phone_number(&self) -> Result<Option<&str>, ApiReply> {
        self.string("phoneNumber", is_phone_number, "an E.164 number with a leading +, e.g. +34666666666")
    }

    /// An integer property, if present.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiReply> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(_) => Err(CamaraError::invalid_argument(format!("`{name}` must be an integer")).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlator_pattern() {
        for ok in ["", "b4333c46-49c0-4f62-80d7-f0ef930f1c46", "a:b;c.d/e<f>{g}_h"] {
            assert!(is_valid_correlator(ok.as_bytes()), "{ok}");
        }
        for bad in ["with space", "semi\"quote", "é", &"x".repeat(257)] {
            assert!(!is_valid_correlator(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn phone_number_pattern() {
        for ok in ["+34666666666", "+123456789", "+12345", "+123456789012345"] {
            assert!(is_phone_number(ok), "{ok}");
        }
        for bad in
            ["34666666666", "+0123456", "+1234", "+1234567890123456", "+34 666", "tel:+34666666666", ""]
        {
            assert!(!is_phone_number(bad), "{bad}");
        }
    }
}
