//! One Engine.IO connection seen from Socket.IO: the decoder and the connection's sockets,
//! one per namespace it joined.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use serde_json::{json, Value};

use super::adapter::RestoredSession;
use super::error::DisconnectReason;
use super::handshake::Handshake;
use super::namespace::Namespace;
use super::namespaces::Namespaces;
use super::packet::{Decoder, Packet, ParseError};
use super::socket::{Connection, Identity, Socket};
use super::task::run_local;
use crate::engine::{self, CloseReason, EngineSocket};
use crate::sync::lock;

/// The limits each connection enforces, from [`SocketIoConfig`](super::SocketIoConfig).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientLimits {
    pub(crate) connect_timeout: std::time::Duration,
    pub(crate) max_attachments: usize,
    pub(crate) max_attachment_bytes: usize,
    pub(crate) attachment_timeout: std::time::Duration,
}

pub(crate) struct ClientInner {
    engine: EngineSocket,
    limits: ClientLimits,
    state: Mutex<ClientState>,
    /// The client broke the Socket.IO protocol: its sockets leave with "parse error".
    parse_error: AtomicBool,
    /// Closes the connection if no namespace is joined within `connect_timeout`.
    connect_timer: Mutex<Option<actix_web::rt::task::JoinHandle<()>>>,
}

struct ClientState {
    /// Reassembles binary packets from their attachments.
    decoder: Decoder,
    /// The sockets of this connection, one per namespace: a client joins one or a few, so
    /// a list searched by name is smaller and faster than a map.
    sockets: Vec<Socket>,
    /// The connection closed; late connects (after async middleware) are dropped.
    closed: bool,
    /// Ends the wait of the binary packet the decoder holds (`attachment_timeout`).
    attachment_timer: Option<actix_web::rt::task::JoinHandle<()>>,
    /// Counts the binary packets that waited, so a late timer knows its packet is gone.
    attachment_wait: u64,
}

/// The Engine.IO handler data of a Socket.IO connection.
#[derive(Clone)]
pub struct Client(Arc<ClientInner>);

impl Client {
    pub(crate) fn open(engine: &EngineSocket, limits: ClientLimits) -> Client {
        let state = ClientState {
            decoder: Decoder::new(limits.max_attachments, limits.max_attachment_bytes),
            sockets: Vec::new(),
            closed: false,
            attachment_timer: None,
            attachment_wait: 0,
        };
        let client = Client(Arc::new(ClientInner {
            engine: engine.clone(),
            limits,
            state: Mutex::new(state),
            parse_error: AtomicBool::new(false),
            connect_timer: Mutex::new(None),
        }));
        let weak = Arc::downgrade(&client.0);
        let timer = actix_web::rt::spawn(async move {
            tokio::time::sleep(limits.connect_timeout).await;
            if let Some(client) = weak.upgrade() {
                log::debug!("no CONNECT within the connect timeout: closing");
                client.engine.close();
            }
        });
        *lock(&client.0.connect_timer) = Some(timer);
        client
    }

    /// An Engine.IO message from the client.
    pub(crate) fn on_message(&self, namespaces: &Namespaces, message: engine::Data) {
        let decoded = self.decode(message);
        let packet = match decoded {
            Ok(Some(packet)) => packet,
            Ok(None) => return,
            Err(error) => return self.protocol_error(&error),
        };
        // As Node's `Client.ondecoded`: a packet other than CONNECT for a namespace not
        // joined is an invalid state that closes the connection.
        let socket = self.socket(packet.nsp());
        match (packet, socket) {
            (Packet::Connect { nsp, data }, None) => {
                self.connect(namespaces, nsp, data.unwrap_or_else(|| json!({})))
            }
            (Packet::Disconnect { .. }, Some(socket)) => {
                socket.cleanup(DisconnectReason::ClientNamespaceDisconnect);
            }
            (
                Packet::Event {
                    event, payload, id, ..
                },
                Some(socket),
            ) => socket.dispatch_event(event, payload, id),
            (Packet::Ack { payload, id, .. }, Some(socket)) => socket.resolve_ack(id, payload),
            (Packet::ConnectError { .. }, _) => self.protocol_error(&"CONNECT_ERROR from a client"),
            // Node closes here too, but the official client sends CONNECT twice for
            // `manager.socket(nsp).connect()`, and Node registers a socket only a tick
            // later, so it never sees that second one as a duplicate; ignoring it keeps
            // such clients working.
            (Packet::Connect { nsp, .. }, Some(_)) => {
                log::debug!("ignoring a second CONNECT to {nsp}");
            }
            (packet, None) => self.protocol_error(&format!(
                "a packet for {}, which it has not joined",
                packet.nsp()
            )),
        }
    }

    /// Feeds the decoder, and bounds how long a binary packet may wait for attachments.
    fn decode(&self, message: engine::Data) -> Result<Option<Packet>, ParseError> {
        let mut state = lock(&self.0.state);
        let was_pending = state.decoder.is_pending();
        let decoded = state.decoder.feed(message);
        let pending = state.decoder.is_pending();
        if was_pending && !pending {
            if let Some(timer) = state.attachment_timer.take() {
                timer.abort();
            }
        } else if pending && !was_pending {
            state.attachment_wait += 1;
            let wait = state.attachment_wait;
            let timeout = self.0.limits.attachment_timeout;
            let weak = Arc::downgrade(&self.0);
            state.attachment_timer = Some(actix_web::rt::spawn(async move {
                tokio::time::sleep(timeout).await;
                let Some(inner) = weak.upgrade() else { return };
                let client = Client(inner);
                let expired = {
                    let state = lock(&client.0.state);
                    state.decoder.is_pending() && state.attachment_wait == wait
                };
                if expired {
                    client.protocol_error(&"a binary packet's attachments did not come in time");
                }
            }));
        }
        decoded
    }

    /// The Engine.IO connection ended: every socket leaves with its reason.
    pub(crate) fn on_close(&self, reason: CloseReason) {
        if let Some(timer) = lock(&self.0.connect_timer).take() {
            timer.abort();
        }
        let sockets: Vec<Socket> = {
            let mut state = lock(&self.0.state);
            state.closed = true;
            if let Some(timer) = state.attachment_timer.take() {
                timer.abort();
            }
            state.sockets.clone()
        };
        let reason = if self.0.parse_error.load(Ordering::Acquire) {
            DisconnectReason::ParseError
        } else {
            DisconnectReason::from(reason)
        };
        for socket in sockets {
            socket.cleanup(reason);
        }
    }

    fn protocol_error(&self, error: &dyn std::fmt::Display) {
        log::debug!(
            "closing {}: invalid Socket.IO packet: {error}",
            self.0.engine.sid()
        );
        self.0.parse_error.store(true, Ordering::Release);
        self.0.engine.close();
    }

    fn socket(&self, nsp: &str) -> Option<Socket> {
        lock(&self.0.state)
            .sockets
            .iter()
            .find(|s| s.nsp() == nsp)
            .cloned()
    }

    fn send(&self, packet: &Packet) {
        self.0.engine.send_many(packet.encode());
    }

    fn connect(&self, namespaces: &Namespaces, nsp: String, auth: Value) {
        let Some(ns) = namespaces.lookup(&nsp) else {
            self.send(&Packet::ConnectError {
                nsp,
                data: json!({"message": "Invalid namespace"}),
            });
            return;
        };
        let Some(recovery) = ns.0.recovery().copied() else {
            return self.join(ns, auth, None);
        };
        // As Node: a client that presents a pid and an offset (both strings) asks to come
        // back; anything else, or a failed restore, is a new socket.
        let session = match (auth.get("pid"), auth.get("offset")) {
            (Some(Value::String(pid)), Some(Value::String(offset))) => {
                Some((pid.clone(), offset.clone()))
            }
            _ => None,
        };
        let Some((pid, offset)) = session else {
            return self.join(ns, auth, None);
        };
        let client = self.clone();
        let restoring = ns.adapter().restore_session(pid, offset);
        run_local(async move {
            let restored = match restoring.await {
                Ok(restored) => restored,
                Err(error) => {
                    log::warn!("{}: a session could not be restored: {error}", ns.name());
                    None
                }
            };
            client.join(ns, auth, restored.map(|r| (r, recovery.skip_middlewares)));
        });
    }

    /// Creates the socket of a CONNECT (a restored one with its old id), runs the
    /// middleware unless a recovered socket skips it, then lets it in.
    fn join(&self, ns: Namespace, auth: Value, restored: Option<(RestoredSession, bool)>) {
        let pid = |restored: &Option<(RestoredSession, bool)>| match restored {
            Some((session, _)) => Some(session.state.pid.as_str().into()),
            None => ns.0.recovery().map(|_| engine::generate_id().into()),
        };
        let identity = Identity {
            id: restored
                .as_ref()
                .map_or_else(engine::generate_id, |(s, _)| s.state.sid.clone())
                .into(),
            pid: pid(&restored),
            recovered: restored.is_some(),
        };
        let connection = Arc::downgrade(&self.0) as Weak<dyn Connection>;
        let socket = ns.0.new_socket(
            identity,
            connection,
            self.0.engine.clone(),
            Handshake::new(&self.0.engine, auth),
        );
        let skip = restored.as_ref().is_some_and(|(_, skip)| *skip);
        let restored = restored.map(|(session, _)| session);
        let middleware = ns.0.handlers.middleware();
        if middleware.is_empty() || skip {
            self.finish_connect(&ns, socket, restored);
            return;
        }
        let client = self.clone();
        run_local(async move {
            for step in middleware {
                if let Err(refusal) = step(socket.clone()).await {
                    client.send(&Packet::ConnectError {
                        nsp: ns.name().to_owned(),
                        data: refusal.to_json(),
                    });
                    return;
                }
            }
            client.finish_connect(&ns, socket, restored);
        });
    }

    fn finish_connect(&self, ns: &Namespace, socket: Socket, restored: Option<RestoredSession>) {
        {
            let mut state = lock(&self.0.state);
            // A second CONNECT to the namespace can pass async middleware while the
            // first one does; replacing that socket would leave it in the namespace and
            // its rooms for ever, so the later one is dropped.
            if state.closed || state.sockets.iter().any(|s| s.nsp() == ns.name()) {
                return;
            }
            state.sockets.push(socket.clone());
        }
        if let Some(timer) = lock(&self.0.connect_timer).take() {
            timer.abort();
        }
        let (rooms, missed) = match restored {
            Some(session) => {
                let _ = socket.set_data(session.state.data);
                (session.state.rooms, session.missed)
            }
            None => (Vec::new(), Vec::new()),
        };
        ns.0.insert(&socket, &rooms);
        socket.set_connected();
        // What it missed goes first; the client holds it until the CONNECT answer.
        for packet in &missed {
            let _ = socket.send_packet(packet);
        }
        // After the missed packets: an adapter may send here what reached the socket's
        // rooms while it was being restored.
        socket.session_changed();
        let mut answer = serde_json::Map::new();
        answer.insert("sid".into(), Value::String(socket.id().to_owned()));
        if let Some(pid) = socket.pid() {
            answer.insert("pid".into(), Value::String(pid.to_owned()));
        }
        let _ = socket.send_packet(&Packet::Connect {
            nsp: ns.name().to_owned(),
            data: Some(Value::Object(answer)),
        });
        for handler in ns.0.handlers.connect_handlers() {
            handler(socket.clone());
        }
    }
}

impl Connection for ClientInner {
    fn remove(&self, nsp: &str) {
        lock(&self.state).sockets.retain(|s| s.nsp() != nsp);
    }

    fn sockets(&self) -> Vec<Socket> {
        lock(&self.state).sockets.clone()
    }
}
