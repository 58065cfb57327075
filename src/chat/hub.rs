//! The rooms' live side, shared by the pages, the uploads and both namespaces' handlers:
//! the store, presence, rate limits, and deleting rooms nobody is in.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_socketio::Namespace;
use actix_web::cookie::Key;
use serde::Serialize;

use super::{
    images,
    presence::{self, Presence},
    rate::{Attempt, AttemptLimit, RateLimiter},
    room_list::{RoomList, RoomSummary},
};
use crate::{
    config::{Config, Scheme},
    identity::{look_for, Look},
    live::LiveTasks,
    store::{Chat, NewChat, Room, Store, StoreError},
};

const ROOM_REMOVED: &str = "방이 삭제되었습니다.";

/// A chat as clients get it: the stored chat plus how its author looks (and a whisper's
/// recipient, since that is how people are named).
#[derive(Debug, Clone, Serialize)]
pub struct ChatView {
    #[serde(flatten)]
    pub chat: Chat,
    #[serde(flatten)]
    pub author: Look,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_tone: Option<u8>,
}

impl From<Chat> for ChatView {
    fn from(chat: Chat) -> Self {
        let target = chat.target.as_deref().map(look_for);
        ChatView {
            author: look_for(&chat.user),
            target_tone: target.as_ref().map(|t| t.tone),
            target_name: target.map(|t| t.name),
            chat,
        }
    }
}

/// One entry of `participants`.
#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    pub id: String,
    #[serde(flatten)]
    pub look: Look,
    pub owner: bool,
}

pub(super) fn participants(snapshot: &presence::Snapshot) -> Vec<Participant> {
    snapshot
        .people
        .iter()
        .map(|id| Participant {
            owner: snapshot.owner.as_deref() == Some(id.as_str()),
            look: look_for(id),
            id: id.clone(),
        })
        .collect()
}

#[derive(Serialize)]
pub(super) struct Notice<'a> {
    pub(super) message: &'a str,
}

/// The rooms' live side, shared by the pages and the socket handlers. Cheap to clone.
#[derive(Clone)]
pub struct ChatHub(pub(super) Arc<Hub>);

pub(crate) struct Hub {
    pub(super) store: Store,
    pub(super) presence: Presence,
    pub(super) limiter: RateLimiter,
    /// Rooms created, per session and per client address.
    rooms_per_session: RateLimiter,
    rooms_per_address: RateLimiter,
    pub(super) room_list: RoomList,
    /// The `/chat` namespace: the sockets inside the rooms.
    pub(super) room_sockets: Namespace,
    upload_dir: PathBuf,
    pub(super) grace: Duration,
    pub(super) key: Key,
    /// Socket events (chats, whispers, kicks) whose handler has not answered yet.
    pub(super) in_flight: LiveTasks,
    /// Room password attempts (wrong ones, and those being checked) by room and address.
    guesses: AttemptLimit,
    /// What a `/chat` handshake's `Origin` must say.
    pub(super) scheme: Scheme,
}

/// A password being checked: it counts against the limit until it is known to be right
/// (dropped) or wrong ([`Guess::wrong`]).
pub struct Guess<'a>(Attempt<'a>);

impl Guess<'_> {
    /// The password was wrong: it counts for [`PASSWORD_GUESS_WINDOW`].
    pub fn wrong(self) {
        self.0.failed();
    }
}

/// Wrong passwords allowed per room and client address within [`PASSWORD_GUESS_WINDOW`],
/// passwords still being checked included.
pub const PASSWORD_GUESSES: usize = 5;
pub const PASSWORD_GUESS_WINDOW: Duration = Duration::from_secs(60);

fn guess_key(room: i64, client: Option<IpAddr>) -> String {
    format!("{room}/{}", address_key(client))
}

/// A client address as a rate-limit key; requests without one (not over TCP) share one.
fn address_key(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "-".to_owned(), |ip| ip.to_string())
}

/// `count` a minute, in bursts of as many.
fn per_minute(count: u32) -> RateLimiter {
    RateLimiter::new(f64::from(count) / 60.0, count)
}

/// The adapter room of everyone in a chat room.
pub(super) fn room_key(room: i64) -> String {
    format!("room:{room}")
}

/// The adapter room of one person's sockets (tabs) in a chat room.
pub(super) fn person_key(room: i64, person: &str) -> String {
    format!("room:{room}:person:{person}")
}

impl ChatHub {
    /// Starts checking a password for `room` from `client`; `None` once the wrong ones and
    /// those still being checked reach [`PASSWORD_GUESSES`]. Keyed by address, not session:
    /// a new session costs nothing, a new address does.
    pub fn begin_guess(&self, room: i64, client: Option<IpAddr>) -> Option<Guess<'_>> {
        self.0.guesses.begin(&guess_key(room, client)).map(Guess)
    }

    /// Socket events still being handled (a shutdown waits for their writes and acks).
    pub fn events_in_flight(&self) -> usize {
        self.0.in_flight.live()
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn upload_dir(&self) -> &Path {
        &self.0.upload_dir
    }

    /// People (not tabs) in the room now.
    pub fn count(&self, room: i64) -> usize {
        self.0.presence.count(room)
    }

    /// Who is in the room now, longest present first.
    pub fn participants(&self, room: i64) -> Vec<Participant> {
        let mut people = Vec::new();
        self.0
            .presence
            .publish(room, |snapshot| people = participants(snapshot));
        people
    }

    /// The room's owner: the live one while people are in it, else the stored one.
    pub fn owner_of(&self, room: &Room) -> String {
        self.0
            .presence
            .owner(room.id)
            .unwrap_or_else(|| room.owner.clone())
    }

    pub fn summary(&self, room: &Room) -> RoomSummary {
        RoomSummary {
            id: room.id,
            title: room.title.clone(),
            max: room.max,
            owner: look_for(&self.owner_of(room)),
            secret: room.is_secret(),
            count: self.count(room.id),
        }
    }

    /// Takes one message from the person's rate budget; false when they send too fast.
    pub fn allow_message(&self, person: &str) -> bool {
        self.0.limiter.allow(person)
    }

    /// Takes one room from the person's and the address's budgets; false when either is
    /// spent. The session's is asked first, so a session over its own limit does not use
    /// up its address's.
    pub fn allow_new_room(&self, person: &str, client: Option<IpAddr>) -> bool {
        self.0.rooms_per_session.allow(person)
            && self.0.rooms_per_address.allow(&address_key(client))
    }

    /// A room was created: show it in every room list, and delete it if its creator never
    /// comes in.
    pub fn room_created(&self, room: &Room) {
        self.0.room_list.room_created(self.summary(room));
        if let Some(token) = self.0.presence.await_deletion(room.id) {
            Hub::delete_later(&self.0, room.id, token);
        }
    }

    /// After a restart nobody is in any room: each is deleted unless someone comes back
    /// within the grace period (clients reconnect by themselves).
    pub async fn expire_empty_rooms(&self) -> Result<(), StoreError> {
        for room in self.0.store.rooms().await? {
            if let Some(token) = self.0.presence.await_deletion(room.id) {
                Hub::delete_later(&self.0, room.id, token);
            }
        }
        Ok(())
    }

    /// Stores a chat and sends it to everyone in its room.
    pub async fn post(&self, new: NewChat) -> Result<ChatView, StoreError> {
        self.0.post(new).await
    }

    /// Deletes a room now (its owner asked); false if it was already being deleted or the
    /// store failed.
    pub async fn delete_room(&self, room: i64) -> bool {
        self.0.presence.close(room) && self.0.remove_room(room).await
    }
}

impl Hub {
    /// The hub on the two namespaces, with no handlers yet (`ChatHub::new` adds them).
    pub(super) fn new(
        room_list: RoomList,
        room_sockets: Namespace,
        store: Store,
        config: &Config,
    ) -> Hub {
        Hub {
            store,
            presence: Presence::default(),
            limiter: RateLimiter::new(
                f64::from(config.chat_rate.per_second),
                config.chat_rate.burst,
            ),
            rooms_per_session: per_minute(config.room_rate.per_session),
            rooms_per_address: per_minute(config.room_rate.per_address),
            room_list,
            room_sockets,
            upload_dir: config.upload_dir.clone(),
            grace: config.room_delete_grace,
            key: config.cookie_key.clone(),
            in_flight: LiveTasks::default(),
            guesses: AttemptLimit::new(PASSWORD_GUESSES, PASSWORD_GUESS_WINDOW),
            scheme: config.public_scheme,
        }
    }

    pub(super) async fn post(&self, new: NewChat) -> Result<ChatView, StoreError> {
        let room = new.room_id;
        let view = ChatView::from(self.store.add_chat(new).await?);
        if let Err(err) = self.room_sockets.to(room_key(room)).emit("chat", &view) {
            log::warn!("chat to room {room}: {err}");
        }
        Ok(view)
    }

    /// Deletes the room after the grace period, unless someone joins meanwhile (which
    /// invalidates `token`).
    fn delete_later(hub: &Arc<Hub>, room: i64, token: u64) {
        Hub::delete_after(hub, room, token, hub.grace);
    }

    /// Deletes the room after `wait` if it is still empty under `token`.
    pub(super) fn delete_after(hub: &Arc<Hub>, room: i64, token: u64, wait: Duration) {
        let hub: Weak<Hub> = Arc::downgrade(hub);
        actix_web::rt::spawn(async move {
            tokio::time::sleep(wait).await;
            let Some(hub) = hub.upgrade() else {
                return;
            };
            if hub.presence.claim_deletion(room, token) {
                hub.remove_room(room).await;
            }
        });
    }

    /// Deletes a room whose presence is already closed: its chats and files, then tells
    /// the room lists and sends away anyone still inside.
    async fn remove_room(&self, room: i64) -> bool {
        let files = match self.store.delete_room(room).await {
            Ok(files) => files,
            Err(err) => {
                log::error!("deleting room {room}: {err}");
                self.presence.reopen(room);
                return false;
            }
        };
        // Forgotten before the sockets go, so their departures announce nothing.
        self.presence.forget(room);
        images::remove_files(self.upload_dir.clone(), files).await;
        self.room_list.room_removed(room);
        let inside = self.room_sockets.to(room_key(room));
        if let Err(err) = inside.emit(
            "roomRemoved",
            Notice {
                message: ROOM_REMOVED,
            },
        ) {
            log::warn!("roomRemoved {room}: {err}");
        }
        if let Err(err) = inside.disconnect_sockets(false).await {
            log::warn!("disconnecting room {room}: {err}");
        }
        log::info!("방 {room}을(를) 삭제했습니다.");
        true
    }

    /// Sends the participant list to the room and the head count to the room lists.
    pub(super) fn publish_people(&self, room: i64) {
        self.presence.publish(room, |snapshot| {
            let people = participants(snapshot);
            if let Err(err) = self
                .room_sockets
                .to(room_key(room))
                .emit("participants", &people)
            {
                log::warn!("participants of room {room}: {err}");
            }
            self.room_list.count(room, snapshot.people.len());
        });
    }
}
