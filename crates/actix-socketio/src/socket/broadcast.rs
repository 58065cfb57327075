//! Broadcast operators: `to`, `except`, `local`, `volatile`, … then `emit` and friends.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::adapter::{Adapter, BroadcastOptions};
use super::error::Error;
use super::packet::{Packet, Payload};
use super::remote::RemoteSocket;
use super::rooms::IntoRooms;

/// A selection of sockets in one namespace, on every server, and what to do with them.
#[derive(Clone)]
pub struct BroadcastOperator {
    adapter: Arc<dyn Adapter>,
    nsp: Arc<str>,
    opts: BroadcastOptions,
    /// The server's `ack_timeout`, used when no `timeout` was set.
    ack_timeout: Duration,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("nsp", &self.nsp)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(
        adapter: Arc<dyn Adapter>,
        nsp: Arc<str>,
        opts: BroadcastOptions,
        ack_timeout: Duration,
    ) -> Self {
        BroadcastOperator {
            adapter,
            nsp,
            opts,
            ack_timeout,
        }
    }

    /// Adds rooms to target (a socket in any of them is selected).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        rooms.add_to(&mut self.opts.rooms);
        self
    }

    /// Same as [`BroadcastOperator::to`].
    pub fn in_(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in these rooms (a socket id is a room too).
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        rooms.add_to(&mut self.opts.except);
        self
    }

    /// Only this server's sockets.
    pub fn local(mut self) -> Self {
        self.opts.flags.local = true;
        self
    }

    /// Drops the event for sockets that cannot take it right now.
    pub fn volatile(mut self) -> Self {
        self.opts.flags.volatile = true;
        self
    }

    /// Permission to compress (accepted for parity with Node; not applied).
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.flags.compress = compress;
        self
    }

    /// How long `emit_with_ack` waits for every ack (the server's `ack_timeout` otherwise).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    /// The selection and flags so far.
    pub fn options(&self) -> &BroadcastOptions {
        &self.opts
    }

    /// Emits to every selected socket, with one argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), Error> {
        self.emit_payload(event, Payload::json(data)?)
    }

    /// Emits to every selected socket, with any arguments and attachments. The packet is
    /// encoded once for all of them.
    pub fn emit_payload(&self, event: &str, payload: Payload) -> Result<(), Error> {
        let packet = self.packet(event, payload)?;
        self.adapter.broadcast(packet, self.opts.clone())
    }

    /// Emits to every selected socket and collects each one's ack; with
    /// [`Error::AckTimeout`] (the acks that came) if some did not answer in time.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> Result<Vec<Payload>, Error> {
        self.emit_with_ack_payload(event, Payload::json(data)?)
            .await
    }

    /// [`BroadcastOperator::emit_with_ack`] with any arguments and attachments.
    pub async fn emit_with_ack_payload(
        &self,
        event: &str,
        payload: Payload,
    ) -> Result<Vec<Payload>, Error> {
        let timeout = self.opts.flags.timeout.unwrap_or(self.ack_timeout);
        let packet = self.packet(event, payload)?;
        self.adapter
            .broadcast_with_ack(packet, self.opts.clone(), timeout)
            .await
    }

    /// The selected sockets, on every server; each can be acted on wherever it is.
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, Error> {
        let found = self.adapter.fetch_sockets(self.opts.clone()).await?;
        Ok(found
            .into_iter()
            .map(|info| RemoteSocket::new(self.adapter.clone(), self.nsp.clone(), info))
            .collect())
    }

    /// Makes the selected sockets join `rooms`. Every socket that may joins; a local
    /// socket over its room limit joins none of them and its refusal is returned
    /// ([`Error::TooManyRooms`]), as [`Socket::join`](super::Socket::join) returns it.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.adapter
            .add_sockets(self.opts.clone(), rooms.into_rooms())
            .await
    }

    /// Makes the selected sockets leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.adapter
            .del_sockets(self.opts.clone(), rooms.into_rooms())
            .await
    }

    /// Disconnects the selected sockets (and with `close`, their connections).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), Error> {
        self.adapter
            .disconnect_sockets(self.opts.clone(), close)
            .await
    }

    /// Sends an event to the namespace on every other server and collects each server's
    /// answer, within this operator's timeout (the server's `ack_timeout` otherwise). Rooms
    /// and flags other than the timeout do not apply to server-side events.
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> Result<Vec<Payload>, Error> {
        Error::unless_reserved(event)?;
        let timeout = self.opts.flags.timeout.unwrap_or(self.ack_timeout);
        self.adapter
            .server_side_emit(event.to_owned(), Payload::json(data)?, Some(timeout))
            .await
    }

    fn packet(&self, event: &str, payload: Payload) -> Result<Packet, Error> {
        Error::unless_reserved(event)?;
        Ok(Packet::Event {
            nsp: self.nsp.to_string(),
            event: event.to_owned(),
            payload,
            id: None,
        })
    }
}
