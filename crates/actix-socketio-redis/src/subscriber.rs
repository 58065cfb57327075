//! One subscriber connection for the whole process, kept alive across Redis restarts.
//!
//! Node's adapters count servers by subscribers (`PUBSUB NUMSUB` / `SHARDNUMSUB`): a
//! process must subscribe on exactly one connection, or every Node node waits for an
//! answer that never comes. So channels, patterns and shard channels of every namespace
//! share this one RESP3 connection (RESP3 lets SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE mix
//! on one connection and still answer other commands).
//!
//! redis-rs reconnects its `ConnectionManager` by itself but resubscribes only what its
//! own `subscribe`/`psubscribe` set up, not shard channels; so a task here owns the
//! connection, remembers every subscription, and after a drop reconnects with
//! exponential backoff and subscribes them all again. The adapter hears of the drop
//! ([`Event::Lost`], once per outage) and of the recovery ([`Event::Restored`]).
//!
//! Messages go to a bounded channel: a consumer that falls behind loses messages (counted,
//! see [`Subscriber::dropped`]) instead of growing a queue without limit, which is also
//! what Redis does to a subscriber that cannot keep up.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{AsyncConnectionConfig, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::Error;

/// What to listen to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subscription {
    /// SUBSCRIBE: one channel.
    Channel(String),
    /// PSUBSCRIBE: every channel matching a glob pattern.
    Pattern(String),
    /// SSUBSCRIBE: one shard channel (Redis 7; a separate namespace from plain channels).
    Shard(String),
}

impl Subscription {
    fn command(&self, subscribe: bool) -> (&'static str, &str) {
        match (self, subscribe) {
            (Subscription::Channel(c), true) => ("SUBSCRIBE", c),
            (Subscription::Channel(c), false) => ("UNSUBSCRIBE", c),
            (Subscription::Pattern(p), true) => ("PSUBSCRIBE", p),
            (Subscription::Pattern(p), false) => ("PUNSUBSCRIBE", p),
            (Subscription::Shard(s), true) => ("SSUBSCRIBE", s),
            (Subscription::Shard(s), false) => ("SUNSUBSCRIBE", s),
        }
    }
}

/// A published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The subscription it came through: the channel, pattern or shard channel.
    pub subscription: Subscription,
    /// The channel it was published on (for a pattern, the matching channel).
    pub channel: String,
    /// The bytes, as published.
    pub payload: Bytes,
}

/// What the subscriber reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message.
    Message(Message),
    /// The connection dropped; messages published meanwhile are lost. Sent once per
    /// outage.
    Lost,
    /// Connected again and every subscription renewed.
    Restored,
}

/// Delays between reconnection attempts: `min`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay after a drop.
    pub min: Duration,
    /// The longest delay between two attempts.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

/// How long one connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A request to the task that owns the connection.
enum Command {
    /// Subscribe to (or unsubscribe from) `subscriptions`, then report on `done`.
    Change {
        /// What changes.
        subscriptions: Vec<Subscription>,
        /// Add them (true) or remove them.
        subscribe: bool,
        /// Redis's answer, or `Ok` at once while disconnected; `None` when nobody waits.
        done: Option<oneshot::Sender<Result<(), Error>>>,
    },
}

/// A handle on the subscriber connection; clones share it. The connection closes when
/// every handle is dropped.
#[derive(Clone)]
pub struct Subscriber {
    /// Requests to the task that owns the connection, in order. Not bounded: each is one
    /// subscription change (a namespace, or a room of the sharded adapter's dynamic mode),
    /// done as fast as Redis confirms it, and at once while Redis is away.
    commands: mpsc::UnboundedSender<Command>,
    /// Messages dropped because the event channel was full.
    dropped: Arc<AtomicU64>,
}

impl Subscriber {
    /// Connects to `client`'s Redis (forcing RESP3) and starts the task that owns the
    /// connection. Events arrive on the returned receiver, which holds at most
    /// `capacity` of them. Fails if Redis cannot be reached now.
    pub async fn connect(
        client: &redis::Client,
        backoff: Backoff,
        capacity: usize,
    ) -> Result<(Subscriber, mpsc::Receiver<Event>), Error> {
        let info = client.get_connection_info().clone();
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings))?;
        let (events, receiver) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let (lost_tx, lost_rx) = mpsc::channel(4);
        let mut task = Task {
            client,
            backoff,
            events,
            dropped: dropped.clone(),
            lost_tx,
            generation: 0,
            connection: None,
            subscriptions: HashSet::new(),
        };
        task.connection = Some(task.open().await?);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        tokio::spawn(task.run(commands_rx, lost_rx));
        Ok((Subscriber { commands, dropped }, receiver))
    }

    /// Adds subscriptions. Returns once Redis confirmed them, or at once while the
    /// connection is down (they are made on reconnection).
    pub async fn subscribe(&self, subscriptions: Vec<Subscription>) -> Result<(), Error> {
        self.change(subscriptions, true).await
    }

    /// Removes subscriptions.
    pub async fn unsubscribe(&self, subscriptions: Vec<Subscription>) -> Result<(), Error> {
        self.change(subscriptions, false).await
    }

    async fn change(&self, subscriptions: Vec<Subscription>, subscribe: bool) -> Result<(), Error> {
        let (done, result) = oneshot::channel();
        self.commands
            .send(Command::Change {
                subscriptions,
                subscribe,
                done: Some(done),
            })
            .map_err(|_| Error::SubscriberClosed)?;
        result.await.map_err(|_| Error::SubscriberClosed)?
    }

    /// Queues a change without waiting for it, for callers that cannot wait (room
    /// events). Changes are made in the order they are queued, after those queued before.
    pub fn change_soon(&self, subscriptions: Vec<Subscription>, subscribe: bool) {
        // The task is gone only when the runtime shuts down: nothing to subscribe for.
        let _ = self.commands.send(Command::Change {
            subscriptions,
            subscribe,
            done: None,
        });
    }

    /// Messages lost so far because the event receiver was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The owner of the connection: it alone sends subscription commands and reconnects.
struct Task {
    /// Where to (re)connect, RESP3.
    client: redis::Client,
    /// Delays between attempts.
    backoff: Backoff,
    /// Events out.
    events: mpsc::Sender<Event>,
    /// Messages `events` had no room for.
    dropped: Arc<AtomicU64>,
    /// Each connection's push handler reports its drop here, with its generation.
    lost_tx: mpsc::Sender<u64>,
    /// Which connection is current: a late drop report of an old one is ignored.
    generation: u64,
    /// The live connection, `None` while reconnecting.
    connection: Option<MultiplexedConnection>,
    /// Everything subscribed, renewed after each reconnection (a set: a dynamic-private
    /// adapter adds and removes one per socket).
    subscriptions: HashSet<Subscription>,
}

impl Task {
    async fn open(&mut self) -> Result<MultiplexedConnection, Error> {
        self.generation += 1;
        let generation = self.generation;
        let events = self.events.clone();
        let dropped = self.dropped.clone();
        let lost = self.lost_tx.clone();
        let push = move |info: PushInfo| -> Result<(), std::convert::Infallible> {
            match info.kind {
                PushKind::Disconnection => {
                    let _ = lost.try_send(generation);
                }
                PushKind::Message | PushKind::PMessage | PushKind::SMessage => {
                    if let Some(message) = message(info) {
                        if events.try_send(Event::Message(message)).is_err() {
                            dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        };
        let config = AsyncConnectionConfig::new()
            .set_push_sender(push)
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            // A Redis that stops answering must not hold subscription changes forever.
            .set_response_timeout(Some(CONNECT_TIMEOUT));
        let mut connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let all: Vec<Subscription> = self.subscriptions.iter().cloned().collect();
        send(&mut connection, &all, true).await?;
        Ok(connection)
    }

    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut lost: mpsc::Receiver<u64>,
    ) {
        let mut delay = self.backoff.min;
        let mut retry_at: Option<Instant> = None;
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    // Every handle is gone: the connection closes with the task.
                    None => return,
                    Some(Command::Change { subscriptions, subscribe, done }) => {
                        let result = self.change(subscriptions, subscribe).await;
                        if let Some(done) = done {
                            let _ = done.send(result);
                        }
                    }
                },
                Some(generation) = lost.recv() => {
                    if generation == self.generation && self.connection.is_some() {
                        self.connection = None;
                        let _ = self.events.send(Event::Lost).await;
                        delay = self.backoff.min;
                        retry_at = Some(Instant::now() + delay);
                    }
                }
                () = sleep_until(retry_at), if retry_at.is_some() => {
                    match self.open().await {
                        Ok(connection) => {
                            self.connection = Some(connection);
                            retry_at = None;
                            let _ = self.events.send(Event::Restored).await;
                        }
                        Err(_) => {
                            delay = (delay * 2).min(self.backoff.max);
                            retry_at = Some(Instant::now() + delay);
                        }
                    }
                }
            }
        }
    }

    async fn change(
        &mut self,
        subscriptions: Vec<Subscription>,
        subscribe: bool,
    ) -> Result<(), Error> {
        for subscription in &subscriptions {
            if subscribe {
                self.subscriptions.insert(subscription.clone());
            } else {
                self.subscriptions.remove(subscription);
            }
        }
        match &mut self.connection {
            Some(connection) => send(connection, &subscriptions, subscribe).await,
            // Made (or not) on reconnection.
            None => Ok(()),
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One command per subscription kind, each naming all of its channels.
async fn send<C: ConnectionLike>(
    connection: &mut C,
    subscriptions: &[Subscription],
    subscribe: bool,
) -> Result<(), Error> {
    let mut commands: Vec<(&'static str, Vec<&str>)> = Vec::new();
    for subscription in subscriptions {
        let (name, channel) = subscription.command(subscribe);
        match commands.iter_mut().find(|(n, _)| *n == name) {
            Some((_, channels)) => channels.push(channel),
            None => commands.push((name, vec![channel])),
        }
    }
    for (name, channels) in commands {
        redis::cmd(name)
            .arg(channels)
            .exec_async(connection)
            .await?;
    }
    Ok(())
}

/// A message push as a [`Message`]: `[channel, payload]`, or `[pattern, channel,
/// payload]` for a pattern.
fn message(info: PushInfo) -> Option<Message> {
    let text = |value: &Value| match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let mut data = info.data;
    let payload = match data.pop()? {
        Value::BulkString(bytes) => Bytes::from(bytes),
        Value::SimpleString(s) => Bytes::from(s),
        _ => return None,
    };
    match (info.kind, data.as_slice()) {
        (PushKind::Message, [channel]) => {
            let channel = text(channel)?;
            Some(Message {
                subscription: Subscription::Channel(channel.clone()),
                channel,
                payload,
            })
        }
        (PushKind::SMessage, [channel]) => {
            let channel = text(channel)?;
            Some(Message {
                subscription: Subscription::Shard(channel.clone()),
                channel,
                payload,
            })
        }
        (PushKind::PMessage, [pattern, channel]) => Some(Message {
            subscription: Subscription::Pattern(text(pattern)?),
            channel: text(channel)?,
            payload,
        }),
        _ => None,
    }
}
