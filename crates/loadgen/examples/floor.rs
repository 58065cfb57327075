//! The actix-ws floor of the benchmark comparison (the tokio-tungstenite one is
//! `floor_tungstenite.rs`): a bare actix-ws server that writes the same
//! frames as a Socket.IO server for the suite's clients (Engine.IO open, CONNECT, acks,
//! `msg` broadcasts, pings) with no Socket.IO machinery: no sessions, no packet codec, no
//! JSON parsing, just string slicing and a room map on one thread. A broadcast pushes the
//! one encoded frame onto each receiver's outbox without waiting; each connection's task
//! drains its outbox into its actix-ws session, so frames queued together leave together.
//!
//! WebSocket only (no long-polling). One worker, listen backlog 4096, TCP_NODELAY.
//!
//! `cargo run --release -p loadgen --example floor -- 3104`

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, Session};
use bytestring::ByteString;
use tokio::sync::Notify;

#[path = "common/floor_hub.rs"]
mod floor_hub;

use floor_hub::{Conn, Hub, PING_INTERVAL};

/// Frames waiting for one connection's task.
#[derive(Default)]
struct Outbox {
    frames: RefCell<VecDeque<ByteString>>,
    ready: Notify,
}

impl floor_hub::Outbox for Rc<Outbox> {
    type Frame = ByteString;

    fn frame(text: String) -> ByteString {
        ByteString::from(text)
    }

    fn push(&self, frame: ByteString) {
        self.frames.borrow_mut().push_back(frame);
        self.ready.notify_one();
    }
}

thread_local! {
    // One worker: every connection lives on this thread.
    static HUB: RefCell<Hub<Rc<Outbox>>> = RefCell::default();
}

async fn socket_io(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    if !req.query_string().contains("transport=websocket") {
        return Ok(HttpResponse::BadRequest().body("the floor speaks WebSocket only"));
    }
    let (response, session, frames) = actix_ws::handle(&req, body)?;
    let frames = frames
        .max_frame_size(1 << 20)
        .aggregate_continuations()
        .max_continuation_size(1 << 20);
    actix_web::rt::spawn(connection(session, frames));
    Ok(response)
}

async fn connection(mut session: Session, mut frames: AggregatedMessageStream) {
    let outbox = Rc::new(Outbox::default());
    let mut conn = HUB.with(|hub| Conn::open(hub, "floor"));
    if session.text(conn.handshake()).await.is_ok() {
        serve(&mut conn, &outbox, &mut session, &mut frames).await;
    }
    HUB.with(|hub| conn.close(hub));
}

async fn serve(
    conn: &mut Conn,
    outbox: &Rc<Outbox>,
    session: &mut Session,
    frames: &mut AggregatedMessageStream,
) {
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    loop {
        let frame = tokio::select! {
            _ = ping.tick() => {
                if session.text("2").await.is_err() {
                    return;
                }
                continue;
            }
            _ = outbox.ready.notified() => {
                loop {
                    let next = outbox.frames.borrow_mut().pop_front();
                    let Some(frame) = next else { break };
                    if session.text(frame).await.is_err() {
                        return;
                    }
                }
                continue;
            }
            frame = frames.recv() => frame,
        };
        let sent = match frame {
            Some(Ok(AggregatedMessage::Text(text))) => {
                match HUB.with(|hub| conn.on_text(hub, outbox, &text)) {
                    Some(answer) => session.text(answer).await,
                    None => Ok(()),
                }
            }
            Some(Ok(AggregatedMessage::Binary(bytes))) => match conn.on_binary() {
                Some(head) => match session.text(head).await {
                    Ok(()) => session.binary(bytes).await,
                    Err(e) => Err(e),
                },
                None => Ok(()),
            },
            Some(Ok(AggregatedMessage::Ping(bytes))) => session.pong(&bytes).await,
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
            _ => return,
        };
        if sent.is_err() {
            return;
        }
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3104);
    HttpServer::new(|| {
        App::new()
            .route("/socket.io/", web::get().to(socket_io))
            .route("/socket.io", web::get().to(socket_io))
    })
    .workers(1)
    .backlog(4096)
    .tcp_nodelay(true)
    .h1_allow_half_closed(false)
    .shutdown_timeout(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
