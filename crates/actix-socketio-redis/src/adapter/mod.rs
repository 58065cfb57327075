//! The namespace adapters: [`ClassicAdapter`] (`createAdapter`) and [`ShardedAdapter`]
//! (`createShardedAdapter`), each a
//! [`LocalAdapter`](actix_socketio::socket::adapter::LocalAdapter) for this server's
//! sockets plus the network.
//!
//! This module holds what both share: the move between the library's types and the
//! wire's, the table of requests waiting for other servers' answers, and the way a
//! broadcast with acks is known to be complete.
//!
//! The adapters are sans-IO at their edges: what they publish goes to the publisher's
//! queue, what they subscribe to goes through the cluster's router, and messages come in
//! through one `receive` call each, so tests drive them with bytes and read what they
//! would send.

mod classic;
#[cfg(test)]
mod node_messages;
mod sharded;
mod shared;

pub use classic::ClassicAdapter;
pub use sharded::ShardedAdapter;
pub(crate) use shared::Receiver;
