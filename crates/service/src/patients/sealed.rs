//! Sealing and opening a patient's fields, and the blind indexes that search them.

use super::*;

pub(super) fn seal(
    dek: &DataKey,
    id: &str,
    column: &str,
    value: Option<&str>,
) -> Result<Option<Vec<u8>>, ServiceError> {
    value
        .map(|text| {
            let context = FieldContext {
                table: TABLE,
                column,
                row_id: id,
                patient_id: id,
            };
            seal_text(dek, DATA_KEY_VERSION, &context, text).map_err(ServiceError::internal)
        })
        .transpose()
}

pub(super) fn open(
    dek: &DataKey,
    id: &str,
    column: &str,
    sealed: Option<&[u8]>,
) -> Result<Option<String>, ServiceError> {
    sealed
        .map(|bytes| {
            let context = FieldContext {
                table: TABLE,
                column,
                row_id: id,
                patient_id: id,
            };
            open_text(dek, &context, bytes)
                .map(|text| text.to_string())
                .map_err(|_| ServiceError::Integrity)
        })
        .transpose()
}

pub(super) fn required(value: Option<Vec<u8>>) -> Result<Vec<u8>, ServiceError> {
    value.ok_or_else(|| ServiceError::internal(anyhow::anyhow!("required field not sealed")))
}

/// Seals `data` into `row` (every sealed column, fresh nonces) and sets the clear columns
/// derived from it.
pub(super) fn seal_into(
    row: &mut PatientRow,
    dek: &DataKey,
    data: &PatientData,
) -> Result<(), ServiceError> {
    let id = row.id.to_string();
    let s = |column: &str, value: Option<&str>| seal(dek, &id, column, value);
    row.mrn = required(s("mrn", Some(&data.mrn))?)?;
    row.given_name = required(s("given_name", Some(&data.given_name))?)?;
    row.family_name = required(s("family_name", Some(&data.family_name))?)?;
    let dob = data.date_of_birth.format("%Y-%m-%d").to_string();
    row.date_of_birth = required(s("date_of_birth", Some(&dob))?)?;
    row.gender_identity = s("gender_identity", data.gender_identity.as_deref())?;
    row.address = s("address", data.address.as_deref())?;
    row.phone = s("phone", data.phone.as_deref())?;
    row.email = s("email", data.email.as_deref())?;
    let contact = data
        .emergency_contact
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(ServiceError::internal)?;
    row.emergency_contact = s("emergency_contact", contact.as_deref())?;
    row.national_id = s("national_id", data.national_id.as_deref())?;
    row.preferred_language = s("preferred_language", data.preferred_language.as_deref())?;
    row.blood_group = s("blood_group", data.blood_group.as_deref())?;
    // `allergies` is not written: the allergy list holds them (`allergies/`); the old
    // column is only read and emptied by the move at start-up.
    row.primary_diagnosis = s("primary_diagnosis", data.primary_diagnosis.as_deref())?;
    row.sex = data.sex;
    row.birth_year = data.date_of_birth.year();
    Ok(())
}

/// Opens the given and family names of `row` (for labels elsewhere in the service).
pub(crate) fn open_names(
    row: &PatientRow,
    dek: &DataKey,
) -> Result<(String, String), ServiceError> {
    let id = &row.id.to_string();
    let need = |value: Option<String>| value.ok_or(ServiceError::Integrity);
    Ok((
        need(open(dek, id, "given_name", Some(&row.given_name))?)?,
        need(open(dek, id, "family_name", Some(&row.family_name))?)?,
    ))
}

/// Opens every sealed column of `row`.
pub(super) fn open_all(row: &PatientRow, dek: &DataKey) -> Result<PatientData, ServiceError> {
    let id = &row.id.to_string();
    let o =
        |column: &str, sealed: Option<&Vec<u8>>| open(dek, id, column, sealed.map(Vec::as_slice));
    let need = |value: Option<String>| value.ok_or(ServiceError::Integrity);
    let dob = need(o("date_of_birth", Some(&row.date_of_birth))?)?;
    let contact = o("emergency_contact", row.emergency_contact.as_ref())?
        .map(|json| serde_json::from_str(&json).map_err(|_| ServiceError::Integrity))
        .transpose()?;
    Ok(PatientData {
        mrn: need(o("mrn", Some(&row.mrn))?)?,
        given_name: need(o("given_name", Some(&row.given_name))?)?,
        family_name: need(o("family_name", Some(&row.family_name))?)?,
        date_of_birth: NaiveDate::parse_from_str(&dob, "%Y-%m-%d")
            .map_err(|_| ServiceError::Integrity)?,
        sex: row.sex,
        gender_identity: o("gender_identity", row.gender_identity.as_ref())?,
        address: o("address", row.address.as_ref())?,
        phone: o("phone", row.phone.as_ref())?,
        email: o("email", row.email.as_ref())?,
        emergency_contact: contact,
        national_id: o("national_id", row.national_id.as_ref())?,
        preferred_language: o("preferred_language", row.preferred_language.as_ref())?,
        blood_group: o("blood_group", row.blood_group.as_ref())?,
        allergies: None,
        primary_diagnosis: o("primary_diagnosis", row.primary_diagnosis.as_ref())?,
    })
}

/// Opens the old free-text `allergies` column of `row` (for moving it into the allergy
/// list).
pub(crate) fn open_legacy_allergies(
    row: &PatientRow,
    dek: &DataKey,
) -> Result<Option<String>, ServiceError> {
    open(
        dek,
        &row.id.to_string(),
        "allergies",
        row.allergies.as_deref(),
    )
}

/// Search weight per index kind: lower sorts first.
pub(super) fn weight(kind: IndexKind) -> i16 {
    match kind {
        IndexKind::Mrn | IndexKind::NationalId => 0,
        IndexKind::FullName | IndexKind::FamilyNameAndBirthDate | IndexKind::Phone => 1,
        IndexKind::FamilyNamePhonetic => 3,
    }
}

/// The blind indexes of a patient.
pub(super) fn index_entries(ring: &KeyRing, data: &PatientData) -> Vec<IndexEntry> {
    let full_name = format!("{} {}", data.given_name, data.family_name);
    let mut values = vec![
        (IndexKind::Mrn, blind_index(ring, IndexKind::Mrn, &data.mrn)),
        (
            IndexKind::FullName,
            blind_index(ring, IndexKind::FullName, &full_name),
        ),
        (
            IndexKind::FamilyNameAndBirthDate,
            family_name_and_birth_date_blind_index(ring, &data.family_name, data.date_of_birth),
        ),
        (
            IndexKind::FamilyNamePhonetic,
            blind_index(ring, IndexKind::FamilyNamePhonetic, &data.family_name),
        ),
    ];
    if let Some(phone) = &data.phone {
        values.push((IndexKind::Phone, blind_index(ring, IndexKind::Phone, phone)));
    }
    if let Some(national_id) = &data.national_id {
        values.push((
            IndexKind::NationalId,
            blind_index(ring, IndexKind::NationalId, national_id),
        ));
    }
    values
        .into_iter()
        .filter_map(|(kind, value)| {
            value.map(|value| IndexEntry {
                kind: kind.label(),
                value,
                weight: weight(kind),
            })
        })
        .collect()
}

/// The blind indexes a search text may match. The text is tried as every kind it could be.
pub(super) fn search_entries(ring: &KeyRing, q: &str) -> Vec<(&'static str, String)> {
    let q = q.trim();
    let mut out = Vec::new();
    let mut push = |kind: IndexKind, value: Option<String>| {
        if let Some(value) = value {
            out.push((kind.label(), value));
        }
    };
    // "Smith 1980-02-03" or "1980-02-03 Smith": family name and date of birth.
    let words: Vec<&str> = q.split_whitespace().collect();
    let date = words
        .iter()
        .position(|w| NaiveDate::parse_from_str(w, "%Y-%m-%d").is_ok());
    if let Some(at) = date {
        let name: Vec<&str> = words
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, w)| *w)
            .collect();
        if let Ok(dob) = NaiveDate::parse_from_str(words[at], "%Y-%m-%d") {
            let family = name
                .last()
                .copied()
                .unwrap_or_default()
                .trim_end_matches(',');
            push(
                IndexKind::FamilyNameAndBirthDate,
                family_name_and_birth_date_blind_index(ring, family, dob),
            );
            if let Some(first) = name.first() {
                push(
                    IndexKind::FamilyNameAndBirthDate,
                    family_name_and_birth_date_blind_index(ring, first.trim_end_matches(','), dob),
                );
            }
        }
        return out;
    }
    let digits = q.chars().filter(char::is_ascii_digit).count();
    if digits > 0 {
        push(IndexKind::Mrn, blind_index(ring, IndexKind::Mrn, q));
        push(
            IndexKind::NationalId,
            blind_index(ring, IndexKind::NationalId, q),
        );
        if digits >= 7 && normalize_phone(q).len() >= 7 {
            push(IndexKind::Phone, blind_index(ring, IndexKind::Phone, q));
        }
        if q.chars().any(char::is_alphabetic) {
            // National ids like "AB 12 34 56 C" mix both.
            return out;
        }
        return out;
    }
    // A name: "Given Family", or "Family, Given".
    let (full, family) = match q.split_once(',') {
        Some((family, given)) => (
            format!("{} {}", given.trim(), family.trim()),
            family.trim().to_owned(),
        ),
        None => (
            q.to_owned(),
            words.last().copied().unwrap_or_default().to_owned(),
        ),
    };
    push(
        IndexKind::FullName,
        blind_index(ring, IndexKind::FullName, &full),
    );
    push(
        IndexKind::FamilyNamePhonetic,
        blind_index(ring, IndexKind::FamilyNamePhonetic, &family),
    );
    if words.len() == 1 {
        push(
            IndexKind::NationalId,
            blind_index(ring, IndexKind::NationalId, q),
        );
    }
    out
}
