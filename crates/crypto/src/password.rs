//! Password hashing with Argon2id (RustCrypto `argon2`, OWASP-recommended default
//! parameters: 19 MiB, 2 passes, 1 lane), stored as a PHC string so the parameters travel
//! with the hash and can be raised later without breaking old hashes.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

/// Hashing failed; only possible with a broken parameter set, never because of user input.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordHashError;

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`, with a fresh salt.
pub fn hash_password(password: &SecretString) -> Result<String, PasswordHashError> {
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordHashError)
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
pub fn verify_password(password: &SecretString, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.expose_secret().as_bytes(), &parsed)
        .is_ok()
}

/// A hash of a random password, computed once, used to spend the same time on an unknown
/// username as on a known one so that response timing does not reveal which accounts exist.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let random = hex::encode(crate::random_bytes::<16>());
    hash_password(&SecretString::from(random)).ok()
});

/// Does the work of one verification against a hash that matches nothing.
pub fn verify_against_dummy(password: &SecretString) {
    if let Some(hash) = DUMMY_HASH.as_deref() {
        let _ = verify_password(password, hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let password = SecretString::from("correct horse");
        let phc = hash_password(&password).unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(&password, &phc));
        assert!(!verify_password(&SecretString::from("wrong horse"), &phc));
        assert!(!verify_password(&password, "not a hash"));
        // Fresh salt every time.
        assert_ne!(phc, hash_password(&password).unwrap());
    }
}
