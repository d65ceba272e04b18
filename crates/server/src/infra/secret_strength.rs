//! How strong a configured secret is: a generous entropy estimate, so that
//! a short or repetitive admin token stops start-up.

/// The admin token must carry at least this much entropy, in bits.
pub const ADMIN_TOKEN_MIN_BITS: f64 = 256.0;

/// A generous estimate of the entropy of a secret string: its length times
/// the bits per character of the smallest usual alphabet holding all its
/// characters (hex, base64, printable ASCII). Strings with fewer than 16
/// distinct characters get no credit beyond what those characters could
/// encode, so `aaaa…` or `abab…` fail however long they are.
pub fn estimated_entropy_bits(s: &str) -> f64 {
    let s = s.trim_end_matches('=');
    let bits_per_char = if s.chars().all(|c| c.is_ascii_hexdigit()) {
        4.0
    } else if s.chars().all(|c| c.is_ascii_alphanumeric() || "+/-_".contains(c)) {
        6.0
    } else if s.chars().all(|c| c.is_ascii_graphic()) {
        (94f64).log2()
    } else {
        // Anything else: count bytes, 8 bits at most each.
        return s.len() as f64 * distinct_cap(s, 8.0);
    };
    s.chars().count() as f64 * distinct_cap(s, bits_per_char)
}

/// `bits`, capped by what the string's distinct characters can encode.
fn distinct_cap(s: &str, bits: f64) -> f64 {
    let mut seen: Vec<char> = s.chars().collect();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() < 16 { (seen.len().max(1) as f64).log2().min(bits) } else { bits }
}
