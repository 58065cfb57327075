//! The parts every protocol shares: Node's EVENT packet, broadcast options and flags,
//! and the move between Node's inline binary and [`Payload`] attachments.

use actix_socketio::socket::packet::placeholder;
use actix_socketio::Payload;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::msgpack::placeholder_index;
use super::WireError;

/// socket.io-parser's EVENT, the type Node's adapters publish (also with binary: Node
/// switches to BINARY_EVENT only when it writes to a client).
pub const EVENT: u8 = 2;

/// socket.io-parser's BINARY_EVENT, accepted on decode.
pub const BINARY_EVENT: u8 = 5;

/// The namespace a packet without `nsp` belongs to (the emitter may leave it out).
pub const ROOT_NSP: &str = "/";

/// An event packet as Node's adapters carry it: `{type: 2, data: [event, ...args], nsp}`,
/// with binary inline in `data`; here the binary is the payload's attachments.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPacket {
    /// The namespace, with its leading slash: receivers drop packets of other ones.
    pub nsp: String,
    /// The event name, `data[0]`.
    pub event: String,
    /// The arguments after the name, placeholders standing for the binary parts.
    pub payload: Payload,
}

impl EventPacket {
    /// A packet of `event` with `payload` in namespace `nsp`.
    pub fn new(nsp: impl Into<String>, event: impl Into<String>, payload: Payload) -> Self {
        EventPacket {
            nsp: nsp.into(),
            event: event.into(),
            payload,
        }
    }

    /// `{type: 2, data: [event, ...args], nsp}` in Node's key order (the ClusterAdapter
    /// leaves `nsp` out: its envelope has it); placeholders stay, to be written as bins
    /// (msgpack) against `self.payload.binary`.
    pub(crate) fn to_value(&self, with_nsp: bool) -> Value {
        let mut data = Vec::with_capacity(self.payload.args.len() + 1);
        data.push(Value::String(self.event.clone()));
        data.extend(self.payload.args.iter().cloned());
        let mut map = Map::new();
        map.insert("type".into(), Value::from(EVENT));
        map.insert("data".into(), Value::Array(data));
        if with_nsp {
            map.insert("nsp".into(), Value::String(self.nsp.clone()));
        }
        Value::Object(map)
    }

    /// Reads a decoded packet whose placeholders refer to `binary` (the attachments of
    /// the whole message it came in); without `nsp` it is in `default_nsp`.
    pub(crate) fn from_value(
        value: Value,
        binary: &[Bytes],
        default_nsp: &str,
    ) -> Result<Self, WireError> {
        let Value::Object(mut map) = value else {
            return Err(WireError::Malformed("packet is not a map"));
        };
        match map.get("type").and_then(Value::as_u64) {
            Some(t) if t == u64::from(EVENT) || t == u64::from(BINARY_EVENT) => {}
            _ => return Err(WireError::Malformed("packet is not an event")),
        }
        let nsp = match map.remove("nsp") {
            None | Some(Value::Null) => default_nsp.to_owned(),
            Some(Value::String(nsp)) => nsp,
            Some(_) => return Err(WireError::Malformed("packet nsp is not a string")),
        };
        let (event, payload) = event_args(map.remove("data"), binary)?;
        Ok(EventPacket {
            nsp,
            event,
            payload,
        })
    }
}

/// Arguments decoded with the attachments of a whole message, as a [`Payload`] whose own
/// attachments are only the ones its placeholders use, numbered in the order
/// socket.io-parser numbers them (depth first, map keys in order).
pub(crate) fn payload_from(mut args: Vec<Value>, binary: &[Bytes]) -> Payload {
    let mut own = Vec::new();
    if !binary.is_empty() {
        for arg in &mut args {
            renumber(arg, binary, &mut own);
        }
    }
    Payload { args, binary: own }
}

fn renumber(value: &mut Value, binary: &[Bytes], own: &mut Vec<Bytes>) {
    match value {
        Value::Object(map) => {
            if let Some(index) = placeholder_index(map, binary.len()) {
                *value = placeholder(own.len());
                own.push(binary[index].clone());
            } else {
                for item in map.values_mut() {
                    renumber(item, binary, own);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                renumber(item, binary, own);
            }
        }
        _ => {}
    }
}

/// A broadcast's flags, in the order they were set: Node writes its flags object as
/// built by the call chain (`.volatile.compress(false)` is `{volatile, compress}`), and
/// a flag this crate does not know is kept, not lost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flags(Map<String, Value>);

impl Flags {
    /// No flags (`{}`).
    pub fn new() -> Self {
        Flags::default()
    }

    /// Sets a flag, keeping its place if it was set before (as `Object.assign` does).
    pub fn set(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    /// A flag's raw value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// `volatile`: the event may be dropped for clients that are not ready.
    pub fn volatile(&self) -> bool {
        self.get("volatile") == Some(&Value::Bool(true))
    }

    /// `local`: this node only; a message with it set is never published.
    pub fn local(&self) -> bool {
        self.get("local") == Some(&Value::Bool(true))
    }

    /// `compress`, if set.
    pub fn compress(&self) -> Option<bool> {
        self.get("compress").and_then(Value::as_bool)
    }

    /// `timeout` in milliseconds: how long a broadcast with acks waits.
    pub fn timeout(&self) -> Option<u64> {
        self.get("timeout").and_then(Value::as_u64)
    }

    pub(crate) fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    pub(crate) fn from_value(value: Option<Value>) -> Result<Self, WireError> {
        match value {
            None | Some(Value::Null) => Ok(Flags::new()),
            Some(Value::Object(map)) => Ok(Flags(map)),
            Some(_) => Err(WireError::Malformed("flags is not a map")),
        }
    }
}

/// Who a broadcast or a remote operation is for: sockets in any of `rooms` (everyone if
/// empty) and in none of `except`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BroadcastOpts {
    /// Rooms to reach; empty means every socket of the namespace.
    pub rooms: Vec<String>,
    /// Rooms whose sockets are left out.
    pub except: Vec<String>,
    /// volatile, compress, local, timeout and the rest, as set.
    pub flags: Flags,
}

/// Which key order and keys to write options in: Node builds the object differently in
/// each place, and the bytes follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptsForm {
    /// `{rooms, except, flags}`: the adapters.
    WithFlags,
    /// `{rooms, flags, except}`: the emitter's broadcasts.
    Emitter,
    /// `{rooms, except}`: the classic adapter's and the emitter's requests.
    Target,
}

impl BroadcastOpts {
    pub(crate) fn to_value(&self, form: OptsForm) -> Value {
        let strings =
            |list: &[String]| Value::Array(list.iter().cloned().map(Value::String).collect());
        let mut map = Map::new();
        map.insert("rooms".into(), strings(&self.rooms));
        match form {
            OptsForm::WithFlags => {
                map.insert("except".into(), strings(&self.except));
                map.insert("flags".into(), self.flags.to_value());
            }
            OptsForm::Emitter => {
                map.insert("flags".into(), self.flags.to_value());
                map.insert("except".into(), strings(&self.except));
            }
            OptsForm::Target => {
                map.insert("except".into(), strings(&self.except));
            }
        }
        Value::Object(map)
    }

    /// Reads options; missing parts are empty (the emitter and old nodes leave some out).
    pub(crate) fn from_value(value: Option<Value>) -> Result<Self, WireError> {
        let mut map = match value {
            None | Some(Value::Null) => return Ok(BroadcastOpts::default()),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(WireError::Malformed("opts is not a map")),
        };
        Ok(BroadcastOpts {
            rooms: rooms(map.remove("rooms"))?,
            except: rooms(map.remove("except"))?,
            flags: Flags::from_value(map.remove("flags"))?,
        })
    }
}

/// A list of room names; a number is its decimal text (Node rooms may be numbers).
pub(crate) fn rooms(value: Option<Value>) -> Result<Vec<String>, WireError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(room) => Ok(room),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(WireError::Malformed("room is not a string")),
            })
            .collect(),
        Some(_) => Err(WireError::Malformed("rooms is not an array")),
    }
}

/// A message's map, or the error for what it is instead.
pub(crate) fn into_map(value: Value, what: &'static str) -> Result<Map<String, Value>, WireError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(WireError::Malformed(what)),
    }
}

/// An optional string field (`uid`, `requestId`): absent and null are `None`.
pub(crate) fn opt_string(
    map: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<String>, WireError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        // uid2 ids are strings, but a number id is still an id.
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(WireError::Malformed("id is not a string")),
    }
}

/// A required string field.
pub(crate) fn string(
    map: &mut Map<String, Value>,
    key: &str,
    what: &'static str,
) -> Result<String, WireError> {
    opt_string(map, key)?.ok_or(WireError::Malformed(what))
}

/// An event's `[event, ...args]` (a packet's `data`; a server-side emit's `data` in the
/// classic adapter's requests, `packet` in the cluster adapters'), the event name first; a
/// number name is taken as its text, as Node's `emit` takes it.
pub(crate) fn event_args(
    value: Option<Value>,
    binary: &[Bytes],
) -> Result<(String, Payload), WireError> {
    let Some(Value::Array(mut data)) = value else {
        return Err(WireError::Malformed("event data is not an array"));
    };
    if data.is_empty() {
        return Err(WireError::Malformed("event data has no event name"));
    }
    let event = match data.remove(0) {
        Value::String(event) => event,
        Value::Number(n) => n.to_string(),
        _ => return Err(WireError::Malformed("event name is not a string")),
    };
    Ok((event, payload_from(data, binary)))
}

/// One socket in a fetchSockets answer: `{id, handshake, rooms, data}`. The handshake
/// stays raw JSON (Node's `{headers, time, address, xdomain, secure, issued, url, query,
/// auth}`); placeholders in it or in `data` refer to the message's attachments.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedSocket {
    /// The socket id (20 characters on Node and on us).
    pub id: String,
    /// The handshake details Node's `RemoteSocket.handshake` shows.
    pub handshake: Value,
    /// The rooms the socket is in, its own id included.
    pub rooms: Vec<String>,
    /// `socket.data`, as the socket's node holds it.
    pub data: Value,
}

impl FetchedSocket {
    /// The JSON object Node writes for it.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), Value::String(self.id.clone()));
        map.insert("handshake".into(), self.handshake.clone());
        map.insert(
            "rooms".into(),
            Value::Array(self.rooms.iter().cloned().map(Value::String).collect()),
        );
        // `data: undefined` is left out by both encoders.
        map.insert("data".into(), self.data.clone());
        Value::Object(map)
    }

    /// Reads one entry of a fetch answer (classic responses carry them as raw JSON, since
    /// only the requester knows it asked for details rather than ids).
    pub fn from_value(value: Value) -> Result<Self, WireError> {
        let mut map = into_map(value, "fetched socket is not a map")?;
        Ok(FetchedSocket {
            id: string(&mut map, "id", "fetched socket has no id")?,
            handshake: map.remove("handshake").unwrap_or(Value::Null),
            rooms: rooms(map.remove("rooms"))?,
            data: map.remove("data").unwrap_or(Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_binary_is_renumbered_in_parser_order() {
        let binary = [
            Bytes::from_static(b"x"),
            Bytes::from_static(b"a"),
            Bytes::from_static(b"b"),
        ];
        // The message's first bin (0) is not part of the packet's data.
        let value = json!({"type": 2, "data": ["ev", {"k": [{"_placeholder": true, "num": 1}]}, {"_placeholder": true, "num": 2}]});
        let packet = EventPacket::from_value(value, &binary, ROOT_NSP).unwrap();
        assert_eq!(packet.nsp, "/");
        assert_eq!(packet.event, "ev");
        assert_eq!(
            packet.payload.args,
            vec![
                json!({"k": [{"_placeholder": true, "num": 0}]}),
                json!({"_placeholder": true, "num": 1})
            ]
        );
        assert_eq!(
            packet.payload.binary,
            vec![binary[1].clone(), binary[2].clone()]
        );
    }

    #[test]
    fn packets_that_are_not_events_are_refused() {
        for value in [
            json!({"type": 3, "data": ["ev"]}),
            json!({"type": 2, "data": []}),
            json!({"type": 2, "data": [null]}),
            json!({"type": 2, "data": "ev"}),
            json!({"type": 2, "data": ["ev"], "nsp": 1}),
            json!(["ev"]),
        ] {
            assert!(
                EventPacket::from_value(value.clone(), &[], ROOT_NSP).is_err(),
                "{value}"
            );
        }
    }

    #[test]
    fn flags_keep_their_order() {
        let mut flags = Flags::new();
        flags
            .set("compress", false)
            .set("volatile", true)
            .set("compress", true);
        assert_eq!(
            flags.to_value().to_string(),
            r#"{"compress":true,"volatile":true}"#
        );
        assert!(flags.volatile());
        assert!(!flags.local());
    }
}
