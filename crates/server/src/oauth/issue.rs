//! Issuing tokens about a subscriber (three-legged): the decision is
//! `netauth_domain::flows::issue` (access token, ID token, refresh token,
//! Number Verification's bounds); this edge supplies the node's keys, the
//! issuing time and the lifetimes, and stores the refresh record.

use crate::infra::state::App;
pub use netauth_domain::flows::UserGrant;
use netauth_domain::flows::{IssueContext, issue_user_tokens as decide_tokens};
use netauth_proto::TokenResponse;
use netauth_store::StoreError;

/// Issues the tokens of `g` now; stores the refresh token's record first
/// when there is one.
pub async fn issue_user_tokens(app: &App, g: UserGrant<'_>) -> Result<TokenResponse, StoreError> {
    let iat = app.issue_time(&g.client.client_id, Some(&g.subscriber.id));
    let ring = app.key_ring();
    let ctx = IssueContext {
        issuer: &app.issuer,
        ring: &ring,
        master: &app.master,
        access_ttl: app.access_token_ttl(g.client),
        id_token_ttl: app.config.tokens.id_token_ttl_secs,
        refresh_ttl: g.client.refresh_token_ttl.unwrap_or(app.config.tokens.refresh_token_ttl_secs),
    };
    let issued = decide_tokens(g, &ctx, iat);
    if let Some(r) = &issued.refresh_record {
        app.store.insert_refresh_token(r).await?;
    }
    Ok(issued.response)
}
