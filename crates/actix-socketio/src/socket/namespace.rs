//! Namespaces: their sockets, connect handlers and middleware, and the [`SocketEmitter`]
//! through which their adapter reaches the sockets.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use serde_json::Value;

use super::adapter::{
    AckStream, Adapter, AdapterFactory, BroadcastFlags, BroadcastOptions, RecoveryConfig,
    RoomEvent, ServerEvent, SocketEmitter, Targets,
};
use super::broadcast::BroadcastOperator;
use super::error::Error;
use super::handler::{ConnectHandler, ConnectMiddleware, MiddlewareFuture};
use super::handshake::{Handshake, HandshakeInfo};
use super::packet::{Packet, Payload};
use super::remote::RemoteSocket;
use super::rooms::{IntoRooms, Room, Sid};
use super::socket::{Connection, Identity, Socket, SocketHome, SocketSettings};
use crate::engine::{EngineSocket, Frame};
use crate::sync::{read, write};

/// Maps keyed by socket ids, the server's own random strings: a fast hash is safe.
type IdHasher = foldhash::fast::RandomState;

type ConnectFn = Arc<dyn Fn(Socket) + Send + Sync>;
type MiddlewareFn = Arc<dyn Fn(Socket) -> MiddlewareFuture + Send + Sync>;
type ServerEventFn = Arc<dyn Fn(ServerEvent) + Send + Sync>;

/// Connect handlers and middleware; shared by a parent namespace and its children.
#[derive(Default)]
pub(crate) struct NsHandlers {
    connect: RwLock<Vec<ConnectFn>>,
    middleware: RwLock<Vec<MiddlewareFn>>,
}

impl NsHandlers {
    pub(crate) fn connect_handlers(&self) -> Vec<ConnectFn> {
        read(&self.connect).clone()
    }

    pub(crate) fn middleware(&self) -> Vec<MiddlewareFn> {
        read(&self.middleware).clone()
    }

    fn add_connect<H: ConnectHandler<T>, T: 'static>(&self, handler: H) {
        write(&self.connect).push(Arc::new(move |socket| handler.call(socket)));
    }

    fn add_middleware<M: ConnectMiddleware<T>, T: 'static>(&self, middleware: M) {
        write(&self.middleware).push(Arc::new(move |socket| middleware.call(socket)));
    }
}

/// The namespace's local sockets: what its adapter reaches through [`SocketEmitter`], and
/// what each socket tells when it leaves.
pub(crate) struct NsSockets {
    name: Arc<str>,
    /// The server's connection state recovery, for the adapter.
    recovery: Option<RecoveryConfig>,
    /// The connected sockets of this server, by id.
    sockets: RwLock<HashMap<Sid, Socket, IdHasher>>,
    /// Listeners of server-side events from other servers, by event name.
    server_handlers: RwLock<HashMap<String, ServerEventFn>>,
}

impl NsSockets {
    fn socket(&self, sid: &str) -> Option<Socket> {
        read(&self.sockets).get(sid).cloned()
    }

    /// Calls `each` on every target under the sockets lock, which `each` must not take.
    fn for_each(&self, targets: Targets<'_>, mut each: impl FnMut(&Socket)) {
        let sockets = read(&self.sockets);
        match targets {
            Targets::AllExcept(excluded) => {
                let excluded = Excluded::new(excluded);
                for (sid, socket) in sockets.iter() {
                    if !excluded.contains(sid) {
                        each(socket);
                    }
                }
            }
            Targets::Only(ids) => {
                for sid in ids {
                    if let Some(socket) = sockets.get(sid) {
                        each(socket);
                    }
                }
            }
        }
    }
}

/// The ids a broadcast skips. Usually one (`socket.broadcast()` skips its sender), which a
/// comparison finds faster than a hash per receiver.
enum Excluded<'a> {
    Few(&'a [Sid]),
    Many(HashSet<&'a str, IdHasher>),
}

impl<'a> Excluded<'a> {
    /// Past this many ids a set beats comparing with each.
    const FEW: usize = 8;

    fn new(ids: &'a [Sid]) -> Self {
        if ids.len() <= Self::FEW {
            Excluded::Few(ids)
        } else {
            Excluded::Many(ids.iter().map(|id| &**id).collect())
        }
    }

    fn contains(&self, id: &str) -> bool {
        match self {
            Excluded::Few(ids) => ids.iter().any(|excluded| **excluded == *id),
            Excluded::Many(ids) => ids.contains(id),
        }
    }
}

impl SocketHome for NsSockets {
    fn remove(&self, sid: &str) {
        write(&self.sockets).remove(sid);
    }
}

impl SocketEmitter for NsSockets {
    fn nsp(&self) -> &str {
        &self.name
    }

    fn send(
        &self,
        targets: Targets<'_>,
        packet: &Packet,
        frames: &[Frame],
        flags: BroadcastFlags,
    ) -> usize {
        let mut sent = 0;
        let mut listening = Vec::new();
        self.for_each(targets, |socket| {
            if socket.send_frames(frames.iter().cloned(), flags.volatile) {
                sent += 1;
                if socket.has_outgoing_listeners() {
                    listening.push(socket.clone());
                }
            }
        });
        // Listeners are application code: they run once the lock is released.
        if let Packet::Event { event, payload, .. } = packet {
            for socket in listening {
                socket.notify_outgoing(event, payload);
            }
        }
        sent
    }

    fn send_with_ack(&self, targets: Targets<'_>, packet: &Packet, timeout: Duration) -> AckStream {
        let Packet::Event { event, payload, .. } = packet else {
            return AckStream::new(0, futures_util::stream::empty().boxed());
        };
        let mut receivers = Vec::new();
        self.for_each(targets, |socket| receivers.push(socket.clone()));
        let answers: FuturesUnordered<_> = receivers
            .iter()
            .filter(|socket| socket.connected())
            .map(|socket| {
                let sid = socket.sid().clone();
                let answer = socket
                    .timeout(timeout)
                    .emit_with_ack_payload(event, payload.clone());
                async move { (sid, answer.await) }
            })
            .collect();
        AckStream::new(answers.len(), answers.boxed())
    }

    fn join(&self, sid: &str, rooms: &[Room]) -> Result<(), Error> {
        match self.socket(sid) {
            Some(socket) => socket.join(rooms.to_vec()),
            None => Ok(()),
        }
    }

    fn leave(&self, sid: &str, rooms: &[Room]) {
        if let Some(socket) = self.socket(sid) {
            socket.leave(rooms.to_vec());
        }
    }

    fn disconnect(&self, sid: &str, close: bool) {
        if let Some(socket) = self.socket(sid) {
            socket.disconnect(close);
        }
    }

    fn describe(&self, sid: &str) -> Option<(HandshakeInfo, Value)> {
        let socket = self.socket(sid)?;
        Some((socket.handshake().info(), socket.data()))
    }

    fn recovery(&self) -> Option<&RecoveryConfig> {
        self.recovery.as_ref()
    }

    fn server_event(&self, event: ServerEvent) {
        let handler = read(&self.server_handlers).get(&event.name).cloned();
        match handler {
            Some(handler) => handler(event),
            None => log::debug!(
                "{}: no listener for server-side event {:?}",
                self.name,
                event.name
            ),
        }
    }
}

pub(crate) struct NsInner {
    sockets: Arc<NsSockets>,
    adapter: Arc<dyn Adapter>,
    pub(crate) handlers: Arc<NsHandlers>,
    settings: Arc<SocketSettings>,
}

impl NsInner {
    pub(crate) fn new(
        name: String,
        handlers: Arc<NsHandlers>,
        adapter: &AdapterFactory,
        settings: Arc<SocketSettings>,
    ) -> Arc<NsInner> {
        let sockets = Arc::new(NsSockets {
            name: name.into(),
            recovery: settings.recovery,
            sockets: RwLock::new(HashMap::default()),
            server_handlers: RwLock::new(HashMap::new()),
        });
        Arc::new(NsInner {
            adapter: adapter(sockets.clone()),
            sockets,
            handlers,
            settings,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.sockets.name
    }

    /// A socket of this namespace for a new CONNECT; it is not in the namespace until
    /// [`NsInner::insert`].
    pub(crate) fn new_socket(
        &self,
        identity: Identity,
        connection: Weak<dyn Connection>,
        engine: EngineSocket,
        handshake: Handshake,
    ) -> Socket {
        Socket::new(
            identity,
            self.sockets.name.clone(),
            self.adapter.clone(),
            self.sockets.clone(),
            connection,
            engine,
            handshake,
            self.settings.clone(),
        )
    }

    /// The socket joined: it is reachable by id and in its own room, and in `rooms` (a
    /// recovered socket's).
    pub(crate) fn insert(&self, socket: &Socket, rooms: &[Room]) {
        write(&self.sockets.sockets).insert(socket.sid().clone(), socket.clone());
        let mut all = Vec::with_capacity(rooms.len() + 1);
        all.push(socket.id().to_owned());
        all.extend(rooms.iter().filter(|room| *room != socket.id()).cloned());
        self.adapter.add_all(socket.sid(), &all);
    }

    /// The server's connection state recovery.
    pub(crate) fn recovery(&self) -> Option<&RecoveryConfig> {
        self.settings.recovery.as_ref()
    }
}

/// A namespace: its connect handlers, middleware, and broadcasts to its sockets.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NsInner>);

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Namespace").field(&self.name()).finish()
    }
}

impl Namespace {
    /// The namespace name (`/`, `/chat`, …).
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Runs for every socket that joins (`io.on("connection")`).
    pub fn on_connect<H: ConnectHandler<T>, T: 'static>(&self, handler: H) {
        self.0.handlers.add_connect(handler);
    }

    /// Adds connect middleware (`io.use()`), which may refuse a socket. Middleware runs
    /// before the CONNECT answer, in the order registered; the first error refuses.
    pub fn use_middleware<M: ConnectMiddleware<T>, T: 'static>(&self, middleware: M) {
        self.0.handlers.add_middleware(middleware);
    }

    /// The namespace's adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.0.adapter
    }

    /// Every socket of the namespace, on every server.
    pub fn all(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            self.0.adapter.clone(),
            self.0.sockets.name.clone(),
            BroadcastOptions::default(),
            self.0.settings.ack_timeout,
        )
    }

    /// The sockets in any of `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.all().to(rooms)
    }

    /// Same as [`Namespace::to`].
    pub fn in_(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.all().to(rooms)
    }

    /// Every socket but those in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.all().except(rooms)
    }

    /// Only this server's sockets.
    pub fn local(&self) -> BroadcastOperator {
        self.all().local()
    }

    /// Emits that drop the event for sockets that cannot take it right now.
    pub fn volatile(&self) -> BroadcastOperator {
        self.all().volatile()
    }

    /// Permission to compress (accepted for parity with Node; not applied).
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.all().compress(compress)
    }

    /// Acks awaited at most `timeout`.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.all().timeout(timeout)
    }

    /// Emits to every socket, with one argument.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), Error> {
        self.all().emit(event, data)
    }

    /// Emits to every socket, with any arguments and attachments.
    pub fn emit_payload(&self, event: &str, payload: Payload) -> Result<(), Error> {
        self.all().emit_payload(event, payload)
    }

    /// Emits to every socket and collects their acks.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> Result<Vec<Payload>, Error> {
        self.all().emit_with_ack(event, data).await
    }

    /// [`Namespace::emit_with_ack`] with any arguments and attachments.
    pub async fn emit_with_ack_payload(
        &self,
        event: &str,
        payload: Payload,
    ) -> Result<Vec<Payload>, Error> {
        self.all().emit_with_ack_payload(event, payload).await
    }

    /// Every socket of the namespace, on every server.
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, Error> {
        self.all().fetch_sockets().await
    }

    /// Makes every socket join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.all().sockets_join(rooms).await
    }

    /// Makes every socket leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), Error> {
        self.all().sockets_leave(rooms).await
    }

    /// Disconnects every socket (and with `close`, their connections).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), Error> {
        self.all().disconnect_sockets(close).await
    }

    /// How many servers share this namespace.
    pub async fn server_count(&self) -> Result<usize, Error> {
        self.0.adapter.server_count().await
    }

    /// Every room of the namespace on every server, socket ids included.
    pub async fn all_rooms(&self) -> Result<Vec<Room>, Error> {
        self.0.adapter.all_rooms().await
    }

    /// Sends an event to this namespace on every other server (`serverSideEmit`); their
    /// [`Namespace::on_server_event`] listeners receive it.
    pub async fn server_side_emit(&self, event: &str, data: impl Serialize) -> Result<(), Error> {
        Error::unless_reserved(event)?;
        self.0
            .adapter
            .server_side_emit(event.to_owned(), Payload::json(data)?, None)
            .await
            .map(drop)
    }

    /// [`Namespace::server_side_emit`], collecting every other server's answer within the
    /// server's `ack_timeout` ([`Error::AckTimeout`] with those that came otherwise);
    /// [`Namespace::timeout`] sets another wait.
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> Result<Vec<Payload>, Error> {
        self.all().server_side_emit_with_ack(event, data).await
    }

    /// Listens to the server-side event `name` from other servers; a later listener for
    /// the same name replaces this one.
    pub fn on_server_event<F, Fut>(&self, name: impl Into<String>, listener: F)
    where
        F: Fn(ServerEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let listener: ServerEventFn =
            Arc::new(move |event| super::task::run_local(listener(event)));
        write(&self.0.sockets.server_handlers).insert(name.into(), listener);
    }

    /// Calls `listener` on every room created, deleted, joined or left on this server.
    pub fn on_room_event(&self, listener: impl Fn(&RoomEvent) + Send + Sync + 'static) {
        self.0.adapter.on_room_event(Arc::new(listener));
    }

    /// This server's connected sockets.
    pub fn sockets(&self) -> Vec<Socket> {
        read(&self.0.sockets.sockets).values().cloned().collect()
    }

    /// One of this server's connected sockets.
    pub fn socket(&self, id: &str) -> Option<Socket> {
        self.0.sockets.socket(id)
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
    /// Runs for every socket that joins any child.
    pub fn on_connect<H: ConnectHandler<T>, T: 'static>(&self, handler: H) {
        self.0.handlers.add_connect(handler);
    }

    /// Adds connect middleware to every child.
    pub fn use_middleware<M: ConnectMiddleware<T>, T: 'static>(&self, middleware: M) {
        self.0.handlers.add_middleware(middleware);
    }

    /// The namespaces created so far under this parent.
    pub fn children(&self) -> Vec<Namespace> {
        read(&self.0.children).clone()
    }

    /// Emits to every socket of every child namespace.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), Error> {
        let payload = Payload::json(data)?;
        for child in self.children() {
            child.emit_payload(event, payload.clone())?;
        }
        Ok(())
    }
}
