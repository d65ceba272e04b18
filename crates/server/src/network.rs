//! The Network: who is behind a number, an address and port, or an operator
//! token, which SIMs a number has held, and how to reach the subscriber's
//! handset. netauth asks only this trait; the sandbox implements it from the
//! Store's tables, and a real operator plugs its own systems (HLR/HSS
//! lookups, CGNAT logs, a TS.43 entitlement server, a push/USSD gateway) in
//! behind it.
//!
//! Operator tokens (GSMA TS.43 entitlement credentials, CAMARA profile
//! §1.12) have their own interface beside it, [`EntitlementServer`]: the
//! system that validates them is the operator's entitlement server, not the
//! network core, and a provider may have one without the other.
//! [`resolve_login_hint`] sends each kind of hint to the right one.

use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::ciba::Prompt;
use netauth_domain::crypto::hash_bearer;
use netauth_domain::sim_swap::SimHistory;
use netauth_domain::subscriber::Subscriber;
use netauth_proto::LoginHint;
use netauth_store::{Store, StoreError};
use std::net::IpAddr;
use std::sync::Arc;

#[async_trait]
pub trait Network: Send + Sync {
    /// The active subscriber a `tel:` or `ipport:` hint designates, if
    /// exactly one does. Operator tokens are the [`EntitlementServer`]'s:
    /// callers go through [`resolve_login_hint`].
    async fn resolve_hint(&self, hint: &LoginHint, now: UnixTime) -> Result<Option<Subscriber>, StoreError>;
    /// The active subscriber holding `ip` (and `port`, under CGNAT).
    async fn resolve_address(&self, ip: IpAddr, port: Option<u16>) -> Result<Option<Subscriber>, StoreError>;
    async fn subscriber(&self, id: &str) -> Result<Option<Subscriber>, StoreError>;
    /// The subscriber holding this E.164 number, whatever their status
    /// (resource APIs tell an unknown number from a suspended line).
    async fn subscriber_by_number(&self, msisdn: &str) -> Result<Option<Subscriber>, StoreError>;
    /// The SIMs the subscriber's number has held and how far back the
    /// operator may disclose changes (SIM Swap).
    async fn sim_history(&self, subscriber: &Subscriber) -> Result<SimHistory, StoreError>;
    /// Delivers a prompt to the subscriber's handset (push, USSD, SMS…).
    async fn notify_handset(&self, subscriber: &Subscriber, prompt: &Prompt);
}

/// The sandbox network: the Store's subscriber tables; handsets are the
/// simulator pages, which read pending prompts themselves.
pub struct SandboxNetwork {
    pub store: Arc<dyn Store>,
    /// Numbers in clear in the sandbox, pseudonyms under `serve`.
    pub log_names: crate::infra::pseudonym::LogNames,
    /// SIM Swap's monitored period (`camara.sim_swap_monitored_days`);
    /// `None`: unlimited.
    pub sim_monitored_days: Option<u32>,
}

/// IPv4-mapped IPv6 addresses are their IPv4 address.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[async_trait]
impl Network for SandboxNetwork {
    async fn resolve_hint(&self, hint: &LoginHint, _now: UnixTime) -> Result<Option<Subscriber>, StoreError> {
        let s = match hint {
            LoginHint::Tel(m) => self.store.subscriber_by_msisdn(m.as_str()).await?,
            LoginHint::IpPort { ip, port } => return self.resolve_address(*ip, *port).await,
            // Not the network core's to validate (see EntitlementServer).
            LoginHint::OperatorToken(_) => None,
        };
        Ok(s.filter(Subscriber::is_active))
    }

    async fn resolve_address(&self, ip: IpAddr, port: Option<u16>) -> Result<Option<Subscriber>, StoreError> {
        let ip = canonical_ip(ip).to_string();
        // Two rows for one address without a port is ambiguous (CGNAT): no one.
        let mut found = self.store.subscribers_by_address(&ip, port, 2).await?;
        if found.len() != 1 {
            return Ok(None);
        }
        Ok(found.pop().filter(Subscriber::is_active))
    }

    async fn subscriber(&self, id: &str) -> Result<Option<Subscriber>, StoreError> {
        self.store.get_subscriber(id).await
    }

    async fn subscriber_by_number(&self, msisdn: &str) -> Result<Option<Subscriber>, StoreError> {
        self.store.subscriber_by_msisdn(msisdn).await
    }

    /// The sandbox keeps the history in the subscriber's record (set through
    /// the admin API, extended by the sandbox's SIM-swap endpoint).
    async fn sim_history(&self, subscriber: &Subscriber) -> Result<SimHistory, StoreError> {
        Ok(SimHistory { sims: subscriber.sims.clone(), monitored_days: self.sim_monitored_days })
    }

    async fn notify_handset(&self, subscriber: &Subscriber, prompt: &Prompt) {
        let subscriber = self.log_names.subscriber(&subscriber.msisdn);
        tracing::info!(%subscriber, prompt = %prompt.id, kind = %prompt.kind, "handset prompt");
    }
}

/// A TS.43 entitlement server, as the authorization server sees it: it
/// validates an operator token (GSMA TS.43 AcquireOperatorToken; CAMARA
/// profile §1.12) and says which subscriber's SIM it proves. The token
/// proves a SIM authentication (EAP-AKA) the entitlement server performed,
/// so a grant obtained with it carries network assurance (`amr` `nba`) and
/// opens Number Verification. The sandbox implements it with its own
/// issuer (`/sandbox/v1/operator-tokens`); a real operator plugs its
/// entitlement server in behind it.
#[async_trait]
pub trait EntitlementServer: Send + Sync {
    /// The active subscriber `token` was issued for, or `None` when it is
    /// unknown, expired, already used, or its line is not active. A token
    /// is single use: a successful validation spends it.
    async fn validate_operator_token(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Option<Subscriber>, StoreError>;
}

/// The sandbox's entitlement server: the tokens `/sandbox/v1/operator-tokens`
/// issued, kept hashed in the Store and spent atomically, so a token is
/// good once across all nodes.
pub struct SandboxEntitlementServer {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl EntitlementServer for SandboxEntitlementServer {
    async fn validate_operator_token(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Option<Subscriber>, StoreError> {
        let hash = hash_bearer(token);
        let Some(rec) = self.store.consume_operator_token(&hash, now).await? else {
            return Ok(None);
        };
        Ok(self.store.get_subscriber(&rec.subscriber_id).await?.filter(Subscriber::is_active))
    }
}

/// The active subscriber a hint (CIBA `login_hint`, JWT bearer `sub`)
/// designates: operator tokens through the entitlement server, numbers and
/// addresses through the network.
pub async fn resolve_login_hint(
    network: &dyn Network,
    entitlement: &dyn EntitlementServer,
    hint: &LoginHint,
    now: UnixTime,
) -> Result<Option<Subscriber>, StoreError> {
    match hint {
        LoginHint::OperatorToken(t) => entitlement.validate_operator_token(t, now).await,
        other => network.resolve_hint(other, now).await,
    }
}
