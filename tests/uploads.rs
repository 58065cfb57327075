//! GIF uploads: accepted images are stored under a random name and served with their type
//! and nosniff; other bytes, oversized files and strangers are refused.

mod common;

use actix_web::http::{header, StatusCode};
use common::{chat_socket, config, config_with, room_list_socket, Browser, TestServer};
use gif_chat::chat::uploads::{MAX_UPLOAD_BYTES, NOT_AN_IMAGE, TOO_LARGE};
use serde_json::json;

/// The smallest valid GIF: one transparent pixel.
const PIXEL_GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

/// File names of the images the room's page shows.
async fn gifs_on_page(browser: &Browser, room: i64) -> Vec<String> {
    let page = browser.get(&format!("/room/{room}")).await;
    page.body
        .split("src=\"/gif/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[actix_rt::test]
async fn an_uploaded_gif_is_announced_stored_and_served_as_a_gif() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("짤방", "", "").await;
    let mut socket = chat_socket(&srv, &owner, id).await.socket();

    let page = owner.upload(id, "gif", PIXEL_GIF, true).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    assert_eq!(page.json(), json!({"ok": true}));

    let chat = socket.event("chat").await;
    assert_eq!(chat["kind"], json!("gif"));
    let name = chat["body"].as_str().expect("a file name").to_owned();
    assert!(name.ends_with(".gif") && name.len() == 36, "{name}");
    assert_eq!(gifs_on_page(&owner, id).await, vec![name.clone()]);

    let served = owner.get(&format!("/gif/{name}")).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.content_type, "image/gif");
    assert_eq!(
        served
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"private, no-cache"[..])
    );
    assert_eq!(
        served
            .headers
            .get(header::X_CONTENT_TYPE_OPTIONS)
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );
    assert_eq!(served.bytes, PIXEL_GIF);

    // The same file twice is two uploads, two names.
    owner.upload(id, "gif", PIXEL_GIF, true).await;
    let second = socket.event("chat").await;
    assert_ne!(second["body"], json!(name));
    srv.stop().await;
}

#[actix_rt::test]
async fn a_plain_form_post_goes_back_to_the_room() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("짤방", "", "").await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR";
    let page = owner.upload(id, "gif", png, false).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, Some(format!("/room/{id}")));
    let names = gifs_on_page(&owner, id).await;
    assert!(names.len() == 1 && names[0].ends_with(".png"), "{names:?}");
    let served = owner.get(&format!("/gif/{}", names[0])).await;
    assert_eq!(served.content_type, "image/png");
    srv.stop().await;
}

#[actix_rt::test]
async fn bytes_that_are_not_an_image_are_refused_whatever_their_name() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("짤방", "", "").await;
    for bytes in [&b"<svg onload=alert(1)></svg>"[..], b"GIF8", b""] {
        let page = owner.upload(id, "gif", bytes, true).await;
        assert!(page.status.is_client_error(), "{}", page.status);
        assert_eq!(page.json()["ok"], json!(false));
    }
    let page = owner
        .upload(id, "gif", b"<html>not a gif at all</html>", false)
        .await;
    assert_eq!(page.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(page.body.contains(NOT_AN_IMAGE));
    // A file under another field name is not the upload.
    let page = owner.upload(id, "file", PIXEL_GIF, true).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(gifs_on_page(&owner, id).await.is_empty());
    assert_eq!(
        std::fs::read_dir(srv.dir.path().join("uploads"))
            .expect("dir")
            .count(),
        0
    );
    srv.stop().await;
}

#[actix_rt::test]
async fn a_file_over_5_mb_gets_a_friendly_413() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("짤방", "", "").await;
    let mut big = PIXEL_GIF.to_vec();
    big.resize(6 * 1024 * 1024, 0);

    let page = owner.upload(id, "gif", &big, false).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains(TOO_LARGE), "{}", page.body);

    let page = owner.upload(id, "gif", &big, true).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(page.json(), json!({"ok": false, "error": TOO_LARGE}));

    // Exactly the limit is fine.
    big.truncate(MAX_UPLOAD_BYTES);
    let page = owner.upload(id, "gif", &big, true).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    srv.stop().await;
}

#[actix_rt::test]
async fn only_people_let_into_the_room_may_upload() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("비밀 짤방", "", "pw").await;
    let stranger = Browser::new(&srv);
    stranger.get("/").await;
    let page = stranger.upload(id, "gif", PIXEL_GIF, true).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.json()["error"], json!("입장 권한이 없습니다."));

    let page = owner.upload(404, "gif", PIXEL_GIF, true).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    srv.stop().await;
}

#[actix_rt::test]
async fn only_stored_names_are_served() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("짤방", "", "").await;
    owner.upload(id, "gif", PIXEL_GIF, true).await;
    let name = gifs_on_page(&owner, id).await.remove(0);
    assert_eq!(
        owner.get(&format!("/gif/{name}")).await.status,
        StatusCode::OK
    );
    // A file in the folder that no chat shows is no upload of any room.
    std::fs::write(srv.dir.path().join("uploads").join("abc.gif"), PIXEL_GIF).expect("write");
    for path in [
        "/gif/abc.gif",
        "/gif/ABC.gif",
        "/gif/abc.svg",
        "/gif/abc.gif.html",
        "/gif/..%2Fchat.db",
        "/gif/%2E%2E%2Fchat.db",
        "/gif/0000.gif",
    ] {
        assert_eq!(
            owner.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    srv.stop().await;
}

#[actix_rt::test]
async fn images_are_shown_only_to_people_let_into_their_room() {
    let srv = TestServer::start(config("development")).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("짤방", "", "").await;
    let mut o = chat_socket(&srv, &owner, id).await.socket();
    owner.upload(id, "gif", PIXEL_GIF, true).await;
    let path = format!(
        "/gif/{}",
        o.event("chat").await["body"].as_str().expect("a name")
    );

    // Knowing the name is not enough: a visitor who never opened the room gets nothing.
    let visitor = Browser::new(&srv);
    visitor.get("/").await;
    let page = visitor.get(&path).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("<h1>입장 권한이 없습니다.</h1>"),
        "{}",
        page.body
    );
    assert!(page.bytes != PIXEL_GIF);

    // Let in (a public room lets in whoever opens it): the image.
    let visitor_id = visitor.public_id(id).await;
    let page = visitor.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.bytes, PIXEL_GIF);

    // Kicked out: the room's images go with the room.
    let _v = chat_socket(&srv, &visitor, id).await.socket();
    assert_eq!(
        o.emit_ack("kick", json!({ "id": visitor_id })).await,
        json!({ "ok": true })
    );
    let page = visitor.get(&path).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page
        .body
        .contains("<h1>강퇴당한 방에는 다시 들어갈 수 없습니다.</h1>"));
    srv.stop().await;
}

#[actix_rt::test]
async fn a_deleted_room_takes_its_files_with_it() {
    let srv = TestServer::start(config_with(
        "development",
        &[("ROOM_DELETE_GRACE_MS", "100")],
    ))
    .await;
    let mut room_list = room_list_socket(&srv).await;
    let owner = Browser::new(&srv);
    let id = owner.create_room("짤방", "", "").await;
    let socket = chat_socket(&srv, &owner, id).await.socket();
    owner.upload(id, "gif", PIXEL_GIF, true).await;
    let names = gifs_on_page(&owner, id).await;
    let file = srv.dir.path().join("uploads").join(&names[0]);
    assert!(file.is_file());

    socket.close().await;
    room_list.forget("newRoom");
    assert_eq!(room_list.event("removeRoom").await, json!(id));
    assert!(!file.exists());
    assert!(srv
        .state
        .chat()
        .store()
        .room(id)
        .await
        .expect("store")
        .is_none());
    srv.stop().await;
}
