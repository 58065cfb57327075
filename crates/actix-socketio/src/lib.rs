//! A Socket.IO v5 and Engine.IO v4 server for actix-web.
//!
//! It speaks to the official socket.io client (browser and Node) without special settings:
//! HTTP long-polling with upgrade to WebSocket, heartbeats, payload limits, namespaces,
//! events, acks both ways, binary attachments, rooms, broadcasts, middleware, and a
//! public adapter interface for clusters.
//!
//! ```no_run
//! use actix_socketio::{AckSender, Data, Socket, SocketIo, SocketIoConfig};
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = SocketIo::new(SocketIoConfig::default());
//! io.on_connect(|socket: Socket| async move {
//!     let _ = socket.join("lobby");
//!     socket.on("chat", |socket: Socket, Data(text): Data<String>, ack: AckSender| async move {
//!         // Everyone else in the lobby gets the message; the sender gets an ack.
//!         let _ = socket.to("lobby").emit("chat", &text);
//!         let _ = ack.send("delivered");
//!     });
//! });
//! actix_web::HttpServer::new(move || {
//!     let io = io.clone();
//!     actix_web::App::new().configure(move |cfg| io.mount(cfg))
//! })
//! // Lets actix drop a long-poll whose client went away, which closes its session.
//! .h1_allow_half_closed(false)
//! .bind(("127.0.0.1", 3000))?
//! .run()
//! .await
//! # }
//! ```
//!
//! Handlers take extractors ([`Data`], [`TryData`], [`State`], [`Extension`], [`Bin`],
//! [`AckSender`], [`Socket`], [`Event`]) in any order; state given to
//! [`SocketIo::builder`] reaches every handler through [`State`].
//!
//! # Layout
//!
//! Each layer uses only the ones below it, and no file imports a file that imports it
//! back (`make lint` checks).
//!
//! - [`engine`]: Engine.IO v4, the transport protocol.
//!   - `engine::packet`: the packet and payload codec (no I/O).
//!   - `engine::session`: the session state machine (no I/O, no clock: inputs carry
//!     `now`, outputs are packets, events and the next deadline).
//!   - `engine::socket`, `engine::handler`: the application's handle on a session, and
//!     the callbacks a session's events reach.
//!   - `engine::registry`: the sessions index, shared by all workers.
//!   - `engine::transports`: HTTP long-polling and WebSocket, which only pump the state
//!     machine; with `engine::service` (the request dispatcher) they are the only code
//!     that touches actix.
//! - [`socket`]: Socket.IO v5 on top; its module doc lists its files in order.
//!
//! # Writing an adapter
//!
//! Every namespace has an [`Adapter`](socket::adapter::Adapter), built by
//! [`SocketIoConfig::adapter`] from the namespace's
//! [`SocketEmitter`](socket::adapter::SocketEmitter). The emitter is all an adapter sees
//! of the namespace's sockets: it delivers an already-encoded packet to targets by id (or
//! to all but some ids), sends a packet asking each target for an ack and streams the
//! answers, makes a socket join, leave or disconnect, describes a socket (handshake and
//! data) and hands server-side events from other servers to the namespace's listeners.
//!
//! A cluster adapter usually keeps a [`LocalAdapter`](socket::adapter::LocalAdapter) for
//! its own sockets (rooms, selection, local delivery; its `*_local*` methods are public for
//! this) and adds the network:
//!
//! - `broadcast`: deliver locally, publish unless `opts.flags.local`;
//! - `broadcast_with_ack`: publish, collect each server's count of receivers and then
//!   that many acks, together with the local
//!   [`AckStream`](socket::adapter::AckStream), until `timeout`;
//! - `fetch_sockets`, `all_rooms`, `server_count`: ask every server and merge the answers;
//! - `add_sockets`, `del_sockets`, `disconnect_sockets`: apply locally and publish;
//! - `server_side_emit`: publish; answers come back from the others' listeners
//!   ([`Namespace::on_server_event`]);
//! - answer the other servers' requests with the local half through the emitter;
//! - `on_room_event`: rooms created, deleted, joined and left here (for adapters that
//!   subscribe per room).
//!
//! `crates/actix-socketio/tests/adapter.rs` has an adapter that counts each call and
//! delegates: every operation of the public API goes through the interface.

#![warn(missing_docs)]

pub mod engine;
pub mod socket;
mod sync;

pub use socket::{
    AckSender, Bin, BroadcastOperator, ConnectError, Data, DisconnectReason, Error, Event,
    Extension, Handshake, Namespace, ParentNamespace, Payload, RecoveryConfig, RemoteSocket,
    Socket, SocketIo, SocketIoBuilder, SocketIoConfig, State, TryData, WeakSocket,
};
