//! A small chat room: the whole server side of a Socket.IO app in one file.
//!
//! `cargo run -p actix-socketio --example chat`, then open http://localhost:3000 in two
//! tabs. The page loads the official client from `/socket.io/socket.io.js` (installed by
//! `npm ci` at the workspace root, or point `SOCKETIO_CLIENT_DIR` at its `dist/`).

use std::path::PathBuf;

use actix_socketio::{AckSender, Extension, Socket, SocketIo, SocketIoConfig, TryData};
use actix_web::{web, App, HttpResponse, HttpServer};
use serde::{Deserialize, Serialize};

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>chat</title>
<ul id="log"></ul>
<form id="form"><input id="name" placeholder="name" size="8"><input id="text" autocomplete="off"><button>send</button></form>
<script src="/socket.io/socket.io.js"></script>
<script>
  const socket = io();
  const log = document.getElementById("log");
  const show = (line) => { const li = document.createElement("li"); li.textContent = line; log.append(li); };
  socket.on("message", (m) => show(`${m.name}: ${m.text}`));
  socket.on("left", (n) => show(`${n} left`));
  document.getElementById("form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const message = { name: document.getElementById("name").value || "anon", text: document.getElementById("text").value };
    const reply = await socket.emitWithAck("message", message);
    if (!reply.ok) show(`not sent: ${reply.error}`);
    document.getElementById("text").value = "";
  });
</script>"#;

#[derive(Deserialize, Serialize)]
struct Message {
    name: String,
    text: String,
}

/// The name a socket used last, to announce its departure.
#[derive(Clone)]
struct Name(String);

async fn on_message(socket: Socket, TryData(message): TryData<Message>, ack: AckSender) {
    let reply = match message {
        Ok(message) if !message.text.trim().is_empty() => {
            socket.insert_extension(Name(message.name.clone()));
            // Everyone, the sender included, sees the message once.
            let sent = socket
                .broadcast()
                .emit("message", &message)
                .and_then(|()| socket.emit("message", &message));
            match sent {
                Ok(()) => serde_json::json!({ "ok": true }),
                Err(error) => serde_json::json!({ "ok": false, "error": error.to_string() }),
            }
        }
        Ok(_) => serde_json::json!({ "ok": false, "error": "empty message" }),
        Err(error) => serde_json::json!({ "ok": false, "error": error.to_string() }),
    };
    // The client may have gone; nothing to do then.
    let _ = ack.send(reply);
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("info"));
    let client_dir = std::env::var_os("SOCKETIO_CLIENT_DIR").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../node_modules/socket.io-client/dist"
            ))
        },
        PathBuf::from,
    );
    let io = SocketIo::new(SocketIoConfig {
        client_dir: Some(client_dir),
        ..SocketIoConfig::default()
    });
    io.on_connect(|socket: Socket| async move {
        socket.on("message", on_message);
        socket.on_disconnect(
            |socket: Socket, Extension(Name(name)): Extension<Name>| async move {
                let _ = socket.broadcast().emit("left", name);
            },
        );
    });
    log::info!("chat on http://localhost:3000");
    HttpServer::new(move || {
        let io = io.clone();
        App::new()
            .route(
                "/",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(PAGE)
                }),
            )
            .configure(move |cfg| io.mount(cfg))
    })
    .h1_allow_half_closed(false)
    .bind(("127.0.0.1", 3000))?
    .run()
    .await
}
