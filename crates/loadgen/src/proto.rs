//! Just enough Engine.IO v4 / Socket.IO v5 to drive a server: the frames the load generator
//! sends, and a cheap classifier for the ones it receives (no JSON parsing on hot paths).

/// What a received text frame (WebSocket) or packet (polling) is.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Engine.IO `0{...}`.
    Open(&'a str),
    /// Engine.IO `1`.
    Close,
    /// Engine.IO `2`: answer with `3`.
    Ping,
    /// Engine.IO `6`.
    Noop,
    /// Socket.IO `40{...}` on `/`.
    Connected,
    /// Socket.IO `41`.
    Disconnected,
    /// Socket.IO `44{...}`.
    ConnectError(&'a str),
    /// Socket.IO `43<id>[...]`: the ack and its arguments.
    Ack(u64, &'a str),
    /// Socket.IO `46<n>-<id>[...]`: a binary ack whose `n` attachments follow.
    BinaryAck(u64, usize),
    /// Socket.IO `42["msg",<data>]` where `<data>` is the first argument's raw JSON.
    Msg(&'a str),
    /// Anything else (other events, namespaces).
    Other,
}

fn split_number(s: &str) -> (Option<u64>, &str) {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    if end == 0 {
        (None, s)
    } else {
        (s[..end].parse().ok(), &s[end..])
    }
}

/// Classifies one Engine.IO text packet.
pub fn classify(text: &str) -> Incoming<'_> {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b'0') => Incoming::Open(&text[1..]),
        Some(b'1') => Incoming::Close,
        Some(b'2') => Incoming::Ping,
        Some(b'6') => Incoming::Noop,
        Some(b'4') => classify_socketio(&text[1..]),
        _ => Incoming::Other,
    }
}

fn classify_socketio(sio: &str) -> Incoming<'_> {
    let Some(&kind) = sio.as_bytes().first() else {
        return Incoming::Other;
    };
    let rest = &sio[1..];
    match kind {
        b'0' => Incoming::Connected,
        b'1' => Incoming::Disconnected,
        b'4' => Incoming::ConnectError(rest),
        b'3' => match split_number(rest) {
            (Some(id), args) => Incoming::Ack(id, args),
            _ => Incoming::Other,
        },
        b'6' => {
            let (count, rest) = split_number(rest);
            let Some(rest) = rest.strip_prefix('-') else {
                return Incoming::Other;
            };
            match (count, split_number(rest).0) {
                (Some(n), Some(id)) => Incoming::BinaryAck(id, n as usize),
                _ => Incoming::Other,
            }
        }
        b'2' => match rest.strip_prefix("[\"msg\",") {
            Some(data) => Incoming::Msg(data.strip_suffix(']').unwrap_or(data)),
            None => Incoming::Other,
        },
        _ => Incoming::Other,
    }
}

/// `42<id>["echo","<payload>"]`.
pub fn echo(id: u64, payload: &str) -> String {
    let mut s = String::with_capacity(payload.len() + 24);
    s.push_str("42");
    s.push_str(&id.to_string());
    s.push_str("[\"echo\",\"");
    s.push_str(payload);
    s.push_str("\"]");
    s
}

/// `451-<id>["echo",{"_placeholder":true,"num":0}]`; the attachment goes in the next frame.
pub fn binary_echo(id: u64) -> String {
    format!("451-{id}[\"echo\",{{\"_placeholder\":true,\"num\":0}}]")
}

/// `42<id>["join","<room>"]`.
pub fn join(id: u64, room: &str) -> String {
    format!("42{id}[\"join\",\"{room}\"]")
}

/// `42["broadcast",<room or null>,"<data>"]`: `msg` to every other socket of the room, or
/// to every socket of `/` (the sender included) when the room is null.
pub fn broadcast(room: Option<&str>, data: &str) -> String {
    match room {
        Some(room) => format!("42[\"broadcast\",\"{room}\",\"{data}\"]"),
        None => format!("42[\"broadcast\",null,\"{data}\"]"),
    }
}

/// The data of a timed broadcast: `<seq>:<sent at, µs>:<padding>`, one JSON string.
pub fn stamp(seq: u64, sent_us: u64, pad: &str) -> String {
    format!("{seq}:{sent_us}:{pad}")
}

/// `(seq, sent_us)` of a whole `42["msg","<seq>:<sent_us>:…"]` text frame, read straight
/// from its bytes: the fan-out receivers' path, which must cost less than the servers'.
pub fn msg_stamp(frame: &[u8]) -> Option<(u64, u64)> {
    let rest = frame.strip_prefix(b"42[\"msg\",\"")?;
    let (seq, rest) = leading_number(rest)?;
    let (sent, rest) = leading_number(rest.strip_prefix(b":")?)?;
    rest.starts_with(b":").then_some((seq, sent))
}

/// The decimal number at the start of `b` (at most 19 digits), and the rest.
fn leading_number(b: &[u8]) -> Option<(u64, &[u8])> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let n = b[..digits]
        .iter()
        .fold(0u64, |n, c| n * 10 + u64::from(c - b'0'));
    Some((n, &b[digits..]))
}

/// The `sid` of an Engine.IO open packet's JSON.
pub fn open_sid(json: &str) -> Option<&str> {
    let start = json.find("\"sid\":\"")? + 7;
    let len = json[start..].find('"')?;
    Some(&json[start..start + len])
}

/// A payload of `len` bytes of ASCII letters (no JSON escaping needed).
pub fn padding(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_frames() {
        assert_eq!(classify("2"), Incoming::Ping);
        assert_eq!(classify("40{\"sid\":\"x\"}"), Incoming::Connected);
        assert_eq!(classify("4317[\"abc\"]"), Incoming::Ack(17, "[\"abc\"]"));
        assert_eq!(
            classify("461-9[{\"_placeholder\":true,\"num\":0}]"),
            Incoming::BinaryAck(9, 1)
        );
        assert_eq!(
            classify("42[\"msg\",\"1:2:ab\"]"),
            Incoming::Msg("\"1:2:ab\"")
        );
        assert_eq!(classify("42[\"other\",1]"), Incoming::Other);
        assert_eq!(
            classify("44{\"message\":\"no\"}"),
            Incoming::ConnectError("{\"message\":\"no\"}")
        );
        assert_eq!(
            msg_stamp(b"42[\"msg\",\"17:123456:ab\"]"),
            Some((17, 123456))
        );
        assert_eq!(msg_stamp(b"42[\"msg\",\"17:123456\"]"), None);
        assert_eq!(msg_stamp(b"42[\"other\",\"1:2:ab\"]"), None);
        assert_eq!(msg_stamp(b"42[\"msg\",\":2:ab\"]"), None);
        assert_eq!(open_sid("{\"sid\":\"abc\",\"upgrades\":[]}"), Some("abc"));
    }

    #[test]
    fn encodes_frames() {
        assert_eq!(echo(3, "xy"), "423[\"echo\",\"xy\"]");
        assert_eq!(broadcast(None, "d"), "42[\"broadcast\",null,\"d\"]");
        assert_eq!(broadcast(Some("r1"), "d"), "42[\"broadcast\",\"r1\",\"d\"]");
        assert_eq!(join(4, "r1"), "424[\"join\",\"r1\"]");
        assert_eq!(padding(3), "abc");
    }
}
