//! The `/chat` namespace through a raw Socket.IO client: who may connect, presence and
//! capacity, chats with acks, whispers, kicks, ownership, and deleting emptied rooms.

mod common;

use std::time::Duration;

use common::{
    chat_socket, config, config_with, connect_socket, room_list_socket, Browser, SocketClient,
    TestServer,
};
use gif_chat::identity::look_for;
use gif_chat::store::{ChatKind, NewChat};
use serde_json::{json, Value};

/// Long enough for an event that should not come to have arrived if it were sent.
const QUIET: Duration = Duration::from_millis(300);

fn ids(participants: &Value) -> Vec<String> {
    participants
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Waits for the participant list to be `expected` (lists sent earlier are skipped).
async fn participants(socket: &mut SocketClient, expected: &[&str]) -> Value {
    loop {
        let list = socket.event("participants").await;
        if ids(&list) == expected {
            return list;
        }
    }
}

#[actix_rt::test]
async fn connecting_needs_a_session_a_room_and_a_grant() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("방", "", "pw").await;
    let auth = json!({ "room": id });

    let refusal = connect_socket(&srv, None, None, "/chat", auth.clone())
        .await
        .refusal();
    assert_eq!(refusal, "세션이 없습니다.");
    let refusal = connect_socket(
        &srv,
        Some("gif-chat.sid=forged"),
        None,
        "/chat",
        auth.clone(),
    )
    .await
    .refusal();
    assert_eq!(refusal, "세션이 없습니다.");

    let cookie = owner.cookie();
    for bad in [json!({}), json!({ "room": 999 }), json!({ "room": "x" })] {
        let refusal = connect_socket(&srv, cookie.as_deref(), None, "/chat", bad)
            .await
            .refusal();
        assert_eq!(refusal, "존재하지 않는 방입니다.");
    }

    // A session that never unlocked the secret room.
    let stranger = Browser::new(&srv);
    stranger.get("/").await;
    let refusal = chat_socket(&srv, &stranger, id).await.refusal();
    assert_eq!(refusal, "입장 권한이 없습니다.");

    // Another site's page cannot use the visitor's cookie.
    let refusal = connect_socket(
        &srv,
        cookie.as_deref(),
        Some("http://evil.example"),
        "/chat",
        auth.clone(),
    )
    .await
    .refusal();
    assert_eq!(refusal, "허용되지 않은 요청입니다.");
    // Nor can this site's address under another scheme (another origin).
    let https = srv.origin().replacen("http://", "https://", 1);
    let refusal = connect_socket(&srv, cookie.as_deref(), Some(&https), "/chat", auth)
        .await
        .refusal();
    assert_eq!(refusal, "허용되지 않은 요청입니다.");

    chat_socket(&srv, &owner, id).await.socket();
    srv.stop().await;
}

#[actix_rt::test]
async fn the_room_list_and_the_demo_namespace_refuse_other_sites_pages() {
    let srv = TestServer::start(config("development")).await;
    for nsp in ["/room", "/"] {
        let refusal = connect_socket(&srv, None, Some("http://evil.example"), nsp, json!({}))
            .await
            .refusal();
        assert_eq!(refusal, "허용되지 않은 요청입니다.", "{nsp}");
        // This site's pages, and clients that are no page at all (no Origin), get in.
        for origin in [Some(srv.origin()), None] {
            let socket = connect_socket(&srv, None, origin, nsp, json!({})).await;
            socket.socket().close().await;
        }
    }
    srv.stop().await;
}

#[actix_rt::test]
async fn chats_reach_everyone_once_with_the_authors_look() {
    let srv = TestServer::start(config("development")).await;
    let mut room_list = room_list_socket(&srv).await;
    let alice = Browser::new(&srv);
    let id = alice.create_room("수다방", "", "").await;
    let bob = Browser::new(&srv);
    let alice_id = alice.public_id(id).await;
    let bob_id = bob.public_id(id).await;

    let mut a = chat_socket(&srv, &alice, id).await.socket();
    let list = participants(&mut a, &[&alice_id]).await;
    let alice_look = look_for(&alice_id);
    assert_eq!(
        list,
        json!([{ "id": alice_id, "name": alice_look.name, "tone": alice_look.tone, "owner": true }])
    );
    let mut b = chat_socket(&srv, &bob, id).await.socket();
    participants(&mut a, &[&alice_id, &bob_id]).await;
    participants(&mut b, &[&alice_id, &bob_id]).await;
    assert_eq!(
        room_list.event("roomCount").await,
        json!({ "id": id, "count": 1 })
    );
    assert_eq!(
        room_list.event("roomCount").await,
        json!({ "id": id, "count": 2 })
    );

    // The others hear of the newcomer; the newcomer does not hear of itself.
    let bob_look = look_for(&bob_id);
    let notice = a.event("chat").await;
    assert_eq!(notice["kind"], json!("system"));
    assert_eq!(notice["user"], json!(bob_id));
    assert_eq!(
        notice["body"],
        json!(format!("{}님이 입장하셨습니다.", bob_look.name))
    );
    // (Alice's own notice may still reach Bob: it is stored, then sent, after she joined.)
    while let Some(chat) = b.try_event("chat", QUIET).await {
        assert_ne!(chat["user"], json!(bob_id), "{chat}");
    }

    let reply = b
        .emit_ack("chat", json!({ "text": "  안녕하세요 <b>!</b> " }))
        .await;
    assert_eq!(reply, json!({ "ok": true }));
    for socket in [&mut a, &mut b] {
        let chat = socket.event("chat").await;
        assert_eq!(chat["kind"], json!("text"));
        assert_eq!(chat["body"], json!("안녕하세요 <b>!</b>"));
        assert_eq!(chat["user"], json!(bob_id));
        assert_eq!(chat["name"], json!(bob_look.name));
        assert_eq!(chat["tone"], json!(bob_look.tone));
        assert_eq!(chat["room_id"], json!(id));
        // Exactly once.
        assert_eq!(socket.try_event("chat", QUIET).await, None);
    }

    // The history has it too, in order, escaped.
    let page = alice.get(&format!("/room/{id}")).await;
    let joined = page.body.find("님이 입장하셨습니다.").expect("notice");
    let said = page
        .body
        .find("안녕하세요 &lt;b&gt;!&lt;/b&gt;")
        .expect("chat");
    assert!(joined < said);
    // Pages name people by public id (16 hex), never by the 32-hex secret.
    assert_eq!(alice_id.len(), 16);
    srv.stop().await;
}

#[actix_rt::test]
async fn bad_chats_are_refused_in_the_ack() {
    let srv = TestServer::start(config("development")).await;
    let alice = Browser::new(&srv);
    let id = alice.create_room("방", "", "").await;
    let mut a = chat_socket(&srv, &alice, id).await.socket();
    for (data, error) in [
        (json!({ "text": "   " }), "메시지를 입력하세요."),
        (
            json!({ "text": "가".repeat(1001) }),
            "메시지는 1000자 이하여야 합니다.",
        ),
        (json!({ "text": 5 }), "잘못된 요청입니다."),
        (json!("hello"), "잘못된 요청입니다."),
    ] {
        let reply = a.emit_ack("chat", data).await;
        assert_eq!(reply, json!({ "ok": false, "error": error }));
    }
    assert_eq!(a.try_event("chat", QUIET).await, None);
    let reply = a
        .emit_ack("chat", json!({ "text": "가".repeat(1000) }))
        .await;
    assert_eq!(reply, json!({ "ok": true }));
    srv.stop().await;
}

#[actix_rt::test]
async fn a_session_that_sends_too_fast_is_slowed_down() {
    let srv = TestServer::start(config_with("development", &[("CHAT_RATE", "1")])).await;
    let alice = Browser::new(&srv);
    let id = alice.create_room("방", "", "").await;
    let mut a = chat_socket(&srv, &alice, id).await.socket();
    let mut a2 = chat_socket(&srv, &alice, id).await.socket();
    // One per second, bursts of two.
    for _ in 0..2 {
        assert_eq!(
            a.emit_ack("chat", json!({ "text": "hi" })).await,
            json!({ "ok": true })
        );
    }
    // Per session, not per socket: another tab shares the budget.
    assert_eq!(
        a2.emit_ack("chat", json!({ "text": "hi" })).await,
        json!({ "ok": false, "error": "메시지를 너무 빨리 보내고 있습니다." })
    );
    srv.stop().await;
}

#[actix_rt::test]
async fn whispers_reach_only_their_sender_and_target() {
    let srv = TestServer::start(config("development")).await;
    let alice = Browser::new(&srv);
    let id = alice.create_room("방", "", "").await;
    let bob = Browser::new(&srv);
    let carol = Browser::new(&srv);
    let bob_id = bob.public_id(id).await;
    carol.public_id(id).await;
    let alice_id = alice.public_id(id).await;
    let mut a = chat_socket(&srv, &alice, id).await.socket();
    let mut b = chat_socket(&srv, &bob, id).await.socket();
    let mut c = chat_socket(&srv, &carol, id).await.socket();
    assert!(common::eventually(|| srv.state.chat().count(id) == 3).await);

    let reply = a
        .emit_ack("whisper", json!({ "to": bob_id, "text": "비밀이야" }))
        .await;
    assert_eq!(reply, json!({ "ok": true }));
    for socket in [&mut a, &mut b] {
        let whisper = socket.event("whisper").await;
        assert_eq!(whisper["kind"], json!("whisper"));
        assert_eq!(whisper["body"], json!("비밀이야"));
        assert_eq!(whisper["user"], json!(alice_id));
        assert_eq!(whisper["target"], json!(bob_id));
        let bob = look_for(&bob_id);
        assert_eq!(whisper["target_name"], json!(bob.name));
        assert_eq!(whisper["target_tone"], json!(bob.tone));
    }
    assert_eq!(c.try_event("whisper", QUIET).await, None);
    assert!(bob
        .get(&format!("/room/{id}"))
        .await
        .body
        .contains("비밀이야"));
    assert!(!carol
        .get(&format!("/room/{id}"))
        .await
        .body
        .contains("비밀이야"));

    assert_eq!(
        a.emit_ack("whisper", json!({ "to": alice_id, "text": "나에게" }))
            .await["ok"],
        json!(false)
    );
    assert_eq!(
        a.emit_ack(
            "whisper",
            json!({ "to": "0000000000000000", "text": "없는 사람" })
        )
        .await,
        json!({ "ok": false, "error": "귓속말 상대가 방에 없습니다." })
    );
    srv.stop().await;
}

#[actix_rt::test]
async fn only_the_owner_kicks_and_the_kicked_stay_out() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("방", "", "").await;
    let guest = Browser::new(&srv);
    let owner_id = owner.public_id(id).await;
    let guest_id = guest.public_id(id).await;
    let mut o = chat_socket(&srv, &owner, id).await.socket();
    let mut g = chat_socket(&srv, &guest, id).await.socket();
    let mut g2 = chat_socket(&srv, &guest, id).await.socket();
    participants(&mut o, &[&owner_id, &guest_id]).await;

    assert_eq!(
        g.emit_ack("kick", json!({ "id": owner_id })).await,
        json!({ "ok": false, "error": "방장만 강퇴할 수 있습니다." })
    );
    assert_eq!(
        o.emit_ack("kick", json!({ "id": owner_id })).await,
        json!({ "ok": false, "error": "자기 자신은 강퇴할 수 없습니다." })
    );
    assert!(!srv
        .state
        .chat()
        .store()
        .is_banned(id, &owner_id)
        .await
        .expect("store"));

    assert_eq!(
        o.emit_ack("kick", json!({ "id": guest_id })).await,
        json!({ "ok": true })
    );
    // Every tab of the guest is told and sent away.
    for socket in [&mut g, &mut g2] {
        assert_eq!(
            socket.event("kicked").await,
            json!({ "message": "방장에게 강퇴당했습니다." })
        );
        socket.disconnected().await;
    }
    participants(&mut o, &[&owner_id]).await;
    // The room hears of a kick, not of an ordinary departure.
    let kicked = format!("{}님이 방장에게 강퇴당했습니다.", look_for(&guest_id).name);
    let left = format!("{}님이 퇴장하셨습니다.", look_for(&guest_id).name);
    loop {
        let chat = o.event("chat").await;
        assert_ne!(chat["body"], json!(left));
        if chat["body"] == json!(kicked) {
            assert_eq!(chat["kind"], json!("system"));
            assert_eq!(chat["user"], json!(guest_id));
            break;
        }
    }
    assert_eq!(o.try_event("chat", QUIET).await, None, "one notice only");
    assert!(srv
        .state
        .chat()
        .store()
        .is_banned(id, &guest_id)
        .await
        .expect("store"));

    let page = guest.get(&format!("/room/{id}")).await;
    assert_eq!(page.location.as_deref(), Some("/"));
    assert!(guest
        .get("/")
        .await
        .body
        .contains("강퇴당한 방에는 다시 들어갈 수 없습니다."));
    let refusal = chat_socket(&srv, &guest, id).await.refusal();
    assert_eq!(refusal, "강퇴당한 방에는 다시 들어갈 수 없습니다.");
    let upload = guest.upload(id, "gif", b"GIF89a", true).await;
    assert_eq!(upload.status, actix_web::http::StatusCode::FORBIDDEN);
    srv.stop().await;
}

#[actix_rt::test]
async fn ownership_passes_to_the_longest_present_when_the_owner_leaves() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("방", "", "").await;
    let first = Browser::new(&srv);
    let second = Browser::new(&srv);
    let owner_id = owner.public_id(id).await;
    let first_id = first.public_id(id).await;
    let second_id = second.public_id(id).await;
    let mut room_list = room_list_socket(&srv).await;
    let o = chat_socket(&srv, &owner, id).await.socket();
    let mut f = chat_socket(&srv, &first, id).await.socket();
    assert!(common::eventually(|| srv.state.chat().count(id) == 2).await);
    let mut s = chat_socket(&srv, &second, id).await.socket();
    participants(&mut s, &[&owner_id, &first_id, &second_id]).await;

    // Leaving on purpose hands the room over at once (the grace period here is 60 s).
    o.leave().await;
    let look = look_for(&first_id);
    let expected_owner = json!({ "id": first_id, "name": look.name, "tone": look.tone });
    for socket in [&mut f, &mut s] {
        let list = participants(socket, &[&first_id, &second_id]).await;
        assert_eq!(list[0]["owner"], json!(true));
        assert_eq!(list[1]["owner"], json!(false));
        assert_eq!(socket.event("owner").await, expected_owner);
    }
    // The room lists show the new owner.
    assert_eq!(
        room_list.event("roomOwner").await,
        json!({ "id": id, "owner": { "name": look.name, "tone": look.tone } })
    );
    // The notices: the owner left, then the new owner (earlier join notices may still be
    // arriving in between).
    let left = format!("{}님이 퇴장하셨습니다.", look_for(&owner_id).name);
    let promoted = format!("{}님이 방장이 되었습니다.", look.name);
    let (mut saw_left, mut saw_promoted) = (false, false);
    while !saw_promoted {
        let chat = s.event("chat").await;
        saw_left |= chat["body"] == json!(left);
        saw_promoted = saw_left && chat["body"] == json!(promoted);
    }
    assert!(
        common::eventually_async(|| async {
            let room = srv.state.chat().store().room(id).await.ok().flatten();
            room.is_some_and(|room| room.owner == first_id)
        })
        .await
    );

    // The new owner may kick now.
    assert_eq!(
        f.emit_ack("kick", json!({ "id": second_id })).await,
        json!({ "ok": true })
    );
    srv.stop().await;
}

/// The grace period of these tests: long enough to reconnect within, short to wait out.
const GRACE_MS: u64 = 600;

/// A server whose emptied rooms are deleted `grace_ms` after the last person left.
async fn server_with_grace(grace_ms: u64) -> TestServer {
    let grace = grace_ms.to_string();
    TestServer::start(config_with(
        "development",
        &[("ROOM_DELETE_GRACE_MS", &grace)],
    ))
    .await
}

/// An owner, a guest and the room the owner just made (the guest is let in by opening its
/// page, as `public_id` does).
async fn owner_and_guest(srv: &TestServer) -> (Browser, Browser, i64) {
    let owner = Browser::new(srv);
    let id = owner.create_room("방", "", "").await;
    (owner, Browser::new(srv), id)
}

#[actix_rt::test]
async fn an_owner_who_reloads_keeps_the_room_and_nobody_hears_of_it() {
    let srv = server_with_grace(GRACE_MS).await;
    let (owner, guest, id) = owner_and_guest(&srv).await;
    let (owner_id, guest_id) = (owner.public_id(id).await, guest.public_id(id).await);
    let mut room_list = room_list_socket(&srv).await;
    let o = chat_socket(&srv, &owner, id).await.socket();
    let mut g = chat_socket(&srv, &guest, id).await.socket();
    participants(&mut g, &[&owner_id, &guest_id]).await;
    // Past the join notices.
    assert_eq!(
        g.emit_ack("chat", json!({ "text": "before" })).await,
        json!({ "ok": true })
    );
    while g.event("chat").await["body"] != json!("before") {}
    while room_list.event("roomCount").await != json!({ "id": id, "count": 2 }) {}

    // The page goes (no DISCONNECT: a reload) and comes back within the grace period.
    o.close().await;
    actix_rt::time::sleep(Duration::from_millis(GRACE_MS / 3)).await;
    assert_eq!(
        srv.state.chat().count(id),
        2,
        "the owner keeps their seat meanwhile"
    );
    let mut o = chat_socket(&srv, &owner, id).await.socket();
    let list = participants(&mut o, &[&owner_id, &guest_id]).await;
    assert_eq!(list[0]["owner"], json!(true));

    // Well past the grace period: no departure, no arrival, no hand-over, for anyone.
    actix_rt::time::sleep(Duration::from_millis(GRACE_MS + 300)).await;
    for name in ["chat", "participants", "owner"] {
        assert_eq!(g.try_event(name, QUIET).await, None, "{name}");
    }
    assert_eq!(room_list.try_event("roomCount", QUIET).await, None);
    assert_eq!(room_list.try_event("roomOwner", QUIET).await, None);
    // The owner still owns it, by every account.
    assert!(srv.state.chat().participants(id)[0].owner);
    assert_eq!(
        o.emit_ack("kick", json!({ "id": guest_id })).await,
        json!({ "ok": true })
    );
    let history = owner.get(&format!("/room/{id}")).await.body;
    assert!(!history.contains("님이 퇴장하셨습니다."), "{history}");
    srv.stop().await;
}

#[actix_rt::test]
async fn an_owner_gone_past_the_grace_period_departs_and_hands_the_room_over() {
    let srv = server_with_grace(GRACE_MS).await;
    let (owner, guest, id) = owner_and_guest(&srv).await;
    let (owner_id, guest_id) = (owner.public_id(id).await, guest.public_id(id).await);
    let o = chat_socket(&srv, &owner, id).await.socket();
    let mut g = chat_socket(&srv, &guest, id).await.socket();
    participants(&mut g, &[&owner_id, &guest_id]).await;

    o.close().await;
    let gone = tokio::time::Instant::now();
    let list = participants(&mut g, &[&guest_id]).await;
    let waited = gone.elapsed();
    assert!(
        waited >= Duration::from_millis(GRACE_MS * 8 / 10),
        "departed after {waited:?}, the grace period is {GRACE_MS} ms"
    );
    assert_eq!(list[0]["owner"], json!(true));
    assert_eq!(g.event("owner").await["id"], json!(guest_id));
    let left = format!("{}님이 퇴장하셨습니다.", look_for(&owner_id).name);
    while g.event("chat").await["body"] != json!(left) {}

    // Coming back later is an arrival like any other, and does not take the room back.
    let mut o = chat_socket(&srv, &owner, id).await.socket();
    let list = participants(&mut o, &[&guest_id, &owner_id]).await;
    assert_eq!(list[1]["owner"], json!(false));
    let arrived = format!("{}님이 입장하셨습니다.", look_for(&owner_id).name);
    while g.event("chat").await["body"] != json!(arrived) {}
    assert_eq!(
        o.emit_ack("kick", json!({ "id": guest_id })).await,
        json!({ "ok": false, "error": "방장만 강퇴할 수 있습니다." })
    );
    srv.stop().await;
}

#[actix_rt::test]
async fn capacity_counts_people_not_tabs() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("둘만", "2", "").await;
    let friend = Browser::new(&srv);
    let late = Browser::new(&srv);
    friend.public_id(id).await;
    // Let in while there was room; the socket comes later.
    late.public_id(id).await;

    let _o = chat_socket(&srv, &owner, id).await.socket();
    let _f = chat_socket(&srv, &friend, id).await.socket();
    let refusal = chat_socket(&srv, &late, id).await.refusal();
    assert_eq!(refusal, "허용 인원이 초과하였습니다.");
    // A second tab of someone inside always joins.
    let _o2 = chat_socket(&srv, &owner, id).await.socket();
    assert_eq!(srv.state.chat().count(id), 2);
    srv.stop().await;
}

#[actix_rt::test]
async fn an_emptied_room_is_deleted_after_the_grace_period_unless_someone_comes_back() {
    let srv = server_with_grace(300).await;
    let mut room_list = room_list_socket(&srv).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("잠깐", "", "").await;
    room_list.forget("newRoom");

    // A refresh: the page goes and comes straight back; the owner never stops being there.
    let socket = chat_socket(&srv, &owner, id).await.socket();
    socket.close().await;
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(srv.state.chat().count(id), 1);
    let socket = chat_socket(&srv, &owner, id).await.socket();
    assert_eq!(
        room_list
            .try_event("removeRoom", Duration::from_millis(600))
            .await,
        None
    );
    assert!(srv
        .state
        .chat()
        .store()
        .room(id)
        .await
        .expect("store")
        .is_some());

    socket.close().await;
    assert_eq!(room_list.event("removeRoom").await, json!(id));
    assert!(srv
        .state
        .chat()
        .store()
        .room(id)
        .await
        .expect("store")
        .is_none());
    assert_eq!(
        chat_socket(&srv, &owner, id).await.refusal(),
        "존재하지 않는 방입니다."
    );
    srv.stop().await;
}

#[actix_rt::test]
async fn a_room_nobody_enters_is_deleted_too() {
    let srv = server_with_grace(100).await;
    let mut room_list = room_list_socket(&srv).await;
    let id = Browser::new(&srv).create_room("빈 방", "", "").await;
    assert_eq!(room_list.event("removeRoom").await, json!(id));
    srv.stop().await;
}

#[actix_rt::test]
async fn people_inside_a_deleted_room_are_sent_away() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("방", "", "").await;
    let guest = Browser::new(&srv);
    guest.public_id(id).await;
    let _o = chat_socket(&srv, &owner, id).await.socket();
    let mut g = chat_socket(&srv, &guest, id).await.socket();
    assert!(common::eventually(|| srv.state.chat().count(id) == 2).await);

    assert_eq!(
        owner.delete(&format!("/room/{id}")).await.json(),
        json!({ "ok": true })
    );
    assert_eq!(
        g.event("roomRemoved").await,
        json!({ "message": "방이 삭제되었습니다." })
    );
    g.disconnected().await;
    assert_eq!(srv.state.chat().count(id), 0);
    srv.stop().await;
}

#[actix_rt::test]
async fn markup_in_titles_and_chats_is_shown_as_text() {
    const MARKUP: &str = r#"<img src=x onerror="alert(1)">"#;
    const ESCAPED: &str = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;";
    let srv = TestServer::start(config("development")).await;
    let alice = Browser::new(&srv);
    let id = alice.create_room(MARKUP, "", "").await;
    let mut a = chat_socket(&srv, &alice, id).await.socket();
    assert_eq!(
        a.emit_ack("chat", json!({ "text": MARKUP })).await,
        json!({ "ok": true })
    );

    for page in [
        alice.get("/").await,
        alice.get(&format!("/room/{id}")).await,
    ] {
        assert!(page.body.contains(ESCAPED), "{}", page.body);
        assert!(!page.body.contains("<img src=x"), "{}", page.body);
    }
    // Live chats go out as JSON data; the page's script puts them in with textContent.
    let chat = a.event("chat").await;
    assert_eq!(chat["body"], json!(MARKUP));
    a.close().await;
    srv.stop().await;
}

/// Stores `n` text chats of `user` in `room`, as if sent; returns their ids.
async fn stored_chats(srv: &TestServer, room: i64, user: &str, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let chat = srv
            .state
            .chat()
            .store()
            .add_chat(NewChat {
                room_id: room,
                user: user.to_owned(),
                kind: ChatKind::Text,
                body: format!("missed {i}"),
                target: None,
            })
            .await
            .expect("stored");
        ids.push(chat.id);
    }
    ids
}

#[actix_rt::test]
async fn a_page_that_comes_back_gets_what_it_missed_or_is_told_to_reload() {
    let srv = TestServer::start(config("development")).await;
    let alice = Browser::new(&srv);
    let id = alice.create_room("돌아온 방", "", "").await;
    let alice_id = alice.public_id(id).await;
    let ids = stored_chats(&srv, id, &alice_id, 201).await;
    let cookie = alice.cookie();
    let come_back = |after: i64| {
        connect_socket(
            &srv,
            cookie.as_deref(),
            Some(srv.origin()),
            "/chat",
            json!({ "room": id, "after": after }),
        )
    };

    // 200 missed: each once, in order, and nothing else.
    let mut page = come_back(ids[0]).await.socket();
    for (i, expected) in ids[1..].iter().enumerate() {
        let chat = page.event("chat").await;
        assert_eq!(chat["id"], json!(expected));
        assert_eq!(chat["body"], json!(format!("missed {}", i + 1)));
    }
    assert_eq!(page.try_event("chat", QUIET).await, None);
    assert_eq!(page.try_event("reload", QUIET).await, None);
    page.close().await;

    // 201 missed: more than a reconnection is sent, so the page reloads its history.
    let mut page = come_back(0).await.socket();
    assert_eq!(page.event("reload").await, Value::Null);
    assert_eq!(page.try_event("chat", QUIET).await, None);
    page.close().await;
    srv.stop().await;
}
