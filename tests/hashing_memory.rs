//! Argon2 work is bounded: a burst of secret-room creations keeps the process's memory near
//! what the permitted hashes need (`ARGON2_CONCURRENCY` × ~19 MiB), where each request used
//! to run its own hash at once (100 at once took the process to ~1.9 GB).
//!
//! Alone in its test binary, so the resident size measured is this server's and nothing else's.

mod common;

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    thread,
    time::Duration,
};

use actix_web::http::StatusCode;
use common::{config_with, Browser, TestServer};

/// Argon2's memory cost with argon2's default parameters (m = 19 MiB).
const HASH_BYTES: u64 = 19 * 1024 * 1024;
const BURST: usize = 100;

/// This process's resident set, from /proc/self/status.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line");
    kib * 1024
}

/// Samples the resident set every millisecond until dropped; `peak` is the largest seen.
struct PeakRss {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sampler: Option<thread::JoinHandle<()>>,
}

impl PeakRss {
    fn start() -> Self {
        let peak = Arc::new(AtomicU64::new(rss_bytes()));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                    thread::sleep(Duration::from_millis(1));
                }
            })
        };
        PeakRss {
            peak,
            stop,
            sampler: Some(sampler),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            sampler.join().expect("the sampler ran");
        }
        self.peak.load(Ordering::Relaxed)
    }
}

#[actix_rt::test]
async fn a_burst_of_secret_rooms_hashes_a_few_at_a_time_in_bounded_memory() {
    let concurrency = gif_chat::config::DEFAULT_ARGON2_CONCURRENCY as u64;
    // Room creation's own rate limits would refuse most of the burst before any hashing.
    let srv = TestServer::start(config_with(
        "development",
        &[("ROOM_RATE", "1000"), ("ROOM_RATE_PER_ADDRESS", "1000")],
    ))
    .await;
    let browser = &Browser::new(&srv);
    // Warm up everything but hashing: the templates, the session, the database.
    browser.create_room("공개방", "", "").await;
    let before = rss_bytes();

    let peak = PeakRss::start();
    let pages = futures_util::future::join_all((0..BURST).map(|i| {
        let title = format!("비밀방 {i}");
        async move {
            browser
                .post_form(
                    "/room",
                    &[("title", &title), ("max", ""), ("password", "비밀")],
                )
                .await
        }
    }))
    .await;
    let peak = peak.finish();

    // All of them were created (the queue waits long enough for this burst)...
    for page in &pages {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    }
    let rooms = srv.state.chat().store().rooms().await.expect("rooms");
    assert_eq!(rooms.len(), BURST + 1);
    // ...while only `concurrency` hashes held memory at once, and the same memory each time.
    // The bound leaves as much again for the requests; unbounded, the burst needed BURST
    // hashes' worth.
    let grew = peak.saturating_sub(before);
    let bound = 2 * concurrency * HASH_BYTES;
    eprintln!(
        "RSS before {} MiB, peak {} MiB (+{} MiB; bound {} MiB, unbounded would be ~{} MiB)",
        before >> 20,
        peak >> 20,
        grew >> 20,
        bound >> 20,
        (BURST as u64 * HASH_BYTES) >> 20
    );
    assert!(
        grew < bound,
        "RSS grew by {} MiB during the burst",
        grew >> 20
    );
    srv.stop().await;
}
