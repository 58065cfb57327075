//! Upgrading a polling session to a WebSocket, against a real server.

mod support;

use std::time::Duration;

use support::{config, error_body, within, TestServer, WsEnd, SETTLE, STEP};

#[actix_web::test]
async fn polling_session_upgrades_to_websocket() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;

    // Polling works before the upgrade.
    srv.post(&sid, "4before").await.assert(200, "ok");
    srv.get(&sid).await.assert(200, "4before");

    // A long-poll is pending when the probe starts.
    let client = srv.client.clone();
    let poll_sid = sid.clone();
    let pending = actix_rt::spawn(async move { client.get(&poll_sid).await });
    actix_rt::time::sleep(SETTLE).await;
    assert!(!pending.is_finished(), "the GET is pending");

    let mut ws = srv
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");
    // The pending GET is released with a noop at once, so the client can pause polling.
    within(
        Duration::from_millis(500),
        "the pending GET answers 6 promptly",
        pending,
    )
    .await
    .expect("GET task")
    .assert(200, "6");

    ws.send_text("5").await;
    ws.send_text("4hi").await;
    assert_eq!(ws.recv_text_answering_pings().await, "4hi");

    // Polling is refused once the session moved, but the session lives on.
    srv.get(&sid)
        .await
        .assert(400, &error_body(3, "Bad request"));
    assert!(srv.is_open(&sid), "{:?}", srv.recorder.reasons(&sid));

    // A second WebSocket for the same sid is closed by the server...
    let mut second = srv
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    let end = second.expect_server_close(Duration::from_secs(1)).await;
    assert!(matches!(end, WsEnd::Close(_) | WsEnd::Dropped), "{end:?}");

    // ...while the first still works.
    ws.send_text("4again").await;
    assert_eq!(ws.recv_text_answering_pings().await, "4again");
    ws.send_binary(&[1, 2, 3, 4]).await;
    match ws.recv_answering_pings().await {
        awc::ws::Frame::Binary(bytes) => assert_eq!(&bytes[..], &[1, 2, 3, 4]),
        other => panic!("expected the binary echo, got {other:?}"),
    }

    // The heartbeat continues over the WebSocket.
    assert_eq!(ws.recv_text().await, "2", "a ping over the WebSocket");
    ws.send_text("3").await;
    assert_eq!(ws.recv_text().await, "2", "the next ping, after the pong");
    ws.send_text("3").await;
    assert!(srv.is_open(&sid), "{:?}", srv.recorder.reasons(&sid));
    assert_eq!(srv.recorder.opens(), 1, "the upgrade opened no new session");

    ws.send_text("1").await;
    let end = ws.expect_server_close(STEP).await;
    assert!(matches!(end, WsEnd::Close(_) | WsEnd::Dropped), "{end:?}");
    assert_eq!(srv.close_reason(&sid).await, "transport close");
    assert_eq!(srv.engine.session_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn messages_sent_during_the_probe_arrive_over_the_websocket() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;

    let mut ws = srv
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");

    // Posted (and echoed) while the probe runs: the echo waits for the new transport.
    srv.post(&sid, "4during").await.assert(200, "ok");
    srv.get(&sid).await.assert(200, "6");

    ws.send_text("5").await;
    assert_eq!(ws.recv_text_answering_pings().await, "4during");
    assert!(srv.is_open(&sid));
    srv.stop().await;
}

#[actix_web::test]
async fn abandoned_probe_leaves_polling_working() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;

    let mut ws = srv
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");
    // The client gives up on the WebSocket before sending "5".
    ws.send_close().await;
    drop(ws);
    actix_rt::time::sleep(SETTLE).await;

    // The session goes on over polling, as if the probe had never happened: the next GET
    // carries the echo (not a noop).
    assert!(srv.is_open(&sid), "{:?}", srv.recorder.reasons(&sid));
    srv.post(&sid, "4still polling").await.assert(200, "ok");
    srv.get(&sid).await.assert(200, "4still polling");

    // And the client may probe again.
    let mut retry = srv
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    retry.send_text("2probe").await;
    assert_eq!(retry.recv_text().await, "3probe");
    retry.send_text("5").await;
    retry.send_text("4upgraded").await;
    assert_eq!(retry.recv_text_answering_pings().await, "4upgraded");
    assert_eq!(srv.recorder.opens(), 1);
    srv.stop().await;
}

#[actix_web::test]
async fn probe_websocket_close_is_answered() {
    let srv = TestServer::start(config());
    let (sid, _) = srv.handshake().await;

    let mut ws = srv
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");
    ws.send_close().await;
    // RFC 6455 5.5.1: the server answers a close frame with its own, at once, as it does on
    // a session's WebSocket (not by letting actix drop the TCP connection after its 1 s
    // client-disconnect timeout).
    let end = ws.expect_server_close(Duration::from_millis(500)).await;
    assert!(matches!(end, WsEnd::Close(Some(_))), "{end:?}");
    srv.stop().await;
}
