//! Store tests on real SQLite files. They live inside the module (not tests/) because some
//! assertions read the database directly, and all SQL stays in `store`.

use std::{
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use super::*;

/// A fresh directory under the system temp dir, removed on drop (even when a test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "gif-chat-store-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            crate::identity::new_user_id()
        );
        TempDir(std::env::temp_dir().join(name))
    }

    /// A URL to a database inside a not-yet-existing subdirectory, like `data/gif-chat.db`.
    fn db_url(&self) -> String {
        format!("sqlite://{}", self.db_path().display())
    }

    fn db_path(&self) -> PathBuf {
        self.0.join("data").join("gif-chat.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open_temp() -> (TempDir, Store) {
    let dir = TempDir::new();
    let store = Store::open(&dir.db_url(), HashLimits::default())
        .await
        .expect("open store");
    (dir, store)
}

fn public_room(title: &str, owner: &str) -> NewRoom {
    NewRoom {
        title: title.to_owned(),
        max: 10,
        owner: owner.to_owned(),
        password: None,
    }
}

fn text(room_id: i64, user: &str, body: &str) -> NewChat {
    NewChat {
        room_id,
        user: user.to_owned(),
        kind: ChatKind::Text,
        body: body.to_owned(),
        target: None,
    }
}

fn gif(room_id: i64, user: &str, file: &str) -> NewChat {
    NewChat {
        kind: ChatKind::Gif,
        ..text(room_id, user, file)
    }
}

fn whisper(room_id: i64, user: &str, target: &str, body: &str) -> NewChat {
    NewChat {
        kind: ChatKind::Whisper,
        target: Some(target.to_owned()),
        ..text(room_id, user, body)
    }
}

async fn count(store: &Store, sql: &str, room_id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(room_id)
        .fetch_one(&store.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn open_creates_directory_file_and_wal() {
    let dir = TempDir::new();
    assert!(!dir.db_path().exists());
    let store = Store::open(&dir.db_url(), HashLimits::default())
        .await
        .expect("open");
    assert!(dir.db_path().is_file(), "database file not created");

    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&store.pool)
        .await
        .expect("foreign_keys");
    assert_eq!(fk, 1);
    store.close().await;
}

#[tokio::test]
async fn migrations_are_idempotent_and_data_survives_reopen() {
    let dir = TempDir::new();
    let store = Store::open(&dir.db_url(), HashLimits::default())
        .await
        .expect("first open");
    let room = store
        .create_room(public_room("persisted", "u1"))
        .await
        .expect("create");
    store.close().await;

    let store = Store::open(&dir.db_url(), HashLimits::default())
        .await
        .expect("second open");
    assert_eq!(store.room(room.id).await.expect("get"), Some(room));
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&store.pool)
        .await
        .expect("migrations table");
    // Each migration once, however often the store is opened.
    assert_eq!(applied, MIGRATOR.iter().count() as i64);
    store.close().await;
}

#[tokio::test]
async fn a_gif_is_found_by_its_file_name_through_its_index() {
    let (_dir, store) = open_temp().await;
    let room = store
        .create_room(public_room("짤방", "u1"))
        .await
        .expect("create");
    let name = "0123456789abcdef0123456789abcdef.gif";
    store.add_chat(gif(room.id, "u1", name)).await.expect("gif");
    // A text that reads like a file name shows no file.
    store
        .add_chat(text(room.id, "u1", "ffffffffffffffffffffffffffffffff.gif"))
        .await
        .expect("text");
    assert_eq!(store.gif_room(name).await.expect("lookup"), Some(room.id));
    for other in ["ffffffffffffffffffffffffffffffff.gif", "none.gif"] {
        assert_eq!(
            store.gif_room(other).await.expect("lookup"),
            None,
            "{other}"
        );
    }
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT room_id FROM chats WHERE kind = 'gif' AND body = ? LIMIT 1",
    )
    .bind(name)
    .fetch_all(&store.pool)
    .await
    .expect("plan");
    assert!(
        plan.iter()
            .any(|(.., detail)| detail.contains("chats_gif_body")),
        "{plan:?}"
    );
    store.close().await;
}

#[tokio::test]
async fn in_memory_database_keeps_its_data() {
    let store = Store::open("sqlite::memory:", HashLimits::default())
        .await
        .expect("open memory");
    let room = store
        .create_room(public_room("memory", "u1"))
        .await
        .expect("create");
    assert_eq!(store.rooms().await.expect("list"), vec![room]);
}

#[tokio::test]
async fn create_list_and_get_rooms() {
    let (_dir, store) = open_temp().await;
    assert!(store.rooms().await.expect("empty list").is_empty());

    let first = store
        .create_room(public_room("첫 번째 방", "owner-1"))
        .await
        .expect("create first");
    let second = store
        .create_room(NewRoom {
            max: 2,
            ..public_room("second", "owner-2")
        })
        .await
        .expect("create second");

    assert_eq!(first.title, "첫 번째 방");
    assert_eq!(first.max, 10);
    assert_eq!(first.owner, "owner-1");
    assert!(!first.is_secret());
    assert!(
        first.created_at > 1_600_000_000_000,
        "not unix ms: {}",
        first.created_at
    );
    assert!(second.created_at >= first.created_at);

    // Newest first.
    assert_eq!(
        store.rooms().await.expect("list"),
        vec![second.clone(), first.clone()]
    );
    assert_eq!(store.room(first.id).await.expect("get"), Some(first));
    assert_eq!(
        store.room(second.id + 100).await.expect("get missing"),
        None
    );
    store.close().await;
}

#[tokio::test]
async fn database_refuses_out_of_range_rooms() {
    let (_dir, store) = open_temp().await;
    for bad in [
        public_room("", "u"),
        public_room(&"가".repeat(101), "u"),
        NewRoom {
            max: 1,
            ..public_room("t", "u")
        },
        NewRoom {
            max: 101,
            ..public_room("t", "u")
        },
    ] {
        let result = store.create_room(bad).await;
        assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    }
    // SQLite's length() counts characters, like validation does.
    store
        .create_room(public_room(&"가".repeat(100), "u"))
        .await
        .expect("100 Korean chars fit");
    store.close().await;
}

#[tokio::test]
async fn passwords_are_hashed_and_verified() {
    let (_dir, store) = open_temp().await;
    let room = store
        .create_room(NewRoom {
            password: Some("열려라 참깨".to_owned()),
            ..public_room("secret", "u1")
        })
        .await
        .expect("create");
    assert!(room.is_secret());

    let stored: Option<String> = sqlx::query_scalar("SELECT password_hash FROM rooms WHERE id = ?")
        .bind(room.id)
        .fetch_one(&store.pool)
        .await
        .expect("read hash");
    let stored = stored.expect("a hash is stored");
    assert!(stored.starts_with("$argon2"), "{stored}");
    assert!(!stored.contains("열려라 참깨"));
    assert_eq!(room.password_hash.as_deref(), Some(stored.as_str()));

    // The hash never reaches JSON.
    let json = serde_json::to_value(&room).expect("serialize");
    assert!(json.get("password_hash").is_none(), "{json}");

    assert!(store
        .verify_password(&room, "열려라 참깨")
        .await
        .expect("checked"));
    assert!(!store
        .verify_password(&room, "열려라 참깨 ")
        .await
        .expect("checked"));
    assert!(!store.verify_password(&room, "").await.expect("checked"));

    // A random salt: the same password hashes differently in another room.
    let other = store
        .create_room(NewRoom {
            password: Some("열려라 참깨".to_owned()),
            ..public_room("secret 2", "u1")
        })
        .await
        .expect("create other");
    assert_ne!(other.password_hash, room.password_hash);

    // A corrupt hash is a refusal, not an error or a pass.
    let broken = Room {
        password_hash: Some("not a phc string".to_owned()),
        ..room
    };
    assert!(!store
        .verify_password(&broken, "열려라 참깨")
        .await
        .expect("checked"));
    store.close().await;
}

#[tokio::test]
async fn public_room_never_verifies() {
    let (_dir, store) = open_temp().await;
    let room = store
        .create_room(public_room("open", "u1"))
        .await
        .expect("create");
    assert!(!store.verify_password(&room, "").await.expect("checked"));
    assert!(!store
        .verify_password(&room, "anything")
        .await
        .expect("checked"));
    store.close().await;
}

#[tokio::test]
async fn set_owner_changes_owner() {
    let (_dir, store) = open_temp().await;
    let room = store
        .create_room(public_room("t", "old"))
        .await
        .expect("create");
    store.set_owner(room.id, "new").await.expect("set owner");
    let room = store.room(room.id).await.expect("get").expect("exists");
    assert_eq!(room.owner, "new");
    assert!(matches!(
        store.set_owner(room.id + 1, "x").await,
        Err(StoreError::RoomNotFound(id)) if id == room.id + 1
    ));
    store.close().await;
}

#[tokio::test]
async fn chats_come_back_in_time_order() {
    let (_dir, store) = open_temp().await;
    let room = store
        .create_room(public_room("t", "a"))
        .await
        .expect("create");
    let other = store
        .create_room(public_room("other", "a"))
        .await
        .expect("create other");

    let mut added = Vec::new();
    for (i, new) in [
        NewChat {
            kind: ChatKind::System,
            ..text(room.id, "system", "a님이 입장하셨습니다.")
        },
        text(room.id, "a", "안녕"),
        gif(room.id, "b", "cat1700000000000.gif"),
        text(room.id, "a", "ㅋㅋ"),
    ]
    .into_iter()
    .enumerate()
    {
        let chat = store.add_chat(new).await.expect("add chat");
        assert_eq!(chat.room_id, room.id, "chat {i}");
        added.push(chat);
    }
    store
        .add_chat(text(other.id, "a", "elsewhere"))
        .await
        .expect("add to other");

    let history = store.chats(room.id, "a").await.expect("history");
    assert_eq!(history, added);
    assert_eq!(history[2].kind, ChatKind::Gif);
    assert_eq!(history[2].body, "cat1700000000000.gif");
    assert!(history
        .windows(2)
        .all(|w| w[0].created_at <= w[1].created_at));

    // Ordering is by created_at first: a row written with an earlier time comes first
    // whatever its id.
    sqlx::query("UPDATE chats SET created_at = 0 WHERE id = ?")
        .bind(added[3].id)
        .execute(&store.pool)
        .await
        .expect("backdate");
    let history = store.chats(room.id, "a").await.expect("history");
    assert_eq!(history[0].id, added[3].id);

    let json = serde_json::to_value(&history[1]).expect("serialize");
    assert_eq!(json["kind"], "system");
    store.close().await;
}

#[tokio::test]
async fn whispers_are_seen_by_sender_and_target_only() {
    let (_dir, store) = open_temp().await;
    let room = store
        .create_room(public_room("t", "alice"))
        .await
        .expect("create");
    store
        .add_chat(text(room.id, "alice", "hello all"))
        .await
        .expect("public");
    let secret = store
        .add_chat(whisper(room.id, "alice", "bob", "psst"))
        .await
        .expect("whisper");
    assert_eq!(secret.kind, ChatKind::Whisper);
    assert_eq!(secret.target.as_deref(), Some("bob"));

    let bodies = |chats: Vec<Chat>| chats.into_iter().map(|c| c.body).collect::<Vec<_>>();
    assert_eq!(
        bodies(store.chats(room.id, "alice").await.expect("sender")),
        ["hello all", "psst"]
    );
    assert_eq!(
        bodies(store.chats(room.id, "bob").await.expect("target")),
        ["hello all", "psst"]
    );
    assert_eq!(
        bodies(store.chats(room.id, "carol").await.expect("third party")),
        ["hello all"]
    );
    store.close().await;
}

#[tokio::test]
async fn chat_kind_and_target_must_agree() {
    let (_dir, store) = open_temp().await;
    let room = store
        .create_room(public_room("t", "a"))
        .await
        .expect("create");
    let no_target = NewChat {
        target: None,
        ..whisper(room.id, "a", "b", "x")
    };
    assert!(matches!(
        store.add_chat(no_target).await,
        Err(StoreError::InvalidChat(_))
    ));
    let stray_target = NewChat {
        target: Some("b".to_owned()),
        ..text(room.id, "a", "x")
    };
    assert!(matches!(
        store.add_chat(stray_target).await,
        Err(StoreError::InvalidChat(_))
    ));
    assert!(store.chats(room.id, "a").await.expect("history").is_empty());
    store.close().await;
}

#[tokio::test]
async fn chat_or_ban_in_missing_room_is_room_not_found() {
    let (_dir, store) = open_temp().await;
    assert!(matches!(
        store.add_chat(text(42, "a", "hi")).await,
        Err(StoreError::RoomNotFound(42))
    ));
    assert!(matches!(
        store.ban(42, "a").await,
        Err(StoreError::RoomNotFound(42))
    ));
    store.close().await;
}

#[tokio::test]
async fn delete_room_removes_chats_and_bans_and_returns_gifs() {
    let (_dir, store) = open_temp().await;
    let room = store
        .create_room(public_room("doomed", "a"))
        .await
        .expect("create");
    let kept = store
        .create_room(public_room("kept", "a"))
        .await
        .expect("create kept");

    store
        .add_chat(gif(room.id, "a", "b.gif"))
        .await
        .expect("gif b");
    store
        .add_chat(text(room.id, "a", "not a file.gif"))
        .await
        .expect("text");
    store
        .add_chat(gif(room.id, "b", "a.gif"))
        .await
        .expect("gif a");
    store
        .add_chat(gif(room.id, "b", "a.gif"))
        .await
        .expect("gif a again");
    store
        .add_chat(whisper(room.id, "a", "b", "secret"))
        .await
        .expect("whisper");
    store.ban(room.id, "troll").await.expect("ban");
    store
        .add_chat(gif(kept.id, "a", "kept.gif"))
        .await
        .expect("gif kept");
    store.ban(kept.id, "troll").await.expect("ban kept");

    let gifs = store.delete_room(room.id).await.expect("delete");
    assert_eq!(gifs, ["a.gif", "b.gif"]);

    assert_eq!(store.room(room.id).await.expect("get"), None);
    let chats = count(
        &store,
        "SELECT COUNT(*) FROM chats WHERE room_id = ?",
        room.id,
    )
    .await;
    let bans = count(
        &store,
        "SELECT COUNT(*) FROM bans WHERE room_id = ?",
        room.id,
    )
    .await;
    assert_eq!((chats, bans), (0, 0));

    // The other room is untouched.
    assert_eq!(
        store.chats(kept.id, "a").await.expect("kept chats").len(),
        1
    );
    assert!(store.is_banned(kept.id, "troll").await.expect("kept ban"));

    // Deleting again is harmless.
    assert!(store.delete_room(room.id).await.expect("again").is_empty());
    store.close().await;
}

#[tokio::test]
async fn ban_and_is_banned() {
    let (_dir, store) = open_temp().await;
    let room = store
        .create_room(public_room("t", "owner"))
        .await
        .expect("create");
    let other = store
        .create_room(public_room("o", "owner"))
        .await
        .expect("create other");

    assert!(!store.is_banned(room.id, "troll").await.expect("before"));
    store.ban(room.id, "troll").await.expect("ban");
    store
        .ban(room.id, "troll")
        .await
        .expect("ban twice is fine");
    assert!(store.is_banned(room.id, "troll").await.expect("after"));
    assert!(!store
        .is_banned(room.id, "friend")
        .await
        .expect("someone else"));
    assert!(!store
        .is_banned(other.id, "troll")
        .await
        .expect("other room"));
    store.close().await;
}
