//! The driver of `make bench` / `make bench-smoke`: for each run × scenario × server it
//! starts the server pinned to core 0, waits for its port, runs `loadgen run` pinned to
//! core 1 (which samples the server's /proc), stops the server; then it takes the medians,
//! prints the table and writes bench/results/.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::flags::Flags;
use crate::scenarios;
use crate::sys;

/// One server under test.
struct Server {
    name: &'static str,
    port: u16,
    /// The command, without the port (appended last).
    cmd: Vec<String>,
    /// Scenarios it cannot run (the floors have no long-polling).
    skips: &'static [&'static str],
}

/// The order of the table's columns: ours first, then the peers.
const SERVERS: &[&str] = &["ours", "socketioxide", "node", "actix-ws-floor", "tt-floor"];

fn servers(root: &Path, exe_dir: &Path) -> Vec<Server> {
    let path = |p: PathBuf| p.to_string_lossy().into_owned();
    vec![
        Server {
            name: "ours",
            port: 3101,
            cmd: vec![path(exe_dir.join("examples/bench_server"))],
            skips: &[],
        },
        Server {
            name: "socketioxide",
            port: 3102,
            cmd: vec![path(
                root.join("bench/socketioxide/target/release/socketioxide-bench"),
            )],
            skips: &[],
        },
        Server {
            name: "node",
            port: 3103,
            cmd: vec!["node".into(), path(root.join("bench/node/server.js"))],
            skips: &[],
        },
        Server {
            name: "actix-ws-floor",
            port: 3104,
            cmd: vec![path(exe_dir.join("examples/floor"))],
            skips: &["polling"],
        },
        Server {
            name: "tt-floor",
            port: 3105,
            cmd: vec![path(exe_dir.join("examples/floor_tungstenite"))],
            skips: &["polling"],
        },
    ]
}

/// How big and how long: the real runs, or the CI smoke test.
struct Profile {
    name: &'static str,
    runs: usize,
    /// One server process per scenario (full) or per server for all scenarios (smoke).
    fresh_server_per_scenario: bool,
}

/// The `loadgen run` flags of a scenario in a profile.
fn scenario_args(profile: &Profile, scenario: &str) -> Vec<String> {
    let kv = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
            .collect::<Vec<_>>()
    };
    if profile.name == "smoke" {
        let timing = [
            ("warmup", "0.2".to_string()),
            ("duration", "0.5".to_string()),
        ];
        let mut args = kv(&timing);
        let extra: Vec<(&str, String)> = match scenario {
            "idle-10k" => vec![("conns", "50".into())],
            "idle-19k5" => vec![("conns", "100".into())],
            "echo" => vec![("conns", "10".into())],
            "fanout-w8" | "fanout-w32" | "fanout-sat" | "fanout-50" => {
                vec![("conns", "50".into())]
            }
            "rooms" => vec![("conns", "50".into()), ("rate", "10".into())],
            "polling" => vec![("conns", "20".into())],
            "binary" => vec![("conns", "4".into())],
            _ => vec![],
        };
        args.extend(kv(&extra));
        args
    } else {
        // The defaults of `loadgen run` are the full sizes (Params::defaults).
        Vec::new()
    }
}

/// A metric row of the table.
struct Row {
    scenario: &'static str,
    key: &'static str,
    label: &'static str,
    higher_is_better: bool,
}

const fn row(
    scenario: &'static str,
    key: &'static str,
    label: &'static str,
    higher_is_better: bool,
) -> Row {
    Row {
        scenario,
        key,
        label,
        higher_is_better,
    }
}

const ROWS: &[Row] = &[
    row("idle-10k", "held", "connections held", true),
    row("idle-10k", "connect_rate", "connect rate (conn/s)", true),
    row(
        "idle-10k",
        "rss_per_conn_kb",
        "RSS per connection (KiB)",
        false,
    ),
    row(
        "idle-10k",
        "cpu_us_per_connect",
        "server CPU per connect (µs)",
        false,
    ),
    row("idle-19k5", "held", "connections held", true),
    row("idle-19k5", "connect_rate", "connect rate (conn/s)", true),
    row(
        "idle-19k5",
        "rss_per_conn_kb",
        "RSS per connection (KiB)",
        false,
    ),
    row("idle-19k5", "server_rss_mb", "server RSS (MiB)", false),
    row(
        "idle-19k5",
        "rss_100k_mb",
        "RSS at 100k conns, extrapolated (MiB)",
        false,
    ),
    row("echo", "acks_per_s", "acks/s", true),
    row("echo", "cpu_us_per_ack", "server CPU per ack (µs)", false),
    row("echo", "p50_ms", "latency p50 (ms)", false),
    row("echo", "p99_ms", "latency p99 (ms)", false),
    row("echo", "p999_ms", "latency p99.9 (ms)", false),
    row(
        "echo",
        "loadgen_cpu_pct",
        "load generator CPU (% of its core)",
        false,
    ),
    row(
        "fanout-w8",
        "cpu_us_per_delivery",
        "server CPU s per million deliveries",
        false,
    ),
    row("fanout-w8", "deliveries_per_s", "deliveries/s", true),
    row("fanout-w8", "p50_ms", "latency p50 (ms)", false),
    row("fanout-w8", "p99_ms", "latency p99 (ms)", false),
    row(
        "fanout-w8",
        "server_cpu_pct",
        "server CPU (% of a core)",
        false,
    ),
    row(
        "fanout-w8",
        "loadgen_cpu_pct",
        "load generator CPU (% of its core)",
        false,
    ),
    row(
        "fanout-w32",
        "cpu_us_per_delivery",
        "server CPU s per million deliveries",
        false,
    ),
    row("fanout-w32", "deliveries_per_s", "deliveries/s", true),
    row("fanout-w32", "p50_ms", "latency p50 (ms)", false),
    row("fanout-w32", "p99_ms", "latency p99 (ms)", false),
    row(
        "fanout-w32",
        "server_cpu_pct",
        "server CPU (% of a core)",
        false,
    ),
    row(
        "fanout-w32",
        "loadgen_cpu_pct",
        "load generator CPU (% of its core)",
        false,
    ),
    row(
        "fanout-sat",
        "cpu_us_per_delivery",
        "server CPU s per million deliveries",
        false,
    ),
    row("fanout-sat", "deliveries_per_s", "deliveries/s", true),
    row(
        "fanout-sat",
        "p99_ms",
        "latency p99 at saturation (ms)",
        false,
    ),
    row(
        "fanout-sat",
        "loadgen_cpu_pct",
        "load generator CPU (% of its core)",
        false,
    ),
    row("fanout-50", "p50_ms", "latency p50 (ms)", false),
    row("fanout-50", "p99_ms", "latency p99 (ms)", false),
    row("fanout-50", "p999_ms", "latency p99.9 (ms)", false),
    row(
        "fanout-50",
        "server_cpu_pct",
        "server CPU (% of a core)",
        false,
    ),
    row("rooms", "deliveries_per_s", "deliveries/s", true),
    row("rooms", "delivered_pct", "delivered (% of sent × 9)", true),
    row("rooms", "p50_ms", "delivery p50 (ms)", false),
    row("rooms", "p99_ms", "delivery p99 (ms)", false),
    row("rooms", "p999_ms", "delivery p99.9 (ms)", false),
    row("rooms", "server_cpu_pct", "server CPU (% of a core)", false),
    row("polling", "acks_per_s", "echo acks/s", true),
    row(
        "polling",
        "cpu_us_per_ack",
        "server CPU per ack (µs)",
        false,
    ),
    row("polling", "p50_ms", "latency p50 (ms)", false),
    row("polling", "p99_ms", "latency p99 (ms)", false),
    row(
        "polling",
        "loadgen_cpu_pct",
        "load generator CPU (% of its core)",
        false,
    ),
    row("binary", "mb_per_s", "attachment MB/s echoed", true),
    row("binary", "cpu_ms_per_mb", "server CPU per MB (ms)", false),
    row("binary", "p99_ms", "latency p99 (ms)", false),
    row(
        "binary",
        "loadgen_cpu_pct",
        "load generator CPU (% of its core)",
        false,
    ),
];

fn scenario_title(scenario: &str) -> &'static str {
    match scenario {
        "idle-10k" => "idle, 10,000 connections",
        "idle-19k5" => "idle, 19,500 connections",
        "echo" => "echo with ack, 100 connections, 64 B",
        "fanout-w8" => {
            "fan-out to all 1,000 clients of `/` (sender included), closed loop, 8 broadcasts in flight"
        }
        "fanout-w32" => {
            "fan-out to all 1,000 clients of `/` (sender included), closed loop, 32 broadcasts in flight"
        }
        "fanout-sat" => {
            "fan-out to all 1,000 clients of `/` (sender included), closed loop, 64 in flight (saturation)"
        }
        "fanout-50" => "fan-out to all 1,000 clients of `/` (sender included), 50 broadcasts/s",
        "rooms" => "room chat, 10,000 clients in rooms of 10, 1 msg/s each",
        "polling" => "polling-only clients, 1,000, echo with ack, 64 B",
        "binary" => "binary, 10 connections, 64 KiB attachment echo",
        _ => "",
    }
}

/// The raw reports: server → scenario → one per run (`None` when the run failed).
type Results = BTreeMap<String, BTreeMap<String, Vec<Value>>>;

pub fn main(args: &[String]) -> Result<bool, String> {
    let flags = Flags::parse(
        args,
        &[
            "smoke",
            "runs",
            "servers",
            "scenarios",
            "out",
            "no-write",
            "root",
        ],
    )?;
    let smoke = flags.has("smoke");
    let mut profile = if smoke {
        Profile {
            name: "smoke",
            runs: 1,
            fresh_server_per_scenario: false,
        }
    } else {
        Profile {
            name: "full",
            runs: 3,
            fresh_server_per_scenario: true,
        }
    };
    if let Some(runs) = flags.num("runs")? {
        profile.runs = runs;
    }
    let root = match flags.get("root") {
        Some(r) => PathBuf::from(r),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    };
    let root = root.canonicalize().map_err(|e| format!("root: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let exe_dir = exe.parent().ok_or("no exe dir")?.to_path_buf();
    let list = |name: &str, all: &[&str]| -> Vec<String> {
        match flags.get(name) {
            Some(v) => v.split(',').map(str::to_owned).collect(),
            None => all.iter().map(|s| s.to_string()).collect(),
        }
    };
    let wanted_servers = list("servers", SERVERS);
    let wanted_scenarios = list("scenarios", scenarios::ALL);
    for s in &wanted_scenarios {
        if !scenarios::ALL.contains(&s.as_str()) {
            return Err(format!("unknown scenario {s}"));
        }
    }
    let all_servers = servers(&root, &exe_dir);
    let servers: Vec<&Server> = wanted_servers
        .iter()
        .map(|w| {
            all_servers
                .iter()
                .find(|s| s.name == w)
                .ok_or_else(|| format!("unknown server {w}"))
        })
        .collect::<Result<_, _>>()?;
    for server in &servers {
        let program = &server.cmd[0];
        if program.contains('/') && !Path::new(program).exists() {
            return Err(format!(
                "{}: {program} is not built (run `make bench`, which builds it)",
                server.name
            ));
        }
    }
    let nofile = sys::raise_nofile();
    let pin = sys::online_cpus() >= 2 && which("taskset");
    let out_dir = match flags.get("out") {
        Some(d) => PathBuf::from(d),
        None if smoke => root.join("bench/results/tmp"),
        None => root.join("bench/results"),
    };
    let log_dir = root.join("bench/results/tmp");
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;

    let machine = machine_info(&root);
    eprintln!(
        "bench {}: {} run(s) × {} scenario(s) × {} server(s); {}; fd limit {nofile}",
        profile.name,
        profile.runs,
        wanted_scenarios.len(),
        servers.len(),
        if pin {
            "servers on core 0, load generator on core 1"
        } else {
            "NOT pinned (needs 2 cores and taskset)"
        }
    );
    let started = Instant::now();
    let mut results: Results = BTreeMap::new();
    let mut failures = Vec::new();
    let ctx = RunCtx {
        exe: &exe,
        log_dir: &log_dir,
        pin,
        profile: &profile,
    };
    for run in 1..=profile.runs {
        if profile.fresh_server_per_scenario {
            for scenario in &wanted_scenarios {
                for server in &servers {
                    if server.skips.contains(&scenario.as_str()) {
                        continue;
                    }
                    let mut best: Option<Value> = None;
                    // A run that other work on the machine disturbed is tried again (twice
                    // at most); the least disturbed attempt counts.
                    for _attempt in 0..3 {
                        let report = match ServerProcess::start(server, &ctx) {
                            Ok(mut process) => {
                                wait_for_quiet_machine();
                                let report = ctx.scenario(server, &process, scenario, run);
                                let report = process.check_alive(report);
                                process.stop();
                                report
                            }
                            Err(e) => fatal(scenario, e),
                        };
                        let disturbed = background(&report) > RETRY_BACKGROUND;
                        if best
                            .as_ref()
                            .is_none_or(|b| background(&report) < background(b))
                        {
                            best = Some(report);
                        }
                        if !disturbed || smoke {
                            break;
                        }
                        eprintln!("    (disturbed by other work on the machine; again)");
                    }
                    let report = best.unwrap_or_else(|| fatal(scenario, "no run".into()));
                    record(&mut results, &mut failures, server, scenario, report);
                }
            }
        } else {
            for server in &servers {
                let mut process = match ServerProcess::start(server, &ctx) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        for scenario in &wanted_scenarios {
                            let report = fatal(scenario, e.clone());
                            record(&mut results, &mut failures, server, scenario, report);
                        }
                        None
                    }
                };
                if let Some(process) = process.as_mut() {
                    for scenario in &wanted_scenarios {
                        if server.skips.contains(&scenario.as_str()) {
                            continue;
                        }
                        let report = ctx.scenario(server, process, scenario, run);
                        let report = process.check_alive(report);
                        record(&mut results, &mut failures, server, scenario, report);
                    }
                    process.stop();
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let server_names: Vec<&str> = servers.iter().map(|s| s.name).collect();
    let markdown = render(
        &results,
        &server_names,
        &wanted_scenarios,
        &profile,
        &machine,
        elapsed,
        pin,
    );
    println!("{markdown}");
    if !flags.has("no-write") {
        std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
        let stamp = sys::utc_stamp();
        let base = out_dir.join(format!("{stamp}-{}", profile.name));
        let md_path = base.with_extension("md");
        let json_path = base.with_extension("json");
        std::fs::write(&md_path, &markdown).map_err(|e| e.to_string())?;
        let raw = json!({
            "profile": profile.name,
            "machine": machine,
            "elapsed_s": elapsed.as_secs_f64(),
            "pinned": pin,
            "results": results,
        });
        std::fs::write(
            &json_path,
            serde_json::to_string_pretty(&raw).unwrap_or_default(),
        )
        .map_err(|e| e.to_string())?;
        eprintln!("wrote {} and {}", md_path.display(), json_path.display());
    }
    if !failures.is_empty() {
        eprintln!("failures:");
        for f in &failures {
            eprintln!("  {f}");
        }
    }
    // The smoke test fails on any error; the real runs report errors in the table and fail
    // only when a run produced nothing.
    let ok = if smoke {
        failures.is_empty()
    } else {
        failures.iter().all(|f| !f.contains("FATAL"))
    };
    Ok(ok)
}

/// Other work above this share of a core during a window makes the suite run it again.
const RETRY_BACKGROUND: f64 = 0.25;

/// The share of a core other work took during a run's window.
fn background(report: &Value) -> f64 {
    report["metrics"]["background_cpu_pct"]
        .as_f64()
        .unwrap_or(0.0)
        / 100.0
}

/// Waits (30 s at most) until the rest of the machine has been quiet (under a quarter of a
/// core) for half a second: other people's builds and tests skew the figures.
fn wait_for_quiet_machine() {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut quiet = 0;
    while quiet < 2 && Instant::now() < deadline {
        let before = sys::machine_busy_seconds();
        std::thread::sleep(Duration::from_millis(250));
        let busy = (sys::machine_busy_seconds() - before) / 0.25;
        quiet = if busy < 0.25 { quiet + 1 } else { 0 };
    }
}

fn fatal(scenario: &str, error: String) -> Value {
    json!({ "scenario": scenario, "fatal": error })
}

fn record(
    results: &mut Results,
    failures: &mut Vec<String>,
    server: &Server,
    scenario: &str,
    report: Value,
) {
    if let Some(e) = report.get("fatal").and_then(Value::as_str) {
        failures.push(format!("FATAL {} / {scenario}: {e}", server.name));
    } else {
        let errors = report["errors"].as_u64().unwrap_or(0);
        if errors > 0 {
            failures.push(format!(
                "{} / {scenario}: {errors} error(s): {}",
                server.name, report["error_samples"]
            ));
        }
    }
    results
        .entry(server.name.to_owned())
        .or_default()
        .entry(scenario.to_owned())
        .or_default()
        .push(report);
}

struct RunCtx<'a> {
    exe: &'a Path,
    log_dir: &'a Path,
    pin: bool,
    profile: &'a Profile,
}

impl RunCtx<'_> {
    /// `loadgen run` pinned to core 1; its JSON report.
    fn scenario(
        &self,
        server: &Server,
        process: &ServerProcess,
        scenario: &str,
        run: usize,
    ) -> Value {
        let mut cmd = pinned(self.pin, "1");
        cmd.arg(self.exe)
            .arg("run")
            .arg(scenario)
            .arg("--port")
            .arg(server.port.to_string())
            .arg("--pid")
            .arg(process.child.id().to_string())
            .args(scenario_args(self.profile, scenario));
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let started = Instant::now();
        let output = match cmd.spawn() {
            Ok(child) => wait_output(child, Duration::from_secs(300)),
            Err(e) => Err(format!("loadgen: {e}")),
        };
        let report = match output {
            Ok(stdout) => serde_json::from_str::<Value>(stdout.trim())
                .unwrap_or_else(|e| fatal(scenario, format!("bad loadgen output ({e}): {stdout}"))),
            Err(e) => fatal(scenario, e),
        };
        eprintln!(
            "  run {run} {:<12} {:<11} {:>5.1}s  {}",
            server.name,
            scenario,
            started.elapsed().as_secs_f64(),
            summary(&report)
        );
        report
    }
}

/// The one-line progress report of a run.
fn summary(report: &Value) -> String {
    if let Some(e) = report.get("fatal") {
        return format!("FAILED: {e}");
    }
    let m = &report["metrics"];
    let get = |k: &str| m.get(k).and_then(Value::as_f64);
    let mut parts = Vec::new();
    for key in [
        "held",
        "connect_rate",
        "rss_per_conn_kb",
        "acks_per_s",
        "deliveries_per_s",
        "mb_per_s",
        "p99_ms",
        "cpu_us_per_ack",
    ] {
        if let Some(v) = get(key) {
            parts.push(format!("{key}={}", fmt_num(v)));
        }
    }
    let errors = report["errors"].as_u64().unwrap_or(0);
    if errors > 0 {
        parts.push(format!("errors={errors}"));
    }
    if let Some(v) = get("loadgen_cpu_pct") {
        parts.push(format!("loadgen_cpu={v:.0}%"));
    }
    if report["loadgen_saturated"].as_bool() == Some(true) {
        parts.push("LOADGEN-BOUND".into());
    }
    parts.join(" ")
}

/// A command for `core` (through `taskset` when pinning), killed if the suite dies first
/// (an interrupted suite leaves no server behind).
fn pinned(pin: bool, core: &str) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = if pin {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(core);
        cmd
    } else {
        Command::new("env")
    };
    // SAFETY: prctl is async-signal-safe; the death signal survives taskset's exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The child's stdout, or an error if it failed or overran `limit`.
fn wait_output(mut child: Child, limit: Duration) -> Result<String, String> {
    use std::io::Read;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("loadgen overran {} s", limit.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let out = reader.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        Err(format!("loadgen exited with {status}"))
    }
}

/// A server started by the suite.
struct ServerProcess {
    child: Child,
    name: &'static str,
}

impl ServerProcess {
    fn start(server: &Server, ctx: &RunCtx) -> Result<ServerProcess, String> {
        let log = ctx.log_dir.join(format!("{}.log", server.name));
        let log = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = pinned(ctx.pin, "0");
        cmd.args(&server.cmd)
            .arg(server.port.to_string())
            .env("NODE_ENV", "production")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let child = cmd
            .spawn()
            .map_err(|e| format!("{}: cannot start {:?}: {e}", server.name, server.cmd))?;
        let mut process = ServerProcess {
            child,
            name: server.name,
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!(
                    "{} exited at start ({status}); see bench/results/tmp/{}.log",
                    server.name, server.name
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                process.stop();
                return Err(format!(
                    "{} did not listen on {addr} within 30 s",
                    server.name
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        // Lets the process settle (JIT, lazy statics) before its baseline is sampled.
        std::thread::sleep(Duration::from_millis(300));
        Ok(process)
    }

    /// Turns a report into a failure if the server died during it.
    fn check_alive(&mut self, report: Value) -> Value {
        match self.child.try_wait() {
            Ok(Some(status)) => {
                let scenario = report["scenario"].as_str().unwrap_or("").to_owned();
                fatal(
                    &scenario,
                    format!(
                        "{} died ({status}); see bench/results/tmp/{}.log",
                        self.name, self.name
                    ),
                )
            }
            _ => report,
        }
    }

    fn stop(&mut self) {
        // The load generator is gone; nothing graceful is left to wait for.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// Median, and spread (max − min) / median.
fn median_spread(values: &mut [f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    let spread = if median.abs() > 1e-12 {
        (values[n - 1] - values[0]) / median.abs()
    } else {
        0.0
    };
    Some((median, spread))
}

/// A table cell: the median over the runs that produced the metric, and its flags.
#[derive(Default, Clone)]
struct Cell {
    median: Option<f64>,
    spread: f64,
    runs: usize,
    saturated: bool,
    /// Other work took more than 15% of a core during a run.
    disturbed: bool,
    errors: u64,
    failed: usize,
}

fn cell(results: &Results, server: &str, scenario: &str, key: &str) -> Cell {
    let Some(reports) = results.get(server).and_then(|s| s.get(scenario)) else {
        return Cell::default();
    };
    let mut values: Vec<f64> = reports
        .iter()
        .filter_map(|r| r["metrics"].get(key).and_then(Value::as_f64))
        .collect();
    let (median, spread) = match median_spread(&mut values) {
        Some((m, s)) => (Some(m), s),
        None => (None, 0.0),
    };
    Cell {
        median,
        spread,
        runs: values.len(),
        saturated: reports
            .iter()
            .any(|r| r["loadgen_saturated"].as_bool() == Some(true)),
        disturbed: reports.iter().any(|r| background(r) > 0.15),
        errors: reports.iter().filter_map(|r| r["errors"].as_u64()).sum(),
        failed: reports.iter().filter(|r| r.get("fatal").is_some()).count(),
    }
}

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000.0 {
        let s = format!("{:.0}", v);
        // Thousands separators.
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn fmt_cell(c: &Cell) -> String {
    let Some(m) = c.median else {
        return if c.failed > 0 {
            "FAILED".into()
        } else {
            "—".into()
        };
    };
    let mut s = fmt_num(m);
    if c.spread > 0.10 && c.runs > 1 {
        s.push('~');
    }
    if c.saturated {
        s.push('†');
    }
    if c.disturbed {
        s.push('‡');
    }
    if c.errors > 0 || c.failed > 0 {
        s.push('!');
    }
    s
}

fn ratio(ours: &Cell, peer: &Cell) -> String {
    match (ours.median, peer.median) {
        (Some(o), Some(p)) if p.abs() > 1e-12 => format!("{:.2}×", o / p),
        _ => "—".into(),
    }
}

/// The figures of issue 12's table, first in the results: what a chat server spends its
/// time on.
const HEADLINE: &[(&str, &str, &str)] = &[
    (
        "fanout-w8",
        "cpu_us_per_delivery",
        "fan-out to 1,000, 8 in flight: server CPU s per million deliveries",
    ),
    (
        "fanout-w8",
        "deliveries_per_s",
        "fan-out to 1,000, 8 in flight: deliveries/s",
    ),
    (
        "fanout-w32",
        "cpu_us_per_delivery",
        "fan-out to 1,000, 32 in flight: server CPU s per million deliveries",
    ),
    (
        "fanout-w32",
        "deliveries_per_s",
        "fan-out to 1,000, 32 in flight: deliveries/s",
    ),
    (
        "fanout-50",
        "p99_ms",
        "open loop, 50 broadcasts/s to 1,000: delivery p99 (ms)",
    ),
    (
        "echo",
        "acks_per_s",
        "echo with ack, 100 connections, 64 B: acks/s",
    ),
    (
        "idle-10k",
        "rss_per_conn_kb",
        "idle, 10,000 connections: RSS per connection (KiB)",
    ),
];

/// The peers whose ratio to ours the tables show: all of them, when ours runs.
fn ratio_peers<'a>(servers: &[&'a str]) -> Vec<&'a str> {
    if servers.contains(&"ours") {
        servers.iter().copied().filter(|s| *s != "ours").collect()
    } else {
        Vec::new()
    }
}

/// The header and rule of a table of `servers` and ours ÷ each peer; its column count.
fn table_header(servers: &[&str]) -> (String, usize) {
    let peers = ratio_peers(servers);
    let mut header = String::from("| scenario / metric |");
    let mut rule = String::from("|---|");
    for s in servers {
        let _ = write!(header, " {s} |");
        rule.push_str("---:|");
    }
    for p in &peers {
        let _ = write!(header, " ours/{p} |");
        rule.push_str("---:|");
    }
    (format!("{header}\n{rule}"), servers.len() + peers.len())
}

/// One metric across `servers`, then ours ÷ each peer.
fn table_line(results: &Results, servers: &[&str], row: &Row, label: &str) -> String {
    let cells: Vec<Cell> = servers
        .iter()
        .map(|s| cell(results, s, row.scenario, row.key))
        .collect();
    let arrow = if row.higher_is_better { "↑" } else { "↓" };
    let mut line = format!("| {label} {arrow} |");
    for c in &cells {
        let _ = write!(line, " {} |", fmt_cell(c));
    }
    let ours = cell(results, "ours", row.scenario, row.key);
    for peer in ratio_peers(servers) {
        let _ = write!(
            line,
            " {} |",
            ratio(&ours, &cell(results, peer, row.scenario, row.key))
        );
    }
    line
}

fn render(
    results: &Results,
    servers: &[&str],
    scenarios: &[String],
    profile: &Profile,
    machine: &Value,
    elapsed: Duration,
    pinned: bool,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmark results ({} profile)\n", profile.name);
    let _ = writeln!(
        md,
        "Machine: {} × {}, {} RAM, Linux {}; {}, {}; socketioxide {}, socket.io {}.  ",
        machine["cpus"],
        machine["cpu_model"].as_str().unwrap_or("?"),
        machine["memory"].as_str().unwrap_or("?"),
        machine["kernel"].as_str().unwrap_or("?"),
        machine["rustc"].as_str().unwrap_or("?"),
        machine["node"].as_str().unwrap_or("?"),
        machine["socketioxide"].as_str().unwrap_or("?"),
        machine["socket_io"].as_str().unwrap_or("?"),
    );
    let _ = writeln!(
        md,
        "Medians of {} run(s); {}; every server single-threaded, listen backlog 4096, TCP_NODELAY, \
         ping 25 s. Suite time {:.0} s.\n",
        profile.runs,
        if pinned {
            "servers pinned to core 0 (`taskset -c 0`), load generator to core 1"
        } else {
            "NOT pinned (fewer than 2 cores or no taskset)"
        },
        elapsed.as_secs_f64()
    );
    let (header, width) = table_header(servers);
    let headline: Vec<(&Row, &str)> = HEADLINE
        .iter()
        .filter(|(scenario, _, _)| scenarios.iter().any(|s| s == scenario))
        .filter_map(|(scenario, key, label)| {
            let row = ROWS
                .iter()
                .find(|r| r.scenario == *scenario && r.key == *key)?;
            Some((row, *label))
        })
        .collect();
    if !headline.is_empty() {
        let _ = writeln!(md, "## Headline\n\n{header}");
        for (row, label) in headline {
            let _ = writeln!(md, "{}", table_line(results, servers, row, label));
        }
        let _ = writeln!(md, "\n## All figures\n");
    }
    let _ = writeln!(md, "{header}");
    for scenario in scenarios {
        let _ = writeln!(
            md,
            "| **{}** {}|",
            scenario_title(scenario),
            "| ".repeat(width)
        );
        for r in ROWS.iter().filter(|r| r.scenario == scenario) {
            let _ = writeln!(md, "{}", table_line(results, servers, r, r.label));
        }
    }
    let _ = writeln!(
        md,
        "\n↑ higher is better, ↓ lower is better; ratios are ours ÷ peer. \
         `~` spread (max − min) / median > 10% across runs (noisy); \
         `†` the load generator used ≥ 85% of its core in a run (its CPU time over the \
         window's wall time), so the figure may be the load generator's limit rather than \
         the server's; \
         `‡` other work on the machine took > 15% of a core during a run (after up to two \
         retries); \
         `!` errors or a failed run (see below); — not applicable (the floors have no polling). \
         Server CPU s per million deliveries is the server process's utime + stime over the \
         window (`/proc/<pid>/stat`) divided by the deliveries in it.\n"
    );
    render_targets(&mut md, results);
    render_notes(&mut md, results, servers, scenarios);
    md
}

/// A figure of the results: (server, scenario, metric key).
type Figure = (&'static str, &'static str, &'static str);

/// A target on the ratio of two figures: `ratio ≤ limit` (or `≥` when `at_least`).
struct RatioTarget {
    name: &'static str,
    ours: Figure,
    peer: Figure,
    limit: f64,
    at_least: bool,
}

const fn target(
    name: &'static str,
    ours: Figure,
    peer: Figure,
    limit: f64,
    at_least: bool,
) -> RatioTarget {
    RatioTarget {
        name,
        ours,
        peer,
        limit,
        at_least,
    }
}

/// Issue 12's targets (fan-out window 8, open loop, echo, idle at 10k), then the earlier
/// ones.
const RATIO_TARGETS: &[RatioTarget] = &[
    target(
        "fan-out window 8: server CPU per delivery ≤ 0.7× socketioxide",
        ("ours", "fanout-w8", "cpu_us_per_delivery"),
        ("socketioxide", "fanout-w8", "cpu_us_per_delivery"),
        0.7,
        false,
    ),
    target(
        "fan-out window 8: deliveries/s ≥ 1.4× socketioxide",
        ("ours", "fanout-w8", "deliveries_per_s"),
        ("socketioxide", "fanout-w8", "deliveries_per_s"),
        1.4,
        true,
    ),
    target(
        "fan-out 50/s: p99 ≤ socketioxide",
        ("ours", "fanout-50", "p99_ms"),
        ("socketioxide", "fanout-50", "p99_ms"),
        1.0,
        false,
    ),
    target(
        "echo acks/s ≥ 1.25× socketioxide (where the load generator is not the limit)",
        ("ours", "echo", "acks_per_s"),
        ("socketioxide", "echo", "acks_per_s"),
        1.25,
        true,
    ),
    target(
        "idle RSS/conn ≤ Node (10k conns)",
        ("ours", "idle-10k", "rss_per_conn_kb"),
        ("node", "idle-10k", "rss_per_conn_kb"),
        1.0,
        false,
    ),
    target(
        "idle RSS/conn ≤ 0.5× socketioxide (10k conns)",
        ("ours", "idle-10k", "rss_per_conn_kb"),
        ("socketioxide", "idle-10k", "rss_per_conn_kb"),
        0.5,
        false,
    ),
    target(
        "idle RSS/conn ≤ 0.4× socketioxide (19.5k conns)",
        ("ours", "idle-19k5", "rss_per_conn_kb"),
        ("socketioxide", "idle-19k5", "rss_per_conn_kb"),
        0.4,
        false,
    ),
    target(
        "idle RSS/conn ≤ 0.7× Node (19.5k conns)",
        ("ours", "idle-19k5", "rss_per_conn_kb"),
        ("node", "idle-19k5", "rss_per_conn_kb"),
        0.7,
        false,
    ),
    target(
        "echo CPU per ack ≤ 0.75× socketioxide",
        ("ours", "echo", "cpu_us_per_ack"),
        ("socketioxide", "echo", "cpu_us_per_ack"),
        0.75,
        false,
    ),
    target(
        "fan-out at saturation: deliveries/s ≥ 1.4× socketioxide",
        ("ours", "fanout-sat", "deliveries_per_s"),
        ("socketioxide", "fanout-sat", "deliveries_per_s"),
        1.4,
        true,
    ),
    target(
        "fan-out at saturation: deliveries/s ≥ 0.9× the actix-ws floor",
        ("ours", "fanout-sat", "deliveries_per_s"),
        ("actix-ws-floor", "fanout-sat", "deliveries_per_s"),
        0.9,
        true,
    ),
    target(
        "polling CPU/message ≤ 2× WebSocket (ours)",
        ("ours", "polling", "cpu_us_per_ack"),
        ("ours", "echo", "cpu_us_per_ack"),
        2.0,
        false,
    ),
];

/// The targets, met or missed, with the numbers. A target whose figures come from
/// a run where the load generator was near its limit says so: it shows the generator.
fn render_targets(md: &mut String, results: &Results) {
    let get = |(server, scenario, key): Figure| cell(results, server, scenario, key);
    let status = |met: Option<bool>, bound: bool| {
        let s = match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "n/a",
        };
        if bound {
            format!("{s} (load generator bound †)")
        } else {
            s.to_owned()
        }
    };
    let _ = writeln!(
        md,
        "## Targets\n\n| target | ours | status |\n|---|---:|---|"
    );
    for t in RATIO_TARGETS {
        let (ours, peer) = (get(t.ours), get(t.peer));
        let ratio = match (ours.median, peer.median) {
            (Some(a), Some(b)) if b.abs() > 1e-12 => Some(a / b),
            _ => None,
        };
        let met = ratio.map(|x| {
            if t.at_least {
                x >= t.limit
            } else {
                x <= t.limit
            }
        });
        let shown = ratio.map_or_else(|| "—".into(), |x| format!("{x:.2}×"));
        let bound = ours.saturated || peer.saturated;
        let _ = writeln!(md, "| {} | {shown} | {} |", t.name, status(met, bound));
    }
    let held = get(("ours", "idle-19k5", "held"));
    let _ = writeln!(
        md,
        "| 19,500 connections held | {} | {} |",
        held.median
            .map_or_else(|| "—".into(), |v| format!("{v:.0}")),
        status(held.median.map(|v| v >= 19_500.0), false)
    );
    let footprint = get(("ours", "idle-19k5", "rss_100k_mb"));
    let _ = writeln!(
        md,
        "| 100k connections under 1 GB RSS (extrapolated) | {} | {} |\n",
        footprint
            .median
            .map_or_else(|| "—".into(), |v| format!("{v:.2} MiB")),
        status(footprint.median.map(|v| v * 1024.0 * 1024.0 < 1e9), false)
    );
}

fn render_notes(md: &mut String, results: &Results, servers: &[&str], scenarios: &[String]) {
    let mut notes = Vec::new();
    for server in servers {
        for scenario in scenarios {
            let Some(reports) = results.get(*server).and_then(|s| s.get(scenario)) else {
                continue;
            };
            for (i, r) in reports.iter().enumerate() {
                let run = i + 1;
                if let Some(e) = r.get("fatal") {
                    notes.push(format!("- {server} / {scenario} run {run}: FAILED: {e}"));
                    continue;
                }
                let errors = r["errors"].as_u64().unwrap_or(0);
                if errors > 0 {
                    notes.push(format!(
                        "- {server} / {scenario} run {run}: {errors} error(s), e.g. {}",
                        r["error_samples"]
                    ));
                }
                if let Some(ns) = r["notes"].as_array() {
                    for n in ns.iter().filter_map(Value::as_str) {
                        notes.push(format!("- {server} / {scenario} run {run}: {n}"));
                    }
                }
            }
            for row in ROWS.iter().filter(|r| r.scenario == scenario) {
                let c = cell(results, server, scenario, row.key);
                if c.runs > 1 && c.spread > 0.10 {
                    notes.push(format!(
                        "- {server} / {scenario}: {} noisy, spread {:.0}%",
                        row.label,
                        100.0 * c.spread
                    ));
                }
            }
        }
    }
    let _ = writeln!(md, "## Notes\n");
    if notes.is_empty() {
        let _ = writeln!(
            md,
            "No errors, no saturated load generator, no noisy figure."
        );
    }
    for n in notes {
        let _ = writeln!(md, "{n}");
    }
    let _ = writeln!(md, "\n## Per-run values\n");
    let _ = writeln!(
        md,
        "| server | scenario | metric | runs |\n|---|---|---|---|"
    );
    for server in servers {
        for scenario in scenarios {
            let Some(reports) = results.get(*server).and_then(|s| s.get(scenario)) else {
                continue;
            };
            for row in ROWS.iter().filter(|r| r.scenario == scenario) {
                let vals: Vec<String> = reports
                    .iter()
                    .map(|r| {
                        r["metrics"]
                            .get(row.key)
                            .and_then(Value::as_f64)
                            .map(fmt_num)
                            .unwrap_or_else(|| "—".into())
                    })
                    .collect();
                let _ = writeln!(
                    md,
                    "| {server} | {scenario} | {} | {} |",
                    row.label,
                    vals.join(", ")
                );
            }
        }
    }
}

fn run_cmd(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Cores, memory, kernel, tool and peer versions, for the results file.
fn machine_info(root: &Path) -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "?".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let lock =
        std::fs::read_to_string(root.join("bench/socketioxide/Cargo.lock")).unwrap_or_default();
    let socketioxide = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"socketioxide\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| "?".into());
    let socket_io =
        std::fs::read_to_string(root.join("bench/node/node_modules/socket.io/package.json"))
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|v| v["version"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".into());
    json!({
        "cpus": sys::online_cpus(),
        "cpu_model": cpu_model,
        "memory": format!("{:.1} GiB", mem_kb as f64 / 1024.0 / 1024.0),
        "kernel": kernel,
        "rustc": run_cmd("rustc", &["--version"], root).unwrap_or_else(|| "rustc ?".into()),
        "node": run_cmd("node", &["--version"], root).map(|v| format!("Node {v}")).unwrap_or_else(|| "Node ?".into()),
        "socketioxide": socketioxide,
        "socket_io": socket_io,
        "somaxconn": std::fs::read_to_string("/proc/sys/net/core/somaxconn").unwrap_or_default().trim(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_spreads() {
        assert_eq!(median_spread(&mut [3.0, 1.0, 2.0]), Some((2.0, 1.0)));
        assert_eq!(median_spread(&mut [1.0, 3.0]), Some((2.0, 1.0)));
        assert_eq!(median_spread(&mut []), None);
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(fmt_num(123_456.7), "123,457");
        assert_eq!(fmt_num(12.34), "12.3");
        assert_eq!(fmt_num(0.1234), "0.123");
    }

    #[test]
    fn stamps_dates() {
        let s = sys::utc_stamp();
        assert_eq!(s.len(), 17);
        assert!(s.starts_with("20"));
    }
}
