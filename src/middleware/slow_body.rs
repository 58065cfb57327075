//! Request bodies that trickle in are cut off. actix's `client_request_timeout` covers only
//! the request head: a client could declare a 5 MB upload and send a byte a second, holding
//! the connection (and the handler) for days. Every body must bring at least
//! [`MIN_BODY_RATE`] bytes a second, averaged over each period of `BODY_TIMEOUT_MS`; one
//! that does not is answered `408` and its connection closed.
//!
//! A body not read to its end (cut off, or refused before it was read) closes the
//! connection after the answer, chunked ones included: actix would otherwise go on reading
//! ("draining") a chunked body for as long as its client trickles it.

use std::{
    cell::{Cell, RefCell},
    future::Future as _,
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
    time::Duration,
};

use actix_web::{
    body::{BodySize, BoxBody, EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    http::{header, StatusCode},
    middleware::Next,
    web, HttpMessage as _,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use tokio::time::{sleep, Instant, Sleep};

use super::error_pages;
use crate::{error::AppError, state::AppState};

/// The slowest body accepted, in bytes a second: a poor mobile link still brings tens of
/// KiB a second; a stalled or deliberately slow client far less.
pub const MIN_BODY_RATE: u64 = 1024;

/// `from_fn` middleware: wraps the body of every request that has one. Handlers that read
/// it see a `TimedOut` I/O error ([`is_timeout`]) and answer 408 themselves (an upload
/// asked for JSON gets JSON); any other answer to a body cut off here becomes the 408 page.
/// Outside the error pages, so the answer it holds on to is the one that is sent.
pub async fn cut_off_slow_bodies(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, WithRequestBody>>, actix_web::Error> {
    let window = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.config().body_timeout);
    let Some(window) = window.filter(|_| has_body(&req)) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let body = Rc::new(RefCell::new(req.take_payload()));
    let stalled = Rc::new(Cell::new(false));
    req.set_payload(Payload::Stream {
        payload: Box::pin(MinRate::new(body.clone(), window, stalled.clone())),
    });
    let res = next.call(req).await?;
    let res = if stalled.get() && res.status() != StatusCode::REQUEST_TIMEOUT {
        let (request, _) = res.into_parts();
        error_pages::error_page(ServiceResponse::from_err(AppError::SlowBody, request))
            .map_into_boxed_body()
    } else {
        res.map_into_boxed_body()
    };
    // The body is kept until the answer is sent, so actix sees a body left unread (rather
    // than one dropped, which it drains if chunked) and closes the connection after it.
    let res = res.map_body(|_, answer| WithRequestBody {
        answer,
        _request_body: body,
    });
    Ok(res.map_into_right_body())
}

/// An answer that holds on to its request's body until it has been sent.
pub struct WithRequestBody {
    answer: BoxBody,
    _request_body: Rc<RefCell<Payload>>,
}

impl MessageBody for WithRequestBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.answer.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.answer).poll_next(cx)
    }
}

/// Whether a payload error is this module's cut-off.
pub fn is_timeout(err: &PayloadError) -> bool {
    matches!(err, PayloadError::Io(err) if err.kind() == io::ErrorKind::TimedOut)
}

/// A request that declares a body, whatever its method (actix would drain a chunked one
/// nobody reads). WebSocket upgrades declare none: after the handshake their "body" is the
/// connection itself, silent for as long as it likes.
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .is_some_and(|length| length > 0);
    declared || headers.contains_key(header::TRANSFER_ENCODING)
}

/// A body stream that fails once a whole window passes with less than its share of bytes.
struct MinRate {
    inner: Rc<RefCell<Payload>>,
    window: Duration,
    min_bytes: u64,
    /// Bytes received in the current window.
    received: u64,
    /// The end of the current window; set on the first read, so time the handler spends
    /// before it reads the body (permission checks) is not the client's.
    deadline: Option<Pin<Box<Sleep>>>,
    stalled: Rc<Cell<bool>>,
    failed: bool,
}

impl MinRate {
    fn new(inner: Rc<RefCell<Payload>>, window: Duration, stalled: Rc<Cell<bool>>) -> Self {
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        MinRate {
            inner,
            window,
            min_bytes: MIN_BODY_RATE.saturating_mul(millis) / 1000,
            received: 0,
            deadline: None,
            stalled,
            failed: false,
        }
    }
}

impl Stream for MinRate {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        let window = this.window;
        let deadline = this.deadline.get_or_insert_with(|| Box::pin(sleep(window)));
        // Borrowed only here, never across a poll of anything else.
        match this.inner.borrow_mut().poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.received = this.received.saturating_add(chunk.len() as u64);
                return Poll::Ready(Some(Ok(chunk)));
            }
            Poll::Ready(other) => return Poll::Ready(other),
            Poll::Pending => {}
        }
        // Waiting on the client: only a window that ends with too little is its fault
        // (bytes that arrived while nobody read count when they are read).
        while deadline.as_mut().poll(cx).is_ready() {
            if this.received < this.min_bytes {
                this.failed = true;
                this.stalled.set(true);
                let err = io::Error::new(io::ErrorKind::TimedOut, "request body too slow");
                return Poll::Ready(Some(Err(PayloadError::Io(err))));
            }
            this.received = 0;
            deadline.as_mut().reset(Instant::now() + window);
        }
        Poll::Pending
    }
}
