//! The consent engine: each (API scope, purpose) pair has a legal basis
//! configured by the operator. `contract` and `legitimate_interest` proceed;
//! `consent` needs a recorded opt-in of the subscriber for (client, scope,
//! purpose), asked for on the handset or given on the self-service page.

use crate::infra::state::App;
use netauth_domain::consent::{Consent, ConsentStatus};
use netauth_domain::flows::{ConsentOutcome, PolicyDecision, decide_consent};
use netauth_domain::revocation::{RevocationKind, subject_key};
use netauth_proto::{Purpose, Scope};
use netauth_store::StoreError;

/// Reads the subscriber's consents the policy's decision depends on (one
/// read per scope whose basis is `consent`; none otherwise) and decides.
pub async fn evaluate(
    app: &App,
    client_id: &str,
    subscriber_id: &str,
    decision: &PolicyDecision,
) -> Result<ConsentOutcome, StoreError> {
    let mut on_record = Vec::new();
    if let Some(purpose) = &decision.purpose {
        for scope in decision.consent_scopes() {
            if let Some(c) =
                app.store.get_consent(subscriber_id, client_id, scope.as_str(), purpose.as_str()).await?
            {
                on_record.push(c);
            }
        }
    }
    Ok(decide_consent(decision, &on_record))
}

/// Records the subscriber's opt-in for each scope.
pub async fn grant(
    app: &App,
    subscriber_id: &str,
    client_id: &str,
    purpose: &Purpose,
    scopes: &[Scope],
) -> Result<(), StoreError> {
    let t = app.now();
    for scope in scopes {
        app.store
            .upsert_consent(&Consent {
                subscriber_id: subscriber_id.into(),
                client_id: client_id.into(),
                scope: scope.to_string(),
                purpose: purpose.to_string(),
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
