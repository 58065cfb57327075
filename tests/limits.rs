//! Every way in for a body has a limit, and what goes over it gets a readable refusal:
//! forms (413 and the error page), Socket.IO (413 on polling, close 1009 on a WebSocket),
//! the `/ws` demo (close 1009), and bodies that trickle in (408). GIF uploads:
//! tests/uploads.rs.

mod common;

use std::{
    io::{ErrorKind, Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use actix_web::http::{header, StatusCode};
use awc::ws::{CloseCode, Frame, Message};
use common::{config, config_with, Browser, TestServer};
use futures_util::{SinkExt as _, StreamExt as _};
use gif_chat::state::{MAX_FORM_BYTES, MAX_SOCKET_PAYLOAD};

const STEP: Duration = Duration::from_secs(3);

/// The next frame that is not an Engine.IO ping or a WebSocket ping.
async fn next_frame(
    conn: &mut (impl futures_util::Stream<Item = Result<Frame, awc::error::WsProtocolError>> + Unpin),
) -> Frame {
    loop {
        let frame = tokio::time::timeout(STEP, conn.next())
            .await
            .expect("a frame arrives in time")
            .expect("the connection is open")
            .expect("the frame is valid");
        match frame {
            Frame::Ping(_) | Frame::Pong(_) => {}
            Frame::Text(ref bytes) if &bytes[..] == b"2" => {}
            other => return other,
        }
    }
}

#[actix_rt::test]
async fn a_form_over_the_limit_gets_a_413_error_page_and_one_under_it_goes_through() {
    let srv = TestServer::start(config("development")).await;
    let browser = Browser::new(&srv);
    browser.get("/").await;

    let padding = "a".repeat(MAX_FORM_BYTES);
    let page = browser
        .post_form(
            "/room",
            &[("title", "큰 방"), ("max", "10"), ("x", &padding)],
        )
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("<h2>413</h2>"), "{}", page.body);
    assert!(
        page.body.contains("입력한 내용이 너무 깁니다."),
        "{}",
        page.body
    );

    // The room form at its own limits (100-character Hangul title and password).
    let title = "가".repeat(100);
    let password = "나".repeat(100);
    let page = browser
        .post_form(
            "/room",
            &[("title", &title), ("max", "10"), ("password", &password)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    srv.stop().await;
}

#[actix_rt::test]
async fn a_socketio_polling_body_over_the_payload_limit_gets_a_413() {
    let srv = TestServer::start(config("development")).await;
    let client = awc::Client::default();
    let mut res = client
        .get(srv.url("/socket.io/?EIO=4&transport=polling"))
        .send()
        .await
        .expect("handshake");
    let open = String::from_utf8(res.body().await.expect("body").to_vec()).expect("UTF-8");
    assert!(
        open.contains(&format!(r#""maxPayload":{MAX_SOCKET_PAYLOAD}"#)),
        "{open}"
    );
    let sid = open
        .split(r#""sid":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a sid");

    let body = format!("4{}", "a".repeat(MAX_SOCKET_PAYLOAD as usize));
    let mut res = client
        .post(srv.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")))
        .insert_header((header::CONTENT_TYPE, "text/plain;charset=UTF-8"))
        .send_body(body)
        .await
        .expect("the POST is answered");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // No body (Node's answer): the official client would show one as its close reason, and
    // the app's error page must not be put in its place.
    let body = res.body().await.expect("body");
    assert!(body.is_empty(), "{body:?}");
    srv.stop().await;
}

#[actix_rt::test]
async fn a_socketio_websocket_message_over_the_payload_limit_closes_with_1009() {
    let srv = TestServer::start(config("development")).await;
    let (_, mut conn) = awc::Client::default()
        .ws(srv.url("/socket.io/?EIO=4&transport=websocket"))
        .max_frame_size(4 * MAX_SOCKET_PAYLOAD as usize)
        .connect()
        .await
        .expect("WebSocket handshake");
    match next_frame(&mut conn).await {
        Frame::Text(open) => assert!(open.starts_with(b"0{"), "{open:?}"),
        other => panic!("expected the open packet, got {other:?}"),
    }
    let text = format!("4{}", "a".repeat(MAX_SOCKET_PAYLOAD as usize));
    conn.send(Message::Text(text.into())).await.expect("sent");
    match next_frame(&mut conn).await {
        Frame::Close(reason) => assert_eq!(reason.map(|r| r.code), Some(CloseCode::Size)),
        other => panic!("expected a close frame, got {other:?}"),
    }
    srv.stop().await;
}

#[actix_rt::test]
async fn a_ws_demo_message_over_64_kib_closes_with_1009() {
    let srv = TestServer::start(config("development")).await;
    let (_, mut conn) = awc::Client::default()
        .ws(srv.url("/ws"))
        .max_frame_size(1 << 20)
        .connect()
        .await
        .expect("WebSocket handshake");
    conn.send(Message::Text("a".repeat(64 * 1024 + 1).into()))
        .await
        .expect("sent");
    loop {
        match next_frame(&mut conn).await {
            // The demo's own pushes may come first.
            Frame::Text(_) => {}
            Frame::Close(reason) => {
                assert_eq!(reason.map(|r| r.code), Some(CloseCode::Size));
                break;
            }
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    srv.stop().await;
}

/// What a raw client got back from the server.
#[derive(Debug)]
struct Answer {
    /// `HTTP/1.1 408 Request Timeout`, say.
    status_line: String,
    /// From the first byte of body to the answer.
    after: Duration,
    /// Whether the server closed the connection soon after answering.
    closed: bool,
    response: String,
}

/// Sends `head`, then the `body` pieces one every `every` (the body, slowly), until the
/// server answers or `give_up` passes.
fn trickle(
    addr: SocketAddr,
    head: &str,
    body: &[Vec<u8>],
    every: Duration,
    give_up: Duration,
) -> Option<Answer> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(head.as_bytes()).expect("send the head");
    stream
        .set_read_timeout(Some(every))
        .expect("set a read timeout");
    let start = Instant::now();
    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    let mut pieces = body.iter();
    let answered = loop {
        if start.elapsed() > give_up {
            return None;
        }
        if let Some(piece) = pieces.next() {
            // Fails once the server has closed; the answer (if any) is still readable.
            let _ = stream.write_all(piece);
        }
        match stream.read(&mut buf) {
            Ok(0) => break start.elapsed(),
            Ok(n) => {
                response.extend_from_slice(&buf[..n]);
                break start.elapsed();
            }
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break start.elapsed(),
        }
    };
    // The rest of the answer, then the close (or not, within a few seconds).
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("set a read timeout");
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false
            }
            Err(_) => break true,
        }
    };
    let response = String::from_utf8_lossy(&response).into_owned();
    Some(Answer {
        status_line: response.lines().next().unwrap_or_default().to_owned(),
        after: answered,
        closed,
        response,
    })
}

/// The server's address, for a raw TCP client.
fn addr_of(srv: &TestServer) -> SocketAddr {
    srv.origin()
        .trim_start_matches("http://")
        .parse()
        .expect("the test server listens on an IP address")
}

/// The head of an upload to `room` from `browser`'s page, framed by `framing` (its
/// `Content-Length` or `Transfer-Encoding`), and the multipart body's start: everything but
/// the image's bytes after its `GIF89a` and the closing boundary.
fn upload_head(srv: &TestServer, browser: &Browser, room: i64, framing: &str) -> String {
    format!(
        "{}{UPLOAD_PRELUDE}",
        upload_head_only(srv, browser, room, framing)
    )
}

const UPLOAD_PRELUDE: &str =
    "--b\r\nContent-Disposition: form-data; name=\"gif\"; filename=\"a.gif\"\r\n\
                              Content-Type: image/gif\r\n\r\nGIF89a";

/// [`upload_head`] without the body's start.
fn upload_head_only(srv: &TestServer, browser: &Browser, room: i64, framing: &str) -> String {
    let origin = srv.origin();
    let host = origin.trim_start_matches("http://");
    let cookie = browser.cookie().expect("a session");
    format!(
        "POST /room/{room}/gif HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n\
         Cookie: {cookie}\r\nAccept: application/json\r\n\
         Content-Type: multipart/form-data; boundary=b\r\n{framing}\r\n\r\n"
    )
}

/// `count` pieces of one byte: a byte a second at one piece a second.
fn bytes(count: usize) -> Vec<Vec<u8>> {
    vec![b"x".to_vec(); count]
}

/// Runs the blocking raw client off the server's thread.
async fn trickle_off_thread(
    addr: SocketAddr,
    head: String,
    body: Vec<Vec<u8>>,
    every: Duration,
) -> Answer {
    actix_rt::task::spawn_blocking(move || {
        trickle(addr, &head, &body, every, Duration::from_secs(10))
    })
    .await
    .expect("the client ran")
    .expect("the server answered within 10 s")
}

#[actix_rt::test]
async fn an_upload_that_trickles_in_is_cut_off_with_a_408() {
    const SLOW: &str = "요청 본문이 너무 느리게 도착했습니다.";
    // Bodies must bring 1 KiB a second, averaged over each second here (10 s by default).
    let srv = TestServer::start(config_with("development", &[("BODY_TIMEOUT_MS", "1000")])).await;
    let owner = Browser::new(&srv);
    let room = owner.create_room("느린 방", "", "").await;
    let addr = addr_of(&srv);
    let second = Duration::from_secs(1);

    // A 5 MB upload at a byte a second: answered within two windows, and closed.
    let head = upload_head(&srv, &owner, room, "Content-Length: 5000000");
    let answer = trickle_off_thread(addr, head, bytes(10), second).await;
    assert_eq!(
        answer.status_line, "HTTP/1.1 408 Request Timeout",
        "{answer:?}"
    );
    assert!(answer.after < 3 * second, "{answer:?}");
    assert!(answer.closed, "{answer:?}");
    assert!(
        answer
            .response
            .ends_with(&format!(r#"{{"ok":false,"error":"{SLOW}"}}"#)),
        "{answer:?}"
    );

    // The same in chunked encoding, one-byte chunks.
    let head = format!(
        "{}{:x}\r\n{UPLOAD_PRELUDE}\r\n",
        upload_head_only(&srv, &owner, room, "Transfer-Encoding: chunked"),
        UPLOAD_PRELUDE.len()
    );
    let answer = trickle_off_thread(addr, head, vec![b"1\r\nx\r\n".to_vec(); 10], second).await;
    assert_eq!(
        answer.status_line, "HTTP/1.1 408 Request Timeout",
        "{answer:?}"
    );
    assert!(answer.after < 3 * second, "{answer:?}");
    assert!(answer.closed, "{answer:?}");

    // A form, too: the error page.
    let origin = srv.origin();
    let host = origin.trim_start_matches("http://");
    let cookie = owner.cookie().expect("a session");
    let head = format!(
        "POST /room HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntitle="
    );
    let answer = trickle_off_thread(addr, head, bytes(10), second).await;
    assert_eq!(
        answer.status_line, "HTTP/1.1 408 Request Timeout",
        "{answer:?}"
    );
    assert!(
        answer.response.contains(&format!("<h1>{SLOW}</h1>")),
        "{answer:?}"
    );
    assert!(answer.response.contains("<h2>408</h2>"), "{answer:?}");
    assert!(answer.closed, "{answer:?}");
    srv.stop().await;
}

#[actix_rt::test]
async fn a_slow_but_steady_upload_goes_through() {
    let srv = TestServer::start(config_with("development", &[("BODY_TIMEOUT_MS", "1000")])).await;
    let owner = Browser::new(&srv);
    let room = owner.create_room("느린 방", "", "").await;
    // 4 KiB a second for three seconds (four times the slowest rate), then the end.
    let mut body = vec![vec![b'x'; 2048]; 6];
    body.push(b"\r\n--b--\r\n".to_vec());
    let length = UPLOAD_PRELUDE.len() + body.iter().map(Vec::len).sum::<usize>();
    let head = upload_head(&srv, &owner, room, &format!("Content-Length: {length}"));
    let answer = trickle_off_thread(addr_of(&srv), head, body, Duration::from_millis(500)).await;
    assert_eq!(answer.status_line, "HTTP/1.1 201 Created", "{answer:?}");
    assert!(answer.response.ends_with(r#"{"ok":true}"#), "{answer:?}");
    srv.stop().await;
}

#[actix_rt::test]
async fn a_trickling_body_nobody_reads_is_not_waited_for() {
    // Refused before its body is read (no Origin), or sent where no body is read (a page), a
    // slow body is not read either: the connection is closed right after the answer.
    let srv = TestServer::start(config("development")).await;
    let origin = srv.origin().to_owned();
    let host = origin.trim_start_matches("http://").to_owned();
    for (request, status) in [
        ("POST /room", "HTTP/1.1 403 Forbidden"),
        ("GET /", "HTTP/1.1 200 OK"),
    ] {
        for framing in ["Content-Length: 5000000", "Transfer-Encoding: chunked"] {
            let head = format!(
                "{request} HTTP/1.1\r\nHost: {host}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n"
            );
            let piece = match framing {
                "Transfer-Encoding: chunked" => b"1\r\nx\r\n".to_vec(),
                _ => b"x".to_vec(),
            };
            let every = Duration::from_secs(1);
            let answer = trickle_off_thread(addr_of(&srv), head, vec![piece; 10], every).await;
            assert_eq!(
                answer.status_line, status,
                "{request} {framing}: {answer:?}"
            );
            assert!(answer.closed, "{request} {framing}: {answer:?}");
        }
    }
    srv.stop().await;
}
