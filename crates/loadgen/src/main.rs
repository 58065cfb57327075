//! `loadgen`: the load generator and driver of the benchmark suite (bench/README.md).
//!
//! - `loadgen run <scenario> --port P --pid PID [--conns N --duration S ...]`: one
//!   scenario against a running server; prints a JSON report.
//! - `loadgen suite [--smoke] [--runs N] [--servers a,b] [--scenarios x,y] [--out DIR]`:
//!   builds nothing, starts each server pinned to core 0, runs each scenario pinned to
//!   core 1, prints the table of medians and writes bench/results/.
//! - `loadgen soak [--seconds S] [--clients N]`: churn against the `soak_server` example
//!   for S seconds (`SOAK_SECONDS`, default 600); fails on leaks (`make soak`).

mod flags;
mod polling;
mod proto;
mod scenarios;
mod soak;
mod suite;
mod sys;
mod ws;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use flags::Flags;

fn usage() -> ExitCode {
    eprintln!(
        "usage:\n  loadgen run <scenario> --port P --pid PID [--conns N] [--warmup S] \
         [--duration S] [--payload B] [--rate R] [--room-size N] [--window N] [--concurrency N]\n  \
         loadgen suite [--smoke] [--runs N] [--servers ours,socketioxide,node,floor] \
         [--scenarios {}] [--out DIR] [--no-write]\n  \
         loadgen soak [--seconds S] [--clients N] [--server PATH]",
        scenarios::ALL.join(",")
    );
    ExitCode::from(2)
}

fn run(args: &[String]) -> Result<bool, String> {
    let scenario = args.first().ok_or("run: which scenario?")?;
    let flags = Flags::parse(
        &args[1..],
        &[
            "port",
            "pid",
            "conns",
            "warmup",
            "duration",
            "payload",
            "rate",
            "room-size",
            "window",
            "concurrency",
        ],
    )?;
    let port: u16 = flags.num("port")?.ok_or("run: --port is required")?;
    let pid: u32 = flags.num("pid")?.ok_or("run: --pid is required")?;
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut p = scenarios::Params::defaults(scenario, server, pid);
    if let Some(v) = flags.num("conns")? {
        p.conns = v;
    }
    if let Some(v) = flags.num::<f64>("warmup")? {
        p.warmup = Duration::from_secs_f64(v);
    }
    if let Some(v) = flags.num::<f64>("duration")? {
        p.duration = Duration::from_secs_f64(v);
    }
    if let Some(v) = flags.num("payload")? {
        p.payload = v;
    }
    if let Some(v) = flags.num("rate")? {
        p.rate = v;
    }
    if let Some(v) = flags.num("room-size")? {
        p.room_size = v;
    }
    if let Some(v) = flags.num("window")? {
        p.window = v;
    }
    if let Some(v) = flags.num("concurrency")? {
        p.connect_concurrency = v;
    }
    let nofile = sys::raise_nofile();
    let mut report = scenarios::run(scenario, &p);
    report["nofile"] = nofile.into();
    report["params"] = serde_json::json!({
        "conns": p.conns,
        "warmup_s": p.warmup.as_secs_f64(),
        "duration_s": p.duration.as_secs_f64(),
        "payload": p.payload,
        "rate": p.rate,
        "room_size": p.room_size,
        "window": p.window,
    });
    println!("{report}");
    Ok(report.get("fatal").is_none())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "--help" || a == "-h" || a == "help")
    {
        usage();
        std::process::exit(0);
    }
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("suite") => suite::main(&args[1..]),
        Some("soak") => soak::main(&args[1..]),
        _ => return usage(),
    };
    let ok = match result {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("loadgen: {e}");
            false
        }
    };
    std::process::exit(if ok { 0 } else { 1 });
}
