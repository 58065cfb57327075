//! The streams adapter, wire-compatible with `@socket.io/redis-streams-adapter` 0.3, with
//! connection state recovery across nodes.
//!
//! - Broadcasts, socket joins, leaves and disconnects are entries of the stream:
//!   `XADD KEY-stream MAXLEN ~ 10000 * uid U nsp N type T data D`. An entry's id is the
//!   recovery offset of the event it carries, appended as its last argument on every
//!   node. Broadcasts reach this node's sockets from the stream reader too, its own
//!   included, so every node delivers in stream order (see `stream_reader`); when Redis
//!   does not take one, it is delivered here at once, without an offset.
//! - Broadcasts with acks, fetchSockets and server-side emits, and their answers, go over
//!   plain pub/sub as @msgpack/msgpack (`cluster_core`), on `KEY#nsp#` and `KEY#nsp#uid#`;
//!   `PUBSUB NUMSUB KEY#nsp#` is the server count.
//! - Sessions are `SET KEY-session:PID <base64 msgpack {sid,pid,rooms,data}> PX <max
//!   disconnection>`. Node writes one when a socket closes for a reason its client comes
//!   back from; this adapter also writes it as it changes while the socket is connected
//!   (`session_book`), so a client of a killed node recovers on another.
//! - A restore is `GETDEL` of the session with `XRANGE KEY-stream OFFSET OFFSET` (both
//!   must exist), then the broadcasts after the offset that reached the session's rooms,
//!   volatile ones left out (Node replays those too). What reaches the rooms while the
//!   socket is being restored is held and sent after the replay, before anything newer:
//!   no event is lost or sent twice between the replay and the live stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use actix_socketio::socket::adapter::{
    Adapter, BoxFuture, BroadcastOptions, LocalAdapter, OwnedTargets, RecoveryConfig,
    RestoredSession, SessionState, SocketEmitter, Targets,
};
use actix_socketio::socket::packet::Packet;
use actix_socketio::socket::{Room, Sid};
use actix_socketio::Error as SioError;
use serde_json::Value;
use tokio::sync::Notify;

use super::cluster_core::{cluster_requests_methods, Core, Net, Transport};
use super::common::{local_opts, local_packet, local_rooms_methods, ready, wire_opts, wire_packet};
use super::session_book::{self, SessionBook, Write};
use crate::links::{Links, Receiver};
use crate::publisher::Reply;
use crate::stream_reader::{range_entries, Entry, EntryReceiver, StreamShared};
use crate::subscriber::{Message, Subscription};
use crate::wire::streams::reaches;
use crate::wire::{Body, BroadcastOpts, ClusterMessage, EventPacket, Offset, Session};

/// Most XRANGE calls of one restore (Node's `RESTORE_SESSION_MAX_XRANGE_CALLS`); a
/// session that cannot catch up with the stream within them starts afresh.
const MAX_RANGE_CALLS: usize = 100;
/// Entries per XRANGE call.
const RANGE_COUNT: usize = 1000;
/// How long a restored session may take to connect before what is held for it goes.
const RESTORING_FOR: Duration = Duration::from_secs(30);

/// A session being restored: its rooms, and what reached them after its replay.
#[derive(Debug)]
struct Restoring {
    rooms: Vec<Room>,
    /// The last entry the replay covered.
    after: Offset,
    held: Vec<Packet>,
    /// More than the replay bound came: what was held is sent, the rest went.
    overflowed: bool,
    /// The socket is in and has what was held; the reader has not reached `after` yet,
    /// so what it delivers up to there was replayed and is not sent again.
    released: bool,
    since: Instant,
}

/// The stream as this namespace has delivered it.
#[derive(Debug, Default)]
struct Delivery {
    /// The last entry of the namespace delivered here.
    cursor: Option<Offset>,
    /// Sockets being restored, by id: left out of deliveries of what their replay
    /// covered, and of the rest until they are connected.
    restoring: HashMap<String, Restoring>,
}

/// A namespace's adapter in the streams protocol.
pub struct StreamsAdapter {
    core: Core,
    me: Weak<StreamsAdapter>,
    stream: Arc<StreamShared>,
    /// The namespace's channel and this adapter's response channel.
    subscriptions: Vec<Subscription>,
    recovery: Option<RecoveryConfig>,
    delivery: Mutex<Delivery>,
    /// Connected sockets' sessions (with recovery on).
    book: Option<Mutex<SessionBook>>,
    /// Wakes the task that writes the book's sessions.
    changes: Arc<Notify>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No user code runs under these locks.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// `XADD stream MAXLEN ~ max_len * field value …`, and its size for the queue's bound.
fn xadd(stream: &str, max_len: usize, message: &ClusterMessage) -> (redis::Cmd, usize) {
    let fields = message.to_stream_fields();
    let mut command = redis::cmd("XADD");
    command
        .arg(stream)
        .arg("MAXLEN")
        .arg("~")
        .arg(max_len)
        .arg("*");
    let mut bytes = stream.len();
    for (name, value) in &fields {
        bytes += name.len() + value.len();
        command.arg(*name).arg(value);
    }
    (command, bytes)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The packet of a stream entry to replay to a session in `rooms`: a broadcast of `nsp`
/// without acks that reached the rooms, not volatile, with the entry's id appended.
fn replayed(entry: &Entry, nsp: &str, rooms: &[Room]) -> Option<Packet> {
    // Other namespaces' entries and room changes are most of a busy stream: left out
    // before decoding.
    if entry.field("nsp") != Some(nsp.as_bytes()) || entry.field("type") != Some(b"3") {
        return None;
    }
    let message =
        ClusterMessage::from_stream_fields(entry.fields.iter().map(|(k, v)| (k, v))).ok()?;
    let Body::Broadcast {
        packet,
        request_id: None,
        opts,
    } = message.body
    else {
        return None;
    };
    if opts.flags.volatile() || !reaches(rooms, &opts.rooms, &opts.except) {
        return None;
    }
    Some(with_offset(local_packet(packet), &entry.id))
}

fn with_offset(mut packet: Packet, offset: &str) -> Packet {
    if let Packet::Event { payload, .. } = &mut packet {
        payload.args.push(Value::String(offset.to_owned()));
    }
    packet
}

/// `targets` without the sockets being restored.
fn leave_out(targets: OwnedTargets, restoring: &HashMap<String, Restoring>) -> OwnedTargets {
    if restoring.is_empty() {
        return targets;
    }
    match targets {
        OwnedTargets::Only(mut ids) => {
            ids.retain(|sid| !restoring.contains_key(&**sid));
            OwnedTargets::Only(ids)
        }
        OwnedTargets::AllExcept(mut ids) => {
            ids.extend(restoring.keys().map(|sid| Sid::from(sid.as_str())));
            OwnedTargets::AllExcept(ids)
        }
    }
}

impl StreamsAdapter {
    /// The adapter of `emitter`'s namespace; it subscribes and reads the stream at once.
    pub(crate) fn new(
        emitter: Arc<dyn SocketEmitter>,
        links: Links,
        stream: Arc<StreamShared>,
    ) -> Arc<StreamsAdapter> {
        let net = Net::new(emitter.nsp(), links, Transport::Streams);
        let subscriptions = vec![
            Subscription::Channel(net.channels.main.clone()),
            Subscription::Channel(net.responses.to_string()),
        ];
        let recovery = emitter.recovery().copied();
        let book = recovery.map(|recovery| {
            Mutex::new(SessionBook::new(
                stream.settings().session_key_prefix.clone(),
                recovery.max_disconnection_duration,
            ))
        });
        let adapter = Arc::new_cyclic(|me| StreamsAdapter {
            core: Core {
                local: LocalAdapter::new(emitter),
                net,
            },
            me: me.clone(),
            stream,
            subscriptions,
            recovery,
            delivery: Mutex::new(Delivery::default()),
            book,
            changes: Arc::new(Notify::new()),
        });
        adapter.core.net.links.router.add(
            adapter.subscriptions.clone(),
            adapter.me.clone() as Weak<dyn Receiver>,
        );
        adapter.stream.register(
            &adapter.core.net.nsp,
            adapter.me.clone() as Weak<dyn EntryReceiver>,
        );
        if adapter.book.is_some() {
            adapter
                .stream
                .runtime
                .spawn(keep_sessions(adapter.me.clone(), adapter.changes.clone()));
        }
        adapter
    }

    /// This adapter's uid: 16 hex characters.
    pub fn uid(&self) -> &str {
        &self.core.net.uid
    }

    fn outbox(&self) -> &crate::publisher::Outbox {
        &self.core.net.links.outbox
    }

    fn stream_name(&self) -> &str {
        &self.stream.settings().stream_name
    }

    /// XADDs a message nobody waits on.
    fn append(&self, body: Body) {
        let message = self.core.net.message(body);
        let settings = self.stream.settings();
        let (command, bytes) = xadd(&settings.stream_name, settings.max_len, &message);
        self.outbox().command(command, bytes, None);
    }

    /// Queues a session write.
    fn write(&self, write: Write, ttl: Duration) {
        let (command, bytes) = match write {
            Write::Set { key, value } => {
                let bytes = key.len() + value.len();
                let mut command = redis::cmd("SET");
                command
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(millis(ttl).max(1));
                (command, bytes)
            }
            Write::Del { key } => {
                let bytes = key.len();
                let mut command = redis::cmd("DEL");
                command.arg(key);
                (command, bytes)
            }
        };
        self.outbox().command(command, bytes, None);
    }

    /// Delivers a broadcast of the stream to this node's sockets, holding it for the
    /// sockets being restored that it reached.
    fn deliver(&self, offset: Offset, id: &str, packet: EventPacket, opts: BroadcastOpts) {
        let opts = local_opts(opts);
        let kept = self.recovery.is_some() && !opts.flags.volatile;
        let mut packet = local_packet(packet);
        if kept {
            packet = with_offset(packet, id);
        }
        let targets = {
            let mut delivery = lock(&self.delivery);
            delivery.cursor = Some(offset);
            if !delivery.restoring.is_empty() {
                let now = Instant::now();
                delivery
                    .restoring
                    .retain(|_, r| now.saturating_duration_since(r.since) < RESTORING_FOR);
                // A released socket takes deliveries again once the reader is past its replay.
                delivery
                    .restoring
                    .retain(|_, r| !(r.released && offset > r.after));
                let max = self.recovery.map_or(0, |r| r.max_missed_packets);
                for (sid, restoring) in delivery.restoring.iter_mut() {
                    if restoring.released {
                        continue;
                    }
                    let reached = reaches(&restoring.rooms, &opts.rooms, &opts.except);
                    if !kept || !reached || offset <= restoring.after || restoring.overflowed {
                        continue;
                    }
                    if restoring.held.len() >= max {
                        restoring.overflowed = true;
                        log::warn!(
                            "{}: more than {max} events reached socket {sid} while it was \
                             being restored; the rest went without it",
                            self.core.net.nsp
                        );
                        continue;
                    }
                    restoring.held.push(packet.clone());
                }
            }
            leave_out(self.core.local.targets(&opts), &delivery.restoring)
        };
        let frames = packet.encode();
        self.core
            .local
            .emitter()
            .send(targets.as_targets(), &packet, &frames, opts.flags);
    }

    /// The sockets the restore of a session in `rooms` covered up to `after` are held
    /// for from now on, if the reader has not gone past `after` (else the restore reads
    /// on). A socket of the same id still here (its connection died unnoticed) goes.
    fn hold_for(&self, sid: &str, rooms: &[Room], after: Offset) -> bool {
        {
            let mut delivery = lock(&self.delivery);
            if delivery.cursor.is_some_and(|cursor| cursor > after) {
                return false;
            }
            delivery.restoring.insert(
                sid.to_owned(),
                Restoring {
                    rooms: rooms.to_vec(),
                    after,
                    held: Vec::new(),
                    overflowed: false,
                    released: false,
                    since: Instant::now(),
                },
            );
        }
        if self.core.local.has_socket(sid) {
            self.core.local.emitter().disconnect(sid, true);
        }
        true
    }

    /// Sends a restored socket what was held for it, then lets deliveries reach it (those
    /// after its replay, if the reader is not there yet).
    fn release(&self, sid: &str) {
        loop {
            let held = {
                let mut delivery = lock(&self.delivery);
                let cursor = delivery.cursor;
                match delivery.restoring.get_mut(sid) {
                    Some(restoring) if restoring.released => return,
                    Some(restoring) if !restoring.held.is_empty() => {
                        std::mem::take(&mut restoring.held)
                    }
                    Some(restoring) if cursor.is_none_or(|c| c < restoring.after) => {
                        restoring.released = true;
                        return;
                    }
                    Some(_) => {
                        delivery.restoring.remove(sid);
                        return;
                    }
                    None => return,
                }
            };
            // Outside the lock (outgoing listeners are application code); anything the
            // reader holds meanwhile is sent by the next turn, before the socket is let in.
            let target = [Sid::from(sid)];
            for packet in held {
                let frames = packet.encode();
                self.core.local.emitter().send(
                    Targets::Only(&target),
                    &packet,
                    &frames,
                    Default::default(),
                );
            }
        }
    }

    /// A broadcast Redis did not take: delivered here at once, without an offset.
    fn deliver_unstreamed(&self, packet: Packet, opts: BroadcastOptions) {
        let Some(adapter) = self.me.upgrade() else {
            return;
        };
        self.stream.deliver(Box::new(move || {
            adapter.core.local.broadcast_local(&packet, &opts);
        }));
    }

    /// Restores session `pid` from `offset`: see the module's description.
    async fn restore(
        me: Weak<StreamsAdapter>,
        recovery: RecoveryConfig,
        pid: String,
        offset: Offset,
    ) -> Result<Option<RestoredSession>, SioError> {
        let Some(adapter) = me.upgrade() else {
            return Ok(None);
        };
        let outbox = adapter.outbox().clone();
        let stream = adapter.stream_name().to_owned();
        let nsp = adapter.core.net.nsp.to_string();
        let key = format!("{}{pid}", adapter.stream.settings().session_key_prefix);
        drop(adapter);
        let mut getdel = redis::cmd("GETDEL");
        getdel.arg(&key);
        let mut at = redis::cmd("XRANGE");
        let id = offset.to_string();
        at.arg(&stream).arg(&id).arg(&id);
        let (stored, found) = tokio::join!(
            outbox.query(getdel, key.len()),
            outbox.query(at, stream.len() + 2 * id.len())
        );
        let (stored, found) = (stored?, found?);
        let redis::Value::BulkString(stored) = stored else {
            return Ok(None);
        };
        if range_entries(&found).is_empty() {
            return Ok(None);
        }
        let state = match Session::decode(&stored) {
            Ok(session) => session_book::decode(session),
            Err(error) => {
                log::debug!("{nsp}: ignored the stored session {key}: {error}");
                return Ok(None);
            }
        };
        let mut missed = Vec::new();
        let mut last = offset;
        for _ in 0..MAX_RANGE_CALLS {
            let mut range = redis::cmd("XRANGE");
            let start = last.next().to_string();
            range
                .arg(&stream)
                .arg(&start)
                .arg("+")
                .arg("COUNT")
                .arg(RANGE_COUNT);
            let entries = range_entries(&outbox.query(range, stream.len() + start.len()).await?);
            if entries.is_empty() {
                let Some(adapter) = me.upgrade() else {
                    return Ok(None);
                };
                if adapter.hold_for(&state.sid, &state.rooms, last) {
                    return Ok(Some(RestoredSession { state, missed }));
                }
                // The reader went past the end of this read: read what it delivered.
                continue;
            }
            for entry in &entries {
                if let Some(packet) = replayed(entry, &nsp, &state.rooms) {
                    missed.push(packet);
                    if missed.len() > recovery.max_missed_packets {
                        return Ok(None);
                    }
                }
                if let Some(id) = Offset::parse(&entry.id) {
                    last = id;
                }
            }
        }
        Ok(None)
    }
}

/// Writes the book's sessions: a round shortly after a change (gathering a burst into
/// one write per session), and whenever refreshes come due.
async fn keep_sessions(me: Weak<StreamsAdapter>, changes: Arc<Notify>) {
    // Looked at again at least this often, so the task ends soon after its adapter.
    const IDLE: Duration = Duration::from_secs(1);
    loop {
        let (wait, delay) = {
            let Some(adapter) = me.upgrade() else { return };
            let Some(book) = &adapter.book else { return };
            let book = lock(book);
            let settings = adapter.stream.settings();
            let next = book.next_refresh();
            let now = Instant::now();
            let wait = match next {
                _ if book.has_changes() => Duration::ZERO,
                Some(at) => at.saturating_duration_since(now).min(IDLE),
                None => IDLE,
            };
            (wait, settings.session_write_delay)
        };
        tokio::select! {
            () = changes.notified() => tokio::time::sleep(delay).await,
            () = tokio::time::sleep(wait) => {}
        }
        let Some(adapter) = me.upgrade() else { return };
        let Some(book) = &adapter.book else { return };
        // Queued under the book's lock, so a socket's close or discard, which writes
        // under it too, cannot be overtaken by an older state of its session.
        let mut book = lock(book);
        let ttl = book.ttl();
        for write in book.due(Instant::now(), adapter.stream.settings().max_session_writes) {
            adapter.write(write, ttl);
        }
    }
}

impl EntryReceiver for StreamsAdapter {
    fn entry(&self, entry: &Entry) {
        let Some(offset) = Offset::parse(&entry.id) else {
            return;
        };
        let message =
            match ClusterMessage::from_stream_fields(entry.fields.iter().map(|(k, v)| (k, v))) {
                Ok(message) => message,
                Err(error) => return log::debug!("ignored stream entry {}: {error}", entry.id),
            };
        if *message.nsp != *self.core.net.nsp {
            return;
        }
        let own = *message.uid == *self.core.net.uid;
        match message.body {
            Body::Broadcast {
                packet,
                request_id: None,
                opts,
            } => self.deliver(offset, &entry.id, packet, opts),
            // Applied here when they were made.
            Body::SocketsJoin { .. }
            | Body::SocketsLeave { .. }
            | Body::DisconnectSockets { .. }
                if own => {}
            body @ (Body::SocketsJoin { .. }
            | Body::SocketsLeave { .. }
            | Body::DisconnectSockets { .. }) => {
                self.core.on_message(ClusterMessage { body, ..message })
            }
            // Nodes put nothing else in the stream.
            _ => {}
        }
    }
}

impl Receiver for StreamsAdapter {
    fn receive(&self, message: &Message) {
        self.core.receive(message);
    }
}

impl Adapter for StreamsAdapter {
    local_rooms_methods!(core.local);

    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), SioError> {
        let wire = wire_packet(&packet).filter(|_| !opts.flags.local);
        let Some(wire) = wire else {
            self.core.local.broadcast_local(&packet, &opts);
            return Ok(());
        };
        let message = self.core.net.message(Body::Broadcast {
            packet: wire,
            request_id: None,
            opts: wire_opts(&opts),
        });
        let settings = self.stream.settings();
        let (command, bytes) = xadd(&settings.stream_name, settings.max_len, &message);
        let me = self.me.clone();
        // Delivered here by the stream reader; only if Redis does not take it, at once.
        let reply = Reply::new(move |answer| {
            if let (Err(error), Some(adapter)) = (answer, me.upgrade()) {
                log::debug!("a broadcast went without the stream: {error}");
                adapter.deliver_unstreamed(packet, opts);
            }
        });
        self.outbox().command(command, bytes, Some(reply));
        Ok(())
    }

    cluster_requests_methods!(append);

    fn close(&self) -> BoxFuture<'static, ()> {
        self.core
            .net
            .links
            .router
            .remove(self.subscriptions.clone());
        self.stream.unregister(&self.core.net.nsp);
        ready(())
    }

    fn persist_session(&self, session: SessionState) {
        if let Some(book) = &self.book {
            let mut book = lock(book);
            let write = book.closed(&session);
            self.write(write, book.ttl());
        }
    }

    fn session_changed(&self, session: SessionState) {
        self.release(&session.sid);
        if let Some(book) = &self.book {
            lock(book).changed(session);
            self.changes.notify_one();
        }
    }

    fn discard_session(&self, pid: &str) {
        if let Some(book) = &self.book {
            let mut book = lock(book);
            let write = book.discarded(pid);
            self.write(write, book.ttl());
        }
    }

    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<'static, Result<Option<RestoredSession>, SioError>> {
        // As Node: only an offset of the stream's form is looked up.
        let (Some(recovery), Some(offset)) = (self.recovery, Offset::parse(&offset)) else {
            return ready(Ok(None));
        };
        Box::pin(StreamsAdapter::restore(
            self.me.clone(),
            recovery,
            pid,
            offset,
        ))
    }
}
