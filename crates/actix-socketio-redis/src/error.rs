//! The one error type of the crate's I/O side.

/// Why an operation that talks to Redis failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event name is one Socket.IO reserves (`connect`, `disconnect`, ...); Node's
    /// emitter throws for these too.
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    /// The data could not be turned into JSON.
    #[error("the data could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The subscriber task is gone (the runtime is shutting down).
    #[error("the subscriber connection is closed")]
    SubscriberClosed,
    /// Redis refused the command or could not be reached.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The publishing connection is down and reconnecting: the other servers cannot be
    /// asked now.
    #[error("Redis is unreachable: the other servers cannot be reached")]
    Unreachable,
    /// More messages wait to be published than the configured bounds allow; this one
    /// was dropped.
    #[error("the queue of messages to Redis is full")]
    QueueFull,
    /// The cluster was started outside an actix runtime: server-side events run their
    /// listeners on one, as every other handler does.
    #[error("RedisCluster::connect must run on an actix runtime (#[actix_web::main])")]
    NoActixRuntime,
}

impl From<Error> for actix_socketio::Error {
    fn from(error: Error) -> Self {
        actix_socketio::Error::Adapter(Box::new(error))
    }
}
