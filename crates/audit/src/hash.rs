//! RFC 6962 Merkle tree hashing: the leaf hash, the interior node hash and the
//! root of the empty tree. Everything else in the crate builds on these three.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix of leaf hashes (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of interior node hashes (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// Root of the empty tree: `SHA-256("")`
/// (`e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855`).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Hash of one leaf: `SHA-256(0x00 ‖ leaf_bytes)`.
///
/// `leaf_bytes` is the full leaf envelope (see [`crate::leaf`]).
#[must_use]
pub fn leaf_hash(leaf_bytes: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(leaf_bytes);
    hasher.finalize().into()
}

/// Hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let computed: Hash = Sha256::digest(b"").into();
        assert_eq!(computed, EMPTY_ROOT);
    }

    #[test]
    fn leaf_hash_of_empty_leaf_matches_rfc6962_vector() {
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn node_hash_is_prefixed_concatenation() {
        let left = [1u8; 32];
        let right = [2u8; 32];
        let mut input = vec![0x01];
        input.extend_from_slice(&left);
        input.extend_from_slice(&right);
        let expected: Hash = Sha256::digest(&input).into();
        assert_eq!(node_hash(&left, &right), expected);
        assert_ne!(node_hash(&left, &right), node_hash(&right, &left));
    }
}
