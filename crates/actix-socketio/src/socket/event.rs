//! An incoming event and the ack its sender may wait for.

use std::sync::Weak;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::error::Error;
use super::packet::Payload;

/// Where an ack goes: the socket that received the event. Held weakly, so an unanswered
/// ack kept somewhere does not keep its socket alive.
pub(crate) trait AckTarget: Send + Sync {
    /// Sends the ACK packet for `id`; fails once the socket has left its namespace.
    fn send_ack(&self, id: u64, payload: Payload) -> Result<(), Error>;
}

/// A received event: its name, arguments, and the ack the client asked for, if any.
#[derive(Debug)]
pub struct Event {
    name: String,
    payload: Payload,
    ack: AckSender,
}

impl Event {
    pub(crate) fn new(name: String, payload: Payload, ack: AckSender) -> Event {
        Event { name, payload, ack }
    }

    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The JSON arguments; binary ones are `{"_placeholder":true,"num":N}`.
    pub fn args(&self) -> &[Value] {
        &self.payload.args
    }

    /// The binary attachments, by placeholder number.
    pub fn binary(&self) -> &[bytes::Bytes] {
        &self.payload.binary
    }

    /// Arguments and attachments.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The arguments and attachments, for packet middleware that rewrites an event.
    pub fn payload_mut(&mut self) -> &mut Payload {
        &mut self.payload
    }

    /// The arguments decoded as `T`: from the only argument when there is exactly one,
    /// else from the array of all of them (so a tuple takes several), `null` for none.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.payload.decode().map_err(Error::Decode)
    }

    /// Whether the client waits for an ack.
    pub fn wants_ack(&self) -> bool {
        self.ack.wants_ack()
    }

    /// Takes the ack, to answer later or from another task; the event keeps one that
    /// answers nothing.
    pub fn take_ack(&mut self) -> AckSender {
        std::mem::replace(&mut self.ack, AckSender::none())
    }

    /// Answers the client's ack with one argument; nothing is sent if none was asked.
    pub fn ack(&mut self, data: impl Serialize) -> Result<(), Error> {
        self.take_ack().send(data)
    }

    /// Name, arguments and ack.
    pub fn into_parts(self) -> (String, Payload, AckSender) {
        (self.name, self.payload, self.ack)
    }
}

/// Answers one event's ack. Answering an event that asked for none sends nothing; dropped
/// unused, the client's ack never fires (its own timeout tells it).
pub struct AckSender {
    ack: Option<(Weak<dyn AckTarget>, u64)>,
}

impl std::fmt::Debug for AckSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckSender")
            .field("id", &self.ack.as_ref().map(|(_, id)| id))
            .finish()
    }
}

impl AckSender {
    pub(crate) fn new(target: Weak<dyn AckTarget>, id: Option<u64>) -> AckSender {
        AckSender {
            ack: id.map(|id| (target, id)),
        }
    }

    pub(crate) fn none() -> AckSender {
        AckSender { ack: None }
    }

    /// Whether the client waits for this ack.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Answers with one argument.
    pub fn send(self, data: impl Serialize) -> Result<(), Error> {
        if !self.wants_ack() {
            return Ok(());
        }
        self.send_payload(Payload::json(data)?)
    }

    /// Answers with any arguments and attachments.
    pub fn send_payload(self, payload: Payload) -> Result<(), Error> {
        let Some((target, id)) = self.ack else {
            return Ok(());
        };
        let target = target.upgrade().ok_or(Error::Disconnected)?;
        target.send_ack(id, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(args: Vec<Value>) -> Event {
        Event::new("e".into(), Payload::new(args), AckSender::none())
    }

    #[test]
    fn data_reads_one_argument_or_all_of_them() {
        assert_eq!(event(vec![json!(1)]).data::<u32>().unwrap(), 1);
        assert_eq!(
            event(vec![json!(1), json!("a")])
                .data::<(u32, String)>()
                .unwrap(),
            (1, "a".to_owned())
        );
        assert_eq!(event(vec![]).data::<Option<u32>>().unwrap(), None);
        assert!(matches!(
            event(vec![json!("x")]).data::<u32>(),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn an_ack_nobody_asked_for_sends_nothing() {
        let mut event = event(vec![]);
        assert!(!event.wants_ack());
        assert!(event.ack("ignored").is_ok());
    }
}
