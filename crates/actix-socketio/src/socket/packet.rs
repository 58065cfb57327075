//! Socket.IO v5 packets: the codec, with no I/O.
//!
//! A packet is `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]`, sent as one Engine.IO
//! text message; a binary packet's attachments follow as binary messages and are
//! referred to in the JSON by `{"_placeholder":true,"num":N}`.

use bytes::Bytes;
use serde_json::Value;

use crate::engine::{Data, Frame};

/// The root namespace, left out of encoded packets.
pub const ROOT_NSP: &str = "/";

/// Event names the protocol reserves; a client may not send them (the decoder refuses
/// them).
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Attachments one packet may announce by default: Node socket.io-parser's
/// `maxAttachments` (4.2.6).
pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

/// Bytes of attachments one packet may carry by default: ten attachments of Engine.IO's
/// default `max_payload`.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: usize = 10_000_000;

/// Event or ack arguments: JSON values, and the binary attachments their placeholders
/// refer to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    /// The JSON arguments; a binary one is a placeholder.
    pub args: Vec<Value>,
    /// The attachments, by placeholder number.
    pub binary: Vec<Bytes>,
}

impl Payload {
    /// Arguments with no binary attachments.
    pub fn new(args: Vec<Value>) -> Payload {
        Payload {
            args,
            binary: Vec::new(),
        }
    }

    /// One argument, serialized.
    pub fn json(arg: impl serde::Serialize) -> Result<Payload, serde_json::Error> {
        Ok(Payload::new(vec![serde_json::to_value(arg)?]))
    }

    /// The arguments decoded as `T`: from the only argument when there is exactly one,
    /// else from the array of all of them (so a tuple takes several), `null` for none.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match self.args.as_slice() {
            [] => T::deserialize(&Value::Null),
            [only] => T::deserialize(only),
            many => T::deserialize(&Value::Array(many.to_vec())),
        }
    }

    /// Appends a binary argument: a placeholder in `args` and the bytes in `binary`.
    pub fn push_binary(&mut self, bytes: impl Into<Bytes>) {
        self.args.push(placeholder(self.binary.len()));
        self.binary.push(bytes.into());
    }
}

/// The JSON that stands for attachment `num` of a binary packet.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({ "_placeholder": true, "num": num })
}

/// A Socket.IO packet, named as in the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// `0`: the client joins a namespace (data: auth), or the server accepts (`{"sid"}`).
    Connect {
        /// The namespace.
        nsp: String,
        /// Auth from the client, `{"sid"}` from the server.
        data: Option<Value>,
    },
    /// `1`: either side leaves a namespace.
    Disconnect {
        /// The namespace.
        nsp: String,
    },
    /// `2`, or `5` with attachments: an event, with an ack id when an answer is wanted.
    Event {
        /// The namespace.
        nsp: String,
        /// The event name.
        event: String,
        /// Its arguments.
        payload: Payload,
        /// The ack id, when the sender waits for an answer.
        id: Option<u64>,
    },
    /// `3`, or `6` with attachments: the answer to an event.
    Ack {
        /// The namespace.
        nsp: String,
        /// The answer's arguments.
        payload: Payload,
        /// The id of the event answered.
        id: u64,
    },
    /// `4`: the server refuses a namespace connection.
    ConnectError {
        /// The namespace.
        nsp: String,
        /// `{"message", "data"?}`.
        data: Value,
    },
}

/// Why a packet was refused. Any of them closes the connection that sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("unknown packet type")]
    /// A type digit outside 0 to 6.
    UnknownType,
    #[error("illegal attachments count")]
    /// An attachment count or placeholder out of range.
    IllegalAttachments,
    #[error("invalid ack id")]
    /// An ack id that is not a number.
    InvalidAckId,
    #[error("invalid payload")]
    /// JSON that is not what the packet type needs.
    InvalidPayload,
    #[error("unexpected binary message")]
    /// A binary message no packet waits for.
    UnexpectedBinary,
    #[error("a binary packet is waiting for its attachments")]
    /// A text message while a packet waits for attachments.
    AttachmentsPending,
    #[error("too many attachments")]
    /// More attachments than `max_attachments`.
    TooManyAttachments,
    #[error("attachments too large")]
    /// Attachments over `max_attachment_bytes`.
    AttachmentsTooLarge,
}

impl Packet {
    /// The namespace the packet is for.
    pub fn nsp(&self) -> &str {
        match self {
            Packet::Connect { nsp, .. }
            | Packet::Disconnect { nsp }
            | Packet::Event { nsp, .. }
            | Packet::Ack { nsp, .. }
            | Packet::ConnectError { nsp, .. } => nsp,
        }
    }

    /// Encodes the packet as the Engine.IO messages that carry it: one text message, then
    /// one binary message per attachment.
    ///
    /// The frames are encoded once, ready for any transport, so a broadcast shares them
    /// among all its receivers.
    pub fn encode(&self) -> Vec<Frame> {
        // Written behind room for the WebSocket header: the text is framed where it is.
        let mut text = Frame::text_buffer();
        self.write_text(&mut text);
        let mut frames = Vec::with_capacity(1 + self.attachments().len());
        frames.push(Frame::from_text_buffer(text));
        frames.extend(self.attachments().iter().map(|bytes| Frame::binary(bytes)));
        frames
    }

    fn attachments(&self) -> &[Bytes] {
        match self {
            Packet::Event { payload, .. } | Packet::Ack { payload, .. } => &payload.binary,
            _ => &[],
        }
    }

    /// The text part of the packet.
    pub fn encode_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) {
        let attachments = self.attachments().len();
        let kind = match self {
            Packet::Connect { .. } => '0',
            Packet::Disconnect { .. } => '1',
            Packet::Event { .. } if attachments > 0 => '5',
            Packet::Event { .. } => '2',
            Packet::Ack { .. } if attachments > 0 => '6',
            Packet::Ack { .. } => '3',
            Packet::ConnectError { .. } => '4',
        };
        out.push(kind);
        if attachments > 0 {
            out.push_str(&attachments.to_string());
            out.push('-');
        }
        let nsp = self.nsp();
        if nsp != ROOT_NSP {
            out.push_str(nsp);
            out.push(',');
        }
        let id = match self {
            Packet::Event { id, .. } => *id,
            Packet::Ack { id, .. } => Some(*id),
            _ => None,
        };
        if let Some(id) = id {
            out.push_str(&id.to_string());
        }
        match self {
            Packet::Connect {
                data: Some(data), ..
            } => push_json(out, data),
            Packet::Connect { data: None, .. } | Packet::Disconnect { .. } => {}
            Packet::Event { event, payload, .. } => {
                out.push('[');
                push_json(out, event);
                for arg in &payload.args {
                    out.push(',');
                    push_json(out, arg);
                }
                out.push(']');
            }
            Packet::Ack { payload, .. } => push_json(out, &payload.args),
            Packet::ConnectError { data, .. } => push_json(out, data),
        }
    }
}

/// Appends compact JSON.
fn push_json(out: &mut String, value: &(impl serde::Serialize + ?Sized)) {
    // unwrap: strings and `Value`s always serialize (their map keys are strings).
    out.push_str(&serde_json::to_string(value).unwrap());
}

/// Reassembles packets from a connection's Engine.IO messages. A binary packet is
/// incomplete until all its attachments have arrived; that is a result, not an error.
///
/// What a client may make it hold is bounded: the number of attachments a packet
/// announces, and the bytes of the attachments received for it.
#[derive(Debug)]
pub struct Decoder {
    /// A binary packet waiting for attachments; boxed, as most connections never have one
    /// and every connection holds a decoder.
    partial: Option<Box<Partial>>,
    max_attachments: usize,
    max_attachment_bytes: usize,
}

#[derive(Debug)]
struct Partial {
    packet: Packet,
    /// Attachments still to come.
    missing: usize,
    /// Bytes of the attachments received so far.
    bytes: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_ATTACHMENTS, DEFAULT_MAX_ATTACHMENT_BYTES)
    }
}

impl Decoder {
    /// A decoder with these bounds on what one packet may hold.
    pub fn new(max_attachments: usize, max_attachment_bytes: usize) -> Decoder {
        Decoder {
            partial: None,
            max_attachments,
            max_attachment_bytes,
        }
    }

    /// Whether a binary packet is waiting for its attachments.
    pub fn is_pending(&self) -> bool {
        self.partial.is_some()
    }

    /// Feeds one Engine.IO message; returns a packet once one is complete.
    pub fn feed(&mut self, message: Data) -> Result<Option<Packet>, ParseError> {
        match message {
            Data::Text(text) => {
                if self.partial.is_some() {
                    return Err(ParseError::AttachmentsPending);
                }
                let (packet, attachments) = decode_text(&text)?;
                if attachments == 0 {
                    return Ok(Some(packet));
                }
                if attachments > self.max_attachments {
                    return Err(ParseError::TooManyAttachments);
                }
                // Checked before any attachment is held, not after all have come.
                if let Packet::Event { payload, .. } | Packet::Ack { payload, .. } = &packet {
                    if !payload
                        .args
                        .iter()
                        .all(|arg| placeholders_within(arg, attachments))
                    {
                        return Err(ParseError::IllegalAttachments);
                    }
                }
                self.partial = Some(Box::new(Partial {
                    packet,
                    missing: attachments,
                    bytes: 0,
                }));
                Ok(None)
            }
            Data::Binary(bytes) => {
                let Some(mut partial) = self.partial.take() else {
                    return Err(ParseError::UnexpectedBinary);
                };
                partial.bytes = partial.bytes.saturating_add(bytes.len());
                if partial.bytes > self.max_attachment_bytes {
                    return Err(ParseError::AttachmentsTooLarge);
                }
                if let Packet::Event { payload, .. } | Packet::Ack { payload, .. } =
                    &mut partial.packet
                {
                    payload.binary.push(bytes);
                }
                partial.missing -= 1;
                if partial.missing == 0 {
                    Ok(Some(partial.packet))
                } else {
                    self.partial = Some(partial);
                    Ok(None)
                }
            }
        }
    }
}

/// Whether every placeholder in `value` refers to one of `attachments`, as socket.io-parser
/// requires (`illegal attachments`). Decoded JSON is at most 128 levels deep (serde_json's
/// recursion limit), so the recursion is bounded.
fn placeholders_within(value: &Value, attachments: usize) -> bool {
    match value {
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => map
            .get("num")
            .and_then(Value::as_u64)
            .is_some_and(|num| num < attachments as u64),
        Value::Object(map) => map.values().all(|v| placeholders_within(v, attachments)),
        Value::Array(items) => items.iter().all(|v| placeholders_within(v, attachments)),
        _ => true,
    }
}

/// Decodes the text of a packet; returns it with the number of attachments to wait for.
pub fn decode_text(text: &str) -> Result<(Packet, usize), ParseError> {
    let bytes = text.as_bytes();
    let kind = *bytes
        .first()
        .filter(|k| (b'0'..=b'6').contains(k))
        .ok_or(ParseError::UnknownType)?;
    let mut i = 1;

    let binary = matches!(kind, b'5' | b'6');
    let mut attachments = 0;
    if binary {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || bytes.get(i) != Some(&b'-') {
            return Err(ParseError::IllegalAttachments);
        }
        // The count's upper bound is the decoder's to enforce.
        attachments = text[start..i]
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(ParseError::IllegalAttachments)?;
        i += 1;
    }

    let mut nsp = ROOT_NSP.to_owned();
    if bytes.get(i) == Some(&b'/') {
        let end = text[i..].find(',').map_or(bytes.len(), |at| i + at);
        nsp = text[i..end].to_owned();
        i = (end + 1).min(bytes.len());
    }

    let start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let id = if i > start {
        Some(
            text[start..i]
                .parse::<u64>()
                .map_err(|_| ParseError::InvalidAckId)?,
        )
    } else {
        None
    };

    let rest = &text[i..];
    let data: Option<Value> = if rest.is_empty() {
        None
    } else {
        Some(serde_json::from_str(rest).map_err(|_| ParseError::InvalidPayload)?)
    };

    let packet = match (kind, data) {
        (b'0', data @ (None | Some(Value::Object(_)))) if id.is_none() => {
            Packet::Connect { nsp, data }
        }
        (b'1', None) if id.is_none() => Packet::Disconnect { nsp },
        (b'2' | b'5', Some(Value::Array(mut args))) => {
            let event = match args.first() {
                Some(Value::String(name)) if !RESERVED_EVENTS.contains(&name.as_str()) => {
                    name.clone()
                }
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(ParseError::InvalidPayload),
            };
            args.remove(0);
            Packet::Event {
                nsp,
                event,
                payload: Payload::new(args),
                id,
            }
        }
        (b'3' | b'6', Some(Value::Array(args))) => Packet::Ack {
            nsp,
            payload: Payload::new(args),
            id: id.ok_or(ParseError::InvalidAckId)?,
        },
        (b'4', Some(data @ (Value::Object(_) | Value::String(_)))) => {
            Packet::ConnectError { nsp, data }
        }
        _ => return Err(ParseError::InvalidPayload),
    };
    Ok((packet, attachments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(text: &str) -> Packet {
        let (packet, attachments) = decode_text(text).expect(text);
        assert_eq!(attachments, 0, "{text}");
        packet
    }

    fn event(nsp: &str, name: &str, args: Vec<Value>, id: Option<u64>) -> Packet {
        Packet::Event {
            nsp: nsp.into(),
            event: name.into(),
            payload: Payload::new(args),
            id,
        }
    }

    #[test]
    fn connect_with_and_without_namespace_and_comma() {
        let root = Packet::Connect {
            nsp: "/".into(),
            data: None,
        };
        assert_eq!(decode("0"), root);
        let custom = Packet::Connect {
            nsp: "/custom".into(),
            data: None,
        };
        assert_eq!(decode("0/custom"), custom);
        assert_eq!(decode("0/custom,"), custom);
        assert_eq!(
            decode(r#"0/admin,{"token":"123"}"#),
            Packet::Connect {
                nsp: "/admin".into(),
                data: Some(json!({"token": "123"}))
            }
        );
        assert_eq!(
            Packet::Connect {
                nsp: "/".into(),
                data: Some(json!({"sid": "oSO0OpakMV_3jnilAAAA"}))
            }
            .encode_text(),
            r#"0{"sid":"oSO0OpakMV_3jnilAAAA"}"#
        );
        assert_eq!(
            Packet::Connect {
                nsp: "/admin".into(),
                data: Some(json!({"sid": "x"}))
            }
            .encode_text(),
            r#"0/admin,{"sid":"x"}"#
        );
    }

    #[test]
    fn disconnect_and_connect_error() {
        assert_eq!(decode("1"), Packet::Disconnect { nsp: "/".into() });
        assert_eq!(
            decode("1/admin,"),
            Packet::Disconnect {
                nsp: "/admin".into()
            }
        );
        assert_eq!(
            Packet::ConnectError {
                nsp: "/random".into(),
                data: json!({"message": "Invalid namespace"})
            }
            .encode_text(),
            r#"4/random,{"message":"Invalid namespace"}"#
        );
    }

    #[test]
    fn events_keep_key_order_and_stay_compact() {
        let text = r#"2["message",1,"2",{"3":[true],"b":1,"a":2}]"#;
        let packet = decode(text);
        assert_eq!(
            packet,
            event(
                "/",
                "message",
                vec![json!(1), json!("2"), json!({"3":[true],"b":1,"a":2})],
                None
            )
        );
        assert_eq!(packet.encode_text(), text);
        assert_eq!(
            decode(r#"2/admin,456["project:delete",123]"#),
            event("/admin", "project:delete", vec![json!(123)], Some(456))
        );
        assert_eq!(
            event("/", "auth", vec![json!({})], None).encode_text(),
            r#"2["auth",{}]"#
        );
    }

    #[test]
    fn acks() {
        let text = r#"3456[1,"2",{"3":[false]}]"#;
        let packet = decode(text);
        assert_eq!(
            packet,
            Packet::Ack {
                nsp: "/".into(),
                payload: Payload::new(vec![json!(1), json!("2"), json!({"3":[false]})]),
                id: 456
            }
        );
        assert_eq!(packet.encode_text(), text);
        assert_eq!(decode_text("3[]"), Err(ParseError::InvalidAckId));
    }

    #[test]
    fn binary_event_waits_for_its_attachments() {
        let mut decoder = Decoder::default();
        let text = r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(decoder.feed(Data::from(text)), Ok(None));
        assert_eq!(decoder.feed(Data::from(vec![1u8, 2, 3])), Ok(None));
        let packet = decoder
            .feed(Data::from(vec![4u8, 5, 6]))
            .unwrap()
            .expect("complete after two attachments");
        let Packet::Event { payload, .. } = &packet else {
            panic!("not an event: {packet:?}");
        };
        assert_eq!(payload.args, vec![placeholder(0), placeholder(1)]);
        assert_eq!(
            payload.binary,
            vec![
                Bytes::from_static(&[1, 2, 3]),
                Bytes::from_static(&[4, 5, 6])
            ]
        );
        assert_eq!(
            packet.encode(),
            vec![
                Frame::text(text),
                Frame::binary(&[1, 2, 3]),
                Frame::binary(&[4, 5, 6])
            ]
        );
    }

    #[test]
    fn binary_ack_with_namespace_and_id() {
        let text = r#"62-/admin,789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        let (packet, attachments) = decode_text(text).unwrap();
        assert_eq!(attachments, 2);
        let mut payload = Payload::default();
        payload.push_binary(vec![1u8]);
        payload.push_binary(vec![2u8]);
        let ack = Packet::Ack {
            nsp: "/admin".into(),
            payload,
            id: 789,
        };
        assert_eq!(ack.encode_text(), text);
        let Packet::Ack { id, nsp, .. } = packet else {
            panic!("not an ack")
        };
        assert_eq!((id, nsp.as_str()), (789, "/admin"));
    }

    /// Found by the round-trip property tests: without serde_json's float_roundtrip, a
    /// 17-digit float came out one bit off.
    #[test]
    fn floats_decode_exactly() {
        let (packet, _) = decode_text(r#"2["n",-1504.3475666046143,0.1,5e-324]"#).unwrap();
        let Packet::Event { payload, .. } = &packet else {
            panic!("not an event: {packet:?}");
        };
        let floats: Vec<f64> = payload.args.iter().filter_map(Value::as_f64).collect();
        assert_eq!(floats, [-1504.3475666046143, 0.1, 5e-324]);
    }

    #[test]
    fn invalid_packets_are_refused() {
        assert_eq!(decode_text(""), Err(ParseError::UnknownType));
        assert_eq!(decode_text("4abc"), Err(ParseError::InvalidPayload));
        assert_eq!(decode_text("7"), Err(ParseError::UnknownType));
        assert_eq!(decode_text("abc"), Err(ParseError::UnknownType));
        assert_eq!(decode_text("2{}"), Err(ParseError::InvalidPayload));
        assert_eq!(
            decode_text(r#"2abc["message"]"#),
            Err(ParseError::InvalidPayload)
        );
        assert_eq!(decode_text("2[]"), Err(ParseError::InvalidPayload));
        assert_eq!(
            decode_text(r#"2["disconnect"]"#),
            Err(ParseError::InvalidPayload)
        );
        assert_eq!(
            decode_text(r#"5["a"]"#),
            Err(ParseError::IllegalAttachments)
        );
        assert_eq!(
            decode_text(r#"50-["a"]"#),
            Err(ParseError::IllegalAttachments)
        );
        assert_eq!(
            decode_text(r#"5100000000000000000000-["a"]"#),
            Err(ParseError::IllegalAttachments)
        );
        assert_eq!(decode_text(r#"1["a"]"#), Err(ParseError::InvalidPayload));
        assert_eq!(decode_text(r#"0"auth""#), Err(ParseError::InvalidPayload));
        assert_eq!(
            decode_text(r#"299999999999999999999["a"]"#),
            Err(ParseError::InvalidAckId)
        );
        let mut decoder = Decoder::default();
        assert_eq!(
            decoder.feed(Data::from(vec![1u8])),
            Err(ParseError::UnexpectedBinary)
        );
    }

    #[test]
    fn decoder_refuses_more_attachments_than_its_limit() {
        let mut decoder = Decoder::default();
        let ten = format!(r#"510-["a",{}]"#, placeholder(9));
        assert_eq!(decoder.feed(Data::from(ten.as_str())), Ok(None));
        assert!(decoder.is_pending());

        for count in ["11", "599999", "18446744073709551615"] {
            let mut decoder = Decoder::default();
            let text = format!(r#"5{count}-["a"]"#);
            assert_eq!(
                decoder.feed(Data::from(text.as_str())),
                Err(ParseError::TooManyAttachments),
                "{text}"
            );
            assert!(!decoder.is_pending(), "{text}");
        }
        let mut decoder = Decoder::new(2, DEFAULT_MAX_ATTACHMENT_BYTES);
        assert_eq!(
            decoder.feed(Data::from(r#"63-1[]"#)),
            Err(ParseError::TooManyAttachments)
        );
    }

    #[test]
    fn decoder_refuses_placeholders_that_refer_to_no_attachment() {
        for text in [
            r#"51-["a",{"_placeholder":true,"num":1}]"#,
            r#"51-["a",{"_placeholder":true,"num":-1}]"#,
            r#"51-["a",{"_placeholder":true,"num":0.5}]"#,
            r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
            r#"51-["a",{"_placeholder":true}]"#,
            r#"51-["a",{"deep":[[{"_placeholder":true,"num":7}]]}]"#,
            r#"61-1[{"_placeholder":true,"num":1}]"#,
        ] {
            let mut decoder = Decoder::default();
            assert_eq!(
                decoder.feed(Data::from(text)),
                Err(ParseError::IllegalAttachments),
                "{text}"
            );
            assert!(!decoder.is_pending(), "{text}");
        }
        // Not a placeholder: `_placeholder` is not `true`.
        let mut decoder = Decoder::default();
        let text = r#"51-["a",{"_placeholder":1,"num":9},{"_placeholder":true,"num":0}]"#;
        assert_eq!(decoder.feed(Data::from(text)), Ok(None));
    }

    #[test]
    fn decoder_bounds_the_bytes_held_for_a_packet() {
        let mut decoder = Decoder::new(DEFAULT_MAX_ATTACHMENTS, 5);
        let text = format!(r#"52-["a",{},{}]"#, placeholder(0), placeholder(1));
        assert_eq!(decoder.feed(Data::from(text.as_str())), Ok(None));
        assert_eq!(decoder.feed(Data::from(vec![1u8, 2, 3])), Ok(None));
        assert_eq!(
            decoder.feed(Data::from(vec![4u8, 5, 6])),
            Err(ParseError::AttachmentsTooLarge)
        );
        assert!(!decoder.is_pending(), "the partial packet is dropped");

        // Exactly the limit is accepted.
        assert_eq!(decoder.feed(Data::from(text.as_str())), Ok(None));
        assert_eq!(decoder.feed(Data::from(vec![1u8, 2, 3])), Ok(None));
        assert!(matches!(
            decoder.feed(Data::from(vec![4u8, 5])),
            Ok(Some(Packet::Event { .. }))
        ));
    }

    #[test]
    fn decoder_refuses_text_while_attachments_are_missing() {
        let mut decoder = Decoder::default();
        let text = format!(r#"51-["a",{}]"#, placeholder(0));
        assert_eq!(decoder.feed(Data::from(text.as_str())), Ok(None));
        assert_eq!(
            decoder.feed(Data::from(r#"2["b"]"#)),
            Err(ParseError::AttachmentsPending)
        );
    }
}
