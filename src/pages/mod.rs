//! The chat's pages: the room list, creating a room, entering one.

mod rooms;

use actix_web::{http::header, web, HttpResponse};
use tera::Context;

pub use rooms::{create_room, delete_room, enter_room, new_room, unlock_room};

use crate::{
    app::AppState,
    chat::{session::Viewer, RoomSummary},
    error::AppError,
};

/// `GET /`: every room, newest first, with its live head count; and the flash message.
pub async fn index(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, AppError> {
    let hub = state.chat();
    let rooms: Vec<RoomSummary> = hub
        .store()
        .rooms()
        .await?
        .iter()
        .map(|room| hub.summary(room))
        .collect();
    let mut context = Context::new();
    context.insert("flash", &viewer.take_flash());
    context.insert("rooms", &rooms);
    context.insert("me", &viewer.person);
    state.page("index.html", &context)
}

/// Back to the room list, which shows `message` once.
fn home_with(viewer: &Viewer, message: &str) -> Result<HttpResponse, AppError> {
    viewer.flash(message)?;
    Ok(see_other("/"))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
