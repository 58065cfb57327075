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
}
