//! A socket: one client's connection to one namespace.
//!
//! Typed handler registration (`on`, `on_disconnect`, …) lives with the extractors in
//! `handler.rs`; this file keeps the socket's state and what it does.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::oneshot;

use super::adapter::{Adapter, BroadcastOptions, RecoveryConfig, SessionState};
use super::broadcast::BroadcastOperator;
use super::error::{DisconnectReason, Error, MiddlewareError};
use super::event::{AckSender, AckTarget, Event};
use super::handshake::Handshake;
use super::packet::{Packet, Payload};
use super::rooms::{IntoRooms, Room, Sid};
use super::state::TypeMap;
use crate::engine::{EngineSocket, Frame, TransportKind};
use crate::sync::{lock, read, write};

/// Sees every incoming event before its own handler (or every outgoing one):
/// `|socket, name, payload|`.
pub type AnyListener = Arc<dyn Fn(&Socket, &str, &Payload) + Send + Sync>;

/// Inspects or rewrites an incoming event before any listener; an error drops the event
/// and goes to the socket's error handlers.
pub type PacketMiddleware =
    Arc<dyn Fn(&Socket, &mut Event) -> Result<(), MiddlewareError> + Send + Sync>;

/// Receives the errors of packet middleware.
pub type ErrorHandler = Arc<dyn Fn(&Socket, &MiddlewareError) + Send + Sync>;

/// An event handler with its extractors already applied (see `handler.rs`).
pub(crate) type EventFn = Arc<dyn Fn(Socket, Event) + Send + Sync>;

/// A disconnect(ing) handler with its extractors already applied.
pub(crate) type DisconnectFn = Arc<dyn Fn(Socket, DisconnectReason) + Send + Sync>;

/// The namespace's side of a socket: it keeps the socket by id until told it left.
pub(crate) trait SocketHome: Send + Sync {
    fn remove(&self, sid: &str);
}

/// The Engine.IO connection's side: its sockets, one per namespace.
pub(crate) trait Connection: Send + Sync {
    fn remove(&self, nsp: &str);
    fn sockets(&self) -> Vec<Socket>;
}

/// What every socket of a server shares: its limits and the application's state.
pub(crate) struct SocketSettings {
    /// Most rooms a socket may be in, its own not counted.
    pub(crate) max_rooms: usize,
    /// How long an ack is awaited unless a call says otherwise.
    pub(crate) ack_timeout: Duration,
    /// The application's state (`SocketIoBuilder::with_state`), read by handlers.
    pub(crate) state: TypeMap,
    /// Sockets still allocated, connected or not (`SocketIo::retained_sockets`).
    pub(crate) retained: AtomicUsize,
    /// Connection state recovery, when on.
    pub(crate) recovery: Option<RecoveryConfig>,
}

#[derive(Default)]
pub(crate) struct Handlers {
    pub(crate) events: HashMap<String, EventFn>,
    pub(crate) disconnect: Vec<DisconnectFn>,
    /// What most sockets never get: a pointer until one is added (every connection holds
    /// a socket, so its size is memory per connection).
    rare: Option<Box<RareHandlers>>,
}

#[derive(Default)]
pub(crate) struct RareHandlers {
    any: Vec<AnyListener>,
    any_outgoing: Vec<AnyListener>,
    middleware: Vec<PacketMiddleware>,
    pub(crate) disconnecting: Vec<DisconnectFn>,
    error: Vec<ErrorHandler>,
}

impl Handlers {
    pub(crate) fn rare_mut(&mut self) -> &mut RareHandlers {
        self.rare.get_or_insert_with(Box::default)
    }

    /// A copy of one of the rare lists (empty when there is none).
    fn rare<T: Clone>(&self, list: impl FnOnce(&RareHandlers) -> &Vec<T>) -> Vec<T> {
        self.rare.as_deref().map(list).cloned().unwrap_or_default()
    }
}

#[derive(Default)]
struct Acks {
    next_id: u64,
    waiting: HashMap<u64, oneshot::Sender<Payload>>,
}

/// Who a new socket is: a fresh id, or the one of the session it recovers.
pub(crate) struct Identity {
    pub(crate) id: Sid,
    /// Its private id, with recovery on.
    pub(crate) pid: Option<Arc<str>>,
    /// It recovers a session.
    pub(crate) recovered: bool,
}

/// Where a socket is in its life; it only moves forward.
const JOINING: u8 = 0;
const CONNECTED: u8 = 1;
const GONE: u8 = 2;

/// One client's connection to one namespace. Cheap to clone; usable from any thread.
///
/// A socket is freed once it has disconnected and nothing outside holds it: its handler
/// tables, listeners and extensions are dropped at the disconnect, so handlers that
/// capture their own socket do not keep it alive. Hold a [`WeakSocket`] to refer to a
/// socket without keeping it.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketInner>);

/// A socket that is not kept alive by this reference.
#[derive(Clone)]
pub struct WeakSocket(Weak<SocketInner>);

impl std::fmt::Debug for WeakSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.upgrade() {
            Some(socket) => f.debug_tuple("WeakSocket").field(&socket.id()).finish(),
            None => f.write_str("WeakSocket(freed)"),
        }
    }
}

impl WeakSocket {
    /// The socket, if something else still holds it.
    pub fn upgrade(&self) -> Option<Socket> {
        self.0.upgrade().map(Socket)
    }
}

pub(crate) struct SocketInner {
    id: Sid,
    /// The private id a client presents to recover this socket (with recovery on).
    pid: Option<Arc<str>>,
    /// The socket came back with its old id, rooms and data (connection state recovery).
    recovered: bool,
    nsp: Arc<str>,
    adapter: Arc<dyn Adapter>,
    /// The namespace, told when the socket leaves.
    home: Arc<dyn SocketHome>,
    /// The connection this socket belongs to, to leave it on disconnect.
    connection: Weak<dyn Connection>,
    engine: EngineSocket,
    handshake: Handshake,
    settings: Arc<SocketSettings>,
    handlers: RwLock<Handlers>,
    /// Set once an `on_any_outgoing` listener is added: every receiver of a broadcast checks
    /// it, and almost none has one, so the check must not take the handlers lock.
    has_outgoing_listeners: AtomicBool,
    acks: Mutex<Acks>,
    /// JOINING, CONNECTED or GONE.
    life: AtomicU8,
    /// Makes count-then-add one step, so concurrent joins cannot pass the limit together.
    joining: Mutex<()>,
    /// Typed per-socket state of the application.
    extensions: Mutex<TypeMap>,
    /// JSON data of the application, visible to other servers (`socket.data` in Node).
    data: Mutex<Value>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("nsp", &self.0.nsp)
            .finish_non_exhaustive()
    }
}

/// Emits with an ack timeout of its own: [`Socket::timeout`].
#[derive(Debug)]
pub struct TimedSocket<'a> {
    socket: &'a Socket,
    timeout: Duration,
}

impl TimedSocket<'_> {
    /// [`Socket::emit_with_ack`], waiting at most this timeout.
    pub fn emit_with_ack<T: DeserializeOwned>(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        self.socket
            .ack_future(event, Payload::json(data), self.timeout)
    }

    /// [`Socket::emit_with_ack_payload`], waiting at most this timeout.
    pub fn emit_with_ack_payload(
        &self,
        event: &str,
        payload: Payload,
    ) -> impl Future<Output = Result<Payload, Error>> + Send + 'static {
        self.socket
            .ack_payload_future(event, Ok(payload), self.timeout)
    }
}

impl Socket {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        Identity { id, pid, recovered }: Identity,
        nsp: Arc<str>,
        adapter: Arc<dyn Adapter>,
        home: Arc<dyn SocketHome>,
        connection: Weak<dyn Connection>,
        engine: EngineSocket,
        handshake: Handshake,
        settings: Arc<SocketSettings>,
    ) -> Socket {
        settings.retained.fetch_add(1, Ordering::Relaxed);
        Socket(Arc::new(SocketInner {
            id,
            pid,
            recovered,
            nsp,
            adapter,
            home,
            connection,
            engine,
            handshake,
            settings,
            handlers: RwLock::new(Handlers::default()),
            has_outgoing_listeners: AtomicBool::new(false),
            acks: Mutex::new(Acks::default()),
            life: AtomicU8::new(JOINING),
            joining: Mutex::new(()),
            extensions: Mutex::new(TypeMap::default()),
            data: Mutex::new(Value::Null),
        }))
    }

    /// The socket id (never the Engine.IO sid).
    pub fn id(&self) -> &str {
        &self.0.id
    }

    pub(crate) fn sid(&self) -> &Sid {
        &self.0.id
    }

    /// The namespace name.
    pub fn nsp(&self) -> &str {
        &self.0.nsp
    }

    /// The request that opened the connection, and the CONNECT auth.
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// The transport of the underlying connection now.
    pub fn transport(&self) -> TransportKind {
        self.0.engine.transport()
    }

    /// Whether the socket came back from a lost connection with its old id, rooms and data
    /// (connection state recovery), having received what it missed.
    pub fn recovered(&self) -> bool {
        self.0.recovered
    }

    /// The private id its client presents to recover it, with recovery on.
    pub(crate) fn pid(&self) -> Option<&str> {
        self.0.pid.as_deref()
    }

    /// The session recovery keeps of this socket.
    fn session_state(&self, pid: &str) -> SessionState {
        SessionState {
            sid: self.id().to_owned(),
            pid: pid.to_owned(),
            rooms: self.rooms(),
            data: self.data(),
        }
    }

    /// Tells the adapter the session changed, with recovery on (see
    /// [`Adapter::session_changed`]).
    pub(crate) fn session_changed(&self) {
        if let Some(pid) = self.pid().filter(|_| self.connected()) {
            self.0.adapter.session_changed(self.session_state(pid));
        }
    }

    /// Whether the socket is in its namespace (it joined and has not left).
    pub fn connected(&self) -> bool {
        self.0.life.load(Ordering::Acquire) == CONNECTED
    }

    fn gone(&self) -> bool {
        self.0.life.load(Ordering::Acquire) == GONE
    }

    /// A reference that does not keep the socket alive.
    pub fn downgrade(&self) -> WeakSocket {
        WeakSocket(Arc::downgrade(&self.0))
    }

    /// The underlying Engine.IO connection.
    pub fn engine(&self) -> &EngineSocket {
        &self.0.engine
    }

    /// The namespace's adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.0.adapter
    }

    /// Changes the handler tables, unless the socket is gone: what is registered after the
    /// disconnect would never run and could hold the socket for ever.
    pub(crate) fn with_handlers(&self, change: impl FnOnce(&mut Handlers)) {
        if !self.gone() {
            change(&mut write(&self.0.handlers));
        }
    }

    fn handlers(&self) -> std::sync::RwLockReadGuard<'_, Handlers> {
        read(&self.0.handlers)
    }

    /// Removes the handler of the event `name`.
    pub fn off(&self, name: &str) {
        self.with_handlers(|h| {
            h.events.remove(name);
        });
    }

    /// Sees every incoming event, before its own handler (`socket.onAny`).
    pub fn on_any(&self, listener: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static) {
        self.with_handlers(|h| h.rare_mut().any.push(Arc::new(listener)));
    }

    /// [`Socket::on_any`], before the listeners already there (`socket.prependAny`).
    pub fn prepend_any(&self, listener: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static) {
        self.with_handlers(|h| h.rare_mut().any.insert(0, Arc::new(listener)));
    }

    /// Removes every [`Socket::on_any`] listener (`socket.offAny()`).
    pub fn off_any(&self) {
        self.with_handlers(|h| {
            if let Some(rare) = h.rare.as_deref_mut() {
                rare.any.clear();
            }
        });
    }

    /// Sees every event this socket emits, broadcasts to it included (`socket.onAnyOutgoing`).
    pub fn on_any_outgoing(
        &self,
        listener: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static,
    ) {
        self.with_handlers(|h| h.rare_mut().any_outgoing.push(Arc::new(listener)));
        self.0.has_outgoing_listeners.store(true, Ordering::Release);
    }

    /// [`Socket::on_any_outgoing`], before the listeners already there.
    pub fn prepend_any_outgoing(
        &self,
        listener: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static,
    ) {
        self.with_handlers(|h| h.rare_mut().any_outgoing.insert(0, Arc::new(listener)));
        self.0.has_outgoing_listeners.store(true, Ordering::Release);
    }

    /// Removes every [`Socket::on_any_outgoing`] listener.
    pub fn off_any_outgoing(&self) {
        self.with_handlers(|h| {
            if let Some(rare) = h.rare.as_deref_mut() {
                rare.any_outgoing.clear();
            }
        });
        self.0
            .has_outgoing_listeners
            .store(false, Ordering::Release);
    }

    /// Runs before every incoming event's listeners; may change it or refuse it.
    pub fn use_packet(
        &self,
        middleware: impl Fn(&Socket, &mut Event) -> Result<(), MiddlewareError> + Send + Sync + 'static,
    ) {
        self.with_handlers(|h| h.rare_mut().middleware.push(Arc::new(middleware)));
    }

    /// Receives the errors of packet middleware.
    pub fn on_error(&self, handler: impl Fn(&Socket, &MiddlewareError) + Send + Sync + 'static) {
        self.with_handlers(|h| h.rare_mut().error.push(Arc::new(handler)));
    }

    /// Stores typed state on the socket, replacing any value of the same type. Extensions
    /// are dropped when the socket disconnects, once its disconnect handlers have started.
    pub fn insert_extension<T: Send + Sync + 'static>(&self, value: T) {
        if !self.gone() {
            lock(&self.0.extensions).insert(value);
        }
    }

    /// A copy of the typed state of type `T`.
    pub fn extension<T: Send + Sync + Clone + 'static>(&self) -> Option<T> {
        lock(&self.0.extensions).get::<T>().map(|v| T::clone(&v))
    }

    /// Removes the typed state of type `T`.
    pub fn remove_extension<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        lock(&self.0.extensions).remove::<T>()
    }

    /// The application's state of type `T`, as given to the server.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.0.settings.state.get::<T>()
    }

    /// The application's JSON data on the socket (`null` until set); other servers of a
    /// cluster see it in `fetch_sockets`.
    pub fn data(&self) -> Value {
        lock(&self.0.data).clone()
    }

    /// [`Socket::data`], decoded.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&*lock(&self.0.data)).map_err(Error::Decode)
    }

    /// Replaces the socket's JSON data.
    pub fn set_data(&self, data: impl Serialize) -> Result<(), Error> {
        *lock(&self.0.data) = serde_json::to_value(data)?;
        self.session_changed();
        Ok(())
    }

    /// Emits an event with one argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), Error> {
        self.emit_payload(event, Payload::json(data)?)
    }

    /// Emits an event with any arguments and binary attachments.
    pub fn emit_payload(&self, event: &str, payload: Payload) -> Result<(), Error> {
        Error::unless_reserved(event)?;
        let packet = Packet::Event {
            nsp: self.nsp().to_owned(),
            event: event.to_owned(),
            payload,
            id: None,
        };
        if self.0.settings.recovery.is_some() {
            // As Node: through the adapter to the socket's own room, which gives the event
            // its offset and keeps it for a client that comes back.
            if !self.connected() {
                return Err(Error::Disconnected);
            }
            let own = BroadcastOptions {
                rooms: vec![self.id().to_owned()],
                ..BroadcastOptions::default()
            };
            return self.0.adapter.broadcast(packet, own);
        }
        if let Packet::Event { event, payload, .. } = &packet {
            self.notify_outgoing(event, payload);
        }
        self.send_packet(&packet)
    }

    /// Emits an event and waits for the client's ack (its first argument, decoded), at most
    /// the server's `ack_timeout`; [`Socket::timeout`] sets another.
    pub fn emit_with_ack<T: DeserializeOwned>(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        self.ack_future(event, Payload::json(data), self.0.settings.ack_timeout)
    }

    /// [`Socket::emit_with_ack`] with any arguments and attachments; the whole ack comes
    /// back.
    pub fn emit_with_ack_payload(
        &self,
        event: &str,
        payload: Payload,
    ) -> impl Future<Output = Result<Payload, Error>> + Send + 'static {
        self.ack_payload_future(event, Ok(payload), self.0.settings.ack_timeout)
    }

    /// Emits with acks that wait at most `timeout`: `socket.timeout(d).emit_with_ack(…)`.
    pub fn timeout(&self, timeout: Duration) -> TimedSocket<'_> {
        TimedSocket {
            socket: self,
            timeout,
        }
    }

    fn ack_future<T: DeserializeOwned>(
        &self,
        event: &str,
        payload: Result<Payload, serde_json::Error>,
        timeout: Duration,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        let ack = self.ack_payload_future(event, payload, timeout);
        async move {
            let payload = ack.await?;
            T::deserialize(payload.args.first().unwrap_or(&Value::Null)).map_err(Error::Decode)
        }
    }

    fn ack_payload_future(
        &self,
        event: &str,
        payload: Result<Payload, serde_json::Error>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Payload, Error>> + Send + 'static {
        let waiting = payload
            .map_err(Error::Serialize)
            .and_then(|payload| {
                Error::unless_reserved(event)?;
                Ok(payload)
            })
            .map(|payload| self.send_with_ack(event, payload));
        let socket = self.downgrade();
        async move {
            let (id, answer) = waiting?;
            match tokio::time::timeout(timeout, answer).await {
                Ok(Ok(payload)) => Ok(payload),
                Ok(Err(_)) => Err(Error::Disconnected),
                Err(_) => {
                    if let Some(socket) = socket.upgrade() {
                        lock(&socket.0.acks).waiting.remove(&id);
                    }
                    Err(Error::Timeout)
                }
            }
        }
    }

    /// Sends an EVENT with a fresh ack id; the receiver gets the answer (dropped if the
    /// socket leaves first).
    pub(crate) fn send_with_ack(
        &self,
        event: &str,
        payload: Payload,
    ) -> (u64, oneshot::Receiver<Payload>) {
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
        if sent.is_err() {
            // Dropping the sender answers the receiver with "disconnected".
            lock(&self.0.acks).waiting.remove(&id);
        }
        (id, rx)
    }

    /// Whether an `on_any_outgoing` listener is set: without one, a broadcast only queues.
    pub(crate) fn has_outgoing_listeners(&self) -> bool {
        self.0.has_outgoing_listeners.load(Ordering::Acquire)
    }

    /// Tells the `on_any_outgoing` listeners; broadcasts call it too (as Node's adapter does).
    pub(crate) fn notify_outgoing(&self, event: &str, payload: &Payload) {
        if !self.has_outgoing_listeners() {
            return;
        }
        let listeners = self.handlers().rare(|r| &r.any_outgoing);
        for listener in listeners {
            listener(self, event, payload);
        }
    }

    pub(crate) fn send_packet(&self, packet: &Packet) -> Result<(), Error> {
        if self.send_frames(packet.encode(), false) {
            Ok(())
        } else {
            Err(Error::Disconnected)
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
    /// `max_rooms_per_socket` (its own room not counted): then [`Error::TooManyRooms`].
    pub fn join(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        let mut rooms = rooms.into_rooms();
        let joining = lock(&self.0.joining);
        let current = self.rooms();
        let joined = current.len() - usize::from(current.iter().any(|r| **r == *self.0.id));
        rooms.sort_unstable();
        rooms.dedup();
        rooms.retain(|room| !current.contains(room));
        let limit = self.0.settings.max_rooms;
        if joined + rooms.len() > limit {
            return Err(Error::TooManyRooms { limit });
        }
        self.0.adapter.add_all(&self.0.id, &rooms);
        drop(joining);
        if !rooms.is_empty() {
            self.session_changed();
        }
        Ok(())
    }

    /// Leaves `rooms`.
    pub fn leave(&self, rooms: impl IntoRooms) {
        self.0.adapter.del(&self.0.id, &rooms.into_rooms());
        self.session_changed();
    }

    /// The rooms this socket is in, its own id included.
    pub fn rooms(&self) -> Vec<Room> {
        self.0.adapter.socket_rooms(&self.0.id)
    }

    /// A broadcast to `rooms`, without this socket.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Same as [`Socket::to`].
    pub fn in_(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// A broadcast to the whole namespace but the sockets in `rooms`, without this socket.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// A broadcast to the whole namespace, without this socket.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            self.0.adapter.clone(),
            self.0.nsp.clone(),
            BroadcastOptions {
                except: vec![self.id().to_owned()],
                ..BroadcastOptions::default()
            },
            self.0.settings.ack_timeout,
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
                .connection
                .upgrade()
                .map(|connection| connection.sockets())
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
        let _ =
            self.0
                .life
                .compare_exchange(JOINING, CONNECTED, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Leaves everything behind, as Node's `_onclose`: `disconnecting` handlers (rooms still
    /// readable), then rooms, namespace, connection and pending acks, then `disconnect`
    /// handlers; then the handler tables and extensions are dropped, so nothing the
    /// application registered keeps the socket alive. Runs once.
    pub(crate) fn cleanup(&self, reason: DisconnectReason) {
        if self.0.life.swap(GONE, Ordering::AcqRel) != CONNECTED {
            return;
        }
        let disconnecting = self.handlers().rare(|r| &r.disconnecting);
        for handler in disconnecting {
            handler(self.clone(), reason);
        }
        if let Some(pid) = self.pid() {
            if reason.is_recoverable() {
                self.0.adapter.persist_session(self.session_state(pid));
            } else {
                self.0.adapter.discard_session(pid);
            }
        }
        if let Some(connection) = self.0.connection.upgrade() {
            connection.remove(self.nsp());
        }
        self.0.home.remove(self.id());
        self.0.adapter.del_all(self.id());
        // Dropping the senders wakes every ack waiter with "disconnected".
        let acks = std::mem::take(&mut lock(&self.0.acks).waiting);
        drop(acks);
        let disconnect = self.handlers().disconnect.clone();
        for handler in disconnect {
            handler(self.clone(), reason);
        }
        // Taken out under the locks, dropped outside them: a value's drop may use the socket.
        let handlers = std::mem::take(&mut *write(&self.0.handlers));
        let extensions = lock(&self.0.extensions).take();
        drop((handlers, extensions));
    }

    /// An EVENT from the client: middleware, catch-all listeners, then its handler.
    pub(crate) fn dispatch_event(&self, name: String, payload: Payload, id: Option<u64>) {
        let target: Weak<dyn AckTarget> = Arc::downgrade(&self.0) as Weak<dyn AckTarget>;
        let mut event = Event::new(name, payload, AckSender::new(target, id));
        let (middleware, any, handler) = {
            let handlers = self.handlers();
            (
                handlers.rare(|r| &r.middleware),
                handlers.rare(|r| &r.any),
                handlers.events.get(event.name()).cloned(),
            )
        };
        for step in middleware {
            if let Err(error) = step(self, &mut event) {
                let handlers = self.handlers().rare(|r| &r.error);
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
            handler(self.clone(), event);
        }
    }

    /// An ACK from the client for one of our events.
    pub(crate) fn resolve_ack(&self, id: u64, payload: Payload) {
        if let Some(waiter) = lock(&self.0.acks).waiting.remove(&id) {
            let _ = waiter.send(payload);
        }
    }
}

impl Drop for SocketInner {
    fn drop(&mut self) {
        self.settings.retained.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AckTarget for SocketInner {
    fn send_ack(&self, id: u64, payload: Payload) -> Result<(), Error> {
        if self.life.load(Ordering::Acquire) != CONNECTED {
            return Err(Error::Disconnected);
        }
        let packet = Packet::Ack {
            nsp: self.nsp.to_string(),
            payload,
            id,
        };
        if self.engine.send_many(packet.encode()) {
            Ok(())
        } else {
            Err(Error::Disconnected)
        }
    }
}
