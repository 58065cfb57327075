//! Who is in which room right now: in memory, per room, people in order of arrival, each
//! with the sockets (tabs) they have open there.
//!
//! A person is present while at least one of their sockets is; capacity counts people, so a
//! second tab always fits. An empty room waits for deletion under a token that any join
//! cancels; a room being deleted refuses joins.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct Presence {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    rooms: HashMap<i64, RoomState>,
    next_token: u64,
}

#[derive(Default)]
struct RoomState {
    /// Public ids in order of arrival, each with its socket ids in this room.
    people: Vec<(String, HashSet<String>)>,
    /// The owner's public id, once someone joined (the database has it before that).
    owner: Option<String>,
    /// Set while the room is empty and waiting to be deleted.
    deletion: Option<u64>,
    /// Being deleted: nobody may join any more.
    closing: bool,
}

impl RoomState {
    fn position(&self, person: &str) -> Option<usize> {
        self.people.iter().position(|(id, _)| id == person)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum JoinError {
    Full,
    /// The room is being deleted.
    Closing,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Joined {
    /// The person was not present before (this is not a second tab).
    pub arrived: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Left {
    pub person: String,
    /// That was the person's last socket here: they are gone.
    pub departed: bool,
    /// The owner left and this person (the longest present) owns the room now.
    pub new_owner: Option<String>,
    /// The room is empty now; delete it after the grace period if this token still holds.
    pub deletion: Option<u64>,
}

/// What the room's people see of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Public ids, longest present first.
    pub people: Vec<String>,
    pub owner: Option<String>,
}

impl Presence {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update below finishes before the guard drops, so a poisoned map is consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a socket of `person`. `owner` is the database's owner, used until the room has
    /// one in memory. Cancels a pending deletion.
    pub fn join(
        &self,
        room: i64,
        person: &str,
        socket: &str,
        max: usize,
        owner: &str,
    ) -> Result<Joined, JoinError> {
        let mut inner = self.lock();
        let state = inner.rooms.entry(room).or_default();
        if state.closing {
            return Err(JoinError::Closing);
        }
        let arrived = match state.position(person) {
            Some(at) => {
                state.people[at].1.insert(socket.to_owned());
                false
            }
            None if state.people.len() >= max => return Err(JoinError::Full),
            None => {
                state
                    .people
                    .push((person.to_owned(), HashSet::from([socket.to_owned()])));
                true
            }
        };
        state.deletion = None;
        state.owner.get_or_insert_with(|| owner.to_owned());
        Ok(Joined { arrived })
    }

    /// Removes a socket; `None` if it was not here (already removed, or the room is gone),
    /// so calling it twice for one socket is harmless.
    pub fn leave(&self, room: i64, socket: &str) -> Option<Left> {
        let mut inner = self.lock();
        let token = inner.next_token;
        let state = inner.rooms.get_mut(&room)?;
        let at = state
            .people
            .iter()
            .position(|(_, sockets)| sockets.contains(socket))?;
        state.people[at].1.remove(socket);
        let person = state.people[at].0.clone();
        if !state.people[at].1.is_empty() {
            return Some(Left {
                person,
                departed: false,
                new_owner: None,
                deletion: None,
            });
        }
        state.people.remove(at);
        let mut new_owner = None;
        if state.owner.as_deref() == Some(person.as_str()) {
            if let Some((next, _)) = state.people.first() {
                state.owner = Some(next.clone());
                new_owner = Some(next.clone());
            }
        }
        let deletion = if state.people.is_empty() && !state.closing {
            state.deletion = Some(token);
            Some(token)
        } else {
            None
        };
        if deletion.is_some() {
            inner.next_token += 1;
        }
        Some(Left {
            person,
            departed: true,
            new_owner,
            deletion,
        })
    }

    /// Starts the deletion wait of a room nobody is in (a new room, or one left from
    /// before a restart); `None` if someone is there.
    pub fn await_deletion(&self, room: i64) -> Option<u64> {
        let mut inner = self.lock();
        let token = inner.next_token;
        let state = inner.rooms.entry(room).or_default();
        if !state.people.is_empty() || state.closing {
            return None;
        }
        state.deletion = Some(token);
        inner.next_token += 1;
        Some(token)
    }

    /// After the grace period: true (and the room now refuses joins) if the room is still
    /// empty and waiting under this token.
    pub fn claim_deletion(&self, room: i64, token: u64) -> bool {
        let mut inner = self.lock();
        match inner.rooms.get_mut(&room) {
            Some(state)
                if state.deletion == Some(token) && state.people.is_empty() && !state.closing =>
            {
                state.closing = true;
                true
            }
            _ => false,
        }
    }

    /// For deleting a room now (its owner asked): refuses joins from here on. False if it is
    /// already being deleted.
    pub fn close(&self, room: i64) -> bool {
        let mut inner = self.lock();
        let state = inner.rooms.entry(room).or_default();
        !std::mem::replace(&mut state.closing, true)
    }

    /// The room is deleted: forget it, and its people (their sockets are being disconnected).
    pub fn forget(&self, room: i64) {
        self.lock().rooms.remove(&room);
    }

    /// Deleting failed: the room stays, and waits for deletion again once empty.
    pub fn reopen(&self, room: i64) {
        if let Some(state) = self.lock().rooms.get_mut(&room) {
            state.closing = false;
        }
    }

    pub fn count(&self, room: i64) -> usize {
        self.lock().rooms.get(&room).map_or(0, |s| s.people.len())
    }

    /// Whether `person` may come in: already present, or there is room for one more.
    pub fn admits(&self, room: i64, person: &str, max: usize) -> Result<(), JoinError> {
        let inner = self.lock();
        let Some(state) = inner.rooms.get(&room) else {
            return if max > 0 {
                Ok(())
            } else {
                Err(JoinError::Full)
            };
        };
        if state.closing {
            Err(JoinError::Closing)
        } else if state.position(person).is_some() || state.people.len() < max {
            Ok(())
        } else {
            Err(JoinError::Full)
        }
    }

    pub fn contains(&self, room: i64, person: &str) -> bool {
        self.lock()
            .rooms
            .get(&room)
            .is_some_and(|s| s.position(person).is_some())
    }

    /// The owner while the room is active; `None` before anyone joined.
    pub fn owner(&self, room: i64) -> Option<String> {
        self.lock().rooms.get(&room).and_then(|s| s.owner.clone())
    }

    /// Calls `send` with the room's current state while holding the lock, so that of two
    /// concurrent changes the last one published is also the newest state.
    pub fn publish(&self, room: i64, send: impl FnOnce(&Snapshot)) {
        let inner = self.lock();
        let snapshot = match inner.rooms.get(&room) {
            Some(state) => Snapshot {
                people: state.people.iter().map(|(id, _)| id.clone()).collect(),
                owner: state.owner.clone(),
            },
            None => Snapshot {
                people: Vec::new(),
                owner: None,
            },
        };
        send(&snapshot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(presence: &Presence, room: i64) -> Snapshot {
        let mut out = None;
        presence.publish(room, |s| out = Some(s.clone()));
        out.expect("publish calls back")
    }

    #[test]
    fn capacity_counts_people_not_tabs() {
        let p = Presence::default();
        assert_eq!(p.join(1, "a", "s1", 2, "a"), Ok(Joined { arrived: true }));
        assert_eq!(p.join(1, "b", "s2", 2, "a"), Ok(Joined { arrived: true }));
        assert_eq!(p.join(1, "c", "s3", 2, "a"), Err(JoinError::Full));
        assert_eq!(p.admits(1, "c", 2), Err(JoinError::Full));
        // A second tab of someone present always fits.
        assert_eq!(p.admits(1, "a", 2), Ok(()));
        assert_eq!(p.join(1, "a", "s4", 2, "a"), Ok(Joined { arrived: false }));
        assert_eq!(p.count(1), 2);
    }

    #[test]
    fn a_person_leaves_with_their_last_socket() {
        let p = Presence::default();
        p.join(1, "a", "s1", 5, "a").expect("joins");
        p.join(1, "a", "s2", 5, "a").expect("second tab");
        let left = p.leave(1, "s1").expect("was present");
        assert!(!left.departed);
        assert!(p.contains(1, "a"));
        let left = p.leave(1, "s2").expect("was present");
        assert!(left.departed);
        assert!(left.deletion.is_some());
        assert!(!p.contains(1, "a"));
        // Idempotent: the socket is gone already.
        assert_eq!(p.leave(1, "s2"), None);
    }

    #[test]
    fn ownership_passes_to_the_longest_present() {
        let p = Presence::default();
        p.join(1, "owner", "s1", 5, "owner").expect("joins");
        p.join(1, "b", "s2", 5, "owner").expect("joins");
        p.join(1, "c", "s3", 5, "owner").expect("joins");
        let left = p.leave(1, "s2").expect("b leaves");
        assert_eq!(left.new_owner, None);
        let left = p.leave(1, "s1").expect("owner leaves");
        assert_eq!(left.new_owner.as_deref(), Some("c"));
        assert_eq!(p.owner(1).as_deref(), Some("c"));
        assert_eq!(
            snapshot(&p, 1),
            Snapshot {
                people: vec!["c".into()],
                owner: Some("c".into())
            }
        );
    }

    #[test]
    fn a_rejoin_cancels_the_pending_deletion() {
        let p = Presence::default();
        p.join(1, "a", "s1", 5, "a").expect("joins");
        let token = p.leave(1, "s1").and_then(|l| l.deletion).expect("empty");
        p.join(1, "a", "s2", 5, "a").expect("refresh");
        assert!(!p.claim_deletion(1, token));
        let token = p.leave(1, "s2").and_then(|l| l.deletion).expect("empty");
        assert!(p.claim_deletion(1, token));
        // Claimed: joins are refused until the room is forgotten.
        assert_eq!(p.join(1, "a", "s3", 5, "a"), Err(JoinError::Closing));
        p.forget(1);
        assert_eq!(p.count(1), 0);
    }

    #[test]
    fn new_rooms_wait_for_deletion_until_someone_joins() {
        let p = Presence::default();
        let token = p.await_deletion(7).expect("empty");
        p.join(7, "a", "s1", 5, "a").expect("joins");
        assert_eq!(p.await_deletion(7), None);
        assert!(!p.claim_deletion(7, token));
    }

    #[test]
    fn closing_refuses_joins_and_reopen_undoes_it() {
        let p = Presence::default();
        assert!(p.close(3));
        assert!(!p.close(3));
        assert_eq!(p.admits(3, "a", 5), Err(JoinError::Closing));
        p.reopen(3);
        assert_eq!(p.admits(3, "a", 5), Ok(()));
    }
}
