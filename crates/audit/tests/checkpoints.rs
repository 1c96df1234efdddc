//! Signed checkpoints: interoperability with the Go `sumdb/note` and C2SP
//! signed-note vectors, sign/open round trips, tampering, and the checkpoint
//! log file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use carevault_audit::checkpoint::{
    Checkpoint, CheckpointError, CheckpointSigner, CheckpointVerifier,
};
use carevault_audit::checkpoint_log::{
    CheckpointLogError, checkpoint_log_record, open_checkpoint_log, split_checkpoint_log,
};
use carevault_audit::hash::leaf_hash;
use ed25519_dalek::SigningKey;

// golang.org/x/mod/sumdb/note example and tests.
const GO_SIGNER_KEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_SIGNATURE_LINE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_VERIFIER_KEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const ENOCH_SIGNATURE_LINE: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
// C2SP signed-note example.
const C2SP_VERIFIER_KEY: &str =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const C2SP_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

fn go_signer() -> CheckpointSigner {
    let key = GO_SIGNER_KEY.splitn(5, '+').nth(4).unwrap();
    let key = BASE64.decode(key).unwrap();
    assert_eq!(key[0], 0x01);
    let seed: [u8; 32] = key[1..].try_into().unwrap();
    CheckpointSigner::new("PeterNeumann", SigningKey::from_bytes(&seed)).unwrap()
}

#[test]
fn interoperates_with_go_sumdb_note() {
    let signer = go_signer();
    assert_eq!(signer.verifier_key_string(), GO_VERIFIER_KEY);
    let note = signer.sign_note_text(GO_TEXT).unwrap();
    assert_eq!(note, format!("{GO_TEXT}\n{GO_SIGNATURE_LINE}"));

    let verifier = CheckpointVerifier::from_verifier_key_string(GO_VERIFIER_KEY).unwrap();
    assert_eq!(verifier.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(verifier.verify_note(&note), Ok(GO_TEXT));
    // Not a checkpoint body, though validly signed.
    assert!(matches!(
        verifier.open(&note),
        Err(CheckpointError::Malformed { .. })
    ));

    // A second signature from another key is ignored by one verifier and
    // checked by the other.
    let cosigned = format!("{GO_TEXT}\n{GO_SIGNATURE_LINE}{ENOCH_SIGNATURE_LINE}");
    assert_eq!(verifier.verify_note(&cosigned), Ok(GO_TEXT));
    let enoch = CheckpointVerifier::from_verifier_key_string(ENOCH_VERIFIER_KEY).unwrap();
    assert_eq!(enoch.verify_note(&cosigned), Ok(GO_TEXT));
    assert!(matches!(
        enoch.verify_note(&note),
        Err(CheckpointError::UnknownKey { .. })
    ));
}

#[test]
fn interoperates_with_c2sp_signed_note_example() {
    let verifier = CheckpointVerifier::from_verifier_key_string(C2SP_VERIFIER_KEY).unwrap();
    assert_eq!(verifier.verifier_key_string(), C2SP_VERIFIER_KEY);
    assert_eq!(
        verifier.verify_note(C2SP_NOTE),
        Ok("This is an example message.\n")
    );
}

fn test_signer(seed: u8) -> CheckpointSigner {
    CheckpointSigner::new("carevault.test/audit", SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn test_checkpoint(size: u64) -> Checkpoint {
    Checkpoint::new("carevault.test/audit", size, leaf_hash(&size.to_be_bytes())).unwrap()
}

#[test]
fn sign_and_open_round_trip() {
    let signer = test_signer(1);
    let verifier =
        CheckpointVerifier::from_verifier_key_string(&signer.verifier_key_string()).unwrap();
    for size in [0, 1, 12, u64::MAX] {
        let checkpoint = test_checkpoint(size);
        let note = signer.sign(&checkpoint);
        assert!(note.starts_with(&checkpoint.body()));
        assert!(note.contains("\n\n\u{2014} carevault.test/audit "));
        assert_eq!(verifier.open(&note), Ok(checkpoint));
    }
}

#[test]
fn every_flipped_byte_is_rejected() {
    let signer = test_signer(2);
    let verifier = signer.verifier();
    let note = signer.sign(&test_checkpoint(42));
    let bytes = note.as_bytes();
    for position in 0..bytes.len() {
        for flip in [0x01, 0x20, 0x80] {
            let mut tampered = bytes.to_vec();
            tampered[position] ^= flip;
            if let Ok(tampered) = String::from_utf8(tampered) {
                assert!(
                    verifier.open(&tampered).is_err(),
                    "byte {position} ^ {flip:#x}: {tampered:?}"
                );
            }
        }
    }
}

#[test]
fn distinguishes_unknown_key_bad_signature_and_malformed() {
    let signer = test_signer(3);
    let verifier = signer.verifier();
    let checkpoint = test_checkpoint(5);
    let note = signer.sign(&checkpoint);

    // Another key, same name: different key id, so unknown.
    let other = test_signer(4);
    assert!(matches!(
        other.verifier().open(&note),
        Err(CheckpointError::UnknownKey { .. })
    ));

    // Our signature line moved onto another body: bad signature.
    let other_body = test_checkpoint(6).body();
    let signature_line = &note[checkpoint.body().len() + 1..];
    let spliced = format!("{other_body}\n{signature_line}");
    assert!(matches!(
        verifier.open(&spliced),
        Err(CheckpointError::BadSignature { .. })
    ));

    let body = checkpoint.body();
    for malformed in [
        String::new(),
        body.clone(),
        format!("{body}\n"),
        format!("{body}{signature_line}"),
        format!("{body}\n{}", signature_line.trim_end()),
        format!("{body}\n{signature_line}\n"),
        format!("{body}\n- {}", &signature_line[4..]),
        format!("\n{body}\n{signature_line}"),
        format!("{body}\n{signature_line}").replace('\n', "\r\n"),
    ] {
        assert!(
            matches!(
                verifier.open(&malformed),
                Err(CheckpointError::Malformed { .. })
            ),
            "{malformed:?}"
        );
    }
}

#[test]
fn checkpoint_log_file_round_trip() {
    let signer = test_signer(5);
    let verifier = signer.verifier();
    let mut file = String::new();
    for size in [3, 10, 20] {
        file.push_str(&checkpoint_log_record(&signer.sign(&test_checkpoint(size))));
    }
    let records = split_checkpoint_log(&file);
    assert_eq!(records.len(), 3);
    assert_eq!(records[1].as_ref().unwrap().line, 7);

    let opened = open_checkpoint_log(&file, &verifier, "carevault.test/audit");
    let opened: Vec<_> = opened.into_iter().map(Result::unwrap).collect();
    assert_eq!(opened[2].label, "checkpoint #3 (file line 13)");
    assert_eq!(opened[2].size, 20);
    assert_eq!(opened[2].root, *test_checkpoint(20).root());

    // Wrong origin, foreign key and a damaged record are reported per record.
    let foreign = test_signer(6).sign(&test_checkpoint(30));
    let other_log = Checkpoint::new("elsewhere/log", 31, [0; 32]).unwrap();
    file.push_str(&checkpoint_log_record(&foreign));
    file.push_str(&checkpoint_log_record(&signer.sign(&other_log)));
    file.push_str("carevault.test/audit\n40\n");
    let opened = open_checkpoint_log(&file, &verifier, "carevault.test/audit");
    assert_eq!(opened.len(), 6);
    assert!(opened[..3].iter().all(Result::is_ok));
    assert!(matches!(
        &opened[3],
        Err(CheckpointLogError::Note { record, source: CheckpointError::UnknownKey { .. } })
            if record == "checkpoint #4 (file line 19)"
    ));
    assert!(matches!(
        &opened[4],
        Err(CheckpointLogError::WrongOrigin { .. })
    ));
    assert!(matches!(
        &opened[5],
        Err(CheckpointLogError::Malformed { .. })
    ));
}
