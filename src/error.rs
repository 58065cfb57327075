//! Error types and the HTML error page (the book's final `app.use((err, req, res, next) => ...)`).

use std::{error::Error as _, fmt};

use actix_session::SessionInsertError;
use actix_web::{
    body::{EitherBody, MessageBody},
    dev::ServiceResponse,
    http::{
        header::{self, HeaderValue},
        Method, StatusCode,
    },
    middleware::ErrorHandlerResponse,
    web, HttpRequest, HttpResponse, ResponseError,
};

use crate::{app::AppState, config::ConfigError, store::StoreError};

/// Failures of the app's own handlers.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{method} {path} 라우터가 존재하지 않습니다.")]
    NotFound { method: Method, path: String },
    #[error("페이지를 만들지 못했습니다.")]
    Template(#[from] tera::Error),
    #[error("세션을 저장하지 못했습니다.")]
    Session(#[from] SessionInsertError),
    #[error("데이터를 처리하지 못했습니다. 잠시 후 다시 시도해 주세요.")]
    Store(#[from] StoreError),
    #[error("파일을 저장하지 못했습니다.")]
    Io(#[from] std::io::Error),
    /// An unsafe request from another site (see `csrf`); the text is `csrf::CROSS_SITE`.
    #[error("허용되지 않은 요청입니다.")]
    CrossSite,
    /// A request body that arrived too slowly (see `slow_body`).
    #[error("요청 본문이 너무 느리게 도착했습니다.")]
    SlowBody,
    /// A request refused with a message for the visitor (upload too large, not the owner, ...).
    #[error("{message}")]
    Refused {
        status: StatusCode,
        message: &'static str,
    },
}

impl AppError {
    pub fn refused(status: StatusCode, message: &'static str) -> Self {
        AppError::Refused { status, message }
    }
}

// The default text body is never shown: `render_error_page` replaces it with the error template.
impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::CrossSite => StatusCode::FORBIDDEN,
            AppError::SlowBody => StatusCode::REQUEST_TIMEOUT,
            AppError::Refused { status, .. } => *status,
            AppError::Template(_) | AppError::Session(_) | AppError::Store(_) | AppError::Io(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// Why the server could not start; `main` returns it.
#[derive(thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not read .env: {0}")]
    DotEnv(#[from] dotenvy::Error),
    #[error("could not load templates: {0}")]
    Templates(#[source] tera::Error),
    #[error("template {name} not found under {glob}")]
    MissingTemplate { name: &'static str, glob: String },
    #[error("static directory {0} does not exist")]
    StaticDir(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("could not open the database: {0}")]
    Store(#[from] StoreError),
    #[error("could not create the upload directory {dir}: {source}")]
    UploadDir {
        dir: String,
        #[source]
        source: std::io::Error,
    },
}

// `main` returning Err prints the Debug form; make that the one-line explanation.
impl fmt::Debug for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Default service for unmatched routes (and missing static files).
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound {
        method: req.method().clone(),
        // The path actix routed on: percent-decoded (except %, / and +), so `/채팅` reads as typed.
        path: req.match_info().as_str().to_owned(),
    })
}

/// Where the app mounts Socket.IO (the library's default path).
const SOCKET_IO_PATH: &str = "/socket.io/";

/// `ErrorHandlers` hook: gives every 4xx/5xx response without a body of its own (actix's
/// plain-text error bodies, bare statuses such as 405) the HTML error page.
pub fn render_error_page<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    Ok(ErrorHandlerResponse::Response(error_page(res)))
}

/// The response with the HTML error page as its body, unless it has a body of its own or
/// comes from the Socket.IO endpoint, whose answers are the protocol's (a bare 413, JSON
/// errors) and are read by the client, never shown.
pub fn error_page<B: MessageBody>(res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    if has_own_body(res.response().headers()) || res.request().path().starts_with(SOCKET_IO_PATH) {
        return res.map_into_left_body();
    }

    let (req, res) = res.into_parts();
    let status = res.status();
    let (message, details) = describe(status, res.error());
    let html = match req.app_data::<web::Data<AppState>>() {
        Some(state) => {
            let details = details.filter(|_| !state.config().app_env.is_production());
            state.render_error(status, &message, details.as_deref())
        }
        None => fallback_page(status, &message),
    };

    let mut res = res.set_body(html);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    ServiceResponse::new(req, res)
        .map_into_boxed_body()
        .map_into_right_body()
}

/// Minimal page for when the error template itself cannot be rendered.
pub(crate) fn fallback_page(status: StatusCode, message: &str) -> String {
    format!(
        "<!DOCTYPE html><meta charset=\"utf-8\"><title>{code}</title><h1>{message}</h1><h2>{code}</h2>",
        code = status.as_u16(),
        message = tera::escape_html(message),
    )
}

/// Responses that already carry HTML, JSON, etc. are left alone (e.g. protocol errors of a
/// mounted service); only actix's default text bodies and empty responses are replaced.
fn has_own_body(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| !value.starts_with("text/plain"))
}

/// The page's message and, for development, what led to it (the book's `err.stack`): the
/// error's causes, one readable line each. `None` when there is nothing beyond the message.
fn describe(status: StatusCode, error: Option<&actix_web::Error>) -> (String, Option<String>) {
    let reason = status.canonical_reason().unwrap_or("Error").to_owned();
    match error {
        Some(err) => match err.as_error::<AppError>() {
            Some(app_err) => (app_err.to_string(), causes(app_err)),
            // actix's own errors (a malformed form, a bad path): their text is the detail.
            None => (reason, Some(err.to_string())),
        },
        None => (reason, None),
    }
}

/// "원인: …" for each error in `err`'s source chain.
fn causes(err: &AppError) -> Option<String> {
    let mut lines = Vec::new();
    let mut source = err.source();
    while let Some(cause) = source {
        lines.push(format!("원인: {cause}"));
        source = cause.source();
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}
