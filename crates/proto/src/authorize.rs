//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636
//! §4.3, RFC 9101 for `request`) and the authorization response (RFC 6749
//! §4.1.2, §4.1.2.1, RFC 9207 `iss`).
//!
//! Parsing happens in two steps, because the two kinds of error must be
//! told apart (RFC 6749 §4.1.2.1): until the client and its redirect URI
//! are known to be good, nothing may be sent to the redirect URI (an error
//! page instead); after that, every error goes back to the client by
//! redirect.
//!
//! ```text
//! Form ─► AuthorizationParams::from_form   raw values, each at most once (RFC 6749 §3.1)
//!      ─► merge_request_object              RFC 9101 §6.3: the object's claims win;
//!                                           plain client_id/response_type/scope/redirect_uri must match
//!      ─► (server: client + redirect URI)   error page until here
//!      ─► AuthorizationParams::validate     response_type, response_mode, prompt, display,
//!                                           max_age, claims, PKCE → ValidatedParams (redirect errors)
//! ```

use crate::error::{OAuthError, OAuthErrorCode};
use crate::form::Form;
use serde_json::Value;

/// Every parameter of the request, as sent (already form-decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    /// Seed 000's purpose parameter (`dpv:<Purpose>#<scope>`), also accepted here.
    pub purpose: Option<String>,
    pub state: Option<String>,
    pub response_mode: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub display: Option<String>,
    pub max_age: Option<String>,
    pub ui_locales: Option<String>,
    pub login_hint: Option<String>,
    pub acr_values: Option<String>,
    pub claims: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// The most a `state` or `nonce` may hold: generous for any client, small
/// enough that a stored request stays small.
pub const MAX_STATE_LEN: usize = 2048;
pub const MAX_NONCE_LEN: usize = 512;

impl AuthorizationParams {
    pub fn from_form(f: &Form) -> Self {
        let g = |k: &str| f.get(k).map(str::to_owned);
        Self {
            response_type: g("response_type"),
            client_id: g("client_id"),
            redirect_uri: g("redirect_uri"),
            scope: g("scope"),
            purpose: g("purpose"),
            state: g("state"),
            response_mode: g("response_mode"),
            nonce: g("nonce"),
            prompt: g("prompt"),
            display: g("display"),
            max_age: g("max_age"),
            ui_locales: g("ui_locales"),
            login_hint: g("login_hint"),
            acr_values: g("acr_values"),
            claims: g("claims"),
            code_challenge: g("code_challenge"),
            code_challenge_method: g("code_challenge_method"),
            request: g("request"),
            request_uri: g("request_uri"),
        }
    }

    /// The request object's parameters (RFC 9101 §4): JSON members; a
    /// number (`max_age`) or an object (`claims`) is kept in its text form.
    pub fn from_claims(c: &Value) -> Self {
        let g = |k: &str| match c.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(v @ Value::Object(_)) => Some(v.to_string()),
            _ => None,
        };
        Self {
            response_type: g("response_type"),
            client_id: g("client_id"),
            redirect_uri: g("redirect_uri"),
            scope: g("scope"),
            purpose: g("purpose"),
            state: g("state"),
            response_mode: g("response_mode"),
            nonce: g("nonce"),
            prompt: g("prompt"),
            display: g("display"),
            max_age: g("max_age"),
            ui_locales: g("ui_locales"),
            login_hint: g("login_hint"),
            acr_values: g("acr_values"),
            claims: g("claims"),
            code_challenge: g("code_challenge"),
            code_challenge_method: g("code_challenge_method"),
            request: None,
            request_uri: None,
        }
    }

    /// RFC 9101 §6.3 and the CAMARA profile §1.4: with a request object,
    /// every parameter comes from the object only; `client_id`,
    /// `response_type`, `scope` and `redirect_uri` sent as plain parameters
    /// must equal the object's. A mismatch is `invalid_request_object`.
    pub fn merge_request_object(&self, object: AuthorizationParams) -> Result<Self, OAuthError> {
        for (name, plain, inner) in [
            ("client_id", &self.client_id, &object.client_id),
            ("response_type", &self.response_type, &object.response_type),
            ("scope", &self.scope, &object.scope),
            ("redirect_uri", &self.redirect_uri, &object.redirect_uri),
        ] {
            if let (Some(p), Some(o)) = (plain, inner)
                && p != o
            {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidRequestObject,
                    format!("`{name}` differs between the request object and the request"),
                ));
            }
        }
        let mut merged = object;
        // Required as plain parameters by OAuth; the object may repeat them.
        merged.client_id = merged.client_id.or_else(|| self.client_id.clone());
        merged.response_type = merged.response_type.or_else(|| self.response_type.clone());
        merged.scope = merged.scope.or_else(|| self.scope.clone());
        merged.redirect_uri = merged.redirect_uri.or_else(|| self.redirect_uri.clone());
        Ok(merged)
    }

    /// Checks everything that does not depend on the client. Errors here go
    /// back to the client by redirect.
    pub fn validate(&self) -> Result<ValidatedParams, OAuthError> {
        // Seed 001's minimal URL (`?client_id=&state=`) has no response_type:
        // absent means `code`, the only type there is. Present and
        // different is refused, as RFC 6749 §4.1.2.1 says.
        match self.response_type.as_deref() {
            None | Some("code") => {}
            Some(_) => {
                return Err(OAuthError::new(
                    OAuthErrorCode::UnsupportedResponseType,
                    "unsupported response type",
                ));
            }
        }
        match self.response_mode.as_deref() {
            None | Some("query") => {}
            Some(_) => return Err(OAuthError::invalid_request("only response_mode=query is supported")),
        }
        if self.request_uri.is_some() {
            return Err(OAuthError::new(
                OAuthErrorCode::RequestUriNotSupported,
                "request_uri is not supported; send the request object in `request`",
            ));
        }
        if self.state.as_ref().is_some_and(|s| s.len() > MAX_STATE_LEN) {
            return Err(OAuthError::invalid_request("state is too long"));
        }
        if self.nonce.as_ref().is_some_and(|s| s.len() > MAX_NONCE_LEN) {
            return Err(OAuthError::invalid_request("nonce is too long"));
        }
        let prompt = PromptSet::parse(self.prompt.as_deref())?;
        let max_age = match self.max_age.as_deref() {
            None => None,
            Some(s) => Some(parse_max_age(s)?),
        };
        let claims = match self.claims.as_deref() {
            None => ClaimsRequest::default(),
            Some(s) => ClaimsRequest::parse(s)?,
        };
        let code_challenge = match (self.code_challenge.as_deref(), self.code_challenge_method.as_deref()) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request("code_challenge_method without code_challenge"));
            }
            (Some(c), method) => Some(CodeChallenge::parse(c, method)?),
        };
        Ok(ValidatedParams {
            prompt,
            display: Display::parse(self.display.as_deref()),
            max_age,
            claims,
            code_challenge,
        })
    }
}

/// What `validate` made of the parameters that have a grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedParams {
    pub prompt: PromptSet,
    pub display: Display,
    pub max_age: Option<i64>,
    pub claims: ClaimsRequest,
    pub code_challenge: Option<CodeChallenge>,
}

fn parse_max_age(s: &str) -> Result<i64, OAuthError> {
    let bad = || OAuthError::invalid_request("max_age must be a non-negative number of seconds");
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    s.parse::<i64>().map_err(|_| bad())
}

/// OIDC Core §3.1.2.1 `prompt`: a space-separated set of `none`, `login`,
/// `consent` (the values seed 003 documents). `none` stands alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PromptSet {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl PromptSet {
    pub const SUPPORTED: [&'static str; 3] = ["none", "login", "consent"];

    pub fn parse(s: Option<&str>) -> Result<Self, OAuthError> {
        let mut p = Self::default();
        // Seed 003's description for every refusal of this parameter.
        let bad = || OAuthError::invalid_request("invalid prompt value");
        for v in s.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                _ => return Err(bad()),
            }
        }
        if p.none && (p.login || p.consent) {
            return Err(bad());
        }
        Ok(p)
    }
}

/// OIDC Core §3.1.2.1 `display`. Unknown values are the default, as OIDC
/// leaves it to the server ("may ignore").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Display {
    #[default]
    Page,
    Popup,
    Touch,
    Wap,
}

impl Display {
    pub const ALL: [Display; 4] = [Self::Page, Self::Popup, Self::Touch, Self::Wap];

    pub fn parse(s: Option<&str>) -> Self {
        Self::ALL.into_iter().find(|d| Some(d.as_str()) == s).unwrap_or_default()
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Popup => "popup",
            Self::Touch => "touch",
            Self::Wap => "wap",
        }
    }
}

/// RFC 7636 §4.2–4.3: `S256` only. `plain` (or no method, which RFC 7636
/// takes as `plain`) is refused: it protects nothing against an attacker
/// who reads the authorization request (SECURITY.md 7).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, OAuthError> {
        match method {
            Some("S256") => {}
            Some("plain") | None => {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method must be S256 (plain is not supported)",
                ));
            }
            Some(_) => return Err(OAuthError::invalid_request("unsupported code_challenge_method")),
        }
        // A base64url SHA-256 digest is exactly 43 characters.
        if challenge.len() != 43
            || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(OAuthError::invalid_request("code_challenge must be a base64url SHA-256 digest"));
        }
        Ok(Self(challenge.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// OIDC Core §5.5 `claims`: which claims the client asks for, in the ID
/// token and at userinfo, and whether it asked for `acr`. Only the names
/// are kept: netauth can release `phone_number` and
/// `phone_number_verified` (and `acr`); other names are accepted and
/// ignored, as §5.5 allows for voluntary and unknown claims.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimsRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo: Vec<String>,
}

impl ClaimsRequest {
    const MAX_NAMES: usize = 32;

    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        let bad = |d: &'static str| OAuthError::invalid_request(d);
        let v: Value = serde_json::from_str(s).map_err(|_| bad("claims is not a JSON object"))?;
        let obj = v.as_object().ok_or_else(|| bad("claims is not a JSON object"))?;
        let mut out = Self::default();
        for (target, members) in obj {
            let names = match target.as_str() {
                "id_token" => &mut out.id_token,
                "userinfo" => &mut out.userinfo,
                _ => continue,
            };
            let members = members.as_object().ok_or_else(|| bad("claims members must be objects"))?;
            for (name, spec) in members {
                // Each value is null or an object (`essential`, `value`, `values`).
                if !(spec.is_null() || spec.is_object()) {
                    return Err(bad("each requested claim is null or an object"));
                }
                if name.is_empty() || name.len() > 64 || names.len() >= Self::MAX_NAMES {
                    return Err(bad("claims names too long or too many"));
                }
                names.push(name.clone());
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.id_token.is_empty() && self.userinfo.is_empty()
    }

    pub fn asks(&self, name: &str) -> bool {
        self.id_token.iter().chain(&self.userinfo).any(|n| n == name)
    }
}

/// The redirect back to the client (RFC 6749 §4.1.2): `params` appended to
/// the redirect URI's query, which is kept (RFC 6749 §3.1.2). A space is
/// `%20`, as seed 003 shows it (`error_description=consent%20denied`), not
/// the form encoding's `+`: both decode alike, `%20` also in a plain URI
/// parser.
pub fn authorization_response_url(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(redirect_uri.len() + 64);
    out.push_str(redirect_uri);
    let mut sep = if redirect_uri.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        sep = '&';
        out.push_str(k);
        out.push('=');
        // `byte_serialize` writes a literal `+` as `%2B`, so every `+` it
        // leaves is a space.
        for piece in form_urlencoded::byte_serialize(v.as_bytes()) {
            out.push_str(&piece.replace('+', "%20"));
        }
    }
    out
}

/// The error response (RFC 6749 §4.1.2.1) with `iss` (RFC 9207).
pub fn error_response_url(redirect_uri: &str, error: &OAuthError, state: Option<&str>, iss: &str) -> String {
    let mut p = vec![("error", error.code.as_str()), ("error_description", error.description.as_ref())];
    if let Some(s) = state {
        p.push(("state", s));
    }
    p.push(("iss", iss));
    authorization_response_url(redirect_uri, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> AuthorizationParams {
        AuthorizationParams::from_form(&Form::parse(q.as_bytes()).unwrap())
    }

    #[test]
    fn seed_001_minimal_request_is_a_code_request() {
        let p = params("client_id=xhdrs6uleK1xyZBO&state=1234");
        assert_eq!(p.client_id.as_deref(), Some("xhdrs6uleK1xyZBO"));
        let v = p.validate().unwrap();
        assert_eq!(v.prompt, PromptSet::default());
        assert_eq!(v.display, Display::Page);
        assert!(v.code_challenge.is_none());
    }

    #[test]
    fn response_type_other_than_code_is_unsupported() {
        for rt in ["token", "id_token", "code token", "code%20id_token"] {
            let e = params(&format!("client_id=a&response_type={rt}")).validate().unwrap_err();
            assert_eq!(e.code, OAuthErrorCode::UnsupportedResponseType, "{rt}");
            assert_eq!(e.description, "unsupported response type");
        }
        let e = params("client_id=a&response_mode=fragment").validate().unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::InvalidRequest);
        let e = params("client_id=a&request_uri=urn:x").validate().unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::RequestUriNotSupported);
    }

    #[test]
    fn prompt_values_and_combinations() {
        assert_eq!(
            PromptSet::parse(Some("login consent")).unwrap(),
            PromptSet { none: false, login: true, consent: true }
        );
        assert!(PromptSet::parse(Some("none")).unwrap().none);
        for bad in ["none login", "consent none", "select_account", "NONE", "login x"] {
            let e = PromptSet::parse(Some(bad)).unwrap_err();
            assert_eq!(
                (e.code, e.description.as_ref()),
                (OAuthErrorCode::InvalidRequest, "invalid prompt value"),
                "{bad}"
            );
        }
    }

    #[test]
    fn max_age_and_display() {
        assert_eq!(params("max_age=0").validate().unwrap().max_age, Some(0));
        assert_eq!(params("max_age=3600").validate().unwrap().max_age, Some(3600));
        for bad in ["-1", "1.5", "x", "99999999999"] {
            assert!(params(&format!("max_age={bad}")).validate().is_err(), "{bad}");
        }
        assert_eq!(params("display=wap").validate().unwrap().display, Display::Wap);
        assert_eq!(params("display=touch").validate().unwrap().display, Display::Touch);
        assert_eq!(params("display=tv").validate().unwrap().display, Display::Page);
    }

    #[test]
    fn pkce_is_s256_only() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let v = params(&format!("code_challenge={c}&code_challenge_method=S256")).validate().unwrap();
        assert_eq!(v.code_challenge.unwrap().as_str(), c);
        for q in [
            format!("code_challenge={c}&code_challenge_method=plain"),
            format!("code_challenge={c}"),
            format!("code_challenge={c}&code_challenge_method=S512"),
            "code_challenge=short&code_challenge_method=S256".to_owned(),
            format!("code_challenge={c}!&code_challenge_method=S256"),
            "code_challenge_method=S256".to_owned(),
        ] {
            let e = params(&q).validate().unwrap_err();
            assert_eq!(e.code, OAuthErrorCode::InvalidRequest, "{q}");
        }
    }

    #[test]
    fn claims_request() {
        let c = ClaimsRequest::parse(
            r#"{"id_token":{"phone_number":{"essential":true},"acr":null},"userinfo":{"phone_number_verified":null},"other":1}"#,
        )
        .unwrap();
        assert_eq!(c.id_token, vec!["acr".to_owned(), "phone_number".to_owned()]);
        assert!(c.asks("phone_number_verified"));
        for bad in ["[]", "x", r#"{"id_token":[]}"#, r#"{"id_token":{"a":1}}"#] {
            assert!(ClaimsRequest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_object_parameters_win_and_plain_ones_must_match() {
        let plain = params("client_id=c&response_type=code&scope=openid&state=plain");
        let obj = AuthorizationParams::from_claims(&serde_json::json!({
            "client_id": "c", "scope": "openid", "state": "inner", "max_age": 60,
            "claims": {"id_token": {"acr": null}}
        }));
        let m = plain.merge_request_object(obj).unwrap();
        assert_eq!(m.state.as_deref(), Some("inner"), "only the object's parameters count");
        assert_eq!(m.response_type.as_deref(), Some("code"));
        assert_eq!(m.max_age.as_deref(), Some("60"));
        assert!(m.validate().unwrap().claims.asks("acr"));
        let other = AuthorizationParams::from_claims(&serde_json::json!({"client_id": "c", "scope": "x"}));
        let e = plain.merge_request_object(other).unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::InvalidRequestObject);
    }

    #[test]
    fn response_urls_keep_the_query_and_encode() {
        assert_eq!(
            authorization_response_url("http://127.0.0.1:9/cb", &[("code", "a b"), ("state", "x&y=z")]),
            "http://127.0.0.1:9/cb?code=a%20b&state=x%26y%3Dz"
        );
        let e = OAuthError::access_denied("consent denied");
        assert_eq!(
            error_response_url("https://c.example/cb?k=v", &e, Some("1234"), "https://as.example"),
            "https://c.example/cb?k=v&error=access_denied&error_description=consent%20denied&state=1234&iss=https%3A%2F%2Fas.example"
        );
    }
}
