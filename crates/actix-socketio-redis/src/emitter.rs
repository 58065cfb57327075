//! The emitter: a process that is not a Socket.IO server sends to the clients of every
//! node, as `@socket.io/redis-emitter` 5.1 does, in the classic format (nodes running
//! the classic adapter, Rust or Node, obey it; sharded and streams nodes do not listen
//! on these channels).
//!
//! It only publishes: no acks, no fetchSockets, no server count.
//!
//! ```no_run
//! # async fn run() -> Result<(), actix_socketio_redis::Error> {
//! let client = redis::Client::open("redis://127.0.0.1:6379")?;
//! let connection = client.get_connection_manager().await?;
//! let emitter = actix_socketio_redis::Emitter::new(connection, "socket.io");
//! emitter.to("lobby").emit("news", "hello").await?;
//! emitter.of("/admin").server_side_emit("reload", 5).await?;
//! # Ok(())
//! # }
//! ```

use actix_socketio::socket::packet::RESERVED_EVENTS;
use actix_socketio::socket::IntoRooms;
use actix_socketio::Payload;
use redis::aio::{ConnectionLike, ConnectionManager};
use serde::Serialize;

use crate::wire::{
    Broadcast, BroadcastOpts, ClassicChannels, EventPacket, Request, RequestKind, EMITTER_UID,
};
use crate::Error;

/// Publishes to the clients of a cluster's nodes, for namespace "/" or the one chosen
/// with [`Emitter::of`].
#[derive(Clone)]
pub struct Emitter<C = ConnectionManager> {
    /// The connection it publishes on; a [`ConnectionManager`] reconnects by itself.
    client: C,
    /// The channel prefix, the nodes' `key` option (Node's default is `socket.io`).
    key: String,
    /// The namespace, with its leading slash.
    nsp: String,
    /// The namespace's channel names, built once.
    channels: ClassicChannels,
}

impl<C: ConnectionLike + Clone + Send> Emitter<C> {
    /// An emitter for namespace "/" of the nodes whose channel prefix is `key`.
    pub fn new(client: C, key: impl Into<String>) -> Self {
        Self::with_nsp(client, key.into(), "/".to_owned())
    }

    fn with_nsp(client: C, key: String, nsp: String) -> Self {
        let channels = ClassicChannels::new(&key, &nsp);
        Emitter {
            client,
            key,
            nsp,
            channels,
        }
    }

    /// The emitter of another namespace (a missing leading slash is added, as Node does).
    pub fn of(&self, nsp: &str) -> Self {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        Self::with_nsp(self.client.clone(), self.key.clone(), nsp)
    }

    fn operator(&self) -> BroadcastOperator<C> {
        BroadcastOperator {
            emitter: self.clone(),
            opts: BroadcastOpts::default(),
        }
    }

    /// Targets the sockets in `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator<C> {
        self.operator().to(rooms)
    }

    /// Same as [`Emitter::to`].
    pub fn in_(&self, rooms: impl IntoRooms) -> BroadcastOperator<C> {
        self.operator().to(rooms)
    }

    /// Leaves out the sockets in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator<C> {
        self.operator().except(rooms)
    }

    /// The event may be lost for clients that are not ready for it.
    pub fn volatile(&self) -> BroadcastOperator<C> {
        self.operator().volatile()
    }

    /// Sets the compress flag.
    pub fn compress(&self, compress: bool) -> BroadcastOperator<C> {
        self.operator().compress(compress)
    }

    /// Sends `event` with `data` as its one argument to every client of the namespace.
    pub async fn emit(&self, event: &str, data: impl Serialize) -> Result<(), Error> {
        self.operator().emit(event, data).await
    }

    /// Sends `event` with `payload` (several arguments, binary) to every client.
    pub async fn emit_payload(&self, event: &str, payload: Payload) -> Result<(), Error> {
        self.operator().emit_payload(event, payload).await
    }

    /// Makes every socket of the namespace join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.operator().sockets_join(rooms).await
    }

    /// Makes every socket of the namespace leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.operator().sockets_leave(rooms).await
    }

    /// Disconnects every socket of the namespace; `close` also closes their connection.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), Error> {
        self.operator().disconnect_sockets(close).await
    }

    /// Sends `event` with `data` as its one argument to the servers themselves (their
    /// `on_server_side_emit` handlers); no acks.
    pub async fn server_side_emit(&self, event: &str, data: impl Serialize) -> Result<(), Error> {
        self.server_side_emit_payload(event, Payload::json(data)?)
            .await
    }

    /// [`Emitter::server_side_emit`] with several arguments.
    pub async fn server_side_emit_payload(
        &self,
        event: &str,
        payload: Payload,
    ) -> Result<(), Error> {
        check_event(event)?;
        let request = Request {
            uid: Some(EMITTER_UID.to_owned()),
            request_id: None,
            kind: RequestKind::ServerSideEmit {
                event: event.to_owned(),
                payload,
            },
        };
        let channel = self.channels.request.clone();
        self.publish(&channel, request.encode()).await
    }

    async fn publish(&self, channel: &str, message: Vec<u8>) -> Result<(), Error> {
        let mut client = self.client.clone();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(message)
            .query_async::<i64>(&mut client)
            .await?;
        Ok(())
    }
}

fn check_event(event: &str) -> Result<(), Error> {
    if RESERVED_EVENTS.contains(&event) {
        return Err(Error::ReservedEvent(event.to_owned()));
    }
    Ok(())
}

/// An emit or remote operation being set up: rooms, exceptions and flags.
#[derive(Clone)]
pub struct BroadcastOperator<C = ConnectionManager> {
    /// Where it publishes.
    emitter: Emitter<C>,
    /// Who it reaches and how; flags keep the order they were set in, as on the wire.
    opts: BroadcastOpts,
}

impl<C: ConnectionLike + Clone + Send> BroadcastOperator<C> {
    /// Also targets the sockets in `rooms` (a room named twice counts once).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        rooms.add_to(&mut self.opts.rooms);
        self
    }

    /// Same as [`BroadcastOperator::to`].
    pub fn in_(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Also leaves out the sockets in `rooms`.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        rooms.add_to(&mut self.opts.except);
        self
    }

    /// The event may be lost for clients that are not ready for it.
    pub fn volatile(mut self) -> Self {
        self.opts.flags.set("volatile", true);
        self
    }

    /// Sets the compress flag.
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.flags.set("compress", compress);
        self
    }

    /// Sends `event` with `data` as its one argument to the targeted clients.
    pub async fn emit(&self, event: &str, data: impl Serialize) -> Result<(), Error> {
        self.emit_payload(event, Payload::json(data)?).await
    }

    /// Sends `event` with `payload` (several arguments, binary) to the targeted clients.
    pub async fn emit_payload(&self, event: &str, payload: Payload) -> Result<(), Error> {
        check_event(event)?;
        let broadcast = Broadcast {
            uid: EMITTER_UID.to_owned(),
            packet: EventPacket::new(self.emitter.nsp.clone(), event, payload),
            opts: self.opts.clone(),
        };
        let channel = self.emitter.channels.broadcast_to(&self.opts.rooms);
        self.emitter
            .publish(&channel, broadcast.encode_as_emitter())
            .await
    }

    /// Makes the targeted sockets join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.request(RequestKind::RemoteJoin {
            opts: self.opts.clone(),
            rooms: rooms.into_rooms(),
        })
        .await
    }

    /// Makes the targeted sockets leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.request(RequestKind::RemoteLeave {
            opts: self.opts.clone(),
            rooms: rooms.into_rooms(),
        })
        .await
    }

    /// Disconnects the targeted sockets; `close` also closes their connection.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), Error> {
        self.request(RequestKind::RemoteDisconnect {
            opts: self.opts.clone(),
            close,
        })
        .await
    }

    async fn request(&self, kind: RequestKind) -> Result<(), Error> {
        // The emitter's requests carry no uid and no request id.
        let request = Request {
            uid: None,
            request_id: None,
            kind,
        };
        let channel = self.emitter.channels.request.clone();
        self.emitter.publish(&channel, request.encode()).await
    }
}
