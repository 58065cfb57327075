//! A WebSocket client on a bare TCP stream.

use std::future::Future;
use std::net::SocketAddr;

use crate::time::{within, STEP};

pub const OPCODE_TEXT: u8 = 0x1;
pub const OPCODE_CLOSE: u8 = 0x8;

/// A WebSocket client written on a bare TCP stream: it sends any frame it is given,
/// valid or not, and answers nothing on its own (no pong, no close), like a peer that
/// vanished.
pub struct TcpWs {
    stream: tokio::net::TcpStream,
    buffer: Vec<u8>,
}

impl TcpWs {
    /// Connects and upgrades; panics unless the server switches protocols.
    pub async fn connect(addr: SocketAddr, path: &str) -> TcpWs {
        use tokio::io::AsyncWriteExt as _;
        let mut stream = within(STEP, "TCP connect", tokio::net::TcpStream::connect(addr))
            .await
            .expect("TCP connect");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("upgrade request is sent");
        let mut ws = TcpWs {
            stream,
            buffer: Vec::new(),
        };
        let head = within(STEP, "the upgrade response", async {
            loop {
                if let Some(end) = ws.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head: Vec<u8> = ws.buffer.drain(..end + 4).collect();
                    return String::from_utf8(head).expect("ASCII response head");
                }
                assert!(
                    ws.fill().await,
                    "the server closed before answering the upgrade"
                );
            }
        })
        .await;
        assert!(
            head.starts_with("HTTP/1.1 101 "),
            "switching protocols: {head:?}"
        );
        ws
    }

    /// Reads more bytes into the buffer; false at end of stream (or on a reset).
    async fn fill(&mut self) -> bool {
        use tokio::io::AsyncReadExt as _;
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Sends one final, masked frame with any payload.
    pub async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        use tokio::io::AsyncWriteExt as _;
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            len @ 0..=125 => frame.push(0x80 | len as u8),
            len @ 126..=0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        within(STEP, "a raw frame is sent", self.stream.write_all(&frame))
            .await
            .expect("the raw frame is written");
    }

    /// The next frame from the server as (opcode, payload), within [`STEP`]; `None` at
    /// end of stream. Server frames are unmasked and, from this server, unfragmented.
    pub async fn recv_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        within(STEP, "a raw frame", async {
            loop {
                if let Some(frame) = self.take_frame() {
                    return Some(frame);
                }
                if !self.fill().await {
                    return None;
                }
            }
        })
        .await
    }

    fn take_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let b = &self.buffer;
        if b.len() < 2 {
            return None;
        }
        let (len, start) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => {
                let mut len = [0u8; 8];
                len.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(len) as usize, 10)
            }
            126 | 127 => return None,
            len => (len as usize, 2),
        };
        if b.len() < start + len {
            return None;
        }
        let opcode = b[0] & 0x0f;
        let frame: Vec<u8> = self.buffer.drain(..start + len).skip(start).collect();
        Some((opcode, frame))
    }

    /// The next text frame, which must be exactly `expected`.
    #[track_caller]
    pub fn expect_text<'a>(&'a mut self, expected: &'a str) -> impl Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let frame = self.recv_frame().await;
            assert_eq!(
                frame,
                Some((OPCODE_TEXT, expected.as_bytes().to_vec())),
                "at {caller}"
            );
        }
    }
}
