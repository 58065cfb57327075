//! What the library's black-box tests share: an Engine.IO echo server with HTTP and
//! WebSocket clients (`engine`), a Socket.IO server starter (`socketio`), and the
//! workspace's raw Socket.IO client (the `test-client` crate).
//!
//! Every helper is bounded by a timeout, so a misbehaving server fails a test instead of
//! hanging it.

// Every test crate includes this module and uses a different part of it.
#![allow(dead_code)]

mod engine;
mod socketio;

// Each test names what it needs from here.
#[allow(unused_imports)]
pub use engine::*;
#[allow(unused_imports)]
pub use socketio::*;
#[allow(unused_imports)]
pub use test_client::{
    reports, within, Incoming, RawClient, Reports, TcpWs, WsEnd, OPCODE_CLOSE, OPCODE_TEXT, STEP,
};
