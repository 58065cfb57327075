//! A real gif-chat server on 127.0.0.1:0 for the integration tests, a cookie-keeping HTTP
//! client, and a raw Socket.IO client over one Engine.IO WebSocket.

// Every test crate includes this module and uses a different part of it.
#![allow(dead_code)]

use std::{
    cell::RefCell,
    collections::VecDeque,
    net::TcpListener,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use actix_web::{
    dev::ServerHandle,
    http::{header, StatusCode},
    web, HttpServer,
};
use awc::{
    error::WsProtocolError,
    ws::{Frame, Message},
};
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use gif_chat::{
    app::build_app,
    config::{Config, SESSION_COOKIE_NAME},
    state::AppState,
};
use serde_json::Value;

pub const TEST_SECRET: &str = "integration-test cookie secret";
/// Upper bound for one step the server should take at once.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(3);

/// Config built from fixed values (never the process environment), with 50 ms demo
/// intervals and rooms that outlive any test unless it asks otherwise.
pub fn config(app_env: &str) -> Config {
    config_with(app_env, &[])
}

/// [`config`] with some variables set or replaced.
pub fn config_with(app_env: &str, vars: &[(&str, &str)]) -> Config {
    Config::from_vars(|name| {
        if let Some((_, value)) = vars.iter().find(|(n, _)| *n == name) {
            return Some((*value).to_owned());
        }
        match name {
            "COOKIE_SECRET" => Some(TEST_SECRET.to_owned()),
            "APP_ENV" => Some(app_env.to_owned()),
            "WS_DEMO_INTERVAL_MS" => Some("50".to_owned()),
            "NEWS_INTERVAL_MS" => Some("50".to_owned()),
            "ROOM_DELETE_GRACE_MS" => Some("60000".to_owned()),
            _ => None,
        }
    })
    .expect("test config is valid")
}

/// A directory of its own under the system temp dir, removed when dropped (even when a
/// test fails).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "gif-chat-test-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("create the temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct TestServer {
    base_url: String,
    pub state: web::Data<AppState>,
    handle: ServerHandle,
    /// Holds the database and the uploads; removed after the last server using it.
    pub dir: Arc<TempDir>,
}

impl TestServer {
    /// Starts the app with one worker, its own database and upload dir; must be called
    /// inside an actix runtime.
    pub async fn start(config: Config) -> Self {
        Self::start_in(config, Arc::new(TempDir::new())).await
    }

    /// Starts the app on the database and uploads in `dir` (to restart on the same data).
    pub async fn start_in(mut config: Config, dir: Arc<TempDir>) -> Self {
        config.database_url = format!("sqlite://{}", dir.path().join("chat.db").display());
        config.upload_dir = dir.path().join("uploads");
        let state = web::Data::new(AppState::new(config).await.expect("app state builds"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("listener has an address");

        let app_state = state.clone();
        let server = HttpServer::new(move || build_app(app_state.clone()))
            .workers(1)
            .h1_allow_half_closed(false)
            .disable_signals()
            .listen(listener)
            .expect("listen on the bound socket")
            .run();
        let handle = server.handle();
        actix_rt::spawn(server);

        TestServer {
            base_url: format!("http://{addr}"),
            state,
            handle,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// What a page of this server sends as `Origin`.
    pub fn origin(&self) -> &str {
        &self.base_url
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
        self.state.close().await;
    }
}

/// A response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub content_type: String,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: header::HeaderMap,
    pub bytes: Vec<u8>,
    pub body: String,
}

impl Page {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("JSON body: {}", self.body))
    }
}

pub async fn read_page(
    mut res: awc::ClientResponse<
        impl Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>> + Unpin,
    >,
) -> Page {
    let text = |value: &header::HeaderValue| value.to_str().unwrap_or_default().to_owned();
    let headers = res.headers().clone();
    let bytes = res
        .body()
        .limit(20 * 1024 * 1024)
        .await
        .expect("body is readable")
        .to_vec();
    Page {
        status: res.status(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .map(text)
            .unwrap_or_default(),
        location: headers.get(header::LOCATION).map(text),
        set_cookies: headers.get_all(header::SET_COOKIE).map(text).collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
        headers,
    }
}

/// A browser, as far as the server can tell: keeps its session cookie, sends this site's
/// `Origin` on unsafe requests, does not follow redirects.
pub struct Browser {
    client: awc::Client,
    base_url: String,
    cookie: RefCell<Option<String>>,
}

impl Browser {
    pub fn new(srv: &TestServer) -> Self {
        Browser {
            client: awc::Client::builder().disable_redirects().finish(),
            base_url: srv.origin().to_owned(),
            cookie: RefCell::new(None),
        }
    }

    /// `name=value` of the session cookie, once the server has set one.
    pub fn cookie(&self) -> Option<String> {
        self.cookie.borrow().clone()
    }

    pub fn request(&self, method: awc::http::Method, path: &str) -> awc::ClientRequest {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base_url));
        if !method.is_safe() {
            req = req.insert_header((header::ORIGIN, self.base_url.clone()));
        }
        if let Some(cookie) = self.cookie() {
            req = req.insert_header((header::COOKIE, cookie));
        }
        req
    }

    /// Keeps the session cookie the server sets.
    fn remember(&self, page: &Page) {
        let prefix = format!("{SESSION_COOKIE_NAME}=");
        if let Some(cookie) = page.set_cookies.iter().find(|c| c.starts_with(&prefix)) {
            let name_value = cookie.split(';').next().unwrap_or_default().to_owned();
            *self.cookie.borrow_mut() = Some(name_value);
        }
    }

    pub async fn send(&self, req: awc::ClientRequest) -> Page {
        let page = read_page(req.send().await.expect("request succeeds")).await;
        self.remember(&page);
        page
    }

    pub async fn send_body(&self, req: awc::ClientRequest, body: Vec<u8>) -> Page {
        let page = read_page(req.send_body(body).await.expect("request succeeds")).await;
        self.remember(&page);
        page
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.request(awc::http::Method::GET, path)).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.request(awc::http::Method::POST, path);
        let page = read_page(req.send_form(&form).await.expect("request succeeds")).await;
        self.remember(&page);
        page
    }

    pub async fn delete(&self, path: &str) -> Page {
        self.send(
            self.request(awc::http::Method::DELETE, path)
                .insert_header((header::ACCEPT, "application/json")),
        )
        .await
    }

    /// Creates a room and returns its id (the browser is then its owner, and granted).
    pub async fn create_room(&self, title: &str, max: &str, password: &str) -> i64 {
        let page = self
            .post_form(
                "/room",
                &[("title", title), ("max", max), ("password", password)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let location = page.location.expect("a Location");
        location
            .strip_prefix("/room/")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("redirect to a room, got {location}"))
    }

    /// Posts a file as the multipart field `field`.
    pub async fn upload(&self, room: i64, field: &str, bytes: &[u8], json: bool) -> Page {
        let boundary = "----gif-chat-test-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x.gif\"\r\n\
             Content-Type: image/gif\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = self
            .request(awc::http::Method::POST, &format!("/room/{room}/gif"))
            .insert_header((
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            ));
        if json {
            req = req.insert_header((header::ACCEPT, "application/json"));
        }
        self.send_body(req, body).await
    }

    /// The public id the pages show for this browser (the chat page's `data-me`).
    pub async fn public_id(&self, room: i64) -> String {
        let page = self.get(&format!("/room/{room}")).await;
        attribute(&page.body, "data-me").unwrap_or_else(|| panic!("no data-me in {}", page.body))
    }
}

/// The value of the first `name="..."` attribute in `html`.
pub fn attribute(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// An awc WebSocket connection, named so it can be boxed.
pub trait WsConn:
    Stream<Item = Result<Frame, WsProtocolError>> + Sink<Message, Error = WsProtocolError> + Unpin
{
}

impl<T> WsConn for T where
    T: Stream<Item = Result<Frame, WsProtocolError>>
        + Sink<Message, Error = WsProtocolError>
        + Unpin
{
}

/// A raw Socket.IO client in one namespace over a WebSocket Engine.IO connection.
pub struct SocketClient {
    conn: Box<dyn WsConn>,
    nsp: String,
    /// Events received but not yet asked for: (name, first argument).
    events: VecDeque<(String, Value)>,
    next_ack: u64,
    disconnected: bool,
}

enum Read {
    Nothing,
    Ack(u64, Value),
    Other,
}

/// What a packet for `nsp` starts with after its type: nothing for the root namespace,
/// else the name and a comma.
fn nsp_prefix(nsp: &str) -> String {
    if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    }
}

/// How a namespace CONNECT was answered.
pub enum Joined {
    Connected(SocketClient),
    Refused(String),
}

impl Joined {
    pub fn socket(self) -> SocketClient {
        match self {
            Joined::Connected(socket) => socket,
            Joined::Refused(message) => panic!("connection refused: {message}"),
        }
    }

    pub fn refusal(self) -> String {
        match self {
            Joined::Connected(_) => panic!("connection accepted"),
            Joined::Refused(message) => message,
        }
    }
}

impl SocketClient {
    /// Opens an Engine.IO WebSocket (with the cookie and origin, if any) and CONNECTs to
    /// `nsp` with `auth`.
    pub async fn connect(
        srv: &TestServer,
        cookie: Option<&str>,
        origin: Option<&str>,
        nsp: &str,
        auth: Value,
    ) -> Joined {
        let mut req = awc::Client::default().ws(srv.url("/socket.io/?EIO=4&transport=websocket"));
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        if let Some(origin) = origin {
            req = req.origin(origin);
        }
        let (_, conn) = req.connect().await.expect("WebSocket handshake succeeds");
        let mut socket = SocketClient {
            conn: Box::new(conn),
            nsp: nsp.to_owned(),
            events: VecDeque::new(),
            next_ack: 0,
            disconnected: false,
        };
        let open = socket.next_text().await;
        assert!(open.starts_with(r#"0{"sid":""#), "{open}");
        let nsp = nsp_prefix(nsp);
        socket.send(format!("40{nsp}{auth}")).await;
        let text = socket.next_text().await;
        if text.starts_with(&format!("40{nsp}")) {
            return Joined::Connected(socket);
        }
        let error = text
            .strip_prefix(&format!("44{nsp}"))
            .unwrap_or_else(|| panic!("unexpected packet before CONNECT: {text}"));
        let error: Value = serde_json::from_str(error).expect("CONNECT_ERROR JSON");
        Joined::Refused(error["message"].as_str().unwrap_or_default().to_owned())
    }

    /// A `/chat` socket for `browser` in `room`, from this site's page.
    pub async fn chat(srv: &TestServer, browser: &Browser, room: i64) -> Joined {
        let cookie = browser.cookie();
        let auth = serde_json::json!({ "room": room });
        Self::connect(srv, cookie.as_deref(), Some(srv.origin()), "/chat", auth).await
    }

    /// A `/room` (room list) socket.
    pub async fn room_list(srv: &TestServer) -> SocketClient {
        Self::connect(
            srv,
            None,
            Some(srv.origin()),
            "/room",
            serde_json::json!({}),
        )
        .await
        .socket()
    }

    async fn send(&mut self, text: String) {
        self.conn
            .send(Message::Text(text.into()))
            .await
            .expect("send a frame");
    }

    /// The next text frame; Engine.IO pings are answered on the way.
    async fn next_text(&mut self) -> String {
        self.try_next_text(STEP_TIMEOUT)
            .await
            .expect("a frame arrives in time")
    }

    async fn try_next_text(&mut self, wait: Duration) -> Option<String> {
        loop {
            let frame = match tokio::time::timeout(wait, self.conn.next()).await {
                Err(_) => return None,
                Ok(None) => panic!("the connection closed"),
                Ok(Some(frame)) => frame.expect("the frame is valid"),
            };
            match frame {
                Frame::Text(bytes) if &bytes[..] == b"2" => self.send("3".to_owned()).await,
                Frame::Text(bytes) => {
                    return Some(String::from_utf8(bytes.to_vec()).expect("UTF-8"))
                }
                Frame::Close(_) => panic!("the connection closed"),
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Reads one packet within `wait`: an event is queued, a DISCONNECT noted, an ack
    /// returned as `Read::Ack`.
    async fn read_packet(&mut self, wait: Duration) -> Read {
        let Some(text) = self.try_next_text(wait).await else {
            return Read::Nothing;
        };
        let nsp = nsp_prefix(&self.nsp);
        let event_prefix = format!("42{nsp}");
        let ack_prefix = format!("43{nsp}");
        if let Some(rest) = text.strip_prefix(&event_prefix) {
            let args: Vec<Value> = serde_json::from_str(rest).expect("event JSON");
            let name = args[0].as_str().expect("event name").to_owned();
            self.events
                .push_back((name, args.get(1).cloned().unwrap_or(Value::Null)));
            Read::Other
        } else if let Some(rest) = text.strip_prefix(&ack_prefix) {
            let split = rest.find('[').expect("ack arguments");
            let id = rest[..split].parse().expect("ack id");
            let args: Vec<Value> = serde_json::from_str(&rest[split..]).expect("ack JSON");
            Read::Ack(id, args.into_iter().next().unwrap_or(Value::Null))
        } else if text == format!("41{}", self.nsp) || text == format!("41{nsp}") {
            self.disconnected = true;
            Read::Other
        } else {
            panic!("unexpected packet {text}");
        }
    }

    /// Emits `event` with `data` and waits for its ack's first argument.
    pub async fn emit_ack(&mut self, event: &str, data: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let packet = serde_json::json!([event, data]);
        self.send(format!("42{}{id}{packet}", nsp_prefix(&self.nsp)))
            .await;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_packet(left).await {
                Read::Ack(acked, reply) => {
                    assert_eq!(acked, id, "acks arrive in order here");
                    return reply;
                }
                Read::Nothing => panic!("no ack for {event} in time"),
                Read::Other => assert!(!self.disconnected, "disconnected while waiting for an ack"),
            }
        }
    }

    /// Emits without asking for an ack.
    pub async fn emit(&mut self, event: &str, data: Value) {
        let packet = serde_json::json!([event, data]);
        self.send(format!("42{}{packet}", nsp_prefix(&self.nsp)))
            .await;
    }

    /// The next `name` event's argument (other events stay queued).
    pub async fn event(&mut self, name: &str) -> Value {
        self.try_event(name, STEP_TIMEOUT)
            .await
            .unwrap_or_else(|| panic!("no {name} event in time; queued: {:?}", self.events))
    }

    /// The next `name` event within `wait`, if any.
    pub async fn try_event(&mut self, name: &str, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(at) = self.events.iter().position(|(n, _)| n == name) {
                return self.events.remove(at).map(|(_, data)| data);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || self.disconnected {
                return None;
            }
            match self.read_packet(left).await {
                Read::Nothing => return None,
                Read::Ack(id, _) => panic!("unexpected ack {id}"),
                Read::Other => {}
            }
        }
    }

    /// Drops every queued `name` event (e.g. older participant lists).
    pub fn forget(&mut self, name: &str) {
        self.events.retain(|(n, _)| n != name);
    }

    /// Waits for the server's DISCONNECT of this namespace.
    pub async fn disconnected(&mut self) {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while !self.disconnected {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_packet(left).await {
                Read::Nothing => panic!("no DISCONNECT in time"),
                Read::Ack(id, _) => panic!("unexpected ack {id}"),
                Read::Other => {}
            }
        }
    }

    /// Leaves by closing the whole connection, as a closed (or reloaded) tab does.
    pub async fn close(mut self) {
        let _ = self.conn.send(Message::Close(None)).await;
    }

    /// Leaves on purpose: a DISCONNECT of the namespace, then the close, as the official
    /// client's `socket.disconnect()` does. Waits for the server's close frame, as a
    /// browser does: a connection dropped at once can lose the frames before it (actix-ws
    /// reports the end of the stream before the frames it has buffered).
    pub async fn leave(mut self) {
        let nsp = self.nsp.clone();
        self.send(format!("41{nsp},")).await;
        let _ = self.conn.send(Message::Close(None)).await;
        let closed = async {
            while let Some(Ok(frame)) = self.conn.next().await {
                if matches!(frame, Frame::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(STEP_TIMEOUT, closed).await;
    }
}

/// Polls `check` until it holds or the step timeout passes.
pub async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`eventually`] for a check that has to wait on something (the store).
pub async fn eventually_async<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
