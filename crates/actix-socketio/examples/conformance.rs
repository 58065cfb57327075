//! The server the official protocol test suites expect (socket.io monorepo,
//! `docs/engine.io-protocol/v4-test-suite` and `docs/socket.io-protocol/v5-test-suite`):
//! a plain Engine.IO echo at `/engine.io/`, and Socket.IO at `/socket.io/` with namespaces
//! `/` and `/custom`; ping 300 ms / timeout 200 ms, max payload 1e6, connect timeout 1 s.
//!
//! `cargo run --example conformance -- 3000` (or `PORT=3000`); the suites default to 3000.

use std::time::Duration;

use actix_socketio::engine::{
    AllowedOrigins, CloseReason, Cors, Data, EngineConfig, EngineHandler, EngineIo, EngineSocket,
};
use actix_socketio::{AckSender, Payload, Socket, SocketIo, SocketIoConfig};

/// Sends every message back as it came, text or binary.
struct Echo;

impl EngineHandler for Echo {
    type Data = ();

    fn on_open(&self, _: &EngineSocket) {}

    fn on_message(&self, socket: &EngineSocket, _: &(), message: Data) {
        socket.send(message);
    }

    fn on_close(&self, _: &EngineSocket, _: &(), _: CloseReason) {}
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("info"));
    let port: u16 = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let engine_config = |path: &str| EngineConfig {
        path: path.into(),
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        max_payload: 1_000_000,
        cors: Some(Cors {
            origins: AllowedOrigins::Any,
            credentials: false,
        }),
        ..EngineConfig::default()
    };
    let engine = EngineIo::new(engine_config("/engine.io/"), Echo);
    let io = SocketIo::new(SocketIoConfig {
        engine: engine_config("/socket.io/"),
        connect_timeout: Duration::from_millis(1000),
        ..SocketIoConfig::default()
    });
    io.on_connect(|socket: Socket| async move {
        let _ = socket.emit("auth", socket.handshake().auth.clone());
        socket.on("message", |socket: Socket, payload: Payload| async move {
            let _ = socket.emit_payload("message-back", payload);
        });
        socket.on(
            "message-with-ack",
            |payload: Payload, ack: AckSender| async move {
                let _ = ack.send_payload(payload);
            },
        );
    });
    io.of("/custom").on_connect(|socket: Socket| async move {
        let _ = socket.emit("auth", socket.handshake().auth.clone());
    });
    log::info!("conformance server on http://localhost:{port}");
    actix_web::HttpServer::new(move || {
        let (engine, io) = (engine.clone(), io.clone());
        actix_web::App::new().configure(move |cfg| {
            engine.mount(cfg);
            io.mount(cfg);
        })
    })
    // Lets actix drop a long-poll whose client went away, which closes its session.
    .h1_allow_half_closed(false)
    // One thread handles requests in arrival order, as Node's event loop does; the suites
    // race concurrent requests against each other and expect that order.
    .workers(1)
    .bind(("127.0.0.1", port))?
    .bind(("::1", port))?
    .run()
    .await
}
