//! The chat's pages: the room list, creating a room, entering one, deleting it.

use actix_web::{
    http::{header, StatusCode},
    web, HttpRequest, HttpResponse,
};
use serde::Deserialize;
use serde_json::json;
use tera::Context;

use super::{
    hub::ChatView,
    permissions::{parse_room_id, Refusal},
    person::Person,
    room_list::RoomSummary,
    session::Viewer,
};
use crate::{
    error::AppError,
    state::AppState,
    store::{NewRoom, Room, StoreError},
    validation::{validate_room, RoomForm, MIN_MAX},
};

/// Too many room passwords being hashed or checked at once (the Argon2 queue timed out).
pub const BUSY: &str = "지금은 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.";

/// Over the room-creation rate (per session or per address).
pub const TOO_MANY_ROOMS: &str = "방을 너무 자주 만들고 있습니다. 잠시 후 다시 시도해 주세요.";

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

/// `GET /room`: the empty form.
pub async fn new_room(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    room_form(&state, StatusCode::OK, &RoomForm::default(), None)
}

/// Why the form came back: its message, and the field at fault if one is.
struct FormError<'a> {
    field: Option<&'a str>,
    message: &'a str,
}

/// The form, with the values typed so far (never the password) and the error, if any.
fn room_form(
    state: &AppState,
    status: StatusCode,
    form: &RoomForm,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let mut context = Context::new();
    context.insert("title", &form.title);
    context.insert("max", &form.max);
    context.insert("min_max", &MIN_MAX);
    context.insert("field", &error.as_ref().and_then(|error| error.field));
    context.insert("error", &error.as_ref().map(|error| error.message));
    state.render(status, "room-new.html", &context)
}

/// The form again with a message that concerns no field.
fn refused_form(
    state: &AppState,
    status: StatusCode,
    form: &RoomForm,
    message: &str,
) -> Result<HttpResponse, AppError> {
    let error = FormError {
        field: None,
        message,
    };
    room_form(state, status, form, Some(error))
}

/// `POST /room`: creates the room with its creator as owner and lets them in.
pub async fn create_room(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<RoomForm>,
) -> Result<HttpResponse, AppError> {
    let valid = match validate_room(&form) {
        Ok(valid) => valid,
        Err(err) => {
            let message = err.to_string();
            let error = FormError {
                field: Some(err.field()),
                message: &message,
            };
            return room_form(&state, StatusCode::BAD_REQUEST, &form, Some(error));
        }
    };
    let hub = state.chat();
    // Counted before the password is hashed and the room stored. The TCP peer, not
    // X-Forwarded-For, which the client writes itself.
    let client = req.peer_addr().map(|addr| addr.ip());
    if !hub.allow_new_room(&viewer.person.id, client) {
        return refused_form(&state, StatusCode::TOO_MANY_REQUESTS, &form, TOO_MANY_ROOMS);
    }
    let created = hub
        .store()
        .create_room(NewRoom {
            title: valid.title,
            max: valid.max,
            owner: viewer.person.id.clone(),
            password: valid.password,
        })
        .await;
    let room = match created {
        Ok(room) => room,
        Err(StoreError::Busy) => {
            return refused_form(&state, StatusCode::SERVICE_UNAVAILABLE, &form, BUSY)
        }
        Err(err) => return Err(err.into()),
    };
    viewer.grant(room.id)?;
    hub.room_created(&room);
    Ok(see_other(&format!("/room/{}", room.id)))
}

/// `GET /room/{id}`: the chat page, or the password form, or back to the list with why not.
pub async fn enter_room(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let hub = state.chat();
    let room = match room_for(&state, &path).await {
        Ok(room) => room,
        Err(refusal) => return home_with(&viewer, refusal.message()),
    };
    // Banned, then full (someone already inside may always open another tab).
    if let Err(refusal) = hub.check_stay(&room, &viewer.person).await {
        return home_with(&viewer, refusal.message());
    }
    if room.is_secret() && !viewer.is_granted(room.id) {
        let mut context = Context::new();
        context.insert("room", &hub.summary(&room));
        // Why the last password did not open it (see `unlock_room`).
        context.insert("error", &viewer.take_flash());
        return state.page("room-password.html", &context);
    }
    viewer.grant(room.id)?;

    let chats: Vec<ChatView> = hub
        .store()
        .chats(room.id, &viewer.person.id)
        .await?
        .into_iter()
        .map(ChatView::from)
        .collect();
    let owner = Person::from_public(hub.owner_of(&room));
    let mut context = Context::new();
    context.insert("room", &hub.summary(&room));
    context.insert("is_owner", &(owner.id == viewer.person.id));
    context.insert("owner", &owner);
    context.insert("me", &viewer.person);
    context.insert("chats", &chats);
    context.insert("participants", &hub.participants(room.id));
    state.page("chat.html", &context)
}

/// The room a path names; a malformed id names none.
async fn room_for(state: &AppState, id: &str) -> Result<Room, Refusal> {
    let id = parse_room_id(id).ok_or(Refusal::UnknownRoom)?;
    state.chat().find_room(id).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// `POST /room/{id}/password`: a right password lets this session in for good.
pub async fn unlock_room(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let room = match room_for(&state, &path).await {
        Ok(room) => room,
        Err(refusal) => return home_with(&viewer, refusal.message()),
    };
    if let Err(refusal) = state.chat().check_not_banned(&room, &viewer.person).await {
        return home_with(&viewer, refusal.message());
    }
    // A public room has nothing to unlock; the room page lets the visitor in.
    if room.is_secret() {
        // The TCP peer, not X-Forwarded-For, which the client writes itself.
        let client = req.peer_addr().map(|addr| addr.ip());
        let hub = state.chat();
        // Counted before the password is checked, so a guesser over the limit learns nothing
        // and guesses sent all at once cannot all slip in while the first are being checked.
        let Some(guess) = hub.begin_guess(room.id, client) else {
            return password_again(&viewer, &room, Refusal::TooManyGuesses);
        };
        match hub.store().verify_password(&room, &form.password).await {
            Ok(true) => {}
            Ok(false) => {
                guess.wrong();
                return password_again(&viewer, &room, Refusal::WrongPassword);
            }
            // Not checked at all: the guess does not count.
            Err(StoreError::Busy) => {
                return Err(AppError::refused(StatusCode::SERVICE_UNAVAILABLE, BUSY))
            }
            Err(err) => return Err(err.into()),
        }
    }
    viewer.grant(room.id)?;
    Ok(see_other(&format!("/room/{}", room.id)))
}

/// Back to the password form (by a redirect, so reloading it posts nothing), which shows
/// why once.
fn password_again(
    viewer: &Viewer,
    room: &Room,
    refusal: Refusal,
) -> Result<HttpResponse, AppError> {
    viewer.flash(refusal.message())?;
    Ok(see_other(&format!("/room/{}", room.id)))
}

/// `DELETE /room/{id}` (from the owner's page): deletes it now, like an emptied room.
pub async fn delete_room(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
) -> HttpResponse {
    let refuse = |status: StatusCode, message: &str| {
        HttpResponse::build(status).json(json!({ "ok": false, "error": message }))
    };
    let hub = state.chat();
    let room = match room_for(&state, &path).await {
        Ok(room) => room,
        Err(Refusal::UnknownRoom) => {
            return refuse(StatusCode::NOT_FOUND, Refusal::UnknownRoom.message())
        }
        Err(refusal) => return refuse(StatusCode::SERVICE_UNAVAILABLE, refusal.message()),
    };
    if hub.owner_of(&room) != viewer.person.id {
        return refuse(StatusCode::FORBIDDEN, "방장만 방을 삭제할 수 있습니다.");
    }
    if hub.delete_room(room.id).await {
        HttpResponse::Ok().json(json!({ "ok": true }))
    } else {
        refuse(StatusCode::SERVICE_UNAVAILABLE, "방을 삭제하지 못했습니다.")
    }
}
