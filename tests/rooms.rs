//! Room pages over HTTP: the list, the create form and its validation, entering (unknown,
//! secret, full, banned), deleting, the flash message, cross-site protection, and the
//! SQLite file.

mod common;

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use common::{attribute, chat_socket, config, room_list_socket, Browser, TempDir, TestServer};
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
    let mut room_list = room_list_socket(&srv).await;
    let browser = Browser::new(&srv);
    let id = browser.create_room("게임방", "3", "secret-pw").await;

    // The room lists hear of it, without the password.
    let new_room = room_list.event("newRoom").await;
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
async fn room_creation_is_rate_limited_per_session_and_per_address() {
    const TOO_MANY: &str = "방을 너무 자주 만들고 있습니다. 잠시 후 다시 시도해 주세요.";
    let srv = TestServer::start(common::config_with(
        "development",
        &[("ROOM_RATE", "3"), ("ROOM_RATE_PER_ADDRESS", "5")],
    ))
    .await;
    async fn post(browser: &Browser, i: usize) -> common::Page {
        let title = format!("방 {i}");
        browser
            .post_form(
                "/room",
                &[("title", &title), ("max", "4"), ("password", "pw-typed")],
            )
            .await
    }

    // Ten at once from one session: exactly its three go through.
    let first = Browser::new(&srv);
    first.get("/").await;
    let pages = futures_util::future::join_all((0..10).map(|i| post(&first, i))).await;
    let created = pages
        .iter()
        .filter(|page| page.status == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(created, 3);
    for page in pages
        .iter()
        .filter(|page| page.status != StatusCode::SEE_OTHER)
    {
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
        // The form again, with its message and values, never the password.
        assert!(page.body.contains(TOO_MANY), "{}", page.body);
        assert!(page.body.contains(r#"value="방 "#), "{}", page.body);
        assert!(page.body.contains(r#"value="4""#));
        assert!(!page.body.contains("pw-typed"));
    }

    // A fresh session from the same address gets its own three, but the address only two.
    let second = Browser::new(&srv);
    assert_eq!(post(&second, 10).await.status, StatusCode::SEE_OTHER);
    assert_eq!(post(&second, 11).await.status, StatusCode::SEE_OTHER);
    let page = post(&second, 12).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.body.contains(TOO_MANY));
    let rooms = srv.state.chat().store().rooms().await.expect("rooms");
    assert_eq!(rooms.len(), 5);
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

/// A password post sent with `cookie`, and the room list's message for the session it
/// comes back with (each answer carries its own copy of the session; none if it has none).
async fn post_guess(
    srv: &TestServer,
    cookie: &str,
    room: i64,
    password: &str,
) -> (common::Page, String) {
    let client = awc::Client::builder().disable_redirects().finish();
    let res = client
        .post(srv.url(&format!("/room/{room}/password")))
        .insert_header((header::ORIGIN, srv.origin()))
        .insert_header((header::COOKIE, cookie))
        .send_form(&[("password", password)])
        .await
        .expect("sent");
    let page = common::read_page(res).await;
    let Some(cookie) = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with(gif_chat::config::SESSION_COOKIE_NAME))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
    else {
        return (page, String::new());
    };
    // The message is shown where the answer sends the guesser: the password form again.
    let next = client
        .get(srv.url(page.location.as_deref().unwrap_or("/")))
        .insert_header((header::COOKIE, cookie))
        .send()
        .await
        .expect("sent");
    let body = common::read_page(next).await.body;
    let flash = attribute_text(&body, "id=\"password-error\">");
    (page, flash)
}

/// Where a password post sent with `cookie` redirects, and the message it leaves.
async fn guess_as(srv: &TestServer, cookie: &str, room: i64, password: &str) -> (String, String) {
    let (page, flash) = post_guess(srv, cookie, room, password).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    (page.location.unwrap_or_default(), flash)
}

/// The text after `marker` up to the next tag.
fn attribute_text(html: &str, marker: &str) -> String {
    html.split_once(marker)
        .and_then(|(_, rest)| rest.split('<').next())
        .unwrap_or_default()
        .to_owned()
}

#[actix_rt::test]
async fn simultaneous_guesses_cannot_race_past_the_limit() {
    const WRONG: &str = "비밀번호가 틀렸습니다.";
    const TOO_MANY: &str = "비밀번호를 너무 많이 틀렸습니다. 1분 뒤에 다시 시도해 주세요.";
    const LIMIT: usize = gif_chat::chat::PASSWORD_GUESSES;
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let vault = owner.create_room("금고", "", "정답").await;
    let other = owner.create_room("다른 금고", "", "정답").await;
    let guesser = Browser::new(&srv);
    guesser.get("/").await;
    let cookie = guesser.cookie().expect("a session");
    let count = |answers: &[&(String, String)], flash: &str| {
        answers.iter().filter(|(_, f)| f == flash).count()
    };

    // 40 wrong ones at once, from one session and address: a wrong one keeps its place, so
    // exactly the limit are checked and every other one is refused unchecked.
    let answers =
        futures_util::future::join_all((0..40).map(|_| guess_as(&srv, &cookie, vault, "틀림")))
            .await;
    let all: Vec<&(String, String)> = answers.iter().collect();
    assert_eq!(count(&all, WRONG), LIMIT, "{answers:?}");
    assert_eq!(count(&all, TOO_MANY), 40 - LIMIT, "{answers:?}");
    let form = format!("/room/{vault}");
    assert!(answers.iter().all(|(location, _)| *location == form));
    // Even the right password is not checked now.
    let (location, flash) = guess_as(&srv, &cookie, vault, "정답").await;
    assert_eq!(
        (location.as_str(), flash.as_str()),
        (form.as_str(), TOO_MANY)
    );

    // The attack as it was seen: 41 at once, 40 wrong and the right one 21st. The right one
    // holds a place only while it is checked, so whether it got one depends on arrival
    // order; what may never happen is more than the limit of wrong ones checked, or the
    // right one let in after they filled the limit.
    const RIGHT_AT: usize = 20;
    let answers = futures_util::future::join_all((0..41).map(|i| {
        let password = if i == RIGHT_AT { "정답" } else { "틀림" };
        guess_as(&srv, &cookie, other, password)
    }))
    .await;
    let wrong: Vec<&(String, String)> = answers
        .iter()
        .enumerate()
        .filter_map(|(i, answer)| (i != RIGHT_AT).then_some(answer))
        .collect();
    let checked = count(&wrong, WRONG);
    assert!(checked <= LIMIT, "{answers:?}");
    assert_eq!(checked + count(&wrong, TOO_MANY), 40, "{answers:?}");
    // Every answer sends the guesser back to the room: the chat if let in, else its
    // password form with the message.
    let (location, flash) = &answers[RIGHT_AT];
    assert_eq!(location, &format!("/room/{other}"));
    if !flash.is_empty() {
        // Refused: the limit was full of wrong ones when it came.
        assert_eq!(flash, TOO_MANY);
        assert_eq!(checked, LIMIT, "{answers:?}");
    }
    srv.stop().await;
}

#[actix_rt::test]
async fn password_hashing_beyond_its_queue_gets_a_readable_503_and_costs_no_guess() {
    const BUSY: &str = "지금은 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.";
    const WRONG: &str = "비밀번호가 틀렸습니다.";
    const TOO_MANY: &str = "비밀번호를 너무 많이 틀렸습니다. 1분 뒤에 다시 시도해 주세요.";
    // One hash at a time, and a queue shorter than a hash: whatever has to wait is refused.
    let srv = TestServer::start(common::config_with(
        "development",
        &[
            ("ARGON2_CONCURRENCY", "1"),
            ("ARGON2_QUEUE_TIMEOUT_MS", "10"),
            ("ROOM_RATE", "1000"),
            ("ROOM_RATE_PER_ADDRESS", "1000"),
        ],
    ))
    .await;
    let owner = Browser::new(&srv);
    let pages = futures_util::future::join_all((0..20).map(|i| {
        let owner = &owner;
        async move {
            let title = format!("붐비는 방 {i}");
            owner
                .post_form(
                    "/room",
                    &[("title", &title), ("max", "7"), ("password", "pw-typed")],
                )
                .await
        }
    }))
    .await;
    let busy: Vec<&common::Page> = pages
        .iter()
        .filter(|page| page.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(!busy.is_empty(), "20 at once, one hash at a time");
    for page in &pages {
        assert!(
            page.status == StatusCode::SEE_OTHER || busy.iter().any(|b| std::ptr::eq(*b, page)),
            "{} {}",
            page.status,
            page.body
        );
    }
    // The form again, with its message and values, never the password.
    for page in &busy {
        assert!(page.body.contains(BUSY), "{}", page.body);
        assert!(page.body.contains(r#"value="붐비는 방"#), "{}", page.body);
        assert!(page.body.contains(r#"value="7""#));
        assert!(!page.body.contains("pw-typed"));
    }
    let created = pages.len() - busy.len();
    let rooms = srv.state.chat().store().rooms().await.expect("rooms");
    assert_eq!(rooms.len(), created, "a refused form created nothing");

    // Guesses: the ones refused as busy were never checked, so they do not count. (Alone,
    // a hash can still miss a 10 ms queue on a loaded machine: try again until it starts.)
    let mut room = None;
    for _ in 0..50 {
        let page = owner
            .post_form(
                "/room",
                &[("title", "금고"), ("max", ""), ("password", "정답")],
            )
            .await;
        if page.status == StatusCode::SEE_OTHER {
            room = page
                .location
                .and_then(|l| l.strip_prefix("/room/")?.parse().ok());
            break;
        }
        assert_eq!(
            page.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            page.body
        );
    }
    let room: i64 = room.expect("created within 50 tries");
    let guesser = Browser::new(&srv);
    guesser.get("/").await;
    let cookie = guesser.cookie().expect("a session");
    let answers =
        futures_util::future::join_all((0..20).map(|_| post_guess(&srv, &cookie, room, "틀림")))
            .await;
    let (mut refused_busy, mut wrong_at_once) = (0, 0);
    for (page, flash) in &answers {
        if page.status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(page.body.contains(BUSY), "{}", page.body);
            assert!(page.body.contains("<h2>503</h2>"), "{}", page.body);
            refused_busy += 1;
        } else {
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
            assert!(flash == WRONG || flash == TOO_MANY, "{flash}");
            wrong_at_once += usize::from(flash == WRONG);
        }
    }
    assert!(refused_busy > 0, "20 guesses at once, one hash at a time");
    // One at a time now: the busy ones left their places, so exactly the limit of wrong
    // ones is checked in all.
    let mut wrong_after = 0;
    for _ in 0..50 {
        let (page, flash) = post_guess(&srv, &cookie, room, "틀림").await;
        if page.status == StatusCode::SERVICE_UNAVAILABLE {
            continue;
        }
        if flash == TOO_MANY {
            break;
        }
        assert_eq!(flash, WRONG);
        wrong_after += 1;
    }
    assert_eq!(
        wrong_at_once + wrong_after,
        gif_chat::chat::PASSWORD_GUESSES,
        "{wrong_at_once} at once, {wrong_after} after"
    );
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
    let _owner_socket = chat_socket(&srv, &owner, id).await.socket();
    let _friend_socket = chat_socket(&srv, &friend, id).await.socket();
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
    let mut room_list = room_list_socket(&srv).await;
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
    assert_eq!(room_list.event("removeRoom").await, json!(id));
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

    // The right host under another scheme is another site.
    let https = srv.origin().replacen("http://", "https://", 1);
    for origin in [
        Some("http://evil.example"),
        Some("null"),
        Some(&https),
        None,
    ] {
        let mut req = client
            .post(srv.url("/room"))
            .insert_header((header::COOKIE, cookie.clone()));
        if let Some(origin) = origin {
            req = req.insert_header((header::ORIGIN, origin.to_owned()));
        }
        let page = common::read_page(req.send_form(&form).await.expect("sent")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{origin:?}");
        // The error page, like every other refusal.
        assert!(
            page.body.contains("<h1>허용되지 않은 요청입니다.</h1>"),
            "{}",
            page.body
        );
        assert!(page.body.contains("<h2>403</h2>"));

        let mut req = client
            .delete(srv.url(&format!("/room/{id}")))
            .insert_header((header::COOKIE, cookie.clone()));
        if let Some(origin) = origin {
            req = req.insert_header((header::ORIGIN, origin.to_owned()));
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
async fn behind_a_tls_proxy_pages_are_https_and_the_cookie_secure() {
    let srv = TestServer::start(common::config_with(
        "development",
        &[("PUBLIC_SCHEME", "https")],
    ))
    .await;
    let client = awc::Client::builder().disable_redirects().finish();
    let https = srv.origin().replacen("http://", "https://", 1);
    let form = [("title", "https 방"), ("max", ""), ("password", "")];
    // What a page served through the proxy sends: https, this host.
    let res = client
        .post(srv.url("/room"))
        .insert_header((header::ORIGIN, https))
        .send_form(&form)
        .await
        .expect("sent");
    let page = common::read_page(res).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let cookie = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with(gif_chat::config::SESSION_COOKIE_NAME))
        .expect("a session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    // Plain http is now the other site.
    let res = client
        .post(srv.url("/room"))
        .insert_header((header::ORIGIN, srv.origin()))
        .send_form(&form)
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Pages may open WebSockets to this host over TLS only.
    let res = client.get(srv.url("/")).send().await.expect("sent");
    let policy = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let host = srv.origin().trim_start_matches("http://").to_owned();
    assert!(
        policy.contains(&format!("; connect-src 'self' wss://{host}; ")),
        "{policy}"
    );
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
