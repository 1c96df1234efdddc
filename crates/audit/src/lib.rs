//! Tamper-evident audit log maths for Carevault: the RFC 6962 Merkle tree over
//! audit events, its compact incremental state, inclusion and consistency
//! proofs, C2SP signed checkpoints, the checkpoint log file, the checkpoint
//! signing key file and the streaming verifier of the whole log.
//!
//! This crate is pure: it knows nothing about patients or the database. Events
//! arrive as opaque canonical byte strings wrapped in the [`leaf`] envelope.

pub mod checkpoint;
pub mod checkpoint_log;
pub mod frontier;
pub mod hash;
pub mod leaf;
pub mod proof;
pub mod signing_key;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError, CheckpointSigner, CheckpointVerifier};
pub use checkpoint_log::{
    CheckpointLogError, CheckpointLogRecord, checkpoint_log_record, open_checkpoint_log,
    split_checkpoint_log,
};
pub use frontier::{Frontier, FrontierError};
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
pub use leaf::{LeafError, decode_leaf, encode_leaf};
pub use proof::{
    ProofError, consistency_proof, inclusion_proof, subtree_root, verify_consistency,
    verify_inclusion,
};
pub use signing_key::{KeyFileError, load_or_create_signing_key, load_signing_key};
pub use verify::{
    LogVerifier, StoredLeaf, TrustedCheckpoint, VerifierState, VerifyError, VerifySummary,
    verify_log,
};
