//! The streams adapter's side of a process: one connection reading the stream (`XREAD
//! BLOCK … COUNT … STREAMS KEY-stream <last id>`), which hands each entry to the adapter
//! of its namespace, in stream order; and the task that delivers locally the broadcasts
//! Redis did not take.
//!
//! Every broadcast of the process, its own included, reaches local sockets from here,
//! so a client sees events in stream order and its last offset is always its newest:
//! a node that delivered its own broadcasts as soon as XADD answered could hand a client
//! offset 10 and then another node's offset 9, and the client would be replayed 10
//! again after a reconnection.
//!
//! The first read starts at the stream's last entry as it is when the cluster connects
//! (what Node's `$` means, but fixed before this process's first XADD, so none of its
//! own entries is missed). After a lost connection the reader reconnects with backoff
//! and goes on from the last entry it read: nothing written meanwhile is lost while the
//! stream keeps it (`MAXLEN ~`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use tokio::sync::mpsc;

use crate::config::{RedisConfig, StreamsConfig};
use crate::publisher::broken;
use crate::subscriber::Backoff;
use crate::Error;

/// How long connecting may take, and answers beyond the `BLOCK` time.
const TIMEOUT: Duration = Duration::from_secs(2);

/// One stream entry as Redis returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `<ms>-<seq>`.
    pub(crate) id: String,
    /// Field names and values, in the order of the entry.
    pub(crate) fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Entry {
    /// The value of field `name`.
    pub(crate) fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(key, _)| key == name.as_bytes())
            .map(|(_, value)| value.as_slice())
    }
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        Value::VerbatimString { text, .. } => Some(text.as_bytes()),
        _ => None,
    }
}

/// `[id, [field, value, …]]`; the fields of a map (RESP3) are read too. An entry whose
/// fields do not read has none (its id still moves the reader on).
fn entry(value: &Value) -> Option<Entry> {
    let Value::Array(parts) = value else {
        return None;
    };
    let id = String::from_utf8(bytes(parts.first()?)?.to_vec()).ok()?;
    let fields = match parts.get(1) {
        Some(Value::Array(flat)) => flat
            .chunks_exact(2)
            .filter_map(|pair| Some((bytes(&pair[0])?.to_vec(), bytes(&pair[1])?.to_vec())))
            .collect(),
        Some(Value::Map(pairs)) => pairs
            .iter()
            .filter_map(|(k, v)| Some((bytes(k)?.to_vec(), bytes(v)?.to_vec())))
            .collect(),
        _ => Vec::new(),
    };
    Some(Entry { id, fields })
}

/// The entries of an XRANGE reply.
pub(crate) fn range_entries(reply: &Value) -> Vec<Entry> {
    match reply {
        Value::Array(entries) => entries.iter().filter_map(entry).collect(),
        _ => Vec::new(),
    }
}

/// The entries of an XREAD reply for one stream: `[[name, entries]]` (RESP2) or
/// `{name: entries}` (RESP3); none when the BLOCK time ran out (nil).
pub(crate) fn read_entries(reply: &Value) -> Vec<Entry> {
    match reply {
        Value::Array(streams) => streams
            .iter()
            .filter_map(|stream| match stream {
                Value::Array(pair) => pair.get(1),
                _ => None,
            })
            .flat_map(range_entries)
            .collect(),
        Value::Map(streams) => streams
            .iter()
            .flat_map(|(_, entries)| range_entries(entries))
            .collect(),
        _ => Vec::new(),
    }
}

/// The id of the last entry of an `XREVRANGE stream + - COUNT 1` reply; `0-0` for an
/// empty or missing stream.
fn last_id(reply: &Value) -> String {
    range_entries(reply)
        .into_iter()
        .next()
        .map_or_else(|| "0-0".to_owned(), |entry| entry.id)
}

/// What the reader hands an entry of its namespace to.
pub(crate) trait EntryReceiver: Send + Sync {
    /// One entry, in stream order.
    fn entry(&self, entry: &Entry);
}

/// A local delivery to run on the actix task (one that could not go through the
/// stream).
pub(crate) type Delivery = Box<dyn FnOnce() + Send>;

/// The process's stream: the namespaces' adapters that read it, and where deliveries
/// that could not go through it are run.
pub(crate) struct StreamShared {
    pub(crate) config: Arc<RedisConfig>,
    adapters: RwLock<HashMap<String, Weak<dyn EntryReceiver>>>,
    deliveries: mpsc::Sender<Delivery>,
    /// The runtime the cluster connected on, where the adapters' session tasks run.
    pub(crate) runtime: tokio::runtime::Handle,
}

impl StreamShared {
    pub(crate) fn settings(&self) -> &StreamsConfig {
        &self.config.streams
    }

    /// Entries of namespace `nsp` go to `receiver` from now on.
    pub(crate) fn register(&self, nsp: &str, receiver: Weak<dyn EntryReceiver>) {
        self.adapters
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(nsp.to_owned(), receiver);
    }

    /// Entries of namespace `nsp` are skipped from now on.
    pub(crate) fn unregister(&self, nsp: &str) {
        self.adapters
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(nsp);
    }

    /// Runs `delivery` on the actix task, where the reader delivers too; dropped (and
    /// logged) if that task is this far behind.
    pub(crate) fn deliver(&self, delivery: Delivery) {
        if self.deliveries.try_send(delivery).is_err() {
            log::warn!("local deliveries are this far behind: a broadcast was dropped");
        }
    }

    fn route(&self, entry: &Entry) {
        let Some(nsp) = entry
            .field("nsp")
            .and_then(|nsp| std::str::from_utf8(nsp).ok())
        else {
            return;
        };
        let receiver = self
            .adapters
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(nsp)
            .and_then(Weak::upgrade);
        if let Some(receiver) = receiver {
            receiver.entry(entry);
        }
    }
}

impl StreamShared {
    /// A stream side without a reader, on the current runtime: the test drives the
    /// adapters with entries and runs the deliveries itself.
    #[cfg(test)]
    pub(crate) fn detached(
        config: Arc<RedisConfig>,
    ) -> (Arc<StreamShared>, mpsc::Receiver<Delivery>) {
        let (deliveries, queue) = mpsc::channel(16);
        let shared = Arc::new(StreamShared {
            config,
            adapters: RwLock::new(HashMap::new()),
            deliveries,
            runtime: tokio::runtime::Handle::current(),
        });
        (shared, queue)
    }
}

fn connection_config(settings: &StreamsConfig) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        // An XREAD answers within its BLOCK time; beyond, the connection is stuck.
        .set_response_timeout(Some(settings.block_time + TIMEOUT))
}

async fn open(
    client: &redis::Client,
    settings: &StreamsConfig,
) -> Result<MultiplexedConnection, Error> {
    Ok(client
        .get_multiplexed_async_connection_with_config(&connection_config(settings))
        .await?)
}

/// Connects the reader and starts it, with the delivery task; fails if Redis cannot be
/// reached now. Must run on an actix runtime: deliveries run application listeners.
pub(crate) async fn start(
    client: &redis::Client,
    config: Arc<RedisConfig>,
) -> Result<Arc<StreamShared>, Error> {
    let settings = &config.streams;
    let mut connection = open(client, settings).await?;
    let last: Value = redis::cmd("XREVRANGE")
        .arg(&settings.stream_name)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut connection)
        .await?;
    let (deliveries, queue) = mpsc::channel(config.max_queued_messages.max(1));
    let shared = Arc::new(StreamShared {
        adapters: RwLock::new(HashMap::new()),
        deliveries,
        runtime: tokio::runtime::Handle::current(),
        config: config.clone(),
    });
    actix_rt::spawn(run_deliveries(queue));
    actix_rt::spawn(read(
        Arc::downgrade(&shared),
        client.clone(),
        connection,
        last_id(&last),
        config,
    ));
    Ok(shared)
}

async fn run_deliveries(mut queue: mpsc::Receiver<Delivery>) {
    while let Some(delivery) = queue.recv().await {
        delivery();
    }
}

/// Reads the stream from `cursor` on, until the process's stream side is dropped.
async fn read(
    shared: Weak<StreamShared>,
    client: redis::Client,
    connection: MultiplexedConnection,
    mut cursor: String,
    config: Arc<RedisConfig>,
) {
    let settings = &config.streams;
    let backoff: Backoff = config.backoff;
    let mut connection = Some(connection);
    let mut delay = backoff.min;
    // Warned of the current outage (lost connection or refused reads) already.
    let mut warned = false;
    loop {
        if shared.strong_count() == 0 {
            return;
        }
        let Some(live) = connection.as_mut() else {
            tokio::time::sleep(delay).await;
            match open(&client, settings).await {
                Ok(opened) => {
                    log::warn!("Redis stream reader reconnected; reading on from {cursor}");
                    connection = Some(opened);
                    warned = false;
                    delay = backoff.min;
                }
                Err(_) => delay = (delay * 2).min(backoff.max),
            }
            continue;
        };
        let reply = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(u64::try_from(settings.block_time.as_millis()).unwrap_or(u64::MAX))
            .arg("COUNT")
            .arg(settings.read_count.max(1))
            .arg("STREAMS")
            .arg(&settings.stream_name)
            .arg(&cursor)
            .query_async::<Value>(live)
            .await;
        match reply {
            Ok(reply) => {
                warned = false;
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                for entry in read_entries(&reply) {
                    shared.route(&entry);
                    cursor = entry.id;
                }
            }
            Err(error) if broken(&error) => {
                if !std::mem::replace(&mut warned, true) {
                    log::warn!(
                        "Redis stream reader lost ({error}): events from other servers wait \
                         in the stream until it is back; reconnecting"
                    );
                }
                connection = None;
                delay = backoff.min;
            }
            Err(error) => {
                if !std::mem::replace(&mut warned, true) {
                    log::warn!("Redis refused to read the stream: {error}");
                }
                tokio::time::sleep(backoff.max).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    fn raw(id: &str, fields: &[(&str, &str)]) -> Value {
        Value::Array(vec![
            bulk(id),
            Value::Array(
                fields
                    .iter()
                    .flat_map(|(k, v)| [bulk(k), bulk(v)])
                    .collect(),
            ),
        ])
    }

    fn parsed(id: &str, fields: &[(&str, &str)]) -> Entry {
        Entry {
            id: id.into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn xrange_and_xread_replies_in_both_protocols() {
        let entries = Value::Array(vec![
            raw("1-0", &[("uid", "u"), ("nsp", "/"), ("type", "3")]),
            raw("1-1", &[("nsp", "/chat")]),
        ]);
        let expected = vec![
            parsed("1-0", &[("uid", "u"), ("nsp", "/"), ("type", "3")]),
            parsed("1-1", &[("nsp", "/chat")]),
        ];
        assert_eq!(range_entries(&entries), expected);
        let resp2 = Value::Array(vec![Value::Array(vec![bulk("s"), entries.clone()])]);
        assert_eq!(read_entries(&resp2), expected);
        let resp3 = Value::Map(vec![(bulk("s"), entries)]);
        assert_eq!(read_entries(&resp3), expected);
        // The BLOCK time ran out.
        assert_eq!(read_entries(&Value::Nil), []);
        assert_eq!(expected[0].field("nsp"), Some(&b"/"[..]));
        assert_eq!(expected[1].field("uid"), None);
    }

    #[test]
    fn odd_replies_skip_what_does_not_read() {
        let odd = Value::Array(vec![
            // No fields at all: the id still counts.
            Value::Array(vec![bulk("2-0")]),
            // An odd field count: the pair that is complete.
            Value::Array(vec![
                bulk("2-1"),
                Value::Array(vec![bulk("nsp"), bulk("/"), bulk("dangling")]),
            ]),
            Value::Int(3),
            Value::Array(vec![Value::Int(4), Value::Array(vec![])]),
        ]);
        assert_eq!(
            range_entries(&odd),
            [parsed("2-0", &[]), parsed("2-1", &[("nsp", "/")])]
        );
        assert_eq!(range_entries(&Value::Okay), []);
    }

    #[test]
    fn the_first_read_starts_at_the_last_entry() {
        assert_eq!(last_id(&Value::Array(vec![])), "0-0");
        assert_eq!(last_id(&Value::Nil), "0-0");
        assert_eq!(last_id(&Value::Array(vec![raw("9-3", &[])])), "9-3");
    }
}
