//! The server the official protocol test suites expect (socket.io monorepo,
//! `docs/engine.io-protocol/v4-test-suite`): a plain Engine.IO echo at `/engine.io/`,
//! ping 300 ms / timeout 200 ms, max payload 1e6.
//!
//! `cargo run --example conformance -- 3000` (or `PORT=3000`); the suites default to 3000.

use std::time::Duration;

use actix_socketio::engine::{
    AllowedOrigins, CloseReason, Cors, Data, EngineConfig, EngineHandler, EngineIo, EngineSocket,
};

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
    let engine = EngineIo::new(
        EngineConfig {
            path: "/engine.io/".into(),
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            max_payload: 1_000_000,
            cors: Some(Cors {
                origins: AllowedOrigins::Any,
                credentials: false,
            }),
            ..EngineConfig::default()
        },
        Echo,
    );
    log::info!("conformance server on http://localhost:{port}");
    actix_web::HttpServer::new(move || {
        let engine = engine.clone();
        actix_web::App::new().configure(move |cfg| engine.mount(cfg))
    })
    // Lets actix drop a long-poll whose client went away, which closes its session.
    .h1_allow_half_closed(false)
    .bind(("127.0.0.1", port))?
    .bind(("::1", port))?
    .run()
    .await
}
