//! The Socket.IO server: configuration, namespaces, and the Engine.IO handler under them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::web;
use serde::Serialize;

use super::adapter::{AdapterError, AdapterFactory, LocalAdapter, RemoteSocket};
use super::broadcast::{BroadcastOperator, IntoRooms};
use super::client::Client;
use super::client_files::ClientFiles;
use super::namespace::{
    ConnectHandler, ConnectMiddleware, Namespace, NsHandlers, NsInner, ParentInner, ParentNamespace,
};
use super::packet::{DEFAULT_MAX_ATTACHMENTS, DEFAULT_MAX_ATTACHMENT_BYTES, ROOT_NSP};
use super::socket::EmitError;
use crate::engine::{self, CloseReason, EngineConfig, EngineHandler, EngineIo, EngineSocket};
use crate::sync::{read, write};

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
    /// Most rooms one socket may be in, its own room not counted; [`Socket::try_join`]
    /// refuses more. Rooms cost memory on the server for as long as the socket lives.
    /// Default 1000.
    ///
    /// [`Socket::try_join`]: super::Socket::try_join
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
}

/// The limits each connection enforces, copied from [`SocketIoConfig`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientLimits {
    pub(crate) connect_timeout: Duration,
    pub(crate) max_rooms_per_socket: usize,
    pub(crate) max_attachments: usize,
    pub(crate) max_attachment_bytes: usize,
    pub(crate) attachment_timeout: Duration,
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
        }
    }
}

pub(crate) struct ServerInner {
    limits: ClientLimits,
    max_dynamic_namespaces: usize,
    adapter: AdapterFactory,
    namespaces: RwLock<HashMap<String, Namespace>>,
    parents: RwLock<Vec<ParentNamespace>>,
}

impl ServerInner {
    /// The namespace for a CONNECT: a static one, or a new child of the first parent whose
    /// predicate accepts the name, while there are fewer than `max_dynamic_namespaces`.
    pub(crate) fn namespace(&self, name: &str) -> Option<Namespace> {
        if let Some(ns) = read(&self.namespaces).get(name) {
            return Some(ns.clone());
        }
        let parents = read(&self.parents);
        let parent = parents.iter().find(|p| (p.0.accepts)(name))?;
        let mut namespaces = write(&self.namespaces);
        if let Some(ns) = namespaces.get(name) {
            return Some(ns.clone());
        }
        let children: usize = parents.iter().map(|p| read(&p.0.children).len()).sum();
        if children >= self.max_dynamic_namespaces {
            log::warn!(
                "refusing dynamic namespace {name:?}: {children} exist, the limit is {}",
                self.max_dynamic_namespaces
            );
            return None;
        }
        let child = Namespace(NsInner::new(
            name.to_owned(),
            parent.0.handlers.clone(),
            &self.adapter,
        ));
        namespaces.insert(name.to_owned(), child.clone());
        write(&parent.0.children).push(child.clone());
        Some(child)
    }

    fn of(&self, name: &str) -> Namespace {
        let name = normalize(name);
        let mut namespaces = write(&self.namespaces);
        namespaces
            .entry(name.clone())
            .or_insert_with(|| {
                Namespace(NsInner::new(
                    name,
                    Arc::new(NsHandlers::default()),
                    &self.adapter,
                ))
            })
            .clone()
    }
}

fn normalize(name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    }
}

/// Connects Engine.IO sessions to Socket.IO clients.
pub struct Handler(Arc<ServerInner>);

impl EngineHandler for Handler {
    type Data = Client;

    fn on_open(&self, socket: &EngineSocket) -> Client {
        Client::open(socket, self.0.limits)
    }

    fn on_message(&self, _: &EngineSocket, client: &Client, message: engine::Data) {
        client.on_message(&self.0, message);
    }

    fn on_close(&self, _: &EngineSocket, client: &Client, reason: CloseReason) {
        client.on_close(reason);
    }
}

/// A Socket.IO v5 server, mounted into an actix-web `App` with [`SocketIo::mount`].
///
/// Cloning is cheap: build it once, clone it into the `HttpServer` factory.
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<ServerInner>,
    engine: EngineIo<Handler>,
    client_files: Option<Arc<ClientFiles>>,
}

impl SocketIo {
    pub fn new(config: SocketIoConfig) -> SocketIo {
        let inner = Arc::new(ServerInner {
            limits: ClientLimits {
                connect_timeout: config.connect_timeout,
                max_rooms_per_socket: config.max_rooms_per_socket,
                max_attachments: config.max_attachments,
                max_attachment_bytes: config.max_attachment_bytes,
                attachment_timeout: config.attachment_timeout,
            },
            max_dynamic_namespaces: config.max_dynamic_namespaces,
            adapter: config.adapter,
            namespaces: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
        });
        inner.of(ROOT_NSP);
        let client_files = config
            .client_dir
            .map(|dir| Arc::new(ClientFiles::load(&dir)));
        SocketIo {
            engine: EngineIo::new(config.engine, Handler(inner.clone())),
            inner,
            client_files,
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
        self.inner.of(name)
    }

    /// Shuts the server down, like Node's `io.close()`: new handshakes are refused, and
    /// every connection is closed after what is queued for it has been delivered. Each
    /// socket leaves with [`DisconnectReason::ServerShuttingDown`]; no DISCONNECT packet is
    /// sent, so the official client sees "transport close" and reconnects by itself
    /// (to another server, or to this one once it is back). Returns once every connection
    /// has ended; a polling client that never polls again holds it up until its session
    /// times out, so callers bound the wait.
    ///
    /// [`DisconnectReason::ServerShuttingDown`]: super::DisconnectReason::ServerShuttingDown
    pub async fn close(&self) {
        self.engine.close_all().await;
    }

    /// Dynamic namespaces: every name `accepts` allows is created on its first CONNECT.
    pub fn dynamic(
        &self,
        accepts: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> ParentNamespace {
        let parent = ParentNamespace(Arc::new(ParentInner {
            accepts: Box::new(accepts),
            handlers: Arc::new(NsHandlers::default()),
            children: RwLock::new(Vec::new()),
        }));
        write(&self.inner.parents).push(parent.clone());
        parent
    }

    /// The Engine.IO server underneath (session counts, settings).
    pub fn engine(&self) -> &EngineIo<Handler> {
        &self.engine
    }

    fn root(&self) -> Namespace {
        self.inner.of(ROOT_NSP)
    }

    /// Runs for every socket joining `/`.
    pub fn on_connect(&self, handler: impl ConnectHandler) {
        self.root().on_connect(handler);
    }

    pub fn use_middleware(&self, middleware: impl ConnectMiddleware) {
        self.root().use_middleware(middleware);
    }

    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.root().to(rooms)
    }

    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.root().except(rooms)
    }

    pub fn local(&self) -> BroadcastOperator {
        self.root().local()
    }

    pub fn volatile(&self) -> BroadcastOperator {
        self.root().volatile()
    }

    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.root().emit(event, data)
    }

    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.root().fetch_sockets().await
    }

    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.root().sockets_join(rooms).await
    }

    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.root().sockets_leave(rooms).await
    }

    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        self.root().disconnect_sockets(close).await
    }
}
