//! HTTP long-polling: GET waits for packets, POST delivers them.

use std::sync::Arc;
use std::time::Instant;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::BytesMut;
use futures_util::StreamExt;

use crate::engine::error::EngineError;
use crate::engine::handler::EngineHandler;
use crate::engine::packet::{decode_payload, encode_payload, Packet};
use crate::engine::registry::{Entry, Registry};
use crate::engine::session::{SessionError, TransportKind};

const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";

/// `GET ?EIO=4&transport=polling` without a sid: opens a session and answers with the
/// open packet.
pub(crate) fn handshake<H: EngineHandler>(
    inner: &Arc<Registry<H>>,
    req: &HttpRequest,
) -> Result<HttpResponse, EngineError> {
    let entry = inner.open(req, TransportKind::Polling)?;
    let packets = inner.update(&entry, |s| {
        s.start_poll(Instant::now()).ok();
        s.take_poll().and_then(Result::ok)
    });
    actix_web::rt::spawn(drive_timers(inner.clone(), entry.clone()));
    let mut response = HttpResponse::Ok();
    response.content_type(TEXT_PLAIN);
    if let Some(cookie) = &inner.config.cookie {
        response.cookie(
            Cookie::build(cookie.name.clone(), entry.socket.sid().to_owned())
                .path(cookie.path.clone())
                .http_only(cookie.http_only)
                .same_site(SameSite::Lax)
                .finish(),
        );
    }
    Ok(response.body(encode_payload(packets.iter().flatten())))
}

/// Ends the session if the GET future is dropped before it has its answer: actix drops a
/// handler's future when its client goes away.
struct PendingPoll<'a, H: EngineHandler> {
    inner: &'a Registry<H>,
    entry: &'a Entry<H>,
    answered: bool,
}

impl<H: EngineHandler> Drop for PendingPoll<'_, H> {
    fn drop(&mut self) {
        if !self.answered {
            self.inner.update(self.entry, |s| s.poll_aborted());
        }
    }
}

/// A long-poll GET: answered as soon as the session has packets for it.
pub(crate) async fn get<H: EngineHandler>(
    inner: &Arc<Registry<H>>,
    entry: Arc<Entry<H>>,
) -> Result<HttpResponse, EngineError> {
    inner
        .update(&entry, |s| s.start_poll(Instant::now()))
        .map_err(refusal)?;
    let mut pending = PendingPoll {
        inner,
        entry: &entry,
        answered: false,
    };
    let packets = loop {
        let woken = entry.socket.transmit_notify().notified();
        if let Some(packets) = inner.update(&entry, |s| s.take_poll()) {
            break packets;
        }
        woken.await;
    };
    pending.answered = true;
    let packets = packets.map_err(refusal)?;
    Ok(HttpResponse::Ok()
        .content_type(TEXT_PLAIN)
        .body(encode_payload(&packets)))
}

fn refusal(error: SessionError) -> EngineError {
    match error {
        SessionError::Closed => EngineError::UnknownSid,
        SessionError::PollOverlap | SessionError::TransportMismatch => EngineError::BadRequest,
    }
}

/// A POST of packets from the client. The answer `ok` is sent after every message has been
/// handed to the handler, so replies it queued are in the next GET.
pub(crate) async fn post<H: EngineHandler>(
    inner: &Arc<Registry<H>>,
    entry: Arc<Entry<H>>,
    req: &HttpRequest,
    mut body: web::Payload,
) -> Result<HttpResponse, EngineError> {
    let max = inner.config.max_payload;
    let fail = |error| {
        inner.update(&entry, |s| s.fail());
        Err(error)
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Refused as Node refuses it: 413 and the body dropped, the session left as it is (the
    // client gives up on this transport itself).
    if declared.is_some_and(|len| len > max) {
        return Err(EngineError::PayloadTooLarge);
    }
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            return fail(EngineError::BadRequest);
        };
        if (bytes.len() + chunk.len()) as u64 > max {
            return Err(EngineError::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return fail(EngineError::BadRequest);
    };
    let Ok(packets) = decode_payload(text) else {
        return fail(EngineError::BadRequest);
    };
    let now = Instant::now();
    for packet in packets {
        let is_close = packet == Packet::Close;
        if inner
            .update(&entry, |s| s.recv(packet, TransportKind::Polling, now))
            .is_err()
        {
            return Err(EngineError::BadRequest);
        }
        if is_close {
            break;
        }
    }
    Ok(HttpResponse::Ok().content_type("text/html").body("ok"))
}

/// Fires a session's deadlines while no WebSocket owns it: polling sessions, and the
/// probing phase of an upgrade. Ends when the session closes or a WebSocket takes over.
async fn drive_timers<H: EngineHandler>(inner: Arc<Registry<H>>, entry: Arc<Entry<H>>) {
    loop {
        let woken = entry.socket.timer_notify().notified();
        let (deadline, transport) = inner.update(&entry, |s| (s.poll_timeout(), s.transport()));
        let Some(deadline) = deadline else { return };
        if transport == TransportKind::WebSocket {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {
                inner.update(&entry, |s| s.handle_timeout(Instant::now()));
            }
            _ = woken => {}
        }
    }
}
