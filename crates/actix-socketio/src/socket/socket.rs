//! A socket: one client's connection to one namespace.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::task::{Context, Waker};
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::oneshot;

use super::adapter::{BroadcastOptions, Room};
use super::broadcast::{BroadcastOperator, IntoRooms};
use super::client::ClientInner;
use super::handshake::Handshake;
use super::namespace::NsInner;
use super::packet::{Packet, Payload};
use crate::engine::{EngineSocket, Frame, TransportKind};
use crate::sync::{lock, read, write};

/// Why a socket left its namespace; the names are the reasons Node reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client closed its connection, or it broke.
    TransportClose,
    /// The connection failed (protocol error on the Engine.IO level).
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent a packet that could not be decoded.
    ParseError,
    /// The server disconnected the socket (`socket.disconnect()`).
    ServerNamespaceDisconnect,
    /// The client left the namespace (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The server closed the whole connection.
    ForcedClose,
    /// The client stopped reading and its queue reached the engine's `max_buffered`.
    BufferFull,
    /// The server is closing every connection ([`SocketIo::close`](super::SocketIo::close)).
    ServerShuttingDown,
}

impl DisconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::BufferFull => "outbound buffer full",
            DisconnectReason::ServerShuttingDown => "server shutting down",
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An emit that could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("the socket is disconnected")]
    Disconnected,
    #[error("the data could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error(transparent)]
    Adapter(#[from] super::adapter::AdapterError),
}

/// A room join the server refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The socket would be in more rooms than `max_rooms_per_socket`; it joined none.
    #[error("a socket may be in at most {limit} rooms")]
    TooManyRooms { limit: usize },
}

/// An ack that did not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("operation has timed out")]
    Timeout,
    #[error("the socket disconnected before it answered")]
    Disconnected,
    /// Nothing was sent: the data could not be serialized.
    #[error("the data could not be serialized")]
    Serialize,
}

/// A received event: its name, arguments, and the ack the client asked for, if any.
#[derive(Debug)]
pub struct Event {
    name: String,
    payload: Payload,
    ack: Option<AckSender>,
}

impl Event {
    pub(crate) fn new(name: String, payload: Payload, ack: Option<AckSender>) -> Event {
        Event { name, payload, ack }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The JSON arguments; binary ones are `{"_placeholder":true,"num":N}`.
    pub fn args(&self) -> &[Value] {
        &self.payload.args
    }

    /// The binary attachments, by placeholder number.
    pub fn binary(&self) -> &[Bytes] {
        &self.payload.binary
    }

    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The arguments and attachments, for packet middleware that rewrites an event.
    pub fn payload_mut(&mut self) -> &mut Payload {
        &mut self.payload
    }

    /// The first argument, deserialized.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self.payload.args.first().unwrap_or(&Value::Null))
    }

    /// All arguments, deserialized as one sequence (a tuple, a `Vec`).
    pub fn args_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(Value::Array(self.payload.args.clone()))
    }

    /// Whether the client waits for an ack.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Takes the ack, to answer later or from another task.
    pub fn take_ack(&mut self) -> Option<AckSender> {
        self.ack.take()
    }

    /// Answers the client's ack with one argument; nothing happens if none was asked.
    pub fn ack(&mut self, data: impl Serialize) -> Result<(), EmitError> {
        match self.ack.take() {
            Some(ack) => ack.send(data),
            None => Ok(()),
        }
    }

    pub fn into_parts(self) -> (String, Payload, Option<AckSender>) {
        (self.name, self.payload, self.ack)
    }
}

/// Answers one event's ack; dropped unused, the client's ack never fires.
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: u64,
}

impl AckSender {
    /// Answers with one argument.
    pub fn send(self, data: impl Serialize) -> Result<(), EmitError> {
        self.send_payload(Payload::json(data)?)
    }

    /// Answers with any arguments and attachments.
    pub fn send_payload(self, payload: Payload) -> Result<(), EmitError> {
        let packet = Packet::Ack {
            nsp: self.socket.0.ns.name().to_owned(),
            payload,
            id: self.id,
        };
        self.socket.send_packet(&packet)
    }
}

type BoxLocalFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Runs a handler's future: inline as far as it goes without waiting, then, if it waits,
/// as a task on this worker. Handlers that do not wait cost no task, and a handler's
/// first step runs in the order its packet arrived.
pub(crate) fn run_local(future: impl Future<Output = ()> + 'static) {
    let mut future: BoxLocalFuture = Box::pin(future);
    let mut cx = Context::from_waker(Waker::noop());
    if future.as_mut().poll(&mut cx).is_pending() {
        // The task's first poll registers a real waker.
        actix_web::rt::spawn(future);
    }
}

/// Handles one event: `|socket, event| async move { … }`.
pub trait EventHandler: Send + Sync + 'static {
    fn call(&self, socket: Socket, event: Event);
}

impl<F, Fut> EventHandler for F
where
    F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    fn call(&self, socket: Socket, event: Event) {
        run_local(self(socket, event));
    }
}

/// Handles a disconnection: `|socket, reason| async move { … }`.
pub trait DisconnectHandler: Send + Sync + 'static {
    fn call(&self, socket: Socket, reason: DisconnectReason);
}

impl<F, Fut> DisconnectHandler for F
where
    F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    fn call(&self, socket: Socket, reason: DisconnectReason) {
        run_local(self(socket, reason));
    }
}

/// Sees every incoming event before its handler (or every outgoing one): `|socket, name, payload|`.
pub type AnyListener = Arc<dyn Fn(&Socket, &str, &Payload) + Send + Sync>;

/// Inspects or rewrites an incoming event before any listener; an error drops the event
/// and goes to the socket's error handlers.
pub type PacketMiddleware =
    Arc<dyn Fn(&Socket, &mut Event) -> Result<(), MiddlewareError> + Send + Sync>;

/// Receives the errors of packet middleware.
pub type ErrorHandler = Arc<dyn Fn(&Socket, &MiddlewareError) + Send + Sync>;

/// A packet middleware refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MiddlewareError(pub String);

#[derive(Default)]
struct Handlers {
    events: HashMap<String, Arc<dyn EventHandler>>,
    any: Vec<AnyListener>,
    any_outgoing: Vec<AnyListener>,
    middleware: Vec<PacketMiddleware>,
    disconnect: Vec<Arc<dyn DisconnectHandler>>,
    error: Vec<ErrorHandler>,
}

#[derive(Default)]
struct Acks {
    next_id: u64,
    waiting: HashMap<u64, oneshot::Sender<Payload>>,
}

/// One client's connection to one namespace. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketInner>);

pub(crate) struct SocketInner {
    id: String,
    pub(crate) ns: Arc<NsInner>,
    engine: EngineSocket,
    /// The connection this socket belongs to, to leave it on disconnect.
    client: Weak<ClientInner>,
    handshake: Handshake,
    handlers: RwLock<Handlers>,
    /// Set once an `on_any_outgoing` listener is added: every receiver of a broadcast checks
    /// it, and almost none has one, so the check must not take the handlers lock.
    has_outgoing_listeners: AtomicBool,
    acks: Mutex<Acks>,
    connected: AtomicBool,
    /// Most rooms the socket may be in, its own not counted.
    max_rooms: usize,
    /// Makes count-then-add one step, so concurrent joins cannot pass the limit together.
    joining: Mutex<()>,
    /// Typed per-socket state of the application.
    extensions: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("nsp", &self.0.ns.name())
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn new(
        id: String,
        ns: Arc<NsInner>,
        engine: EngineSocket,
        client: Weak<ClientInner>,
        handshake: Handshake,
        max_rooms: usize,
    ) -> Socket {
        Socket(Arc::new(SocketInner {
            id,
            ns,
            engine,
            client,
            handshake,
            handlers: RwLock::new(Handlers::default()),
            has_outgoing_listeners: AtomicBool::new(false),
            acks: Mutex::new(Acks::default()),
            connected: AtomicBool::new(false),
            max_rooms,
            joining: Mutex::new(()),
            extensions: Mutex::new(HashMap::new()),
        }))
    }

    /// The socket id (never the Engine.IO sid).
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The namespace name.
    pub fn nsp(&self) -> &str {
        self.0.ns.name()
    }

    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// The transport of the underlying connection now.
    pub fn transport(&self) -> TransportKind {
        self.0.engine.transport()
    }

    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    fn handlers_mut(&self) -> std::sync::RwLockWriteGuard<'_, Handlers> {
        write(&self.0.handlers)
    }

    fn handlers(&self) -> std::sync::RwLockReadGuard<'_, Handlers> {
        read(&self.0.handlers)
    }

    /// Handles the event `name`; a later handler for the same name replaces this one.
    pub fn on(&self, name: impl Into<String>, handler: impl EventHandler) {
        self.handlers_mut()
            .events
            .insert(name.into(), Arc::new(handler));
    }

    /// Sees every incoming event, before its own handler.
    pub fn on_any(&self, listener: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static) {
        self.handlers_mut().any.push(Arc::new(listener));
    }

    /// Sees every event this socket emits.
    pub fn on_any_outgoing(
        &self,
        listener: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static,
    ) {
        self.handlers_mut().any_outgoing.push(Arc::new(listener));
        self.0.has_outgoing_listeners.store(true, Ordering::Release);
    }

    /// Runs before every incoming event's listeners; may change it or refuse it.
    pub fn use_packet(
        &self,
        middleware: impl Fn(&Socket, &mut Event) -> Result<(), MiddlewareError> + Send + Sync + 'static,
    ) {
        self.handlers_mut().middleware.push(Arc::new(middleware));
    }

    /// Receives the errors of packet middleware.
    pub fn on_error(&self, handler: impl Fn(&Socket, &MiddlewareError) + Send + Sync + 'static) {
        self.handlers_mut().error.push(Arc::new(handler));
    }

    pub fn on_disconnect(&self, handler: impl DisconnectHandler) {
        self.handlers_mut().disconnect.push(Arc::new(handler));
    }

    /// Stores typed state on the socket, replacing any value of the same type.
    pub fn insert_extension<T: Any + Send + Sync>(&self, value: T) {
        lock(&self.0.extensions).insert(TypeId::of::<T>(), Box::new(value));
    }

    /// A copy of the typed state of type `T`.
    pub fn extension<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        lock(&self.0.extensions)
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Emits an event with one argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        self.emit_payload(event, Payload::json(data)?)
    }

    /// Emits an event with any arguments and binary attachments.
    pub fn emit_payload(&self, event: &str, payload: Payload) -> Result<(), EmitError> {
        self.notify_outgoing(event, &payload);
        self.send_packet(&Packet::Event {
            nsp: self.nsp().to_owned(),
            event: event.to_owned(),
            payload,
            id: None,
        })
    }

    /// Emits an event and waits for the client's ack, at most `timeout`.
    pub fn emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> impl Future<Output = Result<Payload, AckError>> + Send + 'static {
        let pending = Payload::json(data).map(|p| self.emit_with_ack_payload(event, p, timeout));
        async move {
            match pending {
                Ok(ack) => ack.await,
                Err(_) => Err(AckError::Serialize),
            }
        }
    }

    /// [`Socket::emit_with_ack`] with any arguments and attachments.
    pub fn emit_with_ack_payload(
        &self,
        event: &str,
        payload: Payload,
        timeout: Duration,
    ) -> impl Future<Output = Result<Payload, AckError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut acks = lock(&self.0.acks);
            let id = acks.next_id;
            acks.next_id += 1;
            acks.waiting.insert(id, tx);
            id
        };
        self.notify_outgoing(event, &payload);
        let sent = self.send_packet(&Packet::Event {
            nsp: self.nsp().to_owned(),
            event: event.to_owned(),
            payload,
            id: Some(id),
        });
        let socket = self.clone();
        async move {
            if sent.is_err() {
                lock(&socket.0.acks).waiting.remove(&id);
                return Err(AckError::Disconnected);
            }
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(payload)) => Ok(payload),
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => {
                    lock(&socket.0.acks).waiting.remove(&id);
                    Err(AckError::Timeout)
                }
            }
        }
    }

    /// Tells the `on_any_outgoing` listeners; broadcasts call it too (as Node's adapter does).
    pub(crate) fn notify_outgoing(&self, event: &str, payload: &Payload) {
        // Runs for every receiver of a broadcast: the common case (no listener) copies nothing.
        if !self.0.has_outgoing_listeners.load(Ordering::Acquire) {
            return;
        }
        let listeners = self.handlers().any_outgoing.clone();
        for listener in listeners {
            listener(self, event, payload);
        }
    }

    pub(crate) fn send_packet(&self, packet: &Packet) -> Result<(), EmitError> {
        if self.send_frames(packet.encode(), false) {
            Ok(())
        } else {
            Err(EmitError::Disconnected)
        }
    }

    /// Queues encoded frames; false when the socket or its connection is gone (or, for
    /// volatile frames, when the transport cannot take them now).
    pub(crate) fn send_frames(
        &self,
        frames: impl IntoIterator<Item = Frame>,
        volatile: bool,
    ) -> bool {
        if !self.connected() {
            return false;
        }
        if volatile {
            self.0.engine.send_volatile(frames)
        } else {
            self.0.engine.send_many(frames)
        }
    }

    /// Joins `rooms`, or none of them if that would put the socket in more rooms than
    /// `max_rooms_per_socket` (its own room not counted).
    pub fn try_join(&self, rooms: impl IntoRooms) -> Result<(), JoinError> {
        let mut rooms = rooms.into_rooms();
        let _joining = lock(&self.0.joining);
        let adapter = self.0.ns.adapter();
        let current: HashSet<Room> = adapter.socket_rooms(self.id()).into_iter().collect();
        let joined = current.len() - usize::from(current.contains(self.id()));
        rooms.sort_unstable();
        rooms.dedup();
        rooms.retain(|room| !current.contains(room));
        if joined + rooms.len() > self.0.max_rooms {
            return Err(JoinError::TooManyRooms {
                limit: self.0.max_rooms,
            });
        }
        adapter.add_all(self.id(), &rooms);
        Ok(())
    }

    /// [`Socket::try_join`] for callers that do not look at the answer: a refusal is
    /// logged.
    pub fn join(&self, rooms: impl IntoRooms) {
        if let Err(error) = self.try_join(rooms) {
            log::warn!("socket {} joins no room: {error}", self.id());
        }
    }

    pub fn leave(&self, room: &str) {
        self.0.ns.adapter().del(self.id(), room);
    }

    /// The rooms this socket is in, its own id included.
    pub fn rooms(&self) -> Vec<Room> {
        self.0.ns.adapter().socket_rooms(self.id())
    }

    /// A broadcast to `rooms`, without this socket.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// A broadcast to the whole namespace, without this socket.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            self.0.ns.clone(),
            BroadcastOptions {
                except: vec![self.id().to_owned()],
                ..BroadcastOptions::default()
            },
        )
    }

    /// Leaves the namespace: the client gets a DISCONNECT packet (and does not reconnect).
    /// With `close`, every socket of the connection leaves its namespace the same way and
    /// then the connection is closed, as Node's server does (`client._disconnect()`): a
    /// bare close would make the client's other namespaces reconnect.
    pub fn disconnect(&self, close: bool) {
        if !self.connected() {
            return;
        }
        if close {
            let siblings = self
                .0
                .client
                .upgrade()
                .map(|client| client.sockets())
                .unwrap_or_default();
            for socket in siblings {
                socket.leave_namespace();
            }
        }
        // Already done if it was among the siblings; `leave_namespace` runs once.
        self.leave_namespace();
        if close {
            self.0.engine.close();
        }
    }

    /// Sends DISCONNECT and cleans up, if still connected.
    fn leave_namespace(&self) {
        if !self.connected() {
            return;
        }
        let _ = self.send_packet(&Packet::Disconnect {
            nsp: self.nsp().to_owned(),
        });
        self.cleanup(DisconnectReason::ServerNamespaceDisconnect);
    }

    pub(crate) fn set_connected(&self) {
        self.0.connected.store(true, Ordering::Release);
    }

    /// Leaves everything behind: client, namespace, rooms, pending acks; then tells the
    /// disconnect handlers. Runs once.
    pub(crate) fn cleanup(&self, reason: DisconnectReason) {
        if !self.0.connected.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Some(client) = self.0.client.upgrade() {
            client.remove(self.nsp());
        }
        self.0.ns.remove(self.id());
        self.0.ns.adapter().del_all(self.id());
        // Dropping the senders wakes every ack waiter with `Disconnected`.
        lock(&self.0.acks).waiting.clear();
        let handlers = self.handlers().disconnect.clone();
        for handler in handlers {
            handler.call(self.clone(), reason);
        }
    }

    /// An EVENT from the client: middleware, catch-all listeners, then its handler.
    pub(crate) fn dispatch_event(&self, name: String, payload: Payload, id: Option<u64>) {
        let ack = id.map(|id| AckSender {
            socket: self.clone(),
            id,
        });
        let mut event = Event::new(name, payload, ack);
        let (middleware, any, handler) = {
            let handlers = self.handlers();
            (
                handlers.middleware.clone(),
                handlers.any.clone(),
                handlers.events.get(event.name()).cloned(),
            )
        };
        for step in middleware {
            if let Err(error) = step(self, &mut event) {
                let handlers = self.handlers().error.clone();
                for handler in handlers {
                    handler(self, &error);
                }
                return;
            }
        }
        for listener in any {
            listener(self, event.name(), event.payload());
        }
        if let Some(handler) = handler {
            handler.call(self.clone(), event);
        }
    }

    /// An ACK from the client for one of our events.
    pub(crate) fn resolve_ack(&self, id: u64, payload: Payload) {
        if let Some(waiter) = lock(&self.0.acks).waiting.remove(&id) {
            let _ = waiter.send(payload);
        }
    }

    /// The underlying Engine.IO connection.
    pub fn engine(&self) -> &EngineSocket {
        &self.0.engine
    }
}
