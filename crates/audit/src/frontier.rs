//! The compact incremental Merkle tree state (the tree's "right edge"): the
//! roots of the perfect subtrees that the leaves so far decompose into.
//!
//! A tree of `n` leaves splits, left to right, into one perfect subtree per set
//! bit of `n`, largest first (e.g. 13 = 8 + 4 + 1). Keeping only those roots
//! makes appending O(log n) time and the whole state O(log n) memory, and the
//! RFC 6962 tree head is obtained by folding them from the right.
//!
//! # Persistence format (version 1)
//!
//! ```text
//! offset  size    field
//! 0       1       format version, always 0x01
//! 1       8       tree size n, unsigned 64-bit big-endian
//! 9       32 * k  the k = popcount(n) subtree roots, largest (leftmost) first
//! ```

use thiserror::Error;

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Format version byte of [`Frontier::to_bytes`].
pub const FRONTIER_FORMAT_VERSION: u8 = 0x01;

/// Largest tree size accepted by [`Frontier::from_bytes`] (2^63).
pub const MAX_TREE_SIZE: u64 = 1 << 63;

/// Why bytes are not a persisted [`Frontier`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrontierError {
    /// Empty input.
    #[error("persisted frontier is empty")]
    Empty,
    /// The first byte is not a known format version.
    #[error(
        "unknown frontier format version {version:#04x} (expected {FRONTIER_FORMAT_VERSION:#04x})"
    )]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// The length does not match the tree size it declares.
    #[error("persisted frontier is {found} bytes long, expected {expected}")]
    WrongLength {
        /// Length implied by the header (or the header length if it is cut short).
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// The declared tree size exceeds [`MAX_TREE_SIZE`].
    #[error("persisted frontier declares {size} leaves, more than the supported {MAX_TREE_SIZE}")]
    TooLarge {
        /// The declared size.
        size: u64,
    },
}

/// Incremental RFC 6962 Merkle tree state: tree size plus the roots of its
/// perfect subtrees (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// Perfect subtree roots, largest (leftmost) first; one per set bit of `size`.
    subtree_roots: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the state of the tree holding `leaf_hashes`, in order.
    pub fn from_leaf_hashes<'a>(leaf_hashes: impl IntoIterator<Item = &'a Hash>) -> Self {
        let mut frontier = Self::new();
        for leaf in leaf_hashes {
            frontier.push(*leaf);
        }
        frontier
    }

    /// Appends one leaf hash (see [`crate::hash::leaf_hash`]). O(log n).
    pub fn push(&mut self, leaf_hash: Hash) {
        let mut carry = leaf_hash;
        let mut size = self.size;
        // Every trailing set bit of `size` is a perfect subtree of the same
        // height as `carry`: merge them, like a binary counter increment.
        while size & 1 == 1 {
            match self.subtree_roots.pop() {
                Some(left) => carry = node_hash(&left, &carry),
                None => break, // unreachable: one root per set bit
            }
            size >>= 1;
        }
        self.subtree_roots.push(carry);
        self.size += 1;
    }

    /// Number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the tree has no leaves.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The roots of the perfect subtrees, largest (leftmost) first.
    #[must_use]
    pub fn subtree_roots(&self) -> &[Hash] {
        &self.subtree_roots
    }

    /// The RFC 6962 Merkle Tree Hash of all leaves pushed so far
    /// ([`EMPTY_ROOT`] for no leaves). O(log n).
    #[must_use]
    pub fn root(&self) -> Hash {
        let mut roots = self.subtree_roots.iter().rev();
        let Some(last) = roots.next() else {
            return EMPTY_ROOT;
        };
        roots.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Serialises the state (see the module documentation for the format).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(9 + 32 * self.subtree_roots.len());
        bytes.push(FRONTIER_FORMAT_VERSION);
        bytes.extend_from_slice(&self.size.to_be_bytes());
        for root in &self.subtree_roots {
            bytes.extend_from_slice(root);
        }
        bytes
    }

    /// Restores a state written by [`Frontier::to_bytes`].
    ///
    /// # Errors
    /// [`FrontierError`] on an unknown version, a size above
    /// [`MAX_TREE_SIZE`] or a length that does not match the size.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FrontierError> {
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(FrontierError::Empty);
        };
        if version != FRONTIER_FORMAT_VERSION {
            return Err(FrontierError::UnknownVersion { version });
        }
        let Some((size_bytes, hashes)) = rest.split_first_chunk::<8>() else {
            return Err(FrontierError::WrongLength {
                expected: 9,
                found: bytes.len(),
            });
        };
        let size = u64::from_be_bytes(*size_bytes);
        if size > MAX_TREE_SIZE {
            return Err(FrontierError::TooLarge { size });
        }
        let count = size.count_ones() as usize;
        if hashes.len() != 32 * count {
            return Err(FrontierError::WrongLength {
                expected: 9 + 32 * count,
                found: bytes.len(),
            });
        }
        let subtree_roots = hashes
            .chunks_exact(32)
            .map(|chunk| {
                let mut hash = [0u8; 32];
                hash.copy_from_slice(chunk);
                hash
            })
            .collect();
        Ok(Self {
            size,
            subtree_roots,
        })
    }
}

impl Extend<Hash> for Frontier {
    fn extend<I: IntoIterator<Item = Hash>>(&mut self, leaf_hashes: I) {
        for leaf in leaf_hashes {
            self.push(leaf);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    /// RFC 6962 §2.1 MTH, straight from the recursive definition.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn root_matches_recursive_definition() {
        let leaves: Vec<Hash> = (0u32..100).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), EMPTY_ROOT);
        for (i, leaf) in leaves.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.size(), i as u64 + 1);
            assert_eq!(
                frontier.subtree_roots().len(),
                frontier.size().count_ones() as usize
            );
            assert_eq!(
                frontier.root(),
                reference_root(&leaves[..=i]),
                "size {}",
                i + 1
            );
        }
    }

    #[test]
    fn persistence_round_trip_and_resume() {
        let leaves: Vec<Hash> = (0u32..37).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for split in 0..leaves.len() {
            let first = Frontier::from_leaf_hashes(&leaves[..split]);
            let bytes = first.to_bytes();
            assert_eq!(bytes.len(), 9 + 32 * (split as u64).count_ones() as usize);
            let mut resumed = Frontier::from_bytes(&bytes).unwrap();
            assert_eq!(resumed, first);
            resumed.extend(leaves[split..].iter().copied());
            assert_eq!(resumed.root(), Frontier::from_leaf_hashes(&leaves).root());
        }
    }

    #[test]
    fn from_bytes_rejects_bad_input() {
        assert_eq!(Frontier::from_bytes(&[]), Err(FrontierError::Empty));
        assert_eq!(
            Frontier::from_bytes(&[2, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(FrontierError::UnknownVersion { version: 2 })
        );
        assert!(matches!(
            Frontier::from_bytes(&[1, 0, 0]),
            Err(FrontierError::WrongLength { .. })
        ));
        let mut bytes = Frontier::from_leaf_hashes(&[[7u8; 32], [8u8; 32], [9u8; 32]]).to_bytes();
        bytes.pop();
        assert!(matches!(
            Frontier::from_bytes(&bytes),
            Err(FrontierError::WrongLength { .. })
        ));
        let mut huge = vec![1];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(
            Frontier::from_bytes(&huge),
            Err(FrontierError::TooLarge { .. })
        ));
        assert_eq!(
            Frontier::from_bytes(&Frontier::new().to_bytes()),
            Ok(Frontier::new())
        );
    }
}
