//! The app factory used by `main` and the integration tests: the routes in one place, the
//! middleware around them and the app data.

use actix_files::Files;
use actix_session::{
    config::CookieContentSecurity, storage::CookieSessionStore, SessionMiddleware,
};
use actix_web::{
    body::MessageBody,
    cookie::SameSite,
    dev::{ServiceFactory, ServiceRequest, ServiceResponse},
    error::UrlencodedError,
    http::StatusCode,
    middleware::{from_fn, ErrorHandlers},
    web, App,
};

use crate::{
    chat::{pages, uploads},
    config::{Scheme, SESSION_COOKIE_NAME},
    demo,
    error::AppError,
    middleware::{cross_site, error_pages, logging, security_headers, slow_body},
    state::{AppState, MAX_FORM_BYTES},
};

const FORM_TOO_LARGE: &str = "입력한 내용이 너무 깁니다.";

/// Routes and static files.
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.route("/", web::get().to(pages::index))
        .route("/room", web::get().to(pages::new_room))
        .route("/room", web::post().to(pages::create_room))
        .route("/room/{id}", web::get().to(pages::enter_room))
        .route("/room/{id}", web::delete().to(pages::delete_room))
        .route("/room/{id}/password", web::post().to(pages::unlock_room))
        .route("/room/{id}/gif", web::post().to(uploads::upload))
        .route("/gif/{name}", web::get().to(uploads::serve))
        .route("/ws-demo", web::get().to(demo::pages::ws_demo))
        .route("/ws", web::get().to(demo::ws::upgrade))
        .route("/socketio-demo", web::get().to(demo::pages::socketio_demo))
        .service(
            Files::new("/static", &state.config().static_dir)
                .default_handler(web::to(error_pages::not_found)),
        );
    // Socket.IO (section 12.3): the endpoint and the official client at /socket.io/.
    state.io().mount(cfg);
}

/// The whole application: middleware, shared state, routes, 404 fallback.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let session = SessionMiddleware::builder(
        CookieSessionStore::default(),
        state.config().cookie_key.clone(),
    )
    .cookie_name(SESSION_COOKIE_NAME.to_owned())
    .cookie_content_security(CookieContentSecurity::Private)
    .cookie_http_only(true)
    .cookie_same_site(SameSite::Lax)
    // Plain http in development, as in the book (`secure: false`); behind a TLS proxy the
    // cookie never travels in clear.
    .cookie_secure(state.config().public_scheme == Scheme::Https)
    .build();

    let forms = web::FormConfig::default()
        .limit(MAX_FORM_BYTES)
        .error_handler(|err, _| match err {
            UrlencodedError::Overflow { .. } => {
                AppError::refused(StatusCode::PAYLOAD_TOO_LARGE, FORM_TOO_LARGE).into()
            }
            UrlencodedError::Payload(err) if slow_body::is_timeout(&err) => {
                AppError::SlowBody.into()
            }
            other => other.into(),
        });

    App::new()
        .app_data(state.clone())
        .app_data(forms)
        .configure(|cfg| configure(cfg, &state))
        .default_service(web::to(error_pages::not_found))
        // Last `wrap` runs first: the logger sees the final status and size.
        // Inside the error pages, so a refused cross-site request gets one.
        .wrap(from_fn(cross_site::reject_cross_site))
        .wrap(ErrorHandlers::new().default_handler(error_pages::render_error_page))
        // Bodies are watched from before any of it, so one refused unread is not read later.
        .wrap(from_fn(slow_body::cut_off_slow_bodies))
        // On every response, error pages and a cut-off body's 408 included.
        .wrap(from_fn(security_headers::add_security_headers))
        .wrap(session)
        .wrap(from_fn(logging::log_request))
}
