//! Which contract a resource-API path answers by. The v2 paths follow the
//! current CAMARA files (SIM Swap 2.1.0, SimSwap r3.3; Number Verification
//! 2.1.0, NumberVerification r3.2). The v0 paths follow the first alpha
//! releases, which the operators' SDKs still call: CAMARA SIM Swap 0.4.0
//! (`sim_swap.yaml`, base path `sim-swap/v0`: Telefónica's
//! `/apigateway/sim-swap/v0`, Vonage's `/camara/sim-swap/v040`) and
//! Number Verification 0.3.1 (`number_verification.yaml`, base path
//! `number-verification/v0`: Telefónica's `/apigateway/number-verification/v0`,
//! Vonage's `/camara/number-verification/v031`).
//!
//! One handler serves both; the version is data it is given, and every
//! place where the old contract says something else asks it here. The
//! differences are listed in docs/operator-sdks.md ("API versions").

use crate::camara::call::JsonBody;
use crate::errors::ApiReply;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// SIM Swap 2.1.0, Number Verification 2.1.0.
    V2,
    /// SIM Swap 0.4.0, Number Verification 0.3.1.
    V0,
}

/// What a path does with `x-correlator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelatorRule {
    /// Commonalities `XCorrelator`: the pattern is checked (400), a valid
    /// value echoed (every v2 API).
    Checked,
    /// Number Verification 0.3.1 declares `x-correlator` as any string,
    /// echoed on every answer: nothing to refuse.
    EchoAny,
    /// SIM Swap 0.4.0 declares no `x-correlator` at all: an unknown header,
    /// neither refused nor echoed.
    Ignored,
}

/// `phoneNumber` in SIM Swap 0.4.0 and Number Verification 0.3.1:
/// "E.164 format (starting with country code). Optionally prefixed with
/// '+'" (SIM Swap's pattern `^\+?[0-9]{5,15}$`). netauth keeps numbers with
/// their `+`, so the old form is normalised to it. The old pattern allows a
/// leading 0, which no E.164 number has: such a number is nobody's (404),
/// not malformed.
pub fn legacy_phone_number(s: &str) -> Option<String> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    ((5..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("+{digits}"))
}

impl ApiVersion {
    /// SIM Swap's `phoneNumber` in the body, normalised to `+E.164`: v2's
    /// `PhoneNumber` schema as every v2 API reads it, or 0.4.0's pattern.
    pub fn sim_swap_phone_number(self, body: &JsonBody) -> Result<Option<String>, ApiReply> {
        match self {
            Self::V2 => Ok(body.phone_number()?.map(str::to_owned)),
            Self::V0 => Ok(body
                .string(
                    "phoneNumber",
                    |s| legacy_phone_number(s).is_some(),
                    "an E.164 number, optionally with a leading +, e.g. +34666666666",
                )?
                .and_then(legacy_phone_number)),
        }
    }

    pub fn correlator_rule_sim_swap(self) -> CorrelatorRule {
        match self {
            Self::V2 => CorrelatorRule::Checked,
            Self::V0 => CorrelatorRule::Ignored,
        }
    }

    pub fn correlator_rule_number_verification(self) -> CorrelatorRule {
        match self {
            Self::V2 => CorrelatorRule::Checked,
            Self::V0 => CorrelatorRule::EchoAny,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_numbers_take_an_optional_plus() {
        assert_eq!(legacy_phone_number("34666666666").as_deref(), Some("+34666666666"));
        assert_eq!(legacy_phone_number("+34666666666").as_deref(), Some("+34666666666"));
        assert_eq!(legacy_phone_number("0346666666").as_deref(), Some("+0346666666"));
        for bad in ["", "+", "++34666666666", "tel:+34666666666", "3466 6666", "1234", "+1234567890123456"] {
            assert_eq!(legacy_phone_number(bad), None, "{bad}");
        }
    }
}
