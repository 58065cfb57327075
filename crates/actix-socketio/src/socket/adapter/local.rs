//! The in-memory adapter: the rooms of one process.
//!
//! It uses nothing of the crate but the adapter interface ([`SocketEmitter`] to reach the
//! sockets, [`Adapter`] to be reached), so a cluster adapter in another crate can wrap it
//! for its local half.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use super::interface::{
    AckStream, Adapter, AdapterFactory, BoxFuture, BroadcastOptions, RestoredSession, RoomEvent,
    RoomListener, SessionState, SocketEmitter, SocketInfo, Targets,
};
use super::sessions::SessionStore;
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
    /// Packets and sessions for connection state recovery, when the server has it on.
    sessions: Option<Mutex<SessionStore>>,
    rooms: RwLock<Rooms>,
    /// Told of every room change; read only when `has_listeners` says there are any, so
    /// joins and leaves build no events in the common case.
    listeners: RwLock<Vec<RoomListener>>,
    has_listeners: AtomicBool,
}

/// Every socket is in the room named by its id; those rooms are implied, not stored: a
/// set per socket for a room of one cost a few hundred bytes per connection.
#[derive(Default)]
struct Rooms {
    /// The sockets of each room joined by name.
    members: HashMap<Room, HashSet<Sid, IdHasher>>,
    /// Every local socket, with the rooms it joined by name (empty, without an
    /// allocation, for most).
    of_socket: HashMap<Sid, HashSet<Room>, IdHasher>,
}

impl Rooms {
    /// The local sockets in `room`: its members, and the socket it names.
    fn in_room<'a>(&'a self, room: &Room) -> impl Iterator<Item = &'a Sid> + 'a {
        let own = self
            .of_socket
            .get_key_value(room.as_str())
            .map(|(sid, _)| sid);
        self.members.get(room).into_iter().flatten().chain(own)
    }
}

impl LocalAdapter {
    /// An adapter delivering through `emitter`.
    pub fn new(emitter: Arc<dyn SocketEmitter>) -> LocalAdapter {
        let sessions = emitter
            .recovery()
            .map(|config| Mutex::new(SessionStore::new(*config, crate::engine::generate_id())));
        LocalAdapter {
            sessions,
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
            .flat_map(|room| rooms.in_room(room))
            .collect();
        if opts.rooms.is_empty() {
            return OwnedTargets::AllExcept(excluded.into_iter().cloned().collect());
        }
        let mut seen = HashSet::with_hasher(IdHasher::default());
        let ids = opts
            .rooms
            .iter()
            .flat_map(|room| rooms.in_room(room))
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

    /// Whether a local socket is in `room` (joined by name, or the socket it names), without
    /// listing them: what a cluster adapter asks of every one-room message it receives.
    pub fn has_room(&self, room: &str) -> bool {
        let rooms = self.read();
        rooms.members.contains_key(room) || rooms.of_socket.contains_key(room)
    }

    /// Whether socket `sid` is one of this server's.
    pub fn has_socket(&self, sid: &str) -> bool {
        self.read().of_socket.contains_key(sid)
    }

    /// The rooms of this server (socket ids included).
    pub fn local_rooms(&self) -> Vec<Room> {
        let rooms = self.read();
        let own = rooms.of_socket.keys().map(|sid| sid.to_string());
        rooms.members.keys().cloned().chain(own).collect()
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

fn lock(sessions: &Mutex<SessionStore>) -> MutexGuard<'_, SessionStore> {
    sessions.lock().unwrap_or_else(|e| e.into_inner())
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
            let state = &mut *state;
            if !state.of_socket.contains_key(&**sid) {
                state.of_socket.insert(sid.clone(), HashSet::new());
                if listening {
                    events.push(RoomEvent::Created(sid.to_string()));
                    events.push(RoomEvent::Joined {
                        room: sid.to_string(),
                        sid: sid.clone(),
                    });
                }
            }
            let own = state.of_socket.get_mut(&**sid);
            let Some(own) = own else { return };
            for room in rooms.iter().filter(|room| ***room != **sid) {
                if !own.insert(room.clone()) {
                    continue;
                }
                let members = state.members.entry(room.clone()).or_insert_with(|| {
                    if listening {
                        events.push(RoomEvent::Created(room.clone()));
                    }
                    HashSet::default()
                });
                members.insert(sid.clone());
                if listening {
                    events.push(RoomEvent::Joined {
                        room: room.clone(),
                        sid: sid.clone(),
                    });
                }
            }
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
            let state = &mut *state;
            let Some(member) = state.of_socket.get_key_value(sid).map(|(k, _)| k.clone()) else {
                return;
            };
            let Some(own) = state.of_socket.get_mut(sid) else {
                return;
            };
            // A socket stays in its own room for as long as it is connected.
            for room in rooms.iter().filter(|room| room.as_str() != sid) {
                if !own.remove(room) {
                    continue;
                }
                if let Some(members) = state.members.get_mut(room) {
                    members.remove(sid);
                    if members.is_empty() {
                        state.members.remove(room);
                        if listening {
                            events.push(RoomEvent::Left {
                                room: room.clone(),
                                sid: member.clone(),
                            });
                            events.push(RoomEvent::Deleted(room.clone()));
                        }
                        continue;
                    }
                }
                if listening {
                    events.push(RoomEvent::Left {
                        room: room.clone(),
                        sid: member.clone(),
                    });
                }
            }
        }
        if listening {
            self.notify(events);
        }
    }

    fn del_all(&self, sid: &str) {
        let listening = self.listening();
        let mut events = Vec::new();
        {
            let mut state = self.write();
            let Some((member, rooms)) = state.of_socket.remove_entry(sid) else {
                return;
            };
            for room in rooms {
                if let Some(members) = state.members.get_mut(&room) {
                    members.remove(sid);
                    let emptied = members.is_empty();
                    if emptied {
                        state.members.remove(&room);
                    }
                    if listening {
                        events.push(RoomEvent::Left {
                            room: room.clone(),
                            sid: member.clone(),
                        });
                        if emptied {
                            events.push(RoomEvent::Deleted(room));
                        }
                    }
                }
            }
            if listening {
                events.push(RoomEvent::Left {
                    room: sid.to_owned(),
                    sid: member,
                });
                events.push(RoomEvent::Deleted(sid.to_owned()));
            }
        }
        if listening {
            self.notify(events);
        }
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        let rooms = self.read();
        let Some(own) = rooms.of_socket.get(sid) else {
            return Vec::new();
        };
        let mut all = Vec::with_capacity(own.len() + 1);
        all.push(sid.to_owned());
        all.extend(own.iter().cloned());
        all
    }

    fn on_room_event(&self, listener: RoomListener) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
        self.has_listeners.store(true, Ordering::Release);
    }

    fn broadcast(&self, mut packet: Packet, opts: BroadcastOptions) -> Result<(), Error> {
        if let Some(sessions) = &self.sessions {
            lock(sessions).store(&mut packet, &opts, Instant::now());
        }
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

    fn persist_session(&self, session: SessionState) {
        if let Some(sessions) = &self.sessions {
            lock(sessions).persist(session, Instant::now());
        }
    }

    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<'static, Result<Option<RestoredSession>, Error>> {
        let restored = self
            .sessions
            .as_ref()
            .and_then(|sessions| lock(sessions).restore(&pid, &offset, Instant::now()));
        Box::pin(async move { Ok(restored) })
    }
}
