//! Connection state recovery on one server, on the wire: the CONNECT answer's pid, the
//! offsets appended to events, and a client that comes back getting its id, rooms, data
//! and exactly what it missed, before the CONNECT answer.

mod support;

use std::time::Duration;

use actix_socketio::{AckSender, Data, RecoveryConfig, Socket, SocketIo};
use serde_json::{json, Value};
use support::{reports, sio_config, RawClient, Reports, SioServer};

const QUIET: Duration = Duration::from_millis(100);

/// What each connecting socket reports: its id, whether it recovered, its rooms and data.
type Joined = (String, bool, Vec<String>, Value);

/// A server with recovery on; sockets join the room an event names, and set their data on
/// `data`.
fn server() -> (SioServer, Reports<Joined>) {
    let mut config = sio_config();
    config.connection_state_recovery = Some(RecoveryConfig::default());
    let io = SocketIo::new(config);
    let (tx, joined) = reports::<Joined>();
    io.on_connect(move |socket: Socket| {
        let mut rooms = socket.rooms();
        rooms.sort();
        let _ = tx.send((
            socket.id().to_owned(),
            socket.recovered(),
            rooms,
            socket.data(),
        ));
        socket.on(
            "join",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
                let _ = socket.join(room);
                let _ = ack.send(());
            },
        );
        socket.on(
            "data",
            |socket: Socket, Data(data): Data<Value>| async move {
                let _ = socket.set_data(data);
            },
        );
        async {}
    });
    (SioServer::start(io), joined)
}

/// Sends CONNECT with `auth` and returns the frames up to and including the answer, which
/// must be `40{"sid":…,"pid":…}`; with the sid and pid.
async fn connect(client: &mut RawClient, auth: &str) -> (Vec<String>, String, String) {
    client.send(&format!("40{auth}"));
    let mut before = Vec::new();
    loop {
        let frame = client.recv_text().await;
        if let Some(json) = frame.strip_prefix("40") {
            let answer: Value = serde_json::from_str(json).expect("CONNECT answer JSON");
            let sid = answer["sid"].as_str().expect("sid").to_owned();
            let pid = answer["pid"].as_str().expect("pid").to_owned();
            assert_eq!(
                frame,
                format!(r#"40{{"sid":"{sid}","pid":"{pid}"}}"#),
                "exact"
            );
            return (before, sid, pid);
        }
        before.push(frame);
    }
}

/// The offset an event carries as its last argument.
fn offset(frame: &str) -> String {
    let event: Value =
        serde_json::from_str(frame.strip_prefix("42").expect("an event")).expect("event JSON");
    event
        .as_array()
        .and_then(|args| args.last())
        .and_then(Value::as_str)
        .expect("a string offset last")
        .to_owned()
}

#[actix_web::test]
async fn a_client_that_comes_back_gets_its_socket_and_what_it_missed_before_connect() {
    let (srv, mut joined) = server();
    let mut client = srv.raw().await;
    let (_, sid, pid) = connect(&mut client, "").await;
    assert_eq!(sid.len(), 20);
    assert_eq!(pid.len(), 20);
    assert_ne!(sid, pid);
    assert!(!joined.next("first connection").await.1);
    client.send(r#"421["join","r"]"#);
    client.expect("431[null]").await;
    client.send(r#"42["data",{"name":"a"}]"#);

    // Every event kept for recovery carries its offset as its last argument...
    let socket = srv.io.socket(&sid).expect("connected");
    socket.emit("to-me", 1).unwrap();
    let first = client.recv_text().await;
    let first_offset = offset(&first);
    assert_eq!(first, format!(r#"42["to-me",1,"{first_offset}"]"#));
    srv.io.to("r").emit("to-room", 2).unwrap();
    let second = client.recv_text().await;
    assert_eq!(second, format!(r#"42["to-room",2,"{}"]"#, offset(&second)));
    assert_ne!(offset(&second), first_offset);
    // ...those with an ack, or volatile, are not kept and carry none.
    let asking = socket.emit_with_ack::<Value>("ask", 3);
    client.expect(r#"420["ask",3]"#).await;
    drop(asking);
    srv.io.volatile().emit("now-or-never", 9).unwrap();
    client.expect(r#"42["now-or-never",9]"#).await;
    drop(socket);

    // The connection ends (a close frame: "transport close", which a client comes back
    // from); meanwhile the room and everyone get events, others do not.
    client.close();
    support::within(support::STEP, "the session is kept", async {
        while srv.io.socket(&sid).is_some() {
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    srv.io.to("r").emit("missed", 4).unwrap();
    srv.io.to("elsewhere").emit("not-mine", 5).unwrap();
    srv.io.emit("everyone", 6).unwrap();
    srv.io.except("r").emit("excluded", 7).unwrap();
    srv.io.volatile().emit("volatile", 8).unwrap();

    let mut back = srv.raw().await;
    let auth = json!({"pid": pid, "offset": offset(&second), "token": "kept"}).to_string();
    let (missed, new_sid, new_pid) = connect(&mut back, &auth).await;
    assert_eq!(
        (new_sid.as_str(), new_pid.as_str()),
        (sid.as_str(), pid.as_str())
    );
    assert_eq!(missed.len(), 2, "{missed:?}");
    assert_eq!(
        missed[0],
        format!(r#"42["missed",4,"{}"]"#, offset(&missed[0]))
    );
    assert_eq!(
        missed[1],
        format!(r#"42["everyone",6,"{}"]"#, offset(&missed[1]))
    );
    let (id, recovered, rooms, data) = joined.next("recovered connection").await;
    assert_eq!(id, sid);
    assert!(recovered);
    let mut expected = vec!["r".to_owned(), sid.clone()];
    expected.sort();
    assert_eq!(rooms, expected);
    assert_eq!(data, json!({"name": "a"}));
    // Recovered once: the same pid again gets a new socket.
    back.expect_silence(QUIET).await;
    let mut again = srv.raw().await;
    let auth = json!({"pid": pid, "offset": offset(&missed[1])}).to_string();
    let (missed, other_sid, _) = connect(&mut again, &auth).await;
    assert!(missed.is_empty());
    assert_ne!(other_sid, sid);
    assert!(!joined.next("fresh connection").await.1);
    srv.stop().await;
}

#[actix_web::test]
async fn leaving_on_purpose_or_an_unknown_pid_starts_afresh() {
    let (srv, mut joined) = server();
    let mut client = srv.raw().await;
    let (_, sid, pid) = connect(&mut client, "").await;
    joined.next("connection").await;
    srv.io.socket(&sid).unwrap().emit("e", 1).unwrap();
    let last = offset(&client.recv_text().await);
    // A DISCONNECT from the client: it meant to leave, nothing is kept.
    client.send("41");
    support::within(support::STEP, "the socket leaves", async {
        while srv.io.socket(&sid).is_some() {
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let auth = json!({"pid": pid, "offset": last}).to_string();
    let (missed, new_sid, new_pid) = connect(&mut client, &auth).await;
    assert!(missed.is_empty());
    assert_ne!(new_sid, sid);
    assert_ne!(new_pid, pid);
    assert!(!joined.next("fresh").await.1);
    // Not strings: an ordinary CONNECT.
    let mut other = srv.raw().await;
    let (missed, _, _) = connect(&mut other, r#"{"pid":1,"offset":null}"#).await;
    assert!(missed.is_empty());
    srv.stop().await;
}

#[actix_web::test]
async fn without_recovery_connect_answers_carry_no_pid_and_events_no_offset() {
    let io = SocketIo::new(sio_config());
    let srv = SioServer::start(io);
    let mut client = srv.raw().await;
    let sid = client.connect("/", None).await;
    srv.io.socket(&sid).unwrap().emit("e", 1).unwrap();
    client.expect(r#"42["e",1]"#).await;
    srv.stop().await;
}
