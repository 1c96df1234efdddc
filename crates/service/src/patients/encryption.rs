//! The encryption view: how a patient's fields are stored, for administrators.

use super::*;

/// How one field of one patient is stored (the encryption view).
#[derive(Debug, Clone)]
pub struct StoredField {
    pub column: &'static str,
    /// `sealed`, `clear`, or `empty` (NULL).
    pub storage: &'static str,
    pub kek_version: Option<u32>,
    pub data_key_version: Option<u32>,
    pub nonce_hex: Option<String>,
    pub stored_bytes: usize,
    /// The first bytes of the ciphertext, hex; for clear columns the stored value.
    pub prefix_hex: String,
    pub blind_index: Option<&'static str>,
}

/// A sealed column of a row: its name, its bytes (if any), and the blind index kind that
/// covers it (if any).
type SealedColumn<'a> = (&'static str, Option<&'a Vec<u8>>, Option<IndexKind>);

/// The encryption view of one patient.
#[derive(Debug, Clone)]
pub struct EncryptionView {
    pub id: PatientId,
    pub pseudonym: String,
    pub kek_version: u32,
    pub wrapped_data_key_bytes: usize,
    pub fields: Vec<StoredField>,
    pub blind_index_kinds: Vec<String>,
}
impl Services {
    /// How one patient's fields are stored: sealed or clear, key versions, nonce, sizes,
    /// a ciphertext prefix, blind indexes. Never key material or plaintext. Administrators.
    pub async fn patient_encryption_view(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<EncryptionView, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = patients::find(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("patient"))?;
        let kinds = patients::index_kinds(self.store().conn(), id).await?;
        let sealed_columns: [SealedColumn<'_>; 14] = [
            ("mrn", Some(&row.mrn), Some(IndexKind::Mrn)),
            (
                "given_name",
                Some(&row.given_name),
                Some(IndexKind::FullName),
            ),
            (
                "family_name",
                Some(&row.family_name),
                Some(IndexKind::FamilyNamePhonetic),
            ),
            (
                "date_of_birth",
                Some(&row.date_of_birth),
                Some(IndexKind::FamilyNameAndBirthDate),
            ),
            ("gender_identity", row.gender_identity.as_ref(), None),
            ("address", row.address.as_ref(), None),
            ("phone", row.phone.as_ref(), Some(IndexKind::Phone)),
            ("email", row.email.as_ref(), None),
            ("emergency_contact", row.emergency_contact.as_ref(), None),
            (
                "national_id",
                row.national_id.as_ref(),
                Some(IndexKind::NationalId),
            ),
            ("preferred_language", row.preferred_language.as_ref(), None),
            ("blood_group", row.blood_group.as_ref(), None),
            ("allergies", row.allergies.as_ref(), None),
            ("primary_diagnosis", row.primary_diagnosis.as_ref(), None),
        ];
        let kek_version = u32::try_from(row.kek_version).unwrap_or(0);
        let mut fields: Vec<StoredField> = sealed_columns
            .into_iter()
            .map(|(column, bytes, index)| match bytes {
                Some(bytes) => StoredField {
                    column,
                    storage: "sealed",
                    kek_version: Some(kek_version),
                    data_key_version: sealed_data_key_version(bytes).ok(),
                    nonce_hex: bytes.get(5..17).map(hex::encode),
                    stored_bytes: bytes.len(),
                    prefix_hex: hex::encode(bytes.get(17..33).unwrap_or_default()),
                    blind_index: index
                        .filter(|kind| kinds.iter().any(|k| k == kind.label()))
                        .map(IndexKind::label),
                },
                None => StoredField {
                    column,
                    storage: "empty",
                    kek_version: None,
                    data_key_version: None,
                    nonce_hex: None,
                    stored_bytes: 0,
                    prefix_hex: String::new(),
                    blind_index: None,
                },
            })
            .collect();
        for (column, value) in [
            ("id", row.id.to_string()),
            ("pseudonym_number", row.pseudonym_number.to_string()),
            ("status", row.status.as_str().to_owned()),
            ("sex", row.sex.as_str().to_owned()),
            ("birth_year", row.birth_year.to_string()),
        ] {
            fields.push(StoredField {
                column,
                storage: "clear",
                kek_version: None,
                data_key_version: None,
                nonce_hex: None,
                stored_bytes: value.len(),
                prefix_hex: value,
                blind_index: None,
            });
        }
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("encryption view".into());
        self.record(event).await?;
        Ok(EncryptionView {
            id,
            pseudonym: pseudonym_of(row.pseudonym_number),
            kek_version,
            wrapped_data_key_bytes: row.wrapped_data_key.len(),
            fields,
            blind_index_kinds: kinds,
        })
    }
}
