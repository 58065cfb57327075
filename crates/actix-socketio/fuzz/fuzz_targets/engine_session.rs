//! The Engine.IO session state machine driven by arbitrary inputs, with a clock that only
//! moves forward. A small model beside it checks what must hold whatever the client or
//! the timers do:
//!
//! - `poll_timeout()` is `None` exactly when the session is closed, and after the timer
//!   fires (`handle_timeout` at that deadline) it lies in the future: the timer task
//!   never spins;
//! - the `timer` wake-up is set whenever the deadline moves earlier than the one the timer
//!   task armed, so no deadline fires late;
//! - one `Closed` event, the last event, with the reason the input implies (`fail` is a
//!   transport error, a lost transport its own reason...);
//! - the messages a client sends come out as events in order, while the session is open;
//! - only a pending long-poll gets an answer, at most once, never empty; a new poll while
//!   one is pending is refused;
//! - the open packet leaves first and once; the server's messages leave in order, without
//!   loss or duplicates (only a close drops what is still queued); nothing leaves after a
//!   close packet, nor once closed but for the pending poll's final answer;
//! - the transport only ever moves from polling to WebSocket, through a probe.
#![no_main]

use std::time::{Duration, Instant};

use actix_socketio::engine::packet::{Data, Frame, OpenPacket, Packet};
use actix_socketio::engine::session::{
    CloseReason, Event, Limits, Session, SessionError, TransportKind, UpgradeId,
};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    websocket: bool,
    /// Limits in milliseconds, 1 to 256; zero durations are not a valid configuration.
    ping_interval: u8,
    ping_timeout: u8,
    upgrade_timeout: u8,
    /// The outbox's byte budget: small ones make sends close the session.
    max_buffered: u16,
    ops: Vec<Op>,
}

#[derive(Debug, Arbitrary)]
enum Op {
    /// Time passes (milliseconds) without the timer firing.
    Advance(u8),
    /// The timer task wakes at `poll_timeout()` (plus a little lateness) and fires.
    Timer(u8),
    /// `handle_timeout` at the current time, as any input does first.
    HandleTimeout,
    Recv(ClientPacket, Via),
    SendText,
    SendBinary,
    Close,
    StartPoll,
    TakePoll,
    PollAborted,
    TakeWebsocket,
    StartUpgrade,
    /// Abandons one of the upgrade ids handed out so far (stale ones included).
    AbandonUpgrade(u8),
    Fail,
    TransportLost(Reason),
    PollEvent,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Via {
    Polling,
    WebSocket,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Reason {
    TransportClose,
    TransportError,
    PingTimeout,
    ForcedClose,
}

#[derive(Debug, Clone, Arbitrary)]
enum ClientPacket {
    Open,
    Close,
    Ping,
    PingProbe,
    Pong,
    PongProbe,
    Text(String),
    Binary(Vec<u8>),
    Outgoing,
    Upgrade,
    Noop,
}

impl ClientPacket {
    fn packet(&self) -> Packet {
        match self {
            ClientPacket::Open => Packet::Open(Box::new(OpenPacket {
                sid: "x".into(),
                upgrades: vec![],
                ping_interval: 1,
                ping_timeout: 1,
                max_payload: 1,
            })),
            ClientPacket::Close => Packet::Close,
            ClientPacket::Ping => Packet::Ping,
            ClientPacket::PingProbe => Packet::PingProbe,
            ClientPacket::Pong => Packet::Pong,
            ClientPacket::PongProbe => Packet::PongProbe,
            ClientPacket::Text(text) => Packet::Message(Data::from(text.as_str())),
            ClientPacket::Binary(bytes) => Packet::Message(Data::from(bytes.clone())),
            ClientPacket::Outgoing => Packet::Outgoing(Frame::text("x")),
            ClientPacket::Upgrade => Packet::Upgrade,
            ClientPacket::Noop => Packet::Noop,
        }
    }
}

fn kind(via: Via) -> TransportKind {
    match via {
        Via::Polling => TransportKind::Polling,
        Via::WebSocket => TransportKind::WebSocket,
    }
}

fn reason(reason: Reason) -> CloseReason {
    match reason {
        Reason::TransportClose => CloseReason::TransportClose,
        Reason::TransportError => CloseReason::TransportError,
        Reason::PingTimeout => CloseReason::PingTimeout,
        Reason::ForcedClose => CloseReason::ForcedClose,
    }
}

fn ms(n: u8) -> Duration {
    Duration::from_millis(u64::from(n) + 1)
}

/// What the harness expects of the session.
struct Model {
    now: Instant,
    /// A long-poll GET waits for its answer.
    poll_pending: bool,
    /// `close()` was called on an open session.
    closing: bool,
    /// The `Closed` event, once the application has seen it.
    closed_event: Option<CloseReason>,
    /// Client messages not yet seen as events.
    expected_messages: std::collections::VecDeque<Data>,
    /// Numbers the server's messages, to check their order on the way out.
    sent: u64,
    delivered: u64,
    open_delivered: bool,
    close_delivered: bool,
    upgrade_ids: Vec<UpgradeId>,
    /// The deadline the timer task sleeps until.
    armed: Option<Instant>,
    max_buffered: usize,
}

fuzz_target!(|input: Input| {
    let t0 = Instant::now();
    let limits = Limits {
        ping_interval: ms(input.ping_interval),
        ping_timeout: ms(input.ping_timeout),
        upgrade_timeout: ms(input.upgrade_timeout),
        max_payload: 1_000_000,
        max_buffered: usize::from(input.max_buffered),
    };
    let transport = if input.websocket {
        TransportKind::WebSocket
    } else {
        TransportKind::Polling
    };
    let mut s = Session::new("sid".into(), transport, limits, t0);
    let mut m = Model {
        now: t0,
        poll_pending: false,
        closing: false,
        closed_event: None,
        expected_messages: Default::default(),
        sent: 0,
        delivered: 0,
        open_delivered: false,
        close_delivered: false,
        upgrade_ids: Vec::new(),
        armed: None,
        max_buffered: usize::from(input.max_buffered),
    };
    // The I/O layer takes the wake-ups after every input and re-arms the timer.
    take_wakeups(&mut s, &mut m, true);

    for op in &input.ops {
        step(&mut s, &mut m, op);
        check(&mut s, &mut m);
    }
    // The application sees every event, and `Closed` exactly when the session is.
    drain_events(&mut s, &mut m, None);
    assert_eq!(s.is_closed(), m.closed_event.is_some());
});

fn step(s: &mut Session, m: &mut Model, op: &Op) {
    let was_closed = s.is_closed();
    let transport = s.transport();
    // Which reason a `Closed` event caused by this input must give, when the input
    // cannot also fire a deadline first.
    let mut closes_with: Option<&[CloseReason]> = None;
    let mut timer_fired = false;
    let lost;
    match op {
        Op::Advance(n) => m.now += ms(*n),
        Op::Timer(late) => {
            if let Some(deadline) = m.armed {
                closes_with = Some(&DEADLINE_REASONS);
                m.now = m
                    .now
                    .max(deadline + Duration::from_millis(u64::from(*late % 4)));
                s.handle_timeout(m.now);
                timer_fired = true;
                if let Some(next) = s.poll_timeout() {
                    assert!(
                        next > m.now,
                        "the timer would spin: {next:?} <= {:?}",
                        m.now
                    );
                }
            }
        }
        Op::HandleTimeout => {
            s.handle_timeout(m.now);
            closes_with = Some(&DEADLINE_REASONS);
        }
        Op::Recv(packet, via) => {
            let via = kind(*via);
            let closing = m.closing;
            let result = s.recv(packet.packet(), via, m.now);
            match &result {
                Ok(Some(reply)) => {
                    assert_eq!(reply, &Packet::PongProbe);
                    assert!(matches!(packet, ClientPacket::PingProbe));
                    assert!(via != transport);
                }
                Ok(None) => {}
                Err(_) => {
                    assert!(s.is_closed(), "a protocol error closes the session");
                    closes_with = Some(&[CloseReason::TransportError]);
                }
            }
            if let ClientPacket::Text(_) | ClientPacket::Binary(_) = packet {
                if result.is_ok() && !s.is_closed() && !closing && via == transport {
                    m.expected_messages.push_back(match packet.packet() {
                        Packet::Message(data) => data,
                        _ => unreachable!(),
                    });
                }
            }
            if matches!(packet, ClientPacket::Upgrade) && s.transport() != transport {
                assert_eq!(s.transport(), TransportKind::WebSocket);
                assert_eq!(via, TransportKind::WebSocket);
            }
        }
        Op::SendText => {
            let frame = Frame::text(&m.sent.to_string());
            if !send(s, m, frame, was_closed) {
                closes_with = Some(&BUFFER_FULL);
            }
        }
        Op::SendBinary => {
            let bytes = m.sent.to_le_bytes();
            if !send(s, m, Frame::binary(&bytes), was_closed) {
                closes_with = Some(&BUFFER_FULL);
            }
        }
        Op::Close => {
            let open = !s.is_closed() && !m.closing;
            s.close(m.now);
            if open && !s.is_closed() {
                m.closing = true;
            }
        }
        Op::StartPoll => {
            let result = s.start_poll(m.now);
            match result {
                Ok(()) => {
                    assert!(!m.poll_pending, "two polls pending");
                    assert_eq!(s.transport(), TransportKind::Polling);
                    m.poll_pending = true;
                }
                Err(SessionError::PollOverlap) => {
                    assert!(m.poll_pending);
                    assert!(s.is_closed());
                    closes_with = Some(&[CloseReason::TransportError]);
                }
                Err(SessionError::TransportMismatch) => {
                    assert_eq!(s.transport(), TransportKind::WebSocket);
                }
                Err(SessionError::Closed) => assert!(s.is_closed()),
            }
        }
        Op::TakePoll => {
            let answer = s.take_poll();
            if answer.is_some() {
                assert!(m.poll_pending, "take_poll answered no poll");
                m.poll_pending = false;
            }
            match answer {
                Some(Ok(packets)) => {
                    assert!(!packets.is_empty(), "an empty poll answer");
                    if was_closed {
                        assert!(
                            matches!(packets[..], [Packet::Close] | [Packet::Noop]),
                            "{packets:?} after close"
                        );
                    }
                    deliver(m, &packets);
                }
                Some(Err(err)) => {
                    assert_eq!(err, SessionError::TransportMismatch);
                    assert_eq!(s.transport(), TransportKind::WebSocket);
                }
                None => {}
            }
            if s.is_closed() && !was_closed {
                closes_with = Some(&[CloseReason::ForcedClose]);
            }
        }
        Op::PollAborted => {
            let pending = m.poll_pending;
            s.poll_aborted();
            m.poll_pending = false;
            if pending {
                assert!(s.is_closed());
                closes_with = Some(&[CloseReason::TransportError]);
            }
        }
        Op::TakeWebsocket => {
            let packets = s.take_websocket();
            if transport == TransportKind::Polling || was_closed {
                assert!(packets.is_empty(), "{packets:?} over {transport:?}");
            }
            deliver(m, &packets);
            if s.is_closed() && !was_closed {
                closes_with = Some(&[CloseReason::ForcedClose]);
            }
        }
        Op::StartUpgrade => match s.start_upgrade(m.now) {
            Ok(id) => {
                assert_eq!(s.transport(), TransportKind::Polling);
                assert!(s.is_probing(id));
                assert!(!m.upgrade_ids.contains(&id));
                assert!(!m.upgrade_ids.iter().any(|&old| s.is_probing(old)));
                m.upgrade_ids.push(id);
            }
            // No upgrade starts once the server is closing either.
            Err(SessionError::Closed) => assert!(s.is_closed() || m.closing),
            Err(SessionError::TransportMismatch) => {}
            Err(SessionError::PollOverlap) => panic!("start_upgrade: overlap"),
        },
        Op::AbandonUpgrade(i) => {
            if !m.upgrade_ids.is_empty() {
                let id = m.upgrade_ids[usize::from(*i) % m.upgrade_ids.len()];
                s.abandon_upgrade(id);
                assert!(!s.is_probing(id));
                assert_eq!(s.transport(), transport);
            }
        }
        Op::Fail => {
            s.fail();
            closes_with = Some(&[CloseReason::TransportError]);
        }
        Op::TransportLost(r) => {
            s.transport_lost(reason(*r));
            lost = [reason(*r)];
            closes_with = Some(&lost);
        }
        Op::PollEvent => {
            let event = s.poll_event();
            on_event(m, event, None);
        }
    }
    if transport == TransportKind::WebSocket {
        assert_eq!(s.transport(), TransportKind::WebSocket, "back to polling");
    }
    if was_closed {
        assert!(s.is_closed(), "reopened");
    }
    if s.is_closed() && !was_closed {
        drain_events(s, m, closes_with);
    }
    take_wakeups(s, m, timer_fired);
}

/// A deadline closes a session for these reasons only.
const DEADLINE_REASONS: [CloseReason; 2] = [CloseReason::PingTimeout, CloseReason::ForcedClose];

/// A send past the byte budget closes the session for this reason only.
const BUFFER_FULL: [CloseReason; 1] = [CloseReason::BufferFull];

/// Sends `frame`: accepted while the session is open and the frame fits the budget (its
/// bytes plus its queue slot); one that does not fit closes the session. Returns false
/// when it closed the session.
fn send(s: &mut Session, m: &mut Model, frame: Frame, was_closed: bool) -> bool {
    let len = frame.payload().len();
    let fits = s.buffered() + len + std::mem::size_of::<Packet>() <= m.max_buffered;
    let open = !was_closed && !m.closing;
    let accepted = s.send(frame);
    assert_eq!(accepted, open && fits, "send accepted: {accepted}");
    if accepted {
        m.sent += 1;
    }
    if open && !fits {
        assert!(s.is_closed(), "a send past the budget closes the session");
        return false;
    }
    assert_eq!(s.is_closed(), was_closed);
    true
}

/// Packets handed to a transport, in order.
fn deliver(m: &mut Model, packets: &[Packet]) {
    for packet in packets {
        assert!(!m.close_delivered, "{packet:?} after the close packet");
        match packet {
            Packet::Open(_) => {
                assert!(!m.open_delivered, "a second open packet");
                assert_eq!(m.delivered, 0, "messages before the open packet");
                m.open_delivered = true;
            }
            Packet::Ping => assert!(m.open_delivered, "a ping before the open packet"),
            Packet::Outgoing(frame) => {
                assert!(m.open_delivered, "a message before the open packet");
                let n = match frame.as_text() {
                    Some(text) => text[1..].parse::<u64>().expect("a sent number"),
                    None => u64::from_le_bytes(frame.payload().try_into().expect("8 bytes")),
                };
                assert_eq!(n, m.delivered, "messages lost, repeated or reordered");
                m.delivered += 1;
            }
            Packet::Close => m.close_delivered = true,
            Packet::Noop => {}
            other => panic!("{other:?} sent to the client"),
        }
    }
}

fn on_event(m: &mut Model, event: Option<Event>, reasons: Option<&[CloseReason]>) {
    match event {
        None => {}
        Some(event) if m.closed_event.is_some() => panic!("{event:?} after Closed"),
        Some(Event::Message(data)) => {
            assert_eq!(
                m.expected_messages.pop_front(),
                Some(data),
                "messages out of order"
            );
        }
        Some(Event::Closed(reason)) => {
            assert!(
                m.expected_messages.is_empty(),
                "messages lost before Closed"
            );
            if let Some(reasons) = reasons {
                assert!(
                    reasons.contains(&reason),
                    "closed with {reason:?}, not {reasons:?}"
                );
            }
            m.closed_event = Some(reason);
        }
    }
}

fn drain_events(s: &mut Session, m: &mut Model, reasons: Option<&[CloseReason]>) {
    while let Some(event) = s.poll_event() {
        on_event(m, Some(event), reasons);
    }
}

/// The I/O layer takes the wake-ups after every input; the timer task re-reads
/// `poll_timeout()` when woken, and after it fired.
fn take_wakeups(s: &mut Session, m: &mut Model, fired: bool) {
    let wakeups = s.take_wakeups();
    let next = s.poll_timeout();
    if wakeups.timer || fired {
        m.armed = next;
        return;
    }
    if let Some(armed) = m.armed {
        let next = next.expect("closed without a timer wake-up");
        assert!(
            next >= armed,
            "the deadline moved from {:?} to {:?} without a timer wake-up",
            armed - m.now.min(armed),
            next.saturating_duration_since(m.now)
        );
    }
}

/// What holds after any input.
fn check(s: &mut Session, m: &mut Model) {
    assert_eq!(s.poll_timeout().is_none(), s.is_closed());
    assert!(
        s.buffered() <= m.max_buffered,
        "the outbox outgrew its budget"
    );
    if m.closed_event.is_some() {
        assert!(s.is_closed());
    }
    if s.is_writable() {
        assert!(!s.is_closed() && !m.closing);
        assert!(s.transport() == TransportKind::WebSocket || m.poll_pending);
    }
    if s.is_closed() {
        // A closed session refuses everything and changes no more.
        assert!(!s.send(Frame::text("late")));
        assert_eq!(s.start_poll(m.now), Err(SessionError::Closed));
        assert_eq!(s.start_upgrade(m.now), Err(SessionError::Closed));
        assert!(s.take_websocket().is_empty());
        assert_eq!(s.recv(Packet::Pong, s.transport(), m.now), Ok(None));
        assert_eq!(s.poll_event(), None);
        let wakeups = s.take_wakeups();
        assert!(
            !wakeups.timer && !wakeups.transmit,
            "{wakeups:?} once closed"
        );
    }
}
