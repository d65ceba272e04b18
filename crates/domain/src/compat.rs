//! Per-client compatibility profiles (issue #13): what an operator's own SDK
//! sends beyond the CAMARA profile, accepted for the clients registered
//! with that SDK's profile and for no other.
//!
//! A client without a profile gets the CAMARA profile exactly
//! (`login_hint` per §1.6, scopes per §1.9 and the APIs' OpenAPI files, a
//! poll answered at once per CIBA Core §11). A profile only ever widens
//! what a request may say; what the request is *read as* is always a
//! CAMARA request (a `tel:` hint, CAMARA scopes under one `dpv:` purpose),
//! so the stored request, the issued token and the resource APIs never see
//! a dialect.
//!
//! ```text
//! bc-authorize: ignored_params dropped ─► read_login_hint (hint forms)
//!   ─► normalise_scopes (vendor scope names → purpose + CAMARA scope)
//! /authorize:   login_hint_number (hint forms) ─► normalise_scopes
//! token (CIBA): first poll of a pending request ─► may wait first_poll_wait
//! every client-authenticating endpoint: form body labelled JSON ─► form_labelled_json
//! ```
//!
//! The table in docs/operator-sdks.md is [`markdown_table`]'s output; a test
//! compares them.

use netauth_proto::purpose::{self, PurposeScopes};
use netauth_proto::{LoginHint, OAuthError, Purpose, Scope};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A named compatibility profile, as the admin API and the CLI spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CompatProfile {
    /// Telefónica's `opengateway-sandbox-sdk` (Python, 1.1.0).
    TelefonicaSdk,
    /// Vonage's `vonage-network-auth` with `vonage-network-sim-swap` and
    /// `vonage-network-number-verification` (Python, 1.0.2 / 1.1.2 / 1.0.2).
    VonageSdk,
}

/// A `login_hint` form an SDK sends instead of `tel:+<E.164>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintForm {
    /// `phone_number:+<E.164>`: read as `tel:+<E.164>`.
    PhoneNumberPrefix,
    /// `+<E.164>` with no prefix: read as `tel:+<E.164>`.
    BareE164,
}

impl HintForm {
    pub const fn example(self) -> &'static str {
        match self {
            Self::PhoneNumberPrefix => "phone_number:+34655555555",
            Self::BareE164 => "+34655555555",
        }
    }

    /// The number in `raw` if it has this form; `None` if it has not.
    fn number(self, raw: &str) -> Option<&str> {
        match self {
            Self::PhoneNumberPrefix => raw.strip_prefix("phone_number:"),
            Self::BareE164 => raw.starts_with('+').then_some(raw),
        }
    }
}

/// An SDK's name for a purpose and a CAMARA scope, as one scope value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorScope {
    /// What the SDK sends, in `scope` or in `purpose`.
    pub name: &'static str,
    /// The `dpv:` purpose it stands for.
    pub purpose: &'static str,
    /// The CAMARA scope it stands for (the name in the API's OpenAPI file).
    pub scope: &'static str,
}

impl VendorScope {
    /// The typed pair. The constants below are checked by a test; a value
    /// that did not parse would be no mapping at all, never a wider one.
    pub fn mapped(&self) -> Option<(Purpose, Scope)> {
        Some((Purpose::parse(self.purpose).ok()?, Scope::parse(self.scope).ok()?))
    }
}

/// A parameter an SDK sends that netauth accepts and ignores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnoredParam {
    /// The endpoint (its canonical path).
    pub endpoint: &'static str,
    pub name: &'static str,
    /// What the SDK sends and why ignoring it loses nothing.
    pub why: &'static str,
}

/// Everything a profile accepts beyond the CAMARA profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileDefinition {
    pub profile: CompatProfile,
    /// The SDK (package and version) whose requests it was written from.
    pub sdk: &'static str,
    /// `login_hint` forms accepted besides `tel:`, `ipport:` and
    /// `operatortoken:` (at bc-authorize; at /authorize they pre-fill the
    /// number as a `tel:` hint does).
    pub hint_forms: &'static [HintForm],
    /// Vendor scope names accepted besides CAMARA's.
    pub vendor_scopes: &'static [VendorScope],
    /// Parameters accepted and dropped before the request is read.
    pub ignored_params: &'static [IgnoredParam],
    /// Whether a form body sent as `Content-Type: application/json` is read
    /// as the form it is, at the endpoints that authenticate clients
    /// (bc-authorize, token, introspection, revocation). A body that is
    /// not a form is refused as for any client.
    pub form_labelled_json: bool,
    /// How long the first poll of a still-pending CIBA request may wait for
    /// the subscriber's answer before answering `authorization_pending`,
    /// in milliseconds (0: it answers at once). For SDKs that poll once,
    /// immediately, and never again.
    pub first_poll_wait_ms: u64,
}

/// The longest any profile may make a poll wait: a poll holds a connection
/// slot (never a database connection) while it waits.
pub const MAX_FIRST_POLL_WAIT_MS: u64 = 5_000;

const FRAUD: &str = "dpv:FraudPreventionAndDetection";

const TELEFONICA: ProfileDefinition = ProfileDefinition {
    profile: CompatProfile::TelefonicaSdk,
    sdk: "opengateway-sandbox-sdk 1.1.0",
    hint_forms: &[HintForm::PhoneNumberPrefix],
    vendor_scopes: &[
        // purposes.py, NumberVerificationPurpose; its SimswapPurpose
        // (`dpv:FraudPreventionAndDetection#sim-swap`) is CAMARA already.
        VendorScope {
            name: "dpv:FraudPreventionAndDetection#number-verification-verify-read",
            purpose: FRAUD,
            scope: crate::camara::NV_VERIFY,
        },
    ],
    ignored_params: &[IgnoredParam {
        endpoint: "/bc-authorize",
        name: "acr_values",
        why: "always `2`; netauth has one level per flow (the handset's answer) and asserts no acr in CIBA",
    }],
    form_labelled_json: false,
    first_poll_wait_ms: 0,
};

const VONAGE: ProfileDefinition = ProfileDefinition {
    profile: CompatProfile::VonageSdk,
    sdk: "vonage-network-auth 1.0.2, vonage-network-sim-swap 1.1.2, vonage-network-number-verification 1.0.2",
    hint_forms: &[HintForm::BareE164],
    vendor_scopes: &[
        VendorScope {
            name: "dpv:FraudPreventionAndDetection#check-sim-swap",
            purpose: FRAUD,
            scope: crate::camara::SIM_SWAP_CHECK,
        },
        VendorScope {
            name: "dpv:FraudPreventionAndDetection#retrieve-sim-swap-date",
            purpose: FRAUD,
            scope: crate::camara::SIM_SWAP_RETRIEVE_DATE,
        },
        VendorScope {
            name: "dpv:FraudPreventionAndDetection#number-verification-verify-read",
            purpose: FRAUD,
            scope: crate::camara::NV_VERIFY,
        },
    ],
    ignored_params: &[],
    // vonage-http-client 1.5.2 keeps `Content-Type: application/json` in
    // its shared headers after any JSON call (a resource API), so every
    // later bc-authorize and token request of the same client object
    // carries a form body under that label.
    form_labelled_json: true,
    // The SDK calls /oauth2/token once, right after bc-authorize.
    first_poll_wait_ms: 5_000,
};

impl CompatProfile {
    pub const ALL: [Self; 2] = [Self::TelefonicaSdk, Self::VonageSdk];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TelefonicaSdk => "telefonica-sdk",
            Self::VonageSdk => "vonage-sdk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub const fn definition(self) -> &'static ProfileDefinition {
        match self {
            Self::TelefonicaSdk => &TELEFONICA,
            Self::VonageSdk => &VONAGE,
        }
    }
}

fn definition(profile: Option<CompatProfile>) -> Option<&'static ProfileDefinition> {
    profile.map(CompatProfile::definition)
}

/// The backchannel authentication request's `login_hint` (CAMARA profile
/// §1.6), with the profile's extra forms read as `tel:` hints. A form the
/// profile does not name is parsed, and refused, as for any client.
pub fn read_login_hint(profile: Option<CompatProfile>, raw: &str) -> Result<LoginHint, OAuthError> {
    for form in definition(profile).map_or(&[][..], |d| d.hint_forms) {
        if let Some(number) = form.number(raw) {
            // `LoginHint`'s `tel:` reading, so the number is checked (and
            // an unescaped `+` recovered) exactly as in `tel:` hints.
            return LoginHint::parse(&format!("tel:{number}"));
        }
    }
    LoginHint::parse(raw)
}

/// The `login_hint` of an authorization request with the profile's forms
/// turned into `tel:` hints; other values as sent (CAMARA profile §1.4:
/// there the hint only pre-fills the number, never an error).
pub fn authorize_login_hint(profile: Option<CompatProfile>, raw: &str) -> String {
    for form in definition(profile).map_or(&[][..], |d| d.hint_forms) {
        if let Some(number) = form.number(raw) {
            return format!("tel:{number}");
        }
    }
    raw.to_owned()
}

/// `scope` and `purpose` (CAMARA profile §1.9) with the profile's vendor
/// scope names read as the purpose and CAMARA scope each stands for.
pub fn normalise_scopes(
    profile: Option<CompatProfile>,
    scope: Option<&str>,
    purpose: Option<&str>,
) -> Result<Option<PurposeScopes>, OAuthError> {
    let vendor = definition(profile).map_or(&[][..], |d| d.vendor_scopes);
    purpose::normalise_with(scope, purpose, |v| vendor.iter().find(|s| s.name == v)?.mapped())
}

/// Whether the profile drops `name` at `endpoint` (a canonical path).
pub fn ignores_param(profile: Option<CompatProfile>, endpoint: &str, name: &str) -> bool {
    definition(profile)
        .is_some_and(|d| d.ignored_params.iter().any(|p| p.endpoint == endpoint && p.name == name))
}

/// Whether a form body labelled `application/json` is read as a form.
pub fn reads_form_labelled_json(profile: Option<CompatProfile>) -> bool {
    definition(profile).is_some_and(|d| d.form_labelled_json)
}

/// How long the first poll of a pending CIBA request may wait (never more
/// than [`MAX_FIRST_POLL_WAIT_MS`]); `None`: it answers at once.
pub fn first_poll_wait(profile: Option<CompatProfile>) -> Option<Duration> {
    let ms = definition(profile)?.first_poll_wait_ms.min(MAX_FIRST_POLL_WAIT_MS);
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// The profile table of docs/operator-sdks.md, generated from the
/// definitions above so that the documentation cannot drift from them.
pub fn markdown_table() -> String {
    let mut s = String::from("| | ");
    let defs: Vec<&ProfileDefinition> = CompatProfile::ALL.iter().map(|p| p.definition()).collect();
    s.push_str(&defs.iter().map(|d| format!("`{}`", d.profile.as_str())).collect::<Vec<_>>().join(" | "));
    s.push_str(" | no profile (CAMARA) |\n|---|");
    s.push_str(&"---|".repeat(defs.len() + 1));
    s.push('\n');
    let row = |name: &str, cells: Vec<String>, camara: &str| {
        format!("| {name} | {} | {camara} |\n", cells.join(" | "))
    };
    let list = |v: Vec<String>| if v.is_empty() { "none".to_owned() } else { v.join("<br>") };
    s.push_str(&row("SDK", defs.iter().map(|d| d.sdk.to_owned()).collect(), "any CAMARA client"));
    s.push_str(&row(
        "`login_hint` forms beside `tel:`, `ipport:`, `operatortoken:`",
        defs.iter()
            .map(|d| list(d.hint_forms.iter().map(|f| format!("`{}`", f.example())).collect()))
            .collect(),
        "none",
    ));
    s.push_str(&row(
        "vendor scope names (→ purpose + CAMARA scope)",
        defs.iter()
            .map(|d| {
                list(
                    d.vendor_scopes
                        .iter()
                        .map(|v| format!("`{}` → `{}` + `{}`", v.name, v.purpose, v.scope))
                        .collect(),
                )
            })
            .collect(),
        "none: `invalid_scope` unless the client registered the name itself",
    ));
    s.push_str(&row(
        "parameters accepted and ignored",
        defs.iter()
            .map(|d| {
                list(
                    d.ignored_params
                        .iter()
                        .map(|p| format!("`{}` at `{}`: {}", p.name, p.endpoint, p.why))
                        .collect(),
                )
            })
            .collect(),
        "none: `acr_values` at `/bc-authorize` is ignored as CIBA Core allows, but refused beside a signed request object (§7.1.1)",
    ));
    s.push_str(&row(
        "form body sent as `Content-Type: application/json`",
        defs.iter()
            .map(|d| match d.form_labelled_json {
                true => "read as the form it is".to_owned(),
                false => "refused (`invalid_request`)".to_owned(),
            })
            .collect(),
        "refused (`invalid_request`)",
    ));
    s.push_str(&row(
        "first poll of a pending CIBA request",
        defs.iter()
            .map(|d| match d.first_poll_wait_ms {
                0 => "answered at once".to_owned(),
                ms => {
                    format!("waits up to {} ms for the subscriber's answer, then `authorization_pending`", ms)
                }
            })
            .collect(),
        "answered at once (`authorization_pending`)",
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serde_agrees() {
        for p in CompatProfile::ALL {
            assert_eq!(CompatProfile::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
            assert_eq!(p.definition().profile, p);
        }
        assert_eq!(CompatProfile::parse("camara"), None);
    }

    #[test]
    fn every_vendor_scope_maps_to_a_served_camara_scope() {
        for p in CompatProfile::ALL {
            for v in p.definition().vendor_scopes {
                let (purpose, scope) = v.mapped().expect(v.name);
                assert!(crate::camara::API_SCOPES.contains(&scope.as_str()), "{}", v.name);
                assert_eq!(purpose.as_str(), v.purpose);
                assert!(Scope::parse(v.name).is_ok(), "{} must be one scope value", v.name);
            }
            assert!(p.definition().first_poll_wait_ms <= MAX_FIRST_POLL_WAIT_MS);
        }
    }

    #[test]
    fn hints_widen_only_with_the_profile() {
        let tel = LoginHint::parse("tel:+34655555555").unwrap();
        let t = Some(CompatProfile::TelefonicaSdk);
        let v = Some(CompatProfile::VonageSdk);
        assert_eq!(read_login_hint(t, "phone_number:+34655555555").unwrap(), tel);
        assert_eq!(read_login_hint(v, "+34655555555").unwrap(), tel);
        // Each profile its own form only; no profile, neither.
        assert!(read_login_hint(t, "+34655555555").is_err());
        assert!(read_login_hint(v, "phone_number:+34655555555").is_err());
        assert!(read_login_hint(None, "phone_number:+34655555555").is_err());
        assert!(read_login_hint(None, "+34655555555").is_err());
        // The number is still checked.
        let e = read_login_hint(t, "phone_number:34655555555").unwrap_err();
        assert_eq!(e.code.as_str(), "invalid_request");
        assert!(read_login_hint(v, "+99912345678").is_err());
        // The CAMARA forms keep working under a profile.
        assert_eq!(read_login_hint(v, "tel:+34655555555").unwrap(), tel);
        assert_eq!(authorize_login_hint(t, "phone_number:+34655555555"), "tel:+34655555555");
        assert_eq!(authorize_login_hint(None, "phone_number:+34655555555"), "phone_number:+34655555555");
    }

    #[test]
    fn vendor_scopes_become_camara_scopes_with_their_purpose() {
        let v = Some(CompatProfile::VonageSdk);
        let ps = normalise_scopes(v, Some("dpv:FraudPreventionAndDetection#check-sim-swap"), None)
            .unwrap()
            .unwrap();
        assert_eq!(ps.purpose.as_str(), FRAUD);
        assert_eq!(ps.scopes.to_string(), "sim-swap:check");
        let ps = normalise_scopes(
            v,
            Some("openid dpv:FraudPreventionAndDetection#number-verification-verify-read"),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ps.scopes.to_string(), "number-verification:verify openid");
        // In the purpose parameter too (Telefónica's SDK sends it there).
        let t = Some(CompatProfile::TelefonicaSdk);
        let ps = normalise_scopes(
            t,
            None,
            Some("dpv:FraudPreventionAndDetection#number-verification-verify-read"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(ps.scopes.to_string(), "number-verification:verify");
        // Without the profile the name is an (unregistered) scope as sent.
        let ps = normalise_scopes(None, Some("dpv:FraudPreventionAndDetection#check-sim-swap"), None)
            .unwrap()
            .unwrap();
        assert_eq!(ps.scopes.to_string(), "check-sim-swap");
        // Still one purpose per request.
        let e =
            normalise_scopes(v, Some("dpv:FraudPreventionAndDetection#check-sim-swap dpv:Marketing#x"), None)
                .unwrap_err();
        assert_eq!(e.code.as_str(), "invalid_scope");
    }

    #[test]
    fn waits_and_ignored_params() {
        assert_eq!(first_poll_wait(None), None);
        assert_eq!(first_poll_wait(Some(CompatProfile::TelefonicaSdk)), None);
        assert_eq!(first_poll_wait(Some(CompatProfile::VonageSdk)), Some(Duration::from_secs(5)));
        assert!(ignores_param(Some(CompatProfile::TelefonicaSdk), "/bc-authorize", "acr_values"));
        assert!(!ignores_param(None, "/bc-authorize", "acr_values"));
        assert!(!ignores_param(Some(CompatProfile::VonageSdk), "/bc-authorize", "acr_values"));
        assert!(reads_form_labelled_json(Some(CompatProfile::VonageSdk)));
        assert!(!reads_form_labelled_json(Some(CompatProfile::TelefonicaSdk)));
        assert!(!reads_form_labelled_json(None));
    }

    #[test]
    fn the_table_names_every_profile_and_mapping() {
        let t = markdown_table();
        for p in CompatProfile::ALL {
            assert!(t.contains(p.as_str()));
            for v in p.definition().vendor_scopes {
                assert!(t.contains(v.name));
            }
        }
    }
}
