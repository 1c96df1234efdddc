//! Prescribing: the request, its checks against allergies and active prescriptions,
//! acknowledged warnings, and the formulary offered.

use super::*;

/// A prescription as submitted, before validation.
#[derive(Clone, Default)]
pub struct PrescriptionRequest {
    pub encounter_id: String,
    /// A drug of the formulary (its id). When given, it must be an active drug, and the
    /// drug and generic names are taken from it (whatever `drug_name` says). Free text stays
    /// allowed for drugs the pharmacy does not stock.
    pub drug_id: Option<String>,
    pub drug_name: String,
    pub generic_name: Option<String>,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub duration_days: String,
    pub quantity: String,
    pub instructions: Option<String>,
    /// Why the doctor prescribes despite the warnings (required when there are any).
    pub acknowledgement: Option<String>,
}

impl std::fmt::Debug for PrescriptionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrescriptionRequest")
            .field("encounter_id", &self.encounter_id)
            .finish_non_exhaustive()
    }
}

/// A reason to stop and think before prescribing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrescriptionWarning {
    /// `allergy` or `duplicate`.
    pub kind: String,
    /// What matched. For an allergy, full sentences naming the recorded allergy (substance,
    /// reaction, severity), the drug and how they match ("Recorded allergy: Penicillins —
    /// anaphylaxis (severe). Amoxicillin is a penicillin."); for a duplicate, the active
    /// prescription's drug.
    pub detail: String,
}

/// A prescription's fields, validated (see [`Services::parse_prescription`]).
pub(crate) struct ParsedPrescription {
    pub(crate) details: PrescriptionDetails,
    /// The formulary drug, when one was chosen.
    pub(crate) drug_id: Option<DrugId>,
}

/// A prescription ready to be inserted in the caller's transaction, with its audit event.
pub(crate) struct NewPrescription {
    pub(crate) row: PrescriptionRecord,
    pub(crate) event: carevault_core::audit::AuditEvent,
}

/// Where the acknowledgement of a prescription's warnings stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Acknowledged {
    /// No warning: nothing to acknowledge.
    NotNeeded,
    /// Warnings, and no acknowledgement: nothing may be written.
    Missing,
    /// Warnings, and an acknowledgement that is not a reason (this message says why).
    Invalid(String),
    /// Warnings, acknowledged with this reason.
    Given(String),
}

/// Judges the acknowledgement `raw` of `warnings`: required when there are any, a reason
/// of at least [`MIN_ACKNOWLEDGEMENT_CHARS`] characters.
pub(crate) fn acknowledge(warnings: &[PrescriptionWarning], raw: Option<&str>) -> Acknowledged {
    if warnings.is_empty() {
        return Acknowledged::NotNeeded;
    }
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Acknowledged::Missing,
        Some(text) if text.chars().count() < MIN_ACKNOWLEDGEMENT_CHARS => Acknowledged::Invalid(
            format!("must say why, in at least {MIN_ACKNOWLEDGEMENT_CHARS} characters"),
        ),
        Some(text) => match ClinicalText::parse(text) {
            Ok(text) => Acknowledged::Given(text.as_str().to_owned()),
            Err(message) => Acknowledged::Invalid(message),
        },
    }
}

/// The audit reason of a prescription written despite warnings: the kinds overridden
/// (`warning overridden: allergy, duplicate`), never the prescriber's words, which may hold
/// personal data. `None` without warnings.
fn override_category(warnings: &[PrescriptionWarning]) -> Option<String> {
    let mut kinds: Vec<&str> = Vec::new();
    for warning in warnings {
        if !kinds.contains(&warning.kind.as_str()) {
            kinds.push(warning.kind.as_str());
        }
    }
    (!kinds.is_empty()).then(|| format!("warning overridden: {}", kinds.join(", ")))
}

/// What prescribing did.
#[derive(Debug, Clone)]
pub enum Prescribed {
    Written(Box<PrescriptionView>),
    /// Nothing was written: these warnings need an acknowledgement with a reason.
    NeedsAcknowledgement(Vec<PrescriptionWarning>),
}
impl Services {
    /// Prescribes from an encounter. With warnings (a recorded allergy matching the drug, an
    /// active prescription of the same drug) and no acknowledgement, nothing is written and
    /// the warnings come back; with an acknowledgement (10+ characters) it is written, and
    /// its audit event names the kinds of warning overridden (never the stated reason).
    pub async fn prescribe(
        &self,
        actor: &Actor,
        request: PrescriptionRequest,
    ) -> Result<Prescribed, ServiceError> {
        if !actor.may(Action::Prescribe) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Prescription,
                    None,
                    "prescriptions are written by doctors in the care team",
                )
                .await);
        }
        let encounter = match requested_id(request.encounter_id.trim()) {
            Some(id) => encounter_store::find_encounter(self.store().conn(), id).await?,
            None => None,
        }
        .ok_or_else(|| ValidationErrors::single("encounter_id", "is not a known encounter"))?;
        let (patient_id, encounter_id) = (encounter.patient_id, encounter.id);
        let (patient, view) = self.prescription_access(actor, patient_id).await?;
        let prescriber = match actor.user_id() {
            Some(user) if view == PatientView::Full && actor.may(Action::Prescribe) => user,
            _ => {
                return Err(self
                    .deny(
                        actor,
                        ResourceType::Prescription,
                        Some(patient.id.to_string()),
                        "prescriptions are written by doctors in the care team",
                    )
                    .await);
            }
        };
        let parsed = self.parse_prescription(&request).await?;
        let dek = self.patient_key(&patient).await?;
        let warnings = self
            .prescription_warnings(actor, &patient, &dek, &parsed)
            .await?;
        let acknowledgement = match acknowledge(&warnings, request.acknowledgement.as_deref()) {
            Acknowledged::Missing => return Ok(Prescribed::NeedsAcknowledgement(warnings)),
            Acknowledged::Invalid(message) => {
                return Err(ValidationErrors::single("acknowledgement", message).into());
            }
            Acknowledged::NotNeeded => None,
            Acknowledged::Given(text) => Some(text),
        };
        let written = self.new_prescription(
            actor,
            &patient,
            &dek,
            encounter_id,
            prescriber,
            parsed,
            warnings,
            acknowledgement,
        )?;
        self.transaction(async |txn| {
            store::insert(txn, &written.row).await?;
            self.append_in(txn, written.event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(Prescribed::Written(Box::new(
            self.present_prescription(actor, &written.row, &patient, view, &dek)
                .await?,
        )))
    }

    /// Validates a prescription's fields (and its formulary drug, which must be active). The
    /// messages name the request's fields (`drug_name`, `quantity`).
    pub(crate) async fn parse_prescription(
        &self,
        request: &PrescriptionRequest,
    ) -> Result<ParsedPrescription, ServiceError> {
        let formulary_drug = match request.drug_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => Some(
                self.find_drug(id)
                    .await?
                    .filter(|drug| drug.active)
                    .ok_or_else(|| {
                        ValidationErrors::single(
                            "drug_id",
                            "is not an active drug in the formulary",
                        )
                    })?,
            ),
        };
        let (drug_name, generic_name) = match &formulary_drug {
            Some(drug) => (drug.name.clone(), Some(drug.generic_name.clone())),
            None => (request.drug_name.clone(), request.generic_name.clone()),
        };
        let details = PrescriptionDetails::parse(&PrescriptionInput {
            drug_name: &drug_name,
            generic_name: generic_name.as_deref(),
            dose: &request.dose,
            route: &request.route,
            frequency: &request.frequency,
            duration_days: &request.duration_days,
            quantity: &request.quantity,
            instructions: request.instructions.as_deref(),
        })?;
        Ok(ParsedPrescription {
            details,
            drug_id: formulary_drug.map(|drug| drug.id),
        })
    }

    /// The reasons to stop and think before writing `parsed` for `patient`: a recorded
    /// allergy matching the drug, an active prescription of the same drug.
    pub(crate) async fn prescription_warnings(
        &self,
        actor: &Actor,
        patient: &PatientRow,
        dek: &DataKey,
        parsed: &ParsedPrescription,
    ) -> Result<Vec<PrescriptionWarning>, ServiceError> {
        let details = &parsed.details;
        let patient_id: PatientId = patient.id;
        // The allergy list: active entries only (inactive and entered-in-error entries never
        // warn); coded entries match through their drug class, free text through the word
        // and class safety net.
        let allergies = match self.allergies_of(patient, dek).await {
            Ok(list) => list,
            Err(ServiceError::Integrity) => {
                return Err(self
                    .chart_list_integrity_failure(actor, ResourceType::Allergy, patient)
                    .await);
            }
            Err(other) => return Err(other),
        };
        let mut warnings: Vec<PrescriptionWarning> = crate::allergies::allergy_warnings(
            &allergies,
            details.drug_name().as_str(),
            details.generic_name().map(|g| g.as_str()),
        )
        .into_iter()
        .map(|detail| PrescriptionWarning {
            kind: "allergy".into(),
            detail,
        })
        .collect();
        for active in store::of_patient(
            self.store().conn(),
            patient_id,
            Some(PrescriptionStatus::Active),
            LIST_LIMIT,
        )
        .await?
        {
            let body = open_body(&active, dek)?;
            if duplicate_active(details.drug_name().as_str(), &[body.drug_name.as_str()]) {
                warnings.push(PrescriptionWarning {
                    kind: "duplicate".into(),
                    detail: body.drug_name,
                });
            }
        }
        Ok(warnings)
    }

    /// A new prescription's row, sealed, and its audit event (which names the kinds of
    /// warning overridden, never the stated reason). Nothing is written.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_prescription(
        &self,
        actor: &Actor,
        patient: &PatientRow,
        dek: &DataKey,
        encounter_id: EncounterId,
        prescriber: UserId,
        parsed: ParsedPrescription,
        warnings: Vec<PrescriptionWarning>,
        acknowledgement: Option<String>,
    ) -> Result<NewPrescription, ServiceError> {
        let details = parsed.details;
        let id = PrescriptionId::generate();
        let body = Body {
            drug_name: details.drug_name().as_str().to_owned(),
            generic_name: details.generic_name().map(|g| g.as_str().to_owned()),
            dose: details.dose().as_str().to_owned(),
            route: details.route().as_str().to_owned(),
            frequency: details.frequency().as_str().to_owned(),
            duration_days: details.duration_days(),
            quantity: details.quantity(),
            instructions: details.instructions().map(|i| i.as_str().to_owned()),
            acknowledgement: (!warnings.is_empty()).then(|| acknowledgement.unwrap_or_default()),
            warnings,
        };
        let json = serde_json::to_string(&body).map_err(ServiceError::internal)?;
        let now = self.stored_now();
        let row = PrescriptionRecord {
            id,
            patient_id: patient.id,
            encounter_id,
            prescriber_id: prescriber,
            status: PrescriptionStatus::Active,
            body: place(&id.to_string(), &patient.id.to_string())
                .seal(dek, "body", Some(&json))?
                .unwrap_or_default(),
            status_reason: None,
            quantity_dispensed: 0,
            drug_id: parsed.drug_id,
            created_at: now,
            updated_at: now,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Prescription)
            .resource_id(id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = override_category(&body.warnings);
        Ok(NewPrescription { row, event })
    }

    /// The active formulary drugs a doctor may choose from when prescribing (doctors only;
    /// the formulary holds no patient data).
    pub async fn formulary_for_prescribing(
        &self,
        actor: &Actor,
    ) -> Result<Vec<crate::pharmacy::DrugView>, ServiceError> {
        if !actor.may(Action::Prescribe) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Drug,
                    None,
                    "prescriptions are written by doctors in the care team",
                )
                .await);
        }
        Ok(
            carevault_store::pharmacy::list_drugs(self.store().conn(), false)
                .await?
                .iter()
                .map(crate::pharmacy::drug_view)
                .collect(),
        )
    }
}
