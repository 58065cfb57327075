//! The chat rooms in real time: the hub (store, presence, limits), the `/room` (room list)
//! and `/chat` (inside a room) namespaces, entry permissions, the session, and the pages
//! and uploads.
//!
//! Layered bottom up: `person`, `presence`, `rate`, `images` and `session` build on nothing
//! of the chat; `room_list` and `hub` on them; `permissions` and `room` (the `/chat`
//! handlers) on the hub; this file wires the hub to its handlers ([`ChatHub::new`]); `pages`
//! and `uploads` answer HTTP on top of `state`.
//!
//! Events; a look is {name, tone}:
//! - `/room`, server → client: `newRoom` {id, title, max, owner (a look), secret, count},
//!   `removeRoom` id, `roomCount` {id, count}, `roomOwner` {id, owner (a look)}.
//! - `/chat`, server → client: `participants` [{id, name, tone, owner}], `chat` and
//!   `whisper` (a stored chat plus its author's look, and a whisper's `target_name` and
//!   `target_tone`), `owner` {id, name, tone}, `kicked` {message}, `refused` {message},
//!   `roomRemoved` {message}.
//! - `/chat`, client → server, each with an ack `{ok: true}` or `{ok: false, error}`:
//!   `chat` {text}, `whisper` {to, text}, `kick` {id}.

mod hub;
pub mod images;
pub mod pages;
pub mod permissions;
pub mod person;
pub mod presence;
mod rate;
mod room;
mod room_list;
pub mod session;
pub mod uploads;

use std::sync::Arc;

use actix_socketio::SocketIo;

pub use hub::{ChatHub, ChatView, Guess, Participant, PASSWORD_GUESSES, PASSWORD_GUESS_WINDOW};
pub use person::Person;
pub use room::ROOM_NSP;
pub use room_list::{RoomSummary, ROOM_LIST_NSP};

use crate::{config::Config, store::Store};
use hub::Hub;
use room_list::RoomList;

impl ChatHub {
    /// Sets up both namespaces on `io`. The handlers hold the hub weakly, so the socket
    /// server (which the hub points at) does not keep it alive in a cycle.
    pub fn new(io: &SocketIo, store: Store, config: &Config) -> ChatHub {
        let room_list = RoomList::new(io, config.public_scheme);
        let hub = Arc::new(Hub::new(room_list, io.of(ROOM_NSP), store, config));
        room::register(&hub);
        ChatHub(hub)
    }
}
