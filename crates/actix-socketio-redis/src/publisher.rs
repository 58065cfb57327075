//! The one publishing connection of a process, behind a bounded queue.
//!
//! Adapters never wait on Redis to broadcast: they put the message in the [`Outbox`] and
//! go on delivering locally. One task owns the connection and publishes what is queued,
//! in order, pipelined in batches. The queue is bounded in messages and in bytes; what
//! does not fit is dropped and counted, never queued without limit.
//!
//! When the connection breaks, the task warns once, drops (and counts) what arrives while
//! it is down, answers server counts with [`Error::Unreachable`], and reconnects with
//! exponential backoff; it says when Redis is back and how much was dropped meanwhile.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::subscriber::Backoff;
use crate::Error;

/// Messages pipelined in one round trip.
const BATCH: usize = 256;

/// How long connecting, or one batch, may take before the connection counts as broken.
const TIMEOUT: Duration = Duration::from_secs(2);

/// What the task sends to Redis.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// PUBLISH, or SPUBLISH for a shard channel.
    Publish {
        /// SPUBLISH (sharded adapter) rather than PUBLISH.
        shard: bool,
        /// Where.
        channel: String,
        /// The bytes.
        payload: Vec<u8>,
    },
    /// Any other command (the streams adapter's XADD, SET, DEL, GETDEL, XRANGE), with
    /// what to do with Redis's answer.
    Command {
        /// The command.
        command: redis::Cmd,
        /// Bytes counted against the queue's bound.
        bytes: usize,
        /// Called with the answer (a server error included), or with
        /// [`Error::Unreachable`] if the command could not be sent.
        reply: Option<Reply>,
    },
    /// `PUBSUB NUMSUB`, or `PUBSUB SHARDNUMSUB` for a shard channel: the server count.
    Count {
        /// SHARDNUMSUB rather than NUMSUB.
        shard: bool,
        /// The channel whose subscribers are counted.
        channel: String,
        /// The count, or why there is none.
        reply: oneshot::Sender<Result<usize, Error>>,
    },
}

/// What a [`Outgoing::Command`] does with Redis's answer; it runs on the publishing task,
/// so it must be short (hand the answer over, never block).
pub(crate) struct Reply(Box<dyn FnOnce(Result<redis::Value, Error>) + Send>);

impl Reply {
    /// Calls `answer` with the answer.
    pub(crate) fn new(answer: impl FnOnce(Result<redis::Value, Error>) + Send + 'static) -> Self {
        Reply(Box::new(answer))
    }

    /// Hands the answer over: a server error as [`Error::Redis`].
    pub(crate) fn answer(self, reply: Result<redis::Value, Error>) {
        let reply = reply.and_then(|value| match value {
            redis::Value::ServerError(error) => Err(Error::Redis(error.into())),
            value => Ok(value),
        });
        (self.0)(reply)
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reply")
    }
}

/// Bounds and counters shared by the outbox handles and the task.
#[derive(Debug)]
struct Shared {
    /// Bytes of the payloads queued and not yet taken by the task.
    queued_bytes: AtomicUsize,
    /// The bound on `queued_bytes`.
    max_bytes: usize,
    /// Messages dropped: queue full, or Redis away.
    dropped: AtomicU64,
    /// A drop for a full queue was reported and the queue has not emptied since: warn
    /// once per episode, not once per message.
    overflowing: AtomicBool,
    /// Redis refused a command nobody waits for, and no batch went through cleanly since:
    /// warn once per episode.
    refusing: AtomicBool,
}

/// Where adapters put what is to be published; clones share the queue.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    queue: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
}

/// The task's end of the queue.
#[derive(Debug)]
pub(crate) struct Queue {
    receiver: mpsc::Receiver<Outgoing>,
    shared: Arc<Shared>,
}

impl Outbox {
    /// A queue of at most `max_messages` messages and `max_bytes` bytes of payloads.
    pub(crate) fn channel(max_messages: usize, max_bytes: usize) -> (Outbox, Queue) {
        let (queue, receiver) = mpsc::channel(max_messages.max(1));
        let shared = Arc::new(Shared {
            queued_bytes: AtomicUsize::new(0),
            max_bytes,
            dropped: AtomicU64::new(0),
            overflowing: AtomicBool::new(false),
            refusing: AtomicBool::new(false),
        });
        (
            Outbox {
                queue,
                shared: shared.clone(),
            },
            Queue { receiver, shared },
        )
    }

    /// Queues a message to publish; drops it (counted) if the queue is full. Never waits.
    pub(crate) fn publish(&self, shard: bool, channel: String, payload: Vec<u8>) {
        let len = payload.len();
        self.queue(
            len,
            Outgoing::Publish {
                shard,
                channel,
                payload,
            },
        );
    }

    /// Queues a command of `bytes` bytes; if the queue is full it is dropped (counted) and
    /// `reply` gets [`Error::QueueFull`] at once. Never waits.
    pub(crate) fn command(&self, command: redis::Cmd, bytes: usize, reply: Option<Reply>) {
        self.queue(
            bytes,
            Outgoing::Command {
                command,
                bytes,
                reply,
            },
        );
    }

    /// Sends a command of `bytes` bytes in turn with the others, and waits for Redis's
    /// answer.
    pub(crate) async fn query(
        &self,
        command: redis::Cmd,
        bytes: usize,
    ) -> Result<redis::Value, Error> {
        let (reply, answer) = oneshot::channel();
        self.command(
            command,
            bytes,
            Some(Reply::new(move |result| {
                let _ = reply.send(result);
            })),
        );
        answer.await.map_err(|_| Error::Unreachable)?
    }

    fn queue(&self, len: usize, message: Outgoing) {
        // Counted before it is queued, so concurrent publishers cannot all pass the bound.
        let before = self.shared.queued_bytes.fetch_add(len, Ordering::AcqRel);
        let refused = if before.saturating_add(len) > self.shared.max_bytes {
            Some(message)
        } else {
            self.queue
                .try_send(message)
                .err()
                .map(|error| error.into_inner())
        };
        if let Some(message) = refused {
            self.shared.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            self.overflow();
            if let Outgoing::Command {
                reply: Some(reply), ..
            } = message
            {
                reply.answer(Err(Error::QueueFull));
            }
        }
    }

    fn overflow(&self) {
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        if !self.shared.overflowing.swap(true, Ordering::AcqRel) {
            log::warn!(
                "the queue of messages to Redis is full: messages to other servers are dropped"
            );
        }
    }

    /// How many servers subscribe to `channel` (NUMSUB, or SHARDNUMSUB for a shard
    /// channel): the server count Node's adapters use.
    pub(crate) async fn count(&self, shard: bool, channel: String) -> Result<usize, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Outgoing::Count {
                shard,
                channel,
                reply,
            })
            .map_err(|_| Error::QueueFull)?;
        answer.await.map_err(|_| Error::Unreachable)?
    }

    /// Messages dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Queue {
    /// The next queued message; `None` once every [`Outbox`] is gone.
    pub(crate) async fn next(&mut self) -> Option<Outgoing> {
        let message = self.receiver.recv().await?;
        Some(self.taken(message))
    }

    /// A queued message, if one is there now.
    pub(crate) fn try_next(&mut self) -> Option<Outgoing> {
        let message = self.receiver.try_recv().ok()?;
        Some(self.taken(message))
    }

    fn taken(&self, message: Outgoing) -> Outgoing {
        let bytes = match &message {
            Outgoing::Publish { payload, .. } => payload.len(),
            Outgoing::Command { bytes, .. } => *bytes,
            Outgoing::Count { .. } => 0,
        };
        self.shared.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
        if self.receiver.is_empty() {
            self.shared.overflowing.store(false, Ordering::Release);
        }
        message
    }

    /// Drops a message that cannot be sent: counted, or answered with `error`.
    fn refuse(&self, message: Outgoing, error: impl FnOnce() -> Error) {
        match message {
            Outgoing::Publish { .. } => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Outgoing::Command { reply, .. } => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                if let Some(reply) = reply {
                    reply.answer(Err(error()));
                }
            }
            Outgoing::Count { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
        }
    }
}

/// Opens the publishing connection.
pub(crate) async fn connect(client: &redis::Client) -> Result<MultiplexedConnection, Error> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    Ok(client
        .get_multiplexed_async_connection_with_config(&config)
        .await?)
}

/// Whether an error means the connection is gone (as opposed to Redis refusing one
/// command).
pub(crate) fn broken(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_timeout()
        || error.is_unrecoverable_error()
}

/// Publishes what the queue holds, in order, until every [`Outbox`] is dropped.
pub(crate) async fn run(
    client: redis::Client,
    mut queue: Queue,
    backoff: Backoff,
    connection: MultiplexedConnection,
) {
    let mut connection = Some(connection);
    let mut delay = backoff.min;
    let mut retry_at = Instant::now();
    let mut dropped_before_outage = 0;
    loop {
        tokio::select! {
            first = queue.next() => {
                let Some(first) = first else { return };
                let Some(live) = connection.as_mut() else {
                    queue.refuse(first, || Error::Unreachable);
                    continue;
                };
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match queue.try_next() {
                        Some(message) => batch.push(message),
                        None => break,
                    }
                }
                if let Err(error) = send(live, batch, &queue).await {
                    if broken(&error) {
                        log::warn!(
                            "Redis connection lost ({error}): messages to other servers are \
                             dropped until it is back; local delivery goes on"
                        );
                        connection = None;
                        dropped_before_outage = queue.shared.dropped.load(Ordering::Relaxed);
                        delay = backoff.min;
                        retry_at = Instant::now() + delay;
                    } else {
                        log::warn!("Redis refused a publish: {error}");
                    }
                }
            }
            () = tokio::time::sleep_until(retry_at), if connection.is_none() => {
                match connect(&client).await {
                    Ok(live) => {
                        let dropped = queue.shared.dropped.load(Ordering::Relaxed)
                            - dropped_before_outage;
                        log::warn!(
                            "Redis connection restored; {dropped} messages to other servers \
                             were dropped meanwhile"
                        );
                        connection = Some(live);
                    }
                    Err(_) => {
                        delay = (delay * 2).min(backoff.max);
                        retry_at = Instant::now() + delay;
                    }
                }
            }
        }
    }
}

/// Sends one batch as a pipeline and hands each count and command its answer (a command
/// Redis refused gets its own error, the others go on); if the connection fails the
/// whole batch is dropped (counted) and the waiting ones get [`Error::Unreachable`].
async fn send(
    connection: &mut MultiplexedConnection,
    mut batch: Vec<Outgoing>,
    queue: &Queue,
) -> Result<(), RedisError> {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for message in &mut batch {
        match message {
            Outgoing::Publish {
                shard,
                channel,
                payload,
            } => {
                pipe.cmd(if *shard { "SPUBLISH" } else { "PUBLISH" })
                    .arg(&*channel)
                    .arg(payload.as_slice());
            }
            // Moved into the pipeline: what stays behind is only matched with its answer.
            Outgoing::Command { command, .. } => {
                pipe.add_command(std::mem::replace(command, redis::Cmd::new()));
            }
            Outgoing::Count { shard, channel, .. } => {
                pipe.cmd("PUBSUB")
                    .arg(if *shard { "SHARDNUMSUB" } else { "NUMSUB" })
                    .arg(channel);
            }
        }
    }
    match pipe.query_async::<Vec<redis::Value>>(connection).await {
        Ok(replies) => {
            let mut refused = None;
            for (message, reply) in batch.into_iter().zip(replies) {
                match message {
                    Outgoing::Count { reply: answer, .. } => {
                        let _ = answer.send(numsub(&reply).ok_or(Error::Unreachable));
                    }
                    Outgoing::Command { reply: answer, .. } => match answer {
                        Some(answer) => answer.answer(Ok(reply)),
                        None => {
                            if let redis::Value::ServerError(error) = reply {
                                refused.get_or_insert(error);
                            }
                        }
                    },
                    Outgoing::Publish { .. } => {}
                }
            }
            match refused {
                Some(error) if !queue.shared.refusing.swap(true, Ordering::AcqRel) => {
                    log::warn!("Redis refused a command: {}", RedisError::from(error));
                }
                Some(_) => {}
                None => queue.shared.refusing.store(false, Ordering::Release),
            }
            Ok(())
        }
        Err(error) => {
            for message in batch {
                queue.refuse(message, || Error::Unreachable);
            }
            Err(error)
        }
    }
}

/// The count in a `PUBSUB NUMSUB channel` reply, `[channel, count]`.
fn numsub(reply: &redis::Value) -> Option<usize> {
    let redis::Value::Array(items) = reply else {
        return None;
    };
    match items.get(1)? {
        redis::Value::Int(n) => usize::try_from(*n).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_is_bounded_in_messages_and_bytes() {
        let (outbox, mut queue) = Outbox::channel(2, 10);
        outbox.publish(false, "a".into(), vec![0; 4]);
        outbox.publish(true, "b".into(), vec![0; 4]);
        // A third message: over the message bound.
        outbox.publish(false, "c".into(), vec![0; 1]);
        assert_eq!(outbox.dropped(), 1);
        let Some(Outgoing::Publish { shard, channel, .. }) = queue.next().await else {
            panic!("the first message");
        };
        assert_eq!((shard, channel.as_str()), (false, "a"));
        // 4 bytes queued: 7 more would pass the 10-byte bound.
        outbox.publish(false, "d".into(), vec![0; 7]);
        assert_eq!(outbox.dropped(), 2);
        outbox.publish(false, "e".into(), vec![0; 6]);
        assert_eq!(outbox.dropped(), 2);
        let channels: Vec<String> = [queue.next().await, queue.next().await]
            .into_iter()
            .map(|m| match m {
                Some(Outgoing::Publish { channel, .. }) => channel,
                other => panic!("not a publish: {other:?}"),
            })
            .collect();
        assert_eq!(channels, ["b", "e"]);
        assert_eq!(queue.shared.queued_bytes.load(Ordering::Acquire), 0);
    }

    #[test]
    fn numsub_replies() {
        use redis::Value;
        let reply = Value::Array(vec![Value::BulkString(b"ch".to_vec()), Value::Int(3)]);
        assert_eq!(numsub(&reply), Some(3));
        assert_eq!(numsub(&Value::Array(vec![])), None);
        assert_eq!(numsub(&Value::Int(3)), None);
        let negative = Value::Array(vec![Value::BulkString(b"ch".to_vec()), Value::Int(-1)]);
        assert_eq!(numsub(&negative), None);
    }
}
