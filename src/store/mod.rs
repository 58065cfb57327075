//! The chat room's data: rooms, their history (chats) and their bans, in SQLite.
//!
//! Every SQL statement of the app lives in this module, so another backend (PostgreSQL) can be
//! added here without touching the handlers. The statements are checked at run time
//! (`sqlx::query*`, not the `query!` macros) so that building needs no database.
//! They stick to SQL that SQLite and PostgreSQL share (`RETURNING`, `ON CONFLICT`, a quoted
//! `"user"` column, since `user` is reserved in PostgreSQL); only `open` is SQLite-specific.

mod error;
mod password;
#[cfg(test)]
mod tests;

use std::{
    path::Path,
    str::FromStr,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use sqlx::{
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

use crate::config::HashLimits;
pub use error::StoreError;
use password::Hasher;

/// The SQL files under `migrations/`, compiled into the binary so a deployment is one file.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for another connection's write lock before failing with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Column lists shared by the statements that build a [`Room`] or a [`Chat`].
const ROOM_COLUMNS: &str = "id, title, max, owner, password_hash, created_at";
const CHAT_COLUMNS: &str = r#"id, room_id, "user", kind, body, target, created_at"#;

/// Handle to the database; cheap to clone (it is a connection pool).
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Room passwords' Argon2 work, bounded.
    hasher: Arc<Hasher>,
}

/// A chat room.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Room {
    pub id: i64,
    pub title: String,
    /// How many people may be in the room at once.
    pub max: i64,
    /// The owner's session user id.
    pub owner: String,
    /// Argon2 PHC string, `None` for a public room. Never sent to clients.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Unix time in milliseconds.
    pub created_at: i64,
}

impl Room {
    /// Whether entering the room needs a password.
    pub fn is_secret(&self) -> bool {
        self.password_hash.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    Text,
    Gif,
    System,
    Whisper,
}

impl ChatKind {
    /// The value stored in `chats.kind` (the same as the JSON form).
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Text => "text",
            ChatKind::Gif => "gif",
            ChatKind::System => "system",
            ChatKind::Whisper => "whisper",
        }
    }

    fn parse(s: &str) -> Option<ChatKind> {
        match s {
            "text" => Some(ChatKind::Text),
            "gif" => Some(ChatKind::Gif),
            "system" => Some(ChatKind::System),
            "whisper" => Some(ChatKind::Whisper),
            _ => None,
        }
    }
}

/// One message of a room's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chat {
    pub id: i64,
    pub room_id: i64,
    /// The sender's session user id (`"system"` or similar for system messages, as the caller decides).
    pub user: String,
    pub kind: ChatKind,
    /// The text, or the gif's file name for [`ChatKind::Gif`].
    pub body: String,
    /// The recipient of a whisper; `None` for every other kind.
    pub target: Option<String>,
    /// Unix time in milliseconds.
    pub created_at: i64,
}

/// What `create_room` needs; the id, time and hash are made by the store.
pub struct NewRoom {
    pub title: String,
    pub max: i64,
    pub owner: String,
    /// Plain text; only its Argon2 hash is stored. `None` for a public room.
    pub password: Option<String>,
}

/// What `add_chat` needs; the id and time are made by the store.
pub struct NewChat {
    pub room_id: i64,
    pub user: String,
    pub kind: ChatKind,
    pub body: String,
    /// Required for a whisper, refused for every other kind.
    pub target: Option<String>,
}

/// `chats` as stored: the kind is text until checked by [`Chat::try_from`].
#[derive(sqlx::FromRow)]
struct ChatRow {
    id: i64,
    room_id: i64,
    user: String,
    kind: String,
    body: String,
    target: Option<String>,
    created_at: i64,
}

impl TryFrom<ChatRow> for Chat {
    type Error = StoreError;

    fn try_from(row: ChatRow) -> Result<Chat, StoreError> {
        let kind = ChatKind::parse(&row.kind).ok_or_else(|| {
            StoreError::Corrupt(format!("chat {} has kind {:?}", row.id, row.kind))
        })?;
        Ok(Chat {
            id: row.id,
            room_id: row.room_id,
            user: row.user,
            kind,
            body: row.body,
            target: row.target,
            created_at: row.created_at,
        })
    }
}

/// `#[from]` would turn a foreign-key failure into an opaque `Database` error; callers want to
/// know that the room is gone (it can be deleted while someone is still typing).
fn room_missing_or(err: sqlx::Error, room_id: i64) -> StoreError {
    match err.as_database_error() {
        Some(db) if db.is_foreign_key_violation() => StoreError::RoomNotFound(room_id),
        _ => StoreError::Database(err),
    }
}

/// Unix time in ms. A clock before 1970 gives 0 rather than an error: ordering then falls
/// back to the id, which is still insertion order.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Store {
    /// `sqlite://data/gif-chat.db` style URL (also `sqlite::memory:`); creates the parent
    /// directory and the file, WAL journal mode, foreign keys on, runs migrations. Room
    /// passwords are hashed within `hashing`.
    pub async fn open(url: &str, hashing: HashLimits) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // WAL lets readers (history loads) run while a chat is written.
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across app crashes in WAL mode; only an OS crash can lose the
            // last few chats, a fair trade for not syncing on every message.
            .synchronous(SqliteSynchronous::Normal)
            // Per connection in SQLite, so it has to be part of the connect options.
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        let in_memory = is_memory_url(url);
        if !in_memory {
            create_parent_dir(options.get_filename())?;
        }

        let pool = if in_memory {
            // An in-memory database lives only as long as a connection to it: keep exactly one,
            // forever, or the rooms vanish when the pool recycles idle connections.
            SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            SqlitePoolOptions::new().connect_with(options).await?
        };

        // Already-applied migrations are skipped (sqlx records them in _sqlx_migrations).
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            hasher: Arc::new(Hasher::new(hashing)?),
        })
    }

    /// Closes every connection (checkpointing the WAL); for a clean shutdown and for tests.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn create_room(&self, new: NewRoom) -> Result<Room, StoreError> {
        let password_hash = match new.password {
            Some(plain) => Some(self.hasher.hash(plain).await?),
            None => None,
        };
        let sql = format!(
            "INSERT INTO rooms (title, max, owner, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING {ROOM_COLUMNS}"
        );
        let room = sqlx::query_as::<_, Room>(&sql)
            .bind(new.title)
            .bind(new.max)
            .bind(new.owner)
            .bind(password_hash)
            .bind(now_ms())
            .fetch_one(&self.pool)
            .await?;
        Ok(room)
    }

    pub async fn room(&self, id: i64) -> Result<Option<Room>, StoreError> {
        let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?");
        let room = sqlx::query_as::<_, Room>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(room)
    }

    /// Every room, newest first (the id breaks ties within one millisecond).
    pub async fn rooms(&self) -> Result<Vec<Room>, StoreError> {
        let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms ORDER BY created_at DESC, id DESC");
        let rooms = sqlx::query_as::<_, Room>(&sql)
            .fetch_all(&self.pool)
            .await?;
        Ok(rooms)
    }

    /// False for a public room or a broken hash (which must not open the room); the
    /// comparison is argon2's constant-time one. `Busy` when the password could not be
    /// checked in time (too many at once).
    pub async fn verify_password(&self, room: &Room, password: &str) -> Result<bool, StoreError> {
        match &room.password_hash {
            Some(hash) => self.hasher.verify(hash.clone(), password.to_owned()).await,
            None => Ok(false),
        }
    }

    pub async fn set_owner(&self, room_id: i64, owner: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE rooms SET owner = ? WHERE id = ?")
            .bind(owner)
            .bind(room_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::RoomNotFound(room_id));
        }
        Ok(())
    }

    /// Deletes the room, its chats and bans; returns the gif file names its chats referenced
    /// so the caller can delete the files. Deleting a room that is already gone returns an
    /// empty list: the last two people leaving at once may both try.
    pub async fn delete_room(&self, id: i64) -> Result<Vec<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Chats and bans are deleted explicitly rather than left to ON DELETE CASCADE, so this
        // does not depend on the connection having foreign keys on, and so the gif names come
        // back from the same statement that removes them. Writing first also takes SQLite's
        // write lock at once, instead of upgrading a read transaction (which can fail as busy).
        let removed: Vec<(String, String)> =
            sqlx::query_as("DELETE FROM chats WHERE room_id = ? RETURNING kind, body")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM bans WHERE room_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM rooms WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        let mut gifs: Vec<String> = removed
            .into_iter()
            .filter(|(kind, _)| kind == ChatKind::Gif.as_str())
            .map(|(_, body)| body)
            .collect();
        // One file per name, however many chats showed it.
        gifs.sort();
        gifs.dedup();
        Ok(gifs)
    }

    pub async fn add_chat(&self, new: NewChat) -> Result<Chat, StoreError> {
        // A whisper without a recipient would be hidden from everyone but its sender, and a
        // target on a public message would be meaningless: both are caller bugs.
        match (new.kind, &new.target) {
            (ChatKind::Whisper, None) => {
                return Err(StoreError::InvalidChat("a whisper needs a target"));
            }
            (ChatKind::Text | ChatKind::Gif | ChatKind::System, Some(_)) => {
                return Err(StoreError::InvalidChat("only a whisper has a target"));
            }
            _ => {}
        }
        let room_id = new.room_id;
        let sql = format!(
            r#"INSERT INTO chats (room_id, "user", kind, body, target, created_at)
               VALUES (?, ?, ?, ?, ?, ?) RETURNING {CHAT_COLUMNS}"#
        );
        let row = sqlx::query_as::<_, ChatRow>(&sql)
            .bind(room_id)
            .bind(new.user)
            .bind(new.kind.as_str())
            .bind(new.body)
            .bind(new.target)
            .bind(now_ms())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| room_missing_or(e, room_id))?;
        Chat::try_from(row)
    }

    /// The room's history in time order (created_at, then id); whispers only when `viewer`
    /// is their sender or target.
    pub async fn chats(&self, room_id: i64, viewer: &str) -> Result<Vec<Chat>, StoreError> {
        self.chats_after(room_id, viewer, 0, None).await
    }

    /// The room's chats after chat `after`, in time order, at most `limit`; whispers only
    /// when `viewer` is their sender or target.
    pub async fn chats_after(
        &self,
        room_id: i64,
        viewer: &str,
        after: i64,
        limit: Option<u32>,
    ) -> Result<Vec<Chat>, StoreError> {
        // The whisper filter is in SQL so other people's whispers never leave the database.
        let sql = format!(
            r#"SELECT {CHAT_COLUMNS} FROM chats
               WHERE room_id = ? AND id > ? AND (kind <> 'whisper' OR "user" = ? OR target = ?)
               ORDER BY created_at, id LIMIT ?"#
        );
        let rows = sqlx::query_as::<_, ChatRow>(&sql)
            .bind(room_id)
            .bind(after)
            .bind(viewer)
            .bind(viewer)
            // SQLite: a negative LIMIT is none.
            .bind(limit.map_or(-1, i64::from))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Chat::try_from).collect()
    }

    /// The room whose history shows the uploaded file `name`, if any.
    pub async fn gif_room(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let room =
            sqlx::query_scalar("SELECT room_id FROM chats WHERE kind = 'gif' AND body = ? LIMIT 1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(room)
    }

    /// Bans `user` from the room; banning twice is not an error.
    pub async fn ban(&self, room_id: i64, user: &str) -> Result<(), StoreError> {
        sqlx::query(r#"INSERT INTO bans (room_id, "user") VALUES (?, ?) ON CONFLICT DO NOTHING"#)
            .bind(room_id)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(|e| room_missing_or(e, room_id))?;
        Ok(())
    }

    pub async fn is_banned(&self, room_id: i64, user: &str) -> Result<bool, StoreError> {
        // `SELECT 1` rather than `EXISTS`, whose result type differs between backends.
        let found: Option<i32> =
            sqlx::query_scalar(r#"SELECT 1 FROM bans WHERE room_id = ? AND "user" = ?"#)
                .bind(room_id)
                .bind(user)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }
}

/// `sqlite::memory:` and `sqlite:...?mode=memory` have no file (nor directory) to create.
fn is_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// SQLite creates the file but not its directory; `data/` does not exist on a fresh checkout.
/// Runs once at start-up, so blocking the executor briefly here is harmless.
fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", dir.display()),
            ))
        }),
        _ => Ok(()),
    }
}
