//! The dispensing queue and the patient at the pharmacy counter.

use super::*;

/// The patient of a queued prescription, as dispensing needs them: the dispensing view of
/// the masking policy (name, date of birth with age, MRN and allergies, each only where the
/// view shows it in clear). Its `Debug` output shows nothing personal.
#[derive(Clone, PartialEq, Eq)]
pub struct DispensingPatient {
    /// "Given Family", or the pseudonym where the view hides names.
    pub name: String,
    pub date_of_birth: Option<NaiveDate>,
    /// Age in whole years today, with the date of birth.
    pub age: Option<u32>,
    pub mrn: Option<String>,
    /// The allergy list ("no known allergies" and "not recorded" are two different
    /// statements); `None` where the view hides allergies.
    pub allergies: Option<AllergyList>,
}

impl std::fmt::Debug for DispensingPatient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DispensingPatient").finish_non_exhaustive()
    }
}

/// One prescription of the dispensing queue, with its patient. The prescription carries
/// the prescriber and any acknowledged warnings with the override reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedPrescription {
    pub prescription: PrescriptionView,
    pub patient: DispensingPatient,
}

impl QueuedPrescription {
    /// Whether it matches a search of the queue: a part of the patient's name, their MRN or
    /// date of birth (`YYYY-MM-DD`) as shown, or a part of the drug's name. Case ignored.
    fn matches(&self, search: &str) -> bool {
        let search = search.trim().to_lowercase();
        if search.is_empty() {
            return true;
        }
        let p = &self.prescription;
        let contains = |text: &str| text.to_lowercase().contains(&search);
        contains(&self.patient.name)
            || contains(&p.drug_name)
            || p.generic_name.as_deref().is_some_and(contains)
            || self.patient.mrn.as_deref() == Some(search.as_str())
            || self
                .patient
                .date_of_birth
                .is_some_and(|dob| dob.format("%Y-%m-%d").to_string() == search)
    }
}

/// What the pharmacy needs of a prescription to dispense it.
pub(crate) struct DispensingTarget {
    pub row: PrescriptionRecord,
    pub patient: PatientRow,
    pub drug_name: String,
    pub generic_name: Option<String>,
    /// The prescribed quantity.
    pub quantity: u32,
}
impl Services {
    /// A prescription as the pharmacy dispenses against it: the row, the prescribed drug
    /// (name and generic name), the prescribed quantity and the patient. Refused (recorded)
    /// unless `actor` may read the patient's prescriptions.
    pub(crate) async fn prescription_for_dispensing(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<DispensingTarget, ServiceError> {
        let row = self
            .find_prescription(id)
            .await?
            .ok_or(ServiceError::NotFound("prescription"))?;
        let (patient, _) = self.prescription_access(actor, row.patient_id).await?;
        let dek = self.patient_key(&patient).await?;
        let body = open_body(&row, &dek)?;
        Ok(DispensingTarget {
            row,
            patient,
            drug_name: body.drug_name,
            generic_name: body.generic_name,
            quantity: body.quantity,
        })
    }

    /// The pharmacy's dispensing queue (pharmacists only): active prescriptions with units
    /// left to dispense, oldest first, each with its prescriber, its acknowledged warnings
    /// and override reason, and its patient as dispensing needs them
    /// ([`DispensingPatient`]: name, date of birth and age, MRN, allergies, as the dispensing
    /// view shows them). `search` narrows it to the prescriptions whose patient (part of the
    /// name, MRN, date of birth) or drug matches: the pharmacist's way to find the patient
    /// at the counter, within the prescriptions to dispense only. Reads follow
    /// `prescription_access` like `prescription_for_dispensing`; every prescription shown is
    /// one `listed` event (with the patient's pseudonym), recorded before anything is
    /// returned.
    pub async fn dispensing_queue(
        &self,
        actor: &Actor,
        search: Option<&str>,
    ) -> Result<Vec<QueuedPrescription>, ServiceError> {
        self.authorize(
            actor,
            carevault_core::Action::ManageStock,
            ResourceType::Prescription,
        )
        .await?;
        if !actor.may(Action::Dispense) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Prescription,
                    None,
                    "prescriptions are dispensed by pharmacists",
                )
                .await);
        }
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if let Some(search) = search
            && search.chars().count() > 100
        {
            return Err(ValidationErrors::single("q", "must be at most 100 characters").into());
        }
        let rows = store::active(self.store().conn(), LIST_LIMIT).await?;
        let mut patients: std::collections::HashMap<
            PatientId,
            (PatientRow, PatientView, DataKey, DispensingPatient),
        > = std::collections::HashMap::new();
        let mut out = Vec::new();
        let mut events = Vec::new();
        for row in rows {
            if let std::collections::hash_map::Entry::Vacant(slot) = patients.entry(row.patient_id)
            {
                let (patient, view) = match self.prescription_access(actor, row.patient_id).await {
                    Ok(found) => found,
                    // An erased patient's prescriptions are not dispensed.
                    Err(ServiceError::NotFound(_)) => continue,
                    Err(err) => return Err(err),
                };
                let dek = self.patient_key(&patient).await?;
                let shown = self.dispensing_patient(actor, &patient, view, &dek).await?;
                slot.insert((patient, view, dek, shown));
            }
            let Some((patient, view, dek, shown_patient)) = patients.get(&row.patient_id) else {
                continue;
            };
            let shown = self
                .present_prescription(actor, &row, patient, *view, dek)
                .await?;
            if shown.quantity_dispensed >= shown.quantity {
                continue;
            }
            let item = QueuedPrescription {
                prescription: shown,
                patient: shown_patient.clone(),
            };
            if let Some(search) = search
                && !item.matches(search)
            {
                continue;
            }
            let mut event = self
                .audit_event(actor, AuditAction::Listed, ResourceType::Prescription)
                .resource_id(row.id.to_string())
                .patient(pseudonym_of(patient.pseudonym_number));
            event.reason = Some(
                if search.is_some() {
                    "dispensing queue, searched; with date of birth, MRN and allergies"
                } else {
                    "dispensing queue; with date of birth, MRN and allergies"
                }
                .into(),
            );
            events.push(event);
            out.push(item);
        }
        if events.is_empty() && search.is_some() {
            let mut event =
                self.audit_event(actor, AuditAction::Search, ResourceType::Prescription);
            event.reason = Some("dispensing queue: no match".into());
            events.push(event);
        }
        self.record_all(events).await?;
        Ok(out)
    }

    /// The patient of a queued prescription as `view` shows them. Not audited here: the
    /// queue records each prescription it shows.
    async fn dispensing_patient(
        &self,
        actor: &Actor,
        patient: &PatientRow,
        view: PatientView,
        dek: &DataKey,
    ) -> Result<DispensingPatient, ServiceError> {
        let data = self.open_row(actor, patient, AuditAction::Listed).await?;
        let clear = |field| visibility(view, field) == Visibility::Clear;
        let name = if view.shows_identity() {
            format!("{} {}", data.given_name, data.family_name)
        } else {
            pseudonym_of(patient.pseudonym_number)
        };
        let date_of_birth = clear(PatientField::DateOfBirth).then_some(data.date_of_birth);
        Ok(DispensingPatient {
            name,
            age: date_of_birth.map(|dob| {
                carevault_core::deidentify::age_in_years(
                    dob,
                    self.settings().scheduling.local_date(self.now()),
                )
            }),
            date_of_birth,
            mrn: clear(PatientField::Mrn).then(|| data.mrn.clone()),
            allergies: if clear(PatientField::Allergies) {
                Some(self.allergies_of(patient, dek).await?)
            } else {
                None
            },
        })
    }
}
