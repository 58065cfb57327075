//! A Socket.IO client over a direct WebSocket (`transport=websocket`, no polling first).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::proto::{self, Incoming};
use crate::sys;

/// A received frame, pings already answered.
pub enum Frame {
    Text(Utf8Bytes),
    Binary(Bytes),
}

pub struct WsConn {
    ws: WebSocketStream<TcpStream>,
}

/// Connection and handshake failures, and connections that broke.
pub type Error = String;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

impl WsConn {
    /// TCP from a 127.0.0.x source, the WebSocket upgrade, Engine.IO open, Socket.IO
    /// CONNECT to `/`.
    pub async fn connect(server: SocketAddr, index: usize) -> Result<WsConn, Error> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, Self::connect_inner(server, index))
            .await
            .map_err(|_| "handshake timed out".to_string())?
    }

    async fn connect_inner(server: SocketAddr, index: usize) -> Result<WsConn, Error> {
        let tcp = sys::connect_from(sys::source_addr(index), server)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let url = format!(
            "ws://{}:{}/socket.io/?EIO=4&transport=websocket",
            server.ip(),
            server.port()
        );
        // Small read buffers: tens of thousands of idle connections must stay cheap here.
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(0)
            .max_message_size(Some(16 << 20));
        let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
            .await
            .map_err(|e| format!("websocket handshake: {e}"))?;
        let mut conn = WsConn { ws };
        match conn.recv().await? {
            Frame::Text(t) if t.starts_with('0') => {}
            _ => return Err("no Engine.IO open packet".into()),
        }
        conn.send_text("40".to_string()).await?;
        loop {
            match conn.recv().await? {
                Frame::Text(t) => match proto::classify(&t) {
                    Incoming::Connected => return Ok(conn),
                    Incoming::ConnectError(e) => return Err(format!("connect_error {e}")),
                    _ => {}
                },
                Frame::Binary(_) => {}
            }
        }
    }

    pub async fn send_text(&mut self, text: String) -> Result<(), Error> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| format!("send: {e}"))
    }

    pub async fn send_binary(&mut self, bytes: Bytes) -> Result<(), Error> {
        self.ws
            .send(Message::Binary(bytes))
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// The next text or binary frame; Engine.IO pings are answered on the way.
    pub async fn recv(&mut self) -> Result<Frame, Error> {
        loop {
            let message = match self.ws.next().await {
                Some(Ok(m)) => m,
                Some(Err(e)) => return Err(format!("recv: {e}")),
                None => return Err("connection closed".into()),
            };
            match message {
                Message::Text(t) => {
                    if t.as_str() == "2" {
                        self.send_text("3".to_string()).await?;
                        continue;
                    }
                    if t.as_str() == "1" {
                        return Err("closed by the server (Engine.IO close)".into());
                    }
                    return Ok(Frame::Text(t));
                }
                Message::Binary(b) => return Ok(Frame::Binary(b)),
                Message::Close(_) => return Err("closed by the server".into()),
                _ => {}
            }
        }
    }

    /// Sends one event with an ack id and waits for that ack, answering pings meanwhile.
    pub async fn call(&mut self, id: u64, frame: String) -> Result<(), Error> {
        self.send_text(frame).await?;
        self.wait_ack(id).await
    }

    pub async fn wait_ack(&mut self, id: u64) -> Result<(), Error> {
        loop {
            if let Frame::Text(t) = self.recv().await? {
                match proto::classify(&t) {
                    Incoming::Ack(got, _) if got == id => return Ok(()),
                    Incoming::Disconnected => return Err("disconnected by the server".into()),
                    _ => {}
                }
            }
        }
    }
}
