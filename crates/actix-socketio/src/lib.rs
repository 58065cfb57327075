//! A Socket.IO v5 and Engine.IO v4 server for actix-web.
//!
//! It speaks to the official socket.io client (browser and Node) without special settings:
//! HTTP long-polling with upgrade to WebSocket, heartbeats, payload limits, namespaces,
//! events, acks both ways, binary attachments, rooms, broadcasts and middleware.
//!
//! ```no_run
//! use actix_socketio::{Event, Socket, SocketIo, SocketIoConfig};
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = SocketIo::new(SocketIoConfig::default());
//! io.on_connect(|socket: Socket| async move {
//!     socket.join("lobby");
//!     socket.on("chat", |socket: Socket, mut event: Event| async move {
//!         // Everyone else in the lobby gets the message; the sender gets an ack.
//!         let _ = socket.to("lobby").emit_payload("chat", event.payload().clone());
//!         let _ = event.ack("delivered");
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
//! # Layout
//!
//! - [`engine`]: Engine.IO v4, the transport protocol.
//!   - `engine::packet`: the packet and payload codec (no I/O).
//!   - `engine::session`: the session state machine (no I/O, no clock: inputs carry
//!     `now`, outputs are packets, events and the next deadline).
//!   - `engine::transports`: HTTP long-polling and WebSocket, which only pump the state
//!     machine; with the service (request dispatcher and sessions index) they are the only
//!     code that touches actix.
//! - [`socket`]: Socket.IO v5 on top.
//!   - `socket::packet`: the packet codec, binary attachments included (no I/O).
//!   - `socket::client`: one Engine.IO connection, with one [`Socket`] per namespace.
//!   - `socket::namespace`, `socket::socket`: the user API (handlers, emits, acks, rooms).
//!   - `socket::broadcast`, `socket::adapter`: who receives a broadcast; the [`socket::Adapter`]
//!     trait keeps rooms and can be replaced by a cluster adapter.
//!   - `socket::server`: configuration, namespaces, mounting, the official client files.

#![warn(missing_docs)]

pub mod engine;
pub mod socket;
mod sync;

pub use socket::{
    AckSender, Bin, BroadcastOperator, ConnectError, Data, DisconnectReason, Error, Event,
    Extension, Handshake, Namespace, ParentNamespace, Payload, RemoteSocket, Socket, SocketIo,
    SocketIoBuilder, SocketIoConfig, State, TryData, WeakSocket,
};
