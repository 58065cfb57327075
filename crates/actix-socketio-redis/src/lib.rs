//! Redis scale-out for actix-socketio, wire-compatible with Node's
//! `@socket.io/redis-adapter` 8.3 (classic and sharded), `@socket.io/redis-emitter` 5.1
//! and `@socket.io/redis-streams-adapter` 0.3: Rust and Node servers share one cluster.
//!
//! # Layout
//!
//! - [`wire`]: the bytes on Redis, sans-IO (no connection, no clock): the msgpack and
//!   JSON codecs as Node writes them, every message of the three protocols, channel
//!   names, ids. Decoders never panic; they return a [`wire::WireError`].
//! - [`cluster`], [`config`], `links`: [`RedisCluster`], the Redis side of a server process (one subscriber
//!   and one publishing connection for all namespaces), and its [`RedisConfig`]; its
//!   [`RedisCluster::adapter`] is the factory for `SocketIoConfig::adapter`.
//! - [`adapter`]: the namespace adapters, [`ClassicAdapter`] (`createAdapter`) and
//!   [`ShardedAdapter`] (`createShardedAdapter`), each a `LocalAdapter` plus the network.
//! - `publisher`: the publishing connection behind a bounded queue.
//! - [`emitter`]: [`Emitter`], for processes that are not servers: broadcasts, room
//!   changes, disconnects and server-side emits that every node obeys (classic format,
//!   as Node's redis-emitter).
//! - [`subscriber`]: [`Subscriber`], the one subscriber connection of a process
//!   (channels, patterns and shard channels), which reconnects with backoff and renews
//!   every subscription after Redis restarts.
//! - [`error`]: [`Error`], what the I/O side of the crate returns.
//!
//! The Redis client is redis-rs on tokio (`tokio-comp`; `connection-manager` for the
//! [`Emitter`]'s connection, which reconnects by itself). A server's two connections are
//! this crate's own: the subscriber, since redis-rs does not renew shard subscriptions,
//! and the publisher, which must drop rather than queue while Redis is away.

//! # Faults
//!
//! - Redis unreachable at start: [`RedisCluster::connect`] fails (a server that would
//!   silently run alone is a misconfiguration to stop at, not to ride out).
//! - Redis lost while running: local delivery goes on; what cannot be published is dropped
//!   and counted ([`RedisCluster::stats`]), never queued without bound; requests that need
//!   the other servers fail at once with [`Error::Unreachable`] (as
//!   `actix_socketio::Error::Adapter`); both connections warn once, reconnect with
//!   exponential backoff and renew every subscription.
//! - Other servers that do not answer in time: `actix_socketio::Error::Timeout`
//!   (fetchSockets, allRooms), or `Error::AckTimeout` with the answers that came
//!   (broadcasts with acks, server-side emits with acks).
//! - A server that dies leaves the count as soon as Redis sees its connection close (the
//!   count is Redis's subscriber count, as Node's).
//! - Bytes from Redis are never trusted: what does not decode is logged and dropped.
//!
//! # Left out of Node's adapters
//!
//! Redis Cluster deployments (one standalone Redis: Node sums `NUMSUB` over a cluster's
//! nodes), a pluggable `parser` (notepack's msgpack is the wire), `socket.data._admin` for
//! the admin UI, and the streams adapter with connection state recovery (its codec is in
//! [`wire`]; the adapter comes with session persistence in the library's adapter trait).

#![warn(missing_docs)]

pub mod adapter;
pub mod cluster;
pub mod config;
pub mod emitter;
pub mod error;
mod links;
mod publisher;
pub mod subscriber;
pub mod wire;

pub use adapter::{ClassicAdapter, ShardedAdapter};
pub use cluster::RedisCluster;
pub use config::{Protocol, RedisConfig, Stats, SubscriptionMode};
pub use emitter::Emitter;
pub use error::Error;
pub use subscriber::Subscriber;
