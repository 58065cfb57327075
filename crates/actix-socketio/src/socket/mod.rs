//! Socket.IO v5 on top of Engine.IO.
//!
//! The files, each using only those listed before it:
//!
//! - [`packet`]: the codec, binary attachments included (no I/O).
//! - `error`, `rooms`, `state`, `task`, [`handshake`], `event`: the layer's shared types,
//!   which import nothing of the layer above them.
//! - [`adapter`]: the [`Adapter`] trait (rooms, broadcasts, cluster operations), the
//!   [`SocketEmitter`] interface through which an adapter reaches a namespace's local
//!   sockets, and the in-memory [`LocalAdapter`].
//! - `remote`, `broadcast`: sockets found anywhere in the cluster, and the broadcast
//!   operators (`to`, `except`, …) that act through the adapter.
//! - `socket`: one client in one namespace; `handler`: extractors and the typed handler
//!   registration.
//! - `namespace`, `namespaces`: the user API of a namespace and the server's set of them.
//! - `client`: one Engine.IO connection with one socket per namespace it joined.
//! - `server`: configuration, mounting, the official client files (`client_files`).

pub mod adapter;
mod broadcast;
mod client;
mod client_files;
mod error;
mod event;
mod handler;
pub mod handshake;
mod namespace;
mod namespaces;
pub mod packet;
mod remote;
mod rooms;
mod server;
// The file is named after the type it holds.
#[allow(clippy::module_inception)]
mod socket;
mod state;
mod task;

pub use adapter::{
    AckResult, AckStream, Adapter, AdapterFactory, BoxFuture, BroadcastFlags, BroadcastOptions,
    LocalAdapter, RecoveryConfig, RestoredSession, RoomEvent, RoomListener, ServerAck, ServerEvent,
    SessionState, SessionStore, SocketEmitter, SocketInfo, Targets,
};
pub use broadcast::BroadcastOperator;
pub use error::{ConnectError, DisconnectReason, Error, MiddlewareError};
pub use event::{AckSender, Event};
pub use handler::{
    Bin, ConnectHandler, ConnectMiddleware, Data, DisconnectHandler, EventHandler, Extension,
    FromDisconnect, FromEvent, FromSocket, MiddlewareFuture, State, TryData,
};
pub use handshake::{Handshake, HandshakeInfo};
pub use namespace::{Namespace, ParentNamespace};
pub use packet::Payload;
pub use remote::RemoteSocket;
pub use rooms::{IntoRooms, Room, Sid};
pub use server::{Handler, SocketIo, SocketIoBuilder, SocketIoConfig};
pub use socket::{AnyListener, ErrorHandler, PacketMiddleware, Socket, TimedSocket, WeakSocket};
