//! GIF uploads (`POST /room/{id}/gif`, multipart field `gif`) and serving them at
//! `/gif/{name}`.
//!
//! The size limit is enforced while the body streams in, and the bytes must start like an
//! image (GIF, PNG, JPEG or WebP) whatever the client claims. Files get random names
//! (`images`).

use actix_files::NamedFile;
use actix_multipart::Multipart;
use actix_web::{
    http::{
        header::{self, HeaderValue},
        StatusCode,
    },
    web, HttpRequest, HttpResponse, ResponseError as _,
};
use futures_util::StreamExt as _;
use serde_json::json;

use super::{
    images::{random_name, remove_files, stored_kind, write_new, ImageKind, SNIFF_BYTES},
    permissions::{parse_room_id, Refusal},
    session::Viewer,
};
use crate::{
    error::AppError,
    middleware::slow_body,
    state::AppState,
    store::{ChatKind, NewChat},
};

/// The largest file accepted.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
pub const TOO_LARGE: &str = "파일 크기는 5MB 이하여야 합니다.";
pub const NOT_AN_IMAGE: &str = "GIF, PNG, JPEG, WebP 이미지만 올릴 수 있습니다.";
const NO_FILE: &str = "올릴 파일을 선택하세요.";
const TOO_FAST: &str = "메시지를 너무 빨리 보내고 있습니다.";
/// Past the limit, this much more is read and thrown away so the client (still sending) gets
/// the 413 rather than a reset connection; beyond it the connection is simply dropped.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// `POST /room/{id}/gif`. Answers JSON to `fetch` (which asks for it), else redirects back
/// to the room or shows the error page.
pub async fn upload(
    req: HttpRequest,
    path: web::Path<String>,
    viewer: Viewer,
    payload: Multipart,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let wants_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"));
    let room = path.into_inner();
    match store_upload(&room, &viewer, payload, &state).await {
        Ok(()) if wants_json => Ok(HttpResponse::Created().json(json!({ "ok": true }))),
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/room/{room}")))
            .finish()),
        Err(err) if wants_json => Ok(HttpResponse::build(err.status_code())
            .json(json!({ "ok": false, "error": err.to_string() }))),
        Err(err) => Err(err),
    }
}

async fn store_upload(
    room: &str,
    viewer: &Viewer,
    payload: Multipart,
    state: &AppState,
) -> Result<(), AppError> {
    let hub = state.chat();
    // Permissions first: nobody else's bytes are read at all.
    let id = parse_room_id(room).ok_or_else(|| refused(Refusal::UnknownRoom))?;
    let room = hub.find_room(id).await.map_err(refused)?;
    if !viewer.is_granted(room.id) {
        return Err(refused(Refusal::NotGranted));
    }
    hub.check_not_banned(&room, &viewer.person)
        .await
        .map_err(refused)?;
    if !hub.allow_message(&viewer.person.id) {
        return Err(AppError::refused(StatusCode::TOO_MANY_REQUESTS, TOO_FAST));
    }

    let (kind, bytes) = read_image(payload).await?;
    let name = random_name(kind);
    let file = hub.upload_dir().join(&name);
    write_new(file.clone(), bytes).await?;
    let new = NewChat {
        room_id: room.id,
        user: viewer.person.id.clone(),
        kind: ChatKind::Gif,
        body: name.clone(),
        target: None,
    };
    if let Err(err) = hub.post(new).await {
        // Nothing refers to the file: do not keep it.
        remove_files(hub.upload_dir().to_owned(), vec![name]).await;
        return Err(err.into());
    }
    Ok(())
}

/// The answer to someone who may not upload to, or see the files of, a room.
fn refused(refusal: Refusal) -> AppError {
    let status = match refusal {
        Refusal::UnknownRoom => StatusCode::NOT_FOUND,
        Refusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::FORBIDDEN,
    };
    AppError::refused(status, refusal.message())
}

/// Reads the `gif` field, refusing as soon as it passes the limit or does not start like
/// an image; other fields are skipped.
async fn read_image(mut payload: Multipart) -> Result<(ImageKind, Vec<u8>), AppError> {
    let mut image: Option<Vec<u8>> = None;
    let mut failure: Option<&'static str> = None;
    let mut read = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(bad_upload)?;
        let wanted = image.is_none() && failure.is_none() && field.name() == Some("gif");
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(bad_upload)?;
            read = read.saturating_add(chunk.len());
            if read > MAX_UPLOAD_BYTES + DRAIN_BYTES {
                return Err(AppError::refused(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE));
            }
            if !wanted || failure.is_some() {
                continue; // drained, not kept
            }
            if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                failure = Some(TOO_LARGE);
                bytes = Vec::new();
                continue;
            }
            bytes.extend_from_slice(&chunk);
            if bytes.len() >= SNIFF_BYTES && ImageKind::sniff(&bytes).is_none() {
                failure = Some(NOT_AN_IMAGE);
                bytes = Vec::new();
            }
        }
        if wanted && failure.is_none() {
            image = Some(bytes);
        }
    }
    match (failure, image) {
        (Some(TOO_LARGE), _) => Err(AppError::refused(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE)),
        (Some(message), _) => Err(AppError::refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message,
        )),
        (None, Some(bytes)) if bytes.is_empty() => {
            Err(AppError::refused(StatusCode::BAD_REQUEST, NO_FILE))
        }
        (None, Some(bytes)) => match ImageKind::sniff(&bytes) {
            Some(kind) => Ok((kind, bytes)),
            None => Err(AppError::refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                NOT_AN_IMAGE,
            )),
        },
        (None, None) => Err(AppError::refused(StatusCode::BAD_REQUEST, NO_FILE)),
    }
}

fn bad_upload(err: actix_multipart::MultipartError) -> AppError {
    log::info!("upload: {err}");
    match err {
        actix_multipart::MultipartError::Payload(err) if slow_body::is_timeout(&err) => {
            AppError::SlowBody
        }
        _ => AppError::refused(StatusCode::BAD_REQUEST, NO_FILE),
    }
}

/// `GET /gif/{name}`: a stored file with its type (and, like everything, `nosniff`), for
/// people let into the room that shows it: the 128-bit name is not the only key, and someone
/// kicked out loses the room's images with the room. Revalidated on every use (`no-cache`,
/// answered `304` from the ETag while access holds) and never kept by shared caches.
pub async fn serve(
    req: HttpRequest,
    name: web::Path<String>,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let not_found = || AppError::NotFound {
        method: req.method().clone(),
        path: req.path().to_owned(),
    };
    let kind = stored_kind(&name).ok_or_else(not_found)?;
    let hub = state.chat();
    let room = hub.store().gif_room(&name).await?.ok_or_else(not_found)?;
    if !viewer.is_granted(room) {
        return Err(refused(Refusal::NotGranted));
    }
    let room = hub.find_room(room).await.map_err(refused)?;
    hub.check_not_banned(&room, &viewer.person)
        .await
        .map_err(refused)?;
    let file = NamedFile::open_async(hub.upload_dir().join(name.as_str()))
        .await
        .map_err(|_| not_found())?;
    let mut res = file.set_content_type(kind.mime()).into_response(&req);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(res)
}
