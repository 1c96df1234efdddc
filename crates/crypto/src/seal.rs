//! Sealed fields: one identifying or clinical value encrypted with the patient's data key and
//! bound to the exact place it is stored.
//!
//! # Sealed field format (33 bytes + plaintext length)
//! ```text
//! offset  len  field
//!      0    1  format = 0x01
//!      1    4  data-key version, u32 big-endian (which of the patient's data keys)
//!      5   12  nonce, random
//!     17    n  AES-256-GCM ciphertext (n = plaintext length)
//!   17+n   16  AES-256-GCM tag
//! ```
//! Key: the patient's [`DataKey`]. The data-key version is recorded for the caller (read it
//! with [`sealed_data_key_version`] to pick the key) so that a patient's data key can later be
//! replaced without a format change; today every patient has version 1.
//!
//! # Associated data
//! ```text
//! "carevault field v1" ‖ 0x00
//!   ‖ u32be(data-key version)
//!   ‖ u32be(len(table))      ‖ table
//!   ‖ u32be(len(column))     ‖ column
//!   ‖ u32be(len(row id))     ‖ row id
//!   ‖ u32be(len(patient id)) ‖ patient id
//! ```
//! Lengths are byte lengths of the UTF-8 strings, so the encoding is injective: no two
//! different [`FieldContext`]s give the same AAD (`("ab", "c")` ≠ `("a", "bc")`). A sealed
//! value copied into another row, column, table or patient fails to open with
//! [`SealError::Integrity`]; it never shows the other row's value. The row id and patient id
//! must be stable opaque ids (database UUIDs): a sealed value cannot be moved to a new row id
//! without re-sealing.
//!
//! The data-key version is authenticated too (it is in the AAD as well as the header), so every
//! byte of a sealed value is covered: the format byte selects the AAD label (another value is
//! [`SealError::UnknownVersion`]), and any other flipped byte is [`SealError::Integrity`]. This
//! goes one step beyond "AAD = table ‖ column ‖ row id ‖ patient id": without it a caller that
//! ignores the version (every patient has one data key today) would accept an altered header.
//!
//! Nonces are random 96-bit values. Each data key seals only one patient's fields (at most
//! thousands of values over a lifetime), far below the 2^32 messages per key at which random
//! GCM nonces become a concern.
//!
//! Opened plaintext is returned in a [`Zeroizing`] buffer; decryption happens in place in that
//! buffer, and nothing is decrypted unless the tag verifies.

use aes_gcm::aead::AeadInOut;
use zeroize::Zeroizing;

use crate::data_key::{DataKey, NONCE_LEN, TAG_LEN};

/// First byte of every sealed field.
pub const SEALED_FIELD_FORMAT_V1: u8 = 0x01;
/// Bytes a sealed field adds to its plaintext: format, data-key version, nonce, tag.
pub const SEALED_FIELD_OVERHEAD: usize = HEADER_LEN + TAG_LEN;

const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
const FIELD_AAD_LABEL: &[u8] = b"carevault field v1";

/// Where a sealed value lives. Every part is authenticated (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldContext<'a> {
    /// Table name, e.g. `patients`.
    pub table: &'a str,
    /// Column name, e.g. `family_name`.
    pub column: &'a str,
    /// The row's stable id (for the patient row itself, the patient id).
    pub row_id: &'a str,
    /// The stable id of the patient the row belongs to.
    pub patient_id: &'a str,
}

impl FieldContext<'_> {
    /// The associated data for this context and data-key version (format in the module docs).
    fn associated_data(&self, dek_version: u32) -> Result<Vec<u8>, SealError> {
        let parts = [self.table, self.column, self.row_id, self.patient_id];
        let len = FIELD_AAD_LABEL.len() + 1 + 4 + parts.iter().map(|p| 4 + p.len()).sum::<usize>();
        let mut aad = Vec::with_capacity(len);
        aad.extend_from_slice(FIELD_AAD_LABEL);
        aad.push(0);
        aad.extend_from_slice(&dek_version.to_be_bytes());
        for part in parts {
            let part_len = u32::try_from(part.len()).map_err(|_| SealError::TooLong)?;
            aad.extend_from_slice(&part_len.to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        Ok(aad)
    }
}

/// Why a field could not be sealed or opened. Messages carry no field content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Too short to be a sealed field.
    #[error("sealed field is malformed")]
    Malformed,
    /// The format byte is not one this version understands.
    #[error("sealed field has unknown format version {0:#04x}")]
    UnknownVersion(u8),
    /// The tag did not verify: wrong row, column, table or patient, wrong key, or tampered
    /// bytes.
    #[error("sealed field failed its integrity check")]
    Integrity,
    /// The plaintext or a context part exceeds AES-GCM's or the format's length limits
    /// (64 GiB and 4 GiB respectively).
    #[error("field too long to seal")]
    TooLong,
    /// [`open_text`] found bytes that are not UTF-8.
    #[error("sealed field is not UTF-8 text")]
    NotText,
}

/// Seals `plaintext` for the place `context` with the patient's data key `dek`, recording
/// `dek_version`.
pub fn seal_field(
    dek: &DataKey,
    dek_version: u32,
    context: &FieldContext<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let nonce: [u8; NONCE_LEN] = crate::random_bytes();
    seal_with_nonce(dek, dek_version, &nonce, context, plaintext)
}

fn seal_with_nonce(
    dek: &DataKey,
    dek_version: u32,
    nonce: &[u8; NONCE_LEN],
    context: &FieldContext<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let aad = context.associated_data(dek_version)?;
    // Holds the plaintext until it is encrypted in place, so it is zeroizing.
    let mut buffer = Zeroizing::new(Vec::with_capacity(
        plaintext.len().saturating_add(SEALED_FIELD_OVERHEAD),
    ));
    buffer.push(SEALED_FIELD_FORMAT_V1);
    buffer.extend_from_slice(&dek_version.to_be_bytes());
    buffer.extend_from_slice(nonce);
    buffer.extend_from_slice(plaintext);
    let body = buffer.get_mut(HEADER_LEN..).ok_or(SealError::Malformed)?;
    let tag = dek
        .cipher()
        .encrypt_inout_detached(nonce.into(), &aad, body.into())
        .map_err(|_| SealError::TooLong)?;
    buffer.extend_from_slice(tag.as_slice());
    Ok(std::mem::take(&mut *buffer))
}

/// The format byte, data-key version, nonce, ciphertext and tag of a sealed field.
type SealedParts<'a> = (u8, u32, &'a [u8; NONCE_LEN], &'a [u8], &'a [u8; TAG_LEN]);

fn split_sealed(sealed: &[u8]) -> Result<SealedParts<'_>, SealError> {
    let (&format, rest) = sealed.split_first().ok_or(SealError::Malformed)?;
    if format != SEALED_FIELD_FORMAT_V1 {
        return Err(SealError::UnknownVersion(format));
    }
    let (version, rest) = rest.split_first_chunk::<4>().ok_or(SealError::Malformed)?;
    let (nonce, rest) = rest
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(SealError::Malformed)?;
    let (ciphertext, tag) = rest
        .split_last_chunk::<TAG_LEN>()
        .ok_or(SealError::Malformed)?;
    Ok((format, u32::from_be_bytes(*version), nonce, ciphertext, tag))
}

/// The data-key version recorded in a sealed field, to choose the key for [`open_field`].
pub fn sealed_data_key_version(sealed: &[u8]) -> Result<u32, SealError> {
    split_sealed(sealed).map(|(_, version, ..)| version)
}

/// Opens a sealed field stored at `context`, returning the plaintext in a zeroizing buffer.
pub fn open_field(
    dek: &DataKey,
    context: &FieldContext<'_>,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let (_, dek_version, nonce, ciphertext, tag) = split_sealed(sealed)?;
    let aad = context.associated_data(dek_version)?;
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    dek.cipher()
        .decrypt_inout_detached(
            nonce.into(),
            &aad,
            plaintext.as_mut_slice().into(),
            tag.into(),
        )
        .map_err(|_| SealError::Integrity)?;
    Ok(plaintext)
}

/// [`seal_field`] for a UTF-8 string.
pub fn seal_text(
    dek: &DataKey,
    dek_version: u32,
    context: &FieldContext<'_>,
    text: &str,
) -> Result<Vec<u8>, SealError> {
    seal_field(dek, dek_version, context, text.as_bytes())
}

/// [`open_field`] for a value sealed with [`seal_text`].
pub fn open_text(
    dek: &DataKey,
    context: &FieldContext<'_>,
    sealed: &[u8],
) -> Result<Zeroizing<String>, SealError> {
    let mut bytes = open_field(dek, context, sealed)?;
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(error) => {
            // Take the bytes back so that they are zeroized too.
            *bytes = error.into_bytes();
            Err(SealError::NotText)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CONTEXT: FieldContext<'static> = FieldContext {
        table: "patients",
        column: "family_name",
        row_id: "0190a5c2-row",
        patient_id: "0190a5c2-patient",
    };

    #[test]
    fn seal_and_open() {
        let dek = DataKey::generate();
        let sealed = seal_text(&dek, 1, &CONTEXT, "Smith").unwrap();
        assert_eq!(sealed.len(), 5 + SEALED_FIELD_OVERHEAD);
        assert_eq!(sealed[0], 0x01);
        assert_eq!(sealed_data_key_version(&sealed), Ok(1));
        assert_eq!(
            open_text(&dek, &CONTEXT, &sealed).unwrap().as_str(),
            "Smith"
        );
        assert_ne!(sealed, seal_text(&dek, 1, &CONTEXT, "Smith").unwrap());
        let empty = seal_field(&dek, 7, &CONTEXT, b"").unwrap();
        assert_eq!(empty.len(), SEALED_FIELD_OVERHEAD);
        assert_eq!(sealed_data_key_version(&empty), Ok(7));
        assert!(open_field(&dek, &CONTEXT, &empty).unwrap().is_empty());
    }

    #[test]
    fn a_value_moved_elsewhere_fails_to_open() {
        let dek = DataKey::generate();
        let sealed = seal_text(&dek, 1, &CONTEXT, "Smith").unwrap();
        let elsewhere = [
            FieldContext {
                row_id: "0190a5c2-other-row",
                ..CONTEXT
            },
            FieldContext {
                column: "given_name",
                ..CONTEXT
            },
            FieldContext {
                table: "contacts",
                ..CONTEXT
            },
            FieldContext {
                patient_id: "0190a5c2-other-patient",
                ..CONTEXT
            },
        ];
        for context in elsewhere {
            assert_eq!(
                open_field(&dek, &context, &sealed).unwrap_err(),
                SealError::Integrity,
                "{context:?}"
            );
        }
        // Another patient's key.
        assert_eq!(
            open_field(&DataKey::generate(), &CONTEXT, &sealed).unwrap_err(),
            SealError::Integrity
        );
    }

    #[test]
    fn context_parts_cannot_shift_into_each_other() {
        let dek = DataKey::generate();
        let a = FieldContext {
            table: "ab",
            column: "c",
            row_id: "r",
            patient_id: "p",
        };
        let b = FieldContext {
            table: "a",
            column: "bc",
            row_id: "r",
            patient_id: "p",
        };
        assert_ne!(a.associated_data(1).unwrap(), b.associated_data(1).unwrap());
        let sealed = seal_field(&dek, 1, &a, b"x").unwrap();
        assert_eq!(
            open_field(&dek, &b, &sealed).unwrap_err(),
            SealError::Integrity
        );
    }

    #[test]
    fn associated_data_has_the_documented_bytes() {
        let context = FieldContext {
            table: "t",
            column: "co",
            row_id: "",
            patient_id: "p1",
        };
        let mut expected = b"carevault field v1\0".to_vec();
        expected.extend_from_slice(&[0, 0, 1, 2]);
        expected.extend_from_slice(&[0, 0, 0, 1, b't']);
        expected.extend_from_slice(&[0, 0, 0, 2, b'c', b'o']);
        expected.extend_from_slice(&[0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 0, 0, 2, b'p', b'1']);
        assert_eq!(context.associated_data(0x0102).unwrap(), expected);
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let dek = DataKey::generate();
        let sealed = seal_text(&dek, 1, &CONTEXT, "1984-02-29").unwrap();
        for position in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[position] ^= 0x80;
            let error = open_field(&dek, &CONTEXT, &tampered).unwrap_err();
            match position {
                0 => assert_eq!(error, SealError::UnknownVersion(0x81)),
                _ => assert_eq!(error, SealError::Integrity, "byte {position}"),
            }
        }
    }

    #[test]
    fn truncated_and_foreign_input_is_rejected() {
        let dek = DataKey::generate();
        let sealed = seal_text(&dek, 1, &CONTEXT, "x").unwrap();
        assert_eq!(
            open_field(&dek, &CONTEXT, &[]).unwrap_err(),
            SealError::Malformed
        );
        assert_eq!(
            open_field(&dek, &CONTEXT, &sealed[..SEALED_FIELD_OVERHEAD - 1]).unwrap_err(),
            SealError::Malformed
        );
        assert_eq!(
            open_field(&dek, &CONTEXT, &sealed[..sealed.len() - 1]).unwrap_err(),
            SealError::Integrity
        );
        assert_eq!(
            open_field(&dek, &CONTEXT, b"\x02rest").unwrap_err(),
            SealError::UnknownVersion(2)
        );
        assert_eq!(
            sealed_data_key_version(b"\x01\x00"),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn non_utf8_is_not_text() {
        let dek = DataKey::generate();
        let sealed = seal_field(&dek, 1, &CONTEXT, &[0xff, 0xfe]).unwrap();
        assert_eq!(
            open_text(&dek, &CONTEXT, &sealed).unwrap_err(),
            SealError::NotText
        );
    }

    #[test]
    fn known_answer() {
        // Checked against Python `cryptography` AESGCM with key 32 × 0x22,
        // nonce 000102…0b and the context below.
        let dek = DataKey::from_bytes_for_tests([0x22; 32]);
        let nonce: [u8; 12] = std::array::from_fn(|i| i as u8);
        let context = FieldContext {
            table: "patients",
            column: "phone",
            row_id: "r-1",
            patient_id: "p-1",
        };
        let sealed = seal_with_nonce(&dek, 1, &nonce, &context, b"020 7946 0958").unwrap();
        assert_eq!(hex::encode(&sealed), KAT_SEALED);
    }

    const KAT_SEALED: &str = "0100000001000102030405060708090a0b76f2a73f8c14bcf218062cbc7cd084a749fc6ac40eae01c3786933f37f";

    fn context_strategy() -> impl Strategy<Value = (String, String, String, String)> {
        ("\\PC{0,12}", "\\PC{0,12}", "\\PC{0,12}", "\\PC{0,12}")
    }

    proptest! {
        #[test]
        fn seal_open_round_trip(
            plaintext in proptest::collection::vec(any::<u8>(), 0..512),
            dek_version: u32,
            (table, column, row_id, patient_id) in context_strategy(),
        ) {
            let dek = DataKey::generate();
            let context = FieldContext { table: &table, column: &column, row_id: &row_id, patient_id: &patient_id };
            let sealed = seal_field(&dek, dek_version, &context, &plaintext).unwrap();
            prop_assert_eq!(sealed.len(), plaintext.len() + SEALED_FIELD_OVERHEAD);
            prop_assert_eq!(sealed_data_key_version(&sealed), Ok(dek_version));
            let opened = open_field(&dek, &context, &sealed).unwrap();
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        }

        #[test]
        fn a_different_context_never_opens(
            plaintext in proptest::collection::vec(any::<u8>(), 0..64),
            a in context_strategy(),
            b in context_strategy(),
        ) {
            prop_assume!(a != b);
            let dek = DataKey::generate();
            let context_a = FieldContext { table: &a.0, column: &a.1, row_id: &a.2, patient_id: &a.3 };
            let context_b = FieldContext { table: &b.0, column: &b.1, row_id: &b.2, patient_id: &b.3 };
            let sealed = seal_field(&dek, 1, &context_a, &plaintext).unwrap();
            prop_assert_eq!(open_field(&dek, &context_b, &sealed).unwrap_err(), SealError::Integrity);
        }

        #[test]
        fn text_round_trip(text in "\\PC{0,64}") {
            let dek = DataKey::generate();
            let sealed = seal_text(&dek, 1, &CONTEXT, &text).unwrap();
            let opened = open_text(&dek, &CONTEXT, &sealed).unwrap();
            prop_assert_eq!(opened.as_str(), text.as_str());
        }
    }
}
