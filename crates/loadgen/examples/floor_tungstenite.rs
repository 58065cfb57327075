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
use std::collections::VecDeque;
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

#[path = "common/floor_hub.rs"]
mod floor_hub;

use floor_hub::{Conn, PING_INTERVAL};

/// Frames waiting for one connection's task, and that task's waker.
#[derive(Default)]
struct Outbox {
    frames: RefCell<VecDeque<Message>>,
    waker: RefCell<Option<Waker>>,
}

impl floor_hub::Outbox for Rc<Outbox> {
    type Frame = Message;

    fn frame(text: String) -> Message {
        Message::Text(Utf8Bytes::from(text))
    }

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
}

impl Outbox {
    fn register(&self, waker: &Waker) {
        let mut slot = self.waker.borrow_mut();
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
}

type Hub = floor_hub::Hub<Rc<Outbox>>;
type Ws = WebSocketStream<TcpStream>;
type Result<T> = std::result::Result<T, tokio_tungstenite::tungstenite::Error>;

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
    let mut conn = Conn::open(&hub, "tt");
    let outbox = Rc::new(Outbox::default());
    if ws.send(Message::text(conn.handshake())).await.is_ok() {
        let _ = serve(&mut conn, &hub, &outbox, &mut ws).await;
    }
    conn.close(&hub);
}

async fn serve(
    conn: &mut Conn,
    hub: &RefCell<Hub>,
    outbox: &Rc<Outbox>,
    ws: &mut Ws,
) -> Result<()> {
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
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
                if let Some(answer) = conn.on_text(hub, outbox, &text) {
                    ws.send(Message::text(answer)).await?;
                }
            }
            Event::Incoming(Some(Ok(Message::Binary(bytes)))) => {
                if let Some(head) = conn.on_binary() {
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
