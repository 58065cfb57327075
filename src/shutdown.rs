//! Graceful shutdown on SIGTERM or Ctrl-C, within `SHUTDOWN_TIMEOUT_MS`.
//!
//! actix's own signal handling would stop the HTTP server first and then wait for every
//! open WebSocket until its timeout. Here the order is:
//!
//! 1. the Socket.IO server closes: new handshakes get `503`, every connection gets what is
//!    queued for it and then its close (no DISCONNECT packet), so the official client
//!    reports "transport close" and reconnects by itself, to this server once it is back
//!    or to another one;
//! 2. chat events already being handled finish: their rows are written and their acks
//!    leave (or are dropped if their connection is gone, never the other way round);
//! 3. the HTTP server stops accepting connections and finishes the requests in progress;
//! 4. the store closes (its connections, then the WAL checkpoint).
//!
//! Whatever is still running at the deadline is dropped and the process exits anyway:
//! every write that was acknowledged is already committed.

use std::time::Duration;

use actix_web::{dev::Server, web};
use tokio::time::{timeout_at, Instant};

use crate::state::AppState;

/// How often step 2 looks at the events still in flight.
const SETTLE_POLL: Duration = Duration::from_millis(5);

/// Runs the server until it fails or a shutdown signal arrives, then shuts down in order.
/// The server must have been built with `disable_signals()`.
pub async fn serve(server: Server, state: web::Data<AppState>) -> std::io::Result<()> {
    let handle = server.handle();
    // Spawned: the server acts on `handle.stop` only while its future is polled.
    let mut server = actix_web::rt::spawn(server);
    let signal = tokio::select! {
        result = &mut server => return joined(result),
        signal = signal() => signal?,
    };
    let limit = state.config().shutdown_timeout;
    log::info!("{signal}: shutting down (at most {limit:?})");
    let started = Instant::now();
    let deadline = started + limit;

    let drain = async {
        state.io().close().await;
        log::info!("socket.io connections closed");
        while state.chat().events_in_flight() > 0 {
            tokio::time::sleep(SETTLE_POLL).await;
        }
        handle.stop(true).await;
    };
    if timeout_at(deadline, drain).await.is_err() {
        log::warn!("shutdown timeout reached: dropping what is still open");
        handle.stop(false).await;
    }
    joined(server.await)?;
    if timeout_at(deadline, state.close()).await.is_err() {
        log::warn!("shutdown timeout reached before the database was closed");
    }
    log::info!("stopped in {:?}", started.elapsed());
    Ok(())
}

fn joined(
    result: Result<std::io::Result<()>, actix_web::rt::task::JoinError>,
) -> std::io::Result<()> {
    result.map_err(std::io::Error::other)?
}

/// The first of SIGTERM (what orchestrators and `kill` send) and SIGINT (Ctrl-C).
#[cfg(unix)]
async fn signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

#[cfg(not(unix))]
async fn signal() -> std::io::Result<&'static str> {
    tokio::signal::ctrl_c().await?;
    Ok("Ctrl-C")
}
