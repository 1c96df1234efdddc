//! Merkle tree roots and proofs: RFC 6962 known answers, exhaustive
//! round trips over many tree sizes, tampering, and cross-checks against the
//! independent `ct-merkle` implementation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use carevault_audit::frontier::Frontier;
use carevault_audit::hash::{EMPTY_ROOT, Hash, leaf_hash};
use carevault_audit::proof::{
    ProofError, consistency_proof, inclusion_proof, subtree_root, verify_consistency,
    verify_inclusion,
};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2::Sha256;

/// Leaves of the transparency-dev/merkle reference tests (RFC 6962 vectors).
const KAT_LEAVES: &[&str] = &[
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

fn kat_leaf_hashes() -> Vec<Hash> {
    KAT_LEAVES
        .iter()
        .map(|leaf| leaf_hash(&hex::decode(leaf).unwrap()))
        .collect()
}

fn joined(proof: &[Hash]) -> String {
    proof.iter().map(hex::encode).collect()
}

#[test]
fn known_answer_roots() {
    assert_eq!(
        hex::encode(EMPTY_ROOT),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let expected = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let leaves = kat_leaf_hashes();
    let mut frontier = Frontier::new();
    for (i, root) in expected.iter().enumerate() {
        frontier.push(leaves[i]);
        assert_eq!(hex::encode(frontier.root()), *root, "size {}", i + 1);
    }
}

#[test]
fn known_answer_proofs() {
    let leaves = kat_leaf_hashes();
    let inclusion = [
        (1, 0, ""),
        (
            2,
            0,
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        ),
        (
            2,
            1,
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        ),
        (
            3,
            2,
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        ),
        (
            5,
            1,
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d\
             5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e\
             bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
        (
            8,
            0,
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7\
             5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e\
             6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
        (
            8,
            5,
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b\
             ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0\
             d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ];
    for (size, index, expected) in inclusion {
        let proof = inclusion_proof(&leaves, index, size).unwrap();
        assert_eq!(joined(&proof), expected, "inclusion {index} in {size}");
    }
    let consistency = [
        (1, 1, ""),
        (
            1,
            8,
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7\
             5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e\
             6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
        (
            2,
            5,
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e\
             bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
        (
            6,
            8,
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a\
             ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0\
             d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ];
    for (old, new, expected) in consistency {
        let proof = consistency_proof(&leaves, old, new).unwrap();
        assert_eq!(joined(&proof), expected, "consistency {old} -> {new}");
    }
}

/// Distinct leaf bytes for the property tests.
fn leaf_bytes(i: u64) -> Vec<u8> {
    format!("audit event {i}").into_bytes()
}

const MAX_SIZE: u64 = 70;

fn flipped(proof: &[Hash], position: usize) -> Vec<Hash> {
    let mut proof = proof.to_vec();
    proof[position][position % 32] ^= 0x01;
    proof
}

#[test]
fn every_inclusion_proof_verifies_and_tampering_fails() {
    let bytes: Vec<Vec<u8>> = (0..MAX_SIZE).map(leaf_bytes).collect();
    let leaves: Vec<Hash> = bytes.iter().map(|b| leaf_hash(b)).collect();
    let mut frontier = Frontier::new();
    let mut reference = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    for size in 1..=MAX_SIZE {
        let i = (size - 1) as usize;
        frontier.push(leaves[i]);
        reference.push(bytes[i].clone());
        let root = frontier.root();
        assert_eq!(root, subtree_root(&leaves, 0, size).unwrap());
        assert_eq!(root.as_slice(), reference.root().as_bytes().as_slice());
        let reference_root = RootHash::<Sha256>::new(root.into(), size);

        for index in 0..size {
            let leaf = &leaves[index as usize];
            let proof = inclusion_proof(&leaves, index, size).unwrap();
            verify_inclusion(leaf, index, size, &proof, &root).unwrap();

            // Same bytes as ct-merkle, and each verifier accepts the other's proofs.
            let theirs = reference.prove_inclusion(index as usize);
            assert_eq!(proof.concat(), theirs.as_bytes());
            reference_root
                .verify_inclusion(
                    &bytes[index as usize],
                    index,
                    &InclusionProof::from_bytes(proof.concat()),
                )
                .unwrap();

            for position in 0..proof.len() {
                assert_eq!(
                    verify_inclusion(leaf, index, size, &flipped(&proof, position), &root),
                    Err(ProofError::RootMismatch)
                );
            }
            let mut wrong_leaf = *leaf;
            wrong_leaf[0] ^= 0x80;
            assert!(verify_inclusion(&wrong_leaf, index, size, &proof, &root).is_err());
            let mut wrong_root = root;
            wrong_root[31] ^= 0x01;
            assert!(verify_inclusion(leaf, index, size, &proof, &wrong_root).is_err());
            if let Some(other) = [index.wrapping_sub(1), index + 1]
                .into_iter()
                .find(|&o| o < size)
            {
                assert!(verify_inclusion(leaf, other, size, &proof, &root).is_err());
            }
            assert!(verify_inclusion(leaf, index + size, size, &proof, &root).is_err());
            if !proof.is_empty() {
                assert!(matches!(
                    verify_inclusion(leaf, index, size, &proof[..proof.len() - 1], &root),
                    Err(ProofError::WrongProofLength { .. })
                ));
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(matches!(
                verify_inclusion(leaf, index, size, &longer, &root),
                Err(ProofError::WrongProofLength { .. })
            ));
        }
    }
}

#[test]
fn every_consistency_proof_verifies_and_tampering_fails() {
    let bytes: Vec<Vec<u8>> = (0..MAX_SIZE).map(leaf_bytes).collect();
    let leaves: Vec<Hash> = bytes.iter().map(|b| leaf_hash(b)).collect();
    let roots: Vec<Hash> = (0..=MAX_SIZE)
        .map(|size| subtree_root(&leaves, 0, size).unwrap())
        .collect();
    let mut reference = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    for new_size in 1..=MAX_SIZE {
        reference.push(bytes[(new_size - 1) as usize].clone());
        let new_root = roots[new_size as usize];
        let reference_new = RootHash::<Sha256>::new(new_root.into(), new_size);
        for old_size in 0..=new_size {
            let old_root = roots[old_size as usize];
            let proof = consistency_proof(&leaves, old_size, new_size).unwrap();
            verify_consistency(old_size, new_size, &old_root, &new_root, &proof).unwrap();

            if old_size > 0 {
                let theirs = reference.prove_consistency((new_size - old_size) as usize);
                assert_eq!(
                    proof.concat(),
                    theirs.as_bytes(),
                    "{old_size} -> {new_size}"
                );
                if old_size < new_size {
                    let reference_old = RootHash::<Sha256>::new(old_root.into(), old_size);
                    let ours = ConsistencyProof::<Sha256>::try_from_bytes(proof.concat()).unwrap();
                    reference_new
                        .verify_consistency(&reference_old, &ours)
                        .unwrap();
                }
            }

            for position in 0..proof.len() {
                assert_eq!(
                    verify_consistency(
                        old_size,
                        new_size,
                        &old_root,
                        &new_root,
                        &flipped(&proof, position)
                    ),
                    Err(ProofError::RootMismatch),
                    "{old_size} -> {new_size}, position {position}"
                );
            }
            let mut wrong_old = old_root;
            wrong_old[0] ^= 0x01;
            assert!(verify_consistency(old_size, new_size, &wrong_old, &new_root, &proof).is_err());
            let mut wrong_new = new_root;
            wrong_new[0] ^= 0x01;
            // The empty tree is a prefix of every tree: nothing binds the new root.
            assert_eq!(
                verify_consistency(old_size, new_size, &old_root, &wrong_new, &proof).is_err(),
                old_size > 0
            );
            if !proof.is_empty() {
                assert!(
                    verify_consistency(old_size, new_size, &old_root, &new_root, &proof[1..])
                        .is_err()
                );
            }
            let mut longer = proof.clone();
            longer.push(new_root);
            assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &longer).is_err());
            // A proof between other trees does not verify for these roots.
            if old_size >= 1 && old_size < new_size && old_size + 1 < new_size {
                let other = consistency_proof(&leaves, old_size + 1, new_size).unwrap();
                assert!(
                    verify_consistency(old_size, new_size, &old_root, &new_root, &other).is_err()
                );
            }
        }
    }
}

#[test]
fn a_different_log_is_not_consistent() {
    let leaves: Vec<Hash> = (0..20).map(|i| leaf_hash(&leaf_bytes(i))).collect();
    let mut forked = leaves.clone();
    forked[3] = leaf_hash(b"rewritten");
    for old_size in 4..20 {
        let old_root = subtree_root(&leaves, 0, old_size).unwrap();
        let new_root = subtree_root(&forked, 0, 20).unwrap();
        let proof = consistency_proof(&forked, old_size, 20).unwrap();
        assert_eq!(
            verify_consistency(old_size, 20, &old_root, &new_root, &proof),
            Err(ProofError::RootMismatch)
        );
    }
}
