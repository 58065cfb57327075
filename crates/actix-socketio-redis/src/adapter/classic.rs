//! The classic adapter, wire-compatible with `@socket.io/redis-adapter` 8.3
//! `createAdapter` (and obeying `@socket.io/redis-emitter` 5.1).
//!
//! Per namespace it PSUBSCRIBEs `KEY#nsp#*` (broadcasts, one-room channels included) and
//! SUBSCRIBEs `KEY-request#nsp#`, `KEY-response#nsp#` and its own `KEY-response#nsp#uid#`,
//! all on the process's one subscriber connection: `PUBSUB NUMSUB KEY-request#nsp#`
//! counts this server once, which is how every node (Node or Rust) counts servers.
//!
//! Where this differs from Node's code, the wire does not show it: socket joins, leaves
//! and disconnects are applied here at once and their echo is skipped by uid (Node skips
//! the local step and applies its own echo), so they work locally while Redis is away.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_socketio::socket::adapter::{
    Adapter, BoxFuture, BroadcastOptions, LocalAdapter, ServerEvent, SocketEmitter, SocketInfo,
};
use actix_socketio::socket::packet::Packet;
use actix_socketio::socket::Room;
use actix_socketio::{Error as SioError, Payload};
use bytes::Bytes;
use serde_json::Value;

use super::common::{
    answer_acks, collect_acks, fetch_result, local_opts, local_packet, local_rooms_methods,
    local_socket, ready, wire_opts, wire_packet, wire_socket, Pending, Requests,
};
use crate::links::{Links, Receiver};
use crate::subscriber::{Message, Subscription};
use crate::wire::{
    ids, Broadcast, BroadcastChannel, ClassicChannels, FetchedSocket, Request, RequestKind,
    Response, ResponseKind,
};
use crate::Error;

/// What the adapter's futures take along to talk to the other servers.
#[derive(Clone)]
struct Net {
    /// This adapter's 6-character uid.
    uid: Arc<str>,
    /// The namespace.
    nsp: Arc<str>,
    channels: Arc<ClassicChannels>,
    links: Links,
    requests: Arc<Requests>,
}

impl Net {
    fn publish(&self, channel: String, payload: Vec<u8>) {
        self.links.outbox.publish(false, channel, payload);
    }

    /// Publishes a request of this adapter on the request channel.
    fn request(&self, request_id: Option<String>, kind: RequestKind) {
        let request = Request {
            uid: Some(self.uid.to_string()),
            request_id,
            kind,
        };
        self.publish(self.channels.request.clone(), request.encode());
    }

    /// Answers `request` where Node would (`publishResponse`).
    fn respond(&self, requester: Option<&str>, request_id: &str, kind: ResponseKind) {
        let channel = match requester {
            Some(uid) if self.links.config.publish_on_specific_response_channel => {
                self.channels.response_of(uid)
            }
            _ => self.channels.response.clone(),
        };
        let response = Response {
            request_id: request_id.to_owned(),
            kind,
        };
        self.publish(channel, response.encode());
    }

    /// `PUBSUB NUMSUB KEY-request#nsp#`.
    async fn server_count(&self) -> Result<usize, Error> {
        self.links
            .outbox
            .count(false, self.channels.request.clone())
            .await
    }

    fn timeout(&self, opts: &BroadcastOptions) -> Duration {
        opts.flags
            .timeout
            .unwrap_or(self.links.config.requests_timeout)
    }
}

/// A namespace's adapter in the classic protocol.
pub struct ClassicAdapter {
    local: LocalAdapter,
    net: Net,
    subscriptions: Vec<Subscription>,
}

impl ClassicAdapter {
    /// The adapter of `emitter`'s namespace; it subscribes at once.
    pub(crate) fn new(emitter: Arc<dyn SocketEmitter>, links: Links) -> Arc<ClassicAdapter> {
        let nsp: Arc<str> = emitter.nsp().into();
        let channels = ClassicChannels::new(&links.config.key, &nsp);
        let uid: Arc<str> = ids::classic_id().into();
        let subscriptions = vec![
            Subscription::Pattern(channels.broadcast_pattern()),
            Subscription::Channel(channels.request.clone()),
            Subscription::Channel(channels.response.clone()),
            Subscription::Channel(channels.response_of(&uid)),
        ];
        let adapter = Arc::new(ClassicAdapter {
            local: LocalAdapter::new(emitter),
            net: Net {
                uid,
                nsp,
                channels: Arc::new(channels),
                links,
                requests: Arc::default(),
            },
            subscriptions,
        });
        let receiver: Weak<dyn Receiver> = Arc::downgrade(&adapter) as Weak<dyn Receiver>;
        adapter
            .net
            .links
            .router
            .add(adapter.subscriptions.clone(), receiver);
        adapter
    }

    /// This adapter's uid: 6 alphanumerics, as uid2(6).
    pub fn uid(&self) -> &str {
        &self.net.uid
    }

    /// How many of its requests wait for answers.
    #[cfg(test)]
    pub(crate) fn pending_requests(&self) -> usize {
        self.net.requests.len()
    }

    /// Whether a local socket is in `room` (Node's `hasRoom`, read before decoding a
    /// one-room broadcast).
    fn on_broadcast(&self, channel: &str, payload: &Bytes) {
        let Some(target) = self.net.channels.parse_broadcast(channel) else {
            return;
        };
        if let BroadcastChannel::Room(room) = target {
            if !self.local.has_room(room) {
                return;
            }
        }
        let broadcast = match Broadcast::decode(payload) {
            Ok(broadcast) => broadcast,
            Err(error) => return log::debug!("ignored a broadcast on {channel}: {error}"),
        };
        if *broadcast.uid == *self.net.uid || *broadcast.packet.nsp != *self.net.nsp {
            return;
        }
        let opts = local_opts(broadcast.opts);
        self.local
            .broadcast_local(&local_packet(broadcast.packet), &opts);
    }

    fn on_request(&self, payload: &Bytes) {
        let request = match Request::decode(payload) {
            Ok(request) => request,
            Err(error) => return log::debug!("ignored a request: {error}"),
        };
        let net = &self.net;
        let own = request.uid.as_deref() == Some(&*net.uid);
        let ours = request
            .request_id
            .as_deref()
            .is_some_and(|id| net.requests.contains(id));
        let requester = request.uid.as_deref();
        let id = request.request_id.as_deref();
        match request.kind {
            RequestKind::Sockets { rooms } => {
                let Some(id) = id.filter(|_| !ours) else {
                    return;
                };
                let opts = BroadcastOptions {
                    rooms,
                    ..BroadcastOptions::default()
                };
                let sids = self.local.select(&opts);
                let sockets = sids.iter().map(|sid| Value::from(&**sid)).collect();
                net.respond(requester, id, ResponseKind::Sockets(sockets));
            }
            RequestKind::AllRooms => {
                let Some(id) = id.filter(|_| !ours) else {
                    return;
                };
                net.respond(requester, id, ResponseKind::Rooms(self.local.local_rooms()));
            }
            RequestKind::RemoteFetch { opts } => {
                let Some(id) = id.filter(|_| !ours) else {
                    return;
                };
                let sockets = self
                    .local
                    .local_sockets(&local_opts(opts))
                    .into_iter()
                    .map(|info| wire_socket(info).to_value())
                    .collect();
                net.respond(requester, id, ResponseKind::Sockets(sockets));
            }
            // This adapter applied its own at once.
            RequestKind::RemoteJoin { .. }
            | RequestKind::RemoteLeave { .. }
            | RequestKind::RemoteDisconnect { .. }
                if own => {}
            RequestKind::RemoteJoin { opts, rooms } => {
                // A socket over its room limit stays out: the refusal is the local one's.
                let _ = self.local.add_local_sockets(&local_opts(opts), &rooms);
            }
            RequestKind::RemoteLeave { opts, rooms } => {
                self.local.del_local_sockets(&local_opts(opts), &rooms);
            }
            RequestKind::RemoteDisconnect { opts, close } => {
                self.local
                    .disconnect_local_sockets(&local_opts(opts), close);
            }
            RequestKind::SidJoin { sid, room } => {
                if self.is_local(&sid) {
                    let _ = self.local.emitter().join(&sid, &[room]);
                    self.legacy_done(requester, id);
                }
            }
            RequestKind::SidLeave { sid, room } => {
                if self.is_local(&sid) {
                    self.local.emitter().leave(&sid, &[room]);
                    self.legacy_done(requester, id);
                }
            }
            RequestKind::SidDisconnect { sid, close } => {
                if self.is_local(&sid) {
                    self.local.emitter().disconnect(&sid, close);
                    self.legacy_done(requester, id);
                }
            }
            RequestKind::ServerSideEmit { .. } if own => {}
            RequestKind::ServerSideEmit { event, payload } => {
                let ack = id.map(|id| {
                    let net = net.clone();
                    let id = id.to_owned();
                    Box::new(move |answer: Payload| {
                        // Always on the common channel, whatever the settings (as Node).
                        let response = Response {
                            request_id: id,
                            kind: ResponseKind::ServerSideEmit(answer.args.into_iter().next()),
                        };
                        net.publish(net.channels.response.clone(), response.encode());
                    }) as Box<dyn FnOnce(Payload) + Send>
                });
                self.local.emitter().server_event(ServerEvent {
                    name: event,
                    payload,
                    ack,
                });
            }
            RequestKind::Broadcast { .. } if ours => {}
            RequestKind::Broadcast { packet, opts } => {
                let Some(id) = id else { return };
                let opts = local_opts(opts);
                let timeout = net.timeout(&opts);
                let acks =
                    self.local
                        .broadcast_local_with_ack(&local_packet(packet), &opts, timeout);
                let acking = net.clone();
                let (ack_requester, ack_id) = (requester.map(str::to_owned), id.to_owned());
                answer_acks(
                    acks,
                    |count| net.respond(requester, id, ResponseKind::BroadcastClientCount(count)),
                    move |payload| {
                        acking.respond(
                            ack_requester.as_deref(),
                            &ack_id,
                            ResponseKind::BroadcastAck(payload),
                        )
                    },
                );
            }
        }
    }

    fn is_local(&self, sid: &str) -> bool {
        self.local.has_socket(sid)
    }

    /// Answers a legacy one-socket request (adapters before 7 wait for it).
    fn legacy_done(&self, requester: Option<&str>, id: Option<&str>) {
        if let Some(id) = id {
            self.net.respond(requester, id, ResponseKind::Done);
        }
    }

    fn on_response(&self, payload: &Bytes) {
        let response = match Response::decode(payload) {
            Ok(response) => response,
            Err(error) => return log::debug!("ignored a response: {error}"),
        };
        let requests = &self.net.requests;
        let id = response.request_id.as_str();
        match response.kind {
            ResponseKind::BroadcastClientCount(count) => requests.client_count(id, count),
            ResponseKind::BroadcastAck(payload) => requests.client_acked(id, payload),
            ResponseKind::ServerSideEmit(data) => {
                requests.server_acked(id, Payload::new(data.into_iter().collect()))
            }
            ResponseKind::Sockets(sockets) => requests.fetched(
                id,
                sockets
                    .into_iter()
                    .filter_map(|socket| FetchedSocket::from_value(socket).ok())
                    .map(|socket| local_socket(socket, &[]))
                    .collect(),
            ),
            ResponseKind::Rooms(rooms) => requests.with(id, |pending| {
                if let Pending::Rooms(gather) = pending {
                    gather.answer(|items| items.extend(rooms));
                }
            }),
            // Legacy requests are never sent from here.
            ResponseKind::Done => {}
        }
    }
}

impl Receiver for ClassicAdapter {
    fn receive(&self, message: &Message) {
        match &message.subscription {
            Subscription::Pattern(_) => self.on_broadcast(&message.channel, &message.payload),
            Subscription::Channel(channel) if *channel == self.net.channels.request => {
                self.on_request(&message.payload)
            }
            Subscription::Channel(_) => self.on_response(&message.payload),
            Subscription::Shard(_) => {}
        }
    }
}

impl Adapter for ClassicAdapter {
    local_rooms_methods!(local);

    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), SioError> {
        if !opts.flags.local {
            if let Some(mut wire) = wire_packet(&packet) {
                wire.nsp = self.net.nsp.to_string();
                let broadcast = Broadcast {
                    uid: self.net.uid.to_string(),
                    packet: wire,
                    opts: wire_opts(&opts),
                };
                self.net.publish(
                    self.net.channels.broadcast_to(&opts.rooms),
                    broadcast.encode(),
                );
            }
        }
        self.local.broadcast_local(&packet, &opts);
        Ok(())
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Payload>, SioError>> {
        let wire = wire_packet(&packet).filter(|_| !opts.flags.local);
        let Some(mut wire) = wire else {
            return self.local.broadcast_with_ack(packet, opts, timeout);
        };
        wire.nsp = self.net.nsp.to_string();
        let net = self.net.clone();
        let waiting = net.requests.acks(&ids::classic_id());
        let mut published = wire_opts(&opts);
        published.flags.set(
            "timeout",
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        );
        net.request(
            Some(waiting.id().to_owned()),
            RequestKind::Broadcast {
                packet: wire,
                opts: published,
            },
        );
        let local = self.local.broadcast_local_with_ack(&packet, &opts, timeout);
        let counting = net.clone();
        Box::pin(collect_acks(
            waiting,
            local,
            // Without a count, only this server is known to have answered.
            async move { counting.server_count().await.unwrap_or(1) },
            timeout,
        ))
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, SioError>> {
        let local = self.local.local_sockets(&opts);
        if opts.flags.local {
            return ready(Ok(local));
        }
        let net = self.net.clone();
        Box::pin(async move {
            let count = net.server_count().await?;
            if count <= 1 {
                return Ok(local);
            }
            // The local answer is one of the `count`, as Node counts it.
            let waiting = net.requests.fetch(&ids::classic_id(), count, 1, local);
            net.request(
                Some(waiting.id().to_owned()),
                RequestKind::RemoteFetch {
                    opts: wire_opts(&opts),
                },
            );
            fetch_result(waiting.finish(net.timeout(&opts)).await)
        })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), SioError>> {
        let joined = self.local.add_local_sockets(&opts, &rooms);
        if !opts.flags.local {
            self.net.request(
                None,
                RequestKind::RemoteJoin {
                    opts: wire_opts(&opts),
                    rooms,
                },
            );
        }
        ready(joined)
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), SioError>> {
        self.local.del_local_sockets(&opts, &rooms);
        if !opts.flags.local {
            self.net.request(
                None,
                RequestKind::RemoteLeave {
                    opts: wire_opts(&opts),
                    rooms,
                },
            );
        }
        ready(Ok(()))
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'static, Result<(), SioError>> {
        if !opts.flags.local {
            self.net.request(
                None,
                RequestKind::RemoteDisconnect {
                    opts: wire_opts(&opts),
                    close,
                },
            );
        }
        self.local.disconnect_local_sockets(&opts, close);
        ready(Ok(()))
    }

    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, SioError>> {
        let local = self.local.local_rooms();
        let net = self.net.clone();
        Box::pin(async move {
            let count = net.server_count().await?;
            if count <= 1 {
                return Ok(local);
            }
            let waiting = net.requests.rooms(&ids::classic_id(), count, local);
            net.request(Some(waiting.id().to_owned()), RequestKind::AllRooms);
            match waiting.finish(net.links.config.requests_timeout).await {
                (Some(Pending::Rooms(gather)), true) => {
                    let mut seen = HashSet::new();
                    Ok(gather
                        .items
                        .into_iter()
                        .filter(|room| seen.insert(room.clone()))
                        .collect())
                }
                _ => Err(SioError::Timeout),
            }
        })
    }

    fn server_side_emit(
        &self,
        event: String,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, SioError>> {
        let net = self.net.clone();
        let kind = RequestKind::ServerSideEmit { event, payload };
        let Some(timeout) = timeout else {
            net.request(None, kind);
            return ready(Ok(Vec::new()));
        };
        Box::pin(async move {
            // Every other server answers once.
            let expected = net.server_count().await?.saturating_sub(1);
            if expected == 0 {
                return Ok(Vec::new());
            }
            let waiting = net.requests.server_side_emit(&ids::classic_id(), expected);
            net.request(Some(waiting.id().to_owned()), kind);
            match waiting.finish(timeout).await {
                (Some(Pending::ServerSideEmit(gather)), true) => Ok(gather.items),
                (Some(Pending::ServerSideEmit(gather)), false) => Err(SioError::AckTimeout {
                    responses: gather.items,
                }),
                _ => Err(SioError::AckTimeout {
                    responses: Vec::new(),
                }),
            }
        })
    }

    fn server_count(&self) -> BoxFuture<'static, Result<usize, SioError>> {
        let net = self.net.clone();
        Box::pin(async move { Ok(net.server_count().await?) })
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        self.net.links.router.remove(self.subscriptions.clone());
        ready(())
    }
}
