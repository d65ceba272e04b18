use super::*;
use crate::consent::{ConsentCapture, LegalBasis};
use crate::flows::policy::ScopeBasis;
use crate::flows::test_support::client;
use crate::subscriber::SubscriberStatus;
use netauth_proto::{GrantType, ScopeSet};

const FRAUD: &str = "dpv:FraudPreventionAndDetection";
const T0: UnixTime = 1_700_000_000;
const SETTINGS: CibaSettings = CibaSettings { auth_req_ttl: 120, interval: 2 };

fn subscriber(policy: HandsetPolicy) -> Subscriber {
    Subscriber {
        id: "sub-1".into(),
        msisdn: "+34655555555".into(),
        operator_id: "op".into(),
        status: SubscriberStatus::Active,
        sims: vec![],
        addresses: vec![],
        handset_policy: policy,
        created_at: 0,
    }
}

fn policy() -> PolicyDecision {
    PolicyDecision {
        scopes: ScopeSet::parse("openid sim-swap").unwrap(),
        purpose: Some(Purpose::parse(FRAUD).unwrap()),
        bases: vec![ScopeBasis {
            scope: Scope::parse("sim-swap").unwrap(),
            basis: LegalBasis::Consent,
            capture: ConsentCapture::Handset,
        }],
    }
}

fn missing(capture: ConsentCapture) -> ConsentOutcome {
    ConsentOutcome::Missing { scopes: vec![Scope::parse("sim-swap").unwrap()], capture }
}

fn start(
    consent: ConsentOutcome,
    handset: HandsetPolicy,
    hint: &LoginHint,
    delivery: DeliveryMode,
) -> CibaStart {
    let c = client(&["sim-swap"], &[FRAUD], &[GrantType::Ciba]);
    let s = subscriber(handset);
    let p = policy();
    let token = (delivery != DeliveryMode::Poll).then(|| "bearer".to_owned());
    start_ciba(
        CibaStartInput {
            client: &c,
            subscriber: &s,
            hint,
            policy: &p,
            consent,
            delivery,
            notification_token: token,
            settings: SETTINGS,
        },
        T0,
    )
}

fn created(s: CibaStart) -> NewCibaRequest {
    match s {
        CibaStart::Created(n) => *n,
        other => panic!("not created: {other:?}"),
    }
}

#[test]
fn starting_a_request() {
    let tel = LoginHint::parse("tel:+34655555555").unwrap();
    let op = LoginHint::parse("operatortoken:abc").unwrap();
    use CibaStatus::{Approved, Denied, Pending};
    use ConsentCapture::Handset;
    use HandsetPolicy::{Ask, AutoApprove, AutoDeny};
    // (consent, handset, hint, status, amr, prompt?, consent given now?)
    let cases = [
        (ConsentOutcome::Granted, Ask, &tel, Approved, vec![], false, false),
        (missing(Handset), Ask, &tel, Pending, vec!["hwk"], true, false),
        (missing(Handset), AutoApprove, &tel, Approved, vec![], false, true),
        (missing(Handset), AutoDeny, &tel, Denied, vec![], false, false),
        (missing(Handset), Ask, &op, Pending, vec!["nba"], true, false),
        (ConsentOutcome::Granted, Ask, &op, Approved, vec!["nba"], false, false),
    ];
    for (i, (consent, handset, hint, status, amr, prompt, given)) in cases.into_iter().enumerate() {
        let n = created(start(consent, handset, hint, DeliveryMode::Poll));
        let r = &n.request;
        assert_eq!(r.status, status, "case {i}");
        assert_eq!(r.amr, amr, "case {i}");
        assert_eq!(n.prompt.is_some(), prompt, "case {i}");
        assert_eq!(!n.consent_given.is_empty(), given, "case {i}");
        assert_eq!(r.approved_at, (status == Approved).then_some(T0), "case {i}: approved at once");
        assert_eq!(r.id_hash, hash_bearer(n.auth_req_id.as_str()), "only the hash is stored");
        assert_eq!((r.expires_at, r.interval), (T0 + 120, 2));
        assert_eq!(r.scope.to_string(), "openid sim-swap");
        assert!(!n.notify_client && r.notify_auth_req_id.is_none(), "poll mode");
        if let Some(p) = &n.prompt {
            assert_eq!(
                (p.reference.as_str(), p.scopes.as_slice()),
                (r.id_hash.as_str(), &["sim-swap".to_owned()][..])
            );
            assert_eq!(r.consent_scopes, [Scope::parse("sim-swap").unwrap()]);
        }
    }
    let refused = start(missing(ConsentCapture::Refuse), Ask, &tel, DeliveryMode::Poll);
    assert!(matches!(refused, CibaStart::Refused { ref missing, .. } if missing.len() == 1));
}

#[test]
fn ping_and_push_notify_when_decided_at_once() {
    let tel = LoginHint::parse("tel:+34655555555").unwrap();
    for mode in [DeliveryMode::Ping, DeliveryMode::Push] {
        let n = created(start(ConsentOutcome::Granted, HandsetPolicy::Ask, &tel, mode));
        assert!(n.notify_client);
        assert_eq!(n.request.notify_auth_req_id.as_deref(), Some(n.auth_req_id.as_str()));
        let n = created(start(missing(ConsentCapture::Handset), HandsetPolicy::Ask, &tel, mode));
        assert!(!n.notify_client, "notified after the handset answers");
    }
}

#[test]
fn delivery_needs_its_token() {
    let mut c = client(&[], &[], &[GrantType::Ciba]);
    assert_eq!(ciba_delivery(&c, None), Ok(DeliveryMode::Poll));
    c.backchannel_token_delivery_mode = Some(DeliveryMode::Ping);
    assert!(ciba_delivery(&c, None).is_err());
    assert_eq!(ciba_delivery(&c, Some("t")), Ok(DeliveryMode::Ping));
    assert!(ciba_delivery(&c, Some(&"t".repeat(1025))).is_err());
}

fn request(status: CibaStatus, last_polled_at: Option<i64>) -> CibaRequest {
    CibaRequest {
        id_hash: "h".into(),
        client_id: "client-1".into(),
        subscriber_id: "sub-1".into(),
        scope: ScopeSet::parse("sim-swap").unwrap(),
        purpose: Some(Purpose::parse(FRAUD).unwrap()),
        hint_kind: "tel".into(),
        amr: vec![],
        status,
        delivery: DeliveryMode::Poll,
        client_notification_token: None,
        created_at: T0,
        expires_at: T0 + 120,
        interval: 2,
        last_polled_at,
        consent_scopes: vec![],
        approved_at: (status == CibaStatus::Approved).then_some(T0 + 30),
        notify_auth_req_id: None,
    }
}

#[test]
fn polling() {
    use CibaStatus::{Approved, Consumed, Denied, Pending};
    let ms = |s: i64| (T0 + s) * 1000;
    let mut push = request(Approved, None);
    push.delivery = DeliveryMode::Push;
    let mut legacy = request(Approved, None);
    legacy.approved_at = None;
    let wait = |seen, at_ms, interval, slow_down| PollDecision::Wait { seen, at_ms, interval, slow_down };
    let cases: Vec<(&str, Option<CibaRequest>, &str, i64, PollDecision)> = vec![
        ("unknown", None, "client-1", ms(1), PollDecision::Invalid),
        ("foreign", Some(request(Approved, None)), "other", ms(1), PollDecision::Invalid),
        ("push", Some(push), "client-1", ms(1), PollDecision::PushClient),
        ("expired", Some(request(Approved, None)), "client-1", ms(120), PollDecision::Expired),
        ("first poll", Some(request(Pending, None)), "client-1", ms(1), wait(None, ms(1), 2, false)),
        (
            "in time",
            Some(request(Pending, Some(ms(1)))),
            "client-1",
            ms(3),
            wait(Some(ms(1)), ms(3), 2, false),
        ),
        (
            "too soon: slow_down",
            Some(request(Pending, Some(ms(1)))),
            "client-1",
            ms(3) - 1,
            wait(Some(ms(1)), ms(3) - 1, 7, true),
        ),
        ("denied", Some(request(Denied, None)), "client-1", ms(1), PollDecision::Denied),
        ("consumed", Some(request(Consumed, None)), "client-1", ms(1), PollDecision::Invalid),
        (
            "approved: auth_time is the approval",
            Some(request(Approved, None)),
            "client-1",
            ms(90),
            PollDecision::Issue { auth_time: T0 + 30 },
        ),
        (
            "approved before the field existed",
            Some(legacy),
            "client-1",
            ms(90),
            PollDecision::Issue { auth_time: T0 + 90 },
        ),
    ];
    for (name, req, client_id, now_ms, want) in cases {
        assert_eq!(poll_ciba(req.as_ref(), client_id, now_ms), want, "{name}");
    }
    let codes: Vec<&str> = [
        PollDecision::Invalid,
        PollDecision::PushClient,
        PollDecision::Expired,
        wait(None, 0, 2, false),
        wait(None, 0, 7, true),
        PollDecision::Denied,
    ]
    .iter()
    .map(|d| d.error().map_or("-", |e| e.code.as_str()))
    .collect();
    assert_eq!(
        codes,
        [
            "invalid_grant",
            "unauthorized_client",
            "expired_token",
            "authorization_pending",
            "slow_down",
            "access_denied"
        ]
    );
    assert_eq!(PollDecision::Denied.error().map(|e| e.status), Some(400));
    assert!(PollDecision::Issue { auth_time: 0 }.error().is_none());
}

#[test]
fn deciding_keeps_the_approval_time() {
    let mut r = request(CibaStatus::Pending, None);
    r.decide(CibaStatus::Approved, T0 + 42).unwrap();
    assert_eq!((r.status, r.approved_at), (CibaStatus::Approved, Some(T0 + 42)));
    assert!(r.decide(CibaStatus::Denied, T0 + 43).is_err(), "decided once");
    let mut r = request(CibaStatus::Pending, None);
    r.decide(CibaStatus::Denied, T0).unwrap();
    assert_eq!(r.approved_at, None);
    assert!(request(CibaStatus::Pending, None).decide(CibaStatus::Consumed, T0).is_err());
}
