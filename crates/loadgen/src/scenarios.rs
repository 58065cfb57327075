//! The scenarios: each connects its clients, warms up, measures one window, and returns a
//! JSON report (metrics, errors, the server's CPU and RSS, our own CPU).
//!
//! Everything runs on one thread (a current-thread runtime and a `LocalSet`), so the
//! shared counters are plain `Cell`s and the load generator uses exactly one core.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};

use crate::polling::{self, PollingSession};
use crate::proto::{self, Incoming};
use crate::sys::{self, Window, WindowResult};
use crate::ws::{Frame, WsConn};

/// The scenario names, in the order the suite runs them.
pub const ALL: &[&str] = &[
    "idle-10k",
    "idle-19k5",
    "echo",
    "fanout-w8",
    "fanout-w32",
    "fanout-sat",
    "fanout-50",
    "rooms",
    "polling",
    "binary",
];

/// Knobs of one scenario run; the suite fills them from its profile.
#[derive(Debug, Clone)]
pub struct Params {
    pub server: SocketAddr,
    pub pid: u32,
    /// Clients (receivers for fan-out).
    pub conns: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Payload bytes (echo string, binary attachment, broadcast padding).
    pub payload: usize,
    /// Broadcasts per second (fanout-50) or messages per client per second (rooms).
    pub rate: f64,
    pub room_size: usize,
    /// Broadcasts in flight in a closed-loop fan-out (fanout-w8, fanout-w32, fanout-sat).
    pub window: usize,
    /// Handshakes in flight while connecting.
    pub connect_concurrency: usize,
}

impl Params {
    pub fn defaults(scenario: &str, server: SocketAddr, pid: u32) -> Params {
        let mut p = Params {
            server,
            pid,
            conns: 100,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
            payload: 64,
            rate: 50.0,
            room_size: 10,
            window: 64,
            connect_concurrency: 256,
        };
        match scenario {
            // Hold 3 s after connecting: memory settles quickly.
            "idle-10k" | "idle-19k5" => {
                p.conns = if scenario == "idle-10k" {
                    10_000
                } else {
                    19_500
                };
                p.duration = Duration::from_secs(2);
            }
            "fanout-w8" | "fanout-w32" | "fanout-sat" | "fanout-50" => {
                p.conns = 1_000;
                p.window = match scenario {
                    "fanout-w8" => 8,
                    "fanout-w32" => 32,
                    _ => 64,
                };
            }
            "rooms" => {
                p.conns = 10_000;
                p.rate = 1.0;
                p.warmup = Duration::from_secs(2);
            }
            "polling" => p.conns = 1_000,
            "binary" => {
                p.conns = 10;
                p.payload = 64 * 1024;
            }
            _ => {}
        }
        p
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Measure,
    Stop,
}

/// What every client task of a scenario shares.
struct Shared {
    base: Instant,
    phase: Cell<Phase>,
    measure_start_us: Cell<u64>,
    hist: RefCell<Histogram<u64>>,
    /// Acks or deliveries counted in the measurement window.
    count: Cell<u64>,
    bytes: Cell<u64>,
    errors: Cell<u64>,
    error_samples: RefCell<Vec<String>>,
    alive: Cell<usize>,
}

impl Shared {
    fn new() -> Rc<Shared> {
        Rc::new(Shared {
            base: Instant::now(),
            phase: Cell::new(Phase::Warmup),
            measure_start_us: Cell::new(u64::MAX),
            hist: RefCell::new(Histogram::new_with_bounds(1, 120_000_000, 3).expect("bounds")),
            count: Cell::new(0),
            bytes: Cell::new(0),
            errors: Cell::new(0),
            error_samples: RefCell::new(Vec::new()),
            alive: Cell::new(0),
        })
    }

    fn now_us(&self) -> u64 {
        sys::micros_since(self.base)
    }

    fn measuring(&self) -> bool {
        self.phase.get() == Phase::Measure
    }

    fn stopped(&self) -> bool {
        self.phase.get() == Phase::Stop
    }

    /// Records one ack or delivery sent at `sent_us`, if it belongs to the window.
    fn record(&self, sent_us: u64) {
        self.record_at(sent_us, self.now_us());
    }

    /// Records one delivery sent at `sent_us` and received at `now` (µs since `base`).
    fn record_at(&self, sent_us: u64, now: u64) {
        if self.measuring() && sent_us >= self.measure_start_us.get() {
            self.hist
                .borrow_mut()
                .saturating_record(now.saturating_sub(sent_us).max(1));
            self.count.set(self.count.get() + 1);
        }
    }

    fn error(&self, message: impl Into<String>) {
        self.errors.set(self.errors.get() + 1);
        let mut samples = self.error_samples.borrow_mut();
        let message = message.into();
        if samples.len() < 5 && !samples.contains(&message) {
            samples.push(message);
        }
    }

    /// A client task ended: an error unless the scenario is over.
    fn lost(&self, why: String) {
        self.alive.set(self.alive.get().saturating_sub(1));
        if !self.stopped() {
            self.error(why);
        }
    }

    fn start_measuring(&self, pid: u32) -> Window {
        let window = Window::begin(pid);
        self.measure_start_us.set(self.now_us());
        self.phase.set(Phase::Measure);
        window
    }
}

/// Other work taking this share of a core during a window gets a note.
const BUSY_MACHINE: f64 = 0.15;

/// The load generator's CPU time at this share of the window's wall time means its own
/// core was (nearly) full: the figure may be the load generator's limit, not the server's.
pub const LOADGEN_SATURATED: f64 = 0.85;

/// The report of one scenario run.
struct Report {
    scenario: String,
    metrics: BTreeMap<String, f64>,
    notes: Vec<String>,
    window: WindowResult,
}

impl Report {
    fn new(scenario: &str) -> Report {
        Report {
            scenario: scenario.to_owned(),
            metrics: BTreeMap::new(),
            notes: Vec::new(),
            window: WindowResult::default(),
        }
    }

    fn set(&mut self, key: &str, value: f64) {
        self.metrics.insert(key.to_owned(), value);
    }

    fn latencies(&mut self, shared: &Shared) {
        let hist = shared.hist.borrow();
        if hist.is_empty() {
            return;
        }
        let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
        self.set("p50_ms", ms(0.50));
        self.set("p99_ms", ms(0.99));
        self.set("p999_ms", ms(0.999));
    }

    fn finish(mut self, shared: &Shared, held: usize) -> Value {
        let w = self.window;
        self.set("server_cpu_pct", 100.0 * w.server_cpu_share());
        self.set("server_rss_mb", w.server_rss_kb as f64 / 1024.0);
        self.set("background_cpu_pct", 100.0 * w.background_cpu_share());
        self.set("loadgen_cpu_pct", 100.0 * w.loadgen_cpu_share());
        if w.background_cpu_share() >= BUSY_MACHINE {
            self.notes.push(format!(
                "other work on the machine took {:.0}% of a core during the window",
                100.0 * w.background_cpu_share()
            ));
        }
        let saturated = w.loadgen_cpu_share() >= LOADGEN_SATURATED;
        if saturated {
            self.notes.push(format!(
                "load generator near its core's limit ({:.0}% CPU)",
                100.0 * w.loadgen_cpu_share()
            ));
        }
        json!({
            "scenario": self.scenario,
            "metrics": self.metrics,
            "errors": shared.errors.get(),
            "error_samples": *shared.error_samples.borrow(),
            "held": held,
            "window": {
                "wall_s": w.wall_s,
                "server_cpu_s": w.server_cpu_s,
                "server_rss_kb": w.server_rss_kb,
                "server_hwm_kb": w.server_hwm_kb,
                "loadgen_cpu_s": w.loadgen_cpu_s,
                "loadgen_cpu_pct": 100.0 * w.loadgen_cpu_share(),
                "background_cpu_s": w.background_cpu_s,
            },
            "loadgen_saturated": saturated,
            "notes": self.notes,
        })
    }
}

/// Runs one scenario on a current-thread runtime; the JSON report.
pub fn run(scenario: &str, params: &Params) -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let report = local.block_on(&runtime, async {
        match scenario {
            "idle-10k" | "idle-19k5" | "idle" => idle(scenario, params).await,
            "echo" => echo(params).await,
            "fanout-w8" | "fanout-w32" | "fanout-sat" => {
                fanout(scenario, params, Some(params.window)).await
            }
            "fanout-50" => fanout(scenario, params, None).await,
            "rooms" => rooms(params).await,
            "polling" => polling_echo(params).await,
            "binary" => binary(params).await,
            other => json!({ "scenario": other, "fatal": format!("unknown scenario {other}") }),
        }
    });
    // Dropping tens of thousands of sockets takes a moment; the caller exits right away.
    std::mem::forget(local);
    std::mem::forget(runtime);
    report
}

/// Connects `n` clients with at most `concurrency` handshakes in flight and hands each to
/// `on_conn` as soon as it is up; returns how long connecting took.
async fn ramp<C, F, Fut>(
    shared: &Rc<Shared>,
    n: usize,
    concurrency: usize,
    connect: F,
    mut on_conn: impl FnMut(usize, C),
) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<C, String>>,
{
    let start = Instant::now();
    let mut pending = stream::iter(0..n)
        .map(|i| {
            let fut = connect(i);
            async move { (i, fut.await) }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some((i, result)) = pending.next().await {
        match result {
            Ok(conn) => {
                shared.alive.set(shared.alive.get() + 1);
                on_conn(i, conn);
            }
            Err(e) => shared.error(e),
        }
    }
    start.elapsed()
}

/// Keeps a connection open, answering pings, until it breaks.
async fn hold(shared: Rc<Shared>, mut conn: WsConn) {
    loop {
        if let Err(e) = conn.recv().await {
            shared.lost(e);
            return;
        }
    }
}

/// Idle: connect N clients (connect rate, CPU per connect), hold them a while, and weigh
/// the server's memory per connection.
async fn idle(scenario: &str, p: &Params) -> Value {
    let shared = Shared::new();
    let mut report = Report::new(scenario);
    let before = sys::sample_proc(p.pid).unwrap_or_default();
    let window = Window::begin(p.pid);
    let server = p.server;
    let ramp_time = ramp(
        &shared,
        p.conns,
        p.connect_concurrency,
        |i| WsConn::connect(server, i),
        |_, conn| {
            tokio::task::spawn_local(hold(shared.clone(), conn));
        },
    )
    .await;
    let connecting = window.end();
    report.set(
        "connect_rate",
        shared.alive.get() as f64 / ramp_time.as_secs_f64().max(1e-9),
    );
    report.set(
        "cpu_us_per_connect",
        1e6 * connecting.server_cpu_s / shared.alive.get().max(1) as f64,
    );
    // Settle, then hold: the held count and memory are taken at the end.
    report.window = {
        let hold_window = shared.start_measuring(p.pid);
        tokio::time::sleep(p.warmup + p.duration).await;
        hold_window.end()
    };
    shared.phase.set(Phase::Stop);
    let held = shared.alive.get();
    let rss = report.window.server_rss_kb;
    let per_conn_kb = rss.saturating_sub(before.rss_kb) as f64 / held.max(1) as f64;
    report.set("held", held as f64);
    report.set("rss_per_conn_kb", per_conn_kb);
    report.set("baseline_rss_mb", before.rss_kb as f64 / 1024.0);
    report.set(
        "rss_100k_mb",
        (before.rss_kb as f64 + 100_000.0 * per_conn_kb) / 1024.0,
    );
    report.set("idle_cpu_pct", 100.0 * report.window.server_cpu_share());
    // The connect phase is the busy one for the load generator.
    if connecting.loadgen_cpu_share() >= LOADGEN_SATURATED {
        report.notes.push(format!(
            "load generator near its core's limit while connecting ({:.0}% CPU)",
            100.0 * connecting.loadgen_cpu_share()
        ));
    }
    report.finish(&shared, held)
}

/// Echo with ack: every client sends `echo` and waits for the ack, in a closed loop.
async fn echo(p: &Params) -> Value {
    let shared = Shared::new();
    let mut report = Report::new("echo");
    let server = p.server;
    let mut conns = Vec::new();
    ramp(
        &shared,
        p.conns,
        p.connect_concurrency,
        |i| WsConn::connect(server, i),
        |_, c| conns.push(c),
    )
    .await;
    let pad = proto::padding(p.payload);
    for mut conn in conns {
        let shared = shared.clone();
        let pad = pad.clone();
        tokio::task::spawn_local(async move {
            let mut id = 0u64;
            while !shared.stopped() {
                id += 1;
                let sent = shared.now_us();
                let frame = proto::echo(id, &pad);
                let call = conn.call(id, &frame);
                match tokio::time::timeout(Duration::from_secs(10), call).await {
                    Ok(Ok(())) => shared.record(sent),
                    Ok(Err(e)) => return shared.lost(e),
                    Err(_) => return shared.lost("no ack within 10 s".into()),
                }
            }
        });
    }
    measure(&shared, p, &mut report).await;
    let acks = shared.count.get() as f64;
    report.set("acks_per_s", acks / report.window.wall_s);
    report.set(
        "cpu_us_per_ack",
        1e6 * report.window.server_cpu_s / acks.max(1.0),
    );
    report.latencies(&shared);
    report.finish(&shared, shared.alive.get())
}

/// Warm-up, then one measurement window.
async fn measure(shared: &Rc<Shared>, p: &Params, report: &mut Report) {
    tokio::time::sleep(p.warmup).await;
    let window = shared.start_measuring(p.pid);
    tokio::time::sleep(p.duration).await;
    shared.phase.set(Phase::Stop);
    report.window = window.end();
}

/// Which broadcasts every receiver has had, to free the emitter's window and to check
/// that each one reached everyone.
struct Completion {
    receivers: usize,
    ring: RefCell<Vec<u32>>,
    window: Semaphore,
    sent: Cell<u64>,
    completed: Cell<u64>,
}

const RING: usize = 4096;
/// How long the broadcasts in flight at the end of a fan-out have to reach everyone.
const COMPLETION_GRACE: Duration = Duration::from_secs(5);

impl Completion {
    fn delivered(&self, seq: u64) {
        let mut ring = self.ring.borrow_mut();
        let slot = &mut ring[(seq as usize) % RING];
        *slot += 1;
        if *slot as usize == self.receivers {
            *slot = 0;
            self.completed.set(self.completed.get() + 1);
            self.window.add_permits(1);
        }
    }
}

/// One fan-out receiver's view: broadcasts arrive in order, each once.
struct Receiver {
    shared: Rc<Shared>,
    completion: Rc<Completion>,
    last: u64,
}

impl Receiver {
    /// Counts a `msg` (`stamp` read from its frame) received at `at`.
    fn on_msg(&mut self, stamp: Option<(u64, u64)>, at: Instant) {
        let Some((seq, sent)) = stamp else {
            return;
        };
        let shared = &self.shared;
        shared.record_at(
            sent,
            at.saturating_duration_since(shared.base).as_micros() as u64,
        );
        if seq != self.last + 1 && !shared.stopped() {
            shared.error(format!("broadcast gap: {} then {seq}", self.last));
        }
        self.last = seq;
        self.completion.delivered(seq);
    }
}

/// The `msg` stamp of a frame, if it is one.
fn stamp_of(frame: Frame<'_>) -> Option<(u64, u64)> {
    match frame {
        Frame::Text(t) => proto::msg_stamp(t),
        Frame::Binary(_) => None,
    }
}

/// Fan-out: `p.conns` clients in `/`; one of them emits `broadcast` and the server emits
/// `msg` to every socket of `/`, the emitter included. Either closed loop (`window`
/// broadcasts in flight, a new one only when an earlier one reached every client) or open
/// loop at `p.rate` broadcasts per second.
async fn fanout(scenario: &str, p: &Params, window: Option<usize>) -> Value {
    let shared = Shared::new();
    let mut report = Report::new(scenario);
    let server = p.server;
    let mut conns = Vec::new();
    ramp(
        &shared,
        p.conns.max(1),
        p.connect_concurrency,
        |i| WsConn::connect(server, i),
        |i, c| conns.push((i, c)),
    )
    .await;
    if conns.len() < p.conns {
        shared.error(format!("only {} of {} clients", conns.len(), p.conns));
    }
    let receivers = conns.len();
    let completion = Rc::new(Completion {
        receivers,
        ring: RefCell::new(vec![0; RING]),
        window: Semaphore::new(window.unwrap_or(0).min(RING / 2)),
        sent: Cell::new(0),
        completed: Cell::new(0),
    });
    conns.sort_by_key(|(i, _)| *i);
    let Some((_, mut emitter)) = conns.pop() else {
        shared.error("no connection");
        return report.finish(&shared, 0);
    };
    let receiver = || Receiver {
        shared: shared.clone(),
        completion: completion.clone(),
        last: 0,
    };
    for (_, mut conn) in conns {
        let mut me = receiver();
        tokio::task::spawn_local(async move {
            loop {
                let stamp = match conn.recv().await {
                    Ok(frame) => stamp_of(frame),
                    Err(e) => return me.shared.lost(e),
                };
                me.on_msg(stamp, conn.read_at());
            }
        });
    }
    let pad = proto::padding(p.payload);
    let mut me = receiver();
    let emitter_completion = completion.clone();
    let rate = p.rate;
    tokio::task::spawn_local(async move {
        let shared = me.shared.clone();
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        // After the window the emitter sends no more but keeps reading: its own `msg`s
        // complete the broadcasts still in flight, and the server's pings want answers.
        loop {
            let sending = !shared.stopped();
            let go = tokio::select! {
                permit = emitter_completion.window.acquire(), if sending && window.is_some() => {
                    match permit {
                        Ok(permit) => {
                            permit.forget();
                            true
                        }
                        Err(_) => return,
                    }
                }
                _ = ticker.tick(), if sending && window.is_none() => true,
                frame = emitter.recv() => {
                    let stamp = match frame {
                        Ok(frame) => stamp_of(frame),
                        Err(e) => return shared.lost(e),
                    };
                    me.on_msg(stamp, emitter.read_at());
                    false
                }
            };
            if !go || shared.stopped() {
                continue;
            }
            let seq = emitter_completion.sent.get() + 1;
            emitter_completion.sent.set(seq);
            let data = proto::stamp(seq, shared.now_us(), &pad);
            if let Err(e) = emitter.send_text(&proto::broadcast(None, &data)).await {
                return shared.lost(e);
            }
        }
    });
    // Watch for a stall (a lost delivery keeps its window slot forever).
    let watch = {
        let shared = shared.clone();
        let completion = completion.clone();
        async move {
            let mut last = completion.completed.get();
            let mut idle = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = completion.completed.get();
                idle = if now == last { idle + 1 } else { 0 };
                last = now;
                if idle >= 5 && !shared.stopped() {
                    shared.error("fan-out stalled: no broadcast completed for 5 s");
                    idle = 0;
                }
            }
        }
    };
    if window.is_some() {
        tokio::task::spawn_local(watch);
    }
    measure(&shared, p, &mut report).await;
    // Every broadcast sent must reach every client; the last ones are still on their way.
    let deadline = Instant::now() + COMPLETION_GRACE;
    while completion.completed.get() < completion.sent.get() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (sent, completed) = (completion.sent.get(), completion.completed.get());
    if completed < sent {
        shared.error(format!(
            "{} of {sent} broadcasts had not reached every client {} s after the window",
            sent - completed,
            COMPLETION_GRACE.as_secs()
        ));
    }
    let deliveries = shared.count.get() as f64;
    report.set("deliveries_per_s", deliveries / report.window.wall_s);
    report.set(
        "broadcasts_per_s",
        deliveries / receivers.max(1) as f64 / report.window.wall_s,
    );
    report.set(
        "cpu_us_per_delivery",
        1e6 * report.window.server_cpu_s / deliveries.max(1.0),
    );
    if window.is_none() {
        let expected = p.rate * receivers as f64 * report.window.wall_s;
        report.set("delivered_pct", 100.0 * deliveries / expected.max(1.0));
    }
    report.latencies(&shared);
    report.finish(&shared, shared.alive.get())
}

/// Room chat: clients in rooms of `room_size`, each sending `rate` messages per second to
/// its room; latency from send to each delivery.
async fn rooms(p: &Params) -> Value {
    let shared = Shared::new();
    let mut report = Report::new("rooms");
    let server = p.server;
    let room_size = p.room_size.max(2);
    let mut conns = Vec::new();
    let ramp_time = ramp(
        &shared,
        p.conns,
        p.connect_concurrency,
        |i| async move {
            let mut conn = WsConn::connect(server, i).await?;
            conn.call(1, &proto::join(1, &format!("r{}", i / room_size)))
                .await?;
            Ok(conn)
        },
        |i, c| conns.push((i, c)),
    )
    .await;
    report.set(
        "connect_rate",
        shared.alive.get() as f64 / ramp_time.as_secs_f64().max(1e-9),
    );
    let period = Duration::from_secs_f64(1.0 / p.rate.max(0.001));
    let clients = p.conns.max(1);
    let pad = proto::padding(p.payload);
    for (i, mut conn) in conns {
        let shared = shared.clone();
        let room = format!("r{}", i / room_size);
        let pad = pad.clone();
        // Senders are spread evenly over the period.
        let offset = period.mul_f64(i as f64 / clients as f64);
        tokio::task::spawn_local(async move {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seq = 0u64;
            loop {
                tokio::select! {
                    _ = ticker.tick() => {
                        if shared.stopped() {
                            continue;
                        }
                        seq += 1;
                        let data = proto::stamp(seq, shared.now_us(), &pad);
                        if let Err(e) = conn.send_text(&proto::broadcast(Some(&room), &data)).await {
                            return shared.lost(e);
                        }
                    }
                    frame = conn.recv() => {
                        let stamp = match frame {
                            Ok(frame) => stamp_of(frame),
                            Err(e) => return shared.lost(e),
                        };
                        if let Some((_, sent)) = stamp {
                            let at = conn.read_at().saturating_duration_since(shared.base);
                            shared.record_at(sent, at.as_micros() as u64);
                        }
                    }
                }
            }
        });
    }
    measure(&shared, p, &mut report).await;
    let deliveries = shared.count.get() as f64;
    let wall = report.window.wall_s;
    report.set("deliveries_per_s", deliveries / wall);
    let expected = p.conns as f64 * p.rate * (room_size - 1) as f64 * wall;
    report.set("delivered_pct", 100.0 * deliveries / expected.max(1.0));
    report.set(
        "cpu_us_per_delivery",
        1e6 * report.window.server_cpu_s / deliveries.max(1.0),
    );
    report.latencies(&shared);
    report.finish(&shared, shared.alive.get())
}

enum PollEvent {
    Ping,
    Ack(u64),
}

/// Polling-only clients: echo with ack over HTTP long-polling, in a closed loop.
async fn polling_echo(p: &Params) -> Value {
    let shared = Shared::new();
    let mut report = Report::new("polling");
    let server = p.server;
    let mut sessions = Vec::new();
    ramp(
        &shared,
        p.conns,
        p.connect_concurrency.min(128),
        |i| PollingSession::connect(server, i),
        |_, s| sessions.push(s),
    )
    .await;
    let pad = proto::padding(p.payload);
    for session in sessions {
        let PollingSession {
            mut get,
            mut post,
            path,
            ..
        } = session;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let reader_path = path.clone();
        let reader_shared = shared.clone();
        let reader = tokio::task::spawn_local(async move {
            loop {
                let (status, body) = match get.request("GET", &reader_path, b"").await {
                    Ok(r) => r,
                    Err(e) => return reader_shared.lost(e),
                };
                if status != 200 {
                    return reader_shared.lost(format!("poll: HTTP {status}"));
                }
                for packet in body.split(|&b| b == 0x1e) {
                    let packet = String::from_utf8_lossy(packet);
                    let event = match proto::classify(&packet) {
                        Incoming::Ping => PollEvent::Ping,
                        Incoming::Ack(id, _) => PollEvent::Ack(id),
                        Incoming::Close => {
                            return reader_shared.lost("closed by the server".into())
                        }
                        _ => continue,
                    };
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            }
        });
        let shared = shared.clone();
        let pad = pad.clone();
        tokio::task::spawn_local(async move {
            let mut id = 0u64;
            while !shared.stopped() {
                id += 1;
                let sent = shared.now_us();
                let call = async {
                    polling::post(&mut post, &path, proto::echo(id, &pad).as_bytes()).await?;
                    loop {
                        match rx.recv().await {
                            Some(PollEvent::Ack(got)) if got == id => return Ok(()),
                            Some(PollEvent::Ack(_)) => {}
                            Some(PollEvent::Ping) => polling::post(&mut post, &path, b"3").await?,
                            None => return Err("long-poll ended".to_string()),
                        }
                    }
                };
                match tokio::time::timeout(Duration::from_secs(10), call).await {
                    Ok(Ok(())) => shared.record(sent),
                    Ok(Err(e)) => {
                        reader.abort();
                        return shared.lost(e);
                    }
                    Err(_) => {
                        reader.abort();
                        return shared.lost("no ack within 10 s".into());
                    }
                }
            }
            reader.abort();
        });
    }
    measure(&shared, p, &mut report).await;
    let acks = shared.count.get() as f64;
    report.set("acks_per_s", acks / report.window.wall_s);
    report.set(
        "cpu_us_per_ack",
        1e6 * report.window.server_cpu_s / acks.max(1.0),
    );
    report.latencies(&shared);
    report.finish(&shared, shared.alive.get())
}

/// Binary: echo with ack of one `p.payload`-byte attachment, in a closed loop.
async fn binary(p: &Params) -> Value {
    let shared = Shared::new();
    let mut report = Report::new("binary");
    let server = p.server;
    let mut conns = Vec::new();
    ramp(
        &shared,
        p.conns,
        p.connect_concurrency,
        |i| WsConn::connect(server, i),
        |_, c| conns.push(c),
    )
    .await;
    let attachment: Rc<[u8]> = (0..p.payload).map(|i| (i % 251) as u8).collect();
    let size = p.payload;
    for mut conn in conns {
        let shared = shared.clone();
        let attachment = attachment.clone();
        tokio::task::spawn_local(async move {
            let mut id = 0u64;
            while !shared.stopped() {
                id += 1;
                let sent = shared.now_us();
                let call = async {
                    conn.send_text(&proto::binary_echo(id)).await?;
                    conn.send_binary(&attachment).await?;
                    loop {
                        let Some(t) = conn.recv().await?.text() else {
                            continue;
                        };
                        if let Incoming::BinaryAck(got, n) = proto::classify(t) {
                            let mut bytes = 0;
                            for _ in 0..n {
                                if let Frame::Binary(b) = conn.recv().await? {
                                    bytes += b.len();
                                }
                            }
                            if got == id {
                                return Ok::<usize, String>(bytes);
                            }
                        }
                    }
                };
                match tokio::time::timeout(Duration::from_secs(10), call).await {
                    Ok(Ok(bytes)) => {
                        if bytes != size {
                            shared.error(format!("attachment of {bytes} bytes, sent {size}"));
                        }
                        if shared.measuring() && sent >= shared.measure_start_us.get() {
                            shared.bytes.set(shared.bytes.get() + bytes as u64);
                        }
                        shared.record(sent);
                    }
                    Ok(Err(e)) => return shared.lost(e),
                    Err(_) => return shared.lost("no ack within 10 s".into()),
                }
            }
        });
    }
    measure(&shared, p, &mut report).await;
    let wall = report.window.wall_s;
    let acks = shared.count.get() as f64;
    report.set("mb_per_s", shared.bytes.get() as f64 / 1e6 / wall);
    report.set("acks_per_s", acks / wall);
    report.set(
        "cpu_ms_per_mb",
        1e3 * report.window.server_cpu_s / (shared.bytes.get() as f64 / 1e6).max(1e-9),
    );
    report.latencies(&shared);
    report.finish(&shared, shared.alive.get())
}
