//! The WebSocket transport: direct connections and upgrades from polling.
//!
//! The response body ([`Outbound`]) is the writer: actix-http polls it whenever it can
//! write, and it hands over what the session has queued, already framed (a broadcast's
//! frame is shared by all its receivers). A reader task decodes the client's frames, feeds
//! the session and fires its deadlines. A message thus reaches the socket with one wake-up
//! of actix-http's connection task per burst, through no task or channel of ours, and
//! everything that is ready leaves in one write.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use actix_http::ws::{OpCode, Parser, ProtocolError};
use actix_web::body::{BodySize, MessageBody};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_util::task::AtomicWaker;
use futures_util::StreamExt;

use crate::engine::error::EngineError;
use crate::engine::frame::{close_frame, pong_frame, text_frame};
use crate::engine::handler::EngineHandler;
use crate::engine::packet::{Data, Packet};
use crate::engine::registry::{Entry, Registry};
use crate::engine::session::{CloseReason, TransportKind, UpgradeId};
use crate::sync::lock;

/// WebSocket close codes (RFC 6455 §7.4.1).
const NORMAL: u16 = 1000;
const PROTOCOL: u16 = 1002;
const INVALID_DATA: u16 = 1007;
const POLICY: u16 = 1008;
const TOO_BIG: u16 = 1009;
const TRY_AGAIN: u16 = 1013;

/// `GET ?EIO=4&transport=websocket` without a sid: a session that starts on a WebSocket.
pub(crate) fn handshake<H: EngineHandler>(
    registry: &Arc<Registry<H>>,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, EngineError> {
    registry.check_capacity()?;
    let response = accept(req)?;
    let Ok(entry) = registry.open(req, TransportKind::WebSocket) else {
        // Filled up since the check, by handshakes on other workers.
        return Ok(closed_at_once(response, TRY_AGAIN));
    };
    Ok(start(registry, entry, response, body, None))
}

/// A WebSocket with the sid of a polling session: probes, then takes the session over.
/// A second one, or one after the upgrade, is accepted and closed at once.
pub(crate) fn upgrade<H: EngineHandler>(
    registry: &Arc<Registry<H>>,
    entry: Arc<Entry<H>>,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, EngineError> {
    let response = accept(req)?;
    match registry.update(&entry, |s| s.start_upgrade(Instant::now())) {
        Ok(probe) => Ok(start(registry, entry, response, body, Some(probe))),
        Err(_) => Ok(closed_at_once(response, POLICY)),
    }
}

/// The `101 Switching Protocols` answer, if the request is a valid WebSocket handshake.
fn accept(req: &HttpRequest) -> Result<actix_http::ResponseBuilder, EngineError> {
    actix_http::ws::handshake(req.head()).map_err(|_| EngineError::BadRequest)
}

/// Accepts the WebSocket and closes it with `code` straight away.
fn closed_at_once(mut response: actix_http::ResponseBuilder, code: u16) -> HttpResponse {
    HttpResponse::from(response.body(close_frame(code))).map_into_boxed_body()
}

fn start<H: EngineHandler>(
    registry: &Arc<Registry<H>>,
    entry: Arc<Entry<H>>,
    mut response: actix_http::ResponseBuilder,
    body: web::Payload,
    probe: Option<UpgradeId>,
) -> HttpResponse {
    let link = Arc::new(Link {
        direct: Mutex::new(VecDeque::new()),
        waker: AtomicWaker::new(),
        owner: AtomicBool::new(probe.is_none()),
        end: AtomicU32::new(OPEN),
    });
    let reader = Reader {
        registry: registry.clone(),
        entry: entry.clone(),
        link: link.clone(),
        probe,
    };
    actix_web::rt::spawn(reader.run(body));
    let outbound = Outbound {
        registry: registry.clone(),
        entry,
        link,
        ready: VecDeque::new(),
        done: false,
    };
    HttpResponse::from(response.body(outbound)).map_into_boxed_body()
}

/// `Link::end` before the reader has decided how the WebSocket ends.
const OPEN: u32 = 0;
/// `Link::end` when the client is gone: nothing more is written.
const GONE: u32 = u32::MAX;

/// What the reader and the writer of one WebSocket share.
struct Link {
    /// Frames that go out before the session's own: pongs and the probe's answer.
    direct: Mutex<VecDeque<Bytes>>,
    /// Wakes the writer for `direct` frames and for the end; the session's own messages
    /// wake it through the Engine.IO socket's writer waker.
    waker: AtomicWaker,
    /// This WebSocket carries the session (false while it only probes an upgrade).
    owner: AtomicBool,
    /// `OPEN`, the close code the writer ends with, or `GONE`.
    end: AtomicU32,
}

impl Link {
    fn send_direct(&self, frame: Bytes) {
        lock(&self.direct).push_back(frame);
        self.waker.wake();
    }

    /// How the writer ends, decided once, by whoever comes first.
    fn end(&self, how: u32) {
        let _ = self
            .end
            .compare_exchange(OPEN, how, Ordering::AcqRel, Ordering::Acquire);
        self.waker.wake();
    }
}

/// Reads the client's frames into the session and fires its deadlines.
struct Reader<H: EngineHandler> {
    registry: Arc<Registry<H>>,
    entry: Arc<Entry<H>>,
    link: Arc<Link>,
    /// The upgrade this WebSocket probes, until it carries the session.
    probe: Option<UpgradeId>,
}

/// A complete message in the making (the client fragmented it).
struct Fragments {
    opcode: OpCode,
    bytes: BytesMut,
}

impl<H: EngineHandler> Reader<H> {
    async fn run(mut self, mut body: web::Payload) {
        let how = self.pump(&mut body).await;
        self.link.end(how);
    }

    /// The transport is gone or broken: a probe leaves the polling session as it was.
    fn lose(&self, reason: CloseReason) {
        match self.probe {
            Some(id) => self.registry.update(&self.entry, |s| s.abandon_upgrade(id)),
            None => self
                .registry
                .update(&self.entry, |s| s.transport_lost(reason)),
        }
    }

    /// The client broke the WebSocket protocol: close with `code`.
    fn broken(&self, code: u16) -> u32 {
        self.link.end(u32::from(code));
        self.lose(CloseReason::TransportError);
        u32::from(code)
    }

    async fn pump(&mut self, body: &mut web::Payload) -> u32 {
        let max = usize::try_from(self.registry.config.max_payload).unwrap_or(usize::MAX);
        let mut buf = BytesMut::new();
        let mut fragments: Option<Fragments> = None;
        loop {
            loop {
                let (fin, opcode, payload) = match Parser::parse(&mut buf, true, max) {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(ProtocolError::Overflow) => return self.broken(TOO_BIG),
                    Err(_) => return self.broken(PROTOCOL),
                };
                let payload = payload.unwrap_or_default();
                let message = match opcode {
                    OpCode::Text | OpCode::Binary if fin && fragments.is_none() => {
                        Some((opcode, payload))
                    }
                    OpCode::Text | OpCode::Binary if fragments.is_none() => {
                        fragments = Some(Fragments {
                            opcode,
                            bytes: payload,
                        });
                        None
                    }
                    OpCode::Continue => {
                        let Some(partial) = fragments.as_mut() else {
                            return self.broken(PROTOCOL);
                        };
                        if partial.bytes.len() + payload.len() > max {
                            return self.broken(TOO_BIG);
                        }
                        partial.bytes.extend_from_slice(&payload);
                        if fin {
                            fragments.take().map(|done| (done.opcode, done.bytes))
                        } else {
                            None
                        }
                    }
                    OpCode::Ping => {
                        self.link.send_direct(pong_frame(&payload));
                        None
                    }
                    OpCode::Pong => None,
                    OpCode::Close => {
                        self.link.end(u32::from(NORMAL));
                        self.lose(CloseReason::TransportClose);
                        return u32::from(NORMAL);
                    }
                    // A new message inside a fragmented one, or a reserved opcode.
                    _ => return self.broken(PROTOCOL),
                };
                if let Some((opcode, bytes)) = message {
                    if let Some(how) = self.deliver(opcode, bytes.freeze()) {
                        return how;
                    }
                }
            }
            let timer = self.entry.socket.timer_notify().notified();
            let probe = self.probe;
            let (deadline, probing, closed) = self.registry.update(&self.entry, |s| {
                (
                    s.poll_timeout(),
                    probe.is_some_and(|id| s.is_probing(id)),
                    s.is_closed(),
                )
            });
            if closed || (probe.is_some() && !probing) {
                // Closed, or this probe was abandoned (timed out, or the session moved on).
                return u32::from(NORMAL);
            }
            let sleep = async {
                match deadline {
                    // While probing, the polling transport fires the deadlines.
                    Some(deadline) if probe.is_none() => {
                        tokio::time::sleep_until(deadline.into()).await
                    }
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                chunk = body.next() => match chunk {
                    Some(Ok(bytes)) => buf.extend_from_slice(&bytes),
                    Some(Err(_)) | None => {
                        self.lose(CloseReason::TransportClose);
                        return GONE;
                    }
                },
                _ = timer => {}
                _ = sleep => {
                    self.registry.update(&self.entry, |s| s.handle_timeout(Instant::now()));
                }
            }
        }
    }

    /// A complete message from the client; `Some` ends the WebSocket.
    fn deliver(&mut self, opcode: OpCode, bytes: Bytes) -> Option<u32> {
        let packet = if opcode == OpCode::Binary {
            Packet::Message(Data::Binary(bytes))
        } else {
            // RFC 6455 §8.1: text that is not UTF-8 fails the connection with 1007, as
            // Node's `ws` does.
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return Some(self.broken(INVALID_DATA));
            };
            match Packet::decode_text(text) {
                Ok(packet) => packet,
                Err(_) => {
                    self.link.end(u32::from(PROTOCOL));
                    self.registry.update(&self.entry, |s| s.fail());
                    return Some(u32::from(PROTOCOL));
                }
            }
        };
        let upgrading = self.probe.is_some() && packet == Packet::Upgrade;
        let now = Instant::now();
        match self.registry.update(&self.entry, |s| {
            s.recv(packet, TransportKind::WebSocket, now)
        }) {
            Ok(Some(reply)) => self.link.send_direct(text_frame(&reply.to_text())),
            // This WebSocket now carries the session.
            Ok(None) if upgrading => {
                self.probe = None;
                self.link.owner.store(true, Ordering::Release);
                self.link.waker.wake();
            }
            Ok(None) => {}
            Err(_) => {
                self.link.end(u32::from(PROTOCOL));
                return Some(u32::from(PROTOCOL));
            }
        }
        None
    }
}

/// The response body of a WebSocket: what goes to the client, framed.
struct Outbound<H: EngineHandler> {
    registry: Arc<Registry<H>>,
    entry: Arc<Entry<H>>,
    link: Arc<Link>,
    /// Frames taken from the session, handed to actix-http one at a time; it copies each
    /// into its write buffer and writes them together.
    ready: VecDeque<Bytes>,
    /// The close frame is queued (or the client is gone): nothing follows.
    done: bool,
}

impl<H: EngineHandler> Outbound<H> {
    /// Moves what is ready into `ready`, and decides whether the close frame follows.
    fn fill(&mut self, cx: &mut Context<'_>) {
        // Registered before looking, so a message queued meanwhile wakes this poll.
        self.link.waker.register(cx.waker());
        let owner = self.link.owner.load(Ordering::Acquire);
        self.ready.extend(lock(&self.link.direct).drain(..));
        let mut closed = false;
        if owner {
            self.entry.socket.writer_waker().register(cx.waker());
            let ready = &mut self.ready;
            closed = self.registry.update(&self.entry, |s| {
                s.take_websocket_with(|packet| match packet {
                    Packet::Outgoing(frame) => ready.push_back(frame.websocket().clone()),
                    // The server's own close: after what was queued before it, and the
                    // session is closed by now.
                    Packet::Close => {}
                    other => ready.push_back(text_frame(&other.to_text())),
                });
                s.is_closed()
            });
        }
        let end = self.link.end.load(Ordering::Acquire);
        if end == GONE {
            self.ready.clear();
            self.done = true;
        } else if closed || end != OPEN {
            let code = if end == OPEN {
                NORMAL
            } else {
                u16::try_from(end).unwrap_or(NORMAL)
            };
            self.ready.push_back(close_frame(code));
            self.done = true;
        }
    }
}

impl<H: EngineHandler> MessageBody for Outbound<H> {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Infallible>>> {
        let this = self.get_mut();
        if this.ready.is_empty() && !this.done {
            this.fill(cx);
        }
        match this.ready.pop_front() {
            Some(frame) => Poll::Ready(Some(Ok(frame))),
            None if this.done => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}
