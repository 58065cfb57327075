//! The actix-web service: the Engine.IO endpoint and the one request dispatcher.

use std::sync::Arc;

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

use super::config::EngineConfig;
use super::error::EngineError;
use super::handler::EngineHandler;
use super::registry::Registry;
use super::session::TransportKind;
use super::transports::{polling, websocket};

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
    inner: Arc<Registry<H>>,
}

impl<H: EngineHandler> Clone for EngineIo<H> {
    fn clone(&self) -> Self {
        EngineIo {
            inner: self.inner.clone(),
        }
    }
}

impl<H: EngineHandler> EngineIo<H> {
    /// A server with these settings, reporting to `handler`.
    pub fn new(config: EngineConfig, handler: H) -> Self {
        EngineIo {
            inner: Arc::new(Registry::new(config, handler)),
        }
    }

    /// The server's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The handler sessions report to.
    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.inner.len()
    }

    /// Sessions whose state is still allocated: the open ones, plus closed ones that a
    /// transport task, a timer task or a request still holds. Once every client is gone and
    /// their requests have ended it equals [`EngineIo::session_count`]; more means something
    /// (a task, a timer) outlived its session.
    pub fn retained_sessions(&self) -> usize {
        self.inner.retained()
    }

    /// Closes every session and refuses new handshakes from now on (`503`,
    /// `{"code":4,"message":"Server is shutting down"}`). Each session still delivers what
    /// is queued, then its close packet (`1` on polling, a close frame on a WebSocket).
    /// Returns once every session has ended.
    pub async fn close_all(&self) {
        self.inner.close_all().await;
    }

    /// Whether [`EngineIo::close_all`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
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
    inner: Arc<Registry<H>>,
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
    inner: &Arc<Registry<H>>,
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
