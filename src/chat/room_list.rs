//! The `/room` namespace: the room list (`/`), told of every room created, deleted, emptied
//! or filled, and handed over.

use actix_socketio::{Namespace, SocketIo};
use serde::Serialize;

use crate::{config::Scheme, csrf, identity::Look};

/// The room list's namespace.
pub const ROOM_LIST_NSP: &str = "/room";

/// `newRoom` on `/room`; the owner appears only as their look, the password not at all.
#[derive(Debug, Clone, Serialize)]
pub struct RoomSummary {
    pub id: i64,
    pub title: String,
    pub max: i64,
    pub owner: Look,
    pub secret: bool,
    pub count: usize,
}

#[derive(Serialize)]
struct RoomCount {
    id: i64,
    count: usize,
}

/// `roomOwner` on `/room`: a room was handed over.
#[derive(Serialize)]
struct RoomOwner {
    id: i64,
    owner: Look,
}

/// The sockets of every open room list.
pub(super) struct RoomList(Namespace);

impl RoomList {
    /// The namespace on `io`. The room list is public, but only this site's pages may hold
    /// it open.
    pub(super) fn new(io: &SocketIo, scheme: Scheme) -> RoomList {
        let namespace = io.of(ROOM_LIST_NSP);
        namespace.use_middleware(csrf::refuse_cross_site_sockets(scheme));
        RoomList(namespace)
    }

    /// `newRoom`: a room was created.
    pub(super) fn room_created(&self, summary: RoomSummary) {
        let room = summary.id;
        if let Err(err) = self.0.emit("newRoom", summary) {
            log::warn!("newRoom {room}: {err}");
        }
    }

    /// `removeRoom`: a room was deleted.
    pub(super) fn room_removed(&self, room: i64) {
        if let Err(err) = self.0.emit("removeRoom", room) {
            log::warn!("removeRoom {room}: {err}");
        }
    }

    /// `roomCount`: how many people are in the room now.
    pub(super) fn count(&self, room: i64, count: usize) {
        if let Err(err) = self.0.emit("roomCount", RoomCount { id: room, count }) {
            log::warn!("roomCount of room {room}: {err}");
        }
    }

    /// `roomOwner`: the room has a new owner.
    pub(super) fn owner(&self, room: i64, owner: Look) {
        if let Err(err) = self.0.emit("roomOwner", RoomOwner { id: room, owner }) {
            log::warn!("roomOwner of room {room}: {err}");
        }
    }
}
