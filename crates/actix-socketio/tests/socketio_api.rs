//! The Socket.IO API against a real server, seen from a raw client: every assertion is
//! on the exact text and binary frames of the wire protocol.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use actix_socketio::socket::{MiddlewareError, RemoteSocket};
use actix_socketio::{ConnectError, DisconnectReason, Error, Event, Payload, Socket, SocketIo};
use serde::Deserialize;
use serde_json::{json, Value};
use support::{reports, sio_config, RawClient, SioServer, WsEnd, STEP};

/// The ack timeout of the server's `emit_with_ack` in these tests.
const ACK: Duration = Duration::from_millis(200);

/// Long enough for the server to have acted on a frame if it was going to.
const QUIET: Duration = Duration::from_millis(100);

/// A server with the short settings, its handlers registered by `setup`.
fn server(setup: impl FnOnce(&SocketIo)) -> SioServer {
    let io = SocketIo::new(sio_config());
    setup(&io);
    SioServer::start(io)
}

/// Answers the event's ack, if the client asked for one, with no arguments (`43<id>[]`).
fn ack_empty(event: &mut Event) {
    let _ = event.take_ack().send_payload(Payload::default());
}

/// Sends the event back as it came, attachments included.
fn echo(socket: &Socket) {
    socket.on("echo", |s: Socket, e: Event| async move {
        let _ = s.emit_payload("echo", e.payload().clone());
    });
}

// ---------------------------------------------------------------------------------------
// CONNECT
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn connect_answers_a_socket_id_that_is_not_the_engine_sid() {
    let srv = server(|_| {});
    let mut client = srv.raw().await;
    let sid = client.connect("/", None).await;
    assert_eq!(sid.len(), 20, "socket id {sid:?}");
    assert_ne!(
        sid, client.eio_sid,
        "the socket id is not the Engine.IO sid"
    );
    assert_eq!(client.eio_sid.len(), 20);
    let ns = srv.io.of("/");
    assert_eq!(
        ns.socket(&sid).map(|s| s.id().to_owned()),
        Some(sid.clone())
    );
    assert!(ns.socket(&client.eio_sid).is_none());

    // A second connection gets another id.
    let mut other = srv.raw().await;
    let other_sid = other.connect("/", None).await;
    assert_ne!(other_sid, sid);
    assert_eq!(ns.sockets().len(), 2);
    srv.stop().await;
}

#[actix_web::test]
async fn connect_to_a_custom_namespace_and_to_an_unknown_one() {
    let srv = server(|io| {
        io.of("/custom");
    });
    let mut client = srv.raw().await;
    // Only a custom namespace, without the main one: allowed in v5.
    let sid = client.connect("/custom", None).await;
    assert!(srv.io.of("/custom").socket(&sid).is_some());
    assert!(srv.io.of("/").sockets().is_empty());

    client.send("40/nope,");
    client
        .expect(r#"44/nope,{"message":"Invalid namespace"}"#)
        .await;
    // The refusal leaves the connection and the other namespace alone.
    let root = client.connect("/", None).await;
    assert_ne!(root, sid);
    client.expect_silence(QUIET).await;
    srv.stop().await;
}

#[actix_web::test]
async fn nothing_but_pings_comes_before_connect() {
    let srv = server(|io| {
        io.on_connect(|s: Socket| async move {
            let _ = s.emit("hello", "world");
        });
    });
    let mut client = srv.raw().await;
    // Less than the connect timeout: nothing at all arrives (pings are answered by the
    // client task and never reported).
    client.expect_silence(Duration::from_millis(150)).await;
    client.connect("/", None).await;
    client.expect(r#"42["hello","world"]"#).await;
    // Joined in time: the connect timeout does not close the connection later.
    client.expect_silence(Duration::from_millis(500)).await;
    srv.stop().await;
}

#[actix_web::test]
async fn no_connect_within_connect_timeout_closes_the_websocket() {
    let srv = server(|_| {});
    let started = Instant::now();
    let mut client = srv.raw().await;
    let end = client.expect_closed(Duration::from_secs(1)).await;
    assert!(
        matches!(end, WsEnd::Close(_) | WsEnd::Dropped),
        "closed: {end:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "closed by the connect timeout (300 ms), not at once: {:?}",
        started.elapsed()
    );
    assert_eq!(srv.io.engine().session_count(), 0);
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Connect middleware
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn connect_middleware_refuses_with_message_and_data() {
    let (tx, mut connected) = reports::<String>();
    let srv = server(move |io| {
        io.use_middleware(|s: Socket| async move {
            if s.handshake().auth["token"] == "ok" {
                Ok(())
            } else {
                Err(ConnectError::new("not authorized").with_data(json!({"code": 401})))
            }
        });
        io.on_connect(move |s: Socket| {
            let _ = tx.send(s.id().to_owned());
            async {}
        });
    });
    let mut client = srv.raw().await;
    client.send("40");
    client
        .expect(r#"44{"message":"not authorized","data":{"code":401}}"#)
        .await;
    client.send(r#"40{"token":"nope"}"#);
    client
        .expect(r#"44{"message":"not authorized","data":{"code":401}}"#)
        .await;
    connected.expect_none(QUIET).await;
    assert!(srv.io.of("/").sockets().is_empty());

    // The same connection may try again.
    let sid = client.connect("/", Some(r#"{"token":"ok"}"#)).await;
    assert_eq!(connected.next("the connect handler runs").await, sid);
    srv.stop().await;
}

#[actix_web::test]
async fn async_connect_middleware_waits_then_accepts() {
    let (tx, mut steps) = reports::<&'static str>();
    let srv = server(move |io| {
        let first = tx.clone();
        io.use_middleware(move |_: Socket| {
            let tx = first.clone();
            async move {
                let _ = tx.send("first starts");
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = tx.send("first done");
                Ok(())
            }
        });
        let second = tx.clone();
        io.use_middleware(move |_: Socket| {
            let _ = second.send("second");
            async { Ok(()) }
        });
        io.on_connect(move |s: Socket| {
            let _ = tx.send("connected");
            async move {
                let _ = s.emit("ready", ());
            }
        });
    });
    let mut client = srv.raw().await;
    let started = Instant::now();
    client.connect("/", None).await;
    assert!(
        started.elapsed() >= Duration::from_millis(20),
        "the CONNECT answer waited for the middleware: {:?}",
        started.elapsed()
    );
    client.expect(r#"42["ready",null]"#).await;
    for step in ["first starts", "first done", "second", "connected"] {
        assert_eq!(steps.next(step).await, step);
    }
    srv.stop().await;
}

#[actix_web::test]
async fn a_second_connect_during_async_middleware_makes_no_second_socket() {
    let (tx, mut connected) = reports::<String>();
    let srv = server(move |io| {
        io.use_middleware(|_: Socket| async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            Ok(())
        });
        io.on_connect(move |s: Socket| {
            let _ = tx.send(s.id().to_owned());
            async {}
        });
    });
    let mut client = srv.raw().await;
    client.send("40");
    // Well inside the first CONNECT's middleware (the client's second small frame may
    // wait for the server's TCP ack, a few ms on loopback).
    actix_rt::time::sleep(Duration::from_millis(30)).await;
    client.send("40");
    let answer = client.recv_text().await;
    let sid = connected.next("the connect handler").await;
    assert_eq!(answer, format!(r#"40{{"sid":"{sid}"}}"#));
    // The second CONNECT, once its middleware is done, is dropped.
    client.expect_silence(Duration::from_millis(250)).await;
    connected.expect_none(Duration::ZERO).await;
    let ns = srv.io.of("/");
    assert_eq!(
        ns.sockets()
            .iter()
            .map(|s| s.id().to_owned())
            .collect::<Vec<_>>(),
        [sid]
    );
    // Nothing is left behind when the connection closes.
    client.close();
    client.expect_closed(STEP).await;
    support::within(STEP, "the namespace is empty", async {
        while !ns.sockets().is_empty() {
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(ns.fetch_sockets().await.unwrap().is_empty());
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn handshake_shows_auth_query_headers_cookies_and_client_ip() {
    let srv = server(|io| {
        io.on_connect(|s: Socket| async move {
            let hs = s.handshake();
            let _ = s.emit(
                "handshake",
                json!({
                    "auth": hs.auth,
                    "token": hs.query_param("token"),
                    "missing": hs.query_param("missing"),
                    "header": hs.header("x-custom"),
                    "cookie": hs.cookie("session").map(|c| c.value().to_owned()),
                    "ip": hs.client_ip(),
                    "url_has_token": hs.url().contains("token=abc%20def"),
                }),
            );
        });
    });
    let mut client = srv
        .raw_with(
            "token=abc%20def",
            &[
                ("X-Custom", "hello"),
                ("Cookie", "theme=dark; session=x%20y"),
                ("X-Forwarded-For", "203.0.113.7, 10.0.0.1"),
            ],
        )
        .await;
    client.connect("/", Some(r#"{"user":"ann","n":1}"#)).await;
    client
        .expect(concat!(
            r#"42["handshake",{"auth":{"user":"ann","n":1},"token":"abc def","missing":null,"#,
            r#""header":"hello","cookie":"x y","ip":"203.0.113.7","url_has_token":true}]"#
        ))
        .await;

    // Without X-Forwarded-For, the TCP peer; without auth, `{}`.
    let mut plain = srv.raw().await;
    plain.connect("/", None).await;
    plain
        .expect(concat!(
            r#"42["handshake",{"auth":{},"token":null,"missing":null,"header":null,"#,
            r#""cookie":null,"ip":"127.0.0.1","url_has_token":false}]"#
        ))
        .await;
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

#[actix_web::test]
async fn events_round_trip_exactly_and_deserialize_typed() {
    let srv = server(|io| {
        io.on_connect(|s: Socket| async move {
            echo(&s);
            s.on("point", |s: Socket, e: Event| async move {
                let _ = match e.data::<Point>() {
                    Ok(p) => s.emit("point", json!({"sum": p.x + p.y})),
                    Err(_) => s.emit("point", "invalid"),
                };
            });
            s.on("pair", |s: Socket, e: Event| async move {
                let _ = match e.data::<(String, u32)>() {
                    Ok((name, n)) => s.emit("pair", format!("{name}:{n}")),
                    Err(_) => s.emit("pair", "invalid"),
                };
            });
        });
    });
    let mut client = srv.raw().await;
    client.connect("/", None).await;

    // Key order, nulls and compactness survive the round trip.
    let text = r#"42["echo",{"b":1,"a":[true,null]}]"#;
    client.send(text);
    client.expect(text).await;
    let text = r#"42["echo",1,"two",[3,{"z":{},"y":[]}],-0.5,"é ✓"]"#;
    client.send(text);
    client.expect(text).await;
    client.send(r#"42["echo"]"#);
    client.expect(r#"42["echo"]"#).await;

    client.send(r#"42["point",{"x":1,"y":-3}]"#);
    client.expect(r#"42["point",{"sum":-2}]"#).await;
    client.send(r#"42["point","nope"]"#);
    client.expect(r#"42["point","invalid"]"#).await;

    client.send(r#"42["pair","ann",7]"#);
    client.expect(r#"42["pair","ann:7"]"#).await;
    client.send(r#"42["pair","ann"]"#);
    client.expect(r#"42["pair","invalid"]"#).await;

    // An event without a handler is ignored; the connection goes on.
    client.send(r#"42["nobody",1]"#);
    client.send(r#"42["echo",2]"#);
    client.expect(r#"42["echo",2]"#).await;
    client.expect_silence(QUIET).await;
    srv.stop().await;
}

#[actix_web::test]
async fn on_any_sees_incoming_events_and_on_any_outgoing_sees_emits() {
    let (tx, mut seen) = reports::<String>();
    let srv = server(move |io| {
        io.on_connect(move |s: Socket| {
            let incoming = tx.clone();
            s.on_any(move |_, name, payload| {
                let _ = incoming.send(format!("in {name} {}", json!(payload.args)));
            });
            let outgoing = tx.clone();
            s.on_any_outgoing(move |_, name, payload| {
                let _ = outgoing.send(format!("out {name} {}", json!(payload.args)));
            });
            echo(&s);
            async move {
                let _ = s.emit("welcome", 1);
            }
        });
    });
    let mut client = srv.raw().await;
    client.connect("/", None).await;
    client.expect(r#"42["welcome",1]"#).await;
    assert_eq!(seen.next("welcome").await, "out welcome [1]");

    client.send(r#"42["echo",{"a":1}]"#);
    client.expect(r#"42["echo",{"a":1}]"#).await;
    assert_eq!(seen.next("incoming echo").await, r#"in echo [{"a":1}]"#);
    assert_eq!(seen.next("outgoing echo").await, r#"out echo [{"a":1}]"#);

    // Events without a handler are seen too.
    client.send(r#"42["nobody","x",2]"#);
    assert_eq!(seen.next("incoming nobody").await, r#"in nobody ["x",2]"#);
    seen.expect_none(QUIET).await;

    // Broadcasts go out through the socket too (as with Node's adapter).
    srv.io.emit("news", "all").unwrap();
    client.expect(r#"42["news","all"]"#).await;
    assert_eq!(seen.next("outgoing broadcast").await, r#"out news ["all"]"#);
    seen.expect_none(QUIET).await;
    srv.stop().await;
}

#[actix_web::test]
async fn packet_middleware_refuses_and_rewrites_events() {
    let (tx, mut seen) = reports::<String>();
    let srv = server(move |io| {
        io.on_connect(move |s: Socket| {
            s.use_packet(|_, e: &mut Event| {
                if e.name() == "forbidden" {
                    Err(MiddlewareError("forbidden event".into()))
                } else {
                    Ok(())
                }
            });
            s.use_packet(|_, e: &mut Event| {
                if e.name() == "shout" {
                    for arg in &mut e.payload_mut().args {
                        if let Value::String(text) = arg {
                            *text = text.to_uppercase();
                        }
                    }
                }
                Ok(())
            });
            let errors = tx.clone();
            s.on_error(move |_, error| {
                let _ = errors.send(format!("error: {error}"));
            });
            let any = tx.clone();
            s.on_any(move |_, name, _| {
                let _ = any.send(format!("any: {name}"));
            });
            let called = tx.clone();
            s.on("forbidden", move |s: Socket, _: Event| {
                let _ = called.send("the forbidden handler ran".into());
                async move {
                    let _ = s.emit("forbidden", "ran");
                }
            });
            s.on("shout", |s: Socket, e: Event| async move {
                let _ = s.emit_payload("shout", e.payload().clone());
            });
            async {}
        });
    });
    let mut client = srv.raw().await;
    client.connect("/", None).await;

    client.send(r#"42["forbidden","x"]"#);
    client.send(r#"42["shout","hi",1,"there"]"#);
    // The refused event reaches neither on_any nor its handler; the next one is rewritten.
    client.expect(r#"42["shout","HI",1,"THERE"]"#).await;
    assert_eq!(seen.next("on_error").await, "error: forbidden event");
    assert_eq!(seen.next("on_any").await, "any: shout");
    seen.expect_none(QUIET).await;
    client.expect_silence(QUIET).await;
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Acks
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn client_asks_for_an_ack() {
    let srv = server(|io| {
        let handlers = |s: Socket| async move {
            s.on("echo-ack", |_: Socket, e: Event| async move {
                let (_, payload, ack) = e.into_parts();
                let _ = ack.send_payload(payload);
            });
            s.on("one", |_: Socket, mut e: Event| async move {
                let _ = e.ack(json!({"ok": true}));
            });
        };
        io.on_connect(handlers);
        io.of("/custom").on_connect(handlers);
    });
    let mut client = srv.raw().await;
    client.connect("/", None).await;
    client.send(r#"421["echo-ack",1]"#);
    client.expect("431[1]").await;
    client.send(r#"42987654321["echo-ack","a",{"b":[]}]"#);
    client.expect(r#"43987654321["a",{"b":[]}]"#).await;
    client.send(r#"425["one"]"#);
    client.expect(r#"435[{"ok":true}]"#).await;
    // No id: no ack.
    client.send(r#"42["echo-ack",1]"#);
    client.expect_silence(QUIET).await;

    client.connect("/custom", None).await;
    client.send(r#"42/custom,7["echo-ack","x"]"#);
    client.expect(r#"43/custom,7["x"]"#).await;
    srv.stop().await;
}

/// What the server's `emit_with_ack` returned, as text.
fn ack_report(result: &Result<Payload, Error>) -> String {
    match result {
        Ok(payload) => format!("ok {} +{}", json!(payload.args), payload.binary.len()),
        Err(error) => format!("err {error:?}"),
    }
}

/// A server whose sockets, on `ask` with a timeout in ms, emit `question` with an ack
/// and report the result.
fn asking_server() -> (SioServer, support::Reports<String>) {
    let (tx, seen) = reports::<String>();
    let srv = server(move |io| {
        io.on_connect(move |s: Socket| {
            let tx = tx.clone();
            s.on("ask", move |s: Socket, e: Event| {
                let tx = tx.clone();
                let timeout = Duration::from_millis(e.data::<u64>().unwrap_or(200));
                async move {
                    let result = s
                        .timeout(timeout)
                        .emit_with_ack_payload("question", Payload::json(42).unwrap())
                        .await;
                    let _ = tx.send(ack_report(&result));
                }
            });
            async {}
        });
    });
    (srv, seen)
}

#[actix_web::test]
async fn server_emit_with_ack_gets_the_answer_or_times_out() {
    let (srv, mut seen) = asking_server();
    let mut client = srv.raw().await;
    client.connect("/", None).await;

    client.send(r#"42["ask",2000]"#);
    client.expect(r#"420["question",42]"#).await;
    client.send(r#"430["answer",{"k":1}]"#);
    assert_eq!(seen.next("the ack").await, r#"ok ["answer",{"k":1}] +0"#);

    // A binary answer.
    client.send(r#"42["ask",2000]"#);
    client.expect(r#"421["question",42]"#).await;
    client.send(r#"461-1[{"_placeholder":true,"num":0}]"#);
    client.send_binary(&[9, 8, 7]);
    assert_eq!(
        seen.next("the binary ack").await,
        r#"ok [{"_placeholder":true,"num":0}] +1"#
    );

    // No answer: a timeout after the ack timeout (200 ms).
    let started = Instant::now();
    client.send(r#"42["ask",200]"#);
    client.expect(r#"422["question",42]"#).await;
    assert_eq!(seen.next("the timeout").await, "err Timeout");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(190) && waited < STEP,
        "timed out after {waited:?}"
    );
    // A late answer, and one for an id never used, are ignored.
    client.send(r#"432["late"]"#);
    client.send(r#"4399["unknown"]"#);
    seen.expect_none(QUIET).await;
    client.send(r#"42["ask",2000]"#);
    client.expect(r#"423["question",42]"#).await;
    client.send(r#"433[]"#);
    assert_eq!(seen.next("the last ack").await, "ok [] +0");
    srv.stop().await;
}

#[actix_web::test]
async fn disconnect_while_waiting_for_an_ack_is_reported() {
    let (srv, mut seen) = asking_server();

    // The client leaves the namespace.
    let mut client = srv.raw().await;
    client.connect("/", None).await;
    client.send(r#"42["ask",5000]"#);
    client.expect(r#"420["question",42]"#).await;
    let started = Instant::now();
    client.send("41");
    assert_eq!(seen.next("the ack fails").await, "err Disconnected");
    assert!(started.elapsed() < Duration::from_secs(1), "at once");

    // The client closes the connection.
    let mut closing = srv.raw().await;
    closing.connect("/", None).await;
    closing.send(r#"42["ask",5000]"#);
    closing.expect(r#"420["question",42]"#).await;
    closing.close();
    assert_eq!(seen.next("the ack fails").await, "err Disconnected");
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Binary
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn binary_events_and_acks_round_trip() {
    let srv = server(|io| {
        io.on_connect(|s: Socket| async move {
            echo(&s);
            s.on("echo-ack", |_: Socket, e: Event| async move {
                let (_, payload, ack) = e.into_parts();
                let _ = ack.send_payload(payload);
            });
            s.on("file", |s: Socket, _: Event| async move {
                let mut payload = Payload::new(vec![json!("file")]);
                payload.push_binary(vec![0u8, 255]);
                payload.push_binary(Vec::<u8>::new());
                let _ = s.emit_payload("file", payload);
            });
        });
    });
    let mut client = srv.raw().await;
    client.connect("/", None).await;

    let text = r#"451-["echo",{"_placeholder":true,"num":0}]"#;
    client.send(text);
    client.send_binary(&[1, 2, 3]);
    client.expect(text).await;
    assert_eq!(&client.recv_binary().await[..], &[1, 2, 3]);

    let text = r#"452-["echo","a",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#;
    client.send(text);
    client.send_binary(&[10]);
    client.send_binary(&[20, 21]);
    client.expect(text).await;
    assert_eq!(&client.recv_binary().await[..], &[10]);
    assert_eq!(&client.recv_binary().await[..], &[20, 21]);

    // With an ack id, answered by a binary ack.
    client.send(r#"451-3["echo-ack",{"_placeholder":true,"num":0}]"#);
    client.send_binary(&[4, 5]);
    client
        .expect(r#"461-3[{"_placeholder":true,"num":0}]"#)
        .await;
    assert_eq!(&client.recv_binary().await[..], &[4, 5]);

    // Payload::push_binary from the server.
    client.send(r#"42["file"]"#);
    client
        .expect(
            r#"452-["file","file",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        )
        .await;
    assert_eq!(&client.recv_binary().await[..], &[0, 255]);
    assert_eq!(&client.recv_binary().await[..], &[] as &[u8]);
    client.expect_silence(QUIET).await;
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Rooms and broadcasts
// ---------------------------------------------------------------------------------------

/// A server whose sockets join and leave rooms, and broadcast to rooms, on request; every
/// request is acked with `43<id>[]` once done.
fn rooms_server() -> SioServer {
    server(|io| {
        io.on_connect(|s: Socket| async move {
            s.on("join", |s: Socket, mut e: Event| async move {
                if let Ok(rooms) = e.data::<Vec<String>>() {
                    let _ = s.join(rooms);
                }
                ack_empty(&mut e);
            });
            s.on("leave", |s: Socket, mut e: Event| async move {
                if let Ok(room) = e.data::<String>() {
                    s.leave(&room);
                }
                ack_empty(&mut e);
            });
            s.on("to", |s: Socket, mut e: Event| async move {
                if let Ok((rooms, text)) = e.data::<(Vec<String>, String)>() {
                    let _ = s.to(rooms).emit("msg", text);
                }
                ack_empty(&mut e);
            });
            s.on("broadcast", |s: Socket, mut e: Event| async move {
                if let Ok(text) = e.data::<String>() {
                    let _ = s.broadcast().emit("msg", text);
                }
                ack_empty(&mut e);
            });
        });
    })
}

/// Sends an event with ack id `id` and waits for its empty ack.
async fn request(client: &mut RawClient, id: u32, event: &str) {
    client.send(&format!("42{id}{event}"));
    client.expect(&format!("43{id}[]")).await;
}

/// Emits `mark` to everyone, then returns what each client received before it.
async fn received(srv: &SioServer, clients: &mut [RawClient], mark: u32) -> Vec<Vec<String>> {
    srv.io.emit("mark", mark).expect("emit mark");
    let end = format!(r#"42["mark",{mark}]"#);
    let mut all = Vec::new();
    for client in clients.iter_mut() {
        let mut got = Vec::new();
        loop {
            let text = client.recv_text().await;
            if text == end {
                break;
            }
            got.push(text);
        }
        all.push(got);
    }
    all
}

fn msg(text: &str) -> String {
    format!(r#"42["msg","{text}"]"#)
}

/// Each socket's rooms, sorted, by socket id.
fn rooms_by_id(sockets: Vec<RemoteSocket>) -> BTreeMap<String, Vec<String>> {
    sockets
        .into_iter()
        .map(|s| {
            let mut rooms = s.rooms().to_vec();
            rooms.sort();
            (s.id().to_owned(), rooms)
        })
        .collect()
}

fn sorted(mut rooms: Vec<String>) -> Vec<String> {
    rooms.sort();
    rooms
}

#[actix_web::test]
async fn rooms_and_broadcasts() {
    let srv = rooms_server();
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut client = srv.raw().await;
        ids.push(client.connect("/", None).await);
        clients.push(client);
    }
    let (a, b, c) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    // a: r1; b: r1, r2; c: r2.
    request(&mut clients[0], 1, r#"["join",["r1"]]"#).await;
    request(&mut clients[1], 1, r#"["join",["r1","r2"]]"#).await;
    request(&mut clients[2], 1, r#"["join",["r2"]]"#).await;
    let none: Vec<String> = Vec::new();

    // socket.to(room) leaves out the sender.
    request(&mut clients[0], 2, r#"["to",["r1"],"from-a"]"#).await;
    assert_eq!(
        received(&srv, &mut clients, 1).await,
        [none.clone(), vec![msg("from-a")], none.clone()]
    );
    // socket.broadcast() reaches everyone else.
    request(&mut clients[2], 2, r#"["broadcast","from-c"]"#).await;
    assert_eq!(
        received(&srv, &mut clients, 2).await,
        [vec![msg("from-c")], vec![msg("from-c")], none.clone()]
    );
    // io.to(room) includes every member.
    srv.io.to("r1").emit("msg", "io-r1").unwrap();
    assert_eq!(
        received(&srv, &mut clients, 3).await,
        [vec![msg("io-r1")], vec![msg("io-r1")], none.clone()]
    );
    // Several rooms: once per socket, even in both.
    srv.io.to(["r1", "r2"]).emit("msg", "both").unwrap();
    srv.io.to("r1").to("r2").emit("msg", "chained").unwrap();
    assert_eq!(
        received(&srv, &mut clients, 4).await,
        [
            vec![msg("both"), msg("chained")],
            vec![msg("both"), msg("chained")],
            vec![msg("both"), msg("chained")]
        ]
    );
    request(&mut clients[0], 3, r#"["to",["r1","r2"],"multi"]"#).await;
    assert_eq!(
        received(&srv, &mut clients, 5).await,
        [none.clone(), vec![msg("multi")], vec![msg("multi")]]
    );
    // except: by room, and by socket id (every socket is in its own room).
    srv.io.except("r2").emit("msg", "not-r2").unwrap();
    srv.io.to("r2").except(&a).emit("msg", "r2").unwrap();
    srv.io.to("r1").except(&b).emit("msg", "r1-not-b").unwrap();
    srv.io.to(&c).emit("msg", "to-c").unwrap();
    assert_eq!(
        received(&srv, &mut clients, 6).await,
        [
            vec![msg("not-r2"), msg("r1-not-b")],
            vec![msg("r2")],
            vec![msg("r2"), msg("to-c")]
        ]
    );
    // leave.
    request(&mut clients[1], 2, r#"["leave","r1"]"#).await;
    srv.io.to("r1").emit("msg", "after-leave").unwrap();
    srv.io.to("nobody-here").emit("msg", "empty").unwrap();
    assert_eq!(
        received(&srv, &mut clients, 7).await,
        [vec![msg("after-leave")], none.clone(), none.clone()]
    );
    // Volatile: a WebSocket can always take it.
    srv.io.volatile().emit("msg", "volatile").unwrap();
    assert_eq!(
        received(&srv, &mut clients, 8).await,
        [
            vec![msg("volatile")],
            vec![msg("volatile")],
            vec![msg("volatile")]
        ]
    );

    // The namespace's view, and its operations on remote-capable sockets.
    let ns = srv.io.of("/");
    assert_eq!(
        rooms_by_id(ns.fetch_sockets().await.unwrap()),
        BTreeMap::from([
            (a.clone(), sorted(vec![a.clone(), "r1".into()])),
            (b.clone(), sorted(vec![b.clone(), "r2".into()])),
            (c.clone(), sorted(vec![c.clone(), "r2".into()])),
        ])
    );
    ns.to("r2").sockets_join("r3").await.unwrap();
    ns.to(&a).sockets_join(["r4", "r5"]).await.unwrap();
    assert_eq!(
        rooms_by_id(ns.fetch_sockets().await.unwrap()),
        BTreeMap::from([
            (
                a.clone(),
                sorted(vec![a.clone(), "r1".into(), "r4".into(), "r5".into()])
            ),
            (b.clone(), sorted(vec![b.clone(), "r2".into(), "r3".into()])),
            (c.clone(), sorted(vec![c.clone(), "r2".into(), "r3".into()])),
        ])
    );
    assert_eq!(
        rooms_by_id(ns.to("r3").fetch_sockets().await.unwrap())
            .into_keys()
            .collect::<Vec<_>>(),
        sorted(vec![b.clone(), c.clone()])
    );
    ns.to("r3").sockets_leave("r2").await.unwrap();
    ns.sockets_leave("r5").await.unwrap();
    assert_eq!(
        rooms_by_id(ns.fetch_sockets().await.unwrap()),
        BTreeMap::from([
            (a.clone(), sorted(vec![a.clone(), "r1".into(), "r4".into()])),
            (b.clone(), sorted(vec![b.clone(), "r3".into()])),
            (c.clone(), sorted(vec![c.clone(), "r3".into()])),
        ])
    );
    srv.io.to("r2").emit("msg", "r2-gone").unwrap();
    srv.io.to("r3").emit("msg", "r3").unwrap();
    assert_eq!(
        received(&srv, &mut clients, 9).await,
        [none.clone(), vec![msg("r3")], vec![msg("r3")]]
    );

    // disconnect_sockets(false): b leaves the namespace, its connection stays.
    ns.to("r3")
        .except(&c)
        .disconnect_sockets(false)
        .await
        .unwrap();
    clients[1].expect("41").await;
    assert_eq!(
        rooms_by_id(ns.fetch_sockets().await.unwrap())
            .into_keys()
            .collect::<Vec<_>>(),
        sorted(vec![a.clone(), c.clone()])
    );
    assert!(ns.socket(&b).is_none());
    let b2 = clients[1].connect("/", None).await;
    assert_ne!(b2, b);
    // disconnect_sockets(true): c leaves and its connection is closed.
    ns.to(&c).disconnect_sockets(true).await.unwrap();
    clients[2].expect("41").await;
    let end = clients[2].expect_closed(STEP).await;
    assert!(matches!(end, WsEnd::Close(_) | WsEnd::Dropped), "{end:?}");
    assert_eq!(
        rooms_by_id(ns.fetch_sockets().await.unwrap())
            .into_keys()
            .collect::<Vec<_>>(),
        sorted(vec![a.clone(), b2.clone()])
    );
    let mut rest: Vec<RawClient> = clients.drain(..2).collect();
    assert_eq!(received(&srv, &mut rest, 10).await, [none.clone(), none]);
    srv.stop().await;
}

#[actix_web::test]
async fn broadcast_emit_with_ack_collects_answers_and_timeouts() {
    let srv = server(|_| {});
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut client = srv.raw().await;
        ids.push(client.connect("/", None).await);
        clients.push(client);
    }
    let ns = srv.io.of("/");
    let waiting = actix_rt::spawn(async move {
        let started = Instant::now();
        let results = ns.all().timeout(ACK).emit_with_ack("ask", "q").await;
        (results, started.elapsed())
    });
    for client in &mut clients {
        client.expect(r#"420["ask","q"]"#).await;
    }
    clients[0].send(r#"430["from-a"]"#);
    clients[1].send(r#"430["from-b",2]"#);
    // clients[2] does not answer.
    let (results, waited) = support::within(STEP, "the broadcast acks", waiting)
        .await
        .expect("the broadcast task");
    // The answers that came, in the order they came; the silent socket makes it a timeout.
    let Err(Error::AckTimeout { responses }) = results else {
        panic!("expected a timeout, got {results:?}");
    };
    let answers: Vec<String> = responses
        .iter()
        .map(|payload| ack_report(&Ok(payload.clone())))
        .collect();
    assert_eq!(answers, [r#"ok ["from-a"] +0"#, r#"ok ["from-b",2] +0"#]);
    assert!(waited >= Duration::from_millis(190), "waited {waited:?}");

    // Rooms select who is asked.
    let ns = srv.io.of("/");
    ns.to(&ids[1]).sockets_join("chosen").await.unwrap();
    let waiting = actix_rt::spawn(async move {
        ns.to("chosen")
            .timeout(ACK)
            .emit_with_ack("ask", "again")
            .await
    });
    clients[1].expect(r#"421["ask","again"]"#).await;
    clients[1].send(r#"431["yes"]"#);
    let results = support::within(STEP, "the room's ack", waiting)
        .await
        .expect("the broadcast task")
        .expect("the broadcast");
    assert_eq!(results.len(), 1);
    assert_eq!(ack_report(&Ok(results[0].clone())), r#"ok ["yes"] +0"#);
    clients[0].expect_silence(QUIET).await;
    clients[2].expect_silence(Duration::ZERO).await;
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Disconnection
// ---------------------------------------------------------------------------------------

/// A server whose sockets report their disconnect reason, and leave on `bye` (closing
/// the connection when the argument is true).
fn disconnect_server() -> (SioServer, support::Reports<(String, DisconnectReason)>) {
    let (tx, seen) = reports();
    let srv = server(move |io| {
        let handler = move |s: Socket| {
            let tx = tx.clone();
            s.on_disconnect(move |s: Socket, reason| {
                let _ = tx.send((s.id().to_owned(), reason));
                async {}
            });
            s.on("bye", |s: Socket, e: Event| async move {
                s.disconnect(e.data::<bool>().unwrap_or(false));
            });
            echo(&s);
            async {}
        };
        io.on_connect(handler.clone());
        io.of("/custom").on_connect(handler);
    });
    (srv, seen)
}

#[actix_web::test]
async fn server_disconnect_keeps_the_connection_unless_asked_to_close() {
    let (srv, mut seen) = disconnect_server();
    let mut client = srv.raw().await;
    let sid = client.connect("/", None).await;
    let custom = client.connect("/custom", None).await;

    client.send(r#"42["bye",false]"#);
    client.expect("41").await;
    assert_eq!(
        seen.next("disconnect").await,
        (sid.clone(), DisconnectReason::ServerNamespaceDisconnect)
    );
    assert!(srv.io.of("/").socket(&sid).is_none());
    // The other namespace and the Engine.IO connection are still there.
    client.send(r#"42/custom,["echo",1]"#);
    client.expect(r#"42/custom,["echo",1]"#).await;
    // A new CONNECT joins again, with a new id.
    let again = client.connect("/", None).await;
    assert_ne!(again, sid);
    client.send(r#"42["echo",3]"#);
    client.expect(r#"42["echo",3]"#).await;

    client.send(r#"42/custom,["bye",false]"#);
    client.expect("41/custom,").await;
    assert_eq!(
        seen.next("custom disconnect").await,
        (custom, DisconnectReason::ServerNamespaceDisconnect)
    );

    // With close: the DISCONNECT, then the WebSocket closes.
    client.send(r#"42["bye",true]"#);
    client.expect("41").await;
    let end = client.expect_closed(STEP).await;
    assert!(matches!(end, WsEnd::Close(_) | WsEnd::Dropped), "{end:?}");
    assert_eq!(
        seen.next("disconnect with close").await,
        (again, DisconnectReason::ServerNamespaceDisconnect)
    );
    seen.expect_none(QUIET).await;
    assert_eq!(srv.io.engine().session_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn disconnect_with_close_tells_every_namespace_of_the_connection() {
    let (srv, mut seen) = disconnect_server();
    let mut client = srv.raw().await;
    let root = client.connect("/", None).await;
    let custom = client.connect("/custom", None).await;

    // Each namespace gets its DISCONNECT (so the client does not reconnect), then the close.
    client.send(r#"42["bye",true]"#);
    let mut packets = vec![client.recv_text().await, client.recv_text().await];
    packets.sort();
    assert_eq!(packets, ["41", "41/custom,"]);
    let end = client.expect_closed(STEP).await;
    assert!(matches!(end, WsEnd::Close(_) | WsEnd::Dropped), "{end:?}");
    let mut left = vec![seen.next("first").await, seen.next("second").await];
    left.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![root, custom];
    expected.sort();
    assert_eq!(
        left,
        expected
            .into_iter()
            .map(|id| (id, DisconnectReason::ServerNamespaceDisconnect))
            .collect::<Vec<_>>()
    );
    srv.stop().await;
}

#[actix_web::test]
async fn client_disconnect_and_transport_close_reasons() {
    let (srv, mut seen) = disconnect_server();

    // The client leaves a namespace: its connection stays and may join again.
    let mut client = srv.raw().await;
    let sid = client.connect("/", None).await;
    client.send("41");
    assert_eq!(
        seen.next("client namespace disconnect").await,
        (sid.clone(), DisconnectReason::ClientNamespaceDisconnect)
    );
    assert!(srv.io.of("/").socket(&sid).is_none());
    client.expect_silence(QUIET).await;
    let again = client.connect("/", None).await;
    let custom = client.connect("/custom", None).await;

    // The client closes the WebSocket: every socket of the connection leaves.
    client.close();
    let mut reasons = vec![
        seen.next("transport close").await,
        seen.next("transport close").await,
    ];
    reasons.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected = vec![
        (again, DisconnectReason::TransportClose),
        (custom, DisconnectReason::TransportClose),
    ];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(reasons, expected);
    seen.expect_none(QUIET).await;
    assert!(srv.io.of("/").sockets().is_empty());
    assert!(srv.io.of("/custom").sockets().is_empty());
    srv.stop().await;
}

#[actix_web::test]
async fn invalid_packets_close_the_connection_with_parse_error() {
    let (srv, mut seen) = disconnect_server();
    for (what, frame) in [
        // Engine.IO message "abc": no Socket.IO packet type.
        ("no packet type", Some("4abc")),
        ("an object for an event", Some("42{}")),
        ("garbage before the array", Some(r#"42abc["x"]"#)),
        ("a reserved event name", Some(r#"42["disconnect"]"#)),
        ("an ack without id", Some("43[]")),
        ("CONNECT_ERROR from a client", Some(r#"44{"message":"x"}"#)),
        ("a binary frame with no packet waiting", None),
    ] {
        let mut client = srv.raw().await;
        let sid = client.connect("/", None).await;
        match frame {
            Some(text) => client.send(text),
            None => client.send_binary(&[1, 2]),
        }
        let end = client.expect_closed(STEP).await;
        assert!(
            matches!(end, WsEnd::Close(_) | WsEnd::Dropped),
            "{what}: {end:?}"
        );
        assert_eq!(
            seen.next(what).await,
            (sid, DisconnectReason::ParseError),
            "{what}"
        );
    }
    seen.expect_none(QUIET).await;
    assert_eq!(srv.io.engine().session_count(), 0);
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Dynamic namespaces
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn dynamic_namespace_children_share_the_parent_handlers() {
    let io = SocketIo::new(sio_config());
    let parent = io.dynamic(|name| name.starts_with("/dyn-"));
    parent.use_middleware(|s: Socket| async move {
        if s.handshake().auth["refuse"] == true {
            Err(ConnectError::new("refused"))
        } else {
            Ok(())
        }
    });
    parent.on_connect(|s: Socket| async move {
        let _ = s.emit("welcome", s.nsp());
    });
    let srv = SioServer::start(io);

    let mut one = srv.raw().await;
    let sid = one.connect("/dyn-1", None).await;
    one.expect(r#"42/dyn-1,["welcome","/dyn-1"]"#).await;
    let mut two = srv.raw().await;
    two.connect("/dyn-2", None).await;
    two.expect(r#"42/dyn-2,["welcome","/dyn-2"]"#).await;
    // A second socket in an existing child: no new namespace.
    let mut three = srv.raw().await;
    three.connect("/dyn-1", None).await;
    three.expect(r#"42/dyn-1,["welcome","/dyn-1"]"#).await;
    // The parent's middleware applies too.
    three.send(r#"40/dyn-3,{"refuse":true}"#);
    three.expect(r#"44/dyn-3,{"message":"refused"}"#).await;
    // Names the predicate refuses are unknown.
    three.send("40/other,");
    three
        .expect(r#"44/other,{"message":"Invalid namespace"}"#)
        .await;

    let mut names: Vec<String> = parent
        .children()
        .iter()
        .map(|ns| ns.name().to_owned())
        .collect();
    names.sort();
    // As in Node, a child is made before its middleware runs, so a refusal keeps it.
    assert_eq!(names, ["/dyn-1", "/dyn-2", "/dyn-3"]);
    assert!(srv.io.of("/dyn-1").socket(&sid).is_some());

    parent.emit("news", 5).unwrap();
    one.expect(r#"42/dyn-1,["news",5]"#).await;
    two.expect(r#"42/dyn-2,["news",5]"#).await;
    three.expect(r#"42/dyn-1,["news",5]"#).await;
    // A child is an ordinary namespace.
    srv.io.of("/dyn-2").emit("only", 2).unwrap();
    two.expect(r#"42/dyn-2,["only",2]"#).await;
    one.expect_silence(QUIET).await;
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Per-socket state
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
struct User {
    name: String,
}

#[derive(Clone)]
struct Visits(u32);

#[actix_web::test]
async fn extensions_hold_typed_state_per_socket() {
    let srv = server(|io| {
        io.on_connect(|s: Socket| async move {
            let name = s.handshake().auth["name"]
                .as_str()
                .unwrap_or("anonymous")
                .to_owned();
            s.insert_extension(User { name });
            s.on("whoami", |s: Socket, _: Event| async move {
                let visits = s.extension::<Visits>().map_or(0, |v| v.0) + 1;
                s.insert_extension(Visits(visits));
                let _ = s.emit(
                    "whoami",
                    json!({
                        "name": s.extension::<User>().map(|u| u.name),
                        "visits": visits,
                        "never": s.extension::<String>(),
                    }),
                );
            });
        });
    });
    let mut ann = srv.raw().await;
    ann.connect("/", Some(r#"{"name":"ann"}"#)).await;
    let mut bob = srv.raw().await;
    bob.connect("/", None).await;

    ann.send(r#"42["whoami"]"#);
    ann.expect(r#"42["whoami",{"name":"ann","visits":1,"never":null}]"#)
        .await;
    ann.send(r#"42["whoami"]"#);
    ann.expect(r#"42["whoami",{"name":"ann","visits":2,"never":null}]"#)
        .await;
    bob.send(r#"42["whoami"]"#);
    bob.expect(r#"42["whoami",{"name":"anonymous","visits":1,"never":null}]"#)
        .await;
    srv.stop().await;
}
