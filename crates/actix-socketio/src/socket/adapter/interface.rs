//! The adapter interface: what an adapter does for its namespace, and what it may do with
//! the namespace's local sockets.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{BoxStream, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::Frame;
use crate::socket::error::Error;
use crate::socket::handshake::HandshakeInfo;
use crate::socket::packet::{Packet, Payload};
use crate::socket::rooms::{Room, Sid};

/// A boxed future, as adapters return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which sockets an operation targets: those in any of `rooms` (every socket when it is
/// empty) and in none of `except`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Target the sockets in any of these rooms; all of them when empty.
    pub rooms: Vec<Room>,
    /// Leave out the sockets in any of these rooms (a socket id is a room too).
    pub except: Vec<Room>,
    /// How to deliver.
    pub flags: BroadcastFlags,
}

/// Node's broadcast flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Only this server's sockets, never published to the cluster.
    pub local: bool,
    /// Dropped for a socket whose transport cannot take it right now.
    pub volatile: bool,
    /// Permission to compress. Accepted for API parity; the transports do not compress.
    pub compress: bool,
    /// How long to wait for acks (the server's `ack_timeout` when unset).
    pub timeout: Option<Duration>,
}

/// The local sockets an emitter call targets.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a> {
    /// Every connected local socket but these ids: a broadcast to the whole namespace walks
    /// the namespace's sockets directly instead of looking each id up.
    AllExcept(&'a [Sid]),
    /// These ids; those that are not connected local sockets are skipped.
    Only(&'a [Sid]),
}

/// What an adapter may do with its namespace's local sockets. The namespace implements it;
/// every method acts on connected local sockets only and skips ids it does not know.
pub trait SocketEmitter: Send + Sync + 'static {
    /// The namespace's name (`/`, `/chat`, …).
    fn nsp(&self) -> &str;

    /// Queues one encoded packet (its Engine.IO frames, shared by every receiver) for each
    /// target, as `flags` say (a volatile packet is dropped where the transport cannot take
    /// it now); returns how many sockets took it. Outgoing-event listeners see `packet`.
    fn send(
        &self,
        targets: Targets<'_>,
        packet: &Packet,
        frames: &[Frame],
        flags: BroadcastFlags,
    ) -> usize;

    /// Sends `packet` to each target with an ack id of that socket's own, and streams the
    /// answers; each socket's answer is awaited at most `timeout`.
    fn send_with_ack(&self, targets: Targets<'_>, packet: &Packet, timeout: Duration) -> AckStream;

    /// Makes a socket join rooms, within its limit on rooms.
    fn join(&self, sid: &str, rooms: &[Room]) -> Result<(), Error>;

    /// Makes a socket leave rooms.
    fn leave(&self, sid: &str, rooms: &[Room]);

    /// Disconnects a socket from the namespace (DISCONNECT packet), and with `close` its
    /// whole connection.
    fn disconnect(&self, sid: &str, close: bool);

    /// A socket's handshake and data, for `fetch_sockets` (its rooms are the adapter's).
    fn describe(&self, sid: &str) -> Option<(HandshakeInfo, Value)>;

    /// Hands a server-side event from another server to this namespace's listeners.
    fn server_event(&self, event: ServerEvent);

    /// Connection state recovery, when the server has it on: an adapter that stores
    /// sessions and packets keeps them this long and this many.
    fn recovery(&self) -> Option<&RecoveryConfig>;
}

/// Room bookkeeping, broadcasting and cluster operations for one namespace.
///
/// Local bookkeeping is what the namespace's sockets call as they join and leave; the rest
/// is what the application asks of the namespace, and a cluster adapter also asks of the
/// other servers (Node's adapter interface, request for request).
pub trait Adapter: Send + Sync + 'static {
    /// A local socket joins rooms.
    fn add_all(&self, sid: &Sid, rooms: &[Room]);
    /// A local socket leaves rooms.
    fn del(&self, sid: &str, rooms: &[Room]);
    /// A local socket leaves every room (it disconnected).
    fn del_all(&self, sid: &str);
    /// The rooms a local socket is in, its own included.
    fn socket_rooms(&self, sid: &str) -> Vec<Room>;
    /// Calls `listener` on every room created, deleted, joined or left on this server.
    fn on_room_event(&self, listener: RoomListener);

    /// Sends an event to every socket `opts` selects, encoded once for all of them.
    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), Error>;
    /// Sends an event asking each selected socket for an ack and collects every answer;
    /// [`Error::AckTimeout`] carries those that came when `timeout` ends first. A cluster adapter waits for each server's count of receivers and then for
    /// that many acks.
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Error>>;
    /// The sockets `opts` selects, on every server.
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, Error>>;
    /// Makes the selected sockets join `rooms`.
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), Error>>;
    /// Makes the selected sockets leave `rooms`.
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), Error>>;
    /// Disconnects the selected sockets (and with `close`, their connections).
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'static, Result<(), Error>>;
    /// Every room of the namespace, on every server (socket ids included).
    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, Error>>;
    /// Sends an event to the namespace on every *other* server (`serverSideEmit`); with a
    /// `timeout`, collects each server's answer. Without other servers there is nobody to
    /// answer: `Ok(vec![])`.
    fn server_side_emit(
        &self,
        event: String,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Error>>;
    /// How many servers share this namespace (1 without a cluster).
    fn server_count(&self) -> BoxFuture<'static, Result<usize, Error>>;
    /// Stops talking to the cluster (the server is shutting down).
    fn close(&self) -> BoxFuture<'static, ()>;

    /// Keeps what a socket that lost its connection needs to come back: called, when
    /// recovery is on, for a socket closed for a reason a client recovers from. An adapter
    /// without a session store keeps nothing.
    fn persist_session(&self, session: SessionState) {
        drop(session);
    }

    /// A connected socket's session changed (it connected, joined or left rooms, or its
    /// data changed), with recovery on. An adapter that keeps sessions where a server's
    /// crash cannot lose them (Redis) writes it now, so that a client of a server that died
    /// without closing its sockets still recovers elsewhere; the in-memory adapter, which
    /// dies with its server, keeps nothing until the socket closes.
    ///
    /// For a recovered socket, the first call comes after its missed packets were queued
    /// and before the CONNECT answer: an adapter that held back events reaching the
    /// socket's rooms while the session was being restored sends them then, in order.
    fn session_changed(&self, session: SessionState) {
        drop(session);
    }

    /// A socket left for a reason its client does not recover from (it chose to leave, or
    /// was sent away): its session, if one is kept, goes.
    fn discard_session(&self, pid: &str) {
        let _ = pid;
    }

    /// The session `pid`, with the event packets it missed since `offset` (each carrying
    /// its own offset as its last argument), or `None` if it cannot be restored (unknown,
    /// expired, or the offset is no longer kept). The session is gone from the store then.
    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<'static, Result<Option<RestoredSession>, Error>> {
        drop((pid, offset));
        Box::pin(async { Ok(None) })
    }
}

/// Connection state recovery (Node's `connectionStateRecovery`): a client that loses its
/// connection and comes back within `max_disconnection_duration` gets its socket id, rooms
/// and data back, and every event it missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a session waits for its client. Default 2 min, Node's.
    pub max_disconnection_duration: Duration,
    /// A recovered socket does not go through the connect middleware again. Default true.
    pub skip_middlewares: bool,
    /// Most event packets the in-memory adapter keeps per namespace; the oldest go first,
    /// and a session whose offset is gone starts afresh. Default 10,000.
    pub max_packets: usize,
    /// Most sessions the in-memory adapter keeps per namespace; the oldest go first.
    /// Default 10,000.
    pub max_sessions: usize,
    /// Most packets one restore replays; a session that missed more starts afresh rather
    /// than receiving a flood. Default 1,000.
    pub max_missed_packets: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_packets: 10_000,
            max_sessions: 10_000,
            max_missed_packets: 1_000,
        }
    }
}

/// What recovery keeps of a socket that lost its connection (Node's `{sid, pid, rooms,
/// data}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    /// The socket id, given back to the recovered socket.
    pub sid: String,
    /// The private id the client presents to come back.
    pub pid: String,
    /// Its rooms, its own id included.
    pub rooms: Vec<Room>,
    /// The application's data on it.
    #[serde(default)]
    pub data: Value,
}

/// A session restored from the adapter's store.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoredSession {
    /// The session as it was kept.
    pub state: SessionState,
    /// The event packets it missed, in order, each with its offset as its last argument.
    pub missed: Vec<Packet>,
}

/// Builds a namespace's adapter from the namespace's emitter.
pub type AdapterFactory = Arc<dyn Fn(Arc<dyn SocketEmitter>) -> Arc<dyn Adapter> + Send + Sync>;

/// A socket anywhere in the cluster, as `fetch_sockets` finds it and as Node's adapters
/// send it to each other (`{id, handshake, rooms, data}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketInfo {
    /// The socket id.
    pub id: String,
    /// The request that opened its connection.
    pub handshake: HandshakeInfo,
    /// Its rooms, its own id included.
    pub rooms: Vec<Room>,
    /// The application's data on it (`socket.data` in Node).
    #[serde(default)]
    pub data: Value,
}

/// A change to a room on this server (Node's adapter events of the same names).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoomEvent {
    /// `create-room`: the room got its first socket.
    Created(Room),
    /// `delete-room`: its last socket left.
    Deleted(Room),
    /// `join-room`: a socket joined.
    Joined {
        /// The room.
        room: Room,
        /// The socket.
        sid: Sid,
    },
    /// `leave-room`: a socket left.
    Left {
        /// The room.
        room: Room,
        /// The socket.
        sid: Sid,
    },
}

/// Receives [`RoomEvent`]s; it runs after the adapter's locks are released.
pub type RoomListener = Arc<dyn Fn(&RoomEvent) + Send + Sync>;

/// A server-side event from another server of the cluster.
pub struct ServerEvent {
    /// The event name.
    pub name: String,
    /// Its arguments.
    pub payload: Payload,
    /// Answers the sending server, when it waits for answers.
    pub ack: Option<ServerAck>,
}

impl std::fmt::Debug for ServerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerEvent")
            .field("name", &self.name)
            .field("payload", &self.payload)
            .field("wants_ack", &self.ack.is_some())
            .finish()
    }
}

impl ServerEvent {
    /// The arguments decoded as `T`: the only argument when there is one, else all of them.
    pub fn data<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        self.payload.decode().map_err(Error::Decode)
    }

    /// Answers the sending server with one argument, if it waits for answers.
    pub fn ack(&mut self, data: impl Serialize) -> Result<(), Error> {
        if let Some(ack) = self.ack.take() {
            ack(Payload::json(data)?);
        }
        Ok(())
    }
}

/// Sends a listener's answer to a server-side event back to the server that sent it.
pub type ServerAck = Box<dyn FnOnce(Payload) + Send>;

/// One socket's answer to an event sent with [`SocketEmitter::send_with_ack`].
pub type AckResult = (Sid, Result<Payload, Error>);

/// The answers to one packet sent to several sockets, as they come.
pub struct AckStream {
    sent: usize,
    answers: BoxStream<'static, AckResult>,
}

impl AckStream {
    /// The answers of `sent` sockets, as they come. The namespace builds these for
    /// [`SocketEmitter::send_with_ack`]; another implementation of [`SocketEmitter`] (a
    /// test double, a wrapper) builds its own.
    pub fn new(sent: usize, answers: BoxStream<'static, AckResult>) -> AckStream {
        AckStream { sent, answers }
    }

    /// How many sockets the packet went to: the number of answers to expect.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// Waits for every answer: all of them, or [`Error::AckTimeout`] with those that came
    /// if any socket did not answer in time.
    pub async fn collect_responses(mut self) -> Result<Vec<Payload>, Error> {
        let mut responses = Vec::with_capacity(self.sent);
        let mut complete = true;
        while let Some((_, answer)) = self.answers.next().await {
            match answer {
                Ok(payload) => responses.push(payload),
                Err(_) => complete = false,
            }
        }
        if complete {
            Ok(responses)
        } else {
            Err(Error::AckTimeout { responses })
        }
    }
}

impl Stream for AckStream {
    type Item = AckResult;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AckResult>> {
        self.answers.poll_next_unpin(cx)
    }
}

impl std::fmt::Debug for AckStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckStream")
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}
