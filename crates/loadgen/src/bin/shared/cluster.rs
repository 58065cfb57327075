//! What the cluster benchmarks (cluster_fanout, recovery_faults) share: processes pinned
//! to a core and killed when dropped, ports, readiness, CPU readings, the date.

// Each benchmark includes this file and uses a different part of it.
#![allow(dead_code)]

/// The suite's /proc, rusage and clock readings.
#[path = "../../sys.rs"]
pub mod sys;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub type Error = String;

/// How long a server may take to start.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

pub fn repo_root() -> PathBuf {
    // crates/loadgen -> the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

pub fn free_port() -> Result<u16, Error> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Pins this process to one core (`taskset -c` for the children).
pub fn pin_self(core: usize) {
    // SAFETY: the set is zeroed, one bit is set, and it is passed with its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// CPU seconds (user + system) of a process so far, from /proc/<pid>/stat (0 once gone).
pub fn cpu_seconds(pid: u32) -> f64 {
    sys::sample_proc(pid).map_or(0.0, |sample| sample.cpu_s)
}

/// A child process, killed when dropped.
pub struct Process(Child);

impl Process {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `program` pinned to `core`, with `env`.
pub fn spawn_pinned(
    core: usize,
    program: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<Process, Error> {
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg(core.to_string())
        .arg(program)
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    // taskset execs the program: the pid is the server's.
    command
        .spawn()
        .map(Process)
        .map_err(|e| format!("{}: {e}", program.display()))
}

/// Waits until something accepts TCP connections on `port`.
pub async fn wait_listening(port: u16, what: &str) -> Result<(), Error> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not listen on {port}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until a Redis on `port` answers PING.
pub async fn wait_redis(port: u16) -> Result<(), Error> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(mut tcp) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await {
            let mut reply = [0u8; 7];
            if tcp.write_all(b"PING\r\n").await.is_ok()
                && tcp.read_exact(&mut reply).await.is_ok()
                && &reply == b"+PONG\r\n"
            {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("redis-server on {port} did not answer"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn number<T: std::str::FromStr>(text: &str) -> Result<T, Error> {
    text.parse().map_err(|_| format!("{text} is not a number"))
}

/// The command that runs one node of `server`, one of `known` (`ours`, `node`,
/// `socketioxide`); `make <built_by>` builds the Rust ones.
pub fn node_command(
    server: &str,
    known: &[&str],
    built_by: &str,
) -> Result<(PathBuf, Vec<&'static str>), Error> {
    if !known.contains(&server) {
        return Err(format!("unknown server {server}"));
    }
    let root = repo_root();
    let (program, args) = match server {
        "ours" => (root.join("target/release/examples/cluster_node"), vec![]),
        "node" => (PathBuf::from("node"), vec!["tests/js/cluster/node.mjs"]),
        "socketioxide" => (
            root.join(
                "crates/loadgen/cluster-peers/socketioxide/target/release/socketioxide-cluster-bench",
            ),
            vec![],
        ),
        other => return Err(format!("unknown server {other}")),
    };
    if program.is_absolute() && !program.exists() {
        return Err(format!(
            "{} not built (make {built_by} builds it)",
            program.display()
        ));
    }
    Ok((program, args))
}

/// Starts a Redis of the benchmark's own (no persistence) on a free port, pinned to the
/// load generator's core, and waits until it answers.
pub async fn start_redis() -> Result<(Process, u16), Error> {
    let port = free_port()?;
    let redis = spawn_pinned(
        1,
        Path::new("redis-server"),
        &[
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        &[],
    )?;
    wait_redis(port).await?;
    Ok((redis, port))
}

/// A benchmark's start: its arguments (exit 2 with the message when they are wrong),
/// this process pinned to core 1, and a one-thread runtime.
pub fn start<A>(parse_args: impl FnOnce() -> Result<A, String>) -> (A, tokio::runtime::Runtime) {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    pin_self(1);
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => (args, runtime),
        Err(e) => {
            eprintln!("no runtime: {e}");
            std::process::exit(1);
        }
    }
}

/// Writes a result table to `bench/results/<today>-<name>.md`, saying where (or why not).
pub fn write_results(name: &str, table: &str) {
    let path = repo_root()
        .join("bench/results")
        .join(format!("{}-{name}.md", today()));
    match std::fs::write(&path, table) {
        Ok(()) => eprintln!("written to {}", path.display()),
        Err(e) => eprintln!("not written to {}: {e}", path.display()),
    }
}

/// Today's date, `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    sys::utc_stamp()[..10].to_owned()
}

/// The machine and the tools, for a results file: cores, CPU model, memory, kernel, and
/// the versions of node and redis-server.
pub fn machine() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_owned();
    // Counted in /proc/cpuinfo: this process may be pinned to one of them.
    let cores = cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    let memory_gib = read("/proc/meminfo")
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_owned();
    let version = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_else(|| "not found".into())
    };
    format!(
        "Machine: {cores} × {model}, {memory_gib:.1} GiB, Linux {kernel}; node {}; {}.",
        version("node"),
        version("redis-server")
    )
}
