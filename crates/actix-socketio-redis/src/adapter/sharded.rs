//! The sharded adapter, wire-compatible with `@socket.io/redis-adapter` 8.3
//! `createShardedAdapter`: socket.io-adapter's ClusterAdapter protocol over Redis 7
//! sharded pub/sub.
//!
//! Per namespace it SSUBSCRIBEs `KEY#nsp#` (every message; `PUBSUB SHARDNUMSUB` of it is
//! the server count) and its own response channel `KEY#nsp#uid#`; in the dynamic modes
//! also `KEY#nsp#room#` for each room while it exists here (public rooms only in
//! "dynamic"), so a plain broadcast to one room reaches only the nodes that have it.
//!
//! Node's ClusterAdapter has no allRooms request; here [`Adapter::all_rooms`] asks every
//! node for its sockets (FETCH_SOCKETS, which Node nodes answer) and joins their rooms.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use actix_socketio::socket::adapter::{
    Adapter, BoxFuture, BroadcastOptions, LocalAdapter, RoomEvent, RoomListener, ServerEvent,
    SocketEmitter, SocketInfo,
};
use actix_socketio::socket::packet::Packet;
use actix_socketio::socket::{Room, Sid};
use actix_socketio::{Error as SioError, Payload};

use super::shared::{
    answer_acks, collect_acks, fetch_result, first_arg, local_opts, local_packet, local_socket,
    wire_opts, wire_packet, wire_socket, Pending, Receiver, Requests,
};
use crate::config::SubscriptionMode;
use crate::links::Links;
use crate::subscriber::{Message, Subscription};
use crate::wire::channels::looks_like_socket_id;
use crate::wire::{ids, Body, ClusterChannels, ClusterMessage};
use crate::Error;

/// What the adapter's futures take along to talk to the other servers.
#[derive(Clone)]
struct Net {
    /// This adapter's uid: 16 hex characters.
    uid: Arc<str>,
    nsp: Arc<str>,
    channels: Arc<ClusterChannels>,
    /// This adapter's response channel, `KEY#nsp#uid#`.
    responses: Arc<str>,
    mode: SubscriptionMode,
    links: Links,
    requests: Arc<Requests>,
}

impl Net {
    fn message(&self, body: Body) -> ClusterMessage {
        ClusterMessage {
            uid: self.uid.to_string(),
            nsp: self.nsp.to_string(),
            body,
        }
    }

    /// SPUBLISHes a message where Node's `computeChannel` would: a plain broadcast to one
    /// room on the room's channel in the dynamic modes (not for a room that looks like a
    /// socket id in "dynamic"), everything else on the namespace's channel.
    fn publish(&self, body: Body) {
        let channel = match &body {
            Body::Broadcast {
                request_id: None,
                opts,
                ..
            } => match (opts.rooms.as_slice(), self.mode) {
                ([room], SubscriptionMode::Dynamic) if !looks_like_socket_id(room) => {
                    self.channels.room(room)
                }
                ([room], SubscriptionMode::DynamicPrivate) => self.channels.room(room),
                _ => self.channels.main.clone(),
            },
            _ => self.channels.main.clone(),
        };
        let message = self.message(body);
        self.links
            .outbox
            .publish(true, channel, message.encode_sharded());
    }

    /// SPUBLISHes a response on the requester's channel.
    fn respond(&self, requester: &str, body: Body) {
        let message = self.message(body);
        self.links.outbox.publish(
            true,
            self.channels.response_of(requester),
            message.encode_sharded(),
        );
    }

    /// `PUBSUB SHARDNUMSUB KEY#nsp#`.
    async fn server_count(&self) -> Result<usize, Error> {
        self.links
            .outbox
            .count(true, self.channels.main.clone())
            .await
    }

    fn timeout(&self, opts: &BroadcastOptions) -> Duration {
        opts.flags
            .timeout
            .unwrap_or(self.links.config.requests_timeout)
    }

    /// Asks every other server for the sockets `opts` selects.
    async fn fetch(
        &self,
        opts: BroadcastOptions,
        local: Vec<SocketInfo>,
    ) -> Result<Vec<SocketInfo>, SioError> {
        let expected = self.server_count().await?.saturating_sub(1);
        if expected == 0 {
            return Ok(local);
        }
        let waiting = self.requests.fetch(&ids::cluster_id(), expected, 0, local);
        self.publish(Body::FetchSockets {
            opts: wire_opts(&opts),
            request_id: waiting.id().to_owned(),
        });
        fetch_result(waiting.finish(self.timeout(&opts)).await)
    }
}

/// A namespace's adapter in the sharded protocol.
pub struct ShardedAdapter {
    local: LocalAdapter,
    net: Net,
    /// Itself, for the routes of the room channels it subscribes to later.
    me: Weak<ShardedAdapter>,
    /// The namespace's channel and the response channel.
    subscriptions: Vec<Subscription>,
    /// Rooms whose channel is subscribed (dynamic modes).
    rooms: Mutex<HashSet<Room>>,
}

impl ShardedAdapter {
    /// The adapter of `emitter`'s namespace; it subscribes at once.
    pub(crate) fn new(
        emitter: Arc<dyn SocketEmitter>,
        links: Links,
        mode: SubscriptionMode,
    ) -> Arc<ShardedAdapter> {
        let nsp: Arc<str> = emitter.nsp().into();
        let channels = ClusterChannels::new(&links.config.key, &nsp);
        let uid: Arc<str> = ids::cluster_id().into();
        let responses: Arc<str> = channels.response_of(&uid).into();
        let subscriptions = vec![
            Subscription::Shard(channels.main.clone()),
            Subscription::Shard(responses.to_string()),
        ];
        let adapter = Arc::new_cyclic(|me| ShardedAdapter {
            local: LocalAdapter::new(emitter),
            net: Net {
                uid,
                nsp,
                channels: Arc::new(channels),
                responses,
                mode,
                links,
                requests: Arc::default(),
            },
            me: me.clone(),
            subscriptions,
            rooms: Mutex::new(HashSet::new()),
        });
        adapter
            .net
            .links
            .router
            .add(adapter.subscriptions.clone(), adapter.receiver());
        if mode != SubscriptionMode::Static {
            let me = adapter.me.clone();
            adapter.local.on_room_event(Arc::new(move |event| {
                if let Some(adapter) = me.upgrade() {
                    adapter.on_room_event_here(event);
                }
            }));
        }
        adapter
    }

    /// This adapter's uid: 16 hex characters.
    pub fn uid(&self) -> &str {
        &self.net.uid
    }

    /// How many of its requests wait for answers.
    #[cfg(test)]
    pub(crate) fn pending_requests(&self) -> usize {
        self.net.requests.len()
    }

    fn receiver(&self) -> Weak<dyn Receiver> {
        self.me.clone() as Weak<dyn Receiver>
    }

    fn room_subscription(&self, room: &str) -> Subscription {
        Subscription::Shard(self.net.channels.room(room))
    }

    /// Node's `shouldUseASeparateNamespace`: a room other than a local socket's own in
    /// "dynamic", any room in "dynamic-private".
    fn has_own_channel(&self, room: &str) -> bool {
        match self.net.mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => self.local.socket_rooms(room).is_empty(),
            SubscriptionMode::DynamicPrivate => true,
        }
    }

    /// Subscribes a room's channel when it is created here, unsubscribes when deleted.
    fn on_room_event_here(&self, event: &RoomEvent) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            RoomEvent::Created(room)
                if self.has_own_channel(room) && rooms.insert(room.clone()) =>
            {
                self.net
                    .links
                    .router
                    .add(vec![self.room_subscription(room)], self.receiver());
            }
            RoomEvent::Deleted(room) if rooms.remove(room) => {
                self.net
                    .links
                    .router
                    .remove(vec![self.room_subscription(room)]);
            }
            _ => {}
        }
    }

    fn on_message(&self, message: ClusterMessage) {
        if *message.uid == *self.net.uid || *message.nsp != *self.net.nsp {
            return;
        }
        let requester = message.uid;
        match message.body {
            Body::Broadcast {
                packet,
                request_id: None,
                opts,
            } => {
                self.local
                    .broadcast_local(&local_packet(packet), &local_opts(opts));
            }
            Body::Broadcast {
                packet,
                request_id: Some(id),
                opts,
            } => {
                let opts = local_opts(opts);
                let timeout = self.net.timeout(&opts);
                let acks =
                    self.local
                        .broadcast_local_with_ack(&local_packet(packet), &opts, timeout);
                let (net, acking) = (self.net.clone(), self.net.clone());
                let ack_id = id.clone();
                let ack_requester = requester.clone();
                answer_acks(
                    acks,
                    |client_count| {
                        net.respond(
                            &requester,
                            Body::BroadcastClientCount {
                                request_id: id,
                                client_count,
                            },
                        )
                    },
                    move |packet| {
                        acking.respond(
                            &ack_requester,
                            Body::BroadcastAck {
                                request_id: ack_id.clone(),
                                packet,
                            },
                        )
                    },
                );
            }
            Body::SocketsJoin { opts, rooms } => {
                // A socket over its room limit stays out: the refusal is the local one's.
                let _ = self.local.add_local_sockets(&local_opts(opts), &rooms);
            }
            Body::SocketsLeave { opts, rooms } => {
                self.local.del_local_sockets(&local_opts(opts), &rooms);
            }
            Body::DisconnectSockets { opts, close } => {
                self.local
                    .disconnect_local_sockets(&local_opts(opts), close);
            }
            Body::FetchSockets { opts, request_id } => {
                let sockets = self
                    .local
                    .local_sockets(&local_opts(opts))
                    .into_iter()
                    .map(wire_socket)
                    .collect();
                self.net.respond(
                    &requester,
                    Body::FetchSocketsResponse {
                        request_id,
                        sockets,
                        binary: Vec::new(),
                    },
                );
            }
            Body::ServerSideEmit {
                request_id,
                event,
                payload,
            } => {
                let ack = request_id.map(|request_id| {
                    let net = self.net.clone();
                    Box::new(move |answer: Payload| {
                        net.respond(
                            &requester,
                            Body::ServerSideEmitResponse {
                                request_id,
                                packet: first_arg(&answer),
                            },
                        );
                    }) as Box<dyn FnOnce(Payload) + Send>
                });
                self.local.emitter().server_event(ServerEvent {
                    name: event,
                    payload,
                    ack,
                });
            }
            // Senders may put responses on the common channel too.
            body @ (Body::FetchSocketsResponse { .. }
            | Body::ServerSideEmitResponse { .. }
            | Body::BroadcastClientCount { .. }
            | Body::BroadcastAck { .. }) => self.on_response(body),
            // The Redis adapters count servers by subscribers, not by heartbeats.
            Body::InitialHeartbeat | Body::Heartbeat | Body::AdapterClose => {}
        }
    }

    fn on_response(&self, body: Body) {
        let requests = &self.net.requests;
        match body {
            Body::FetchSocketsResponse {
                request_id,
                sockets,
                binary,
            } => requests.fetched(
                &request_id,
                sockets
                    .into_iter()
                    .map(|socket| local_socket(socket, &binary))
                    .collect(),
            ),
            Body::ServerSideEmitResponse { request_id, packet } => {
                requests.server_acked(&request_id, packet)
            }
            Body::BroadcastClientCount {
                request_id,
                client_count,
            } => requests.client_count(&request_id, client_count),
            Body::BroadcastAck { request_id, packet } => requests.client_acked(&request_id, packet),
            _ => {}
        }
    }
}

impl Receiver for ShardedAdapter {
    fn receive(&self, message: &Message) {
        let decoded = match ClusterMessage::decode_sharded(&message.payload) {
            Ok(decoded) => decoded,
            Err(error) => return log::debug!("ignored a message on {}: {error}", message.channel),
        };
        if *message.channel == *self.net.responses {
            self.on_response(decoded.body);
        } else {
            self.on_message(decoded);
        }
    }
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

impl Adapter for ShardedAdapter {
    fn add_all(&self, sid: &Sid, rooms: &[Room]) {
        self.local.add_all(sid, rooms);
    }

    fn del(&self, sid: &str, rooms: &[Room]) {
        self.local.del(sid, rooms);
    }

    fn del_all(&self, sid: &str) {
        self.local.del_all(sid);
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.local.socket_rooms(sid)
    }

    fn on_room_event(&self, listener: RoomListener) {
        self.local.on_room_event(listener);
    }

    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), SioError> {
        if !opts.flags.local {
            if let Some(wire) = wire_packet(&packet) {
                self.net.publish(Body::Broadcast {
                    packet: wire,
                    request_id: None,
                    opts: wire_opts(&opts),
                });
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
        let Some(wire) = wire else {
            return self.local.broadcast_with_ack(packet, opts, timeout);
        };
        let net = self.net.clone();
        let waiting = net.requests.acks(&ids::cluster_id());
        let mut published = wire_opts(&opts);
        published.flags.set(
            "timeout",
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        );
        net.publish(Body::Broadcast {
            packet: wire,
            request_id: Some(waiting.id().to_owned()),
            opts: published,
        });
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
        Box::pin(async move { net.fetch(opts, local).await })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), SioError>> {
        if !opts.flags.local {
            self.net.publish(Body::SocketsJoin {
                opts: wire_opts(&opts),
                rooms: rooms.clone(),
            });
        }
        ready(self.local.add_local_sockets(&opts, &rooms))
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), SioError>> {
        if !opts.flags.local {
            self.net.publish(Body::SocketsLeave {
                opts: wire_opts(&opts),
                rooms: rooms.clone(),
            });
        }
        self.local.del_local_sockets(&opts, &rooms);
        ready(Ok(()))
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'static, Result<(), SioError>> {
        if !opts.flags.local {
            self.net.publish(Body::DisconnectSockets {
                opts: wire_opts(&opts),
                close,
            });
        }
        self.local.disconnect_local_sockets(&opts, close);
        ready(Ok(()))
    }

    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, SioError>> {
        let local_rooms = self.local.local_rooms();
        let net = self.net.clone();
        Box::pin(async move {
            let remote = net.fetch(BroadcastOptions::default(), Vec::new()).await?;
            let mut seen = HashSet::new();
            Ok(local_rooms
                .into_iter()
                .chain(remote.into_iter().flat_map(|socket| socket.rooms))
                .filter(|room| seen.insert(room.clone()))
                .collect())
        })
    }

    fn server_side_emit(
        &self,
        event: String,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, SioError>> {
        let net = self.net.clone();
        let Some(timeout) = timeout else {
            net.publish(Body::ServerSideEmit {
                request_id: None,
                event,
                payload,
            });
            return ready(Ok(Vec::new()));
        };
        Box::pin(async move {
            let expected = net.server_count().await?.saturating_sub(1);
            if expected == 0 {
                return Ok(Vec::new());
            }
            let waiting = net.requests.server_side_emit(&ids::cluster_id(), expected);
            net.publish(Body::ServerSideEmit {
                request_id: Some(waiting.id().to_owned()),
                event,
                payload,
            });
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
        let mut subscriptions = self.subscriptions.clone();
        let rooms = std::mem::take(&mut *self.rooms.lock().unwrap_or_else(|e| e.into_inner()));
        subscriptions.extend(rooms.iter().map(|room| self.room_subscription(room)));
        self.net.links.router.remove(subscriptions);
        ready(())
    }
}
