//! Each step of a flow as a decision: `(inputs, now) → decision`, with no
//! IO. The HTTP edge (crates/server) extracts the request, reads what a
//! decision needs from the Store and the Network, calls the function here,
//! and carries out what it decided (writes, notifications, the response).
//!
//! | step | function |
//! |---|---|
//! | may the client ask for this? | [`policy::authorize_request`] |
//! | does the subscriber's consent allow it? | [`consent::decide_consent`] |
//! | what does a JWT bearer grant's assertion ask for? | [`jwt_bearer::read_grant`] |
//! | CIBA: which delivery mode | [`ciba::ciba_delivery`] |
//! | CIBA: start a request | [`ciba::start_ciba`] |
//! | CIBA: answer a poll | [`ciba::poll_ciba`] |
//! | refresh: rotate, or detect reuse | [`refresh::decide_refresh`], [`refresh::is_replay`] |
//! | issue tokens about a subscriber | [`issue::issue_user_tokens`] |
//!
//! Time is an argument (`now`, Unix seconds; `now_ms` where polling needs
//! milliseconds): the server reads its `Clock` once per request and passes
//! the reading down; tests pass whatever instant a case needs.

pub mod ciba;
pub mod consent;
pub mod issue;
pub mod jwt_bearer;
pub mod policy;
pub mod refresh;

pub use ciba::{
    CibaSettings, CibaStart, CibaStartInput, NewCibaRequest, PollDecision, ciba_delivery, poll_ciba,
    start_ciba,
};
pub use consent::{ConsentOutcome, decide_consent};
pub use issue::{IssueContext, IssuedTokens, UserGrant, issue_user_tokens};
pub use policy::{LegalBases, PolicyDecision, PolicyError, PolicyGrant, ScopeBasis, authorize_request};
pub use refresh::{RefreshDecision, RefreshInput, decide_refresh, is_replay};

#[cfg(test)]
pub(crate) mod test_support {
    use crate::client::{AuthMethod, Client, ClientStatus, SigningAlg};
    use netauth_proto::GrantType;

    pub fn client(scopes: &[&str], purposes: &[&str], grants: &[GrantType]) -> Client {
        Client {
            client_id: "client-1".into(),
            name: "Client One".into(),
            status: ClientStatus::Active,
            token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
            secrets: vec![],
            jwks: None,
            jwks_uri: None,
            redirect_uris: vec![],
            grant_types: grants.to_vec(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            purposes: purposes.iter().map(|s| s.to_string()).collect(),
            cors_origins: vec![],
            id_token_signed_response_alg: SigningAlg::ES256,
            access_token_ttl: None,
            refresh_token_ttl: None,
            backchannel_token_delivery_mode: None,
            backchannel_client_notification_endpoint: None,
            compat_profile: None,
            created_at: 0,
            updated_at: 0,
        }
    }
}
