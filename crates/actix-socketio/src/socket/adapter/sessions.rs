//! The in-memory store of connection state recovery: the event packets of a namespace,
//! each under an offset, and the sessions of sockets that lost their connection. No I/O,
//! no clock: every call takes `now`.
//!
//! Node's in-memory adapter keeps both for `max_disconnection_duration` without a bound;
//! this one also caps how many of each it keeps and how many one restore replays.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::interface::{BroadcastOptions, RecoveryConfig, RestoredSession, SessionState};
use crate::socket::packet::Packet;
use crate::socket::rooms::Room;

/// A stored event packet: what it was, where it went, when.
#[derive(Debug)]
struct Stored {
    seq: u64,
    at: Instant,
    rooms: Vec<Room>,
    except: Vec<Room>,
    packet: Packet,
}

/// The packets and sessions of one namespace.
#[derive(Debug)]
pub struct SessionStore {
    config: RecoveryConfig,
    /// Starts every offset, so an offset from another run of the server (or another
    /// namespace) never matches one of this store's.
    prefix: String,
    /// The sequence number of the next packet stored.
    next: u64,
    /// The stored packets, oldest first, with consecutive sequence numbers.
    packets: VecDeque<Stored>,
    /// Sessions waiting for their client, by pid, with when they were kept.
    sessions: HashMap<String, (SessionState, Instant)>,
    /// The pids in the order their sessions were kept, to expire and cap the oldest first
    /// (a pid restored meanwhile is skipped).
    kept: VecDeque<(String, Instant)>,
}

impl SessionStore {
    /// An empty store with these limits; `prefix` starts its offsets.
    pub fn new(config: RecoveryConfig, prefix: String) -> SessionStore {
        SessionStore {
            config,
            prefix,
            next: 0,
            packets: VecDeque::new(),
            sessions: HashMap::new(),
            kept: VecDeque::new(),
        }
    }

    /// Whether recovery keeps this broadcast: an event without an ack id, not volatile.
    pub fn keeps(packet: &Packet, opts: &BroadcastOptions) -> bool {
        matches!(packet, Packet::Event { id: None, .. }) && !opts.flags.volatile
    }

    /// Appends the packet's offset as its last argument and keeps it, if recovery keeps
    /// such packets.
    pub fn store(&mut self, packet: &mut Packet, opts: &BroadcastOptions, now: Instant) {
        if !SessionStore::keeps(packet, opts) {
            return;
        }
        let Packet::Event { payload, .. } = packet else {
            return;
        };
        let seq = self.next;
        self.next += 1;
        payload
            .args
            .push(serde_json::Value::String(self.offset(seq)));
        self.packets.push_back(Stored {
            seq,
            at: now,
            rooms: opts.rooms.clone(),
            except: opts.except.clone(),
            packet: packet.clone(),
        });
        self.prune(now);
    }

    fn offset(&self, seq: u64) -> String {
        format!("{}-{seq}", self.prefix)
    }

    /// Keeps a session until its client comes back or it expires.
    pub fn persist(&mut self, session: SessionState, now: Instant) {
        self.kept.push_back((session.pid.clone(), now));
        self.sessions.insert(session.pid.clone(), (session, now));
        self.prune(now);
    }

    /// The session `pid` and what it missed since `offset`; the session leaves the store
    /// either way.
    pub fn restore(&mut self, pid: &str, offset: &str, now: Instant) -> Option<RestoredSession> {
        self.prune(now);
        let (state, _) = self.sessions.remove(pid)?;
        let seq = offset
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('-')?
            .parse::<u64>()
            .ok()?;
        let first = self.packets.front().map_or(self.next, |p| p.seq);
        // The packet at the offset must still be here: else what came after it may not be.
        if seq < first || seq >= self.next {
            return None;
        }
        let after = usize::try_from(seq - first + 1).ok()?;
        let missed: Vec<Packet> = self
            .packets
            .iter()
            .skip(after)
            .filter(|stored| reaches(&state.rooms, stored))
            .map(|stored| stored.packet.clone())
            .collect();
        if missed.len() > self.config.max_missed_packets {
            return None;
        }
        Some(RestoredSession { state, missed })
    }

    /// Drops what has expired, then the oldest beyond the caps.
    fn prune(&mut self, now: Instant) {
        let expired = |at: Instant| {
            now.saturating_duration_since(at) > self.config.max_disconnection_duration
        };
        while self
            .packets
            .front()
            .is_some_and(|p| expired(p.at) || self.packets.len() > self.config.max_packets)
        {
            self.packets.pop_front();
        }
        while let Some((pid, at)) = self.kept.front() {
            let current = self.sessions.get(pid).is_some_and(|(_, kept)| kept == at);
            if current && !expired(*at) && self.sessions.len() <= self.config.max_sessions {
                break;
            }
            if current {
                self.sessions.remove(pid);
            }
            self.kept.pop_front();
        }
    }

    /// How many packets and sessions are kept.
    pub fn len(&self) -> (usize, usize) {
        (self.packets.len(), self.sessions.len())
    }
}

/// Node's `shouldIncludePacket`: the packet went to a room of the session (or to everyone)
/// and excluded none of them.
fn reaches(rooms: &[Room], stored: &Stored) -> bool {
    let included = stored.rooms.is_empty() || rooms.iter().any(|r| stored.rooms.contains(r));
    included && !rooms.iter().any(|r| stored.except.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::packet::Payload;
    use serde_json::json;
    use std::time::Duration;

    fn event(name: &str, arg: serde_json::Value) -> Packet {
        Packet::Event {
            nsp: "/".into(),
            event: name.into(),
            payload: Payload::new(vec![arg]),
            id: None,
        }
    }

    fn store() -> SessionStore {
        SessionStore::new(
            RecoveryConfig {
                max_packets: 5,
                max_sessions: 2,
                max_missed_packets: 3,
                ..RecoveryConfig::default()
            },
            "abc".into(),
        )
    }

    fn to(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
            except: except.iter().map(|r| (*r).to_owned()).collect(),
            ..BroadcastOptions::default()
        }
    }

    fn session(pid: &str, rooms: &[&str]) -> SessionState {
        SessionState {
            sid: format!("sid-{pid}"),
            pid: pid.into(),
            rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
            data: json!({"n": 1}),
        }
    }

    fn sent(store: &mut SessionStore, opts: &BroadcastOptions, n: i64, now: Instant) -> String {
        let mut packet = event("e", json!(n));
        store.store(&mut packet, opts, now);
        let Packet::Event { payload, .. } = packet else {
            unreachable!()
        };
        payload
            .args
            .last()
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    }

    fn args(restored: &RestoredSession) -> Vec<String> {
        restored
            .missed
            .iter()
            .map(|p| match p {
                Packet::Event { payload, .. } => json!(payload.args).to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_session_gets_what_reached_its_rooms_after_its_offset() {
        let t0 = Instant::now();
        let mut s = store();
        let all = to(&[], &[]);
        let first = sent(&mut s, &all, 1, t0);
        assert_eq!(first, "abc-0");
        sent(&mut s, &to(&["r"], &[]), 2, t0);
        sent(&mut s, &to(&["other"], &[]), 3, t0);
        sent(&mut s, &to(&[], &["r"]), 4, t0);
        sent(&mut s, &to(&["sid-a"], &[]), 5, t0);
        s.persist(session("a", &["sid-a", "r"]), t0);
        let restored = s.restore("a", &first, t0).expect("restored");
        assert_eq!(restored.state.sid, "sid-a");
        assert_eq!(restored.state.data, json!({"n": 1}));
        assert_eq!(args(&restored), [r#"[2,"abc-1"]"#, r#"[5,"abc-4"]"#]);
        assert!(s.restore("a", &first, t0).is_none(), "restored once");
    }

    #[test]
    fn acks_and_volatile_packets_are_not_kept() {
        let t0 = Instant::now();
        let mut s = store();
        let mut with_ack = event("e", json!(1));
        if let Packet::Event { id, .. } = &mut with_ack {
            *id = Some(7);
        }
        s.store(&mut with_ack, &to(&[], &[]), t0);
        let mut volatile = event("e", json!(2));
        let mut opts = to(&[], &[]);
        opts.flags.volatile = true;
        s.store(&mut volatile, &opts, t0);
        assert_eq!(s.len(), (0, 0));
        assert_eq!(volatile, event("e", json!(2)), "no offset added");
    }

    #[test]
    fn unknown_pruned_or_foreign_offsets_and_expired_sessions_start_afresh() {
        let t0 = Instant::now();
        let mut s = store();
        let all = to(&[], &[]);
        let first = sent(&mut s, &all, 0, t0);
        for n in 1..=5 {
            sent(&mut s, &all, n, t0);
        }
        // Six packets for a cap of five: the first offset is gone.
        assert_eq!(s.len().0, 5);
        s.persist(session("a", &["sid-a"]), t0);
        assert!(s.restore("a", &first, t0).is_none());
        s.persist(session("b", &["sid-b"]), t0);
        assert!(
            s.restore("b", "zzz-3", t0).is_none(),
            "another store's offset"
        );
        s.persist(session("c", &["sid-c"]), t0);
        assert!(
            s.restore("c", "abc-99", t0).is_none(),
            "an offset not yet given"
        );
        s.persist(session("d", &["sid-d"]), t0);
        let later = t0 + Duration::from_secs(121);
        assert!(s.restore("d", "abc-4", later).is_none(), "expired");
        assert_eq!(s.len(), (0, 0), "everything expired");
    }

    #[test]
    fn sessions_and_replays_are_capped() {
        let t0 = Instant::now();
        let mut s = store();
        for pid in ["a", "b", "c"] {
            s.persist(session(pid, &[]), t0);
        }
        assert_eq!(s.len().1, 2, "the oldest session went");
        let all = to(&[], &[]);
        let first = sent(&mut s, &all, 0, t0);
        for n in 1..=4 {
            sent(&mut s, &all, n, t0);
        }
        assert!(
            s.restore("b", &first, t0).is_none(),
            "four missed, three allowed"
        );
        s.persist(session("e", &[]), t0);
        let restored = s.restore("e", "abc-1", t0).expect("three missed");
        assert_eq!(restored.missed.len(), 3);
    }
}
