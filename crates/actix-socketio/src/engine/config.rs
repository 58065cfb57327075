//! Engine.IO server settings, with Node engine.io's defaults.

use std::time::Duration;

use super::session::{Limits, TransportKind};

/// How an Engine.IO server is mounted and which limits it enforces.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where the server answers, with a trailing slash (`/socket.io/`, `/engine.io/`).
    pub path: String,
    /// How often the server pings each client.
    pub ping_interval: Duration,
    /// How long a client has to answer a ping before its session ends.
    pub ping_timeout: Duration,
    /// How long a WebSocket upgrade may take from connection to the `5` packet.
    pub upgrade_timeout: Duration,
    /// The largest polling body or WebSocket message a client may send, in bytes.
    pub max_payload: u64,
    /// How many bytes of messages may wait for one client (a WebSocket that stopped reading,
    /// a long-poll client that stopped polling) before its session is closed with
    /// `outbound buffer full`. Volatile messages are dropped as soon as a client falls
    /// behind. A single message larger than this always closes the session.
    pub max_buffered: usize,
    /// How many sessions may be open at once; further handshakes get `503 Service
    /// Unavailable`.
    pub max_connections: usize,
    /// The transports clients may use; the first one a client opens with must be listed.
    pub transports: Vec<TransportKind>,
    /// Cross-origin access for browsers on other origins; `None` adds no CORS headers.
    pub cors: Option<Cors>,
    /// The `io` cookie set on the handshake response, for sticky load balancers.
    pub cookie: Option<SidCookie>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: "/engine.io/".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            max_buffered: 4 * 1024 * 1024,
            max_connections: 100_000,
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            cors: None,
            cookie: None,
        }
    }
}

impl EngineConfig {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            upgrade_timeout: self.upgrade_timeout,
            max_payload: self.max_payload,
            max_buffered: self.max_buffered,
        }
    }

    pub(crate) fn allows(&self, transport: TransportKind) -> bool {
        self.transports.contains(&transport)
    }

    /// `path` with exactly one leading and one trailing slash.
    pub(crate) fn normalized_path(&self) -> String {
        let trimmed = self.path.trim_matches('/');
        if trimmed.is_empty() {
            "/".into()
        } else {
            format!("/{trimmed}/")
        }
    }
}

/// Which origins may reach the server from a browser, as the `cors` option of Node's server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// The origins that may make requests.
    pub origins: AllowedOrigins,
    /// Lets browsers send cookies; the allowed origin is then echoed instead of `*`.
    pub credentials: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// Which origins CORS allows.
pub enum AllowedOrigins {
    /// Every origin (`*`, or the request's own with credentials).
    Any,
    /// These origins exactly.
    List(Vec<String>),
}

impl Cors {
    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if it is allowed.
    pub(crate) fn allow_origin<'a>(&self, origin: Option<&'a str>) -> Option<&'a str> {
        match (&self.origins, origin) {
            (AllowedOrigins::Any, None) if !self.credentials => Some("*"),
            (AllowedOrigins::Any, Some(_)) if !self.credentials => Some("*"),
            (AllowedOrigins::Any, Some(origin)) => Some(origin),
            (AllowedOrigins::List(list), Some(origin)) if list.iter().any(|o| o == origin) => {
                Some(origin)
            }
            _ => None,
        }
    }
}

/// The cookie that carries the session id on the handshake response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidCookie {
    /// The cookie name (Node: `io`).
    pub name: String,
    /// The cookie path.
    pub path: String,
    /// Whether scripts may not read it.
    pub http_only: bool,
}

impl Default for SidCookie {
    fn default() -> Self {
        SidCookie {
            name: "io".into(),
            path: "/".into(),
            http_only: true,
        }
    }
}
