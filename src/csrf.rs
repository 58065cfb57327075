//! Cross-site request protection. The session cookie is SameSite=Lax already; on top of
//! that, every unsafe request (POST, DELETE, ...) must come from a page of this site: its
//! `Origin` (or, when a browser sends none, its `Referer`) must name the host it was sent to.

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderMap},
    middleware::Next,
    web,
};

use crate::{app::AppState, error::AppError};

/// `from_fn` middleware: 403 for a cross-site (or unattributable) unsafe request. Engine.IO's
/// polling POSTs are left to the Socket.IO layer: they only work with a session id the
/// handshake gave to the page that opened it, and `/chat` checks the handshake's origin.
pub async fn reject_cross_site(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let safe = req.method().is_safe();
    let socketio = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| req.path().starts_with(&state.io().engine().config().path));
    if !safe && !socketio && !same_origin(req.headers(), true) {
        // A response, not an `Err`: the error pages only dress responses.
        return Ok(req
            .error_response(AppError::CrossSite)
            .map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Whether the request's `Origin` (else `Referer`) names its `Host`. `require_source`: what
/// a request with neither header gets (browsers always send one of them on a form post or
/// fetch, unless told not to send a referrer).
pub fn same_origin(headers: &HeaderMap, require_source: bool) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let Some(source) = text(header::ORIGIN).or_else(|| text(header::REFERER)) else {
        return !require_source;
    };
    match (authority(source), text(header::HOST)) {
        (Some(from), Some(host)) => from.eq_ignore_ascii_case(host),
        _ => false,
    }
}

/// `host[:port]` of an absolute URL; `None` for anything else (such as `Origin: null`).
fn authority(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|authority| !authority.is_empty())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn origin_or_referer_must_name_the_host() {
        let host = (header::HOST, "chat.example:8005");
        assert!(same_origin(
            &headers(&[host.clone(), (header::ORIGIN, "http://chat.example:8005")]),
            true
        ));
        assert!(same_origin(
            &headers(&[
                host.clone(),
                (header::REFERER, "http://CHAT.example:8005/room?x=1")
            ]),
            true
        ));
        for bad in [
            "http://evil.example",
            "http://chat.example:8005.evil.example",
            "null",
            "http://chat.example",
        ] {
            assert!(
                !same_origin(&headers(&[host.clone(), (header::ORIGIN, bad)]), true),
                "{bad}"
            );
        }
        // Origin wins over a matching Referer.
        assert!(!same_origin(
            &headers(&[
                host.clone(),
                (header::ORIGIN, "http://evil.example"),
                (header::REFERER, "http://chat.example:8005/")
            ]),
            true
        ));
        assert!(!same_origin(&headers(std::slice::from_ref(&host)), true));
        assert!(same_origin(&headers(&[host]), false));
    }
}
