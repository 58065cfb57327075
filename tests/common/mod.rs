//! A real gif-chat server on 127.0.0.1:0 for the integration tests, a cookie-keeping HTTP
//! client, and the app's sockets on the workspace's raw Socket.IO client (`test-client`).

// Every test crate includes this module and uses a different part of it.
#![allow(dead_code)]

use std::{
    cell::RefCell,
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
use futures_util::Stream;
use gif_chat::{
    app::build_app,
    config::{Config, SESSION_COOKIE_NAME},
    state::AppState,
};
use serde_json::Value;
pub use test_client::{Joined, SocketClient};

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

/// Opens a Socket.IO WebSocket to the app (with the cookie and origin, if any) and
/// CONNECTs to `nsp` with `auth`.
pub async fn connect_socket(
    srv: &TestServer,
    cookie: Option<&str>,
    origin: Option<&str>,
    nsp: &str,
    auth: Value,
) -> Joined {
    let mut request = awc::Client::default().ws(srv.url("/socket.io/?EIO=4&transport=websocket"));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    if let Some(origin) = origin {
        request = request.origin(origin);
    }
    SocketClient::connect(request, STEP_TIMEOUT, nsp, &auth).await
}

/// A `/chat` socket for `browser` in `room`, from this site's page.
pub async fn chat_socket(srv: &TestServer, browser: &Browser, room: i64) -> Joined {
    let cookie = browser.cookie();
    let auth = serde_json::json!({ "room": room });
    connect_socket(srv, cookie.as_deref(), Some(srv.origin()), "/chat", auth).await
}

/// A `/room` (room list) socket.
pub async fn room_list_socket(srv: &TestServer) -> SocketClient {
    connect_socket(
        srv,
        None,
        Some(srv.origin()),
        "/room",
        serde_json::json!({}),
    )
    .await
    .socket()
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
