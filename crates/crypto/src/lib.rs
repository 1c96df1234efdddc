//! Carevault's cryptography: password hashing and session tokens today; the key ring, field
//! sealing, blind indexes and pseudonyms as the patient registry lands.
//!
//! This crate never stores anything and never speaks HTTP. It wraps RustCrypto primitives
//! behind names that say what they are for, so callers cannot pick the wrong algorithm.

pub mod password;
pub mod token;

/// Fills `buf` from the operating system's CSPRNG.
///
/// # Panics
/// Only if the operating system cannot supply randomness at all, in which case nothing the
/// server could do would be safe.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}
