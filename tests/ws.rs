//! Raw WebSocket demo at /ws: periodic push, replies, pings, and that no connection task
//! outlives its connection.

mod common;

use std::time::Duration;

use awc::error::WsProtocolError;
use awc::ws::{CloseCode, CloseReason, Frame, Message};
use common::{config, TestServer};
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use gif_chat::{demo::ws::SERVER_MESSAGE, state::AppState};

/// Upper bound for anything the server should do within a few 50 ms intervals.
const STEP_TIMEOUT: Duration = Duration::from_secs(2);
const POLL_EVERY: Duration = Duration::from_millis(20);

async fn connect(
    srv: &TestServer,
) -> impl Stream<Item = Result<Frame, WsProtocolError>> + Sink<Message, Error = WsProtocolError> + Unpin
{
    let (res, conn) = awc::Client::default()
        .ws(srv.url("/ws"))
        .connect()
        .await
        .expect("WebSocket handshake succeeds");
    assert_eq!(res.status(), awc::http::StatusCode::SWITCHING_PROTOCOLS);
    conn
}

async fn next_frame(
    conn: &mut (impl Stream<Item = Result<Frame, WsProtocolError>> + Unpin),
) -> Frame {
    tokio::time::timeout(STEP_TIMEOUT, conn.next())
        .await
        .expect("a frame arrives in time")
        .expect("the connection is open")
        .expect("the frame is valid")
}

/// Polls the app's live-connection counter until it reaches zero or the bound expires.
async fn wait_until_no_connections(state: &AppState) -> usize {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let live = state.live_ws_connections();
        if live == 0 || tokio::time::Instant::now() >= deadline {
            return live;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

#[actix_rt::test]
async fn pushes_every_interval_and_stops_after_close() {
    let srv = TestServer::start(config("development")).await;
    let mut conn = connect(&srv).await;
    assert_eq!(srv.state.live_ws_connections(), 1);

    let mut received = 0;
    while received < 2 {
        match next_frame(&mut conn).await {
            Frame::Text(text) => {
                assert_eq!(text, SERVER_MESSAGE.as_bytes());
                received += 1;
                conn.send(Message::Text(
                    "클라이언트에서 서버로 답장을 보냅니다.".into(),
                ))
                .await
                .expect("reply is sent");
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }

    conn.send(Message::Close(Some(CloseCode::Normal.into())))
        .await
        .expect("close is sent");
    // The server completes the closing handshake (pushes may still be in flight before it).
    let echoed = tokio::time::timeout(STEP_TIMEOUT, async {
        loop {
            match next_frame(&mut conn).await {
                Frame::Close(reason) => break reason.map(|r: CloseReason| r.code),
                Frame::Text(_) => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
    })
    .await
    .expect("the server answers the close frame");
    assert_eq!(echoed, Some(CloseCode::Normal));

    assert_eq!(
        wait_until_no_connections(&srv.state).await,
        0,
        "connection task still running"
    );
    srv.stop().await;
}

#[actix_rt::test]
async fn dropping_the_tcp_connection_without_close_frame_ends_the_task() {
    let srv = TestServer::start(config("development")).await;
    let mut conn = connect(&srv).await;
    assert!(matches!(next_frame(&mut conn).await, Frame::Text(_)));
    assert_eq!(srv.state.live_ws_connections(), 1);

    drop(conn);

    assert_eq!(
        wait_until_no_connections(&srv.state).await,
        0,
        "connection task still running"
    );
    srv.stop().await;
}

#[actix_rt::test]
async fn answers_pings_with_pongs() {
    let srv = TestServer::start(config("development")).await;
    let mut conn = connect(&srv).await;
    conn.send(Message::Ping("are you there".into()))
        .await
        .expect("ping is sent");
    let pong = tokio::time::timeout(STEP_TIMEOUT, async {
        loop {
            match next_frame(&mut conn).await {
                Frame::Pong(payload) => break payload,
                Frame::Text(_) => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
    })
    .await
    .expect("the server answers the ping");
    assert_eq!(pong, "are you there".as_bytes());
    drop(conn);
    assert_eq!(wait_until_no_connections(&srv.state).await, 0);
    srv.stop().await;
}

#[actix_rt::test]
async fn stopping_the_server_ends_open_connections() {
    let srv = TestServer::start(config("development")).await;
    let mut conn = connect(&srv).await;
    assert!(matches!(next_frame(&mut conn).await, Frame::Text(_)));
    let state = srv.state.clone();

    srv.stop().await;

    assert_eq!(wait_until_no_connections(&state).await, 0);
    drop(conn);
}

#[actix_rt::test]
async fn every_connection_is_counted_separately() {
    let srv = TestServer::start(config("development")).await;
    let first = connect(&srv).await;
    let second = connect(&srv).await;
    assert_eq!(srv.state.live_ws_connections(), 2);
    drop(first);
    drop(second);
    assert_eq!(wait_until_no_connections(&srv.state).await, 0);
    srv.stop().await;
}

#[actix_rt::test]
async fn other_sites_pages_cannot_open_the_demo_socket() {
    let srv = TestServer::start(config("development")).await;
    for origin in [
        "http://evil.example",
        &srv.origin().replacen("http://", "https://", 1),
    ] {
        let err = awc::Client::default()
            .ws(srv.url("/ws"))
            .origin(origin)
            .connect()
            .await
            .err()
            .unwrap_or_else(|| panic!("{origin} was let in"));
        assert!(
            matches!(
                err,
                awc::error::WsClientError::InvalidResponseStatus(status)
                    if status == awc::http::StatusCode::FORBIDDEN
            ),
            "{origin}: {err:?}"
        );
    }
    assert_eq!(srv.state.live_ws_connections(), 0);
    // This site's page gets in (and clients without an Origin, as in the tests above).
    let (res, _conn) = awc::Client::default()
        .ws(srv.url("/ws"))
        .origin(srv.origin())
        .connect()
        .await
        .expect("same-origin handshake");
    assert_eq!(res.status(), awc::http::StatusCode::SWITCHING_PROTOCOLS);
    srv.stop().await;
}
