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

use std::sync::Arc;

use actix_socketio::socket::adapter::{Adapter, AdapterFactory};
use tokio::sync::mpsc;

use crate::adapter::{ClassicAdapter, ShardedAdapter, StreamsAdapter};
use crate::config::{Protocol, RedisConfig, SubscriptionMode};
use crate::links::{Links, Router};
use crate::publisher::{self, Outbox};
use crate::stream_reader::{self, StreamShared};
use crate::subscriber::{Event, Subscriber};
use crate::Error;

/// What was lost so far because a bound was reached or Redis was away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Messages to other servers that were not published: the queue was full, or Redis
    /// was unreachable.
    pub dropped_publishes: u64,
    /// Messages from other servers dropped because this server fell behind.
    pub dropped_messages: u64,
}

/// The Redis side of one process: connected once, shared by every namespace's adapter.
#[derive(Clone)]
pub struct RedisCluster {
    links: Links,
    subscriber: Subscriber,
    kind: Kind,
}

/// The protocol, with what it needs of the process.
#[derive(Clone)]
enum Kind {
    Classic,
    Sharded(SubscriptionMode),
    Streams(Arc<StreamShared>),
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
        let config = Arc::new(config);
        let kind = match config.protocol {
            Protocol::Classic => Kind::Classic,
            Protocol::Sharded(mode) => Kind::Sharded(mode),
            Protocol::Streams => Kind::Streams(stream_reader::start(client, config.clone()).await?),
        };
        Ok(RedisCluster {
            links: Links {
                outbox,
                router,
                config,
            },
            subscriber,
            kind,
        })
    }

    /// The adapter factory for [`SocketIoConfig::adapter`]: every namespace gets an
    /// adapter of the configured protocol on this connection.
    ///
    /// [`SocketIoConfig::adapter`]: actix_socketio::SocketIoConfig::adapter
    pub fn adapter(&self) -> AdapterFactory {
        let links = self.links.clone();
        let kind = self.kind.clone();
        Arc::new(move |emitter| match &kind {
            Kind::Classic => ClassicAdapter::new(emitter, links.clone()) as Arc<dyn Adapter>,
            Kind::Sharded(mode) => {
                ShardedAdapter::new(emitter, links.clone(), *mode) as Arc<dyn Adapter>
            }
            Kind::Streams(stream) => {
                StreamsAdapter::new(emitter, links.clone(), stream.clone()) as Arc<dyn Adapter>
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
