//! What a client on the open internet may send, and the exact answer to each: an HTTP
//! status and body, a WebSocket close code, or a Socket.IO packet. After every case the
//! server still serves, and a bystander connected before it keeps its session and its
//! acks, and sees no frame it did not ask for.

mod support;

use std::time::{Duration, Instant};

use actix_socketio::socket::packet::placeholder;
use actix_socketio::{
    AckSender, DisconnectReason, Event, ParentNamespace, Payload, Socket, SocketIo, SocketIoConfig,
};
use awc::http::Method;
use awc::ws::CloseCode;
use serde_json::Value;
use support::{
    error_body, reports, sio_config, RawClient, Reports, SioServer, WsEnd, OPCODE_CLOSE,
    OPCODE_TEXT, STEP,
};

/// Long enough for the server to have acted on a frame if it was going to.
const QUIET: Duration = Duration::from_millis(100);

const MAX_PAYLOAD: u64 = 300_000;
const MAX_ROOMS: usize = 3;
const MAX_DYNAMIC: usize = 3;
const MAX_ATTACHMENT_BYTES: usize = 1000;
const ATTACHMENT_TIMEOUT: Duration = Duration::from_millis(300);

fn config() -> SocketIoConfig {
    let mut config = sio_config();
    config.engine.max_payload = MAX_PAYLOAD;
    config.max_rooms_per_socket = MAX_ROOMS;
    config.max_dynamic_namespaces = MAX_DYNAMIC;
    config.max_attachment_bytes = MAX_ATTACHMENT_BYTES;
    config.attachment_timeout = ATTACHMENT_TIMEOUT;
    config
}

type Left = (String, DisconnectReason);

/// Every socket of `/`, `/other` and `/dyn-*` acks `echo` with its arguments and
/// attachments, acks `join` with `"ok"` or the refusal, and reports its disconnection.
fn setup(io: &SocketIo) -> (Reports<Left>, ParentNamespace) {
    let (tx, left) = reports::<Left>();
    let handlers = move |socket: Socket| {
        let tx = tx.clone();
        socket.on("echo", |payload: Payload, ack: AckSender| async move {
            let _ = ack.send_payload(payload);
        });
        socket.on("join", |s: Socket, event: Event| async move {
            // Every argument is a room.
            let rooms: Vec<String> =
                serde_json::from_value(Value::Array(event.args().to_vec())).unwrap_or_default();
            let answer = match s.join(rooms) {
                Ok(()) => "ok".to_owned(),
                Err(error) => error.to_string(),
            };
            let (_, _, ack) = event.into_parts();
            let _ = ack.send(answer);
        });
        socket.on_disconnect(move |s: Socket, reason: DisconnectReason| {
            let _ = tx.send((s.id().to_owned(), reason));
            async {}
        });
        async {}
    };
    io.on_connect(handlers.clone());
    io.of("/other").on_connect(handlers.clone());
    let dynamic = io.dynamic(|name| name.starts_with("/dyn-"));
    dynamic.on_connect(handlers);
    (left, dynamic)
}

fn server() -> (SioServer, Reports<Left>) {
    server_with(config())
}

fn server_with(config: SocketIoConfig) -> (SioServer, Reports<Left>) {
    let io = SocketIo::new(config);
    let (left, _) = setup(&io);
    (SioServer::start(io), left)
}

/// `config()` with pings far apart, for polling clients that do not answer them.
fn without_pings() -> SocketIoConfig {
    let mut config = config();
    config.engine.ping_interval = Duration::from_secs(10);
    config.engine.ping_timeout = Duration::from_secs(10);
    config
}

/// A client connected before the bad input, which must not notice it.
struct Bystander {
    client: RawClient,
    sid: String,
    acks: u32,
}

impl Bystander {
    async fn join(srv: &SioServer) -> Bystander {
        let mut client = srv.raw().await;
        let sid = client.connect("/", None).await;
        Bystander {
            client,
            sid,
            acks: 0,
        }
    }

    /// Its socket is still there, and the next frame it gets is the ack it asks for now.
    #[track_caller]
    fn still_served<'a>(
        &'a mut self,
        srv: &'a SioServer,
        after: &'a str,
    ) -> impl std::future::Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            assert!(
                srv.io.of("/").socket(&self.sid).is_some(),
                "the bystander lost its socket after {after} (at {caller})"
            );
            self.acks += 1;
            let id = self.acks;
            self.client.send(&format!(r#"42{id}["echo",{id}]"#));
            let got = self.client.recv_text().await;
            assert_eq!(
                got,
                format!("43{id}[{id}]"),
                "the bystander's ack after {after} (at {caller})"
            );
        }
    }
}

/// A new client that joins `/`; returns it with its socket id.
async fn victim(srv: &SioServer) -> (RawClient, String) {
    let mut client = srv.raw().await;
    let sid = client.connect("/", None).await;
    (client, sid)
}

/// The server closes the victim's WebSocket with a normal close frame, no packet before
/// it, and its socket leaves with `reason`.
async fn closed_with(
    client: &mut RawClient,
    sid: &str,
    left: &mut Reports<Left>,
    reason: DisconnectReason,
    what: &str,
) {
    assert_eq!(
        client.expect_closed(STEP).await,
        WsEnd::Close(Some(CloseCode::Normal)),
        "{what}"
    );
    assert_eq!(left.next(what).await, (sid.to_owned(), reason), "{what}");
}

// ---------------------------------------------------------------------------------------
// Engine.IO over HTTP
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn bad_requests_get_the_engine_io_error_codes() {
    let (srv, mut left) = server_with(without_pings());
    let mut bystander = Bystander::join(&srv).await;
    let sid = srv.polling_handshake().await;
    let unknown_sid = error_body(1, "Session ID unknown");
    let bad_method = error_body(2, "Bad handshake method");
    let bad_request = error_body(3, "Bad request");
    let bad_version = error_body(5, "Unsupported protocol version");
    let with_sid = format!("EIO=4&transport=polling&sid={sid}");
    let cases = [
        (
            Method::GET,
            "EIO=3&transport=polling".to_owned(),
            &bad_version,
        ),
        (
            Method::GET,
            "EIO=5&transport=polling".to_owned(),
            &bad_version,
        ),
        (
            Method::GET,
            "EIO=&transport=polling".to_owned(),
            &bad_version,
        ),
        (Method::GET, "transport=websocket".to_owned(), &bad_version),
        (
            Method::GET,
            "EIO=4&transport=polling&sid=nope".to_owned(),
            &unknown_sid,
        ),
        (
            Method::POST,
            "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA".to_owned(),
            &unknown_sid,
        ),
        (
            Method::GET,
            "EIO=4&transport=websocket&sid=nope".to_owned(),
            &unknown_sid,
        ),
        (
            Method::PUT,
            "EIO=4&transport=polling".to_owned(),
            &bad_method,
        ),
        (
            Method::DELETE,
            "EIO=4&transport=polling".to_owned(),
            &bad_method,
        ),
        // A known session: the method is refused, the session lives on.
        (Method::PUT, with_sid.clone(), &bad_request),
        (Method::DELETE, with_sid.clone(), &bad_request),
        (Method::PATCH, with_sid.clone(), &bad_request),
    ];
    for (method, query, body) in cases {
        let what = format!("{method} ?{query}");
        srv.request(method, &query, "").await.assert(400, body);
        bystander.still_served(&srv, &what).await;
    }
    srv.post(&sid, "40").await.assert(200, "ok");
    let answer = srv.poll(&sid).await;
    assert!(
        answer.body.starts_with(r#"40{"sid":""#),
        "the session that got PUT and DELETE still joins: {answer:?}"
    );
    assert_eq!(srv.io.engine().session_count(), 2);
    left.expect_none(QUIET).await;
    srv.stop().await;
}

#[actix_web::test]
async fn bad_polling_bodies_close_only_their_session() {
    let (srv, mut left) = server_with(without_pings());
    let mut bystander = Bystander::join(&srv).await;
    let too_large = format!("4{}", "a".repeat(MAX_PAYLOAD as usize));
    let cases: [(&str, Vec<u8>, u16, String); 4] = [
        (
            "an unknown Engine.IO packet type",
            b"9abc".to_vec(),
            400,
            error_body(3, "Bad request"),
        ),
        (
            "bad base64 in a binary packet",
            b"b!!".to_vec(),
            400,
            error_body(3, "Bad request"),
        ),
        (
            "an empty packet between separators",
            b"40\x1e\x1e42[\"echo\"]".to_vec(),
            400,
            error_body(3, "Bad request"),
        ),
        (
            "invalid UTF-8",
            b"42[\"echo\",\"\xff\xfe\"]".to_vec(),
            400,
            error_body(3, "Bad request"),
        ),
    ];
    for (what, body, status, answer) in cases {
        let sid = srv.polling_handshake().await;
        srv.post(&sid, "40").await.assert(200, "ok");
        let connected = srv.poll(&sid).await.body;
        let socket_id = connected
            .strip_prefix(r#"40{"sid":""#)
            .and_then(|rest| rest.strip_suffix(r#""}"#))
            .unwrap_or_else(|| panic!("{what}: joined: {connected:?}"))
            .to_owned();

        srv.post(&sid, body).await.assert(status, &answer);
        srv.poll(&sid)
            .await
            .assert(400, &error_body(1, "Session ID unknown"));
        assert_eq!(
            left.next(what).await,
            (socket_id, DisconnectReason::TransportError),
            "{what}"
        );
        bystander.still_served(&srv, what).await;
    }
    assert_eq!(srv.io.engine().session_count(), 1);

    // A body over max_payload is refused as Node refuses it: 413 with no body, nothing of
    // it delivered, and the session goes on.
    let sid = srv.polling_handshake().await;
    srv.post(&sid, "40").await.assert(200, "ok");
    let _connected = srv.poll(&sid).await;
    srv.post(&sid, too_large.into_bytes()).await.assert(413, "");
    srv.post(&sid, r#"421["echo","after"]"#)
        .await
        .assert(200, "ok");
    srv.poll(&sid).await.assert(200, r#"431["after"]"#);
    left.expect_none(QUIET).await;
    bystander
        .still_served(&srv, "a body over max_payload")
        .await;
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Engine.IO over WebSocket
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn bad_websocket_frames_close_with_their_code() {
    let (srv, mut left) = server();
    let mut bystander = Bystander::join(&srv).await;

    let (mut client, sid) = victim(&srv).await;
    client.send("9abc");
    assert_eq!(
        client.expect_closed(STEP).await,
        WsEnd::Close(Some(CloseCode::Protocol)),
        "an unknown Engine.IO packet type"
    );
    assert_eq!(
        left.next("unknown type").await,
        (sid, DisconnectReason::TransportError)
    );
    bystander.still_served(&srv, "an unknown type").await;

    let (mut client, sid) = victim(&srv).await;
    client.send(&format!("4{}", "a".repeat(MAX_PAYLOAD as usize)));
    assert_eq!(
        client.expect_closed(STEP).await,
        WsEnd::Close(Some(CloseCode::Size)),
        "a frame over max_payload"
    );
    assert_eq!(
        left.next("oversize").await,
        (sid, DisconnectReason::TransportError)
    );
    bystander.still_served(&srv, "an oversize frame").await;

    // Invalid UTF-8 in a text frame: no WebSocket library sends it, so a bare TCP one does.
    let mut raw = srv.tcp_ws().await;
    raw.send_frame(OPCODE_TEXT, b"40").await;
    let connected = raw.recv_frame().await.expect("CONNECT answer");
    assert!(connected.1.starts_with(br#"40{"sid":""#), "{connected:?}");
    raw.send_frame(OPCODE_TEXT, b"42[\"echo\",\"\xff\xfe\"]")
        .await;
    let close = raw.recv_frame().await.expect("a close frame");
    assert_eq!(
        (close.0, close.1.get(..2)),
        (OPCODE_CLOSE, Some(&1007u16.to_be_bytes()[..])),
        "invalid UTF-8 closes with 1007 (invalid frame payload data): {close:?}"
    );
    let (_, reason) = left.next("invalid UTF-8").await;
    assert_eq!(reason, DisconnectReason::TransportError);
    bystander.still_served(&srv, "invalid UTF-8").await;

    assert_eq!(srv.io.engine().session_count(), 1);
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Socket.IO packets
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn malformed_socket_io_packets_close_only_their_connection() {
    let (srv, mut left) = server();
    let mut bystander = Bystander::join(&srv).await;
    let deep = format!(
        r#"42["echo",{}{}]"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let cases = [
        ("a packet type 7", "47".to_owned()),
        ("a packet type that is no digit", "4x".to_owned()),
        ("an empty message", "4".to_owned()),
        ("cut JSON", r#"42["echo","#.to_owned()),
        ("JSON then garbage", r#"42["echo"]x"#.to_owned()),
        ("an object for event data", r#"42{"echo":1}"#.to_owned()),
        ("a string for event data", r#"42"echo""#.to_owned()),
        ("an empty event array", "42[]".to_owned()),
        ("a reserved event name", r#"42["connect"]"#.to_owned()),
        (
            "an ack id over u64",
            r#"4299999999999999999999["echo"]"#.to_owned(),
        ),
        ("an ack without id", r#"43["echo"]"#.to_owned()),
        ("an ack that is no array", r#"431{"a":1}"#.to_owned()),
        ("a namespace without its slash", "40nope".to_owned()),
        ("CONNECT data that is no object", r#"40"auth""#.to_owned()),
        ("DISCONNECT with data", r#"41["x"]"#.to_owned()),
        (
            "CONNECT_ERROR from a client",
            r#"44{"message":"x"}"#.to_owned(),
        ),
        ("100 000 nested arrays", deep),
    ];
    for (what, text) in cases {
        let (mut client, sid) = victim(&srv).await;
        client.send(&text);
        closed_with(
            &mut client,
            &sid,
            &mut left,
            DisconnectReason::ParseError,
            what,
        )
        .await;
        bystander.still_served(&srv, what).await;
    }
    assert_eq!(srv.io.engine().session_count(), 1);
    srv.stop().await;
}

/// `45<n>-["echo",…]`: a binary event with a placeholder for each of `nums`.
fn binary_event(attachments: &str, nums: &[i64]) -> String {
    let mut text = format!(r#"45{attachments}-["echo""#);
    for num in nums {
        text.push_str(&format!(r#",{{"_placeholder":true,"num":{num}}}"#));
    }
    text.push(']');
    text
}

/// What a case sends after its first text message.
enum Then {
    Text(&'static str),
    Binary(Vec<u8>),
}

#[actix_web::test]
async fn bad_binary_packets_close_only_their_connection() {
    // No case may pass by waiting for the attachment timeout: each closes at once.
    let mut config = config();
    config.attachment_timeout = Duration::from_secs(60);
    let (srv, mut left) = server_with(config);
    let mut bystander = Bystander::join(&srv).await;
    let cases = [
        (
            "a text message before the announced attachment",
            Some(binary_event("1", &[0])),
            vec![Then::Text(r#"42["echo"]"#)],
        ),
        (
            "a placeholder past the attachments",
            Some(binary_event("1", &[1])),
            vec![],
        ),
        (
            "a negative placeholder",
            Some(binary_event("1", &[-1])),
            vec![],
        ),
        (
            "one attachment over max_attachments",
            Some(binary_event("11", &[0])),
            vec![],
        ),
        (
            "an absurd attachment count",
            Some(binary_event("999999999", &[0])),
            vec![],
        ),
        (
            "a count past u64",
            Some(binary_event("100000000000000000000", &[0])),
            vec![],
        ),
        ("zero attachments", Some(binary_event("0", &[])), vec![]),
        (
            "attachments over max_attachment_bytes",
            Some(binary_event("2", &[0, 1])),
            vec![Then::Binary(vec![0; 600]), Then::Binary(vec![1; 600])],
        ),
        (
            "an attachment with no packet",
            None,
            vec![Then::Binary(vec![1, 2])],
        ),
    ];
    for (what, text, then) in cases {
        let (mut client, sid) = victim(&srv).await;
        if let Some(text) = &text {
            client.send(text);
        }
        for frame in then {
            match frame {
                Then::Text(text) => client.send(text),
                Then::Binary(bytes) => client.send_binary(&bytes),
            }
        }
        closed_with(
            &mut client,
            &sid,
            &mut left,
            DisconnectReason::ParseError,
            what,
        )
        .await;
        bystander.still_served(&srv, what).await;
    }
    assert_eq!(srv.io.engine().session_count(), 1);
    srv.stop().await;
}

#[actix_web::test]
async fn attachments_that_never_come_are_dropped_after_the_timeout() {
    let (srv, mut left) = server();
    let mut bystander = Bystander::join(&srv).await;
    // Pings keep the Engine.IO session alive all the while: only the timeout ends it.
    let (mut client, sid) = victim(&srv).await;
    let started = Instant::now();
    client.send(&binary_event("1", &[0]));
    closed_with(
        &mut client,
        &sid,
        &mut left,
        DisconnectReason::ParseError,
        "an attachment that never comes",
    )
    .await;
    assert!(
        started.elapsed() >= ATTACHMENT_TIMEOUT,
        "closed by the attachment timeout, not at once: {:?}",
        started.elapsed()
    );
    bystander
        .still_served(&srv, "an attachment that never comes")
        .await;
    assert_eq!(srv.io.engine().session_count(), 1);
    srv.stop().await;
}

#[actix_web::test]
async fn binary_packets_within_the_limits_are_served() {
    let (srv, mut left) = server();
    let (mut client, _) = victim(&srv).await;
    // max_attachments, with max_attachment_bytes exactly.
    let list = (0..10)
        .map(|n| placeholder(n).to_string())
        .collect::<Vec<_>>()
        .join(",");
    client.send(&format!(r#"4510-7["echo",{list}]"#));
    for n in 0..10u8 {
        client.send_binary(&[n; 100]);
    }
    client.expect(&format!("4610-7[{list}]")).await;
    for n in 0..10u8 {
        assert_eq!(client.recv_binary().await, vec![n; 100]);
    }

    // An attachment after a pause shorter than the timeout.
    client.send(r#"451-8["echo",{"_placeholder":true,"num":0}]"#);
    actix_rt::time::sleep(ATTACHMENT_TIMEOUT / 2).await;
    client.send_binary(b"late");
    client
        .expect(r#"461-8[{"_placeholder":true,"num":0}]"#)
        .await;
    assert_eq!(client.recv_binary().await, &b"late"[..]);
    // Its timer is gone with it.
    client.expect_silence(ATTACHMENT_TIMEOUT).await;
    left.expect_none(QUIET).await;
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Namespaces and acks
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn packets_for_namespaces_not_joined_close_the_connection_as_node_does() {
    let (srv, mut left) = server();
    let mut bystander = Bystander::join(&srv).await;

    // An ack for an id the server never used: ignored, the connection kept.
    let (mut client, _) = victim(&srv).await;
    client.send(r#"43999["forged"]"#);
    client.send(r#"4317[]"#);
    client.send(r#"421["echo","still here"]"#);
    client.expect(r#"431["still here"]"#).await;
    bystander.still_served(&srv, "a forged ack").await;

    // A second CONNECT to a namespace joined: ignored (the official client sends one),
    // no second socket, no answer.
    let (mut client, sid) = victim(&srv).await;
    client.send("40");
    client.send(r#"422["echo","one socket"]"#);
    client.expect(r#"432["one socket"]"#).await;
    assert_eq!(
        srv.io.of("/").sockets().len(),
        3,
        "the bystander and the two victims"
    );
    assert!(srv.io.of("/").socket(&sid).is_some());
    bystander.still_served(&srv, "a second CONNECT").await;

    let cases = [
        ("an event on a namespace not joined", r#"42/other,["echo"]"#),
        (
            "an event on a namespace that does not exist",
            r#"42/nope,1["echo"]"#,
        ),
        ("an ack on a namespace not joined", r#"43/other,1[]"#),
        ("a DISCONNECT from a namespace not joined", "41/other,"),
    ];
    for (what, text) in cases {
        let (mut client, sid) = victim(&srv).await;
        client.send(text);
        closed_with(
            &mut client,
            &sid,
            &mut left,
            DisconnectReason::ParseError,
            what,
        )
        .await;
        bystander.still_served(&srv, what).await;
    }
    assert!(srv.io.of("/other").sockets().is_empty());
    assert_eq!(srv.io.engine().session_count(), 3);
    srv.stop().await;
}

#[actix_web::test]
async fn connect_floods_to_dynamic_namespaces_stop_at_the_limit() {
    let io = SocketIo::new(config());
    let (mut left, dynamic) = setup(&io);
    let srv = SioServer::start(io);
    let mut bystander = Bystander::join(&srv).await;
    let (mut client, _) = victim(&srv).await;
    for n in 0..MAX_DYNAMIC {
        client.connect(&format!("/dyn-{n}"), None).await;
    }
    for n in MAX_DYNAMIC..MAX_DYNAMIC + 50 {
        client.send(&format!("40/dyn-{n},"));
    }
    for n in MAX_DYNAMIC..MAX_DYNAMIC + 50 {
        client
            .expect(&format!(r#"44/dyn-{n},{{"message":"Invalid namespace"}}"#))
            .await;
    }
    // The refusals keep the connection, and the namespaces made before still take joins.
    client.send(r#"42/dyn-0,5["echo","kept"]"#);
    client.expect(r#"43/dyn-0,5["kept"]"#).await;
    let mut other = srv.raw().await;
    other.connect("/dyn-1", None).await;
    other.send(&format!("40/dyn-{},", MAX_DYNAMIC + 1));
    other
        .expect(&format!(
            r#"44/dyn-{},{{"message":"Invalid namespace"}}"#,
            MAX_DYNAMIC + 1
        ))
        .await;
    assert_eq!(dynamic.children().len(), MAX_DYNAMIC);
    bystander.still_served(&srv, "a CONNECT flood").await;
    left.expect_none(QUIET).await;
    srv.stop().await;
}

#[actix_web::test]
async fn joins_past_max_rooms_per_socket_are_refused_with_an_error() {
    let (srv, mut left) = server();
    let (mut client, sid) = victim(&srv).await;
    let rooms = |sid: &str| {
        let mut rooms = srv.io.of("/").socket(sid).expect("socket").rooms();
        rooms.sort();
        rooms
    };
    client.send(r#"421["join","a","b"]"#);
    client.expect(r#"431["ok"]"#).await;
    // Two new rooms would make four: none is joined.
    client.send(r#"422["join","a","c","d"]"#);
    client
        .expect(r#"432["a socket may be in at most 3 rooms"]"#)
        .await;
    let mut expected = vec!["a".to_owned(), "b".to_owned(), sid.clone()];
    expected.sort();
    assert_eq!(rooms(&sid), expected);
    // Rooms already joined and duplicates do not count.
    client.send(r#"423["join","a","b","c","c"]"#);
    client.expect(r#"433["ok"]"#).await;
    client.send(r#"424["join","e"]"#);
    client
        .expect(r#"434["a socket may be in at most 3 rooms"]"#)
        .await;
    // The server-side join of a selection goes through the same limit, and reports the
    // refusal as `join` does.
    let refused = srv.io.of("/").to(sid.as_str()).sockets_join("f").await;
    assert!(
        matches!(
            refused,
            Err(actix_socketio::Error::TooManyRooms { limit: 3 })
        ),
        "{refused:?}"
    );
    expected = ["a", "b", "c"].map(str::to_owned).to_vec();
    expected.push(sid.clone());
    expected.sort();
    assert_eq!(
        rooms(&sid),
        expected,
        "sockets_join past the limit joins nothing"
    );
    client.send(r#"425["echo","served"]"#);
    client.expect(r#"435["served"]"#).await;
    left.expect_none(QUIET).await;
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------
// Clients that stall
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_client_that_vanishes_without_fin_is_freed_by_the_ping_timeout() {
    let (srv, mut left) = server();
    let mut bystander = Bystander::join(&srv).await;
    // A bare TCP WebSocket that joins, then never reads nor answers again: to the server
    // it is a peer whose FIN never comes.
    let mut silent = srv.tcp_ws().await;
    silent.send_frame(OPCODE_TEXT, b"40").await;
    let connected = silent.recv_frame().await.expect("CONNECT answer");
    let text = String::from_utf8(connected.1).expect("UTF-8");
    let sid = text
        .strip_prefix(r#"40{"sid":""#)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("joined: {text:?}"))
        .to_owned();
    assert_eq!(srv.io.engine().session_count(), 2);

    let started = Instant::now();
    assert_eq!(
        left.next("the ping timeout frees the socket").await,
        (sid, DisconnectReason::PingTimeout)
    );
    // ping_interval 300 ms + ping_timeout 200 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "freed by the ping timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(srv.io.engine().session_count(), 1);
    bystander.still_served(&srv, "a vanished client").await;
    drop(silent);
    srv.stop().await;
}

#[actix_web::test]
async fn slowloris_headers_get_408_while_others_are_served() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let request_timeout = Duration::from_secs(1);
    let io = SocketIo::new(config());
    let (mut left, _) = setup(&io);
    let srv = SioServer::start_with_request_timeout(io, request_timeout);
    let mut bystander = Bystander::join(&srv).await;

    let started = Instant::now();
    let stream = tokio::net::TcpStream::connect(srv.addr)
        .await
        .expect("TCP connect");
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {}\r\nX-Slow: {}\r\n",
        srv.addr,
        "z".repeat(300)
    );
    let trickle = actix_rt::spawn(async move {
        for byte in head.bytes() {
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
    });
    // Others are served while the head trickles in.
    for round in 0..3 {
        bystander
            .still_served(&srv, &format!("slowloris round {round}"))
            .await;
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let mut answer = Vec::new();
    // Ok at FIN, or a reset if a trickled byte met the closed socket: either way, closed.
    let _ = support::within(STEP, "the server answers and closes", async {
        read.read_to_end(&mut answer).await
    })
    .await;
    let answer = String::from_utf8(answer).expect("ASCII answer");
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "408 then close: {answer:?}"
    );
    // actix reads the time from a clock it refreshes every 500 ms.
    assert!(
        started.elapsed() >= request_timeout - Duration::from_millis(500),
        "answered at the request timeout: {:?}",
        started.elapsed()
    );
    trickle.abort();
    bystander.still_served(&srv, "slowloris").await;
    assert_eq!(srv.io.engine().session_count(), 1);
    left.expect_none(QUIET).await;
    srv.stop().await;
}
