//! The sessions a streams adapter keeps in Redis while their sockets are connected, so a
//! client whose server died without closing anything (SIGKILL, a crash, a lost machine)
//! still finds its session on another server. No I/O, no clock: every call takes `now`
//! and returns the writes to make.
//!
//! A change (connect, join, leave, data) marks the socket's session; marked sessions are
//! written together at the next round, so a burst of changes costs one SET. A written
//! session lives `ttl` in Redis (`PX`); while its socket stays connected it is written
//! again every `ttl / 2`, so a killed server's sessions outlive it by `ttl / 2` to `ttl`.
//! A round writes at most a given number of sessions; the rest wait for the next.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use actix_socketio::socket::adapter::SessionState;
use serde_json::Value;

use crate::wire::Session;

/// A write to Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Write {
    /// `SET key value PX ttl`.
    Set {
        /// `sessionKeyPrefix + pid`.
        key: String,
        /// base64 of @msgpack/msgpack `{sid, pid, rooms, data}`.
        value: String,
    },
    /// `DEL key`.
    Del {
        /// `sessionKeyPrefix + pid`.
        key: String,
    },
}

/// A connected socket's session.
#[derive(Debug)]
struct Live {
    /// Its latest state, encoded when written (changes within a round make one write).
    state: SessionState,
    /// Changed since it was last written.
    changed: bool,
    /// When it is to be written again.
    due: Option<Instant>,
    /// Tells this life of the pid from an earlier one (a pid comes back when its
    /// client recovers).
    generation: u64,
}

/// The sessions of one namespace's connected sockets.
#[derive(Debug)]
pub(crate) struct SessionBook {
    prefix: String,
    ttl: Duration,
    live: HashMap<String, Live>,
    /// Pids changed since their last write, in the order they changed.
    changed: VecDeque<String>,
    /// (when, pid, generation) of the next refresh of each written session, earliest
    /// first; one per live session (and a stale one per session gone since, skipped).
    refreshes: BinaryHeap<Reverse<(Instant, String, u64)>>,
    generations: u64,
}

/// The stored form of a session: what Node's `persistSession` writes. Data never set
/// (null here) is stored as `{}`, Node's `socket.data` of a new socket, so a Node node
/// that restores the session gets the object its handlers write into.
pub(crate) fn encode(state: &SessionState) -> String {
    let data = match &state.data {
        Value::Null => Value::Object(serde_json::Map::new()),
        data => data.clone(),
    };
    Session {
        sid: state.sid.clone(),
        pid: state.pid.clone(),
        rooms: state.rooms.clone(),
        data,
        binary: Vec::new(),
    }
    .encode()
}

/// A stored session as the library's; placeholders of binary data read as Node's
/// `{"type":"Buffer","data":[...]}`.
pub(crate) fn decode(session: Session) -> SessionState {
    let data = if session.binary.is_empty() {
        session.data
    } else {
        let text = crate::wire::json::to_string(&session.data, &session.binary);
        crate::wire::json::parse(text.as_bytes()).unwrap_or(Value::Null)
    };
    SessionState {
        sid: session.sid,
        pid: session.pid,
        rooms: session.rooms,
        data,
    }
}

impl SessionBook {
    /// Sessions stored under `prefix + pid`, living `ttl` in Redis.
    pub(crate) fn new(prefix: String, ttl: Duration) -> Self {
        SessionBook {
            prefix,
            ttl,
            live: HashMap::new(),
            changed: VecDeque::new(),
            refreshes: BinaryHeap::new(),
            generations: 0,
        }
    }

    /// How long a session lives in Redis.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    fn key(&self, pid: &str) -> String {
        format!("{}{pid}", self.prefix)
    }

    /// A connected socket's session changed: it is written at the next round.
    pub(crate) fn changed(&mut self, state: SessionState) {
        match self.live.get_mut(&state.pid) {
            Some(live) => {
                if !std::mem::replace(&mut live.changed, true) {
                    self.changed.push_back(state.pid.clone());
                }
                live.state = state;
            }
            None => {
                self.generations += 1;
                self.changed.push_back(state.pid.clone());
                self.live.insert(
                    state.pid.clone(),
                    Live {
                        state,
                        changed: true,
                        due: None,
                        generation: self.generations,
                    },
                );
            }
        }
    }

    /// The socket closed for a reason its client comes back from: its last state is
    /// written now, and no longer refreshed (it lives `ttl`, the disconnection's limit).
    pub(crate) fn closed(&mut self, state: &SessionState) -> Write {
        self.live.remove(&state.pid);
        Write::Set {
            key: self.key(&state.pid),
            value: encode(state),
        }
    }

    /// The socket left for good: its session goes.
    pub(crate) fn discarded(&mut self, pid: &str) -> Write {
        self.live.remove(pid);
        Write::Del { key: self.key(pid) }
    }

    /// Whether changes wait for a round.
    pub(crate) fn has_changes(&self) -> bool {
        !self.changed.is_empty()
    }

    /// When the next refresh is due.
    pub(crate) fn next_refresh(&self) -> Option<Instant> {
        self.refreshes.peek().map(|Reverse((at, _, _))| *at)
    }

    /// How many connected sockets' sessions are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    /// The writes of a round at `now`, at most `max`: changed sessions first, then
    /// sessions due for a refresh.
    pub(crate) fn due(&mut self, now: Instant, max: usize) -> Vec<Write> {
        let every = self.ttl / 2;
        let mut writes = Vec::new();
        while writes.len() < max {
            let Some(pid) = self.changed.pop_front() else {
                break;
            };
            let Some(live) = self.live.get_mut(&pid).filter(|live| live.changed) else {
                continue;
            };
            live.changed = false;
            let first = live.due.is_none();
            live.due = Some(now + every);
            let (value, generation) = (encode(&live.state), live.generation);
            if first {
                self.refreshes
                    .push(Reverse((now + every, pid.clone(), generation)));
            }
            writes.push(Write::Set {
                key: self.key(&pid),
                value,
            });
        }
        while writes.len() < max {
            match self.refreshes.peek() {
                Some(Reverse((at, _, _))) if *at <= now => {}
                _ => break,
            }
            let Some(Reverse((at, pid, generation))) = self.refreshes.pop() else {
                break;
            };
            let Some(live) = self
                .live
                .get_mut(&pid)
                .filter(|live| live.generation == generation)
            else {
                continue;
            };
            match live.due {
                // Written again since this refresh was planned: plan the next one.
                Some(due) if due > at => {
                    self.refreshes.push(Reverse((due, pid, generation)));
                }
                _ => {
                    live.due = Some(now + every);
                    let value = encode(&live.state);
                    self.refreshes
                        .push(Reverse((now + every, pid.clone(), generation)));
                    writes.push(Write::Set {
                        key: self.key(&pid),
                        value,
                    });
                }
            }
        }
        writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(pid: &str, rooms: &[&str], n: i64) -> SessionState {
        SessionState {
            sid: format!("sid-{pid}"),
            pid: pid.into(),
            rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
            data: json!({ "n": n }),
        }
    }

    fn set(pid: &str, rooms: &[&str], n: i64) -> Write {
        Write::Set {
            key: format!("k:{pid}"),
            value: encode(&state(pid, rooms, n)),
        }
    }

    fn book() -> SessionBook {
        SessionBook::new("k:".into(), Duration::from_secs(10))
    }

    #[test]
    fn the_stored_form_is_nodes() {
        let stored = encode(&state("p", &["sid-p", "r"], 1));
        let session = Session::decode(stored.as_bytes()).unwrap();
        assert_eq!(decode(session), state("p", &["sid-p", "r"], 1));
        let unset = SessionState {
            data: Value::Null,
            ..state("p", &[], 0)
        };
        let session = Session::decode(encode(&unset).as_bytes()).unwrap();
        assert_eq!(session.data, json!({}));
    }

    #[test]
    fn changes_are_gathered_into_one_write_per_round() {
        let t0 = Instant::now();
        let mut b = book();
        b.changed(state("a", &["sid-a"], 1));
        b.changed(state("b", &["sid-b"], 1));
        b.changed(state("a", &["sid-a", "r"], 2));
        assert!(b.has_changes());
        assert_eq!(
            b.due(t0, 10),
            [set("a", &["sid-a", "r"], 2), set("b", &["sid-b"], 1)]
        );
        assert!(!b.has_changes());
        assert_eq!(b.due(t0, 10), []);
    }

    #[test]
    fn connected_sessions_are_written_again_before_they_expire() {
        let t0 = Instant::now();
        let mut b = book();
        b.changed(state("a", &[], 1));
        b.due(t0, 10);
        assert_eq!(b.next_refresh(), Some(t0 + Duration::from_secs(5)));
        assert_eq!(b.due(t0 + Duration::from_secs(4), 10), []);
        // A change at 3 s pushes the refresh to 8 s.
        b.changed(state("a", &[], 2));
        assert_eq!(b.due(t0 + Duration::from_secs(3), 10), [set("a", &[], 2)]);
        assert_eq!(b.due(t0 + Duration::from_secs(5), 10), []);
        let t8 = t0 + Duration::from_secs(8);
        assert_eq!(b.due(t8, 10), [set("a", &[], 2)]);
        assert_eq!(b.due(t8, 10), []);
        assert_eq!(b.next_refresh(), Some(t8 + Duration::from_secs(5)));
    }

    #[test]
    fn a_round_writes_at_most_its_bound_and_the_rest_wait() {
        let t0 = Instant::now();
        let mut b = book();
        for pid in ["a", "b", "c"] {
            b.changed(state(pid, &[], 0));
        }
        assert_eq!(b.due(t0, 2), [set("a", &[], 0), set("b", &[], 0)]);
        assert_eq!(b.due(t0, 2), [set("c", &[], 0)]);
        let later = t0 + Duration::from_secs(6);
        assert_eq!(b.due(later, 2).len(), 2);
        assert_eq!(b.due(later, 2), [set("c", &[], 0)]);
    }

    #[test]
    fn closed_and_discarded_sessions_are_written_at_once_and_no_longer_refreshed() {
        let t0 = Instant::now();
        let mut b = book();
        b.changed(state("a", &["r"], 1));
        b.changed(state("b", &[], 1));
        b.due(t0, 10);
        b.changed(state("a", &["r", "s"], 2));
        // Closed before the round: its last state now, the pending change dropped.
        assert_eq!(
            b.closed(&state("a", &["r", "s"], 2)),
            set("a", &["r", "s"], 2)
        );
        assert_eq!(b.discarded("b"), Write::Del { key: "k:b".into() });
        assert_eq!(b.len(), 0);
        assert_eq!(b.due(t0, 10), []);
        assert_eq!(b.due(t0 + Duration::from_secs(60), 10), []);
    }

    #[test]
    fn a_recovered_pid_has_one_refresh_schedule() {
        let t0 = Instant::now();
        let mut b = book();
        b.changed(state("a", &[], 1));
        b.due(t0, 10);
        b.closed(&state("a", &[], 1));
        // Back before the old refresh came due.
        let t1 = t0 + Duration::from_secs(1);
        b.changed(state("a", &[], 2));
        assert_eq!(b.due(t1, 10), [set("a", &[], 2)]);
        // The old plan (5 s) belongs to the earlier life: only the new one (6 s) writes.
        assert_eq!(b.due(t0 + Duration::from_secs(5), 10), []);
        let t6 = t0 + Duration::from_secs(6);
        assert_eq!(b.due(t6, 10), [set("a", &[], 2)]);
        assert_eq!(b.refreshes.len(), 1);
    }
}
