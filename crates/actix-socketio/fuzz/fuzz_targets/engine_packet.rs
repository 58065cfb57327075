//! The Engine.IO codec: whatever a client sends as a text packet or a polling body must
//! decode without panicking, and whatever decodes must re-encode to text that decodes to
//! the same packet (what the server echoes or forwards keeps its meaning).
#![no_main]

use actix_socketio::engine::packet::{
    decode_payload, encode_payload, Data, Frame, Packet, RECORD_SEPARATOR,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // Any bytes can be a binary message: `b` + base64 must carry them unchanged.
    let binary = Packet::Message(Data::from(input.to_vec()));
    assert_eq!(Packet::decode_text(&binary.to_text()).as_ref(), Ok(&binary));
    assert_eq!(
        Packet::decode_text(&Packet::Outgoing(Frame::binary(input)).to_text()),
        Ok(binary)
    );

    // Both transports hand the codec text only (polling bodies and WebSocket text frames
    // are checked to be UTF-8 first).
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };

    // One packet, as a WebSocket text frame carries it.
    if let Ok(packet) = Packet::decode_text(text) {
        check_packet(&packet);
        let encoded = packet.to_text();
        assert_eq!(
            Packet::decode_text(&encoded).as_ref(),
            Ok(&packet),
            "{text:?}"
        );
        // Canonical after one round: encoding is a fixed point.
        assert_eq!(
            Packet::decode_text(&encoded).map(|p| p.to_text()),
            Ok(encoded)
        );
    }

    // A server text message is sent prefixed: the client gets exactly the text back.
    let outgoing = Packet::Outgoing(Frame::text(text));
    assert_eq!(
        Packet::decode_text(&outgoing.to_text()),
        Ok(Packet::Message(Data::from(text)))
    );

    // A polling body: records joined by \x1e, all or nothing.
    match decode_payload(text) {
        Ok(packets) => {
            assert_eq!(
                packets.len(),
                text.split(RECORD_SEPARATOR as char).count(),
                "one packet per record"
            );
            for packet in &packets {
                check_packet(packet);
            }
            let body = encode_payload(&packets);
            assert_eq!(decode_payload(&body).as_ref(), Ok(&packets), "{text:?}");
        }
        Err(err) => {
            // The first bad record is the reason, and it fails on its own too.
            let first_bad = text
                .split(RECORD_SEPARATOR as char)
                .find_map(|record| Packet::decode_text(record).err());
            assert_eq!(first_bad, Some(err));
        }
    }
});

/// The server's own packets never come out of the client decoder.
fn check_packet(packet: &Packet) {
    assert!(
        !matches!(packet, Packet::Open(_) | Packet::Outgoing(_)),
        "decoded {packet:?}"
    );
}
