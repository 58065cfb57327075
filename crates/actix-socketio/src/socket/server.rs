//! The Socket.IO server: configuration, namespaces, and the Engine.IO handler under them.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use super::adapter::{AdapterFactory, LocalAdapter, RecoveryConfig};
use super::client::{Client, ClientLimits};
use super::client_files::ClientFiles;
use super::namespace::{Namespace, ParentNamespace};
use super::namespaces::Namespaces;
use super::packet::{DEFAULT_MAX_ATTACHMENTS, DEFAULT_MAX_ATTACHMENT_BYTES, ROOT_NSP};
use super::socket::SocketSettings;
use super::state::TypeMap;
use crate::engine::{self, CloseReason, EngineConfig, EngineHandler, EngineIo, EngineSocket};

/// Settings of a Socket.IO server, with Node socket.io's defaults; the limits Node does not
/// have are set far above what an ordinary client needs.
#[derive(Clone)]
pub struct SocketIoConfig {
    /// The Engine.IO layer; its `path` defaults to `/socket.io/`.
    pub engine: EngineConfig,
    /// How long a new connection may take to join a namespace before it is closed.
    pub connect_timeout: Duration,
    /// Builds each namespace's adapter; the in-memory one by default.
    pub adapter: AdapterFactory,
    /// Where the official client's `dist/` files are (`socket.io.js` …), to serve them at
    /// `{path}socket.io.js`; `None` serves nothing.
    pub client_dir: Option<PathBuf>,
    /// Most rooms one socket may be in, its own room not counted; [`Socket::join`]
    /// refuses more. Rooms cost memory on the server for as long as the socket lives.
    /// Default 1000.
    ///
    /// [`Socket::join`]: super::Socket::join
    pub max_rooms_per_socket: usize,
    /// Most namespaces [`SocketIo::dynamic`] parents may create, all parents together.
    /// Children are kept for the server's life, so without a bound a client could grow
    /// memory by connecting to ever new names; beyond it a CONNECT is answered as Node
    /// answers a name no parent accepts (`44/name,{"message":"Invalid namespace"}`).
    /// Default 10 000.
    pub max_dynamic_namespaces: usize,
    /// Most binary attachments one packet may announce; more closes the connection as a
    /// parse error. Default 10, socket.io-parser's `maxAttachments`.
    pub max_attachments: usize,
    /// Most bytes of attachments one packet may carry: the server holds them until the
    /// packet is complete. More closes the connection as a parse error. Default 10 MB.
    pub max_attachment_bytes: usize,
    /// How long a binary packet may wait for its attachments, which a client sends right
    /// after it; a packet still incomplete then closes the connection as a parse error,
    /// freeing what it held. Default 30 s.
    pub attachment_timeout: Duration,
    /// How long an ack (of a socket, a broadcast or a server-side emit) is awaited unless
    /// the call sets its own `timeout`. Default 5 s.
    pub ack_timeout: Duration,
    /// Connection state recovery (Node's `connectionStateRecovery`); off by default. With
    /// it, CONNECT answers carry a `pid`, every event kept for recovery carries its offset
    /// as its last argument, and a client that comes back in time gets its socket back.
    pub connection_state_recovery: Option<RecoveryConfig>,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            engine: EngineConfig {
                path: "/socket.io/".into(),
                ..EngineConfig::default()
            },
            connect_timeout: Duration::from_secs(45),
            adapter: LocalAdapter::factory(),
            client_dir: None,
            max_rooms_per_socket: 1000,
            max_dynamic_namespaces: 10_000,
            max_attachments: DEFAULT_MAX_ATTACHMENTS,
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            attachment_timeout: Duration::from_secs(30),
            ack_timeout: Duration::from_secs(5),
            connection_state_recovery: None,
        }
    }
}

/// Connects Engine.IO sessions to Socket.IO clients.
pub struct Handler {
    namespaces: Arc<Namespaces>,
    limits: ClientLimits,
}

impl EngineHandler for Handler {
    type Data = Client;

    fn on_open(&self, socket: &EngineSocket) -> Client {
        Client::open(socket, self.limits)
    }

    fn on_message(&self, _: &EngineSocket, client: &Client, message: engine::Data) {
        client.on_message(&self.namespaces, message);
    }

    fn on_close(&self, _: &EngineSocket, client: &Client, reason: CloseReason) {
        client.on_close(reason);
    }
}

/// Builds a [`SocketIo`] with the application's state, which handlers read with
/// [`State`](super::State).
pub struct SocketIoBuilder {
    config: SocketIoConfig,
    state: TypeMap,
}

impl SocketIoBuilder {
    /// Gives handlers a value of type `T` (one per type; a later one replaces it).
    pub fn with_state<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        self.state.insert(state);
        self
    }

    /// The server.
    pub fn build(self) -> SocketIo {
        let config = self.config;
        let settings = Arc::new(SocketSettings {
            max_rooms: config.max_rooms_per_socket,
            ack_timeout: config.ack_timeout,
            state: self.state,
            retained: AtomicUsize::new(0),
            recovery: config.connection_state_recovery,
        });
        let namespaces = Arc::new(Namespaces::new(
            config.max_dynamic_namespaces,
            config.adapter,
            settings.clone(),
        ));
        let root = namespaces.of(ROOT_NSP);
        let handler = Handler {
            namespaces: namespaces.clone(),
            limits: ClientLimits {
                connect_timeout: config.connect_timeout,
                max_attachments: config.max_attachments,
                max_attachment_bytes: config.max_attachment_bytes,
                attachment_timeout: config.attachment_timeout,
            },
        };
        SocketIo {
            engine: EngineIo::new(config.engine, handler),
            client_files: config
                .client_dir
                .map(|dir| Arc::new(ClientFiles::load(&dir))),
            namespaces,
            settings,
            root,
        }
    }
}

/// A Socket.IO v5 server, mounted into an actix-web `App` with [`SocketIo::mount`].
///
/// Cloning is cheap: build it once, clone it into the `HttpServer` factory. Like Node's
/// `io`, it is also the root namespace `/`: every [`Namespace`] method is available on it
/// (through `Deref`), so `io.to("room").emit(…)` targets `/`.
#[derive(Clone)]
pub struct SocketIo {
    namespaces: Arc<Namespaces>,
    settings: Arc<SocketSettings>,
    engine: EngineIo<Handler>,
    client_files: Option<Arc<ClientFiles>>,
    root: Namespace,
}

impl Deref for SocketIo {
    type Target = Namespace;

    fn deref(&self) -> &Namespace {
        &self.root
    }
}

impl SocketIo {
    /// A server with these settings and no application state.
    pub fn new(config: SocketIoConfig) -> SocketIo {
        SocketIo::builder(config).build()
    }

    /// A server with these settings, to be given state before it is built.
    pub fn builder(config: SocketIoConfig) -> SocketIoBuilder {
        SocketIoBuilder {
            config,
            state: TypeMap::default(),
        }
    }

    /// Registers the endpoint (and the client files, if configured) under the path.
    pub fn mount(&self, cfg: &mut web::ServiceConfig) {
        if let Some(files) = &self.client_files {
            files.mount(cfg, &self.engine.config().path);
        }
        self.engine.mount(cfg);
    }

    /// The namespace `name`, created if needed.
    pub fn of(&self, name: &str) -> Namespace {
        self.namespaces.of(name)
    }

    /// Shuts the server down, like Node's `io.close()`: new handshakes are refused, and
    /// every connection is closed after what is queued for it has been delivered. Each
    /// socket leaves with [`DisconnectReason::ServerShuttingDown`]; no DISCONNECT packet is
    /// sent, so the official client sees "transport close" and reconnects by itself
    /// (to another server, or to this one once it is back). Then every adapter stops
    /// talking to the cluster. Returns once every connection has ended; a polling client
    /// that never polls again holds it up until its session times out, so callers bound
    /// the wait.
    ///
    /// [`DisconnectReason::ServerShuttingDown`]: super::DisconnectReason::ServerShuttingDown
    pub async fn close(&self) {
        self.engine.close_all().await;
        for ns in self.namespaces.all() {
            ns.adapter().close().await;
        }
    }

    /// Dynamic namespaces: every name `accepts` allows is created on its first CONNECT.
    pub fn dynamic(
        &self,
        accepts: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> ParentNamespace {
        self.namespaces.add_parent(Box::new(accepts))
    }

    /// Sockets whose state is still allocated, in every namespace: the connected ones,
    /// plus those that left and are still held (by a running handler, an unfinished task,
    /// or the application). Once clients are gone and their handlers have finished it is
    /// back to the connected count; more means something keeps sockets alive.
    pub fn retained_sockets(&self) -> usize {
        self.settings.retained.load(Ordering::Relaxed)
    }

    /// The Engine.IO server underneath (session counts, settings).
    pub fn engine(&self) -> &EngineIo<Handler> {
        &self.engine
    }
}
