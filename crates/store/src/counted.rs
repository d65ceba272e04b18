//! A [`Store`] that counts the calls made to it, per method: how many
//! database round trips each flow costs (the server exports the counts on
//! `/metrics` as `netauth_store_calls_total{method=…}`). A thin wrapper: each
//! method counts and delegates, nothing else.
//!
//! A new Store method is one line in the list below (the compiler says so:
//! the wrapper must implement every trait of [`Store`]).

use crate::{
    CibaStore, ClientStore, CodeStore, ConsentStore, EnablementStore, KeyStore, LoginStore, Maintenance,
    MetaStore, Purged, RefreshStore, ReplayStore, Result, RevocationStore, Store, SubscriberStore,
};
use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::authorize::{AuthorizationCode, LoginSession, PendingAuthorization};
use netauth_domain::ciba::{CibaRequest, CibaStatus, Prompt, PromptBounds, RefreshTokenRecord};
use netauth_domain::client::Client;
use netauth_domain::consent::{Consent, LegalBasisRule};
use netauth_domain::enablement::Enablement;
use netauth_domain::keys::{RotationPlan, StoredKey};
use netauth_domain::revocation::{Revocation, RevocationKind};
use netauth_domain::subscriber::{Operator, OperatorTokenRecord, Subscriber};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Calls per Store method, in the order of [`StoreCalls::METHODS`].
pub struct StoreCalls {
    counts: Vec<AtomicU64>,
}

impl Default for StoreCalls {
    fn default() -> Self {
        Self { counts: Self::METHODS.iter().map(|_| AtomicU64::new(0)).collect() }
    }
}

impl StoreCalls {
    fn hit(&self, m: Method) {
        if let Some(c) = self.counts.get(m as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every call so far.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// `(method, calls)` for every method, called or not.
    pub fn by_method(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Self::METHODS.iter().zip(&self.counts).map(|(m, c)| (*m, c.load(Ordering::Relaxed)))
    }

    /// Calls of one method (0 for an unknown name).
    pub fn of(&self, method: &str) -> u64 {
        self.by_method().find(|(m, _)| *m == method).map_or(0, |(_, n)| n)
    }
}

/// Wraps `inner`; the counts are read from the returned [`StoreCalls`].
pub fn counted(inner: Arc<dyn Store>) -> (Arc<dyn Store>, Arc<StoreCalls>) {
    let calls = Arc::new(StoreCalls::default());
    (Arc::new(CountedStore { inner, calls: calls.clone() }), calls)
}

struct CountedStore {
    inner: Arc<dyn Store>,
    calls: Arc<StoreCalls>,
}

macro_rules! counted {
    (
        by_hand { $( $manual:ident ),* }
        $( $trait:ident { $( fn $name:ident ( $( $arg:ident : $ty:ty ),* ) -> $ret:ty; )* } )*
    ) => {
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy)]
        enum Method { $( $( $name, )* )* $( $manual, )* }

        impl StoreCalls {
            /// The Store's methods, as named in the metric.
            pub const METHODS: &'static [&'static str] =
                &[ $( $( stringify!($name), )* )* $( stringify!($manual), )* ];
        }

        $(
            #[async_trait]
            impl $trait for CountedStore {
                $(
                    async fn $name(&self, $( $arg: $ty ),* ) -> Result<$ret> {
                        self.calls.hit(Method::$name);
                        self.inner.$name($( $arg ),*).await
                    }
                )*
            }
        )*
    };
}

counted! {
    by_hand { purge_expired, ping }
    ClientStore {
        fn insert_client(c: &Client) -> ();
        fn insert_clients(cs: &[Client]) -> ();
        fn get_client(client_id: &str) -> Option<Client>;
        fn list_clients(after: Option<&str>, limit: u32) -> Vec<Client>;
        fn update_client(c: &Client) -> bool;
        fn delete_client(client_id: &str) -> bool;
        fn count_clients() -> u64;
    }
    KeyStore {
        fn list_keys() -> Vec<StoredKey>;
        fn init_keys(keys: &[StoredKey]) -> bool;
        fn rotate_keys(plan: &RotationPlan) -> ();
    }
    ReplayStore {
        fn record_jti(client_id: &str, jti: &str, expires_at: UnixTime) -> bool;
        fn record_jtis(records: &[(String, String, UnixTime)]) -> Vec<bool>;
    }
    RevocationStore {
        fn append_revocation(
            kind: RevocationKind, value: &str, issued_before: UnixTime, expires_at: UnixTime, now: UnixTime
        ) -> i64;
        fn append_token_revocation(
            client_id: &str, jti: &str, issued_before: UnixTime, expires_at: UnixTime, max_live: u32, now: UnixTime
        ) -> Option<i64>;
        fn revocations_since(after_seq: i64, created_since: UnixTime, limit: u32) -> Vec<Revocation>;
    }
    MetaStore {
        fn get_meta(key: &str) -> Option<String>;
        fn set_meta(key: &str, value: &str) -> ();
    }
    SubscriberStore {
        fn upsert_operator(o: &Operator) -> ();
        fn get_operator(id: &str) -> Option<Operator>;
        fn list_operators() -> Vec<Operator>;
        fn delete_operator(id: &str) -> bool;
        fn insert_subscriber(s: &Subscriber) -> ();
        fn insert_subscribers(s: &[Subscriber]) -> ();
        fn update_subscriber(s: &Subscriber) -> bool;
        fn delete_subscriber(id: &str) -> bool;
        fn get_subscriber(id: &str) -> Option<Subscriber>;
        fn subscriber_by_msisdn(msisdn: &str) -> Option<Subscriber>;
        fn subscribers_by_address(ip: &str, port: Option<u16>, limit: u32) -> Vec<Subscriber>;
        fn list_subscribers(after: Option<&str>, limit: u32) -> Vec<Subscriber>;
        fn count_subscribers() -> u64;
        fn insert_operator_token(t: &OperatorTokenRecord) -> ();
        fn consume_operator_token(token_hash: &str, now: UnixTime) -> Option<OperatorTokenRecord>;
    }
    ConsentStore {
        fn upsert_legal_basis(r: &LegalBasisRule) -> ();
        fn delete_legal_basis(scope: &str, purpose: &str) -> bool;
        fn list_legal_bases() -> Vec<LegalBasisRule>;
        fn upsert_consent(c: &Consent) -> ();
        fn get_consent(subscriber_id: &str, client_id: &str, scope: &str, purpose: &str) -> Option<Consent>;
        fn list_consents(subscriber_id: &str) -> Vec<Consent>;
    }
    CibaStore {
        fn insert_ciba_request(r: &CibaRequest, prompt: Option<&Prompt>, bounds: PromptBounds, now: UnixTime) -> bool;
        fn get_ciba_request(id_hash: &str) -> Option<CibaRequest>;
        fn record_ciba_poll(id_hash: &str, seen: Option<UnixTime>, now: UnixTime, interval: i64) -> bool;
        fn decide_ciba_request(id_hash: &str, status: CibaStatus, now: UnixTime) -> Option<CibaRequest>;
        fn consume_ciba_request(id_hash: &str) -> Option<CibaRequest>;
        fn insert_prompt(p: &Prompt, bounds: PromptBounds, now: UnixTime) -> bool;
        fn get_prompt(id: &str) -> Option<Prompt>;
        fn list_prompts(subscriber_id: &str, now: UnixTime) -> Vec<Prompt>;
        fn answer_prompt(id: &str, subscriber_id: &str, approve: bool, now: UnixTime) -> Option<Prompt>;
    }
    RefreshStore {
        fn insert_refresh_token(r: &RefreshTokenRecord) -> ();
        fn get_refresh_token(token_hash: &str) -> Option<RefreshTokenRecord>;
        fn rotate_refresh_token(token_hash: &str, now: UnixTime) -> Option<RefreshTokenRecord>;
        fn revoke_refresh_family(family_id: &str) -> u64;
        fn revoke_refresh_tokens_of(client_id: &str, subscriber_id: &str) -> u64;
    }
    EnablementStore {
        fn put_enablement(e: &Enablement) -> ();
        fn get_enablement(key_hash: &str, now: UnixTime) -> Option<Enablement>;
    }
    CodeStore {
        fn insert_code(c: &AuthorizationCode, purge_at: UnixTime) -> ();
        fn consume_code(code_hash: &str, now: UnixTime) -> Option<AuthorizationCode>;
        fn mark_code_reused(code_hash: &str) -> Option<AuthorizationCode>;
        fn code_reused(code_hash: &str) -> bool;
    }
    LoginStore {
        fn insert_login_session(s: &LoginSession) -> ();
        fn get_login_session(id_hash: &str) -> Option<LoginSession>;
        fn delete_login_session(id_hash: &str) -> ();
        fn insert_pending_authorization(p: &PendingAuthorization) -> ();
        fn get_pending_authorization(id_hash: &str) -> Option<PendingAuthorization>;
        fn update_pending_authorization(p: &PendingAuthorization) -> bool;
        fn delete_pending_authorization(id_hash: &str) -> ();
    }
}

/// By hand: `backend` is not a round trip.
#[async_trait]
impl Maintenance for CountedStore {
    async fn purge_expired(&self, now: UnixTime) -> Result<Purged> {
        self.calls.hit(Method::purge_expired);
        self.inner.purge_expired(now).await
    }
    async fn ping(&self) -> Result<()> {
        self.calls.hit(Method::ping);
        self.inner.ping().await
    }
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_each_call_and_delegates() {
        let inner = crate::connect("sqlite::memory:", 1).await.unwrap();
        let (store, calls) = counted(inner);
        assert_eq!(calls.total(), 0);
        assert!(store.get_client("nobody").await.unwrap().is_none());
        store.ping().await.unwrap();
        store.ping().await.unwrap();
        assert_eq!(store.backend(), "sqlite");
        assert_eq!((calls.of("get_client"), calls.of("ping"), calls.total()), (1, 2, 3));
        assert_eq!(calls.by_method().count(), StoreCalls::METHODS.len());
    }
}
