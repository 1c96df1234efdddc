//! The cipher of one backup file ([`BackupCipher`]): its key, derived from a KEK version and
//! the file's random salt ([`KeyRing::backup_cipher`]), and its segments, sealed in the
//! STREAM construction.

use std::fmt;

use aes_gcm::{Aes256Gcm, KeyInit};
use hmac::Mac as _;
use zeroize::Zeroizing;

use super::{BACKUP_FILE_INFO, KEY_LEN, KeyRing};

/// Length of the authentication tag at the end of every sealed backup segment.
pub const BACKUP_TAG_LEN: usize = 16;

/// AES-256-GCM under one backup file's key, for the segments of the STREAM construction
/// (Hoang, Reyhanitabar, Rogaway, Vizár 2015): the 12-byte nonce of segment `i` is `i` as a
/// big-endian u64, three zero bytes, and a last byte that is `1` for the final segment and
/// `0` otherwise. So segments cannot be reordered, dropped or
/// truncated at a segment boundary without failing authentication. The key is unique per
/// file (random salt), so nonces never repeat under one key.
#[derive(Clone)]
pub struct BackupCipher {
    cipher: Aes256Gcm,
}

impl fmt::Debug for BackupCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupCipher(..)")
    }
}

/// A backup segment failed authentication (damaged file, or other keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("segment {0} fails authentication")]
pub struct BackupSegmentError(pub u64);

impl KeyRing {
    /// The cipher of one backup file made with KEK `version` and the file's random `salt`
    /// (derivation in the `keyring` module docs); `None` when the ring lacks that version.
    pub fn backup_cipher(&self, version: u32, salt: &[u8]) -> Option<BackupCipher> {
        let kek = self.kek(version)?;
        // HKDF-Expand with one output block: T(1) = HMAC(PRK, info || 0x01).
        let mut mac = kek.backup_prk.clone();
        mac.update(BACKUP_FILE_INFO);
        mac.update(salt);
        mac.update(&[1u8]);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(mac.finalize().into_bytes().as_slice());
        let cipher = Aes256Gcm::new_from_slice(&key[..]).ok()?;
        Some(BackupCipher { cipher })
    }
}

impl BackupCipher {
    fn nonce(index: u64, last: bool) -> [u8; 12] {
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&index.to_be_bytes());
        nonce[11] = u8::from(last);
        nonce
    }

    /// Seals segment `index` (ciphertext followed by the 16-byte tag).
    pub fn seal_segment(
        &self,
        index: u64,
        last: bool,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackupSegmentError> {
        use aes_gcm::aead::AeadInOut;
        let nonce = Self::nonce(index, last);
        let mut buffer = Vec::with_capacity(plaintext.len() + BACKUP_TAG_LEN);
        buffer.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_inout_detached((&nonce).into(), aad, (&mut buffer[..]).into())
            .map_err(|_| BackupSegmentError(index))?;
        buffer.extend_from_slice(tag.as_slice());
        Ok(buffer)
    }

    /// Opens segment `index` (as [`BackupCipher::seal_segment`] made it).
    pub fn open_segment(
        &self,
        index: u64,
        last: bool,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, BackupSegmentError> {
        use aes_gcm::aead::AeadInOut;
        let split = sealed
            .len()
            .checked_sub(BACKUP_TAG_LEN)
            .ok_or(BackupSegmentError(index))?;
        let (body, tag) = sealed.split_at(split);
        let tag: &[u8; BACKUP_TAG_LEN] = tag.try_into().map_err(|_| BackupSegmentError(index))?;
        let nonce = Self::nonce(index, last);
        let mut buffer = body.to_vec();
        self.cipher
            .decrypt_inout_detached((&nonce).into(), aad, (&mut buffer[..]).into(), tag.into())
            .map_err(|_| BackupSegmentError(index))?;
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_segments_are_bound_to_key_salt_index_finality_and_header() {
        let ring = KeyRing::from_master_key(&[3u8; 32]).unwrap();
        let cipher = ring.backup_cipher(1, b"salt one").unwrap();
        let sealed = cipher.seal_segment(4, false, b"header", b"rows").unwrap();
        assert_eq!(sealed.len(), 4 + BACKUP_TAG_LEN);
        assert_eq!(
            cipher.open_segment(4, false, b"header", &sealed).unwrap(),
            b"rows"
        );
        assert_eq!(
            cipher.open_segment(5, false, b"header", &sealed),
            Err(BackupSegmentError(5))
        );
        assert!(cipher.open_segment(4, true, b"header", &sealed).is_err());
        assert!(cipher.open_segment(4, false, b"other", &sealed).is_err());
        let other_salt = ring.backup_cipher(1, b"salt two").unwrap();
        assert!(
            other_salt
                .open_segment(4, false, b"header", &sealed)
                .is_err()
        );
        let other_ring = KeyRing::from_master_key(&[4u8; 32]).unwrap();
        let other_key = other_ring.backup_cipher(1, b"salt one").unwrap();
        assert!(
            other_key
                .open_segment(4, false, b"header", &sealed)
                .is_err()
        );
        assert!(ring.backup_cipher(2, b"salt one").is_none());
        assert!(!format!("{cipher:?}").contains("cipher:"));
    }
}
