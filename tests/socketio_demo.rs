//! The Socket.IO demo (section 12.3) through the real `/socket.io/` endpoint: `news` per
//! socket on an interval, `reply` accepted, no timer outliving its socket, and the
//! official client served.

mod common;

use std::time::Duration;

use awc::ws::Message;
use common::{config, TestServer};
use gif_chat::{demo::socketio::NEWS, state::AppState};
use test_client::RawClient;

const STEP_TIMEOUT: Duration = Duration::from_secs(2);
const POLL_EVERY: Duration = Duration::from_millis(20);

/// Opens a WebSocket Engine.IO session and joins the main namespace.
async fn connect_socketio(srv: &TestServer) -> RawClient {
    let request = awc::Client::default().ws(srv.url("/socket.io/?EIO=4&transport=websocket"));
    let mut client = RawClient::open(request).await;
    client.connect("/", None).await;
    client
}

async fn wait_for_no_timers(state: &AppState) -> usize {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let live = state.live_news_timers();
        if live == 0 || tokio::time::Instant::now() >= deadline {
            return live;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

#[actix_rt::test]
async fn news_arrives_on_the_interval_and_the_timer_stops_on_disconnect() {
    let srv = TestServer::start(config("development")).await;
    let mut conn = connect_socketio(&srv).await;
    assert_eq!(srv.state.live_news_timers(), 1);

    let news = format!(r#"42["news","{NEWS}"]"#);
    assert_eq!(conn.recv_text().await, news);
    conn.send(r#"42["reply","Hello Node.JS"]"#);
    assert_eq!(conn.recv_text().await, news);

    conn.send_message(Message::Close(None));
    assert_eq!(wait_for_no_timers(&srv.state).await, 0);
    srv.stop().await;
}

#[actix_rt::test]
async fn leaving_the_namespace_also_stops_the_timer() {
    let srv = TestServer::start(config("development")).await;
    let conn = connect_socketio(&srv).await;
    conn.send("41");
    assert_eq!(wait_for_no_timers(&srv.state).await, 0);
    srv.stop().await;
}

#[actix_rt::test]
async fn polling_handshake_is_byte_exact() {
    let srv = TestServer::start(config("development")).await;
    let mut res = awc::Client::default()
        .get(srv.url("/socket.io/?EIO=4&transport=polling"))
        .send()
        .await
        .expect("handshake");
    let body = String::from_utf8(res.body().await.expect("body").to_vec()).expect("UTF-8");
    let sid = body
        .strip_prefix(r#"0{"sid":""#)
        .and_then(|rest| rest.split('"').next())
        .expect("open packet with a sid");
    assert_eq!(sid.len(), 20);
    assert_eq!(
        body,
        format!(
            r#"0{{"sid":"{sid}","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}}"#
        )
    );
    srv.stop().await;
}

#[actix_rt::test]
async fn the_demo_page_loads_the_official_client_from_its_own_origin() {
    let srv = TestServer::start(config("development")).await;
    let mut res = awc::Client::default()
        .get(srv.url("/socketio-demo"))
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), 200);
    let html = String::from_utf8(res.body().await.expect("body").to_vec()).expect("UTF-8");
    assert!(html.contains(r#"<script src="/socket.io/socket.io.js"></script>"#));
    assert!(!html.contains("localhost:8005"));
    srv.stop().await;
}

#[actix_rt::test]
async fn the_official_client_is_served_with_an_etag() {
    let srv = TestServer::start(config("development")).await;
    let client = awc::Client::default();
    let mut res = client
        .get(srv.url("/socket.io/socket.io.min.js"))
        .send()
        .await
        .expect("client file");
    assert_eq!(
        res.status(),
        200,
        "socket.io-client is installed by `npm ci` (make test does it)"
    );
    assert_eq!(
        res.headers().get("content-type").expect("content type"),
        "application/javascript; charset=utf-8"
    );
    assert_eq!(
        res.headers().get("cache-control").expect("cache control"),
        "public, max-age=0"
    );
    let etag = res.headers().get("etag").expect("etag").clone();
    let body = res.body().limit(10_000_000).await.expect("body");
    assert!(body.len() > 10_000);

    let res = client
        .get(srv.url("/socket.io/socket.io.min.js"))
        .insert_header(("If-None-Match", etag))
        .send()
        .await
        .expect("conditional request");
    assert_eq!(res.status(), 304);
    srv.stop().await;
}
