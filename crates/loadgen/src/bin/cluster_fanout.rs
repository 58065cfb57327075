//! Cross-node fan-out: three nodes of one cluster on a Redis of the benchmark's own,
//! receivers spread over the three, one emitter on the first node asking it (the cluster
//! node contract's `emit`) to send `msg` to everyone, a window of requests in flight.
//!
//! Servers, each a homogeneous cluster of 3 on the same machine:
//! - `ours`: actix-socketio with actix-socketio-redis, classic adapter
//!   (`target/release/examples/cluster_node`);
//! - `node`: socket.io 4.8 with @socket.io/redis-adapter 8.3 (`tests/js/cluster/node.mjs`);
//! - `socketioxide`: socketioxide 0.18 with socketioxide-redis, its own format
//!   (`crates/loadgen/cluster-peers/socketioxide`).
//!
//! The three nodes are pinned to core 0, the load generator and Redis to core 1. It
//! reports deliveries per second, delivery latency (emit request sent to `msg` received,
//! p50/p99), the nodes' CPU (all three) and Redis's per delivery, and the generator's own
//! CPU (near 100% of its core means the figure is its limit, not the servers').
//!
//! ```text
//! cargo run --release -p loadgen --bin cluster_fanout -- [--servers ours,node,socketioxide]
//!     [--receivers 600] [--broadcasts 3000] [--window 8] [--runs 3] [--smoke] [--no-write]
//! ```
//!
//! `make bench-cluster` builds the three servers and runs it; the table goes to stdout and
//! to `bench/results/<date>-cluster.md`.

#[path = "shared/cluster.rs"]
mod cluster;

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cluster::{
    cpu_seconds, free_port, node_command, number, spawn_pinned, start, start_redis, wait_listening,
    write_results, Error, Process, START_TIMEOUT,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;
/// How long the deliveries of a measurement may take to arrive once all were sent.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

/// The clock every latency is read on (this process's).
fn now_us() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone)]
struct Args {
    servers: Vec<String>,
    receivers: usize,
    broadcasts: u64,
    window: usize,
    runs: usize,
    write: bool,
    smoke: bool,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        servers: vec!["ours".into(), "node".into(), "socketioxide".into()],
        receivers: 600,
        broadcasts: 3000,
        window: 8,
        runs: 3,
        write: true,
        smoke: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--servers" => {
                args.servers = value("--servers")?.split(',').map(str::to_owned).collect()
            }
            "--receivers" => args.receivers = number(&value("--receivers")?)?,
            "--broadcasts" => args.broadcasts = number(&value("--broadcasts")?)?,
            "--window" => args.window = number(&value("--window")?)?,
            "--runs" => args.runs = number(&value("--runs")?)?,
            "--no-write" => args.write = false,
            "--smoke" => args.smoke = true,
            "--help" | "-h" => {
                return Err("usage: cluster_fanout [--servers ours,node,socketioxide] \
                     [--receivers N] [--broadcasts N] [--window N] [--runs N] [--smoke] \
                     [--no-write]"
                    .into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.smoke {
        args.receivers = 30;
        args.broadcasts = 50;
        args.runs = 1;
        args.write = false;
    }
    if args.receivers == 0 || args.broadcasts == 0 || args.window == 0 || args.runs == 0 {
        return Err("receivers, broadcasts, window and runs must be positive".into());
    }
    Ok(args)
}

/// A Socket.IO client over a WebSocket, connected to `/`.
async fn connect(port: u16) -> Result<Ws, Error> {
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp)
        .await
        .map_err(|e| format!("websocket: {e}"))?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.starts_with('0') => {}
        other => return Err(format!("no open packet: {other:?}")),
    }
    ws.send(Message::text("40"))
        .await
        .map_err(|e| format!("send: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.starts_with("40") => return Ok(ws),
            Some(Ok(Message::Text(t))) if t.starts_with("44") => {
                return Err(format!("refused: {t}"))
            }
            Some(Ok(_)) => {}
            other => return Err(format!("no CONNECT answer: {other:?}")),
        }
    }
}

/// `42["msg",[seq,sent_us]]` -> `(seq, sent_us)`.
fn parse_msg(text: &str) -> Option<(u64, u64)> {
    let rest = text.strip_prefix("42[\"msg\",[")?;
    let (seq, rest) = rest.split_once(',')?;
    let (sent, _) = rest.split_once(']')?;
    Some((seq.parse().ok()?, sent.parse().ok()?))
}

/// `43<id>[...]` -> `id`.
fn parse_ack(text: &str) -> Option<u64> {
    let rest = text.strip_prefix("43")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// What the receivers saw.
struct Seen {
    /// Deliveries of measured broadcasts.
    delivered: AtomicU64,
    /// Latency of each measured delivery, µs.
    latency: Mutex<Histogram<u64>>,
    /// A probe reached a receiver of node i.
    probed: [AtomicBool; 3],
    /// Sequence numbers below this are warm-up, not measured.
    measured_from: AtomicU64,
    /// The last measured sequence number: a receiver that gets it reports what it holds.
    last_seq: AtomicU64,
    /// Woken when `delivered` reaches `expected`.
    expected: AtomicU64,
    all_in: Notify,
    last_at: AtomicU64,
}

/// Reads one receiver's messages until the connection ends.
async fn receive(
    mut reader: SplitStream<Ws>,
    writer: Arc<tokio::sync::Mutex<SplitSink<Ws, Message>>>,
    node: usize,
    seen: Arc<Seen>,
) {
    let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
    let mut local_count = 0u64;
    while let Some(Ok(message)) = reader.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        if text.as_str() == "2" {
            let _ = writer.lock().await.send(Message::text("3")).await;
            continue;
        }
        if text.starts_with("42[\"probe\"") {
            seen.probed[node].store(true, Ordering::Release);
            continue;
        }
        let Some((seq, sent)) = parse_msg(&text) else {
            continue;
        };
        if seq < seen.measured_from.load(Ordering::Acquire) {
            continue;
        }
        let at = now_us();
        if let Some(histogram) = local.as_mut() {
            let _ = histogram.record(at.saturating_sub(sent).max(1));
        }
        local_count += 1;
        // Merged in batches: a lock per delivery would be the generator's bottleneck.
        if local_count % 256 == 0 || seq == seen.last_seq.load(Ordering::Acquire) {
            flush(&seen, &mut local, &mut local_count, at);
        }
    }
    flush(&seen, &mut local, &mut local_count, now_us());
}

fn flush(seen: &Seen, local: &mut Option<Histogram<u64>>, count: &mut u64, at: u64) {
    if *count == 0 {
        return;
    }
    if let Some(histogram) = local.as_mut() {
        if let Ok(mut all) = seen.latency.lock() {
            let _ = all.add(&*histogram);
        }
        histogram.reset();
    }
    let total = seen.delivered.fetch_add(*count, Ordering::AcqRel) + *count;
    seen.last_at.fetch_max(at, Ordering::AcqRel);
    *count = 0;
    if total >= seen.expected.load(Ordering::Acquire) {
        seen.all_in.notify_one();
    }
}

/// The emitter: `emit` requests with at most `window` unanswered.
struct Emitter {
    ws: Ws,
    next_id: u64,
}

impl Emitter {
    fn request(&mut self, event: &str, seq: u64) -> (u64, String) {
        let id = self.next_id;
        self.next_id += 1;
        let frame = format!(
            r#"42{id}["emit",{{"to":[],"except":[],"event":"{event}","args":[[{seq},{}]]}}]"#,
            now_us()
        );
        (id, frame)
    }

    /// Sends broadcasts `from..to` with `window` in flight; returns when all are acked.
    async fn run(&mut self, event: &str, from: u64, to: u64, window: usize) -> Result<(), Error> {
        let mut in_flight = 0usize;
        let mut seq = from;
        while seq < to || in_flight > 0 {
            while seq < to && in_flight < window {
                let (_, frame) = self.request(event, seq);
                self.ws
                    .send(Message::text(frame))
                    .await
                    .map_err(|e| format!("emitter send: {e}"))?;
                seq += 1;
                in_flight += 1;
            }
            match tokio::time::timeout(Duration::from_secs(30), self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    if text.as_str() == "2" {
                        let _ = self.ws.send(Message::text("3")).await;
                    } else if parse_ack(&text).is_some() {
                        in_flight -= 1;
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(other) => return Err(format!("emitter connection ended: {other:?}")),
                Err(_) => return Err("no ack within 30 s".into()),
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    deliveries_per_s: f64,
    p50_us: u64,
    p99_us: u64,
    server_us_per_delivery: f64,
    redis_us_per_delivery: f64,
    generator_cpu_pct: f64,
    lost: u64,
}

async fn run_once(server: &str, args: &Args) -> Result<Figures, Error> {
    let (redis, redis_port) = start_redis().await?;
    let redis_url = format!("redis://127.0.0.1:{redis_port}");
    let (program, program_args) =
        node_command(server, &["ours", "node", "socketioxide"], "bench-cluster")?;
    let mut nodes = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..3 {
        let port = free_port()?;
        let env = [
            ("PORT", port.to_string()),
            ("REDIS_URL", redis_url.clone()),
            ("KEY", "bench".to_string()),
            ("ADAPTER", "classic".to_string()),
            ("RUST_LOG", "error".to_string()),
        ];
        nodes.push(spawn_pinned(0, &program, &program_args, &env)?);
        wait_listening(port, server).await?;
        ports.push(port);
    }

    let seen = Arc::new(Seen {
        delivered: AtomicU64::new(0),
        latency: Mutex::new(
            Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?,
        ),
        probed: [
            AtomicBool::new(false),
            AtomicBool::new(false),
            AtomicBool::new(false),
        ],
        measured_from: AtomicU64::new(u64::MAX),
        last_seq: AtomicU64::new(u64::MAX),
        expected: AtomicU64::new(u64::MAX),
        all_in: Notify::new(),
        last_at: AtomicU64::new(0),
    });
    let mut tasks = Vec::new();
    for i in 0..args.receivers {
        let node = i % 3;
        let ws = connect(ports[node]).await?;
        let (writer, reader) = ws.split();
        let writer = Arc::new(tokio::sync::Mutex::new(writer));
        tasks.push(tokio::spawn(receive(reader, writer, node, seen.clone())));
    }
    let mut emitter = Emitter {
        ws: connect(ports[0]).await?,
        next_id: 0,
    };

    // Every node subscribed: a probe from node 0 reaches a receiver of each.
    let deadline = Instant::now() + START_TIMEOUT;
    while !seen.probed.iter().all(|p| p.load(Ordering::Acquire)) {
        if Instant::now() > deadline {
            return Err(format!("{server}: probes did not reach every node"));
        }
        emitter.run("probe", 0, 1, 1).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Warm-up, not measured.
    let warmup = (args.broadcasts / 10).max(10);
    emitter.run("msg", 0, warmup, args.window).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let expected = args.broadcasts * args.receivers as u64;
    seen.delivered.store(0, Ordering::Release);
    seen.expected.store(expected, Ordering::Release);
    seen.last_seq
        .store(warmup + args.broadcasts - 1, Ordering::Release);
    seen.measured_from.store(warmup, Ordering::Release);
    let pids: Vec<u32> = nodes.iter().map(Process::pid).collect();
    let servers_before: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum();
    let redis_before = cpu_seconds(redis.pid());
    let self_before = cluster::sys::self_cpu_seconds();
    let started_us = now_us();
    emitter
        .run("msg", warmup, warmup + args.broadcasts, args.window)
        .await?;
    // What is lost never comes: the drain ends at the timeout, and the table says how
    // many were lost.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while seen.delivered.load(Ordering::Acquire) < expected {
            let _ = tokio::time::timeout(Duration::from_millis(100), seen.all_in.notified()).await;
        }
    })
    .await;
    let servers_cpu: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - servers_before;
    let redis_cpu = cpu_seconds(redis.pid()) - redis_before;
    let self_cpu = cluster::sys::self_cpu_seconds() - self_before;
    drop(emitter);
    drop(nodes);
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let _ = task.await;
    }
    drop(redis);

    let delivered = seen.delivered.load(Ordering::Acquire);
    let last_at = seen.last_at.load(Ordering::Acquire).max(started_us + 1);
    let wall_s = (last_at - started_us) as f64 / 1e6;
    let latency = seen
        .latency
        .lock()
        .map_err(|_| "latency lock".to_string())?;
    let per = |cpu: f64| cpu * 1e6 / delivered.max(1) as f64;
    Ok(Figures {
        deliveries_per_s: delivered as f64 / wall_s,
        p50_us: latency.value_at_quantile(0.5),
        p99_us: latency.value_at_quantile(0.99),
        server_us_per_delivery: per(servers_cpu),
        redis_us_per_delivery: per(redis_cpu),
        generator_cpu_pct: 100.0 * self_cpu / wall_s.max(1e-9),
        lost: expected.saturating_sub(delivered),
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn medians(runs: &[Figures]) -> Figures {
    let of = |f: fn(&Figures) -> f64| median(runs.iter().map(f).collect());
    Figures {
        deliveries_per_s: of(|r| r.deliveries_per_s),
        p50_us: of(|r| r.p50_us as f64) as u64,
        p99_us: of(|r| r.p99_us as f64) as u64,
        server_us_per_delivery: of(|r| r.server_us_per_delivery),
        redis_us_per_delivery: of(|r| r.redis_us_per_delivery),
        generator_cpu_pct: of(|r| r.generator_cpu_pct),
        lost: runs.iter().map(|r| r.lost).max().unwrap_or(0),
    }
}

fn table(args: &Args, results: &[(String, Result<Figures, Error>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cross-node fan-out: 3 nodes (core 0), Redis and the load generator (core 1); {} \
         receivers spread over the nodes, one emitter on node 1 asking for `msg` to everyone, \
         {} broadcasts with {} in flight; medians of {} run(s).\n",
        args.receivers, args.broadcasts, args.window, args.runs
    );
    let _ = writeln!(
        out,
        "Latency is from the emit request to each delivery: a node acks `emit` once it has \
         delivered locally and handed the broadcast to Redis, so a node that acks sooner lets \
         more broadcasts queue behind the window. `ours` is the contract node (2 actix \
         workers), pinned with the others to core 0. CPU per delivery is the figure to \
         compare when the generator's CPU nears 100%.\n"
    );
    let _ = writeln!(
        out,
        "| server | deliveries/s | p50 (ms) | p99 (ms) | nodes' CPU µs/delivery | Redis CPU µs/delivery | generator CPU | lost |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for (server, result) in results {
        match result {
            Ok(f) => {
                let _ = writeln!(
                    out,
                    "| {server} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | {:.0}% | {} |",
                    f.deliveries_per_s,
                    f.p50_us as f64 / 1000.0,
                    f.p99_us as f64 / 1000.0,
                    f.server_us_per_delivery,
                    f.redis_us_per_delivery,
                    f.generator_cpu_pct,
                    f.lost
                );
            }
            Err(error) => {
                let _ = writeln!(out, "| {server} | failed: {error} | | | | | | |");
            }
        }
    }
    out
}

fn main() {
    let (args, runtime) = start(parse_args);
    let mut runs: Vec<(String, Vec<Figures>, Option<Error>)> = args
        .servers
        .iter()
        .map(|s| (s.clone(), Vec::new(), None))
        .collect();
    // Interleaved: run 1 of every server, then run 2, so drift touches all alike.
    for run in 0..args.runs {
        for (server, figures, failure) in runs.iter_mut() {
            if failure.is_some() {
                continue;
            }
            eprintln!("{server}: run {} of {}", run + 1, args.runs);
            match runtime.block_on(run_once(server, &args)) {
                Ok(f) => figures.push(f),
                Err(e) => *failure = Some(e),
            }
        }
    }
    let results: Vec<(String, Result<Figures, Error>)> = runs
        .into_iter()
        .map(|(server, figures, failure)| match failure {
            Some(e) => (server, Err(e)),
            None => (server, Ok(medians(&figures))),
        })
        .collect();
    let table = table(&args, &results);
    println!("{table}");
    if args.write {
        write_results("cluster", &table);
    }
    if results.iter().any(|(_, r)| r.is_err()) {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_acks_parse() {
        assert_eq!(parse_msg(r#"42["msg",[12,345678]]"#), Some((12, 345678)));
        assert_eq!(parse_msg(r#"42["other",[1,2]]"#), None);
        assert_eq!(parse_ack("4317[true]"), Some(17));
        assert_eq!(parse_ack("42[1]"), None);
    }
}
