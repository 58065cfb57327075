//! A process that is not a server, sending through the [`Emitter`]: one JSON command per
//! line on stdin, `ok` or `error: ...` per line on stdout. The JavaScript tests drive it
//! against Node nodes (tests/js/emitter.test.mjs).
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 KEY=socket.io cargo run -p actix-socketio-redis --example emitter
//! {"op":"emit","nsp":"/","to":["room"],"except":[],"volatile":false,"event":"news","args":["hi",{"$bin":"0102"}]}
//! {"op":"socketsJoin","to":["room"],"rooms":["other"]}
//! {"op":"socketsLeave","to":[],"rooms":["other"]}
//! {"op":"disconnectSockets","to":["room"],"close":true}
//! {"op":"serverSideEmit","event":"note","args":[1]}
//! ```
//!
//! `{"$bin": hex}` anywhere in `args` is a binary attachment.

use actix_socketio::socket::packet::placeholder;
use actix_socketio::Payload;
use actix_socketio_redis::Emitter;
use bytes::Bytes;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// `{"$bin": hex}` becomes a placeholder and its bytes an attachment.
fn take_binary(value: &mut Value, binary: &mut Vec<Bytes>) {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("$bin") => {
            let hex = map["$bin"].as_str().unwrap_or_default();
            let bytes: Vec<u8> = (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect();
            *value = placeholder(binary.len());
            binary.push(bytes.into());
        }
        Value::Object(map) => map.values_mut().for_each(|v| take_binary(v, binary)),
        Value::Array(items) => items.iter_mut().for_each(|v| take_binary(v, binary)),
        _ => {}
    }
}

fn strings(command: &Value, key: &str) -> Vec<String> {
    command[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn run(emitter: &Emitter, command: Value) -> Result<(), String> {
    let emitter = match command["nsp"].as_str() {
        Some(nsp) => emitter.of(nsp),
        None => emitter.clone(),
    };
    let mut operator = emitter
        .to(strings(&command, "to"))
        .except(strings(&command, "except"));
    if command["volatile"] == Value::Bool(true) {
        operator = operator.volatile();
    }
    if let Some(compress) = command["compress"].as_bool() {
        operator = operator.compress(compress);
    }
    let mut args = command["args"].as_array().cloned().unwrap_or_default();
    let mut binary = Vec::new();
    args.iter_mut()
        .for_each(|arg| take_binary(arg, &mut binary));
    let payload = Payload { args, binary };
    let event = command["event"].as_str().unwrap_or_default();
    let result = match command["op"].as_str() {
        Some("emit") => operator.emit_payload(event, payload).await,
        Some("socketsJoin") => operator.sockets_join(strings(&command, "rooms")).await,
        Some("socketsLeave") => operator.sockets_leave(strings(&command, "rooms")).await,
        Some("disconnectSockets") => {
            operator
                .disconnect_sockets(command["close"] == Value::Bool(true))
                .await
        }
        Some("serverSideEmit") => emitter.server_side_emit_payload(event, payload).await,
        other => return Err(format!("unknown op {other:?}")),
    };
    result.map_err(|e| e.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let key = std::env::var("KEY").unwrap_or_else(|_| "socket.io".into());
    let connection = redis::Client::open(url)?.get_connection_manager().await?;
    let emitter = Emitter::new(connection, key);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    while let Some(line) = lines.next_line().await? {
        let reply = match serde_json::from_str(&line) {
            Ok(command) => match run(&emitter, command).await {
                Ok(()) => "ok".to_owned(),
                Err(e) => format!("error: {e}"),
            },
            Err(e) => format!("error: {e}"),
        };
        stdout.write_all(format!("{reply}\n").as_bytes()).await?;
        stdout.flush().await?;
    }
    Ok(())
}
