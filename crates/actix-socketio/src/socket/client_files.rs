//! Serves the official JavaScript client (`socket.io.js` …) from the socket.io-client npm
//! package's `dist/` folder, with the ETag and cache headers of Node's `serveClient`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;

/// The files Node's server serves, each with its source map.
const FILES: [&str; 3] = ["socket.io.js", "socket.io.min.js", "socket.io.esm.min.js"];

struct ClientFile {
    name: String,
    body: Bytes,
}

/// The client files, read once at start.
pub(crate) struct ClientFiles {
    dir: PathBuf,
    /// `"<client version>"`, as Node's server sends it.
    etag: String,
    files: Vec<ClientFile>,
}

impl ClientFiles {
    /// Reads the files from `dir`; missing ones are answered with a 404 that says how to
    /// install them.
    pub(crate) fn load(dir: &Path) -> ClientFiles {
        let version = std::fs::read(dir.join("../package.json"))
            .ok()
            .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
            .and_then(|json| json.get("version")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        let files: Vec<ClientFile> = FILES
            .iter()
            .flat_map(|name| [name.to_string(), format!("{name}.map")])
            .filter_map(|name| {
                let body = std::fs::read(dir.join(&name)).ok()?;
                Some(ClientFile {
                    name,
                    body: Bytes::from(body),
                })
            })
            .collect();
        if files.is_empty() {
            log::warn!(
                "socket.io client files not found in {}: `npm ci` installs them",
                dir.display()
            );
        }
        ClientFiles {
            dir: dir.to_owned(),
            etag: format!("\"{version}\""),
            files,
        }
    }

    pub(crate) fn mount(self: &Arc<Self>, cfg: &mut web::ServiceConfig, path: &str) {
        let base = if path.ends_with('/') {
            path.to_owned()
        } else {
            format!("{path}/")
        };
        for name in FILES
            .iter()
            .flat_map(|n| [n.to_string(), format!("{n}.map")])
        {
            let files = self.clone();
            let served = name.clone();
            cfg.route(
                &format!("{base}{name}"),
                web::get().to(move |req: HttpRequest| {
                    let files = files.clone();
                    let name = served.clone();
                    async move { files.serve(&req, &name) }
                }),
            );
        }
    }

    fn serve(&self, req: &HttpRequest, name: &str) -> HttpResponse {
        let Some(file) = self.files.iter().find(|f| f.name == name) else {
            return HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body(format!(
                    "{name} is not installed: expected in {}. Run `npm ci` (or `make deps`) to install socket.io-client.",
                    self.dir.display()
                ));
        };
        let weak = format!("W/{}", self.etag);
        let matches = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .map(str::trim)
                    .any(|t| t == self.etag || t == weak)
            });
        let mut response = if matches {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((header::CACHE_CONTROL, "public, max-age=0"))
            .insert_header((header::ETAG, self.etag.clone()));
        if matches {
            return response.finish();
        }
        let content_type = if name.ends_with(".map") {
            "application/json; charset=utf-8"
        } else {
            "application/javascript; charset=utf-8"
        };
        response.content_type(content_type).body(file.body.clone())
    }
}
