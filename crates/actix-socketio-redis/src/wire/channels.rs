//! Channel names, as Node's adapters build them ("nsp" has its leading slash).
//!
//! Classic (`createAdapter`), PSUBSCRIBE `KEY#nsp#*` plus SUBSCRIBE to the rest:
//! - `KEY#nsp#`: broadcasts to zero or several rooms;
//! - `KEY#nsp#room#`: broadcasts to exactly one room;
//! - `KEY-request#nsp#`: every request (its subscriber count is the server count);
//! - `KEY-response#nsp#`: responses (the default);
//! - `KEY-response#nsp#uid#`: responses, from nodes set to answer on the requester's own
//!   channel.
//!
//! Sharded (`createShardedAdapter`, SSUBSCRIBE) and the streams adapter's pub/sub
//! (SUBSCRIBE): `KEY#nsp#` for every message, `KEY#nsp#uid#` for the responses to one
//! node, and, sharded in the default dynamic mode, `KEY#nsp#room#` for a plain broadcast
//! to one room that does not look like a socket id.

/// The channels of one namespace in the classic protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicChannels {
    /// `KEY#nsp#`: broadcasts, and the prefix of the one-room channels.
    pub broadcast: String,
    /// `KEY-request#nsp#`: requests.
    pub request: String,
    /// `KEY-response#nsp#`: responses.
    pub response: String,
}

/// A broadcast channel, read: whether it names one room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastChannel<'a> {
    /// `KEY#nsp#`: the message says who receives it.
    All,
    /// `KEY#nsp#room#`: nodes that do not hold the room drop the message unread.
    Room(&'a str),
}

impl ClassicChannels {
    /// The channels of namespace `nsp` under prefix `key`.
    pub fn new(key: &str, nsp: &str) -> Self {
        ClassicChannels {
            broadcast: format!("{key}#{nsp}#"),
            request: format!("{key}-request#{nsp}#"),
            response: format!("{key}-response#{nsp}#"),
        }
    }

    /// `KEY#nsp#*`, the PSUBSCRIBE pattern of the broadcast channels (it matches the bare
    /// one too).
    pub fn broadcast_pattern(&self) -> String {
        format!("{}*", self.broadcast)
    }

    /// Where a broadcast to `rooms` is published: the room's channel for exactly one.
    pub fn broadcast_to(&self, rooms: &[String]) -> String {
        match rooms {
            [room] => format!("{}{room}#", self.broadcast),
            _ => self.broadcast.clone(),
        }
    }

    /// `KEY-response#nsp#uid#`: node `uid`'s own response channel.
    pub fn response_of(&self, uid: &str) -> String {
        format!("{}{uid}#", self.response)
    }

    /// Reads a channel a pattern message came on, as Node does (`channel.slice(prefix,
    /// -1)`): `None` if it is not this namespace's.
    pub fn parse_broadcast<'a>(&self, channel: &'a str) -> Option<BroadcastChannel<'a>> {
        let rest = channel.strip_prefix(self.broadcast.as_str())?;
        let mut chars = rest.chars();
        chars.next_back();
        match chars.as_str() {
            "" => Some(BroadcastChannel::All),
            room => Some(BroadcastChannel::Room(room)),
        }
    }
}

/// The channels of one namespace in the ClusterAdapter protocol (sharded and streams).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterChannels {
    /// `KEY#nsp#`: every message; its subscriber count is the server count.
    pub main: String,
}

impl ClusterChannels {
    /// The channels of namespace `nsp` under prefix `key`.
    pub fn new(key: &str, nsp: &str) -> Self {
        ClusterChannels {
            main: format!("{key}#{nsp}#"),
        }
    }

    /// `KEY#nsp#uid#`: where responses to node `uid` go.
    pub fn response_of(&self, uid: &str) -> String {
        format!("{}{uid}#", self.main)
    }

    /// `KEY#nsp#room#`: the dynamic channel of a room (sharded).
    pub fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.main)
    }
}

/// The sharded adapter's test for a room that is a socket's own (it subscribes no
/// channel for those): a string of 20 UTF-16 units, the length of a socket id.
pub fn looks_like_socket_id(room: &str) -> bool {
    room.encode_utf16().count() == 20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_names() {
        let channels = ClassicChannels::new("socket.io", "/chat");
        assert_eq!(channels.broadcast, "socket.io#/chat#");
        assert_eq!(channels.broadcast_pattern(), "socket.io#/chat#*");
        assert_eq!(channels.request, "socket.io-request#/chat#");
        assert_eq!(channels.response, "socket.io-response#/chat#");
        assert_eq!(
            channels.response_of("aBc123"),
            "socket.io-response#/chat#aBc123#"
        );
        assert_eq!(channels.broadcast_to(&["r1".into()]), "socket.io#/chat#r1#");
        assert_eq!(
            channels.broadcast_to(&["a".into(), "b".into()]),
            "socket.io#/chat#"
        );
        assert_eq!(channels.broadcast_to(&[]), "socket.io#/chat#");
    }

    #[test]
    fn rooms_are_read_from_broadcast_channels() {
        let channels = ClassicChannels::new("k", "/");
        assert_eq!(
            channels.parse_broadcast("k#/#"),
            Some(BroadcastChannel::All)
        );
        assert_eq!(
            channels.parse_broadcast("k#/#room#"),
            Some(BroadcastChannel::Room("room"))
        );
        assert_eq!(
            channels.parse_broadcast("k#/#a#b#"),
            Some(BroadcastChannel::Room("a#b"))
        );
        assert_eq!(
            channels.parse_broadcast("k#/#é#"),
            Some(BroadcastChannel::Room("é"))
        );
        assert_eq!(channels.parse_broadcast("k#/chat#"), None);
        assert_eq!(channels.parse_broadcast("other#/#"), None);
    }

    #[test]
    fn cluster_names() {
        let channels = ClusterChannels::new("socket.io", "/");
        assert_eq!(channels.main, "socket.io#/#");
        assert_eq!(
            channels.response_of("0123456789abcdef"),
            "socket.io#/#0123456789abcdef#"
        );
        assert_eq!(channels.room("lobby"), "socket.io#/#lobby#");
        assert!(looks_like_socket_id("AAAAAAAAAAAAAAAAAAAA"));
        assert!(!looks_like_socket_id("lobby"));
        // Two UTF-16 units each: 10 of them look like an id, as they do to Node.
        assert!(looks_like_socket_id(&"😀".repeat(10)));
    }
}
