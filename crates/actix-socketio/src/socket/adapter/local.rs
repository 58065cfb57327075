//! The in-memory adapter: the rooms of one process.
//!
//! It uses nothing of the crate but the adapter interface ([`SocketEmitter`] to reach the
//! sockets, [`Adapter`] to be reached), so a cluster adapter in another crate can wrap it
//! for its local half.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use super::interface::{
    AckStream, Adapter, AdapterFactory, BoxFuture, BroadcastOptions, RoomEvent, RoomListener,
    SocketEmitter, SocketInfo, Targets,
};
use crate::socket::error::Error;
use crate::socket::packet::{Packet, Payload};
use crate::socket::rooms::{Room, Sid};

/// Socket ids are the server's own random strings, never chosen by a client: a fast hash
/// is safe for sets of them. Room names, which the application may take from clients,
/// keep std's DoS-resistant SipHash.
type IdHasher = foldhash::fast::RandomState;

/// The in-memory adapter: rooms of one process, delivery through the namespace's
/// [`SocketEmitter`].
pub struct LocalAdapter {
    emitter: Arc<dyn SocketEmitter>,
    rooms: RwLock<Rooms>,
    /// Told of every room change; read only when `has_listeners` says there are any, so
    /// joins and leaves build no events in the common case.
    listeners: RwLock<Vec<RoomListener>>,
    has_listeners: AtomicBool,
}

#[derive(Default)]
struct Rooms {
    /// The sockets of each room.
    members: HashMap<Room, HashSet<Sid, IdHasher>>,
    /// The rooms of each socket: every local socket is here, at least in its own room.
    of_socket: HashMap<Sid, HashSet<Room>, IdHasher>,
}

impl LocalAdapter {
    /// An adapter delivering through `emitter`.
    pub fn new(emitter: Arc<dyn SocketEmitter>) -> LocalAdapter {
        LocalAdapter {
            emitter,
            rooms: RwLock::new(Rooms::default()),
            listeners: RwLock::new(Vec::new()),
            has_listeners: AtomicBool::new(false),
        }
    }

    /// The factory for [`crate::SocketIoConfig::adapter`].
    pub fn factory() -> AdapterFactory {
        Arc::new(|emitter| Arc::new(LocalAdapter::new(emitter)) as Arc<dyn Adapter>)
    }

    /// The namespace's emitter, for an adapter that wraps this one.
    pub fn emitter(&self) -> &Arc<dyn SocketEmitter> {
        &self.emitter
    }

    // No user code runs while these locks are held, so a poisoned lock still guards
    // consistent data.
    fn read(&self) -> RwLockReadGuard<'_, Rooms> {
        self.rooms.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Rooms> {
        self.rooms.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The local targets of `opts`, computed under the rooms lock and owned, so the
    /// delivery that follows runs without it (outgoing listeners may join rooms).
    pub fn targets(&self, opts: &BroadcastOptions) -> OwnedTargets {
        if opts.rooms.is_empty() && opts.except.is_empty() {
            // `io.emit`: nothing to look up at all.
            return OwnedTargets::AllExcept(Vec::new());
        }
        let rooms = self.read();
        let excluded: HashSet<&Sid, IdHasher> = opts
            .except
            .iter()
            .filter_map(|room| rooms.members.get(room))
            .flatten()
            .collect();
        if opts.rooms.is_empty() {
            return OwnedTargets::AllExcept(excluded.into_iter().cloned().collect());
        }
        let mut seen = HashSet::with_hasher(IdHasher::default());
        let ids = opts
            .rooms
            .iter()
            .filter_map(|room| rooms.members.get(room))
            .flatten()
            .filter(|sid| !excluded.contains(sid) && seen.insert(*sid))
            .cloned()
            .collect();
        OwnedTargets::Only(ids)
    }

    /// The ids of the local sockets `opts` selects.
    pub fn select(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        match self.targets(opts) {
            OwnedTargets::Only(ids) => ids,
            OwnedTargets::AllExcept(excluded) => self
                .read()
                .of_socket
                .keys()
                .filter(|sid| !excluded.contains(sid))
                .cloned()
                .collect(),
        }
    }

    /// The local sockets `opts` selects, described.
    pub fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        self.select(opts)
            .into_iter()
            .filter_map(|sid| {
                let (handshake, data) = self.emitter.describe(&sid)?;
                Some(SocketInfo {
                    rooms: self.socket_rooms(&sid),
                    id: sid.to_string(),
                    handshake,
                    data,
                })
            })
            .collect()
    }

    /// Makes the local sockets `opts` selects join `rooms`; every socket that may joins,
    /// and the first refusal is returned.
    pub fn add_local_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), Error> {
        let mut refusal = None;
        for sid in self.select(opts) {
            if let Err(error) = self.emitter.join(&sid, rooms) {
                refusal.get_or_insert(error);
            }
        }
        refusal.map_or(Ok(()), Err)
    }

    /// Makes the local sockets `opts` selects leave `rooms`.
    pub fn del_local_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for sid in self.select(opts) {
            self.emitter.leave(&sid, rooms);
        }
    }

    /// Disconnects the local sockets `opts` selects.
    pub fn disconnect_local_sockets(&self, opts: &BroadcastOptions, close: bool) {
        for sid in self.select(opts) {
            self.emitter.disconnect(&sid, close);
        }
    }

    /// The rooms of this server (socket ids included).
    pub fn local_rooms(&self) -> Vec<Room> {
        self.read().members.keys().cloned().collect()
    }

    /// Delivers an event to the local sockets `opts` selects, encoded once.
    pub fn broadcast_local(&self, packet: &Packet, opts: &BroadcastOptions) -> usize {
        let frames = packet.encode();
        let targets = self.targets(opts);
        self.emitter
            .send(targets.as_targets(), packet, &frames, opts.flags)
    }

    /// Sends an event asking each local socket `opts` selects for an ack.
    pub fn broadcast_local_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> AckStream {
        let targets = self.targets(opts);
        self.emitter
            .send_with_ack(targets.as_targets(), packet, timeout)
    }

    fn notify(&self, events: Vec<RoomEvent>) {
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for event in &events {
            for listener in &listeners {
                listener(event);
            }
        }
    }

    fn listening(&self) -> bool {
        self.has_listeners.load(Ordering::Acquire)
    }
}

/// [`Targets`] that own their ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedTargets {
    /// Every local socket but these.
    AllExcept(Vec<Sid>),
    /// These sockets.
    Only(Vec<Sid>),
}

impl OwnedTargets {
    /// Borrowed, for [`SocketEmitter`] calls.
    pub fn as_targets(&self) -> Targets<'_> {
        match self {
            OwnedTargets::AllExcept(ids) => Targets::AllExcept(ids),
            OwnedTargets::Only(ids) => Targets::Only(ids),
        }
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: &Sid, rooms: &[Room]) {
        let listening = self.listening();
        let mut events = Vec::new();
        {
            let mut state = self.write();
            for room in rooms {
                if !state.members.contains_key(room) {
                    state.members.insert(room.clone(), HashSet::default());
                    if listening {
                        events.push(RoomEvent::Created(room.clone()));
                    }
                }
                let joined = state
                    .members
                    .get_mut(room)
                    .is_some_and(|members| members.insert(sid.clone()));
                if joined && listening {
                    events.push(RoomEvent::Joined {
                        room: room.clone(),
                        sid: sid.clone(),
                    });
                }
            }
            state
                .of_socket
                .entry(sid.clone())
                .or_default()
                .extend(rooms.iter().cloned());
        }
        if listening {
            self.notify(events);
        }
    }

    fn del(&self, sid: &str, rooms: &[Room]) {
        let listening = self.listening();
        let mut events = Vec::new();
        {
            let mut state = self.write();
            for room in rooms {
                let Some(members) = state.members.get_mut(room) else {
                    continue;
                };
                let Some(member) = members.take(sid) else {
                    continue;
                };
                let emptied = members.is_empty();
                if emptied {
                    state.members.remove(room);
                }
                if listening {
                    events.push(RoomEvent::Left {
                        room: room.clone(),
                        sid: member,
                    });
                    if emptied {
                        events.push(RoomEvent::Deleted(room.clone()));
                    }
                }
            }
            if let Some(own) = state.of_socket.get_mut(sid) {
                for room in rooms {
                    own.remove(room);
                }
            }
        }
        if listening {
            self.notify(events);
        }
    }

    fn del_all(&self, sid: &str) {
        let rooms: Vec<Room> = {
            let mut state = self.write();
            let Some(rooms) = state.of_socket.remove(sid) else {
                return;
            };
            rooms.into_iter().collect()
        };
        self.del(sid, &rooms);
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.read()
            .of_socket
            .get(sid)
            .map(|rooms| rooms.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn on_room_event(&self, listener: RoomListener) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
        self.has_listeners.store(true, Ordering::Release);
    }

    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), Error> {
        self.broadcast_local(&packet, &opts);
        Ok(())
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Error>> {
        Box::pin(
            self.broadcast_local_with_ack(&packet, &opts, timeout)
                .collect_responses(),
        )
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, Error>> {
        let found = self.local_sockets(&opts);
        Box::pin(async move { Ok(found) })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), Error>> {
        let joined = self.add_local_sockets(&opts, &rooms);
        Box::pin(async move { joined })
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), Error>> {
        self.del_local_sockets(&opts, &rooms);
        Box::pin(async { Ok(()) })
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'static, Result<(), Error>> {
        self.disconnect_local_sockets(&opts, close);
        Box::pin(async { Ok(()) })
    }

    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, Error>> {
        let rooms = self.local_rooms();
        Box::pin(async move { Ok(rooms) })
    }

    fn server_side_emit(
        &self,
        _event: String,
        _payload: Payload,
        _timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Error>> {
        // One server: no other server to tell, none to answer.
        Box::pin(async { Ok(Vec::new()) })
    }

    fn server_count(&self) -> BoxFuture<'static, Result<usize, Error>> {
        Box::pin(async { Ok(1) })
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}
