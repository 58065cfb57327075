//! Who is in which room right now: in memory, per room, people in order of arrival, each
//! with the sockets (tabs) they have open there.
//!
//! A person is present while at least one of their sockets is, and for a grace period after
//! their last one went without saying goodbye (a reload, a short network drop): meanwhile
//! they keep their place, and the room if they own it, and coming back changes nothing.
//! Capacity counts people, so a second tab always fits. An empty room waits for deletion
//! under a token that any join cancels; a room being deleted refuses joins.

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

impl Inner {
    fn token(&mut self) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        token
    }
}

#[derive(Default)]
struct RoomState {
    /// In order of arrival.
    people: Vec<Member>,
    /// The owner's public id, once someone joined (the database has it before that).
    owner: Option<String>,
    /// Set while the room is empty and waiting to be deleted.
    deletion: Option<u64>,
    /// Being deleted: nobody may join any more.
    closing: bool,
}

struct Member {
    /// Public id.
    id: String,
    /// Their socket ids in this room.
    sockets: HashSet<String>,
    /// Set while none of their sockets is here: they depart under this token once the grace
    /// period is over, unless they come back first.
    away: Option<u64>,
}

impl RoomState {
    fn position(&self, person: &str) -> Option<usize> {
        self.people.iter().position(|m| m.id == person)
    }

    /// Removes the person at `at`: the room passes to the longest present (preferring
    /// someone with a socket here), and an emptied room waits for deletion under `token`.
    fn remove(&mut self, at: usize, token: u64) -> Departure {
        let person = self.people.remove(at).id;
        let mut new_owner = None;
        if self.owner.as_deref() == Some(person.as_str()) {
            let next = self
                .people
                .iter()
                .find(|m| m.away.is_none())
                .or_else(|| self.people.first());
            if let Some(next) = next {
                self.owner = Some(next.id.clone());
                new_owner = Some(next.id.clone());
            }
        }
        let deletion = (self.people.is_empty() && !self.closing).then_some(token);
        if deletion.is_some() {
            self.deletion = deletion;
        }
        Departure {
            new_owner,
            deletion,
        }
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
    /// The person was not present before (this is not a second tab, nor a return within
    /// the grace period).
    pub arrived: bool,
}

/// What a socket's leaving meant for its person.
#[derive(Debug, PartialEq, Eq)]
pub enum Left {
    /// Another of their sockets is still here.
    Stays,
    /// That was their last socket, and it did not say goodbye: they stay present until
    /// [`Presence::depart`] with this token, after the grace period.
    Away(u64),
    /// They are gone.
    Departed(Departure),
}

/// Someone is no longer present.
#[derive(Debug, PartialEq, Eq)]
pub struct Departure {
    /// The owner left and this person (the longest present) owns the room now.
    pub new_owner: Option<String>,
    /// The room is empty now; delete it if this token still holds.
    pub deletion: Option<u64>,
}

/// What the room's people see of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Public ids, longest present first (those away included).
    pub people: Vec<String>,
    pub owner: Option<String>,
}

impl Presence {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update below finishes before the guard drops, so a poisoned map is consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a socket of `person`. `owner` is the database's owner, used until the room has
    /// one in memory. Cancels a pending deletion, and the person's pending departure.
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
                let member = &mut state.people[at];
                member.sockets.insert(socket.to_owned());
                member.away = None;
                false
            }
            None if state.people.len() >= max => return Err(JoinError::Full),
            None => {
                state.people.push(Member {
                    id: person.to_owned(),
                    sockets: HashSet::from([socket.to_owned()]),
                    away: None,
                });
                true
            }
        };
        state.deletion = None;
        state.owner.get_or_insert_with(|| owner.to_owned());
        Ok(Joined { arrived })
    }

    /// Removes a socket; `None` if it was not here (already removed, or the room is gone),
    /// so calling it twice for one socket is harmless. With `for_good` (the person chose to
    /// leave) a last socket's person departs at once, else they are only away.
    pub fn leave(&self, room: i64, socket: &str, for_good: bool) -> Option<Left> {
        let mut inner = self.lock();
        let token = inner.token();
        let state = inner.rooms.get_mut(&room)?;
        let at = state
            .people
            .iter()
            .position(|m| m.sockets.contains(socket))?;
        let member = &mut state.people[at];
        member.sockets.remove(socket);
        if !member.sockets.is_empty() {
            return Some(Left::Stays);
        }
        if for_good {
            return Some(Left::Departed(state.remove(at, token)));
        }
        member.away = Some(token);
        Some(Left::Away(token))
    }

    /// After the grace period: `person` departs if they are still away under `token`.
    pub fn depart(&self, room: i64, person: &str, token: u64) -> Option<Departure> {
        let mut inner = self.lock();
        let deletion = inner.token();
        let state = inner.rooms.get_mut(&room)?;
        let at = state.position(person)?;
        if state.people[at].away != Some(token) {
            return None;
        }
        Some(state.remove(at, deletion))
    }

    /// Removes `person` whatever their sockets (they were kicked; the caller disconnects
    /// those sockets, whose leaving then finds nothing to do). `None` if they were not here.
    pub fn remove(&self, room: i64, person: &str) -> Option<Departure> {
        let mut inner = self.lock();
        let token = inner.token();
        let state = inner.rooms.get_mut(&room)?;
        let at = state.position(person)?;
        Some(state.remove(at, token))
    }

    /// Starts the deletion wait of a room nobody is in (a new room, or one left from
    /// before a restart); `None` if someone is there.
    pub fn await_deletion(&self, room: i64) -> Option<u64> {
        let mut inner = self.lock();
        let token = inner.token();
        let state = inner.rooms.entry(room).or_default();
        if !state.people.is_empty() || state.closing {
            return None;
        }
        state.deletion = Some(token);
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

    /// People present, those away included.
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
                people: state.people.iter().map(|m| m.id.clone()).collect(),
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

    fn departed(left: Option<Left>) -> Departure {
        match left {
            Some(Left::Departed(departure)) => departure,
            other => panic!("expected a departure, got {other:?}"),
        }
    }

    fn away(left: Option<Left>) -> u64 {
        match left {
            Some(Left::Away(token)) => token,
            other => panic!("expected the person to be away, got {other:?}"),
        }
    }

    #[test]
    fn a_person_leaving_for_good_goes_with_their_last_socket() {
        let p = Presence::default();
        p.join(1, "a", "s1", 5, "a").expect("joins");
        p.join(1, "a", "s2", 5, "a").expect("second tab");
        assert_eq!(p.leave(1, "s1", true), Some(Left::Stays));
        assert!(p.contains(1, "a"));
        let departure = departed(p.leave(1, "s2", true));
        assert!(departure.deletion.is_some());
        assert!(!p.contains(1, "a"));
        // Idempotent: the socket is gone already.
        assert_eq!(p.leave(1, "s2", true), None);
        assert_eq!(p.leave(1, "s2", false), None);
    }

    #[test]
    fn a_reload_keeps_the_seat_and_the_room_and_the_return_is_no_arrival() {
        let p = Presence::default();
        p.join(1, "owner", "s1", 2, "owner").expect("joins");
        p.join(1, "b", "s2", 2, "owner").expect("joins");
        let token = away(p.leave(1, "s1", false));
        // Still present: the owner, counted, and the room stays full for a third person.
        assert_eq!(p.owner(1).as_deref(), Some("owner"));
        assert_eq!(p.count(1), 2);
        assert_eq!(p.admits(1, "c", 2), Err(JoinError::Full));
        assert_eq!(
            p.join(1, "owner", "s3", 2, "owner"),
            Ok(Joined { arrived: false })
        );
        // The departure that was waiting finds them back.
        assert_eq!(p.depart(1, "owner", token), None);
        assert_eq!(p.owner(1).as_deref(), Some("owner"));
        assert_eq!(
            snapshot(&p, 1),
            Snapshot {
                people: vec!["owner".into(), "b".into()],
                owner: Some("owner".into())
            }
        );
    }

    #[test]
    fn someone_away_past_the_grace_period_departs_and_hands_the_room_over() {
        let p = Presence::default();
        p.join(1, "owner", "s1", 5, "owner").expect("joins");
        p.join(1, "b", "s2", 5, "owner").expect("joins");
        let first = away(p.leave(1, "s1", false));
        p.join(1, "owner", "s3", 5, "owner").expect("back");
        let second = away(p.leave(1, "s3", false));
        // The first absence's timer is stale; the second one's is not.
        assert_eq!(p.depart(1, "owner", first), None);
        let departure = p.depart(1, "owner", second).expect("departs");
        assert_eq!(
            departure,
            Departure {
                new_owner: Some("b".into()),
                deletion: None
            }
        );
        assert!(!p.contains(1, "owner"));
        assert_eq!(p.depart(1, "owner", second), None);
    }

    #[test]
    fn the_room_passes_to_the_longest_present_who_is_not_away() {
        let p = Presence::default();
        p.join(1, "owner", "s1", 5, "owner").expect("joins");
        p.join(1, "b", "s2", 5, "owner").expect("joins");
        p.join(1, "c", "s3", 5, "owner").expect("joins");
        away(p.leave(1, "s2", false));
        let departure = departed(p.leave(1, "s1", true));
        assert_eq!(departure.new_owner.as_deref(), Some("c"));
        assert_eq!(p.owner(1).as_deref(), Some("c"));
        assert_eq!(
            snapshot(&p, 1),
            Snapshot {
                people: vec!["b".into(), "c".into()],
                owner: Some("c".into())
            }
        );
    }

    #[test]
    fn ownership_passes_to_the_longest_present() {
        let p = Presence::default();
        p.join(1, "owner", "s1", 5, "owner").expect("joins");
        p.join(1, "b", "s2", 5, "owner").expect("joins");
        p.join(1, "c", "s3", 5, "owner").expect("joins");
        assert_eq!(departed(p.leave(1, "s2", true)).new_owner, None);
        let departure = departed(p.leave(1, "s1", true));
        assert_eq!(departure.new_owner.as_deref(), Some("c"));
        assert_eq!(p.owner(1).as_deref(), Some("c"));
    }

    #[test]
    fn a_kicked_person_is_removed_with_all_their_sockets() {
        let p = Presence::default();
        p.join(1, "owner", "s1", 5, "owner").expect("joins");
        p.join(1, "b", "s2", 5, "owner").expect("joins");
        p.join(1, "b", "s3", 5, "owner").expect("second tab");
        assert_eq!(
            p.remove(1, "b"),
            Some(Departure {
                new_owner: None,
                deletion: None
            })
        );
        assert!(!p.contains(1, "b"));
        // Their sockets' disconnections then find nothing.
        assert_eq!(p.leave(1, "s2", false), None);
        assert_eq!(p.leave(1, "s3", true), None);
        assert_eq!(p.remove(1, "b"), None);
    }

    #[test]
    fn the_last_one_away_leaves_the_room_waiting_for_deletion_once_departed() {
        let p = Presence::default();
        p.join(1, "a", "s1", 5, "a").expect("joins");
        let token = away(p.leave(1, "s1", false));
        assert_eq!(p.count(1), 1);
        let deletion = p
            .depart(1, "a", token)
            .and_then(|d| d.deletion)
            .expect("empty");
        assert!(p.claim_deletion(1, deletion));
    }

    #[test]
    fn a_rejoin_cancels_the_pending_deletion() {
        let p = Presence::default();
        p.join(1, "a", "s1", 5, "a").expect("joins");
        let token = departed(p.leave(1, "s1", true)).deletion.expect("empty");
        p.join(1, "a", "s2", 5, "a").expect("comes back");
        assert!(!p.claim_deletion(1, token));
        let token = departed(p.leave(1, "s2", true)).deletion.expect("empty");
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
