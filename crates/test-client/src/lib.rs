//! The raw Socket.IO client of the workspace's tests (the library's and gif-chat's): it
//! speaks the wire protocol over one Engine.IO WebSocket, so a test can send and expect
//! exact frames. Every wait is bounded, so a misbehaving server fails a test instead of
//! hanging it.
//!
//! - [`RawClient`]: text and binary frames in and out; pings are answered by a background
//!   task; joining a namespace returns the socket id.
//! - [`SocketClient`]: one namespace, as JSON: emit (with an ack), wait for an event by name.
//! - [`TcpWs`]: a WebSocket written on bare TCP, for frames no WebSocket library sends.
//! - [`within`], [`STEP`] and [`Reports`] (what server handlers report to the test).

mod raw;
mod reports;
mod socket;
mod tcp;
mod time;

pub use raw::{Connect, Incoming, RawClient, WsEnd, WsTransport};
pub use reports::{reports, Reports};
pub use socket::{Joined, SocketClient};
pub use tcp::{TcpWs, OPCODE_CLOSE, OPCODE_TEXT};
pub use time::{within, STEP};
