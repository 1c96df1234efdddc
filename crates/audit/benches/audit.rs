//! Benchmarks of the audit log maths: appending leaf hashes to the frontier
//! and streaming verification of a one-million-event log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use carevault_audit::frontier::Frontier;
use carevault_audit::hash::{Hash, leaf_hash};
use carevault_audit::leaf::encode_leaf;
use carevault_audit::verify::{StoredLeaf, TrustedCheckpoint, verify_log};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const APPEND_BATCH: u64 = 10_000;
const VERIFY_LEAVES: u64 = 1_000_000;
const CHECKPOINT_EVERY: u64 = 10_000;

/// A plausible canonical event encoding of about 100 bytes.
fn payload(seq: u64) -> Vec<u8> {
    format!(
        "{{\"action\":\"view\",\"actor\":\"u-{}\",\"resource\":\"r-{seq:012}\",\"outcome\":\"ok\"}}",
        seq % 97
    )
    .into_bytes()
}

fn append(c: &mut Criterion) {
    let leaves: Vec<Hash> = (0..APPEND_BATCH)
        .map(|i| leaf_hash(&encode_leaf(i, &payload(i))))
        .collect();
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(APPEND_BATCH));
    group.bench_function("frontier_push_10k_leaf_hashes", |b| {
        b.iter(|| {
            let mut frontier = Frontier::new();
            for leaf in &leaves {
                frontier.push(*leaf);
            }
            black_box(frontier.root())
        });
    });
    group.bench_function("leaf_hash_and_push_10k_events", |b| {
        b.iter(|| {
            let mut frontier = Frontier::new();
            for seq in 0..APPEND_BATCH {
                frontier.push(leaf_hash(&encode_leaf(seq, &payload(seq))));
            }
            black_box(frontier.root())
        });
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let rows: Vec<StoredLeaf> = (0..VERIFY_LEAVES)
        .map(|seq| {
            let leaf_bytes = encode_leaf(seq, &payload(seq));
            StoredLeaf {
                seq,
                stored_leaf_hash: Some(leaf_hash(&leaf_bytes)),
                leaf_bytes,
            }
        })
        .collect();
    let mut frontier = Frontier::new();
    let mut checkpoints = Vec::new();
    for row in &rows {
        frontier.push(row.stored_leaf_hash.unwrap());
        if frontier.size().is_multiple_of(CHECKPOINT_EVERY) {
            checkpoints.push(TrustedCheckpoint {
                label: format!("checkpoint at {}", frontier.size()),
                size: frontier.size(),
                root: frontier.root(),
            });
        }
    }

    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(VERIFY_LEAVES));
    group.bench_function("verify_log_1m_leaves_100_checkpoints", |b| {
        b.iter(|| {
            let summary = verify_log(&rows, checkpoints.clone()).unwrap();
            black_box(summary.root)
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = append, verify
}
criterion_main!(benches);
