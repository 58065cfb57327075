//! What a server's handlers (on its worker thread) report to the test.

use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::time::{within, STEP};

/// What the server's handlers report to the test, in order.
pub struct Reports<T>(UnboundedReceiver<T>);

/// A channel from handlers to the test.
pub fn reports<T>() -> (UnboundedSender<T>, Reports<T>) {
    let (tx, rx) = unbounded_channel();
    (tx, Reports(rx))
}

impl<T: std::fmt::Debug> Reports<T> {
    /// The next report, within [`STEP`].
    pub async fn next(&mut self, what: &str) -> T {
        within(STEP, what, self.0.recv())
            .await
            .unwrap_or_else(|| panic!("{what}: every sender is gone"))
    }

    /// No report comes for `time`.
    pub async fn expect_none(&mut self, time: Duration) {
        if let Ok(Some(item)) = actix_rt::time::timeout(time, self.0.recv()).await {
            panic!("expected no report for {time:?}, got {item:?}");
        }
    }
}
