//! The application's handle on one Engine.IO session.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

use super::packet::{Data, Frame};
use super::request::RequestInfo;
use super::session::{Event, Session, TransportKind};
use crate::sync::lock;

/// One Engine.IO session as the application sees it: send, close, inspect.
///
/// Cloning is cheap; every clone refers to the same session, from any thread.
#[derive(Clone)]
pub struct EngineSocket(Arc<Connection>);

struct Connection {
    sid: Box<str>,
    request: RequestInfo,
    session: Mutex<Session>,
    /// Wakes the pending long-poll (and, during an upgrade, whatever waits on polling).
    transmit: Notify,
    /// Wakes the WebSocket writer that carries the session: actix-http's connection task,
    /// which polls it.
    writer: AtomicWaker,
    /// Wakes the task that fires the session's deadlines when they move earlier.
    timer: Notify,
}

impl std::fmt::Debug for EngineSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSocket")
            .field("sid", &self.0.sid)
            .finish_non_exhaustive()
    }
}

impl EngineSocket {
    pub(crate) fn new(sid: String, request: RequestInfo, session: Session) -> Self {
        EngineSocket(Arc::new(Connection {
            sid: sid.into(),
            request,
            session: Mutex::new(session),
            transmit: Notify::new(),
            writer: AtomicWaker::new(),
            timer: Notify::new(),
        }))
    }

    /// The Engine.IO session id.
    pub fn sid(&self) -> &str {
        &self.0.sid
    }

    /// What the client's first request carried.
    pub fn request(&self) -> &RequestInfo {
        &self.0.request
    }

    /// The transport in use now (it changes once, on upgrade).
    pub fn transport(&self) -> TransportKind {
        self.lock().transport()
    }

    /// Queues a message; false when the session is closing or closed.
    pub fn send(&self, data: impl Into<Data>) -> bool {
        self.act(|s| s.send(Frame::from(data.into())))
    }

    /// Queues several messages at once, in order, so no other sender's message can come
    /// between them (a Socket.IO packet and its binary attachments).
    pub fn send_many(&self, messages: impl IntoIterator<Item = impl Into<Frame>>) -> bool {
        self.act(|s| messages.into_iter().all(|m| s.send(m)))
    }

    /// Queues messages only if the transport can take them now (a WebSocket or a pending
    /// long-poll, with nothing queued before them), for data that is worthless later.
    pub fn send_volatile(&self, messages: impl IntoIterator<Item = impl Into<Frame>>) -> bool {
        self.act(|s| s.is_writable() && messages.into_iter().all(|m| s.send(m)))
    }

    /// Closes the session after what is queued has been delivered.
    pub fn close(&self) {
        self.act(|s| s.close(Instant::now()));
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.lock().is_closed()
    }

    /// Runs one input through the state machine, wakes whoever must act on it, and returns
    /// the events for the application (to be delivered after the lock is released).
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Session) -> R) -> (R, Vec<Event>) {
        let mut events = Vec::new();
        let result = self.run(f, Some(&mut events));
        (result, events)
    }

    /// Runs an application call (a send, a close) through the state machine. Its events
    /// stay queued for the connection's task, which is woken to deliver them: a send that
    /// closes a slow client must not run the close handlers inside the sender's emit.
    fn act<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        self.run(f, None)
    }

    fn run<R>(&self, f: impl FnOnce(&mut Session) -> R, events: Option<&mut Vec<Event>>) -> R {
        let (result, wakeups, polling) = {
            let mut session = self.lock();
            let result = f(&mut session);
            if let Some(events) = events {
                events.extend(std::iter::from_fn(|| session.poll_event()));
            }
            (result, session.take_wakeups(), session.polls())
        };
        if wakeups.transmit {
            // A WebSocket writer registers its waker before it looks at the session, so no
            // wake-up is lost between its look and its wait.
            self.0.writer.wake();
            // Several tasks may wait at once during an upgrade (the pending long-poll, the
            // timer task, the probing WebSocket): wake them all, or one wake-up could reach
            // a task it does not concern. Every waiter creates its `notified()` future
            // before it checks the session. A WebSocket session has no such waiter, and
            // skips the cost (a lock) on every message.
            if polling {
                self.0.transmit.notify_waiters();
            }
        }
        if wakeups.timer {
            self.0.timer.notify_waiters();
        }
        result
    }

    pub(crate) fn transmit_notify(&self) -> &Notify {
        &self.0.transmit
    }

    pub(crate) fn writer_waker(&self) -> &AtomicWaker {
        &self.0.writer
    }

    pub(crate) fn timer_notify(&self) -> &Notify {
        &self.0.timer
    }

    fn lock(&self) -> MutexGuard<'_, Session> {
        lock(&self.0.session)
    }
}
