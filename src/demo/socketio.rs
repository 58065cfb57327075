//! The Socket.IO demo (section 12.3): every connected socket gets `news` on an interval
//! and answers `reply`.

use std::{sync::Arc, time::Duration};

use actix_socketio::{DisconnectReason, Event, Socket, SocketIo};
use tokio::{
    sync::Notify,
    time::{self, Instant, MissedTickBehavior},
};

use crate::live::{LiveGuard, LiveTasks};

/// What the server emits as `news`.
pub const NEWS: &str = "Hello Socket.IO";

/// Registers the demo's handlers on the root namespace.
pub fn register(io: &SocketIo, interval: Duration, timers: LiveTasks) {
    io.on_connect(move |socket: Socket| {
        let timer = timers.enter();
        async move { connected(socket, interval, timer) }
    });
}

fn connected(socket: Socket, interval: Duration, timer: LiveGuard) {
    let ip = socket.handshake().client_ip();
    log::info!("새로운 클라이언트가 접속했습니다. ({ip}, {})", socket.id());
    let stop = Arc::new(Notify::new());

    socket.on("reply", |socket: Socket, event: Event| async move {
        // Logged as JSON, so a client's newlines cannot forge extra log lines.
        let data = event.args().first().cloned().unwrap_or_default();
        log::info!("reply ({}): {data}", socket.id());
    });
    socket.on_error(|socket, error| log::error!("socket {} error: {error}", socket.id()));
    let stop_on_disconnect = stop.clone();
    socket.on_disconnect(move |socket: Socket, reason: DisconnectReason| {
        // A stored permit, so the timer stops even if it is busy emitting right now.
        stop_on_disconnect.notify_one();
        log::info!(
            "클라이언트가 접속을 해제했습니다. ({ip}, {}) {reason}",
            socket.id()
        );
        async {}
    });

    actix_web::rt::spawn(async move {
        let _timer = timer;
        // Like setInterval: the first `news` comes one full interval after connecting.
        let mut ticker = time::interval_at(Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if socket.emit("news", NEWS).is_err() {
                        break;
                    }
                }
                _ = stop.notified() => break,
            }
        }
    });
}
