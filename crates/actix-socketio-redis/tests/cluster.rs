//! Rust servers in one cluster through a real Redis (REDIS_URL, default the local one),
//! classic and sharded, each with a connection of its own as two processes would have:
//! sockets fetched from the other server show its handshake and data and act on it,
//! rooms and server-side events cross, and the faults: Redis unreachable at start, a
//! cluster started outside an actix runtime, and Redis killed and started again (a
//! redis-server of the test's own on a free port).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_socketio::{Error as SioError, Payload, Socket, SocketIo, SocketIoConfig};
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

/// A server of the cluster on 127.0.0.1: its sockets join the room their query names
/// and carry `{"name": <query name>}`; it answers the server-side event `ping` with
/// `"pong:<label>:<data>"`.
struct Server {
    io: SocketIo,
    cluster: RedisCluster,
    port: u16,
    handle: ServerHandle,
}

async fn server(label: &'static str, url: &str, config: RedisConfig) -> Server {
    let client = redis::Client::open(url).expect("a Redis URL");
    let cluster = RedisCluster::connect(&client, config)
        .await
        .expect("Redis is reachable");
    let io = SocketIo::new(SocketIoConfig {
        adapter: cluster.adapter(),
        ..SocketIoConfig::default()
    });
    io.on_connect(|socket: Socket| async move {
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
        let connected = client.recv().await;
        let body: Value = serde_json::from_str(&connected[2..]).expect("CONNECT JSON");
        client.sid = body["sid"].as_str().expect("a sid").to_owned();
        client
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
