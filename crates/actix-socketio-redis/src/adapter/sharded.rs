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

use actix_socketio::socket::adapter::{
    Adapter, BoxFuture, BroadcastOptions, LocalAdapter, RoomEvent, SocketEmitter,
};
use actix_socketio::socket::packet::Packet;
use actix_socketio::socket::Room;
use actix_socketio::Error as SioError;

use super::cluster_core::{cluster_requests_methods, Core, Net, Transport};
use super::common::{local_rooms_methods, ready, wire_opts, wire_packet};
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

    /// Sends a message nobody waits on (SPUBLISH).
    fn publish(&self, body: Body) {
        self.core.net.publish(body);
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
            SubscriptionMode::Dynamic => !self.core.local.has_socket(room),
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

impl Adapter for ShardedAdapter {
    local_rooms_methods!(core.local);

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

    cluster_requests_methods!(publish);

    fn close(&self) -> BoxFuture<'static, ()> {
        let mut subscriptions = self.subscriptions.clone();
        let rooms = std::mem::take(&mut *self.rooms.lock().unwrap_or_else(|e| e.into_inner()));
        subscriptions.extend(rooms.iter().map(|room| self.room_subscription(room)));
        self.core.net.links.router.remove(subscriptions);
        ready(())
    }
}
