//! Everything that goes over Redis, as bytes: no connection, no clock.
//!
//! - [`msgpack`]: notepack.io / @msgpack/msgpack compatible MessagePack.
//! - [`json`]: `JSON.stringify`-compatible text.
//! - [`packet`]: Node's EVENT packet and broadcast options, binary moved between Node's
//!   inline form and [`actix_socketio::Payload`] attachments.
//! - [`classic`]: the messages of `createAdapter` and of the emitter.
//! - [`cluster`]: the ClusterAdapter messages of `createShardedAdapter` and of the
//!   streams adapter.
//! - [`streams`]: stream names, offsets and sessions of the streams adapter.
//! - [`channels`], [`ids`]: channel names and uids.
//!
//! Every decoder returns a [`WireError`] for input it cannot read; none panics.

pub mod channels;
pub mod classic;
pub mod cluster;
mod error;
pub mod ids;
pub mod json;
pub mod msgpack;
pub mod packet;
pub mod streams;
mod timestamp;

pub use channels::{BroadcastChannel, ClassicChannels, ClusterChannels};
pub use classic::{Broadcast, Request, RequestKind, Response, ResponseKind, EMITTER_UID};
pub use cluster::{Body, ClusterMessage, MessageType};
pub use error::WireError;
pub use packet::{BroadcastOpts, EventPacket, FetchedSocket, Flags};
pub use streams::{Offset, Session};
