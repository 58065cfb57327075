//! The HTML error page (the book's final `app.use((err, req, res, next) => ...)`) and the
//! 404 for unmatched routes.

use std::error::Error as _;

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::ServiceResponse,
    http::{
        header::{self, HeaderValue},
        StatusCode,
    },
    middleware::ErrorHandlerResponse,
    web, HttpRequest, HttpResponse,
};

use crate::{
    error::{fallback_page, AppError},
    state::AppState,
};

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
