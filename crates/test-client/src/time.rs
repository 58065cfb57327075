//! Bounded waits.

use std::future::Future;
use std::time::Duration;

/// Upper bound for anything a server should do "at once" or within a few intervals.
pub const STEP: Duration = Duration::from_secs(2);

/// Awaits `fut`, failing the test with `what` if it takes longer than `limit`.
pub async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match actix_rt::time::timeout(limit, fut).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}
