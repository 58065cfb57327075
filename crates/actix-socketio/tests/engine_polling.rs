//! Engine.IO v4 over HTTP long-polling, against a real server: what the official
//! `v4-test-suite` checks, byte for byte, plus the session's close reasons.

mod support;

use std::time::{Duration, Instant};

use actix_socketio::engine::EngineConfig;
use awc::http::Method;
use bytes::Bytes;
use support::{config, config_with_max_payload, error_body, within, TestServer, SETTLE, STEP};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";

#[actix_web::test]
async fn handshake_is_byte_exact() {
    let srv = TestServer::start(config_with_max_payload(54_321));

    let reply = srv
        .request(Method::GET, "EIO=4&transport=polling", Bytes::new())
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.content_type.as_deref(), Some(TEXT_PLAIN));
    let json = reply
        .body
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("open packet starts with 0: {:?}", reply.body));

    let open: serde_json::Value = serde_json::from_str(json).expect("the open packet is JSON");
    let keys: Vec<&str> = open
        .as_object()
        .expect("the open packet is an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "sid",
            "upgrades",
            "pingInterval",
            "pingTimeout",
            "maxPayload"
        ]
    );
    let sid = open["sid"].as_str().expect("sid is a string");
    assert_eq!(sid.len(), 20, "sid {sid:?} has 20 characters");
    assert!(
        sid.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
        "sid {sid:?} is URL-safe base64"
    );
    assert_eq!(
        reply.body,
        format!(
            r#"0{{"sid":"{sid}","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":54321}}"#
        )
    );
    assert_eq!(
        serde_json::to_string(&open).expect("re-serialises"),
        json,
        "compact JSON, keys in protocol order"
    );

    let (other, _) = srv.handshake().await;
    assert_ne!(other, sid, "every handshake gets a fresh sid");
    assert_eq!(srv.recorder.opens(), 2);
    assert_eq!(srv.engine.session_count(), 2);
    assert_eq!(srv.recorder.closes(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn bad_requests_get_the_reference_error_bodies() {
    let srv = TestServer::start(config());
    let unknown_transport = error_body(0, "Transport unknown");
    let unknown_sid = error_body(1, "Session ID unknown");
    let bad_method = error_body(2, "Bad handshake method");
    let bad_request = error_body(3, "Bad request");
    let bad_version = error_body(5, "Unsupported protocol version");
    let cases = [
        (Method::GET, "EIO=4", &unknown_transport),
        (Method::GET, "EIO=4&transport=abc", &unknown_transport),
        (Method::GET, "EIO=4&transport=polling&sid=abc", &unknown_sid),
        (
            Method::POST,
            "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
            &unknown_sid,
        ),
        (Method::POST, "EIO=4&transport=polling", &bad_method),
        (Method::PUT, "EIO=4&transport=polling", &bad_method),
        // A websocket handshake without `Upgrade: websocket`.
        (Method::GET, "EIO=4&transport=websocket", &bad_request),
        (Method::GET, "transport=polling", &bad_version),
        (Method::GET, "EIO=3&transport=polling", &bad_version),
        (Method::GET, "EIO=abc&transport=polling", &bad_version),
    ];
    for (method, query, body) in cases {
        let reply = srv.request(method.clone(), query, "").await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (400, body.as_str()),
            "{method} ?{query}"
        );
    }
    assert_eq!(srv.recorder.opens(), 0, "no request opened a session");
    assert_eq!(srv.engine.session_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn the_path_answers_with_and_without_its_trailing_slash() {
    let srv = TestServer::start(config());
    let client = awc::Client::default();
    for path in ["/engine.io/", "/engine.io"] {
        let url = format!("http://{}{path}?EIO=4&transport=polling", srv.addr);
        let mut response = within(STEP, &url, client.get(&url).send())
            .await
            .expect("handshake");
        assert_eq!(response.status(), 200, "{path}");
        let body = response.body().await.expect("body");
        assert!(body.starts_with(br#"0{"sid":""#), "{path}: {body:?}");
    }
    let url = format!("http://{}/engine.iox?EIO=4&transport=polling", srv.addr);
    let response = client.get(&url).send().await.expect("answered");
    assert_eq!(response.status(), 404, "only the configured path");
    srv.stop().await;
}

#[actix_web::test]
async fn post_then_get_returns_the_echoes_in_one_payload() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;

    let reply = srv.post(&sid, "4hello\x1ebAQIDBA==").await;
    reply.assert(200, "ok");

    let reply = srv.get(&sid).await;
    reply.assert(200, "4hello\x1ebAQIDBA==");
    assert_eq!(reply.content_type.as_deref(), Some(TEXT_PLAIN));
    assert!(srv.is_open(&sid));
    srv.stop().await;
}

#[actix_web::test]
async fn body_of_exactly_max_payload_is_accepted() {
    let srv = TestServer::start(config_with_max_payload(1000));
    let (sid, _) = srv.handshake().await;
    let packet = format!("4{}", "a".repeat(999));
    assert_eq!(packet.len(), 1000);

    srv.post(&sid, packet.clone()).await.assert(200, "ok");
    srv.get(&sid).await.assert(200, &packet);
    assert!(srv.is_open(&sid));
    srv.stop().await;
}

#[actix_web::test]
async fn heartbeat_ping_then_pong_keeps_the_session() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;
    let opened = Instant::now();

    // The ping is due pingInterval (300 ms) after the handshake; the GET waits for it.
    srv.get(&sid).await.assert(200, "2");
    assert!(
        opened.elapsed() >= Duration::from_millis(250),
        "the ping waits for pingInterval, came after {:?}",
        opened.elapsed()
    );
    srv.post(&sid, "3").await.assert(200, "ok");

    // The pong rescheduled the heartbeat: another ping, and the session is still open.
    srv.get(&sid).await.assert(200, "2");
    srv.post(&sid, "3").await.assert(200, "ok");
    assert!(srv.is_open(&sid), "{:?}", srv.recorder.reasons(&sid));
    assert_eq!(srv.engine.session_count(), 1);
    srv.stop().await;
}

#[actix_web::test]
async fn no_pong_ends_the_session_with_ping_timeout() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;
    let opened = Instant::now();

    // Ping queued at 300 ms, no pong by 500 ms: closed even though no GET ever took the ping.
    actix_rt::time::sleep_until((opened + Duration::from_millis(650)).into()).await;
    srv.get(&sid)
        .await
        .assert(400, &error_body(1, "Session ID unknown"));
    assert_eq!(srv.close_reason(&sid).await, "ping timeout");
    assert_eq!(srv.engine.session_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn concurrent_gets_close_the_session() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;

    let client = srv.client.clone();
    let first_sid = sid.clone();
    let first = actix_rt::spawn(async move { client.get(&first_sid).await });
    actix_rt::time::sleep(SETTLE).await;
    assert!(!first.is_finished(), "the first GET is pending");

    let second = srv.get(&sid).await;
    assert_eq!(second.status, 400, "the overlapping GET fails: {second:?}");
    within(STEP, "the first GET is answered", first)
        .await
        .expect("first GET task")
        .assert(200, "1");

    srv.get(&sid)
        .await
        .assert(400, &error_body(1, "Session ID unknown"));
    assert_eq!(srv.close_reason(&sid).await, "transport error");
    srv.stop().await;
}

#[actix_web::test]
async fn aborted_get_closes_the_session() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;

    let mut tcp = actix_rt::net::TcpStream::connect(srv.addr)
        .await
        .expect("raw TCP connect");
    let request = format!(
        "GET /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {}\r\n\r\n",
        srv.addr
    );
    tcp.write_all(request.as_bytes())
        .await
        .expect("raw GET is written");
    let mut buf = [0u8; 512];
    let early = actix_rt::time::timeout(SETTLE, tcp.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the GET is pending, got {:?}",
        early.map(|r| r.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned()))
    );
    drop(tcp);

    assert_eq!(srv.close_reason(&sid).await, "transport error");
    srv.get(&sid)
        .await
        .assert(400, &error_body(1, "Session ID unknown"));
    assert_eq!(srv.engine.session_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn invalid_packet_closes_the_session() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;

    let reply = srv.post(&sid, "abc").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    srv.get(&sid)
        .await
        .assert(400, &error_body(1, "Session ID unknown"));
    assert_eq!(srv.close_reason(&sid).await, "transport error");
    srv.stop().await;
}

#[actix_web::test]
async fn client_close_answers_the_pending_get_with_noop() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;

    let client = srv.client.clone();
    let poll_sid = sid.clone();
    let pending = actix_rt::spawn(async move { client.get(&poll_sid).await });
    actix_rt::time::sleep(SETTLE).await;
    assert!(!pending.is_finished(), "the GET is pending");

    srv.post(&sid, "1").await.assert(200, "ok");
    within(STEP, "the pending GET is answered", pending)
        .await
        .expect("GET task")
        .assert(200, "6");

    srv.get(&sid)
        .await
        .assert(400, &error_body(1, "Session ID unknown"));
    assert_eq!(srv.close_reason(&sid).await, "transport close");
    assert_eq!(srv.engine.session_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn oversize_post_is_413_with_no_body_and_the_session_stays() {
    let srv = TestServer::start(config_with_max_payload(1000));
    let (sid, _) = srv.handshake().await;
    let packet = format!("4{}", "a".repeat(1000));
    assert_eq!(packet.len(), 1001);

    // As Node: 413, no body (a body would be the client's close description), nothing of it
    // delivered, and the session goes on.
    srv.post(&sid, packet).await.assert(413, "");
    srv.post(&sid, "4fits").await.assert(200, "ok");
    srv.get(&sid).await.assert(200, "4fits");
    assert!(srv.is_open(&sid));
    srv.stop().await;
}

#[actix_web::test]
async fn the_optional_io_cookie_and_cors_headers() {
    use actix_socketio::engine::{AllowedOrigins, Cors, SidCookie};

    let srv = TestServer::start(EngineConfig {
        cookie: Some(SidCookie::default()),
        cors: Some(Cors {
            origins: AllowedOrigins::List(vec!["https://app.example".into()]),
            credentials: true,
        }),
        ..config()
    });
    let client = awc::Client::default();
    let mut response = client
        .get(srv.url("EIO=4&transport=polling"))
        .insert_header(("Origin", "https://app.example"))
        .send()
        .await
        .expect("handshake");
    let body = response.body().await.expect("body");
    let sid = serde_json::from_slice::<serde_json::Value>(&body[1..]).expect("open packet")["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("the io cookie is set");
    assert!(cookie.starts_with(&format!("io={sid}; ")), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .expect("ACAO"),
        "https://app.example"
    );
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .expect("ACAC"),
        "true"
    );

    // Another origin gets no CORS headers; a preflight is answered without touching a session.
    let other = client
        .get(srv.url("EIO=4&transport=polling"))
        .insert_header(("Origin", "https://evil.example"))
        .send()
        .await
        .expect("handshake from another origin");
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let preflight = client
        .request(Method::OPTIONS, srv.url("EIO=4&transport=polling"))
        .insert_header(("Origin", "https://app.example"))
        .insert_header(("Access-Control-Request-Headers", "content-type"))
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-headers")
            .expect("ACAH"),
        "content-type"
    );
    srv.stop().await;
}
