//! The classic protocol of `@socket.io/redis-adapter` 8.3 `createAdapter` and of
//! `@socket.io/redis-emitter` 5.1.
//!
//! - Broadcasts, on `KEY#nsp#` or `KEY#nsp#room#`: msgpack `[uid, packet, opts]`.
//! - Requests, on `KEY-request#nsp#`: JSON objects `{uid, requestId, type, ...}`, except
//!   a broadcast with acks (type 7), which is msgpack. The emitter leaves out `uid` and
//!   `requestId` where it has none.
//! - Responses, on `KEY-response#nsp#` (or `KEY-response#nsp#uid#`): JSON, except a
//!   client's ack to a broadcast (type 9), which is msgpack. Responses to types 0, 1 and
//!   5 carry no `type`: the requester knows what it asked by the `requestId`.
//!
//! Receivers tell JSON from msgpack by a leading `{`.

use actix_socketio::Payload;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::msgpack::{self, Flavor};
use super::packet::{
    event_args, into_map, opt_string, payload_from, rooms, string, BroadcastOpts, EventPacket,
    OptsForm, ROOT_NSP,
};
use super::{json, WireError};

/// The uid the emitter writes in its broadcasts and server-side emits.
pub const EMITTER_UID: &str = "emitter";

/// Request and response types, as numbered on the wire.
pub mod types {
    /// Socket ids in some rooms (answered; 8.x no longer asks).
    pub const SOCKETS: u8 = 0;
    /// Every room of every node.
    pub const ALL_ROOMS: u8 = 1;
    /// Make matching sockets join rooms.
    pub const REMOTE_JOIN: u8 = 2;
    /// Make matching sockets leave rooms.
    pub const REMOTE_LEAVE: u8 = 3;
    /// Disconnect matching sockets.
    pub const REMOTE_DISCONNECT: u8 = 4;
    /// Details of matching sockets (fetchSockets).
    pub const REMOTE_FETCH: u8 = 5;
    /// An event for the servers themselves, and its ack.
    pub const SERVER_SIDE_EMIT: u8 = 6;
    /// A broadcast whose clients' acks are collected.
    pub const BROADCAST: u8 = 7;
    /// How many clients a node sent a type-7 broadcast to.
    pub const BROADCAST_CLIENT_COUNT: u8 = 8;
    /// One client's ack to a type-7 broadcast.
    pub const BROADCAST_ACK: u8 = 9;
}

/// Which encoding a request or response travels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JSON text (starts with `{`).
    Json,
    /// notepack msgpack.
    Msgpack,
}

/// Reads a request or response body: JSON if it starts with `{`, msgpack otherwise.
fn decode_body(bytes: &Bytes) -> Result<(Map<String, Value>, Vec<Bytes>), WireError> {
    if bytes.first() == Some(&b'{') {
        let value = json::parse(bytes)?;
        Ok((into_map(value, "not a map")?, Vec::new()))
    } else {
        let decoded = msgpack::decode(bytes)?;
        Ok((into_map(decoded.value, "not a map")?, decoded.binary))
    }
}

fn encode_body(map: Map<String, Value>, binary: &[Bytes], encoding: Encoding) -> Vec<u8> {
    let value = Value::Object(map);
    match encoding {
        Encoding::Json => json::to_string(&value, binary).into_bytes(),
        Encoding::Msgpack => msgpack::encode(&value, binary, Flavor::Notepack),
    }
}

fn type_of(map: &Map<String, Value>) -> Result<Option<i64>, WireError> {
    match map.get("type") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or(WireError::Malformed("type is not an integer")),
    }
}

/// A broadcast: the message on the broadcast channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The publishing adapter's uid (`"emitter"` from the emitter): a node drops its own.
    pub uid: String,
    /// What to send.
    pub packet: EventPacket,
    /// Who to send it to.
    pub opts: BroadcastOpts,
}

impl Broadcast {
    /// `[uid, packet, {rooms, except, flags}]`, as the adapter writes it.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_form(OptsForm::WithFlags)
    }

    /// `[uid, packet, {rooms, flags, except}]`, as the emitter writes it.
    pub fn encode_as_emitter(&self) -> Vec<u8> {
        self.encode_form(OptsForm::Emitter)
    }

    fn encode_form(&self, form: OptsForm) -> Vec<u8> {
        let value = Value::Array(vec![
            Value::String(self.uid.clone()),
            self.packet.to_value(true),
            self.opts.to_value(form),
        ]);
        msgpack::encode(&value, &self.packet.payload.binary, Flavor::Notepack)
    }

    /// Reads a broadcast; missing options are empty (Node itself would crash on them).
    pub fn decode(bytes: &Bytes) -> Result<Self, WireError> {
        let decoded = msgpack::decode(bytes)?;
        let Value::Array(items) = decoded.value else {
            return Err(WireError::Malformed("broadcast is not an array"));
        };
        let mut items = items.into_iter();
        let uid = match items.next() {
            Some(Value::String(uid)) => uid,
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(WireError::Malformed("broadcast uid is not a string")),
        };
        let packet = items
            .next()
            .ok_or(WireError::Malformed("broadcast has no packet"))?;
        let packet = EventPacket::from_value(packet, &decoded.binary, ROOT_NSP)?;
        let opts = BroadcastOpts::from_value(items.next())?;
        Ok(Broadcast { uid, packet, opts })
    }
}

/// A request on `KEY-request#nsp#`.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The requesting adapter; absent from the emitter's join/leave/disconnect.
    pub uid: Option<String>,
    /// Matches the responses to the request; absent where none is expected.
    pub request_id: Option<String>,
    /// What is asked.
    pub kind: RequestKind,
}

/// The requests of the classic protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestKind {
    /// 0: socket ids in `rooms` (all if empty).
    Sockets {
        /// Rooms to look in.
        rooms: Vec<String>,
    },
    /// 1: every room.
    AllRooms,
    /// 2: matching sockets join `rooms`.
    RemoteJoin {
        /// Which sockets.
        opts: BroadcastOpts,
        /// Rooms to join.
        rooms: Vec<String>,
    },
    /// 3: matching sockets leave `rooms`.
    RemoteLeave {
        /// Which sockets.
        opts: BroadcastOpts,
        /// Rooms to leave.
        rooms: Vec<String>,
    },
    /// 4: matching sockets disconnect; `close` also closes their connection.
    RemoteDisconnect {
        /// Which sockets.
        opts: BroadcastOpts,
        /// Close the underlying connection too.
        close: bool,
    },
    /// 2, legacy form (adapters before 7): one socket joins one room; answered.
    SidJoin {
        /// The socket.
        sid: String,
        /// The room.
        room: String,
    },
    /// 3, legacy form: one socket leaves one room; answered.
    SidLeave {
        /// The socket.
        sid: String,
        /// The room.
        room: String,
    },
    /// 4, legacy form: one socket disconnects; answered.
    SidDisconnect {
        /// The socket.
        sid: String,
        /// Close the underlying connection too.
        close: bool,
    },
    /// 5: details of matching sockets.
    RemoteFetch {
        /// Which sockets.
        opts: BroadcastOpts,
    },
    /// 6: an event for the servers; with a `request_id`, each answers once.
    ServerSideEmit {
        /// `data[0]`.
        event: String,
        /// The arguments; binary in them is written as Node's Buffer JSON.
        payload: Payload,
    },
    /// 7 (msgpack): a broadcast whose clients' acks come back as types 8 and 9.
    Broadcast {
        /// What to send; it has no ack id, each node assigns its own.
        packet: EventPacket,
        /// Who to send it to; `flags.timeout` is how long the requester waits.
        opts: BroadcastOpts,
    },
}

impl Request {
    /// The wire type number.
    pub fn type_code(&self) -> u8 {
        match &self.kind {
            RequestKind::Sockets { .. } => types::SOCKETS,
            RequestKind::AllRooms => types::ALL_ROOMS,
            RequestKind::RemoteJoin { .. } | RequestKind::SidJoin { .. } => types::REMOTE_JOIN,
            RequestKind::RemoteLeave { .. } | RequestKind::SidLeave { .. } => types::REMOTE_LEAVE,
            RequestKind::RemoteDisconnect { .. } | RequestKind::SidDisconnect { .. } => {
                types::REMOTE_DISCONNECT
            }
            RequestKind::RemoteFetch { .. } => types::REMOTE_FETCH,
            RequestKind::ServerSideEmit { .. } => types::SERVER_SIDE_EMIT,
            RequestKind::Broadcast { .. } => types::BROADCAST,
        }
    }

    /// The encoding Node uses for this request: msgpack for type 7, JSON otherwise.
    pub fn encoding(&self) -> Encoding {
        match self.kind {
            RequestKind::Broadcast { .. } => Encoding::Msgpack,
            _ => Encoding::Json,
        }
    }

    /// The bytes Node would publish: `{uid?, requestId?, type, ...fields}`.
    pub fn encode(&self) -> Vec<u8> {
        let mut map = Map::new();
        if let Some(uid) = &self.uid {
            map.insert("uid".into(), Value::String(uid.clone()));
        }
        if let Some(id) = &self.request_id {
            map.insert("requestId".into(), Value::String(id.clone()));
        }
        map.insert("type".into(), Value::from(self.type_code()));
        let strings =
            |list: &[String]| Value::Array(list.iter().cloned().map(Value::String).collect());
        let mut binary: &[Bytes] = &[];
        match &self.kind {
            RequestKind::Sockets { rooms } => {
                map.insert("rooms".into(), strings(rooms));
            }
            RequestKind::AllRooms => {}
            RequestKind::RemoteJoin { opts, rooms } | RequestKind::RemoteLeave { opts, rooms } => {
                map.insert("opts".into(), opts.to_value(OptsForm::Target));
                map.insert("rooms".into(), strings(rooms));
            }
            RequestKind::RemoteDisconnect { opts, close } => {
                map.insert("opts".into(), opts.to_value(OptsForm::Target));
                map.insert("close".into(), Value::Bool(*close));
            }
            RequestKind::SidJoin { sid, room } | RequestKind::SidLeave { sid, room } => {
                map.insert("sid".into(), Value::String(sid.clone()));
                map.insert("room".into(), Value::String(room.clone()));
            }
            RequestKind::SidDisconnect { sid, close } => {
                map.insert("sid".into(), Value::String(sid.clone()));
                map.insert("close".into(), Value::Bool(*close));
            }
            RequestKind::RemoteFetch { opts } => {
                map.insert("opts".into(), opts.to_value(OptsForm::Target));
            }
            RequestKind::ServerSideEmit { event, payload } => {
                let mut data = vec![Value::String(event.clone())];
                data.extend(payload.args.iter().cloned());
                map.insert("data".into(), Value::Array(data));
                binary = &payload.binary;
            }
            RequestKind::Broadcast { packet, opts } => {
                map.insert("packet".into(), packet.to_value(true));
                map.insert("opts".into(), opts.to_value(OptsForm::WithFlags));
                binary = &packet.payload.binary;
            }
        }
        encode_body(map, binary, self.encoding())
    }

    /// Reads a request, in either encoding.
    pub fn decode(bytes: &Bytes) -> Result<Self, WireError> {
        let (mut map, binary) = decode_body(bytes)?;
        let uid = opt_string(&mut map, "uid")?;
        let request_id = opt_string(&mut map, "requestId")?;
        let kind_code = type_of(&map)?.ok_or(WireError::Malformed("request has no type"))?;
        let has_opts = map.get("opts").is_some_and(|opts| !opts.is_null());
        let close =
            |map: &Map<String, Value>| map.get("close").and_then(Value::as_bool) == Some(true);
        let kind = match kind_code {
            0 => RequestKind::Sockets {
                rooms: rooms(map.remove("rooms"))?,
            },
            1 => RequestKind::AllRooms,
            2 | 3 if has_opts => {
                let opts = BroadcastOpts::from_value(map.remove("opts"))?;
                let rooms = rooms(map.remove("rooms"))?;
                if kind_code == 2 {
                    RequestKind::RemoteJoin { opts, rooms }
                } else {
                    RequestKind::RemoteLeave { opts, rooms }
                }
            }
            2 | 3 => {
                let sid = string(&mut map, "sid", "legacy request has no sid")?;
                let room = string(&mut map, "room", "legacy request has no room")?;
                if kind_code == 2 {
                    RequestKind::SidJoin { sid, room }
                } else {
                    RequestKind::SidLeave { sid, room }
                }
            }
            4 if has_opts => RequestKind::RemoteDisconnect {
                close: close(&map),
                opts: BroadcastOpts::from_value(map.remove("opts"))?,
            },
            4 => RequestKind::SidDisconnect {
                close: close(&map),
                sid: string(&mut map, "sid", "legacy request has no sid")?,
            },
            5 => RequestKind::RemoteFetch {
                opts: BroadcastOpts::from_value(map.remove("opts"))?,
            },
            6 => {
                let (event, payload) = event_args(map.remove("data"), &binary)?;
                RequestKind::ServerSideEmit { event, payload }
            }
            7 => {
                let packet = map
                    .remove("packet")
                    .ok_or(WireError::Malformed("broadcast request has no packet"))?;
                RequestKind::Broadcast {
                    packet: EventPacket::from_value(packet, &binary, ROOT_NSP)?,
                    opts: BroadcastOpts::from_value(map.remove("opts"))?,
                }
            }
            other => return Err(WireError::UnknownType(other)),
        };
        Ok(Request {
            uid,
            request_id,
            kind,
        })
    }
}

/// A response on `KEY-response#nsp#` (or the requester's own response channel).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The request it answers.
    pub request_id: String,
    /// The answer.
    pub kind: ResponseKind,
}

/// The responses of the classic protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseKind {
    /// `{requestId, sockets}`: socket ids (type 0) or, for type 5, socket details, read
    /// with [`FetchedSocket`](super::FetchedSocket).
    Sockets(Vec<Value>),
    /// `{requestId, rooms}`: one node's rooms (type 1).
    Rooms(Vec<String>),
    /// `{requestId}`: a legacy sid request was done.
    Done,
    /// `{type: 6, requestId, data}`: one server's ack to a server-side emit (its first
    /// argument; none if it acked with none).
    ServerSideEmit(Option<Value>),
    /// `{type: 8, requestId, clientCount}`: how many clients a node sent a type-7
    /// broadcast to.
    BroadcastClientCount(u64),
    /// msgpack `{type: 9, requestId, packet}`: one client's ack (its first argument, zero
    /// or one in `args`).
    BroadcastAck(Payload),
}

impl Response {
    /// The encoding Node uses: msgpack for a client's ack (type 9), JSON otherwise.
    pub fn encoding(&self) -> Encoding {
        match self.kind {
            ResponseKind::BroadcastAck(_) => Encoding::Msgpack,
            _ => Encoding::Json,
        }
    }

    /// The bytes Node would publish.
    pub fn encode(&self) -> Vec<u8> {
        let mut map = Map::new();
        let id = Value::String(self.request_id.clone());
        let mut binary: &[Bytes] = &[];
        match &self.kind {
            ResponseKind::Sockets(sockets) => {
                map.insert("requestId".into(), id);
                map.insert("sockets".into(), Value::Array(sockets.clone()));
            }
            ResponseKind::Rooms(rooms) => {
                map.insert("requestId".into(), id);
                map.insert(
                    "rooms".into(),
                    Value::Array(rooms.iter().cloned().map(Value::String).collect()),
                );
            }
            ResponseKind::Done => {
                map.insert("requestId".into(), id);
            }
            ResponseKind::ServerSideEmit(data) => {
                map.insert("type".into(), Value::from(types::SERVER_SIDE_EMIT));
                map.insert("requestId".into(), id);
                if let Some(data) = data {
                    map.insert("data".into(), data.clone());
                }
            }
            ResponseKind::BroadcastClientCount(count) => {
                map.insert("type".into(), Value::from(types::BROADCAST_CLIENT_COUNT));
                map.insert("requestId".into(), id);
                map.insert("clientCount".into(), Value::from(*count));
            }
            ResponseKind::BroadcastAck(payload) => {
                map.insert("type".into(), Value::from(types::BROADCAST_ACK));
                map.insert("requestId".into(), id);
                if let Some(arg) = payload.args.first() {
                    map.insert("packet".into(), arg.clone());
                }
                binary = &payload.binary;
            }
        }
        encode_body(map, binary, self.encoding())
    }

    /// Reads a response, in either encoding.
    pub fn decode(bytes: &Bytes) -> Result<Self, WireError> {
        let (mut map, binary) = decode_body(bytes)?;
        let request_id = string(&mut map, "requestId", "response has no requestId")?;
        let kind = match type_of(&map)? {
            Some(6) => ResponseKind::ServerSideEmit(map.remove("data")),
            Some(8) => ResponseKind::BroadcastClientCount(
                map.get("clientCount")
                    .and_then(Value::as_u64)
                    .ok_or(WireError::Malformed("client count is not a number"))?,
            ),
            Some(9) => ResponseKind::BroadcastAck(payload_from(
                map.remove("packet").into_iter().collect(),
                &binary,
            )),
            Some(other) if other != 0 && other != 1 && other != 5 => {
                return Err(WireError::UnknownType(other))
            }
            _ => match (map.remove("sockets"), map.remove("rooms")) {
                (Some(Value::Array(sockets)), _) => ResponseKind::Sockets(sockets),
                (_, Some(rooms_value)) => ResponseKind::Rooms(rooms(Some(rooms_value))?),
                (Some(_), None) => return Err(WireError::Malformed("sockets is not an array")),
                (None, None) => ResponseKind::Done,
            },
        };
        Ok(Response { request_id, kind })
    }
}
