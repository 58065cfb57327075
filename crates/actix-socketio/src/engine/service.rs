//! The actix-web service: one request dispatcher, the sessions index, event delivery.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use tokio::sync::Notify;

use super::config::EngineConfig;
use super::error::EngineError;
use super::packet::Data;
use super::session::{CloseReason, Event, Session, TransportKind};
use super::sid::IdHasher;
use super::socket::{EngineSocket, RequestInfo};
use super::transports::{polling, websocket};
use crate::sync::{read, write};

/// What runs on top of Engine.IO: Socket.IO, or an application speaking plain Engine.IO.
///
/// The callbacks run on the worker that received the input, with no lock held, so they may
/// send on any socket. They should return quickly; long work belongs in a spawned task.
pub trait EngineHandler: Send + Sync + 'static {
    /// What the handler keeps per session, created at the handshake.
    type Data: Send + Sync + 'static;

    fn on_open(&self, socket: &EngineSocket) -> Self::Data;
    fn on_message(&self, socket: &EngineSocket, data: &Self::Data, message: Data);
    fn on_close(&self, socket: &EngineSocket, data: &Self::Data, reason: CloseReason);
}

/// An Engine.IO v4 server, mounted into an actix-web `App` with [`EngineIo::mount`].
///
/// ```no_run
/// use actix_socketio::engine::{Data, EngineConfig, EngineHandler, EngineIo, EngineSocket, CloseReason};
///
/// struct Echo;
/// impl EngineHandler for Echo {
///     type Data = ();
///     fn on_open(&self, _: &EngineSocket) {}
///     fn on_message(&self, socket: &EngineSocket, _: &(), message: Data) {
///         socket.send(message);
///     }
///     fn on_close(&self, _: &EngineSocket, _: &(), _: CloseReason) {}
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let engine = EngineIo::new(EngineConfig::default(), Echo);
/// actix_web::HttpServer::new(move || {
///     let engine = engine.clone();
///     actix_web::App::new().configure(move |cfg| engine.mount(cfg))
/// })
/// .bind(("127.0.0.1", 3000))?
/// .run()
/// .await
/// # }
/// ```
pub struct EngineIo<H: EngineHandler> {
    inner: Arc<Inner<H>>,
}

impl<H: EngineHandler> Clone for EngineIo<H> {
    fn clone(&self) -> Self {
        EngineIo {
            inner: self.inner.clone(),
        }
    }
}

pub(crate) struct Inner<H: EngineHandler> {
    pub(crate) config: EngineConfig,
    handler: H,
    /// Every open session by sid; shared by all workers, since a polling client's requests
    /// may land on any of them.
    sessions: RwLock<HashMap<String, Arc<Entry<H>>, IdHasher>>,
    /// [`EngineIo::close_all`] was called: handshakes are refused.
    closed: AtomicBool,
    /// Signalled when the last session is removed.
    emptied: Notify,
    /// Sessions still allocated, closed or not (see [`EngineIo::retained_sessions`]).
    retained: Arc<AtomicUsize>,
}

/// A session and the handler's data for it.
pub(crate) struct Entry<H: EngineHandler> {
    pub(crate) socket: EngineSocket,
    data: H::Data,
    _retained: Retained,
}

/// Counts an entry from its creation until its last holder lets go of it.
struct Retained(Arc<AtomicUsize>);

impl Retained {
    fn new(count: &Arc<AtomicUsize>) -> Retained {
        count.fetch_add(1, Ordering::Relaxed);
        Retained(count.clone())
    }
}

impl Drop for Retained {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<H: EngineHandler> EngineIo<H> {
    pub fn new(config: EngineConfig, handler: H) -> Self {
        EngineIo {
            inner: Arc::new(Inner {
                config,
                handler,
                sessions: RwLock::new(HashMap::default()),
                closed: AtomicBool::new(false),
                emptied: Notify::new(),
                retained: Arc::new(AtomicUsize::new(0)),
            }),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.inner.read_sessions().len()
    }

    /// Sessions whose state is still allocated: the open ones, plus closed ones that a
    /// transport task, a timer task or a request still holds. Once every client is gone and
    /// their requests have ended it equals [`EngineIo::session_count`]; more means something
    /// (a task, a timer) outlived its session.
    pub fn retained_sessions(&self) -> usize {
        self.inner.retained.load(Ordering::Relaxed)
    }

    /// Closes every session and refuses new handshakes from now on (`503`,
    /// `{"code":4,"message":"Server is shutting down"}`). Each session still delivers what
    /// is queued, then its close packet (`1` on polling, a close frame on a WebSocket).
    /// Returns once every session has ended.
    pub async fn close_all(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let entries: Vec<Arc<Entry<H>>> = self.inner.read_sessions().values().cloned().collect();
        for entry in entries {
            self.inner.update(&entry, |s| {
                s.close_for(Instant::now(), CloseReason::ServerShutdown)
            });
        }
        loop {
            let emptied = self.inner.emptied.notified();
            if self.inner.read_sessions().is_empty() {
                return;
            }
            emptied.await;
        }
    }

    /// Whether [`EngineIo::close_all`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Registers the Engine.IO endpoint at `config.path` (with and without its trailing
    /// slash) for every method; the dispatcher answers wrong ones itself.
    pub fn mount(&self, cfg: &mut web::ServiceConfig) {
        let path = self.inner.config.normalized_path();
        let bare = path.trim_end_matches('/').to_owned();
        let route = || {
            let inner = self.inner.clone();
            web::route().to(move |req: HttpRequest, body: web::Payload| {
                let inner = inner.clone();
                async move { handle(inner, req, body).await }
            })
        };
        // One resource per path: a resource with several paths is matched with a regex
        // set on every request (4% of a polling profile), a single static path is not.
        cfg.service(web::resource(path).route(route()));
        if !bare.is_empty() {
            cfg.service(web::resource(bare).route(route()));
        }
    }
}

#[derive(Deserialize)]
struct EngineQuery {
    #[serde(rename = "EIO")]
    eio: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
}

async fn handle<H: EngineHandler>(
    inner: Arc<Inner<H>>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let mut response = match dispatch(&inner, &req, body).await {
        Ok(response) => response,
        Err(error) => error.error_response(),
    };
    if let Some(cors) = &inner.config.cors {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        if let Some(allowed) = cors.allow_origin(origin) {
            let headers = response.headers_mut();
            if let Ok(value) = header::HeaderValue::from_str(allowed) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            }
            if cors.credentials {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    header::HeaderValue::from_static("true"),
                );
            }
            headers.append(header::VARY, header::HeaderValue::from_static("Origin"));
        }
    }
    response
}

/// The one place that maps a request to a transport action or an error.
async fn dispatch<H: EngineHandler>(
    inner: &Arc<Inner<H>>,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, EngineError> {
    if req.method() == Method::OPTIONS && inner.config.cors.is_some() {
        return Ok(preflight(req));
    }
    let query = web::Query::<EngineQuery>::from_query(req.query_string())
        .map_err(|_| EngineError::BadRequest)?
        .into_inner();
    let transport = query
        .transport
        .as_deref()
        .and_then(TransportKind::from_query)
        .filter(|t| inner.config.allows(*t))
        .ok_or(EngineError::UnknownTransport)?;
    if query.eio.as_deref() != Some("4") {
        return Err(EngineError::UnsupportedProtocolVersion);
    }
    let wants_websocket = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));

    let Some(sid) = query.sid else {
        if req.method() != Method::GET {
            return Err(EngineError::BadHandshakeMethod);
        }
        return match transport {
            TransportKind::Polling => polling::handshake(inner, req),
            TransportKind::WebSocket if wants_websocket => websocket::handshake(inner, req, body),
            TransportKind::WebSocket => Err(EngineError::BadRequest),
        };
    };
    let entry = inner.get(&sid).ok_or(EngineError::UnknownSid)?;
    if transport == TransportKind::Polling && entry.socket.transport() != transport {
        // The session moved to a WebSocket: polling requests are refused, the session lives.
        return Err(EngineError::BadRequest);
    }
    match transport {
        TransportKind::Polling if req.method() == Method::GET => polling::get(inner, entry).await,
        TransportKind::Polling if req.method() == Method::POST => {
            polling::post(inner, entry, req, body).await
        }
        TransportKind::WebSocket if wants_websocket => websocket::upgrade(inner, entry, req, body),
        _ => Err(EngineError::BadRequest),
    }
}

fn preflight(req: &HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::NoContent();
    response.insert_header((
        header::ACCESS_CONTROL_ALLOW_METHODS,
        "GET,HEAD,PUT,PATCH,POST,DELETE",
    ));
    if let Some(requested) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        response.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone()));
    }
    response.finish()
}

impl<H: EngineHandler> Inner<H> {
    fn read_sessions(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Entry<H>>, IdHasher>> {
        read(&self.sessions)
    }

    fn get(&self, sid: &str) -> Option<Arc<Entry<H>>> {
        self.read_sessions().get(sid).cloned()
    }

    /// Refuses a handshake once the server is closing, or while `max_connections` sessions
    /// are open. Checked before the session exists, without holding the lock through
    /// `on_open`: concurrent handshakes on other workers may overshoot by one each.
    pub(crate) fn check_capacity(&self) -> Result<(), EngineError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        if self.read_sessions().len() >= self.config.max_connections {
            return Err(EngineError::TooManyConnections);
        }
        Ok(())
    }

    /// Creates a session for a handshake and lets the handler open it, unless
    /// `max_connections` are open already.
    pub(crate) fn open(
        &self,
        req: &HttpRequest,
        transport: TransportKind,
    ) -> Result<Arc<Entry<H>>, EngineError> {
        self.check_capacity()?;
        let sid = super::sid::generate();
        let session = Session::new(sid.clone(), transport, self.config.limits(), Instant::now());
        let request = RequestInfo::copied_from(req);
        let socket = EngineSocket::new(sid.clone(), request, session);
        let data = self.handler.on_open(&socket);
        let entry = Arc::new(Entry {
            socket,
            data,
            _retained: Retained::new(&self.retained),
        });
        write(&self.sessions).insert(sid, entry.clone());
        // A handshake that passed the check while `close_all` ran closes at once (its open
        // packet still goes out first, then `1`).
        if self.closed.load(Ordering::Acquire) {
            self.update(&entry, |s| {
                s.close_for(Instant::now(), CloseReason::ServerShutdown)
            });
        }
        Ok(entry)
    }

    /// Runs an input through a session, then hands its events to the handler.
    pub(crate) fn update<R>(&self, entry: &Entry<H>, f: impl FnOnce(&mut Session) -> R) -> R {
        let (result, events) = entry.socket.update(f);
        for event in events {
            match event {
                Event::Message(message) => {
                    self.handler.on_message(&entry.socket, &entry.data, message)
                }
                Event::Closed(reason) => {
                    {
                        let mut sessions = write(&self.sessions);
                        sessions.remove(entry.socket.sid());
                        if sessions.is_empty() {
                            self.emptied.notify_waiters();
                        }
                    }
                    // A slow client is closed by the server's own limit: worth a warning.
                    let level = match reason {
                        CloseReason::BufferFull => log::Level::Warn,
                        _ => log::Level::Debug,
                    };
                    log::log!(
                        level,
                        "engine.io session {} closed: {}",
                        entry.socket.sid(),
                        reason.as_str()
                    );
                    self.handler.on_close(&entry.socket, &entry.data, reason);
                }
            }
        }
        result
    }
}

/// Fires a session's deadlines while no WebSocket owns it: polling sessions, and the
/// probing phase of an upgrade. Ends when the session closes or a WebSocket takes over.
pub(crate) async fn drive_timers<H: EngineHandler>(inner: Arc<Inner<H>>, entry: Arc<Entry<H>>) {
    loop {
        let woken = entry.socket.timer_notify().notified();
        let (deadline, transport) = inner.update(&entry, |s| (s.poll_timeout(), s.transport()));
        let Some(deadline) = deadline else { return };
        if transport == TransportKind::WebSocket {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {
                inner.update(&entry, |s| s.handle_timeout(Instant::now()));
            }
            _ = woken => {}
        }
    }
}
