//! The adapters' message handling, sans-IO: a namespace double stands for the sockets,
//! the outbox's queue for Redis. Messages are the bytes Node's adapters and emitter
//! published (tests/fixtures/node-wire.json, captured by tests/js/cluster/capture.mjs);
//! what the adapters publish back is compared with what Node's nodes answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use actix_socketio::engine::Frame;
use actix_socketio::socket::adapter::{
    AckStream, Adapter, BroadcastFlags, BroadcastOptions, ServerEvent, SocketEmitter, Targets,
};
use actix_socketio::socket::handshake::HandshakeInfo;
use actix_socketio::socket::packet::{placeholder, Packet};
use actix_socketio::socket::{Room, Sid};
use actix_socketio::{Error as SioError, Payload};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{ClassicAdapter, ShardedAdapter};
use crate::config::{RedisConfig, SubscriptionMode};
use crate::links::{Links, Receiver, Router};
use crate::publisher::{Outbox, Outgoing, Queue};
use crate::subscriber::{Message, Subscription};

const FIXTURES: &str = include_str!("../../tests/fixtures/node-wire.json");

/// A captured message: its channel and bytes.
fn fixture(name: &str) -> (String, Vec<u8>) {
    let all: Value = serde_json::from_str(FIXTURES).expect("fixtures parse");
    let record = all["records"]
        .as_array()
        .and_then(|records| records.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no fixture {name}"));
    let hex = record["hex"].as_str().expect("a hex fixture");
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    (
        record["channel"].as_str().expect("a channel").to_owned(),
        bytes,
    )
}

/// `bytes` with every `from` replaced by `to` (same length: a uid or a request id).
fn replaced(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "{from} -> {to}");
    let mut out = bytes.to_vec();
    let from = from.as_bytes();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to.as_bytes());
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Ids of the double's sockets: 20 characters, as the library's.
const A: &str = "AAAAAAAAAAAAAAAAAAAA";
const B: &str = "BBBBBBBBBBBBBBBBBBBB";
const C: &str = "CCCCCCCCCCCCCCCCCCCC";

/// What one `send` delivered: the packet's text, its frame count, the receivers (sorted)
/// and whether it was volatile.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    text: String,
    frames: usize,
    to: Vec<String>,
    volatile: bool,
}

/// The namespace side of the adapter boundary, recording what the adapter asks of it.
#[derive(Default)]
struct Namespace {
    nsp: String,
    sockets: Mutex<Vec<Sid>>,
    adapter: OnceLock<Weak<dyn Adapter>>,
    sent: Mutex<Vec<Sent>>,
    /// Each socket's ack to an event sent with an ack; a socket without one times out.
    answers: Mutex<HashMap<String, Payload>>,
    disconnected: Mutex<Vec<(String, bool)>>,
    events: Mutex<Vec<ServerEvent>>,
    recovery: Option<actix_socketio::RecoveryConfig>,
}

impl Namespace {
    fn new(nsp: &str) -> Arc<Namespace> {
        Arc::new(Namespace {
            nsp: nsp.into(),
            ..Namespace::default()
        })
    }

    fn adapter(&self) -> Arc<dyn Adapter> {
        self.adapter
            .get()
            .and_then(Weak::upgrade)
            .expect("the adapter is alive")
    }

    /// A socket joins the namespace (its own room), then `rooms`.
    fn connect(&self, sid: &str, rooms: &[&str]) {
        let sid: Sid = Arc::from(sid);
        self.sockets.lock().unwrap().push(sid.clone());
        let adapter = self.adapter();
        adapter.add_all(&sid, &[sid.to_string()]);
        let rooms: Vec<Room> = rooms.iter().map(|r| (*r).to_owned()).collect();
        adapter.add_all(&sid, &rooms);
    }

    fn answer(&self, sid: &str, payload: Payload) {
        self.answers.lock().unwrap().insert(sid.into(), payload);
    }

    fn resolve(&self, targets: Targets<'_>) -> Vec<Sid> {
        let sockets = self.sockets.lock().unwrap();
        let mut ids: Vec<Sid> = match targets {
            Targets::AllExcept(excluded) => sockets
                .iter()
                .filter(|sid| !excluded.contains(sid))
                .cloned()
                .collect(),
            Targets::Only(ids) => ids
                .iter()
                .filter(|id| sockets.contains(id))
                .cloned()
                .collect(),
        };
        ids.sort();
        ids
    }

    fn take_sent(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }

    fn rooms_of(&self, sid: &str) -> Vec<Room> {
        let mut rooms = self.adapter().socket_rooms(sid);
        rooms.sort();
        rooms
    }
}

impl SocketEmitter for Namespace {
    fn nsp(&self) -> &str {
        &self.nsp
    }

    fn send(
        &self,
        targets: Targets<'_>,
        packet: &Packet,
        frames: &[Frame],
        flags: BroadcastFlags,
    ) -> usize {
        let to = self.resolve(targets);
        let count = to.len();
        self.sent.lock().unwrap().push(Sent {
            text: packet.encode_text(),
            frames: frames.len(),
            to: to.iter().map(|sid| sid.to_string()).collect(),
            volatile: flags.volatile,
        });
        count
    }

    fn send_with_ack(&self, targets: Targets<'_>, packet: &Packet, _: Duration) -> AckStream {
        let to = self.resolve(targets);
        self.sent.lock().unwrap().push(Sent {
            text: packet.encode_text(),
            frames: packet.encode().len(),
            to: to.iter().map(|sid| sid.to_string()).collect(),
            volatile: false,
        });
        let answers = self.answers.lock().unwrap();
        let results: Vec<_> = to
            .iter()
            .map(|sid| {
                let answer = answers.get(&**sid).cloned().ok_or(SioError::Timeout);
                (sid.clone(), answer)
            })
            .collect();
        AckStream::new(results.len(), stream::iter(results).boxed())
    }

    fn join(&self, sid: &str, rooms: &[Room]) -> Result<(), SioError> {
        let sid = self
            .sockets
            .lock()
            .unwrap()
            .iter()
            .find(|s| ***s == *sid)
            .cloned();
        if let Some(sid) = sid {
            self.adapter().add_all(&sid, rooms);
        }
        Ok(())
    }

    fn leave(&self, sid: &str, rooms: &[Room]) {
        self.adapter().del(sid, rooms);
    }

    fn disconnect(&self, sid: &str, close: bool) {
        self.disconnected.lock().unwrap().push((sid.into(), close));
        self.sockets.lock().unwrap().retain(|s| **s != *sid);
        self.adapter().del_all(sid);
    }

    fn describe(&self, sid: &str) -> Option<(HandshakeInfo, Value)> {
        let known = self.sockets.lock().unwrap().iter().any(|s| **s == *sid);
        known.then(|| {
            (
                HandshakeInfo {
                    headers: json!({"host": "127.0.0.1:3000"}),
                    time: "Tue Dec 01 2026 20:34:06 GMT+0000 (Coordinated Universal Time)".into(),
                    address: "127.0.0.1".into(),
                    xdomain: false,
                    secure: false,
                    issued: 1_796_157_246_701,
                    url: "/socket.io/?EIO=4&transport=websocket".into(),
                    query: json!({"EIO": "4", "transport": "websocket"}),
                    auth: json!({}),
                },
                json!({"name": sid.chars().next().map(String::from)}),
            )
        })
    }

    fn server_event(&self, event: ServerEvent) {
        self.events.lock().unwrap().push(event);
    }

    fn recovery(&self) -> Option<&actix_socketio::RecoveryConfig> {
        self.recovery.as_ref()
    }
}

/// What an adapter publishes, seen from Redis.
struct Wire {
    queue: Queue,
    changes: mpsc::UnboundedReceiver<(Vec<Subscription>, bool)>,
}

#[derive(Debug, PartialEq)]
struct Published {
    shard: bool,
    channel: String,
    payload: Vec<u8>,
}

impl Wire {
    /// Everything published so far (counts are not expected here).
    fn published(&mut self) -> Vec<Published> {
        let mut all = Vec::new();
        while let Some(message) = self.queue.try_next() {
            match message {
                Outgoing::Publish {
                    shard,
                    channel,
                    payload,
                } => all.push(Published {
                    shard,
                    channel,
                    payload,
                }),
                Outgoing::Count { channel, .. } => panic!("unexpected count of {channel}"),
                Outgoing::Command { command, .. } => panic!("unexpected command {command:?}"),
            }
        }
        all
    }

    /// The next publish, waiting for it (answers are published by tasks).
    async fn next_published(&mut self) -> Published {
        match tokio::time::timeout(Duration::from_secs(2), self.queue.next()).await {
            Ok(Some(Outgoing::Publish {
                shard,
                channel,
                payload,
            })) => Published {
                shard,
                channel,
                payload,
            },
            other => panic!("expected a publish, got {other:?}"),
        }
    }

    /// Answers the next server count with `count`; returns what was counted.
    async fn count(&mut self, count: usize) -> (bool, String) {
        match tokio::time::timeout(Duration::from_secs(2), self.queue.next()).await {
            Ok(Some(Outgoing::Count {
                shard,
                channel,
                reply,
            })) => {
                let _ = reply.send(Ok(count));
                (shard, channel)
            }
            other => panic!("expected a count, got {other:?}"),
        }
    }

    fn changes(&mut self) -> Vec<(Vec<Subscription>, bool)> {
        let mut all = Vec::new();
        while let Ok(change) = self.changes.try_recv() {
            all.push(change);
        }
        all
    }
}

fn links(config: RedisConfig) -> (Links, Wire) {
    let (outbox, queue) = Outbox::channel(256, 1 << 20);
    let (tx, changes) = mpsc::unbounded_channel();
    let router = Router::new(Arc::new(move |subscriptions, subscribe| {
        let _ = tx.send((subscriptions, subscribe));
    }));
    let links = Links {
        outbox,
        router: Arc::new(router),
        config: Arc::new(config),
    };
    (links, Wire { queue, changes })
}

fn quick(mut config: RedisConfig) -> RedisConfig {
    config.requests_timeout = Duration::from_millis(200);
    config
}

fn classic_with(config: RedisConfig) -> (Arc<ClassicAdapter>, Arc<Namespace>, Wire) {
    let ns = Namespace::new("/");
    let (links, wire) = links(config);
    let adapter = ClassicAdapter::new(ns.clone(), links);
    let weak: Weak<dyn Adapter> = Arc::downgrade(&adapter) as Weak<dyn Adapter>;
    let _ = ns.adapter.set(weak);
    (adapter, ns, wire)
}

fn classic() -> (Arc<ClassicAdapter>, Arc<Namespace>, Wire) {
    classic_with(quick(RedisConfig::classic("fixture")))
}

fn sharded(mode: SubscriptionMode) -> (Arc<ShardedAdapter>, Arc<Namespace>, Wire) {
    let ns = Namespace::new("/");
    let (links, wire) = links(quick(RedisConfig::sharded("fixture-sharded", mode)));
    let adapter = ShardedAdapter::new(ns.clone(), links, mode);
    let weak: Weak<dyn Adapter> = Arc::downgrade(&adapter) as Weak<dyn Adapter>;
    let _ = ns.adapter.set(weak);
    (adapter, ns, wire)
}

/// A message as the subscriber hands it over.
fn message(subscription: Subscription, channel: &str, payload: Vec<u8>) -> Message {
    Message {
        subscription,
        channel: channel.to_owned(),
        payload: Bytes::from(payload),
    }
}

fn broadcast_on(channel: &str, payload: Vec<u8>) -> Message {
    message(
        Subscription::Pattern("fixture#/#*".into()),
        channel,
        payload,
    )
}

fn request(payload: Vec<u8>) -> Message {
    message(
        Subscription::Channel("fixture-request#/#".into()),
        "fixture-request#/#",
        payload,
    )
}

fn response(payload: Vec<u8>) -> Message {
    message(
        Subscription::Channel("fixture-response#/#".into()),
        "fixture-response#/#",
        payload,
    )
}

fn shard(channel: &str, payload: Vec<u8>) -> Message {
    message(Subscription::Shard(channel.into()), channel, payload)
}

fn sent(text: &str, frames: usize, to: &[&str], volatile: bool) -> Sent {
    Sent {
        text: text.into(),
        frames,
        to: to.iter().map(|s| (*s).to_owned()).collect(),
        volatile,
    }
}

fn text(payload: &[u8]) -> &str {
    std::str::from_utf8(payload).expect("JSON text")
}

/// The value of `"requestId"` in JSON text.
/// Node's captured bytes `name` with `from` (an id in the capture) replaced by `to`.
fn fixture_with(name: &str, from: &str, to: &str) -> Vec<u8> {
    replaced(&fixture(name).1, from, to)
}

/// Checks that `payload` is Node's captured request `name` but for the requester's uid
/// and the request id (`fixture_id` in the capture), and returns the id.
fn as_node_request(payload: &[u8], name: &str, fixture_id: &str, uid: &str) -> String {
    let id = json_request_id(payload);
    assert_eq!(
        payload,
        replaced(&fixture_with(name, NODE_C, uid), fixture_id, &id)
    );
    id
}

fn json_request_id(payload: &[u8]) -> String {
    let value: Value = serde_json::from_slice(payload).expect("JSON");
    value["requestId"]
        .as_str()
        .or_else(|| value["data"]["requestId"].as_str())
        .expect("a requestId")
        .to_owned()
}

// ---------------------------------------------------------------- classic

#[tokio::test]
async fn classic_subscribes_as_node_does() {
    let (adapter, _ns, mut wire) = classic();
    let uid = adapter.uid().to_owned();
    assert_eq!(uid.len(), 6);
    assert!(uid.bytes().all(|b| b.is_ascii_alphanumeric()), "{uid}");
    assert_eq!(
        wire.changes(),
        [(
            vec![
                Subscription::Pattern("fixture#/#*".into()),
                Subscription::Channel("fixture-request#/#".into()),
                Subscription::Channel("fixture-response#/#".into()),
                Subscription::Channel(format!("fixture-response#/#{uid}#")),
            ],
            true
        )]
    );
    adapter.close().await;
    assert_eq!(wire.changes().len(), 1);
    assert_eq!(wire.changes(), []);
}

#[tokio::test]
async fn classic_delivers_node_broadcasts_to_the_sockets_they_select() {
    let (adapter, ns, _wire) = classic();
    ns.connect(A, &[]);
    ns.connect(B, &["r1"]);
    ns.connect(C, &["r1", "r3"]);

    for name in ["classic.broadcast.all", "emitter.broadcast.all"] {
        let (channel, bytes) = fixture(name);
        adapter.receive(&broadcast_on(&channel, bytes));
        assert_eq!(
            ns.take_sent(),
            [sent(r#"2["hello","world"]"#, 1, &[A, B, C], false)],
            "{name}"
        );
    }
    for name in ["classic.broadcast.room", "emitter.broadcast.room"] {
        let (channel, bytes) = fixture(name);
        assert_eq!(channel, "fixture#/#r1#");
        adapter.receive(&broadcast_on(&channel, bytes.clone()));
        assert_eq!(
            ns.take_sent(),
            [sent(r#"2["hello",1]"#, 1, &[B, C], false)],
            "{name}"
        );
        // On the channel of a room nobody here is in, it is dropped unread.
        adapter.receive(&broadcast_on("fixture#/#r9#", bytes));
        assert_eq!(ns.take_sent(), [], "{name}");
    }
    for name in [
        "classic.broadcast.rooms_except_flags",
        "emitter.broadcast.rooms_except_flags",
    ] {
        let (channel, bytes) = fixture(name);
        adapter.receive(&broadcast_on(&channel, bytes));
        // r1 or r2, but not r3: B only; volatile.
        assert_eq!(
            ns.take_sent(),
            [sent(r#"2["hello",{"a":1},[true,null]]"#, 1, &[B], true)],
            "{name}"
        );
    }
    let (channel, bytes) = fixture("classic.broadcast.binary");
    adapter.receive(&broadcast_on(&channel, bytes));
    assert_eq!(
        ns.take_sent(),
        [sent(
            r#"54-["bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1},"list":[{"_placeholder":true,"num":2}]},{"_placeholder":true,"num":3}]"#,
            5,
            &[A, B, C],
            false
        )]
    );
    let (channel, bytes) = fixture("emitter.broadcast.binary");
    adapter.receive(&broadcast_on(&channel, bytes));
    assert_eq!(
        ns.take_sent(),
        [sent(
            r#"52-["bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]"#,
            3,
            &[A, B, C],
            false
        )]
    );
    // Another namespace's, on its own channel: not this adapter's.
    for name in ["classic.broadcast.namespace", "emitter.broadcast.namespace"] {
        let (channel, bytes) = fixture(name);
        adapter.receive(&broadcast_on(&channel, bytes));
        assert_eq!(ns.take_sent(), [], "{name}");
    }
    // Its own broadcast comes back through the pattern and is dropped.
    let (channel, bytes) = fixture("classic.broadcast.all");
    adapter.receive(&broadcast_on(
        &channel,
        replaced(&bytes, "VXwzB8", adapter.uid()),
    ));
    assert_eq!(ns.take_sent(), []);
}

#[tokio::test]
async fn classic_publishes_node_broadcast_bytes() {
    let (adapter, ns, mut wire) = classic();
    ns.connect(A, &["r1"]);
    let uid = adapter.uid().to_owned();
    let event = |name: &str, args: Vec<Value>| Packet::Event {
        nsp: "/".into(),
        event: name.into(),
        payload: Payload::new(args),
        id: None,
    };

    adapter
        .broadcast(
            event("hello", vec![json!("world")]),
            BroadcastOptions::default(),
        )
        .unwrap();
    adapter
        .broadcast(
            event("hello", vec![json!(1)]),
            BroadcastOptions {
                rooms: vec!["r1".into()],
                ..BroadcastOptions::default()
            },
        )
        .unwrap();
    let mut binary = Payload::default();
    binary.push_binary(vec![1u8, 2, 3]);
    binary
        .args
        .push(json!({"nested": placeholder(1), "list": [placeholder(2)]}));
    binary.binary.push(Bytes::from_static(&[4]));
    binary.binary.push(Bytes::from(vec![7u8; 300]));
    binary.push_binary(vec![5u8, 6]);
    adapter
        .broadcast(
            Packet::Event {
                nsp: "/".into(),
                event: "bin".into(),
                payload: binary,
                id: None,
            },
            BroadcastOptions::default(),
        )
        .unwrap();
    // Local only: delivered, never published.
    adapter
        .broadcast(
            event("quiet", vec![]),
            BroadcastOptions {
                flags: BroadcastFlags {
                    local: true,
                    ..BroadcastFlags::default()
                },
                ..BroadcastOptions::default()
            },
        )
        .unwrap();

    let expected: Vec<Published> = [
        "classic.broadcast.all",
        "classic.broadcast.room",
        "classic.broadcast.binary",
    ]
    .iter()
    .map(|name| {
        let (channel, bytes) = fixture(name);
        Published {
            shard: false,
            channel,
            payload: replaced(&bytes, "VXwzB8", &uid),
        }
    })
    .collect();
    assert_eq!(wire.published(), expected);
    assert_eq!(
        ns.take_sent().len(),
        4,
        "every broadcast is delivered here too"
    );
}

#[tokio::test]
async fn classic_applies_remote_joins_leaves_and_disconnects() {
    let (adapter, ns, mut wire) = classic();
    ns.connect(A, &["r1"]);
    ns.connect(B, &["r1", "r9"]);
    ns.connect(C, &[]);

    adapter.receive(&request(fixture("classic.request.join").1));
    assert_eq!(ns.rooms_of(A), [A, "r1", "r4"]);
    assert_eq!(ns.rooms_of(B), [B, "r1", "r4", "r9"]);
    assert_eq!(ns.rooms_of(C), [C]);
    // Leave r4 for sockets in r1 but not r9.
    adapter.receive(&request(fixture("classic.request.leave").1));
    assert_eq!(ns.rooms_of(A), [A, "r1"]);
    assert_eq!(ns.rooms_of(B), [B, "r1", "r4", "r9"]);
    // The emitter's forms, without uid: r5 for r1, then r6 and r7 for everyone.
    adapter.receive(&request(fixture("emitter.request.join").1));
    adapter.receive(&request(fixture("emitter.request.join_all").1));
    assert_eq!(ns.rooms_of(A), [A, "r1", "r5", "r6", "r7"]);
    assert_eq!(ns.rooms_of(C), [C, "r6", "r7"]);
    adapter.receive(&request(fixture("emitter.request.leave").1));
    assert_eq!(ns.rooms_of(A), [A, "r1", "r6", "r7"]);
    // Disconnect the sockets of a room nobody is in: nobody.
    adapter.receive(&request(fixture("classic.request.disconnect").1));
    assert_eq!(*ns.disconnected.lock().unwrap(), []);
    let everyone = br#"{"uid":"VXwzB8","type":4,"opts":{"rooms":["r9"],"except":[]},"close":true}"#;
    adapter.receive(&request(everyone.to_vec()));
    assert_eq!(*ns.disconnected.lock().unwrap(), [(B.to_owned(), true)]);
    // None of these is answered.
    assert_eq!(wire.published(), []);
}

#[tokio::test]
async fn classic_applies_its_own_room_changes_once() {
    let (adapter, ns, mut wire) = classic();
    ns.connect(A, &["r1"]);
    let in_r1 = BroadcastOptions {
        rooms: vec!["r1".into()],
        ..BroadcastOptions::default()
    };
    adapter
        .add_sockets(in_r1.clone(), vec!["r4".into()])
        .await
        .unwrap();
    assert_eq!(ns.rooms_of(A), [A, "r1", "r4"]);
    let published = wire.published();
    let uid = adapter.uid().to_owned();
    assert_eq!(
        published,
        [Published {
            shard: false,
            channel: "fixture-request#/#".into(),
            payload: fixture_with("classic.request.join", "VXwzB8", &uid),
        }]
    );
    // Its echo is skipped: A leaves r4, and the echo does not put it back.
    adapter.del_sockets(in_r1, vec!["r4".into()]).await.unwrap();
    assert_eq!(ns.rooms_of(A), [A, "r1"]);
    adapter.receive(&request(published[0].payload.clone()));
    assert_eq!(ns.rooms_of(A), [A, "r1"]);
}

#[tokio::test]
async fn classic_answers_fetch_and_all_rooms_as_node() {
    let (adapter, ns, mut wire) = classic();
    ns.connect(A, &["r1"]);
    ns.connect(B, &[]);

    adapter.receive(&request(fixture("classic.request.fetch").1));
    let answer = wire.published();
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].channel, "fixture-response#/#");
    assert_eq!(
        text(&answer[0].payload),
        concat!(
            r#"{"requestId":"X5D7kL","sockets":[{"id":"AAAAAAAAAAAAAAAAAAAA","handshake":"#,
            r#"{"headers":{"host":"127.0.0.1:3000"},"#,
            r#""time":"Tue Dec 01 2026 20:34:06 GMT+0000 (Coordinated Universal Time)","#,
            r#""address":"127.0.0.1","xdomain":false,"secure":false,"issued":1796157246701,"#,
            r#""url":"/socket.io/?EIO=4&transport=websocket","#,
            r#""query":{"EIO":"4","transport":"websocket"},"auth":{}},"#,
            r#""rooms":["AAAAAAAAAAAAAAAAAAAA","r1"],"data":{"name":"A"}}]}"#
        )
    );

    adapter.receive(&request(fixture("classic.request.all_rooms").1));
    let answer = wire.published();
    let value: Value = serde_json::from_slice(&answer[0].payload).unwrap();
    let mut rooms: Vec<String> = serde_json::from_value(value["rooms"].clone()).unwrap();
    rooms.sort();
    assert_eq!(value["requestId"], "YyNrrg");
    assert_eq!(rooms, [A, B, "r1"]);

    // Type 0, which 8.x no longer sends, is answered too.
    adapter.receive(&request(fixture("classic.legacy.sockets.request").1));
    assert_eq!(
        text(&wire.published()[0].payload),
        r#"{"requestId":"req000","sockets":["AAAAAAAAAAAAAAAAAAAA"]}"#
    );
}

#[tokio::test]
async fn classic_answers_on_the_requesters_channel_when_configured() {
    let mut config = quick(RedisConfig::classic("fixture"));
    config.publish_on_specific_response_channel = true;
    let (adapter, ns, mut wire) = classic_with(config);
    ns.connect(A, &["r1"]);
    adapter.receive(&request(fixture("classic.request.fetch").1));
    assert_eq!(wire.published()[0].channel, "fixture-response#/#VXwzB8#");
    // Server-side emit acks always take the common channel, as Node's do.
    adapter.receive(&request(fixture("classic.request.server_side_emit_ack").1));
    let mut event = ns.events.lock().unwrap().pop().expect("the event");
    event.ack("pong:x").unwrap();
    assert_eq!(wire.published()[0].channel, "fixture-response#/#");
}

#[tokio::test]
async fn classic_hands_server_side_events_to_the_namespace() {
    let (adapter, ns, mut wire) = classic();
    adapter.receive(&request(fixture("classic.request.server_side_emit").1));
    adapter.receive(&request(fixture("emitter.request.server_side_emit").1));
    adapter.receive(&request(fixture("classic.request.server_side_emit_ack").1));
    let mut events = std::mem::take(&mut *ns.events.lock().unwrap());
    assert_eq!(
        events
            .iter()
            .map(|e| (e.name.clone(), e.payload.args.clone(), e.ack.is_some()))
            .collect::<Vec<_>>(),
        [
            ("note".to_owned(), vec![json!(1), json!("two")], false),
            ("note".to_owned(), vec![json!(1), json!({"two": 2})], false),
            ("ping".to_owned(), vec![json!("x")], true),
        ]
    );
    events[2].ack("pong:x").unwrap();
    let (channel, bytes) = fixture("classic.response.server_side_emit");
    assert_eq!(
        wire.published(),
        [Published {
            shard: false,
            channel,
            payload: bytes,
        }]
    );
    // Its own emit is not for itself.
    let own = fixture_with("classic.request.server_side_emit", "VXwzB8", adapter.uid());
    adapter.receive(&request(own));
    assert!(ns.events.lock().unwrap().is_empty());
}

#[tokio::test]
async fn classic_answers_a_broadcast_with_acks_as_node() {
    let (adapter, ns, mut wire) = classic();
    ns.connect(A, &[]);
    ns.connect(B, &[]);
    ns.connect(C, &[]);
    ns.answer(A, Payload::new(vec![json!({"ok": 42}), json!("dropped")]));
    let mut binary = Payload::default();
    binary.push_binary(vec![9u8, 8, 7]);
    ns.answer(B, binary);
    ns.answer(C, Payload::new(vec![Value::Null]));

    adapter.receive(&request(fixture("classic.request.broadcast_ack").1));
    assert_eq!(
        ns.take_sent(),
        [sent(r#"2["ask",42]"#, 1, &[A, B, C], false)]
    );
    let count = wire.next_published().await;
    let (channel, bytes) = fixture("classic.response.client_count");
    assert_eq!((count.channel, count.payload), (channel, bytes));
    let mut acks = Vec::new();
    for _ in 0..3 {
        acks.push(wire.next_published().await.payload);
    }
    let expected: Vec<Vec<u8>> = [
        "classic.response.broadcast_ack.object",
        "classic.response.broadcast_ack.binary",
        "classic.response.broadcast_ack.null",
    ]
    .iter()
    .map(|name| fixture(name).1)
    .collect();
    assert_eq!(acks, expected);
}

#[tokio::test]
async fn classic_fetch_sockets_merges_every_servers_answer() {
    let (adapter, ns, mut wire) = classic();
    ns.connect(A, &["r1"]);
    let opts = BroadcastOptions {
        rooms: vec!["r1".into()],
        ..BroadcastOptions::default()
    };
    let fetch = tokio::spawn(adapter.fetch_sockets(opts.clone()));
    assert_eq!(wire.count(2).await, (false, "fixture-request#/#".into()));
    let asked = wire.next_published().await;
    let id = json_request_id(&asked.payload);
    assert_eq!(
        text(&asked.payload),
        format!(
            r#"{{"uid":"{}","requestId":"{id}","type":5,"opts":{{"rooms":["r1"],"except":[]}}}}"#,
            adapter.uid()
        )
    );
    adapter.receive(&response(fixture_with(
        "classic.response.fetch",
        "X5D7kL",
        &id,
    )));
    let found = fetch.await.unwrap().unwrap();
    assert_eq!(
        found.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [A, "5a572qNP_7DQMFWUAAAA"]
    );
    let remote = &found[1];
    assert_eq!(remote.rooms, ["5a572qNP_7DQMFWUAAAA", "r1"]);
    assert_eq!(remote.data, json!({"name": "bob", "n": 1}));
    assert_eq!(remote.handshake.issued, 1_796_157_246_701);
    assert_eq!(
        remote.handshake.url,
        "/socket.io/?EIO=4&transport=websocket"
    );
    assert_eq!(remote.handshake.headers["host"], "127.0.0.1:44141");

    // Alone in the cluster: no request at all.
    let fetch = tokio::spawn(adapter.fetch_sockets(opts.clone()));
    wire.count(1).await;
    assert_eq!(fetch.await.unwrap().unwrap().len(), 1);
    assert_eq!(wire.published(), []);

    // A server that never answers: the library's timeout after requests_timeout.
    let fetch = tokio::spawn(adapter.fetch_sockets(opts));
    wire.count(3).await;
    let asked = wire.next_published().await;
    let id = json_request_id(&asked.payload);
    adapter.receive(&response(fixture_with(
        "classic.response.fetch",
        "X5D7kL",
        &id,
    )));
    assert!(matches!(fetch.await.unwrap(), Err(SioError::Timeout)));
}

#[tokio::test]
async fn requests_whose_caller_stops_waiting_are_forgotten() {
    let (adapter, _ns, mut wire) = classic();
    let fetch = tokio::spawn(adapter.fetch_sockets(BroadcastOptions::default()));
    wire.count(3).await;
    wire.next_published().await;
    assert_eq!(adapter.pending_requests(), 1);
    fetch.abort();
    assert!(fetch.await.unwrap_err().is_cancelled());
    assert_eq!(adapter.pending_requests(), 0);

    let (adapter, _ns, mut wire) = sharded(SubscriptionMode::Dynamic);
    let asking = tokio::spawn(adapter.broadcast_with_ack(
        Packet::Event {
            nsp: "/".into(),
            event: "ask".into(),
            payload: Payload::default(),
            id: None,
        },
        BroadcastOptions::default(),
        Duration::from_secs(5),
    ));
    wire.next_published().await;
    wire.count(2).await;
    assert_eq!(adapter.pending_requests(), 1);
    asking.abort();
    assert!(asking.await.unwrap_err().is_cancelled());
    assert_eq!(adapter.pending_requests(), 0);
}

#[tokio::test]
async fn classic_all_rooms_joins_every_servers_rooms() {
    let (adapter, ns, mut wire) = classic();
    ns.connect(A, &["r1", "mine"]);
    let rooms = tokio::spawn(adapter.all_rooms());
    wire.count(2).await;
    let asked = wire.next_published().await;
    let id = json_request_id(&asked.payload);
    assert_eq!(
        text(&asked.payload),
        format!(
            r#"{{"uid":"{}","requestId":"{id}","type":1}}"#,
            adapter.uid()
        )
    );
    adapter.receive(&response(fixture_with(
        "classic.response.all_rooms",
        "YyNrrg",
        &id,
    )));
    let mut rooms = rooms.await.unwrap().unwrap();
    rooms.sort();
    assert_eq!(
        rooms,
        [
            "5a572qNP_7DQMFWUAAAA",
            A,
            "aPMPaJpmHEUvlks7AAAB",
            "jMkioq-ZVP2A9tukAAAC",
            "mine",
            "r1"
        ]
    );
}

#[tokio::test]
async fn classic_broadcast_with_acks_counts_servers_then_acks() {
    let (adapter, ns, mut wire) = classic();
    ns.connect(A, &[]);
    ns.answer(A, Payload::new(vec![json!("local"), json!(2)]));
    let packet = Packet::Event {
        nsp: "/".into(),
        event: "ask".into(),
        payload: Payload::new(vec![json!(42)]),
        id: None,
    };
    let asking = tokio::spawn(adapter.broadcast_with_ack(
        packet.clone(),
        BroadcastOptions::default(),
        Duration::from_secs(1),
    ));
    let asked = wire.next_published().await;
    let uid = adapter.uid().to_owned();
    let (_, node_request) = fixture("classic.request.broadcast_ack");
    // Node's bytes: the same but for the uid and request id.
    let id = {
        let at = asked
            .payload
            .windows(b"requestId".len())
            .position(|w| w == b"requestId")
            .expect("a requestId key")
            + b"requestId".len()
            + 1;
        String::from_utf8(asked.payload[at..at + 6].to_vec()).unwrap()
    };
    assert_eq!(
        asked.payload,
        replaced(&replaced(&node_request, "VXwzB8", &uid), "H7LDVm", &id)
    );
    assert_eq!(wire.count(2).await, (false, "fixture-request#/#".into()));
    let count = fixture_with("classic.response.client_count", "H7LDVm", &id);
    adapter.receive(&response(count));
    for name in [
        "classic.response.broadcast_ack.object",
        "classic.response.broadcast_ack.binary",
    ] {
        adapter.receive(&response(fixture_with(name, "H7LDVm", &id)));
    }
    // Two acks of three: the partial answers with the timeout.
    match asking.await.unwrap() {
        Err(SioError::AckTimeout { responses }) => {
            let args: Vec<_> = responses.iter().map(|p| p.args.clone()).collect();
            assert_eq!(
                args,
                [
                    vec![json!("local"), json!(2)],
                    vec![json!({"ok": 42})],
                    vec![placeholder(0)]
                ]
            );
            assert_eq!(responses[2].binary, [Bytes::from_static(&[9, 8, 7])]);
        }
        other => panic!("expected a partial timeout, got {other:?}"),
    }

    // Every ack in: complete before the timeout.
    let asking = tokio::spawn(adapter.broadcast_with_ack(
        packet,
        BroadcastOptions::default(),
        Duration::from_secs(5),
    ));
    let asked = wire.next_published().await;
    let value = crate::wire::Request::decode(&Bytes::from(asked.payload)).unwrap();
    let id = value.request_id.unwrap();
    wire.count(2).await;
    let one = format!(r#"{{"type":8,"requestId":"{id}","clientCount":1}}"#);
    adapter.receive(&response(one.into_bytes()));
    adapter.receive(&response(fixture_with(
        "classic.response.broadcast_ack.null",
        "H7LDVm",
        &id,
    )));
    let answers = tokio::time::timeout(Duration::from_secs(1), asking)
        .await
        .expect("complete before the timeout")
        .unwrap()
        .unwrap();
    assert_eq!(
        answers.iter().map(|p| p.args.clone()).collect::<Vec<_>>(),
        [vec![json!("local"), json!(2)], vec![Value::Null]]
    );
}

#[tokio::test]
async fn classic_server_side_emit_waits_for_every_other_server() {
    let (adapter, _ns, mut wire) = classic();
    // Without acks: published, nothing awaited.
    adapter
        .server_side_emit(
            "note".into(),
            Payload::new(vec![json!(1), json!("two")]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        wire.published()[0].payload,
        fixture_with("classic.request.server_side_emit", "VXwzB8", adapter.uid())
    );

    let emit = |adapter: &ClassicAdapter| {
        adapter.server_side_emit(
            "ping".into(),
            Payload::new(vec![json!("x")]),
            Some(Duration::from_millis(300)),
        )
    };
    let asking = tokio::spawn(emit(&adapter));
    wire.count(3).await;
    let asked = wire.next_published().await;
    let id = json_request_id(&asked.payload);
    assert_eq!(
        asked.payload,
        replaced(
            &fixture_with(
                "classic.request.server_side_emit_ack",
                "VXwzB8",
                adapter.uid()
            ),
            "3-qBda",
            &id
        )
    );
    let answer = fixture_with("classic.response.server_side_emit", "3-qBda", &id);
    adapter.receive(&response(answer.clone()));
    match asking.await.unwrap() {
        Err(SioError::AckTimeout { responses }) => {
            assert_eq!(responses, [Payload::new(vec![json!("pong:x")])])
        }
        other => panic!("expected one answer of two, got {other:?}"),
    }

    let asking = tokio::spawn(emit(&adapter));
    wire.count(2).await;
    let id = json_request_id(&wire.next_published().await.payload);
    adapter.receive(&response(fixture_with(
        "classic.response.server_side_emit",
        "3-qBda",
        &id,
    )));
    assert_eq!(
        asking.await.unwrap().unwrap(),
        [Payload::new(vec![json!("pong:x")])]
    );

    // Alone: nobody to answer.
    let asking = tokio::spawn(emit(&adapter));
    wire.count(1).await;
    assert_eq!(asking.await.unwrap().unwrap(), []);
    assert_eq!(wire.published(), []);
}

#[tokio::test]
async fn classic_answers_legacy_socket_requests() {
    let (adapter, ns, mut wire) = classic();
    let b1 = "5a572qNP_7DQMFWUAAAA";
    let b3 = "jMkioq-ZVP2A9tukAAAC";
    ns.connect(b1, &[]);
    ns.connect(b3, &[]);
    adapter.receive(&request(fixture("classic.legacy.join.request").1));
    assert_eq!(ns.rooms_of(b1), [b1, "legacy"]);
    adapter.receive(&request(fixture("classic.legacy.leave.request").1));
    assert_eq!(ns.rooms_of(b1), [b1]);
    adapter.receive(&request(fixture("classic.legacy.disconnect.request").1));
    assert_eq!(*ns.disconnected.lock().unwrap(), [(b3.to_owned(), false)]);
    let answers: Vec<Vec<u8>> = wire.published().into_iter().map(|p| p.payload).collect();
    let expected: Vec<Vec<u8>> = [
        "classic.legacy.join.response",
        "classic.legacy.leave.response",
        "classic.legacy.disconnect.response",
    ]
    .iter()
    .map(|name| fixture(name).1)
    .collect();
    assert_eq!(answers, expected);
}

#[tokio::test]
async fn classic_ignores_what_it_cannot_read() {
    let (adapter, ns, mut wire) = classic();
    ns.connect(A, &[]);
    for junk in [
        &b""[..],
        b"{",
        b"{\"type\":99,\"uid\":\"x\"}",
        b"\xc1",
        b"\x93\xa1x\xc0\xc0",
        b"{\"requestId\":1}",
        b"\xdd\xff\xff\xff\xff",
    ] {
        adapter.receive(&broadcast_on("fixture#/#", junk.to_vec()));
        adapter.receive(&request(junk.to_vec()));
        adapter.receive(&response(junk.to_vec()));
    }
    assert_eq!(ns.take_sent(), []);
    assert_eq!(wire.published(), []);
}

// ---------------------------------------------------------------- sharded

const NODE_C: &str = "7c6c8c1357ab1f37";
const NODE_D: &str = "5d05fc94292ee56b";

#[tokio::test]
async fn sharded_subscribes_per_room_in_the_dynamic_modes() {
    let (adapter, ns, mut wire) = sharded(SubscriptionMode::Dynamic);
    let uid = adapter.uid().to_owned();
    assert_eq!(uid.len(), 16);
    assert!(
        uid.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{uid}"
    );
    let shard = |c: &str| Subscription::Shard(c.to_owned());
    assert_eq!(
        wire.changes(),
        [(
            vec![
                shard("fixture-sharded#/#"),
                shard(&format!("fixture-sharded#/#{uid}#"))
            ],
            true
        )]
    );
    // A socket's own room gets no channel; a public room does while it exists.
    ns.connect(A, &["r1"]);
    ns.connect(B, &["r1"]);
    assert_eq!(
        wire.changes(),
        [(vec![shard("fixture-sharded#/#r1#")], true)]
    );
    adapter.del(A, &["r1".into()]);
    assert_eq!(wire.changes(), []);
    adapter.del_all(B);
    assert_eq!(
        wire.changes(),
        [(vec![shard("fixture-sharded#/#r1#")], false)]
    );
    // Node's broadcasts to a room arrive on its channel.
    ns.connect(C, &["r1"]);
    wire.changes();
    let (channel, bytes) = fixture("sharded.broadcast.room");
    assert_eq!(channel, "fixture-sharded#/#r1#");
    adapter.receive(&shard_message(&channel, bytes));
    assert_eq!(ns.take_sent(), [sent(r#"2["hello",1]"#, 1, &[C], false)]);
    adapter.close().await;
    let mut closed = wire.changes();
    assert_eq!(closed.len(), 1);
    let (mut channels, subscribe) = closed.remove(0);
    channels.sort_by_key(|s| format!("{s:?}"));
    assert!(!subscribe);
    let mut expected = vec![
        shard("fixture-sharded#/#"),
        shard(&format!("fixture-sharded#/#{uid}#")),
        shard("fixture-sharded#/#r1#"),
    ];
    expected.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(channels, expected);

    // dynamic-private: socket ids too; static: no room channel.
    let (_adapter, ns, mut wire) = sharded(SubscriptionMode::DynamicPrivate);
    wire.changes();
    ns.connect(A, &[]);
    assert_eq!(
        wire.changes(),
        [(vec![shard(&format!("fixture-sharded#/#{A}#"))], true)]
    );
    let (_adapter, ns, mut wire) = sharded(SubscriptionMode::Static);
    wire.changes();
    ns.connect(A, &["r1"]);
    assert_eq!(wire.changes(), []);
}

fn shard_message(channel: &str, payload: Vec<u8>) -> Message {
    shard(channel, payload)
}

#[tokio::test]
async fn sharded_delivers_node_messages() {
    let (adapter, ns, _wire) = sharded(SubscriptionMode::Dynamic);
    let d1 = "Teu74ZBUH74vlIZ3AAAD";
    ns.connect(A, &[]);
    ns.connect(B, &["r1"]);
    ns.connect(d1, &["r1", "r3"]);
    let main = "fixture-sharded#/#";

    adapter.receive(&shard(main, fixture("sharded.broadcast.all").1));
    assert_eq!(
        ns.take_sent(),
        [sent(r#"2["hello","world"]"#, 1, &[A, B, d1], false)]
    );
    adapter.receive(&shard(main, fixture("sharded.broadcast.socket_id").1));
    assert_eq!(ns.take_sent(), [sent(r#"2["hello",2]"#, 1, &[d1], false)]);
    adapter.receive(&shard(
        main,
        fixture("sharded.broadcast.rooms_except_flags").1,
    ));
    assert_eq!(
        ns.take_sent(),
        [sent(r#"2["hello",{"a":1},[true,null]]"#, 1, &[B], true)]
    );
    adapter.receive(&shard(main, fixture("sharded.broadcast.binary").1));
    assert_eq!(
        ns.take_sent(),
        [sent(
            r#"52-["bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}},-2147483649]"#,
            3,
            &[A, B, d1],
            false
        )]
    );
    adapter.receive(&shard(main, fixture("sharded.join").1));
    assert_eq!(ns.rooms_of(B), [B, "r1", "r4"]);
    adapter.receive(&shard(main, fixture("sharded.leave").1));
    assert_eq!(ns.rooms_of(B), [B, "r1"]);
    adapter.receive(&shard(main, fixture("sharded.disconnect").1));
    assert_eq!(*ns.disconnected.lock().unwrap(), []);
    adapter.receive(&shard(main, fixture("sharded.server_side_emit").1));
    let events = std::mem::take(&mut *ns.events.lock().unwrap());
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].name.as_str(),
            &events[0].payload.args,
            events[0].ack.is_some()
        ),
        ("note", &vec![json!(1), json!("two")], false)
    );
    // Its own messages are not for itself.
    let own = fixture_with("sharded.broadcast.all", NODE_C, adapter.uid());
    adapter.receive(&shard(main, own));
    assert_eq!(ns.take_sent(), []);
}

#[tokio::test]
async fn sharded_publishes_where_node_does() {
    let (adapter, ns, mut wire) = sharded(SubscriptionMode::Dynamic);
    ns.connect(A, &["r1"]);
    let uid = adapter.uid().to_owned();
    let event = |args: Vec<Value>| Packet::Event {
        nsp: "/".into(),
        event: "hello".into(),
        payload: Payload::new(args),
        id: None,
    };
    let to = |rooms: &[&str]| BroadcastOptions {
        rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
        ..BroadcastOptions::default()
    };
    adapter
        .broadcast(event(vec![json!("world")]), to(&[]))
        .unwrap();
    adapter
        .broadcast(event(vec![json!(1)]), to(&["r1"]))
        .unwrap();
    adapter
        .broadcast(event(vec![json!(2)]), to(&["Teu74ZBUH74vlIZ3AAAD"]))
        .unwrap();
    adapter
        .add_sockets(to(&["r1"]), vec!["r4".into()])
        .await
        .unwrap();
    let expected: Vec<Published> = [
        "sharded.broadcast.all",
        "sharded.broadcast.room",
        "sharded.broadcast.socket_id",
        "sharded.join",
    ]
    .iter()
    .map(|name| {
        let (channel, bytes) = fixture(name);
        Published {
            shard: true,
            channel,
            payload: replaced(&bytes, NODE_C, &uid),
        }
    })
    .collect();
    assert_eq!(wire.published(), expected);
    // Applied here at once.
    assert_eq!(ns.rooms_of(A), [A, "r1", "r4"]);
}

#[tokio::test]
async fn sharded_answers_node_requests_on_the_requesters_channel() {
    let (adapter, ns, mut wire) = sharded(SubscriptionMode::Dynamic);
    let uid = adapter.uid().to_owned();
    ns.connect(A, &["r1"]);
    ns.connect(B, &[]);
    ns.answer(A, Payload::new(vec![json!({"ok": 42})]));
    ns.answer(B, Payload::new(vec![json!("b")]));
    let main = "fixture-sharded#/#";
    let to_c = format!("fixture-sharded#/#{NODE_C}#");

    adapter.receive(&shard(main, fixture("sharded.broadcast.with_ack").1));
    assert_eq!(ns.take_sent(), [sent(r#"2["ask",42]"#, 1, &[A, B], false)]);
    let count = wire.next_published().await;
    assert_eq!(count.channel, to_c);
    assert_eq!(
        count.payload,
        fixture_with("sharded.response.client_count", NODE_D, &uid)
    );
    let ack = wire.next_published().await;
    assert_eq!(
        ack.payload,
        fixture_with("sharded.response.broadcast_ack.json", NODE_D, &uid)
    );
    assert_eq!(
        text(&wire.next_published().await.payload),
        format!(
            r#"{{"type":12,"data":{{"requestId":"a21f61f20d9f522f","packet":"b"}},"uid":"{uid}","nsp":"/"}}"#
        )
    );

    adapter.receive(&shard(main, fixture("sharded.fetch").1));
    let answer = wire.published().remove(0);
    assert_eq!(answer.channel, to_c);
    let value: Value = serde_json::from_slice(&answer.payload).unwrap();
    assert_eq!(value["type"], 8);
    assert_eq!(value["uid"], uid.as_str());
    assert_eq!(value["data"]["requestId"], "6ae73ed86b9d8441");
    assert_eq!(value["data"]["sockets"][0]["id"], A);
    assert_eq!(value["data"]["sockets"][0]["rooms"], json!([A, "r1"]));
    assert_eq!(value["data"]["sockets"][0]["data"], json!({"name": "A"}));
    assert_eq!(value["data"]["sockets"].as_array().map(Vec::len), Some(1));

    adapter.receive(&shard(main, fixture("sharded.server_side_emit_ack").1));
    let mut event = ns.events.lock().unwrap().pop().expect("the event");
    assert_eq!(event.payload.args, [json!("x")]);
    event.ack("pong:x").unwrap();
    let answer = wire.published().remove(0);
    assert_eq!(answer.channel, to_c);
    assert_eq!(
        answer.payload,
        fixture_with("sharded.response.server_side_emit", NODE_D, &uid)
    );
}

#[tokio::test]
async fn sharded_requests_collect_node_answers() {
    let (adapter, ns, mut wire) = sharded(SubscriptionMode::Dynamic);
    let uid = adapter.uid().to_owned();
    let own = format!("fixture-sharded#/#{uid}#");
    ns.connect(A, &["r1"]);

    // fetchSockets: one answer per other server, binary in data as Node's Buffer JSON.
    let fetch = tokio::spawn(adapter.fetch_sockets(BroadcastOptions {
        rooms: vec!["r1".into()],
        ..BroadcastOptions::default()
    }));
    assert_eq!(wire.count(2).await, (true, "fixture-sharded#/#".into()));
    let id = as_node_request(
        &wire.next_published().await.payload,
        "sharded.fetch",
        "6ae73ed86b9d8441",
        &uid,
    );
    let answer = fixture_with("sharded.response.fetch.binary", "6ae73ed86b9d8441", &id);
    adapter.receive(&shard(&own, answer));
    let found = fetch.await.unwrap().unwrap();
    assert_eq!(
        found.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [A, "Teu74ZBUH74vlIZ3AAAD"]
    );
    assert_eq!(
        found[1].data,
        json!({"name": "bob", "avatar": {"type": "Buffer", "data": [1, 2]}})
    );

    // allRooms: through fetchSockets, which Node nodes answer.
    let rooms = tokio::spawn(adapter.all_rooms());
    wire.count(2).await;
    let id = json_request_id(&wire.next_published().await.payload);
    let answer = fixture_with("sharded.response.fetch.json", "7876a450372a6204", &id);
    adapter.receive(&shard(&own, answer));
    let mut rooms = rooms.await.unwrap().unwrap();
    rooms.sort();
    assert_eq!(rooms, [A, "qB6Mk1kFjML_TOfXAAAE", "r1", "r2"]);

    // Broadcast with acks: the count of servers, then each one's clients.
    ns.answer(A, Payload::new(vec![json!("local")]));
    let asking = tokio::spawn(adapter.broadcast_with_ack(
        Packet::Event {
            nsp: "/".into(),
            event: "ask".into(),
            payload: Payload::new(vec![json!(42)]),
            id: None,
        },
        BroadcastOptions::default(),
        Duration::from_millis(1000),
    ));
    let id = as_node_request(
        &wire.next_published().await.payload,
        "sharded.broadcast.with_ack",
        "a21f61f20d9f522f",
        &uid,
    );
    wire.count(2).await;
    for name in [
        "sharded.response.client_count",
        "sharded.response.broadcast_ack.json",
        "sharded.response.broadcast_ack.binary",
    ] {
        adapter.receive(&shard(&own, fixture_with(name, "a21f61f20d9f522f", &id)));
    }
    let answers = asking.await.unwrap().unwrap();
    assert_eq!(
        answers.iter().map(|p| p.args.clone()).collect::<Vec<_>>(),
        [
            vec![json!("local")],
            vec![json!({"ok": 42})],
            vec![placeholder(0)]
        ]
    );

    // serverSideEmit with acks.
    let asking = tokio::spawn(adapter.server_side_emit(
        "ping".into(),
        Payload::new(vec![json!("x")]),
        Some(Duration::from_millis(500)),
    ));
    wire.count(2).await;
    let id = as_node_request(
        &wire.next_published().await.payload,
        "sharded.server_side_emit_ack",
        "b28ec458c3e27ff1",
        &uid,
    );
    let answer = fixture_with("sharded.response.server_side_emit", "b28ec458c3e27ff1", &id);
    adapter.receive(&shard(&own, answer));
    assert_eq!(
        asking.await.unwrap().unwrap(),
        [Payload::new(vec![json!("pong:x")])]
    );

    // A fetch nobody answers times out.
    let fetch = tokio::spawn(adapter.fetch_sockets(BroadcastOptions::default()));
    wire.count(2).await;
    wire.next_published().await;
    assert!(matches!(fetch.await.unwrap(), Err(SioError::Timeout)));
}

#[tokio::test]
async fn sharded_ignores_what_it_cannot_read() {
    let (adapter, ns, mut wire) = sharded(SubscriptionMode::Dynamic);
    ns.connect(A, &[]);
    let own = format!("fixture-sharded#/#{}#", adapter.uid());
    for junk in [
        &b""[..],
        b"{",
        b"{\"type\":99,\"nsp\":\"/\"}",
        b"{\"type\":3,\"nsp\":\"/\",\"data\":{}}",
        b"\xc1",
        b"\x84\xa4type\x03",
    ] {
        adapter.receive(&shard("fixture-sharded#/#", junk.to_vec()));
        adapter.receive(&shard(&own, junk.to_vec()));
    }
    assert_eq!(ns.take_sent(), []);
    assert_eq!(wire.published(), []);
}

// The streams adapter: stream entries as Node's nodes write them (the fixtures' fields),
// the commands it queues read back as their arguments, Redis's answers given by hand.

use super::StreamsAdapter;
use crate::publisher::Reply;
use crate::stream_reader::{Delivery, Entry, EntryReceiver, StreamShared};
use actix_socketio::socket::adapter::{RestoredSession, SessionState};
use actix_socketio::RecoveryConfig;

/// The Node streams node that wrote the fixtures' entries.
const NODE_E: &str = "d8f997f7befa32c1";
const STREAM: &str = "fixture-streams-stream";

/// A fixture's stream entry, its fields' uid replaced by `uid`, under the id `id`.
fn stream_entry(name: &str, uid: &str, id: &str) -> Entry {
    let all: Value = serde_json::from_str(FIXTURES).expect("fixtures parse");
    let record = all["records"]
        .as_array()
        .and_then(|records| records.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no fixture {name}"));
    let fields = record["fields"]
        .as_object()
        .expect("fields")
        .iter()
        .map(|(k, v)| {
            let text = v.as_str().expect("a field").replace(NODE_E, uid);
            (k.as_bytes().to_vec(), text.into_bytes())
        })
        .collect();
    Entry {
        id: id.into(),
        fields,
    }
}

/// An entry of our own making: a broadcast of `args` to `rooms`.
fn broadcast_entry(id: &str, rooms: &[&str], args: Vec<Value>) -> Entry {
    let message = crate::wire::ClusterMessage {
        uid: NODE_E.into(),
        nsp: "/".into(),
        body: crate::wire::Body::Broadcast {
            packet: crate::wire::EventPacket::new("/", "tick", Payload::new(args)),
            request_id: None,
            opts: crate::wire::BroadcastOpts {
                rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
                except: Vec::new(),
                flags: crate::wire::Flags::new(),
            },
        },
    };
    Entry {
        id: id.into(),
        fields: message
            .to_stream_fields()
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.into_bytes()))
            .collect(),
    }
}

/// A command the adapter queued: its arguments as text, and who waits for the answer.
struct Queued {
    args: Vec<String>,
    reply: Option<Reply>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.args)
    }
}

fn args_of(command: &redis::Cmd) -> Vec<String> {
    command
        .args_iter()
        .map(|arg| match arg {
            redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => "<cursor>".into(),
        })
        .collect()
}

impl Wire {
    /// The next command, waiting for it.
    async fn next_command(&mut self) -> Queued {
        match tokio::time::timeout(Duration::from_secs(2), self.queue.next()).await {
            Ok(Some(Outgoing::Command { command, reply, .. })) => Queued {
                args: args_of(&command),
                reply,
            },
            other => panic!("expected a command, got {other:?}"),
        }
    }

    /// Every command queued so far.
    fn commands(&mut self) -> Vec<Queued> {
        let mut all = Vec::new();
        while let Some(message) = self.queue.try_next() {
            match message {
                Outgoing::Command { command, reply, .. } => all.push(Queued {
                    args: args_of(&command),
                    reply,
                }),
                other => panic!("expected a command, got {other:?}"),
            }
        }
        all
    }
}

fn recovery() -> RecoveryConfig {
    RecoveryConfig {
        max_disconnection_duration: Duration::from_secs(10),
        max_missed_packets: 3,
        ..RecoveryConfig::default()
    }
}

fn streams_with(
    recovery: Option<RecoveryConfig>,
) -> (
    Arc<StreamsAdapter>,
    Arc<Namespace>,
    Wire,
    mpsc::Receiver<Delivery>,
) {
    let ns = Arc::new(Namespace {
        nsp: "/".into(),
        recovery,
        ..Namespace::default()
    });
    let mut config = quick(RedisConfig::streams("fixture-streams"));
    config.streams.session_write_delay = Duration::from_millis(1);
    let (links, wire) = links(config);
    let (stream, deliveries) = StreamShared::detached(links.config.clone());
    let adapter = StreamsAdapter::new(ns.clone(), links, stream);
    let weak: Weak<dyn Adapter> = Arc::downgrade(&adapter) as Weak<dyn Adapter>;
    let _ = ns.adapter.set(weak);
    (adapter, ns, wire, deliveries)
}

fn event(args: Vec<Value>) -> Packet {
    Packet::Event {
        nsp: "/".into(),
        event: "hello".into(),
        payload: Payload::new(args),
        id: None,
    }
}

fn to(rooms: &[&str]) -> BroadcastOptions {
    BroadcastOptions {
        rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
        ..BroadcastOptions::default()
    }
}

/// `XADD STREAM MAXLEN ~ 10000 *` and the entry's fields in order.
fn xadd_of(entry: &Entry) -> Vec<String> {
    let mut args: Vec<String> = ["XADD", STREAM, "MAXLEN", "~", "10000", "*"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for (k, v) in &entry.fields {
        args.push(String::from_utf8(k.clone()).unwrap());
        args.push(String::from_utf8(v.clone()).unwrap());
    }
    args
}

#[tokio::test]
async fn streams_subscribes_and_appends_as_node_does() {
    let (adapter, ns, mut wire, _deliveries) = streams_with(None);
    let uid = adapter.uid().to_owned();
    assert_eq!(uid.len(), 16);
    assert_eq!(
        wire.changes(),
        [(
            vec![
                Subscription::Channel("fixture-streams#/#".into()),
                Subscription::Channel(format!("fixture-streams#/#{uid}#")),
            ],
            true
        )]
    );
    ns.connect(A, &["r1"]);
    adapter
        .broadcast(event(vec![json!("world")]), to(&[]))
        .unwrap();
    adapter
        .add_sockets(to(&["r1"]), vec!["r4".into()])
        .await
        .unwrap();
    adapter
        .del_sockets(to(&["r1"]), vec!["r4".into()])
        .await
        .unwrap();
    adapter
        .disconnect_sockets(to(&["nobody"]), true)
        .await
        .unwrap();
    let queued = wire.commands();
    let args: Vec<Vec<String>> = queued.iter().map(|q| q.args.clone()).collect();
    let expected: Vec<Vec<String>> = [
        "streams.entry.broadcast.json",
        "streams.entry.join",
        "streams.entry.leave",
        "streams.entry.disconnect",
    ]
    .iter()
    .map(|name| xadd_of(&stream_entry(name, &uid, "0-0")))
    .collect();
    assert_eq!(args, expected);
    // Only the broadcast waits for its answer (to deliver here if Redis refuses it).
    let waiting: Vec<bool> = queued.iter().map(|q| q.reply.is_some()).collect();
    assert_eq!(waiting, [true, false, false, false]);
    // The broadcast reaches this node's sockets from the stream; room changes at once.
    assert_eq!(ns.take_sent(), []);
    assert_eq!(ns.rooms_of(A), [A, "r1"]);
    // The server count is the subscribers of the namespace's channel.
    let counting = tokio::spawn({
        let adapter = adapter.clone();
        async move { adapter.server_count().await }
    });
    assert_eq!(wire.count(3).await, (false, "fixture-streams#/#".into()));
    assert_eq!(counting.await.unwrap().unwrap(), 3);
}

#[tokio::test]
async fn streams_delivers_entries_in_stream_order_with_their_offsets() {
    let (adapter, ns, _wire, _deliveries) = streams_with(Some(recovery()));
    let uid = adapter.uid().to_owned();
    let f1 = "N0MyNZM_sgCmJYjdAAAF";
    ns.connect(A, &[]);
    ns.connect(B, &["r1"]);
    ns.connect(f1, &["r1", "r3"]);

    adapter.entry(&stream_entry("streams.entry.broadcast.json", NODE_E, "7-0"));
    assert_eq!(
        ns.take_sent(),
        [sent(r#"2["hello","world","7-0"]"#, 1, &[A, B, f1], false)]
    );
    // Volatile: no offset (it is never replayed).
    adapter.entry(&stream_entry(
        "streams.entry.broadcast.binary",
        NODE_E,
        "7-1",
    ));
    assert_eq!(
        ns.take_sent(),
        [sent(
            r#"51-["bin",{"_placeholder":true,"num":0},9007199254740994.0,-1099511627776,1.5]"#,
            2,
            &[B],
            true
        )]
    );
    adapter.entry(&stream_entry("streams.entry.join", NODE_E, "7-2"));
    assert_eq!(ns.rooms_of(B), [B, "r1", "r4"]);
    adapter.entry(&stream_entry("streams.entry.leave", NODE_E, "7-3"));
    assert_eq!(ns.rooms_of(B), [B, "r1"]);
    // Its own broadcasts come from the stream too; its own room changes were applied.
    adapter.entry(&stream_entry("streams.entry.broadcast.json", &uid, "7-4"));
    assert_eq!(
        ns.take_sent(),
        [sent(r#"2["hello","world","7-4"]"#, 1, &[A, B, f1], false)]
    );
    adapter.entry(&stream_entry("streams.entry.join", &uid, "7-5"));
    assert_eq!(ns.rooms_of(B), [B, "r1"]);
    // Another namespace's entries, and what does not read, are skipped.
    let mut other = stream_entry("streams.entry.broadcast.json", NODE_E, "7-6");
    for (k, v) in &mut other.fields {
        if k == b"nsp" {
            *v = b"/other".to_vec();
        }
    }
    adapter.entry(&other);
    adapter.entry(&Entry {
        id: "7-7".into(),
        fields: vec![
            (b"nsp".to_vec(), b"/".to_vec()),
            (b"type".to_vec(), b"x".to_vec()),
        ],
    });
    assert_eq!(ns.take_sent(), []);

    // Without recovery, events carry no offset.
    let (adapter, ns, _wire, _deliveries) = streams_with(None);
    ns.connect(A, &[]);
    adapter.entry(&stream_entry("streams.entry.broadcast.json", NODE_E, "8-0"));
    assert_eq!(
        ns.take_sent(),
        [sent(r#"2["hello","world"]"#, 1, &[A], false)]
    );
}

#[tokio::test]
async fn streams_delivers_at_once_what_redis_does_not_take() {
    let (adapter, ns, mut wire, mut deliveries) = streams_with(Some(recovery()));
    ns.connect(A, &[]);
    adapter.broadcast(event(vec![json!(1)]), to(&[])).unwrap();
    let [queued] = <[Queued; 1]>::try_from(wire.commands()).expect("one XADD");
    queued
        .reply
        .expect("the broadcast waits")
        .answer(Err(crate::Error::Unreachable));
    let delivery = deliveries.try_recv().expect("a local delivery");
    delivery();
    // Without an offset: Redis gave none.
    assert_eq!(ns.take_sent(), [sent(r#"2["hello",1]"#, 1, &[A], false)]);
    // Taken: delivered from the stream later, not here.
    adapter.broadcast(event(vec![json!(2)]), to(&[])).unwrap();
    let [queued] = <[Queued; 1]>::try_from(wire.commands()).expect("one XADD");
    queued
        .reply
        .expect("the broadcast waits")
        .answer(Ok(redis::Value::BulkString(b"9-0".to_vec())));
    assert!(deliveries.try_recv().is_err());
    // A local broadcast never goes through the stream.
    let mut local = to(&[]);
    local.flags.local = true;
    adapter.broadcast(event(vec![json!(3)]), local).unwrap();
    assert_eq!(wire.commands().len(), 0);
    assert_eq!(ns.take_sent(), [sent(r#"2["hello",3]"#, 1, &[A], false)]);
}

fn state(sid: &str, pid: &str, rooms: &[&str]) -> SessionState {
    SessionState {
        sid: sid.into(),
        pid: pid.into(),
        rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
        data: json!({"name": "ann"}),
    }
}

fn stored(state: &SessionState) -> String {
    super::session_book::encode(state)
}

#[tokio::test]
async fn streams_keeps_sessions_in_redis_as_they_change() {
    let (adapter, _ns, mut wire, _deliveries) = streams_with(Some(recovery()));
    let key = "fixture-streams-session:pid-a";
    adapter.session_changed(state(A, "pid-a", &[A]));
    adapter.session_changed(state(A, "pid-a", &[A, "r1"]));
    // One write for both changes, the latest state, living the disconnection's limit.
    let write = wire.next_command().await;
    assert_eq!(
        write.args,
        [
            "SET",
            key,
            &stored(&state(A, "pid-a", &[A, "r1"])),
            "PX",
            "10000"
        ]
    );
    assert!(write.reply.is_none());
    assert!(
        tokio::time::timeout(Duration::from_millis(50), wire.next_command())
            .await
            .is_err()
    );
    // Closed for a reason its client comes back from: the last state, at once.
    adapter.persist_session(state(A, "pid-a", &[A, "r1", "r2"]));
    let write = wire.commands();
    assert_eq!(
        write[0].args,
        [
            "SET",
            key,
            &stored(&state(A, "pid-a", &[A, "r1", "r2"])),
            "PX",
            "10000"
        ]
    );
    // Left for good: gone.
    adapter.discard_session("pid-a");
    assert_eq!(wire.commands()[0].args, ["DEL", key]);
}

/// Answers the next command, which must have `args`, with `value`.
async fn answer(wire: &mut Wire, args: &[&str], value: redis::Value) {
    let queued = wire.next_command().await;
    assert_eq!(queued.args, args);
    queued
        .reply
        .expect("an answer is awaited")
        .answer(Ok(value));
}

fn entries(entries: &[Entry]) -> redis::Value {
    redis::Value::Array(
        entries
            .iter()
            .map(|e| {
                redis::Value::Array(vec![
                    redis::Value::BulkString(e.id.clone().into_bytes()),
                    redis::Value::Array(
                        e.fields
                            .iter()
                            .flat_map(|(k, v)| {
                                [
                                    redis::Value::BulkString(k.clone()),
                                    redis::Value::BulkString(v.clone()),
                                ]
                            })
                            .collect(),
                    ),
                ])
            })
            .collect(),
    )
}

fn texts(restored: &RestoredSession) -> Vec<String> {
    restored.missed.iter().map(Packet::encode_text).collect()
}

#[tokio::test]
async fn streams_restores_a_session_with_what_it_missed_and_what_came_meanwhile() {
    let (adapter, ns, mut wire, _deliveries) = streams_with(Some(recovery()));
    let session = state(C, "pid-c", &[C, "r1"]);
    ns.connect(A, &["r1"]);
    let restoring = tokio::spawn({
        let adapter = adapter.clone();
        async move { adapter.restore_session("pid-c".into(), "5-0".into()).await }
    });
    let key = "fixture-streams-session:pid-c";
    answer(
        &mut wire,
        &["GETDEL", key],
        redis::Value::BulkString(stored(&session).into_bytes()),
    )
    .await;
    answer(
        &mut wire,
        &["XRANGE", STREAM, "5-0", "5-0"],
        entries(&[broadcast_entry("5-0", &[], vec![json!(0)])]),
    )
    .await;
    let volatile = stream_entry("streams.entry.broadcast.binary", NODE_E, "5-3");
    answer(
        &mut wire,
        &["XRANGE", STREAM, "5-1", "+", "COUNT", "1000"],
        entries(&[
            broadcast_entry("5-1", &["r1"], vec![json!(1)]),
            broadcast_entry("5-2", &["elsewhere"], vec![json!(2)]),
            volatile,
            broadcast_entry("5-4", &[C], vec![json!(4)]),
        ]),
    )
    .await;
    // Meanwhile the reader delivers 5-1 (covered by the replay) and 6-0 (after it).
    adapter.entry(&broadcast_entry("5-1", &["r1"], vec![json!(1)]));
    answer(
        &mut wire,
        &["XRANGE", STREAM, "5-5", "+", "COUNT", "1000"],
        entries(&[]),
    )
    .await;
    // The reader went past 5-4: the restore reads on.
    adapter.entry(&broadcast_entry("6-0", &["r1"], vec![json!(6)]));
    assert_eq!(
        ns.take_sent(),
        [
            sent(r#"2["tick",1,"5-1"]"#, 1, &[A], false),
            sent(r#"2["tick",6,"6-0"]"#, 1, &[A], false)
        ]
    );
    answer(
        &mut wire,
        &["XRANGE", STREAM, "5-5", "+", "COUNT", "1000"],
        entries(&[broadcast_entry("6-0", &["r1"], vec![json!(6)])]),
    )
    .await;
    answer(
        &mut wire,
        &["XRANGE", STREAM, "6-1", "+", "COUNT", "1000"],
        entries(&[]),
    )
    .await;
    let restored = restoring.await.unwrap().unwrap().expect("restored");
    assert_eq!(restored.state, session);
    assert_eq!(
        texts(&restored),
        [
            r#"2["tick",1,"5-1"]"#,
            r#"2["tick",4,"5-4"]"#,
            r#"2["tick",6,"6-0"]"#
        ]
    );
    // Until the socket is in, what reaches its rooms is held for it, and it is left out.
    ns.connect(C, &["r1"]);
    adapter.entry(&broadcast_entry("7-0", &["r1"], vec![json!(7)]));
    adapter.entry(&broadcast_entry("7-1", &[C], vec![json!(8)]));
    assert_eq!(
        ns.take_sent(),
        [
            sent(r#"2["tick",7,"7-0"]"#, 1, &[A], false),
            sent(r#"2["tick",8,"7-1"]"#, 1, &[], false)
        ]
    );
    // Its missed packets were sent (the library's part); then the held ones, in order.
    adapter.session_changed(session.clone());
    assert_eq!(
        ns.take_sent(),
        [
            sent(r#"2["tick",7,"7-0"]"#, 1, &[C], false),
            sent(r#"2["tick",8,"7-1"]"#, 1, &[C], false)
        ]
    );
    // From then on, live.
    adapter.entry(&broadcast_entry("7-2", &["r1"], vec![json!(9)]));
    assert_eq!(
        ns.take_sent(),
        [sent(r#"2["tick",9,"7-2"]"#, 1, &[A, C], false)]
    );
}

#[tokio::test]
async fn streams_restore_fails_without_session_offset_or_within_bounds() {
    let (adapter, ns, mut wire, _deliveries) = streams_with(Some(recovery()));
    let restore = |pid: &str, offset: &str| {
        let adapter = adapter.clone();
        let (pid, offset) = (pid.to_owned(), offset.to_owned());
        tokio::spawn(async move { adapter.restore_session(pid, offset).await })
    };
    let key = "fixture-streams-session:p";
    let session = redis::Value::BulkString(stored(&state(C, "p", &[C])).into_bytes());
    let at = entries(&[broadcast_entry("5-0", &[], vec![])]);

    // An offset not of the stream's form is not looked up.
    assert!(restore("p", "abc-1").await.unwrap().unwrap().is_none());
    assert_eq!(wire.commands().len(), 0);
    // No session.
    let r = restore("p", "5-0");
    answer(&mut wire, &["GETDEL", key], redis::Value::Nil).await;
    answer(&mut wire, &["XRANGE", STREAM, "5-0", "5-0"], at.clone()).await;
    assert!(r.await.unwrap().unwrap().is_none());
    // The offset's entry is gone (trimmed).
    let r = restore("p", "5-0");
    answer(&mut wire, &["GETDEL", key], session.clone()).await;
    answer(&mut wire, &["XRANGE", STREAM, "5-0", "5-0"], entries(&[])).await;
    assert!(r.await.unwrap().unwrap().is_none());
    // More missed than the bound (3): afresh rather than a flood.
    let r = restore("p", "5-0");
    answer(&mut wire, &["GETDEL", key], session.clone()).await;
    answer(&mut wire, &["XRANGE", STREAM, "5-0", "5-0"], at.clone()).await;
    let many: Vec<Entry> = (1..=4)
        .map(|i| broadcast_entry(&format!("5-{i}"), &[], vec![json!(i)]))
        .collect();
    answer(
        &mut wire,
        &["XRANGE", STREAM, "5-1", "+", "COUNT", "1000"],
        entries(&many),
    )
    .await;
    assert!(r.await.unwrap().unwrap().is_none());
    // Redis away: an error the library logs, and the client starts afresh.
    let r = restore("p", "5-0");
    let getdel = wire.next_command().await;
    getdel.reply.unwrap().answer(Err(crate::Error::Unreachable));
    let _ = wire.next_command().await;
    assert!(r.await.unwrap().is_err());

    // A socket of the restored id still here (its connection died unnoticed) goes.
    ns.connect(C, &["r1"]);
    let r = restore("p", "5-0");
    answer(&mut wire, &["GETDEL", key], session).await;
    answer(&mut wire, &["XRANGE", STREAM, "5-0", "5-0"], at).await;
    answer(
        &mut wire,
        &["XRANGE", STREAM, "5-1", "+", "COUNT", "1000"],
        entries(&[]),
    )
    .await;
    assert!(r.await.unwrap().unwrap().is_some());
    assert_eq!(*ns.disconnected.lock().unwrap(), [(C.to_owned(), true)]);
}

#[tokio::test]
async fn streams_answers_node_requests_over_pubsub() {
    let (adapter, ns, mut wire, _deliveries) = streams_with(None);
    ns.connect(A, &["r1"]);
    let (channel, bytes) = fixture("streams.pubsub.fetch");
    adapter.receive(&message(
        Subscription::Channel(channel.clone()),
        &channel,
        bytes,
    ));
    let answer = wire.next_published().await;
    assert!(!answer.shard);
    assert_eq!(answer.channel, format!("fixture-streams#/#{NODE_E}#"));
    let decoded = crate::wire::ClusterMessage::decode_msgpack(&Bytes::from(answer.payload))
        .expect("a msgpack answer");
    assert_eq!(decoded.uid, adapter.uid());
    let crate::wire::Body::FetchSocketsResponse { sockets, .. } = decoded.body else {
        panic!("a fetch answer: {decoded:?}");
    };
    assert_eq!(
        sockets.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [A]
    );
}

#[tokio::test]
async fn streams_a_restored_socket_is_not_sent_again_what_its_replay_covered() {
    let (adapter, ns, mut wire, _deliveries) = streams_with(Some(recovery()));
    let session = state(C, "pid-c", &[C, "r1"]);
    ns.connect(A, &["r1"]);
    let restoring = tokio::spawn({
        let adapter = adapter.clone();
        async move { adapter.restore_session("pid-c".into(), "5-0".into()).await }
    });
    answer(
        &mut wire,
        &["GETDEL", "fixture-streams-session:pid-c"],
        redis::Value::BulkString(stored(&session).into_bytes()),
    )
    .await;
    answer(
        &mut wire,
        &["XRANGE", STREAM, "5-0", "5-0"],
        entries(&[broadcast_entry("5-0", &[], vec![json!(0)])]),
    )
    .await;
    let replayed = [
        broadcast_entry("5-1", &["r1"], vec![json!(1)]),
        broadcast_entry("5-2", &["r1"], vec![json!(2)]),
    ];
    answer(
        &mut wire,
        &["XRANGE", STREAM, "5-1", "+", "COUNT", "1000"],
        entries(&replayed),
    )
    .await;
    answer(
        &mut wire,
        &["XRANGE", STREAM, "5-3", "+", "COUNT", "1000"],
        entries(&[]),
    )
    .await;
    let restored = restoring.await.unwrap().unwrap().expect("restored");
    assert_eq!(
        texts(&restored),
        [r#"2["tick",1,"5-1"]"#, r#"2["tick",2,"5-2"]"#]
    );
    // The socket is in before the reader, behind, has delivered what the replay covered.
    ns.connect(C, &["r1"]);
    adapter.session_changed(session);
    assert_eq!(ns.take_sent(), []);
    for entry in &replayed {
        adapter.entry(entry);
    }
    adapter.entry(&broadcast_entry("6-0", &["r1"], vec![json!(6)]));
    assert_eq!(
        ns.take_sent(),
        [
            sent(r#"2["tick",1,"5-1"]"#, 1, &[A], false),
            sent(r#"2["tick",2,"5-2"]"#, 1, &[A], false),
            sent(r#"2["tick",6,"6-0"]"#, 1, &[A, C], false)
        ]
    );
}
