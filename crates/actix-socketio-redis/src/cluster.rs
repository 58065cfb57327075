//! [`RedisCluster`]: the Redis side of one process, shared by the adapters of all its
//! namespaces, and its [`RedisConfig`].
//!
//! A process has one subscriber connection (Node counts servers by subscribers, so a
//! second one would count this server twice) and one publishing connection behind a
//! bounded queue. A dispatcher task routes each incoming message, by the subscription it
//! came through, to the namespace adapter that made it.
//!
//! ```no_run
//! use actix_socketio::{SocketIo, SocketIoConfig};
//! use actix_socketio_redis::{RedisCluster, RedisConfig};
//!
//! # async fn run() -> Result<(), actix_socketio_redis::Error> {
//! let client = redis::Client::open("redis://127.0.0.1:6379")?;
//! // Fails at once if Redis cannot be reached.
//! let cluster = RedisCluster::connect(&client, RedisConfig::classic("socket.io")).await?;
//! let io = SocketIo::new(SocketIoConfig {
//!     adapter: cluster.adapter(),
//!     ..SocketIoConfig::default()
//! });
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use actix_socketio::socket::adapter::{Adapter, AdapterFactory};
use tokio::sync::mpsc;

use crate::adapter::{ClassicAdapter, Receiver, ShardedAdapter};
use crate::publisher::{self, Outbox};
use crate::subscriber::{Backoff, Event, Message, Subscriber, Subscription};
use crate::Error;

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

/// Settings of a [`RedisCluster`], with Node's defaults.
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

/// Subscription changes, as the [`Router`] asks for them.
pub(crate) type Changes = Arc<dyn Fn(Vec<Subscription>, bool) + Send + Sync>;

/// Which adapter each subscription belongs to. Adapters add and remove their own; the
/// change goes to the subscriber connection in the order it was made.
pub(crate) struct Router {
    routes: RwLock<HashMap<Subscription, Weak<dyn Receiver>>>,
    changes: Changes,
}

impl Router {
    pub(crate) fn new(changes: Changes) -> Self {
        Router {
            routes: RwLock::new(HashMap::new()),
            changes,
        }
    }

    /// Subscribes to `subscriptions` on behalf of `receiver`.
    pub(crate) fn add(&self, subscriptions: Vec<Subscription>, receiver: Weak<dyn Receiver>) {
        {
            let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
            for subscription in &subscriptions {
                routes.insert(subscription.clone(), receiver.clone());
            }
        }
        (self.changes)(subscriptions, true);
    }

    /// Unsubscribes.
    pub(crate) fn remove(&self, subscriptions: Vec<Subscription>) {
        {
            let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
            for subscription in &subscriptions {
                routes.remove(subscription);
            }
        }
        (self.changes)(subscriptions, false);
    }

    /// Hands a message to the adapter that subscribed to it.
    pub(crate) fn route(&self, message: &Message) {
        let receiver = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&message.subscription)
            .and_then(Weak::upgrade);
        // Outside the lock: handling may subscribe (a room created by a remote join).
        if let Some(receiver) = receiver {
            receiver.receive(message);
        }
    }
}

/// What a namespace adapter needs of the process's Redis side.
#[derive(Clone)]
pub(crate) struct Links {
    pub(crate) outbox: Outbox,
    pub(crate) router: Arc<Router>,
    pub(crate) config: Arc<RedisConfig>,
}

/// The Redis side of one process: connected once, shared by every namespace's adapter.
#[derive(Clone)]
pub struct RedisCluster {
    links: Links,
    subscriber: Subscriber,
}

impl std::fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCluster")
            .field("config", &self.links.config)
            .finish_non_exhaustive()
    }
}

impl RedisCluster {
    /// Connects to `client`'s Redis: the subscriber and the publishing connection. Fails
    /// if Redis cannot be reached now, so a misconfigured server stops at start instead
    /// of running alone; once running, it rides out Redis outages (local delivery goes
    /// on, it reconnects with backoff and resubscribes).
    ///
    /// Must run on an actix runtime (`#[actix_web::main]`): listeners of server-side
    /// events run there, like every other handler.
    pub async fn connect(client: &redis::Client, config: RedisConfig) -> Result<Self, Error> {
        if actix_rt::Arbiter::try_current().is_none() {
            return Err(Error::NoActixRuntime);
        }
        let (subscriber, events) =
            Subscriber::connect(client, config.backoff, config.max_incoming).await?;
        let connection = publisher::connect(client).await?;
        let (outbox, queue) = Outbox::channel(config.max_queued_messages, config.max_queued_bytes);
        tokio::spawn(publisher::run(
            client.clone(),
            queue,
            config.backoff,
            connection,
        ));
        let changing = subscriber.clone();
        let router = Arc::new(Router::new(Arc::new(move |subscriptions, subscribe| {
            changing.change_soon(subscriptions, subscribe);
        })));
        actix_rt::spawn(dispatch(events, router.clone()));
        Ok(RedisCluster {
            links: Links {
                outbox,
                router,
                config: Arc::new(config),
            },
            subscriber,
        })
    }

    /// The adapter factory for [`SocketIoConfig::adapter`]: every namespace gets an
    /// adapter of the configured protocol on this connection.
    ///
    /// [`SocketIoConfig::adapter`]: actix_socketio::SocketIoConfig::adapter
    pub fn adapter(&self) -> AdapterFactory {
        let links = self.links.clone();
        Arc::new(move |emitter| match links.config.protocol {
            Protocol::Classic => ClassicAdapter::new(emitter, links.clone()) as Arc<dyn Adapter>,
            Protocol::Sharded(mode) => {
                ShardedAdapter::new(emitter, links.clone(), mode) as Arc<dyn Adapter>
            }
        })
    }

    /// The settings it runs with.
    pub fn config(&self) -> &RedisConfig {
        &self.links.config
    }

    /// What was dropped so far.
    pub fn stats(&self) -> Stats {
        Stats {
            dropped_publishes: self.links.outbox.dropped(),
            dropped_messages: self.subscriber.dropped(),
        }
    }
}

/// Routes the subscriber's messages to the adapters, and says when Redis is lost and
/// back (once each per outage).
async fn dispatch(mut events: mpsc::Receiver<Event>, router: Arc<Router>) {
    while let Some(event) = events.recv().await {
        match event {
            Event::Message(message) => router.route(&message),
            Event::Lost => log::warn!(
                "Redis subscriber connection lost: messages from other servers are missed \
                 until it is back; local delivery goes on, reconnecting"
            ),
            Event::Restored => {
                log::warn!("Redis subscriber connection restored, every subscription renewed")
            }
        }
    }
}
