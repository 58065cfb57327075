//! A socketioxide cluster node for the cross-node fan-out benchmark
//! (crates/loadgen/src/bin/cluster_fanout.rs), with the one event of the cluster node
//! contract the benchmark uses:
//!
//! - `emit` `{to, except, event, args: [data]}` -> `io.to(to).except(except).emit(event,
//!   data)`, then acks `true` (the contract's `emit`, with one argument).
//!
//! socketioxide-redis on the redis driver (RESP3), channel prefix KEY. One thread (a
//! current-thread runtime), listen backlog 4096, TCP_NODELAY, ping 25 s / 20 s, as the
//! single-node socketioxide peer of bench/socketioxide.
//!
//! `PORT=3001 REDIS_URL=redis://127.0.0.1:6379 KEY=bench cargo run --release`

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::serve::ListenerExt;
use rmpv::Value;
use serde::Deserialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;
use socketioxide_redis::{RedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

/// The contract's `emit` request.
#[derive(Deserialize)]
struct Emit {
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    event: String,
    #[serde(default)]
    args: Vec<Value>,
}

async fn on_connect<A: Adapter>(socket: SocketRef<A>) {
    socket.on(
        "emit",
        |io: SocketIo<A>, Data::<Emit>(emit), ack: AckSender<A>| async move {
            let data = emit.args.into_iter().next().unwrap_or(Value::Nil);
            let sent = io
                .to(emit.to)
                .except(emit.except)
                .emit(&emit.event, &data)
                .await
                .is_ok();
            let _ = ack.send(&sent);
        },
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .ok_or("PORT must be a port number")?;
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let key = std::env::var("KEY").unwrap_or_else(|_| "socket.io".into());
    // The redis driver needs RESP3.
    let client = redis::Client::open(format!("{url}?protocol=resp3"))?;
    let config = RedisAdapterConfig::new()
        .with_prefix(key)
        .with_stream_buffer(4096);
    let adapter = RedisAdapterCtr::new_with_redis_config(&client, config).await?;
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_secs(25))
        .ping_timeout(Duration::from_secs(20))
        .max_payload(1_000_000)
        .with_adapter::<RedisAdapter<_>>(adapter)
        .build_layer();
    io.ns("/", on_connect).await?;
    let app = axum::Router::new().layer(layer);

    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    let listener = socket.listen(4096)?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}
