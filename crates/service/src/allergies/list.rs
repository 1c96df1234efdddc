//! Reading the allergy list: as the actor may see it, summaries, and the prescribing
//! check's warnings.

use super::*;

/// Opens one entry; a body that does not open is [`ServiceError::Integrity`].
pub(super) fn open_entry(
    row: &AllergyRecord,
    dek: &DataKey,
    names: &AccountNames,
) -> Result<AllergyView, ServiceError> {
    let (id, patient_id) = (row.id.to_string(), row.patient_id.to_string());
    let p = place(&id, &patient_id);
    let json = p
        .open(dek, "body", Some(&row.body))?
        .ok_or(ServiceError::Integrity)?;
    let body: Body = serde_json::from_str(&json).map_err(|_| ServiceError::Integrity)?;
    let status_reason = p.open(dek, "status_reason", row.status_reason.as_deref())?;
    let statement = row.entry_kind == AllergyEntryKind::NoKnownAllergies;
    let coded = body.code.as_deref().and_then(coded_substance);
    Ok(AllergyView {
        id,
        substance: if statement {
            if body.substance.is_empty() {
                NO_KNOWN_ALLERGIES.to_owned()
            } else {
                format!("{NO_KNOWN_ALLERGIES} (recorded as “{}”)", body.substance)
            }
        } else {
            coded.map_or_else(|| body.substance.clone(), |c| c.label.to_owned())
        },
        code: if statement { None } else { body.code },
        free_text: !statement && body.free_text,
        reaction: body.reaction,
        severity: AllergySeverity::parse(&body.severity).unwrap_or(AllergySeverity::Unknown),
        status: row.status,
        recorded_by: row
            .recorded_by
            .map_or_else(|| TRANSCRIBED_BY.to_owned(), |id| names.of(id)),
        recorded_at: row.recorded_at,
        patient_id: row.patient_id,
        kind: coded.map(|c| c.kind),
        no_known_allergies: statement,
        transcribed: body.transcribed,
        recorded_as: statement
            .then_some(body.substance)
            .filter(|s| !s.is_empty()),
        status_reason,
        updated_by: row.updated_by.map(|id| names.of(id)),
        updated_at: row.updated_at,
    })
}

/// The list from every entry of one patient, opened.
pub(super) fn list_of(patient_id: PatientId, mut entries: Vec<AllergyView>) -> AllergyList {
    entries.sort_by(|a, b| (a.recorded_at, &a.id).cmp(&(b.recorded_at, &b.id)));
    let (active, mut history): (Vec<AllergyView>, Vec<AllergyView>) = entries
        .into_iter()
        .partition(|e| e.status == AllergyStatus::Active);
    let (statements, allergies): (Vec<AllergyView>, Vec<AllergyView>) =
        active.into_iter().partition(|e| e.no_known_allergies);
    let statement = if !allergies.is_empty() {
        AllergyStatement::Allergies(allergies)
    } else if let Some(latest) = statements.into_iter().next_back() {
        AllergyStatement::NoKnownAllergies {
            recorded_by: latest.recorded_by,
            recorded_at: latest.recorded_at,
            id: latest.id,
            recorded_as: latest.recorded_as,
        }
    } else {
        AllergyStatement::NotRecorded
    };
    history.sort_by(|a, b| (b.updated_at, &b.id).cmp(&(a.updated_at, &a.id)));
    AllergyList {
        patient_id,
        statement,
        history,
    }
}

/// The prescribing check's warnings for a drug: one sentence per active entry that matches
/// it (see `carevault_core::allergy::warning_sentence`).
pub(crate) fn allergy_warnings(
    list: &AllergyList,
    drug_name: &str,
    generic_name: Option<&str>,
) -> Vec<String> {
    list.active()
        .iter()
        .filter_map(|entry| {
            let substance = entry.as_substance()?;
            let link = drug_link(&substance, drug_name, generic_name)?;
            Some(warning_sentence(
                &RecordedAllergy {
                    substance: &substance,
                    reaction: entry.reaction.as_deref(),
                    severity: entry.severity,
                },
                drug_name,
                generic_name,
                link,
            ))
        })
        .collect()
}
impl Services {
    /// The allergy list of `patient`, opened with its data key. Not authorised and not
    /// audited here: the calling use case has done both for the patient.
    pub(crate) async fn allergies_of(
        &self,
        patient: &PatientRow,
        dek: &DataKey,
    ) -> Result<AllergyList, ServiceError> {
        let names = self.account_names().await?;
        let patient_id = patient.id;
        let entries = store::of_patient(self.store().conn(), patient_id)
            .await?
            .iter()
            .map(|row| open_entry(row, dek, &names))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(list_of(patient_id, entries))
    }

    /// `PatientDetails::allergies` for each of `patients` whose view shows allergies (the
    /// list in one line, see [`AllergyList::summary`]), by patient id, read in one query.
    /// Not audited here: the patient records are read by the calling use case.
    pub(crate) async fn allergy_summaries(
        &self,
        patients: &[(&PatientRow, PatientView)],
    ) -> Result<HashMap<PatientId, Option<String>>, ServiceError> {
        let shown: Vec<&PatientRow> = patients
            .iter()
            .filter(|(_, view)| visibility(*view, PatientField::Allergies) != Visibility::Hidden)
            .map(|(row, _)| *row)
            .collect();
        let ids: Vec<PatientId> = shown.iter().map(|row| row.id).collect();
        let rows = store::of_patients(self.store().conn(), &ids, AllergyStatus::Active).await?;
        let mut by_patient: HashMap<PatientId, Vec<&AllergyRecord>> = HashMap::new();
        for row in &rows {
            by_patient.entry(row.patient_id).or_default().push(row);
        }
        let names = AccountNames::default();
        let mut out = HashMap::new();
        for (patient, patient_id) in shown.into_iter().zip(ids) {
            let entries = match by_patient.get(&patient_id) {
                None => Vec::new(),
                Some(rows) => {
                    let dek = self.patient_key(patient).await?;
                    rows.iter()
                        .map(|row| open_entry(row, &dek, &names))
                        .collect::<Result<Vec<_>, _>>()?
                }
            };
            out.insert(patient.id, list_of(patient_id, entries).summary());
        }
        Ok(out)
    }

    fn patient_label(
        &self,
        patient: &PatientRow,
        view: PatientView,
        dek: &DataKey,
    ) -> Result<String, ServiceError> {
        Ok(if view.shows_identity() {
            let (given, family) = crate::patients::open_names(patient, dek)?;
            format!("{given} {family}")
        } else {
            pseudonym_of(patient.pseudonym_number)
        })
    }

    /// The patient's allergy list (administrators, the care team, the patient), with whether
    /// the actor may record. One `listed` event.
    pub async fn list_allergies(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<PatientAllergies, ServiceError> {
        let access = self
            .chart_list_access(
                actor,
                patient_id,
                ChartListAction::Read,
                ResourceType::Allergy,
            )
            .await?;
        let patient = &access.patient;
        let dek = self.patient_key(patient).await?;
        let opened = match self.allergies_of(patient, &dek).await {
            Ok(list) => self
                .patient_label(patient, access.view, &dek)
                .map(|label| (list, label)),
            Err(err) => Err(err),
        };
        let (list, patient_label) = match opened {
            Ok(found) => found,
            Err(ServiceError::Integrity) => {
                return Err(self
                    .chart_list_integrity_failure(actor, ResourceType::Allergy, patient)
                    .await);
            }
            Err(other) => return Err(other),
        };
        let mut event = self
            .audit_event(actor, AuditAction::Listed, ResourceType::Allergy)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!(
            "{} entries",
            list.active().len()
                + list.history.len()
                + usize::from(matches!(
                    list.statement,
                    AllergyStatement::NoKnownAllergies { .. }
                ))
        ));
        self.record(event).await?;
        Ok(PatientAllergies {
            patient_id,
            patient_label,
            may_record: access.allows(actor, ChartListAction::WriteAllergies),
            list,
        })
    }
}
