//! What a namespace adapter holds of its process's Redis side ([`Links`]): the
//! publisher's queue, the router of subscriptions, the settings.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

use crate::config::RedisConfig;
use crate::publisher::Outbox;
use crate::subscriber::{Message, Subscription};

/// What the dispatcher hands a namespace's messages to.
pub(crate) trait Receiver: Send + Sync {
    /// One message from a subscription this adapter made.
    fn receive(&self, message: &Message);
}

/// Subscription changes, as the [`Router`] asks for them.
pub(crate) type Changes = Arc<dyn Fn(Vec<Subscription>, bool) + Send + Sync>;

/// Which adapter each subscription belongs to. Adapters add and remove their own; the
/// change goes to the subscriber connection in the order it was made.
pub(crate) struct Router {
    routes: RwLock<HashMap<Subscription, Weak<dyn Receiver>>>,
    changes: Changes,
}

impl Router {
    pub(crate) fn new(changes: Changes) -> Self {
        Router {
            routes: RwLock::new(HashMap::new()),
            changes,
        }
    }

    /// Subscribes to `subscriptions` on behalf of `receiver`.
    pub(crate) fn add(&self, subscriptions: Vec<Subscription>, receiver: Weak<dyn Receiver>) {
        {
            let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
            for subscription in &subscriptions {
                routes.insert(subscription.clone(), receiver.clone());
            }
        }
        (self.changes)(subscriptions, true);
    }

    /// Unsubscribes.
    pub(crate) fn remove(&self, subscriptions: Vec<Subscription>) {
        {
            let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
            for subscription in &subscriptions {
                routes.remove(subscription);
            }
        }
        (self.changes)(subscriptions, false);
    }

    /// Hands a message to the adapter that subscribed to it.
    pub(crate) fn route(&self, message: &Message) {
        let receiver = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&message.subscription)
            .and_then(Weak::upgrade);
        // Outside the lock: handling may subscribe (a room created by a remote join).
        if let Some(receiver) = receiver {
            receiver.receive(message);
        }
    }
}

/// What a namespace adapter needs of the process's Redis side.
#[derive(Clone)]
pub(crate) struct Links {
    pub(crate) outbox: Outbox,
    pub(crate) router: Arc<Router>,
    pub(crate) config: Arc<RedisConfig>,
}
