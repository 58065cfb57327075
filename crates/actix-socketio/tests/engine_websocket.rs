//! Engine.IO v4 sessions opened directly over a WebSocket, against a real server.

mod support;

use std::time::Duration;

use awc::error::WsClientError;
use awc::http::StatusCode;
use awc::ws::{CloseCode, Frame};
use support::{
    config, config_with_max_payload, TcpWs, TestServer, WsConn, WsEnd, OPCODE_CLOSE, OPCODE_TEXT,
};

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

/// A WebSocket session on a bare TCP stream (which can hang up abruptly); returns the sid.
async fn open_tcp(srv: &TestServer) -> (String, TcpWs) {
    let mut ws = TcpWs::connect(srv.addr, &format!("/engine.io/?{WS_QUERY}")).await;
    let (opcode, open) = ws.recv_frame().await.expect("the open packet");
    assert_eq!(opcode, OPCODE_TEXT);
    let open = String::from_utf8(open).expect("UTF-8 open packet");
    let json = open.strip_prefix('0').expect("an open packet");
    let open: serde_json::Value = serde_json::from_str(json).expect("open packet JSON");
    let sid = open["sid"].as_str().expect("sid is a string").to_owned();
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

/// A browser leaving the page: a close frame (1001, going away) and the TCP connection's
/// end arrive together, and the end must not hide the close frame.
#[actix_web::test]
async fn going_away_then_hanging_up_is_a_transport_close() {
    let srv = TestServer::start(config());
    let (sid, mut ws) = open_tcp(&srv).await;
    ws.send_frame(OPCODE_CLOSE, &1001u16.to_be_bytes()).await;
    drop(ws);
    assert_eq!(srv.close_reason(&sid).await, "transport close");
    assert_eq!(srv.engine.session_count(), 0);
    srv.stop().await;
}

/// A peer that vanishes without a close frame went away; it did not break the protocol
/// (Node's engine.io says "transport close" for it too).
#[actix_web::test]
async fn a_connection_dropped_without_a_close_frame_is_a_transport_close() {
    let srv = TestServer::start(config());
    let (sid, ws) = open_tcp(&srv).await;
    drop(ws);
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
