//! Properties of the codecs over generated input: any bytes decode to a value or an
//! error, never a panic; any JSON value with any attachments survives msgpack in both
//! flavours, and JSON text reads back as the same value.

use actix_socketio::socket::packet::placeholder;
use actix_socketio_redis::wire::{
    json, msgpack, Broadcast, ClusterMessage, Request, Response, Session,
};
use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// JSON values as a JavaScript peer can hold them: safe integers, finite non-integral
/// floats (an integral one is an integer to JavaScript), strings, arrays, maps.
fn js_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(Value::from),
        prop_oneof![-1e9f64..1e9, -1e-9f64..1e-9]
            .prop_filter("non-integral", |v| v.fract() != 0.0)
            .prop_map(|v| Value::Number(Number::from_f64(v).unwrap())),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..20).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{0,8}", inner), 0..20)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..200)) {
        let bytes = Bytes::from(input);
        let _ = msgpack::decode(&bytes);
        let _ = Broadcast::decode(&bytes);
        let _ = Request::decode(&bytes);
        let _ = Response::decode(&bytes);
        let _ = ClusterMessage::decode_sharded(&bytes);
        let _ = ClusterMessage::decode_msgpack(&bytes);
        let _ = Session::decode(&bytes);
        let _ = ClusterMessage::from_stream_fields([("type", &bytes[..]), ("nsp", b"/"), ("data", &bytes[..])]);
    }

    #[test]
    fn values_and_attachments_survive_msgpack(
        value in js_value(),
        attachments in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..4),
    ) {
        // The value, then each attachment as a placeholder after it.
        let binary: Vec<Bytes> = attachments.into_iter().map(Bytes::from).collect();
        let mut items = vec![value];
        items.extend((0..binary.len()).map(placeholder));
        let whole = Value::Array(items);
        for flavor in [msgpack::Flavor::Notepack, msgpack::Flavor::MsgpackJs] {
            let bytes = Bytes::from(msgpack::encode(&whole, &binary, flavor));
            let decoded = msgpack::decode(&bytes).unwrap();
            prop_assert_eq!(&decoded.value, &whole);
            prop_assert_eq!(&decoded.binary, &binary);
        }
    }

    #[test]
    fn json_text_reads_back(value in js_value()) {
        let text = json::to_string(&value, &[]);
        prop_assert_eq!(json::parse(text.as_bytes()).unwrap(), value);
    }
}
