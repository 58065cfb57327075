//! The streams adapter's own formats (`@socket.io/redis-streams-adapter` 0.3): stream
//! names, offsets and persisted sessions. Its messages are
//! [`ClusterMessage`](super::ClusterMessage)s.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::msgpack::{self, Flavor};
use super::packet::{into_map, opt_string, rooms, BroadcastOpts};
use super::WireError;

/// The stream of namespace `nsp`: `name` itself with one stream, else `name-i` where i
/// is the JavaScript int32 hash of `nsp` modulo `count` (negative hashes give
/// `name--1`, as in Node).
pub fn stream_name(name: &str, nsp: &str, count: u32) -> String {
    if count <= 1 {
        return name.to_owned();
    }
    let hash = nsp.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    // JavaScript's % keeps the dividend's sign, as Rust's does; count fits i64.
    format!("{name}-{}", i64::from(hash) % i64::from(count))
}

/// A stream entry id, `<ms>-<seq>`: the recovery offset of the event it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Offset {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence within the millisecond.
    pub seq: u64,
}

impl Offset {
    /// Reads an offset a client sent; `None` unless it is `^[0-9]+-[0-9]+$` (the check
    /// Node makes before it queries Redis).
    pub fn parse(text: &str) -> Option<Self> {
        let (ms, seq) = text.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(Offset {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    /// The smallest id after this one, where a replay's XRANGE starts (Node avoids the
    /// exclusive range syntax of Redis 6.2 the same way).
    pub fn next(self) -> Self {
        match self.seq.checked_add(1) {
            Some(seq) => Offset { seq, ..self },
            None => Offset {
                ms: self.ms.saturating_add(1),
                seq: 0,
            },
        }
    }
}

impl std::fmt::Display for Offset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// A socket's state kept while it is disconnected: `{sid, pid, rooms, data}`, stored as
/// base64 of @msgpack/msgpack under `sessionKeyPrefix + pid` with `PX`.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The socket id it gets back.
    pub sid: String,
    /// The private id the client proves the session with.
    pub pid: String,
    /// The rooms it rejoins (its own id included).
    pub rooms: Vec<String>,
    /// `socket.data`; placeholders refer to `binary`.
    pub data: Value,
    /// Binary parts of `data`.
    pub binary: Vec<Bytes>,
}

impl Session {
    /// The stored value: base64 of @msgpack/msgpack.
    pub fn encode(&self) -> String {
        let mut map = Map::new();
        map.insert("sid".into(), Value::String(self.sid.clone()));
        map.insert("pid".into(), Value::String(self.pid.clone()));
        map.insert(
            "rooms".into(),
            Value::Array(self.rooms.iter().cloned().map(Value::String).collect()),
        );
        map.insert("data".into(), self.data.clone());
        let bytes = msgpack::encode(&Value::Object(map), &self.binary, Flavor::MsgpackJs);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads a stored value.
    pub fn decode(text: &[u8]) -> Result<Self, WireError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
        let decoded = msgpack::decode(&Bytes::from(bytes))?;
        let mut map = into_map(decoded.value, "session is not a map")?;
        Ok(Session {
            sid: opt_string(&mut map, "sid")?.ok_or(WireError::Malformed("session has no sid"))?,
            pid: opt_string(&mut map, "pid")?.ok_or(WireError::Malformed("session has no pid"))?,
            rooms: rooms(map.remove("rooms"))?,
            data: map.remove("data").unwrap_or(Value::Null),
            binary: decoded.binary,
        })
    }

    /// Whether a stored broadcast reached this session's socket, as Node's replay
    /// filter decides: to everyone or to one of its rooms, and to none it is excepted
    /// from.
    pub fn should_replay(&self, opts: &BroadcastOpts) -> bool {
        reaches(&self.rooms, &opts.rooms, &opts.except)
    }
}

/// Whether a broadcast to `to` except `except` reaches a socket in `rooms` (Node's
/// `shouldIncludePacket`): it went to everyone or to one of the rooms, and excluded none.
pub fn reaches(rooms: &[String], to: &[String], except: &[String]) -> bool {
    let included = to.is_empty() || rooms.iter().any(|r| to.contains(r));
    included && !rooms.iter().any(|r| except.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_hash_as_javascript() {
        assert_eq!(stream_name("socket.io", "/", 1), "socket.io");
        // "/".charCodeAt(0) = 47; 47 % 3 = 2
        assert_eq!(stream_name("socket.io", "/", 3), "socket.io-2");
        // A hash that overflows int32 and goes negative keeps its sign.
        let hash = "/a-long-namespace-name"
            .encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)));
        assert!(hash < 0);
        assert_eq!(
            stream_name("s", "/a-long-namespace-name", 4),
            format!("s-{}", hash % 4)
        );
    }

    #[test]
    fn offsets() {
        let offset = Offset::parse("1700000000000-3").unwrap();
        assert_eq!(offset.to_string(), "1700000000000-3");
        assert_eq!(offset.next().to_string(), "1700000000000-4");
        for bad in ["", "1", "-1", "1-", "a-1", "1-2-3", " 1-2", "1-+2"] {
            assert_eq!(Offset::parse(bad), None, "{bad}");
        }
    }
}
