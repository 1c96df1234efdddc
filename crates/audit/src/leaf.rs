//! The leaf envelope: the exact bytes that are hashed into the Merkle tree for
//! one audit event.
//!
//! # Byte format (version 1)
//!
//! ```text
//! offset  size  field
//! 0       1     format version, always 0x01
//! 1       8     sequence number, unsigned 64-bit big-endian
//! 9       n     payload: the caller's canonical event encoding (opaque here, may be empty)
//! ```
//!
//! The sequence number is the event's leaf index: the first event of the log
//! has sequence number 0, the next 1, and so on without gaps. Embedding it in
//! the hashed bytes means that two rows whose contents are swapped no longer
//! hash to the tree that was checkpointed, and lets the verifier name the row
//! precisely.

use thiserror::Error;

/// Format version byte that starts every leaf envelope.
pub const LEAF_FORMAT_VERSION: u8 = 0x01;

/// Length of the envelope header (version byte + big-endian sequence number).
pub const LEAF_HEADER_LEN: usize = 1 + 8;

/// Why a byte string is not a valid leaf envelope.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LeafError {
    /// Fewer than [`LEAF_HEADER_LEN`] bytes.
    #[error("leaf is {len} bytes long, shorter than the {LEAF_HEADER_LEN}-byte header")]
    TooShort {
        /// Actual length.
        len: usize,
    },
    /// The first byte is not a known format version.
    #[error("unknown leaf format version {version:#04x} (expected {LEAF_FORMAT_VERSION:#04x})")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
}

/// Builds the leaf envelope `0x01 ‖ seq (u64 big-endian) ‖ payload`.
#[must_use]
pub fn encode_leaf(seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(LEAF_HEADER_LEN + payload.len());
    bytes.push(LEAF_FORMAT_VERSION);
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Splits a leaf envelope into its sequence number and payload.
///
/// # Errors
/// [`LeafError`] when the bytes are too short or carry an unknown version.
pub fn decode_leaf(bytes: &[u8]) -> Result<(u64, &[u8]), LeafError> {
    let Some((header, payload)) = bytes.split_first_chunk::<LEAF_HEADER_LEN>() else {
        return Err(LeafError::TooShort { len: bytes.len() });
    };
    let (version, seq_bytes) = header.split_at(1);
    if version[0] != LEAF_FORMAT_VERSION {
        return Err(LeafError::UnknownVersion {
            version: version[0],
        });
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(seq_bytes);
    Ok((u64::from_be_bytes(seq), payload))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = encode_leaf(0x0102_0304_0506_0708, b"event");
        assert_eq!(
            bytes,
            [1, 1, 2, 3, 4, 5, 6, 7, 8, b'e', b'v', b'e', b'n', b't']
        );
        assert_eq!(
            decode_leaf(&bytes),
            Ok((0x0102_0304_0506_0708, &b"event"[..]))
        );
    }

    #[test]
    fn empty_payload_is_allowed() {
        let bytes = encode_leaf(7, b"");
        assert_eq!(bytes.len(), LEAF_HEADER_LEN);
        assert_eq!(decode_leaf(&bytes), Ok((7, &b""[..])));
    }

    #[test]
    fn rejects_short_and_unknown_version() {
        assert_eq!(decode_leaf(&[1, 0, 0]), Err(LeafError::TooShort { len: 3 }));
        assert_eq!(decode_leaf(&[]), Err(LeafError::TooShort { len: 0 }));
        let mut bytes = encode_leaf(1, b"x");
        bytes[0] = 2;
        assert_eq!(
            decode_leaf(&bytes),
            Err(LeafError::UnknownVersion { version: 2 })
        );
    }
}
