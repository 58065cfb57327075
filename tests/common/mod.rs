//! A real gif-chat server on 127.0.0.1:0 for the integration tests.

use std::net::TcpListener;

use actix_web::{dev::ServerHandle, web, HttpServer};
use gif_chat::{
    app::{build_app, AppState},
    config::Config,
};

pub const TEST_SECRET: &str = "integration-test cookie secret";

/// Config built from fixed values (never the process environment), with 50 ms demo intervals.
pub fn config(app_env: &str) -> Config {
    Config::from_vars(|name| match name {
        "COOKIE_SECRET" => Some(TEST_SECRET.to_owned()),
        "APP_ENV" => Some(app_env.to_owned()),
        "WS_DEMO_INTERVAL_MS" => Some("50".to_owned()),
        "NEWS_INTERVAL_MS" => Some("50".to_owned()),
        _ => None,
    })
    .expect("test config is valid")
}

pub struct TestServer {
    base_url: String,
    pub state: web::Data<AppState>,
    handle: ServerHandle,
}

impl TestServer {
    /// Starts the app with one worker; must be called inside an actix runtime.
    pub fn start(config: Config) -> Self {
        let state = web::Data::new(AppState::new(config).expect("app state builds"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("listener has an address");

        let app_state = state.clone();
        let server = HttpServer::new(move || build_app(app_state.clone()))
            .workers(1)
            .h1_allow_half_closed(false)
            .disable_signals()
            .listen(listener)
            .expect("listen on the bound socket")
            .run();
        let handle = server.handle();
        actix_rt::spawn(server);

        TestServer {
            base_url: format!("http://{addr}"),
            state,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
