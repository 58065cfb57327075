//! The server the JavaScript interop tests (`tests/js/`, with the official
//! `socket.io-client`) run against.
//!
//! `PORT=0 cargo run -p actix-socketio --example interop` binds 127.0.0.1 on `PORT` (0, the
//! default, picks a free port) and prints one line, `listening on http://127.0.0.1:<port>`,
//! once it accepts connections. Timings are short (ping 300 ms / timeout 200 ms, connect
//! timeout 1 s) so that heartbeats and timeouts happen during the tests. `PING_INTERVAL_MS`
//! and `PING_TIMEOUT_MS` override the heartbeat: the load test gives busy clients more time
//! to answer pings, since a client whose event loop lags more than the ping timeout is
//! rightly dropped.
//!
//! Namespaces and events:
//! - `/`: `echo` (emits `echo` back with the same arguments, binary included), `echo-ack`
//!   (acks with the same arguments), `ask-client` (asks the client `question` with the same
//!   arguments and a 1 s timeout, then emits `answer` with the client's ack arguments or
//!   `{"error":"timeout"}`), `join` / `leave` (a room name), `rooms` (acks the socket's
//!   rooms, sorted), `whoami` (acks `{id, nsp, transport}`), `to-room` (`room, msg`: to the
//!   room's other sockets), `to-room-all` (`room, msg`: to the whole room), `broadcast-except`
//!   (`room, msg`: to every socket outside the room) — all three as `room-msg` with `msg` —,
//!   `server-disconnect` (`socket.disconnect(false)`), `close-conn` (`socket.disconnect(true)`)
//!   and `drop-conn` (closes the Engine.IO connection without a DISCONNECT packet, as a
//!   network failure would). `join`, `leave` and the broadcasts ack `true` when asked to,
//!   once done.
//! - `/secure`: refuses a socket unless `auth.token == "ok"`, with the message
//!   `not authorized` and the data `{"code":401}`.
//! - `/dyn-*` (dynamic): emits `hello` with the namespace name on connect; `echo`.
//! - `/counter`: `seq` (`{client, n}`) is acked with `n` and emitted back as `seq-back`.

use std::io::Write as _;
use std::time::Duration;

use actix_socketio::engine::{EngineConfig, TransportKind};
use actix_socketio::{
    AckSender, ConnectError, Data, Error, Payload, Socket, SocketIo, SocketIoConfig, TryData,
};
use serde_json::{json, Value};

/// How long the server waits for the client's answer to `question`.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// Registers the event handlers of the root namespace on a new socket.
fn root_handlers(io: &SocketIo, socket: &Socket) {
    // Emits and acks in these handlers ignore errors: they only fail when the socket has
    // just disconnected, and then nobody is waiting for the message.
    socket.on("echo", |socket: Socket, payload: Payload| async move {
        let _ = socket.emit_payload("echo", payload);
    });
    socket.on("echo-ack", |payload: Payload, ack: AckSender| async move {
        let _ = ack.send_payload(payload);
    });
    socket.on(
        "ask-client",
        |socket: Socket, payload: Payload| async move {
            let reply = socket
                .timeout(ASK_TIMEOUT)
                .emit_with_ack_payload("question", payload)
                .await;
            let _ = match reply {
                Ok(answer) => socket.emit_payload("answer", answer),
                Err(error) => socket.emit("answer", json!({ "error": error_name(&error) })),
            };
        },
    );
    socket.on(
        "join",
        |socket: Socket, TryData(room): TryData<String>, ack: AckSender| async move {
            if let Ok(room) = room {
                let _ = socket.join(room);
            }
            let _ = ack.send(true);
        },
    );
    socket.on(
        "leave",
        |socket: Socket, TryData(room): TryData<String>, ack: AckSender| async move {
            if let Ok(room) = room {
                socket.leave(room);
            }
            let _ = ack.send(true);
        },
    );
    socket.on("rooms", |socket: Socket, ack: AckSender| async move {
        let mut rooms = socket.rooms();
        rooms.sort();
        let _ = ack.send(rooms);
    });
    socket.on("whoami", |socket: Socket, ack: AckSender| async move {
        let transport = socket.transport().as_str();
        let _ = ack.send(json!({"id": socket.id(), "nsp": socket.nsp(), "transport": transport}));
    });
    socket.on(
        "to-room",
        |socket: Socket, TryData(args): TryData<(String, Value)>, ack: AckSender| async move {
            if let Ok((room, msg)) = args {
                let _ = socket.to(room).emit("room-msg", msg);
            }
            let _ = ack.send(true);
        },
    );
    let server = io.clone();
    socket.on(
        "to-room-all",
        move |TryData(args): TryData<(String, Value)>, ack: AckSender| {
            let server = server.clone();
            async move {
                if let Ok((room, msg)) = args {
                    let _ = server.to(room).emit("room-msg", msg);
                }
                let _ = ack.send(true);
            }
        },
    );
    let server = io.clone();
    socket.on(
        "broadcast-except",
        move |TryData(args): TryData<(String, Value)>, ack: AckSender| {
            let server = server.clone();
            async move {
                if let Ok((room, msg)) = args {
                    let _ = server.except(room).emit("room-msg", msg);
                }
                let _ = ack.send(true);
            }
        },
    );
    socket.on("server-disconnect", |socket: Socket| async move {
        socket.disconnect(false);
    });
    socket.on("close-conn", |socket: Socket| async move {
        socket.disconnect(true);
    });
    socket.on("drop-conn", |socket: Socket| async move {
        socket.engine().close();
    });
}

/// `"timeout"` for a timeout (what the tests expect), the error's message otherwise.
fn error_name(error: &Error) -> String {
    match error {
        Error::Timeout => "timeout".to_owned(),
        other => other.to_string(),
    }
}

/// Refuses `/secure` sockets without the right token.
async fn require_token(socket: Socket) -> Result<(), ConnectError> {
    if socket.handshake().auth.get("token").and_then(Value::as_str) == Some("ok") {
        Ok(())
    } else {
        Err(ConnectError::new("not authorized").with_data(json!({ "code": 401 })))
    }
}

/// A duration in ms from the environment variable `name`, or `default`.
fn env_ms(name: &str, default: u64) -> std::io::Result<Duration> {
    match std::env::var(name) {
        Ok(ms) => ms.parse().map(Duration::from_millis).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name} is not a number of milliseconds"),
            )
        }),
        Err(_) => Ok(Duration::from_millis(default)),
    }
}

fn socket_io(ping_interval: Duration, ping_timeout: Duration) -> SocketIo {
    let io = SocketIo::new(SocketIoConfig {
        engine: EngineConfig {
            path: "/socket.io/".into(),
            ping_interval,
            ping_timeout,
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            ..EngineConfig::default()
        },
        connect_timeout: Duration::from_millis(1000),
        ..SocketIoConfig::default()
    });

    let server = io.clone();
    io.on_connect(move |socket: Socket| {
        root_handlers(&server, &socket);
        async {}
    });

    let secure = io.of("/secure");
    secure.use_middleware(require_token);
    secure.on_connect(|socket: Socket| async move {
        socket.on("echo", |socket: Socket, payload: Payload| async move {
            let _ = socket.emit_payload("echo", payload);
        });
    });

    io.dynamic(|name| name.starts_with("/dyn-"))
        .on_connect(|socket: Socket| async move {
            // The name of the child namespace this socket joined.
            let _ = socket.emit("hello", socket.nsp());
            socket.on("echo", |socket: Socket, payload: Payload| async move {
                let _ = socket.emit_payload("echo", payload);
            });
        });

    io.of("/counter").on_connect(|socket: Socket| async move {
        socket.on(
            "seq",
            |socket: Socket, Data(seq): Data<Value>, ack: AckSender| async move {
                let n = seq.get("n").cloned().unwrap_or(Value::Null);
                let _ = ack.send(n);
                let _ = socket.emit_payload("seq-back", Payload::new(vec![seq]));
            },
        );
    });
    io
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("warn"));
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "PORT is not a port")
        })?,
        Err(_) => 0,
    };
    let io = socket_io(
        env_ms("PING_INTERVAL_MS", 300)?,
        env_ms("PING_TIMEOUT_MS", 200)?,
    );
    let server = actix_web::HttpServer::new(move || {
        let io = io.clone();
        actix_web::App::new().configure(move |cfg| io.mount(cfg))
    })
    // Lets actix drop a long-poll whose client went away, which closes its session.
    .h1_allow_half_closed(false)
    // Two workers, so that sessions, rooms and broadcasts cross threads as in production.
    .workers(2)
    .disable_signals()
    .bind(("127.0.0.1", port))?;
    let port = server
        .addrs()
        .first()
        .map(|addr| addr.port())
        .ok_or_else(|| std::io::Error::other("bound to no address"))?;
    let server = server.run();
    // `run` has started listening; the tests wait for this line.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://127.0.0.1:{port}")?;
    stdout.flush()?;
    drop(stdout);
    server.await
}
