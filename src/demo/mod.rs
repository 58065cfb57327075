//! The demos of sections 12.2 and 12.3: a raw WebSocket on `/ws` and Socket.IO's `news` and
//! `reply` on the root namespace, each with its page.

pub mod pages;
pub mod socketio;
pub mod ws;
