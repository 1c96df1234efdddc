//! Streaming verification of the whole stored audit log against trusted
//! checkpoints, reporting the first problem with the sequence number (or
//! checkpoint) where it shows.
//!
//! The verifier reads stored rows in ascending order of their stored sequence
//! number, recomputes every leaf hash and the tree with a [`Frontier`]
//! (O(log n) memory), and compares the tree with every checkpoint when it
//! reaches the checkpoint's size. Sequence numbers are leaf indexes: the log
//! starts at seq 0 and has no gaps.
//!
//! # What is checked, in order, for each row
//!
//! 1. its seq is the next expected one: a lower seq (a repeated seq) is
//!    [`VerifyError::Extra`], a higher one is [`VerifyError::Missing`];
//! 2. the next row does not repeat its seq (else [`VerifyError::Extra`], so an
//!    inserted duplicate is reported as such whichever of the two comes first);
//! 3. its leaf bytes are a valid envelope ([`VerifyError::MalformedLeaf`]);
//! 4. the seq embedded in the leaf bytes is the row's seq
//!    ([`VerifyError::Reordered`]);
//! 5. the recomputed leaf hash equals the stored one, if one is stored
//!    ([`VerifyError::Modified`]);
//! 6. after the leaf is appended, every checkpoint of the new size has the
//!    recomputed root ([`VerifyError::RootMismatch`]).
//!
//! At the end, a checkpoint larger than the log is [`VerifyError::Truncated`].
//!
//! # Incremental verification
//!
//! [`VerifierState`] is the verified prefix of the log (its frontier). A
//! background task can keep it (e.g. [`VerifierState::to_bytes`] in the
//! database) and later verify only the rows from [`VerifierState::next_seq`]
//! on, with the checkpoints issued since (read the checkpoints *before* the
//! rows, so every checkpoint is covered by rows already written). Such a run
//! does not re-check rows before the resume point: a full run from
//! [`VerifierState::new`] does.

use std::borrow::Borrow;

use thiserror::Error;

use crate::checkpoint::Checkpoint;
use crate::frontier::{Frontier, FrontierError};
use crate::hash::{Hash, leaf_hash};
use crate::leaf::{LeafError, decode_leaf};

/// One stored audit row, as read from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeaf {
    /// The row's sequence number column.
    pub seq: u64,
    /// The leaf envelope (see [`crate::leaf`]) rebuilt from or stored with the row.
    pub leaf_bytes: Vec<u8>,
    /// The leaf hash stored with the row, if the table keeps one.
    pub stored_leaf_hash: Option<Hash>,
}

/// A checkpoint whose signature has already been checked, with a label naming
/// where it came from (e.g. `checkpoint #12 (file line 40)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCheckpoint {
    /// Human-readable origin of the checkpoint, used in errors.
    pub label: String,
    /// Tree size.
    pub size: u64,
    /// Root at that size.
    pub root: Hash,
}

impl TrustedCheckpoint {
    /// A trusted checkpoint from a verified [`Checkpoint`].
    #[must_use]
    pub fn from_checkpoint(label: impl Into<String>, checkpoint: &Checkpoint) -> Self {
        Self {
            label: label.into(),
            size: checkpoint.size(),
            root: *checkpoint.root(),
        }
    }
}

/// The first problem found in the log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// A sequence number is absent: the row was deleted.
    #[error(
        "audit event seq {expected_seq} is missing (next stored row has seq {found_seq}): rows were deleted"
    )]
    Missing {
        /// The first absent seq.
        expected_seq: u64,
        /// The seq of the row found in its place.
        found_seq: u64,
    },
    /// The row holds the event of another seq: rows were swapped, renumbered or
    /// a row was inserted before it.
    #[error(
        "audit row seq {seq} holds the event of seq {embedded_seq}: rows were swapped, renumbered or inserted"
    )]
    Reordered {
        /// The row's seq.
        seq: u64,
        /// The seq inside its leaf bytes.
        embedded_seq: u64,
    },
    /// A seq appears more than once: a row was inserted.
    #[error("audit seq {seq} is stored more than once: a row was inserted")]
    Extra {
        /// The repeated seq.
        seq: u64,
    },
    /// The row's content no longer matches its stored leaf hash.
    #[error("audit event seq {seq} does not match its stored leaf hash: the event was modified")]
    Modified {
        /// The row's seq.
        seq: u64,
    },
    /// The row's leaf bytes are not a valid leaf envelope.
    #[error("audit event seq {seq} has malformed leaf bytes: {source}")]
    MalformedLeaf {
        /// The row's seq.
        seq: u64,
        /// What is wrong with the bytes.
        source: LeafError,
    },
    /// A checkpoint covers more events than the log holds: events at the end
    /// were deleted.
    #[error(
        "{checkpoint} covers {checkpoint_size} events but the log holds {log_size}: events from seq {log_size} on were deleted"
    )]
    Truncated {
        /// The checkpoint's label.
        checkpoint: String,
        /// The checkpoint's size.
        checkpoint_size: u64,
        /// Number of events in the log.
        log_size: u64,
    },
    /// The recomputed tree at a checkpoint's size has another root: an event
    /// in `first_seq_after_previous_good_checkpoint..size` was changed, or the
    /// log was rewritten.
    #[error(
        "{checkpoint}: the log's root at size {size} differs from the signed root: events changed or rewritten at or after seq {first_seq_after_previous_good_checkpoint}"
    )]
    RootMismatch {
        /// The checkpoint's label.
        checkpoint: String,
        /// The checkpoint's size.
        size: u64,
        /// Size of the last checkpoint that matched (or of the resume point):
        /// the first seq not vouched for.
        first_seq_after_previous_good_checkpoint: u64,
    },
}

impl VerifyError {
    /// The first sequence number known (or, for a root mismatch, suspected from)
    /// to be bad.
    #[must_use]
    pub fn first_bad_seq(&self) -> u64 {
        match self {
            Self::Missing { expected_seq, .. } => *expected_seq,
            Self::Reordered { seq, .. }
            | Self::Extra { seq }
            | Self::Modified { seq }
            | Self::MalformedLeaf { seq, .. } => *seq,
            Self::Truncated { log_size, .. } => *log_size,
            Self::RootMismatch {
                first_seq_after_previous_good_checkpoint,
                ..
            } => *first_seq_after_previous_good_checkpoint,
        }
    }
}

/// The verified prefix of the log: where an incremental verification resumes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifierState {
    frontier: Frontier,
}

impl VerifierState {
    /// The empty log: verification starts at seq 0.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes after a prefix whose tree state is `frontier`.
    #[must_use]
    pub fn from_frontier(frontier: Frontier) -> Self {
        Self { frontier }
    }

    /// The tree state of the verified prefix.
    #[must_use]
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// Number of verified events.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The seq of the next row to verify (equal to [`VerifierState::size`]).
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.frontier.size()
    }

    /// Root of the verified prefix.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Serialises the state ([`Frontier::to_bytes`]).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.frontier.to_bytes()
    }

    /// Restores a state from [`VerifierState::to_bytes`].
    ///
    /// # Errors
    /// [`FrontierError`] for bytes that are not a persisted frontier.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FrontierError> {
        Frontier::from_bytes(bytes).map(Self::from_frontier)
    }
}

/// Result of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySummary {
    /// Number of events in the verified log.
    pub size: u64,
    /// Root of the verified log.
    pub root: Hash,
    /// Checkpoints whose root matched.
    pub checkpoints_matched: usize,
    /// Checkpoints older than the resume point, which this run could not check.
    pub checkpoints_skipped: usize,
    /// State to resume from next time.
    pub state: VerifierState,
}

/// A verification run: feed it rows in ascending stored-seq order with
/// [`LogVerifier::push`], then call [`LogVerifier::finish`].
///
/// Each row is checked when it arrives, but only committed to the tree when
/// the next row (or [`LogVerifier::finish`]) shows that its seq is not
/// repeated; rows are only borrowed.
#[derive(Debug, Clone)]
pub struct LogVerifier {
    frontier: Frontier,
    /// Sorted by size (stable, so equal sizes keep the caller's order).
    checkpoints: Vec<TrustedCheckpoint>,
    next_checkpoint: usize,
    checkpoints_matched: usize,
    checkpoints_skipped: usize,
    last_good_size: u64,
    pending: Option<PendingRow>,
    error: Option<VerifyError>,
}

/// The last row pushed: its seq and either its leaf hash or what is wrong with it.
#[derive(Debug, Clone)]
struct PendingRow {
    seq: u64,
    outcome: Result<Hash, VerifyError>,
}

impl LogVerifier {
    /// Starts verifying after `state` (use [`VerifierState::new`] for the whole
    /// log) against `checkpoints`. Checkpoints smaller than the state are
    /// skipped; one of exactly the state's size is checked against its root.
    #[must_use]
    pub fn new(state: VerifierState, mut checkpoints: Vec<TrustedCheckpoint>) -> Self {
        checkpoints.sort_by_key(|checkpoint| checkpoint.size);
        let last_good_size = state.size();
        let mut verifier = Self {
            frontier: state.frontier,
            checkpoints,
            next_checkpoint: 0,
            checkpoints_matched: 0,
            checkpoints_skipped: 0,
            last_good_size,
            pending: None,
            error: None,
        };
        if let Err(error) = verifier.check_checkpoints() {
            verifier.error = Some(error);
        }
        verifier
    }

    /// Verifies one more row. After the first error every call returns it again.
    ///
    /// # Errors
    /// The first [`VerifyError`] found so far.
    pub fn push(&mut self, row: &StoredLeaf) -> Result<(), VerifyError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if let Some(previous) = self.pending.take() {
            self.commit(previous, Some(row.seq))
                .inspect_err(|error| self.error = Some(error.clone()))?;
        }
        self.pending = Some(PendingRow {
            seq: row.seq,
            outcome: self.check_row(row),
        });
        Ok(())
    }

    /// Verifies every row of `rows` ([`LogVerifier::push`]).
    ///
    /// # Errors
    /// The first [`VerifyError`] found so far.
    pub fn push_all<R: Borrow<StoredLeaf>>(
        &mut self,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<(), VerifyError> {
        rows.into_iter().try_for_each(|row| self.push(row.borrow()))
    }

    /// Number of rows committed so far (the last row pushed excluded).
    #[must_use]
    pub fn verified_size(&self) -> u64 {
        self.frontier.size()
    }

    /// Commits the last row and checks that no checkpoint is beyond the end.
    ///
    /// # Errors
    /// The first [`VerifyError`] found.
    pub fn finish(mut self) -> Result<VerifySummary, VerifyError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if let Some(last) = self.pending.take() {
            self.commit(last, None)?;
        }
        if let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint) {
            return Err(VerifyError::Truncated {
                checkpoint: checkpoint.label.clone(),
                checkpoint_size: checkpoint.size,
                log_size: self.frontier.size(),
            });
        }
        Ok(VerifySummary {
            size: self.frontier.size(),
            root: self.frontier.root(),
            checkpoints_matched: self.checkpoints_matched,
            checkpoints_skipped: self.checkpoints_skipped,
            state: VerifierState::from_frontier(self.frontier),
        })
    }

    /// Checks 1, 3, 4 and 5 of the module documentation for a row that would
    /// be the next leaf; returns its leaf hash.
    fn check_row(&self, row: &StoredLeaf) -> Result<Hash, VerifyError> {
        let expected_seq = self.frontier.size();
        let seq = row.seq;
        if seq < expected_seq {
            return Err(VerifyError::Extra { seq });
        }
        if seq > expected_seq {
            return Err(VerifyError::Missing {
                expected_seq,
                found_seq: seq,
            });
        }
        let (embedded_seq, _payload) = decode_leaf(&row.leaf_bytes)
            .map_err(|source| VerifyError::MalformedLeaf { seq, source })?;
        if embedded_seq != seq {
            return Err(VerifyError::Reordered { seq, embedded_seq });
        }
        let hash = leaf_hash(&row.leaf_bytes);
        if row.stored_leaf_hash.is_some_and(|stored| stored != hash) {
            return Err(VerifyError::Modified { seq });
        }
        Ok(hash)
    }

    /// Check 2 (the following row, if any, has seq `next_seq`), then appends
    /// the row and runs check 6.
    fn commit(&mut self, row: PendingRow, next_seq: Option<u64>) -> Result<(), VerifyError> {
        let hash = match row.outcome {
            Err(error @ (VerifyError::Missing { .. } | VerifyError::Extra { .. })) => {
                return Err(error);
            }
            _ if next_seq == Some(row.seq) => return Err(VerifyError::Extra { seq: row.seq }),
            outcome => outcome?,
        };
        self.frontier.push(hash);
        self.check_checkpoints()
    }

    /// Checks every not-yet-checked checkpoint up to the current size.
    fn check_checkpoints(&mut self) -> Result<(), VerifyError> {
        let size = self.frontier.size();
        let mut root = None;
        while let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint) {
            if checkpoint.size > size {
                break;
            }
            if checkpoint.size < size {
                self.checkpoints_skipped += 1;
            } else if checkpoint.root == *root.get_or_insert_with(|| self.frontier.root()) {
                self.checkpoints_matched += 1;
                self.last_good_size = size;
            } else {
                return Err(VerifyError::RootMismatch {
                    checkpoint: checkpoint.label.clone(),
                    size,
                    first_seq_after_previous_good_checkpoint: self.last_good_size,
                });
            }
            self.next_checkpoint += 1;
        }
        Ok(())
    }
}

/// Verifies the whole log: `rows` in ascending stored-seq order from seq 0,
/// against `checkpoints` (any order).
///
/// # Errors
/// The first [`VerifyError`] found.
pub fn verify_log<R: Borrow<StoredLeaf>>(
    rows: impl IntoIterator<Item = R>,
    checkpoints: Vec<TrustedCheckpoint>,
) -> Result<VerifySummary, VerifyError> {
    let mut verifier = LogVerifier::new(VerifierState::new(), checkpoints);
    verifier.push_all(rows)?;
    verifier.finish()
}
