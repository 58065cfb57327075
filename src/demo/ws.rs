//! Raw WebSocket demo (section 12.2, the `ws` module example) on the HTTP port.

use std::time::Duration;

use actix_web::{http::header, rt, web, HttpRequest, HttpResponse};
use actix_ws::{
    AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError, Session,
};
use tokio::time::{self, Instant, MissedTickBehavior};

use crate::{csrf, error::AppError, live::LiveGuard, state::AppState};

/// Pushed to every client once per interval.
pub const SERVER_MESSAGE: &str = "서버에서 클라이언트로 메시지를 보냅니다.";

/// The demo only exchanges short sentences; larger (reassembled) messages close the socket.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// `GET /ws`: completes the handshake and hands the socket to its own task.
pub(crate) async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    // Nothing here is private, but only this site's pages may hold a socket open.
    if !csrf::same_origin(req.headers(), state.config().public_scheme, false) {
        return Err(AppError::CrossSite.into());
    }
    let (response, session, msg_stream) = actix_ws::handle(&req, body)?;
    let ip = client_ip(&req);
    log::info!("새로운 클라이언트 접속 (ip: {ip})");

    // Counted before spawning, so the connection is visible as soon as the handshake is answered.
    let guard = state.ws_connections().enter();
    let msg_stream = msg_stream
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE_BYTES);
    rt::spawn(serve(
        session,
        msg_stream,
        ip,
        state.config().ws_demo_interval,
        guard,
    ));
    Ok(response)
}

/// One connection: push the message every `interval`, log what the client says, stop on close.
async fn serve(
    mut session: Session,
    mut msg_stream: AggregatedMessageStream,
    ip: String,
    interval: Duration,
    _guard: LiveGuard,
) {
    // Like setInterval: the first message comes one full interval after connecting.
    let mut ticker = time::interval_at(Instant::now() + interval, interval);
    // After a stall, resume the rhythm instead of sending a burst of catch-up messages.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let close_reason = loop {
        tokio::select! {
            _ = ticker.tick() => {
                if session.text(SERVER_MESSAGE).await.is_err() {
                    break None; // the connection is already gone
                }
            }
            msg = msg_stream.recv() => match msg {
                // Debug formatting keeps a client's newlines from forging extra log lines.
                Some(Ok(AggregatedMessage::Text(text))) => {
                    log::info!("클라이언트 메시지 (ip: {ip}): {:?}", &*text);
                }
                Some(Ok(AggregatedMessage::Binary(bytes))) => {
                    log::info!("binary message, {} bytes (ip: {ip})", bytes.len());
                }
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        break None;
                    }
                }
                Some(Ok(AggregatedMessage::Pong(_))) => {}
                // Echo the client's close frame to complete the closing handshake.
                Some(Ok(AggregatedMessage::Close(reason))) => break reason,
                Some(Err(err)) => {
                    log::error!("웹 소켓 오류 (ip: {ip}): {err}");
                    // 1009 tells the client its message was too big; anything else broke
                    // the protocol.
                    let code = match err {
                        ProtocolError::Overflow => CloseCode::Size,
                        _ => CloseCode::Protocol,
                    };
                    break Some(CloseReason::from(code));
                }
                // The TCP connection ended without a close frame.
                None => break None,
            }
        }
    };

    // Fails only if the peer is already gone, which is the outcome we want anyway.
    let _ = session.close(close_reason).await;
    log::info!("클라이언트 접속 해제 (ip: {ip})");
}

/// The book's `req.headers["x-forwarded-for"] || req.socket.remoteAddress`. The header is
/// client-supplied and only trustworthy behind a proxy that sets it; here it is only logged.
fn client_ip(req: &HttpRequest) -> String {
    req.headers()
        .get(header::X_FORWARDED_FOR)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .map(str::trim)
        .filter(|ip| !ip.is_empty())
        .map(str::to_owned)
        .or_else(|| req.peer_addr().map(|addr| addr.ip().to_string()))
        .unwrap_or_else(|| "unknown".to_owned())
}
