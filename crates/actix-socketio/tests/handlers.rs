//! Handlers as an application writes them: extractors, state, catch-all listeners, the
//! disconnect order, and sockets freed when they go even if their handlers capture them.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_socketio::socket::Room;
use actix_socketio::{
    AckSender, Data, DisconnectReason, Error, Extension, Payload, Socket, SocketIo, State, TryData,
    WeakSocket,
};
use serde::Deserialize;
use serde_json::json;
use support::{reports, sio_config, SioServer, STEP};

const QUIET: Duration = Duration::from_millis(100);

#[derive(Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

/// How many points the server has added up.
#[derive(Default)]
struct Sums(AtomicUsize);

/// An extension that holds its own socket: a cycle unless the socket drops it when it goes.
#[derive(Clone)]
struct Me(#[allow(dead_code)] Socket);

/// Waits until `done` holds, or fails after [`STEP`].
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < STEP, "{what}");
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_socket_whose_handlers_capture_it_is_freed_when_it_leaves() {
    let (weak_tx, mut weak) = reports::<WeakSocket>();
    let io = SocketIo::new(sio_config());
    io.on_connect(move |socket: Socket| {
        let _ = weak_tx.send(socket.downgrade());
        let me = socket.clone();
        socket.on("ping", move || {
            let me = me.clone();
            async move {
                let _ = me.emit("pong", ());
            }
        });
        let me = socket.clone();
        socket.on_any(move |_, _, _| {
            let _ = me.id();
        });
        let me = socket.clone();
        socket.on_any_outgoing(move |_, _, _| {
            let _ = me.id();
        });
        let me = socket.clone();
        socket.on_disconnect(move || {
            let me = me.clone();
            async move {
                let _ = me.broadcast().emit("left", me.id());
            }
        });
        socket.insert_extension(Me(socket.clone()));
        // An ack that never comes, waiting in a task that holds the socket.
        let asking = socket.clone();
        actix_web::rt::spawn(async move {
            let _ = asking
                .timeout(Duration::from_secs(60))
                .emit_with_ack::<()>("question", ())
                .await;
        });
        async {}
    });
    let srv = SioServer::start(io);
    for round in 0..3 {
        let mut client = srv.raw().await;
        client.connect("/", None).await;
        let socket = weak.next("the socket").await;
        client.expect(r#"420["question",null]"#).await;
        client.send(r#"42["ping"]"#);
        client.expect(r#"42["pong",null]"#).await;
        assert!(
            socket.upgrade().is_some(),
            "round {round}: alive while connected"
        );
        assert_eq!(srv.io.retained_sockets(), 1);
        client.close();
        eventually("the socket is freed once its client has left", || {
            socket.upgrade().is_none()
        })
        .await;
        assert_eq!(srv.io.retained_sockets(), 0, "round {round}");
    }
    srv.stop().await;
}

#[actix_web::test]
async fn disconnecting_handlers_see_the_rooms_disconnect_handlers_do_not() {
    let (tx, mut seen) = reports::<(&'static str, DisconnectReason, Vec<Room>)>();
    let io = SocketIo::new(sio_config());
    io.on_connect(move |socket: Socket| {
        let _ = socket.join(["b", "a"]);
        for (when, disconnecting) in [("disconnecting", true), ("disconnect", false)] {
            let tx = tx.clone();
            let report = move |socket: Socket, reason: DisconnectReason| {
                let mut rooms = socket.rooms();
                rooms.retain(|room| room.len() == 1);
                rooms.sort();
                let _ = tx.send((when, reason, rooms));
                async {}
            };
            if disconnecting {
                socket.on_disconnecting(report);
            } else {
                socket.on_disconnect(report);
            }
        }
        async {}
    });
    let srv = SioServer::start(io);
    let mut client = srv.raw().await;
    client.connect("/", None).await;
    client.send("41");
    let reason = DisconnectReason::ClientNamespaceDisconnect;
    assert_eq!(
        seen.next("disconnecting").await,
        ("disconnecting", reason, vec!["a".into(), "b".into()])
    );
    assert_eq!(
        seen.next("disconnect").await,
        ("disconnect", reason, vec![])
    );
    srv.stop().await;
}

#[actix_web::test]
async fn extractors_give_handlers_state_typed_data_and_the_ack() {
    let io = SocketIo::builder(sio_config())
        .with_state(Sums::default())
        .build();
    io.on_connect(|socket: Socket| async move {
        socket.insert_extension("tagged");
        socket.on(
            "sum",
            |Data(point): Data<Point>, sums: State<Sums>, ack: AckSender| async move {
                let done = (*sums).0.fetch_add(1, Ordering::Relaxed) + 1;
                let _ = ack.send(json!({"sum": point.x + point.y, "done": done}));
            },
        );
        socket.on(
            "checked",
            |TryData(point): TryData<Point>, ack: AckSender| async move {
                let _ = match point {
                    Ok(point) => ack.send(point.x),
                    Err(error) => ack.send(json!({"error": error.to_string()})),
                };
            },
        );
        socket.on(
            "tag",
            |Extension(tag): Extension<&'static str>, ack: AckSender| async move {
                let _ = ack.send(tag);
            },
        );
        socket.on(
            "untagged",
            |Extension(tag): Extension<u64>, ack: AckSender| async move {
                let _ = ack.send(tag);
            },
        );
        socket.on(
            "both",
            |Data((a, b)): Data<(String, u8)>, ack: AckSender| async move {
                let _ = ack.send(format!("{a}{b}"));
            },
        );
    });
    let srv = SioServer::start(io);
    let mut client = srv.raw().await;
    client.connect("/", None).await;
    client.send(r#"421["sum",{"x":2,"y":3}]"#);
    client.expect(r#"431[{"sum":5,"done":1}]"#).await;
    client.send(r#"422["sum",{"x":"2"}]"#);
    // Data that does not decode: the handler does not run, no ack comes.
    client.send(r#"423["sum",{"x":1,"y":1}]"#);
    client.expect(r#"433[{"sum":2,"done":2}]"#).await;
    client.send(r#"424["checked",{"x":"no"}]"#);
    client
        .expect(r#"434[{"error":"the event's data does not decode"}]"#)
        .await;
    client.send(r#"425["tag"]"#);
    client.expect(r#"435["tagged"]"#).await;
    // An extension the socket does not have: not run.
    client.send(r#"426["untagged"]"#);
    client.send(r#"427["both","a",1]"#);
    client.expect(r#"437["a1"]"#).await;
    client.expect_silence(QUIET).await;
    srv.stop().await;
}

#[actix_web::test]
async fn catch_all_listeners_are_ordered_and_removable() {
    let (tx, mut seen) = reports::<String>();
    let io = SocketIo::new(sio_config());
    io.on_connect(move |socket: Socket| {
        let (late, early, handler) = (tx.clone(), tx.clone(), tx.clone());
        socket.on_any(move |_, event, _| {
            let _ = late.send(format!("any {event}"));
        });
        socket.prepend_any(move |_, event, _| {
            let _ = early.send(format!("first {event}"));
        });
        socket.on("e", move || {
            let _ = handler.send("handler".to_owned());
            async {}
        });
        socket.on("off", |socket: Socket| async move {
            socket.off_any();
            socket.off("e");
        });
        async {}
    });
    let srv = SioServer::start(io);
    let mut client = srv.raw().await;
    client.connect("/", None).await;
    client.send(r#"42["e"]"#);
    assert_eq!(seen.next("first").await, "first e");
    assert_eq!(seen.next("any").await, "any e");
    assert_eq!(seen.next("handler").await, "handler");
    client.send(r#"42["off"]"#);
    assert_eq!(seen.next("first").await, "first off");
    assert_eq!(seen.next("any").await, "any off");
    client.send(r#"42["e"]"#);
    seen.expect_none(QUIET).await;
    srv.stop().await;
}

#[actix_web::test]
async fn rooms_leave_together_and_reserved_names_are_refused() {
    let (tx, mut seen) = reports::<Socket>();
    let io = SocketIo::new(sio_config());
    io.on_connect(move |socket: Socket| {
        let _ = tx.send(socket);
        async {}
    });
    let srv = SioServer::start(io);
    let mut client = srv.raw().await;
    let id = client.connect("/", None).await;
    let socket = seen.next("the socket").await;
    socket.join(["a", "b", "c"]).unwrap();
    // A socket stays in its own room.
    socket.leave(["a", "b", id.as_str()]);
    let mut rooms = socket.rooms();
    rooms.sort();
    let mut expected = vec!["c".to_owned(), id];
    expected.sort();
    assert_eq!(rooms, expected);
    for name in ["connect", "disconnect", "disconnecting", "connect_error"] {
        assert!(
            matches!(socket.emit(name, 1), Err(Error::ReservedEvent(ref n)) if n == name),
            "{name}"
        );
        assert!(matches!(srv.io.emit(name, 1), Err(Error::ReservedEvent(_))));
    }
    assert_eq!(
        Error::ReservedEvent("connect".into()).to_string(),
        r#""connect" is a reserved event name"#
    );
    client.expect_silence(QUIET).await;
    srv.stop().await;
}

#[actix_web::test]
async fn acks_wait_the_configured_timeout_unless_told_otherwise() {
    let mut config = sio_config();
    config.ack_timeout = Duration::from_millis(150);
    let (tx, mut seen) = reports::<Socket>();
    let io = SocketIo::new(config);
    io.on_connect(move |socket: Socket| {
        let _ = tx.send(socket);
        async {}
    });
    let srv = SioServer::start(io);
    let mut client = srv.raw().await;
    client.connect("/", None).await;
    let socket = seen.next("the socket").await;

    let started = Instant::now();
    let answer = socket.emit_with_ack::<()>("q", 1).await;
    assert!(matches!(answer, Err(Error::Timeout)), "{answer:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(140) && waited < STEP,
        "{waited:?}"
    );
    client.expect(r#"420["q",1]"#).await;

    let asking = socket
        .timeout(Duration::from_secs(2))
        .emit_with_ack::<String>("q", 2);
    client.expect(r#"421["q",2]"#).await;
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    client.send(r#"431["late but in time"]"#);
    assert_eq!(asking.await.unwrap(), "late but in time");

    let started = Instant::now();
    let all = srv.io.emit_with_ack("q", 3).await;
    assert!(matches!(all, Err(Error::AckTimeout { ref responses }) if responses.is_empty()));
    assert!(started.elapsed() >= Duration::from_millis(140));
    client.expect(r#"422["q",3]"#).await;
    srv.stop().await;
}

#[actix_web::test]
async fn the_server_is_the_root_namespace() {
    let io = SocketIo::new(sio_config());
    io.on_connect(|socket: Socket| async move {
        let _ = socket.join("room");
    });
    let srv = SioServer::start(io);
    let mut client = srv.raw().await;
    let id = client.connect("/", None).await;
    let io = &srv.io;
    assert_eq!(io.name(), "/");
    assert_eq!(io.sockets().len(), 1);
    assert!(io.socket(&id).is_some());
    io.to("room").emit("to", 1).unwrap();
    io.in_("room").compress(true).emit("in", 2).unwrap();
    io.except("room").emit("except", 3).unwrap();
    io.local().emit("local", 4).unwrap();
    let mut payload = Payload::new(vec![json!("bin")]);
    payload.push_binary(vec![1u8, 2]);
    io.emit_payload("payload", payload).unwrap();
    client.expect(r#"42["to",1]"#).await;
    client.expect(r#"42["in",2]"#).await;
    client.expect(r#"42["local",4]"#).await;
    client
        .expect(r#"451-["payload","bin",{"_placeholder":true,"num":0}]"#)
        .await;
    assert_eq!(&client.recv_binary().await[..], [1, 2]);
    assert_eq!(io.fetch_sockets().await.unwrap().len(), 1);
    io.sockets_join("more").await.unwrap();
    assert!(io.socket(&id).unwrap().rooms().contains(&"more".to_owned()));
    io.sockets_leave("more").await.unwrap();
    io.disconnect_sockets(false).await.unwrap();
    client.expect("41").await;
    srv.stop().await;
}
