//! `login_hint` (CAMARA profile §1.6): `tel:+<E.164>`, `ipport:<IPv4 or
//! [IPv6]>[:port]`, `operatortoken:<opaque>`. No other prefixes exist. A
//! malformed hint is `invalid_request`; mapping a well-formed one to a
//! subscriber is the Network's job (`unknown_user_id` when it cannot).

use crate::error::OAuthError;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// An E.164 number with `+`, valid per libphonenumber's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Msisdn(String);

impl Msisdn {
    /// Accepts exactly the canonical form: `+`, country code, number, no
    /// separators (CAMARA `^\+[1-9][0-9]{4,14}$`), and a number that exists
    /// in the numbering plan of its country.
    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        let bad = || {
            OAuthError::invalid_request("the phone number must be E.164 with a leading +, e.g. +34666666666")
        };
        let digits = s.strip_prefix('+').ok_or_else(bad)?;
        if !(5..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(bad());
        }
        let n = phonenumber::parse(None, s).map_err(|_| bad())?;
        if !phonenumber::is_valid(&n) {
            return Err(OAuthError::invalid_request(
                "the phone number is not a valid number in its country's plan",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginHint {
    Tel(Msisdn),
    IpPort { ip: IpAddr, port: Option<u16> },
    OperatorToken(String),
}

impl LoginHint {
    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        let bad = |what: &str| OAuthError::invalid_request(format!("malformed login_hint: {what}"));
        let (kind, value) =
            s.split_once(':').ok_or_else(|| bad("expected tel:, ipport: or operatortoken:"))?;
        match kind {
            // `curl --data 'login_hint=tel:+34655555555'` (seed 000, verbatim)
            // sends an unescaped `+`, which form decoding turns into a space.
            // A tel URI never holds a space, so a leading one is that `+`.
            "tel" => match value.strip_prefix(' ') {
                Some(rest) => Ok(Self::Tel(Msisdn::parse(&format!("+{rest}"))?)),
                None => Ok(Self::Tel(Msisdn::parse(value)?)),
            },
            "ipport" => {
                let (ip, port) = parse_ipport(value)
                    .ok_or_else(|| bad("expected an IPv4 or [IPv6] address and optional port"))?;
                Ok(Self::IpPort { ip, port })
            }
            "operatortoken" => {
                if value.is_empty() || value.len() > 2048 || !value.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(bad("empty or malformed operator token"));
                }
                Ok(Self::OperatorToken(value.to_owned()))
            }
            _ => Err(bad("expected tel:, ipport: or operatortoken:")),
        }
    }

    /// The hint's kind, as it appears in the prefix.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Tel(_) => "tel",
            Self::IpPort { .. } => "ipport",
            Self::OperatorToken(_) => "operatortoken",
        }
    }
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

fn parse_ipport(v: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Some(rest) = v.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip: Ipv6Addr = ip.parse().ok()?;
        let port = match after {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':')?)?),
        };
        return Some((IpAddr::V6(ip), port));
    }
    // A bare IPv6 address (no port possible without brackets).
    if v.matches(':').count() > 1 {
        return v.parse::<Ipv6Addr>().ok().map(|ip| (IpAddr::V6(ip), None));
    }
    match v.split_once(':') {
        Some((ip, p)) => Some((IpAddr::V4(ip.parse().ok()?), Some(parse_port(p)?))),
        None => Some((IpAddr::V4(v.parse().ok()?), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_examples_parse() {
        assert_eq!(LoginHint::parse("tel:+34666666666").unwrap().kind(), "tel");
        assert_eq!(LoginHint::parse("tel:+34655555555").unwrap().kind(), "tel");
        assert_eq!(
            LoginHint::parse("ipport:80.90.34.2:16790").unwrap(),
            LoginHint::IpPort { ip: "80.90.34.2".parse().unwrap(), port: Some(16790) }
        );
        assert_eq!(
            LoginHint::parse("ipport:80.90.34.2").unwrap(),
            LoginHint::IpPort { ip: "80.90.34.2".parse().unwrap(), port: None }
        );
        assert_eq!(
            LoginHint::parse("ipport:[2001:db8::1]:8080").unwrap(),
            LoginHint::IpPort { ip: "2001:db8::1".parse().unwrap(), port: Some(8080) }
        );
        assert_eq!(
            LoginHint::parse("ipport:[2001:db8::1]").unwrap(),
            LoginHint::IpPort { ip: "2001:db8::1".parse().unwrap(), port: None }
        );
        assert_eq!(LoginHint::parse("operatortoken:abc.def-1").unwrap().kind(), "operatortoken");
        // The seed's curl sends `+` unescaped: form decoding makes it a space.
        assert_eq!(
            LoginHint::parse("tel: 34655555555").unwrap(),
            LoginHint::parse("tel:+34655555555").unwrap()
        );
    }

    #[test]
    fn malformed_hints_are_invalid_request() {
        for bad in [
            "",
            "tel:",
            "tel:34666666666",
            "tel:+34 666 666 666",
            "tel:+0123456",
            "tel:+1",
            "tel:+3466666666666666",
            "tel:+99912345678",
            "ipport:",
            "ipport:300.1.1.1",
            "ipport:1.2.3.4:70000",
            "ipport:1.2.3.4:",
            "ipport:[::1",
            "ipport:[::1]8080",
            "ipport:[zz::1]:1",
            "mail:a@b",
            "operatortoken:",
            "sub:123",
            "TEL:+34666666666",
        ] {
            let e = LoginHint::parse(bad).unwrap_err();
            assert_eq!(e.code.as_str(), "invalid_request", "{bad}");
        }
    }
}
