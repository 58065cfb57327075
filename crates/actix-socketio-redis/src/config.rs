//! [`RedisConfig`]: which of Node's adapters a [`RedisCluster`](crate::RedisCluster)
//! speaks, under which names, with which bounds.

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
    /// `@socket.io/redis-streams-adapter` 0.3: broadcasts and room changes go through a
    /// Redis stream, whose entry ids are connection state recovery's offsets; the
    /// requests (broadcasts with acks, fetchSockets, server-side emits) and their answers
    /// over plain pub/sub; sessions are kept in Redis ([`StreamsConfig`]).
    Streams,
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
    /// The channel prefix: Node's `key` (classic) or `channelPrefix` (sharded, streams),
    /// default `"socket.io"`.
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
    /// ([`Stats::dropped_publishes`](crate::Stats::dropped_publishes)).
    pub max_queued_messages: usize,
    /// Most bytes of messages waiting to be published.
    pub max_queued_bytes: usize,
    /// Most messages received and not yet handled; more are dropped and counted
    /// ([`Stats::dropped_messages`](crate::Stats::dropped_messages)), as Redis itself drops a subscriber that lags.
    pub max_incoming: usize,
    /// The streams adapter's names and bounds.
    pub streams: StreamsConfig,
}

/// The streams adapter's settings: Node's options of the same meaning, with Node's
/// defaults, and the bounds of what this crate adds (sessions kept as they change).
#[derive(Debug, Clone)]
pub struct StreamsConfig {
    /// The stream (Node's `streamName`, default `"socket.io"`).
    pub stream_name: String,
    /// Where sessions are kept: `session_key_prefix + pid` (Node's `sessionKeyPrefix`,
    /// default `"sio:session:"`).
    pub session_key_prefix: String,
    /// `XADD stream MAXLEN ~ max_len` (Node's `maxLen`, 10,000): how many entries, so
    /// how many missed events, the stream keeps.
    pub max_len: usize,
    /// `XREAD COUNT` (Node's `readCount`, 100).
    pub read_count: usize,
    /// `XREAD BLOCK` (Node's `blockTimeInMs`, 5 s).
    pub block_time: Duration,
    /// How long changes to a connected socket's session (it joined, left, set data) are
    /// gathered into one write.
    pub session_write_delay: Duration,
    /// Most session writes (changes and refreshes) queued per round, so a server with
    /// many sockets spreads its refreshes instead of flooding Redis at once.
    pub max_session_writes: usize,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        StreamsConfig {
            stream_name: "socket.io".into(),
            session_key_prefix: "sio:session:".into(),
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_secs(5),
            session_write_delay: Duration::from_millis(10),
            max_session_writes: 1000,
        }
    }
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
            streams: StreamsConfig::default(),
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

    /// The streams protocol under channel prefix `key`, with the stream `KEY-stream` and
    /// session keys `KEY-session:PID`: Node's `createAdapter(client, {streamName: KEY +
    /// "-stream", channelPrefix: KEY, sessionKeyPrefix: KEY + "-session:"})`. (Node's
    /// defaults, for nodes started without those options, are `socket.io`, `socket.io`
    /// and `sio:session:`: set [`StreamsConfig::stream_name`] and
    /// [`StreamsConfig::session_key_prefix`] to join them.)
    pub fn streams(key: impl Into<String>) -> Self {
        let key = key.into();
        RedisConfig {
            streams: StreamsConfig {
                stream_name: format!("{key}-stream"),
                session_key_prefix: format!("{key}-session:"),
                ..StreamsConfig::default()
            },
            key,
            protocol: Protocol::Streams,
            ..RedisConfig::default()
        }
    }
}
