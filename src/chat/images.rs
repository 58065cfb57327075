//! The stored images: their kinds, told by their first bytes, their random names, and the
//! files in the upload directory. Below the hub, which deletes a room's files with it; the
//! HTTP side is `uploads`.

use std::{
    io,
    path::{Path, PathBuf},
};

use actix_web::{mime, web};
use rand::{rngs::OsRng, RngCore as _};

/// Enough bytes to recognise every accepted format.
pub const SNIFF_BYTES: usize = 12;
/// Random part of a stored name: 128 bits, as hex.
const NAME_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Gif,
    Png,
    Jpeg,
    Webp,
}

impl ImageKind {
    /// The format the bytes start with, if accepted.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageKind::Gif)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(ImageKind::Webp)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Gif => "gif",
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpg",
            ImageKind::Webp => "webp",
        }
    }

    fn from_extension(ext: &str) -> Option<ImageKind> {
        [
            ImageKind::Gif,
            ImageKind::Png,
            ImageKind::Jpeg,
            ImageKind::Webp,
        ]
        .into_iter()
        .find(|kind| kind.extension() == ext)
    }

    pub fn mime(self) -> mime::Mime {
        match self {
            ImageKind::Gif => mime::IMAGE_GIF,
            ImageKind::Png => mime::IMAGE_PNG,
            ImageKind::Jpeg => mime::IMAGE_JPEG,
            // unwrap: a constant, valid media type.
            ImageKind::Webp => "image/webp".parse().unwrap(),
        }
    }
}

/// The kind of a stored file's name: lowercase hex, a dot, a known extension. Anything else
/// (paths, dots, upper case) is no file of ours.
pub fn stored_kind(name: &str) -> Option<ImageKind> {
    let (stem, ext) = name.split_once('.')?;
    let hex = !stem.is_empty() && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex.then(|| ImageKind::from_extension(ext)).flatten()
}

/// A new random name for a stored file of this kind.
pub fn random_name(kind: ImageKind) -> String {
    let mut bytes = [0u8; NAME_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.{}", kind.extension())
}

/// Writes a new file (never replacing one) on the blocking pool.
pub async fn write_new(path: PathBuf, bytes: Vec<u8>) -> io::Result<()> {
    web::block(move || {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?
            .write_all(&bytes)
    })
    .await
    .map_err(|err| io::Error::other(err.to_string()))?
}

/// Deletes stored files by name (a deleted room's GIFs); names that are not ours are
/// skipped, and failures only logged.
pub async fn remove_files(dir: PathBuf, names: Vec<String>) {
    if names.is_empty() {
        return;
    }
    let done = web::block(move || {
        for name in names.iter().filter(|name| stored_kind(name).is_some()) {
            match std::fs::remove_file(dir.join(name)) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => log::warn!("removing upload {name}: {err}"),
            }
        }
    })
    .await;
    if let Err(err) = done {
        log::warn!("removing uploads: {err}");
    }
}

/// Creates the upload directory if needed (at start-up).
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_first_bytes() {
        assert_eq!(ImageKind::sniff(b"GIF89a\x01\x00"), Some(ImageKind::Gif));
        assert_eq!(ImageKind::sniff(b"GIF87a"), Some(ImageKind::Gif));
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0d"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        for bad in [
            &b"<svg>"[..],
            b"GIF8",
            b"RIFF\x10\0\0\0WAVE",
            b"",
            b"hello world!",
        ] {
            assert_eq!(ImageKind::sniff(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_our_own_names_are_served() {
        assert_eq!(stored_kind("0123abcd.gif"), Some(ImageKind::Gif));
        assert_eq!(stored_kind("ff.webp"), Some(ImageKind::Webp));
        assert_eq!(stored_kind("ff.jpg"), Some(ImageKind::Jpeg));
        for bad in [
            ".gif",
            "ABCD.gif",
            "abcd.GIF",
            "abcd.svg",
            "abcd.gif.gif",
            "../abcd.gif",
            "ab/cd.gif",
            "abcd",
            "abcg.gif",
        ] {
            assert_eq!(stored_kind(bad), None, "{bad}");
        }
        let name = random_name(ImageKind::Png);
        assert_eq!(stored_kind(&name), Some(ImageKind::Png));
        assert_eq!(name.len(), 2 * NAME_BYTES + 4);
    }
}
