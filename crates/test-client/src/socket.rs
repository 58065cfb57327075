//! One namespace as JSON: events queued by name, emits with acks, the server's DISCONNECT.

use std::collections::VecDeque;
use std::time::Duration;

use awc::ws::{Message, WebsocketsRequest};
use serde_json::Value;
use tokio::time::Instant;

use crate::raw::{nsp_prefix, Connect, Incoming, RawClient};

/// A raw Socket.IO client in one namespace, reading events and acks as JSON.
pub struct SocketClient {
    raw: RawClient,
    nsp: String,
    /// Events received but not yet asked for: (name, first argument).
    events: VecDeque<(String, Value)>,
    next_ack: u64,
    disconnected: bool,
}

enum Read {
    Nothing,
    Ack(u64, Value),
    Other,
}

/// How a namespace CONNECT was answered.
pub enum Joined {
    Connected(SocketClient),
    /// The CONNECT_ERROR's message.
    Refused(String),
}

impl Joined {
    pub fn socket(self) -> SocketClient {
        match self {
            Joined::Connected(socket) => socket,
            Joined::Refused(message) => panic!("connection refused: {message}"),
        }
    }

    pub fn refusal(self) -> String {
        match self {
            Joined::Connected(_) => panic!("connection accepted"),
            Joined::Refused(message) => message,
        }
    }
}

impl SocketClient {
    /// Opens `request` (an Engine.IO WebSocket, with the test's headers) and CONNECTs to
    /// `nsp` with `auth`; every wait of this client is bounded by `step`.
    pub async fn connect(
        request: WebsocketsRequest,
        step: Duration,
        nsp: &str,
        auth: &Value,
    ) -> Joined {
        let mut raw = RawClient::open_within(request, step).await;
        match raw.join(nsp, Some(&auth.to_string())).await {
            Connect::Accepted { .. } => Joined::Connected(SocketClient {
                raw,
                nsp: nsp.to_owned(),
                events: VecDeque::new(),
                next_ack: 0,
                disconnected: false,
            }),
            Connect::Refused(error) => {
                Joined::Refused(error["message"].as_str().unwrap_or_default().to_owned())
            }
        }
    }

    /// Reads one packet within `wait`: an event is queued, a DISCONNECT noted, an ack
    /// returned as `Read::Ack`.
    async fn read_packet(&mut self, wait: Duration) -> Read {
        let text = match self.raw.try_recv(wait).await {
            None => return Read::Nothing,
            Some(Incoming::Text(text)) => text,
            Some(Incoming::Closed(_)) => panic!("the connection closed"),
            Some(other) => panic!("unexpected frame {other:?}"),
        };
        let nsp = nsp_prefix(&self.nsp);
        let event_prefix = format!("42{nsp}");
        let ack_prefix = format!("43{nsp}");
        if let Some(rest) = text.strip_prefix(&event_prefix) {
            let args: Vec<Value> = serde_json::from_str(rest).expect("event JSON");
            let name = args[0].as_str().expect("event name").to_owned();
            self.events
                .push_back((name, args.get(1).cloned().unwrap_or(Value::Null)));
            Read::Other
        } else if let Some(rest) = text.strip_prefix(&ack_prefix) {
            let split = rest.find('[').expect("ack arguments");
            let id = rest[..split].parse().expect("ack id");
            let args: Vec<Value> = serde_json::from_str(&rest[split..]).expect("ack JSON");
            Read::Ack(id, args.into_iter().next().unwrap_or(Value::Null))
        } else if text == format!("41{nsp}") {
            self.disconnected = true;
            Read::Other
        } else {
            panic!("unexpected packet {text}");
        }
    }

    /// Emits `event` with `data` and waits for its ack's first argument.
    pub async fn emit_ack(&mut self, event: &str, data: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let packet = serde_json::json!([event, data]);
        self.raw
            .send(&format!("42{}{id}{packet}", nsp_prefix(&self.nsp)));
        let deadline = Instant::now() + self.raw.step;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_packet(left).await {
                Read::Ack(acked, reply) => {
                    assert_eq!(acked, id, "acks arrive in order here");
                    return reply;
                }
                Read::Nothing => panic!("no ack for {event} in time"),
                Read::Other => assert!(!self.disconnected, "disconnected while waiting for an ack"),
            }
        }
    }

    /// Emits without asking for an ack.
    pub async fn emit(&mut self, event: &str, data: Value) {
        let packet = serde_json::json!([event, data]);
        self.raw
            .send(&format!("42{}{packet}", nsp_prefix(&self.nsp)));
    }

    /// The next `name` event's argument (other events stay queued).
    pub async fn event(&mut self, name: &str) -> Value {
        self.try_event(name, self.raw.step)
            .await
            .unwrap_or_else(|| panic!("no {name} event in time; queued: {:?}", self.events))
    }

    /// The next `name` event within `wait`, if any.
    pub async fn try_event(&mut self, name: &str, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(at) = self.events.iter().position(|(n, _)| n == name) {
                return self.events.remove(at).map(|(_, data)| data);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.disconnected {
                return None;
            }
            match self.read_packet(left).await {
                Read::Nothing => return None,
                Read::Ack(id, _) => panic!("unexpected ack {id}"),
                Read::Other => {}
            }
        }
    }

    /// Drops every queued `name` event (e.g. older participant lists).
    pub fn forget(&mut self, name: &str) {
        self.events.retain(|(n, _)| n != name);
    }

    /// Waits for the server's DISCONNECT of this namespace.
    pub async fn disconnected(&mut self) {
        let deadline = Instant::now() + self.raw.step;
        while !self.disconnected {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_packet(left).await {
                Read::Nothing => panic!("no DISCONNECT in time"),
                Read::Ack(id, _) => panic!("unexpected ack {id}"),
                Read::Other => {}
            }
        }
    }

    /// Leaves by closing the whole connection, as a closed (or reloaded) tab does.
    pub async fn close(self) {
        self.raw.send_message(Message::Close(None));
        self.raw.finish().await;
    }

    /// Leaves on purpose: a DISCONNECT of the namespace, then the close, as the official
    /// client's `socket.disconnect()` does. Waits for the server's close frame, as a
    /// browser does: a connection dropped at once can lose the frames before it (actix-ws
    /// reports the end of the stream before the frames it has buffered).
    pub async fn leave(mut self) {
        self.raw.send(&format!("41{}", nsp_prefix(&self.nsp)));
        self.raw.send_message(Message::Close(None));
        let deadline = Instant::now() + self.raw.step;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.raw.try_recv(left).await {
                None | Some(Incoming::Closed(_)) => break,
                Some(_) => {}
            }
        }
    }
}
