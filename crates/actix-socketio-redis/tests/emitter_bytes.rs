//! The Emitter publishes what Node's emitter publishes: the calls the capture script
//! made with @socket.io/redis-emitter 5.1 (tests/js/cluster/capture.mjs), made here with
//! the Rust Emitter on the local Redis and caught by a PSUBSCRIBE spy, give the captured
//! bytes on the same channels.

use std::time::Duration;

use actix_socketio::socket::packet::placeholder;
use actix_socketio::Payload;
use actix_socketio_redis::subscriber::{Backoff, Event, Subscription};
use actix_socketio_redis::{Emitter, Error, Subscriber};
use bytes::Bytes;
use serde_json::{json, Value};

const FIXTURES: &str = include_str!("fixtures/node-wire.json");

fn captured(name: &str) -> (String, Vec<u8>) {
    let all: Value = serde_json::from_str(FIXTURES).unwrap();
    let record = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    let hex = record["hex"].as_str().unwrap();
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    (record["channel"].as_str().unwrap().to_owned(), bytes)
}

#[tokio::test]
async fn the_emitter_publishes_node_emitters_bytes() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let key = format!("test-emitter-bytes-{}", std::process::id());
    let client = redis::Client::open(url).unwrap();
    let (spy, mut events) = Subscriber::connect(&client, Backoff::default(), 64)
        .await
        .unwrap();
    spy.subscribe(vec![Subscription::Pattern(format!("{key}*"))])
        .await
        .unwrap();
    let emitter = Emitter::new(client.get_connection_manager().await.unwrap(), key.clone());

    let mut binary = Payload::new(Vec::new());
    binary.push_binary(Bytes::from_static(&[1, 2, 3]));
    binary.args.push(json!({"nested": placeholder(1)}));
    binary.binary.push(Bytes::from_static(&[4]));

    emitter.emit("hello", "world").await.unwrap();
    emitter.to("r1").emit("hello", 1).await.unwrap();
    emitter
        .to(["r1", "r2"])
        .except("r3")
        .volatile()
        .compress(false)
        .emit_payload(
            "hello",
            Payload::new(vec![json!({"a": 1}), json!([true, null])]),
        )
        .await
        .unwrap();
    emitter.emit_payload("bin", binary).await.unwrap();
    emitter.of("custom").emit("hi", 1).await.unwrap();
    emitter.in_("r1").sockets_join("r5").await.unwrap();
    emitter.sockets_join(["r6", "r7"]).await.unwrap();
    emitter
        .in_("r1")
        .except("r2")
        .sockets_leave("r5")
        .await
        .unwrap();
    emitter
        .in_("nobody")
        .disconnect_sockets(true)
        .await
        .unwrap();
    emitter
        .server_side_emit_payload("note", Payload::new(vec![json!(1), json!({"two": 2})]))
        .await
        .unwrap();

    for name in [
        "emitter.broadcast.all",
        "emitter.broadcast.room",
        "emitter.broadcast.rooms_except_flags",
        "emitter.broadcast.binary",
        "emitter.broadcast.namespace",
        "emitter.request.join",
        "emitter.request.join_all",
        "emitter.request.leave",
        "emitter.request.disconnect",
        "emitter.request.server_side_emit",
    ] {
        let (channel, bytes) = captured(name);
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("a message in time");
        let Some(Event::Message(message)) = event else {
            panic!("{name}: {event:?}")
        };
        assert_eq!(
            message.channel,
            channel.replacen("fixture", &key, 1),
            "{name}"
        );
        assert_eq!(message.payload.to_vec(), bytes, "{name}");
    }

    // Node's emitter throws for these; ours returns the error and publishes nothing.
    for result in [
        emitter.emit("connect", 1).await,
        emitter.to("r1").emit("disconnecting", 1).await,
        emitter.server_side_emit("newListener", 1).await,
    ] {
        assert!(matches!(result, Err(Error::ReservedEvent(_))), "{result:?}");
    }
    let quiet = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
    assert!(quiet.is_err(), "published {quiet:?}");
}
