//! The in-memory revocation set every node checks tokens against.
//!
//! Access tokens are self-contained, so revocation is the only shared state a
//! check needs. The Store keeps an append-only log of revocations (a token id,
//! a grant id, or a client with "tokens issued before t"); each node applies
//! the entries it has not seen, so a revocation on one node reaches the others
//! within one sync interval. Entries carry an expiry (the longest lifetime of
//! a token they could match), after which they are dropped, so the set stays
//! bounded by the tokens alive at once, not by history.

use crate::UnixTime;
use crate::token::AccessClaims;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationKind {
    /// One access token, by `jti`.
    Token,
    /// Every token of a grant (authorization code, CIBA request, refresh family, consent).
    Grant,
    /// Every token of a client issued before `issued_before` (suspension, deletion).
    Client,
    /// Every token of one client about one subscriber issued before
    /// `issued_before` (consent revoked). Value: `subject_key(client, sub)`.
    Subject,
    /// Not a revocation: the operator changed the legal-basis rules, and
    /// every node drops its cached copy (the log is how changes reach all
    /// nodes). Matches no token. Value: empty.
    LegalBases,
}

/// The value of a `Subject` revocation.
pub fn subject_key(client_id: &str, subscriber_id: &str) -> String {
    format!("{client_id} {subscriber_id}")
}

impl RevocationKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Grant => "grant",
            Self::Client => "client",
            Self::Subject => "subject",
            Self::LegalBases => "legal_bases",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "token" => Some(Self::Token),
            "grant" => Some(Self::Grant),
            "client" => Some(Self::Client),
            "subject" => Some(Self::Subject),
            "legal_bases" => Some(Self::LegalBases),
            _ => None,
        }
    }
}

/// One entry of the revocation log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Position in the log (assigned by the Store).
    pub seq: i64,
    pub kind: RevocationKind,
    pub value: String,
    /// Tokens issued at or before this instant are revoked.
    pub issued_before: UnixTime,
    /// After this no token it could match is alive; the entry may be dropped.
    pub expires_at: UnixTime,
}

#[derive(Debug, Default)]
pub struct RevocationSet {
    entries: HashMap<(RevocationKind, String), (UnixTime, UnixTime)>,
    /// Highest log position applied.
    pub last_seq: i64,
}

impl RevocationSet {
    pub fn apply(&mut self, r: &Revocation) {
        self.last_seq = self.last_seq.max(r.seq);
        if r.kind == RevocationKind::LegalBases {
            return; // a change notice, not a revocation
        }
        let e = self.entries.entry((r.kind, r.value.clone())).or_insert((r.issued_before, r.expires_at));
        e.0 = e.0.max(r.issued_before);
        e.1 = e.1.max(r.expires_at);
    }

    pub fn is_revoked(&self, c: &AccessClaims) -> bool {
        self.revoked_by(c).is_some()
    }

    /// Which revocation matches `c`, if any, the widest first: a resource
    /// server that explains its refusal (the UserInfo endpoint: "no consent
    /// has been found", a suspended client) needs to know why.
    pub fn revoked_by(&self, c: &AccessClaims) -> Option<RevocationKind> {
        if self.entries.is_empty() {
            return None;
        }
        let hit = |kind, value: &str| {
            // Avoids allocating a key: the map is small and lookups by
            // (kind, &str) need an owned String otherwise.
            self.entries.get(&(kind, value.to_owned())).is_some_and(|(before, _)| c.iat <= *before)
        };
        if hit(RevocationKind::Client, &c.client_id) {
            Some(RevocationKind::Client)
        } else if c
            .sub
            .as_deref()
            .is_some_and(|s| hit(RevocationKind::Subject, &subject_key(&c.client_id, s)))
        {
            Some(RevocationKind::Subject)
        } else if c.grant_id.as_deref().is_some_and(|g| hit(RevocationKind::Grant, g)) {
            Some(RevocationKind::Grant)
        } else if hit(RevocationKind::Token, &c.jti) {
            Some(RevocationKind::Token)
        } else {
            None
        }
    }

    /// The earliest `iat` a new token of `client_id` (about `sub`) may carry
    /// so that no revocation already on record matches it: a client
    /// re-activated, or a consent given again, in the same second as the
    /// revocation must still get working tokens.
    pub fn issue_time(&self, client_id: &str, sub: Option<&str>, now: UnixTime) -> UnixTime {
        if self.entries.is_empty() {
            return now;
        }
        let before = |kind, value: String| self.entries.get(&(kind, value)).map_or(i64::MIN, |(b, _)| *b);
        let mut floor = before(RevocationKind::Client, client_id.to_owned());
        if let Some(s) = sub {
            floor = floor.max(before(RevocationKind::Subject, subject_key(client_id, s)));
        }
        now.max(floor.saturating_add(1))
    }

    pub fn prune(&mut self, now: UnixTime) {
        self.entries.retain(|_, (_, exp)| *exp > now);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revokes_by_token_grant_and_client() {
        let mut c = AccessClaims::two_legged("cl", netauth_proto::ScopeSet::parse("a").unwrap(), 100, 60);
        c.grant_id = Some("g1".into());
        let mut s = RevocationSet::default();
        assert!(!s.is_revoked(&c));
        s.apply(&Revocation {
            seq: 1,
            kind: RevocationKind::Grant,
            value: "g1".into(),
            issued_before: 200,
            expires_at: 300,
        });
        assert!(s.is_revoked(&c));
        let mut s = RevocationSet::default();
        s.apply(&Revocation {
            seq: 2,
            kind: RevocationKind::Client,
            value: "cl".into(),
            issued_before: 99,
            expires_at: 300,
        });
        assert!(!s.is_revoked(&c), "issued after the client was suspended");
        s.apply(&Revocation {
            seq: 3,
            kind: RevocationKind::Token,
            value: c.jti.clone(),
            issued_before: 1000,
            expires_at: 300,
        });
        assert!(s.is_revoked(&c));
        assert_eq!(s.revoked_by(&c), Some(RevocationKind::Token));
        assert_eq!(s.last_seq, 3);
        s.prune(301);
        assert!(s.is_empty());
    }

    #[test]
    fn says_which_revocation_matched_widest_first() {
        let mut c =
            AccessClaims::two_legged("cl", netauth_proto::ScopeSet::parse("openid").unwrap(), 100, 60);
        c.sub = Some("sub-1".into());
        c.grant_id = Some("g1".into());
        let mut s = RevocationSet::default();
        assert_eq!(s.revoked_by(&c), None);
        for (seq, (kind, value)) in [
            (RevocationKind::Token, c.jti.clone()),
            (RevocationKind::Grant, "g1".to_owned()),
            (RevocationKind::Subject, subject_key("cl", "sub-1")),
            (RevocationKind::Client, "cl".to_owned()),
        ]
        .into_iter()
        .enumerate()
        {
            let seq = seq as i64 + 1;
            s.apply(&Revocation { seq, kind, value, issued_before: 100, expires_at: 300 });
            assert_eq!(s.revoked_by(&c), Some(kind));
        }
        // Another subscriber's consent, another client: not this token.
        let mut other = c.clone();
        other.client_id = "other".into();
        other.sub = Some("sub-2".into());
        other.grant_id = None;
        other.jti = "another-token".into();
        assert_eq!(s.revoked_by(&other), None);
    }
}
