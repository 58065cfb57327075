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
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, Session};
use bytestring::ByteString;
use tokio::sync::Notify;

/// Frames waiting for one connection's task.
#[derive(Default)]
struct Outbox {
    frames: RefCell<VecDeque<ByteString>>,
    ready: Notify,
}

impl Outbox {
    fn push(&self, frame: ByteString) {
        self.frames.borrow_mut().push_back(frame);
        self.ready.notify_one();
    }
}

#[derive(Default)]
struct Hub {
    next_id: u64,
    conns: HashMap<u64, Rc<Outbox>>,
    rooms: HashMap<String, Vec<u64>>,
    joined: HashMap<u64, Vec<String>>,
}

thread_local! {
    // One worker: every connection lives on this thread.
    static HUB: RefCell<Hub> = RefCell::default();
}

const PING_INTERVAL: Duration = Duration::from_secs(25);

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
    let id = HUB.with(|hub| {
        let mut hub = hub.borrow_mut();
        hub.next_id += 1;
        hub.next_id
    });
    let open = format!(
        "0{{\"sid\":\"floor{id}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    );
    if session.text(open).await.is_ok() {
        serve(id, &outbox, &mut session, &mut frames).await;
    }
    HUB.with(|hub| {
        let mut hub = hub.borrow_mut();
        hub.conns.remove(&id);
        for room in hub.joined.remove(&id).unwrap_or_default() {
            if let Some(members) = hub.rooms.get_mut(&room) {
                members.retain(|m| *m != id);
            }
        }
    });
}

async fn serve(
    id: u64,
    outbox: &Rc<Outbox>,
    session: &mut Session,
    frames: &mut AggregatedMessageStream,
) {
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    // The ack id of a binary echo whose attachment is the next frame.
    let mut pending_binary: Option<u64> = None;
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
                on_text(id, outbox, session, &text, &mut pending_binary).await
            }
            Some(Ok(AggregatedMessage::Binary(bytes))) => match pending_binary.take() {
                Some(ack) => {
                    let head = format!("461-{ack}[{{\"_placeholder\":true,\"num\":0}}]");
                    match session.text(head).await {
                        Ok(()) => session.binary(bytes).await,
                        Err(e) => Err(e),
                    }
                }
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

/// The digits at the start of `s` (an ack id), and the rest.
fn ack_id(s: &str) -> (Option<u64>, &str) {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    (s[..end].parse().ok(), &s[end..])
}

async fn on_text(
    id: u64,
    outbox: &Rc<Outbox>,
    session: &mut Session,
    text: &str,
    pending_binary: &mut Option<u64>,
) -> Result<(), actix_ws::Closed> {
    if text == "3" {
        return Ok(());
    }
    if text.starts_with("40") {
        // In `/` from now on: a broadcast to everyone reaches it.
        HUB.with(|hub| hub.borrow_mut().conns.insert(id, outbox.clone()));
        return session.text(format!("40{{\"sid\":\"floor-s{id}\"}}")).await;
    }
    if let Some(rest) = text.strip_prefix("451-") {
        if let (Some(ack), args) = ack_id(rest) {
            if args.starts_with("[\"echo\"") {
                *pending_binary = Some(ack);
            }
        }
        return Ok(());
    }
    let Some(rest) = text.strip_prefix("42") else {
        return Ok(());
    };
    let (ack, array) = ack_id(rest);
    if let Some(args) = array.strip_prefix("[\"echo\"") {
        if let Some(ack) = ack {
            // `,"x"]` → `["x"]`; `]` → `[]`.
            let args = args.strip_prefix(',').unwrap_or(args);
            return session.text(format!("43{ack}[{args}")).await;
        }
        return Ok(());
    }
    if let Some(args) = array.strip_prefix("[\"join\",\"") {
        if let Some((room, _)) = args.split_once('"') {
            HUB.with(|hub| {
                let mut hub = hub.borrow_mut();
                hub.rooms.entry(room.to_owned()).or_default().push(id);
                hub.joined.entry(id).or_default().push(room.to_owned());
            });
        }
        if let Some(ack) = ack {
            return session.text(format!("43{ack}[]")).await;
        }
        return Ok(());
    }
    if let Some(args) = array.strip_prefix("[\"broadcast\",") {
        let (room, data) = if let Some(data) = args.strip_prefix("null,") {
            (None, data)
        } else if let Some(rest) = args.strip_prefix('"') {
            match rest.split_once("\",") {
                Some((room, data)) => (Some(room), data),
                None => return Ok(()),
            }
        } else {
            return Ok(());
        };
        let data = data.strip_suffix(']').unwrap_or(data);
        let frame = ByteString::from(format!("42[\"msg\",{data}]"));
        HUB.with(|hub| {
            let hub = hub.borrow();
            match room {
                // To every socket of `/`, the sender included.
                None => {
                    for outbox in hub.conns.values() {
                        outbox.push(frame.clone());
                    }
                }
                Some(room) => {
                    for member in hub.rooms.get(room).into_iter().flatten() {
                        if *member != id {
                            if let Some(outbox) = hub.conns.get(member) {
                                outbox.push(frame.clone());
                            }
                        }
                    }
                }
            }
        });
    }
    Ok(())
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
