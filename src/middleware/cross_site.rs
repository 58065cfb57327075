//! Refuses cross-site unsafe requests (see `csrf`).

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};

use crate::{csrf::same_origin, error::AppError, state::AppState};

/// `from_fn` middleware: 403 for a cross-site (or unattributable) unsafe request. Engine.IO's
/// polling POSTs are left to the Socket.IO layer: they only work with a session id the
/// handshake gave to the page that opened it, and `/chat` checks the handshake's origin.
pub async fn reject_cross_site(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let safe = req.method().is_safe();
    let socketio = req.path().starts_with(&state.io().engine().config().path);
    let scheme = state.config().public_scheme;
    if !safe && !socketio && !same_origin(req.headers(), scheme, true) {
        // A response, not an `Err`: the error pages only dress responses.
        return Ok(req
            .error_response(AppError::CrossSite)
            .map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
