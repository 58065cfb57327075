//! Rust servers in one cluster through a real Redis (REDIS_URL, default the local one),
//! classic, sharded and streams, each with a connection of its own as two processes
//! would have: sockets fetched from the other server show its handshake and data and act
//! on it, rooms and server-side events cross; with the streams adapter, a client recovers
//! on the other server with its id, rooms, data and missed events, and a connected
//! socket's session is in Redis as it changes; and the faults: Redis unreachable at start,
//! a cluster started outside an actix runtime, and Redis killed and started again (a
//! redis-server of the test's own on a free port).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_socketio::{
    Error as SioError, Payload, RecoveryConfig, Socket, SocketIo, SocketIoConfig,
};
use actix_socketio_redis::{Error, RedisCluster, RedisConfig, SubscriptionMode};
use actix_web::dev::ServerHandle;
use awc::ws::{Frame, Message};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};

const STEP: Duration = Duration::from_secs(5);

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(STEP, fut).await {
        Ok(output) => output,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// Polls `check` until it is true, for at most STEP.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    within(what, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// A server of the cluster on 127.0.0.1: its new sockets join the room their query names
/// and carry `{"name": <query name>}` (a recovered one has its own back); it answers the
/// server-side event `ping` with `"pong:<label>:<data>"`.
struct Server {
    io: SocketIo,
    cluster: RedisCluster,
    port: u16,
    handle: ServerHandle,
}

async fn server(label: &'static str, url: &str, config: RedisConfig) -> Server {
    server_with(label, url, config, None).await
}

async fn server_with(
    label: &'static str,
    url: &str,
    config: RedisConfig,
    recovery: Option<RecoveryConfig>,
) -> Server {
    let client = redis::Client::open(url).expect("a Redis URL");
    let cluster = RedisCluster::connect(&client, config)
        .await
        .expect("Redis is reachable");
    let io = SocketIo::new(SocketIoConfig {
        adapter: cluster.adapter(),
        connection_state_recovery: recovery,
        ..SocketIoConfig::default()
    });
    io.on_connect(|socket: Socket| async move {
        if socket.recovered() {
            return;
        }
        let name = socket.handshake().query_param("name").unwrap_or_default();
        let _ = socket.set_data(json!({ "name": name }));
        if let Some(room) = socket.handshake().query_param("room") {
            let _ = socket.join(room);
        }
    });
    io.on_server_event(
        "ping",
        move |mut event: actix_socketio::socket::adapter::ServerEvent| async move {
            let data: Value = event.data().unwrap_or(Value::Null);
            let _ = event.ack(format!("pong:{label}:{data}"));
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("an address").port();
    let mounted = io.clone();
    let http = actix_web::HttpServer::new(move || {
        let io = mounted.clone();
        actix_web::App::new().configure(move |cfg| io.mount(cfg))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    let handle = http.handle();
    actix_rt::spawn(http);
    Server {
        io,
        cluster,
        port,
        handle,
    }
}

impl Server {
    async fn stop(self) {
        within("close", self.io.close()).await;
        self.handle.stop(false).await;
    }
}

/// A Socket.IO client over a WebSocket, in namespace "/".
struct Client {
    conn: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
    sid: String,
}

impl Client {
    async fn connect(port: u16, query: &str, auth: &str) -> Client {
        Client::connect_after(port, query, auth).await.0
    }

    /// Connects, and returns with the client the CONNECT answer and the frames before it
    /// (a recovered socket's missed events).
    async fn connect_after(port: u16, query: &str, auth: &str) -> (Client, Value, Vec<String>) {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&{query}");
        let (_, conn) = within("ws", awc::Client::new().ws(url).connect())
            .await
            .expect("the WebSocket opens");
        let mut client = Client {
            conn,
            sid: String::new(),
        };
        assert!(client.recv().await.starts_with("0{"), "the open packet");
        client.send(&format!("40{auth}")).await;
        let mut before = Vec::new();
        let body: Value = loop {
            let frame = client.recv().await;
            match frame.strip_prefix("40") {
                Some(json) => break serde_json::from_str(json).expect("CONNECT JSON"),
                None => before.push(frame),
            }
        };
        client.sid = body["sid"].as_str().expect("a sid").to_owned();
        (client, body, before)
    }

    async fn send(&mut self, text: &str) {
        self.conn
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("send");
    }

    /// The next text message, pings answered.
    async fn recv(&mut self) -> String {
        loop {
            match within("a message", self.conn.next()).await {
                Some(Ok(Frame::Text(text))) if &text[..] == b"2" => self.send("3").await,
                Some(Ok(Frame::Text(text))) => {
                    return String::from_utf8(text.to_vec()).expect("UTF-8")
                }
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }
}

async fn cluster_of_two(config: impl Fn() -> RedisConfig) -> (Server, Server) {
    let a = server("a", &redis_url(), config()).await;
    let b = server("b", &redis_url(), config()).await;
    for s in [&a, &b] {
        eventually("both servers counted", || async {
            s.io.server_count().await.ok() == Some(2)
        })
        .await;
    }
    (a, b)
}

async fn remote_sockets_act_where_they_are(config: impl Fn() -> RedisConfig) {
    let (a, b) = cluster_of_two(config).await;
    let mut bob = Client::connect(b.port, "name=bob&room=r1", r#"{"token":"t"}"#).await;
    let mut ann = Client::connect(a.port, "name=ann", "").await;

    let found = within("fetch", a.io.in_("r1").fetch_sockets())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let remote = &found[0];
    assert_eq!(remote.id(), bob.sid);
    let mut rooms = remote.rooms().to_vec();
    rooms.sort();
    let mut expected = vec![bob.sid.clone(), "r1".to_owned()];
    expected.sort();
    assert_eq!(rooms, expected);
    assert_eq!(remote.data(), &json!({"name": "bob"}));
    let handshake = remote.handshake();
    assert_eq!(handshake.auth, json!({"token": "t"}));
    assert_eq!(
        handshake.url,
        "/socket.io/?EIO=4&transport=websocket&name=bob&room=r1"
    );
    assert_eq!(
        handshake.query,
        json!({"EIO": "4", "transport": "websocket", "name": "bob", "room": "r1"})
    );
    assert_eq!(handshake.address, "127.0.0.1");
    assert_eq!(
        handshake.headers["host"],
        json!(format!("127.0.0.1:{}", b.port))
    );

    // Everyone, on both servers.
    let mut all: Vec<String> = within("fetch all", a.io.fetch_sockets())
        .await
        .unwrap()
        .iter()
        .map(|s| s.id().to_owned())
        .collect();
    all.sort();
    let mut ids = vec![ann.sid.clone(), bob.sid.clone()];
    ids.sort();
    assert_eq!(all, ids);

    remote.emit("hi", "there").unwrap();
    assert_eq!(bob.recv().await, r#"42["hi","there"]"#);

    within("join", remote.join("r2")).await.unwrap();
    let bob_sid = bob.sid.clone();
    eventually("bob joined r2", || {
        let rooms = b.io.socket(&bob_sid).map(|s| s.rooms()).unwrap_or_default();
        async move { rooms.contains(&"r2".to_owned()) }
    })
    .await;
    let mut rooms = within("all rooms", a.io.all_rooms()).await.unwrap();
    rooms.sort();
    let mut expected = vec![ann.sid.clone(), bob.sid.clone(), "r1".into(), "r2".into()];
    expected.sort();
    assert_eq!(rooms, expected);
    within("leave", remote.leave("r1")).await.unwrap();
    eventually("bob left r1", || {
        let rooms = b.io.socket(&bob_sid).map(|s| s.rooms()).unwrap_or_default();
        async move { !rooms.contains(&"r1".to_owned()) }
    })
    .await;

    // A broadcast with acks: the count of each server, then the acks.
    let asking = {
        let io = a.io.clone();
        actix_rt::spawn(async move {
            io.to("r2")
                .timeout(Duration::from_secs(2))
                .emit_with_ack("q", 1)
                .await
        })
    };
    assert_eq!(bob.recv().await, r#"420["q",1]"#);
    bob.send(r#"430[{"x":1},"more"]"#).await;
    let answers = within("acks", asking).await.expect("the task").unwrap();
    assert_eq!(answers, [Payload::new(vec![json!({"x": 1})])]);

    // Server-side events, both ways.
    let pongs = within(
        "sse",
        a.io.timeout(Duration::from_secs(2))
            .server_side_emit_with_ack("ping", 5),
    )
    .await
    .unwrap();
    assert_eq!(pongs, [Payload::new(vec![json!("pong:b:5")])]);
    let pongs = within(
        "sse",
        b.io.timeout(Duration::from_secs(2))
            .server_side_emit_with_ack("ping", "x"),
    )
    .await
    .unwrap();
    assert_eq!(pongs, [Payload::new(vec![json!(r#"pong:a:"x""#)])]);

    within("disconnect", remote.disconnect(false))
        .await
        .unwrap();
    assert_eq!(bob.recv().await, "41");
    ann.send("41").await;

    b.stop().await;
    eventually("b left the count", || async {
        a.io.server_count().await.ok() == Some(1)
    })
    .await;
    assert_eq!(a.cluster.stats().dropped_publishes, 0);
    assert_eq!(a.cluster.stats().dropped_messages, 0);
    a.stop().await;
}

#[actix_rt::test]
async fn classic_remote_sockets_act_where_they_are() {
    let key = unique("classic-remote");
    remote_sockets_act_where_they_are(|| RedisConfig::classic(key.clone())).await;
}

#[actix_rt::test]
async fn sharded_remote_sockets_act_where_they_are() {
    for mode in [
        SubscriptionMode::Static,
        SubscriptionMode::Dynamic,
        SubscriptionMode::DynamicPrivate,
    ] {
        let key = unique("sharded-remote");
        remote_sockets_act_where_they_are(|| RedisConfig::sharded(key.clone(), mode)).await;
    }
}

#[actix_rt::test]
async fn streams_remote_sockets_act_where_they_are() {
    let key = unique("streams-remote");
    remote_sockets_act_where_they_are(|| RedisConfig::streams(key.clone())).await;
}

fn recovery() -> Option<RecoveryConfig> {
    Some(RecoveryConfig {
        max_disconnection_duration: Duration::from_secs(10),
        ..RecoveryConfig::default()
    })
}

/// The last argument of an event frame: its offset.
fn offset_of(frame: &str) -> String {
    let args: Value = serde_json::from_str(&frame[2..]).expect("an event");
    args.as_array()
        .and_then(|args| args.last())
        .and_then(Value::as_str)
        .expect("an offset")
        .to_owned()
}

/// The session kept in Redis under `key`, if any.
async fn kept_session(key: &str) -> Option<actix_socketio_redis::wire::Session> {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let stored: Option<Vec<u8>> = redis::cmd("GET")
        .arg(key)
        .query_async(&mut connection)
        .await
        .unwrap();
    stored.map(|bytes| actix_socketio_redis::wire::Session::decode(&bytes).expect("a session"))
}

#[actix_rt::test]
async fn streams_a_client_recovers_on_the_other_server() {
    let key = unique("streams-recovery");
    let a = server_with("a", &redis_url(), RedisConfig::streams(&key), recovery()).await;
    let b = server_with("b", &redis_url(), RedisConfig::streams(&key), recovery()).await;
    for s in [&a, &b] {
        eventually("both servers counted", || async {
            s.io.server_count().await.ok() == Some(2)
        })
        .await;
    }
    let (mut bob, answer, _) = Client::connect_after(a.port, "name=bob&room=r1", "").await;
    let pid = answer["pid"].as_str().expect("a pid").to_owned();
    let sid = bob.sid.clone();
    let session_key = format!("{key}-session:{pid}");

    // Kept in Redis while connected, as it changes.
    eventually("the session is in Redis", || {
        let session_key = session_key.clone();
        async move {
            kept_session(&session_key).await.is_some_and(|session| {
                let mut rooms = session.rooms.clone();
                rooms.sort();
                rooms.contains(&"r1".to_owned()) && session.data == json!({"name": "bob"})
            })
        }
    })
    .await;

    b.io.to("r1").emit("x", 1).unwrap();
    let first = bob.recv().await;
    let offset = offset_of(&first);
    assert_eq!(first, format!(r#"42["x",1,"{offset}"]"#));
    drop(bob);
    eventually("a saw the connection close", || async {
        a.io.sockets().is_empty()
    })
    .await;
    b.io.to("r1").emit("x", 2).unwrap();
    b.io.to("elsewhere").emit("x", 3).unwrap();
    b.io.to("r1").volatile().emit("x", 4).unwrap();
    b.io.to("r1").emit("x", 5).unwrap();
    // The last one is in the stream before the client comes back.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let auth = json!({ "pid": pid, "offset": offset }).to_string();
    let (mut back, answer, missed) = Client::connect_after(b.port, "", &auth).await;
    assert_eq!(answer["sid"], json!(sid));
    assert_eq!(answer["pid"], json!(pid));
    let args: Vec<Value> = missed
        .iter()
        .map(|frame| serde_json::from_str::<Value>(&frame[2..]).expect("an event"))
        .collect();
    assert_eq!(args.len(), 2, "{missed:?}");
    assert_eq!((&args[0][0], &args[0][1]), (&json!("x"), &json!(2)));
    assert_eq!((&args[1][0], &args[1][1]), (&json!("x"), &json!(5)));
    let socket = b.io.socket(&back.sid).expect("the socket is on b");
    assert!(socket.recovered());
    let mut rooms = socket.rooms();
    rooms.sort();
    let mut expected = vec![back.sid.clone(), "r1".to_owned()];
    expected.sort();
    assert_eq!(rooms, expected);
    assert_eq!(socket.data(), json!({"name": "bob"}));
    // Seen from a too.
    let found = within("fetch", a.io.in_("r1").fetch_sockets())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].data(), &json!({"name": "bob"}));

    // Leaving on purpose: the session goes.
    back.send("41").await;
    eventually("the session is gone", || {
        let session_key = session_key.clone();
        async move { kept_session(&session_key).await.is_none() }
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[actix_rt::test]
async fn unreachable_redis_is_an_error_at_start() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let client = redis::Client::open(url).unwrap();
    match RedisCluster::connect(&client, RedisConfig::classic("x")).await {
        Err(Error::Redis(error)) => assert!(error.is_connection_refusal(), "{error}"),
        other => panic!("expected a refused connection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_cluster_needs_an_actix_runtime() {
    let client = redis::Client::open(redis_url()).unwrap();
    let error = RedisCluster::connect(&client, RedisConfig::classic("x"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NoActixRuntime));
    assert_eq!(
        error.to_string(),
        "RedisCluster::connect must run on an actix runtime (#[actix_web::main])"
    );
}

/// A redis-server of the test's own, killed on drop.
struct OwnRedis {
    child: Option<Child>,
    port: u16,
}

impl OwnRedis {
    async fn start(port: u16) -> OwnRedis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        let redis = OwnRedis {
            child: Some(child),
            port,
        };
        let client = redis::Client::open(redis.url()).unwrap();
        eventually("redis-server answers", || {
            let client = client.clone();
            async move { client.get_multiplexed_async_connection().await.is_ok() }
        })
        .await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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

#[actix_rt::test]
async fn redis_lost_and_back() {
    let port = free_port();
    let mut redis = OwnRedis::start(port).await;
    let a = server("a", &redis.url(), RedisConfig::classic("lost")).await;
    eventually("subscribed", || async {
        a.io.server_count().await.ok() == Some(1)
    })
    .await;
    let mut ann = Client::connect(a.port, "room=r1", "").await;

    redis.kill();
    // Local delivery goes on.
    a.io.emit("one", 1).unwrap();
    assert_eq!(ann.recv().await, r#"42["one",1]"#);
    // The other servers cannot be asked: a clear error, soon.
    let error = within("count", a.io.server_count()).await.unwrap_err();
    match &error {
        SioError::Adapter(source) => assert!(
            matches!(source.downcast_ref::<Error>(), Some(Error::Unreachable)),
            "{source}"
        ),
        other => panic!("expected the adapter's error, got {other:?}"),
    }
    // What cannot be published is dropped and counted, not queued.
    a.io.to("r1").emit("two", 2).unwrap();
    a.io.to("r1").emit("three", 3).unwrap();
    assert_eq!(ann.recv().await, r#"42["two",2]"#);
    assert_eq!(ann.recv().await, r#"42["three",3]"#);
    eventually("three publishes dropped", || async {
        a.cluster.stats().dropped_publishes == 3
    })
    .await;

    // Back on the same port: the publisher reconnects, the subscriber resubscribes.
    let _redis = OwnRedis::start(port).await;
    eventually("counted again", || async {
        a.io.server_count().await.ok() == Some(1)
    })
    .await;
    a.io.emit("four", 4).unwrap();
    assert_eq!(ann.recv().await, r#"42["four",4]"#);
    assert_eq!(a.cluster.stats().dropped_publishes, 3);
    a.stop().await;
}

#[actix_rt::test]
async fn streams_redis_lost_and_back() {
    let port = free_port();
    let mut redis = OwnRedis::start(port).await;
    let a = server_with("a", &redis.url(), RedisConfig::streams("lost"), recovery()).await;
    let (mut ann, answer, _) = Client::connect_after(a.port, "room=r1", "").await;
    let pid = answer["pid"].as_str().expect("a pid").to_owned();
    a.io.to("r1").emit("zero", 0).unwrap();
    let offset = offset_of(&ann.recv().await);

    redis.kill();
    // Local delivery goes on, without offsets: Redis gives them.
    a.io.to("r1").emit("one", 1).unwrap();
    assert_eq!(ann.recv().await, r#"42["one",1]"#);
    // Recovery simply fails while Redis is away: a fresh socket.
    let auth = json!({ "pid": pid, "offset": offset }).to_string();
    let (other, answer, missed) = Client::connect_after(a.port, "", &auth).await;
    assert_ne!(answer["pid"], json!(pid));
    assert_ne!(other.sid, ann.sid);
    assert_eq!(missed, Vec::<String>::new());

    // Back on the same port: once the publisher and the reader have reconnected (each
    // with its backoff), events go through the stream and carry offsets again; each one
    // is delivered either way, never lost.
    let _redis = OwnRedis::start(port).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut sent = 0;
    let mut got = Vec::new();
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no offsets again: {got:?}"
        );
        sent += 1;
        a.io.to("r1").emit("two", sent).unwrap();
        while let Ok(frame) = tokio::time::timeout(Duration::from_millis(300), ann.recv()).await {
            got.push(frame);
        }
        if got.last().is_some_and(|frame| frame.ends_with("\"]")) {
            break;
        }
    }
    let numbers: Vec<i64> = got
        .iter()
        .map(|frame| {
            serde_json::from_str::<Value>(&frame[2..]).unwrap()[1]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(numbers, (1..=sent).collect::<Vec<_>>(), "{got:?}");
    a.stop().await;
}
