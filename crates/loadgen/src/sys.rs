//! The operating system side: fd limit, CPU and memory samples, sockets bound to a source
//! address, CPU pinning.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Instant;

use tokio::net::{TcpSocket, TcpStream};

/// Raises the soft limit on open files to the hard one; returns the new soft limit.
pub fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
        lim.rlim_cur
    }
}

/// CPU seconds (user + system) this process has used.
pub fn self_cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut ru) != 0 {
            return 0.0;
        }
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
}

/// One look at another process: its CPU time so far and its memory now.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    pub cpu_s: f64,
    pub rss_kb: u64,
    pub hwm_kb: u64,
}

/// Reads `/proc/<pid>/stat` (utime + stime) and `/proc/<pid>/status` (VmRSS, VmHWM).
pub fn sample_proc(pid: u32) -> io::Result<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("bad /proc stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu_s = (ticks(11) + ticks(12)) as f64 / hz;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(ProcSample {
        cpu_s,
        rss_kb: field("VmRSS:"),
        hwm_kb: field("VmHWM:"),
    })
}

/// CPU seconds all processes of the machine have used (every core, idle and iowait left
/// out), from the first line of /proc/stat.
pub fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0.0;
    };
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| *t)
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    busy as f64 / hz
}

/// A measurement window: wall time, the server's CPU, ours, and the whole machine's.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    start: Instant,
    server: ProcSample,
    self_cpu: f64,
    machine_cpu: f64,
    pid: u32,
}

/// What happened during a window.
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowResult {
    pub wall_s: f64,
    pub server_cpu_s: f64,
    pub server_rss_kb: u64,
    pub server_hwm_kb: u64,
    pub loadgen_cpu_s: f64,
    /// CPU time of everything else on the machine (other processes, unattributed kernel
    /// work) during the window.
    pub background_cpu_s: f64,
}

impl WindowResult {
    pub fn server_cpu_share(&self) -> f64 {
        self.server_cpu_s / self.wall_s.max(1e-9)
    }

    pub fn loadgen_cpu_share(&self) -> f64 {
        self.loadgen_cpu_s / self.wall_s.max(1e-9)
    }

    pub fn background_cpu_share(&self) -> f64 {
        self.background_cpu_s / self.wall_s.max(1e-9)
    }
}

impl Window {
    pub fn begin(pid: u32) -> Window {
        Window {
            server: sample_proc(pid).unwrap_or_default(),
            self_cpu: self_cpu_seconds(),
            machine_cpu: machine_busy_seconds(),
            start: Instant::now(),
            pid,
        }
    }

    pub fn end(&self) -> WindowResult {
        let wall_s = self.start.elapsed().as_secs_f64();
        let server = sample_proc(self.pid).unwrap_or_default();
        let server_cpu_s = (server.cpu_s - self.server.cpu_s).max(0.0);
        let loadgen_cpu_s = (self_cpu_seconds() - self.self_cpu).max(0.0);
        let machine = machine_busy_seconds() - self.machine_cpu;
        WindowResult {
            wall_s,
            server_cpu_s,
            server_rss_kb: server.rss_kb,
            server_hwm_kb: server.hwm_kb,
            loadgen_cpu_s,
            background_cpu_s: (machine - server_cpu_s - loadgen_cpu_s).max(0.0),
        }
    }
}

/// How many loopback source addresses connections are spread over (127.0.0.2 …).
pub const SOURCE_ADDRS: u32 = 32;

/// The source address of connection `index`: 127.0.0.2 + index mod SOURCE_ADDRS, so no
/// single address runs out of ephemeral ports (or of TIME_WAIT slots between runs).
pub fn source_addr(index: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + (index as u32 % SOURCE_ADDRS) as u8)
}

/// A TCP connection from `source` (any port) to `dest`, with TCP_NODELAY.
pub async fn connect_from(source: Ipv4Addr, dest: SocketAddr) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    // Picks the port at connect() time, for the whole 4-tuple, instead of at bind() time
    // for the address alone: the ephemeral range then serves each (source, dest) pair.
    let one: libc::c_int = 1;
    // SAFETY: a valid fd and an int option of the right size.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    let stream = socket.connect(dest).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The number of CPUs this process may run on.
pub fn online_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Microseconds since `base`, as the timestamps inside payloads.
pub fn micros_since(base: Instant) -> u64 {
    base.elapsed().as_micros() as u64
}

/// `YYYY-MM-DD-HHMMSS` in UTC.
pub fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
