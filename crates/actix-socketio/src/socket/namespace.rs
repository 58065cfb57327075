//! Namespaces: static ones by name, dynamic ones by predicate under a parent.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use serde_json::Value;

use super::adapter::{
    AckResult, Adapter, AdapterError, AdapterFactory, BroadcastOptions, IdHasher, LocalNamespace,
    RemoteSocket,
};
use super::broadcast::{BroadcastOperator, IntoRooms};
use super::packet::Payload;
use super::socket::{run_local, EmitError, Socket};
use crate::sync::{read, write};

/// Refuses a namespace connection; the client receives CONNECT_ERROR with this message
/// and data (its `connect_error` event gets an `Error` with `.message` and `.data`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    pub message: String,
    pub data: Option<Value>,
}

impl ConnectError {
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: impl Serialize) -> Self {
        self.data = serde_json::to_value(data).ok();
        self
    }

    /// The CONNECT_ERROR payload.
    pub(crate) fn to_json(&self) -> Value {
        let mut body = serde_json::Map::new();
        body.insert("message".into(), Value::String(self.message.clone()));
        if let Some(data) = &self.data {
            body.insert("data".into(), data.clone());
        }
        Value::Object(body)
    }
}

/// Runs when a socket has joined a namespace: `|socket| async move { … }`.
pub trait ConnectHandler: Send + Sync + 'static {
    fn call(&self, socket: Socket);
}

impl<F, Fut> ConnectHandler for F
where
    F: Fn(Socket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    fn call(&self, socket: Socket) {
        run_local(self(socket));
    }
}

type MiddlewareFuture = Pin<Box<dyn Future<Output = Result<(), ConnectError>>>>;

/// Decides whether a socket may join: `|socket| async move { Ok(()) }`. Runs before
/// the CONNECT answer, in the order registered; the first error refuses the socket.
pub trait ConnectMiddleware: Send + Sync + 'static {
    fn call(&self, socket: Socket) -> MiddlewareFuture;
}

impl<F, Fut> ConnectMiddleware for F
where
    F: Fn(Socket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ConnectError>> + 'static,
{
    fn call(&self, socket: Socket) -> MiddlewareFuture {
        Box::pin(self(socket))
    }
}

/// Connect handlers and middleware; shared by a parent namespace and its children.
#[derive(Default)]
pub(crate) struct NsHandlers {
    connect: RwLock<Vec<Arc<dyn ConnectHandler>>>,
    middleware: RwLock<Vec<Arc<dyn ConnectMiddleware>>>,
}

impl NsHandlers {
    pub(crate) fn connect_handlers(&self) -> Vec<Arc<dyn ConnectHandler>> {
        read(&self.connect).clone()
    }

    pub(crate) fn middleware(&self) -> Vec<Arc<dyn ConnectMiddleware>> {
        read(&self.middleware).clone()
    }

    fn add_connect(&self, handler: Arc<dyn ConnectHandler>) {
        write(&self.connect).push(handler);
    }

    fn add_middleware(&self, middleware: Arc<dyn ConnectMiddleware>) {
        write(&self.middleware).push(middleware);
    }
}

pub(crate) struct NsInner {
    name: String,
    /// The connected sockets of this server, by id.
    sockets: RwLock<HashMap<String, Socket, IdHasher>>,
    adapter: Arc<dyn Adapter>,
    pub(crate) handlers: Arc<NsHandlers>,
}

impl NsInner {
    pub(crate) fn new(
        name: String,
        handlers: Arc<NsHandlers>,
        adapter: &AdapterFactory,
    ) -> Arc<NsInner> {
        Arc::new_cyclic(|weak| NsInner {
            name,
            sockets: RwLock::new(HashMap::default()),
            adapter: adapter(LocalNamespace(weak.clone())),
            handlers,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn adapter(&self) -> &dyn Adapter {
        &*self.adapter
    }

    pub(crate) fn socket(&self, id: &str) -> Option<Socket> {
        read(&self.sockets).get(id).cloned()
    }

    pub(crate) fn sockets_by_id<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<Socket> {
        let sockets = read(&self.sockets);
        ids.into_iter()
            .filter_map(|id| sockets.get(id).cloned())
            .collect()
    }

    pub(crate) fn sockets_where(&self, mut keep: impl FnMut(&str) -> bool) -> Vec<Socket> {
        read(&self.sockets)
            .iter()
            .filter(|(id, _)| keep(id))
            .map(|(_, socket)| socket.clone())
            .collect()
    }

    pub(crate) fn all_sockets(&self) -> Vec<Socket> {
        read(&self.sockets).values().cloned().collect()
    }

    pub(crate) fn insert(&self, socket: Socket) {
        write(&self.sockets).insert(socket.id().to_owned(), socket);
    }

    pub(crate) fn remove(&self, id: &str) {
        write(&self.sockets).remove(id);
    }
}

/// A namespace: its connect handlers, middleware, and broadcasts to its sockets.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NsInner>);

impl Namespace {
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Runs for every socket that joins (`io.on("connection")`).
    pub fn on_connect(&self, handler: impl ConnectHandler) {
        self.0.handlers.add_connect(Arc::new(handler));
    }

    /// Adds connect middleware (`io.use()`), which may refuse a socket.
    pub fn use_middleware(&self, middleware: impl ConnectMiddleware) {
        self.0.handlers.add_middleware(Arc::new(middleware));
    }

    /// Every socket of the namespace.
    pub fn all(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.clone(), BroadcastOptions::default())
    }

    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.all().to(rooms)
    }

    pub fn in_(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.all().to(rooms)
    }

    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.all().except(rooms)
    }

    pub fn local(&self) -> BroadcastOperator {
        self.all().local()
    }

    pub fn volatile(&self) -> BroadcastOperator {
        self.all().volatile()
    }

    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.all().emit(event, data)
    }

    pub fn emit_payload(&self, event: &str, payload: Payload) -> Result<(), EmitError> {
        self.all().emit_payload(event, payload)
    }

    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> Result<Vec<AckResult>, EmitError> {
        self.all().emit_with_ack(event, data).await
    }

    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.all().fetch_sockets().await
    }

    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.all().sockets_join(rooms).await
    }

    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.all().sockets_leave(rooms).await
    }

    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        self.all().disconnect_sockets(close).await
    }

    /// How many servers share this namespace.
    pub async fn server_count(&self) -> Result<usize, AdapterError> {
        self.0.adapter().server_count().await
    }

    /// This server's connected sockets.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0.all_sockets()
    }

    /// One of this server's connected sockets.
    pub fn socket(&self, id: &str) -> Option<Socket> {
        self.0.socket(id)
    }
}

/// Dynamic namespaces: any name the predicate accepts is created on its first CONNECT,
/// with the parent's connect handlers and middleware.
#[derive(Clone)]
pub struct ParentNamespace(pub(crate) Arc<ParentInner>);

pub(crate) struct ParentInner {
    pub(crate) accepts: Box<dyn Fn(&str) -> bool + Send + Sync>,
    pub(crate) handlers: Arc<NsHandlers>,
    pub(crate) children: RwLock<Vec<Namespace>>,
}

impl ParentNamespace {
    pub fn on_connect(&self, handler: impl ConnectHandler) {
        self.0.handlers.add_connect(Arc::new(handler));
    }

    pub fn use_middleware(&self, middleware: impl ConnectMiddleware) {
        self.0.handlers.add_middleware(Arc::new(middleware));
    }

    /// The namespaces created so far under this parent.
    pub fn children(&self) -> Vec<Namespace> {
        read(&self.0.children).clone()
    }

    /// Emits to every socket of every child namespace.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        let payload = Payload::json(data)?;
        for child in self.children() {
            child.emit_payload(event, payload.clone())?;
        }
        Ok(())
    }
}
