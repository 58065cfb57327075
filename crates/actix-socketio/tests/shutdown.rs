//! `SocketIo::close`: what every kind of client sees on the wire when the server shuts
//! down, and what the server's handlers are told.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use actix_socketio::{DisconnectReason, Socket, SocketIo};
use awc::ws::CloseCode;
use support::{reports, sio_config, within, Incoming, SioServer, WsEnd, STEP};

const REFUSED: &str = r#"{"code":4,"message":"Server is shutting down"}"#;

/// A Socket.IO client over HTTP long-polling, request by request.
struct Polling {
    http: awc::Client,
    base: String,
    sid: String,
}

impl Polling {
    /// Handshake and CONNECT to `/`; returns the client and its socket id.
    async fn connect(srv: &SioServer) -> (Polling, String) {
        let http = awc::Client::builder()
            .timeout(Duration::from_secs(10))
            .finish();
        let base = format!("http://{}/socket.io/?EIO=4&transport=polling", srv.addr);
        let (status, open) = get(&http, &base).await;
        assert_eq!(status, 200, "handshake: {open}");
        let json: serde_json::Value =
            serde_json::from_str(open.strip_prefix('0').expect("an open packet")).expect("JSON");
        let sid = json["sid"].as_str().expect("a sid").to_owned();
        let client = Polling { http, base, sid };
        assert_eq!(client.post("40").await, "ok");
        let connected = client.poll().await;
        let socket_id = connected
            .strip_prefix(r#"40{"sid":""#)
            .and_then(|rest| rest.strip_suffix(r#""}"#))
            .unwrap_or_else(|| panic!("CONNECT is accepted: {connected:?}"))
            .to_owned();
        (client, socket_id)
    }

    fn url(&self) -> String {
        format!("{}&sid={}", self.base, self.sid)
    }

    async fn post(&self, body: &'static str) -> String {
        let mut response = within(STEP, "POST", self.http.post(self.url()).send_body(body))
            .await
            .expect("the POST is answered");
        let bytes = response.body().await.expect("a body");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    async fn poll(&self) -> String {
        let (status, body) = get(&self.http, &self.url()).await;
        assert_eq!(status, 200, "poll: {body}");
        body
    }
}

async fn get(http: &awc::Client, url: &str) -> (u16, String) {
    let mut response = within(STEP, "GET", http.get(url).send())
        .await
        .expect("the GET is answered");
    let bytes = response.body().await.expect("a body");
    let body = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    (response.status().as_u16(), body)
}

/// A server whose sockets report `(socket id, reason)` when they leave.
fn server() -> (SioServer, support::Reports<(String, DisconnectReason)>) {
    let (tx, left) = reports();
    let io = SocketIo::new(sio_config());
    let on_connect = move |socket: Socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |socket: Socket, reason| {
            let _ = tx.send((socket.id().to_owned(), reason));
            async {}
        });
        async {}
    };
    io.on_connect(on_connect.clone());
    io.of("/admin").on_connect(on_connect);
    (SioServer::start(io), left)
}

#[actix_web::test]
async fn close_flushes_what_is_queued_then_closes_every_connection() {
    let (srv, mut left) = server();
    let mut ws = srv.raw().await;
    let ws_root = ws.connect("/", None).await;
    let ws_admin = ws.connect("/admin", None).await;
    let (polling, polling_root) = Polling::connect(&srv).await;

    // Queued for the polling client, which has no GET pending.
    srv.io.emit("bye", "soon").expect("the emit is queued");
    ws.expect(r#"42["bye","soon"]"#).await;

    let io = srv.io.clone();
    let closed = actix_rt::spawn(async move { io.close().await });

    // No DISCONNECT packet (`41`): the WebSocket just closes, so the client reconnects.
    assert_eq!(
        ws.expect_closed(STEP).await,
        WsEnd::Close(Some(CloseCode::Normal))
    );
    // The queued event, then (as Node does) the close packet in the next answer.
    assert_eq!(polling.poll().await, "42[\"bye\",\"soon\"]");
    assert_eq!(polling.poll().await, "1");
    within(STEP, "close() returns once every session ended", closed)
        .await
        .expect("close() does not panic");
    assert_eq!(srv.io.engine().session_count(), 0);

    let mut reasons = BTreeMap::new();
    for _ in 0..3 {
        let (id, reason) = left.next("a disconnect").await;
        reasons.insert(id, reason.as_str());
    }
    let expected = BTreeMap::from([
        (ws_root, "server shutting down"),
        (ws_admin, "server shutting down"),
        (polling_root, "server shutting down"),
    ]);
    assert_eq!(reasons, expected);
    left.expect_none(Duration::from_millis(100)).await;
    srv.stop().await;
}

#[actix_web::test]
async fn handshakes_after_close_are_refused() {
    let (srv, _left) = server();
    srv.io.close().await;
    assert!(srv.io.engine().is_closed());

    let http = awc::Client::default();
    let base = format!("http://{}/socket.io/?EIO=4", srv.addr);
    assert_eq!(
        get(&http, &format!("{base}&transport=polling")).await,
        (503, REFUSED.to_owned())
    );
    let ws = within(
        STEP,
        "WebSocket handshake",
        http.ws(format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket",
            srv.addr
        ))
        .connect(),
    )
    .await;
    match ws {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status.as_u16(), 503)
        }
        Err(other) => panic!("expected a 503 refusal, got {other:?}"),
        Ok(_) => panic!("a WebSocket handshake after close() was accepted"),
    }
    srv.stop().await;
}

#[actix_web::test]
async fn a_socket_that_left_before_close_keeps_its_own_reason() {
    let (srv, mut left) = server();
    let mut ws = srv.raw().await;
    let sid = ws.connect("/", None).await;
    ws.send("41");
    assert_eq!(
        left.next("the client's disconnect").await,
        (sid, DisconnectReason::ClientNamespaceDisconnect)
    );
    srv.io.close().await;
    assert_eq!(
        ws.recv().await,
        Incoming::Closed(WsEnd::Close(Some(CloseCode::Normal)))
    );
    left.expect_none(Duration::from_millis(100)).await;
    srv.stop().await;
}
