//! The sessions index: every open session by sid, shared by all workers, and the one place
//! where a session's events reach the [`EngineHandler`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use actix_web::HttpRequest;
use tokio::sync::Notify;

use super::config::EngineConfig;
use super::error::EngineError;
use super::handler::EngineHandler;
use super::request::RequestInfo;
use super::session::{CloseReason, Event, Session, TransportKind};
use super::sid::IdHasher;
use super::socket::EngineSocket;
use crate::sync::{read, write};

/// The sessions of one Engine.IO server and the handler they report to.
pub(crate) struct Registry<H: EngineHandler> {
    pub(crate) config: EngineConfig,
    pub(crate) handler: H,
    /// Every open session by sid; shared by all workers, since a polling client's requests
    /// may land on any of them.
    sessions: RwLock<HashMap<String, Arc<Entry<H>>, IdHasher>>,
    /// [`Registry::close_all`] was called: handshakes are refused.
    closed: AtomicBool,
    /// Signalled when the last session is removed.
    emptied: Notify,
    /// Sessions still allocated, closed or not (see [`Registry::retained`]).
    retained: Arc<AtomicUsize>,
}

/// A session and the handler's data for it.
pub(crate) struct Entry<H: EngineHandler> {
    pub(crate) socket: EngineSocket,
    data: H::Data,
    _retained: Retained,
}
/// Counts an entry from its creation until its last holder lets go of it.
struct Retained(Arc<AtomicUsize>);

impl Retained {
    fn new(count: &Arc<AtomicUsize>) -> Retained {
        count.fetch_add(1, Ordering::Relaxed);
        Retained(count.clone())
    }
}

impl Drop for Retained {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<H: EngineHandler> Registry<H> {
    pub(crate) fn new(config: EngineConfig, handler: H) -> Self {
        Registry {
            config,
            handler,
            sessions: RwLock::new(HashMap::default()),
            closed: AtomicBool::new(false),
            emptied: Notify::new(),
            retained: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn read_sessions(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Entry<H>>, IdHasher>> {
        read(&self.sessions)
    }

    pub(crate) fn len(&self) -> usize {
        self.read_sessions().len()
    }

    /// Sessions whose state is still allocated, closed or not.
    pub(crate) fn retained(&self) -> usize {
        self.retained.load(Ordering::Relaxed)
    }

    pub(crate) fn get(&self, sid: &str) -> Option<Arc<Entry<H>>> {
        self.read_sessions().get(sid).cloned()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes every session and refuses handshakes from now on; returns once every session
    /// has ended.
    pub(crate) async fn close_all(&self) {
        self.closed.store(true, Ordering::Release);
        let entries: Vec<Arc<Entry<H>>> = self.read_sessions().values().cloned().collect();
        for entry in entries {
            self.update(&entry, |s| {
                s.close_for(Instant::now(), CloseReason::ServerShutdown)
            });
        }
        loop {
            let emptied = self.emptied.notified();
            if self.read_sessions().is_empty() {
                return;
            }
            emptied.await;
        }
    }

    /// Refuses a handshake once the server is closing, or while `max_connections` sessions
    /// are open. Checked before the session exists, without holding the lock through
    /// `on_open`: concurrent handshakes on other workers may overshoot by one each.
    pub(crate) fn check_capacity(&self) -> Result<(), EngineError> {
        if self.is_closed() {
            return Err(EngineError::ShuttingDown);
        }
        if self.read_sessions().len() >= self.config.max_connections {
            return Err(EngineError::TooManyConnections);
        }
        Ok(())
    }

    /// Creates a session for a handshake and lets the handler open it, unless
    /// `max_connections` are open already.
    pub(crate) fn open(
        &self,
        req: &HttpRequest,
        transport: TransportKind,
    ) -> Result<Arc<Entry<H>>, EngineError> {
        self.check_capacity()?;
        let sid = super::sid::generate();
        let session = Session::new(sid.clone(), transport, self.config.limits(), Instant::now());
        let request = RequestInfo::copied_from(req);
        let socket = EngineSocket::new(sid.clone(), request, session);
        let data = self.handler.on_open(&socket);
        let entry = Arc::new(Entry {
            socket,
            data,
            _retained: Retained::new(&self.retained),
        });
        write(&self.sessions).insert(sid, entry.clone());
        // A handshake that passed the check while `close_all` ran closes at once (its open
        // packet still goes out first, then `1`).
        if self.closed.load(Ordering::Acquire) {
            self.update(&entry, |s| {
                s.close_for(Instant::now(), CloseReason::ServerShutdown)
            });
        }
        Ok(entry)
    }

    /// Runs an input through a session, then hands its events to the handler.
    pub(crate) fn update<R>(&self, entry: &Entry<H>, f: impl FnOnce(&mut Session) -> R) -> R {
        let (result, events) = entry.socket.update(f);
        for event in events {
            match event {
                Event::Message(message) => {
                    self.handler.on_message(&entry.socket, &entry.data, message)
                }
                Event::Closed(reason) => {
                    {
                        let mut sessions = write(&self.sessions);
                        sessions.remove(entry.socket.sid());
                        if sessions.is_empty() {
                            self.emptied.notify_waiters();
                        }
                    }
                    // A slow client is closed by the server's own limit: worth a warning.
                    let level = match reason {
                        CloseReason::BufferFull => log::Level::Warn,
                        _ => log::Level::Debug,
                    };
                    log::log!(
                        level,
                        "engine.io session {} closed: {}",
                        entry.socket.sid(),
                        reason.as_str()
                    );
                    self.handler.on_close(&entry.socket, &entry.data, reason);
                }
            }
        }
        result
    }
}
