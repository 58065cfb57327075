//! A Socket.IO client over HTTP long-polling only, on a minimal HTTP/1.1 keep-alive client.
//!
//! Like the official client it uses two connections: one for the pending GET (the
//! long-poll) and one for POSTs.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::proto::{self, Incoming};
use crate::sys;

pub type Error = String;

/// One HTTP/1.1 keep-alive connection.
pub struct Http {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl Http {
    pub async fn connect(server: SocketAddr, index: usize) -> Result<Http, Error> {
        let stream = sys::connect_from(sys::source_addr(index), server)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        Ok(Http {
            stream,
            host: format!("{}:{}", server.ip(), server.port()),
            buf: Vec::with_capacity(1024),
        })
    }

    /// Sends one request and reads its response; returns the status and body.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), Error> {
        let mut req = Vec::with_capacity(160 + body.len());
        req.extend_from_slice(method.as_bytes());
        req.push(b' ');
        req.extend_from_slice(path.as_bytes());
        req.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        req.extend_from_slice(self.host.as_bytes());
        if method == "POST" {
            req.extend_from_slice(
                b"\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: ",
            );
            req.extend_from_slice(body.len().to_string().as_bytes());
        }
        req.extend_from_slice(b"\r\n\r\n");
        req.extend_from_slice(body);
        self.stream
            .write_all(&req)
            .await
            .map_err(|e| format!("http write: {e}"))?;
        self.read_response().await
    }

    async fn fill(&mut self) -> Result<(), Error> {
        let mut chunk = [0u8; 8192];
        let n = self
            .stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("http read: {e}"))?;
        if n == 0 {
            return Err("http: connection closed".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    async fn read_response(&mut self) -> Result<(u16, Vec<u8>), Error> {
        let head_end = loop {
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                break pos + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("http: bad status line in {head:?}"))?;
        let mut length = None;
        let mut chunked = false;
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding")
                    && value.eq_ignore_ascii_case("chunked")
                {
                    chunked = true;
                }
            }
        }
        let body = if chunked {
            self.read_chunked().await?
        } else {
            let len = length.unwrap_or(0);
            while self.buf.len() < len {
                self.fill().await?;
            }
            self.buf.drain(..len).collect()
        };
        Ok((status, body))
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>, Error> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(pos) = find(&self.buf, b"\r\n") {
                    break pos;
                }
                self.fill().await?;
            };
            let size_line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| format!("http: bad chunk size {size_line:?}"))?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A Socket.IO session on long-polling, connected to `/`.
pub struct PollingSession {
    pub get: Http,
    pub post: Http,
    pub path: String,
    /// Packets that came with the CONNECT answer, to be handled first.
    pub pending: Vec<String>,
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

impl PollingSession {
    pub async fn connect(server: SocketAddr, index: usize) -> Result<PollingSession, Error> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, Self::connect_inner(server, index))
            .await
            .map_err(|_| "polling handshake timed out".to_string())?
    }

    async fn connect_inner(server: SocketAddr, index: usize) -> Result<PollingSession, Error> {
        let mut get = Http::connect(server, index).await?;
        let (status, body) = get
            .request("GET", "/socket.io/?EIO=4&transport=polling", b"")
            .await?;
        let body = String::from_utf8_lossy(&body).into_owned();
        if status != 200 {
            return Err(format!("polling handshake: HTTP {status}: {body}"));
        }
        let sid = match proto::classify(&body) {
            Incoming::Open(json) => proto::open_sid(json).map(str::to_owned),
            _ => None,
        }
        .ok_or_else(|| format!("polling handshake: no open packet in {body:?}"))?;
        let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        let mut post = Http::connect(server, index).await?;
        let (status, body) = post.request("POST", &path, b"40").await?;
        if status != 200 {
            return Err(format!(
                "polling CONNECT: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        let mut session = PollingSession {
            get,
            post,
            path,
            pending: Vec::new(),
        };
        loop {
            let packets = session.poll().await?;
            let mut connected = false;
            for packet in packets {
                match proto::classify(&packet) {
                    Incoming::Connected => connected = true,
                    Incoming::ConnectError(e) => return Err(format!("connect_error {e}")),
                    _ if connected => session.pending.push(packet),
                    _ => {}
                }
            }
            if connected {
                return Ok(session);
            }
        }
    }

    /// One long-poll: the packets of the next GET.
    pub async fn poll(&mut self) -> Result<Vec<String>, Error> {
        let (status, body) = self.get.request("GET", &self.path, b"").await?;
        if status != 200 {
            return Err(format!("poll: HTTP {status}"));
        }
        let body = String::from_utf8(body).map_err(|_| "poll: body is not UTF-8".to_string())?;
        Ok(body.split('\u{1e}').map(str::to_owned).collect())
    }
}

/// POSTs one payload on a session's POST connection.
pub async fn post(http: &mut Http, path: &str, body: &[u8]) -> Result<(), Error> {
    let (status, reply) = http.request("POST", path, body).await?;
    if status != 200 {
        return Err(format!(
            "post: HTTP {status}: {}",
            String::from_utf8_lossy(&reply)
        ));
    }
    Ok(())
}
