//! Room names, and what the API accepts where it wants rooms.

use std::sync::Arc;

/// A room name. Every socket is also in the room named by its id.
pub type Room = String;

/// A socket id, shared (not copied) between the socket, the namespace and the rooms it
/// is in.
pub type Sid = Arc<str>;

/// What `to`, `in_`, `except`, `join` and `leave` accept: one room or many.
pub trait IntoRooms {
    /// The rooms, in the order given.
    fn into_rooms(self) -> Vec<Room>;

    /// Appends the rooms to `list`, each once (a room already there is not added again):
    /// how broadcast operators gather `to` and `except`.
    fn add_to(self, list: &mut Vec<Room>)
    where
        Self: Sized,
    {
        for room in self.into_rooms() {
            if !list.contains(&room) {
                list.push(room);
            }
        }
    }
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.to_owned()]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.clone()]
    }
}

impl IntoRooms for Vec<String> {
    fn into_rooms(self) -> Vec<Room> {
        self
    }
}

impl IntoRooms for Vec<&str> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(str::to_owned).collect()
    }
}

impl IntoRooms for &[String] {
    fn into_rooms(self) -> Vec<Room> {
        self.to_vec()
    }
}

impl IntoRooms for &[&str] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().map(|room| (*room).to_owned()).collect()
    }
}

impl<const N: usize> IntoRooms for [&str; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(str::to_owned).collect()
    }
}

impl<const N: usize> IntoRooms for [String; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::IntoRooms;

    #[test]
    fn add_to_keeps_order_and_adds_each_room_once() {
        let mut list = vec!["a".to_owned()];
        ["b", "a", "c", "b"].add_to(&mut list);
        "c".add_to(&mut list);
        assert_eq!(list, ["a", "b", "c"]);
    }
}
