//! Moving the allergies typed in at registration (the legacy free-text field) into the list.

use super::*;

/// What the data migration of the old free-text field did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegacyAllergiesMoved {
    /// Patients whose text was moved into the list (and the old column emptied).
    pub patients: usize,
    /// Entries written.
    pub entries: usize,
    /// Patients left as they were (their text did not open; logged by id).
    pub failed: usize,
}

/// The entries a transcribed free-text allergy record becomes, for `patient` (sealed,
/// active): the "no known allergies" statement when that is all it says, otherwise one entry
/// per substance (`carevault_core::allergy::transcribed_substances`). `by`: who typed it in
/// (`None`: moved from the old field). Entries are `at`, `at + 1 µs`, … so they keep the
/// text's order.
pub(crate) fn transcribed_rows(
    text: &str,
    patient_id: PatientId,
    dek: &DataKey,
    by: Option<UserId>,
    at: DateTime<Utc>,
) -> Result<Vec<AllergyRecord>, ValidationErrors> {
    let row = |offset: i64, kind: AllergyEntryKind, body: &Body| {
        let at = at + Duration::microseconds(offset);
        new_entry(dek, patient_id, kind, AllergyStatus::Active, body, by, at)
            .map_err(|_| ValidationErrors::single("allergies", "could not be stored"))
    };
    if states_no_known_allergies(text) {
        let body = Body {
            substance: text.trim().to_owned(),
            transcribed: true,
            ..Body::default()
        };
        return Ok(vec![row(0, AllergyEntryKind::NoKnownAllergies, &body)?]);
    }
    let substances = transcribed_substances(text)
        .map_err(|message| ValidationErrors::single("allergies", message))?;
    substances
        .into_iter()
        .enumerate()
        .map(|(i, substance)| {
            let body = body_of(&AllergyInput::transcribed(substance), true);
            row(
                i64::try_from(i).unwrap_or(0),
                AllergyEntryKind::Allergy,
                &body,
            )
        })
        .collect()
}

impl Services {
    /// Moves the old free-text `allergies` of every patient into the allergy list, once, at
    /// start-up (after the key ring is bound). A patient at a time, each in one transaction
    /// with one audit event (by the system): the text opened, split without losing a word
    /// (`transcribed_rows`), the entries written, the old column emptied — only if the record
    /// is still the version read, so a change made meanwhile (by an older server during an
    /// upgrade) is moved on the next pass. Idempotent: a second run finds nothing to move. A
    /// text that does not open is left in place and logged by patient id.
    pub async fn move_legacy_allergies(&self) -> Result<LegacyAllergiesMoved, ServiceError> {
        let actor = Actor::system();
        let mut report = LegacyAllergiesMoved::default();
        let mut after: Option<PatientId> = None;
        loop {
            let rows =
                patient_store::with_legacy_allergies(self.store().conn(), after, 100).await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = Some(last.id);
            for row in rows {
                match self.move_legacy_allergies_of(&actor, row).await {
                    Ok(Some(entries)) => {
                        report.patients += 1;
                        report.entries += entries;
                    }
                    Ok(None) => {}
                    Err(ServiceError::Integrity | ServiceError::Validation(_)) => {
                        report.failed += 1;
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        if report.patients > 0 || report.failed > 0 {
            tracing::info!(
                patients = report.patients,
                entries = report.entries,
                failed = report.failed,
                "free-text allergies moved into the allergy list"
            );
        }
        Ok(report)
    }

    /// One patient of [`Services::move_legacy_allergies`]: how many entries were written
    /// (`None`: nothing left to move).
    async fn move_legacy_allergies_of(
        &self,
        actor: &Actor,
        mut row: PatientRow,
    ) -> Result<Option<usize>, ServiceError> {
        for _ in 0..3 {
            let dek = match self.patient_key(&row).await {
                Ok(dek) => dek,
                Err(ServiceError::NotFound(_)) => return Ok(None),
                Err(err) => {
                    tracing::error!(patient_id = %row.id, "the free-text allergies could not be moved: the data key did not open");
                    return Err(err);
                }
            };
            let text = match crate::patients::open_legacy_allergies(&row, &dek) {
                Ok(Some(text)) => text,
                Ok(None) => return Ok(None),
                Err(err) => {
                    tracing::error!(patient_id = %row.id, "the free-text allergies could not be moved: they did not open");
                    return Err(err);
                }
            };
            let entries = transcribed_rows(&text, row.id, &dek, None, row.updated_at)
                .inspect_err(|_| {
                    tracing::error!(patient_id = %row.id, "the free-text allergies could not be moved: they are not valid text");
                })?;
            let mut event = self
                .audit_event(actor, AuditAction::Update, ResourceType::Allergy)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some(format!(
                "free-text allergies moved into the allergy list ({} entries)",
                entries.len()
            ));
            let moved = self
                .transaction_once(async |txn| {
                    if !patient_store::clear_legacy_allergies(txn, row.id, row.updated_at).await? {
                        return Err(Abort::Stop(()));
                    }
                    let count = entries.len();
                    for entry in entries {
                        store::insert(txn, &entry).await?;
                    }
                    self.append_in(txn, event).await?;
                    Ok(count)
                })
                .await;
            match moved {
                Ok(count) => return Ok(Some(count)),
                Err(Abort::Fail(err)) => return Err(err),
                Err(Abort::Stop(())) => {}
            }
            // Changed meanwhile, or moved by another server: read it again.
            match carevault_store::privacy::find_patient(self.store().conn(), row.id).await? {
                Some(again) if again.allergies.is_some() && !again.is_erased() => {
                    row = again;
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}
