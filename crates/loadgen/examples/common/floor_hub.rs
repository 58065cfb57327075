//! What both floors (`floor.rs`, `floor_tungstenite.rs`) share: the Socket.IO frames they
//! answer, found by string slicing, and the room map a broadcast walks. No IO: each floor
//! only pumps its own connections and pushes what this returns.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

/// How often a floor pings each connection (the `pingInterval` of its open packet).
pub const PING_INTERVAL: Duration = Duration::from_secs(25);

/// One connection's queue of outgoing frames, in the floor's own frame type.
pub trait Outbox: Clone {
    /// The encoded frame a broadcast shares between receivers (a clone is a reference count).
    type Frame: Clone;

    /// `text` as a frame.
    fn frame(text: String) -> Self::Frame;

    /// Queues `frame` and wakes the connection's task if it sleeps.
    fn push(&self, frame: Self::Frame);
}

/// Every connection of a floor's one thread.
pub struct Hub<O> {
    /// The last id handed out.
    next_id: u64,
    /// The connections in `/` (CONNECT done): a broadcast to everyone walks these.
    conns: HashMap<u64, O>,
    /// Each room's members, for a broadcast to a room.
    rooms: HashMap<String, Vec<u64>>,
    /// Each connection's rooms, to leave them when it closes.
    joined: HashMap<u64, Vec<String>>,
}

impl<O> Default for Hub<O> {
    fn default() -> Self {
        Self {
            next_id: 0,
            conns: HashMap::new(),
            rooms: HashMap::new(),
            joined: HashMap::new(),
        }
    }
}

/// One connection's side of the floor protocol.
pub struct Conn {
    /// Its id in the hub.
    pub id: u64,
    /// Which floor answers (in the sids), so a run's logs tell the floors apart.
    name: &'static str,
    /// The ack id of a binary echo whose attachment is the next frame.
    pending_binary: Option<u64>,
}

impl Conn {
    /// A new connection of `hub`, named `name` in its sids.
    pub fn open<O>(hub: &RefCell<Hub<O>>, name: &'static str) -> Self {
        let mut hub = hub.borrow_mut();
        hub.next_id += 1;
        Self {
            id: hub.next_id,
            name,
            pending_binary: None,
        }
    }

    /// The Engine.IO open packet to send first.
    pub fn handshake(&self) -> String {
        format!(
            "0{{\"sid\":\"{}{}\",\"upgrades\":[],\"pingInterval\":{},\"pingTimeout\":20000,\"maxPayload\":1000000}}",
            self.name,
            self.id,
            PING_INTERVAL.as_millis()
        )
    }

    /// Takes the connection out of the hub and its rooms.
    pub fn close<O>(&self, hub: &RefCell<Hub<O>>) {
        let mut hub = hub.borrow_mut();
        hub.conns.remove(&self.id);
        for room in hub.joined.remove(&self.id).unwrap_or_default() {
            if let Some(members) = hub.rooms.get_mut(&room) {
                members.retain(|m| *m != self.id);
            }
        }
    }

    /// Handles a text frame: broadcasts go straight onto the receivers' outboxes; what
    /// the connection itself must answer is returned.
    pub fn on_text<O: Outbox>(
        &mut self,
        hub: &RefCell<Hub<O>>,
        outbox: &O,
        text: &str,
    ) -> Option<String> {
        let id = self.id;
        if text.starts_with("40") {
            // In `/` from now on: a broadcast to everyone reaches it.
            hub.borrow_mut().conns.insert(id, outbox.clone());
            return Some(format!("40{{\"sid\":\"{}-s{id}\"}}", self.name));
        }
        if let Some(rest) = text.strip_prefix("451-") {
            if let (Some(ack), args) = ack_id(rest) {
                if args.starts_with("[\"echo\"") {
                    self.pending_binary = Some(ack);
                }
            }
            return None;
        }
        let (ack, array) = ack_id(text.strip_prefix("42")?);
        if let Some(args) = array.strip_prefix("[\"echo\"") {
            // `,"x"]` → `["x"]`; `]` → `[]`.
            let args = args.strip_prefix(',').unwrap_or(args);
            return ack.map(|ack| format!("43{ack}[{args}"));
        }
        if let Some(args) = array.strip_prefix("[\"join\",\"") {
            if let Some((room, _)) = args.split_once('"') {
                let mut hub = hub.borrow_mut();
                hub.rooms.entry(room.to_owned()).or_default().push(id);
                hub.joined.entry(id).or_default().push(room.to_owned());
            }
            return ack.map(|ack| format!("43{ack}[]"));
        }
        if let Some(args) = array.strip_prefix("[\"broadcast\",") {
            let (room, data) = if let Some(data) = args.strip_prefix("null,") {
                (None, data)
            } else {
                let (room, data) = args.strip_prefix('"')?.split_once("\",")?;
                (Some(room), data)
            };
            let data = data.strip_suffix(']').unwrap_or(data);
            let frame = O::frame(format!("42[\"msg\",{data}]"));
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
        None
    }

    /// For a binary frame: the head of the binary ack it completes, sent before the
    /// attachment is echoed back (`None`: nobody asked for it, drop it).
    pub fn on_binary(&mut self) -> Option<String> {
        let ack = self.pending_binary.take()?;
        Some(format!("461-{ack}[{{\"_placeholder\":true,\"num\":0}}]"))
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
