//! The consent engine: each (API scope, purpose) pair has a legal basis
//! configured by the operator. `contract` and `legitimate_interest` proceed;
//! `consent` needs a recorded opt-in of the subscriber for (client, scope,
//! purpose), asked for on the handset or given on the self-service page.

use crate::infra::state::App;
use netauth_domain::consent::{Consent, ConsentCapture, ConsentStatus, LegalBasis, LegalBasisRule};
use netauth_domain::revocation::{RevocationKind, subject_key};
use netauth_proto::OAuthError;
use netauth_store::StoreError;

/// Scopes that are about the protocol, not an API: they have no legal basis.
pub fn is_protocol_scope(s: &str) -> bool {
    matches!(s, "openid" | "offline_access")
}

#[derive(Debug, PartialEq, Eq)]
pub enum ConsentOutcome {
    /// Every scope has a basis that needs nothing more, or consent on record.
    Granted,
    /// Consent is missing for these scopes; ask this way.
    Missing { scopes: Vec<String>, capture: ConsentCapture },
}

#[derive(Debug)]
pub enum ConsentError {
    /// A scope has no legal basis under the purpose: not grantable.
    NoBasis(String),
    Store(StoreError),
}

impl From<StoreError> for ConsentError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<ConsentError> for crate::errors::OAuthReply {
    fn from(e: ConsentError) -> Self {
        match e {
            ConsentError::NoBasis(m) => OAuthError::invalid_scope(m).into(),
            ConsentError::Store(s) => s.into(),
        }
    }
}

pub async fn evaluate(
    app: &App,
    client_id: &str,
    subscriber_id: &str,
    purpose: &str,
    scopes: &[String],
) -> Result<ConsentOutcome, ConsentError> {
    let rules = app.store.list_legal_bases().await?;
    let mut missing = Vec::new();
    let mut capture = ConsentCapture::Handset;
    for scope in scopes.iter().filter(|s| !is_protocol_scope(s)) {
        let rule: &LegalBasisRule = rules
            .iter()
            .find(|r| r.scope == *scope && r.purpose == purpose)
            .ok_or_else(|| ConsentError::NoBasis(format!("scope `{scope}` may not be used for {purpose}")))?;
        if rule.basis != LegalBasis::Consent {
            continue;
        }
        let given = app.store.get_consent(subscriber_id, client_id, scope, purpose).await?;
        if given.is_some_and(|c| c.status == ConsentStatus::Granted) {
            continue;
        }
        if rule.capture == ConsentCapture::Refuse {
            capture = ConsentCapture::Refuse;
        }
        missing.push(scope.clone());
    }
    Ok(if missing.is_empty() {
        ConsentOutcome::Granted
    } else {
        ConsentOutcome::Missing { scopes: missing, capture }
    })
}

/// Records the subscriber's opt-in for each scope.
pub async fn grant(
    app: &App,
    subscriber_id: &str,
    client_id: &str,
    purpose: &str,
    scopes: &[String],
) -> Result<(), StoreError> {
    let t = app.now();
    for scope in scopes {
        app.store
            .upsert_consent(&Consent {
                subscriber_id: subscriber_id.into(),
                client_id: client_id.into(),
                scope: scope.clone(),
                purpose: purpose.into(),
                status: ConsentStatus::Granted,
                updated_at: t,
            })
            .await?;
    }
    Ok(())
}

/// Revokes a consent: the refresh tokens of (client, subscriber) die, and so
/// do the access tokens issued to the client about the subscriber so far.
pub async fn revoke(
    app: &App,
    subscriber_id: &str,
    client_id: &str,
    scope: &str,
    purpose: &str,
) -> Result<bool, StoreError> {
    let Some(mut c) = app.store.get_consent(subscriber_id, client_id, scope, purpose).await? else {
        return Ok(false);
    };
    let t = app.now();
    c.status = ConsentStatus::Revoked;
    c.updated_at = t;
    app.store.upsert_consent(&c).await?;
    app.store.revoke_refresh_tokens_of(client_id, subscriber_id).await?;
    app.revoke(
        RevocationKind::Subject,
        &subject_key(client_id, subscriber_id),
        t,
        t + app.max_token_lifetime(),
    )
    .await?;
    Ok(true)
}
