//! Rooms and broadcasts go through an [`Adapter`]: the in-memory [`LocalAdapter`] by
//! default, a cluster adapter (Redis, …) later, with the same user API.
//!
//! Local bookkeeping (join, leave) is synchronous; operations that may have to ask other
//! servers (fetch sockets, remote joins, broadcasts with acks, server count) return futures.
//! A broadcast without acks is fire-and-forget, as in Node: local delivery happens before
//! `broadcast` returns and a cluster adapter publishes in the background.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

use super::namespace::NsInner;
use super::packet::{Packet, Payload};
use super::socket::{AckError, Socket};
pub(crate) use crate::engine::sid::IdHasher;
use crate::sync::{read, write};

/// A boxed future, as adapters return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Room names; every socket is also in the room named by its id.
pub type Room = String;

/// Sets keyed by socket ids ([`IdHasher`]); room names, which the application may take
/// from clients, keep std's DoS-resistant SipHash.
pub(crate) type IdSet<'a> = HashSet<&'a str, IdHasher>;

/// Which sockets an operation targets: in any of `rooms` (all sockets when empty), and in
/// none of `except`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    pub rooms: Vec<Room>,
    pub except: Vec<Room>,
    pub flags: BroadcastFlags,
}

/// Node's broadcast flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Only this server's sockets, never published to the cluster.
    pub local: bool,
    /// Dropped for a socket whose transport cannot take it right now.
    pub volatile: bool,
    /// Permission to compress. Accepted for API parity; the transports do not compress.
    pub compress: bool,
    /// How long to wait for acks.
    pub timeout: Option<Duration>,
}

/// An adapter failed to reach the cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("timeout reached while waiting for the cluster")]
    Timeout,
    #[error("adapter: {0}")]
    Other(String),
}

/// One socket's answer to a broadcast with acks.
pub type AckResult = (String, Result<Payload, AckError>);

/// A socket found by `fetch_sockets`, anywhere in the cluster. Acting on it goes through
/// the adapter, so the same code works for local and remote sockets.
#[derive(Debug, Clone)]
pub struct RemoteSocket {
    pub id: String,
    pub nsp: String,
    pub rooms: Vec<Room>,
}

/// Room bookkeeping and broadcasting for one namespace.
pub trait Adapter: Send + Sync + 'static {
    fn add_all(&self, sid: &str, rooms: &[Room]);
    fn del(&self, sid: &str, room: &str);
    fn del_all(&self, sid: &str);
    /// The rooms a local socket is in.
    fn socket_rooms(&self, sid: &str) -> Vec<Room>;
    /// The local sockets `opts` selects.
    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Socket>;
    /// Sends a packet to every socket `opts` selects, encoded once for all of them.
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) -> Result<(), AdapterError>;
    /// Sends a packet asking each selected socket for an ack, and collects every answer
    /// (or its timeout).
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<AckResult>, AdapterError>>;
    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>>;
    fn add_sockets(
        &self,
        opts: &BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), AdapterError>>;
    fn del_sockets(
        &self,
        opts: &BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), AdapterError>>;
    fn disconnect_sockets(
        &self,
        opts: &BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'static, Result<(), AdapterError>>;
    /// How many servers share this namespace (1 without a cluster).
    fn server_count(&self) -> BoxFuture<'static, Result<usize, AdapterError>>;
}

/// Builds a namespace's adapter; the handle lets it reach the namespace's local sockets.
pub type AdapterFactory = Arc<dyn Fn(LocalNamespace) -> Arc<dyn Adapter> + Send + Sync>;

/// An adapter's view of its namespace: the local sockets by id.
#[derive(Clone)]
pub struct LocalNamespace(pub(crate) Weak<NsInner>);

impl LocalNamespace {
    /// A connected local socket.
    pub fn socket(&self, sid: &str) -> Option<Socket> {
        self.0.upgrade()?.socket(sid)
    }

    /// The connected local sockets among `ids`, looked up under one lock.
    pub fn sockets_by_id<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<Socket> {
        self.0
            .upgrade()
            .map(|ns| ns.sockets_by_id(ids))
            .unwrap_or_default()
    }

    /// The connected local sockets whose id `keep` accepts, under one lock.
    pub fn sockets_where(&self, keep: impl FnMut(&str) -> bool) -> Vec<Socket> {
        self.0
            .upgrade()
            .map(|ns| ns.sockets_where(keep))
            .unwrap_or_default()
    }

    /// Every connected local socket.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0
            .upgrade()
            .map(|ns| ns.all_sockets())
            .unwrap_or_default()
    }

    pub fn name(&self) -> String {
        self.0
            .upgrade()
            .map(|ns| ns.name().to_owned())
            .unwrap_or_default()
    }
}

/// The in-memory adapter: rooms of one process.
pub struct LocalAdapter {
    ns: LocalNamespace,
    rooms: RwLock<Rooms>,
}

#[derive(Default)]
struct Rooms {
    members: HashMap<Room, HashSet<String, IdHasher>>,
    of_socket: HashMap<String, HashSet<Room>, IdHasher>,
}

impl LocalAdapter {
    pub fn new(ns: LocalNamespace) -> LocalAdapter {
        LocalAdapter {
            ns,
            rooms: RwLock::new(Rooms::default()),
        }
    }

    /// The factory for [`crate::SocketIoConfig::adapter`].
    pub fn factory() -> AdapterFactory {
        Arc::new(|ns| Arc::new(LocalAdapter::new(ns)) as Arc<dyn Adapter>)
    }

    fn read(&self) -> RwLockReadGuard<'_, Rooms> {
        read(&self.rooms)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Rooms> {
        write(&self.rooms)
    }

    /// The ids in `opts.except`'s rooms.
    fn excluded<'a>(rooms: &'a Rooms, opts: &BroadcastOptions) -> Excluded<'a> {
        let ids = opts
            .except
            .iter()
            .filter_map(|r| rooms.members.get(r))
            .flatten()
            .map(String::as_str);
        Excluded::new(ids)
    }

    /// The ids `opts` selects, each once, borrowed from the room sets.
    fn selected<'a>(rooms: &'a Rooms, opts: &BroadcastOptions) -> Vec<&'a str> {
        let excluded = Self::excluded(rooms, opts);
        if opts.rooms.is_empty() {
            return rooms
                .of_socket
                .keys()
                .map(String::as_str)
                .filter(|sid| !excluded.contains(sid))
                .collect();
        }
        let mut seen = IdSet::default();
        opts.rooms
            .iter()
            .filter_map(|r| rooms.members.get(r))
            .flatten()
            .map(String::as_str)
            .filter(|sid| !excluded.contains(sid) && seen.insert(sid))
            .collect()
    }

    /// The ids `opts` selects, owned, for operations that then change the rooms.
    fn select(&self, opts: &BroadcastOptions) -> Vec<String> {
        Self::selected(&self.read(), opts)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }
}

/// The ids a broadcast skips. Usually one (`socket.broadcast()` skips its sender), which
/// a comparison finds faster than a hash per receiver.
enum Excluded<'a> {
    Few(Vec<&'a str>),
    Many(IdSet<'a>),
}

impl<'a> Excluded<'a> {
    /// Past this many ids a set beats comparing with each.
    const FEW: usize = 8;

    fn new(ids: impl Iterator<Item = &'a str>) -> Self {
        let ids: Vec<&str> = ids.collect();
        if ids.len() <= Self::FEW {
            Excluded::Few(ids)
        } else {
            Excluded::Many(ids.into_iter().collect())
        }
    }

    fn contains(&self, id: &str) -> bool {
        match self {
            Excluded::Few(ids) => ids.contains(&id),
            Excluded::Many(ids) => ids.contains(id),
        }
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: &str, rooms: &[Room]) {
        let mut state = self.write();
        for room in rooms {
            state
                .members
                .entry(room.clone())
                .or_default()
                .insert(sid.to_owned());
        }
        state
            .of_socket
            .entry(sid.to_owned())
            .or_default()
            .extend(rooms.iter().cloned());
    }

    fn del(&self, sid: &str, room: &str) {
        let mut state = self.write();
        if let Some(members) = state.members.get_mut(room) {
            members.remove(sid);
            if members.is_empty() {
                state.members.remove(room);
            }
        }
        if let Some(rooms) = state.of_socket.get_mut(sid) {
            rooms.remove(room);
        }
    }

    fn del_all(&self, sid: &str) {
        let mut state = self.write();
        for room in state.of_socket.remove(sid).unwrap_or_default() {
            if let Some(members) = state.members.get_mut(&room) {
                members.remove(sid);
                if members.is_empty() {
                    state.members.remove(&room);
                }
            }
        }
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.read()
            .of_socket
            .get(sid)
            .map(|rooms| rooms.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        // One pass under both read locks: no id is copied, no lock taken per receiver.
        let rooms = self.read();
        if opts.rooms.is_empty() {
            // Every socket is in its own room, so "every socket" is the namespace's sockets:
            // walked directly, without a lookup per receiver.
            let excluded = Self::excluded(&rooms, opts);
            return self.ns.sockets_where(|sid| !excluded.contains(sid));
        }
        self.ns.sockets_by_id(Self::selected(&rooms, opts))
    }

    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) -> Result<(), AdapterError> {
        let frames = packet.encode();
        for socket in self.local_sockets(opts) {
            // `on_any_outgoing` sees broadcasts too, as `broadcast_with_ack`'s emits do.
            if let Packet::Event { event, payload, .. } = packet {
                socket.notify_outgoing(event, payload);
            }
            socket.send_frames(frames.iter().cloned(), opts.flags.volatile);
        }
        Ok(())
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<AckResult>, AdapterError>> {
        let Packet::Event { event, payload, .. } = packet else {
            return Box::pin(async { Ok(Vec::new()) });
        };
        let waiting: Vec<_> = self
            .local_sockets(opts)
            .into_iter()
            .map(|socket| {
                let id = socket.id().to_owned();
                let ack = socket.emit_with_ack_payload(&event, payload.clone(), timeout);
                async move { (id, ack.await) }
            })
            .collect();
        Box::pin(async move { Ok(futures_util::future::join_all(waiting).await) })
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let nsp = self.ns.name();
        let found = self
            .local_sockets(opts)
            .into_iter()
            .map(|socket| RemoteSocket {
                id: socket.id().to_owned(),
                nsp: nsp.clone(),
                rooms: self.socket_rooms(socket.id()),
            })
            .collect();
        Box::pin(async move { Ok(found) })
    }

    fn add_sockets(
        &self,
        opts: &BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), AdapterError>> {
        for sid in self.select(opts) {
            // A local socket joins through its own limit on rooms.
            match self.ns.socket(&sid) {
                Some(socket) => socket.join(rooms.clone()),
                None => self.add_all(&sid, &rooms),
            }
        }
        Box::pin(async { Ok(()) })
    }

    fn del_sockets(
        &self,
        opts: &BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), AdapterError>> {
        for sid in self.select(opts) {
            for room in &rooms {
                self.del(&sid, room);
            }
        }
        Box::pin(async { Ok(()) })
    }

    fn disconnect_sockets(
        &self,
        opts: &BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'static, Result<(), AdapterError>> {
        for socket in self.local_sockets(opts) {
            socket.disconnect(close);
        }
        Box::pin(async { Ok(()) })
    }

    fn server_count(&self) -> BoxFuture<'static, Result<usize, AdapterError>> {
        Box::pin(async { Ok(1) })
    }
}
