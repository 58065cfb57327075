//! Delivery under faults with connection state recovery: three nodes of one streams
//! cluster (`ADAPTER=streams`, `RECOVERY_MS`) on a Redis of the benchmark's own, clients
//! spread over nodes 2 and 3, each in room `all` and a room of its own; one emitter on
//! node 1 (never harmed) sends a steady stream: every tick, one event to `all` and one to
//! a client's own room in turn. Meanwhile, by scenario:
//! - `tcp`: the clients' TCP connections are killed (RST) in turn, each every
//!   `--kill-every-ms`; a client comes back on the node it was on;
//! - `move`: the same, and it comes back on the other node;
//! - `sigkill`: node 2 is killed (SIGKILL) a quarter of the way in and started again 2 s
//!   later, then node 3 likewise at five eighths; their clients come back on the other.
//!
//! Each client does what socket.io-client 4.8 does: after a drop it waits its reconnection
//! delay (1 s, randomized by half, its defaults), sends `{pid, offset}` in CONNECT (the last
//! string argument of the last event is the offset), and is recovered if the answer has
//! its old pid; and what an application does when it is not: it joins its rooms again.
//! Delivery is the share of the events sent to a client's rooms while it measured (acked
//! by the emitter's node) that reached it, each counted once; duplicates and events out of
//! stream order are counted apart.
//!
//! Servers, each a homogeneous cluster of 3 on the same machine, pinned to core 0 (Redis
//! and this generator to core 1):
//! - `ours`: actix-socketio with actix-socketio-redis's streams adapter
//!   (`target/release/examples/cluster_node`);
//! - `node`: socket.io 4.8 with @socket.io/redis-streams-adapter 0.3
//!   (`tests/js/cluster/node.mjs`).
//!
//! ```text
//! cargo run --release -p loadgen --bin recovery_faults -- [--servers ours,node]
//!     [--scenarios tcp,move,sigkill] [--clients 60] [--seconds 20] [--tick-ms 20]
//!     [--kill-every-ms 3000] [--smoke] [--no-write]
//! ```
//!
//! `make bench-recovery` builds what it needs and runs it; the table goes to stdout and to
//! `bench/results/<date>-recovery.md`.

#[path = "shared/cluster.rs"]
mod cluster;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::{
    free_port, node_command, number, spawn_pinned, start, start_redis, wait_listening,
    write_results, Error, Process,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

/// How long the last events may take to reach every client once the stream stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// socket.io-client's `reconnectionDelay` and `randomizationFactor` defaults.
const RECONNECTION_DELAY: Duration = Duration::from_millis(1000);
const RANDOMIZATION: f64 = 0.5;
/// How long a killed node stays down.
const DOWN_FOR: Duration = Duration::from_secs(2);
/// The nodes' `RECOVERY_MS`: far above any outage here.
const RECOVERY_MS: u64 = 60_000;

#[derive(Debug, Clone)]
struct Args {
    servers: Vec<String>,
    scenarios: Vec<String>,
    clients: usize,
    seconds: u64,
    tick_ms: u64,
    kill_every_ms: u64,
    write: bool,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        servers: vec!["ours".into(), "node".into()],
        scenarios: vec!["tcp".into(), "move".into(), "sigkill".into()],
        clients: 60,
        seconds: 20,
        tick_ms: 20,
        kill_every_ms: 3000,
        write: true,
    };
    let mut smoke = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let list = |text: String| text.split(',').map(str::to_owned).collect();
        match arg.as_str() {
            "--servers" => args.servers = list(value("--servers")?),
            "--scenarios" => args.scenarios = list(value("--scenarios")?),
            "--clients" => args.clients = number(&value("--clients")?)?,
            "--seconds" => args.seconds = number(&value("--seconds")?)?,
            "--tick-ms" => args.tick_ms = number(&value("--tick-ms")?)?,
            "--kill-every-ms" => args.kill_every_ms = number(&value("--kill-every-ms")?)?,
            "--no-write" => args.write = false,
            "--smoke" => smoke = true,
            "--help" | "-h" => {
                return Err("usage: recovery_faults [--servers ours,node] [--scenarios \
                     tcp,move,sigkill] [--clients N] [--seconds N] [--tick-ms N] \
                     [--kill-every-ms N] [--smoke] [--no-write]"
                    .into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if smoke {
        args.clients = 6;
        args.seconds = 8;
        args.kill_every_ms = 2000;
        args.write = false;
    }
    if args.clients < 2 || args.seconds == 0 || args.tick_ms == 0 || args.kill_every_ms == 0 {
        return Err("clients must be 2 or more; seconds, tick and kill period positive".into());
    }
    for scenario in &args.scenarios {
        if !["tcp", "move", "sigkill"].contains(&scenario.as_str()) {
            return Err(format!("unknown scenario {scenario}"));
        }
    }
    Ok(args)
}

/// Three nodes and their Redis; a node can be killed and started again on its port.
struct Cluster {
    server: String,
    redis_url: String,
    ports: Vec<u16>,
    nodes: Vec<Option<Process>>,
    _redis: Process,
}

impl Cluster {
    async fn start(server: &str) -> Result<Cluster, Error> {
        let (redis, redis_port) = start_redis().await?;
        let mut cluster = Cluster {
            server: server.to_owned(),
            redis_url: format!("redis://127.0.0.1:{redis_port}"),
            ports: Vec::new(),
            nodes: Vec::new(),
            _redis: redis,
        };
        for _ in 0..3 {
            let port = free_port()?;
            cluster.ports.push(port);
            cluster.nodes.push(None);
            cluster.restart(cluster.ports.len() - 1).await?;
        }
        Ok(cluster)
    }

    /// Starts node `i` (again) on its port.
    async fn restart(&mut self, i: usize) -> Result<(), Error> {
        let (program, program_args) =
            node_command(&self.server, &["ours", "node"], "bench-recovery")?;
        let env = [
            ("PORT", self.ports[i].to_string()),
            ("REDIS_URL", self.redis_url.clone()),
            ("KEY", "bench".to_string()),
            ("ADAPTER", "streams".to_string()),
            ("RECOVERY_MS", RECOVERY_MS.to_string()),
            ("RUST_LOG", "error".to_string()),
        ];
        self.nodes[i] = Some(spawn_pinned(0, &program, &program_args, &env)?);
        wait_listening(self.ports[i], &self.server).await
    }

    /// SIGKILL: the node gets no chance to close anything.
    fn kill(&mut self, i: usize) {
        // Dropping the process kills it (SIGKILL) and reaps it.
        self.nodes[i] = None;
    }
}

/// A small deterministic generator for the reconnection delays.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// socket.io-client's first delay: `delay * (1 ± factor)`.
    fn reconnection_delay(&mut self) -> Duration {
        let deviation = RANDOMIZATION * (2.0 * self.unit() - 1.0);
        RECONNECTION_DELAY.mul_f64(1.0 + deviation)
    }
}

/// What one client saw.
#[derive(Debug, Default)]
struct Seen {
    /// Events received, by sequence number, with how many times.
    received: HashMap<u64, u32>,
    /// Events whose offset was not after the one before.
    out_of_order: u64,
    reconnections: u64,
    recovered: u64,
    /// The longest time without a connection.
    longest_outage: Duration,
}

/// The run's shared state: where each client is, what the emitter sent.
struct Run {
    ports: Vec<u16>,
    /// Which node each client is on (or goes to next).
    home: Mutex<Vec<usize>>,
    /// Nodes that are down now.
    down: Mutex<HashSet<usize>>,
    /// The emitter's events count from now on.
    measuring: AtomicBool,
    stopping: AtomicBool,
    /// Woken for client i's connection to be killed.
    kills: Vec<Notify>,
    seen: Vec<Mutex<Seen>>,
    /// Whether client i is connected and in its rooms.
    ready: Vec<AtomicBool>,
}

impl Run {
    fn home(&self, client: usize) -> usize {
        self.home.lock().map_or(1, |homes| homes[client])
    }

    fn set_home(&self, client: usize, node: usize) {
        if let Ok(mut homes) = self.home.lock() {
            homes[client] = node;
        }
    }

    fn is_down(&self, node: usize) -> bool {
        self.down.lock().is_ok_and(|down| down.contains(&node))
    }
}

/// The other node clients live on (2 and 3 are indexes 1 and 2).
fn other(node: usize) -> usize {
    if node == 1 {
        2
    } else {
        1
    }
}

/// Closes with RST when dropped: the server sees its connection killed.
fn set_linger_zero(tcp: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is the stream's own and open; the option value is a linger struct of
    // the size passed.
    unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

async fn open(port: u16) -> Result<Ws, Error> {
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    set_linger_zero(&tcp);
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp)
        .await
        .map_err(|e| format!("websocket: {e}"))?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.starts_with('0') => Ok(ws),
        other => Err(format!("no open packet: {other:?}")),
    }
}

/// `42["tick",seq,offset?]` -> `(seq, offset)`.
fn parse_tick(text: &str) -> Option<(u64, Option<String>)> {
    let json = text.strip_prefix("42")?;
    let Value::Array(args) = serde_json::from_str::<Value>(json).ok()? else {
        return None;
    };
    if args.first()?.as_str()? != "tick" {
        return None;
    }
    let seq = args.get(1)?.as_u64()?;
    let offset = match args.last() {
        Some(Value::String(offset)) if args.len() > 2 => Some(offset.clone()),
        _ => None,
    };
    Some((seq, offset))
}

/// A stream entry id as `(ms, seq)`, to compare offsets.
fn stream_id(offset: &str) -> Option<(u64, u64)> {
    let (ms, seq) = offset.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The socket.io-client side of one client: its pid and last offset, and when it lost
/// its last connection.
#[derive(Default)]
struct Recovery {
    pid: Option<String>,
    offset: Option<String>,
    lost_at: Option<Instant>,
}

/// Why a connection ended.
enum Ended {
    /// The benchmark killed it.
    Killed,
    /// The server or the network did.
    Lost,
}

/// One connection of client `i`, until it ends.
async fn session(i: usize, run: &Run, recovery: &mut Recovery) -> Result<Ended, Error> {
    let node = run.home(i);
    let mut ws = open(run.ports[node]).await?;
    let auth = match (&recovery.pid, &recovery.offset) {
        (Some(pid), Some(offset)) => serde_json::json!({"pid": pid, "offset": offset}).to_string(),
        _ => String::new(),
    };
    ws.send(Message::text(format!("40{auth}")))
        .await
        .map_err(|e| format!("send: {e}"))?;
    loop {
        let frame = tokio::select! {
            frame = ws.next() => frame,
            () = run.kills[i].notified() => return Ok(Ended::Killed),
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            _ => return Ok(Ended::Lost),
        };
        if text.as_str() == "2" {
            let _ = ws.send(Message::text("3")).await;
        } else if let Some(answer) = text.strip_prefix("40") {
            let answer: Value = serde_json::from_str(answer).map_err(|e| e.to_string())?;
            let pid = answer["pid"].as_str().map(str::to_owned);
            let recovered = pid.is_some() && pid == recovery.pid;
            recovery.pid = pid;
            if let Ok(mut seen) = run.seen[i].lock() {
                if let Some(lost_at) = recovery.lost_at.take() {
                    seen.reconnections += 1;
                    seen.recovered += u64::from(recovered);
                    seen.longest_outage = seen.longest_outage.max(lost_at.elapsed());
                }
            }
            if !recovered {
                // What an application does when its session is not back: its rooms again.
                ws.send(Message::text(r#"420["join","all"]"#.to_owned()))
                    .await
                    .map_err(|e| format!("send: {e}"))?;
                ws.send(Message::text(format!(r#"421["join","own-{i}"]"#)))
                    .await
                    .map_err(|e| format!("send: {e}"))?;
            } else {
                run.ready[i].store(true, Ordering::Release);
            }
        } else if text.starts_with("431") {
            run.ready[i].store(true, Ordering::Release);
        } else if let Some((seq, offset)) = parse_tick(&text) {
            if let Ok(mut seen) = run.seen[i].lock() {
                if let (Some(before), Some(now)) = (
                    recovery.offset.as_deref().and_then(stream_id),
                    offset.as_deref().and_then(stream_id),
                ) {
                    if now <= before {
                        seen.out_of_order += 1;
                    }
                }
                *seen.received.entry(seq).or_default() += 1;
            }
            // The official client keeps the last string argument as its offset.
            if let Some(offset) = offset {
                recovery.offset = Some(offset);
            }
        }
    }
}

/// Client `i`: connects, and after each drop waits its delay and connects again.
async fn client(i: usize, run: Arc<Run>) {
    let mut recovery = Recovery::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1));
    loop {
        let ended = session(i, &run, &mut recovery).await;
        run.ready[i].store(false, Ordering::Release);
        if recovery.pid.is_some() && recovery.lost_at.is_none() {
            recovery.lost_at = Some(Instant::now());
        }
        if let Ok(Ended::Lost) | Err(_) = ended {
            // Its node is gone or refused: the load balancer sends it to the other one.
            let home = run.home(i);
            if run.is_down(home) {
                run.set_home(i, other(home));
            }
        }
        tokio::time::sleep(rng.reconnection_delay()).await;
    }
}

/// What the emitter sent: sequence numbers, and which were to a client's own room.
#[derive(Debug, Default)]
struct Sent {
    to_all: Vec<u64>,
    to_own: Vec<Vec<u64>>,
}

/// Sends, every `tick`, one event to `all` and one to a client's own room, until `stop`;
/// an event counts as sent once its node acked it.
async fn emit(port: u16, clients: usize, tick: Duration, run: Arc<Run>) -> Result<Sent, Error> {
    let mut ws = open(port).await?;
    ws.send(Message::text("40"))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut sent = Sent {
        to_all: Vec::new(),
        to_own: vec![Vec::new(); clients],
    };
    // Ack id -> (seq, own room or all).
    let mut pending: HashMap<u64, (u64, Option<usize>)> = HashMap::new();
    let mut next_id = 0u64;
    let mut seq = 0u64;
    let mut ticks = tokio::time::interval(tick);
    let mut stopping_since: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ticks.tick(), if stopping_since.is_none() => {
                if run.stopping.load(Ordering::Acquire) {
                    stopping_since = Some(Instant::now());
                    continue;
                }
                let measured = run.measuring.load(Ordering::Acquire);
                for target in [None, Some((seq / 2) as usize % clients)] {
                    let room = target.map_or_else(|| "all".to_owned(), |c| format!("own-{c}"));
                    let frame = format!(
                        r#"42{next_id}["emit",{{"to":["{room}"],"event":"tick","args":[{seq}]}}]"#
                    );
                    if measured {
                        pending.insert(next_id, (seq, target));
                    }
                    ws.send(Message::text(frame)).await.map_err(|e| format!("emit: {e}"))?;
                    next_id += 1;
                    seq += 1;
                }
            }
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    other => return Err(format!("the emitter's connection ended: {other:?}")),
                };
                if text.as_str() == "2" {
                    let _ = ws.send(Message::text("3")).await;
                } else if let Some(id) = text
                    .strip_prefix("43")
                    .and_then(|rest| rest.split('[').next())
                    .and_then(|id| id.parse::<u64>().ok())
                {
                    if let Some((seq, target)) = pending.remove(&id) {
                        match target {
                            None => sent.to_all.push(seq),
                            Some(c) => sent.to_own[c].push(seq),
                        }
                    }
                }
            }
        }
        if let Some(since) = stopping_since {
            if pending.is_empty() || since.elapsed() > Duration::from_secs(10) {
                return Ok(sent);
            }
        }
    }
}

/// The figures of one server in one scenario.
#[derive(Debug, Clone, Default)]
struct Figures {
    expected: u64,
    delivered: u64,
    duplicates: u64,
    out_of_order: u64,
    reconnections: u64,
    recovered: u64,
    longest_outage: Duration,
}

impl Figures {
    fn delivery_pct(&self) -> f64 {
        100.0 * self.delivered as f64 / self.expected.max(1) as f64
    }
}

async fn run_once(server: &str, scenario: &str, args: &Args) -> Result<Figures, Error> {
    let mut cluster = Cluster::start(server).await?;
    let clients = args.clients;
    let run = Arc::new(Run {
        ports: cluster.ports.clone(),
        home: Mutex::new((0..clients).map(|i| 1 + i % 2).collect()),
        down: Mutex::new(HashSet::new()),
        measuring: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        kills: (0..clients).map(|_| Notify::new()).collect(),
        seen: (0..clients).map(|_| Mutex::new(Seen::default())).collect(),
        ready: (0..clients).map(|_| AtomicBool::new(false)).collect(),
    });
    let tasks: Vec<_> = (0..clients)
        .map(|i| tokio::spawn(client(i, run.clone())))
        .collect();
    let started = Instant::now();
    while !run.ready.iter().all(|r| r.load(Ordering::Acquire)) {
        if started.elapsed() > cluster::START_TIMEOUT {
            return Err(format!(
                "{server}: the clients did not all connect and join"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let emitter = tokio::spawn(emit(
        cluster.ports[0],
        clients,
        Duration::from_millis(args.tick_ms),
        run.clone(),
    ));
    // Every node reads the stream before anything is measured (Node's readers start from
    // `$` some time after the node serves).
    tokio::time::sleep(Duration::from_secs(1)).await;
    run.measuring.store(true, Ordering::Release);

    let length = Duration::from_secs(args.seconds);
    let begun = Instant::now();
    match scenario {
        "tcp" | "move" => {
            let gap = Duration::from_millis(args.kill_every_ms) / clients as u32;
            let mut next = 0usize;
            while begun.elapsed() < length {
                tokio::time::sleep(gap).await;
                let i = next % clients;
                next += 1;
                if scenario == "move" {
                    run.set_home(i, other(run.home(i)));
                }
                // Only a connection that is up: one being re-made is not killed later.
                run.kills[i].notify_waiters();
            }
        }
        _ => {
            for (at, node) in [(length / 4, 1), (length * 5 / 8, 2)] {
                tokio::time::sleep(at.saturating_sub(begun.elapsed())).await;
                if let Ok(mut down) = run.down.lock() {
                    down.insert(node);
                }
                cluster.kill(node);
                tokio::time::sleep(DOWN_FOR).await;
                cluster.restart(node).await?;
                if let Ok(mut down) = run.down.lock() {
                    down.remove(&node);
                }
            }
            tokio::time::sleep(length.saturating_sub(begun.elapsed())).await;
        }
    }
    run.measuring.store(false, Ordering::Release);
    run.stopping.store(true, Ordering::Release);
    let sent = emitter.await.map_err(|e| format!("emitter task: {e}"))??;
    // Every client gets the time to come back and receive the last events.
    let expected_of = |i: usize| {
        let mut all: HashSet<u64> = sent.to_all.iter().copied().collect();
        all.extend(sent.to_own[i].iter().copied());
        all
    };
    let drain = Instant::now();
    loop {
        let done = (0..clients).all(|i| {
            run.seen[i]
                .lock()
                .is_ok_and(|seen| expected_of(i).iter().all(|s| seen.received.contains_key(s)))
        });
        if done || drain.elapsed() > DRAIN_TIMEOUT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in &tasks {
        task.abort();
    }
    let mut figures = Figures::default();
    for i in 0..clients {
        let expected = expected_of(i);
        let Ok(seen) = run.seen[i].lock() else {
            continue;
        };
        figures.expected += expected.len() as u64;
        figures.delivered += expected
            .iter()
            .filter(|s| seen.received.contains_key(s))
            .count() as u64;
        figures.duplicates += seen
            .received
            .values()
            .map(|n| u64::from(n.saturating_sub(1)))
            .sum::<u64>();
        figures.out_of_order += seen.out_of_order;
        figures.reconnections += seen.reconnections;
        figures.recovered += seen.recovered;
        figures.longest_outage = figures.longest_outage.max(seen.longest_outage);
    }
    Ok(figures)
}

fn describe(scenario: &str) -> &'static str {
    match scenario {
        "tcp" => "TCP connections killed, back on the same node",
        "move" => "TCP connections killed, back on the other node",
        _ => "nodes SIGKILLed (each once, started again 2 s later), back on the other node",
    }
}

fn table(args: &Args, results: &[(String, String, Result<Figures, Error>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Delivery under faults with connection state recovery: 3 streams-adapter nodes \
         (core 0), Redis and the load generator (core 1); {} clients on nodes 2 and 3, each \
         in `all` and a room of its own; one emitter on node 1 sends every {} ms one event \
         to `all` and one to a client's room, for {} s; in `tcp` and `move` each client's \
         connection is killed (RST) every {} ms. Clients reconnect as socket.io-client does \
         (1 s ± 50%, `{{pid, offset}}`) and join their rooms again when not recovered.\n",
        args.clients, args.tick_ms, args.seconds, args.kill_every_ms
    );
    let _ = writeln!(out, "{}\n", cluster::machine());
    let _ = writeln!(
        out,
        "Delivery: events sent to a client's rooms while it measured (acked by the \
         emitter's node) that reached it, each once. Out of order: an event whose offset is \
         not after the one before it. Recovered: reconnections that got their session \
         back.\n"
    );
    let _ = writeln!(
        out,
        "| server | scenario | delivered | delivery | duplicates | out of order | reconnections | recovered | longest outage |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (server, scenario, result) in results {
        match result {
            Ok(f) => {
                let _ = writeln!(
                    out,
                    "| {server} | {} | {} / {} | {:.2}% | {} | {} | {} | {} | {:.1} s |",
                    describe(scenario),
                    f.delivered,
                    f.expected,
                    f.delivery_pct(),
                    f.duplicates,
                    f.out_of_order,
                    f.reconnections,
                    f.recovered,
                    f.longest_outage.as_secs_f64()
                );
            }
            Err(error) => {
                let _ = writeln!(
                    out,
                    "| {server} | {} | failed: {error} | | | | | | |",
                    describe(scenario)
                );
            }
        }
    }
    out
}

fn main() {
    let (args, runtime) = start(parse_args);
    let mut results = Vec::new();
    for scenario in &args.scenarios {
        for server in &args.servers {
            eprintln!("{server}: {scenario}");
            let result = runtime.block_on(run_once(server, scenario, &args));
            results.push((server.clone(), scenario.clone(), result));
        }
    }
    let table = table(&args, &results);
    println!("{table}");
    if args.write {
        write_results("recovery", &table);
    }
    if results.iter().any(|(_, _, r)| r.is_err()) {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_offsets_parse() {
        assert_eq!(
            parse_tick(r#"42["tick",12,"1700-3"]"#),
            Some((12, Some("1700-3".into())))
        );
        assert_eq!(parse_tick(r#"42["tick",12]"#), Some((12, None)));
        assert_eq!(parse_tick(r#"42["other",12]"#), None);
        assert_eq!(parse_tick("430[true]"), None);
        assert_eq!(stream_id("1700-3"), Some((1700, 3)));
        assert_eq!(stream_id("x-3"), None);
    }

    #[test]
    fn reconnection_delays_spread_as_the_clients() {
        let mut rng = Rng(7);
        for _ in 0..1000 {
            let delay = rng.reconnection_delay();
            assert!(delay >= Duration::from_millis(500) && delay <= Duration::from_millis(1500));
        }
    }
}
