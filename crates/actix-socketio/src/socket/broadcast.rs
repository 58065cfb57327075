//! Broadcast operators: `to`, `except`, `local`, `volatile`, … then `emit` and friends.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::adapter::{AckResult, AdapterError, BroadcastOptions, RemoteSocket, Room};
use super::namespace::NsInner;
use super::packet::{Packet, Payload};
use super::socket::EmitError;

/// What `to`, `in_` and `except` accept: one room or many.
pub trait IntoRooms {
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.to_owned()]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.clone()]
    }
}

impl IntoRooms for Vec<String> {
    fn into_rooms(self) -> Vec<Room> {
        self
    }
}

impl IntoRooms for Vec<&str> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(str::to_owned).collect()
    }
}

impl<const N: usize> IntoRooms for [&str; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(str::to_owned).collect()
    }
}

/// The default wait for broadcast acks when no `timeout` was set.
const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// A selection of sockets in one namespace, and what to do with them.
#[derive(Clone)]
pub struct BroadcastOperator {
    ns: Arc<NsInner>,
    opts: BroadcastOptions,
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NsInner>, opts: BroadcastOptions) -> Self {
        BroadcastOperator { ns, opts }
    }

    /// Adds rooms to target (a socket in any of them is selected).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        for room in rooms.into_rooms() {
            if !self.opts.rooms.contains(&room) {
                self.opts.rooms.push(room);
            }
        }
        self
    }

    /// Same as [`BroadcastOperator::to`].
    pub fn in_(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in these rooms (a socket id is a room too).
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.except.extend(rooms.into_rooms());
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

    /// How long `emit_with_ack` waits for every ack.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    pub fn options(&self) -> &BroadcastOptions {
        &self.opts
    }

    /// Emits to every selected socket, with one argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.emit_payload(event, Payload::json(data)?)
    }

    /// Emits to every selected socket, with any arguments and attachments. The packet is
    /// encoded once for all of them.
    pub fn emit_payload(&self, event: &str, payload: Payload) -> Result<(), EmitError> {
        let packet = self.packet(event, payload);
        Ok(self.ns.adapter().broadcast(&packet, &self.opts)?)
    }

    /// Emits to every selected socket and collects each one's ack (or its timeout).
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> Result<Vec<AckResult>, EmitError> {
        self.emit_with_ack_payload(event, Payload::json(data)?)
            .await
    }

    pub async fn emit_with_ack_payload(
        &self,
        event: &str,
        payload: Payload,
    ) -> Result<Vec<AckResult>, EmitError> {
        let timeout = self.opts.flags.timeout.unwrap_or(DEFAULT_ACK_TIMEOUT);
        let packet = self.packet(event, payload);
        Ok(self
            .ns
            .adapter()
            .broadcast_with_ack(packet, &self.opts, timeout)
            .await?)
    }

    /// The selected sockets, across the cluster.
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.ns.adapter().fetch_sockets(&self.opts).await
    }

    /// Makes the selected sockets join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.ns
            .adapter()
            .add_sockets(&self.opts, rooms.into_rooms())
            .await
    }

    /// Makes the selected sockets leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.ns
            .adapter()
            .del_sockets(&self.opts, rooms.into_rooms())
            .await
    }

    /// Disconnects the selected sockets (and with `close`, their connections).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        self.ns
            .adapter()
            .disconnect_sockets(&self.opts, close)
            .await
    }

    fn packet(&self, event: &str, payload: Payload) -> Packet {
        Packet::Event {
            nsp: self.ns.name().to_owned(),
            event: event.to_owned(),
            payload,
            id: None,
        }
    }
}
