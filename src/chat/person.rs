//! Who someone is in public: a hash of their secret session id, and the name and colour
//! it is shown as.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::identity::{look_for, Look};

/// Hex characters of SHA-256 kept in a public id: 64 bits, plenty to tell a room's
/// people apart, and the secret cannot be recovered from it.
const PUBLIC_ID_HEX: usize = 16;

/// A person as everyone else sees them. The secret session id never leaves the server;
/// this is what the database, the pages and the sockets use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Person {
    pub id: String,
    #[serde(flatten)]
    pub look: Look,
}

impl Person {
    /// The public side of a secret session user id.
    pub fn from_secret(secret: &str) -> Person {
        Person::from_public(public_id(secret))
    }

    /// A person known by their public id (a room's owner, a whisper's target).
    pub fn from_public(id: String) -> Person {
        let look = look_for(&id);
        Person { id, look }
    }
}

/// The first 16 hex characters of SHA-256 of the secret id.
pub fn public_id(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(PUBLIC_ID_HEX);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_id_is_a_stable_sha256_prefix() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223...
        assert_eq!(public_id("abc"), "ba7816bf8f01cfea");
        let person = Person::from_secret("abc");
        assert_eq!(person.id, "ba7816bf8f01cfea");
        assert_eq!(person.look, look_for("ba7816bf8f01cfea"));
        assert_ne!(public_id("abd"), public_id("abc"));
    }
}
