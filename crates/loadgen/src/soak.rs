//! `loadgen soak [--seconds S] [--clients N] [--server PATH]`: long churn against the
//! release `soak_server` example (started here, on a free port), to catch what leaks.
//!
//! Every client loops: connect (WebSocket or long-polling, in turn), join a room, echo with
//! acks, broadcast to the room, leave it, and go away in one of four ways (Engine.IO close
//! over each transport, a Socket.IO DISCONNECT then a dropped TCP connection, or a polling
//! client that just stops polling and is left to the heartbeat).
//!
//! The server's RSS and `/stats` (open and still-allocated sessions and sockets, running
//! handlers, tokio tasks) are sampled at boot, after a warm-up and at the end, each time
//! once every client is gone, and every few seconds during the churn. The allocator keeps
//! what a peak of concurrent sessions made it take, so an idle RSS says how busy the server
//! was, not what it leaked: the reference is the larger of the idle RSS after the warm-up
//! and the peak RSS of the first half of the churn, by when the working size is reached.
//! A leak grows with the cycles of the second half on top of that. The soak fails if the
//! end RSS is more than 10% over the reference, if any count stays above its idle level (a
//! session still allocated means a transport or timer task outlived it), or if a client
//! cycle fails.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::flags::Flags;
use crate::polling::{self, Http, PollingSession};
use crate::proto::{self, Incoming};
use crate::sys;
use crate::ws::WsConn;

const DEFAULT_SECONDS: u64 = 600;
const DEFAULT_CLIENTS: usize = 32;
/// Allowed RSS growth from the baseline to the end.
const MAX_RSS_GROWTH: f64 = 0.10;
/// How long the server has to get back to idle once the churn stops: past its heartbeat
/// (5 s + 5 s) for the clients that vanished without a word.
const SETTLE_LIMIT: Duration = Duration::from_secs(30);
const START_LIMIT: Duration = Duration::from_secs(10);
/// How often the server is sampled during the churn, and how many samples make a printed line.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const PRINT_EVERY_SAMPLES: u64 = 6;
const ROOMS: u64 = 8;
const ECHOES: u64 = 3;
/// How many failure messages are kept for the report.
const KEPT_ERRORS: usize = 5;

/// The server process, killed when the soak ends however it ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One look at the server.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kb: u64,
    sessions: u64,
    retained: u64,
    sockets: u64,
    /// Sockets still allocated: a handler that captures its socket must not keep it.
    retained_sockets: u64,
    handlers: u64,
    tokio_tasks: u64,
}

impl Sample {
    fn idle(&self) -> bool {
        self.sessions == 0
            && self.retained == 0
            && self.sockets == 0
            && self.retained_sockets == 0
            && self.handlers == 0
    }

    fn show(&self, label: &str) -> String {
        format!(
            "{label:<9} rss {:>7.1} MiB  sessions {:>4}  retained {:>4}  sockets {:>4}  \
             retained sockets {:>4}  handlers {:>3}  tokio tasks {:>3}",
            self.rss_kb as f64 / 1024.0,
            self.sessions,
            self.retained,
            self.sockets,
            self.retained_sockets,
            self.handlers,
            self.tokio_tasks
        )
    }
}

#[derive(Default)]
struct Tally {
    cycles: AtomicU64,
    failures: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, error: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        if errors.len() < KEPT_ERRORS {
            errors.push(error);
        }
    }
}

pub fn main(args: &[String]) -> Result<bool, String> {
    let flags = Flags::parse(args, &["seconds", "clients", "server"])?;
    let seconds = match flags.num::<u64>("seconds")? {
        Some(s) => s,
        None => match std::env::var("SOAK_SECONDS") {
            Ok(s) => s.parse().map_err(|_| format!("bad SOAK_SECONDS {s}"))?,
            Err(_) => DEFAULT_SECONDS,
        },
    };
    let clients = flags.num("clients")?.unwrap_or(DEFAULT_CLIENTS);
    let server_bin = match flags.get("server") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()
            .map_err(|e| format!("own path: {e}"))?
            .parent()
            .ok_or("no exe dir")?
            .join("examples/soak_server"),
    };
    sys::raise_nofile();

    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("a free port: {e}"))?
        .port();
    let child = Command::new(&server_bin)
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", server_bin.display()))?;
    let server = ServerProcess(child);
    let pid = server.0.id();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let ok = runtime.block_on(soak(addr, pid, seconds, clients))?;
    drop(server);
    Ok(ok)
}

async fn soak(addr: SocketAddr, pid: u32, seconds: u64, clients: usize) -> Result<bool, String> {
    let started = Instant::now();
    let boot = loop {
        match sample(addr, pid).await {
            Ok(sample) => break sample,
            Err(e) if started.elapsed() > START_LIMIT => return Err(format!("server: {e}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    println!("soak: {clients} clients for {seconds} s against pid {pid} on {addr}");
    println!("{}", boot.show("boot"));

    let tally = Arc::new(Tally::default());
    let warmup = Duration::from_secs((seconds / 10).clamp(1, 60));
    churn(addr, clients, warmup, &tally, None).await;
    let baseline = settle(addr, pid).await?;
    println!("{}", baseline.show("baseline"));

    let first_half_peak_kb = churn(
        addr,
        clients,
        Duration::from_secs(seconds),
        &tally,
        Some(pid),
    )
    .await;
    let end = settle(addr, pid).await?;
    println!("{}", end.show("end"));

    let cycles = tally.cycles.load(Ordering::Relaxed);
    let failures = tally.failures.load(Ordering::Relaxed);
    let reference_kb = baseline.rss_kb.max(first_half_peak_kb).max(1);
    let growth = end.rss_kb as f64 / reference_kb as f64 - 1.0;
    println!(
        "soak: {cycles} client cycles, {failures} failed; RSS peak of the first half {:.1} MiB, \
         end {:+.1}% from the reference (that peak or the baseline, the larger)",
        first_half_peak_kb as f64 / 1024.0,
        growth * 100.0
    );
    let mut ok = true;
    if growth > MAX_RSS_GROWTH {
        println!("FAIL: RSS grew by more than {:.0}%", MAX_RSS_GROWTH * 100.0);
        ok = false;
    }
    if end.tokio_tasks > baseline.tokio_tasks || !end.idle() {
        println!("FAIL: the server did not get back to idle (something leaks)");
        ok = false;
    }
    if failures > 0 {
        let errors = tally.errors.lock().unwrap_or_else(PoisonError::into_inner);
        println!("FAIL: client cycles failed, e.g. {errors:?}");
        ok = false;
    }
    if ok {
        println!("soak: ok");
    }
    Ok(ok)
}

/// `clients` loops of connect / rooms / acks / leave for `time`. With `progress` (the
/// server's pid), samples the server every few seconds, prints it every minute and returns
/// its peak RSS over the first half (0 without).
async fn churn(
    addr: SocketAddr,
    clients: usize,
    time: Duration,
    tally: &Arc<Tally>,
    progress: Option<u32>,
) -> u64 {
    let deadline = Instant::now() + time;
    let loops: Vec<_> = (0..clients)
        .map(|client| {
            let tally = tally.clone();
            tokio::spawn(async move {
                let mut cycle = 0u64;
                while Instant::now() < deadline {
                    let index = client + clients * (cycle as usize % sys::SOURCE_ADDRS as usize);
                    if let Err(e) = one_cycle(addr, index, client as u64, cycle).await {
                        tally.fail(e);
                    }
                    tally.cycles.fetch_add(1, Ordering::Relaxed);
                    cycle += 1;
                }
            })
        })
        .collect();
    let mut first_half_peak_kb = 0;
    if let Some(pid) = progress {
        let started = Instant::now();
        let mut ticks = 0u64;
        while Instant::now() + SAMPLE_EVERY < deadline {
            tokio::time::sleep(SAMPLE_EVERY).await;
            ticks += 1;
            let Ok(now) = sample(addr, pid).await else {
                continue;
            };
            if started.elapsed() <= time / 2 {
                first_half_peak_kb = first_half_peak_kb.max(now.rss_kb);
            }
            if ticks % PRINT_EVERY_SAMPLES == 0 {
                let label = format!("{:>4} s", started.elapsed().as_secs());
                let cycles = tally.cycles.load(Ordering::Relaxed);
                println!("{}  cycles {cycles}", now.show(&label));
            }
        }
    }
    for handle in loops {
        let _ = handle.await;
    }
    first_half_peak_kb
}

/// One client's life: the transport and the way it ends rotate with `cycle`.
async fn one_cycle(addr: SocketAddr, index: usize, client: u64, cycle: u64) -> Result<(), String> {
    let room = format!("r{}", (client + cycle) % ROOMS);
    match cycle % 4 {
        0 => ws_cycle(addr, index, &room, "1").await,
        1 => polling_cycle(addr, index, &room, true).await,
        2 => ws_cycle(addr, index, &room, "41").await,
        _ => polling_cycle(addr, index, &room, false).await,
    }
}

/// Over a WebSocket; ends with `last` (`1`: Engine.IO close, `41`: leave the namespace),
/// then drops the TCP connection without a close frame.
async fn ws_cycle(addr: SocketAddr, index: usize, room: &str, last: &str) -> Result<(), String> {
    let mut ws = WsConn::connect(addr, index).await?;
    ws.call(1, &proto::join(1, room)).await?;
    for id in 2..2 + ECHOES {
        ws.call(id, &proto::echo(id, "soak")).await?;
    }
    ws.send_text(&proto::broadcast(Some(room), "hello")).await?;
    ws.call(9, &format!("429[\"leave\",\"{room}\"]")).await?;
    ws.send_text(last).await?;
    Ok(())
}

/// Over long-polling; `close` ends with an Engine.IO close, otherwise the client just stops
/// polling and the server's heartbeat ends the session.
async fn polling_cycle(
    addr: SocketAddr,
    index: usize,
    room: &str,
    close: bool,
) -> Result<(), String> {
    let mut session = PollingSession::connect(addr, index).await?;
    polling_call(&mut session, 1, proto::join(1, room)).await?;
    for id in 2..2 + ECHOES {
        polling_call(&mut session, id, proto::echo(id, "soak")).await?;
    }
    let path = session.path.clone();
    let broadcast = proto::broadcast(Some(room), "hello");
    polling::post(&mut session.post, &path, broadcast.as_bytes()).await?;
    polling_call(&mut session, 9, format!("429[\"leave\",\"{room}\"]")).await?;
    if close {
        polling::post(&mut session.post, &path, b"1").await?;
    }
    Ok(())
}

/// POSTs an event with an ack id and long-polls until its ack, answering pings.
async fn polling_call(session: &mut PollingSession, id: u64, frame: String) -> Result<(), String> {
    let path = session.path.clone();
    polling::post(&mut session.post, &path, frame.as_bytes()).await?;
    let mut pending = std::mem::take(&mut session.pending);
    loop {
        for packet in pending.drain(..) {
            match proto::classify(&packet) {
                Incoming::Ack(got, _) if got == id => return Ok(()),
                Incoming::Ping => polling::post(&mut session.post, &path, b"3").await?,
                Incoming::Close | Incoming::Disconnected => {
                    return Err(format!("closed by the server while waiting for ack {id}"))
                }
                _ => {}
            }
        }
        pending = session.poll().await?;
    }
}

/// Waits until every count is back to idle, then a moment more.
async fn settle(addr: SocketAddr, pid: u32) -> Result<Sample, String> {
    let started = Instant::now();
    loop {
        let now = sample(addr, pid).await?;
        if now.idle() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return sample(addr, pid).await;
        }
        if started.elapsed() > SETTLE_LIMIT {
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn sample(addr: SocketAddr, pid: u32) -> Result<Sample, String> {
    let mut http = Http::connect(addr, 0).await?;
    let (status, body) = http.request("GET", "/stats", b"").await?;
    if status != 200 {
        return Err(format!("/stats: HTTP {status}"));
    }
    let stats: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("/stats: {e}"))?;
    let count = |name: &str| {
        stats[name]
            .as_u64()
            .ok_or_else(|| format!("/stats has no {name}: {stats}"))
    };
    let rss_kb = sys::sample_proc(pid)
        .map_err(|e| format!("/proc/{pid}: {e}"))?
        .rss_kb;
    Ok(Sample {
        rss_kb,
        sessions: count("sessions")?,
        retained: count("retained")?,
        sockets: count("sockets")?,
        retained_sockets: count("retained_sockets")?,
        handlers: count("handlers")?,
        tokio_tasks: count("tokio_tasks")?,
    })
}
