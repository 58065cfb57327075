//! The server of the benchmark suite (`make bench`, bench/README.md), with the same handlers
//! as its peers (Node socket.io, socketioxide, the bare actix-ws floor):
//!
//! - `echo`: acks with the same arguments (and attachments);
//! - `join` `<room>`: joins the room, then acks;
//! - `broadcast` `<room|null>` `<data>`: emits `msg` `<data>` to every other socket of the
//!   room, or to every socket of `/`, the sender included, when the room is null.
//!
//! One worker, listen backlog 4096, TCP_NODELAY, Engine.IO defaults (ping 25 s / 20 s).
//!
//! `cargo run --release -p actix-socketio --example bench_server -- 3001` (or `PORT=3001`).

use actix_socketio::{AckSender, Data, Event, Socket, SocketIo, SocketIoConfig};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(3001);
    let io = SocketIo::new(SocketIoConfig::default());
    let root = io.of("/");
    io.on_connect(move |socket: Socket| {
        socket.on("echo", |event: Event| async move {
            let (_, payload, ack) = event.into_parts();
            let _ = ack.send_payload(payload);
        });
        socket.on(
            "join",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
                let _ = socket.join(room);
                let _ = ack.send(());
            },
        );
        let root = root.clone();
        socket.on("broadcast", move |socket: Socket, event: Event| {
            let root = root.clone();
            async move {
                let (_, mut payload, _) = event.into_parts();
                if payload.args.is_empty() {
                    return;
                }
                let room = payload.args.remove(0);
                let _ = match room.as_str() {
                    Some(room) => socket.to(room).emit_payload("msg", payload),
                    None => root.emit_payload("msg", payload),
                };
            }
        });
        async {}
    });
    actix_web::HttpServer::new(move || {
        let io = io.clone();
        actix_web::App::new().configure(move |cfg| io.mount(cfg))
    })
    .workers(1)
    .backlog(4096)
    .tcp_nodelay(true)
    // Lets actix drop a long-poll whose client went away, which closes its session.
    .h1_allow_half_closed(false)
    .shutdown_timeout(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
