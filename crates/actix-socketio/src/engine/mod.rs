//! Engine.IO v4: the transport-level protocol under Socket.IO.
//!
//! [`packet`] and [`session`] are pure (no I/O, no clock); the transports and the service
//! are the only parts that touch actix.

pub mod config;
pub mod error;
mod frame;
mod handler;
pub mod packet;
mod registry;
mod request;
mod service;
pub mod session;
pub(crate) mod sid;
mod socket;
mod transports;

pub use config::{AllowedOrigins, Cors, EngineConfig, SidCookie};
pub use error::EngineError;
pub use handler::EngineHandler;
pub use packet::{Data, Frame, Packet};
pub use request::{RequestHeaders, RequestInfo};
pub use service::EngineIo;
pub use session::{CloseReason, TransportKind};
pub use sid::generate as generate_id;
pub use socket::EngineSocket;
