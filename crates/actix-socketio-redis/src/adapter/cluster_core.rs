//! What the sharded and the streams adapters share: socket.io-adapter's ClusterAdapter
//! protocol over pub/sub. The sharded adapter sends every message this way (SPUBLISH);
//! the streams adapter only the ephemeral ones (broadcasts with acks, fetchSockets,
//! server-side emits) and the responses (PUBLISH of @msgpack/msgpack), the rest going
//! through its stream.
//!
//! Per namespace, `KEY#nsp#` carries the messages to every node (its subscriber count is
//! the server count) and `KEY#nsp#uid#` the responses to node `uid`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix_socketio::socket::adapter::{
    Adapter, BoxFuture, BroadcastOptions, LocalAdapter, ServerEvent, SocketInfo,
};
use actix_socketio::socket::packet::Packet;
use actix_socketio::socket::Room;
use actix_socketio::{Error as SioError, Payload};
use bytes::Bytes;

use super::common::{
    answer_acks, collect_acks, fetch_result, first_arg, local_opts, local_packet, local_socket,
    ready, wire_opts, wire_packet, wire_socket, Pending, Requests,
};
use crate::config::SubscriptionMode;
use crate::links::Links;
use crate::subscriber::Message;
use crate::wire::channels::looks_like_socket_id;
use crate::wire::{ids, Body, ClusterChannels, ClusterMessage, WireError};
use crate::Error;

/// How the messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// `createShardedAdapter`: SPUBLISH of JSON (notepack msgpack when there is binary),
    /// on the room's own channel for a plain broadcast to one room in the dynamic modes.
    Sharded(SubscriptionMode),
    /// `@socket.io/redis-streams-adapter`: PUBLISH of @msgpack/msgpack, always on the
    /// namespace's channel.
    Streams,
}

/// What the adapters' futures take along to talk to the other servers.
#[derive(Clone)]
pub(crate) struct Net {
    /// This adapter's uid: 16 hex characters.
    pub(crate) uid: Arc<str>,
    pub(crate) nsp: Arc<str>,
    pub(crate) channels: Arc<ClusterChannels>,
    /// This adapter's response channel, `KEY#nsp#uid#`.
    pub(crate) responses: Arc<str>,
    transport: Transport,
    pub(crate) links: Links,
    requests: Arc<Requests>,
}

impl Net {
    pub(crate) fn new(nsp: &str, links: Links, transport: Transport) -> Net {
        let channels = ClusterChannels::new(&links.config.key, nsp);
        let uid: Arc<str> = ids::cluster_id().into();
        let responses: Arc<str> = channels.response_of(&uid).into();
        Net {
            uid,
            nsp: nsp.into(),
            channels: Arc::new(channels),
            responses,
            transport,
            links,
            requests: Arc::default(),
        }
    }

    /// How many of its requests wait for answers.
    #[cfg(test)]
    pub(crate) fn pending_requests(&self) -> usize {
        self.requests.len()
    }

    fn shard(&self) -> bool {
        matches!(self.transport, Transport::Sharded(_))
    }

    pub(crate) fn message(&self, body: Body) -> ClusterMessage {
        ClusterMessage {
            uid: self.uid.to_string(),
            nsp: self.nsp.to_string(),
            body,
        }
    }

    fn encode(&self, message: &ClusterMessage) -> Vec<u8> {
        match self.transport {
            Transport::Sharded(_) => message.encode_sharded(),
            Transport::Streams => message.encode_msgpack(),
        }
    }

    /// Reads a message of the transport.
    pub(crate) fn decode(&self, bytes: &Bytes) -> Result<ClusterMessage, WireError> {
        match self.transport {
            Transport::Sharded(_) => ClusterMessage::decode_sharded(bytes),
            Transport::Streams => ClusterMessage::decode_msgpack(bytes),
        }
    }

    /// Publishes a message where Node's `computeChannel` would: sharded, a plain
    /// broadcast to one room on the room's channel in the dynamic modes (not for a room
    /// that looks like a socket id in "dynamic"); everything else on the namespace's
    /// channel.
    pub(crate) fn publish(&self, body: Body) {
        let channel = match (&body, self.transport) {
            (
                Body::Broadcast {
                    request_id: None,
                    opts,
                    ..
                },
                Transport::Sharded(mode),
            ) => match (opts.rooms.as_slice(), mode) {
                ([room], SubscriptionMode::Dynamic) if !looks_like_socket_id(room) => {
                    self.channels.room(room)
                }
                ([room], SubscriptionMode::DynamicPrivate) => self.channels.room(room),
                _ => self.channels.main.clone(),
            },
            _ => self.channels.main.clone(),
        };
        let payload = self.encode(&self.message(body));
        self.links.outbox.publish(self.shard(), channel, payload);
    }

    /// Publishes a response on the requester's channel.
    pub(crate) fn respond(&self, requester: &str, body: Body) {
        let payload = self.encode(&self.message(body));
        self.links
            .outbox
            .publish(self.shard(), self.channels.response_of(requester), payload);
    }

    /// `PUBSUB SHARDNUMSUB KEY#nsp#` (sharded) or `PUBSUB NUMSUB KEY#nsp#` (streams).
    pub(crate) async fn server_count(&self) -> Result<usize, Error> {
        self.links
            .outbox
            .count(self.shard(), self.channels.main.clone())
            .await
    }

    pub(crate) fn timeout(&self, opts: &BroadcastOptions) -> Duration {
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

/// The [`Adapter`] methods the sharded and the streams adapters answer alike: the requests
/// to the other servers go through `self.core`; the room operations are sent with
/// `self.$send(Body)` (pub/sub or the stream) and applied here at once, so they work
/// while Redis is away.
macro_rules! cluster_requests_methods {
    ($send:ident) => {
        fn broadcast_with_ack(
            &self,
            packet: actix_socketio::socket::packet::Packet,
            opts: actix_socketio::socket::adapter::BroadcastOptions,
            timeout: std::time::Duration,
        ) -> actix_socketio::socket::adapter::BoxFuture<
            'static,
            Result<Vec<actix_socketio::Payload>, actix_socketio::Error>,
        > {
            self.core.broadcast_with_ack(packet, opts, timeout)
        }

        fn fetch_sockets(
            &self,
            opts: actix_socketio::socket::adapter::BroadcastOptions,
        ) -> actix_socketio::socket::adapter::BoxFuture<
            'static,
            Result<Vec<actix_socketio::socket::adapter::SocketInfo>, actix_socketio::Error>,
        > {
            self.core.fetch_sockets(opts)
        }

        fn add_sockets(
            &self,
            opts: actix_socketio::socket::adapter::BroadcastOptions,
            rooms: Vec<actix_socketio::socket::Room>,
        ) -> actix_socketio::socket::adapter::BoxFuture<'static, Result<(), actix_socketio::Error>>
        {
            if !opts.flags.local {
                self.$send($crate::wire::Body::SocketsJoin {
                    opts: $crate::adapter::common::wire_opts(&opts),
                    rooms: rooms.clone(),
                });
            }
            $crate::adapter::common::ready(self.core.local.add_local_sockets(&opts, &rooms))
        }

        fn del_sockets(
            &self,
            opts: actix_socketio::socket::adapter::BroadcastOptions,
            rooms: Vec<actix_socketio::socket::Room>,
        ) -> actix_socketio::socket::adapter::BoxFuture<'static, Result<(), actix_socketio::Error>>
        {
            if !opts.flags.local {
                self.$send($crate::wire::Body::SocketsLeave {
                    opts: $crate::adapter::common::wire_opts(&opts),
                    rooms: rooms.clone(),
                });
            }
            self.core.local.del_local_sockets(&opts, &rooms);
            $crate::adapter::common::ready(Ok(()))
        }

        fn disconnect_sockets(
            &self,
            opts: actix_socketio::socket::adapter::BroadcastOptions,
            close: bool,
        ) -> actix_socketio::socket::adapter::BoxFuture<'static, Result<(), actix_socketio::Error>>
        {
            if !opts.flags.local {
                self.$send($crate::wire::Body::DisconnectSockets {
                    opts: $crate::adapter::common::wire_opts(&opts),
                    close,
                });
            }
            self.core.local.disconnect_local_sockets(&opts, close);
            $crate::adapter::common::ready(Ok(()))
        }

        fn all_rooms(
            &self,
        ) -> actix_socketio::socket::adapter::BoxFuture<
            'static,
            Result<Vec<actix_socketio::socket::Room>, actix_socketio::Error>,
        > {
            self.core.all_rooms()
        }

        fn server_side_emit(
            &self,
            event: String,
            payload: actix_socketio::Payload,
            timeout: Option<std::time::Duration>,
        ) -> actix_socketio::socket::adapter::BoxFuture<
            'static,
            Result<Vec<actix_socketio::Payload>, actix_socketio::Error>,
        > {
            self.core.server_side_emit(event, payload, timeout)
        }

        fn server_count(
            &self,
        ) -> actix_socketio::socket::adapter::BoxFuture<'static, Result<usize, actix_socketio::Error>>
        {
            self.core.server_count()
        }
    };
}
pub(crate) use cluster_requests_methods;

/// A namespace's local sockets and its link to the other servers, in the ClusterAdapter
/// protocol.
pub(crate) struct Core {
    pub(crate) local: LocalAdapter,
    pub(crate) net: Net,
}

impl Core {
    /// A message from the subscription: a response if it came on this adapter's own
    /// channel.
    pub(crate) fn receive(&self, message: &Message) {
        let decoded = match self.net.decode(&message.payload) {
            Ok(decoded) => decoded,
            Err(error) => return log::debug!("ignored a message on {}: {error}", message.channel),
        };
        if *message.channel == *self.net.responses {
            self.on_response(decoded.body);
        } else {
            self.on_message(decoded);
        }
    }

    /// A message for every node, as socket.io-adapter's `onMessage` handles it.
    pub(crate) fn on_message(&self, message: ClusterMessage) {
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

    pub(crate) fn broadcast_with_ack(
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

    pub(crate) fn fetch_sockets(
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

    /// Node's ClusterAdapter has no allRooms request: every node is asked for its
    /// sockets (FETCH_SOCKETS, which Node nodes answer) and their rooms are joined.
    pub(crate) fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, SioError>> {
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

    pub(crate) fn server_side_emit(
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

    pub(crate) fn server_count(&self) -> BoxFuture<'static, Result<usize, SioError>> {
        let net = self.net.clone();
        Box::pin(async move { Ok(net.server_count().await?) })
    }
}
