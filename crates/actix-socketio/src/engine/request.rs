//! What a session keeps of the request that opened it.

use std::net::SocketAddr;
use std::time::SystemTime;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::HttpRequest;

/// What the client's first request carried, kept for the life of the session.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Path and query of the handshake request (a `Uri` would hold four reference-counted
    /// parts, for a string that is only read).
    pub url: Box<str>,
    /// The request's headers.
    pub headers: RequestHeaders,
    /// The TCP peer; a proxy's address when there is one (see `X-Forwarded-For`).
    pub peer_addr: Option<SocketAddr>,
    /// The request came over a TLS listener of this server (not a TLS proxy in front).
    pub secure: bool,
    /// When the session was opened.
    pub connected_at: SystemTime,
}

impl RequestInfo {
    /// The query string, without its `?`.
    pub fn query(&self) -> Option<&str> {
        self.url.split_once('?').map(|(_, query)| query)
    }

    /// Copies what a session keeps of its first request into allocations of its own.
    ///
    /// actix's parsed headers and URI share the connection's read buffer; a plain clone
    /// would keep that whole buffer (kilobytes) alive for as long as the session lives.
    pub(crate) fn copied_from(req: &HttpRequest) -> RequestInfo {
        RequestInfo {
            url: req
                .uri()
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .into(),
            headers: RequestHeaders::from(req.headers()),
            peer_addr: req.peer_addr(),
            secure: req.app_config().secure(),
            connected_at: SystemTime::now(),
        }
    }
}

/// Request headers in one allocation: their text and where each name and value ends.
///
/// A copied `HeaderMap` cost 1.7 KiB per connection (a hash table of multi-value
/// entries); this holds the same headers in their own length plus 8 bytes each.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestHeaders {
    /// Every name (lower case) and value, one after the other.
    text: Box<[u8]>,
    /// Where each header's name and then its value end in `text`.
    ends: Box<[(u32, u32)]>,
}

impl std::fmt::Debug for RequestHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.raw()
                    .map(|(name, value)| (name, String::from_utf8_lossy(value))),
            )
            .finish()
    }
}

impl From<&HeaderMap> for RequestHeaders {
    fn from(map: &HeaderMap) -> Self {
        let size: usize = map
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let mut text = Vec::with_capacity(size);
        let mut ends = Vec::with_capacity(map.len());
        for (name, value) in map {
            // HeaderMap names are already lower case; request heads are far below 4 GiB.
            text.extend_from_slice(name.as_str().as_bytes());
            let name_end = text.len() as u32;
            text.extend_from_slice(value.as_bytes());
            ends.push((name_end, text.len() as u32));
        }
        RequestHeaders {
            text: text.into_boxed_slice(),
            ends: ends.into_boxed_slice(),
        }
    }
}

impl RequestHeaders {
    /// Every header as sent: lower-case name and raw value, repeated names included.
    pub fn raw(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let mut start = 0usize;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let (name_end, value_end) = (name_end as usize, value_end as usize);
            let name = std::str::from_utf8(&self.text[start..name_end]).unwrap_or_default();
            let value = &self.text[name_end..value_end];
            start = value_end;
            (name, value)
        })
    }

    /// Every header whose value is text, as `HeaderValue::to_str` reads it.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.raw()
            .filter_map(|(name, value)| Some((name, text_value(value)?)))
    }

    /// The first value of the header `name` (any case), if it is text.
    pub fn get<'a>(&'a self, name: &str) -> Option<&'a str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Every text value of the header `name` (any case), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Whether the header `name` (any case) was sent.
    pub fn contains(&self, name: &str) -> bool {
        self.raw().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// How many headers were sent.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The headers as a `HeaderMap`, for APIs that take one (built on each call).
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.len());
        for (name, value) in self.raw() {
            let name = HeaderName::from_bytes(name.as_bytes());
            let value = HeaderValue::from_bytes(value);
            if let (Ok(name), Ok(value)) = (name, value) {
                map.append(name, value);
            }
        }
        map
    }
}

/// A value as text: visible ASCII and tabs only, as `HeaderValue::to_str` accepts.
fn text_value(value: &[u8]) -> Option<&str> {
    value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> RequestHeaders {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        RequestHeaders::from(&map)
    }

    #[test]
    fn headers_are_read_back_by_any_case_in_order() {
        let h = headers(&[
            ("Host", b"example.com"),
            ("Cookie", b"a=1"),
            ("cookie", b"b=2"),
            ("X-Bin", b"caf\xe9"),
        ]);
        assert_eq!(h.len(), 4);
        assert_eq!(h.get("host"), Some("example.com"));
        assert_eq!(h.get("HOST"), Some("example.com"));
        assert_eq!(h.get_all("cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert!(h.contains("x-bin"));
        assert_eq!(h.get("x-bin"), None, "not text");
        assert_eq!(h.get("missing"), None);
        let map = h.to_header_map();
        assert_eq!(map.get_all("cookie").count(), 2);
        assert_eq!(map.get("x-bin").unwrap().as_bytes(), b"caf\xe9");
    }

    #[test]
    fn no_headers() {
        let h = RequestHeaders::default();
        assert!(h.is_empty());
        assert_eq!(h.iter().count(), 0);
    }
}
