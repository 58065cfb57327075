//! A real Engine.IO echo server on 127.0.0.1:0, and HTTP / WebSocket clients for it.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_socketio::engine::{
    CloseReason, Data, EngineConfig, EngineHandler, EngineIo, EngineSocket,
};
use actix_web::dev::ServerHandle;
use awc::error::WsClientError;
use awc::http::Method;
use awc::ws::{CloseCode, Frame, Message};
use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use test_client::{within, WsEnd, WsTransport, STEP};

/// How long a request that must stay pending is watched before it is declared pending.
pub const SETTLE: Duration = Duration::from_millis(50);

/// The settings the official suites use: ping 300 ms, timeout 200 ms, max payload 1e6.
pub fn config() -> EngineConfig {
    EngineConfig {
        path: "/engine.io/".into(),
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        max_payload: 1_000_000,
        ..EngineConfig::default()
    }
}

/// `config()` with another `max_payload`.
pub fn config_with_max_payload(max_payload: u64) -> EngineConfig {
    EngineConfig {
        max_payload,
        ..config()
    }
}

/// The JSON error body of the reference server.
pub fn error_body(code: u8, message: &str) -> String {
    format!(r#"{{"code":{code},"message":"{message}"}}"#)
}

/// What the handler saw: opens, closes and the close reason of each session.
#[derive(Default)]
pub struct Recorder {
    opens: AtomicUsize,
    closes: AtomicUsize,
    reasons: Mutex<HashMap<String, Vec<&'static str>>>,
}

impl Recorder {
    pub fn opens(&self) -> usize {
        self.opens.load(Ordering::SeqCst)
    }

    pub fn closes(&self) -> usize {
        self.closes.load(Ordering::SeqCst)
    }

    /// Every close reason reported for `sid`, in order (at most one is expected).
    pub fn reasons(&self, sid: &str) -> Vec<&'static str> {
        self.reasons
            .lock()
            .unwrap()
            .get(sid)
            .cloned()
            .unwrap_or_default()
    }
}

/// Sends every message back as it came, and records opens and closes.
pub struct Echo {
    recorder: Arc<Recorder>,
}

impl EngineHandler for Echo {
    type Data = ();

    fn on_open(&self, _: &EngineSocket) {
        self.recorder.opens.fetch_add(1, Ordering::SeqCst);
    }

    fn on_message(&self, socket: &EngineSocket, _: &(), message: Data) {
        socket.send(message);
    }

    fn on_close(&self, socket: &EngineSocket, _: &(), reason: CloseReason) {
        self.recorder
            .reasons
            .lock()
            .unwrap()
            .entry(socket.sid().to_owned())
            .or_default()
            .push(reason.as_str());
        self.recorder.closes.fetch_add(1, Ordering::SeqCst);
    }
}

/// An HTTP response, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    /// Asserts status and exact body, with both in the failure message.
    #[track_caller]
    pub fn assert(&self, status: u16, body: &str) {
        assert_eq!(
            (self.status, self.body.as_str()),
            (status, body),
            "unexpected response {self:?}"
        );
    }
}

/// An HTTP and WebSocket client for the test server; cheap to clone into spawned tasks.
#[derive(Clone)]
pub struct Client {
    http_base: String,
    ws_base: String,
    client: awc::Client,
}

/// Sends one HTTP request and reads the whole response, within `3 × STEP`.
pub(super) async fn send(client: &awc::Client, method: Method, url: String, body: Bytes) -> Reply {
    let what = format!("{method} {url}");
    within(STEP * 3, &what, async {
        let mut response = client
            .request(method.clone(), url.as_str())
            .send_body(body)
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        let bytes = response
            .body()
            .limit(16 * 1024 * 1024)
            .await
            .unwrap_or_else(|e| panic!("{what}: body failed: {e}"));
        Reply {
            status: response.status().as_u16(),
            content_type: response
                .headers()
                .get(awc::http::header::CONTENT_TYPE)
                .map(|v| v.to_str().expect("ASCII content-type").to_owned()),
            body: String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
        }
    })
    .await
}

impl Client {
    /// `http://127.0.0.1:port/engine.io/?{query}`
    pub fn url(&self, query: &str) -> String {
        format!("{}/engine.io/?{query}", self.http_base)
    }

    pub async fn request(&self, method: Method, query: &str, body: impl Into<Bytes>) -> Reply {
        send(&self.client, method, self.url(query), body.into()).await
    }

    /// A long-poll GET for `sid` (bounded by 6 s).
    pub async fn get(&self, sid: &str) -> Reply {
        self.request(
            Method::GET,
            &format!("EIO=4&transport=polling&sid={sid}"),
            Bytes::new(),
        )
        .await
    }

    /// A POST of `body` for `sid`.
    pub async fn post(&self, sid: &str, body: impl Into<Bytes>) -> Reply {
        self.request(
            Method::POST,
            &format!("EIO=4&transport=polling&sid={sid}"),
            body,
        )
        .await
    }

    /// A polling handshake: the sid and the open packet's JSON (without the `0`).
    pub async fn handshake(&self) -> (String, String) {
        let reply = self
            .request(Method::GET, "EIO=4&transport=polling", Bytes::new())
            .await;
        assert_eq!(reply.status, 200, "handshake: {reply:?}");
        let json = reply
            .body
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("handshake body starts with 0: {:?}", reply.body))
            .to_owned();
        let open: serde_json::Value = serde_json::from_str(&json).expect("handshake JSON");
        let sid = open["sid"].as_str().expect("sid is a string").to_owned();
        (sid, json)
    }

    /// Opens a WebSocket at `ws://127.0.0.1:port/engine.io/?{query}`, or the handshake error.
    pub async fn try_ws(&self, query: &str) -> Result<WsConn, WsClientError> {
        let url = format!("{}/engine.io/?{query}", self.ws_base);
        let (response, conn) =
            within(STEP, "WebSocket handshake", self.client.ws(url).connect()).await?;
        assert_eq!(response.status().as_u16(), 101, "switching protocols");
        Ok(WsConn(Box::new(conn)))
    }

    pub async fn ws(&self, query: &str) -> WsConn {
        self.try_ws(query)
            .await
            .unwrap_or_else(|e| panic!("WebSocket ?{query} opens: {e:?}"))
    }
}

/// Runs an app of `mount` with one worker on 127.0.0.1:0, as the servers under test run
/// (an aborted long-poll GET seen as gone, not half-closed); must be called inside an
/// actix runtime.
pub(super) fn listen(
    mount: impl Fn(&mut actix_web::web::ServiceConfig) + Clone + Send + 'static,
    request_timeout: Duration,
) -> (SocketAddr, ServerHandle) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("listener has an address");
    let server = actix_web::HttpServer::new(move || actix_web::App::new().configure(mount.clone()))
        .workers(1)
        .disable_signals()
        .h1_allow_half_closed(false)
        .client_request_timeout(request_timeout)
        .listen(listener)
        .expect("listen on the bound socket")
        .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    (addr, handle)
}

/// An HTTP client whose requests give up after 10 s.
pub(super) fn http_client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
}

/// Serves `engine` with one worker on 127.0.0.1:0, with a client for it; must be called
/// inside an actix runtime.
pub fn serve<H: EngineHandler>(engine: EngineIo<H>) -> (SocketAddr, ServerHandle, Client) {
    // actix's default request timeout.
    let (addr, handle) = listen(move |cfg| engine.mount(cfg), Duration::from_secs(5));
    let client = Client {
        http_base: format!("http://{addr}"),
        ws_base: format!("ws://{addr}"),
        client: http_client(),
    };
    (addr, handle, client)
}

/// A running echo server; stop it with [`TestServer::stop`] at the end of a test.
pub struct TestServer {
    pub addr: SocketAddr,
    pub client: Client,
    pub engine: EngineIo<Echo>,
    pub recorder: Arc<Recorder>,
    handle: ServerHandle,
}

impl Deref for TestServer {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestServer {
    /// Starts the echo server with one worker; must be called inside an actix runtime.
    pub fn start(config: EngineConfig) -> TestServer {
        let recorder = Arc::new(Recorder::default());
        let engine = EngineIo::new(
            config,
            Echo {
                recorder: recorder.clone(),
            },
        );
        let (addr, handle, client) = serve(engine.clone());
        TestServer {
            addr,
            client,
            engine,
            recorder,
            handle,
        }
    }

    /// Waits until the session `sid` is closed and returns its one close reason.
    pub async fn close_reason(&self, sid: &str) -> &'static str {
        let reasons = within(STEP, &format!("session {sid} closes"), async {
            loop {
                let reasons = self.recorder.reasons(sid);
                if !reasons.is_empty() {
                    return reasons;
                }
                actix_rt::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        // A second close event would arrive synchronously with the first; give it a moment.
        actix_rt::time::sleep(Duration::from_millis(20)).await;
        let all = self.recorder.reasons(sid);
        assert_eq!(all.len(), 1, "exactly one close for {sid}: {all:?}");
        assert_eq!(reasons[0], all[0]);
        all[0]
    }

    /// True if `sid` has not been reported closed.
    pub fn is_open(&self, sid: &str) -> bool {
        self.recorder.reasons(sid).is_empty()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

pub struct WsConn(Box<dyn WsTransport>);

impl WsConn {
    pub async fn send(&mut self, message: Message) {
        within(STEP, "WebSocket send", self.0.send(message))
            .await
            .expect("WebSocket frame is sent");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.send(Message::Text(text.to_owned().into())).await;
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.send(Message::Binary(Bytes::copy_from_slice(bytes)))
            .await;
    }

    /// The next frame, within [`STEP`]; fails on end of stream.
    pub async fn recv(&mut self) -> Frame {
        within(STEP, "a WebSocket frame", self.0.next())
            .await
            .expect("the WebSocket is open")
            .expect("the frame is valid")
    }

    /// The next frame, which must be text.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Frame::Text(bytes) => String::from_utf8(bytes.to_vec()).expect("UTF-8 text frame"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next frame that is not a ping `2`; every ping is answered with `3`.
    pub async fn recv_answering_pings(&mut self) -> Frame {
        loop {
            match self.recv().await {
                Frame::Text(bytes) if &bytes[..] == b"2" => self.send_text("3").await,
                frame => return frame,
            }
        }
    }

    /// The next text frame that is not a ping `2`; every ping is answered with `3`.
    pub async fn recv_text_answering_pings(&mut self) -> String {
        match self.recv_answering_pings().await {
            Frame::Text(bytes) => String::from_utf8(bytes.to_vec()).expect("UTF-8 text frame"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Waits (up to `limit`) for the server to end the WebSocket. Pings `2` are skipped
    /// without an answer; any other data frame fails the test.
    pub async fn expect_server_close(&mut self, limit: Duration) -> WsEnd {
        within(limit, "the server closes the WebSocket", async {
            loop {
                match self.0.next().await {
                    Some(Ok(Frame::Close(reason))) => return WsEnd::Close(reason.map(|r| r.code)),
                    Some(Ok(Frame::Text(bytes))) if &bytes[..] == b"2" => {}
                    Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => {}
                    Some(Ok(other)) => panic!("expected the WebSocket to close, got {other:?}"),
                    Some(Err(_)) | None => return WsEnd::Dropped,
                }
            }
        })
        .await
    }

    /// Sends a close frame (code 1000); the server should answer with its own.
    pub async fn send_close(&mut self) {
        self.send(Message::Close(Some(CloseCode::Normal.into())))
            .await;
    }
}
