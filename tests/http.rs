//! HTTP side of the app: pages, 404/400 error pages, static files, session cookie.

mod common;

use actix_web::http::{header, StatusCode};
use common::{config, TestServer};
use gif_chat::config::SESSION_COOKIE_NAME;

struct Page {
    status: StatusCode,
    content_type: String,
    set_cookies: Vec<String>,
    body: String,
}

async fn fetch(request: awc::ClientRequest) -> Page {
    let mut res = request.send().await.expect("request succeeds");
    let header_str = |value: &header::HeaderValue| value.to_str().unwrap_or_default().to_owned();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(header_str)
        .unwrap_or_default();
    let set_cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .map(header_str)
        .collect();
    let body = res.body().await.expect("body is readable");
    Page {
        status: res.status(),
        content_type,
        set_cookies,
        body: String::from_utf8(body.to_vec()).expect("body is UTF-8"),
    }
}

async fn get(srv: &TestServer, path: &str) -> Page {
    fetch(awc::Client::default().get(srv.url(path))).await
}

#[actix_rt::test]
async fn index_renders_the_chat_title_and_demo_links() {
    let srv = TestServer::start(config("development")).await;
    let page = get(&srv, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page.body.contains("<title>GIF 채팅방</title>"));
    assert!(page.body.contains("href=\"/ws-demo\""));
    assert!(page.body.contains("href=\"/socketio-demo\""));
    assert!(page.body.contains("href=\"/static/main.css\""));
    srv.stop().await;
}

#[actix_rt::test]
async fn ws_demo_page_loads_its_script() {
    let srv = TestServer::start(config("development")).await;
    let page = get(&srv, "/ws-demo").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("src=\"/static/ws-demo.js\""));
    assert!(page.body.contains("id=\"ws-messages\""));
    srv.stop().await;
}

#[actix_rt::test]
async fn unknown_route_is_a_404_error_page() {
    let srv = TestServer::start(config("development")).await;
    let page = get(&srv, "/nope").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page
        .body
        .contains("<h1>GET /nope 라우터가 존재하지 않습니다.</h1>"));
    assert!(page.body.contains("<h2>404</h2>"));
    // Nothing caused it, so there is nothing more to show; and never Rust's Debug form.
    assert!(!page.body.contains("error-details"), "{}", page.body);
    assert!(!page.body.contains("NotFound"), "{}", page.body);
    assert!(!page.body.contains("method:"), "{}", page.body);
    srv.stop().await;
}

#[actix_rt::test]
async fn development_shows_what_caused_an_error_as_readable_lines() {
    for (env, shown) in [("development", true), ("production", false)] {
        let srv = TestServer::start(config(env)).await;
        // The database goes away under the app: the room list cannot be read.
        srv.state.chat().store().close().await;
        let page = get(&srv, "/").await;
        assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR, "{env}");
        assert!(
            page.body
                .contains("<h1>데이터를 처리하지 못했습니다. 잠시 후 다시 시도해 주세요.</h1>"),
            "{env}: {}",
            page.body
        );
        let details = r#"<pre class="error-details">원인: database error: attempted to acquire a connection on a closed pool"#;
        assert_eq!(page.body.contains(details), shown, "{env}: {}", page.body);
        for debug in ["Store(", "Database(", "PoolClosed"] {
            assert!(!page.body.contains(debug), "{env}: {}", page.body);
        }
        srv.stop().await;
    }
}

#[actix_rt::test]
async fn unknown_method_on_a_known_path_is_a_404_error_page_too() {
    let srv = TestServer::start(config("development")).await;
    // From the site's own page: a cross-site POST is refused before routing (tests/rooms.rs).
    let page = fetch(
        awc::Client::default()
            .post(srv.url("/"))
            .insert_header((header::ORIGIN, srv.origin())),
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("POST / 라우터가 존재하지 않습니다."));
    srv.stop().await;
}

#[actix_rt::test]
async fn path_in_the_error_message_is_html_escaped() {
    let srv = TestServer::start(config("development")).await;
    let page = get(&srv, "/%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page
        .body
        .contains("GET /&lt;script&gt;alert(1)&lt;/script&gt; 라우터가"));
    assert!(!page.body.contains("<script>alert"));
    srv.stop().await;
}

#[actix_rt::test]
async fn production_hides_error_details() {
    let srv = TestServer::start(config("production")).await;
    let page = get(&srv, "/nope").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("GET /nope 라우터가 존재하지 않습니다."));
    assert!(!page.body.contains("error-details"));
    assert!(!page.body.contains("NotFound"));
    srv.stop().await;
}

#[actix_rt::test]
async fn extractor_errors_get_the_html_error_page() {
    let srv = TestServer::start(config("development")).await;
    // A plain GET to the WebSocket endpoint fails the handshake with 400.
    let page = get(&srv, "/ws").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page.body.contains("<h2>400</h2>"));
    // A failed handshake never starts a connection task.
    assert_eq!(srv.state.live_ws_connections(), 0);
    srv.stop().await;
}

#[actix_rt::test]
async fn static_files_are_served_with_their_content_type() {
    let srv = TestServer::start(config("development")).await;

    let css = get(&srv, "/static/main.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.content_type.starts_with("text/css"),
        "{}",
        css.content_type
    );

    let js = get(&srv, "/static/ws-demo.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.content_type.contains("javascript"),
        "{}",
        js.content_type
    );
    assert!(js.body.contains("location.host + '/ws'"));

    let missing = get(&srv, "/static/missing.css").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing
        .body
        .contains("GET /static/missing.css 라우터가 존재하지 않습니다."));
    srv.stop().await;
}

#[actix_rt::test]
async fn session_cookie_is_private_http_only_and_lax() {
    let srv = TestServer::start(config("development")).await;
    let first = get(&srv, "/").await;
    let cookie = first
        .set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{SESSION_COOKIE_NAME}=")))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", first.set_cookies));
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    // Private (encrypted): neither the key nor the secret id is readable in the cookie.
    assert!(!cookie.contains("user"), "{cookie}");
    let name = my_name(&first.body);

    // The server reads it back: the same identity (shown as its name) on the next visit.
    let name_value = cookie.split(';').next().unwrap_or_default();
    let second = fetch(
        awc::Client::default()
            .get(srv.url("/"))
            .insert_header((header::COOKIE, name_value)),
    )
    .await;
    assert_eq!(my_name(&second.body), name);

    // Pages that do not touch the session set no cookie.
    assert!(get(&srv, "/nope").await.set_cookies.is_empty());
    srv.stop().await;
}

/// The visitor's name as the room list shows it.
fn my_name(html: &str) -> String {
    let start = html.find("내 이름:").expect("the list shows my name");
    let rest = &html[start..];
    let at = rest.find(r#"<span class="who-name">"#).expect("a name") + 23;
    let end = rest[at..].find('<').expect("the name ends");
    rest[at..at + end].to_owned()
}

#[actix_rt::test]
async fn every_response_carries_the_security_headers() {
    let srv = TestServer::start(config("development")).await;
    let host = srv.origin().trim_start_matches("http://").to_owned();
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self' ws://{host}; frame-ancestors 'none'; \
         object-src 'none'; base-uri 'self'; form-action 'self'"
    );
    let client = awc::Client::builder().disable_redirects().finish();
    let requests = [
        ("page", client.get(srv.url("/")), StatusCode::OK),
        ("form", client.get(srv.url("/room")), StatusCode::OK),
        (
            "demo",
            client.get(srv.url("/socketio-demo")),
            StatusCode::OK,
        ),
        (
            "style",
            client.get(srv.url("/static/main.css")),
            StatusCode::OK,
        ),
        (
            "client",
            client.get(srv.url("/socket.io/socket.io.js")),
            StatusCode::OK,
        ),
        (
            "handshake",
            client.get(srv.url("/socket.io/?EIO=4&transport=polling")),
            StatusCode::OK,
        ),
        (
            "error page",
            client.get(srv.url("/nope")),
            StatusCode::NOT_FOUND,
        ),
        (
            "refusal",
            client
                .post(srv.url("/room"))
                .insert_header((header::ORIGIN, "http://evil.example")),
            StatusCode::FORBIDDEN,
        ),
        (
            "redirect",
            client.get(srv.url("/room/999")),
            StatusCode::SEE_OTHER,
        ),
    ];
    for (what, request, status) in requests {
        let res = request.send().await.expect("answered");
        assert_eq!(res.status(), status, "{what}");
        let headers = res.headers();
        let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(
            value("content-security-policy"),
            Some(policy.as_str()),
            "{what}"
        );
        assert_eq!(value("x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(value("referrer-policy"), Some("same-origin"), "{what}");
        assert_eq!(value("x-content-type-options"), Some("nosniff"), "{what}");
    }
    srv.stop().await;
}
