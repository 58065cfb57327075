//! One log line per request, in the spirit of morgan's "dev" format:
//! `GET /path 200 1.234 ms - 512`.

use std::time::Instant;

use actix_web::{
    body::{BodySize, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    // Path only: query strings may carry tokens (e.g. Engine.IO session ids).
    let path = req.path().to_owned();

    let result = next.call(req).await;

    let (status, size) = match &result {
        Ok(res) => (
            res.status(),
            match res.response().body().size() {
                BodySize::Sized(bytes) => bytes.to_string(),
                // Streams (e.g. a WebSocket upgrade) have no length up front; morgan prints "-".
                BodySize::None | BodySize::Stream => "-".to_owned(),
            },
        ),
        Err(err) => (err.as_response_error().status_code(), "-".to_owned()),
    };
    log::info!(
        "{method} {path} {} {:.3} ms - {size}",
        status.as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    result
}
