//! The WebSocket transport: direct connections and upgrades from polling.
//!
//! One task per connection runs one `select!` loop over the client's frames, the
//! session's outbox and its next deadline.

use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason as WsCloseReason, ProtocolError};
use bytestring::ByteString;

use crate::engine::error::EngineError;
use crate::engine::packet::{Data, Packet};
use crate::engine::service::{EngineHandler, Entry, Inner};
use crate::engine::session::{CloseReason, TransportKind};

/// `GET ?EIO=4&transport=websocket` without a sid: a session that starts on a WebSocket.
pub(crate) fn handshake<H: EngineHandler>(
    inner: &Arc<Inner<H>>,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, EngineError> {
    let (response, ws, frames) =
        actix_ws::handle(req, body).map_err(|_| EngineError::BadRequest)?;
    let entry = inner.open(req, TransportKind::WebSocket);
    let frames = limit(frames, inner.config.max_payload);
    actix_web::rt::spawn(run(inner.clone(), entry, ws, frames));
    Ok(response)
}

/// A WebSocket with the sid of a polling session: probes, then takes the session over.
/// A second one, or one after the upgrade, is accepted and closed at once.
pub(crate) fn upgrade<H: EngineHandler>(
    inner: &Arc<Inner<H>>,
    entry: Arc<Entry<H>>,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, EngineError> {
    let (response, ws, frames) =
        actix_ws::handle(req, body).map_err(|_| EngineError::BadRequest)?;
    let accepted = inner
        .update(&entry, |s| s.start_upgrade(Instant::now()))
        .is_ok();
    if accepted {
        let frames = limit(frames, inner.config.max_payload);
        actix_web::rt::spawn(run(inner.clone(), entry, ws, frames));
    } else {
        actix_web::rt::spawn(ws.close(Some(CloseCode::Policy.into())));
    }
    Ok(response)
}

fn limit(frames: actix_ws::MessageStream, max_payload: u64) -> actix_ws::AggregatedMessageStream {
    let max = usize::try_from(max_payload).unwrap_or(usize::MAX);
    frames
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max)
}

/// What ended a connection's loop, and how to close the WebSocket.
enum Exit {
    /// Close the WebSocket with this frame.
    Close(WsCloseReason),
    /// The client is gone; nothing more to send.
    Gone,
}

async fn run<H: EngineHandler>(
    inner: Arc<Inner<H>>,
    entry: Arc<Entry<H>>,
    mut ws: actix_ws::Session,
    mut frames: actix_ws::AggregatedMessageStream,
) {
    let exit = pump(&inner, &entry, &mut ws, &mut frames).await;
    if let Exit::Close(reason) = exit {
        let _ = ws.close(Some(reason)).await;
    }
}

async fn pump<H: EngineHandler>(
    inner: &Inner<H>,
    entry: &Entry<H>,
    ws: &mut actix_ws::Session,
    frames: &mut actix_ws::AggregatedMessageStream,
) -> Exit {
    let normal = || Exit::Close(CloseCode::Normal.into());
    loop {
        let transmit = entry.socket.transmit_notify().notified();
        let timer = entry.socket.timer_notify().notified();
        let (packets, deadline, owner, upgrading, closed) = inner.update(entry, |s| {
            (
                s.take_websocket(),
                s.poll_timeout(),
                s.transport() == TransportKind::WebSocket,
                s.is_upgrading(),
                s.is_closed(),
            )
        });
        for packet in packets {
            let sent = match packet {
                Packet::Close => return normal(),
                Packet::Message(Data::Binary(bytes)) => ws.binary(bytes).await,
                Packet::Message(Data::Text(text)) => {
                    let mut frame = String::with_capacity(text.len() + 1);
                    frame.push('4');
                    frame.push_str(&text);
                    ws.text(frame).await
                }
                other => ws.text(other.to_text()).await,
            };
            if sent.is_err() {
                inner.update(entry, |s| s.transport_lost(CloseReason::TransportClose));
                return Exit::Gone;
            }
        }
        if closed || (!owner && !upgrading) {
            // Closed, or this probe was abandoned (timed out, or the session moved on).
            return normal();
        }
        let sleep = async {
            match deadline {
                Some(deadline) if owner => tokio::time::sleep_until(deadline.into()).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            frame = frames.recv() => {
                let via = TransportKind::WebSocket;
                let now = Instant::now();
                let packet = match frame {
                    Some(Ok(AggregatedMessage::Text(text))) => match Packet::decode_text(&text) {
                        Ok(packet) => packet,
                        Err(_) => {
                            inner.update(entry, |s| s.fail());
                            return Exit::Close(CloseCode::Protocol.into());
                        }
                    },
                    Some(Ok(AggregatedMessage::Binary(bytes))) => Packet::Message(Data::Binary(bytes)),
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if ws.pong(&bytes).await.is_err() {
                            inner.update(entry, |s| s.transport_lost(CloseReason::TransportClose));
                            return Exit::Gone;
                        }
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => continue,
                    Some(Ok(AggregatedMessage::Close(_))) | None => {
                        lose(inner, entry, owner, CloseReason::TransportClose);
                        return if owner { normal() } else { Exit::Gone };
                    }
                    Some(Err(ProtocolError::Overflow)) => {
                        lose(inner, entry, owner, CloseReason::TransportError);
                        return Exit::Close(CloseCode::Size.into());
                    }
                    Some(Err(_)) => {
                        lose(inner, entry, owner, CloseReason::TransportError);
                        return Exit::Close(CloseCode::Protocol.into());
                    }
                };
                match inner.update(entry, |s| s.recv(packet, via, now)) {
                    Ok(Some(reply)) => {
                        if ws.text(ByteString::from(reply.to_text())).await.is_err() {
                            lose(inner, entry, owner, CloseReason::TransportClose);
                            return Exit::Gone;
                        }
                    }
                    Ok(None) => {}
                    Err(_) => return Exit::Close(CloseCode::Protocol.into()),
                }
            }
            _ = transmit => {}
            _ = timer => {}
            _ = sleep => {
                inner.update(entry, |s| s.handle_timeout(Instant::now()));
            }
        }
    }
}

/// The WebSocket went away: that ends the session only if it carried it; a failed probe
/// leaves the polling session as it was.
fn lose<H: EngineHandler>(inner: &Inner<H>, entry: &Entry<H>, owner: bool, reason: CloseReason) {
    if owner {
        inner.update(entry, |s| s.transport_lost(reason));
    }
}
