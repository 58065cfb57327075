//! The sharded adapter, wire-compatible with `@socket.io/redis-adapter` 8.3
//! `createShardedAdapter`: socket.io-adapter's ClusterAdapter protocol over Redis 7
//! sharded pub/sub.
//!
//! Per namespace it SSUBSCRIBEs `KEY#nsp#` (every message; `PUBSUB SHARDNUMSUB` of it is
//! the server count) and its own response channel `KEY#nsp#uid#`; in the dynamic modes
//! also `KEY#nsp#room#` for each room while it exists here (public rooms only in
//! "dynamic"), so a plain broadcast to one room reaches only the nodes that have it.
//!
//! The protocol itself is in `cluster_core`, shared with the streams adapter.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use actix_socketio::socket::adapter::{
    Adapter, BoxFuture, BroadcastOptions, LocalAdapter, RoomEvent, RoomListener, SocketEmitter,
    SocketInfo,
};
use actix_socketio::socket::packet::Packet;
use actix_socketio::socket::{Room, Sid};
use actix_socketio::{Error as SioError, Payload};

use super::cluster_core::{Core, Net, Transport};
use super::common::{wire_opts, wire_packet};
use crate::config::SubscriptionMode;
use crate::links::{Links, Receiver};
use crate::subscriber::{Message, Subscription};
use crate::wire::Body;

/// A namespace's adapter in the sharded protocol.
pub struct ShardedAdapter {
    core: Core,
    mode: SubscriptionMode,
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
        let net = Net::new(emitter.nsp(), links, Transport::Sharded(mode));
        let subscriptions = vec![
            Subscription::Shard(net.channels.main.clone()),
            Subscription::Shard(net.responses.to_string()),
        ];
        let adapter = Arc::new_cyclic(|me| ShardedAdapter {
            core: Core {
                local: LocalAdapter::new(emitter),
                net,
            },
            mode,
            me: me.clone(),
            subscriptions,
            rooms: Mutex::new(HashSet::new()),
        });
        adapter
            .core
            .net
            .links
            .router
            .add(adapter.subscriptions.clone(), adapter.receiver());
        if mode != SubscriptionMode::Static {
            let me = adapter.me.clone();
            adapter.core.local.on_room_event(Arc::new(move |event| {
                if let Some(adapter) = me.upgrade() {
                    adapter.on_room_event_here(event);
                }
            }));
        }
        adapter
    }

    /// This adapter's uid: 16 hex characters.
    pub fn uid(&self) -> &str {
        &self.core.net.uid
    }

    /// How many of its requests wait for answers.
    #[cfg(test)]
    pub(crate) fn pending_requests(&self) -> usize {
        self.core.net.pending_requests()
    }

    fn receiver(&self) -> Weak<dyn Receiver> {
        self.me.clone() as Weak<dyn Receiver>
    }

    fn room_subscription(&self, room: &str) -> Subscription {
        Subscription::Shard(self.core.net.channels.room(room))
    }

    /// Node's `shouldUseASeparateNamespace`: a room other than a local socket's own in
    /// "dynamic", any room in "dynamic-private".
    fn has_own_channel(&self, room: &str) -> bool {
        match self.mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => self.core.local.socket_rooms(room).is_empty(),
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
                self.core
                    .net
                    .links
                    .router
                    .add(vec![self.room_subscription(room)], self.receiver());
            }
            RoomEvent::Deleted(room) if rooms.remove(room) => {
                self.core
                    .net
                    .links
                    .router
                    .remove(vec![self.room_subscription(room)]);
            }
            _ => {}
        }
    }
}

impl Receiver for ShardedAdapter {
    fn receive(&self, message: &Message) {
        self.core.receive(message);
    }
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

impl Adapter for ShardedAdapter {
    fn add_all(&self, sid: &Sid, rooms: &[Room]) {
        self.core.local.add_all(sid, rooms);
    }

    fn del(&self, sid: &str, rooms: &[Room]) {
        self.core.local.del(sid, rooms);
    }

    fn del_all(&self, sid: &str) {
        self.core.local.del_all(sid);
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.core.local.socket_rooms(sid)
    }

    fn on_room_event(&self, listener: RoomListener) {
        self.core.local.on_room_event(listener);
    }

    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), SioError> {
        if !opts.flags.local {
            if let Some(wire) = wire_packet(&packet) {
                self.core.net.publish(Body::Broadcast {
                    packet: wire,
                    request_id: None,
                    opts: wire_opts(&opts),
                });
            }
        }
        self.core.local.broadcast_local(&packet, &opts);
        Ok(())
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Payload>, SioError>> {
        self.core.broadcast_with_ack(packet, opts, timeout)
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, SioError>> {
        self.core.fetch_sockets(opts)
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), SioError>> {
        if !opts.flags.local {
            self.core.net.publish(Body::SocketsJoin {
                opts: wire_opts(&opts),
                rooms: rooms.clone(),
            });
        }
        ready(self.core.local.add_local_sockets(&opts, &rooms))
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'static, Result<(), SioError>> {
        if !opts.flags.local {
            self.core.net.publish(Body::SocketsLeave {
                opts: wire_opts(&opts),
                rooms: rooms.clone(),
            });
        }
        self.core.local.del_local_sockets(&opts, &rooms);
        ready(Ok(()))
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'static, Result<(), SioError>> {
        if !opts.flags.local {
            self.core.net.publish(Body::DisconnectSockets {
                opts: wire_opts(&opts),
                close,
            });
        }
        self.core.local.disconnect_local_sockets(&opts, close);
        ready(Ok(()))
    }

    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, SioError>> {
        self.core.all_rooms()
    }

    fn server_side_emit(
        &self,
        event: String,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, SioError>> {
        self.core.server_side_emit(event, payload, timeout)
    }

    fn server_count(&self) -> BoxFuture<'static, Result<usize, SioError>> {
        self.core.server_count()
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let mut subscriptions = self.subscriptions.clone();
        let rooms = std::mem::take(&mut *self.rooms.lock().unwrap_or_else(|e| e.into_inner()));
        subscriptions.extend(rooms.iter().map(|room| self.room_subscription(room)));
        self.core.net.links.router.remove(subscriptions);
        ready(())
    }
}
