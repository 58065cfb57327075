//! What the namespace adapters share: the move between the library's types and the
//! wire's, the table of requests waiting for other servers' answers, and the way a
//! broadcast with acks is known to be complete.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_socketio::socket::adapter::{
    AckStream, BoxFuture, BroadcastFlags, BroadcastOptions, SocketInfo,
};
use actix_socketio::socket::handshake::HandshakeInfo;
use actix_socketio::socket::packet::Packet;
use actix_socketio::{Error as SioError, Payload};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::wire::{json, BroadcastOpts, EventPacket, FetchedSocket, Flags};

/// A future already done: the adapters' operations that finish at once.
pub(crate) fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

/// The [`Adapter`](actix_socketio::socket::adapter::Adapter) methods that only keep this
/// server's rooms, which every adapter leaves to its `LocalAdapter` at `self.$local`.
macro_rules! local_rooms_methods {
    ($($local:ident).+) => {
        fn add_all(&self, sid: &actix_socketio::socket::Sid, rooms: &[actix_socketio::socket::Room]) {
            self.$($local).+.add_all(sid, rooms);
        }

        fn del(&self, sid: &str, rooms: &[actix_socketio::socket::Room]) {
            self.$($local).+.del(sid, rooms);
        }

        fn del_all(&self, sid: &str) {
            self.$($local).+.del_all(sid);
        }

        fn socket_rooms(&self, sid: &str) -> Vec<actix_socketio::socket::Room> {
            self.$($local).+.socket_rooms(sid)
        }

        fn on_room_event(&self, listener: actix_socketio::socket::adapter::RoomListener) {
            self.$($local).+.on_room_event(listener);
        }
    };
}
pub(crate) use local_rooms_methods;

/// Options as they go on the wire: flags in Node's names, the local flag never (a local
/// operation is never published).
pub(crate) fn wire_opts(opts: &BroadcastOptions) -> BroadcastOpts {
    let mut flags = Flags::new();
    if opts.flags.volatile {
        flags.set("volatile", true);
    }
    if opts.flags.compress {
        flags.set("compress", true);
    }
    if let Some(timeout) = opts.flags.timeout {
        flags.set(
            "timeout",
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        );
    }
    BroadcastOpts {
        rooms: opts.rooms.clone(),
        except: opts.except.clone(),
        flags,
    }
}

/// Options read from the wire. A remote `local` flag is not this server's business: the
/// sender applied it by publishing.
pub(crate) fn local_opts(opts: BroadcastOpts) -> BroadcastOptions {
    BroadcastOptions {
        rooms: opts.rooms,
        except: opts.except,
        flags: BroadcastFlags {
            local: false,
            volatile: opts.flags.volatile(),
            compress: opts.flags.compress().unwrap_or(false),
            timeout: opts.flags.timeout().map(Duration::from_millis),
        },
    }
}

/// An event packet of the library as the wire's; `None` for other packet types, which
/// are not broadcast across servers.
pub(crate) fn wire_packet(packet: &Packet) -> Option<EventPacket> {
    match packet {
        Packet::Event {
            nsp,
            event,
            payload,
            ..
        } => Some(EventPacket::new(
            nsp.clone(),
            event.clone(),
            payload.clone(),
        )),
        _ => None,
    }
}

/// A packet from the wire as the library's: no ack id (each server assigns its own).
pub(crate) fn local_packet(packet: EventPacket) -> Packet {
    Packet::Event {
        nsp: packet.nsp,
        event: packet.event,
        payload: packet.payload,
        id: None,
    }
}

/// A socket of this server as the wire's fetch answer carries it.
pub(crate) fn wire_socket(info: SocketInfo) -> FetchedSocket {
    FetchedSocket {
        handshake: serde_json::to_value(&info.handshake).unwrap_or(Value::Null),
        id: info.id,
        rooms: info.rooms,
        data: info.data,
    }
}

/// A socket of another server. A handshake of an unexpected shape shows as empty rather
/// than losing the socket; binary in the data (only the sharded adapter's msgpack
/// answers carry any) reads as Node's `{"type":"Buffer","data":[...]}`.
pub(crate) fn local_socket(socket: FetchedSocket, binary: &[Bytes]) -> SocketInfo {
    let mut data = socket.data;
    if !binary.is_empty() {
        data = json::parse(json::to_string(&data, binary).as_bytes()).unwrap_or(Value::Null);
    }
    SocketInfo {
        handshake: serde_json::from_value::<HandshakeInfo>(socket.handshake).unwrap_or_default(),
        id: socket.id,
        rooms: socket.rooms,
        data,
    }
}

/// A remote server's ack (Node sends only its first argument) as a payload of zero or
/// one argument.
pub(crate) fn first_arg(payload: &Payload) -> Payload {
    match payload.args.first() {
        Some(arg) => Payload {
            args: vec![arg.clone()],
            binary: payload.binary.clone(),
        },
        None => Payload::default(),
    }
}

/// Counts answers until `expected` came.
#[derive(Debug)]
pub(crate) struct Gather<T> {
    /// Answers awaited; the local result counts as one where Node counts it so.
    expected: usize,
    /// Answers so far.
    got: usize,
    /// What they said.
    pub(crate) items: T,
    /// Told once every answer came.
    done: Option<oneshot::Sender<()>>,
}

impl<T> Gather<T> {
    fn new(expected: usize, got: usize, items: T, done: oneshot::Sender<()>) -> Self {
        let mut gather = Gather {
            expected,
            got,
            items,
            done: Some(done),
        };
        gather.check();
        gather
    }

    /// One more answer, added to the items by `add`.
    pub(crate) fn answer(&mut self, add: impl FnOnce(&mut T)) {
        if self.got >= self.expected {
            // A server that answers twice (or an answer to a stale request) is not one
            // more server.
            return;
        }
        self.got += 1;
        add(&mut self.items);
        self.check();
    }

    fn check(&mut self) {
        if self.got >= self.expected {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
    }
}

/// A broadcast with acks is complete when every server said how many clients it sent the
/// event to, and that many acks came (socket.io's broadcast operator, to the letter).
#[derive(Debug, Default)]
pub(crate) struct AckTally {
    /// The server count, once known.
    expected_servers: Option<usize>,
    /// Servers that gave their client count (this one included).
    servers: usize,
    /// Acks the counts announce.
    expected_clients: u64,
    /// The acks so far.
    responses: Vec<Payload>,
    /// Told when complete.
    done: Option<oneshot::Sender<()>>,
}

impl AckTally {
    fn new(done: oneshot::Sender<()>) -> Self {
        AckTally {
            done: Some(done),
            ..AckTally::default()
        }
    }

    /// A server's count of clients it sent the event to.
    pub(crate) fn client_count(&mut self, count: u64) {
        self.servers += 1;
        self.expected_clients = self.expected_clients.saturating_add(count);
        self.check();
    }

    /// One client's ack.
    pub(crate) fn ack(&mut self, payload: Payload) {
        self.responses.push(payload);
        self.check();
    }

    /// How many servers there are (this one included).
    pub(crate) fn server_count(&mut self, count: usize) {
        self.expected_servers = Some(count);
        self.check();
    }

    /// Whether every server and every client answered.
    pub(crate) fn complete(&self) -> bool {
        self.expected_servers == Some(self.servers)
            && self.responses.len() as u64 == self.expected_clients
    }

    fn check(&mut self) {
        if self.complete() {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
    }
}

/// A request of this server waiting for other servers' answers.
#[derive(Debug)]
pub(crate) enum Pending {
    /// fetchSockets: sockets of each server.
    Fetch(Gather<Vec<SocketInfo>>),
    /// allRooms (classic): each server's rooms.
    Rooms(Gather<Vec<String>>),
    /// serverSideEmit with acks: one answer per other server.
    ServerSideEmit(Gather<Vec<Payload>>),
    /// A broadcast with acks: client counts, then acks.
    Acks(AckTally),
}

/// This server's requests, by request id. Each is removed when its answers are all in or
/// its time is up, whichever comes first.
#[derive(Debug, Default)]
pub(crate) struct Requests(Mutex<HashMap<String, Pending>>);

impl Requests {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Pending>> {
        // Only this module's short updates run under the lock.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many requests wait for answers.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether `id` is one of this server's requests (Node's test for its own echo).
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    fn insert(&self, id: &str, pending: Pending) {
        self.lock().insert(id.to_owned(), pending);
    }

    fn take(&self, id: &str) -> Option<Pending> {
        self.lock().remove(id)
    }

    /// Applies `update` to the request `id`, if it is still waiting.
    pub(crate) fn with(&self, id: &str, update: impl FnOnce(&mut Pending)) {
        if let Some(pending) = self.lock().get_mut(id) {
            update(pending);
        }
    }

    /// A fetch's answer from one server.
    pub(crate) fn fetched(&self, id: &str, sockets: Vec<SocketInfo>) {
        self.with(id, |pending| {
            if let Pending::Fetch(gather) = pending {
                gather.answer(|items| items.extend(sockets));
            }
        });
    }

    /// One server's ack to a server-side emit.
    pub(crate) fn server_acked(&self, id: &str, payload: Payload) {
        self.with(id, |pending| {
            if let Pending::ServerSideEmit(gather) = pending {
                gather.answer(|items| items.push(payload));
            }
        });
    }

    /// A server's client count for a broadcast with acks.
    pub(crate) fn client_count(&self, id: &str, count: u64) {
        self.with(id, |pending| {
            if let Pending::Acks(tally) = pending {
                tally.client_count(count);
            }
        });
    }

    /// A client's ack to a broadcast.
    pub(crate) fn client_acked(&self, id: &str, payload: Payload) {
        self.with(id, |pending| {
            if let Pending::Acks(tally) = pending {
                tally.ack(payload);
            }
        });
    }

    /// Registers the fetch `id`, with the local sockets and `got` of the `expected`
    /// answers already in (Node's classic adapter counts the local answer as one).
    pub(crate) fn fetch(
        self: &Arc<Self>,
        id: &str,
        expected: usize,
        got: usize,
        local: Vec<SocketInfo>,
    ) -> Waiting {
        let (done, wait) = oneshot::channel();
        self.insert(id, Pending::Fetch(Gather::new(expected, got, local, done)));
        self.waiting(id, wait)
    }

    /// Registers an allRooms request.
    pub(crate) fn rooms(
        self: &Arc<Self>,
        id: &str,
        expected: usize,
        local: Vec<String>,
    ) -> Waiting {
        let (done, wait) = oneshot::channel();
        self.insert(id, Pending::Rooms(Gather::new(expected, 1, local, done)));
        self.waiting(id, wait)
    }

    /// Registers a server-side emit waiting for `expected` answers.
    pub(crate) fn server_side_emit(self: &Arc<Self>, id: &str, expected: usize) -> Waiting {
        let (done, wait) = oneshot::channel();
        self.insert(
            id,
            Pending::ServerSideEmit(Gather::new(expected, 0, Vec::new(), done)),
        );
        self.waiting(id, wait)
    }

    /// Registers a broadcast with acks.
    pub(crate) fn acks(self: &Arc<Self>, id: &str) -> Waiting {
        let (done, wait) = oneshot::channel();
        self.insert(id, Pending::Acks(AckTally::new(done)));
        self.waiting(id, wait)
    }

    fn waiting(self: &Arc<Self>, id: &str, wait: oneshot::Receiver<()>) -> Waiting {
        Waiting {
            requests: self.clone(),
            id: id.to_owned(),
            wait: Some(wait),
        }
    }
}

/// A registered request: removed from the table when it finishes, or when its caller
/// stops waiting (the future is dropped), so no request outlives its caller.
pub(crate) struct Waiting {
    requests: Arc<Requests>,
    id: String,
    wait: Option<oneshot::Receiver<()>>,
}

impl Waiting {
    /// The request id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Waits until the request is complete or `timeout` passes, then removes it: its
    /// answers, and whether they are all there.
    pub(crate) async fn finish(mut self, timeout: Duration) -> (Option<Pending>, bool) {
        let complete = match self.wait.take() {
            Some(wait) => matches!(tokio::time::timeout(timeout, wait).await, Ok(Ok(()))),
            None => false,
        };
        (self.requests.take(&self.id), complete)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.requests.take(&self.id);
    }
}

/// The results of a finished fetch: the sockets, or the library's timeout.
pub(crate) fn fetch_result(
    (pending, complete): (Option<Pending>, bool),
) -> Result<Vec<SocketInfo>, SioError> {
    match pending {
        Some(Pending::Fetch(gather)) if complete => Ok(gather.items),
        _ => Err(SioError::Timeout),
    }
}

/// Collects a broadcast's acks: this server's sockets count as one server (their client
/// count first, then each ack as it comes), the others answer through the request
/// table; done when the tally is complete, or with the acks so far when `timeout` ends.
pub(crate) async fn collect_acks(
    mut waiting: Waiting,
    local: AckStream,
    server_count: impl std::future::Future<Output = usize>,
    timeout: Duration,
) -> Result<Vec<Payload>, SioError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let requests = waiting.requests.clone();
    let id = waiting.id.clone();
    requests.client_count(&id, local.sent() as u64);
    let local_acks = async {
        let mut local = local;
        while let Some((_, answer)) = local.next().await {
            if let Ok(payload) = answer {
                requests.client_acked(&id, payload);
            }
        }
        // Every local answer is in: only the others are awaited now.
        std::future::pending::<()>().await;
    };
    let counted = async {
        let count = server_count.await;
        requests.with(&id, |pending| {
            if let Pending::Acks(tally) = pending {
                tally.server_count(count);
            }
        });
        std::future::pending::<()>().await;
    };
    let complete = match waiting.wait.take() {
        Some(wait) => tokio::select! {
            done = wait => done.is_ok(),
            () = tokio::time::sleep_until(deadline) => false,
            () = local_acks => false,
            () = counted => false,
        },
        None => false,
    };
    match requests.take(&id) {
        Some(Pending::Acks(tally)) if complete => Ok(tally.responses),
        Some(Pending::Acks(tally)) => Err(SioError::AckTimeout {
            responses: tally.responses,
        }),
        _ => Err(SioError::AckTimeout {
            responses: Vec::new(),
        }),
    }
}

/// Answers another server's broadcast with acks from this server's sockets: the client
/// count through `count`, then each ack (its first argument) through `ack`, as they come.
pub(crate) fn answer_acks(
    local: AckStream,
    count: impl FnOnce(u64),
    ack: impl Fn(Payload) + Send + 'static,
) {
    count(local.sent() as u64);
    if local.sent() == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut local = local;
        while let Some((_, answer)) = local.next().await {
            if let Ok(payload) = answer {
                ack(first_arg(&payload));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_ack_tally_completes_as_the_broadcast_operator_does() {
        let (done, mut wait) = oneshot::channel();
        let mut tally = AckTally::new(done);
        // The local server: 2 clients, and one acks before the count is known.
        tally.client_count(2);
        tally.ack(Payload::new(vec![json!(1)]));
        tally.server_count(2);
        assert!(!tally.complete());
        tally.ack(Payload::new(vec![json!(2)]));
        // Both local acks are in, but the second server has not said its count.
        assert!(!tally.complete());
        assert!(wait.try_recv().is_err());
        tally.client_count(0);
        assert!(tally.complete());
        assert!(wait.try_recv().is_ok());
    }

    #[test]
    fn a_gather_counts_each_answer_once() {
        let (done, mut wait) = oneshot::channel();
        let mut gather = Gather::new(3, 1, vec![1], done);
        gather.answer(|items| items.push(2));
        assert!(wait.try_recv().is_err());
        gather.answer(|items| items.push(3));
        assert!(wait.try_recv().is_ok());
        gather.answer(|items| items.push(4));
        assert_eq!(gather.items, [1, 2, 3]);
        // Nobody else to ask: complete at once.
        let (done, mut wait) = oneshot::channel();
        let _ = Gather::new(1, 1, (), done);
        assert!(wait.try_recv().is_ok());
    }

    #[test]
    fn options_cross_the_wire_with_node_flag_names() {
        let opts = BroadcastOptions {
            rooms: vec!["a".into()],
            except: vec!["b".into()],
            flags: BroadcastFlags {
                local: true,
                volatile: true,
                compress: false,
                timeout: Some(Duration::from_millis(1500)),
            },
        };
        let wire = wire_opts(&opts);
        assert_eq!(
            wire.flags.to_value().to_string(),
            r#"{"volatile":true,"timeout":1500}"#
        );
        let back = local_opts(wire);
        assert_eq!(
            back,
            BroadcastOptions {
                flags: BroadcastFlags {
                    local: false,
                    ..opts.flags
                },
                ..opts
            }
        );
    }
}
