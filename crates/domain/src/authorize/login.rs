//! The browser side of the flow: who authenticated and how (a login
//! session behind a cookie; OIDC Core §3.1.2.1's `prompt=login` and
//! `max_age`), seed 001's handset fallback with bounded one-time codes, and
//! the authorization request in progress between its pages.

use crate::UnixTime;
use crate::crypto::{ct_eq, hash_bearer, random_bytes};
use netauth_proto::authorize::{ClaimsRequest, Display, PromptSet};
use serde::{Deserialize, Serialize};

use super::{AMR_OTP, AMR_SMS, AMR_USSD};

/// Who authenticated, how and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    pub subscriber_id: String,
    pub amr: Vec<String>,
    pub auth_time: UnixTime,
}

/// A browser's login session, kept in the Store behind an `HttpOnly` cookie
/// (the cookie holds a random id; the Store only its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSession {
    pub id_hash: String,
    pub auth: Authentication,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Whether an existing authentication serves this request: not when the
/// client asks for a fresh one (`prompt=login`), nor when it is older than
/// `max_age` (OIDC Core §3.1.2.1), nor when the session has expired.
pub fn session_satisfies(
    session: &LoginSession,
    prompt: &PromptSet,
    max_age: Option<i64>,
    now: UnixTime,
) -> bool {
    !prompt.login
        && session.expires_at > now
        && max_age.is_none_or(|m| now.saturating_sub(session.auth.auth_time) <= m)
}

/// How a subscriber off the mobile network proves the line is theirs
/// (seed 001's USSD fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandsetMethod {
    /// A prompt on the handset, answered approve or deny.
    Approve,
    /// A one-time code shown on the handset, typed into the page.
    Code,
}

impl HandsetMethod {
    pub fn amr(self) -> Vec<String> {
        match self {
            Self::Approve => vec![AMR_USSD.to_owned()],
            Self::Code => vec![AMR_OTP.to_owned(), AMR_SMS.to_owned()],
        }
    }
    /// The handset prompt's `kind`.
    pub const fn prompt_kind(self) -> &'static str {
        match self {
            Self::Approve => "login_approve",
            Self::Code => "login_code",
        }
    }
}

/// A handset login in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandsetLogin {
    /// Empty when the number typed is nobody's: the page looks the same
    /// (it must not tell who is a subscriber), and nothing can succeed.
    pub subscriber_id: String,
    /// The number as the pages show it (masked).
    pub shown_number: String,
    pub method: HandsetMethod,
    /// The handset prompt it is waiting for.
    pub prompt_id: String,
    /// base64url SHA-256 of the one-time code (`Code` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_hash: Option<String>,
    /// Wrong codes typed so far.
    pub attempts: u32,
    pub expires_at: UnixTime,
}

/// Digits of a one-time code: 10^6 codes against a few attempts.
pub const OTP_DIGITS: usize = 6;

/// A one-time code: `OTP_DIGITS` uniformly random decimal digits.
pub fn generate_otp() -> String {
    // 8 random bytes reduced modulo 10^6: the bias (2^64 mod 10^6 / 2^64)
    // is far below anything measurable.
    let n = u64::from_le_bytes(random_bytes::<8>()) % 1_000_000;
    format!("{n:06}")
}

pub fn otp_hash(code: &str) -> String {
    hash_bearer(code)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    /// Wrong; this many attempts are left.
    Wrong {
        left: u32,
    },
    /// No attempts left (or expired): the login must start again.
    Exhausted,
    Expired,
}

impl HandsetLogin {
    /// Checks a typed code and counts the attempt. The caller stores the
    /// updated record (with a version check, so parallel guesses count).
    pub fn check_code(&mut self, typed: &str, max_attempts: u32, now: UnixTime) -> CodeCheck {
        if now >= self.expires_at {
            return CodeCheck::Expired;
        }
        if self.attempts >= max_attempts {
            return CodeCheck::Exhausted;
        }
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        let ok = self.code_hash.as_deref().is_some_and(|h| ct_eq(otp_hash(&typed).as_bytes(), h.as_bytes()));
        if ok {
            return CodeCheck::Accepted;
        }
        self.attempts += 1;
        if self.attempts >= max_attempts {
            CodeCheck::Exhausted
        } else {
            CodeCheck::Wrong { left: max_attempts - self.attempts }
        }
    }
}

// ---------------------------------------------------------------- the request in progress

/// An authorization request between its pages (login fallback, consent):
/// everything `/authorize` validated, so the later steps trust it and any
/// node can serve them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// base64url SHA-256 of the request's handle (the handle is in the pages).
    pub id_hash: String,
    /// The browser session it belongs to (hash of the session id): another
    /// browser holding the handle gets nowhere.
    pub session_hash: String,
    /// Bumped on every write; writes are conditional on it.
    pub version: i64,
    pub client_id: String,
    /// The path the request came to (canonical or a seed's alias): the
    /// error descriptions follow that seed's dialect.
    pub entry_path: String,
    /// Where the response goes.
    pub redirect_uri: String,
    /// Whether the request named it (the token request must then repeat it).
    pub redirect_uri_sent: bool,
    pub state: Option<String>,
    /// Requested scopes the client may ask for, canonical order, `openid`
    /// and `offline_access` included when asked.
    pub scopes: Vec<String>,
    /// Whether `scope` was sent (else the client's defaults were taken).
    pub scope_sent: bool,
    /// The request's `dpv:` purpose, if it declared one.
    pub purpose: Option<String>,
    /// The purpose consents are recorded under: the declared one, or the
    /// one requests without a purpose are taken to have.
    pub consent_purpose: String,
    /// The requested scopes whose legal basis is `consent`: the consent
    /// page's checkboxes.
    pub consent_scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: PromptSet,
    pub max_age: Option<i64>,
    pub display: Display,
    pub ui_locales: Option<String>,
    /// A number to pre-fill the fallback page with.
    pub login_hint: Option<String>,
    /// Seed 002: the number Network Enablement bound this request to (by
    /// its client and `state`); only that subscriber may end it with a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_for: Option<String>,
    /// Seed 001's plain-HTTP entry: the hash of the one-time secret that
    /// hands this request over from the `http://` entry URL, where the line
    /// was recognised, to the `https` issuer's pages (see
    /// `authorize.entry_url`). Taken once, then cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handover_hash: Option<String>,
    pub claims: ClaimsRequest,
    /// Whether the client asked for `acr` (`acr_values` or `claims`).
    pub acr_requested: bool,
    /// Set once the subscriber authenticated during this request.
    pub authenticated: Option<Authentication>,
    pub handset: Option<HandsetLogin>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::AMR_NBA;

    fn session(auth_time: i64, expires_at: i64) -> LoginSession {
        LoginSession {
            id_hash: "h".into(),
            auth: Authentication { subscriber_id: "s".into(), amr: vec![AMR_NBA.into()], auth_time },
            created_at: auth_time,
            expires_at,
        }
    }

    #[test]
    fn prompt_login_and_max_age_force_a_fresh_authentication() {
        let s = session(1000, 5000);
        let none = PromptSet::default();
        assert!(session_satisfies(&s, &none, None, 2000));
        assert!(!session_satisfies(&s, &PromptSet { login: true, ..none }, None, 2000));
        assert!(session_satisfies(&s, &none, Some(1000), 2000));
        assert!(!session_satisfies(&s, &none, Some(999), 2000));
        assert!(!session_satisfies(&s, &none, Some(0), 1001));
        assert!(session_satisfies(&s, &none, Some(0), 1000));
        assert!(!session_satisfies(&s, &none, None, 5000), "expired session");
    }

    #[test]
    fn one_time_codes_have_bounded_attempts_and_expire() {
        let code = generate_otp();
        assert_eq!(code.len(), OTP_DIGITS);
        let mut h = HandsetLogin {
            subscriber_id: "s".into(),
            shown_number: "+47••••••01".into(),
            method: HandsetMethod::Code,
            prompt_id: "p".into(),
            code_hash: Some(otp_hash(&code)),
            attempts: 0,
            expires_at: 100,
        };
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert_eq!(h.check_code(wrong, 3, 10), CodeCheck::Wrong { left: 2 });
        assert_eq!(h.check_code(wrong, 3, 10), CodeCheck::Wrong { left: 1 });
        let mut spare = h.clone();
        assert_eq!(h.check_code(&format!(" {code} "), 3, 10), CodeCheck::Accepted);
        assert_eq!(spare.check_code(wrong, 3, 10), CodeCheck::Exhausted);
        assert_eq!(spare.check_code(&code, 3, 10), CodeCheck::Exhausted, "even the right code, after");
        assert_eq!(h.check_code(&code, 3, 100), CodeCheck::Expired);
    }
}
