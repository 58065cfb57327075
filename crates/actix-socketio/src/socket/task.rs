//! Running handlers' futures on the worker that received their input.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

/// Runs a handler's future: inline as far as it goes without waiting, then, if it waits,
/// as a task on this worker. Handlers that do not wait cost no task, and a handler's
/// first step runs in the order its packet arrived.
pub(crate) fn run_local(future: impl Future<Output = ()> + 'static) {
    let mut future: Pin<Box<dyn Future<Output = ()>>> = Box::pin(future);
    let mut cx = Context::from_waker(Waker::noop());
    if future.as_mut().poll(&mut cx).is_pending() {
        // The task's first poll registers a real waker.
        actix_web::rt::spawn(future);
    }
}
