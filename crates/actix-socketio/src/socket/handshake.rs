//! What a socket knows about the request that opened it.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::cookie::Cookie;
use actix_web::http::header::{self, HeaderMap};
use serde_json::Value;

use crate::engine::RequestInfo;

/// The handshake of a namespace connection: the Engine.IO request plus the CONNECT auth.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The CONNECT packet's payload, `{}` when the client sent none.
    pub auth: Value,
    pub headers: HeaderMap,
    /// The query string of the first request, decoded.
    pub query: Vec<(String, String)>,
    /// The TCP peer (a proxy, when there is one; see [`Handshake::client_ip`]).
    pub address: Option<SocketAddr>,
    /// Path and query of the first request.
    pub url: String,
    /// When the Engine.IO connection was made, in ms since the Unix epoch.
    pub issued: u64,
    /// The request came over TLS.
    pub secure: bool,
    /// The request came from another origin than the host it was sent to.
    pub xdomain: bool,
}

impl Handshake {
    pub(crate) fn new(request: &RequestInfo, auth: Value) -> Handshake {
        let query = request
            .uri
            .query()
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .unwrap_or_default();
        let issued = request
            .connected_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Handshake {
            auth,
            xdomain: request.headers.contains_key(header::ORIGIN),
            secure: request.uri.scheme_str() == Some("https"),
            headers: request.headers.clone(),
            query,
            address: request.peer_addr,
            url: request
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
            issued,
        }
    }

    /// A header as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter's first value.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A request cookie by name, as the browser sent it.
    pub fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.headers
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
            .or_else(|| self.address.map(|a| a.ip().to_string()))
            .unwrap_or_default()
    }

    /// When the handshake was made.
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_millis(self.issued)
    }
}
