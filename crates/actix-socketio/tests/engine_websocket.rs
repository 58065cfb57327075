//! Engine.IO v4 sessions opened directly over a WebSocket, against a real server.

mod support;

use std::time::Duration;

use awc::error::WsClientError;
use awc::http::StatusCode;
use awc::ws::{CloseCode, Frame};
use support::{config, config_with_max_payload, TestServer, WsConn, WsEnd};

const WS_QUERY: &str = "EIO=4&transport=websocket";

/// Opens a WebSocket session and checks its open packet; returns the sid.
async fn open(srv: &TestServer, max_payload: u64) -> (String, WsConn) {
    let mut ws = srv.ws(WS_QUERY).await;
    let text = ws.recv_text().await;
    let json = text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("first frame is the open packet: {text:?}"));
    let open: serde_json::Value = serde_json::from_str(json).expect("open packet JSON");
    let sid = open["sid"].as_str().expect("sid is a string").to_owned();
    assert_eq!(sid.len(), 20, "sid {sid:?}");
    assert_eq!(
        text,
        format!(
            r#"0{{"sid":"{sid}","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":{max_payload}}}"#
        )
    );
    assert_eq!(serde_json::to_string(&open).expect("re-serialises"), json);
    (sid, ws)
}

#[actix_web::test]
async fn open_packet_then_text_and_binary_echo() {
    let srv = TestServer::start(config());
    let (sid, mut ws) = open(&srv, 1_000_000).await;
    assert_eq!(srv.recorder.opens(), 1);

    ws.send_text("4hello").await;
    assert_eq!(ws.recv_text_answering_pings().await, "4hello");

    ws.send_binary(&[1, 2, 3, 4]).await;
    match ws.recv_answering_pings().await {
        Frame::Binary(bytes) => assert_eq!(&bytes[..], &[1, 2, 3, 4]),
        other => panic!("expected the binary echo, got {other:?}"),
    }

    ws.send_text("4héllo €").await;
    assert_eq!(ws.recv_text_answering_pings().await, "4héllo €");
    assert!(srv.is_open(&sid));
    srv.stop().await;
}

#[actix_web::test]
async fn heartbeat_then_ping_timeout_closes_the_websocket() {
    let srv = TestServer::start(config());
    let (sid, mut ws) = open(&srv, 1_000_000).await;

    assert_eq!(ws.recv_text().await, "2", "the first ping");
    ws.send_text("3").await;
    assert_eq!(ws.recv_text().await, "2", "the next ping, after the pong");
    assert!(srv.is_open(&sid));

    // No pong this time: the server ends the session and closes the socket.
    let end = ws.expect_server_close(Duration::from_secs(1)).await;
    assert!(
        matches!(end, WsEnd::Close(_) | WsEnd::Dropped),
        "closed: {end:?}"
    );
    assert_eq!(srv.close_reason(&sid).await, "ping timeout");
    assert_eq!(srv.engine.session_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn invalid_packet_closes_the_websocket() {
    let srv = TestServer::start(config());
    let (sid, mut ws) = open(&srv, 1_000_000).await;

    ws.send_text("abc").await;
    let end = ws.expect_server_close(Duration::from_secs(1)).await;
    assert!(matches!(end, WsEnd::Close(_) | WsEnd::Dropped), "{end:?}");
    assert_eq!(srv.close_reason(&sid).await, "transport error");
    srv.stop().await;
}

#[actix_web::test]
async fn close_packet_closes_the_websocket() {
    let srv = TestServer::start(config());
    let (sid, mut ws) = open(&srv, 1_000_000).await;

    ws.send_text("1").await;
    let end = ws.expect_server_close(Duration::from_secs(2)).await;
    assert!(matches!(end, WsEnd::Close(_) | WsEnd::Dropped), "{end:?}");
    assert_eq!(srv.close_reason(&sid).await, "transport close");
    assert_eq!(srv.engine.session_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn client_close_frame_ends_the_session() {
    let srv = TestServer::start(config());
    let (sid, mut ws) = open(&srv, 1_000_000).await;

    ws.send_close().await;
    let end = ws.expect_server_close(Duration::from_secs(1)).await;
    assert_eq!(
        end,
        WsEnd::Close(Some(CloseCode::Normal)),
        "the close is answered"
    );
    assert_eq!(srv.close_reason(&sid).await, "transport close");
    assert_eq!(srv.engine.session_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn oversize_frame_closes_with_1009() {
    let srv = TestServer::start(config_with_max_payload(1000));
    let (sid, mut ws) = open(&srv, 1000).await;

    // Exactly max_payload bytes is fine.
    let fits = format!("4{}", "a".repeat(999));
    ws.send_text(&fits).await;
    assert_eq!(ws.recv_text_answering_pings().await, fits);

    ws.send_text(&format!("4{}", "a".repeat(1000))).await;
    let end = ws.expect_server_close(Duration::from_secs(1)).await;
    assert_eq!(end, WsEnd::Close(Some(CloseCode::Size)));
    assert_eq!(srv.close_reason(&sid).await, "transport error");
    srv.stop().await;
}

#[actix_web::test]
async fn websocket_handshake_with_bad_query_is_rejected() {
    let srv = TestServer::start(config());
    for query in [
        "transport=websocket",
        "EIO=abc&transport=websocket",
        "EIO=3&transport=websocket",
        "EIO=4",
        "EIO=4&transport=abc",
        "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA",
    ] {
        match srv.try_ws(query).await {
            Err(WsClientError::InvalidResponseStatus(status)) => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "?{query}")
            }
            Err(other) => panic!("?{query}: unexpected error {other:?}"),
            Ok(_) => panic!("?{query}: the WebSocket was accepted"),
        }
    }
    assert_eq!(srv.recorder.opens(), 0);
    srv.stop().await;
}
