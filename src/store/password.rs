//! Room passwords: Argon2id with a random salt, stored as a PHC string (`$argon2id$v=19$...`).
//!
//! Argon2 is deliberately slow (tens of ms, ~19 MiB), so both directions run on tokio's
//! blocking pool: on the async threads they would stall every other socket meanwhile.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use rand::rngs::OsRng;

use super::StoreError;

/// The PHC string for `plain`. The parameters (argon2's defaults, OWASP's recommended
/// Argon2id m=19 MiB, t=2, p=1) are recorded in the string, so raising them later keeps old
/// hashes verifiable.
pub(super) async fn hash(plain: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(plain.as_bytes(), &salt)
            .map(|phc| phc.to_string())
            .map_err(|e| StoreError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| StoreError::Hash(format!("hashing task failed: {e}")))?
}

/// Whether `plain` matches `phc`; any failure (unparsable hash, panicked task) is a no.
pub(super) async fn verify(phc: String, plain: String) -> bool {
    tokio::task::spawn_blocking(move || {
        // Verify with the parameters stored in the hash, not the current defaults.
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(plain.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}
