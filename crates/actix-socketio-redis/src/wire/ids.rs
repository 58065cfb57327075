//! Node ids and request ids.

use rand::Rng;

/// uid2's alphabet.
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A classic adapter uid or request id: 6 random alphanumerics, as uid2(6). It can never
/// be `"emitter"` (7 characters).
pub fn classic_id() -> String {
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())]))
        .collect()
}

/// A ClusterAdapter uid or request id: 8 random bytes as 16 lowercase hex characters.
pub fn cluster_id() -> String {
    let bytes: [u8; 8] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        for _ in 0..100 {
            let id = classic_id();
            assert_eq!(id.len(), 6);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
            let id = cluster_id();
            assert_eq!(id.len(), 16);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{id}"
            );
        }
        assert_ne!(classic_id(), classic_id());
    }
}
