//! A Socket.IO v5 and Engine.IO v4 server for actix-web.
//!
//! # Layout
//!
//! - [`engine`]: Engine.IO v4, the transport protocol.
//!   - `engine::packet`: the packet and payload codec (no I/O).
//!   - `engine::session`: the session state machine (no I/O, no clock: inputs carry
//!     `now`, outputs are packets, events and the next deadline).
//!   - `engine::transports`: HTTP long-polling and WebSocket, which only pump the state
//!     machine; with the service (request dispatcher and sessions index) they are the only
//!     code that touches actix.

pub mod engine;
pub mod socket;

pub use socket::{
    AckError, AckSender, ConnectError, DisconnectReason, EmitError, Event, Handshake, Namespace,
    ParentNamespace, Payload, Socket, SocketIo, SocketIoConfig,
};
