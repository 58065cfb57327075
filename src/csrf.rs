//! Cross-site request protection. The session cookie is SameSite=Lax already; on top of
//! that, every unsafe request (POST, DELETE, ...) must come from a page of this site: its
//! `Origin` (or, when a browser sends none, its `Referer`) must name the scheme the site is
//! reached by (`PUBLIC_SCHEME`) and the host the request was sent to.
//!
//! Here: the check itself and the sockets' connect middleware; the request middleware is
//! `middleware::cross_site`.

use actix_web::http::header::{self, HeaderMap};

use actix_socketio::{socket::ConnectMiddleware, ConnectError, Socket};

use crate::config::Scheme;

/// What a refused cross-site request or socket is told.
pub const CROSS_SITE: &str = "허용되지 않은 요청입니다.";

/// Socket.IO connect middleware: refuses a socket whose handshake came from another site's
/// page (its `Origin`). A handshake without one is not from a browser page (a same-origin
/// polling GET sends none either) and is let in: `Origin` only protects browsers' users.
pub fn refuse_cross_site_sockets(scheme: Scheme) -> impl ConnectMiddleware<(Socket,)> {
    move |socket: Socket| {
        let allowed = same_origin(&socket.handshake().headers().to_header_map(), scheme, false);
        async move {
            if allowed {
                Ok(())
            } else {
                Err(ConnectError::new(CROSS_SITE))
            }
        }
    }
}

/// Whether the request's `Origin` (else `Referer`) names `scheme` and its `Host`.
/// `require_source`: what a request with neither header gets (browsers always send one of
/// them on a form post or fetch, unless told not to send a referrer).
pub fn same_origin(headers: &HeaderMap, scheme: Scheme, require_source: bool) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let Some(source) = text(header::ORIGIN).or_else(|| text(header::REFERER)) else {
        return !require_source;
    };
    match (scheme_and_authority(source), text(header::HOST)) {
        (Some((from_scheme, from)), Some(host)) => {
            from_scheme.eq_ignore_ascii_case(scheme.as_str()) && from.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

/// The scheme and `host[:port]` of an absolute URL; `None` for anything else (such as
/// `Origin: null`).
fn scheme_and_authority(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((scheme, &rest[..end]))
        .filter(|(scheme, authority)| !scheme.is_empty() && !authority.is_empty())
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
    fn origin_or_referer_must_name_the_scheme_and_the_host() {
        let host = (header::HOST, "chat.example:8005");
        let http = Scheme::Http;
        assert!(same_origin(
            &headers(&[host.clone(), (header::ORIGIN, "http://chat.example:8005")]),
            http,
            true
        ));
        assert!(same_origin(
            &headers(&[
                host.clone(),
                (header::REFERER, "HTTP://CHAT.example:8005/room?x=1")
            ]),
            http,
            true
        ));
        for bad in [
            "http://evil.example",
            "http://chat.example:8005.evil.example",
            "null",
            "http://chat.example",
            // The right host under another scheme is another origin.
            "https://chat.example:8005",
            "ws://chat.example:8005",
            "://chat.example:8005",
        ] {
            assert!(
                !same_origin(&headers(&[host.clone(), (header::ORIGIN, bad)]), http, true),
                "{bad}"
            );
        }
        // Behind a TLS proxy (PUBLIC_SCHEME=https) it is the other way round.
        let https = Scheme::Https;
        assert!(same_origin(
            &headers(&[host.clone(), (header::ORIGIN, "https://chat.example:8005")]),
            https,
            true
        ));
        assert!(!same_origin(
            &headers(&[host.clone(), (header::ORIGIN, "http://chat.example:8005")]),
            https,
            true
        ));
        // Origin wins over a matching Referer.
        assert!(!same_origin(
            &headers(&[
                host.clone(),
                (header::ORIGIN, "http://evil.example"),
                (header::REFERER, "http://chat.example:8005/")
            ]),
            http,
            true
        ));
        assert!(!same_origin(
            &headers(std::slice::from_ref(&host)),
            http,
            true
        ));
        assert!(same_origin(&headers(&[host]), http, false));
    }
}
