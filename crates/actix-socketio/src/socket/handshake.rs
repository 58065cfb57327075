//! What a socket knows about the request that opened it.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::cookie::Cookie;
use actix_web::http::header::{self, HeaderMap};
use serde_json::Value;

use crate::engine::{EngineSocket, RequestInfo};

/// The handshake of a namespace connection: the Engine.IO request plus the CONNECT auth.
///
/// The request's parts are read from the Engine.IO session, which keeps them once for all
/// of the connection's sockets: a copy per socket cost a kilobyte or more per connection.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The CONNECT packet's payload, `{}` when the client sent none.
    pub auth: Value,
    engine: EngineSocket,
}

impl Handshake {
    pub(crate) fn new(engine: &EngineSocket, auth: Value) -> Handshake {
        Handshake {
            auth,
            engine: engine.clone(),
        }
    }

    fn request(&self) -> &RequestInfo {
        self.engine.request()
    }

    /// The headers of the first request.
    pub fn headers(&self) -> &HeaderMap {
        &self.request().headers
    }

    /// The query string of the first request, decoded.
    pub fn query(&self) -> Vec<(String, String)> {
        self.request()
            .uri
            .query()
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default()
    }

    /// The TCP peer (a proxy, when there is one; see [`Handshake::client_ip`]).
    pub fn address(&self) -> Option<SocketAddr> {
        self.request().peer_addr
    }

    /// Path and query of the first request.
    pub fn url(&self) -> &str {
        self.request()
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
    }

    /// When the Engine.IO connection was made, in ms since the Unix epoch.
    pub fn issued(&self) -> u64 {
        self.request()
            .connected_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// The request came over TLS.
    pub fn secure(&self) -> bool {
        self.request().uri.scheme_str() == Some("https")
    }

    /// The request came from another origin than the host it was sent to.
    pub fn xdomain(&self) -> bool {
        self.headers().contains_key(header::ORIGIN)
    }

    /// A header as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter's first value, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A request cookie by name, as the browser sent it.
    pub fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.headers()
            .get_all(header::COOKIE)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| Cookie::parse_encoded(c.trim().to_owned()).ok())
            .find(|c| c.name() == name)
    }

    /// The client's address: the first `X-Forwarded-For` entry, else the TCP peer.
    pub fn client_ip(&self) -> String {
        self.header("x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .map(|ip| ip.trim().to_owned())
            .filter(|ip| !ip.is_empty())
            .or_else(|| self.address().map(|a| a.ip().to_string()))
            .unwrap_or_default()
    }

    /// When the handshake was made.
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_millis(self.issued())
    }
}
