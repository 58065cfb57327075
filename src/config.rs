//! Settings read from the environment (and `.env`, which `main` loads first).
//!
//! | variable              | default                       |
//! |-----------------------|-------------------------------|
//! | `PORT`                | 8005                          |
//! | `COOKIE_SECRET`       | required                      |
//! | `RUST_LOG`            | `info` (read by env_logger)   |
//! | `APP_ENV`             | `development` shows error details; anything else (or unset) = production |
//! | `PUBLIC_SCHEME`       | `http` (`https` behind a TLS proxy) |
//! | `WS_DEMO_INTERVAL_MS` | 3000                          |
//! | `NEWS_INTERVAL_MS`    | 3000                          |
//! | `SOCKETIO_CLIENT_DIR` | `<crate>/node_modules/socket.io-client/dist` |
//! | `TEMPLATES_DIR`       | `<crate>/templates`           |
//! | `STATIC_DIR`          | `<crate>/static`              |
//! | `DATABASE_URL`        | `sqlite://data/gif-chat.db`   |
//! | `UPLOAD_DIR`          | `uploads`                     |
//! | `ROOM_DELETE_GRACE_MS`| 10000                         |
//! | `CHAT_RATE`           | 5 (messages per second per session; bursts of twice that) |
//! | `SHUTDOWN_TIMEOUT_MS` | 10000 (SIGTERM / Ctrl-C to exit, at most) |
//! | `ROOM_RATE`           | 5 (rooms created per minute per session) |
//! | `ROOM_RATE_PER_ADDRESS` | 30 (rooms created per minute per client address) |
//! | `BODY_TIMEOUT_MS`     | 10000 (a request body must bring 1 KiB/s over each such period) |
//! | `ARGON2_CONCURRENCY`  | 2 (room password hashes at once) |
//! | `ARGON2_QUEUE_TIMEOUT_MS` | 5000 (how long a hash waits for its turn) |

use std::{fmt, path::PathBuf, time::Duration};

use actix_web::cookie::Key;
use hkdf::Hkdf;
use sha2::Sha512;

/// The session cookie: set by the pages' session middleware, read back from a socket's
/// handshake by `/chat`.
pub const SESSION_COOKIE_NAME: &str = "gif-chat.sid";

pub const DEFAULT_PORT: u16 = 8005;
/// Filter used when `RUST_LOG` is unset.
pub const DEFAULT_LOG_FILTER: &str = "info";
/// How often `/ws` pushes its message, like the book's `setInterval(..., 3000)`.
pub const DEFAULT_WS_DEMO_INTERVAL: Duration = Duration::from_millis(3000);
/// Absolute, so the app finds its files whatever the working directory is.
pub const DEFAULT_TEMPLATES_GLOB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/**/*");
pub const DEFAULT_STATIC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/static");
/// Where `npm ci` puts the official client that `/socket.io/socket.io.js` serves.
pub const DEFAULT_SOCKETIO_CLIENT_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/node_modules/socket.io-client/dist"
);
/// How often the Socket.IO demo emits `news` to each socket, like the book's 3 s interval.
pub const DEFAULT_NEWS_INTERVAL: Duration = Duration::from_millis(3000);

/// Relative to the working directory, like the book's `data/` folder; created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/gif-chat.db";
pub const DEFAULT_UPLOAD_DIR: &str = "uploads";
/// How long an empty room waits before it is deleted, so a refresh does not delete it.
pub const DEFAULT_ROOM_DELETE_GRACE: Duration = Duration::from_millis(10_000);
pub const DEFAULT_CHAT_RATE: u32 = 5;
/// A body is judged on its rate over periods this long, so a short stall (a phone between
/// cells) is forgiven.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_millis(10_000);
/// Within the 30 s an orchestrator usually allows before SIGKILL, with room to spare.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(10_000);
const MAX_CHAT_RATE: u32 = 1000;
/// Room creation: a person makes a room or two; sessions are free, so the address limit is
/// the one that binds a script (and leaves room for people sharing an address).
pub const DEFAULT_ROOM_RATE: u32 = 5;
pub const DEFAULT_ROOM_RATE_PER_ADDRESS: u32 = 30;
const MAX_ROOM_RATE: u32 = 10_000;
/// Each Argon2 hash holds ~19 MiB while it runs: two at a time bound that to ~40 MiB and
/// still check dozens of passwords a second.
pub const DEFAULT_ARGON2_CONCURRENCY: usize = 2;
const MAX_ARGON2_CONCURRENCY: usize = 64;
/// Past this wait for a turn, creating the room or checking the password is refused (503).
pub const DEFAULT_ARGON2_QUEUE_TIMEOUT: Duration = Duration::from_millis(5000);

const MAX_INTERVAL_MS: u64 = 24 * 60 * 60 * 1000;

/// Secrets shorter than this still work (HKDF stretches them) but earn a warning.
const MIN_SECRET_BYTES: usize = 16;
/// Fixed per-app salt: changing it invalidates every issued session cookie.
const KEY_SALT: &[u8] = b"gif-chat/cookie-key/v1";
const KEY_INFO: &[u8] = b"actix-session private cookie";

#[derive(Clone)]
pub struct Config {
    pub port: u16,
    /// 64-byte signing + encryption key for the session cookie.
    pub cookie_key: Key,
    pub app_env: AppEnv,
    /// How browsers reach the app: what their `Origin` must say, and whether the session
    /// cookie is `Secure`.
    pub public_scheme: Scheme,
    pub ws_demo_interval: Duration,
    pub news_interval: Duration,
    /// Tera glob, e.g. `/srv/gif-chat/templates/**/*`.
    pub templates_glob: String,
    pub static_dir: PathBuf,
    /// The socket.io-client package's `dist/` folder.
    pub socketio_client_dir: PathBuf,
    /// sqlx SQLite URL of the chat store.
    pub database_url: String,
    /// Where uploaded GIFs are kept.
    pub upload_dir: PathBuf,
    /// How long an empty room survives before it is deleted.
    pub room_delete_grace: Duration,
    pub chat_rate: ChatRate,
    pub room_rate: RoomRate,
    /// How long a graceful shutdown may take before the process exits anyway.
    pub shutdown_timeout: Duration,
    /// The period over which a request body must average `slow_body::MIN_BODY_RATE`.
    pub body_timeout: Duration,
    /// How much room password hashing may run at once.
    pub hashing: HashLimits,
}

/// Rooms created per minute, in bursts of as many, per session and per client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoomRate {
    pub per_session: u32,
    pub per_address: u32,
}

/// Bounds on Argon2 work (room creation and room passwords).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashLimits {
    /// Hashes running at once.
    pub concurrency: usize,
    /// How long a hash waits for one of them to finish before it is refused.
    pub queue_timeout: Duration,
}

impl Default for HashLimits {
    fn default() -> Self {
        HashLimits {
            concurrency: DEFAULT_ARGON2_CONCURRENCY,
            queue_timeout: DEFAULT_ARGON2_QUEUE_TIMEOUT,
        }
    }
}

/// A token bucket per session for chats, whispers and uploads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatRate {
    pub per_second: u32,
    /// Messages that may be sent at once after a pause.
    pub burst: u32,
}

impl ChatRate {
    /// Bursts of twice the steady rate: a quick reply after reading is fine, a flood is not.
    pub fn per_second(per_second: u32) -> Self {
        ChatRate {
            per_second,
            burst: per_second.saturating_mul(2),
        }
    }
}

// Hand-written so the cookie key never ends up in a log line.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("port", &self.port)
            .field("cookie_key", &"<redacted>")
            .field("app_env", &self.app_env)
            .field("public_scheme", &self.public_scheme)
            .field("ws_demo_interval", &self.ws_demo_interval)
            .field("news_interval", &self.news_interval)
            .field("templates_glob", &self.templates_glob)
            .field("static_dir", &self.static_dir)
            .field("socketio_client_dir", &self.socketio_client_dir)
            .field("database_url", &self.database_url)
            .field("upload_dir", &self.upload_dir)
            .field("room_delete_grace", &self.room_delete_grace)
            .field("chat_rate", &self.chat_rate)
            .field("room_rate", &self.room_rate)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("hashing", &self.hashing)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

impl AppEnv {
    pub fn is_production(self) -> bool {
        self == AppEnv::Production
    }
}

/// The scheme of the site's public address. The app itself speaks plain HTTP; behind a
/// TLS-terminating proxy it is `https`, which only the operator can say (a forwarded
/// header is the client's to write unless the proxy overwrites it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The WebSocket scheme of pages served over this one.
    pub fn websocket(self) -> &'static str {
        match self {
            Scheme::Http => "ws",
            Scheme::Https => "wss",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "COOKIE_SECRET is not set: add COOKIE_SECRET=<some secret> to .env or the environment"
    )]
    MissingCookieSecret,
    #[error("{name}={value:?} is invalid: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Builds the config from any variable lookup, so tests never touch the process environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = var("COOKIE_SECRET")
            .filter(|secret| !secret.is_empty())
            .ok_or(ConfigError::MissingCookieSecret)?;
        if secret.len() < MIN_SECRET_BYTES {
            log::warn!(
                "COOKIE_SECRET is only {} bytes; use at least {MIN_SECRET_BYTES} random bytes outside development",
                secret.len()
            );
        }

        let port = match var("PORT") {
            Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "PORT",
                value,
                expected: "a port number (0-65535)",
            })?,
            None => DEFAULT_PORT,
        };

        let ws_demo_interval = interval(&var, "WS_DEMO_INTERVAL_MS", DEFAULT_WS_DEMO_INTERVAL)?;
        let news_interval = interval(&var, "NEWS_INTERVAL_MS", DEFAULT_NEWS_INTERVAL)?;

        // Only an explicit "development" shows error details: unset or misspelt, the safe
        // choice (`make run` gets development from .env).
        let app_env = match var("APP_ENV") {
            Some(env) if env.trim().eq_ignore_ascii_case("development") => AppEnv::Development,
            _ => AppEnv::Production,
        };
        let public_scheme = match var("PUBLIC_SCHEME") {
            None => Scheme::Http,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "http" => Scheme::Http,
                "https" => Scheme::Https,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "PUBLIC_SCHEME",
                        value,
                        expected: "http or https",
                    })
                }
            },
        };

        let templates_glob = match var("TEMPLATES_DIR") {
            Some(dir) => format!("{}/**/*", dir.trim_end_matches('/')),
            None => DEFAULT_TEMPLATES_GLOB.to_owned(),
        };
        let static_dir = var("STATIC_DIR").map_or_else(|| DEFAULT_STATIC_DIR.into(), PathBuf::from);
        let socketio_client_dir = var("SOCKETIO_CLIENT_DIR")
            .map_or_else(|| DEFAULT_SOCKETIO_CLIENT_DIR.into(), PathBuf::from);

        let database_url = var("DATABASE_URL")
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let upload_dir = var("UPLOAD_DIR")
            .filter(|dir| !dir.trim().is_empty())
            .map_or_else(|| DEFAULT_UPLOAD_DIR.into(), PathBuf::from);
        let room_delete_grace = interval(&var, "ROOM_DELETE_GRACE_MS", DEFAULT_ROOM_DELETE_GRACE)?;
        let chat_rate = match var("CHAT_RATE") {
            Some(value) => match value.trim().parse::<u32>() {
                Ok(rate) if (1..=MAX_CHAT_RATE).contains(&rate) => ChatRate::per_second(rate),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "CHAT_RATE",
                        value,
                        expected: "messages per second between 1 and 1000",
                    })
                }
            },
            None => ChatRate::per_second(DEFAULT_CHAT_RATE),
        };

        let room_rate = RoomRate {
            per_session: per_minute(&var, "ROOM_RATE", DEFAULT_ROOM_RATE)?,
            per_address: per_minute(&var, "ROOM_RATE_PER_ADDRESS", DEFAULT_ROOM_RATE_PER_ADDRESS)?,
        };

        let shutdown_timeout = interval(&var, "SHUTDOWN_TIMEOUT_MS", DEFAULT_SHUTDOWN_TIMEOUT)?;
        let body_timeout = interval(&var, "BODY_TIMEOUT_MS", DEFAULT_BODY_TIMEOUT)?;
        let hashing = HashLimits {
            concurrency: match var("ARGON2_CONCURRENCY") {
                Some(value) => match value.trim().parse::<usize>() {
                    Ok(n) if (1..=MAX_ARGON2_CONCURRENCY).contains(&n) => n,
                    _ => {
                        return Err(ConfigError::Invalid {
                            name: "ARGON2_CONCURRENCY",
                            value,
                            expected: "a number of hashes between 1 and 64",
                        })
                    }
                },
                None => DEFAULT_ARGON2_CONCURRENCY,
            },
            queue_timeout: interval(
                &var,
                "ARGON2_QUEUE_TIMEOUT_MS",
                DEFAULT_ARGON2_QUEUE_TIMEOUT,
            )?,
        };

        Ok(Config {
            port,
            cookie_key: derive_cookie_key(&secret),
            app_env,
            public_scheme,
            ws_demo_interval,
            news_interval,
            templates_glob,
            static_dir,
            socketio_client_dir,
            database_url,
            upload_dir,
            room_delete_grace,
            chat_rate,
            room_rate,
            shutdown_timeout,
            body_timeout,
            hashing,
        })
    }
}

/// A timer interval in milliseconds. Zero would panic in tokio's interval, and absurdly
/// large values overflow `Instant`.
fn interval(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(value) = var(name) else {
        return Ok(default);
    };
    match value.trim().parse::<u64>() {
        Ok(ms) if (1..=MAX_INTERVAL_MS).contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => Err(ConfigError::Invalid {
            name,
            value,
            expected: "milliseconds between 1 and 86400000 (one day)",
        }),
    }
}

/// A count per minute, 1 to 10,000.
fn per_minute(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
) -> Result<u32, ConfigError> {
    let Some(value) = var(name) else {
        return Ok(default);
    };
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_ROOM_RATE).contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            value,
            expected: "rooms per minute between 1 and 10000",
        }),
    }
}

/// Stretches a secret of any length into the 64-byte key actix-session requires
/// (`Key::from` panics on anything shorter).
pub fn derive_cookie_key(secret: &str) -> Key {
    let mut okm = [0u8; 64];
    Hkdf::<Sha512>::new(Some(KEY_SALT), secret.as_bytes())
        .expand(KEY_INFO, &mut okm)
        // unwrap: HKDF-SHA512 can expand up to 255 * 64 bytes; 64 always fits.
        .unwrap();
    Key::from(&okm)
}
