//! The WebSocket transport: direct connections and upgrades from polling.
//!
//! One task per connection runs one `select!` loop over the client's frames, the
//! session's outbox and its next deadline.

use std::sync::Arc;
use std::time::Instant;

use actix_web::{error::PayloadError, web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason as WsCloseReason, ProtocolError};
use bytestring::ByteString;

use crate::engine::error::EngineError;
use crate::engine::packet::{Data, Frame, Packet};
use crate::engine::service::{EngineHandler, Entry, Inner};
use crate::engine::session::{CloseReason, TransportKind, UpgradeId};

/// `GET ?EIO=4&transport=websocket` without a sid: a session that starts on a WebSocket.
pub(crate) fn handshake<H: EngineHandler>(
    inner: &Arc<Inner<H>>,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, EngineError> {
    inner.check_capacity()?;
    let (response, ws, frames) =
        actix_ws::handle(req, body).map_err(|_| EngineError::BadRequest)?;
    let Ok(entry) = inner.open(req, TransportKind::WebSocket) else {
        // Filled up since the check, by handshakes on other workers.
        actix_web::rt::spawn(ws.close(Some(CloseCode::Again.into())));
        return Ok(response);
    };
    let frames = limit(frames, inner.config.max_payload);
    actix_web::rt::spawn(run(inner.clone(), entry, ws, frames, None));
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
    match inner.update(&entry, |s| s.start_upgrade(Instant::now())) {
        Ok(probe) => {
            let frames = limit(frames, inner.config.max_payload);
            actix_web::rt::spawn(run(inner.clone(), entry, ws, frames, Some(probe)));
        }
        Err(_) => {
            actix_web::rt::spawn(ws.close(Some(CloseCode::Policy.into())));
        }
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
    probe: Option<UpgradeId>,
) {
    let exit = pump(&inner, &entry, &mut ws, &mut frames, probe).await;
    if let Exit::Close(reason) = exit {
        let _ = ws.close(Some(reason)).await;
    }
}

async fn pump<H: EngineHandler>(
    inner: &Inner<H>,
    entry: &Entry<H>,
    ws: &mut actix_ws::Session,
    frames: &mut actix_ws::AggregatedMessageStream,
    mut probe: Option<UpgradeId>,
) -> Exit {
    let normal = || Exit::Close(CloseCode::Normal.into());
    // A probe that ends early leaves the polling session as it was.
    let lose = |probe: Option<UpgradeId>, reason: CloseReason| match probe {
        Some(id) => inner.update(entry, |s| s.abandon_upgrade(id)),
        None => inner.update(entry, |s| s.transport_lost(reason)),
    };
    // Reused for every batch of outgoing packets.
    let mut packets = Vec::new();
    loop {
        let transmit = entry.socket.transmit_notify().notified();
        let timer = entry.socket.timer_notify().notified();
        let owner = probe.is_none();
        let (deadline, probing, closed) = inner.update(entry, |s| {
            if owner {
                s.take_websocket_into(&mut packets);
            }
            (
                s.poll_timeout(),
                probe.is_some_and(|id| s.is_probing(id)),
                s.is_closed(),
            )
        });
        for packet in packets.drain(..) {
            if packet == Packet::Close {
                return normal();
            }
            let send = async {
                match packet {
                    // The shared frame goes out as is: no copy per receiver.
                    Packet::Outgoing(Frame::Text(text)) => ws.text(text).await,
                    Packet::Outgoing(Frame::Binary(bytes))
                    | Packet::Message(Data::Binary(bytes)) => ws.binary(bytes).await,
                    other => ws.text(other.to_text()).await,
                }
            };
            tokio::select! {
                biased;
                sent = send => if sent.is_err() {
                    lose(probe, CloseReason::TransportClose);
                    return Exit::Gone;
                },
                // The write waits on a client that stopped reading: its queue keeps
                // filling up to `max_buffered`, which closes the session.
                () = ended_while_stalled(inner, entry) => return Exit::Gone,
            }
        }
        if closed || (!owner && !probing) {
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
                            lose(probe, CloseReason::TransportClose);
                            return Exit::Gone;
                        }
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => continue,
                    Some(Ok(AggregatedMessage::Close(_))) => {
                        lose(probe, CloseReason::TransportClose);
                        return normal();
                    }
                    None => {
                        lose(probe, CloseReason::TransportClose);
                        return Exit::Gone;
                    }
                    Some(Err(ProtocolError::Overflow)) => {
                        lose(probe, CloseReason::TransportError);
                        return Exit::Close(CloseCode::Size.into());
                    }
                    // actix reports a text frame that is not UTF-8 as invalid data: RFC 6455
                    // (7.4.1) answers it with 1007, as Node's `ws` does.
                    Some(Err(ProtocolError::Io(e))) if e.kind() == std::io::ErrorKind::InvalidData => {
                        lose(probe, CloseReason::TransportError);
                        return Exit::Close(CloseCode::Invalid.into());
                    }
                    Some(Err(ProtocolError::Io(e))) if hung_up(&e) => {
                        lose(probe, CloseReason::TransportClose);
                        return Exit::Gone;
                    }
                    Some(Err(_)) => {
                        lose(probe, CloseReason::TransportError);
                        return Exit::Close(CloseCode::Protocol.into());
                    }
                };
                let upgrading = probe.is_some() && packet == Packet::Upgrade;
                match inner.update(entry, |s| s.recv(packet, via, now)) {
                    Ok(Some(reply)) => {
                        if ws.text(ByteString::from(reply.to_text())).await.is_err() {
                            lose(probe, CloseReason::TransportClose);
                            return Exit::Gone;
                        }
                    }
                    // This WebSocket now carries the session.
                    Ok(None) if upgrading => probe = None,
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

/// Whether a read failed because the connection ended rather than because of what came
/// over it. A browser leaving a page sends its close frame (1001) and hangs up at once;
/// actix-ws then reports the end of the stream before the frame it has buffered. Either
/// way the peer went away, which Node's engine.io calls "transport close".
fn hung_up(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    match err.get_ref().and_then(|e| e.downcast_ref::<PayloadError>()) {
        Some(PayloadError::Incomplete(_)) => true,
        Some(PayloadError::Io(e)) => matches!(
            e.kind(),
            BrokenPipe | ConnectionAborted | ConnectionReset | UnexpectedEof
        ),
        _ => false,
    }
}

/// Resolves once the session has ended while a write is blocked. Meanwhile it fires the
/// session's deadlines (a client that stopped reading stops answering pings too) and
/// delivers its events, such as the close for a full queue.
async fn ended_while_stalled<H: EngineHandler>(inner: &Inner<H>, entry: &Entry<H>) {
    loop {
        let woken = entry.socket.transmit_notify().notified();
        let Some(deadline) = inner.update(entry, |s| s.poll_timeout()) else {
            return;
        };
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep_until(deadline.into()) => {
                inner.update(entry, |s| s.handle_timeout(Instant::now()));
            }
        }
    }
}
