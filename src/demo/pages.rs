//! The demo pages of sections 12.2 and 12.3 (the book's `routes/index.js`).

use actix_web::{web, HttpResponse};
use tera::Context;

use crate::{error::AppError, state::AppState};

pub async fn ws_demo(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.page("ws-demo.html", &Context::new())
}

pub async fn socketio_demo(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.page("socketio-demo.html", &Context::new())
}
