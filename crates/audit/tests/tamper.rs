//! The streaming log verifier against each tamper scenario: the right kind of
//! error, naming the first bad sequence number (or checkpoint).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use carevault_audit::checkpoint::{Checkpoint, CheckpointSigner};
use carevault_audit::checkpoint_log::{checkpoint_log_record, open_checkpoint_log};
use carevault_audit::frontier::Frontier;
use carevault_audit::hash::leaf_hash;
use carevault_audit::leaf::{LeafError, encode_leaf};
use carevault_audit::verify::{
    LogVerifier, StoredLeaf, TrustedCheckpoint, VerifierState, VerifyError, verify_log,
};
use ed25519_dalek::SigningKey;

const ORIGIN: &str = "carevault.test/audit";
const LOG_SIZE: u64 = 100;
/// Checkpoints written while the log grew, in file order.
const CHECKPOINT_SIZES: [u64; 3] = [10, 50, 100];

fn payload(seq: u64, actor: &str) -> Vec<u8> {
    format!("{{\"action\":\"view\",\"actor\":\"{actor}\",\"seq\":{seq}}}").into_bytes()
}

fn row(seq: u64, actor: &str) -> StoredLeaf {
    let leaf_bytes = encode_leaf(seq, &payload(seq, actor));
    StoredLeaf {
        seq,
        stored_leaf_hash: Some(leaf_hash(&leaf_bytes)),
        leaf_bytes,
    }
}

fn honest_rows() -> Vec<StoredLeaf> {
    (0..LOG_SIZE).map(|seq| row(seq, "u-1")).collect()
}

/// Signs checkpoints of the honest log, writes them to a checkpoint log file
/// and opens it again, as `carevault audit verify --checkpoint FILE` would.
fn trusted_checkpoints() -> Vec<TrustedCheckpoint> {
    let signer = CheckpointSigner::new(ORIGIN, SigningKey::from_bytes(&[9; 32])).unwrap();
    let rows = honest_rows();
    let mut frontier = Frontier::new();
    let mut file = String::new();
    for row in &rows {
        frontier.push(leaf_hash(&row.leaf_bytes));
        if CHECKPOINT_SIZES.contains(&frontier.size()) {
            let checkpoint = Checkpoint::new(ORIGIN, frontier.size(), frontier.root()).unwrap();
            file.push_str(&checkpoint_log_record(&signer.sign(&checkpoint)));
        }
    }
    open_checkpoint_log(&file, &signer.verifier(), ORIGIN)
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

fn verify(rows: Vec<StoredLeaf>) -> Result<u64, VerifyError> {
    verify_log(rows, trusted_checkpoints()).map(|summary| summary.size)
}

#[test]
fn honest_log_verifies() {
    let summary = verify_log(honest_rows(), trusted_checkpoints()).unwrap();
    assert_eq!(summary.size, LOG_SIZE);
    assert_eq!(summary.checkpoints_matched, 3);
    assert_eq!(summary.checkpoints_skipped, 0);
    let leaves: Vec<_> = honest_rows()
        .iter()
        .map(|r| leaf_hash(&r.leaf_bytes))
        .collect();
    assert_eq!(summary.root, Frontier::from_leaf_hashes(&leaves).root());
    // Without stored hashes and without checkpoints, too.
    let rows = honest_rows().into_iter().map(|mut r| {
        r.stored_leaf_hash = None;
        r
    });
    assert_eq!(verify_log(rows, Vec::new()).unwrap().root, summary.root);
    assert_eq!(
        verify_log(Vec::<StoredLeaf>::new(), Vec::new())
            .unwrap()
            .size,
        0
    );
}

#[test]
fn changed_field_with_stored_hash_kept_is_modified() {
    let mut rows = honest_rows();
    rows[42] = StoredLeaf {
        stored_leaf_hash: rows[42].stored_leaf_hash,
        ..row(42, "u-2")
    };
    assert_eq!(verify(rows), Err(VerifyError::Modified { seq: 42 }));
}

#[test]
fn changed_field_with_recomputed_hash_is_a_root_mismatch() {
    let mut rows = honest_rows();
    rows[42] = row(42, "u-2");
    let error = verify(rows).unwrap_err();
    assert_eq!(
        error,
        VerifyError::RootMismatch {
            checkpoint: "checkpoint #2 (file line 7)".to_owned(),
            size: 50,
            first_seq_after_previous_good_checkpoint: 10,
        }
    );
    assert_eq!(error.first_bad_seq(), 10);
    // Same without stored hashes.
    let mut rows: Vec<_> = honest_rows()
        .into_iter()
        .map(|mut r| {
            r.stored_leaf_hash = None;
            r
        })
        .collect();
    rows[42].leaf_bytes = encode_leaf(42, &payload(42, "u-2"));
    assert!(matches!(
        verify(rows),
        Err(VerifyError::RootMismatch { size: 50, .. })
    ));
}

#[test]
fn deleted_event_is_missing() {
    let mut rows = honest_rows();
    rows.remove(42);
    assert_eq!(
        verify(rows),
        Err(VerifyError::Missing {
            expected_seq: 42,
            found_seq: 43
        })
    );
    let mut rows = honest_rows();
    rows.remove(0);
    assert_eq!(
        verify(rows),
        Err(VerifyError::Missing {
            expected_seq: 0,
            found_seq: 1
        })
    );
}

#[test]
fn deleted_tail_is_truncated() {
    let mut rows = honest_rows();
    rows.truncate(90);
    let error = verify(rows).unwrap_err();
    assert_eq!(
        error,
        VerifyError::Truncated {
            checkpoint: "checkpoint #3 (file line 13)".to_owned(),
            checkpoint_size: 100,
            log_size: 90,
        }
    );
    assert_eq!(error.first_bad_seq(), 90);
    assert!(matches!(
        verify(Vec::new()),
        Err(VerifyError::Truncated {
            log_size: 0,
            checkpoint_size: 10,
            ..
        })
    ));
}

#[test]
fn swapped_rows_are_reordered() {
    let mut rows = honest_rows();
    // Contents (leaf bytes and stored hash) swapped, seq columns kept.
    let (a, b) = (rows[20].clone(), rows[30].clone());
    rows[20] = StoredLeaf { seq: 20, ..b };
    rows[30] = StoredLeaf { seq: 30, ..a };
    assert_eq!(
        verify(rows),
        Err(VerifyError::Reordered {
            seq: 20,
            embedded_seq: 30
        })
    );
}

#[test]
fn inserted_row_is_extra() {
    // A forged row reusing seq 42, after or before the original.
    for position in [43, 42] {
        let mut rows = honest_rows();
        rows.insert(position, row(42, "intruder"));
        assert_eq!(
            verify(rows),
            Err(VerifyError::Extra { seq: 42 }),
            "{position}"
        );
    }
    // A forged row with an inconsistent envelope, reusing seq 42.
    let mut rows = honest_rows();
    let mut forged = row(7, "intruder");
    forged.seq = 42;
    rows.insert(42, forged);
    assert_eq!(verify(rows), Err(VerifyError::Extra { seq: 42 }));
    // Inserted at seq 42 with every later row renumbered.
    let mut rows = honest_rows();
    for later in &mut rows[42..] {
        later.seq += 1;
    }
    rows.insert(42, row(42, "intruder"));
    assert_eq!(
        verify(rows),
        Err(VerifyError::Reordered {
            seq: 43,
            embedded_seq: 42
        })
    );
}

#[test]
fn rewritten_log_is_a_root_mismatch_at_the_first_checkpoint() {
    let rows: Vec<_> = (0..LOG_SIZE).map(|seq| row(seq, "forger")).collect();
    assert_eq!(
        verify(rows),
        Err(VerifyError::RootMismatch {
            checkpoint: "checkpoint #1 (file line 1)".to_owned(),
            size: 10,
            first_seq_after_previous_good_checkpoint: 0,
        })
    );
}

#[test]
fn malformed_leaf_is_reported() {
    let mut rows = honest_rows();
    rows[5].leaf_bytes = vec![0x01, 0x00];
    rows[5].stored_leaf_hash = None;
    assert_eq!(
        verify(rows),
        Err(VerifyError::MalformedLeaf {
            seq: 5,
            source: LeafError::TooShort { len: 2 }
        })
    );
}

#[test]
fn errors_name_the_problem() {
    let text = VerifyError::Missing {
        expected_seq: 42,
        found_seq: 43,
    }
    .to_string();
    assert!(
        text.contains("seq 42") && text.contains("deleted"),
        "{text}"
    );
    let text = VerifyError::RootMismatch {
        checkpoint: "checkpoint #1 (file line 1)".to_owned(),
        size: 10,
        first_seq_after_previous_good_checkpoint: 0,
    }
    .to_string();
    assert!(text.starts_with("checkpoint #1 (file line 1)"), "{text}");
}

#[test]
fn incremental_verification_resumes_where_it_stopped() {
    let rows = honest_rows();
    let checkpoints = trusted_checkpoints();
    let full = verify_log(rows.clone(), checkpoints.clone()).unwrap();

    // First run: rows 0..60 with the checkpoints already covered.
    let (early, late): (Vec<_>, Vec<_>) = checkpoints.into_iter().partition(|c| c.size <= 60);
    let mut first = LogVerifier::new(VerifierState::new(), early);
    first.push_all(&rows[..60]).unwrap();
    let first = first.finish().unwrap();
    assert_eq!(first.size, 60);
    assert_eq!(first.checkpoints_matched, 2);

    // The state survives persistence; the second run sees only new rows.
    let state = VerifierState::from_bytes(&first.state.to_bytes()).unwrap();
    assert_eq!(state.next_seq(), 60);
    let mut second = LogVerifier::new(state.clone(), late.clone());
    for row in &rows[60..] {
        second.push(row).unwrap();
    }
    let second = second.finish().unwrap();
    assert_eq!(second.size, full.size);
    assert_eq!(second.root, full.root);
    assert_eq!(second.checkpoints_matched, 1);

    // Old checkpoints are skipped; one at exactly the resume point is checked.
    let all = trusted_checkpoints();
    let resumed = LogVerifier::new(first.state.clone(), all.clone())
        .finish()
        .unwrap_err();
    assert!(matches!(
        resumed,
        VerifyError::Truncated {
            checkpoint_size: 100,
            ..
        }
    ));
    let at_50 = VerifierState::from_frontier(Frontier::from_leaf_hashes(
        &rows[..50]
            .iter()
            .map(|r| leaf_hash(&r.leaf_bytes))
            .collect::<Vec<_>>(),
    ));
    let mut verifier = LogVerifier::new(at_50, all);
    verifier.push_all(&rows[50..]).unwrap();
    let summary = verifier.finish().unwrap();
    assert_eq!(
        (summary.checkpoints_skipped, summary.checkpoints_matched),
        (1, 2)
    );

    // Problems in the new rows are found, reported from the resume point on.
    let mut tampered = rows[60..].to_vec();
    tampered[10] = row(70, "u-2");
    let mut verifier = LogVerifier::new(state.clone(), late.clone());
    let error = verifier
        .push_all(tampered)
        .and_then(|()| verifier.clone().finish().map(|_| ()))
        .unwrap_err();
    assert_eq!(
        error,
        VerifyError::RootMismatch {
            checkpoint: "checkpoint #3 (file line 13)".to_owned(),
            size: 100,
            first_seq_after_previous_good_checkpoint: 60,
        }
    );
    // Rows must continue at the resume point.
    let mut verifier = LogVerifier::new(state, late);
    assert_eq!(
        verifier.push_all(&rows[61..]),
        Err(VerifyError::Missing {
            expected_seq: 60,
            found_seq: 61
        })
    );
}

#[test]
fn errors_are_sticky() {
    let mut rows = honest_rows();
    rows.remove(3);
    let mut verifier = LogVerifier::new(VerifierState::new(), Vec::new());
    let first = rows
        .into_iter()
        .map(|row| verifier.push(&row))
        .find(Result::is_err)
        .unwrap()
        .unwrap_err();
    assert_eq!(
        first,
        VerifyError::Missing {
            expected_seq: 3,
            found_seq: 4
        }
    );
    assert_eq!(verifier.push(&row(200, "x")), Err(first.clone()));
    assert_eq!(verifier.finish().unwrap_err(), first);
}
