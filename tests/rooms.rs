//! Room pages over HTTP: the list, the create form and its validation, entering (unknown,
//! secret, full, banned), deleting, the flash message, cross-site protection, and the
//! SQLite file.

mod common;

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use common::{attribute, config, Browser, SocketClient, TempDir, TestServer};
use serde_json::json;

#[actix_rt::test]
async fn the_list_shows_each_room_with_its_kind_count_and_owner() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let public = owner.create_room("수다방", "5", "").await;
    let secret = owner.create_room("<b>비밀</b>", "", "pw").await;

    let visitor = Browser::new(&srv);
    let page = visitor.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<title>GIF 채팅방</title>"));
    assert!(
        page.body.contains(r#"href="/room""#),
        "a link to create a room"
    );
    assert!(page.body.contains(r#"href="/ws-demo""#));
    assert!(page.body.contains(r#"href="/socketio-demo""#));
    // Newest first, both entered through their own page.
    let secret_at = page.body.find(&format!(r#"data-room-id="{secret}""#));
    let public_at = page.body.find(&format!(r#"data-room-id="{public}""#));
    assert!(secret_at.is_some() && public_at.is_some() && secret_at < public_at);
    assert!(page.body.contains(&format!(r#"href="/room/{public}""#)));
    assert!(page.body.contains("공개방") && page.body.contains("비밀방"));
    assert!(page.body.contains(
        r#"<span class="room-count-now">0</span> / <span class="room-count-max">5</span>명"#
    ));
    assert!(page.body.contains(
        r#"<span class="room-count-now">0</span> / <span class="room-count-max">10</span>명"#
    ));
    // Escaped, never markup.
    assert!(page.body.contains("&lt;b&gt;비밀&lt;/b&gt;"));
    assert!(!page.body.contains("<b>비밀</b>"));
    // The owner appears as their name, never as an id.
    let owner_id = owner.public_id(public).await;
    let look = gif_chat::identity::look_for(&owner_id);
    assert!(page.body.contains(&format!(
        r#"<span class="room-owner">방장 <span class="who tone-{}"><span class="swatch" aria-hidden="true"></span><span class="who-name">{}</span></span></span>"#,
        look.tone, look.name
    )));
    assert!(!page.body.contains(&owner_id));
    srv.stop().await;
}

#[actix_rt::test]
async fn the_create_form_has_its_fields() {
    let srv = TestServer::start(config("development")).await;
    let page = Browser::new(&srv).get("/room").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<title>GIF 채팅방 생성</title>"));
    assert!(page.body.contains(r#"action="/room""#));
    for field in ["title", "max", "password"] {
        assert!(page.body.contains(&format!(r#"name="{field}""#)), "{field}");
    }
    assert!(page.body.contains("최소 인원은 2명입니다"));
    srv.stop().await;
}

#[actix_rt::test]
async fn an_invalid_form_comes_back_with_its_message_and_values_but_not_the_password() {
    let srv = TestServer::start(config("development")).await;
    let browser = Browser::new(&srv);
    let page = browser
        .post_form(
            "/room",
            &[("title", "내 방"), ("max", "1"), ("password", "pw-typed")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page
        .body
        .contains("허용 인원은 2명 이상 100명 이하의 숫자여야 합니다."));
    assert!(page.body.contains(r#"value="내 방""#));
    assert!(page.body.contains(r#"value="1""#));
    assert!(!page.body.contains("pw-typed"));

    let page = browser
        .post_form("/room", &[("title", "  "), ("max", "")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("방 제목을 입력하세요."));
    // Nothing was created.
    assert!(srv
        .state
        .chat()
        .store()
        .rooms()
        .await
        .expect("rooms")
        .is_empty());
    srv.stop().await;
}

#[actix_rt::test]
async fn creating_a_room_makes_the_creator_its_owner_and_lets_them_in() {
    let srv = TestServer::start(config("development")).await;
    let mut lobby = SocketClient::lobby(&srv).await;
    let browser = Browser::new(&srv);
    let id = browser.create_room("게임방", "3", "secret-pw").await;

    // The room lists hear of it, without the password.
    let new_room = lobby.event("newRoom").await;
    let me = browser.public_id(id).await;
    assert_eq!(
        new_room,
        json!({
            "id": id,
            "title": "게임방",
            "max": 3,
            "owner": gif_chat::identity::look_for(&me),
            "secret": true,
            "count": 0,
        })
    );

    // Granted: the creator goes straight in, even though the room is secret.
    let page = browser.get(&format!("/room/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<title>게임방 · GIF 채팅방</title>"));
    assert!(page.body.contains("방 나가기"));
    assert_eq!(
        attribute(&page.body, "data-owner").as_deref(),
        Some(me.as_str())
    );
    let room = srv
        .state
        .chat()
        .store()
        .room(id)
        .await
        .expect("store")
        .expect("room");
    assert_eq!(room.owner, me);
    assert!(room.is_secret());
    srv.stop().await;
}

#[actix_rt::test]
async fn an_unknown_room_sends_back_to_the_list_with_a_message_shown_once() {
    let srv = TestServer::start(config("development")).await;
    let browser = Browser::new(&srv);
    for path in ["/room/999", "/room/abc", "/room/-1"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location.as_deref(), Some("/"), "{path}");
        let list = browser.get("/").await;
        assert!(list.body.contains("존재하지 않는 방입니다."), "{path}");
        let again = browser.get("/").await;
        assert!(!again.body.contains("존재하지 않는 방입니다."), "{path}");
    }
    srv.stop().await;
}

#[actix_rt::test]
async fn a_secret_room_asks_for_its_password() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("비밀 모임", "", "열려라").await;

    let guest = Browser::new(&srv);
    let page = guest.get(&format!("/room/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains(&format!(r#"action="/room/{id}/password""#)));
    assert!(
        !page.body.contains("id=\"chat-list\""),
        "no chat before the password"
    );

    // A wrong one: back to the form, which says why once, and not to the room list.
    let page = guest
        .post_form(&format!("/room/{id}/password"), &[("password", "틀림")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, Some(format!("/room/{id}")));
    let form = guest.get(&format!("/room/{id}")).await;
    assert!(form.body.contains(
        r#"<p class="flash" role="alert" id="password-error">비밀번호가 틀렸습니다.</p>"#
    ));
    assert!(form.body.contains(r#"aria-invalid="true""#));
    assert!(
        !form.body.contains("틀림"),
        "the password typed is not sent back"
    );
    let again = guest.get(&format!("/room/{id}")).await;
    assert!(again.body.contains("/password"), "still locked");
    assert!(!again.body.contains("비밀번호가 틀렸습니다."));
    assert!(!guest.get("/").await.body.contains("비밀번호가 틀렸습니다."));

    let page = guest
        .post_form(&format!("/room/{id}/password"), &[("password", "열려라")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, Some(format!("/room/{id}")));
    let page = guest.get(&format!("/room/{id}")).await;
    assert!(page.body.contains("id=\"chat-list\""));
    srv.stop().await;
}

/// Posts a password for the room: where it redirects, and the page there.
async fn guess(browser: &Browser, room: i64, password: &str) -> (Option<String>, String) {
    let page = browser
        .post_form(&format!("/room/{room}/password"), &[("password", password)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let next = browser.get(page.location.as_deref().unwrap_or("/")).await;
    (page.location, next.body)
}

#[actix_rt::test]
async fn password_guesses_are_limited_per_room_and_address_not_per_session() {
    const WRONG: &str = "비밀번호가 틀렸습니다.";
    const TOO_MANY: &str = "비밀번호를 너무 많이 틀렸습니다. 1분 뒤에 다시 시도해 주세요.";
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("금고", "", "정답").await;
    let other = owner.create_room("다른 금고", "", "다른 정답").await;

    let guesser = Browser::new(&srv);
    let form = Some(format!("/room/{id}"));
    for attempt in 0..gif_chat::chat::PASSWORD_GUESSES {
        let (location, home) = guess(&guesser, id, "틀림").await;
        assert_eq!(location, form, "attempt {attempt}");
        assert!(home.contains(WRONG), "attempt {attempt}");
    }
    // Over the limit even the right password is not checked.
    let (location, home) = guess(&guesser, id, "정답").await;
    assert_eq!(location, form);
    assert!(home.contains(TOO_MANY), "{home}");
    assert!(!home.contains(WRONG));
    // A fresh session from the same address is no way around it.
    let fresh = Browser::new(&srv);
    let (_, home) = guess(&fresh, id, "정답").await;
    assert!(home.contains(TOO_MANY));
    // Other rooms are not affected.
    let (location, _) = guess(&fresh, other, "다른 정답").await;
    assert_eq!(location, Some(format!("/room/{other}")));
    srv.stop().await;
}

#[actix_rt::test]
async fn a_full_room_refuses_newcomers_but_not_someone_already_inside() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("둘만", "2", "").await;
    let friend = Browser::new(&srv);
    assert_eq!(
        friend.get(&format!("/room/{id}")).await.status,
        StatusCode::OK
    );
    let _owner_socket = SocketClient::chat(&srv, &owner, id).await.socket();
    let _friend_socket = SocketClient::chat(&srv, &friend, id).await.socket();
    assert!(common::eventually(|| srv.state.chat().count(id) == 2).await);

    let late = Browser::new(&srv);
    let page = late.get(&format!("/room/{id}")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(late
        .get("/")
        .await
        .body
        .contains("허용 인원이 초과하였습니다."));
    // Someone inside may open the page again (another tab, a refresh).
    assert_eq!(
        owner.get(&format!("/room/{id}")).await.status,
        StatusCode::OK
    );
    srv.stop().await;
}

#[actix_rt::test]
async fn only_the_owner_may_delete_a_room() {
    let srv = TestServer::start(config("development")).await;
    let mut lobby = SocketClient::lobby(&srv).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("지울 방", "", "").await;
    let other = Browser::new(&srv);
    other.get("/").await;

    let page = other.delete(&format!("/room/{id}")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.json()["ok"], json!(false));
    assert!(srv
        .state
        .chat()
        .store()
        .room(id)
        .await
        .expect("store")
        .is_some());

    let page = owner.delete(&format!("/room/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json(), json!({"ok": true}));
    assert_eq!(lobby.event("removeRoom").await, json!(id));
    assert!(srv
        .state
        .chat()
        .store()
        .room(id)
        .await
        .expect("store")
        .is_none());
    assert!(!owner
        .get("/")
        .await
        .body
        .contains(&format!("data-room-id=\"{id}\"")));

    let page = owner.delete(&format!("/room/{id}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    srv.stop().await;
}

#[actix_rt::test]
async fn cross_site_requests_are_refused() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("방", "", "").await;
    let cookie = owner.cookie().expect("a session");
    let client = awc::Client::builder().disable_redirects().finish();
    let form = [("title", "csrf"), ("max", ""), ("password", "")];

    for origin in [Some("http://evil.example"), Some("null"), None] {
        let mut req = client
            .post(srv.url("/room"))
            .insert_header((header::COOKIE, cookie.clone()));
        if let Some(origin) = origin {
            req = req.insert_header((header::ORIGIN, origin));
        }
        let page = common::read_page(req.send_form(&form).await.expect("sent")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{origin:?}");
        assert!(page.body.contains("허용되지 않은 요청입니다."));

        let mut req = client
            .delete(srv.url(&format!("/room/{id}")))
            .insert_header((header::COOKIE, cookie.clone()));
        if let Some(origin) = origin {
            req = req.insert_header((header::ORIGIN, origin));
        }
        let res = req.send().await.expect("sent");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin:?}");
    }
    // A same-site Referer stands in for a missing Origin.
    let req = client
        .post(srv.url("/room"))
        .insert_header((header::COOKIE, cookie.clone()))
        .insert_header((header::REFERER, srv.url("/room")));
    let page = common::read_page(req.send_form(&form).await.expect("sent")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    let rooms = srv.state.chat().store().rooms().await.expect("rooms");
    assert_eq!(rooms.len(), 2, "only the same-site form created a room");
    srv.stop().await;
}

#[actix_rt::test]
async fn rooms_are_kept_in_the_sqlite_file() {
    let dir = Arc::new(TempDir::new());
    let srv = TestServer::start_in(config("development"), dir.clone()).await;
    let id = Browser::new(&srv).create_room("오래된 방", "", "").await;
    srv.stop().await;
    assert!(dir.path().join("chat.db").is_file());

    let srv = TestServer::start_in(config("development"), dir.clone()).await;
    let page = Browser::new(&srv).get("/").await;
    assert!(page.body.contains("오래된 방"));
    assert!(page.body.contains(&format!("data-room-id=\"{id}\"")));
    srv.stop().await;
}
