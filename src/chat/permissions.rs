//! Who may enter a room: the checks the room page and the `/chat` handshake share.

use crate::store::{Room, StoreError};

use super::{hub::ChatHub, person::Person, presence::JoinError};

/// Why someone may not (yet) be in a room; `message` is what they are told.
#[derive(Debug)]
pub enum Refusal {
    NoSession,
    UnknownRoom,
    NotGranted,
    Banned,
    Full,
    WrongPassword,
    /// Too many wrong passwords for this room from this address lately.
    TooManyGuesses,
    /// The store failed; logged, and the visitor is asked to retry.
    Unavailable(StoreError),
}

impl Refusal {
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::NoSession => "세션이 없습니다.",
            Refusal::UnknownRoom => "존재하지 않는 방입니다.",
            Refusal::NotGranted => "입장 권한이 없습니다.",
            Refusal::Banned => "강퇴당한 방에는 다시 들어갈 수 없습니다.",
            Refusal::Full => "허용 인원이 초과하였습니다.",
            Refusal::WrongPassword => "비밀번호가 틀렸습니다.",
            Refusal::TooManyGuesses => {
                "비밀번호를 너무 많이 틀렸습니다. 1분 뒤에 다시 시도해 주세요."
            }
            Refusal::Unavailable(_) => "잠시 후 다시 시도해 주세요.",
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Self {
        log::error!("store: {err}");
        Refusal::Unavailable(err)
    }
}

impl From<JoinError> for Refusal {
    fn from(err: JoinError) -> Self {
        match err {
            JoinError::Full => Refusal::Full,
            // Being deleted: as good as gone.
            JoinError::Closing => Refusal::UnknownRoom,
        }
    }
}

/// Path segments and handshake values arrive as text; anything but a positive integer
/// names no room.
pub fn parse_room_id(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().filter(|id| *id > 0)
}

impl ChatHub {
    /// The room, or `UnknownRoom`.
    pub async fn find_room(&self, id: i64) -> Result<Room, Refusal> {
        self.store().room(id).await?.ok_or(Refusal::UnknownRoom)
    }

    /// Whether `person` was kicked out of the room.
    pub async fn check_not_banned(&self, room: &Room, person: &Person) -> Result<(), Refusal> {
        if self.store().is_banned(room.id, &person.id).await? {
            return Err(Refusal::Banned);
        }
        Ok(())
    }

    /// Not banned, and either already present or there is room for one more person.
    pub async fn check_stay(&self, room: &Room, person: &Person) -> Result<(), Refusal> {
        self.check_not_banned(room, person).await?;
        self.0
            .presence
            .admits(room.id, &person.id, max_people(room))
            .map_err(Refusal::from)
    }
}

/// The room's capacity as a count; the store keeps it between 2 and 100.
pub(super) fn max_people(room: &Room) -> usize {
    usize::try_from(room.max).unwrap_or(0)
}
