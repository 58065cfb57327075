//! The socketioxide peer of the benchmark suite (bench/README.md), on axum, with the same
//! handlers as the others:
//!
//! - `echo`: acks with the same arguments (and attachments);
//! - `join` `<room>`: joins the room, then acks;
//! - `broadcast` `<room|null>` `<data>`: emits `msg` `<data>` to every other socket of the
//!   room, or to every socket of `/`, the sender included, when the room is null.
//!
//! One thread (a current-thread runtime), listen backlog 4096, TCP_NODELAY, ping 25 s / 20 s.
//! Arguments are `rmpv::Value`, the generic type socketioxide recommends when data may be
//! binary (a `serde_json::Value` would turn an attachment into an array of numbers).
//!
//! `cargo run --release -- 3102`

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::serve::ListenerExt;
use rmpv::Value;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;

async fn on_connect(socket: SocketRef) {
    socket.on("echo", |Data::<Value>(data), ack: AckSender| async move {
        let _ = ack.send(&data);
    });
    socket.on(
        "join",
        |socket: SocketRef, Data::<String>(room), ack: AckSender| async move {
            socket.join(room);
            let _ = ack.send(&());
        },
    );
    socket.on(
        "broadcast",
        |socket: SocketRef, io: SocketIo, Data::<(Option<String>, Value)>((room, data))| async move {
            let _ = match room {
                Some(room) => socket.to(room).emit("msg", &data).await,
                None => io.emit("msg", &data).await,
            };
        },
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(3102);
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_secs(25))
        .ping_timeout(Duration::from_secs(20))
        .max_payload(1_000_000)
        .build_layer();
    io.ns("/", on_connect);
    let app = axum::Router::new().layer(layer);

    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    let listener = socket.listen(4096)?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("socketioxide on 127.0.0.1:{port}");
    axum::serve(listener, app).await
}
