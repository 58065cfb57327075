//! Headers every response carries: a strict Content-Security-Policy (the pages load their
//! scripts and styles from `/static` and `/socket.io/` only, with no inline script or style),
//! no framing, no referrer beyond this site, no MIME sniffing.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderName, HeaderValue},
    middleware::Next,
    web,
};

use crate::{config::Scheme, state::AppState};

/// `data:` images: the empty favicon every page links (`data:,`, which saves a request).
/// `'self'` does not cover WebSockets in every browser, so the page's own host is added
/// with the WebSocket scheme of `PUBLIC_SCHEME` (`wss:` behind a TLS proxy).
const POLICY_BEFORE_CONNECT: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'";
const POLICY_AFTER_CONNECT: &str =
    "; frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'";

/// `from_fn` middleware: sets the headers on every response, error pages and static files
/// included.
pub async fn add_security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let scheme = req
        .app_data::<web::Data<AppState>>()
        .map_or(Scheme::Http, |state| state.config().public_scheme);
    let policy = content_security_policy(req.headers().get(header::HOST), scheme);
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

/// The policy for a page served to `host` over `scheme`. A `Host` that is not a plain
/// `name[:port]` (it is the client's to write) gets no WebSocket source beyond `'self'`.
pub fn content_security_policy(host: Option<&HeaderValue>, scheme: Scheme) -> HeaderValue {
    let host = host
        .and_then(|value| value.to_str().ok())
        .filter(|host| is_plain_host(host));
    let policy = match host {
        Some(host) => format!(
            "{POLICY_BEFORE_CONNECT} {}://{host}{POLICY_AFTER_CONNECT}",
            scheme.websocket()
        ),
        None => format!("{POLICY_BEFORE_CONNECT}{POLICY_AFTER_CONNECT}"),
    };
    // Built from checked parts: always a valid header value.
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// Letters, digits, `.`, `-`, `:` and the brackets of an IPv6 literal: nothing that could
/// end a source expression or a directive.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_host_is_added_for_websockets_and_nothing_else_gets_in() {
        let policy = |host: &'static str, scheme| {
            content_security_policy(Some(&HeaderValue::from_static(host)), scheme)
                .to_str()
                .expect("ASCII")
                .to_owned()
        };
        assert_eq!(
            policy("chat.example:8005", Scheme::Http),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self' ws://chat.example:8005; frame-ancestors 'none'; \
             object-src 'none'; base-uri 'self'; form-action 'self'"
        );
        assert!(policy("chat.example", Scheme::Https)
            .contains("; connect-src 'self' wss://chat.example; "));
        assert!(policy("[::1]:8005", Scheme::Http).contains(" ws://[::1]:8005; "));
        let bare =
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                    connect-src 'self'; frame-ancestors 'none'; object-src 'none'; \
                    base-uri 'self'; form-action 'self'";
        for hostile in [
            "evil.example; script-src *",
            "a b",
            "x,y",
            "'unsafe-inline'",
        ] {
            assert_eq!(policy(hostile, Scheme::Http), bare, "{hostile}");
        }
        assert_eq!(
            content_security_policy(None, Scheme::Http).to_str().ok(),
            Some(bare)
        );
    }
}
