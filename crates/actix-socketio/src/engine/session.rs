//! The Engine.IO session state machine, with no I/O and no clock.
//!
//! Every input carries `now`; every output is a packet to send, an event for the
//! application or a deadline. The transports pump it: they feed what the client sent,
//! take what is queued for the client and call [`Session::handle_timeout`] at
//! [`Session::poll_timeout`]. That keeps heartbeat, upgrade and close rules testable
//! to the millisecond without sockets or sleeps.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::packet::{Data, Frame, OpenPacket, Packet};

/// Which transport carries a session, or is being probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }

    /// The transport a `transport` query parameter names.
    pub fn from_query(name: &str) -> Option<Self> {
        match name {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::WebSocket),
            _ => None,
        }
    }
}

/// Why a session ended; the names are the reasons Node's engine.io reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent a close packet or closed its transport.
    TransportClose,
    /// The client broke the protocol (bad packet, overlapping polls, oversize payload,
    /// aborted long-poll).
    TransportError,
    /// No pong within `ping_timeout` of a ping.
    PingTimeout,
    /// The server closed the session.
    ForcedClose,
    /// The client fell so far behind that its queue reached `Limits::max_buffered`.
    BufferFull,
    /// The server closed every session to shut down.
    ServerShutdown,
}

impl CloseReason {
    /// The reason as Node writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ForcedClose => "forced close",
            CloseReason::BufferFull => "outbound buffer full",
            CloseReason::ServerShutdown => "server shutting down",
        }
    }
}

/// What the session tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message from the client.
    Message(Data),
    /// The session ended.
    Closed(CloseReason),
}

/// The timing and size limits a session enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time between pings.
    pub ping_interval: Duration,
    /// How long a pong may take.
    pub ping_timeout: Duration,
    /// How long an upgrade may take.
    pub upgrade_timeout: Duration,
    /// Largest message or polling body, in bytes.
    pub max_payload: u64,
    /// How many bytes may wait for one client before the session is closed: a client that
    /// stops reading must not grow the server's memory without bound.
    pub max_buffered: usize,
}

/// A request the session refuses; the transport answers it with an HTTP error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// A long-poll GET while another is pending: the session is closed.
    #[error("overlapping long-poll requests")]
    PollOverlap,
    /// The request's transport is not the session's (after an upgrade, or a probe while
    /// another upgrade runs).
    #[error("transport mismatch")]
    TransportMismatch,
    /// The session has ended.
    #[error("session closed")]
    Closed,
}

/// The client broke the protocol; the session is closed with `TransportError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unexpected {packet} packet over {transport}")]
pub struct UnexpectedPacket {
    /// The packet type.
    pub packet: &'static str,
    /// The transport it came over.
    pub transport: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heartbeat {
    /// The next ping is due then.
    PingAt(Instant),
    /// A ping was queued; the session dies if no pong arrives by then.
    PongBy(Instant),
}

/// Once a WebSocket has probed, Node's upgrade check runs every 100 ms from the probe and
/// answers the long-poll pending then with a noop; a poll is answered at the first check
/// after it arrives, never at once. An upgrade that completes first ends it with an error,
/// so a stray poll racing the upgrade never sees a successful answer. (Answering at once
/// let the official client with `retries` send a packet twice about one time in four.)
const PROBE_NOOP_DELAY: Duration = Duration::from_millis(100);

/// How late a timer may fire and still count as on time (see `handle_timeout`).
const TIMER_SLACK: Duration = Duration::from_millis(5);

/// How the pending long-poll ends, when it does not end with the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PollAnswer {
    Packet(Packet),
    /// The session moved to a WebSocket under it.
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Upgrade {
    id: UpgradeId,
    deadline: Instant,
    /// When the probe (`2probe`) arrived: long-polls are answered with noops from then on.
    probed_at: Option<Instant>,
}

/// Identifies one upgrade attempt (one probing WebSocket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeId(u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// The server asked to close, for that reason: the queued packets and a final close
    /// packet are still to be delivered, until the deadline.
    Closing(Instant, CloseReason),
    Closed,
}

/// Which flags the I/O layer should act on after an input.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wakeups {
    /// Something new is ready for the client (the outbox, or a pending poll's answer).
    pub transmit: bool,
    /// `poll_timeout` may have moved earlier, or the session closed.
    pub timer: bool,
}

/// One Engine.IO session.
#[derive(Debug)]
pub struct Session {
    /// The transport the session's packets go over.
    transport: TransportKind,
    /// A WebSocket probe in progress.
    upgrade: Option<Upgrade>,
    /// Numbers upgrade attempts, so a stale probe cannot act on a newer one.
    upgrades_started: u64,
    heartbeat: Heartbeat,
    state: State,
    /// Packets for the client, in order, for the current transport.
    outbox: VecDeque<Packet>,
    /// What the outbox holds, as counted against `Limits::max_buffered`.
    outbox_bytes: usize,
    /// Events for the application, in order.
    events: VecDeque<Event>,
    /// A long-poll GET is waiting for packets.
    poll_pending: bool,
    /// When the pending GET arrived (for the upgrade check's noop).
    poll_since: Option<Instant>,
    /// The answer a pending GET receives instead of the outbox (a close, a noop, an error).
    poll_final: Option<PollAnswer>,
    wakeups: Wakeups,
    limits: Limits,
}

impl Session {
    /// Opens a session: the open packet is queued first.
    pub fn new(sid: String, transport: TransportKind, limits: Limits, now: Instant) -> Session {
        let upgrades = match transport {
            TransportKind::Polling => vec![TransportKind::WebSocket.as_str()],
            TransportKind::WebSocket => vec![],
        };
        let open = Packet::Open(Box::new(OpenPacket {
            sid,
            upgrades,
            ping_interval: duration_ms(limits.ping_interval),
            ping_timeout: duration_ms(limits.ping_timeout),
            max_payload: limits.max_payload,
        }));
        Session {
            transport,
            upgrade: None,
            upgrades_started: 0,
            heartbeat: Heartbeat::PingAt(now + limits.ping_interval),
            state: State::Open,
            outbox: VecDeque::from([open]),
            outbox_bytes: 0,
            events: VecDeque::new(),
            poll_pending: false,
            poll_since: None,
            poll_final: None,
            wakeups: Wakeups {
                transmit: true,
                timer: true,
            },
            limits,
        }
    }

    /// The transport carrying the session now.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether it has ended.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether a long-poll may wait on the session: it is on polling, or a poll that was
    /// pending at the upgrade still waits for its answer.
    pub fn polls(&self) -> bool {
        self.transport == TransportKind::Polling || self.poll_pending
    }

    /// Whether this upgrade attempt is still the one in progress.
    pub fn is_probing(&self, id: UpgradeId) -> bool {
        self.upgrade.is_some_and(|u| u.id == id)
    }

    /// Whether a message queued now would leave at once: nothing waits before it, and the
    /// transport can take it. Volatile messages are sent only then, so a client that falls
    /// behind loses those first.
    pub fn is_writable(&self) -> bool {
        self.state == State::Open
            && self.upgrade.is_none()
            && self.outbox.is_empty()
            && (self.transport == TransportKind::WebSocket || self.poll_pending)
    }

    /// Queues a message for the client. Returns false once the session is closing, or when
    /// the message would take the queue past `max_buffered`: the session then closes with
    /// [`CloseReason::BufferFull`].
    pub fn send(&mut self, message: impl Into<Frame>) -> bool {
        if self.state != State::Open {
            return false;
        }
        let frame = message.into();
        let cost = queued_cost(&frame);
        if self.outbox_bytes.saturating_add(cost) > self.limits.max_buffered {
            self.finish(CloseReason::BufferFull, Packet::Close);
            return false;
        }
        self.outbox_bytes += cost;
        self.push(Packet::Outgoing(frame));
        true
    }

    /// The bytes waiting in the outbox (messages, as counted against `max_buffered`).
    pub fn buffered(&self) -> usize {
        self.outbox_bytes
    }

    /// The server closes the session: what is queued is still delivered, then `1`.
    pub fn close(&mut self, now: Instant) {
        self.close_for(now, CloseReason::ForcedClose);
    }

    /// [`Session::close`], ending with `reason` (`ForcedClose` or `ServerShutdown`).
    pub fn close_for(&mut self, now: Instant, reason: CloseReason) {
        if self.state != State::Open {
            return;
        }
        self.push(Packet::Close);
        // A client that never polls again must not keep the session forever.
        let deadline = now + self.limits.ping_interval + self.limits.ping_timeout;
        self.state = State::Closing(deadline, reason);
        self.wakeups.timer = true;
    }

    /// A packet from the client, over `via`. `Ok(Some(p))` must be sent back at once on
    /// the same transport (the probe answer), not through the outbox.
    pub fn recv(
        &mut self,
        packet: Packet,
        via: TransportKind,
        now: Instant,
    ) -> Result<Option<Packet>, UnexpectedPacket> {
        self.handle_timeout(now);
        if self.state == State::Closed {
            return Ok(None);
        }
        let probing = via != self.transport;
        let unexpected = |packet: &'static str| UnexpectedPacket {
            packet,
            transport: via.as_str(),
        };
        match packet {
            Packet::PingProbe if probing && self.upgrade.is_some() => {
                if let Some(upgrade) = &mut self.upgrade {
                    upgrade.probed_at = Some(now);
                }
                // A pending long-poll ends with a noop soon, so the client can pause polling.
                self.wakeups.timer = true;
                Ok(Some(Packet::PongProbe))
            }
            Packet::Upgrade if probing && self.upgrade.is_some() => {
                self.upgrade = None;
                self.transport = via;
                if self.poll_pending {
                    self.poll_final = Some(PollAnswer::Refused);
                }
                self.wakeups = Wakeups {
                    transmit: true,
                    timer: true,
                };
                Ok(None)
            }
            _ if probing => {
                self.fail();
                Err(unexpected("non-probe"))
            }
            Packet::Pong => {
                if let Heartbeat::PongBy(_) = self.heartbeat {
                    self.heartbeat = Heartbeat::PingAt(now + self.limits.ping_interval);
                    // The next ping may be due before the pong deadline was.
                    self.wakeups.timer = true;
                }
                Ok(None)
            }
            Packet::Message(data) => {
                if self.state == State::Open {
                    self.events.push_back(Event::Message(data));
                }
                Ok(None)
            }
            Packet::Close => {
                self.finish(CloseReason::TransportClose, Packet::Noop);
                Ok(None)
            }
            Packet::Noop => Ok(None),
            Packet::Open(_) | Packet::Ping | Packet::PingProbe => {
                self.fail();
                Err(unexpected("ping"))
            }
            Packet::PongProbe | Packet::Upgrade => {
                self.fail();
                Err(unexpected("upgrade"))
            }
            // Only the server encodes these; the decoder never yields one.
            Packet::Outgoing(_) => {
                self.fail();
                Err(unexpected("outgoing"))
            }
        }
    }

    /// The client broke the protocol: the session ends with a transport error.
    pub fn fail(&mut self) {
        self.finish(CloseReason::TransportError, Packet::Close);
    }

    /// The client's transport went away (a WebSocket closed, a long-poll GET aborted).
    pub fn transport_lost(&mut self, reason: CloseReason) {
        self.finish(reason, Packet::Close);
    }

    /// A WebSocket with this session's sid asks to take over. Refused while another
    /// upgrade runs or after one completed.
    pub fn start_upgrade(&mut self, now: Instant) -> Result<UpgradeId, SessionError> {
        self.handle_timeout(now);
        match self.state {
            State::Open => {}
            _ => return Err(SessionError::Closed),
        }
        if self.transport != TransportKind::Polling || self.upgrade.is_some() {
            return Err(SessionError::TransportMismatch);
        }
        self.upgrades_started += 1;
        let id = UpgradeId(self.upgrades_started);
        self.upgrade = Some(Upgrade {
            id,
            deadline: now + self.limits.upgrade_timeout,
            probed_at: None,
        });
        self.wakeups.timer = true;
        Ok(id)
    }

    /// The probing WebSocket went away before `5`: polling goes on as before.
    pub fn abandon_upgrade(&mut self, id: UpgradeId) {
        if self.is_probing(id) {
            self.upgrade = None;
            self.wakeups.timer = true;
        }
    }

    /// A long-poll GET arrives. It then waits until [`Session::take_poll`] gives it packets.
    /// A deadline that has passed counts first, even if its timer has not fired yet.
    pub fn start_poll(&mut self, now: Instant) -> Result<(), SessionError> {
        self.handle_timeout(now);
        if self.state == State::Closed {
            return Err(SessionError::Closed);
        }
        if self.transport != TransportKind::Polling {
            return Err(SessionError::TransportMismatch);
        }
        if self.poll_pending {
            // The pending GET receives the close packet; this one gets an error.
            self.finish(CloseReason::TransportError, Packet::Close);
            return Err(SessionError::PollOverlap);
        }
        self.poll_pending = true;
        self.poll_since = Some(now);
        if self.probed() {
            // The client is probing a WebSocket: this poll ends empty at the next upgrade
            // check, and what is queued waits for the new transport.
            self.wakeups.timer = true;
        }
        Ok(())
    }

    fn probed(&self) -> bool {
        self.upgrade.is_some_and(|u| u.probed_at.is_some())
    }

    /// When the pending poll gets its noop: at the first upgrade check (every
    /// `PROBE_NOOP_DELAY` from the probe) after both the probe and the poll.
    fn probe_noop_at(&self) -> Option<Instant> {
        let probed_at = self.upgrade?.probed_at?;
        if !self.poll_pending || self.poll_final.is_some() {
            return None;
        }
        let waited = self.poll_since.map_or(Duration::ZERO, |since| {
            since.saturating_duration_since(probed_at)
        });
        let ticks = waited.as_nanos() / PROBE_NOOP_DELAY.as_nanos() + 1;
        Some(probed_at + PROBE_NOOP_DELAY * u32::try_from(ticks).unwrap_or(u32::MAX))
    }

    /// The answer for the pending long-poll GET, once there is one; it ends that poll.
    pub fn take_poll(&mut self) -> Option<Result<Vec<Packet>, SessionError>> {
        if !self.poll_pending {
            return None;
        }
        let answer = match self.poll_final.take() {
            Some(PollAnswer::Packet(last)) => Ok(vec![last]),
            Some(PollAnswer::Refused) => Err(SessionError::TransportMismatch),
            None if self.probed() || self.outbox.is_empty() => return None,
            None => Ok(self.drain_outbox()),
        };
        self.poll_pending = false;
        Some(answer)
    }

    /// The pending GET went away before it was answered (the client aborted it).
    pub fn poll_aborted(&mut self) {
        if self.poll_pending {
            self.poll_pending = false;
            self.finish(CloseReason::TransportError, Packet::Close);
        }
    }

    /// Everything queued for a WebSocket transport, in order.
    pub fn take_websocket(&mut self) -> Vec<Packet> {
        let mut packets = Vec::new();
        self.take_websocket_with(|packet| packets.push(packet));
        packets
    }

    /// [`Session::take_websocket`], handing each packet to `each`: the transport frames
    /// them into its own queue, with no buffer in between.
    pub fn take_websocket_with(&mut self, mut each: impl FnMut(Packet)) {
        if self.transport != TransportKind::WebSocket {
            return;
        }
        let mut closed_by_server = false;
        for packet in self.outbox.drain(..) {
            closed_by_server = packet == Packet::Close;
            each(packet);
        }
        self.outbox_bytes = 0;
        if closed_by_server {
            self.server_close_sent();
        }
    }

    /// Fires whatever deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Closed => return,
            State::Closing(deadline, reason) if now >= deadline => {
                self.finish(reason, Packet::Close);
                return;
            }
            _ => {}
        }
        if self.probe_noop_at().is_some_and(|at| now >= at) {
            self.poll_final = Some(PollAnswer::Packet(Packet::Noop));
            self.wakeups.transmit = true;
        }
        if let Some(upgrade) = self.upgrade {
            if now >= upgrade.deadline {
                self.upgrade = None;
                self.wakeups.timer = true;
            }
        }
        match self.heartbeat {
            Heartbeat::PongBy(deadline) if now >= deadline => {
                self.finish(CloseReason::PingTimeout, Packet::Close);
            }
            Heartbeat::PingAt(at) if now >= at && self.state == State::Open => {
                self.push(Packet::Ping);
                // The deadline runs from the moment the ping is queued, sent or not, and
                // that is when it was due: the timer that brings `now` fires a little late
                // (tokio rounds up to its millisecond tick), and a client counting
                // ping_interval + ping_timeout must find the session closed by then. After
                // a longer stall it runs from now, and it always lies ahead.
                let due = at + self.limits.ping_timeout;
                let on_time = now.saturating_duration_since(at) <= TIMER_SLACK && due > now;
                let deadline = if on_time {
                    due
                } else {
                    now + self.limits.ping_timeout
                };
                self.heartbeat = Heartbeat::PongBy(deadline);
                self.wakeups.timer = true;
            }
            _ => {}
        }
    }

    /// The earliest deadline, or `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let heartbeat = match self.heartbeat {
            // No ping is sent once closing, so its due time is no deadline: past it, the
            // timer would fire again and again until the close deadline.
            Heartbeat::PingAt(_) if self.state != State::Open => None,
            Heartbeat::PingAt(at) | Heartbeat::PongBy(at) => Some(at),
        };
        let closing = match self.state {
            State::Closed => return None,
            State::Closing(at, _) => Some(at),
            State::Open => None,
        };
        [
            heartbeat,
            self.upgrade.map(|u| u.deadline),
            self.probe_noop_at(),
            closing,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// What changed since the last call, so the I/O layer wakes the right waiters.
    pub fn take_wakeups(&mut self) -> Wakeups {
        std::mem::take(&mut self.wakeups)
    }

    fn push(&mut self, packet: Packet) {
        // The transport drains the whole outbox whenever it is woken: a wake-up is needed
        // only when the outbox stops being empty, not for every message of a burst.
        if self.outbox.is_empty() {
            self.wakeups.transmit = true;
        }
        self.outbox.push_back(packet);
    }

    fn drain_outbox(&mut self) -> Vec<Packet> {
        // As Node: a server close after queued packets goes in the poll after theirs, so
        // the client handles those (a DISCONNECT, say) before the close.
        let end = match self.outbox.back() {
            Some(Packet::Close) if self.outbox.len() > 1 => self.outbox.len() - 1,
            _ => self.outbox.len(),
        };
        let packets: Vec<Packet> = self.outbox.drain(..end).collect();
        self.outbox_bytes = 0;
        if packets.last() == Some(&Packet::Close) {
            self.server_close_sent();
        }
        packets
    }

    /// A server close completes once its final close packet has been handed over.
    fn server_close_sent(&mut self) {
        if let State::Closing(_, reason) = self.state {
            self.finish(reason, Packet::Close);
        }
    }

    /// Ends the session now. A pending GET is answered with `last`.
    fn finish(&mut self, reason: CloseReason, last: Packet) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.upgrade = None;
        // A poll that already has its answer (refused after an upgrade, or the probe's
        // noop) keeps it: the close goes over the transport that carries the session.
        if self.poll_pending && self.poll_final.is_none() {
            self.poll_final = Some(PollAnswer::Packet(last));
        }
        // A WebSocket transport closes its socket instead of sending packets.
        self.outbox.clear();
        self.outbox_bytes = 0;
        self.events.push_back(Event::Closed(reason));
        self.wakeups = Wakeups {
            transmit: true,
            timer: true,
        };
    }
}

/// A message's share of `max_buffered`: its bytes, plus its slot in the queue, so a flood
/// of tiny messages is bounded too.
fn queued_cost(frame: &Frame) -> usize {
    frame.payload().len() + std::mem::size_of::<Packet>()
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::packet::encode_payload;

    const MS: Duration = Duration::from_millis(1);

    fn limits() -> Limits {
        Limits {
            ping_interval: 300 * MS,
            ping_timeout: 200 * MS,
            upgrade_timeout: 1000 * MS,
            max_payload: 1_000_000,
            max_buffered: 4096,
        }
    }

    fn polling(now: Instant) -> Session {
        let mut s = Session::new("sid".into(), TransportKind::Polling, limits(), now);
        s.start_poll(now).unwrap();
        let open = s.take_poll().unwrap().unwrap();
        assert_eq!(
            encode_payload(&open),
            r#"0{"sid":"sid","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        );
        s
    }

    fn poll_text(s: &mut Session) -> Option<String> {
        s.take_poll()
            .map(|p| encode_payload(&p.expect("an answer, not an error")))
    }

    #[test]
    fn websocket_handshake_offers_no_upgrade() {
        let now = Instant::now();
        let mut s = Session::new("x".into(), TransportKind::WebSocket, limits(), now);
        assert_eq!(
            encode_payload(&s.take_websocket()),
            r#"0{"sid":"x","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        );
    }

    #[test]
    fn ping_after_interval_then_pong_reschedules() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        assert_eq!(s.poll_timeout(), Some(t0 + 300 * MS));
        s.start_poll(t0 + 299 * MS).unwrap();
        assert_eq!(poll_text(&mut s), None);
        s.handle_timeout(t0 + 300 * MS);
        assert_eq!(poll_text(&mut s).as_deref(), Some("2"));
        assert_eq!(s.poll_timeout(), Some(t0 + 500 * MS));
        s.recv(Packet::Pong, TransportKind::Polling, t0 + 350 * MS)
            .unwrap();
        assert_eq!(s.poll_timeout(), Some(t0 + 650 * MS));
        assert!(!s.is_closed());
    }

    /// Found by the engine_session fuzz target: with a ping interval shorter than the ping
    /// timeout, a pong moved the deadline earlier without waking the timer, so the next
    /// ping left late.
    #[test]
    fn a_pong_that_brings_the_next_ping_forward_wakes_the_timer() {
        let t0 = Instant::now();
        let short_interval = Limits {
            ping_interval: 100 * MS,
            ping_timeout: 500 * MS,
            ..limits()
        };
        let mut s = Session::new("sid".into(), TransportKind::Polling, short_interval, t0);
        s.handle_timeout(t0 + 100 * MS);
        assert_eq!(s.poll_timeout(), Some(t0 + 600 * MS));
        s.take_wakeups();
        s.recv(Packet::Pong, TransportKind::Polling, t0 + 110 * MS)
            .unwrap();
        assert_eq!(s.poll_timeout(), Some(t0 + 210 * MS));
        assert!(s.take_wakeups().timer);
    }

    #[test]
    fn pong_deadline_runs_from_the_queued_ping() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        // No GET is pending: the ping is only queued, and the clock runs anyway.
        s.handle_timeout(t0 + 300 * MS);
        s.handle_timeout(t0 + 499 * MS);
        assert!(!s.is_closed());
        s.handle_timeout(t0 + 500 * MS);
        assert!(s.is_closed());
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::PingTimeout))
        );
        assert_eq!(s.start_poll(t0), Err(SessionError::Closed));
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn a_timer_that_fires_late_does_not_move_the_pong_deadline() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.handle_timeout(t0 + 302 * MS);
        assert_eq!(s.poll_timeout(), Some(t0 + 500 * MS), "due at 300, not 302");
        // After a stall the deadline runs from the firing.
        let mut stalled = polling(t0);
        stalled.handle_timeout(t0 + 400 * MS);
        assert_eq!(stalled.poll_timeout(), Some(t0 + 600 * MS));
    }

    #[test]
    fn a_poll_after_the_pong_deadline_finds_the_session_closed() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.handle_timeout(t0 + 300 * MS);
        // The timer has not fired yet; the input's own clock decides.
        assert_eq!(s.start_poll(t0 + 500 * MS), Err(SessionError::Closed));
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::PingTimeout))
        );
    }

    #[test]
    fn messages_flow_both_ways() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        let hello = Packet::Message(Data::from("hello"));
        s.recv(hello, TransportKind::Polling, t0).unwrap();
        assert_eq!(s.poll_event(), Some(Event::Message(Data::from("hello"))));
        assert!(s.send(Data::from("a")));
        assert!(s.send(Data::from(vec![1u8, 2, 3, 4])));
        s.start_poll(t0).unwrap();
        assert_eq!(poll_text(&mut s).as_deref(), Some("4a\x1ebAQIDBA=="));
    }

    #[test]
    fn writable_only_with_a_pending_poll_or_a_websocket() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        assert!(!s.is_writable());
        s.start_poll(t0).unwrap();
        assert!(s.is_writable());
        let mut ws = Session::new("x".into(), TransportKind::WebSocket, limits(), t0);
        assert!(!ws.is_writable(), "the open packet waits first");
        ws.take_websocket();
        assert!(ws.is_writable());
    }

    #[test]
    fn a_client_that_falls_behind_is_not_writable() {
        let t0 = Instant::now();
        let mut ws = Session::new("x".into(), TransportKind::WebSocket, limits(), t0);
        ws.take_websocket();
        assert!(ws.send(Data::from("a")));
        assert!(!ws.is_writable(), "a message is still waiting");
        let sent: Vec<String> = ws.take_websocket().iter().map(Packet::to_text).collect();
        assert_eq!(sent, ["4a"]);
        assert!(ws.is_writable());
    }

    #[test]
    fn the_queue_is_bounded_by_max_buffered() {
        let t0 = Instant::now();
        let mut ws = Session::new("x".into(), TransportKind::WebSocket, limits(), t0);
        ws.take_websocket();
        let message = "x".repeat(1000);
        let cost = 1001 + std::mem::size_of::<Packet>();
        let fit = 4096 / cost;
        for _ in 0..fit {
            assert!(ws.send(Data::from(message.as_str())));
        }
        assert_eq!(ws.buffered(), fit * cost);
        // Draining frees the budget.
        assert_eq!(ws.take_websocket().len(), fit);
        assert_eq!(ws.buffered(), 0);
        for _ in 0..fit {
            assert!(ws.send(Data::from(message.as_str())));
        }
        assert!(!ws.send(Data::from(message.as_str())), "past the cap");
        assert!(ws.is_closed());
        assert_eq!(ws.buffered(), 0, "the queue is dropped with the session");
        assert_eq!(
            ws.poll_event(),
            Some(Event::Closed(CloseReason::BufferFull))
        );
        assert!(!ws.send(Data::from("late")));
        assert_eq!(ws.poll_event(), None);
    }

    #[test]
    fn a_polling_client_that_stops_polling_is_closed_at_the_cap() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.start_poll(t0).unwrap();
        let message = "y".repeat(1000);
        assert!(s.send(Data::from(message.as_str())));
        // The pending poll takes the first one; the client never polls again.
        assert!(s.take_poll().is_some());
        let fit = 4096 / (1001 + std::mem::size_of::<Packet>());
        for _ in 0..fit {
            assert!(s.send(Data::from(message.as_str())));
        }
        assert!(!s.send(Data::from(message.as_str())));
        assert_eq!(s.poll_event(), Some(Event::Closed(CloseReason::BufferFull)));
        assert_eq!(s.start_poll(t0), Err(SessionError::Closed));
    }

    #[test]
    fn a_shutdown_close_ends_with_its_reason_after_the_queue() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        assert!(s.send(Data::from("last")));
        s.close_for(t0, CloseReason::ServerShutdown);
        s.start_poll(t0).unwrap();
        assert_eq!(poll_text(&mut s).as_deref(), Some("4last"));
        s.start_poll(t0).unwrap();
        assert_eq!(poll_text(&mut s).as_deref(), Some("1"));
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::ServerShutdown))
        );
    }

    #[test]
    fn overlapping_polls_close_the_session() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.start_poll(t0).unwrap();
        assert_eq!(s.start_poll(t0), Err(SessionError::PollOverlap));
        assert_eq!(poll_text(&mut s).as_deref(), Some("1"));
        assert!(s.is_closed());
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::TransportError))
        );
    }

    #[test]
    fn client_close_answers_the_pending_poll_with_noop() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.start_poll(t0).unwrap();
        s.recv(Packet::Close, TransportKind::Polling, t0).unwrap();
        assert_eq!(poll_text(&mut s).as_deref(), Some("6"));
        assert_eq!(s.start_poll(t0), Err(SessionError::Closed));
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::TransportClose))
        );
    }

    #[test]
    fn aborted_poll_closes_the_session() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.start_poll(t0).unwrap();
        s.poll_aborted();
        assert!(s.is_closed());
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::TransportError))
        );
    }

    #[test]
    fn invalid_packet_closes_the_session() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.fail();
        assert!(s.is_closed());
        assert_eq!(s.start_poll(t0), Err(SessionError::Closed));
    }

    #[test]
    fn upgrade_probe_noop_then_switch() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.send(Data::from("queued"));
        s.start_poll(t0).unwrap();
        assert_eq!(poll_text(&mut s).as_deref(), Some("4queued"));
        s.start_upgrade(t0).unwrap();
        let reply = s
            .recv(Packet::PingProbe, TransportKind::WebSocket, t0)
            .unwrap();
        assert_eq!(reply, Some(Packet::PongProbe));
        // A GET during the upgrade is answered with a noop at the next upgrade check.
        let t1 = t0 + Duration::from_millis(30);
        s.start_poll(t1).unwrap();
        assert_eq!(poll_text(&mut s), None);
        assert_eq!(s.poll_timeout(), Some(t0 + PROBE_NOOP_DELAY));
        s.handle_timeout(t0 + PROBE_NOOP_DELAY);
        assert_eq!(poll_text(&mut s).as_deref(), Some("6"));
        // One that comes after that check waits for the one after.
        let t2 = t0 + Duration::from_millis(150);
        s.start_poll(t2).unwrap();
        assert_eq!(s.poll_timeout(), Some(t0 + PROBE_NOOP_DELAY * 2));
        s.handle_timeout(t0 + PROBE_NOOP_DELAY * 2);
        assert_eq!(poll_text(&mut s).as_deref(), Some("6"));
        s.send(Data::from("after"));
        s.recv(Packet::Upgrade, TransportKind::WebSocket, t0)
            .unwrap();
        assert_eq!(s.transport(), TransportKind::WebSocket);
        assert_eq!(
            encode_payload(&s.take_websocket()),
            "4after",
            "packets queued during the upgrade go over the WebSocket"
        );
        assert_eq!(s.start_poll(t0), Err(SessionError::TransportMismatch));
        assert_eq!(s.start_upgrade(t0), Err(SessionError::TransportMismatch));
    }

    #[test]
    fn a_poll_pending_at_the_probe_gets_its_noop_after_the_delay() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.recv(Packet::Pong, TransportKind::Polling, t0).unwrap();
        s.start_upgrade(t0).unwrap();
        s.start_poll(t0).unwrap();
        s.recv(Packet::PingProbe, TransportKind::WebSocket, t0)
            .unwrap();
        assert_eq!(poll_text(&mut s), None);
        assert_eq!(s.poll_timeout(), Some(t0 + PROBE_NOOP_DELAY));
        s.handle_timeout(t0 + PROBE_NOOP_DELAY);
        assert_eq!(poll_text(&mut s).as_deref(), Some("6"));
    }

    #[test]
    fn a_poll_still_pending_when_the_upgrade_completes_is_refused() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.start_upgrade(t0).unwrap();
        s.start_poll(t0).unwrap();
        s.recv(Packet::PingProbe, TransportKind::WebSocket, t0)
            .unwrap();
        s.recv(Packet::Upgrade, TransportKind::WebSocket, t0)
            .unwrap();
        assert_eq!(s.take_poll(), Some(Err(SessionError::TransportMismatch)));
        assert!(!s.is_closed());
    }

    #[test]
    fn a_refused_poll_stays_refused_when_the_session_then_closes() {
        // Found by the engine_session fuzz target: the session closed over its new
        // WebSocket, and the old poll received a second close packet.
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.start_poll(t0).unwrap();
        s.start_upgrade(t0).unwrap();
        s.recv(Packet::Upgrade, TransportKind::WebSocket, t0)
            .unwrap();
        s.close(t0);
        let sent: Vec<String> = s.take_websocket().iter().map(Packet::to_text).collect();
        assert_eq!(sent, ["1"]);
        assert!(s.is_closed());
        assert_eq!(s.take_poll(), Some(Err(SessionError::TransportMismatch)));
    }

    #[test]
    fn abandoned_probe_resumes_polling() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        let id = s.start_upgrade(t0).unwrap();
        s.recv(Packet::PingProbe, TransportKind::WebSocket, t0)
            .unwrap();
        s.start_poll(t0).unwrap();
        s.handle_timeout(t0 + PROBE_NOOP_DELAY);
        assert_eq!(poll_text(&mut s).as_deref(), Some("6"));
        s.abandon_upgrade(id);
        s.send(Data::from("still polling"));
        s.start_poll(t0).unwrap();
        assert_eq!(poll_text(&mut s).as_deref(), Some("4still polling"));
        assert!(s.start_upgrade(t0).is_ok(), "a new probe may start");
    }

    #[test]
    fn second_probe_is_refused_while_upgrading() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.start_upgrade(t0).unwrap();
        assert_eq!(s.start_upgrade(t0), Err(SessionError::TransportMismatch));
    }

    #[test]
    fn upgrade_times_out() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.recv(Packet::Pong, TransportKind::Polling, t0).unwrap();
        let id = s.start_upgrade(t0 + 10 * MS).unwrap();
        assert_eq!(s.poll_timeout(), Some(t0 + 300 * MS));
        s.handle_timeout(t0 + 300 * MS);
        s.recv(Packet::Pong, TransportKind::Polling, t0 + 301 * MS)
            .unwrap();
        s.handle_timeout(t0 + 1010 * MS);
        assert!(!s.is_probing(id));
        assert_eq!(s.transport(), TransportKind::Polling);
    }

    #[test]
    fn server_close_delivers_queued_packets_then_close() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.send(Data::from("bye"));
        s.close(t0);
        assert!(!s.send(Data::from("too late")));
        assert!(!s.is_closed());
        // As Node: what was queued, then the close in the next poll.
        s.start_poll(t0).unwrap();
        assert_eq!(poll_text(&mut s).as_deref(), Some("4bye"));
        assert!(!s.is_closed());
        s.start_poll(t0).unwrap();
        assert_eq!(poll_text(&mut s).as_deref(), Some("1"));
        assert!(s.is_closed());
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::ForcedClose))
        );
    }

    #[test]
    fn server_close_gives_up_on_a_client_that_never_polls() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.close(t0);
        // The ping that was due at 300 ms is never sent while closing.
        assert_eq!(s.poll_timeout(), Some(t0 + 500 * MS));
        s.handle_timeout(t0 + 500 * MS);
        assert!(s.is_closed());
    }

    /// Found by the engine_session fuzz target: the ping due time of a closing session
    /// stayed its deadline once passed, so the timer task fired in a loop until the close
    /// deadline.
    #[test]
    fn a_closing_session_has_no_past_deadline() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        s.close(t0);
        s.handle_timeout(t0 + 300 * MS);
        assert!(!s.is_closed());
        assert_eq!(s.poll_timeout(), Some(t0 + 500 * MS));
    }

    #[test]
    fn websocket_ping_timeout_closes() {
        let t0 = Instant::now();
        let mut s = Session::new("x".into(), TransportKind::WebSocket, limits(), t0);
        s.take_websocket();
        s.handle_timeout(t0 + 300 * MS);
        assert_eq!(encode_payload(&s.take_websocket()), "2");
        s.handle_timeout(t0 + 500 * MS);
        assert!(s.is_closed());
        assert!(s.take_websocket().is_empty());
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::PingTimeout))
        );
    }

    #[test]
    fn unexpected_packets_are_errors() {
        let t0 = Instant::now();
        let mut s = polling(t0);
        assert!(s.recv(Packet::Upgrade, TransportKind::Polling, t0).is_err());
        assert!(s.is_closed());
        let mut s = polling(t0);
        assert!(s
            .recv(
                Packet::Message(Data::from("x")),
                TransportKind::WebSocket,
                t0
            )
            .is_err());
        assert!(s.is_closed());
    }
}
