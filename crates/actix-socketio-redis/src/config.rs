//! How a process's Redis side is set up ([`RedisConfig`]), and what it reports
//! ([`Stats`]).

use std::time::Duration;

use crate::subscriber::Backoff;

/// Which of Node's Redis adapters the cluster speaks. Every node under one key must speak
/// the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `createAdapter`: PUBLISH/PSUBSCRIBE, the format `@socket.io/redis-emitter` also
    /// writes.
    Classic,
    /// `createShardedAdapter`: Redis 7 sharded pub/sub (SPUBLISH/SSUBSCRIBE), the
    /// ClusterAdapter protocol.
    Sharded(SubscriptionMode),
}

/// The sharded adapter's `subscriptionMode`: which rooms get a channel of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubscriptionMode {
    /// `"static"`: one channel per namespace (and one per node for its responses).
    Static,
    /// `"dynamic"` (Node's default): also one channel per public room, subscribed while
    /// the room exists here; a plain broadcast to one such room goes only to the nodes
    /// that have it.
    #[default]
    Dynamic,
    /// `"dynamic-private"`: as dynamic, socket ids' rooms included.
    DynamicPrivate,
}

/// Settings of a [`RedisCluster`](crate::RedisCluster), with Node's defaults.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// The channel prefix: Node's `key` (classic) or `channelPrefix` (sharded), default
    /// `"socket.io"`.
    pub key: String,
    /// Which adapter to speak.
    pub protocol: Protocol,
    /// How long fetchSockets and allRooms wait for the other servers (Node's
    /// `requestsTimeout`, 5 s), and a broadcast's acks wait when its sender gave no
    /// timeout.
    pub requests_timeout: Duration,
    /// Classic: answer requests on the requester's own response channel rather than the
    /// common one (Node's `publishOnSpecificResponseChannel`, off by default). Responses
    /// are read on both either way.
    pub publish_on_specific_response_channel: bool,
    /// Delays between reconnection attempts after Redis is lost.
    pub backoff: Backoff,
    /// Most messages waiting to be published; more are dropped and counted
    /// ([`Stats::dropped_publishes`]).
    pub max_queued_messages: usize,
    /// Most bytes of messages waiting to be published.
    pub max_queued_bytes: usize,
    /// Most messages received and not yet handled; more are dropped and counted
    /// ([`Stats::dropped_messages`]), as Redis itself drops a subscriber that lags.
    pub max_incoming: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            key: "socket.io".into(),
            protocol: Protocol::Classic,
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            backoff: Backoff::default(),
            max_queued_messages: 4096,
            max_queued_bytes: 64 << 20,
            max_incoming: 4096,
        }
    }
}

impl RedisConfig {
    /// The classic protocol under prefix `key`.
    pub fn classic(key: impl Into<String>) -> Self {
        RedisConfig {
            key: key.into(),
            ..RedisConfig::default()
        }
    }

    /// The sharded protocol under prefix `key`, in subscription mode `mode`.
    pub fn sharded(key: impl Into<String>, mode: SubscriptionMode) -> Self {
        RedisConfig {
            key: key.into(),
            protocol: Protocol::Sharded(mode),
            ..RedisConfig::default()
        }
    }
}

/// What was lost so far because a bound was reached or Redis was away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Messages to other servers that were not published: the queue was full, or Redis
    /// was unreachable.
    pub dropped_publishes: u64,
    /// Messages from other servers dropped because this server fell behind.
    pub dropped_messages: u64,
}
