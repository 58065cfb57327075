//! The server's own limits, black box: a client that stops reading is closed once its queue
//! reaches `max_buffered` while the others keep receiving and memory stays flat; handshakes
//! past `max_connections` are refused.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_rt::net::TcpStream;
use actix_socketio::engine::{
    CloseReason, Data, EngineConfig, EngineHandler, EngineIo, EngineSocket,
};
use support::{config, error_body, serve, within, STEP};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Keeps every open socket, so the test can push to all of them, and each close reason.
#[derive(Default)]
struct Hub {
    sockets: Mutex<Vec<EngineSocket>>,
    closed: Mutex<Vec<(String, &'static str)>>,
}

/// The server's handler: a shared [`Hub`] the test reads.
struct HubHandler(Arc<Hub>);

impl EngineHandler for HubHandler {
    type Data = ();

    fn on_open(&self, socket: &EngineSocket) {
        self.0.sockets.lock().unwrap().push(socket.clone());
    }

    fn on_message(&self, _: &EngineSocket, _: &(), _: Data) {}

    fn on_close(&self, socket: &EngineSocket, _: &(), reason: CloseReason) {
        self.0
            .sockets
            .lock()
            .unwrap()
            .retain(|s| s.sid() != socket.sid());
        self.0
            .closed
            .lock()
            .unwrap()
            .push((socket.sid().to_owned(), reason.as_str()));
    }
}

/// The resident set of this process (the server runs in it), in bytes.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line");
    kib * 1024
}

/// Opens a WebSocket session over raw TCP with a tiny receive buffer, reads the `101` and
/// the open packet, and then never reads again.
async fn stalled_websocket(addr: std::net::SocketAddr) -> (TcpStream, String) {
    let socket = tokio::net::TcpSocket::new_v4().expect("TCP socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut tcp = socket.connect(addr).await.expect("connect");
    let request = format!(
        "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes())
        .await
        .expect("upgrade request");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    // The 101 response, then one unmasked text frame with a 7-bit length: `0{"sid":...}`.
    let sid = within(STEP, "101 and the open packet", async {
        loop {
            let n = tcp.read(&mut buf).await.expect("read");
            assert!(n > 0, "the server closed the upgrade");
            seen.extend_from_slice(&buf[..n]);
            let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            assert!(
                seen.starts_with(b"HTTP/1.1 101"),
                "got {:?}",
                String::from_utf8_lossy(&seen)
            );
            let frame = &seen[end + 4..];
            if frame.len() < 2 || frame.len() < 2 + usize::from(frame[1] & 0x7f) {
                continue;
            }
            let open = std::str::from_utf8(&frame[2..2 + usize::from(frame[1] & 0x7f)])
                .expect("UTF-8 open packet");
            let open: serde_json::Value =
                serde_json::from_str(open.strip_prefix('0').expect("an open packet"))
                    .expect("JSON");
            return open["sid"].as_str().expect("sid").to_owned();
        }
    })
    .await;
    (tcp, sid)
}

#[actix_rt::test]
async fn a_client_that_stops_reading_is_closed_and_the_others_keep_receiving() {
    const MESSAGES: usize = 4000;
    const SIZE: usize = 16 * 1024;
    let hub = Arc::new(Hub::default());
    let engine = EngineIo::new(
        EngineConfig {
            // No heartbeat in the way: only the queue limit may end the stalled client.
            ping_interval: Duration::from_secs(60),
            ping_timeout: Duration::from_secs(60),
            max_buffered: 256 * 1024,
            ..config()
        },
        HubHandler(hub.clone()),
    );
    let (addr, handle, client) = serve(engine.clone());
    let (_stalled, stalled_sid) = stalled_websocket(addr).await;
    let mut healthy = client.ws("EIO=4&transport=websocket").await;
    let open = healthy.recv_text().await;
    assert!(open.starts_with(r#"0{"sid":""#), "{open}");
    within(STEP, "both sessions open", async {
        while hub.sockets.lock().unwrap().len() < 2 {
            actix_rt::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;

    let before = rss();
    let mut received = 0;
    for i in 0..MESSAGES {
        // Every message is its own allocation, as a queue that grew without bound would hold.
        let message = format!("{i:08}{}", "m".repeat(SIZE - 8));
        let sockets = hub.sockets.lock().unwrap().clone();
        for socket in &sockets {
            socket.send(message.as_str());
        }
        // The healthy client keeps up: it must have everything but the last few messages.
        while received + 8 <= i {
            let text = within(
                STEP,
                "the healthy client's next message",
                healthy.recv_text(),
            )
            .await;
            assert_eq!(&text[..9], format!("4{received:08}"), "in order, none lost");
            received += 1;
        }
    }
    while received < MESSAGES {
        let text = healthy.recv_text().await;
        assert_eq!(&text[..9], format!("4{received:08}"));
        received += 1;
    }
    let growth = rss().saturating_sub(before);

    let closed = hub.closed.lock().unwrap().clone();
    assert_eq!(closed, [(stalled_sid, "outbound buffer full")]);
    assert_eq!(
        engine.session_count(),
        1,
        "only the healthy session is left"
    );
    // 64 MiB went to the stalled client; the queue limit keeps what the server held of it
    // to a few MiB (its queue, one batch being written, the socket buffers).
    assert!(
        growth < 24 * 1024 * 1024,
        "RSS grew by {} KiB while a client stalled",
        growth / 1024
    );
    handle.stop(false).await;
}

#[actix_rt::test]
async fn handshakes_past_max_connections_are_refused_until_one_closes() {
    let hub = Arc::new(Hub::default());
    let engine = EngineIo::new(
        EngineConfig {
            max_connections: 2,
            ..config()
        },
        HubHandler(hub.clone()),
    );
    let (_, handle, client) = serve(engine);
    let (first, _) = client.handshake().await;
    let _second = client.ws("EIO=4&transport=websocket").await;
    let full = error_body(4, "Too many connections");
    client
        .request(awc::http::Method::GET, "EIO=4&transport=polling", "")
        .await
        .assert(503, &full);
    let Err(refused) = client.try_ws("EIO=4&transport=websocket").await else {
        panic!("a WebSocket handshake is refused too");
    };
    assert!(
        matches!(refused, awc::error::WsClientError::InvalidResponseStatus(s) if s.as_u16() == 503),
        "{refused:?}"
    );
    // The first client leaves: there is room again.
    client.post(&first, "1").await.assert(200, "ok");
    within(STEP, "the closed session is gone", async {
        while hub.closed.lock().unwrap().is_empty() {
            actix_rt::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let again = client
        .request(awc::http::Method::GET, "EIO=4&transport=polling", "")
        .await;
    assert_eq!(again.status, 200);
    assert!(again.body.starts_with(r#"0{"sid":""#), "{}", again.body);
    handle.stop(false).await;
}
