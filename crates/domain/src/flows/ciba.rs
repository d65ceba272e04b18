//! The two steps of a CIBA flow (OpenID CIBA Core 1.0, CAMARA profile §1.5)
//! as decisions: starting a request ([`start_ciba`], after the policy and
//! the consent decision) and answering a poll ([`poll_ciba`]).
//!
//! ```text
//! bc-authorize: ciba_delivery ─► (policy, hint → subscriber, consent) ─► start_ciba
//!   Refused ─► 403 access_denied
//!   Created { request, prompt?, consent to record, notify client? } ─► Store ─► 200
//! token (grant_type=…:ciba): poll_ciba(request, client, now)
//!   Invalid | PushClient | Expired | Wait (record the poll) | Denied | Issue { auth_time }
//! ```

use crate::UnixTime;
use crate::ciba::{CibaRequest, CibaStatus, DeliveryMode, Prompt, PromptStatus};
use crate::client::Client;
use crate::crypto::{hash_bearer, random_token};
use crate::flows::consent::ConsentOutcome;
use crate::flows::policy::PolicyDecision;
use crate::subscriber::{HandsetPolicy, Subscriber};
use netauth_proto::{AuthReqId, LoginHint, OAuthError, OAuthErrorCode, Purpose, Scope};

/// `client_notification_token`s longer than this are refused.
pub const MAX_NOTIFICATION_TOKEN_LEN: usize = 1024;

/// The client's delivery mode (CIBA Core §5), and whether the request
/// carries what that mode needs.
pub fn ciba_delivery(client: &Client, notification_token: Option<&str>) -> Result<DeliveryMode, OAuthError> {
    let mode = client.backchannel_token_delivery_mode.unwrap_or(DeliveryMode::Poll);
    if mode != DeliveryMode::Poll && notification_token.is_none() {
        return Err(OAuthError::invalid_request(
            "client_notification_token is required in ping and push modes",
        ));
    }
    if notification_token.is_some_and(|t| t.len() > MAX_NOTIFICATION_TOKEN_LEN) {
        return Err(OAuthError::invalid_request("client_notification_token is too long"));
    }
    Ok(mode)
}

/// The operator's settings for new requests.
#[derive(Debug, Clone, Copy)]
pub struct CibaSettings {
    /// `expires_in` of a new `auth_req_id`, in seconds.
    pub auth_req_ttl: i64,
    /// The polling interval a new request starts with, in seconds.
    pub interval: i64,
}

/// Everything a new request is decided from.
pub struct CibaStartInput<'a> {
    pub client: &'a Client,
    pub subscriber: &'a Subscriber,
    pub hint: &'a LoginHint,
    /// The policy's decision; a CIBA request always has a purpose.
    pub policy: &'a PolicyDecision,
    pub consent: ConsentOutcome,
    pub delivery: DeliveryMode,
    pub notification_token: Option<String>,
    pub settings: CibaSettings,
}

/// What to do with a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CibaStart {
    /// Consent is missing and the operator's rule says to refuse at once
    /// (403 `access_denied`); the subscriber may opt in on the consent page.
    Refused {
        missing: Vec<Scope>,
        purpose: Purpose,
    },
    Created(Box<NewCibaRequest>),
}

/// A request to store and answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCibaRequest {
    /// Returned to the client once; only its hash is stored.
    pub auth_req_id: AuthReqId,
    pub request: CibaRequest,
    /// The handset prompt, when the subscriber must answer.
    pub prompt: Option<Prompt>,
    /// Consent the handset's auto-approve setting gives now: record it.
    pub consent_given: Vec<Scope>,
    /// Ping or push mode with the decision already made: notify the client.
    pub notify_client: bool,
}

/// Decides a new backchannel authentication request at `now`.
pub fn start_ciba(input: CibaStartInput<'_>, now: UnixTime) -> CibaStart {
    let CibaStartInput { client, subscriber, hint, policy, consent, delivery, notification_token, settings } =
        input;
    let purpose = policy.purpose.clone();
    let (status, ask, consent_given) = match consent {
        ConsentOutcome::Granted => (CibaStatus::Approved, Vec::new(), Vec::new()),
        ConsentOutcome::Missing { capture: crate::consent::ConsentCapture::Refuse, scopes } => {
            if let Some(purpose) = purpose {
                return CibaStart::Refused { missing: scopes, purpose };
            }
            // Without a purpose there is no consent to miss; the policy
            // never lets a CIBA request through without one.
            (CibaStatus::Denied, Vec::new(), Vec::new())
        }
        ConsentOutcome::Missing { scopes, .. } => match subscriber.handset_policy {
            HandsetPolicy::Ask => (CibaStatus::Pending, scopes, Vec::new()),
            HandsetPolicy::AutoApprove => (CibaStatus::Approved, Vec::new(), scopes),
            HandsetPolicy::AutoDeny => (CibaStatus::Denied, Vec::new(), Vec::new()),
        },
    };
    // RFC 8176: `nba` when an operator token proved the SIM; `hwk` when the
    // subscriber answers on the handset; nothing claimed otherwise.
    let amr = match (hint, status) {
        (LoginHint::OperatorToken(_), _) => vec!["nba".to_owned()],
        (_, CibaStatus::Pending) => vec!["hwk".to_owned()],
        _ => Vec::new(),
    };
    let auth_req_id = AuthReqId::from_generated(random_token::<32>());
    let request = CibaRequest {
        id_hash: hash_bearer(auth_req_id.as_str()),
        client_id: client.client_id.clone(),
        subscriber_id: subscriber.id.clone(),
        scope: policy.scopes.clone(),
        purpose: policy.purpose.clone(),
        hint_kind: hint.kind().into(),
        amr,
        status,
        delivery,
        client_notification_token: notification_token,
        created_at: now,
        expires_at: now + settings.auth_req_ttl,
        interval: settings.interval,
        last_polled_at: None,
        consent_scopes: ask.clone(),
        approved_at: (status == CibaStatus::Approved).then_some(now),
        notify_auth_req_id: (delivery != DeliveryMode::Poll).then(|| auth_req_id.as_str().to_owned()),
    };
    let prompt = (status == CibaStatus::Pending).then(|| Prompt {
        id: random_token::<16>(),
        subscriber_id: subscriber.id.clone(),
        kind: "ciba_consent".into(),
        reference: request.id_hash.clone(),
        client_id: client.client_id.clone(),
        client_name: client.name.clone(),
        purpose: request.purpose.as_ref().map(Purpose::to_string),
        scopes: ask.iter().map(Scope::to_string).collect(),
        status: PromptStatus::Pending,
        created_at: now,
        expires_at: now + settings.auth_req_ttl,
        code: None,
    });
    let notify_client = status != CibaStatus::Pending && delivery != DeliveryMode::Poll;
    CibaStart::Created(Box::new(NewCibaRequest {
        auth_req_id,
        request,
        prompt,
        consent_given,
        notify_client,
    }))
}

/// The answer to one poll of the token endpoint (CIBA Core §10.1, §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollDecision {
    /// Unknown, spent, or another client's: `invalid_grant`.
    Invalid,
    /// Push-mode requests are delivered, not polled: `unauthorized_client`.
    PushClient,
    Expired,
    /// Still pending: record this poll (if `last_polled_at` is still
    /// `seen`) with `interval`, then answer `authorization_pending`, or
    /// `slow_down` when the client polled faster than the interval.
    Wait {
        seen: Option<i64>,
        at_ms: i64,
        interval: i64,
        slow_down: bool,
    },
    /// 400 `access_denied` at the token endpoint (RFC 6749 §5.2; the
    /// CAMARA appendix lists it there), unlike bc-authorize's 403.
    Denied,
    /// Approved: spend the request, then issue tokens with this `auth_time`.
    Issue {
        auth_time: UnixTime,
    },
}

/// How much the interval grows on `slow_down` (CIBA Core §11).
pub const SLOW_DOWN_STEP_SECS: i64 = 5;

/// Decides a poll of `request` (`None`: no such `auth_req_id`) by
/// `client_id` at `now_ms` (milliseconds: with intervals of a second or
/// two, whole seconds cannot tell polls 10 ms apart from polls 1 s apart).
pub fn poll_ciba(request: Option<&CibaRequest>, client_id: &str, now_ms: i64) -> PollDecision {
    let Some(req) = request.filter(|r| r.client_id == client_id) else { return PollDecision::Invalid };
    if req.delivery == DeliveryMode::Push {
        return PollDecision::PushClient;
    }
    let now = now_ms.div_euclid(1000);
    if now >= req.expires_at {
        return PollDecision::Expired;
    }
    match req.status {
        CibaStatus::Pending => {
            let too_soon =
                req.last_polled_at.is_some_and(|last| now_ms - last < req.interval.saturating_mul(1000));
            let interval = if too_soon { req.interval + SLOW_DOWN_STEP_SECS } else { req.interval };
            PollDecision::Wait { seen: req.last_polled_at, at_ms: now_ms, interval, slow_down: too_soon }
        }
        CibaStatus::Denied => PollDecision::Denied,
        CibaStatus::Consumed => PollDecision::Invalid,
        // Requests stored before the approval time was kept: the poll's time,
        // as those versions answered.
        CibaStatus::Approved => PollDecision::Issue { auth_time: req.approved_at.unwrap_or(now) },
    }
}

impl PollDecision {
    /// The error this decision answers with, if it is one.
    pub fn error(self) -> Option<OAuthError> {
        Some(match self {
            Self::Invalid => invalid_auth_req_id(),
            Self::PushClient => OAuthError::unauthorized_client(
                "push-mode clients receive tokens at their notification endpoint",
            ),
            Self::Expired => OAuthError::new(OAuthErrorCode::ExpiredToken, "the auth_req_id has expired"),
            Self::Wait { slow_down: true, interval, .. } => {
                OAuthError::new(OAuthErrorCode::SlowDown, format!("poll at most every {interval} s"))
            }
            Self::Wait { slow_down: false, .. } => {
                OAuthError::new(OAuthErrorCode::AuthorizationPending, "the subscriber has not answered yet")
            }
            Self::Denied => OAuthError::access_denied("the subscriber denied the request").with_status(400),
            Self::Issue { .. } => return None,
        })
    }
}

/// The one answer for an `auth_req_id` that is not (or no longer) this
/// client's to redeem.
pub fn invalid_auth_req_id() -> OAuthError {
    OAuthError::invalid_grant("unknown, spent or foreign auth_req_id")
}

#[cfg(test)]
#[path = "ciba_tests.rs"]
mod tests;
