//! Config parsing, without touching the process environment.

use std::{collections::HashMap, time::Duration};

use gif_chat::config::{
    derive_cookie_key, AppEnv, ChatRate, Config, ConfigError, HashLimits, RoomRate, Scheme,
    DEFAULT_DATABASE_URL, DEFAULT_PORT, DEFAULT_STATIC_DIR, DEFAULT_TEMPLATES_GLOB,
    DEFAULT_WS_DEMO_INTERVAL,
};

fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_vars(|name| vars.get(name).cloned())
}

#[test]
fn defaults_match_the_book() {
    let config = from(&[("COOKIE_SECRET", "gifchat")]).expect("a short secret is accepted");
    assert_eq!(config.port, DEFAULT_PORT);
    assert_eq!(config.port, 8005);
    // Safe by default: error details only when development is asked for.
    assert_eq!(config.app_env, AppEnv::Production);
    assert_eq!(config.public_scheme, Scheme::Http);
    assert_eq!(config.ws_demo_interval, DEFAULT_WS_DEMO_INTERVAL);
    assert_eq!(config.ws_demo_interval, Duration::from_secs(3));
    assert_eq!(config.templates_glob, DEFAULT_TEMPLATES_GLOB);
    assert_eq!(config.static_dir.to_str(), Some(DEFAULT_STATIC_DIR));
    // Absolute, so the working directory does not matter.
    assert!(config.static_dir.is_absolute());
}

#[test]
fn missing_or_empty_cookie_secret_is_an_error_not_a_panic() {
    assert!(matches!(from(&[]), Err(ConfigError::MissingCookieSecret)));
    assert!(matches!(
        from(&[("COOKIE_SECRET", "")]),
        Err(ConfigError::MissingCookieSecret)
    ));
    let message = ConfigError::MissingCookieSecret.to_string();
    assert!(message.contains("COOKIE_SECRET") && !message.contains('\n'));
}

#[test]
fn cookie_key_is_derived_deterministically() {
    let a = derive_cookie_key("gifchat");
    let b = derive_cookie_key("gifchat");
    let c = derive_cookie_key("gifchat2");
    assert_eq!(a.master().len(), 64);
    assert_eq!(a.master(), b.master());
    assert_ne!(a.master(), c.master());
    // Even a one-byte secret yields a full key.
    assert_eq!(derive_cookie_key("x").master().len(), 64);
}

#[test]
fn values_are_parsed_and_validated() {
    let config = from(&[
        ("COOKIE_SECRET", "a long enough cookie secret"),
        ("PORT", "9000"),
        ("APP_ENV", "Production"),
        ("WS_DEMO_INTERVAL_MS", "50"),
        ("TEMPLATES_DIR", "/srv/templates/"),
        ("STATIC_DIR", "/srv/static"),
    ])
    .expect("valid config");
    assert_eq!(config.port, 9000);
    assert!(config.app_env.is_production());
    assert_eq!(config.ws_demo_interval, Duration::from_millis(50));
    assert_eq!(config.templates_glob, "/srv/templates/**/*");
    assert_eq!(config.static_dir.to_str(), Some("/srv/static"));

    for (name, value) in [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("WS_DEMO_INTERVAL_MS", "0"),
        ("WS_DEMO_INTERVAL_MS", "-5"),
        ("WS_DEMO_INTERVAL_MS", "18446744073709551615"),
    ] {
        let result = from(&[("COOKIE_SECRET", "secret"), (name, value)]);
        assert!(
            matches!(result, Err(ConfigError::Invalid { name: n, .. }) if n == name),
            "{name}={value} should be rejected"
        );
    }
}

#[test]
fn debug_output_never_shows_the_key() {
    let config = from(&[("COOKIE_SECRET", "gifchat")]).expect("valid config");
    assert!(format!("{config:?}").contains("<redacted>"));
}

#[test]
fn chat_settings_have_defaults_and_are_validated() {
    let config = from(&[("COOKIE_SECRET", "gifchat")]).expect("valid config");
    assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
    assert_eq!(config.database_url, "sqlite://data/gif-chat.db");
    assert_eq!(config.upload_dir.to_str(), Some("uploads"));
    assert_eq!(config.room_delete_grace, Duration::from_secs(10));
    assert_eq!(config.shutdown_timeout, Duration::from_secs(10));
    assert_eq!(config.body_timeout, Duration::from_secs(10));
    assert_eq!(
        config.chat_rate,
        ChatRate {
            per_second: 5,
            burst: 10
        }
    );

    let config = from(&[
        ("COOKIE_SECRET", "gifchat"),
        ("DATABASE_URL", "sqlite:///srv/chat.db"),
        ("UPLOAD_DIR", "/srv/uploads"),
        ("ROOM_DELETE_GRACE_MS", "250"),
        ("CHAT_RATE", "2"),
        ("SHUTDOWN_TIMEOUT_MS", "1500"),
        ("BODY_TIMEOUT_MS", "2500"),
    ])
    .expect("valid config");
    assert_eq!(config.database_url, "sqlite:///srv/chat.db");
    assert_eq!(config.upload_dir.to_str(), Some("/srv/uploads"));
    assert_eq!(config.room_delete_grace, Duration::from_millis(250));
    assert_eq!(config.shutdown_timeout, Duration::from_millis(1500));
    assert_eq!(config.body_timeout, Duration::from_millis(2500));
    assert_eq!(
        config.chat_rate,
        ChatRate {
            per_second: 2,
            burst: 4
        }
    );

    for (name, value) in [
        ("ROOM_DELETE_GRACE_MS", "0"),
        ("ROOM_DELETE_GRACE_MS", "soon"),
        ("CHAT_RATE", "0"),
        ("CHAT_RATE", "-1"),
        ("CHAT_RATE", "1001"),
        ("CHAT_RATE", "fast"),
        ("SHUTDOWN_TIMEOUT_MS", "0"),
        ("SHUTDOWN_TIMEOUT_MS", "later"),
        ("BODY_TIMEOUT_MS", "0"),
    ] {
        let result = from(&[("COOKIE_SECRET", "secret"), (name, value)]);
        assert!(
            matches!(result, Err(ConfigError::Invalid { name: n, .. }) if n == name),
            "{name}={value} should be rejected"
        );
    }
}

#[test]
fn argon2_limits_have_defaults_and_are_validated() {
    let config = from(&[("COOKIE_SECRET", "gifchat")]).expect("valid config");
    assert_eq!(
        config.hashing,
        HashLimits {
            concurrency: 2,
            queue_timeout: Duration::from_secs(5)
        }
    );
    let config = from(&[
        ("COOKIE_SECRET", "gifchat"),
        ("ARGON2_CONCURRENCY", "4"),
        ("ARGON2_QUEUE_TIMEOUT_MS", "250"),
    ])
    .expect("valid config");
    assert_eq!(
        config.hashing,
        HashLimits {
            concurrency: 4,
            queue_timeout: Duration::from_millis(250)
        }
    );
    for (name, value) in [
        ("ARGON2_CONCURRENCY", "0"),
        ("ARGON2_CONCURRENCY", "65"),
        ("ARGON2_CONCURRENCY", "many"),
        ("ARGON2_QUEUE_TIMEOUT_MS", "0"),
        ("ARGON2_QUEUE_TIMEOUT_MS", "soon"),
    ] {
        let result = from(&[("COOKIE_SECRET", "secret"), (name, value)]);
        assert!(
            matches!(result, Err(ConfigError::Invalid { name: n, .. }) if n == name),
            "{name}={value} should be rejected"
        );
    }
}

#[test]
fn room_rates_have_defaults_and_are_validated() {
    let config = from(&[("COOKIE_SECRET", "gifchat")]).expect("valid config");
    assert_eq!(
        config.room_rate,
        RoomRate {
            per_session: 5,
            per_address: 30
        }
    );
    let config = from(&[
        ("COOKIE_SECRET", "gifchat"),
        ("ROOM_RATE", "2"),
        ("ROOM_RATE_PER_ADDRESS", "100"),
    ])
    .expect("valid config");
    assert_eq!(
        config.room_rate,
        RoomRate {
            per_session: 2,
            per_address: 100
        }
    );
    for (name, value) in [
        ("ROOM_RATE", "0"),
        ("ROOM_RATE", "10001"),
        ("ROOM_RATE", "lots"),
        ("ROOM_RATE_PER_ADDRESS", "-1"),
    ] {
        let result = from(&[("COOKIE_SECRET", "secret"), (name, value)]);
        assert!(
            matches!(result, Err(ConfigError::Invalid { name: n, .. }) if n == name),
            "{name}={value} should be rejected"
        );
    }
}

#[test]
fn only_an_explicit_development_shows_error_details() {
    for (value, env) in [
        ("development", AppEnv::Development),
        (" Development ", AppEnv::Development),
        ("production", AppEnv::Production),
        ("dev", AppEnv::Production),
        ("", AppEnv::Production),
    ] {
        let config = from(&[("COOKIE_SECRET", "gifchat"), ("APP_ENV", value)]).expect("valid");
        assert_eq!(config.app_env, env, "{value:?}");
    }
}

#[test]
fn the_public_scheme_is_http_or_https() {
    for (value, scheme) in [("http", Scheme::Http), ("HTTPS", Scheme::Https)] {
        let config =
            from(&[("COOKIE_SECRET", "gifchat"), ("PUBLIC_SCHEME", value)]).expect("valid");
        assert_eq!(config.public_scheme, scheme, "{value}");
    }
    for value in ["ftp", "", "https://"] {
        let result = from(&[("COOKIE_SECRET", "gifchat"), ("PUBLIC_SCHEME", value)]);
        assert!(
            matches!(
                result,
                Err(ConfigError::Invalid {
                    name: "PUBLIC_SCHEME",
                    ..
                })
            ),
            "{value:?}"
        );
    }
}
