//! The namespace adapters: [`ClassicAdapter`] (`createAdapter`) and [`ShardedAdapter`]
//! (`createShardedAdapter`), each a
//! [`LocalAdapter`](actix_socketio::socket::adapter::LocalAdapter) for this server's
//! sockets plus the network.
//!
//! What they share is in `common` (conversions, the request table, ack tallies) and
//! `cluster_core` (the ClusterAdapter protocol of the sharded adapter).
//!
//! The adapters are sans-IO at their edges: what they publish goes to the publisher's
//! queue, what they subscribe to goes through the cluster's router, and messages come in
//! through one `receive` call each, so tests drive them with bytes and read what they
//! would send.

mod classic;
mod cluster_core;
mod common;
#[cfg(test)]
mod node_messages;
mod session_book;
mod sharded;
mod streams;

pub use classic::ClassicAdapter;
pub use sharded::ShardedAdapter;
pub use streams::StreamsAdapter;
