//! What can go wrong in the Socket.IO layer, and why a socket left.
//!
//! One error enum, [`Error`], for every operation; refusals the application writes itself
//! ([`ConnectError`], [`MiddlewareError`]) are plain values that carry its message.

use serde::Serialize;
use serde_json::Value;

use super::packet::{Payload, RESERVED_EVENTS};
use crate::engine::CloseReason;

/// Why a socket left its namespace; the names are the reasons Node reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed its connection, or it broke.
    TransportClose,
    /// The connection failed (protocol error on the Engine.IO level).
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent a packet that could not be decoded.
    ParseError,
    /// The server disconnected the socket (`socket.disconnect()`).
    ServerNamespaceDisconnect,
    /// The client left the namespace (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The server closed the whole connection.
    ForcedClose,
    /// The client stopped reading and its queue reached the engine's `max_buffered`.
    BufferFull,
    /// The server is closing every connection ([`SocketIo::close`](super::SocketIo::close)).
    ServerShuttingDown,
}

impl DisconnectReason {
    /// The reason as Node writes it (`"transport close"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::BufferFull => "outbound buffer full",
            DisconnectReason::ServerShuttingDown => "server shutting down",
        }
    }
}

impl DisconnectReason {
    /// Whether a client may come back from it with connection state recovery: the
    /// reasons Node keeps a session for (the connection broke or the server closed it),
    /// not those where either side chose to leave the namespace.
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::TransportClose
                | DisconnectReason::TransportError
                | DisconnectReason::PingTimeout
                | DisconnectReason::ForcedClose
                | DisconnectReason::BufferFull
                | DisconnectReason::ServerShuttingDown
        )
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => DisconnectReason::TransportClose,
            CloseReason::TransportError => DisconnectReason::TransportError,
            CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            CloseReason::ForcedClose => DisconnectReason::ForcedClose,
            CloseReason::BufferFull => DisconnectReason::BufferFull,
            CloseReason::ServerShutdown => DisconnectReason::ServerShuttingDown,
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Socket.IO operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The socket left its namespace (or its connection closed): nothing was sent.
    #[error("the socket is disconnected")]
    Disconnected,
    /// The data could not be turned into JSON: nothing was sent.
    #[error("the data could not be serialized")]
    Serialize(#[source] serde_json::Error),
    /// An event's arguments did not decode into the type a handler asked for.
    #[error("the event's data does not decode")]
    Decode(#[source] serde_json::Error),
    /// The protocol reserves this event name (`connect`, `disconnect`, …).
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    /// No answer in time: an ack, or a cluster request (Node's message).
    #[error("operation has timed out")]
    Timeout,
    /// Not every ack of a broadcast came in time; these are the ones that did.
    #[error("operation has timed out")]
    AckTimeout {
        /// The acks that arrived, in arrival order. Local sockets' acks carry all their
        /// arguments; other servers send only the first one, as Node's adapters do.
        responses: Vec<Payload>,
    },
    /// The socket would be in more rooms than `max_rooms_per_socket`; it joined none of
    /// them.
    #[error("a socket may be in at most {limit} rooms")]
    TooManyRooms {
        /// The configured `max_rooms_per_socket`.
        limit: usize,
    },
    /// A handler asked for state of a type that was never given to the server.
    #[error("no state of type {0} was given to the server")]
    MissingState(&'static str),
    /// A handler asked for a socket extension the socket does not have.
    #[error("the socket has no extension of type {0}")]
    MissingExtension(&'static str),
    /// The cluster adapter could not reach the other servers.
    #[error("the adapter failed")]
    Adapter(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Refuses the reserved event names, as Node's `emit` does.
    pub(crate) fn unless_reserved(event: &str) -> Result<(), Error> {
        if RESERVED_EVENTS.contains(&event) {
            Err(Error::ReservedEvent(event.to_owned()))
        } else {
            Ok(())
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Error::Serialize(error)
    }
}

/// Refuses a namespace connection; the client receives CONNECT_ERROR with this message
/// and data (its `connect_error` event gets an `Error` with `.message` and `.data`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// The `message` of the client's `Error`.
    pub message: String,
    /// The client's `Error.data`, when set.
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with this message and no data.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data` (serialized; left out if it does not serialize).
    pub fn with_data(mut self, data: impl Serialize) -> Self {
        self.data = serde_json::to_value(data).ok();
        self
    }

    /// The CONNECT_ERROR payload.
    pub(crate) fn to_json(&self) -> Value {
        let mut body = serde_json::Map::new();
        body.insert("message".into(), Value::String(self.message.clone()));
        if let Some(data) = &self.data {
            body.insert("data".into(), data.clone());
        }
        Value::Object(body)
    }
}

/// A packet middleware refused an event; the socket's error handlers receive it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MiddlewareError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_keep_their_names_as_disconnect_reasons() {
        for reason in [
            CloseReason::TransportClose,
            CloseReason::TransportError,
            CloseReason::PingTimeout,
            CloseReason::ForcedClose,
            CloseReason::BufferFull,
            CloseReason::ServerShutdown,
        ] {
            assert_eq!(DisconnectReason::from(reason).as_str(), reason.as_str());
        }
    }

    #[test]
    fn timeouts_say_what_node_says() {
        assert_eq!(Error::Timeout.to_string(), "operation has timed out");
        let partial = Error::AckTimeout { responses: vec![] };
        assert_eq!(partial.to_string(), "operation has timed out");
    }

    #[test]
    fn connect_errors_carry_message_and_data() {
        let refusal = ConnectError::new("not allowed").with_data(serde_json::json!({"a": 1}));
        assert_eq!(
            refusal.to_json().to_string(),
            r#"{"message":"not allowed","data":{"a":1}}"#
        );
        assert_eq!(
            ConnectError::new("no").to_json().to_string(),
            r#"{"message":"no"}"#
        );
    }
}
