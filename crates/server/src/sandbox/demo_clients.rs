//! The sandbox's demo clients: one for each seed's dialect (and the CAMARA
//! profile's), created by `load_demo_data` when missing.

use netauth_domain::client::{AuthMethod, SigningAlg};
use netauth_domain::compat::CompatProfile;
use netauth_proto::GrantType;

const G2P_SCOPES: &[&str] =
    &["disburse", "on-disburse", "disburse/status", "disburse/on-status", "mapper/link", "mapper/unlink"];

pub(super) struct DemoSpec {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) method: AuthMethod,
    pub(super) key_alg: Option<SigningAlg>,
    pub(super) scopes: &'static [&'static str],
    pub(super) ttl: Option<i64>,
    pub(super) purpose: &'static str,
    pub(super) grants: &'static [GrantType],
    pub(super) purposes: &'static [&'static str],
    /// Loopback, so a developer's local app can take the callback on any
    /// port (RFC 8252 §7.3); one each, so seed 001's minimal request (no
    /// redirect_uri) works.
    pub(super) redirect_uris: &'static [&'static str],
    /// The operator SDK whose dialect the client speaks (docs/operator-sdks.md).
    pub(super) compat_profile: Option<CompatProfile>,
}

const CC: &[GrantType] = &[GrantType::ClientCredentials];
const CIBA: &[GrantType] = &[GrantType::Ciba, GrantType::RefreshToken];
const CODE: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];
const JWT_BEARER: &[GrantType] = &[GrantType::JwtBearer];
const CIBA_AND_CODE: &[GrantType] = &[GrantType::Ciba, GrantType::AuthorizationCode, GrantType::RefreshToken];
/// Seed 002 and Vonage's SDKs: CIBA for SIM Swap, the code flow for Number
/// Verification, no refresh tokens.
const CIBA_AND_CODE_ONLY: &[GrantType] = &[GrantType::Ciba, GrantType::AuthorizationCode];
/// Seeds 001 and 003: the phone number by line authentication, an ID token
/// and refresh tokens.
const OIDC_SCOPES: &[&str] = &["openid", "phone", "offline_access"];
const CAMARA_SCOPES: &[&str] = &[
    "sim-swap",
    "sim-swap:check",
    "sim-swap:retrieve-date",
    "number-verification:verify",
    "number-verification:device-phone-number:read",
];
/// Vonage's Number Verification asks `openid` beside its scope by default.
const VONAGE_SCOPES: &[&str] = &[
    "openid",
    "sim-swap",
    "sim-swap:check",
    "sim-swap:retrieve-date",
    "number-verification:verify",
    "number-verification:device-phone-number:read",
];
const SIM_SWAP_SCOPES: &[&str] = &["sim-swap", "sim-swap:check", "sim-swap:retrieve-date"];
const CAMARA_PURPOSES: &[&str] =
    &["dpv:FraudPreventionAndDetection", "dpv:RequestedServiceProvision", "dpv:IdentityVerification"];

pub(super) const DEMO_CLIENTS: &[DemoSpec] = &[
    DemoSpec {
        id: "demo-g2p",
        name: "G2P Connect demo (seed 004)",
        method: AuthMethod::ClientSecretPost,
        key_alg: None,
        scopes: G2P_SCOPES,
        ttl: Some(36000),
        grants: CC,
        purposes: &[],
        redirect_uris: &[],
        compat_profile: None,
        purpose: "seed 004: client_credentials with client_secret_post at /oauth2/client/token (timestamp header)",
    },
    DemoSpec {
        id: "demo-basic",
        name: "client_secret_basic demo",
        method: AuthMethod::ClientSecretBasic,
        key_alg: None,
        scopes: G2P_SCOPES,
        ttl: None,
        grants: CC,
        purposes: &[],
        redirect_uris: &[],
        compat_profile: None,
        purpose: "client_credentials with client_secret_basic at /token",
    },
    DemoSpec {
        id: "demo-private-key-jwt",
        name: "private_key_jwt demo (CAMARA profile)",
        method: AuthMethod::PrivateKeyJwt,
        key_alg: Some(SigningAlg::ES256),
        scopes: G2P_SCOPES,
        ttl: None,
        grants: CC,
        purposes: &[],
        redirect_uris: &[],
        compat_profile: None,
        purpose: "client_credentials with private_key_jwt (ES256 assertion, aud = token endpoint URL)",
    },
    DemoSpec {
        id: "demo-app-jwt",
        name: "application JWT demo (seed 002)",
        method: AuthMethod::AppJwt,
        key_alg: Some(SigningAlg::RS256),
        scopes: G2P_SCOPES,
        ttl: None,
        grants: CC,
        purposes: &[],
        redirect_uris: &[],
        compat_profile: None,
        purpose: "client_credentials with an RS256 application JWT in Authorization: Bearer",
    },
    DemoSpec {
        id: "demo-sim-swap",
        name: "SIM Swap demo, two-legged (client_credentials)",
        method: AuthMethod::ClientSecretBasic,
        key_alg: None,
        scopes: SIM_SWAP_SCOPES,
        ttl: None,
        grants: CC,
        purposes: &[],
        redirect_uris: &[],
        compat_profile: None,
        purpose: "SIM Swap with a two-legged token: client_credentials, phoneNumber in the body",
    },
    DemoSpec {
        id: "demo-ciba",
        name: "CIBA demo (seed 000)",
        method: AuthMethod::ClientSecretBasic,
        key_alg: None,
        scopes: CAMARA_SCOPES,
        ttl: None,
        grants: CIBA,
        purposes: CAMARA_PURPOSES,
        redirect_uris: &[],
        compat_profile: Some(CompatProfile::TelefonicaSdk),
        purpose: "seed 000: CIBA at /apigateway/bc-authorize and /apigateway/token with client_secret_basic; Telefónica's SDK (profile telefonica-sdk)",
    },
    DemoSpec {
        id: "demo-ciba-jwt",
        name: "CIBA demo, CAMARA profile (private_key_jwt)",
        method: AuthMethod::PrivateKeyJwt,
        key_alg: Some(SigningAlg::ES256),
        scopes: CAMARA_SCOPES,
        ttl: None,
        grants: CIBA_AND_CODE,
        purposes: CAMARA_PURPOSES,
        redirect_uris: &["http://127.0.0.1:9000/callback"],
        compat_profile: None,
        purpose: "CAMARA profile: CIBA with private_key_jwt and signed authentication requests; the authorization code flow with network-based authentication",
    },
    DemoSpec {
        id: "demo-jwt-bearer",
        name: "JWT bearer demo (CAMARA profile)",
        method: AuthMethod::PrivateKeyJwt,
        key_alg: Some(SigningAlg::ES256),
        scopes: CAMARA_SCOPES,
        ttl: None,
        grants: JWT_BEARER,
        purposes: CAMARA_PURPOSES,
        redirect_uris: &[],
        compat_profile: None,
        purpose: "CAMARA profile: the JWT bearer grant at /token (ES256 assertion, sub tel: or operatortoken:), the assertion its only credentials",
    },
    DemoSpec {
        id: "demo-vonage",
        name: "Network Enablement demo (seed 002)",
        method: AuthMethod::AppJwt,
        key_alg: Some(SigningAlg::RS256),
        scopes: VONAGE_SCOPES,
        ttl: None,
        grants: CIBA_AND_CODE_ONLY,
        purposes: CAMARA_PURPOSES,
        redirect_uris: &["http://127.0.0.1:9002/callback"],
        compat_profile: Some(CompatProfile::VonageSdk),
        purpose: "seed 002: Network Enablement at /v0.1/network-enablement, the flow at /oauth2/auth, the code exchange at /oauth2/token, with one RS256 application JWT; Vonage's SDKs (profile vonage-sdk: CIBA at /oauth2/bc-authorize)",
    },
    DemoSpec {
        id: "demo-telenor",
        name: "Line authentication demo (seed 001)",
        method: AuthMethod::ClientSecretBasic,
        key_alg: None,
        scopes: OIDC_SCOPES,
        ttl: None,
        grants: CODE,
        purposes: &[],
        redirect_uris: &["http://127.0.0.1:9001/callback"],
        compat_profile: None,
        purpose: "seed 001: authorization code with line authentication at /oauth/v2/authorize, code exchange with Basic at /oauth/v2/token",
    },
    DemoSpec {
        id: "demo-orange",
        name: "OpenID Connect demo (seed 003)",
        method: AuthMethod::ClientSecretBasic,
        key_alg: None,
        scopes: OIDC_SCOPES,
        ttl: None,
        grants: CODE,
        purposes: &[],
        redirect_uris: &["http://127.0.0.1:9003/callback"],
        compat_profile: None,
        purpose: "seed 003: OIDC authorization code at /openidconnect/fr/v1/authorize and /openidconnect/fr/v1/token",
    },
];
