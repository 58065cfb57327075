//! A real Engine.IO echo server on 127.0.0.1:0, and HTTP / WebSocket clients for it.
//!
//! Every helper is bounded by a timeout, so a misbehaving server fails a test instead of
//! hanging it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_socketio::engine::{
    CloseReason, Data, EngineConfig, EngineHandler, EngineIo, EngineSocket,
};
use actix_web::dev::ServerHandle;
use awc::error::{WsClientError, WsProtocolError};
use awc::http::Method;
use awc::ws::{CloseCode, Frame, Message};
use bytes::Bytes;
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};

/// Upper bound for anything the server should do "at once" or within a few intervals.
pub const STEP: Duration = Duration::from_secs(2);
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

/// Awaits `fut`, failing the test with `what` if it takes longer than `limit`.
pub async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match actix_rt::time::timeout(limit, fut).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
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
async fn send(client: &awc::Client, method: Method, url: String, body: Bytes) -> Reply {
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
fn listen(
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
fn http_client() -> awc::Client {
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

/// The awc WebSocket connection, whatever its concrete type.
pub trait WsTransport:
    Stream<Item = Result<Frame, WsProtocolError>> + Sink<Message, Error = WsProtocolError> + Unpin
{
}

impl<T> WsTransport for T where
    T: Stream<Item = Result<Frame, WsProtocolError>>
        + Sink<Message, Error = WsProtocolError>
        + Unpin
{
}

/// How the server ended a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEnd {
    /// A close frame, with its code if it had one.
    Close(Option<CloseCode>),
    /// The stream ended (or failed) without a close frame.
    Dropped,
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

// ---------------------------------------------------------------------------------------
// Socket.IO: a server starter and a raw wire-level client.
// ---------------------------------------------------------------------------------------

/// Short Socket.IO settings: ping 300 ms / timeout 200 ms, connect timeout 300 ms.
pub fn sio_config() -> actix_socketio::SocketIoConfig {
    let mut config = actix_socketio::SocketIoConfig {
        connect_timeout: Duration::from_millis(300),
        ..actix_socketio::SocketIoConfig::default()
    };
    config.engine.ping_interval = Duration::from_millis(300);
    config.engine.ping_timeout = Duration::from_millis(200);
    config.engine.max_payload = 1_000_000;
    config
}

/// A running Socket.IO server; stop it with [`SioServer::stop`] at the end of a test.
pub struct SioServer {
    pub addr: SocketAddr,
    pub io: actix_socketio::SocketIo,
    client: awc::Client,
    handle: ServerHandle,
}

/// What the raw client's reader task saw, pings excluded (they are answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Text(String),
    Binary(Bytes),
    /// The WebSocket ended; nothing follows.
    Closed(WsEnd),
}

impl SioServer {
    /// Serves `io` (with its handlers already registered) with one worker; must be called
    /// inside an actix runtime.
    pub fn start(io: actix_socketio::SocketIo) -> SioServer {
        // actix's default.
        SioServer::start_with_request_timeout(io, Duration::from_secs(5))
    }

    /// [`SioServer::start`] with another limit on how long a client may take to send a
    /// request's head.
    pub fn start_with_request_timeout(
        io: actix_socketio::SocketIo,
        request_timeout: Duration,
    ) -> SioServer {
        let app_io = io.clone();
        let (addr, handle) = listen(move |cfg| app_io.mount(cfg), request_timeout);
        SioServer {
            addr,
            io,
            client: http_client(),
            handle,
        }
    }

    /// A raw client over `ws://…/socket.io/?EIO=4&transport=websocket`, after the open
    /// packet; not yet in any namespace.
    pub async fn raw(&self) -> RawClient {
        self.raw_with("", &[]).await
    }

    /// [`SioServer::raw`] with more query parameters (`a=1&b=2`) and request headers.
    pub async fn raw_with(&self, query: &str, headers: &[(&str, &str)]) -> RawClient {
        let mut url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr);
        if !query.is_empty() {
            url.push('&');
            url.push_str(query);
        }
        let mut request = self.client.ws(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (response, conn) = within(STEP, "WebSocket handshake", request.connect())
            .await
            .unwrap_or_else(|e| panic!("the Socket.IO WebSocket opens: {e:?}"));
        assert_eq!(response.status().as_u16(), 101, "switching protocols");
        RawClient::start(Box::new(conn)).await
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }

    /// An HTTP request to `http://127.0.0.1:port/socket.io/?{query}`, read whole.
    pub async fn request(&self, method: Method, query: &str, body: impl Into<Bytes>) -> Reply {
        let url = format!("http://{}/socket.io/?{query}", self.addr);
        send(&self.client, method, url, body.into()).await
    }

    /// A polling handshake on the Socket.IO path; returns the Engine.IO sid.
    pub async fn polling_handshake(&self) -> String {
        let reply = self
            .request(Method::GET, "EIO=4&transport=polling", Bytes::new())
            .await;
        assert_eq!(reply.status, 200, "handshake: {reply:?}");
        let json = reply
            .body
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("handshake body starts with 0: {:?}", reply.body));
        let open: serde_json::Value = serde_json::from_str(json).expect("handshake JSON");
        open["sid"].as_str().expect("sid is a string").to_owned()
    }

    /// A long-poll GET for `sid` on the Socket.IO path.
    pub async fn poll(&self, sid: &str) -> Reply {
        let query = format!("EIO=4&transport=polling&sid={sid}");
        self.request(Method::GET, &query, Bytes::new()).await
    }

    /// A POST of `body` for `sid` on the Socket.IO path.
    pub async fn post(&self, sid: &str, body: impl Into<Bytes>) -> Reply {
        let query = format!("EIO=4&transport=polling&sid={sid}");
        self.request(Method::POST, &query, body).await
    }

    /// A WebSocket on plain TCP at `/socket.io/?EIO=4&transport=websocket`, upgraded and
    /// past the open packet: for frames no WebSocket library sends.
    pub async fn tcp_ws(&self) -> TcpWs {
        let mut ws = TcpWs::connect(self.addr, "/socket.io/?EIO=4&transport=websocket").await;
        let (opcode, open) = ws.recv_frame().await.expect("the open packet");
        assert_eq!(opcode, OPCODE_TEXT, "the open packet is text");
        assert!(open.starts_with(b"0{"), "open packet: {open:?}");
        ws
    }
}

pub const OPCODE_TEXT: u8 = 0x1;
pub const OPCODE_CLOSE: u8 = 0x8;

/// A WebSocket client written on a bare TCP stream: it sends any frame it is given,
/// valid or not, and answers nothing on its own (no pong, no close), like a peer that
/// vanished.
pub struct TcpWs {
    stream: tokio::net::TcpStream,
    buffer: Vec<u8>,
}

impl TcpWs {
    /// Connects and upgrades; panics unless the server switches protocols.
    pub async fn connect(addr: SocketAddr, path: &str) -> TcpWs {
        use tokio::io::AsyncWriteExt as _;
        let mut stream = within(STEP, "TCP connect", tokio::net::TcpStream::connect(addr))
            .await
            .expect("TCP connect");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("upgrade request is sent");
        let mut ws = TcpWs {
            stream,
            buffer: Vec::new(),
        };
        let head = within(STEP, "the upgrade response", async {
            loop {
                if let Some(end) = ws.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head: Vec<u8> = ws.buffer.drain(..end + 4).collect();
                    return String::from_utf8(head).expect("ASCII response head");
                }
                assert!(
                    ws.fill().await,
                    "the server closed before answering the upgrade"
                );
            }
        })
        .await;
        assert!(
            head.starts_with("HTTP/1.1 101 "),
            "switching protocols: {head:?}"
        );
        ws
    }

    /// Reads more bytes into the buffer; false at end of stream (or on a reset).
    async fn fill(&mut self) -> bool {
        use tokio::io::AsyncReadExt as _;
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Sends one final, masked frame with any payload.
    pub async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        use tokio::io::AsyncWriteExt as _;
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            len @ 0..=125 => frame.push(0x80 | len as u8),
            len @ 126..=0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        within(STEP, "a raw frame is sent", self.stream.write_all(&frame))
            .await
            .expect("the raw frame is written");
    }

    /// The next frame from the server as (opcode, payload), within [`STEP`]; `None` at
    /// end of stream. Server frames are unmasked and, from this server, unfragmented.
    pub async fn recv_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        within(STEP, "a raw frame", async {
            loop {
                if let Some(frame) = self.take_frame() {
                    return Some(frame);
                }
                if !self.fill().await {
                    return None;
                }
            }
        })
        .await
    }

    fn take_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let b = &self.buffer;
        if b.len() < 2 {
            return None;
        }
        let (len, start) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => {
                let mut len = [0u8; 8];
                len.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(len) as usize, 10)
            }
            126 | 127 => return None,
            len => (len as usize, 2),
        };
        if b.len() < start + len {
            return None;
        }
        let opcode = b[0] & 0x0f;
        let frame: Vec<u8> = self.buffer.drain(..start + len).skip(start).collect();
        Some((opcode, frame))
    }

    /// The next text frame, which must be exactly `expected`.
    #[track_caller]
    pub fn expect_text<'a>(&'a mut self, expected: &'a str) -> impl Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let frame = self.recv_frame().await;
            assert_eq!(
                frame,
                Some((OPCODE_TEXT, expected.as_bytes().to_vec())),
                "at {caller}"
            );
        }
    }
}

/// A Socket.IO client that speaks the wire protocol: text and binary frames in and out.
/// A background task owns the WebSocket and answers every ping `2` with `3`, so a test
/// may wait on the server without losing the connection.
pub struct RawClient {
    /// The Engine.IO session id from the open packet.
    pub eio_sid: String,
    out: tokio::sync::mpsc::UnboundedSender<Message>,
    incoming: tokio::sync::mpsc::UnboundedReceiver<Incoming>,
}

impl RawClient {
    async fn start(mut ws: Box<dyn WsTransport>) -> RawClient {
        let open = match within(STEP, "the open packet", ws.next()).await {
            Some(Ok(Frame::Text(bytes))) => String::from_utf8(bytes.to_vec()).expect("UTF-8"),
            other => panic!("expected the open packet, got {other:?}"),
        };
        let json = open
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("the first frame is the open packet: {open:?}"));
        let value: serde_json::Value = serde_json::from_str(json).expect("open packet JSON");
        let eio_sid = value["sid"].as_str().expect("sid is a string").to_owned();

        let (out, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
        let (in_tx, incoming) = tokio::sync::mpsc::unbounded_channel();
        actix_rt::spawn(async move {
            loop {
                tokio::select! {
                    message = out_rx.recv() => match message {
                        Some(message) => {
                            if ws.send(message).await.is_err() {
                                let _ = in_tx.send(Incoming::Closed(WsEnd::Dropped));
                                return;
                            }
                        }
                        // The client was dropped: leave without a word.
                        None => return,
                    },
                    frame = ws.next() => {
                        let item = match frame {
                            Some(Ok(Frame::Text(bytes))) if &bytes[..] == b"2" => {
                                if ws.send(Message::Text("3".into())).await.is_err() {
                                    let _ = in_tx.send(Incoming::Closed(WsEnd::Dropped));
                                    return;
                                }
                                continue;
                            }
                            Some(Ok(Frame::Text(bytes))) => Incoming::Text(
                                String::from_utf8(bytes.to_vec()).expect("UTF-8 text frame"),
                            ),
                            Some(Ok(Frame::Binary(bytes))) => Incoming::Binary(bytes),
                            Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => continue,
                            Some(Ok(Frame::Close(reason))) => {
                                Incoming::Closed(WsEnd::Close(reason.map(|r| r.code)))
                            }
                            Some(Ok(Frame::Continuation(_))) => {
                                panic!("unexpected continuation frame")
                            }
                            Some(Err(_)) | None => Incoming::Closed(WsEnd::Dropped),
                        };
                        let closed = matches!(item, Incoming::Closed(_));
                        if in_tx.send(item).is_err() || closed {
                            return;
                        }
                    }
                }
            }
        });
        RawClient {
            eio_sid,
            out,
            incoming,
        }
    }

    pub fn send(&self, text: &str) {
        self.out
            .send(Message::Text(text.to_owned().into()))
            .expect("the WebSocket task is running");
    }

    pub fn send_binary(&self, bytes: &[u8]) {
        self.out
            .send(Message::Binary(Bytes::copy_from_slice(bytes)))
            .expect("the WebSocket task is running");
    }

    /// Sends a close frame (code 1000).
    pub fn close(&self) {
        self.out
            .send(Message::Close(Some(CloseCode::Normal.into())))
            .expect("the WebSocket task is running");
    }

    /// The next frame that is not a ping, within [`STEP`].
    pub async fn recv(&mut self) -> Incoming {
        within(STEP, "a frame from the server", self.incoming.recv())
            .await
            .expect("the WebSocket task ended after reporting the close")
    }

    /// The next frame, which must be text.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Incoming::Text(text) => text,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next frame, which must be binary.
    pub async fn recv_binary(&mut self) -> Bytes {
        match self.recv().await {
            Incoming::Binary(bytes) => bytes,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    /// The next frame must be exactly the text `expected`.
    #[track_caller]
    pub fn expect<'a>(&'a mut self, expected: &'a str) -> impl Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let got = self.recv_text().await;
            assert_eq!(got, expected, "at {caller}");
        }
    }

    /// Nothing but pings arrives for `time`.
    pub async fn expect_silence(&mut self, time: Duration) {
        if let Ok(item) = actix_rt::time::timeout(time, self.incoming.recv()).await {
            panic!("expected nothing for {time:?}, got {item:?}");
        }
    }

    /// The server ends the WebSocket within `limit`; any data frame before fails.
    pub async fn expect_closed(&mut self, limit: Duration) -> WsEnd {
        match within(
            limit,
            "the server closes the WebSocket",
            self.incoming.recv(),
        )
        .await
        {
            Some(Incoming::Closed(end)) => end,
            other => panic!("expected the WebSocket to close, got {other:?}"),
        }
    }

    /// Joins `nsp` (`"/"` for the main namespace) with optional auth JSON; returns the
    /// socket id from the exact answer `40[nsp,]{"sid":"…"}`.
    pub async fn connect(&mut self, nsp: &str, auth: Option<&str>) -> String {
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.send(&format!("40{prefix}{}", auth.unwrap_or("")));
        let answer = self.recv_text().await;
        let json = answer
            .strip_prefix(&format!("40{prefix}"))
            .unwrap_or_else(|| panic!("CONNECT {nsp} is accepted: {answer:?}"));
        let value: serde_json::Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{answer:?}: {e}"));
        let sid = value["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer:?} has a sid"))
            .to_owned();
        assert_eq!(answer, format!(r#"40{prefix}{{"sid":"{sid}"}}"#), "exact");
        sid
    }
}

/// What the server's handlers report to the test, in order.
pub struct Reports<T>(tokio::sync::mpsc::UnboundedReceiver<T>);

/// A channel from handlers (on the server's worker thread) to the test.
pub fn reports<T>() -> (tokio::sync::mpsc::UnboundedSender<T>, Reports<T>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (tx, Reports(rx))
}

impl<T: std::fmt::Debug> Reports<T> {
    /// The next report, within [`STEP`].
    pub async fn next(&mut self, what: &str) -> T {
        within(STEP, what, self.0.recv())
            .await
            .unwrap_or_else(|| panic!("{what}: every sender is gone"))
    }

    /// No report comes for `time`.
    pub async fn expect_none(&mut self, time: Duration) {
        if let Ok(Some(item)) = actix_rt::time::timeout(time, self.0.recv()).await {
            panic!("expected no report for {time:?}, got {item:?}");
        }
    }
}
