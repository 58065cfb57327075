//! Page handlers (the book's `routes/index.js`).

use actix_session::Session;
use actix_web::{web, HttpResponse};
use tera::Context;

use crate::{app::AppState, error::AppError};

/// Session key for the visit counter; writing it is what issues the session cookie.
const VISITS_KEY: &str = "visits";

pub async fn index(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, AppError> {
    // A value that no longer decodes (older build) just restarts the count.
    let visits = session
        .get::<u32>(VISITS_KEY)
        .ok()
        .flatten()
        .unwrap_or(0)
        .saturating_add(1);
    session.insert(VISITS_KEY, visits)?;

    let mut context = Context::new();
    context.insert("visits", &visits);
    state.page("index.html", &context)
}

pub async fn ws_demo(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.page("ws-demo.html", &Context::new())
}

pub async fn socketio_demo(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.page("socketio-demo.html", &Context::new())
}
