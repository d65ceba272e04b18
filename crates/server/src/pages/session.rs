//! Browser sessions and anti-CSRF tokens of a [`PageSite`]
//! (SECURITY.md 9; RFC 6265bis for the cookie; the token is the
//! "synchronizer token" of the OWASP CSRF cheat sheet, made stateless with
//! an HMAC and single use with the replay store).
//!
//! A session is a random id in an `HttpOnly` cookie scoped to the site's
//! path, with the site's `SameSite`. A form's token is
//! `issued.nonce.mac`: the MAC (HMAC under the master key, labelled with the
//! site's CSRF sector) binds it to the session, the subject the page acts
//! for (a subscriber, an authorization request) and the exact action
//! (which prompt; which client, scope and purpose). It is spent on use (the
//! nonce goes to the replay store, so on every node) and lives at most the
//! site's `csrf_ttl`.
//!
//! ```text
//! GET  page  ── site.page_session ──► (Session, Set-Cookie?) ── site.form_token(session, subject, action) ──► <form>
//! POST form  ── refuse_cross_site ── Form::parse ── own checks ── site.verify_csrf ──► change ──► 303
//!                                                                  │ check_csrf (pure: session, subject, action, sector, time)
//!                                                                  └ spend_csrf (JtiWriter, once)
//! ```
//!
//! The pure functions take the time as an argument, so expiry is tested
//! without waiting; the `App`-level helpers read the application's `Clock` (`App::now`).

use super::form::Form;
use super::layout::PageError;
use super::site::PageSite;
use crate::infra::jti_writer::JtiWriter;
use crate::infra::state::App;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use netauth_domain::crypto::random_token;
use netauth_domain::keys::MasterKey;
use netauth_store::StoreError;
use subtle::ConstantTimeEq;

/// The form field carrying the token.
pub const CSRF_FIELD: &str = "csrf";
/// Tolerated clock difference between nodes for a token's issue time.
const CSRF_SKEW: i64 = 60;

/// A browser's session id, as read from (or set in) its cookie: 16 to 64
/// characters of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session(String);

impl Session {
    pub fn parse(s: &str) -> Option<Session> {
        ((16..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Session(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A token that passed [`PageSite::check_csrf`], not yet spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfNonce {
    nonce: String,
    /// Until when the replay store must remember it.
    expires_at: i64,
}

/// Why a form's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfRefusal {
    /// The browser sent no (well-formed) session cookie.
    NoSession,
    Malformed,
    /// Not made for this session, subject, action and site.
    Invalid,
    Expired,
    /// Already spent.
    Spent,
}

impl CsrfRefusal {
    pub fn message(self) -> &'static str {
        match self {
            CsrfRefusal::NoSession => "This browser has no session for these pages (are cookies enabled?).",
            CsrfRefusal::Malformed => "The form's anti-forgery token is missing or malformed.",
            CsrfRefusal::Invalid => "The form's anti-forgery token is not valid for this session and action.",
            CsrfRefusal::Expired => "The form has expired.",
            CsrfRefusal::Spent => "This form was already sent.",
        }
    }
}

impl PageSite {
    /// The browser's session on this site, if it sent a well-formed cookie.
    pub fn session_from(&self, headers: &HeaderMap) -> Option<Session> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == self.cookie)
            .and_then(|(_, v)| Session::parse(v))
    }

    /// A new session and its `Set-Cookie` value (`Secure` when the issuer
    /// is https).
    pub fn new_session(&self, secure: bool) -> (Session, Option<HeaderValue>) {
        let s = Session(random_token::<16>());
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!(
            "{}={}; Path={}; HttpOnly; SameSite={}{secure}",
            self.cookie,
            s.0,
            self.cookie_path,
            self.same_site.as_str()
        );
        (s, HeaderValue::from_str(&cookie).ok())
    }

    /// The session for a GET: the browser's, or a new one with its cookie
    /// (to be set with [`with_cookie`]).
    pub fn page_session(&self, app: &App, headers: &HeaderMap) -> (Session, Option<HeaderValue>) {
        match self.session_from(headers) {
            Some(s) => (s, None),
            None => self.new_session(app.issuer.starts_with("https://")),
        }
    }

    fn csrf_mac(
        &self,
        master: &MasterKey,
        session: &Session,
        subject: &str,
        action: &str,
        stamp: &str,
    ) -> String {
        master.pairwise_sub(self.csrf_sector, &format!("{}\n{subject}\n{action}\n{stamp}", session.0))
    }

    /// A fresh token for one form: `issued.nonce.mac`.
    pub fn csrf_token(
        &self,
        master: &MasterKey,
        session: &Session,
        subject: &str,
        action: &str,
        now: i64,
    ) -> String {
        let stamp = format!("{now}.{}", random_token::<12>());
        let mac = self.csrf_mac(master, session, subject, action, &stamp);
        format!("{stamp}.{mac}")
    }

    /// Checks `token` against the session, subject, action and this site's
    /// sector, and its age at `now`. Spends nothing.
    pub fn check_csrf(
        &self,
        master: &MasterKey,
        session: &Session,
        subject: &str,
        action: &str,
        token: &str,
        now: i64,
    ) -> Result<CsrfNonce, CsrfRefusal> {
        let mut parts = token.splitn(3, '.');
        let (Some(issued), Some(nonce), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CsrfRefusal::Malformed);
        };
        let Ok(issued_at) = issued.parse::<i64>() else {
            return Err(CsrfRefusal::Malformed);
        };
        let expected = self.csrf_mac(master, session, subject, action, &format!("{issued}.{nonce}"));
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return Err(CsrfRefusal::Invalid);
        }
        if now - issued_at > self.csrf_ttl || issued_at - now > CSRF_SKEW {
            return Err(CsrfRefusal::Expired);
        }
        Ok(CsrfNonce { nonce: nonce.to_owned(), expires_at: issued_at + self.csrf_ttl })
    }

    /// Spends a checked token: true the first time, on any node.
    pub async fn spend_csrf(&self, jti: &JtiWriter, nonce: &CsrfNonce) -> Result<bool, StoreError> {
        jti.record(self.replay_scope, &format!("csrf:{}", nonce.nonce), nonce.expires_at).await
    }

    /// A token for a form a page is about to show, issued now.
    pub fn form_token(&self, app: &App, session: &Session, subject: &str, action: &str) -> String {
        self.csrf_token(&app.master, session, subject, action, app.now())
    }

    /// Checks the form's token against the browser's session, the subject
    /// and the action, then spends it. Call it after every other check of
    /// the form, right before the change, so a form refused for another
    /// reason can be corrected and resent. A refusal is a 403 page linking
    /// to `back`.
    pub async fn verify_csrf(
        &self,
        app: &App,
        headers: &HeaderMap,
        form: &Form,
        subject: &str,
        action: &str,
        back: &str,
    ) -> Result<(), PageError> {
        let refused = |why: CsrfRefusal| {
            PageError::forbidden(format!(
                "{} Nothing was changed; reload the page and try again.",
                why.message()
            ))
            .back(back)
        };
        let session = self.session_from(headers).ok_or_else(|| refused(CsrfRefusal::NoSession))?;
        let token = form.get(CSRF_FIELD).unwrap_or("");
        let nonce =
            self.check_csrf(&app.master, &session, subject, action, token, app.now()).map_err(refused)?;
        if !self.spend_csrf(&app.jti, &nonce).await? {
            return Err(refused(CsrfRefusal::Spent));
        }
        Ok(())
    }
}

/// Adds the new session's cookie, if there is one, to a page.
pub fn with_cookie(mut resp: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Forms are only ever posted from our own pages: a cross-site or
/// same-site (another subdomain) POST is refused outright, for browsers that
/// send `Sec-Fetch-Site`; the CSRF token covers the others. Call it first.
pub fn refuse_cross_site(headers: &HeaderMap) -> Result<(), PageError> {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site" | "same-site") => {
            Err(PageError::forbidden("Forms of this page cannot be sent from another site."))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::site::Frame;
    use crate::pages::site::SameSite;

    const A: PageSite = PageSite {
        name: "a",
        frame: Frame::Sheet,
        cookie: "netauth_a",
        cookie_path: "/a",
        same_site: SameSite::Lax,
        csrf_sector: "csrf:a",
        replay_scope: "pages:a",
        csrf_ttl: 600,
    };
    const B: PageSite = PageSite { cookie: "netauth_b", cookie_path: "/b", csrf_sector: "csrf:b", ..A };
    const T: i64 = 1_800_000_000;

    fn master() -> MasterKey {
        MasterKey::from_bytes(&[7u8; 32]).unwrap()
    }
    fn session(s: &str) -> Session {
        Session::parse(s).unwrap()
    }

    #[test]
    fn session_cookie_is_read_only_when_well_formed() {
        let site = PageSite { cookie: "netauth_handset", ..A };
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; netauth_handset=abcdefghijklmnopqrstuv"));
        assert_eq!(site.session_from(&h), Some(session("abcdefghijklmnopqrstuv")));
        assert_eq!(A.session_from(&h), None, "another site's cookie");
        h.insert(header::COOKIE, HeaderValue::from_static("netauth_handset=short"));
        assert_eq!(site.session_from(&h), None);
        h.insert(header::COOKIE, HeaderValue::from_static("netauth_handset=\"abcdefghijklmnopqrstuv\""));
        assert_eq!(site.session_from(&h), None);
    }

    #[test]
    fn new_session_cookie_carries_the_site_parameters() {
        let (s, cookie) = A.new_session(true);
        let cookie = cookie.unwrap();
        assert_eq!(
            cookie.to_str().unwrap(),
            format!("netauth_a={}; Path=/a; HttpOnly; SameSite=Lax; Secure", s.as_str())
        );
        let (_, plain) = B.new_session(false);
        assert!(plain.unwrap().to_str().unwrap().ends_with("; Path=/b; HttpOnly; SameSite=Lax"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("netauth_a={}", s.as_str())).unwrap());
        assert_eq!(A.session_from(&h), Some(s), "a new session reads back");
    }

    #[test]
    fn token_is_bound_to_session_subject_action_and_sector() {
        let (m, s) = (master(), session("abcdefghijklmnopqrstuv"));
        let t = A.csrf_token(&m, &s, "sub-1", "policy", T);
        assert!(A.check_csrf(&m, &s, "sub-1", "policy", &t, T).is_ok());
        let other = session("vutsrqponmlkjihgfedcba");
        assert_eq!(A.check_csrf(&m, &other, "sub-1", "policy", &t, T), Err(CsrfRefusal::Invalid));
        assert_eq!(A.check_csrf(&m, &s, "sub-2", "policy", &t, T), Err(CsrfRefusal::Invalid));
        assert_eq!(A.check_csrf(&m, &s, "sub-1", "prompt:x", &t, T), Err(CsrfRefusal::Invalid));
        assert_eq!(B.check_csrf(&m, &s, "sub-1", "policy", &t, T), Err(CsrfRefusal::Invalid), "other sector");
        let other_key = MasterKey::from_bytes(&[8u8; 32]).unwrap();
        assert_eq!(A.check_csrf(&other_key, &s, "sub-1", "policy", &t, T), Err(CsrfRefusal::Invalid));
    }

    #[test]
    fn tampered_or_malformed_tokens_are_refused() {
        let (m, s) = (master(), session("abcdefghijklmnopqrstuv"));
        let t = A.csrf_token(&m, &s, "sub", "act", T);
        let (stamp, mac) = t.rsplit_once('.').unwrap();
        let (_, nonce) = stamp.split_once('.').unwrap();
        // Moving the issue time forward would extend its life: the MAC covers it.
        let later = format!("{}.{nonce}.{mac}", T + 500);
        assert_eq!(A.check_csrf(&m, &s, "sub", "act", &later, T + 700), Err(CsrfRefusal::Invalid));
        for bad in ["", "1.abc", "x.abc.def", "1.abc.def"] {
            assert!(A.check_csrf(&m, &s, "sub", "act", bad, T).is_err(), "{bad}");
        }
        assert_eq!(A.check_csrf(&m, &s, "sub", "act", "1.abc", T), Err(CsrfRefusal::Malformed));
    }

    #[test]
    fn token_expires_after_the_site_ttl_and_refuses_the_future() {
        let (m, s) = (master(), session("abcdefghijklmnopqrstuv"));
        let t = A.csrf_token(&m, &s, "sub", "act", T);
        assert!(A.check_csrf(&m, &s, "sub", "act", &t, T + A.csrf_ttl).is_ok());
        assert_eq!(A.check_csrf(&m, &s, "sub", "act", &t, T + A.csrf_ttl + 1), Err(CsrfRefusal::Expired));
        // Issued by a node whose clock runs ahead: tolerated up to the skew.
        assert!(A.check_csrf(&m, &s, "sub", "act", &t, T - CSRF_SKEW).is_ok());
        assert_eq!(A.check_csrf(&m, &s, "sub", "act", &t, T - CSRF_SKEW - 1), Err(CsrfRefusal::Expired));
    }

    #[tokio::test]
    async fn token_is_spent_once() {
        let store = netauth_store::connect("sqlite::memory:", 1).await.unwrap();
        let store = crate::infra::jti_writer::JtiWriter::spawn(store);
        let (m, s) = (master(), session("abcdefghijklmnopqrstuv"));
        let t = A.csrf_token(&m, &s, "sub", "act", T);
        let nonce = A.check_csrf(&m, &s, "sub", "act", &t, T).unwrap();
        assert!(A.spend_csrf(&store, &nonce).await.unwrap());
        assert!(!A.spend_csrf(&store, &nonce).await.unwrap(), "spent twice");
        // Another token of the same form is a new nonce.
        let t2 = A.csrf_token(&m, &s, "sub", "act", T);
        let nonce2 = A.check_csrf(&m, &s, "sub", "act", &t2, T).unwrap();
        assert!(A.spend_csrf(&store, &nonce2).await.unwrap());
    }
}
