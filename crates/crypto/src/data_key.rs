//! Per-patient data keys (DEKs) and their wrapping by the KEK.
//!
//! Every patient has one random 256-bit [`DataKey`] that seals all of their fields
//! ([`crate::seal`]). It is stored only wrapped (encrypted) by the current KEK's wrapping key,
//! next to the patient row. Destroying the wrapped key crypto-shreds the patient.
//!
//! # Wrapped data key format (65 bytes)
//! ```text
//! offset  len  field
//!      0    1  format = 0x01
//!      1    4  KEK version, u32 big-endian (which wrapping key)
//!      5   12  nonce, random
//!     17   32  AES-256-GCM ciphertext of the 32-byte data key
//!     49   16  AES-256-GCM tag
//! ```
//! Key: the wrapping key of that KEK version (HKDF, see [`crate::keyring`]).
//! AAD: `carevault dek v1` ‖ `0x00` ‖ patient id (UTF-8). The patient id is the last element,
//! so no length prefix is needed; it must be the patient's stable opaque id (the database
//! UUID), never a value that can change such as the MRN. A wrapped key copied to another
//! patient therefore fails to unwrap ([`DataKeyError::Integrity`]). The format byte and KEK
//! version are not in the AAD, but each selects the algorithm or key, so altering one also
//! ends in an integrity failure (or [`DataKeyError::UnknownKekVersion`]).
//!
//! Nonces are random: one wrapping key wraps one data key per patient per rotation, far below
//! the 2^32 messages at which random 96-bit nonces for one AES-GCM key become a concern.
//!
//! # Rotation
//! [`rewrap`] unwraps with whichever version a key names and wraps again under the current
//! version (fresh nonce); callers can skip keys whose [`WrappedDataKey::kek_version`] is
//! already current. A KEK version is retired once no wrapped key names it — mind backups: an
//! old backup holds keys wrapped by old versions, so deleting a retired `kek-v<N>.key` makes
//! such backups unreadable.

use std::fmt;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use zeroize::Zeroizing;

use crate::keyring::KeyRing;

/// First byte of every wrapped data key.
pub const WRAPPED_DATA_KEY_FORMAT_V1: u8 = 0x01;
/// Length of a data key in bytes.
pub const DATA_KEY_LEN: usize = 32;
/// Length of a wrapped data key in bytes.
pub const WRAPPED_DATA_KEY_LEN: usize = 1 + 4 + NONCE_LEN + DATA_KEY_LEN + TAG_LEN;

pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;
const DEK_AAD_LABEL: &[u8] = b"carevault dek v1";

/// Why a data key could not be wrapped or unwrapped. Messages carry no key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataKeyError {
    /// The bytes are not a wrapped data key (wrong length).
    #[error("wrapped data key is malformed")]
    Malformed,
    /// The format byte is not one this version understands.
    #[error("wrapped data key has unknown format {0:#04x}")]
    UnknownFormat(u8),
    /// The key ring has no KEK of the version the wrapped key names.
    #[error("wrapped data key needs KEK v{0}, which is not in the key ring")]
    UnknownKekVersion(u32),
    /// The tag did not verify: wrong patient, wrong key, or tampered bytes.
    #[error("wrapped data key failed its integrity check")]
    Integrity,
    /// AES-GCM refused the input (only possible beyond its length limits).
    #[error("data key wrapping failed")]
    Encrypt,
}

/// A patient's 256-bit data key. Zeroized on drop; `Debug` does not show it. The bytes live on
/// the heap, so moving a `DataKey` around does not leave copies of the key on the stack.
pub struct DataKey {
    bytes: Box<Zeroizing<[u8; DATA_KEY_LEN]>>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh random data key, for a new patient.
    pub fn generate() -> DataKey {
        let mut bytes = Box::new(Zeroizing::new([0u8; DATA_KEY_LEN]));
        crate::fill_random(&mut bytes[..]);
        DataKey { bytes }
    }

    /// The AES-256-GCM cipher keyed with this data key.
    pub(crate) fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&**self.bytes).into())
    }

    #[cfg(test)]
    pub(crate) fn from_bytes_for_tests(bytes: [u8; DATA_KEY_LEN]) -> DataKey {
        DataKey {
            bytes: Box::new(Zeroizing::new(bytes)),
        }
    }
}

/// A data key encrypted under one KEK version (format in the module docs). Not secret: this is
/// what the database stores.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedDataKey {
    kek_version: u32,
    bytes: Vec<u8>,
}

impl fmt::Debug for WrappedDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedDataKey")
            .field("kek_version", &self.kek_version)
            .finish_non_exhaustive()
    }
}

impl WrappedDataKey {
    /// Parses stored bytes, checking the length and format byte (not the tag: that needs the
    /// key ring, see [`unwrap_data_key`]).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<WrappedDataKey, DataKeyError> {
        let (format, kek_version, ..) = split_wrapped(&bytes)?;
        if format != WRAPPED_DATA_KEY_FORMAT_V1 {
            return Err(DataKeyError::UnknownFormat(format));
        }
        Ok(WrappedDataKey { kek_version, bytes })
    }

    /// The KEK version this key is wrapped under.
    pub fn kek_version(&self) -> u32 {
        self.kek_version
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The stored bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Format byte, KEK version, nonce, ciphertext and tag of a wrapped key.
type WrappedParts<'a> = (
    u8,
    u32,
    &'a [u8; NONCE_LEN],
    &'a [u8; DATA_KEY_LEN],
    &'a [u8; TAG_LEN],
);

fn split_wrapped(bytes: &[u8]) -> Result<WrappedParts<'_>, DataKeyError> {
    if bytes.len() != WRAPPED_DATA_KEY_LEN {
        return Err(DataKeyError::Malformed);
    }
    let (&format, rest) = bytes.split_first().ok_or(DataKeyError::Malformed)?;
    let (version, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(DataKeyError::Malformed)?;
    let (nonce, rest) = rest
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(DataKeyError::Malformed)?;
    let (ciphertext, tag) = rest
        .split_first_chunk::<DATA_KEY_LEN>()
        .ok_or(DataKeyError::Malformed)?;
    let tag = <&[u8; TAG_LEN]>::try_from(tag).map_err(|_| DataKeyError::Malformed)?;
    Ok((format, u32::from_be_bytes(*version), nonce, ciphertext, tag))
}

fn dek_aad(patient_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(DEK_AAD_LABEL.len() + 1 + patient_id.len());
    aad.extend_from_slice(DEK_AAD_LABEL);
    aad.push(0);
    aad.extend_from_slice(patient_id.as_bytes());
    aad
}

/// Wraps `dek` for the patient `patient_id` under the key ring's current KEK version.
pub fn wrap_data_key(
    keyring: &KeyRing,
    dek: &DataKey,
    patient_id: &str,
) -> Result<WrappedDataKey, DataKeyError> {
    let (kek_version, cipher) = keyring.current_wrapping_cipher();
    let nonce: [u8; NONCE_LEN] = crate::random_bytes();
    wrap_with_nonce(cipher, kek_version, &nonce, dek, patient_id)
}

fn wrap_with_nonce(
    cipher: &Aes256Gcm,
    kek_version: u32,
    nonce: &[u8; NONCE_LEN],
    dek: &DataKey,
    patient_id: &str,
) -> Result<WrappedDataKey, DataKeyError> {
    // The buffer holds the plaintext key until it is encrypted in place, so it is zeroizing.
    let mut buffer = Zeroizing::new(Vec::with_capacity(WRAPPED_DATA_KEY_LEN));
    buffer.push(WRAPPED_DATA_KEY_FORMAT_V1);
    buffer.extend_from_slice(&kek_version.to_be_bytes());
    buffer.extend_from_slice(nonce);
    let header_len = buffer.len();
    buffer.extend_from_slice(&dek.bytes[..]);
    let body = buffer
        .get_mut(header_len..)
        .ok_or(DataKeyError::Malformed)?;
    let tag = cipher
        .encrypt_inout_detached(nonce.into(), &dek_aad(patient_id), body.into())
        .map_err(|_| DataKeyError::Encrypt)?;
    buffer.extend_from_slice(tag.as_slice());
    Ok(WrappedDataKey {
        kek_version,
        bytes: std::mem::take(&mut *buffer),
    })
}

/// Unwraps the data key of the patient `patient_id`, with whichever KEK version it names.
pub fn unwrap_data_key(
    keyring: &KeyRing,
    wrapped: &WrappedDataKey,
    patient_id: &str,
) -> Result<DataKey, DataKeyError> {
    let (format, kek_version, nonce, ciphertext, tag) = split_wrapped(&wrapped.bytes)?;
    if format != WRAPPED_DATA_KEY_FORMAT_V1 {
        return Err(DataKeyError::UnknownFormat(format));
    }
    let cipher = keyring
        .wrapping_cipher(kek_version)
        .ok_or(DataKeyError::UnknownKekVersion(kek_version))?;
    let mut bytes = Box::new(Zeroizing::new(*ciphertext));
    cipher
        .decrypt_inout_detached(
            nonce.into(),
            &dek_aad(patient_id),
            (&mut bytes[..]).into(),
            tag.into(),
        )
        .map_err(|_| DataKeyError::Integrity)?;
    Ok(DataKey { bytes })
}

/// Re-wraps a data key under the key ring's current KEK version (fresh nonce), checking its
/// integrity on the way. The online step of `carevault keys rotate`.
pub fn rewrap(
    keyring: &KeyRing,
    wrapped: &WrappedDataKey,
    patient_id: &str,
) -> Result<WrappedDataKey, DataKeyError> {
    let dek = unwrap_data_key(keyring, wrapped, patient_id)?;
    wrap_data_key(keyring, &dek, patient_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring() -> KeyRing {
        KeyRing::from_master_key(&[9u8; 32]).unwrap()
    }

    fn same_key(a: &DataKey, b: &DataKey) -> bool {
        **a.bytes == **b.bytes
    }

    #[test]
    fn keys_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<DataKey>();
        assert_send_sync::<WrappedDataKey>();
        assert_send_sync::<KeyRing>();
    }

    #[test]
    fn wrap_and_unwrap() {
        let ring = ring();
        let dek = DataKey::generate();
        let wrapped = wrap_data_key(&ring, &dek, "patient-1").unwrap();
        assert_eq!(wrapped.as_bytes().len(), WRAPPED_DATA_KEY_LEN);
        assert_eq!(wrapped.as_bytes()[0], 0x01);
        assert_eq!(wrapped.as_bytes()[1..5], [0, 0, 0, 1]);
        assert_eq!(wrapped.kek_version(), 1);
        let unwrapped = unwrap_data_key(&ring, &wrapped, "patient-1").unwrap();
        assert!(same_key(&dek, &unwrapped));
        // A fresh nonce every time.
        assert_ne!(wrapped, wrap_data_key(&ring, &dek, "patient-1").unwrap());
        // The stored bytes parse back.
        let parsed = WrappedDataKey::from_bytes(wrapped.clone().into_bytes()).unwrap();
        assert_eq!(parsed, wrapped);
    }

    #[test]
    fn a_wrapped_key_is_bound_to_its_patient_and_key_ring() {
        let ring = ring();
        let wrapped = wrap_data_key(&ring, &DataKey::generate(), "patient-1").unwrap();
        assert_eq!(
            unwrap_data_key(&ring, &wrapped, "patient-2").unwrap_err(),
            DataKeyError::Integrity
        );
        let other = KeyRing::from_master_key(&[10u8; 32]).unwrap();
        assert_eq!(
            unwrap_data_key(&other, &wrapped, "patient-1").unwrap_err(),
            DataKeyError::Integrity
        );
    }

    #[test]
    fn tampering_is_detected() {
        let ring = ring();
        let wrapped = wrap_data_key(&ring, &DataKey::generate(), "p").unwrap();
        for position in 0..WRAPPED_DATA_KEY_LEN {
            let mut bytes = wrapped.clone().into_bytes();
            bytes[position] ^= 0x01;
            let result = WrappedDataKey::from_bytes(bytes)
                .and_then(|tampered| unwrap_data_key(&ring, &tampered, "p"));
            let error = result.unwrap_err();
            match position {
                0 => assert_eq!(error, DataKeyError::UnknownFormat(0x00)),
                4 => assert_eq!(error, DataKeyError::UnknownKekVersion(0)),
                1..=3 => assert!(matches!(error, DataKeyError::UnknownKekVersion(_))),
                _ => assert_eq!(error, DataKeyError::Integrity, "byte {position}"),
            }
        }
        assert_eq!(
            WrappedDataKey::from_bytes(vec![1; 64]).unwrap_err(),
            DataKeyError::Malformed
        );
        assert_eq!(
            WrappedDataKey::from_bytes(Vec::new()).unwrap_err(),
            DataKeyError::Malformed
        );
    }

    #[test]
    fn rotation_keeps_old_keys_readable_and_rewrap_moves_them() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("keys");
        let v1 = KeyRing::open(&dir, true).unwrap();
        let dek = DataKey::generate();
        let wrapped_v1 = wrap_data_key(&v1, &dek, "patient-7").unwrap();
        assert_eq!(wrapped_v1.kek_version(), 1);

        assert_eq!(KeyRing::rotate(&dir).unwrap(), 2);
        let v2 = KeyRing::open(&dir, false).unwrap();
        assert!(same_key(
            &dek,
            &unwrap_data_key(&v2, &wrapped_v1, "patient-7").unwrap()
        ));
        let wrapped_v2 = rewrap(&v2, &wrapped_v1, "patient-7").unwrap();
        assert_eq!(wrapped_v2.kek_version(), 2);
        assert!(same_key(
            &dek,
            &unwrap_data_key(&v2, &wrapped_v2, "patient-7").unwrap()
        ));
        // A ring loaded before the rotation does not know v2 yet.
        assert_eq!(
            unwrap_data_key(&v1, &wrapped_v2, "patient-7").unwrap_err(),
            DataKeyError::UnknownKekVersion(2)
        );
        // Rewrapping checks integrity too.
        assert_eq!(
            rewrap(&v2, &wrapped_v1, "patient-8").unwrap_err(),
            DataKeyError::Integrity
        );
        // Once v1 is retired and deleted, v2 keys still unwrap.
        std::fs::remove_file(dir.join("kek-v1.key")).unwrap();
        let retired = KeyRing::open(&dir, false).unwrap();
        assert!(unwrap_data_key(&retired, &wrapped_v2, "patient-7").is_ok());
        assert_eq!(
            unwrap_data_key(&retired, &wrapped_v1, "patient-7").unwrap_err(),
            DataKeyError::UnknownKekVersion(1)
        );
    }

    #[test]
    fn debug_output_hides_keys() {
        let dek = DataKey::from_bytes_for_tests([0xAB; 32]);
        assert_eq!(format!("{dek:?}"), "DataKey(<redacted>)");
        let wrapped = wrap_data_key(&ring(), &dek, "p").unwrap();
        let debug = format!("{wrapped:?}");
        assert!(debug.contains("kek_version: 1"));
        assert!(!debug.contains("ab"));
    }

    #[test]
    fn known_answer() {
        // Checked against Python `cryptography` AESGCM: wrapping key = HKDF-SHA256(no salt,
        // KEK, "carevault wrap v1"), KEK = HKDF(salt "carevault master key v1", master [9; 32],
        // "carevault master kek v1"), nonce 000102…0b, DEK = 32 × 0x11, patient "p-1".
        let ring = ring();
        let (version, cipher) = ring.current_wrapping_cipher();
        let nonce: [u8; 12] = std::array::from_fn(|i| i as u8);
        let dek = DataKey::from_bytes_for_tests([0x11; 32]);
        let wrapped = wrap_with_nonce(cipher, version, &nonce, &dek, "p-1").unwrap();
        assert_eq!(hex::encode(wrapped.as_bytes()), KAT_WRAPPED);
        assert!(same_key(
            &dek,
            &unwrap_data_key(&ring, &wrapped, "p-1").unwrap()
        ));
    }

    const KAT_WRAPPED: &str = "0100000001000102030405060708090a0b8dad2de786dfdb07950e67baf49fe944a0727c5a9a39afdd93670a5879a2b484f4071f9ae4d834383545c8b922d45152";

    proptest! {
        #[test]
        fn wrap_unwrap_round_trip(key in any::<[u8; 32]>(), patient_id in "\\PC{0,40}") {
            let ring = ring();
            let dek = DataKey::from_bytes_for_tests(key);
            let wrapped = wrap_data_key(&ring, &dek, &patient_id).unwrap();
            let unwrapped = unwrap_data_key(&ring, &wrapped, &patient_id).unwrap();
            prop_assert!(same_key(&dek, &unwrapped));
            let other_patient = format!("{patient_id}x");
            prop_assert_eq!(
                unwrap_data_key(&ring, &wrapped, &other_patient).unwrap_err(),
                DataKeyError::Integrity
            );
        }
    }
}
