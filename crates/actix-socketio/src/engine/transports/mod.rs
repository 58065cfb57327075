//! The transports: they only move bytes between actix and the session state machine.

pub(crate) mod polling;
pub(crate) mod websocket;
