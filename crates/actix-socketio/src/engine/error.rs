//! Request errors of the Engine.IO server, answered as the reference server answers them.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};

/// Why an Engine.IO HTTP request was refused. The codes and messages are Node engine.io's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("Transport unknown")]
    /// A `transport` other than `polling` or `websocket`, or one not enabled.
    UnknownTransport,
    #[error("Session ID unknown")]
    /// A `sid` no open session has.
    UnknownSid,
    #[error("Bad handshake method")]
    /// A handshake that is not a GET.
    BadHandshakeMethod,
    #[error("Bad request")]
    /// A request the session cannot take (overlapping polls, a bad body, …).
    BadRequest,
    #[error("Unsupported protocol version")]
    /// An `EIO` other than 4.
    UnsupportedProtocolVersion,
    /// A polling body over `max_payload`: answered `413` with no body, as Node does (a
    /// body would become the client's close description); the session stays.
    #[error("Payload too large")]
    PayloadTooLarge,
    /// A handshake while `max_connections` sessions are open. Node has no such limit; the
    /// code is the one its `allowRequest` refusals carry.
    #[error("Too many connections")]
    TooManyConnections,
    /// A handshake after [`crate::engine::EngineIo::close_all`].
    #[error("Server is shutting down")]
    ShuttingDown,
}

impl EngineError {
    /// The `code` of the JSON error body.
    pub fn code(self) -> u8 {
        match self {
            EngineError::UnknownTransport => 0,
            EngineError::UnknownSid => 1,
            EngineError::BadHandshakeMethod => 2,
            EngineError::BadRequest | EngineError::PayloadTooLarge => 3,
            EngineError::TooManyConnections | EngineError::ShuttingDown => 4,
            EngineError::UnsupportedProtocolVersion => 5,
        }
    }
}

impl ResponseError for EngineError {
    fn status_code(&self) -> StatusCode {
        match self {
            EngineError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            EngineError::TooManyConnections | EngineError::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if *self == EngineError::PayloadTooLarge {
            return HttpResponse::PayloadTooLarge().finish();
        }
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "code": self.code(),
            "message": self.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn error_bodies_are_the_reference_servers() {
        let cases = [
            (
                EngineError::UnknownTransport,
                r#"{"code":0,"message":"Transport unknown"}"#,
            ),
            (
                EngineError::UnknownSid,
                r#"{"code":1,"message":"Session ID unknown"}"#,
            ),
            (
                EngineError::BadHandshakeMethod,
                r#"{"code":2,"message":"Bad handshake method"}"#,
            ),
            (
                EngineError::BadRequest,
                r#"{"code":3,"message":"Bad request"}"#,
            ),
            (
                EngineError::UnsupportedProtocolVersion,
                r#"{"code":5,"message":"Unsupported protocol version"}"#,
            ),
        ];
        for (error, body) in cases {
            let response = error.error_response();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            let bytes = response.into_body().try_into_bytes().unwrap();
            assert_eq!(bytes, body.as_bytes());
        }
        let too_large = EngineError::PayloadTooLarge.error_response();
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(too_large.into_body().try_into_bytes().unwrap().is_empty());
        let full = EngineError::TooManyConnections.error_response();
        assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            full.into_body().try_into_bytes().unwrap(),
            r#"{"code":4,"message":"Too many connections"}"#.as_bytes()
        );
    }
}
