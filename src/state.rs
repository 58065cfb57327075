//! The state every handler shares ([`AppState`]) and the app's limits. Below every handler
//! and middleware: it builds on config, store, the chat hub, the demos' socket handlers,
//! live-task counters, templates and the error types, and none of them on it.

use actix_socketio::{SocketIo, SocketIoConfig};
use actix_web::{http::StatusCode, HttpResponse};
use tera::{Context, Tera};

use crate::{
    chat::{images, ChatHub},
    config::Config,
    csrf::refuse_cross_site_sockets,
    demo::socketio,
    error::{fallback_page, AppError, StartupError},
    live::LiveTasks,
    store::Store,
};

/// The largest form body (URL-encoded): the room form at its limits (100-character title
/// and password, in 9-byte percent-encoded Hangul) is under 2 KiB.
pub const MAX_FORM_BYTES: usize = 8 * 1024;
/// The largest Engine.IO message or polling body: a chat is at most 1000 characters
/// (3 KiB of UTF-8) and GIFs go over HTTP, so this leaves room for batching and nothing
/// more (the library default is Node's 1 MB).
pub const MAX_SOCKET_PAYLOAD: u64 = 64 * 1024;

/// Templates every page needs; checked at startup so a bad `TEMPLATES_DIR` fails fast.
const REQUIRED_TEMPLATES: [&str; 8] = [
    "layout.html",
    "index.html",
    "error.html",
    "ws-demo.html",
    "socketio-demo.html",
    "room-new.html",
    "room-password.html",
    "chat.html",
];

/// Built once in `main` (or a test) and shared by every worker through `web::Data`.
pub struct AppState {
    config: Config,
    templates: Tera,
    /// Raw `/ws` connection tasks still running.
    ws_connections: LiveTasks,
    /// The Socket.IO server at `/socket.io/`, shared by every worker.
    io: SocketIo,
    /// Per-socket `news` timers still running.
    news_timers: LiveTasks,
    /// The chat rooms: store, presence, the room list's and the rooms' namespaces.
    chat: ChatHub,
}

impl AppState {
    /// Opens (or creates) the database and the upload directory, then sets everything up.
    /// Must run inside the actix runtime: rooms left empty by a restart get their
    /// deletion timers here.
    pub async fn new(config: Config) -> Result<Self, StartupError> {
        let mut templates = Tera::new(&config.templates_glob).map_err(StartupError::Templates)?;
        // Autoescaping stays on for .html; this escaper only spares `/` (Tera's default turns
        // it into `&#x2F;`), which is harmless in text and quoted attributes.
        templates.set_escape_fn(escape_html);
        if let Some(name) = REQUIRED_TEMPLATES
            .into_iter()
            .find(|name| templates.get_template(name).is_err())
        {
            return Err(StartupError::MissingTemplate {
                name,
                glob: config.templates_glob,
            });
        }
        if !config.static_dir.is_dir() {
            return Err(StartupError::StaticDir(
                config.static_dir.display().to_string(),
            ));
        }
        let mut io_config = SocketIoConfig {
            client_dir: Some(config.socketio_client_dir.clone()),
            ..SocketIoConfig::default()
        };
        io_config.engine.max_payload = MAX_SOCKET_PAYLOAD;
        let io = SocketIo::new(io_config);
        // The demo namespace shares nothing private, but only this site's pages may use it.
        io.use_middleware(refuse_cross_site_sockets(config.public_scheme));
        let news_timers = LiveTasks::default();
        socketio::register(&io, config.news_interval, news_timers.clone());

        images::ensure_dir(&config.upload_dir).map_err(|source| StartupError::UploadDir {
            dir: config.upload_dir.display().to_string(),
            source,
        })?;
        let store = Store::open(&config.database_url, config.hashing).await?;
        let chat = ChatHub::new(&io, store, &config);
        chat.expire_empty_rooms().await?;
        Ok(AppState {
            config,
            templates,
            ws_connections: LiveTasks::default(),
            io,
            news_timers,
            chat,
        })
    }

    /// Closes the database cleanly (after the server stopped).
    pub async fn close(&self) {
        self.chat.store().close().await;
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Raw `/ws` connections whose task is still running.
    pub fn live_ws_connections(&self) -> usize {
        self.ws_connections.live()
    }

    pub(crate) fn ws_connections(&self) -> &LiveTasks {
        &self.ws_connections
    }

    /// Socket.IO demo timers still running (one per connected socket).
    pub fn live_news_timers(&self) -> usize {
        self.news_timers.live()
    }

    pub fn io(&self) -> &SocketIo {
        &self.io
    }

    pub fn chat(&self) -> &ChatHub {
        &self.chat
    }

    /// Renders a page as a 200 HTML response.
    pub(crate) fn page(&self, template: &str, context: &Context) -> Result<HttpResponse, AppError> {
        self.render(StatusCode::OK, template, context)
    }

    /// Renders a page with another status (a form shown again with its error).
    pub(crate) fn render(
        &self,
        status: StatusCode,
        template: &str,
        context: &Context,
    ) -> Result<HttpResponse, AppError> {
        let html = self.templates.render(template, context)?;
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html))
    }

    /// The error template; never fails, since it is what failures are shown with.
    pub(crate) fn render_error(
        &self,
        status: StatusCode,
        message: &str,
        details: Option<&str>,
    ) -> String {
        let mut context = Context::new();
        context.insert("status", &status.as_u16());
        context.insert("message", message);
        context.insert("details", &details);
        self.templates
            .render("error.html", &context)
            .unwrap_or_else(|err| {
                log::error!("error template failed: {err:?}");
                fallback_page(status, message)
            })
    }
}

fn escape_html(input: &str) -> String {
    let mut output = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '&' => output.push_str("&amp;"),
            '<' => output.push_str("&lt;"),
            '>' => output.push_str("&gt;"),
            '"' => output.push_str("&quot;"),
            '\'' => output.push_str("&#x27;"),
            _ => output.push(c),
        }
    }
    output
}
