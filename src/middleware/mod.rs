//! The middleware around every route (`app::build_app` orders them): request logging, the
//! security headers, slow bodies cut off, the HTML error pages and the cross-site check.
//! Above `state`, which they read their settings from.

pub mod cross_site;
pub mod error_pages;
pub(crate) mod logging;
pub mod security_headers;
pub mod slow_body;
