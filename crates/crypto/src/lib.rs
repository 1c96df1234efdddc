//! Carevault's cryptography: password hashing, session tokens, the key ring, per-patient data
//! keys, field sealing, blind indexes, masks and pseudonyms.
//!
//! This crate never stores anything in a database and never speaks HTTP. It wraps RustCrypto
//! primitives behind names that say what they are for, so callers cannot pick the wrong
//! algorithm. The only file I/O is the key directory ([`keyring`]).
//!
//! How the pieces fit:
//!
//! ```text
//! key dir: kek-v1.key, kek-v2.key, ...        index.key (never rotated)
//!            | HKDF "carevault wrap v1"           | HKDF "carevault blind index v1 <kind>"
//!            v                                    v
//!        wrapping key per KEK version        one HMAC key per IndexKind
//!            | AES-256-GCM                        | HMAC-SHA256, truncated
//!            v                                    v
//!        WrappedDataKey (per patient)        blind index (hex) per searchable field
//!            | unwrap -> DataKey
//!            v
//!        sealed field = AES-256-GCM(DataKey, AAD = table, column, row id, patient id)
//! ```

pub mod blind_index;
pub mod data_key;
pub mod keyring;
pub mod mask;
pub mod normalize;
pub mod password;
pub mod phonetic;
pub mod seal;
pub mod token;

/// Fills `buf` from the operating system's CSPRNG.
///
/// # Panics
/// Only if the operating system cannot supply randomness at all, in which case nothing the
/// server could do would be safe.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    fill_random(&mut buf);
    buf
}

/// Fills `buf` in place from the operating system's CSPRNG (so a key can be generated straight
/// into a zeroizing buffer, with no stray copy on the stack).
///
/// # Panics
/// As [`random_bytes`].
pub(crate) fn fill_random(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}
