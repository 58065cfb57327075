//! Redis scale-out for actix-socketio, wire-compatible with Node's
//! `@socket.io/redis-adapter` 8.3 (classic and sharded), `@socket.io/redis-emitter` 5.1
//! and `@socket.io/redis-streams-adapter` 0.3: Rust and Node servers share one cluster.
//!
//! # Layout
//!
//! - [`wire`]: the bytes on Redis, sans-IO (no connection, no clock): the msgpack and
//!   JSON codecs as Node writes them, every message of the three protocols, channel
//!   names, ids. Decoders never panic; they return a [`wire::WireError`].
//! - [`cluster`]: [`RedisCluster`], the Redis side of a server process (one subscriber
//!   and one publishing connection for all namespaces, and with the streams protocol one
//!   reader of the stream); its [`RedisCluster::adapter`] is the factory for
//!   `SocketIoConfig::adapter`.
//! - [`config`]: [`RedisConfig`] and the streams adapter's [`StreamsConfig`].
//! - [`adapter`]: the namespace adapters, [`ClassicAdapter`] (`createAdapter`),
//!   [`ShardedAdapter`] (`createShardedAdapter`) and [`StreamsAdapter`]
//!   (`@socket.io/redis-streams-adapter`, with connection state recovery across nodes),
//!   each a `LocalAdapter` plus the network.
//! - `publisher`: the publishing connection behind a bounded queue.
//! - `stream_reader`: the streams adapter's reader of the stream, one per process.
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
//! - Streams adapter: while Redis is away, broadcasts reach this server's sockets at once,
//!   without offsets (Redis gives them), and restoring a session fails (the client gets a
//!   fresh one); the stream reader reconnects with backoff and reads on from the last
//!   entry it saw, so what other servers wrote meanwhile still arrives.
//!
//! # Left out of Node's adapters
//!
//! Redis Cluster deployments (one standalone Redis: Node sums `NUMSUB` over a cluster's
//! nodes), a pluggable `parser` (notepack's msgpack is the wire), `socket.data._admin` for
//! the admin UI; of the streams adapter, `streamCount` > 1, `useShardedPubSub` and
//! `onlyPlaintext`. Where the streams adapter differs from Node's: sessions are also
//! kept while their sockets are connected (a killed server's clients recover), every
//! server delivers in stream order, volatile events are never replayed (see
//! [`StreamsAdapter`]).

#![warn(missing_docs)]

pub mod adapter;
pub mod cluster;
pub mod config;
pub mod emitter;
pub mod error;
mod links;
mod publisher;
mod stream_reader;
pub mod subscriber;
pub mod wire;

pub use adapter::{ClassicAdapter, ShardedAdapter, StreamsAdapter};
pub use cluster::{RedisCluster, Stats};
pub use config::{Protocol, RedisConfig, StreamsConfig, SubscriptionMode};
pub use emitter::Emitter;
pub use error::Error;
pub use subscriber::Subscriber;
