//! Redis scale-out for actix-socketio, wire-compatible with Node's
//! `@socket.io/redis-adapter` 8.3 (classic and sharded), `@socket.io/redis-emitter` 5.1
//! and `@socket.io/redis-streams-adapter` 0.3: Rust and Node servers share one cluster.
//!
//! # Layout
//!
//! - [`wire`]: the bytes on Redis, sans-IO (no connection, no clock): the msgpack and
//!   JSON codecs as Node writes them, every message of the three protocols, channel
//!   names, ids. Decoders never panic; they return a [`wire::WireError`].
//! - [`emitter`]: [`Emitter`], for processes that are not servers: broadcasts, room
//!   changes, disconnects and server-side emits that every node obeys (classic format,
//!   as Node's redis-emitter).
//! - [`subscriber`]: [`Subscriber`], the one subscriber connection of a process
//!   (channels, patterns and shard channels), which reconnects with backoff and renews
//!   every subscription after Redis restarts.
//! - [`error`]: [`Error`], what the I/O side of the crate returns.
//!
//! The Redis client is redis-rs on tokio (`tokio-comp`, and `connection-manager` for a
//! publishing connection that reconnects with backoff by itself; the subscriber
//! connection is this crate's own, since redis-rs does not renew shard subscriptions).

#![warn(missing_docs)]

pub mod emitter;
pub mod error;
pub mod subscriber;
pub mod wire;

pub use emitter::Emitter;
pub use error::Error;
pub use subscriber::Subscriber;
