//! The Socket.IO codec and the reassembly of binary packets.
//!
//! The input is a sequence of Engine.IO messages joined by \x1e: one that starts with `b`
//! is a binary message (the bytes after the `b`), any other is a text message. They are
//! fed to a `Decoder` and checked against a model of the protocol: text while attachments
//! are pending and binary with none pending are refused, a packet announcing N attachments
//! completes on exactly the Nth binary message. Every complete packet must re-encode to
//! messages that decode to the same packet.
#![no_main]

use actix_socketio::engine::packet::{Data, RECORD_SEPARATOR};
use actix_socketio::socket::packet::{
    decode_text, Decoder, Packet, ParseError, DEFAULT_MAX_ATTACHMENTS, RESERVED_EVENTS,
};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// A binary packet waiting for its attachments, as the model sees it.
struct Partial {
    packet: Packet,
    missing: usize,
    received: Vec<Bytes>,
}

fuzz_target!(|input: &[u8]| {
    let mut decoder = Decoder::default();
    let mut partial: Option<Partial> = None;
    for message in input.split(|&b| b == RECORD_SEPARATOR) {
        let result;
        match message.split_first() {
            Some((b'b', bytes)) => {
                let bytes = Bytes::copy_from_slice(bytes);
                result = decoder.feed(Data::Binary(bytes.clone()));
                let Some(mut p) = partial.take() else {
                    assert_eq!(result, Err(ParseError::UnexpectedBinary));
                    decoder = Decoder::default();
                    continue;
                };
                p.missing -= 1;
                p.received.push(bytes);
                if p.missing > 0 {
                    assert_eq!(result, Ok(None));
                    partial = Some(p);
                    continue;
                }
                let mut expected = p.packet;
                if let Packet::Event { payload, .. } | Packet::Ack { payload, .. } = &mut expected {
                    payload.binary = p.received;
                } else {
                    panic!("attachments announced by {expected:?}");
                }
                assert_eq!(result.as_ref(), Ok(&Some(expected)));
            }
            _ => {
                let text = String::from_utf8_lossy(message);
                result = decoder.feed(Data::from(text.as_ref()));
                if partial.is_some() {
                    // The connection is closed: a fresh one starts with a fresh decoder.
                    assert_eq!(result, Err(ParseError::AttachmentsPending));
                    decoder = Decoder::default();
                    partial = None;
                    continue;
                }
                match decode_text(&text) {
                    Err(err) => {
                        assert_eq!(result, Err(err));
                        decoder = Decoder::default();
                        continue;
                    }
                    Ok((packet, 0)) => assert_eq!(result.as_ref(), Ok(&Some(packet))),
                    Ok((packet, missing)) => {
                        // The decoder bounds the count and checks the placeholders
                        // before it holds anything.
                        let refusal = if missing > DEFAULT_MAX_ATTACHMENTS {
                            Some(ParseError::TooManyAttachments)
                        } else if !placeholders_valid(&packet, missing) {
                            Some(ParseError::IllegalAttachments)
                        } else {
                            None
                        };
                        if let Some(refusal) = refusal {
                            assert_eq!(result, Err(refusal));
                            decoder = Decoder::default();
                            continue;
                        }
                        assert_eq!(result, Ok(None));
                        assert!(matches!(packet, Packet::Event { .. } | Packet::Ack { .. }));
                        partial = Some(Partial {
                            packet,
                            missing,
                            received: Vec::new(),
                        });
                        continue;
                    }
                }
            }
        }
        if let Ok(Some(packet)) = result {
            check_packet(&packet);
            round_trip(&packet);
        }
    }
});

/// Whether every placeholder of the packet's arguments names one of its `attachments`, as
/// socket.io-parser requires: `{"_placeholder":true,"num":n}` with an integer `n` below
/// the count.
fn placeholders_valid(packet: &Packet, attachments: usize) -> bool {
    fn valid(value: &Value, attachments: usize) -> bool {
        match value {
            Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => map
                .get("num")
                .and_then(Value::as_u64)
                .is_some_and(|num| num < attachments as u64),
            Value::Object(map) => map.values().all(|v| valid(v, attachments)),
            Value::Array(items) => items.iter().all(|v| valid(v, attachments)),
            _ => true,
        }
    }
    match packet {
        Packet::Event { payload, .. } | Packet::Ack { payload, .. } => {
            payload.args.iter().all(|arg| valid(arg, attachments))
        }
        _ => true,
    }
}

fn check_packet(packet: &Packet) {
    assert!(packet.nsp().starts_with('/'), "{packet:?}");
    assert!(!packet.nsp().contains(','), "{packet:?}");
    if let Packet::Event { event, .. } = packet {
        assert!(!RESERVED_EVENTS.contains(&event.as_str()), "{packet:?}");
    }
}

/// Encodes the packet as the server would send it, and decodes that as a client message.
fn round_trip(packet: &Packet) {
    let frames = packet.encode();
    let Some((first, attachments)) = frames.split_first() else {
        panic!("no frame: {frames:?}");
    };
    let first = first
        .as_text()
        .unwrap_or_else(|| panic!("no text frame first: {frames:?}"));
    let text = first
        .strip_prefix('4')
        .expect("an Engine.IO message packet");
    assert_eq!(text, packet.encode_text());
    let binary = match packet {
        Packet::Event { payload, .. } | Packet::Ack { payload, .. } => &payload.binary[..],
        _ => &[],
    };
    assert_eq!(attachments.len(), binary.len());

    let mut decoder = Decoder::default();
    let mut decoded = decoder.feed(Data::from(text));
    for (frame, bytes) in attachments.iter().zip(binary) {
        assert_eq!(decoded, Ok(None), "{text:?}");
        assert!(frame.is_binary(), "attachment not binary: {frame:?}");
        assert_eq!(frame.payload(), &bytes[..]);
        decoded = decoder.feed(Data::Binary(bytes::Bytes::copy_from_slice(frame.payload())));
    }
    assert_eq!(decoded.as_ref(), Ok(&Some(packet.clone())), "{text:?}");
}
