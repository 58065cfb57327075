use actix_web::{web, HttpServer};
use gif_chat::{
    app,
    config::{self, Config},
    error::StartupError,
    shutdown,
    state::AppState,
};

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
    // Whole seconds, rounded up; `shutdown::serve` enforces the exact limit.
    let http_shutdown_secs = config.shutdown_timeout.as_secs_f64().ceil() as u64;
    // Templates, database and socket server are set up once here and shared by all workers.
    let state = web::Data::new(AppState::new(config).await?);

    // All interfaces, like Express's app.listen(port).
    let app_state = state.clone();
    let server = HttpServer::new(move || app::build_app(app_state.clone()))
        // Lets actix drop a Socket.IO long-poll whose client went away, closing its session.
        .h1_allow_half_closed(false)
        // SIGTERM and Ctrl-C are handled by `shutdown::serve`, in the order it needs.
        .disable_signals()
        .bind(("0.0.0.0", port))?
        .shutdown_timeout(http_shutdown_secs);
    // The bound port, which differs from PORT=0 (tests ask for any free port).
    let bound = server.addrs().first().map_or(port, |addr| addr.port());
    let server = server.run();
    log::info!("{bound}번 포트에서 대기 중");
    shutdown::serve(server, state).await?;
    Ok(())
}
