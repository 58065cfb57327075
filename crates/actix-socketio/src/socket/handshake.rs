//! What a socket knows about the request that opened it.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::cookie::Cookie;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::{EngineSocket, RequestHeaders, RequestInfo};

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
    pub fn headers(&self) -> &RequestHeaders {
        &self.request().headers
    }

    /// The query string of the first request, decoded.
    pub fn query(&self) -> Vec<(String, String)> {
        self.request()
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
        &self.request().url
    }

    /// When the Engine.IO connection was made, in ms since the Unix epoch.
    pub fn issued(&self) -> u64 {
        self.request()
            .connected_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// The request came over a TLS listener of this server (behind a TLS proxy it did
    /// not: see the proxy's headers).
    pub fn secure(&self) -> bool {
        self.request().secure
    }

    /// The request came from another origin than the host it was sent to.
    pub fn xdomain(&self) -> bool {
        self.headers().contains("origin")
    }

    /// A header as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name)
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
            .get_all("cookie")
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

    /// The handshake as Node's adapters send it to each other, for `fetch_sockets`.
    pub fn info(&self) -> HandshakeInfo {
        let mut headers = Map::new();
        for (name, value) in self.headers().iter() {
            // Node joins repeated headers with ", " (`IncomingMessage.headers`).
            match headers.get_mut(name) {
                Some(Value::String(joined)) => {
                    joined.push_str(", ");
                    joined.push_str(value);
                }
                _ => {
                    headers.insert(name.to_owned(), Value::String(value.to_owned()));
                }
            }
        }
        let mut query = Map::new();
        for (key, value) in self.query() {
            query.entry(key).or_insert(Value::String(value));
        }
        HandshakeInfo {
            headers: Value::Object(headers),
            time: js_date_string(self.request().connected_at),
            address: self.client_ip(),
            xdomain: self.xdomain(),
            secure: self.secure(),
            issued: self.issued(),
            url: self.url().to_owned(),
            query: Value::Object(query),
            auth: self.auth.clone(),
        }
    }
}

/// A handshake in Node's shape (`socket.handshake`): what `fetch_sockets` returns for
/// sockets of any server, ours or Node's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HandshakeInfo {
    /// Header names (lower case) and their values.
    pub headers: Value,
    /// When the connection was made, as JavaScript's `Date.toString()` writes it.
    pub time: String,
    /// The client's address.
    pub address: String,
    /// The request carried an `Origin`.
    pub xdomain: bool,
    /// The request came over TLS.
    pub secure: bool,
    /// When the connection was made, in ms since the Unix epoch.
    pub issued: u64,
    /// Path and query of the first request.
    pub url: String,
    /// The query parameters.
    pub query: Value,
    /// The CONNECT packet's payload.
    pub auth: Value,
}

/// `Date.prototype.toString()` in UTC, the time zone servers run in:
/// `Tue Dec 01 2026 20:14:47 GMT+0000 (Coordinated Universal Time)`.
fn js_date_string(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (hour, minute, second) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{} {} {day:02} {year} {hour:02}:{minute:02}:{second:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn dates_read_as_javascript_writes_them() {
        let at = |secs| super::js_date_string(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(
            at(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        // new Date(1796156087000).toString() with TZ=UTC
        assert_eq!(
            at(1_796_156_087),
            "Tue Dec 01 2026 20:14:47 GMT+0000 (Coordinated Universal Time)"
        );
        // A leap day.
        assert_eq!(
            at(951_782_400),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
