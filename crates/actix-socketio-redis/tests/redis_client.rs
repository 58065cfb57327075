//! What the adapters need from Redis, done with redis-rs against a real Redis 7: one
//! subscriber connection holding channels, patterns and shard channels; the server counts
//! Node reads; the streams adapter's commands; and the subscriber surviving a Redis
//! restart. The local Redis is at REDIS_URL (default 127.0.0.1:6379); the restart test
//! runs a redis-server of its own on a free port.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_socketio::Payload;
use actix_socketio_redis::subscriber::{Backoff, Event, Message, Subscription};
use actix_socketio_redis::wire::{Body, BroadcastOpts, ClusterMessage, EventPacket};
use actix_socketio_redis::Subscriber;
use bytes::Bytes;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(5);

/// A stream entry as XRANGE and XREAD list it: its id and its field/value pairs.
type Entry = (String, Vec<(String, String)>);

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique(name: &str) -> String {
    format!(
        "test-{name}-{}-{}",
        std::process::id(),
        actix_socketio_redis::wire::ids::cluster_id()
    )
}

async fn commands(url: &str) -> ConnectionManager {
    redis::Client::open(url)
        .unwrap()
        .get_connection_manager()
        .await
        .expect("Redis is reachable")
}

async fn next_message(events: &mut mpsc::Receiver<Event>) -> Message {
    match timeout(STEP, events.recv())
        .await
        .expect("an event in time")
    {
        Some(Event::Message(message)) => message,
        Some(other) => panic!("expected a message, got {other:?}"),
        None => panic!("the subscriber ended"),
    }
}

async fn query<T: redis::FromRedisValue>(conn: &mut ConnectionManager, cmd: &mut redis::Cmd) -> T {
    cmd.query_async(conn).await.expect("command succeeds")
}

#[tokio::test]
async fn one_connection_holds_channels_patterns_and_shard_channels() {
    let key = unique("sub");
    let client = redis::Client::open(redis_url()).unwrap();
    let (subscriber, mut events) = Subscriber::connect(&client, Backoff::default(), 64)
        .await
        .unwrap();
    let request = format!("{key}-request#/#");
    let pattern = format!("{key}#/#*");
    let shard = format!("{key}#/#");
    subscriber
        .subscribe(vec![
            Subscription::Channel(request.clone()),
            Subscription::Pattern(pattern.clone()),
            Subscription::Shard(shard.clone()),
        ])
        .await
        .unwrap();

    let mut conn = commands(&redis_url()).await;
    // The counts Node nodes read: one subscriber each.
    let numsub: (String, i64) =
        query(&mut conn, redis::cmd("PUBSUB").arg("NUMSUB").arg(&request)).await;
    assert_eq!(numsub, (request.clone(), 1));
    let shardnumsub: (String, i64) = query(
        &mut conn,
        redis::cmd("PUBSUB").arg("SHARDNUMSUB").arg(&shard),
    )
    .await;
    assert_eq!(shardnumsub, (shard.clone(), 1));
    // All three on one connection: one client line counts one of each.
    let clients: String = query(&mut conn, redis::cmd("CLIENT").arg("LIST")).await;
    let holders = clients
        .lines()
        .filter(|line| {
            [" sub=1 ", " psub=1 ", " ssub=1 "]
                .iter()
                .all(|f| line.contains(f))
        })
        .count();
    assert_eq!(holders, 1, "{clients}");

    let binary: Vec<u8> = (0..=255).collect();
    let _: i64 = query(&mut conn, redis::cmd("PUBLISH").arg(&request).arg(&binary)).await;
    assert_eq!(
        next_message(&mut events).await,
        Message {
            subscription: Subscription::Channel(request.clone()),
            channel: request.clone(),
            payload: Bytes::from(binary),
        }
    );
    let room = format!("{key}#/#room#");
    let _: i64 = query(&mut conn, redis::cmd("PUBLISH").arg(&room).arg("p")).await;
    assert_eq!(
        next_message(&mut events).await,
        Message {
            subscription: Subscription::Pattern(pattern.clone()),
            channel: room,
            payload: Bytes::from_static(b"p"),
        }
    );
    let _: i64 = query(&mut conn, redis::cmd("SPUBLISH").arg(&shard).arg("s")).await;
    assert_eq!(
        next_message(&mut events).await,
        Message {
            subscription: Subscription::Shard(shard.clone()),
            channel: shard.clone(),
            payload: Bytes::from_static(b"s"),
        }
    );

    subscriber
        .unsubscribe(vec![
            Subscription::Channel(request.clone()),
            Subscription::Shard(shard.clone()),
        ])
        .await
        .unwrap();
    let numsub: (String, i64) =
        query(&mut conn, redis::cmd("PUBSUB").arg("NUMSUB").arg(&request)).await;
    assert_eq!(numsub.1, 0);
    let shardnumsub: (String, i64) = query(
        &mut conn,
        redis::cmd("PUBSUB").arg("SHARDNUMSUB").arg(&shard),
    )
    .await;
    assert_eq!(shardnumsub.1, 0);
    assert_eq!(subscriber.dropped(), 0);
}

#[tokio::test]
async fn streams_adapter_commands() {
    let key = unique("stream");
    let stream = format!("{key}-stream");
    let mut conn = commands(&redis_url()).await;
    let message = ClusterMessage {
        uid: "0123456789abcdef".into(),
        nsp: "/".into(),
        body: Body::Broadcast {
            packet: EventPacket::new("/", "news", Payload::new(vec![serde_json::json!("hi")])),
            request_id: None,
            opts: BroadcastOpts::default(),
        },
    };

    // A reader blocked on `$` (on a connection of its own, as XREAD BLOCK holds it) sees
    // the entry added after it started.
    let mut reader = commands(&redis_url()).await;
    let read_stream = stream.clone();
    let read = tokio::spawn(async move {
        let reply: redis::Value = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(5000)
            .arg("COUNT")
            .arg(100)
            .arg("STREAMS")
            .arg(&read_stream)
            .arg("$")
            .query_async(&mut reader)
            .await
            .unwrap();
        reply
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut xadd = redis::cmd("XADD");
    xadd.arg(&stream)
        .arg("MAXLEN")
        .arg("~")
        .arg(10_000)
        .arg("*");
    for (field, value) in message.to_stream_fields() {
        xadd.arg(field).arg(value);
    }
    let id: String = query(&mut conn, &mut xadd).await;
    assert!(
        actix_socketio_redis::wire::Offset::parse(&id).is_some(),
        "{id}"
    );

    let reply = timeout(STEP, read).await.unwrap().unwrap();
    let entries: Vec<(String, Vec<Entry>)> =
        redis::from_redis_value(reply).expect("XREAD reply shape");
    assert_eq!(entries.len(), 1);
    let (name, items) = &entries[0];
    assert_eq!(name, &stream);
    assert_eq!(items[0].0, id);
    assert_eq!(
        ClusterMessage::from_stream_fields(items[0].1.clone()).unwrap(),
        message
    );

    let range: Vec<Entry> = query(
        &mut conn,
        redis::cmd("XRANGE").arg(&stream).arg(&id).arg(&id),
    )
    .await;
    assert_eq!(range.len(), 1);
    assert_eq!(range[0].0, id);

    let session = format!("{key}-session:pid");
    let _: () = query(
        &mut conn,
        redis::cmd("SET")
            .arg(&session)
            .arg("value")
            .arg("PX")
            .arg(60_000),
    )
    .await;
    let ttl: i64 = query(&mut conn, redis::cmd("PTTL").arg(&session)).await;
    assert!(ttl > 0 && ttl <= 60_000, "{ttl}");
    let value: Option<String> = query(&mut conn, redis::cmd("GETDEL").arg(&session)).await;
    assert_eq!(value.as_deref(), Some("value"));
    let gone: Option<String> = query(&mut conn, redis::cmd("GETDEL").arg(&session)).await;
    assert_eq!(gone, None);
    let _: i64 = query(&mut conn, redis::cmd("DEL").arg(&stream)).await;
}

/// A redis-server of the test's own, so it can be stopped and started again.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        OwnRedis {
            port,
            child: Some(child),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn ready(&self) {
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on {} did not start", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_subscriber_comes_back_after_redis_restarts() {
    let port = free_port();
    let mut redis = OwnRedis::start(port);
    redis.ready().await;
    let client = redis::Client::open(redis.url()).unwrap();
    let backoff = Backoff {
        min: Duration::from_millis(50),
        max: Duration::from_millis(400),
    };
    let (subscriber, mut events) = Subscriber::connect(&client, backoff, 64).await.unwrap();
    subscriber
        .subscribe(vec![
            Subscription::Channel("c".into()),
            Subscription::Pattern("p#*".into()),
            Subscription::Shard("s".into()),
        ])
        .await
        .unwrap();
    let mut publisher = commands(&redis.url()).await;

    redis.kill();
    assert_eq!(
        timeout(STEP, events.recv()).await.unwrap(),
        Some(Event::Lost)
    );
    // Subscribing while Redis is away is remembered, not an error.
    subscriber
        .subscribe(vec![Subscription::Channel("later".into())])
        .await
        .unwrap();
    // Down for a while: several attempts fail, one Lost is all the adapter hears.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let _redis = {
        let again = OwnRedis::start(port);
        again.ready().await;
        again
    };
    assert_eq!(
        timeout(STEP, events.recv()).await.unwrap(),
        Some(Event::Restored)
    );

    // The publishing connection manager reconnects by itself; its first command may be
    // the one that finds the old connection dead.
    let mut published = false;
    for _ in 0..20 {
        if redis::cmd("PUBLISH")
            .arg("c")
            .arg("back")
            .query_async::<i64>(&mut publisher)
            .await
            .is_ok()
        {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the connection manager reconnected");
    assert_eq!(
        next_message(&mut events).await.payload,
        Bytes::from_static(b"back")
    );
    for (cmd, channel, kind) in [
        ("PUBLISH", "p#x", "pattern"),
        ("SPUBLISH", "s", "shard"),
        ("PUBLISH", "later", "later"),
    ] {
        let receivers: i64 = redis::cmd(cmd)
            .arg(channel)
            .arg(kind)
            .query_async(&mut publisher)
            .await
            .unwrap();
        assert_eq!(receivers, 1, "{kind}");
        assert_eq!(next_message(&mut events).await.payload, Bytes::from(kind));
    }
    let numsub: (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("c")
        .query_async(&mut publisher)
        .await
        .unwrap();
    assert_eq!(numsub.1, 1);
}
