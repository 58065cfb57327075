//! Encode → decode round trips of the Engine.IO and Socket.IO codecs, through the public
//! API only: every packet kind, arbitrary JSON (nested, unicode, numbers) and binary
//! attachments anywhere in the arguments; plus the exact wire strings the protocol
//! documents give.

use actix_socketio::engine::packet::{
    decode_payload, encode_payload, Data, DecodeError, Frame, OpenPacket, Packet as EnginePacket,
};
use actix_socketio::socket::packet::{
    decode_text, placeholder, Decoder, Packet, Payload, RESERVED_EVENTS,
};
use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------- Engine.IO

/// What the server may queue, and what a client may send.
fn engine_packet() -> impl Strategy<Value = EnginePacket> {
    prop_oneof![
        Just(EnginePacket::Close),
        Just(EnginePacket::Ping),
        Just(EnginePacket::PingProbe),
        Just(EnginePacket::Pong),
        Just(EnginePacket::PongProbe),
        Just(EnginePacket::Upgrade),
        Just(EnginePacket::Noop),
        any::<String>().prop_map(|s| EnginePacket::Message(Data::from(s))),
        any::<Vec<u8>>().prop_map(|b| EnginePacket::Message(Data::from(b))),
        any::<String>().prop_map(|s| EnginePacket::Outgoing(Frame::text(&s))),
        any::<Vec<u8>>().prop_map(|b| EnginePacket::Outgoing(Frame::binary(&b))),
    ]
}

/// The packet a peer decodes from the encoding of `packet`: a server's outgoing frame
/// arrives as a message.
fn as_received(packet: &EnginePacket) -> EnginePacket {
    match packet {
        EnginePacket::Outgoing(frame) => match frame.as_text() {
            Some(text) => EnginePacket::Message(Data::from(&text[1..])),
            None => EnginePacket::Message(Data::from(frame.payload().to_vec())),
        },
        other => other.clone(),
    }
}

/// A text message inside a polling payload cannot hold the record separator.
fn fits_a_payload(packet: &EnginePacket) -> bool {
    !packet.to_text().contains('\x1e')
}

proptest! {
    #[test]
    fn engine_packet_round_trip(packet in engine_packet()) {
        let text = packet.to_text();
        prop_assert_eq!(EnginePacket::decode_text(&text), Ok(as_received(&packet)));
    }

    #[test]
    fn engine_payload_round_trip(
        packets in prop::collection::vec(engine_packet().prop_filter("no \\x1e", fits_a_payload), 1..8)
    ) {
        let body = encode_payload(&packets);
        prop_assert_eq!(body.matches('\x1e').count(), packets.len() - 1);
        let expected: Vec<_> = packets.iter().map(as_received).collect();
        prop_assert_eq!(decode_payload(&body), Ok(expected));
    }

    #[test]
    fn engine_open_has_the_protocol_keys_in_order(
        sid in "[A-Za-z0-9_-]{20}",
        websocket in any::<bool>(),
        ping_interval in any::<u64>(),
        ping_timeout in any::<u64>(),
        max_payload in any::<u64>(),
    ) {
        let upgrades = if websocket { vec!["websocket"] } else { vec![] };
        let open = EnginePacket::Open(Box::new(OpenPacket {
            sid: sid.clone(),
            upgrades: upgrades.clone(),
            ping_interval,
            ping_timeout,
            max_payload,
        }));
        let text = open.to_text();
        let expected = json!({
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": ping_interval,
            "pingTimeout": ping_timeout,
            "maxPayload": max_payload,
        });
        prop_assert_eq!(&text, &format!("0{expected}"));
        // Only the server opens a session.
        prop_assert_eq!(EnginePacket::decode_text(&text), Err(DecodeError::UnexpectedOpen));
    }
}

/// The examples of the Engine.IO v4 protocol document.
#[test]
fn engine_wire_examples() {
    let open = EnginePacket::Open(Box::new(OpenPacket {
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
    let binary = EnginePacket::Message(Data::from(vec![1u8, 2, 3, 4]));
    let examples = [
        (EnginePacket::Close, "1"),
        (EnginePacket::Ping, "2"),
        (EnginePacket::PingProbe, "2probe"),
        (EnginePacket::Pong, "3"),
        (EnginePacket::PongProbe, "3probe"),
        (EnginePacket::Message(Data::from("hello")), "4hello"),
        (binary.clone(), "bAQIDBA=="),
        (EnginePacket::Upgrade, "5"),
        (EnginePacket::Noop, "6"),
    ];
    for (packet, text) in examples {
        assert_eq!(packet.to_text(), text);
        assert_eq!(EnginePacket::decode_text(text), Ok(packet));
    }
    let hello_euro = [
        EnginePacket::Message(Data::from("hello")),
        EnginePacket::Message(Data::from("€")),
    ];
    assert_eq!(encode_payload(&hello_euro), "4hello\x1e4€");
    assert_eq!(decode_payload("4hello\x1e4€").unwrap(), hello_euro);
    let euro_binary = [EnginePacket::Message(Data::from("€")), binary];
    assert_eq!(encode_payload(&euro_binary), "4€\x1ebAQIDBA==");
    assert_eq!(decode_payload("4€\x1ebAQIDBA==").unwrap(), euro_binary);
}

// ---------------------------------------------------------------- Socket.IO

/// Any JSON number: integers of both signs and the full range, and finite floats.
fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Binary fractions print with up to 17 digits, the case a parser can get one bit
        // wrong.
        (any::<i32>(), 0u32..31)
            .prop_map(|(m, e)| Value::from(f64::from(m) / f64::from(1u32 << e))),
        (prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO)
            .prop_map(Value::from),
    ]
}

/// Any JSON value: nested arrays and objects, unicode strings (control characters and
/// astral planes included), numbers.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            json_object(inner),
        ]
    })
}

fn json_object(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop::collection::vec((any::<String>(), values), 0..5)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>()))
}

/// The root namespace, or any other (a namespace ends at the first comma).
fn nsp() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[^,]{0,12}"]
}

fn event_name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("reserved", |name| !RESERVED_EVENTS.contains(&name.as_str()))
}

/// Arguments with `n` binary attachments whose placeholders sit anywhere: at any
/// position among the arguments, alone or nested in an array or an object.
fn payload(attachments: std::ops::Range<usize>) -> impl Strategy<Value = Payload> {
    (
        prop::collection::vec(json_value(), 0..5),
        prop::collection::vec((any::<Vec<u8>>(), any::<usize>(), 0u8..3), attachments),
    )
        .prop_map(|(mut args, binary)| {
            let mut payload = Payload::default();
            for (num, (bytes, at, nesting)) in binary.into_iter().enumerate() {
                let holder = placeholder(num);
                let arg = match nesting {
                    0 => holder,
                    1 => json!([holder]),
                    _ => json!({ "file": holder }),
                };
                args.insert(at % (args.len() + 1), arg);
                payload.binary.push(Bytes::from(bytes));
            }
            payload.args = args;
            payload
        })
}

fn socket_packet() -> impl Strategy<Value = Packet> {
    let connect_data = prop::option::of(json_object(json_value()));
    let connect_error_data = prop_oneof![
        json_object(json_value()),
        any::<String>().prop_map(Value::String)
    ];
    prop_oneof![
        (nsp(), connect_data).prop_map(|(nsp, data)| Packet::Connect { nsp, data }),
        nsp().prop_map(|nsp| Packet::Disconnect { nsp }),
        (
            nsp(),
            event_name(),
            payload(0..1),
            prop::option::of(any::<u64>())
        )
            .prop_map(|(nsp, event, payload, id)| Packet::Event {
                nsp,
                event,
                payload,
                id
            }),
        (nsp(), payload(0..1), any::<u64>()).prop_map(|(nsp, payload, id)| Packet::Ack {
            nsp,
            payload,
            id
        }),
        (nsp(), connect_error_data).prop_map(|(nsp, data)| Packet::ConnectError { nsp, data }),
        // BINARY_EVENT and BINARY_ACK.
        (
            nsp(),
            event_name(),
            payload(1..5),
            prop::option::of(any::<u64>())
        )
            .prop_map(|(nsp, event, payload, id)| Packet::Event {
                nsp,
                event,
                payload,
                id
            }),
        (nsp(), payload(1..5), any::<u64>()).prop_map(|(nsp, payload, id)| Packet::Ack {
            nsp,
            payload,
            id
        }),
    ]
}

/// Feeds the Engine.IO messages of an encoded packet to a fresh decoder, as a client's
/// would arrive: the text (without its Engine.IO `4`), then the attachments.
fn decode_frames(frames: &[Frame]) -> Result<Packet, TestCaseError> {
    let mut decoder = Decoder::default();
    let (first, attachments) = frames.split_first().expect("at least one frame");
    let Some(text) = first.as_text() else {
        return Err(TestCaseError::fail(format!("{first:?} first")));
    };
    let text = text.strip_prefix('4').expect("an Engine.IO message");
    let mut decoded = decoder.feed(Data::from(text));
    for frame in attachments {
        prop_assert_eq!(&decoded, &Ok(None), "complete before its attachments");
        if !frame.is_binary() {
            return Err(TestCaseError::fail(format!("{frame:?} as an attachment")));
        }
        decoded = decoder.feed(Data::from(frame.payload().to_vec()));
    }
    match decoded {
        Ok(Some(packet)) => Ok(packet),
        other => Err(TestCaseError::fail(format!(
            "{text:?} decoded to {other:?}"
        ))),
    }
}

fn attachments(packet: &Packet) -> usize {
    match packet {
        Packet::Event { payload, .. } | Packet::Ack { payload, .. } => payload.binary.len(),
        _ => 0,
    }
}

proptest! {
    #[test]
    fn socket_packet_round_trip(packet in socket_packet()) {
        let frames = packet.encode();
        prop_assert_eq!(frames.len(), 1 + attachments(&packet));
        prop_assert_eq!(decode_frames(&frames)?, packet.clone());

        // The header: type, then `<n>-` for a binary packet, then `<nsp>,` unless root.
        let text = packet.encode_text();
        let kind = match (&packet, attachments(&packet)) {
            (Packet::Connect { .. }, _) => "0",
            (Packet::Disconnect { .. }, _) => "1",
            (Packet::Event { .. }, 0) => "2",
            (Packet::Ack { .. }, 0) => "3",
            (Packet::ConnectError { .. }, _) => "4",
            (Packet::Event { .. }, _) => "5",
            (Packet::Ack { .. }, _) => "6",
        };
        let count = match attachments(&packet) {
            0 => String::new(),
            n => format!("{n}-"),
        };
        let nsp = match packet.nsp() {
            "/" => String::new(),
            nsp => format!("{nsp},"),
        };
        let header = format!("{kind}{count}{nsp}");
        prop_assert!(text.starts_with(&header), "{:?} does not start with {:?}", text, header);
        prop_assert_eq!(decode_text(&text).map(|(_, n)| n), Ok(attachments(&packet)));
    }
}

/// The examples of the Socket.IO v5 protocol document, both ways.
#[test]
fn socket_wire_examples() {
    let root = |data: Option<Value>| Packet::Connect {
        nsp: "/".into(),
        data,
    };
    let examples = [
        (root(None), "0"),
        (
            Packet::Connect {
                nsp: "/admin".into(),
                data: Some(json!({"token": "123"})),
            },
            r#"0/admin,{"token":"123"}"#,
        ),
        (
            root(Some(json!({"sid": "oSO0OpakMV_3jnilAAAA"}))),
            r#"0{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
        ),
        (
            Packet::ConnectError {
                nsp: "/".into(),
                data: json!({"message": "Not authorized"}),
            },
            r#"4{"message":"Not authorized"}"#,
        ),
        (
            Packet::Disconnect {
                nsp: "/admin".into(),
            },
            "1/admin,",
        ),
        (
            Packet::Event {
                nsp: "/".into(),
                event: "hello".into(),
                payload: Payload::new(vec![json!(1)]),
                id: None,
            },
            r#"2["hello",1]"#,
        ),
        (
            Packet::Event {
                nsp: "/admin".into(),
                event: "project:delete".into(),
                payload: Payload::new(vec![json!(123)]),
                id: Some(456),
            },
            r#"2/admin,456["project:delete",123]"#,
        ),
        (
            Packet::Ack {
                nsp: "/admin".into(),
                payload: Payload::new(vec![]),
                id: 456,
            },
            "3/admin,456[]",
        ),
    ];
    for (packet, text) in examples {
        assert_eq!(packet.encode_text(), text);
        assert_eq!(packet.encode(), vec![Frame::text(text)]);
        assert_eq!(decode_text(text), Ok((packet, 0)));
    }

    let mut hello = Payload::default();
    hello.push_binary(vec![1u8, 2, 3]);
    let event = Packet::Event {
        nsp: "/".into(),
        event: "hello".into(),
        payload: hello,
        id: None,
    };
    assert_eq!(
        event.encode(),
        vec![
            Frame::text(r#"51-["hello",{"_placeholder":true,"num":0}]"#),
            Frame::binary(&[1, 2, 3]),
        ]
    );
    let mut answer = Payload::default();
    answer.push_binary(vec![3u8, 2, 1]);
    let ack = Packet::Ack {
        nsp: "/admin".into(),
        payload: answer,
        id: 456,
    };
    assert_eq!(
        ack.encode(),
        vec![
            Frame::text(r#"61-/admin,456[{"_placeholder":true,"num":0}]"#),
            Frame::binary(&[3, 2, 1]),
        ]
    );
    for packet in [event, ack] {
        assert_eq!(decode_frames(&packet.encode()).unwrap(), packet);
    }
}
