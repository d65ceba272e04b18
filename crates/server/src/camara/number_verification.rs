//! Number Verification v2 (CAMARA NumberVerification r3.2,
//! `number-verification.yaml` 2.1.0): `POST /number-verification/v2/verify`
//! and `GET /number-verification/v2/device-phone-number`.
//!
//! Only three-legged tokens whose subject the network itself authenticated
//! (`amr` `nba`: network-based authentication in the code flow, or a SIM
//! operator token in a CIBA hint or JWT bearer subject) are accepted;
//! anything else (the handset/OTP fallback, CIBA with a `tel:` or
//! `ipport:` hint) is 403 `NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK`,
//! a two-legged token 403 `PERMISSION_DENIED`. Tokens with these scopes are
//! issued for at most 300 s without a refresh token, and the first answered
//! call spends them on every node (NumberVerification PR #226).
//!
//! The same `verify` answers Number Verification 0.3.1
//! (`/number-verification/v0/verify` and the operators' names for it) by
//! that release's contract ([`ApiVersion::V0`]): a token without a number is
//! 403 `NUMBER_VERIFICATION.INVALID_TOKEN_CONTEXT`, numbers may come without
//! their `+` (plain or hashed), and neither property has a pattern, so a
//! value that cannot match is `false`, not 400.
//!
//! ```text
//! Caller ─► authorize(scope) ─► require_network_authentication (403)
//!   ─► body: exactly one of phoneNumber | hashedPhoneNumber (400)
//!   ─► spend_if_single_use (401 when spent) ─► compare with the token's number
//! ```

use crate::camara::call::{Caller, JsonBody, authorize, spend_if_single_use};
use crate::camara::version::{ApiVersion, legacy_phone_number};
use crate::errors::ApiReply;
use crate::infra::state::AppState;
use axum::Json;
use axum::extract::State;
use netauth_domain::camara::{NV_DEVICE_PHONE_NUMBER_READ, NV_VERIFY};
use netauth_domain::crypto::sha256;
use netauth_domain::token::AccessClaims;
use netauth_proto::CamaraError;
use serde_json::{Value, json};

pub const NOT_NETWORK_AUTHENTICATED: &str = "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK";

/// The token's number, if the network authenticated its subscriber.
fn network_authenticated_number(claims: &AccessClaims, v: ApiVersion) -> Result<&str, ApiReply> {
    let Some(msisdn) = claims.msisdn.as_deref().filter(|_| claims.is_three_legged()) else {
        return Err(match v {
            ApiVersion::V2 => CamaraError::permission_denied(
                "Number Verification needs a three-legged token: the subscriber must authenticate via the mobile network.",
            ),
            // 0.3.1's PhoneNumberVerificationPermissionDenied403 names this case.
            ApiVersion::V0 => CamaraError::new(
                403,
                "NUMBER_VERIFICATION.INVALID_TOKEN_CONTEXT",
                "Phone number cannot be deducted from access token context",
            ),
        }
        .into());
    };
    if !claims.network_authenticated() {
        return Err(CamaraError::new(
            403,
            NOT_NETWORK_AUTHENTICATED,
            "Client must authenticate via the mobile network to use this service",
        )
        .into());
    }
    Ok(msisdn)
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `phoneNumberVerify`: is this the number of the device the network
/// authenticated? v2: a hash is SHA-256 of the E.164 number with its `+`, in
/// hex of either case. 0.3.1 allows the number "optionally prefixed with
/// '+'", so a hash of either form matches.
pub async fn verify_post(
    State(app): State<AppState>,
    Caller(claims): Caller,
    body: JsonBody,
    v: ApiVersion,
) -> Result<Json<Value>, ApiReply> {
    authorize(&app, &claims, &[NV_VERIFY]).await?;
    let msisdn = network_authenticated_number(&claims, v)?;
    body.allow_only(&["phoneNumber", "hashedPhoneNumber"])?;
    let (plain, hashed) = match v {
        ApiVersion::V2 => (
            body.phone_number()?,
            body.string(
                "hashedPhoneNumber",
                is_sha256_hex,
                "the SHA-256 of the E.164 number, 64 hex digits",
            )?,
        ),
        ApiVersion::V0 => (
            body.string("phoneNumber", |_| true, "a string")?,
            body.string("hashedPhoneNumber", |_| true, "a string")?,
        ),
    };
    let hash_of = |n: &str| hex(&sha256(n.as_bytes()));
    let verified = match (plain, hashed, v) {
        (Some(p), None, ApiVersion::V2) => p == msisdn,
        (Some(p), None, ApiVersion::V0) => legacy_phone_number(p).is_some_and(|p| p == msisdn),
        (None, Some(h), ApiVersion::V2) => h.eq_ignore_ascii_case(&hash_of(msisdn)),
        (None, Some(h), ApiVersion::V0) => {
            [msisdn, msisdn.trim_start_matches('+')].iter().any(|n| h.eq_ignore_ascii_case(&hash_of(n)))
        }
        _ => {
            return Err(CamaraError::invalid_argument(
                "exactly one of `phoneNumber` and `hashedPhoneNumber` is required",
            )
            .into());
        }
    };
    spend_if_single_use(&app, &claims).await?;
    Ok(Json(json!({ "devicePhoneNumberVerified": verified })))
}

/// `phoneNumberShare`: the number of the device the network authenticated.
pub async fn device_phone_number_get(
    State(app): State<AppState>,
    Caller(claims): Caller,
) -> Result<Json<Value>, ApiReply> {
    authorize(&app, &claims, &[NV_DEVICE_PHONE_NUMBER_READ]).await?;
    let msisdn = network_authenticated_number(&claims, ApiVersion::V2)?.to_owned();
    spend_if_single_use(&app, &claims).await?;
    Ok(Json(json!({ "devicePhoneNumber": msisdn })))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_the_number_with_its_plus() {
        let h = super::hex(&netauth_domain::crypto::sha256(b"+34666666666"));
        assert_eq!(h.len(), 64);
        assert!(super::is_sha256_hex(&h) && super::is_sha256_hex(&h.to_uppercase()));
        assert!(!super::is_sha256_hex(&h[1..]) && !super::is_sha256_hex(&format!("{}g", &h[1..])));
    }
}
