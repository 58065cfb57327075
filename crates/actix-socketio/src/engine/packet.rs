//! Engine.IO v4 packets and payloads: the codec, with no I/O.
//!
//! A packet on the wire is one type digit followed by its data (`4hello`), or, for binary
//! messages, the raw bytes (a WebSocket binary frame) or `b` + base64 (inside a polling
//! payload). A polling payload joins packets with the record separator `\x1e`.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use bytes::Bytes;
use bytestring::ByteString;
use serde::Serialize;

pub use super::frame::Frame;

/// Joins the packets of one HTTP long-polling payload.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// The data of a `message` packet: Engine.IO keeps text and binary apart end to end.
///
/// Both variants are cheap to clone (reference counted), so one encoded broadcast can be
/// queued on many connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// A text message.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
}

impl From<&str> for Data {
    fn from(s: &str) -> Self {
        Data::Text(ByteString::from(s))
    }
}

impl From<String> for Data {
    fn from(s: String) -> Self {
        Data::Text(ByteString::from(s))
    }
}

impl From<Vec<u8>> for Data {
    fn from(b: Vec<u8>) -> Self {
        Data::Binary(Bytes::from(b))
    }
}

impl From<Bytes> for Data {
    fn from(b: Bytes) -> Self {
        Data::Binary(b)
    }
}

impl From<Data> for Frame {
    fn from(data: Data) -> Frame {
        match data {
            Data::Text(text) => Frame::text(&text),
            Data::Binary(bytes) => Frame::binary(&bytes),
        }
    }
}

/// The handshake data of the `open` packet, with exactly the keys the protocol defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// The session id.
    pub sid: String,
    /// Transports the session may upgrade to.
    pub upgrades: Vec<&'static str>,
    /// Milliseconds between pings.
    pub ping_interval: u64,
    /// Milliseconds a pong may take.
    pub ping_timeout: u64,
    /// Largest message or polling body the server takes, in bytes.
    pub max_payload: u64,
}

/// One Engine.IO packet, named as in the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0` + handshake JSON, sent by the server first.
    /// Boxed: it is sent once per session, and every queued packet is as large as the
    /// largest variant.
    Open(Box<OpenPacket>),
    /// `1`: either side ends the session.
    Close,
    /// `2`: the server's heartbeat.
    Ping,
    /// `2probe`: the client tests a new transport before upgrading to it.
    PingProbe,
    /// `3`: the client's heartbeat answer.
    Pong,
    /// `3probe`: the server's answer to a probe.
    PongProbe,
    /// `4` + data, or a binary frame, as received.
    Message(Data),
    /// A message on its way out, already encoded.
    Outgoing(Frame),
    /// `5`: the client switches to the probed transport.
    Upgrade,
    /// `6`: ends a pending long-poll without data (during an upgrade, or on close).
    Noop,
}

/// Why a packet could not be decoded. Any of them closes the session that sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("empty packet")]
    /// A packet with no type.
    Empty,
    #[error("unknown packet type {0:?}")]
    /// A type digit outside the protocol.
    UnknownType(char),
    #[error("invalid base64 in a binary packet")]
    /// A `b` message that is not base64.
    Base64,
    #[error("a client may not send an open packet")]
    /// An open packet, which only the server sends.
    UnexpectedOpen,
}

impl Packet {
    /// Encodes a packet as the text of a WebSocket text frame or of one polling record.
    ///
    /// Binary messages are encoded as `b` + base64, the polling form; a WebSocket transport
    /// sends binary data as a binary frame instead and never calls this for them.
    pub fn encode_text(&self, out: &mut String) {
        match self {
            Packet::Open(open) => {
                out.push('0');
                // unwrap: serializing a struct of strings and integers cannot fail.
                out.push_str(&serde_json::to_string(open).unwrap());
            }
            Packet::Close => out.push('1'),
            Packet::Ping => out.push('2'),
            Packet::PingProbe => out.push_str("2probe"),
            Packet::Pong => out.push('3'),
            Packet::PongProbe => out.push_str("3probe"),
            Packet::Message(Data::Text(text)) => {
                out.push('4');
                out.push_str(text);
            }
            Packet::Message(Data::Binary(bytes)) => {
                out.push('b');
                BASE64.encode_string(bytes, out);
            }
            Packet::Outgoing(frame) => match frame.as_text() {
                Some(text) => out.push_str(text),
                None => {
                    out.push('b');
                    BASE64.encode_string(frame.payload(), out);
                }
            },
            Packet::Upgrade => out.push('5'),
            Packet::Noop => out.push('6'),
        }
    }

    /// The packet as one string, for a WebSocket text frame.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.encode_text(&mut out);
        out
    }

    /// Decodes a packet sent by a client as text (a WebSocket text frame or a polling record).
    pub fn decode_text(text: &str) -> Result<Packet, DecodeError> {
        let mut chars = text.chars();
        let kind = chars.next().ok_or(DecodeError::Empty)?;
        let rest = chars.as_str();
        Ok(match kind {
            '0' => return Err(DecodeError::UnexpectedOpen),
            '1' => Packet::Close,
            '2' if rest == "probe" => Packet::PingProbe,
            '2' => Packet::Ping,
            '3' if rest == "probe" => Packet::PongProbe,
            '3' => Packet::Pong,
            '4' => Packet::Message(Data::Text(ByteString::from(rest))),
            '5' => Packet::Upgrade,
            '6' => Packet::Noop,
            'b' => {
                let bytes = BASE64.decode(rest).map_err(|_| DecodeError::Base64)?;
                Packet::Message(Data::Binary(Bytes::from(bytes)))
            }
            other => return Err(DecodeError::UnknownType(other)),
        })
    }
}

/// Encodes packets as one long-polling response body, joined by `\x1e`.
pub fn encode_payload<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> String {
    let mut out = String::new();
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            out.push(RECORD_SEPARATOR as char);
        }
        packet.encode_text(&mut out);
    }
    out
}

/// Decodes a long-polling request body into its packets; one bad record fails the whole
/// body, since the session that sent it is closed anyway.
pub fn decode_payload(body: &str) -> Result<Vec<Packet>, DecodeError> {
    body.split(RECORD_SEPARATOR as char)
        .map(Packet::decode_text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Packet {
        Packet::Message(Data::from(s))
    }

    #[test]
    fn open_packet_has_exactly_the_protocol_keys() {
        let open = Packet::Open(Box::new(OpenPacket {
            sid: "lv_VI97HAXpY6yYWAAAC".into(),
            upgrades: vec!["websocket"],
            ping_interval: 25000,
            ping_timeout: 20000,
            max_payload: 1000000,
        }));
        assert_eq!(
            open.to_text(),
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
    }

    #[test]
    fn encodes_each_packet_type() {
        assert_eq!(Packet::Close.to_text(), "1");
        assert_eq!(Packet::Ping.to_text(), "2");
        assert_eq!(Packet::PingProbe.to_text(), "2probe");
        assert_eq!(Packet::Pong.to_text(), "3");
        assert_eq!(Packet::PongProbe.to_text(), "3probe");
        assert_eq!(text("hello").to_text(), "4hello");
        assert_eq!(Packet::Upgrade.to_text(), "5");
        assert_eq!(Packet::Noop.to_text(), "6");
    }

    #[test]
    fn outgoing_frames_encode_like_messages() {
        assert_eq!(Packet::Outgoing(Frame::text("hello")).to_text(), "4hello");
        assert_eq!(
            Packet::Outgoing(Frame::from(Data::from(vec![1u8, 2, 3, 4]))).to_text(),
            "bAQIDBA=="
        );
    }

    #[test]
    fn binary_message_is_b_and_base64() {
        let packet = Packet::Message(Data::from(vec![1u8, 2, 3, 4]));
        assert_eq!(packet.to_text(), "bAQIDBA==");
        assert_eq!(Packet::decode_text("bAQIDBA==").unwrap(), packet);
    }

    #[test]
    fn decodes_client_packets() {
        assert_eq!(Packet::decode_text("1").unwrap(), Packet::Close);
        assert_eq!(Packet::decode_text("2probe").unwrap(), Packet::PingProbe);
        assert_eq!(Packet::decode_text("3").unwrap(), Packet::Pong);
        assert_eq!(Packet::decode_text("4héllo €").unwrap(), text("héllo €"));
        assert_eq!(Packet::decode_text("4").unwrap(), text(""));
        assert_eq!(Packet::decode_text("5").unwrap(), Packet::Upgrade);
        assert_eq!(Packet::decode_text("6").unwrap(), Packet::Noop);
    }

    #[test]
    fn rejects_invalid_packets() {
        assert_eq!(Packet::decode_text(""), Err(DecodeError::Empty));
        assert_eq!(
            Packet::decode_text("abc"),
            Err(DecodeError::UnknownType('a'))
        );
        assert_eq!(Packet::decode_text("9"), Err(DecodeError::UnknownType('9')));
        assert_eq!(Packet::decode_text("0{}"), Err(DecodeError::UnexpectedOpen));
        assert_eq!(Packet::decode_text("b!!"), Err(DecodeError::Base64));
    }

    #[test]
    fn payload_round_trip_with_record_separator() {
        let packets = vec![
            text("hello"),
            Packet::Message(Data::from(vec![1u8, 2, 3, 4])),
        ];
        let body = encode_payload(&packets);
        assert_eq!(body, "4hello\x1ebAQIDBA==");
        assert_eq!(decode_payload(&body).unwrap(), packets);
    }

    #[test]
    fn payload_with_a_bad_record_fails() {
        assert_eq!(
            decode_payload("4hello\x1eabc"),
            Err(DecodeError::UnknownType('a'))
        );
        assert_eq!(decode_payload(""), Err(DecodeError::Empty));
    }
}
