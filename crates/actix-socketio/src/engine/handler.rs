//! What runs on top of Engine.IO: the callbacks a session's inputs are delivered to.

use super::packet::Data;
use super::session::CloseReason;
use super::socket::EngineSocket;

/// What runs on top of Engine.IO: Socket.IO, or an application speaking plain Engine.IO.
///
/// The callbacks run on the worker that received the input, with no lock held, so they may
/// send on any socket. They should return quickly; long work belongs in a spawned task.
pub trait EngineHandler: Send + Sync + 'static {
    /// What the handler keeps per session, created at the handshake.
    type Data: Send + Sync + 'static;

    /// A session opened; returns what the handler keeps for it.
    fn on_open(&self, socket: &EngineSocket) -> Self::Data;
    /// A message from the client.
    fn on_message(&self, socket: &EngineSocket, data: &Self::Data, message: Data);
    /// The session ended; called once, last.
    fn on_close(&self, socket: &EngineSocket, data: &Self::Data, reason: CloseReason);
}
