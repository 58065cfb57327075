//! Counts tasks that are still running, so tests can see that no task or timer outlives
//! the connection it serves.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

#[derive(Clone, Default)]
pub struct LiveTasks(Arc<AtomicUsize>);

impl LiveTasks {
    pub fn live(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Counts one task until the guard is dropped.
    pub(crate) fn enter(&self) -> LiveGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        LiveGuard(Arc::clone(&self.0))
    }
}

/// Decrements the count however the task ends (return, panic, or runtime shutdown).
pub(crate) struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
