//! Keyed pseudonyms for subscriber identifiers in production logs (issue
//! #10 point 11, SECURITY.md "Everywhere": no subscriber number or address
//! in clear in production logs).
//!
//! A phone number or a subscriber's IP address is logged as `p:` and 16
//! characters of an HMAC keyed from the master key: the same value always
//! gives the same pseudonym on every node of an installation, so an operator
//! can still follow one subscriber through the logs and, holding a number,
//! compute its pseudonym (`netauth` does it the same way) — but a log file
//! alone reveals nobody. The sandbox logs in clear: its subscribers are
//! demo data and the developer needs to see them.

use netauth_domain::keys::MasterKey;
use std::borrow::Cow;
use std::net::IpAddr;

/// The HMAC "sector" of log pseudonyms: unrelated to any client's pairwise
/// `sub`, which uses client ids as sectors.
const SECTOR: &str = "netauth log pseudonym v1";

#[derive(Clone)]
pub struct LogNames {
    /// `None`: the sandbox, in clear.
    key: Option<MasterKey>,
}

impl LogNames {
    pub fn new(master: &MasterKey, sandbox: bool) -> Self {
        Self { key: (!sandbox).then(|| master.clone()) }
    }

    /// How a subscriber identifier (a number, an address) appears in logs.
    pub fn subscriber<'a>(&self, value: &'a str) -> Cow<'a, str> {
        match &self.key {
            None => Cow::Borrowed(value),
            Some(k) => {
                let mac = k.pairwise_sub(SECTOR, value);
                Cow::Owned(format!("p:{}", mac.chars().take(16).collect::<String>()))
            }
        }
    }

    /// A request path as it appears in logs: segments that are phone numbers
    /// or IP addresses (`/admin/v1/subscribers/+34…`) become pseudonyms.
    pub fn path<'a>(&self, path: &'a str) -> Cow<'a, str> {
        if self.key.is_none() || !path.split('/').any(is_subscriber_identifier) {
            return Cow::Borrowed(path);
        }
        let segments: Vec<Cow<'_, str>> = path
            .split('/')
            .map(|s| {
                if is_subscriber_identifier(s) {
                    Cow::Owned(self.subscriber(&percent_decode(s)).into_owned())
                } else {
                    Cow::Borrowed(s)
                }
            })
            .collect();
        Cow::Owned(segments.join("/"))
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A phone number (`+` or `%2B`, then 6 or more digits, or digits alone of
/// E.164 length) or an IP address.
fn is_subscriber_identifier(segment: &str) -> bool {
    if segment.is_empty() {
        return false;
    }
    let s = percent_decode(segment);
    let digits = s.strip_prefix('+').unwrap_or(&s);
    (digits.len() >= 6 && digits.len() <= 15 && digits.chars().all(|c| c.is_ascii_digit()))
        || s.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_become_stable_pseudonyms() {
        let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let prod = LogNames::new(&master, false);
        let p = prod.subscriber("+34655555555");
        assert!(p.starts_with("p:") && p.len() == 18 && !p.contains("655555555"), "{p}");
        assert_eq!(p, prod.subscriber("+34655555555"), "stable");
        assert_ne!(p, prod.subscriber("+34655555556"));
        let other = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        assert_ne!(p, LogNames::new(&other, false).subscriber("+34655555555"), "keyed");
        let path = prod.path("/admin/v1/subscribers/%2B34655555555/consents");
        assert_eq!(path, format!("/admin/v1/subscribers/{p}/consents"));
        assert_eq!(prod.path("/admin/v1/subscribers/+34655555555"), format!("/admin/v1/subscribers/{p}"));
        assert!(!prod.path("/x/80.90.34.2").contains("80.90"));
        assert_eq!(prod.path("/admin/v1/clients/demo-basic"), "/admin/v1/clients/demo-basic");
        let sandbox = LogNames::new(&master, true);
        assert_eq!(sandbox.subscriber("+34655555555"), "+34655555555");
        assert_eq!(sandbox.path("/sandbox/handset/+34655555555"), "/sandbox/handset/+34655555555");
    }
}
