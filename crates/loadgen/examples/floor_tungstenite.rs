//! The tokio-tungstenite floor of the benchmark comparison: the cheapest WebSocket server
//! in Rust we know how to write, speaking just the frames of a Socket.IO server for the
//! suite's clients (Engine.IO open, CONNECT, acks, `msg` broadcasts, pings) as the actix-ws
//! floor (`floor.rs`) does: no sessions, no packet codec, no JSON parsing.
//!
//! One task per connection on a current-thread runtime, nothing shared across threads, no
//! channel: a broadcast encodes its frame once and pushes a clone (a reference count) onto
//! each receiver's outbox, waking the receiver's task only when its outbox stops being
//! empty; the task feeds every queued frame into tungstenite's write buffer and flushes
//! once, so frames queued together leave in one `write`. Reads use a 4 KiB buffer (an idle
//! connection holds little).
//!
//! WebSocket only (no long-polling). Listen backlog 4096, TCP_NODELAY, ping every 25 s.
//!
//! `cargo run --release -p loadgen --example floor_tungstenite -- 3105`

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// Frames waiting for one connection's task, and that task's waker.
#[derive(Default)]
struct Outbox {
    frames: RefCell<VecDeque<Message>>,
    waker: RefCell<Option<Waker>>,
}

impl Outbox {
    fn push(&self, frame: Message) {
        let was_empty = {
            let mut frames = self.frames.borrow_mut();
            frames.push_back(frame);
            frames.len() == 1
        };
        // A non-empty outbox has already woken its task.
        if was_empty {
            if let Some(waker) = self.waker.borrow().as_ref() {
                waker.wake_by_ref();
            }
        }
    }

    fn register(&self, waker: &Waker) {
        let mut slot = self.waker.borrow_mut();
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
}

#[derive(Default)]
struct Hub {
    next_id: u64,
    /// The connections in `/` (CONNECT done).
    conns: HashMap<u64, Rc<Outbox>>,
    rooms: HashMap<String, Vec<u64>>,
    joined: HashMap<u64, Vec<String>>,
}

type Ws = WebSocketStream<TcpStream>;
type Result<T> = std::result::Result<T, tokio_tungstenite::tungstenite::Error>;

const PING_INTERVAL: Duration = Duration::from_secs(25);
const MAX_PAYLOAD: usize = 1_000_000;

enum Event {
    Ping,
    Outbox,
    Incoming(Option<Result<Message>>),
}

/// Accepts `/socket.io/?…transport=websocket` only.
#[allow(clippy::result_large_err)] // the signature tungstenite's `Callback` asks for
fn check_path(req: &Request, response: Response) -> std::result::Result<Response, ErrorResponse> {
    let path_ok = matches!(req.uri().path(), "/socket.io/" | "/socket.io");
    let query_ok = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "transport=websocket"));
    if path_ok && query_ok {
        Ok(response)
    } else {
        let mut refusal = ErrorResponse::new(Some("the floor speaks WebSocket only".into()));
        *refusal.status_mut() = StatusCode::BAD_REQUEST;
        Err(refusal)
    }
}

async fn connection(stream: TcpStream, hub: Rc<RefCell<Hub>>) {
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(64 * 1024)
        .max_message_size(Some(MAX_PAYLOAD))
        .max_frame_size(Some(MAX_PAYLOAD));
    let Ok(mut ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, check_path, Some(config)).await
    else {
        return;
    };
    let id = {
        let mut hub = hub.borrow_mut();
        hub.next_id += 1;
        hub.next_id
    };
    let outbox = Rc::new(Outbox::default());
    let open = format!(
        "0{{\"sid\":\"tt{id}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    );
    if ws.send(Message::text(open)).await.is_ok() {
        let _ = serve(id, &hub, &outbox, &mut ws).await;
    }
    let mut hub = hub.borrow_mut();
    hub.conns.remove(&id);
    for room in hub.joined.remove(&id).unwrap_or_default() {
        if let Some(members) = hub.rooms.get_mut(&room) {
            members.retain(|m| *m != id);
        }
    }
}

async fn serve(id: u64, hub: &RefCell<Hub>, outbox: &Rc<Outbox>, ws: &mut Ws) -> Result<()> {
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    // The ack id of a binary echo whose attachment is the next frame.
    let mut pending_binary: Option<u64> = None;
    loop {
        let event = poll_fn(|cx| {
            if ping.poll_tick(cx).is_ready() {
                return Poll::Ready(Event::Ping);
            }
            if !outbox.frames.borrow().is_empty() {
                return Poll::Ready(Event::Outbox);
            }
            outbox.register(cx.waker());
            ws.poll_next_unpin(cx).map(Event::Incoming)
        })
        .await;
        match event {
            Event::Ping => ws.send(Message::text("2")).await?,
            Event::Outbox => {
                loop {
                    let next = outbox.frames.borrow_mut().pop_front();
                    let Some(frame) = next else { break };
                    ws.feed(frame).await?;
                }
                ws.flush().await?;
            }
            Event::Incoming(Some(Ok(Message::Text(text)))) => {
                on_text(id, hub, outbox, ws, &text, &mut pending_binary).await?
            }
            Event::Incoming(Some(Ok(Message::Binary(bytes)))) => {
                if let Some(ack) = pending_binary.take() {
                    let head = format!("461-{ack}[{{\"_placeholder\":true,\"num\":0}}]");
                    ws.feed(Message::text(head)).await?;
                    ws.send(Message::Binary(bytes)).await?;
                }
            }
            // tungstenite answers WebSocket pings itself.
            Event::Incoming(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => {}
            Event::Incoming(_) => return Ok(()),
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
    hub: &RefCell<Hub>,
    outbox: &Rc<Outbox>,
    ws: &mut Ws,
    text: &str,
    pending_binary: &mut Option<u64>,
) -> Result<()> {
    if text == "3" {
        return Ok(());
    }
    if text.starts_with("40") {
        // In `/` from now on: a broadcast to everyone reaches it.
        hub.borrow_mut().conns.insert(id, outbox.clone());
        let connected = format!("40{{\"sid\":\"tt-s{id}\"}}");
        return ws.send(Message::text(connected)).await;
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
            return ws.send(Message::text(format!("43{ack}[{args}"))).await;
        }
        return Ok(());
    }
    if let Some(args) = array.strip_prefix("[\"join\",\"") {
        if let Some((room, _)) = args.split_once('"') {
            let mut hub = hub.borrow_mut();
            hub.rooms.entry(room.to_owned()).or_default().push(id);
            hub.joined.entry(id).or_default().push(room.to_owned());
        }
        if let Some(ack) = ack {
            return ws.send(Message::text(format!("43{ack}[]"))).await;
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
        let frame = Message::Text(Utf8Bytes::from(format!("42[\"msg\",{data}]")));
        let hub = hub.borrow();
        match room {
            // To every socket of `/`, the sender included.
            None => {
                for outbox in hub.conns.values() {
                    outbox.push(frame.clone());
                }
            }
            // To every other socket of the room.
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
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    // `run_until` below never returns: the server runs until it is killed.
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3105);
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    let listener = socket.listen(4096)?;
    let hub = Rc::new(RefCell::new(Hub::default()));
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        if stream.set_nodelay(true).is_ok() {
                            tokio::task::spawn_local(connection(stream, hub.clone()));
                        }
                    }
                    // Out of fds, say: the connections already open go on.
                    Err(e) => {
                        eprintln!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        })
        .await
}
