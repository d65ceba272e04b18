//! Loading, environment overrides, validation, and the example file kept
//! in step with the defaults.

use super::*;

fn load_str(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let dir = std::env::temp_dir().join(format!("netauth-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{}.toml", text.len()));
    std::fs::write(&p, text).unwrap();
    let r = Config::load(Some(&p), env.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    let _ = std::fs::remove_file(&p);
    r
}

#[test]
fn unknown_key_is_named() {
    let e = load_str("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n", &[]).unwrap_err().to_string();
    assert!(e.contains("lisen"), "{e}");
}

#[test]
fn invalid_value_is_named() {
    let e = load_str("[server]\nlisten = \"nope\"\n", &[]).unwrap_err().to_string();
    assert!(e.contains("server.listen"), "{e}");
}

#[test]
fn admin_token_needs_256_bits() {
    for weak in [
        "secret",
        "test-admin-token-0123456789",
        "a".repeat(200).as_str(),
        "ab".repeat(100).as_str(),
        "0123456789abcdef0123456789abcdef",       // 128-bit hex
        "SGVsbG8gd29ybGQhIFRoaXMgaXMgYSB0ZXN0Lg", // 38 base64 characters
    ] {
        let e = load_str(&format!("[admin]\ntoken = \"{weak}\"\n"), &[]).unwrap_err().to_string();
        assert!(e.contains("admin.token"), "{weak}: {e}");
    }
    for strong in [
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", // 64 hex
        "q2Vb0h9sZk3XrT5mW8pYc1uJ7fLd4eGa6nRi2oKx0wE=",                     // openssl rand -base64 32
        "",                                                                 // admin API off
    ] {
        assert!(load_str(&format!("[admin]\ntoken = \"{strong}\"\n"), &[]).is_ok(), "{strong}");
    }
}

#[test]
fn sandbox_cannot_be_switched_on_by_configuration() {
    for (file, env) in [
        ("", ("NETAUTH__SANDBOX__ENABLED", "true")),
        ("[sandbox]\nenabled = true\n", ("X", "")),
        ("[sandbox]\nenabled = \"yes\"\n", ("X", "")),
    ] {
        let e = load_str(file, &[env]).unwrap_err().to_string();
        assert!(e.contains("sandbox.enabled") && e.contains("netauth sandbox"), "{e}");
    }
    let c = load_str("[sandbox]\nenabled = false\n", &[]).unwrap();
    assert!(!c.sandbox.enabled);
}

#[test]
fn env_overrides_file() {
    let c = load_str(
        "[server]\nlisten = \"127.0.0.1:1\"\n",
        &[("NETAUTH__SERVER__LISTEN", "127.0.0.1:2"), ("NETAUTH__TOKENS__ACCESS_TOKEN_TTL_SECS", "60")],
    )
    .unwrap();
    assert_eq!(c.server.listen.port(), 2);
    assert_eq!(c.tokens.access_token_ttl_secs, 60);
    let e = load_str("", &[("NETAUTH__SERVER__NOPE", "1")]).unwrap_err().to_string();
    assert!(e.contains("nope"), "{e}");
}

#[test]
fn example_config_lists_every_key_with_its_default() {
    // The reference file must parse to exactly the defaults, and every
    // key the code knows must appear in it.
    let text = include_str!("../../../../../netauth.example.toml");
    let c = load_str(text, &[]).unwrap();
    assert_eq!(format!("{:?}", c), format!("{:?}", Config::default()));
    let table: toml::Table = toml::from_str(text).unwrap();
    let defaults = toml::Table::try_from(Config::default()).unwrap();
    let keys = |t: &toml::Table| -> Vec<String> {
        let mut v: Vec<String> = t
            .iter()
            .flat_map(|(s, sec)| {
                sec.as_table().into_iter().flat_map(move |t| t.keys().map(move |k| format!("{s}.{k}")))
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(keys(&table), keys(&defaults), "netauth.example.toml must list every key");
}
