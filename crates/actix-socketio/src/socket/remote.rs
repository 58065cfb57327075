//! A socket found by `fetch_sockets`, on this server or another.

use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

use super::adapter::{Adapter, BroadcastOptions, SocketInfo};
use super::error::Error;
use super::handshake::HandshakeInfo;
use super::packet::{Packet, Payload};
use super::rooms::{IntoRooms, Room};

/// A socket of the namespace on any server of the cluster (Node's `RemoteSocket`). What
/// it does goes through the adapter to the server that holds it, so the same code works
/// for local and remote sockets.
#[derive(Clone)]
pub struct RemoteSocket {
    info: SocketInfo,
    adapter: Arc<dyn Adapter>,
    nsp: Arc<str>,
}

impl std::fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSocket")
            .field("id", &self.info.id)
            .field("rooms", &self.info.rooms)
            .finish_non_exhaustive()
    }
}

impl RemoteSocket {
    pub(crate) fn new(adapter: Arc<dyn Adapter>, nsp: Arc<str>, info: SocketInfo) -> RemoteSocket {
        RemoteSocket { info, adapter, nsp }
    }

    /// Targets this socket alone: its own room.
    fn only(&self) -> BroadcastOptions {
        BroadcastOptions {
            rooms: vec![self.info.id.clone()],
            ..BroadcastOptions::default()
        }
    }

    /// The socket id.
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// Its rooms when it was fetched, its own id included.
    pub fn rooms(&self) -> &[Room] {
        &self.info.rooms
    }

    /// Its handshake.
    pub fn handshake(&self) -> &HandshakeInfo {
        &self.info.handshake
    }

    /// The application's data on it when it was fetched.
    pub fn data(&self) -> &Value {
        &self.info.data
    }

    /// Everything fetched about it.
    pub fn info(&self) -> &SocketInfo {
        &self.info
    }

    /// Emits an event to it.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), Error> {
        self.emit_payload(event, Payload::json(data)?)
    }

    /// Emits an event with any arguments and attachments to it.
    pub fn emit_payload(&self, event: &str, payload: Payload) -> Result<(), Error> {
        Error::unless_reserved(event)?;
        let packet = Packet::Event {
            nsp: self.nsp.to_string(),
            event: event.to_owned(),
            payload,
            id: None,
        };
        self.adapter.broadcast(packet, self.only())
    }

    /// Makes it join `rooms`.
    pub async fn join(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.adapter
            .add_sockets(self.only(), rooms.into_rooms())
            .await
    }

    /// Makes it leave `rooms`.
    pub async fn leave(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.adapter
            .del_sockets(self.only(), rooms.into_rooms())
            .await
    }

    /// Disconnects it (and with `close`, its connection).
    pub async fn disconnect(&self, close: bool) -> Result<(), Error> {
        self.adapter.disconnect_sockets(self.only(), close).await
    }
}
