//! A Socket.IO client over a direct WebSocket (`transport=websocket`, no polling first), on
//! a minimal RFC 6455 client of its own.
//!
//! The load generator must cost less than the servers it measures: a fan-out receiver reads
//! everything its socket holds in one `read` into a buffer it keeps, and hands out each
//! frame as a slice of that buffer (no allocation, no copy, no UTF-8 check unless asked),
//! with one clock reading per `read` rather than per frame. Frames from the server are
//! unmasked (RFC 6455 5.1); ours are masked, fragmented server messages are reassembled.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};

use crate::proto::{self, Incoming};
use crate::sys;

/// Connection and handshake failures, and connections that broke.
pub type Error = String;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Spare room offered to each `read`: a fan-out receiver gets every frame queued for it in
/// one call.
const READ_CHUNK: usize = 16 * 1024;
/// The largest message accepted (the suite's largest is a 64 KiB attachment).
const MAX_MESSAGE: usize = 16 << 20;
const MAX_RESPONSE_HEAD: usize = 8 * 1024;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// A received message (pings already answered), borrowed from the connection's buffer
/// until the next call.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    Text(&'a [u8]),
    Binary(&'a [u8]),
}

impl<'a> Frame<'a> {
    /// The text of a text frame, if it is valid UTF-8.
    pub fn text(&self) -> Option<&'a str> {
        match self {
            Frame::Text(t) => std::str::from_utf8(t).ok(),
            Frame::Binary(_) => None,
        }
    }
}

/// Where the message `recv` found lives.
enum Found {
    /// A whole frame in `buf[start..end]`.
    Buffered(u8, usize, usize),
    /// A reassembled fragmented message in `fragments`.
    Reassembled,
}

pub struct WsConn {
    stream: TcpStream,
    /// Received bytes; `buf[start..]` is not parsed yet.
    buf: Vec<u8>,
    start: usize,
    /// When the last `read` returned.
    read_at: Instant,
    /// Frames of ours not written yet; `out[out_sent..]` is left. Every write goes through
    /// it, so a `recv` or `send` dropped by a `select!` never leaves half a frame behind.
    out: Vec<u8>,
    out_sent: usize,
    mask: [u8; 4],
    /// The opcode and data of a fragmented message being reassembled.
    fragments: Option<(u8, Vec<u8>)>,
}

impl WsConn {
    /// TCP from a 127.0.0.x source, the WebSocket upgrade, Engine.IO open, Socket.IO
    /// CONNECT to `/`.
    pub async fn connect(server: SocketAddr, index: usize) -> Result<WsConn, Error> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, Self::connect_inner(server, index))
            .await
            .map_err(|_| "handshake timed out".to_string())?
    }

    async fn connect_inner(server: SocketAddr, index: usize) -> Result<WsConn, Error> {
        let stream = sys::connect_from(sys::source_addr(index), server)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let key = generate_key();
        // The key is base64 of 16 random bytes: its first four make an unpredictable mask.
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&key.as_bytes()[..4]);
        let mut conn = WsConn {
            stream,
            buf: Vec::new(),
            start: 0,
            read_at: Instant::now(),
            out: Vec::new(),
            out_sent: 0,
            mask,
            fragments: None,
        };
        conn.upgrade(server, &key).await?;
        match conn.recv().await? {
            Frame::Text(t) if t.first() == Some(&b'0') => {}
            _ => return Err("no Engine.IO open packet".into()),
        }
        conn.send_text("40").await?;
        loop {
            if let Some(t) = conn.recv().await?.text() {
                match proto::classify(t) {
                    Incoming::Connected => return Ok(conn),
                    Incoming::ConnectError(e) => return Err(format!("connect_error {e}")),
                    _ => {}
                }
            }
        }
    }

    /// The HTTP/1.1 upgrade; bytes after the response head stay in the buffer as frames.
    async fn upgrade(&mut self, server: SocketAddr, key: &str) -> Result<(), Error> {
        let request = format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {server}\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: {key}\r\n\r\n"
        );
        self.out.extend_from_slice(request.as_bytes());
        self.flush().await?;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_RESPONSE_HEAD {
                return Err("websocket handshake: response head too long".into());
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or("");
        if !status.starts_with("HTTP/1.1 101") {
            return Err(format!("websocket handshake: {status}"));
        }
        let accept = lines.find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-accept")
                .then(|| value.trim())
        });
        if accept != Some(derive_accept_key(key.as_bytes()).as_str()) {
            return Err("websocket handshake: wrong Sec-WebSocket-Accept".into());
        }
        self.start = head_end;
        Ok(())
    }

    /// When the bytes of the frame `recv` returned last were read: the receipt time of
    /// every frame that came in the same `read`.
    pub fn read_at(&self) -> Instant {
        self.read_at
    }

    /// Reads more: whatever the socket holds, up to `READ_CHUNK` past what is buffered.
    async fn fill(&mut self) -> Result<(), Error> {
        if self.start > 0 {
            // Only an incomplete frame is left: move it to the front.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.reserve(READ_CHUNK);
        // `read_buf` (not `try_read`): after a short read tokio marks the socket not
        // readable, which spares the `read` that would only say EAGAIN.
        let n = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| format!("recv: {e}"))?;
        if n == 0 {
            return Err("connection closed".into());
        }
        self.read_at = Instant::now();
        Ok(())
    }

    /// Writes what `out` holds. Cancel-safe: progress is kept in `out_sent`.
    async fn flush(&mut self) -> Result<(), Error> {
        while self.out_sent < self.out.len() {
            let n = self
                .stream
                .write(&self.out[self.out_sent..])
                .await
                .map_err(|e| format!("send: {e}"))?;
            if n == 0 {
                return Err("send: connection closed".into());
            }
            self.out_sent += n;
        }
        self.out.clear();
        self.out_sent = 0;
        Ok(())
    }

    /// Appends one masked frame to `out`.
    fn queue(&mut self, opcode: u8, payload: &[u8]) {
        let len = payload.len();
        self.out.reserve(len + 14);
        self.out.push(0x80 | opcode);
        if len < 126 {
            self.out.push(0x80 | len as u8);
        } else if len <= u16::MAX as usize {
            self.out.push(0x80 | 126);
            self.out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.out.push(0x80 | 127);
            self.out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        self.out.extend_from_slice(&self.mask);
        let at = self.out.len();
        self.out.extend_from_slice(payload);
        apply_mask(&mut self.out[at..], self.mask);
    }

    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.queue(OP_TEXT, text.as_bytes());
        self.flush().await
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.queue(OP_BINARY, bytes);
        self.flush().await
    }

    /// The next whole frame in the buffer: `(fin, opcode, payload start, payload end)`.
    fn parse(&mut self) -> Result<Option<(bool, u8, usize, usize)>, Error> {
        let b = &self.buf[self.start..];
        if b.len() < 2 {
            return Ok(None);
        }
        if b[1] & 0x80 != 0 {
            return Err("protocol: a masked frame from the server".into());
        }
        let (len, head) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&b[2..10]);
                (
                    usize::try_from(u64::from_be_bytes(n)).unwrap_or(usize::MAX),
                    10,
                )
            }
            126 | 127 => return Ok(None),
            n => (n as usize, 2),
        };
        if len > MAX_MESSAGE {
            return Err(format!("protocol: a frame of {len} bytes"));
        }
        if b.len() < head + len {
            return Ok(None);
        }
        let (fin, opcode) = (b[0] & 0x80 != 0, b[0] & 0x0f);
        let at = self.start + head;
        self.start = at + len;
        Ok(Some((fin, opcode, at, at + len)))
    }

    /// The next text or binary message; WebSocket pings and Engine.IO pings are answered on
    /// the way. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Frame<'_>, Error> {
        let found = loop {
            if self.out_sent < self.out.len() {
                self.flush().await?;
            }
            let Some((fin, opcode, from, to)) = self.parse()? else {
                self.fill().await?;
                continue;
            };
            match opcode {
                OP_TEXT | OP_BINARY if fin => {
                    if self.fragments.is_some() {
                        return Err("protocol: a new message inside a fragmented one".into());
                    }
                    let payload = &self.buf[from..to];
                    if opcode == OP_TEXT && payload == b"2" {
                        self.queue(OP_TEXT, b"3");
                        continue;
                    }
                    if opcode == OP_TEXT && payload == b"1" {
                        return Err("closed by the server (Engine.IO close)".into());
                    }
                    break Found::Buffered(opcode, from, to);
                }
                OP_TEXT | OP_BINARY => {
                    if self.fragments.is_some() {
                        return Err("protocol: a new message inside a fragmented one".into());
                    }
                    self.fragments = Some((opcode, self.buf[from..to].to_vec()));
                }
                OP_CONTINUATION => {
                    let Some((_, data)) = self.fragments.as_mut() else {
                        return Err("protocol: a continuation with no message".into());
                    };
                    data.extend_from_slice(&self.buf[from..to]);
                    if data.len() > MAX_MESSAGE {
                        return Err("protocol: a message over 16 MiB".into());
                    }
                    if fin {
                        break Found::Reassembled;
                    }
                }
                OP_PING => {
                    let payload = self.buf[from..to].to_vec();
                    self.queue(OP_PONG, &payload);
                }
                OP_PONG => {}
                OP_CLOSE => return Err("closed by the server".into()),
                other => return Err(format!("protocol: opcode {other}")),
            }
        };
        Ok(match found {
            Found::Buffered(OP_TEXT, from, to) => Frame::Text(&self.buf[from..to]),
            Found::Buffered(_, from, to) => Frame::Binary(&self.buf[from..to]),
            Found::Reassembled => {
                // Kept at the front of the buffer until the next call, as a buffered frame.
                let (opcode, data) = self.fragments.take().unwrap_or_default();
                self.buf.drain(..self.start);
                self.start = data.len();
                self.buf.splice(0..0, data);
                let whole = &self.buf[..self.start];
                if opcode == OP_TEXT {
                    Frame::Text(whole)
                } else {
                    Frame::Binary(whole)
                }
            }
        })
    }

    /// Sends one event with an ack id and waits for that ack, answering pings meanwhile.
    pub async fn call(&mut self, id: u64, frame: &str) -> Result<(), Error> {
        self.send_text(frame).await?;
        self.wait_ack(id).await
    }

    pub async fn wait_ack(&mut self, id: u64) -> Result<(), Error> {
        loop {
            if let Some(t) = self.recv().await?.text() {
                match proto::classify(t) {
                    Incoming::Ack(got, _) if got == id => return Ok(()),
                    Incoming::Disconnected => return Err("disconnected by the server".into()),
                    _ => {}
                }
            }
        }
    }
}

/// XORs `data` with the repeated 4-byte `mask`, 8 bytes at a time: the binary scenario masks
/// 64 KiB per message.
fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // A multiple of 8 bytes is behind: the rest starts at mask index 0.
    for (b, m) in chunks.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *b ^= m;
    }
}

#[cfg(test)]
mod tests {
    use super::apply_mask;

    #[test]
    fn masks_as_rfc_6455_says() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for len in [0, 1, 5, 8, 13, 64] {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut masked = data.clone();
            apply_mask(&mut masked, mask);
            let expected: Vec<u8> = data
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            assert_eq!(masked, expected, "{len} bytes");
        }
    }
}
