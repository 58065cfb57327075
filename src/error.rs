//! The app's error types: a handler's ([`AppError`]) and start-up's ([`StartupError`]).
//! The HTML error page is `middleware::error_pages`.

use std::fmt;

use actix_session::SessionInsertError;
use actix_web::{
    http::{Method, StatusCode},
    ResponseError,
};

use crate::{config::ConfigError, store::StoreError};

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

// The default text body is never shown: `middleware::error_pages` replaces it with the
// error template.
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

/// Minimal page for when the error template itself cannot be rendered.
pub(crate) fn fallback_page(status: StatusCode, message: &str) -> String {
    format!(
        "<!DOCTYPE html><meta charset=\"utf-8\"><title>{code}</title><h1>{message}</h1><h2>{code}</h2>",
        code = status.as_u16(),
        message = tera::escape_html(message),
    )
}
