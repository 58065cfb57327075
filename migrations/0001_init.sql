-- Chat rooms, their history and their bans.
-- Times are unix milliseconds written by the app (so every backend stores the same thing).
-- "user" is quoted because it is a reserved word in PostgreSQL, which may be added later.

CREATE TABLE rooms (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    title         TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    max           INTEGER NOT NULL DEFAULT 10 CHECK (max BETWEEN 2 AND 100),
    owner         TEXT    NOT NULL,
    -- Argon2 PHC string; NULL for a public room.
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE chats (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id    INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    "user"     TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'gif', 'system', 'whisper')),
    -- The message text, or the uploaded gif's file name.
    body       TEXT    NOT NULL,
    -- Recipient of a whisper.
    target     TEXT,
    created_at INTEGER NOT NULL
);

-- A room's history is always read in (created_at, id) order; this also serves the cascade.
CREATE INDEX chats_room_created ON chats (room_id, created_at, id);

CREATE TABLE bans (
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    "user"  TEXT    NOT NULL,
    PRIMARY KEY (room_id, "user")
);
