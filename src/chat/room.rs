//! The `/chat` namespace: who may connect, joining and leaving, and the `chat`, `whisper`
//! and `kick` events.
//!
//! A socket that leaves on purpose (the client's DISCONNECT, as the page's 방 나가기 button
//! sends) takes its person out at once. One that just goes (a reload, a closed tab, a
//! network drop) leaves them away for the grace period: if they come back meanwhile,
//! nobody hears of it; else they depart then, as if they had left.

use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_socketio::{AckSender, ConnectError, DisconnectReason, Extension, Socket, TryData};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    hub::{participants, person_key, room_key, ChatHub, ChatView, Hub, Notice},
    permissions::{max_people, parse_room_id, Refusal},
    person::Person,
    presence::{Departure, Left},
    session,
};
use crate::{
    csrf,
    live::LiveGuard,
    store::{ChatKind, NewChat, StoreError},
};

/// The namespace of the sockets inside a room.
pub const ROOM_NSP: &str = "/chat";

/// Longest chat or whisper, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

const KICKED: &str = "방장에게 강퇴당했습니다.";

/// Set by the connect middleware on every admitted socket; handlers take it with
/// `Extension<Member>`.
#[derive(Clone)]
struct Member {
    /// The hub the socket belongs to, held weakly: the socket server, which the hub points
    /// at, must not keep it alive in a cycle.
    hub: Weak<Hub>,
    room: i64,
    max: usize,
    /// The stored owner when the socket was admitted.
    owner: String,
    person: Person,
}

impl Member {
    /// The hub, with the event counted as in flight until the guard drops (a shutdown waits
    /// for such events' writes and acks); `None` once the server is shutting down.
    fn hub(&self) -> Option<(Arc<Hub>, LiveGuard)> {
        let hub = self.hub.upgrade()?;
        let in_flight = hub.in_flight.enter();
        Some((hub, in_flight))
    }
}

/// An event's ack: `{ok: true}` or `{ok: false, error}`.
#[derive(Debug, Serialize)]
struct Reply {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

type Answer = Result<(), &'static str>;

impl From<Answer> for Reply {
    fn from(answer: Answer) -> Self {
        Reply {
            ok: answer.is_ok(),
            error: answer.err(),
        }
    }
}

#[derive(Deserialize)]
struct ChatIn {
    text: String,
}

#[derive(Deserialize)]
struct WhisperIn {
    to: String,
    text: String,
}

#[derive(Deserialize)]
struct KickIn {
    id: String,
}

const BAD_REQUEST: &str = "잘못된 요청입니다.";
const TOO_FAST: &str = "메시지를 너무 빨리 보내고 있습니다.";
const NOT_SAVED: &str = "메시지를 저장하지 못했습니다.";

pub(super) fn register(hub: &Arc<Hub>) {
    let weak = Arc::downgrade(hub);
    hub.room_sockets.use_middleware(move |socket: Socket| {
        let hub = weak.upgrade();
        async move {
            // Gone only while the server shuts down.
            let hub = hub.ok_or_else(|| ConnectError::new(Refusal::UnknownRoom.message()))?;
            admit(ChatHub(hub), &socket).await
        }
    });
    let weak = Arc::downgrade(hub);
    hub.room_sockets.on_connect(move |socket: Socket| {
        if let Some(hub) = weak.upgrade() {
            Hub::connected(&hub, socket);
        }
        async {}
    });
}

/// Most chats a page that comes back is sent of what it missed; a page that missed more
/// is told to reload (`reload`) rather than flooded.
const CATCH_UP: u32 = 200;

/// The last chat the page already shows, from its handshake auth `{after: 12}`.
fn handshake_after(socket: &Socket) -> Option<i64> {
    socket.handshake().auth.get("after")?.as_i64()
}

/// The room a socket names in its handshake auth: `{room: 1}` (or `"1"`).
fn room_from_auth(auth: &Value) -> Option<i64> {
    match auth.get("room")? {
        Value::Number(n) => n.as_i64().filter(|id| *id > 0),
        Value::String(s) => parse_room_id(s),
        _ => None,
    }
}

/// Trimmed text, or why it cannot be sent.
fn message_text(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        Err("메시지를 입력하세요.")
    } else if text.chars().count() > MAX_TEXT_CHARS {
        Err("메시지는 1000자 이하여야 합니다.")
    } else {
        Ok(text.to_owned())
    }
}

fn store_failure(err: &StoreError) -> &'static str {
    match err {
        StoreError::RoomNotFound(_) => Refusal::UnknownRoom.message(),
        _ => {
            log::error!("store: {err}");
            NOT_SAVED
        }
    }
}

/// Connect middleware: the checks every socket passes before it joins, in this order.
async fn admit(hub: ChatHub, socket: &Socket) -> Result<(), ConnectError> {
    let handshake = socket.handshake();
    if !csrf::same_origin(&handshake.headers().to_header_map(), hub.0.scheme, false) {
        return Err(ConnectError::new(csrf::CROSS_SITE));
    }
    let refuse = |refusal: Refusal| ConnectError::new(refusal.message());
    let session =
        session::from_handshake(handshake, &hub.0.key).ok_or_else(|| refuse(Refusal::NoSession))?;
    let id = room_from_auth(&handshake.auth).ok_or_else(|| refuse(Refusal::UnknownRoom))?;
    let room = hub.find_room(id).await.map_err(refuse)?;
    if !session.granted.contains(&room.id) {
        return Err(refuse(Refusal::NotGranted));
    }
    hub.check_stay(&room, &session.person)
        .await
        .map_err(refuse)?;
    socket.insert_extension(Member {
        hub: Arc::downgrade(&hub.0),
        room: room.id,
        max: max_people(&room),
        owner: room.owner,
        person: session.person,
    });
    Ok(())
}

impl Hub {
    /// A socket passed the middleware: it joins the room's presence (capacity is enforced
    /// here, atomically; the middleware's check only gives the friendly refusal).
    fn connected(hub: &Arc<Hub>, socket: Socket) {
        let Some(member) = socket.extension::<Member>() else {
            socket.disconnect(false);
            return;
        };
        let room = member.room;
        let person = &member.person;
        let joined = hub
            .presence
            .join(room, &person.id, socket.id(), member.max, &member.owner);
        let joined = match joined {
            Ok(joined) => joined,
            Err(err) => {
                let message = Refusal::from(err).message();
                let _ = socket.emit("refused", Notice { message });
                socket.disconnect(false);
                return;
            }
        };
        if let Err(err) = socket.join([room_key(room), person_key(room, &person.id)]) {
            log::error!("socket {} joins no room: {err}", socket.id());
            socket.disconnect(false);
            return;
        }

        socket.on(
            "chat",
            |Extension(member): Extension<Member>,
             TryData(input): TryData<ChatIn>,
             ack: AckSender| async move {
                if let Some((hub, _in_flight)) = member.hub() {
                    let _ = ack.send(Reply::from(hub.on_chat(&member, input).await));
                }
            },
        );
        socket.on(
            "whisper",
            |Extension(member): Extension<Member>,
             TryData(input): TryData<WhisperIn>,
             ack: AckSender| async move {
                if let Some((hub, _in_flight)) = member.hub() {
                    let _ = ack.send(Reply::from(hub.on_whisper(&member, input).await));
                }
            },
        );
        socket.on(
            "kick",
            |Extension(member): Extension<Member>,
             TryData(input): TryData<KickIn>,
             ack: AckSender| async move {
                if let Some((hub, _in_flight)) = member.hub() {
                    let _ = ack.send(Reply::from(Hub::on_kick(&hub, &member, input).await));
                }
            },
        );
        socket.on_disconnect(
            |socket: Socket, reason: DisconnectReason, Extension(member): Extension<Member>| {
                // Nobody chose to leave: presence ends with the process, and the clients
                // come back on their own. Announcing departures (or deleting rooms) would
                // be wrong.
                if reason != DisconnectReason::ServerShuttingDown {
                    if let Some(hub) = member.hub.upgrade() {
                        Hub::left(&hub, socket.id(), &member, left_on_purpose(reason));
                    }
                }
                async {}
            },
        );
        // A disconnect that came before the handler was registered (from another thread)
        // would otherwise leave this socket present for ever; leaving twice is harmless.
        if !socket.connected() {
            Hub::left(hub, socket.id(), &member, true);
            return;
        }

        // What the page missed between its history and this socket's joining the room (or
        // while it was reconnecting): the chats after the last one it has. Sent before this
        // arrival's own notice is stored, which is for the others only.
        let after = handshake_after(&socket);
        if joined.arrived {
            hub.publish_people(room);
        }
        let arrived = joined.arrived;
        if after.is_some() || arrived {
            let task_hub = hub.clone();
            let (task_socket, task_person) = (socket.clone(), person.clone());
            actix_web::rt::spawn(async move {
                if let Some(after) = after {
                    task_hub
                        .catch_up(&task_socket, room, &task_person.id, after)
                        .await;
                }
                if arrived {
                    let text = format!("{}님이 입장하셨습니다.", task_person.look.name);
                    // To the others only: the newcomer's page already shows the history.
                    let except = person_key(room, &task_person.id);
                    task_hub
                        .notice(room, &task_person, text, Some(except))
                        .await;
                }
            });
        }
        if !joined.arrived {
            // Another tab of someone present, or a return within the grace period: nothing
            // changed for the others.
            hub.presence.publish(room, |snapshot| {
                let _ = socket.emit("participants", participants(snapshot));
            });
        }
    }

    /// Sends `socket` the chats of `room` after chat `after` that `viewer` may see.
    async fn catch_up(&self, socket: &Socket, room: i64, viewer: &str, after: i64) {
        // One more than is sent, to know whether the page missed more.
        let limit = Some(CATCH_UP + 1);
        let chats = match self.store.chats_after(room, viewer, after, limit).await {
            Ok(chats) => chats,
            Err(err) => return log::warn!("catching up room {room}: {err}"),
        };
        if chats.len() > CATCH_UP as usize {
            let _ = socket.emit("reload", ());
            return;
        }
        for chat in chats {
            let event = if chat.kind == ChatKind::Whisper {
                "whisper"
            } else {
                "chat"
            };
            let _ = socket.emit(event, ChatView::from(chat));
        }
    }

    /// A socket left (or was sent away). Its person leaves with their last socket: at once
    /// if they meant to, else once they have been away for the grace period.
    fn left(hub: &Arc<Hub>, socket: &str, member: &Member, on_purpose: bool) {
        let room = member.room;
        match hub.presence.leave(room, socket, on_purpose) {
            None | Some(Left::Stays) => {}
            Some(Left::Away(token)) => Hub::depart_later(hub, room, member.person.clone(), token),
            Some(Left::Departed(departure)) => {
                Hub::departed(hub, room, &member.person, departure, Farewell::Left, false);
            }
        }
    }

    /// After the grace period, `person` departs unless they came back (which invalidates
    /// `token`).
    fn depart_later(hub: &Arc<Hub>, room: i64, person: Person, token: u64) {
        let grace = hub.grace;
        let hub: Weak<Hub> = Arc::downgrade(hub);
        actix_web::rt::spawn(async move {
            tokio::time::sleep(grace).await;
            let Some(hub) = hub.upgrade() else {
                return;
            };
            if let Some(departure) = hub.presence.depart(room, &person.id, token) {
                Hub::departed(&hub, room, &person, departure, Farewell::Left, true);
            }
        });
    }

    /// `person` is no longer present: the list, the notice, the hand-over, and the room's
    /// deletion if it is empty now (at once if nobody has had a socket in it for the grace
    /// period already).
    fn departed(
        hub: &Arc<Hub>,
        room: i64,
        person: &Person,
        departure: Departure,
        farewell: Farewell,
        waited: bool,
    ) {
        if let Some(token) = departure.deletion {
            let wait = if waited { Duration::ZERO } else { hub.grace };
            Hub::delete_after(hub, room, token, wait);
        }
        hub.publish_people(room);
        let hub = hub.clone();
        let person = person.clone();
        actix_web::rt::spawn(async move {
            let text = farewell.notice(&person.look.name);
            hub.notice(room, &person, text, None).await;
            if let Some(owner) = departure.new_owner {
                hub.owner_changed(room, Person::from_public(owner)).await;
            }
        });
    }

    /// The owner left: the new one (already in presence) is stored and announced, in the
    /// room and in the room lists.
    async fn owner_changed(&self, room: i64, owner: Person) {
        if let Err(err) = self.store.set_owner(room, &owner.id).await {
            log::error!("new owner of room {room}: {err}");
        }
        if let Err(err) = self.room_sockets.to(room_key(room)).emit("owner", &owner) {
            log::warn!("owner of room {room}: {err}");
        }
        self.room_list.owner(room, owner.look.clone());
        let text = format!("{}님이 방장이 되었습니다.", owner.look.name);
        self.notice(room, &owner, text, None).await;
    }

    /// Stores a system notice about `person` and sends it to the room (less `except`).
    async fn notice(&self, room: i64, person: &Person, text: String, except: Option<String>) {
        let new = NewChat {
            room_id: room,
            user: person.id.clone(),
            kind: ChatKind::System,
            body: text,
            target: None,
        };
        let view = match self.store.add_chat(new).await {
            Ok(chat) => ChatView::from(chat),
            // The room was deleted meanwhile: nobody is left to tell.
            Err(StoreError::RoomNotFound(_)) => return,
            Err(err) => {
                log::error!("notice in room {room}: {err}");
                return;
            }
        };
        let mut to = self.room_sockets.to(room_key(room));
        if let Some(except) = except {
            to = to.except(except);
        }
        if let Err(err) = to.emit("chat", &view) {
            log::warn!("notice to room {room}: {err}");
        }
    }

    async fn on_chat(
        &self,
        member: &Member,
        input: Result<ChatIn, actix_socketio::Error>,
    ) -> Answer {
        let input = input.map_err(|_| BAD_REQUEST)?;
        let text = message_text(&input.text)?;
        if !self.limiter.allow(&member.person.id) {
            return Err(TOO_FAST);
        }
        let new = NewChat {
            room_id: member.room,
            user: member.person.id.clone(),
            kind: ChatKind::Text,
            body: text,
            target: None,
        };
        self.post(new).await.map_err(|err| store_failure(&err))?;
        Ok(())
    }

    async fn on_whisper(
        &self,
        member: &Member,
        input: Result<WhisperIn, actix_socketio::Error>,
    ) -> Answer {
        let input = input.map_err(|_| BAD_REQUEST)?;
        let text = message_text(&input.text)?;
        let room = member.room;
        if input.to == member.person.id {
            return Err("자기 자신에게는 귓속말을 보낼 수 없습니다.");
        }
        if !self.presence.contains(room, &input.to) {
            return Err("귓속말 상대가 방에 없습니다.");
        }
        if !self.limiter.allow(&member.person.id) {
            return Err(TOO_FAST);
        }
        let new = NewChat {
            room_id: room,
            user: member.person.id.clone(),
            kind: ChatKind::Whisper,
            body: text,
            target: Some(input.to.clone()),
        };
        let chat = self
            .store
            .add_chat(new)
            .await
            .map_err(|err| store_failure(&err))?;
        let view = ChatView::from(chat);
        let both = vec![
            person_key(room, &member.person.id),
            person_key(room, &input.to),
        ];
        if let Err(err) = self.room_sockets.to(both).emit("whisper", &view) {
            log::warn!("whisper in room {room}: {err}");
        }
        Ok(())
    }

    async fn on_kick(
        hub: &Arc<Hub>,
        member: &Member,
        input: Result<KickIn, actix_socketio::Error>,
    ) -> Answer {
        let input = input.map_err(|_| BAD_REQUEST)?;
        let room = member.room;
        if hub.presence.owner(room).as_deref() != Some(member.person.id.as_str()) {
            return Err("방장만 강퇴할 수 있습니다.");
        }
        if input.id == member.person.id {
            return Err("자기 자신은 강퇴할 수 없습니다.");
        }
        if !hub.presence.contains(room, &input.id) {
            return Err("강퇴할 사람이 방에 없습니다.");
        }
        hub.store.ban(room, &input.id).await.map_err(|err| {
            log::error!("ban in room {room}: {err}");
            "강퇴하지 못했습니다."
        })?;
        // Out of the room before their sockets go, so those find nothing to announce.
        let departure = hub.presence.remove(room, &input.id);
        let target = hub.room_sockets.to(person_key(room, &input.id));
        if let Err(err) = target.emit("kicked", Notice { message: KICKED }) {
            log::warn!("kicked in room {room}: {err}");
        }
        if let Err(err) = target.disconnect_sockets(false).await {
            log::warn!("disconnecting the kicked in room {room}: {err}");
        }
        // None if they left on their own meanwhile: that departure told the room already.
        if let Some(departure) = departure {
            let kicked = Person::from_public(input.id);
            Hub::departed(hub, room, &kicked, departure, Farewell::Kicked, false);
        }
        Ok(())
    }
}

/// How someone stopped being present, as the room is told.
#[derive(Clone, Copy)]
enum Farewell {
    Left,
    Kicked,
}

impl Farewell {
    fn notice(self, name: &str) -> String {
        match self {
            Farewell::Left => format!("{name}님이 퇴장하셨습니다."),
            Farewell::Kicked => format!("{name}님이 방장에게 강퇴당했습니다."),
        }
    }
}

/// Whether the socket's person meant to leave: their page said goodbye (a DISCONNECT), or
/// the server sent them away. Anything else may be a reload.
fn left_on_purpose(reason: DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::ClientNamespaceDisconnect
            | DisconnectReason::ServerNamespaceDisconnect
            | DisconnectReason::ForcedClose
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_room_comes_from_the_auth_as_a_positive_integer() {
        assert_eq!(room_from_auth(&json!({"room": 3})), Some(3));
        assert_eq!(room_from_auth(&json!({"room": "12"})), Some(12));
        for bad in [
            json!({}),
            json!({"room": 0}),
            json!({"room": -1}),
            json!({"room": 1.5}),
            json!({"room": "x"}),
            json!({"room": null}),
            json!([1]),
        ] {
            assert_eq!(room_from_auth(&bad), None, "{bad}");
        }
    }

    #[test]
    fn texts_are_trimmed_and_bounded_in_characters() {
        assert_eq!(message_text("  안녕  "), Ok("안녕".to_owned()));
        assert!(message_text(" \n ").is_err());
        assert!(message_text(&"가".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(message_text(&"가".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }

    #[test]
    fn replies_are_ok_or_carry_the_error() {
        let ok = serde_json::to_value(Reply::from(Ok(()))).expect("serializes");
        assert_eq!(ok, json!({"ok": true}));
        let err = serde_json::to_value(Reply::from(Err(TOO_FAST))).expect("serializes");
        assert_eq!(err, json!({"ok": false, "error": TOO_FAST}));
    }
}
