//! Session tokens and the values derived from them.
//!
//! A token is 256 random bits, rendered as `cvs_` + 43 base64url characters. The prefix makes
//! a leaked token easy to find with a secret scanner (and lets CI grep the test logs for
//! one). The server stores only [`token_hash`]; the form token that guards against
//! cross-site request forgery is [`form_token`], derived from the session token, so it needs
//! no storage and is worthless without the cookie.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every session token starts with this.
pub const TOKEN_PREFIX: &str = "cvs_";

/// A fresh session token. Hand it to the client once; keep only its hash.
pub fn generate_session_token() -> SecretString {
    let bytes = crate::random_bytes::<32>();
    SecretString::from(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Whether `raw` has the shape of a session token (cheap rejection before any lookup).
pub fn looks_like_session_token(raw: &str) -> bool {
    raw.len() == TOKEN_PREFIX.len() + 43
        && raw.starts_with(TOKEN_PREFIX)
        && raw[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The hex SHA-256 of a token: what the session table stores and looks up by. A database
/// reader learns nothing usable (the token has 256 bits of entropy, so no salt is needed).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The anti-forgery token for forms of the session identified by `token`.
pub fn form_token(token: &SecretString) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"carevault form token v1\0");
    hasher.update(token.expose_secret().as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// Constant-time comparison of a submitted form token with the expected one.
pub fn form_token_matches(token: &SecretString, submitted: &str) -> bool {
    form_token(token)
        .as_bytes()
        .ct_eq(submitted.as_bytes())
        .into()
}

/// A short random value for one-off uses (login-form nonces).
pub fn random_nonce() -> String {
    URL_SAFE_NO_PAD.encode(crate::random_bytes::<24>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_documented_shape() {
        let token = generate_session_token();
        assert!(looks_like_session_token(token.expose_secret()));
        assert!(!looks_like_session_token("cvs_short"));
        assert_ne!(
            token.expose_secret(),
            generate_session_token().expose_secret()
        );
        assert_eq!(token_hash("x").len(), 64);
    }

    #[test]
    fn form_tokens_are_bound_to_the_session() {
        let a = generate_session_token();
        let b = generate_session_token();
        assert!(form_token_matches(&a, &form_token(&a)));
        assert!(!form_token_matches(&b, &form_token(&a)));
        assert!(!form_token_matches(&a, ""));
    }
}
