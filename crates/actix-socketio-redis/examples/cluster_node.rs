//! A cluster node of the contract the mixed Rust/Node cluster tests drive; its Node twin
//! is tests/js/cluster/node.mjs (socket.io 4.8 with `@socket.io/redis-adapter` 8.3 and
//! `@socket.io/redis-streams-adapter` 0.3), and tests/js/support/cluster.mjs starts either.
//!
//! ```text
//! PORT=3001 [REDIS_URL=redis://127.0.0.1:6379] [KEY=socket.io] \
//!     [ADAPTER=classic|sharded|streams|memory] [RECOVERY_MS=ms] \
//!     cargo run --release -p actix-socketio-redis --example cluster_node
//! ```
//!
//! - classic: [`RedisConfig::classic`] (Node's `createAdapter(pub, sub, {key: KEY})`);
//! - sharded: [`RedisConfig::sharded`] in the dynamic mode (Node's
//!   `createShardedAdapter(pub, sub, {channelPrefix: KEY})`);
//! - streams: [`RedisConfig::streams`] (Node's streams `createAdapter(client, {streamName:
//!   KEY + "-stream", channelPrefix: KEY, sessionKeyPrefix: KEY + "-session:"})`);
//! - memory: the in-memory adapter, no Redis.
//!
//! RECOVERY_MS turns connection state recovery on (`max_disconnection_duration` RECOVERY_MS,
//! middlewares skipped, Node's `{maxDisconnectionDuration: RECOVERY_MS, skipMiddlewares:
//! true}`), for every adapter; unset, it is off.
//!
//! Redis unreachable at start is an error: the node prints it and exits with status 1.
//!
//! Namespace "/" answers these events, each with an ack as its last argument:
//! - `whoami` -> `{node: PORT, id, recovered}` (`recovered`: the socket came back with
//!   connection state recovery);
//! - `join` room / `leave` room -> `true`;
//! - `emit` `{to, except, event, args, volatile}` -> `io.to(to).except(except)
//!   [.volatile()].emit(event, ...args)`, `true` (binary in `args` stays binary);
//! - `emitAck` `{to, event, args, timeout}` -> every client's ack (its first argument),
//!   sorted by JSON text, or `{error}`;
//! - `fetch` `{in}` -> the ids of the sockets in those rooms on every node, sorted;
//! - `count` -> the server count;
//! - `sse` data -> every other node's answer to the server-side event `ping`, sorted, or
//!   `{error}` if not all of them answered within 2 s;
//! - `socketsJoin` `{in, room}` / `socketsLeave` `{in, room}` / `disconnectSockets` `{in}`
//!   -> `true`;
//! - `remoteEmit` `{id, event, args}` -> emits to that socket through fetchSockets: `1`,
//!   or `0` if no node has it.
//!
//! Every node answers the server-side event `ping` with `"pong:PORT:" + data`. It prints
//! `listening on http://127.0.0.1:PORT` once it serves, and on SIGTERM closes the server
//! (the adapters unsubscribe, so the others count one server less) and exits.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use actix_socketio::socket::adapter::ServerEvent;
use actix_socketio::{AckSender, Error, Payload, RecoveryConfig, Socket, SocketIo, SocketIoConfig};
use actix_socketio_redis::wire::json;
use actix_socketio_redis::{RedisCluster, RedisConfig, SubscriptionMode};
use serde::Deserialize;
use serde_json::{json, Value};

/// How long `sse` waits for every other node (the contract's 2 s).
const SSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long shutting down may wait for connections to end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// `{to, except, event, args, volatile}` (and `emitAck`'s `timeout`).
#[derive(Deserialize)]
struct Emit {
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    event: String,
    #[serde(default)]
    volatile: bool,
    /// Milliseconds.
    timeout: Option<u64>,
}

/// `{in, room}`.
#[derive(Deserialize)]
struct Selection {
    #[serde(default, rename = "in")]
    rooms: Vec<String>,
    #[serde(default)]
    room: Option<String>,
}

/// `{id, event}`.
#[derive(Deserialize)]
struct RemoteEmit {
    id: String,
    event: String,
}

/// The first argument of an event, decoded.
fn first<T: serde::de::DeserializeOwned>(payload: &Payload) -> Result<T, serde_json::Error> {
    T::deserialize(payload.args.first().unwrap_or(&Value::Null))
}

/// The `args` of the first argument as a payload of their own; their placeholders keep
/// referring to the event's attachments, which go along.
fn inner_args(payload: &Payload) -> Payload {
    let args = match payload.args.first().and_then(|arg| arg.get("args")) {
        Some(Value::Array(args)) => args.clone(),
        _ => Vec::new(),
    };
    Payload {
        args,
        binary: payload.binary.clone(),
    }
}

/// What JavaScript's `String(value)` makes of a JSON value (the twin builds its pong with
/// `+`, and sorts with the default, string, order).
fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Null => String::new(),
                other => js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
        other => json::to_string(other, &[]),
    }
}

/// Each answer's first argument (what Node's acks carry), in `order`.
fn answers(responses: Vec<Payload>, order: fn(&Value) -> String) -> Vec<Value> {
    let mut firsts: Vec<(String, Value)> = responses
        .into_iter()
        .map(|payload| {
            let value = payload.args.into_iter().next().unwrap_or(Value::Null);
            (order(&value), value)
        })
        .collect();
    firsts.sort_by(|a, b| a.0.cmp(&b.0));
    firsts.into_iter().map(|(_, value)| value).collect()
}

fn json_text(value: &Value) -> String {
    json::to_string(value, &[])
}

fn error(error: impl std::fmt::Display) -> Value {
    json!({ "error": error.to_string() })
}

/// Registers the contract's handlers on a new socket.
fn handlers(io: &SocketIo, socket: &Socket, port: u16) {
    // Acks ignore errors: they only fail when the socket has just disconnected, and then
    // nobody waits for the answer.
    socket.on("whoami", move |socket: Socket, ack: AckSender| async move {
        let _ = ack.send(
            json!({ "node": port.to_string(), "id": socket.id(), "recovered": socket.recovered() }),
        );
    });
    socket.on(
        "join",
        |socket: Socket, payload: Payload, ack: AckSender| async move {
            let answer = match first::<String>(&payload) {
                Ok(room) => match socket.join(room) {
                    Ok(()) => json!(true),
                    Err(e) => error(e),
                },
                Err(e) => error(e),
            };
            let _ = ack.send(answer);
        },
    );
    socket.on(
        "leave",
        |socket: Socket, payload: Payload, ack: AckSender| async move {
            let answer = match first::<String>(&payload) {
                Ok(room) => {
                    socket.leave(room);
                    json!(true)
                }
                Err(e) => error(e),
            };
            let _ = ack.send(answer);
        },
    );
    let emitting = io.clone();
    socket.on("emit", move |payload: Payload, ack: AckSender| {
        let io = emitting.clone();
        async move {
            let answer = match first::<Emit>(&payload) {
                Ok(emit) => {
                    let mut operator = io.to(emit.to).except(emit.except);
                    if emit.volatile {
                        operator = operator.volatile();
                    }
                    match operator.emit_payload(&emit.event, inner_args(&payload)) {
                        Ok(()) => json!(true),
                        Err(e) => error(e),
                    }
                }
                Err(e) => error(e),
            };
            let _ = ack.send(answer);
        }
    });
    let asking = io.clone();
    socket.on("emitAck", move |payload: Payload, ack: AckSender| {
        let io = asking.clone();
        async move {
            let answer = match first::<Emit>(&payload) {
                Ok(emit) => {
                    let mut operator = io.to(emit.to);
                    if let Some(ms) = emit.timeout {
                        operator = operator.timeout(Duration::from_millis(ms));
                    }
                    match operator
                        .emit_with_ack_payload(&emit.event, inner_args(&payload))
                        .await
                    {
                        Ok(responses) => Value::Array(answers(responses, json_text)),
                        Err(e) => error(e),
                    }
                }
                Err(e) => error(e),
            };
            let _ = ack.send(answer);
        }
    });
    let fetching = io.clone();
    socket.on("fetch", move |payload: Payload, ack: AckSender| {
        let io = fetching.clone();
        async move {
            let answer = match first::<Selection>(&payload) {
                Ok(selection) => match io.in_(selection.rooms).fetch_sockets().await {
                    Ok(sockets) => {
                        let mut ids: Vec<String> =
                            sockets.iter().map(|s| s.id().to_owned()).collect();
                        ids.sort();
                        json!(ids)
                    }
                    Err(e) => error(e),
                },
                Err(e) => error(e),
            };
            let _ = ack.send(answer);
        }
    });
    let counting = io.clone();
    socket.on("count", move |ack: AckSender| {
        let io = counting.clone();
        async move {
            let answer = match io.server_count().await {
                Ok(count) => json!(count),
                Err(e) => error(e),
            };
            let _ = ack.send(answer);
        }
    });
    let pinging = io.clone();
    socket.on("sse", move |payload: Payload, ack: AckSender| {
        let io = pinging.clone();
        async move {
            let data = payload.args.first().cloned().unwrap_or(Value::Null);
            let operator = io.timeout(SSE_TIMEOUT);
            let asked = operator.server_side_emit_with_ack("ping", data);
            // The whole call, server count included, within the 2 s.
            let answer = match tokio::time::timeout(SSE_TIMEOUT, asked).await {
                Ok(Ok(responses)) => Value::Array(answers(responses, js_string)),
                Ok(Err(e)) => error(e),
                Err(_) => error(Error::Timeout),
            };
            let _ = ack.send(answer);
        }
    });
    for (name, join) in [("socketsJoin", true), ("socketsLeave", false)] {
        let moving = io.clone();
        socket.on(name, move |payload: Payload, ack: AckSender| {
            let io = moving.clone();
            async move {
                let answer = match first::<Selection>(&payload) {
                    Ok(Selection {
                        rooms,
                        room: Some(room),
                    }) => {
                        let operator = io.in_(rooms);
                        let done = if join {
                            operator.sockets_join(room).await
                        } else {
                            operator.sockets_leave(room).await
                        };
                        match done {
                            Ok(()) => json!(true),
                            Err(e) => error(e),
                        }
                    }
                    Ok(_) => error("no room"),
                    Err(e) => error(e),
                };
                let _ = ack.send(answer);
            }
        });
    }
    let disconnecting = io.clone();
    socket.on(
        "disconnectSockets",
        move |payload: Payload, ack: AckSender| {
            let io = disconnecting.clone();
            async move {
                let answer = match first::<Selection>(&payload) {
                    Ok(selection) => match io.in_(selection.rooms).disconnect_sockets(true).await {
                        Ok(()) => json!(true),
                        Err(e) => error(e),
                    },
                    Err(e) => error(e),
                };
                let _ = ack.send(answer);
            }
        },
    );
    let reaching = io.clone();
    socket.on("remoteEmit", move |payload: Payload, ack: AckSender| {
        let io = reaching.clone();
        async move {
            let answer = match first::<RemoteEmit>(&payload) {
                Ok(target) => match io.in_(target.id).fetch_sockets().await {
                    Ok(sockets) => match sockets.first() {
                        Some(socket) => {
                            match socket.emit_payload(&target.event, inner_args(&payload)) {
                                Ok(()) => json!(1),
                                Err(e) => error(e),
                            }
                        }
                        None => json!(0),
                    },
                    Err(e) => error(e),
                },
                Err(e) => error(e),
            };
            let _ = ack.send(answer);
        }
    });
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[actix_web::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cluster_node: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .filter(|p| *p > 0)
        .ok_or("PORT must be a port number")?;
    let redis_url = env_or("REDIS_URL", "redis://127.0.0.1:6379");
    let key = env_or("KEY", "socket.io");
    let mut config = SocketIoConfig::default();
    if let Ok(ms) = std::env::var("RECOVERY_MS") {
        let ms: u64 = ms
            .parse()
            .map_err(|_| format!("RECOVERY_MS must be a number of milliseconds, not {ms:?}"))?;
        config.connection_state_recovery = Some(RecoveryConfig {
            max_disconnection_duration: Duration::from_millis(ms),
            skip_middlewares: true,
            ..RecoveryConfig::default()
        });
    }
    let redis = match env_or("ADAPTER", "classic").as_str() {
        "classic" => Some(RedisConfig::classic(key)),
        "sharded" => Some(RedisConfig::sharded(key, SubscriptionMode::Dynamic)),
        "streams" => Some(RedisConfig::streams(key)),
        "memory" => None,
        other => {
            return Err(format!(
                "ADAPTER must be classic, sharded, streams or memory, not {other}"
            ))
        }
    };
    if let Some(redis) = redis {
        let client = redis::Client::open(redis_url.as_str()).map_err(|e| e.to_string())?;
        let cluster = RedisCluster::connect(&client, redis)
            .await
            .map_err(|e| format!("{e} ({redis_url})"))?;
        config.adapter = cluster.adapter();
    }
    let io = SocketIo::new(config);
    io.on_server_event("ping", move |mut event: ServerEvent| async move {
        let data = event.payload.args.first().cloned().unwrap_or(Value::Null);
        let _ = event.ack(format!("pong:{port}:{}", js_string(&data)));
    });
    let registering = io.clone();
    io.on_connect(move |socket: Socket| {
        let io = registering.clone();
        async move { handlers(&io, &socket, port) }
    });

    let serving = io.clone();
    let server = actix_web::HttpServer::new(move || {
        let io = serving.clone();
        actix_web::App::new().configure(move |cfg| io.mount(cfg))
    })
    // Lets actix drop a long-poll whose client went away, which closes its session.
    .h1_allow_half_closed(false)
    .workers(2)
    .disable_signals()
    .bind(("127.0.0.1", port))
    .map_err(|e| e.to_string())?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        let terminated = async {
            match actix_web::rt::signal::unix::signal(
                actix_web::rt::signal::unix::SignalKind::terminate(),
            ) {
                Ok(mut terminate) => {
                    terminate.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            () = terminated => {}
            _ = actix_web::rt::signal::ctrl_c() => {}
        }
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, io.close()).await;
        handle.stop(true).await;
    });
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on http://127.0.0.1:{port}");
    let _ = stdout.flush();
    drop(stdout);
    server.await.map_err(|e| e.to_string())
}
