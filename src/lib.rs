//! gif-chat: chapter 12 of the Node.js textbook (real-time GIF chat) on actix-web.
//!
//! `main` only boots; everything else lives here so the integration tests can build the
//! exact same app with [`app::build_app`].

pub mod app;
pub mod chat;
pub mod config;
mod csrf;
pub mod error;
pub mod identity;
pub mod live;
mod logging;
pub mod news;
mod pages;
mod routes;
pub mod security_headers;
pub mod shutdown;
pub mod slow_body;
pub mod store;
pub mod uploads;
pub mod validation;
pub mod ws;
