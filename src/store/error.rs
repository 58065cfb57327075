//! The store's errors, below everything else in the store so its parts (password hashing)
//! can return them.

use sqlx::migrate::MigrateError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] MigrateError),
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Every Argon2 permit stayed taken for the whole queue timeout.
    #[error("too many passwords are being checked; try again shortly")]
    Busy,
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
    /// The room was deleted (or never existed), e.g. a chat or ban racing the room's deletion.
    #[error("room {0} does not exist")]
    RoomNotFound(i64),
    /// A [`NewChat`] whose kind and target disagree.
    #[error("invalid chat: {0}")]
    InvalidChat(&'static str),
    /// A stored value this code cannot read, e.g. an unknown chat kind.
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
}
