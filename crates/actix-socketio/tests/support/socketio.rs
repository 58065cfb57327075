//! A Socket.IO server on 127.0.0.1:0 and HTTP requests to its endpoint.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use awc::http::Method;
use bytes::Bytes;
use test_client::{RawClient, TcpWs, OPCODE_TEXT};

use super::engine::{http_client, listen, send, Reply};

/// Short Socket.IO settings: ping 300 ms / timeout 200 ms, connect timeout 300 ms.
pub fn sio_config() -> actix_socketio::SocketIoConfig {
    let mut config = actix_socketio::SocketIoConfig {
        connect_timeout: Duration::from_millis(300),
        ..actix_socketio::SocketIoConfig::default()
    };
    config.engine.ping_interval = Duration::from_millis(300);
    config.engine.ping_timeout = Duration::from_millis(200);
    config.engine.max_payload = 1_000_000;
    config
}

/// A running Socket.IO server; stop it with [`SioServer::stop`] at the end of a test.
pub struct SioServer {
    pub addr: SocketAddr,
    pub io: actix_socketio::SocketIo,
    client: awc::Client,
    handle: ServerHandle,
}

impl SioServer {
    /// Serves `io` (with its handlers already registered) with one worker; must be called
    /// inside an actix runtime.
    pub fn start(io: actix_socketio::SocketIo) -> SioServer {
        // actix's default.
        SioServer::start_with_request_timeout(io, Duration::from_secs(5))
    }

    /// [`SioServer::start`] with another limit on how long a client may take to send a
    /// request's head.
    pub fn start_with_request_timeout(
        io: actix_socketio::SocketIo,
        request_timeout: Duration,
    ) -> SioServer {
        let app_io = io.clone();
        let (addr, handle) = listen(move |cfg| app_io.mount(cfg), request_timeout);
        SioServer {
            addr,
            io,
            client: http_client(),
            handle,
        }
    }

    /// A raw client over `ws://…/socket.io/?EIO=4&transport=websocket`, after the open
    /// packet; not yet in any namespace.
    pub async fn raw(&self) -> RawClient {
        self.raw_with("", &[]).await
    }

    /// [`SioServer::raw`] with more query parameters (`a=1&b=2`) and request headers.
    pub async fn raw_with(&self, query: &str, headers: &[(&str, &str)]) -> RawClient {
        let mut url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr);
        if !query.is_empty() {
            url.push('&');
            url.push_str(query);
        }
        let mut request = self.client.ws(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        RawClient::open(request).await
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }

    /// An HTTP request to `http://127.0.0.1:port/socket.io/?{query}`, read whole.
    pub async fn request(&self, method: Method, query: &str, body: impl Into<Bytes>) -> Reply {
        let url = format!("http://{}/socket.io/?{query}", self.addr);
        send(&self.client, method, url, body.into()).await
    }

    /// A polling handshake on the Socket.IO path; returns the Engine.IO sid.
    pub async fn polling_handshake(&self) -> String {
        let reply = self
            .request(Method::GET, "EIO=4&transport=polling", Bytes::new())
            .await;
        assert_eq!(reply.status, 200, "handshake: {reply:?}");
        let json = reply
            .body
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("handshake body starts with 0: {:?}", reply.body));
        let open: serde_json::Value = serde_json::from_str(json).expect("handshake JSON");
        open["sid"].as_str().expect("sid is a string").to_owned()
    }

    /// A long-poll GET for `sid` on the Socket.IO path.
    pub async fn poll(&self, sid: &str) -> Reply {
        let query = format!("EIO=4&transport=polling&sid={sid}");
        self.request(Method::GET, &query, Bytes::new()).await
    }

    /// A POST of `body` for `sid` on the Socket.IO path.
    pub async fn post(&self, sid: &str, body: impl Into<Bytes>) -> Reply {
        let query = format!("EIO=4&transport=polling&sid={sid}");
        self.request(Method::POST, &query, body).await
    }

    /// A WebSocket on plain TCP at `/socket.io/?EIO=4&transport=websocket`, upgraded and
    /// past the open packet: for frames no WebSocket library sends.
    pub async fn tcp_ws(&self) -> TcpWs {
        let mut ws = TcpWs::connect(self.addr, "/socket.io/?EIO=4&transport=websocket").await;
        let (opcode, open) = ws.recv_frame().await.expect("the open packet");
        assert_eq!(opcode, OPCODE_TEXT, "the open packet is text");
        assert!(open.starts_with(b"0{"), "open packet: {open:?}");
        ws
    }
}
