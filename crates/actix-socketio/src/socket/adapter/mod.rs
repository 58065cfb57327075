//! The adapter boundary: who receives a broadcast, where rooms are kept, and how a cluster
//! of servers acts as one.
//!
//! Every namespace has one [`Adapter`]. The in-memory [`LocalAdapter`] serves a single
//! process; a cluster adapter (Redis, …) usually wraps one and adds the network. An adapter
//! reaches the namespace's local sockets only through [`SocketEmitter`], which the
//! namespace implements: select ids with the adapter's own rooms, then ask the emitter to
//! deliver an already-encoded packet, collect acks, join, leave or disconnect by id, or
//! describe a socket. [`LocalAdapter`] is written against that interface alone, as an
//! adapter in another crate would be.
//!
//! Local bookkeeping (join, leave) is synchronous; operations that may ask other servers
//! return futures. A broadcast without acks is fire-and-forget, as in Node: a cluster
//! adapter delivers locally and publishes in the background.

mod interface;
mod local;
mod sessions;

pub use interface::{
    AckResult, AckStream, Adapter, AdapterFactory, BoxFuture, BroadcastFlags, BroadcastOptions,
    RecoveryConfig, RestoredSession, RoomEvent, RoomListener, ServerAck, ServerEvent, SessionState,
    SocketEmitter, SocketInfo, Targets,
};
pub use local::{LocalAdapter, OwnedTargets};
pub use sessions::SessionStore;
