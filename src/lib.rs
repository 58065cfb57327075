//! gif-chat: chapter 12 of the Node.js textbook (real-time GIF chat) on actix-web.
//!
//! `main` only boots; everything else lives here so the integration tests can build the
//! exact same app with [`app::build_app`].
//!
//! Modules build on the ones below them, never the other way round (`make lint` checks
//! that no files import each other in a cycle):
//! - `app`: the routes, the middleware around them, the app data;
//! - `middleware`, `shutdown`, and the HTTP handlers (`chat::pages`, `chat::uploads`,
//!   `demo::pages`, `demo::ws`);
//! - `state`: [`state::AppState`], shared by every handler, and the app's limits;
//! - the chat hub and its namespaces (`chat`), the Socket.IO demo (`demo::socketio`);
//! - `store`, `config`, `error`, `csrf`'s origin check, `identity`, `validation`, `live`.

pub mod app;
pub mod chat;
pub mod config;
mod csrf;
pub mod demo;
pub mod error;
pub mod identity;
pub mod live;
pub mod middleware;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod validation;
