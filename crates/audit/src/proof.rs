//! Merkle audit proofs: generation of inclusion and consistency proofs from
//! the leaf hashes (RFC 6962 §2.1.1 `PATH` and §2.1.2 `PROOF`), and their
//! verification (RFC 9162 §2.1.3.2 and §2.1.4.2).
//!
//! Proofs are lists of 32-byte hashes, ordered from the leaf level upwards,
//! exactly as in RFC 6962 / RFC 9162 (and as produced by other CT
//! implementations), so an outside party can check them with any compliant
//! verifier.
//!
//! Tree sizes and leaf indexes are `u64`; the leaf index of an audit event is
//! its sequence number. Nothing here panics on bad sizes or indexes: every
//! problem is a [`ProofError`].
//!
//! Consistency with the empty tree (old size 0) is not defined by the RFCs;
//! here its proof is empty and it verifies iff the old root is
//! [`EMPTY_ROOT`].

use thiserror::Error;

use crate::frontier::Frontier;
use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The requested tree (or range) is larger than the leaf hashes supplied.
    #[error("tree size {size} exceeds the {available} leaf hashes available")]
    SizeExceedsLeaves {
        /// Requested size or range end.
        size: u64,
        /// Number of leaf hashes supplied.
        available: u64,
    },
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Requested leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A range or pair of sizes is reversed (`start > end`, `old_size > new_size`).
    #[error("invalid range: {start} > {end}")]
    InvalidRange {
        /// Lower bound given (start, old size).
        start: u64,
        /// Upper bound given (end, new size).
        end: u64,
    },
    /// The proof has the wrong number of hashes for these sizes / this index.
    #[error("proof has {found} hashes, expected {expected}")]
    WrongProofLength {
        /// Length required by the tree shape.
        expected: usize,
        /// Length supplied.
        found: usize,
    },
    /// The proof does not lead to the given root(s).
    #[error("proof does not match the given root hash")]
    RootMismatch,
}

/// Largest power of two strictly smaller than `n` (requires `n >= 2`).
fn split_point(n: u64) -> u64 {
    // n >= 2, so n - 1 >= 1 and ilog2 is defined.
    1 << (n - 1).ilog2()
}

/// Converts a tree size or index to a slice bound, checking it against the slice.
fn checked_len(size: u64, leaf_hashes: &[Hash]) -> Result<usize, ProofError> {
    let available = leaf_hashes.len() as u64;
    match usize::try_from(size) {
        Ok(len) if len <= leaf_hashes.len() => Ok(len),
        _ => Err(ProofError::SizeExceedsLeaves { size, available }),
    }
}

/// RFC 6962 Merkle Tree Hash of `leaf_hashes[start..end]`: the root of the
/// subtree holding those leaves. O(end - start) time, O(log n) memory.
///
/// # Errors
/// [`ProofError::InvalidRange`] if `start > end`,
/// [`ProofError::SizeExceedsLeaves`] if `end > leaf_hashes.len()`.
pub fn subtree_root(leaf_hashes: &[Hash], start: u64, end: u64) -> Result<Hash, ProofError> {
    if start > end {
        return Err(ProofError::InvalidRange { start, end });
    }
    let end = checked_len(end, leaf_hashes)?;
    // start <= end <= len, so it fits in usize as well.
    let start = usize::try_from(start).map_err(|_| ProofError::InvalidRange {
        start,
        end: end as u64,
    })?;
    Ok(mth(&leaf_hashes[start..end]))
}

/// MTH of a slice (already bounds-checked).
fn mth(leaf_hashes: &[Hash]) -> Hash {
    Frontier::from_leaf_hashes(leaf_hashes).root()
}

/// Inclusion proof (audit path, RFC 6962 §2.1.1 `PATH(m, D[n])`) for leaf
/// `index` in the tree made of the first `size` entries of `leaf_hashes`.
///
/// O(size) hashing; the leaf hashes must be in leaf order.
///
/// # Errors
/// [`ProofError::SizeExceedsLeaves`] or [`ProofError::IndexOutOfRange`].
pub fn inclusion_proof(
    leaf_hashes: &[Hash],
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    let size_len = checked_len(size, leaf_hashes)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let leaves = &leaf_hashes[..size_len];
    // Walk from the root down to the leaf, collecting the sibling subtree of
    // each step; the RFC lists them leaf-first, hence the final reversal.
    let (mut lo, mut hi, mut m) = (0usize, size_len, index as usize);
    let mut proof = Vec::new();
    while hi - lo > 1 {
        let k = split_point((hi - lo) as u64) as usize;
        if m < k {
            proof.push(mth(&leaves[lo + k..hi]));
            hi = lo + k;
        } else {
            proof.push(mth(&leaves[lo..lo + k]));
            lo += k;
            m -= k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Consistency proof (RFC 6962 §2.1.2 `PROOF(m, D[n])`) that the tree of the
/// first `old_size` leaves is a prefix of the tree of the first `new_size`
/// leaves. Empty when `old_size` is 0 or equals `new_size`.
///
/// # Errors
/// [`ProofError::InvalidRange`] if `old_size > new_size`,
/// [`ProofError::SizeExceedsLeaves`] if `new_size > leaf_hashes.len()`.
pub fn consistency_proof(
    leaf_hashes: &[Hash],
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    let new_len = checked_len(new_size, leaf_hashes)?;
    if old_size > new_size {
        return Err(ProofError::InvalidRange {
            start: old_size,
            end: new_size,
        });
    }
    let mut proof = Vec::new();
    if old_size == 0 {
        return Ok(proof);
    }
    let leaves = &leaf_hashes[..new_len];
    // SUBPROOF(m, D[lo..hi], b), unrolled.
    let (mut lo, mut hi, mut m) = (0usize, new_len, old_size as usize);
    let mut whole_old_tree = true;
    loop {
        if m == hi - lo {
            if !whole_old_tree {
                proof.push(mth(&leaves[lo..hi]));
            }
            break;
        }
        let k = split_point((hi - lo) as u64) as usize;
        if m <= k {
            proof.push(mth(&leaves[lo + k..hi]));
            hi = lo + k;
        } else {
            proof.push(mth(&leaves[lo..lo + k]));
            lo += k;
            m -= k;
            whole_old_tree = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size`
/// leaves (requires `index < size`).
#[must_use]
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (mut m, mut n, mut len) = (index, size, 0);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            n = k;
        } else {
            m -= k;
            n -= k;
        }
        len += 1;
    }
    len
}

/// Number of hashes in the consistency proof between trees of `old_size` and
/// `new_size` leaves (requires `old_size <= new_size`).
#[must_use]
pub fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    if old_size == 0 || old_size >= new_size {
        return 0;
    }
    let (mut m, mut n, mut len, mut whole_old_tree) = (old_size, new_size, 0, true);
    while m != n {
        let k = split_point(n);
        if m <= k {
            n = k;
        } else {
            m -= k;
            n -= k;
            whole_old_tree = false;
        }
        len += 1;
    }
    if !whole_old_tree {
        len += 1;
    }
    len
}

/// Shifts `fn_`/`sn` right together while `fn_` is even and non-zero.
fn shift_while_even(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// Hashes `seed` up an audit path from the node numbered `fn_` in a tree whose last node is
/// `sn` (the loop RFC 9162 §2.1.3.2 and §2.1.4.2 share): `(fr, sr)`, where `sr` takes in
/// every hash of the path and `fr` only those on its left (inclusion needs `sr` alone).
/// `None` when the path is too long or too short for `fn_` and `sn`.
fn hash_up_path<'a>(
    mut fn_: u64,
    mut sn: u64,
    seed: Hash,
    path: impl IntoIterator<Item = &'a Hash>,
) -> Option<(Hash, Hash)> {
    let (mut fr, mut sr) = (seed, seed);
    for c in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            shift_while_even(&mut fn_, &mut sn);
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some((fr, sr))
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves whose
/// root is `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::WrongProofLength`] or
/// [`ProofError::RootMismatch`].
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            found: proof.len(),
        });
    }
    let (_, r) =
        hash_up_path(index, size - 1, *leaf_hash, proof).ok_or(ProofError::WrongProofLength {
            expected,
            found: proof.len(),
        })?;
    if r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix
/// of the tree of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2,
/// extended to `old_size == new_size`, where the proof is empty and the roots
/// must be equal, and to `old_size == 0`, see the module documentation).
///
/// # Errors
/// [`ProofError::InvalidRange`], [`ProofError::WrongProofLength`] or
/// [`ProofError::RootMismatch`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::InvalidRange {
            start: old_size,
            end: new_size,
        });
    }
    let expected = consistency_proof_len(old_size, new_size);
    let wrong_length = ProofError::WrongProofLength {
        expected,
        found: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    if old_size == 0 {
        return if *old_root == EMPTY_ROOT {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // 0 < old_size < new_size from here on.
    let mut path = proof.iter();
    let first = if old_size.is_power_of_two() {
        *old_root
    } else {
        match path.next() {
            Some(hash) => *hash,
            None => return Err(wrong_length),
        }
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (fr, sr) = hash_up_path(fn_, sn, first, path).ok_or(wrong_length)?;
    if fr == *old_root && sr == *new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn generation_rejects_bad_arguments() {
        let l = leaves(5);
        assert_eq!(
            inclusion_proof(&l, 0, 6),
            Err(ProofError::SizeExceedsLeaves {
                size: 6,
                available: 5
            })
        );
        assert_eq!(
            inclusion_proof(&l, 5, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            inclusion_proof(&l, 0, 0),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            inclusion_proof(&l, u64::MAX, u64::MAX),
            Err(ProofError::SizeExceedsLeaves {
                size: u64::MAX,
                available: 5
            })
        );
        assert_eq!(
            consistency_proof(&l, 4, 3),
            Err(ProofError::InvalidRange { start: 4, end: 3 })
        );
        assert!(consistency_proof(&l, 1, 6).is_err());
        assert_eq!(
            subtree_root(&l, 3, 2),
            Err(ProofError::InvalidRange { start: 3, end: 2 })
        );
        assert!(subtree_root(&l, 0, 6).is_err());
        assert_eq!(subtree_root(&l, 2, 2), Ok(EMPTY_ROOT));
        assert_eq!(subtree_root(&l, 2, 3), Ok(l[2]));
    }

    #[test]
    fn verification_rejects_bad_arguments_without_panicking() {
        let l = leaves(7);
        let root = mth(&l);
        assert_eq!(
            verify_inclusion(&l[0], 7, 7, &[], &root),
            Err(ProofError::IndexOutOfRange { index: 7, size: 7 })
        );
        assert_eq!(
            verify_inclusion(&l[0], 0, 0, &[], &root),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert!(verify_inclusion(&l[0], u64::MAX - 1, u64::MAX, &[], &root).is_err());
        assert_eq!(
            verify_consistency(8, 7, &root, &root, &[]),
            Err(ProofError::InvalidRange { start: 8, end: 7 })
        );
        assert!(verify_consistency(3, u64::MAX, &root, &root, &[]).is_err());
        assert_eq!(verify_consistency(0, 7, &EMPTY_ROOT, &root, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, 7, &root, &root, &[]),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(verify_consistency(7, 7, &root, &root, &[]), Ok(()));
        assert_eq!(
            verify_consistency(7, 7, &root, &l[0], &[]),
            Err(ProofError::RootMismatch)
        );
        assert!(matches!(
            verify_consistency(7, 7, &root, &root, &[root]),
            Err(ProofError::WrongProofLength {
                expected: 0,
                found: 1
            })
        ));
    }
}
