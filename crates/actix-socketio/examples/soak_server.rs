//! The server of `make soak` (`loadgen soak`): the benchmark server's handlers plus `leave`,
//! and `GET /stats` with what must return to its idle level once every client is gone.
//!
//! - `echo`: acks with the same arguments;
//! - `join` `<room>` / `leave` `<room>`: joins or leaves the room, then acks;
//! - `broadcast` `<room>` `<data>`: emits `msg` `<data>` to every other socket of the room;
//! - `GET /stats`: `{"sessions":…,"retained":…,"sockets":…,"retained_sockets":…,
//!   "handlers":…,"tokio_tasks":…}`: open Engine.IO sessions; sessions still allocated (a
//!   transport or timer task that outlives its session keeps one); sockets in `/`; sockets
//!   still allocated (a handler that captures its socket must not keep it); event handlers
//!   running; and tasks
//!   alive on the tokio runtimes of the process, summed over the system's and each
//!   worker's. actix runs its tasks on a `LocalSet`, which tokio's metrics do not see, so
//!   `tokio_tasks` only counts tasks spawned with `tokio::spawn` (none here): the library's
//!   tasks show up in `retained`.
//!
//! Two workers, so polling requests of one session land on both; heartbeat 5 s / 5 s, so
//! clients that vanish without a word are gone within seconds.
//!
//! `cargo run --release -p actix-socketio --example soak_server -- 3001`

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

use actix_socketio::{AckSender, Data, Event, Socket, SocketIo, SocketIoConfig};
use actix_web::{web, HttpResponse};
use tokio::runtime::Handle;

/// Every runtime of the process, by the thread that runs it.
type Runtimes = Arc<Mutex<HashMap<ThreadId, Handle>>>;

fn remember_runtime(runtimes: &Runtimes) {
    runtimes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(std::thread::current().id(), Handle::current());
}

fn alive_tasks(runtimes: &Runtimes) -> usize {
    runtimes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .map(|handle| handle.metrics().num_alive_tasks())
        .sum()
}

/// Event handlers running now.
static HANDLERS: AtomicUsize = AtomicUsize::new(0);

/// Counts a handler until it returns (or is dropped unfinished).
struct Running;

impl Running {
    fn enter() -> Running {
        HANDLERS.fetch_add(1, Ordering::Relaxed);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        HANDLERS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The handlers capture their own socket (`let me = socket.clone()`), the natural way to
/// write them: the soak checks that such sockets are still freed when their client goes.
fn handlers(io: &SocketIo) {
    io.on_connect(|socket: Socket| async move {
        socket.on("echo", |event: Event| async move {
            let _running = Running::enter();
            let (_, payload, ack) = event.into_parts();
            let _ = ack.send_payload(payload);
        });
        let me = socket.clone();
        socket.on("join", move |Data(room): Data<String>, ack: AckSender| {
            let me = me.clone();
            async move {
                let _running = Running::enter();
                let _ = me.join(room);
                let _ = ack.send(());
            }
        });
        let me = socket.clone();
        socket.on("leave", move |Data(room): Data<String>, ack: AckSender| {
            let me = me.clone();
            async move {
                let _running = Running::enter();
                me.leave(room);
                let _ = ack.send(());
            }
        });
        let me = socket.clone();
        socket.on("broadcast", move |event: Event| {
            let me = me.clone();
            async move {
                let _running = Running::enter();
                let (_, mut payload, _) = event.into_parts();
                if payload.args.is_empty() {
                    return;
                }
                let room = payload.args.remove(0);
                if let Some(room) = room.as_str() {
                    let _ = me.to(room).emit_payload("msg", payload);
                }
            }
        });
    });
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(3001);
    let mut config = SocketIoConfig::default();
    config.engine.ping_interval = Duration::from_secs(5);
    config.engine.ping_timeout = Duration::from_secs(5);
    let io = SocketIo::new(config);
    handlers(&io);

    let runtimes = Runtimes::default();
    remember_runtime(&runtimes);
    let app_runtimes = runtimes.clone();
    actix_web::HttpServer::new(move || {
        // The factory runs once on each worker's thread, inside its runtime.
        remember_runtime(&app_runtimes);
        let stats_io = io.clone();
        let runtimes = app_runtimes.clone();
        actix_web::App::new()
            .route(
                "/stats",
                web::get().to(move || {
                    let io = stats_io.clone();
                    let runtimes = runtimes.clone();
                    async move {
                        HttpResponse::Ok().json(serde_json::json!({
                            "sessions": io.engine().session_count(),
                            "retained": io.engine().retained_sessions(),
                            "sockets": io.of("/").sockets().len(),
                            "retained_sockets": io.retained_sockets(),
                            "handlers": HANDLERS.load(Ordering::Relaxed),
                            "tokio_tasks": alive_tasks(&runtimes),
                        }))
                    }
                }),
            )
            .configure(|cfg| io.mount(cfg))
    })
    .workers(2)
    .backlog(4096)
    // Lets actix drop a long-poll whose client went away, which closes its session.
    .h1_allow_half_closed(false)
    .shutdown_timeout(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
