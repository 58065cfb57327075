//! The wire-level client: Engine.IO over an awc WebSocket, frames in and out as they are.

use std::future::Future;
use std::time::Duration;

use awc::error::WsProtocolError;
use awc::ws::{CloseCode, Frame, Message, WebsocketsRequest};
use bytes::Bytes;
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::time::{within, STEP};

/// The awc WebSocket connection, whatever its concrete type.
pub trait WsTransport:
    Stream<Item = Result<Frame, WsProtocolError>> + Sink<Message, Error = WsProtocolError> + Unpin
{
}

impl<T> WsTransport for T where
    T: Stream<Item = Result<Frame, WsProtocolError>>
        + Sink<Message, Error = WsProtocolError>
        + Unpin
{
}

/// How the server ended a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEnd {
    /// A close frame, with its code if it had one.
    Close(Option<CloseCode>),
    /// The stream ended (or failed) without a close frame.
    Dropped,
}

/// What the raw client's reader task saw, pings excluded (they are answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Text(String),
    Binary(Bytes),
    /// The WebSocket ended; nothing follows.
    Closed(WsEnd),
}

/// How the server answered a namespace CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connect {
    /// Exactly `40[nsp,]{"sid":…}`, or `40[nsp,]{"sid":…,"pid":…}` when the server keeps
    /// connection state for recovery.
    Accepted { sid: String, pid: Option<String> },
    /// `44[nsp,]{…}`: the CONNECT_ERROR's data.
    Refused(Value),
}

/// A Socket.IO client that speaks the wire protocol: text and binary frames in and out.
/// A background task owns the WebSocket and answers every ping `2` with `3`, so a test
/// may wait on the server without losing the connection.
pub struct RawClient {
    /// The Engine.IO session id from the open packet.
    pub eio_sid: String,
    /// How long each wait for a frame may take ([`STEP`] unless set otherwise).
    pub step: Duration,
    out: UnboundedSender<Message>,
    incoming: UnboundedReceiver<Incoming>,
    task: actix_rt::task::JoinHandle<()>,
}

/// What a packet for `nsp` starts with after its type: nothing for the main namespace,
/// else the name and a comma.
pub(crate) fn nsp_prefix(nsp: &str) -> String {
    if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    }
}

impl RawClient {
    /// Opens `request` (a WebSocket to an Engine.IO endpoint, with whatever headers the
    /// test sets) and reads the open packet; panics unless the server switches protocols.
    /// Must be called inside an actix runtime.
    pub async fn open(request: WebsocketsRequest) -> RawClient {
        RawClient::open_within(request, STEP).await
    }

    /// [`RawClient::open`] with another step for every wait, the handshake's included.
    pub async fn open_within(request: WebsocketsRequest, step: Duration) -> RawClient {
        let (response, conn) = within(step, "WebSocket handshake", request.connect())
            .await
            .unwrap_or_else(|e| panic!("the Socket.IO WebSocket opens: {e:?}"));
        assert_eq!(response.status().as_u16(), 101, "switching protocols");
        RawClient::start(Box::new(conn), step).await
    }

    async fn start(mut ws: Box<dyn WsTransport>, step: Duration) -> RawClient {
        let open = match within(step, "the open packet", ws.next()).await {
            Some(Ok(Frame::Text(bytes))) => String::from_utf8(bytes.to_vec()).expect("UTF-8"),
            other => panic!("expected the open packet, got {other:?}"),
        };
        let json = open
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("the first frame is the open packet: {open:?}"));
        let value: Value = serde_json::from_str(json).expect("open packet JSON");
        let eio_sid = value["sid"].as_str().expect("sid is a string").to_owned();

        let (out, mut out_rx) = unbounded_channel::<Message>();
        let (in_tx, incoming) = unbounded_channel();
        let task = actix_rt::spawn(async move {
            loop {
                tokio::select! {
                    message = out_rx.recv() => match message {
                        Some(message) => {
                            if ws.send(message).await.is_err() {
                                let _ = in_tx.send(Incoming::Closed(WsEnd::Dropped));
                                return;
                            }
                        }
                        // The client was dropped (or finished): leave without a word.
                        None => return,
                    },
                    frame = ws.next() => {
                        let item = match frame {
                            Some(Ok(Frame::Text(bytes))) if &bytes[..] == b"2" => {
                                if ws.send(Message::Text("3".into())).await.is_err() {
                                    let _ = in_tx.send(Incoming::Closed(WsEnd::Dropped));
                                    return;
                                }
                                continue;
                            }
                            Some(Ok(Frame::Text(bytes))) => Incoming::Text(
                                String::from_utf8(bytes.to_vec()).expect("UTF-8 text frame"),
                            ),
                            Some(Ok(Frame::Binary(bytes))) => Incoming::Binary(bytes),
                            Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => continue,
                            Some(Ok(Frame::Close(reason))) => {
                                Incoming::Closed(WsEnd::Close(reason.map(|r| r.code)))
                            }
                            Some(Ok(Frame::Continuation(_))) => {
                                panic!("unexpected continuation frame")
                            }
                            Some(Err(_)) | None => Incoming::Closed(WsEnd::Dropped),
                        };
                        let closed = matches!(item, Incoming::Closed(_));
                        if in_tx.send(item).is_err() || closed {
                            return;
                        }
                    }
                }
            }
        });
        RawClient {
            eio_sid,
            step,
            out,
            incoming,
            task,
        }
    }

    /// Sends any WebSocket message as it is.
    pub fn send_message(&self, message: Message) {
        self.out
            .send(message)
            .expect("the WebSocket task is running");
    }

    pub fn send(&self, text: &str) {
        self.send_message(Message::Text(text.to_owned().into()));
    }

    pub fn send_binary(&self, bytes: &[u8]) {
        self.send_message(Message::Binary(Bytes::copy_from_slice(bytes)));
    }

    /// Sends a close frame (code 1000).
    pub fn close(&self) {
        self.send_message(Message::Close(Some(CloseCode::Normal.into())));
    }

    /// Drops the connection once everything sent so far is written (within the step), as
    /// a tab that goes away does.
    pub async fn finish(self) {
        let RawClient {
            out, task, step, ..
        } = self;
        drop(out);
        let _ = actix_rt::time::timeout(step, task).await;
    }

    /// The next frame that is not a ping, within the step.
    pub async fn recv(&mut self) -> Incoming {
        within(self.step, "a frame from the server", self.incoming.recv())
            .await
            .expect("the WebSocket task ended after reporting the close")
    }

    /// The next frame that is not a ping, if one comes within `wait`.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Incoming> {
        match actix_rt::time::timeout(wait, self.incoming.recv()).await {
            Ok(item) => Some(item.expect("the WebSocket task ended after reporting the close")),
            Err(_) => None,
        }
    }

    /// The next frame, which must be text.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Incoming::Text(text) => text,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next frame, which must be binary.
    pub async fn recv_binary(&mut self) -> Bytes {
        match self.recv().await {
            Incoming::Binary(bytes) => bytes,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    /// The next frame must be exactly the text `expected`.
    #[track_caller]
    pub fn expect<'a>(&'a mut self, expected: &'a str) -> impl Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let got = self.recv_text().await;
            assert_eq!(got, expected, "at {caller}");
        }
    }

    /// Nothing but pings arrives for `time`.
    pub async fn expect_silence(&mut self, time: Duration) {
        if let Some(item) = self.try_recv(time).await {
            panic!("expected nothing for {time:?}, got {item:?}");
        }
    }

    /// The server ends the WebSocket within `limit`; any data frame before fails.
    pub async fn expect_closed(&mut self, limit: Duration) -> WsEnd {
        match within(
            limit,
            "the server closes the WebSocket",
            self.incoming.recv(),
        )
        .await
        {
            Some(Incoming::Closed(end)) => end,
            other => panic!("expected the WebSocket to close, got {other:?}"),
        }
    }

    /// Sends CONNECT for `nsp` (`"/"` for the main namespace) with optional auth JSON, and
    /// reads the answer, which must be the next frame.
    pub async fn join(&mut self, nsp: &str, auth: Option<&str>) -> Connect {
        let prefix = nsp_prefix(nsp);
        self.send(&format!("40{prefix}{}", auth.unwrap_or("")));
        let answer = self.recv_text().await;
        if let Some(json) = answer.strip_prefix(&format!("44{prefix}")) {
            let data = serde_json::from_str(json).unwrap_or_else(|e| panic!("{answer:?}: {e}"));
            return Connect::Refused(data);
        }
        let json = answer
            .strip_prefix(&format!("40{prefix}"))
            .unwrap_or_else(|| panic!("CONNECT {nsp} is answered: {answer:?}"));
        let value: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{answer:?}: {e}"));
        let sid = value["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer:?} has a sid"))
            .to_owned();
        let pid = value.get("pid").map(|pid| {
            pid.as_str()
                .unwrap_or_else(|| panic!("{answer:?}: the pid is a string"))
                .to_owned()
        });
        let exact = match &pid {
            None => format!(r#"40{prefix}{{"sid":"{sid}"}}"#),
            Some(pid) => format!(r#"40{prefix}{{"sid":"{sid}","pid":"{pid}"}}"#),
        };
        assert_eq!(answer, exact, "exact");
        Connect::Accepted { sid, pid }
    }

    /// Joins `nsp` (see [`RawClient::join`]), which must accept; returns the socket id.
    pub async fn connect(&mut self, nsp: &str, auth: Option<&str>) -> String {
        match self.join(nsp, auth).await {
            Connect::Accepted { sid, .. } => sid,
            Connect::Refused(data) => panic!("CONNECT {nsp} is accepted: refused with {data}"),
        }
    }
}
