//! Signed tree heads: C2SP `tlog-checkpoint` bodies wrapped in C2SP
//! `signed-note` Ed25519 signatures.
//!
//! # Checkpoint body
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zeros>\n
//! <root hash, standard padded base64>\n
//! ```
//!
//! Extension lines are not produced and are rejected when parsing.
//!
//! # Signed note
//!
//! ```text
//! <body>                         (ends with "\n")
//! \n                             (one empty line)
//! — <key name> <base64(key id (4 bytes) ‖ Ed25519 signature (64 bytes))>\n
//! ```
//!
//! The signature line starts with the em dash U+2014 and a space; the
//! signature is over the body bytes exactly. The key ID is the first 4 bytes
//! of `SHA-256(key name ‖ "\n" ‖ 0x01 ‖ 32-byte public key)`. A note may carry
//! several signature lines; [`CheckpointVerifier::open`] needs a valid one from
//! its own key and ignores lines from other keys.
//!
//! The verifier key string (what an outside auditor is given) is
//! `<key name>+<key id, 8 lowercase hex digits>+<base64(0x01 ‖ public key)>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::hash::Hash;

/// Algorithm byte of Ed25519 keys in signed notes.
const ED25519_ALGORITHM: u8 = 0x01;
/// Prefix of every signature line.
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";
/// Largest note [`CheckpointVerifier::open`] accepts, in bytes.
pub const MAX_NOTE_LEN: usize = 64 * 1024;
/// Most signature lines [`CheckpointVerifier::open`] accepts on one note.
pub const MAX_SIGNATURES: usize = 100;

/// Why a checkpoint, key or signed note was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The origin is empty or contains control characters.
    #[error("invalid checkpoint origin: must be non-empty without control characters")]
    InvalidOrigin,
    /// The key name is empty or contains whitespace or `+`.
    #[error("invalid key name {name:?}: must be non-empty without whitespace or '+'")]
    InvalidKeyName {
        /// The rejected name.
        name: String,
    },
    /// A verifier key string could not be parsed.
    #[error("malformed verifier key: {reason}")]
    MalformedVerifierKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The note or the checkpoint body in it does not follow the format.
    #[error("malformed checkpoint note: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The note carries no signature from this verifier's key.
    #[error("checkpoint is not signed by key {key_name:?} (id {key_id})")]
    UnknownKey {
        /// The verifier's key name.
        key_name: String,
        /// The verifier's key ID, hex.
        key_id: String,
    },
    /// The note carries a signature line for this verifier's key that does not verify.
    #[error("checkpoint signature by key {key_name:?} does not verify")]
    BadSignature {
        /// The verifier's key name.
        key_name: String,
    },
}

/// A tree head: the log's origin, its size and the RFC 6962 root at that size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
}

impl Checkpoint {
    /// A checkpoint for the tree of `size` leaves with root `root`.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidOrigin`] if `origin` is empty or has control characters.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(CheckpointError::InvalidOrigin);
        }
        Ok(Self { origin, size, root })
    }

    /// The log's origin line (identifies the log; e.g. `carevault.example.org/audit`).
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of leaves in the tree.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// RFC 6962 root of the tree at [`Checkpoint::size`].
    #[must_use]
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The checkpoint body text (the signed bytes): origin, size and root lines.
    #[must_use]
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses a checkpoint body strictly (exactly three lines, each ending in
    /// `\n`, canonical decimal size, canonical base64 root of 32 bytes).
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] or [`CheckpointError::InvalidOrigin`].
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let malformed = |reason| CheckpointError::Malformed { reason };
        let Some(lines) = body.strip_suffix('\n') else {
            return Err(malformed("checkpoint body does not end with a newline"));
        };
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("checkpoint body has fewer than three lines"));
        };
        if lines.next().is_some() {
            return Err(malformed("checkpoint body has extension lines"));
        }
        let size_is_canonical = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        if !size_is_canonical {
            return Err(malformed("tree size is not a canonical decimal number"));
        }
        let size = size
            .parse::<u64>()
            .map_err(|_| malformed("tree size does not fit in 64 bits"))?;
        let root_bytes = BASE64
            .decode(root)
            .map_err(|_| malformed("root hash is not canonical base64"))?;
        let root: Hash = root_bytes
            .try_into()
            .map_err(|_| malformed("root hash is not 32 bytes"))?;
        Self::new(origin, size, root)
    }
}

/// Checks a signed-note key name: non-empty, no Unicode whitespace, no `+`.
fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(CheckpointError::InvalidKeyName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Signed-note key ID of an Ed25519 key: first 4 bytes of
/// `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)`.
#[must_use]
pub fn key_id(key_name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(key_name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ED25519_ALGORITHM]);
    hasher.update(key.as_bytes());
    let digest: Hash = hasher.finalize().into();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Signs checkpoints with the log's Ed25519 key.
#[derive(Debug)]
pub struct CheckpointSigner {
    key_name: String,
    key: SigningKey,
    key_id: [u8; 4],
}

impl CheckpointSigner {
    /// A signer using `key` under the signed-note key name `key_name`.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidKeyName`].
    pub fn new(key_name: impl Into<String>, key: SigningKey) -> Result<Self, CheckpointError> {
        let key_name = key_name.into();
        check_key_name(&key_name)?;
        let key_id = key_id(&key_name, &key.verifying_key());
        Ok(Self {
            key_name,
            key,
            key_id,
        })
    }

    /// The key name.
    #[must_use]
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The matching verifier.
    #[must_use]
    pub fn verifier(&self) -> CheckpointVerifier {
        CheckpointVerifier {
            key_name: self.key_name.clone(),
            key: self.key.verifying_key(),
            key_id: self.key_id,
        }
    }

    /// The verifier key string to hand to auditors (see the module documentation).
    #[must_use]
    pub fn verifier_key_string(&self) -> String {
        self.verifier().verifier_key_string()
    }

    /// The signed note for `checkpoint`: body, empty line, one signature line.
    #[must_use]
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        self.sign_valid_text(&checkpoint.body())
    }

    /// Signs arbitrary note text (non-empty, ending in a newline, without empty
    /// lines or control characters other than newline) as a signed note.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] for text that cannot be a note body.
    pub fn sign_note_text(&self, text: &str) -> Result<String, CheckpointError> {
        check_note_text(text)?;
        Ok(self.sign_valid_text(text))
    }

    fn sign_valid_text(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes());
        let mut signed = Vec::with_capacity(4 + 64);
        signed.extend_from_slice(&self.key_id);
        signed.extend_from_slice(&signature.to_bytes());
        format!(
            "{text}\n{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.key_name,
            BASE64.encode(signed)
        )
    }
}

/// Checks that `text` can be the text of a signed note.
fn check_note_text(text: &str) -> Result<(), CheckpointError> {
    let malformed = |reason| CheckpointError::Malformed { reason };
    if !text.ends_with('\n') {
        return Err(malformed("note text does not end with a newline"));
    }
    if text.starts_with('\n') || text.contains("\n\n") {
        return Err(malformed("note text contains an empty line"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(malformed("note contains control characters"));
    }
    Ok(())
}

/// Verifies signed checkpoints against one trusted Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointVerifier {
    key_name: String,
    key: VerifyingKey,
    key_id: [u8; 4],
}

impl CheckpointVerifier {
    /// A verifier for `key` under the key name `key_name`.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidKeyName`].
    pub fn new(key_name: impl Into<String>, key: VerifyingKey) -> Result<Self, CheckpointError> {
        let key_name = key_name.into();
        check_key_name(&key_name)?;
        let key_id = key_id(&key_name, &key);
        Ok(Self {
            key_name,
            key,
            key_id,
        })
    }

    /// Parses a verifier key string `<name>+<8 hex key id>+<base64(0x01 ‖ public key)>`,
    /// checking that the key ID matches the name and key.
    ///
    /// # Errors
    /// [`CheckpointError::MalformedVerifierKey`] or [`CheckpointError::InvalidKeyName`].
    pub fn from_verifier_key_string(verifier_key: &str) -> Result<Self, CheckpointError> {
        let malformed = |reason| CheckpointError::MalformedVerifierKey { reason };
        let (name, rest) = verifier_key
            .split_once('+')
            .ok_or(malformed("missing '+' after the key name"))?;
        let (id_hex, key_b64) = rest
            .split_once('+')
            .ok_or(malformed("missing '+' after the key id"))?;
        if id_hex.len() != 8 {
            return Err(malformed("key id is not 8 hex digits"));
        }
        let mut id = [0u8; 4];
        hex::decode_to_slice(id_hex, &mut id)
            .map_err(|_| malformed("key id is not 8 hex digits"))?;
        let key_bytes = BASE64
            .decode(key_b64)
            .map_err(|_| malformed("public key is not canonical base64"))?;
        let Some((&algorithm, public)) = key_bytes.split_first() else {
            return Err(malformed("public key is empty"));
        };
        if algorithm != ED25519_ALGORITHM {
            return Err(malformed("key algorithm is not Ed25519 (0x01)"));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| malformed("Ed25519 public key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| malformed("public key is not a valid Ed25519 point"))?;
        if key.is_weak() {
            return Err(malformed("public key is a weak (small-order) point"));
        }
        let verifier = Self::new(name, key)?;
        if verifier.key_id != id {
            return Err(malformed(
                "key id does not match the key name and public key",
            ));
        }
        Ok(verifier)
    }

    /// The verifier key string (see the module documentation).
    #[must_use]
    pub fn verifier_key_string(&self) -> String {
        let mut key = Vec::with_capacity(33);
        key.push(ED25519_ALGORITHM);
        key.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.key_name,
            hex::encode(self.key_id),
            BASE64.encode(key)
        )
    }

    /// The key name.
    #[must_use]
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The public key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Parses a signed checkpoint note strictly and checks its signature by this
    /// verifier's key. Signature lines from other keys are ignored (but must be
    /// well-formed).
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] for anything not in the format,
    /// [`CheckpointError::UnknownKey`] when no signature line is from this key,
    /// [`CheckpointError::BadSignature`] when one is and does not verify.
    pub fn open(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::parse_body(self.verify_note(note)?)
    }

    /// Checks a signed note's signature by this verifier's key (as
    /// [`CheckpointVerifier::open`]) and returns its text, without interpreting it.
    ///
    /// # Errors
    /// As [`CheckpointVerifier::open`], except for the checkpoint body checks.
    pub fn verify_note<'a>(&self, note: &'a str) -> Result<&'a str, CheckpointError> {
        let malformed = |reason| CheckpointError::Malformed { reason };
        if note.len() > MAX_NOTE_LEN {
            return Err(malformed("note is too long"));
        }
        let split = note
            .rfind("\n\n")
            .ok_or(malformed("no empty line between body and signatures"))?;
        let (body, signatures) = (&note[..=split], &note[split + 2..]);
        check_note_text(body)?;
        let signatures = signatures.strip_suffix('\n').ok_or(malformed(
            "signature block is empty or does not end with a newline",
        ))?;

        let mut found_ours = false;
        for (count, line) in signatures.split('\n').enumerate() {
            if count >= MAX_SIGNATURES {
                return Err(malformed("too many signature lines"));
            }
            if line.chars().any(char::is_control) {
                return Err(malformed("note contains control characters"));
            }
            let line = line.strip_prefix(SIGNATURE_LINE_PREFIX).ok_or(malformed(
                "signature line does not start with \"\u{2014} \"",
            ))?;
            let (name, signature_b64) = line
                .split_once(' ')
                .ok_or(malformed("signature line has no space after the key name"))?;
            check_key_name(name)
                .map_err(|_| malformed("signature line has an invalid key name"))?;
            let signature = BASE64
                .decode(signature_b64)
                .map_err(|_| malformed("signature is not canonical base64"))?;
            let Some((id, signature)) = signature.split_first_chunk::<4>() else {
                return Err(malformed("signature is shorter than its key id"));
            };
            if signature.is_empty() {
                return Err(malformed("signature is empty"));
            }
            if name != self.key_name || *id != self.key_id {
                continue;
            }
            let bad = || CheckpointError::BadSignature {
                key_name: self.key_name.clone(),
            };
            let signature: &[u8; 64] = signature.try_into().map_err(|_| bad())?;
            self.key
                .verify_strict(body.as_bytes(), &Signature::from_bytes(signature))
                .map_err(|_| bad())?;
            found_ours = true;
        }
        if !found_ours {
            return Err(CheckpointError::UnknownKey {
                key_name: self.key_name.clone(),
                key_id: hex::encode(self.key_id),
            });
        }
        Ok(body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> CheckpointSigner {
        CheckpointSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    #[test]
    fn body_format() {
        let checkpoint = Checkpoint::new("example.org/log", 12, [0u8; 32]).unwrap();
        assert_eq!(
            checkpoint.body(),
            "example.org/log\n12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        );
        assert_eq!(Checkpoint::parse_body(&checkpoint.body()), Ok(checkpoint));
    }

    #[test]
    fn body_parsing_is_strict() {
        let root = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        for bad in [
            format!("o\n12\n{root}"),
            format!("o\n012\n{root}\n"),
            format!("o\n+12\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n12\n{root}\next\n"),
            "o\n12\n\n".to_owned(),
            "o\n12\nAAAA\n".to_owned(),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("\n12\n{root}\n"),
            "o\n12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n".to_owned(),
        ] {
            assert!(Checkpoint::parse_body(&bad).is_err(), "{bad:?}");
        }
        assert!(Checkpoint::parse_body(&format!("o\n0\n{root}\n")).is_ok());
    }

    #[test]
    fn invalid_names_and_origins() {
        assert!(Checkpoint::new("", 0, [0; 32]).is_err());
        assert!(Checkpoint::new("a\nb", 0, [0; 32]).is_err());
        for name in ["", "a b", "a+b", "a\tb"] {
            assert!(CheckpointSigner::new(name, SigningKey::from_bytes(&[1; 32])).is_err());
        }
    }

    #[test]
    fn key_id_and_verifier_key_string() {
        let signer = signer("carevault-test", 3);
        let verifier = signer.verifier();
        let key_string = signer.verifier_key_string();
        let (name, rest) = key_string.split_once('+').unwrap();
        assert_eq!(name, "carevault-test");
        assert_eq!(&rest[..8], hex::encode(verifier.key_id()));
        assert_eq!(
            CheckpointVerifier::from_verifier_key_string(&key_string),
            Ok(verifier.clone())
        );
        // Wrong key id.
        let mut tampered = key_string.clone();
        tampered.replace_range(15..16, if &key_string[15..16] == "0" { "1" } else { "0" });
        assert!(CheckpointVerifier::from_verifier_key_string(&tampered).is_err());
        // Other name, same key: different key id.
        let renamed = CheckpointVerifier::new("other", *verifier.verifying_key()).unwrap();
        assert_ne!(renamed.key_id(), verifier.key_id());
        for bad in [
            "",
            "name",
            "name+0011",
            "name+zzzzzzzz+AQ==",
            "name+00112233+AQ==",
        ] {
            assert!(
                CheckpointVerifier::from_verifier_key_string(bad).is_err(),
                "{bad}"
            );
        }
    }
}
