//! The adapter boundary, from outside the crate: an adapter that counts every call and
//! delegates to [`LocalAdapter`] carries every operation of the public API, so a cluster
//! adapter written in another crate has all it needs.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_socketio::socket::adapter::{
    Adapter, AdapterFactory, BoxFuture, BroadcastOptions, LocalAdapter, RestoredSession, RoomEvent,
    RoomListener, SessionState, SocketInfo,
};
use actix_socketio::socket::Room;
use actix_socketio::{AckSender, Data, Error, Payload, Socket, SocketIo};
use serde_json::json;
use support::{reports, sio_config, RawClient, SioServer, STEP};

/// Calls per adapter method, and the last session the adapter was given.
#[derive(Default)]
struct Calls(
    Mutex<BTreeMap<&'static str, usize>>,
    Mutex<Option<SessionState>>,
);

impl Calls {
    fn last_session(&self, session: SessionState) {
        *self.1.lock().unwrap_or_else(PoisonError::into_inner) = Some(session);
    }

    fn session(&self) -> Option<SessionState> {
        self.1
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn count(&self, method: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(method)
            .or_default() += 1;
    }

    fn get(&self, method: &str) -> usize {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(method)
            .copied()
            .unwrap_or(0)
    }
}

/// Counts, then lets the in-memory adapter do the work.
struct Counting {
    inner: LocalAdapter,
    calls: Arc<Calls>,
}

impl Adapter for Counting {
    fn add_all(&self, sid: &actix_socketio::socket::Sid, rooms: &[Room]) {
        self.calls.count("add_all");
        self.inner.add_all(sid, rooms);
    }

    fn del(&self, sid: &str, rooms: &[Room]) {
        self.calls.count("del");
        self.inner.del(sid, rooms);
    }

    fn del_all(&self, sid: &str) {
        self.calls.count("del_all");
        self.inner.del_all(sid);
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.inner.socket_rooms(sid)
    }

    fn on_room_event(&self, listener: RoomListener) {
        self.calls.count("on_room_event");
        self.inner.on_room_event(listener);
    }

    fn broadcast(
        &self,
        packet: actix_socketio::socket::packet::Packet,
        opts: BroadcastOptions,
    ) -> Result<(), Error> {
        self.calls.count("broadcast");
        self.inner.broadcast(packet, opts)
    }

    fn broadcast_with_ack(
        &self,
        packet: actix_socketio::socket::packet::Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Error>> {
        self.calls.count("broadcast_with_ack");
        self.inner.broadcast_with_ack(packet, opts, timeout)
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, Error>> {
        self.calls.count("fetch_sockets");
        self.inner.fetch_sockets(opts)
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), Error>> {
        self.calls.count("add_sockets");
        self.inner.add_sockets(opts, rooms)
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), Error>> {
        self.calls.count("del_sockets");
        self.inner.del_sockets(opts, rooms)
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'static, Result<(), Error>> {
        self.calls.count("disconnect_sockets");
        self.inner.disconnect_sockets(opts, close)
    }

    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, Error>> {
        self.calls.count("all_rooms");
        self.inner.all_rooms()
    }

    fn server_side_emit(
        &self,
        event: String,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Error>> {
        self.calls.count("server_side_emit");
        self.inner.server_side_emit(event, payload, timeout)
    }

    fn server_count(&self) -> BoxFuture<'static, Result<usize, Error>> {
        self.calls.count("server_count");
        self.inner.server_count()
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        self.calls.count("close");
        self.inner.close()
    }

    fn session_changed(&self, session: SessionState) {
        self.calls.count("session_changed");
        self.calls.last_session(session.clone());
        self.inner.session_changed(session);
    }

    fn discard_session(&self, pid: &str) {
        self.calls.count("discard_session");
        self.inner.discard_session(pid);
    }

    fn persist_session(&self, session: SessionState) {
        self.calls.count("persist_session");
        self.calls.last_session(session.clone());
        self.inner.persist_session(session);
    }

    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<'static, Result<Option<RestoredSession>, Error>> {
        self.calls.count("restore_session");
        self.inner.restore_session(pid, offset)
    }
}

fn counting(calls: &Arc<Calls>) -> AdapterFactory {
    let calls = calls.clone();
    Arc::new(move |emitter| {
        Arc::new(Counting {
            inner: LocalAdapter::new(emitter),
            calls: calls.clone(),
        }) as Arc<dyn Adapter>
    })
}

/// A server whose sockets join the room an event names, carry `{"n": <order>}` as data,
/// and ack `q` with what they are asked plus one.
async fn server(calls: &Arc<Calls>) -> SioServer {
    let mut config = sio_config();
    config.adapter = counting(calls);
    let io = SocketIo::new(config);
    io.on_connect(
        |socket: Socket, Data(auth): Data<serde_json::Value>| async move {
            let _ = socket.set_data(json!({ "n": auth["n"] }));
            socket.on(
                "join",
                |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
                    let _ = socket.join(room);
                    let _ = ack.send(());
                },
            );
        },
    );
    SioServer::start(io)
}

async fn client(srv: &SioServer, n: u32) -> (RawClient, String) {
    let mut client = srv.raw().await;
    let id = client.connect("/", Some(&format!(r#"{{"n":{n}}}"#))).await;
    (client, id)
}

#[actix_web::test]
async fn every_operation_goes_through_the_adapter_interface() {
    let calls = Arc::new(Calls::default());
    let srv = server(&calls).await;
    let (mut a, a_id) = client(&srv, 1).await;
    let (mut b, b_id) = client(&srv, 2).await;
    let (mut c, c_id) = client(&srv, 3).await;
    // Listening from here on: each socket's own room came before.
    let (events_tx, mut events) = reports::<RoomEvent>();
    srv.io.on_room_event(move |event| {
        let _ = events_tx.send(event.clone());
    });
    for (client, id) in [(&mut a, 1), (&mut b, 2)] {
        client.send(&format!(r#"42{id}["join","r"]"#));
        client.expect(&format!("43{id}[null]")).await;
    }
    assert_eq!(
        events.next("room created").await,
        RoomEvent::Created("r".into())
    );
    assert!(matches!(
        events.next("a joined").await,
        RoomEvent::Joined { room, sid } if room == "r" && *sid == *a_id
    ));
    assert!(matches!(
        events.next("b joined").await,
        RoomEvent::Joined { room, sid } if room == "r" && *sid == *b_id
    ));

    // Broadcast to a room.
    srv.io.to("r").emit("m", 1).unwrap();
    a.expect(r#"42["m",1]"#).await;
    b.expect(r#"42["m",1]"#).await;

    // Broadcast with acks: each socket gets its own ack id.
    let io = srv.io.clone();
    let asking = actix_rt::spawn(async move {
        io.to("r")
            .timeout(Duration::from_secs(1))
            .emit_with_ack("q", 2)
            .await
    });
    a.expect(r#"420["q",2]"#).await;
    b.expect(r#"420["q",2]"#).await;
    a.send("430[3]");
    b.send(r#"430["b"]"#);
    let mut answers: Vec<String> = support::within(STEP, "the acks", asking)
        .await
        .expect("the task")
        .expect("every ack")
        .iter()
        .map(|payload| json!(payload.args).to_string())
        .collect();
    answers.sort();
    assert_eq!(answers, [r#"["b"]"#, "[3]"]);

    // Fetched sockets show their handshake and data, and act through the adapter.
    let mut fetched = srv.io.in_("r").fetch_sockets().await.unwrap();
    fetched.sort_by(|x, y| x.id().cmp(y.id()));
    let mut ids = vec![a_id.clone(), b_id.clone()];
    ids.sort();
    assert_eq!(fetched.iter().map(|s| s.id()).collect::<Vec<_>>(), ids);
    let remote_a = fetched
        .into_iter()
        .find(|s| s.id() == a_id)
        .expect("a is fetched");
    assert_eq!(remote_a.data(), &json!({"n": 1}));
    assert_eq!(remote_a.handshake().auth, json!({"n": 1}));
    assert!(
        remote_a
            .handshake()
            .url
            .starts_with("/socket.io/?EIO=4&transport=websocket"),
        "{:?}",
        remote_a.handshake().url
    );
    assert_eq!(remote_a.handshake().address, "127.0.0.1");
    assert!(remote_a.rooms().contains(&"r".to_owned()));
    remote_a.emit("hi", "x").unwrap();
    a.expect(r#"42["hi","x"]"#).await;
    remote_a.join("s").await.unwrap();
    remote_a.leave("r").await.unwrap();
    let a_socket = srv.io.socket(&a_id).expect("a is local");
    let mut rooms = a_socket.rooms();
    rooms.sort();
    let mut expected = vec![a_id.clone(), "s".to_owned()];
    expected.sort();
    assert_eq!(rooms, expected);

    // Selections join, leave and disconnect.
    srv.io
        .in_(c_id.as_str())
        .sockets_join(["t", "u"])
        .await
        .unwrap();
    srv.io.in_("t").sockets_leave("u").await.unwrap();
    let mut all_rooms = srv.io.all_rooms().await.unwrap();
    all_rooms.sort();
    let mut expected = vec![
        a_id.clone(),
        b_id.clone(),
        c_id.clone(),
        "r".into(),
        "s".into(),
        "t".into(),
    ];
    expected.sort();
    assert_eq!(all_rooms, expected);
    remote_a.disconnect(false).await.unwrap();
    a.expect("41").await;
    srv.io.in_("t").disconnect_sockets(false).await.unwrap();
    c.expect("41").await;

    assert_eq!(srv.io.server_count().await.unwrap(), 1);
    // One server: nobody else to answer a server-side emit.
    assert!(srv
        .io
        .server_side_emit_with_ack("ping", "x")
        .await
        .unwrap()
        .is_empty());
    b.expect_silence(Duration::from_millis(50)).await;

    for (method, expected) in [
        ("broadcast", 2),
        ("broadcast_with_ack", 1),
        ("fetch_sockets", 1),
        ("add_sockets", 2),
        ("del_sockets", 2),
        ("disconnect_sockets", 2),
        ("all_rooms", 1),
        ("server_count", 1),
        ("server_side_emit", 1),
        ("on_room_event", 1),
        // a and c left.
        ("del_all", 2),
    ] {
        assert_eq!(calls.get(method), expected, "calls of {method}");
    }
    // Three own rooms, two joins of r, then s, then t and u in one.
    assert_eq!(calls.get("add_all"), 7);
    srv.io.close().await;
    assert_eq!(calls.get("close"), 1);
    srv.stop().await;
}

/// An emitter written outside the crate (a wrapper, a test double) builds the ack stream
/// its `send_with_ack` returns: answers stream as they come, and a missing one makes
/// `collect_responses` report the others with the timeout.
#[actix_web::test]
async fn ack_streams_are_built_outside_the_crate() {
    use actix_socketio::socket::adapter::AckStream;
    use futures_util::stream::{self, StreamExt};

    let answers = vec![
        (Arc::from("a"), Ok(Payload::new(vec![json!(1)]))),
        (Arc::from("b"), Err(Error::Timeout)),
        (Arc::from("c"), Ok(Payload::new(vec![json!("c"), json!(2)]))),
    ];
    let acks = AckStream::new(3, stream::iter(answers).boxed());
    assert_eq!(acks.sent(), 3);
    match acks.collect_responses().await {
        Err(Error::AckTimeout { responses }) => assert_eq!(
            responses,
            [
                Payload::new(vec![json!(1)]),
                Payload::new(vec![json!("c"), json!(2)])
            ]
        ),
        other => panic!("expected the two answers with a timeout, got {other:?}"),
    }
    let complete = AckStream::new(
        1,
        stream::iter([(Arc::from("a"), Ok(Payload::default()))]).boxed(),
    );
    assert_eq!(
        complete.collect_responses().await.unwrap(),
        [Payload::default()]
    );
}

#[actix_web::test]
async fn with_recovery_the_adapter_sees_each_session_change_and_how_it_ends() {
    let calls = Arc::new(Calls::default());
    let mut config = sio_config();
    config.adapter = counting(&calls);
    config.connection_state_recovery = Some(actix_socketio::RecoveryConfig::default());
    let io = SocketIo::new(config);
    io.on_connect(|socket: Socket| async move {
        socket.on(
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                let _ = socket.join(room);
            },
        );
        socket.on(
            "leave",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.leave(room);
            },
        );
        socket.on(
            "data",
            |socket: Socket, Data(data): Data<serde_json::Value>| async move {
                let _ = socket.set_data(data);
            },
        );
    });
    let srv = SioServer::start(io);
    let changes = || calls.get("session_changed");
    let settle = || actix_rt::time::sleep(Duration::from_millis(50));

    let mut client = srv.raw().await;
    client.send("40");
    let answer = client.recv_text().await;
    let sid = srv.io.sockets()[0].id().to_owned();
    assert!(
        answer.starts_with(&format!(r#"40{{"sid":"{sid}","pid":""#)),
        "{answer}"
    );
    settle().await;
    assert_eq!(changes(), 1, "connected");
    let session = calls.session().expect("a session");
    assert_eq!(
        (session.sid.as_str(), session.rooms.clone()),
        (sid.as_str(), vec![sid.clone()])
    );
    let pid = session.pid.clone();

    client.send(r#"42["join","r"]"#);
    client.send(r#"42["data",{"n":1}]"#);
    settle().await;
    assert_eq!(changes(), 3);
    let session = calls.session().expect("a session");
    let mut rooms = session.rooms.clone();
    rooms.sort();
    let mut expected = vec!["r".to_owned(), sid.clone()];
    expected.sort();
    assert_eq!((rooms, session.data), (expected, json!({"n": 1})));
    client.send(r#"42["leave","r"]"#);
    settle().await;
    assert_eq!(changes(), 4);
    assert_eq!(calls.session().expect("a session").rooms, vec![sid.clone()]);

    // Leaving on purpose: the session is discarded, not kept.
    client.send("41");
    settle().await;
    assert_eq!(
        (calls.get("discard_session"), calls.get("persist_session")),
        (1, 0)
    );
    // A broken connection: kept.
    client.send("40");
    let _ = client.recv_text().await;
    client.close();
    settle().await;
    assert_eq!(calls.get("persist_session"), 1);
    assert_ne!(calls.session().expect("a session").pid, pid);
    srv.stop().await;
}

/// Restores every session as one with a missed packet, and sends a packet of its own to
/// a socket whose session changes: where that packet lands says when the hook runs.
struct Restoring {
    inner: LocalAdapter,
}

fn event(name: &str, offset: &str) -> actix_socketio::socket::packet::Packet {
    actix_socketio::socket::packet::Packet::Event {
        nsp: "/".into(),
        event: name.into(),
        payload: Payload::new(vec![json!(offset)]),
        id: None,
    }
}

impl Adapter for Restoring {
    fn add_all(&self, sid: &actix_socketio::socket::Sid, rooms: &[Room]) {
        self.inner.add_all(sid, rooms);
    }
    fn del(&self, sid: &str, rooms: &[Room]) {
        self.inner.del(sid, rooms);
    }
    fn del_all(&self, sid: &str) {
        self.inner.del_all(sid);
    }
    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.inner.socket_rooms(sid)
    }
    fn on_room_event(&self, listener: RoomListener) {
        self.inner.on_room_event(listener);
    }
    fn broadcast(
        &self,
        packet: actix_socketio::socket::packet::Packet,
        opts: BroadcastOptions,
    ) -> Result<(), Error> {
        self.inner.broadcast(packet, opts)
    }
    fn broadcast_with_ack(
        &self,
        packet: actix_socketio::socket::packet::Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Error>> {
        self.inner.broadcast_with_ack(packet, opts, timeout)
    }
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, Error>> {
        self.inner.fetch_sockets(opts)
    }
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), Error>> {
        self.inner.add_sockets(opts, rooms)
    }
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), Error>> {
        self.inner.del_sockets(opts, rooms)
    }
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'static, Result<(), Error>> {
        self.inner.disconnect_sockets(opts, close)
    }
    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, Error>> {
        self.inner.all_rooms()
    }
    fn server_side_emit(
        &self,
        event: String,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Error>> {
        self.inner.server_side_emit(event, payload, timeout)
    }
    fn server_count(&self) -> BoxFuture<'static, Result<usize, Error>> {
        self.inner.server_count()
    }
    fn close(&self) -> BoxFuture<'static, ()> {
        self.inner.close()
    }

    fn session_changed(&self, session: SessionState) {
        let packet = event("held", "o2");
        let sid: actix_socketio::socket::Sid = session.sid.as_str().into();
        self.inner.emitter().send(
            actix_socketio::socket::adapter::Targets::Only(&[sid]),
            &packet,
            &packet.encode(),
            Default::default(),
        );
    }

    fn restore_session(
        &self,
        pid: String,
        _offset: String,
    ) -> BoxFuture<'static, Result<Option<RestoredSession>, Error>> {
        let restored = RestoredSession {
            state: SessionState {
                sid: "RRRRRRRRRRRRRRRRRRRR".into(),
                pid,
                rooms: vec!["RRRRRRRRRRRRRRRRRRRR".into(), "r".into()],
                data: json!({"n": 7}),
            },
            missed: vec![event("missed", "o1")],
        };
        Box::pin(async move { Ok(Some(restored)) })
    }
}

#[actix_web::test]
async fn a_recovered_socket_gets_its_missed_packets_before_the_adapter_hears_it_connected() {
    let mut config = sio_config();
    config.adapter = Arc::new(|emitter| {
        Arc::new(Restoring {
            inner: LocalAdapter::new(emitter),
        }) as Arc<dyn Adapter>
    });
    config.connection_state_recovery = Some(actix_socketio::RecoveryConfig::default());
    let srv = SioServer::start(SocketIo::new(config));
    let mut client = srv.raw().await;
    client.send(r#"40{"pid":"p","offset":"o0"}"#);
    assert_eq!(client.recv_text().await, r#"42["missed","o1"]"#);
    assert_eq!(client.recv_text().await, r#"42["held","o2"]"#);
    assert_eq!(
        client.recv_text().await,
        r#"40{"sid":"RRRRRRRRRRRRRRRRRRRR","pid":"p"}"#
    );
    srv.stop().await;
}
