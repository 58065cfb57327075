//! Socket.IO v5 on top of Engine.IO.
//!
//! [`packet`] is the codec (no I/O). A [`client`] is one Engine.IO connection and owns
//! one [`Socket`] per namespace it joined; [`Namespace`]s route CONNECTs to handlers and
//! broadcasts to an [`Adapter`], which keeps the rooms.

pub mod adapter;
pub mod broadcast;
mod client;
mod client_files;
pub mod handshake;
pub mod namespace;
pub mod packet;
pub mod server;
// The file is named after the type it holds.
#[allow(clippy::module_inception)]
pub mod socket;

pub use adapter::{Adapter, AdapterError, BroadcastOptions, LocalAdapter, RemoteSocket};
pub use broadcast::{BroadcastOperator, IntoRooms};
pub use handshake::Handshake;
pub use namespace::{ConnectError, Namespace, ParentNamespace};
pub use packet::Payload;
pub use server::{SocketIo, SocketIoConfig};
pub use socket::{
    AckError, AckSender, DisconnectReason, EmitError, Event, JoinError, MiddlewareError, Socket,
};
