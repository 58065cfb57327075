//! Every way in for a body has a limit, and what goes over it gets a readable refusal:
//! forms (413 and the error page), Socket.IO (413 on polling, close 1009 on a WebSocket),
//! the `/ws` demo (close 1009). GIF uploads: tests/uploads.rs.

mod common;

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use awc::ws::{CloseCode, Frame, Message};
use common::{config, Browser, TestServer};
use futures_util::{SinkExt as _, StreamExt as _};
use gif_chat::app::{MAX_FORM_BYTES, MAX_SOCKET_PAYLOAD};

const STEP: Duration = Duration::from_secs(3);

/// The next frame that is not an Engine.IO ping or a WebSocket ping.
async fn next_frame(
    conn: &mut (impl futures_util::Stream<Item = Result<Frame, awc::error::WsProtocolError>> + Unpin),
) -> Frame {
    loop {
        let frame = tokio::time::timeout(STEP, conn.next())
            .await
            .expect("a frame arrives in time")
            .expect("the connection is open")
            .expect("the frame is valid");
        match frame {
            Frame::Ping(_) | Frame::Pong(_) => {}
            Frame::Text(ref bytes) if &bytes[..] == b"2" => {}
            other => return other,
        }
    }
}

#[actix_rt::test]
async fn a_form_over_the_limit_gets_a_413_error_page_and_one_under_it_goes_through() {
    let srv = TestServer::start(config("development")).await;
    let browser = Browser::new(&srv);
    browser.get("/").await;

    let padding = "a".repeat(MAX_FORM_BYTES);
    let page = browser
        .post_form(
            "/room",
            &[("title", "큰 방"), ("max", "10"), ("x", &padding)],
        )
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("<h2>413</h2>"), "{}", page.body);
    assert!(
        page.body.contains("입력한 내용이 너무 깁니다."),
        "{}",
        page.body
    );

    // The room form at its own limits (100-character Hangul title and password).
    let title = "가".repeat(100);
    let password = "나".repeat(100);
    let page = browser
        .post_form(
            "/room",
            &[("title", &title), ("max", "10"), ("password", &password)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    srv.stop().await;
}

#[actix_rt::test]
async fn a_socketio_polling_body_over_the_payload_limit_gets_a_413() {
    let srv = TestServer::start(config("development")).await;
    let client = awc::Client::default();
    let mut res = client
        .get(srv.url("/socket.io/?EIO=4&transport=polling"))
        .send()
        .await
        .expect("handshake");
    let open = String::from_utf8(res.body().await.expect("body").to_vec()).expect("UTF-8");
    assert!(
        open.contains(&format!(r#""maxPayload":{MAX_SOCKET_PAYLOAD}"#)),
        "{open}"
    );
    let sid = open
        .split(r#""sid":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a sid");

    let body = format!("4{}", "a".repeat(MAX_SOCKET_PAYLOAD as usize));
    let mut res = client
        .post(srv.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")))
        .insert_header((header::CONTENT_TYPE, "text/plain;charset=UTF-8"))
        .send_body(body)
        .await
        .expect("the POST is answered");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // No body (Node's answer): the official client would show one as its close reason, and
    // the app's error page must not be put in its place.
    let body = res.body().await.expect("body");
    assert!(body.is_empty(), "{body:?}");
    srv.stop().await;
}

#[actix_rt::test]
async fn a_socketio_websocket_message_over_the_payload_limit_closes_with_1009() {
    let srv = TestServer::start(config("development")).await;
    let (_, mut conn) = awc::Client::default()
        .ws(srv.url("/socket.io/?EIO=4&transport=websocket"))
        .max_frame_size(4 * MAX_SOCKET_PAYLOAD as usize)
        .connect()
        .await
        .expect("WebSocket handshake");
    match next_frame(&mut conn).await {
        Frame::Text(open) => assert!(open.starts_with(b"0{"), "{open:?}"),
        other => panic!("expected the open packet, got {other:?}"),
    }
    let text = format!("4{}", "a".repeat(MAX_SOCKET_PAYLOAD as usize));
    conn.send(Message::Text(text.into())).await.expect("sent");
    match next_frame(&mut conn).await {
        Frame::Close(reason) => assert_eq!(reason.map(|r| r.code), Some(CloseCode::Size)),
        other => panic!("expected a close frame, got {other:?}"),
    }
    srv.stop().await;
}

#[actix_rt::test]
async fn a_ws_demo_message_over_64_kib_closes_with_1009() {
    let srv = TestServer::start(config("development")).await;
    let (_, mut conn) = awc::Client::default()
        .ws(srv.url("/ws"))
        .max_frame_size(1 << 20)
        .connect()
        .await
        .expect("WebSocket handshake");
    conn.send(Message::Text("a".repeat(64 * 1024 + 1).into()))
        .await
        .expect("sent");
    loop {
        match next_frame(&mut conn).await {
            // The demo's own pushes may come first.
            Frame::Text(_) => {}
            Frame::Close(reason) => {
                assert_eq!(reason.map(|r| r.code), Some(CloseCode::Size));
                break;
            }
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    srv.stop().await;
}
