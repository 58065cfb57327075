//! Session and socket ids.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;

/// A fresh id: 15 bytes from the thread's CSPRNG as 20 URL-safe base64 characters, the
/// same length and alphabet as Node's ids, so mixed clusters can share them.
pub fn generate() -> String {
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The hasher for maps keyed by ids from [`generate`]: they are random and the server's own,
/// never chosen by a client, so a fast hash is safe where std's DoS-resistant SipHash would
/// show in profiles of the request and broadcast paths.
pub(crate) type IdHasher = foldhash::fast::RandomState;

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_20_url_safe_characters_and_differ() {
        let a = super::generate();
        let b = super::generate();
        assert_eq!(a.len(), 20);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }
}
