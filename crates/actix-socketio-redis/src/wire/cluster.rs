//! socket.io-adapter's ClusterAdapter protocol: the messages of `createShardedAdapter`
//! (`@socket.io/redis-adapter` 8.3) and of `@socket.io/redis-streams-adapter` 0.3.
//!
//! A message is the envelope `{type, data, uid, nsp}` (in that key order, as Node builds
//! it). How it travels depends on the adapter:
//! - sharded: SPUBLISH of JSON text, or of notepack msgpack when the type can carry
//!   binary and does ([`ClusterMessage::encode_sharded`]);
//! - streams: non-ephemeral messages are stream entries with the fields `uid`, `nsp`,
//!   `type` (decimal text) and `data` (JSON text, or base64 of @msgpack/msgpack when it
//!   has binary) ([`ClusterMessage::to_stream_fields`]); ephemeral ones (a broadcast
//!   with acks, server-side emits, fetchSockets) and every response are PUBLISHed as
//!   @msgpack/msgpack of the whole message ([`ClusterMessage::encode_msgpack`]).

use actix_socketio::Payload;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::msgpack::{self, Flavor};
use super::packet::{
    event_args, into_map, opt_string, payload_from, rooms, string, BroadcastOpts, EventPacket,
    FetchedSocket, OptsForm,
};
use super::{json, WireError};

/// socket.io-adapter's `MessageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageType {
    /// A node announces itself (heartbeat adapters only).
    InitialHeartbeat = 1,
    /// A node is alive (heartbeat adapters only).
    Heartbeat = 2,
    /// A broadcast, with acks if it has a request id.
    Broadcast = 3,
    /// Matching sockets join rooms.
    SocketsJoin = 4,
    /// Matching sockets leave rooms.
    SocketsLeave = 5,
    /// Matching sockets disconnect.
    DisconnectSockets = 6,
    /// Details of matching sockets.
    FetchSockets = 7,
    /// One node's answer to a fetch.
    FetchSocketsResponse = 8,
    /// An event for the servers.
    ServerSideEmit = 9,
    /// One server's ack to a server-side emit.
    ServerSideEmitResponse = 10,
    /// How many clients a node sent a broadcast with acks to.
    BroadcastClientCount = 11,
    /// One client's ack to a broadcast.
    BroadcastAck = 12,
    /// A node is leaving.
    AdapterClose = 13,
}

impl MessageType {
    /// The type of a wire number.
    pub fn from_code(code: i64) -> Result<Self, WireError> {
        use MessageType::*;
        Ok(match code {
            1 => InitialHeartbeat,
            2 => Heartbeat,
            3 => Broadcast,
            4 => SocketsJoin,
            5 => SocketsLeave,
            6 => DisconnectSockets,
            7 => FetchSockets,
            8 => FetchSocketsResponse,
            9 => ServerSideEmit,
            10 => ServerSideEmitResponse,
            11 => BroadcastClientCount,
            12 => BroadcastAck,
            13 => AdapterClose,
            other => return Err(WireError::UnknownType(other)),
        })
    }
}

/// One message between cluster nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMessage {
    /// The sender's uid (16 hex characters; `"emitter"` from the streams emitter): a node
    /// drops its own.
    pub uid: String,
    /// The namespace: a node drops messages of namespaces it does not serve.
    pub nsp: String,
    /// What the message says.
    pub body: Body,
}

/// What a cluster message says, by type.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// 1, no data.
    InitialHeartbeat,
    /// 2, no data.
    Heartbeat,
    /// 3: `{packet, requestId?, opts}`; a request id asks for acks (types 11 and 12).
    Broadcast {
        /// What to send.
        packet: EventPacket,
        /// Set when the sender collects the clients' acks.
        request_id: Option<String>,
        /// Who to send it to.
        opts: BroadcastOpts,
    },
    /// 4: `{opts, rooms}`.
    SocketsJoin {
        /// Which sockets.
        opts: BroadcastOpts,
        /// Rooms to join.
        rooms: Vec<String>,
    },
    /// 5: `{opts, rooms}`.
    SocketsLeave {
        /// Which sockets.
        opts: BroadcastOpts,
        /// Rooms to leave.
        rooms: Vec<String>,
    },
    /// 6: `{opts, close}`.
    DisconnectSockets {
        /// Which sockets.
        opts: BroadcastOpts,
        /// Close the underlying connection too.
        close: bool,
    },
    /// 7: `{opts, requestId}`.
    FetchSockets {
        /// Which sockets.
        opts: BroadcastOpts,
        /// Matches the answers.
        request_id: String,
    },
    /// 8: `{requestId, sockets}`.
    FetchSocketsResponse {
        /// The request answered.
        request_id: String,
        /// This node's matching sockets.
        sockets: Vec<FetchedSocket>,
        /// The bytes the sockets' placeholders (in handshake or data) refer to.
        binary: Vec<Bytes>,
    },
    /// 9: `{requestId?, packet: [event, ...args]}`.
    ServerSideEmit {
        /// Set when every other node must answer once (type 10).
        request_id: Option<String>,
        /// `packet[0]`.
        event: String,
        /// The arguments.
        payload: Payload,
    },
    /// 10: `{requestId, packet}`: the ack's first argument (zero or one in `args`).
    ServerSideEmitResponse {
        /// The request answered.
        request_id: String,
        /// The ack's argument.
        packet: Payload,
    },
    /// 11: `{requestId, clientCount}`.
    BroadcastClientCount {
        /// The broadcast answered.
        request_id: String,
        /// Clients this node sent it to.
        client_count: u64,
    },
    /// 12: `{requestId, packet}`: one client's ack (its first argument).
    BroadcastAck {
        /// The broadcast answered.
        request_id: String,
        /// The ack's argument.
        packet: Payload,
    },
    /// 13, no data.
    AdapterClose,
}

impl Body {
    /// The wire type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Body::InitialHeartbeat => MessageType::InitialHeartbeat,
            Body::Heartbeat => MessageType::Heartbeat,
            Body::Broadcast { .. } => MessageType::Broadcast,
            Body::SocketsJoin { .. } => MessageType::SocketsJoin,
            Body::SocketsLeave { .. } => MessageType::SocketsLeave,
            Body::DisconnectSockets { .. } => MessageType::DisconnectSockets,
            Body::FetchSockets { .. } => MessageType::FetchSockets,
            Body::FetchSocketsResponse { .. } => MessageType::FetchSocketsResponse,
            Body::ServerSideEmit { .. } => MessageType::ServerSideEmit,
            Body::ServerSideEmitResponse { .. } => MessageType::ServerSideEmitResponse,
            Body::BroadcastClientCount { .. } => MessageType::BroadcastClientCount,
            Body::BroadcastAck { .. } => MessageType::BroadcastAck,
            Body::AdapterClose => MessageType::AdapterClose,
        }
    }

    /// The bytes the placeholders of the data refer to.
    fn attachments(&self) -> &[Bytes] {
        match self {
            Body::Broadcast { packet, .. } => &packet.payload.binary,
            Body::FetchSocketsResponse { binary, .. } => binary,
            Body::ServerSideEmit { payload, .. } => &payload.binary,
            Body::ServerSideEmitResponse { packet, .. } | Body::BroadcastAck { packet, .. } => {
                &packet.binary
            }
            _ => &[],
        }
    }

    /// The `data` object in Node's key order, and the bytes its placeholders refer to.
    fn data(&self) -> Option<(Value, &[Bytes])> {
        let mut map = Map::new();
        let strings =
            |list: &[String]| Value::Array(list.iter().cloned().map(Value::String).collect());
        let first_arg = |map: &mut Map<String, Value>, payload: &Payload| {
            if let Some(arg) = payload.args.first() {
                map.insert("packet".into(), arg.clone());
            }
        };
        let mut binary: &[Bytes] = &[];
        match self {
            Body::InitialHeartbeat | Body::Heartbeat | Body::AdapterClose => return None,
            Body::Broadcast {
                packet,
                request_id,
                opts,
            } => {
                map.insert("packet".into(), packet.to_value(false));
                if let Some(id) = request_id {
                    map.insert("requestId".into(), Value::String(id.clone()));
                }
                map.insert("opts".into(), opts.to_value(OptsForm::WithFlags));
                binary = &packet.payload.binary;
            }
            Body::SocketsJoin { opts, rooms } | Body::SocketsLeave { opts, rooms } => {
                map.insert("opts".into(), opts.to_value(OptsForm::WithFlags));
                map.insert("rooms".into(), strings(rooms));
            }
            Body::DisconnectSockets { opts, close } => {
                map.insert("opts".into(), opts.to_value(OptsForm::WithFlags));
                map.insert("close".into(), Value::Bool(*close));
            }
            Body::FetchSockets { opts, request_id } => {
                map.insert("opts".into(), opts.to_value(OptsForm::WithFlags));
                map.insert("requestId".into(), Value::String(request_id.clone()));
            }
            Body::FetchSocketsResponse {
                request_id,
                sockets,
                binary: attachments,
            } => {
                map.insert("requestId".into(), Value::String(request_id.clone()));
                map.insert(
                    "sockets".into(),
                    Value::Array(sockets.iter().map(FetchedSocket::to_value).collect()),
                );
                binary = attachments;
            }
            Body::ServerSideEmit {
                request_id,
                event,
                payload,
            } => {
                if let Some(id) = request_id {
                    map.insert("requestId".into(), Value::String(id.clone()));
                }
                let mut data = vec![Value::String(event.clone())];
                data.extend(payload.args.iter().cloned());
                map.insert("packet".into(), Value::Array(data));
                binary = &payload.binary;
            }
            Body::ServerSideEmitResponse { request_id, packet }
            | Body::BroadcastAck { request_id, packet } => {
                map.insert("requestId".into(), Value::String(request_id.clone()));
                first_arg(&mut map, packet);
                binary = &packet.binary;
            }
            Body::BroadcastClientCount {
                request_id,
                client_count,
            } => {
                map.insert("requestId".into(), Value::String(request_id.clone()));
                map.insert("clientCount".into(), Value::from(*client_count));
            }
        }
        Some((Value::Object(map), binary))
    }

    fn from_data(
        kind: MessageType,
        data: Option<Value>,
        binary: &[Bytes],
        nsp: &str,
    ) -> Result<Self, WireError> {
        use MessageType as T;
        let without_data = matches!(kind, T::InitialHeartbeat | T::Heartbeat | T::AdapterClose);
        let mut map = match data {
            Some(data) => into_map(data, "data is not a map")?,
            None if without_data => Map::new(),
            None => return Err(WireError::Malformed("message has no data")),
        };
        let request_id =
            |map: &mut Map<String, Value>| string(map, "requestId", "response has no requestId");
        let opts = |map: &mut Map<String, Value>| BroadcastOpts::from_value(map.remove("opts"));
        Ok(match kind {
            T::InitialHeartbeat => Body::InitialHeartbeat,
            T::Heartbeat => Body::Heartbeat,
            T::AdapterClose => Body::AdapterClose,
            T::Broadcast => {
                let packet = map
                    .remove("packet")
                    .ok_or(WireError::Malformed("broadcast has no packet"))?;
                Body::Broadcast {
                    packet: EventPacket::from_value(packet, binary, nsp)?,
                    request_id: opt_string(&mut map, "requestId")?,
                    opts: opts(&mut map)?,
                }
            }
            T::SocketsJoin => Body::SocketsJoin {
                opts: opts(&mut map)?,
                rooms: rooms(map.remove("rooms"))?,
            },
            T::SocketsLeave => Body::SocketsLeave {
                opts: opts(&mut map)?,
                rooms: rooms(map.remove("rooms"))?,
            },
            T::DisconnectSockets => Body::DisconnectSockets {
                close: map.get("close").and_then(Value::as_bool) == Some(true),
                opts: opts(&mut map)?,
            },
            T::FetchSockets => Body::FetchSockets {
                opts: opts(&mut map)?,
                request_id: request_id(&mut map)?,
            },
            T::FetchSocketsResponse => {
                let sockets = match map.remove("sockets") {
                    Some(Value::Array(items)) => items,
                    _ => return Err(WireError::Malformed("sockets is not an array")),
                };
                // The sockets' placeholders, renumbered against their own attachments.
                let own = payload_from(sockets, binary);
                Body::FetchSocketsResponse {
                    request_id: request_id(&mut map)?,
                    sockets: own
                        .args
                        .into_iter()
                        .map(FetchedSocket::from_value)
                        .collect::<Result<_, _>>()?,
                    binary: own.binary,
                }
            }
            T::ServerSideEmit => {
                let (event, payload) = event_args(map.remove("packet"), binary)?;
                Body::ServerSideEmit {
                    request_id: opt_string(&mut map, "requestId")?,
                    event,
                    payload,
                }
            }
            T::ServerSideEmitResponse => Body::ServerSideEmitResponse {
                request_id: request_id(&mut map)?,
                packet: payload_from(map.remove("packet").into_iter().collect(), binary),
            },
            T::BroadcastClientCount => Body::BroadcastClientCount {
                request_id: request_id(&mut map)?,
                client_count: map
                    .get("clientCount")
                    .and_then(Value::as_u64)
                    .ok_or(WireError::Malformed("client count is not a number"))?,
            },
            T::BroadcastAck => Body::BroadcastAck {
                request_id: request_id(&mut map)?,
                packet: payload_from(map.remove("packet").into_iter().collect(), binary),
            },
        })
    }
}

impl ClusterMessage {
    /// Whether the streams adapter sends this over pub/sub instead of the stream (a
    /// broadcast with acks, server-side emits, fetchSockets).
    pub fn is_ephemeral(&self) -> bool {
        matches!(
            self.body,
            Body::Broadcast {
                request_id: Some(_),
                ..
            } | Body::ServerSideEmit { .. }
                | Body::FetchSockets { .. }
        )
    }

    fn envelope(&self) -> (Value, &[Bytes]) {
        let mut map = Map::new();
        map.insert("type".into(), Value::from(self.body.message_type() as u8));
        let mut binary: &[Bytes] = &[];
        if let Some((data, attachments)) = self.body.data() {
            map.insert("data".into(), data);
            binary = attachments;
        }
        map.insert("uid".into(), Value::String(self.uid.clone()));
        map.insert("nsp".into(), Value::String(self.nsp.clone()));
        (Value::Object(map), binary)
    }

    fn has_binary(&self) -> bool {
        !self.body.attachments().is_empty()
    }

    /// The sharded adapter's bytes: notepack msgpack if the message carries binary, JSON
    /// otherwise.
    pub fn encode_sharded(&self) -> Vec<u8> {
        let (value, binary) = self.envelope();
        if self.has_binary() {
            msgpack::encode(&value, binary, Flavor::Notepack)
        } else {
            json::to_string(&value, &[]).into_bytes()
        }
    }

    /// Reads a sharded message: JSON if it starts with `{`, notepack otherwise.
    pub fn decode_sharded(bytes: &Bytes) -> Result<Self, WireError> {
        if bytes.first() == Some(&b'{') {
            Self::from_envelope(json::parse(bytes)?, &[])
        } else {
            let decoded = msgpack::decode(bytes)?;
            Self::from_envelope(decoded.value, &decoded.binary)
        }
    }

    /// The whole message as @msgpack/msgpack writes it (the streams adapter's pub/sub).
    pub fn encode_msgpack(&self) -> Vec<u8> {
        let (value, binary) = self.envelope();
        msgpack::encode(&value, binary, Flavor::MsgpackJs)
    }

    /// Reads a whole message in msgpack (the streams adapter's pub/sub).
    pub fn decode_msgpack(bytes: &Bytes) -> Result<Self, WireError> {
        let decoded = msgpack::decode(bytes)?;
        Self::from_envelope(decoded.value, &decoded.binary)
    }

    fn from_envelope(value: Value, binary: &[Bytes]) -> Result<Self, WireError> {
        let mut map = into_map(value, "message is not a map")?;
        let code = map
            .get("type")
            .and_then(Value::as_i64)
            .ok_or(WireError::Malformed("message type is not an integer"))?;
        let kind = MessageType::from_code(code)?;
        let uid = opt_string(&mut map, "uid")?.unwrap_or_default();
        let nsp = string(&mut map, "nsp", "message has no nsp")?;
        let body = Body::from_data(kind, map.remove("data"), binary, &nsp)?;
        Ok(ClusterMessage { uid, nsp, body })
    }

    /// The fields of the stream entry the streams adapter XADDs: `uid`, `nsp`, `type`
    /// (decimal) and, when there is data, `data`: JSON text, or base64 of
    /// @msgpack/msgpack when the data carries binary.
    pub fn to_stream_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("uid", self.uid.clone()),
            ("nsp", self.nsp.clone()),
            ("type", (self.body.message_type() as u8).to_string()),
        ];
        if let Some((data, binary)) = self.body.data() {
            let text = if self.has_binary() {
                base64::engine::general_purpose::STANDARD.encode(msgpack::encode(
                    &data,
                    binary,
                    Flavor::MsgpackJs,
                ))
            } else {
                json::to_string(&data, &[])
            };
            fields.push(("data", text));
        }
        fields
    }

    /// Reads a stream entry's fields (in any order; unknown fields are ignored).
    pub fn from_stream_fields<K, V>(
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, WireError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let (mut uid, mut nsp, mut kind, mut data) = (None, None, None, None);
        for (key, value) in fields {
            let text = || {
                std::str::from_utf8(value.as_ref())
                    .map(str::to_owned)
                    .map_err(|_| WireError::InvalidUtf8)
            };
            match key.as_ref() {
                b"uid" => uid = Some(text()?),
                b"nsp" => nsp = Some(text()?),
                b"type" => kind = Some(text()?),
                b"data" => data = Some(text()?),
                _ => {}
            }
        }
        let code: i64 = kind
            .as_deref()
            .and_then(|t| t.parse().ok())
            .ok_or(WireError::Malformed("entry type is not a number"))?;
        let kind = MessageType::from_code(code)?;
        let (data, binary) = match data.filter(|d| !d.is_empty()) {
            None => (None, Vec::new()),
            Some(text) if text.starts_with('{') => {
                (Some(json::parse(text.as_bytes())?), Vec::new())
            }
            Some(text) => {
                let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
                let decoded = msgpack::decode(&Bytes::from(bytes))?;
                (Some(decoded.value), decoded.binary)
            }
        };
        let nsp = nsp.ok_or(WireError::Malformed("entry has no nsp"))?;
        let body = Body::from_data(kind, data, &binary, &nsp)?;
        Ok(ClusterMessage {
            uid: uid.unwrap_or_default(),
            nsp,
            body,
        })
    }
}
