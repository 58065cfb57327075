//! The visitor's session: their secret id, the rooms they may enter, the one-shot flash
//! message; read through actix-session for pages and from the handshake cookie for sockets.

use std::collections::HashMap;
use std::future::{ready, Ready};

use actix_session::{Session, SessionExt as _};
use actix_socketio::Handshake;
use actix_web::{
    cookie::{CookieJar, Key},
    dev::Payload,
    FromRequest, HttpRequest,
};

use super::person::Person;
use crate::{config::SESSION_COOKIE_NAME, error::AppError, identity::new_user_id};

/// The secret random user id (`identity::new_user_id`); never sent to a client.
pub const USER_KEY: &str = "user";
/// Ids of the rooms this session may enter (public ones visited, secret ones unlocked).
pub const GRANTED_KEY: &str = "granted";
/// A message for the next page of the room list, shown once.
pub const FLASH_KEY: &str = "flash";

/// The grant list lives in the cookie, which browsers cap at 4 KB: keep the latest rooms.
const MAX_GRANTED: usize = 50;

/// The visitor of a page, with an identity made on their first request.
pub struct Viewer {
    pub person: Person,
    session: Session,
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = Ready<Result<Viewer, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Viewer::of(req.get_session()))
    }
}

impl Viewer {
    fn of(session: Session) -> Result<Viewer, AppError> {
        // An unreadable value (e.g. from an older build) just gets a fresh identity.
        let secret = match session.get::<String>(USER_KEY) {
            Ok(Some(secret)) if !secret.is_empty() => secret,
            _ => {
                let secret = new_user_id();
                session.insert(USER_KEY, &secret)?;
                secret
            }
        };
        Ok(Viewer {
            person: Person::from_secret(&secret),
            session,
        })
    }

    fn granted(&self) -> Vec<i64> {
        self.session
            .get::<Vec<i64>>(GRANTED_KEY)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub fn is_granted(&self, room: i64) -> bool {
        self.granted().contains(&room)
    }

    /// Remembers that this session may enter `room`.
    pub fn grant(&self, room: i64) -> Result<(), AppError> {
        let mut granted = self.granted();
        if granted.contains(&room) {
            return Ok(());
        }
        granted.push(room);
        if granted.len() > MAX_GRANTED {
            granted.drain(..granted.len() - MAX_GRANTED);
        }
        self.session.insert(GRANTED_KEY, granted)?;
        Ok(())
    }

    /// Leaves a message for the room list (after a redirect there).
    pub fn flash(&self, message: &str) -> Result<(), AppError> {
        self.session.insert(FLASH_KEY, message)?;
        Ok(())
    }

    /// The pending message, removed so it shows only once.
    pub fn take_flash(&self) -> Option<String> {
        self.session.remove_as::<String>(FLASH_KEY)?.ok()
    }
}

/// What a socket's handshake cookie says about its session.
pub struct SocketSession {
    pub person: Person,
    pub granted: Vec<i64>,
}

/// Decrypts actix-session's private cookie from the handshake's `Cookie` header. Its value
/// is the session state: a JSON map whose values are themselves JSON-encoded.
/// `None` without a cookie, with one that fails decryption, or without a user id.
pub fn from_handshake(handshake: &Handshake, key: &Key) -> Option<SocketSession> {
    let cookie = handshake.cookie(SESSION_COOKIE_NAME)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    let cookie = jar.private(key).get(SESSION_COOKIE_NAME)?;
    let state: HashMap<String, String> = serde_json::from_str(cookie.value()).ok()?;
    let secret: String = serde_json::from_str(state.get(USER_KEY)?).ok()?;
    if secret.is_empty() {
        return None;
    }
    let granted = state
        .get(GRANTED_KEY)
        .and_then(|value| serde_json::from_str(value).ok())
        .unwrap_or_default();
    Some(SocketSession {
        person: Person::from_secret(&secret),
        granted,
    })
}
