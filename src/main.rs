use actix_web::{web, HttpServer};
use gif_chat::{
    app::{self, AppState},
    config::{self, Config},
    error::StartupError,
};

/// actix waits this long for open connections on Ctrl-C; its 30 s default would keep a
/// terminal hanging for every open WebSocket demo tab.
const SHUTDOWN_TIMEOUT_SECS: u64 = 5;

#[actix_web::main]
async fn main() -> Result<(), StartupError> {
    // Fills in only what the real environment leaves unset; a missing .env is fine.
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            return Err(err.into());
        }
    }
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or(config::DEFAULT_LOG_FILTER),
    )
    .init();

    let config = Config::from_env()?;
    let port = config.port;
    // Templates, database and socket server are set up once here and shared by all workers.
    let state = web::Data::new(AppState::new(config).await?);

    // All interfaces, like Express's app.listen(port).
    let app_state = state.clone();
    let server = HttpServer::new(move || app::build_app(app_state.clone()))
        // Lets actix drop a Socket.IO long-poll whose client went away, closing its session.
        .h1_allow_half_closed(false)
        .bind(("0.0.0.0", port))?
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS);
    // The bound port, which differs from PORT=0 (tests ask for any free port).
    let bound = server.addrs().first().map_or(port, |addr| addr.port());
    let server = server.run();
    log::info!("{bound}번 포트에서 대기 중");
    server.await?;
    state.close().await;
    Ok(())
}
