//! No parser panics, whatever it is given (SECURITY.md "Everywhere"): a
//! deterministic random walk over inputs built from the characters that
//! matter to each grammar, and over byte-level mutations of valid inputs.
//! (A coverage-guided fuzzer can take these same entry points.)

use crate::{Form, GrantType, LoginHint, ScopeSet, TokenRequest, purpose};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "tel:+34666666666",
    "tel: 34655555555",
    "ipport:80.90.34.2:16790",
    "ipport:[2001:db8::1]:8080",
    "operatortoken:abc",
    "grant_type=client_credentials&scope=a+b&client_id=x%20y",
    "grant_type=urn:openid:params:grant-type:ciba&auth_req_id=abc",
    "dpv:FraudPreventionAndDetection#sim-swap",
    "openid dpv:A sim-swap:check",
    "response_type=code&client_id=a&prompt=login+consent&max_age=0&code_challenge_method=S256",
    r#"{"id_token":{"phone_number":{"essential":true}}}"#,
];
const ALPHABET: &[u8] = b"tel:ipport[]+0123456789.:#%&=_- dpvA\"\\\x00\xff\xc3\xa9/?";

fn inputs(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut r = Rng(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut v: Vec<u8> = if i % 2 == 0 {
            SEEDS[r.below(SEEDS.len())].as_bytes().to_vec()
        } else {
            (0..r.below(64)).map(|_| ALPHABET[r.below(ALPHABET.len())]).collect()
        };
        for _ in 0..r.below(4) {
            if v.is_empty() {
                break;
            }
            let at = r.below(v.len());
            match r.below(3) {
                0 => v[at] = ALPHABET[r.below(ALPHABET.len())],
                1 => {
                    v.remove(at);
                }
                _ => v.insert(at, ALPHABET[r.below(ALPHABET.len())]),
            }
        }
        out.push(v);
    }
    out
}

#[test]
fn parsers_never_panic() {
    for input in inputs(0x5eed, 20_000) {
        let s = String::from_utf8_lossy(&input);
        let _ = LoginHint::parse(&s);
        let _ = ScopeSet::parse(&s);
        let _ = purpose::normalise(Some(&s), None);
        let _ = purpose::normalise(None, Some(&s));
        if let Ok(f) = Form::parse(&input) {
            let _ = TokenRequest::parse(&f, &GrantType::ALL);
            let _ = crate::AuthorizationParams::from_form(&f).validate();
        }
        let _ = crate::PromptSet::parse(Some(&s));
        let _ = crate::ClaimsRequest::parse(&s);
        let _ = crate::CodeChallenge::parse(&s, Some("S256"));
    }
}
