//! Prescriptions: a doctor in the care team prescribes from an encounter; the patient's
//! allergy list (its active entries, `allergies.rs`) and active prescriptions are checked
//! first, and any warning must
//! be acknowledged with a reason before the prescription is written (its audit event names
//! the kinds of warning overridden; the reason itself stays sealed in the prescription and
//! is shown to the care team and the pharmacy). The checks are also run by
//! `Services::save_encounter`, which writes a prescription with the encounter's draft.
//! Pharmacists read prescriptions (not encounters); the patient reads
//! their own; reception and auditors do not.
//!
//! The drug is chosen from the formulary (`prescriptions.drug_id`; the drug and generic names
//! are then taken from it, and dispensing accepts only that drug) or, for a drug the pharmacy
//! does not stock, typed as free text with an optional generic name, matched to a formulary
//! drug when it is dispensed. The dispensing queue (`dispensing_queue`) lists active
//! prescriptions with units left, oldest first, with what the pharmacist needs: the patient as
//! the dispensing view shows them (name, date of birth, MRN, allergies), the prescriber, and
//! the acknowledged warnings with the prescriber's reason; one `listed` event per prescription.

use crate::audit_trail::pseudonym_of;
use carevault_core::Action;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::{
    PrescriptionDetails, PrescriptionInput, PrescriptionStatus, duplicate_active,
};
use carevault_core::masking::{PatientField, PatientView, Visibility, visibility};
use carevault_core::patient::ClinicalText;
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{PatientId, UserId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::encounters as encounter_store;
use carevault_store::patients::PatientRow;
use carevault_store::prescriptions::{self as store, PrescriptionRow};
use carevault_store::users;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::allergies::AllergyList;
use crate::error::ServiceError;
use crate::sealing::Place;

const TABLE: &str = "prescriptions";
const LIST_LIMIT: u64 = 500;
const MIN_ACKNOWLEDGEMENT_CHARS: usize = 10;

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
    pub(crate) drug_id: Option<String>,
}

/// A prescription ready to be inserted in the caller's transaction, with its audit event.
pub(crate) struct NewPrescription {
    pub(crate) row: PrescriptionRow,
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

/// A prescription as shown.
#[derive(Clone, PartialEq, Eq)]
pub struct PrescriptionView {
    pub id: String,
    pub patient_id: PatientId,
    pub patient_label: String,
    pub encounter_id: String,
    pub prescriber_id: UserId,
    pub prescriber_name: String,
    pub status: PrescriptionStatus,
    /// The formulary drug prescribed, if it was chosen from the formulary.
    pub drug_id: Option<String>,
    pub drug_name: String,
    pub generic_name: Option<String>,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub duration_days: u32,
    pub quantity: u32,
    pub quantity_dispensed: u32,
    pub instructions: Option<String>,
    /// The warnings overridden when it was written (the care team, administrators and the
    /// pharmacy; empty for others and when there were none).
    pub warnings: Vec<PrescriptionWarning>,
    /// The prescriber's reason for overriding them (the same readers).
    pub acknowledgement: Option<String>,
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether this actor may cancel or complete it.
    pub may_change: bool,
}

impl std::fmt::Debug for PrescriptionView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrescriptionView")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

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
    pub row: PrescriptionRow,
    pub patient: PatientRow,
    pub drug_name: String,
    pub generic_name: Option<String>,
    /// The prescribed quantity.
    pub quantity: u32,
}

/// The sealed body.
#[derive(Serialize, Deserialize)]
struct Body {
    drug_name: String,
    generic_name: Option<String>,
    dose: String,
    route: String,
    frequency: String,
    duration_days: u32,
    quantity: u32,
    instructions: Option<String>,
    warnings: Vec<PrescriptionWarning>,
    acknowledgement: Option<String>,
}

fn place<'a>(row_id: &'a str, patient_id: &'a str) -> Place<'a> {
    Place {
        table: TABLE,
        row_id,
        patient_id,
    }
}

impl Services {
    /// The patient, if `actor` may read their prescriptions (the full view, the patient's
    /// own, or a pharmacist's dispensing view); otherwise the refusal, recorded.
    async fn prescription_access(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<(PatientRow, PatientView), ServiceError> {
        let (row, _, view) = self.load_for(actor, patient).await?;
        match view {
            PatientView::Full | PatientView::Own | PatientView::Dispensing => Ok((row, view)),
            _ => Err(self
                .deny(
                    actor,
                    ResourceType::Prescription,
                    Some(patient.to_string()),
                    "prescriptions are for the care team, pharmacy and the patient",
                )
                .await),
        }
    }

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
        let encounter =
            encounter_store::find_encounter(self.store().conn(), request.encounter_id.trim())
                .await?
                .ok_or_else(|| {
                    ValidationErrors::single("encounter_id", "is not a known encounter")
                })?;
        let patient_id: PatientId = encounter
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        let (patient, view) = self.prescription_access(actor, patient_id).await?;
        let prescriber = match actor.user_id() {
            Some(user) if view == PatientView::Full && actor.may(Action::Prescribe) => user,
            _ => {
                return Err(self
                    .deny(
                        actor,
                        ResourceType::Prescription,
                        Some(patient.id.clone()),
                        "prescriptions are written by doctors in the care team",
                    )
                    .await);
            }
        };
        let parsed = self.parse_prescription(&request).await?;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
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
            &encounter.id,
            prescriber,
            parsed,
            warnings,
            acknowledgement,
        )?;
        self.transaction(async |txn| {
            store::insert(txn, written.row.clone()).await?;
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
                carevault_store::pharmacy::find_drug(self.store().conn(), id)
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
        let patient_id: PatientId = patient.id.parse().map_err(|_| ServiceError::Integrity)?;
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
            Some(PrescriptionStatus::Active.as_str()),
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
        encounter_id: &str,
        prescriber: UserId,
        parsed: ParsedPrescription,
        warnings: Vec<PrescriptionWarning>,
        acknowledgement: Option<String>,
    ) -> Result<NewPrescription, ServiceError> {
        let details = parsed.details;
        let id = Uuid::now_v7().to_string();
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
        let now = to_micros(self.now());
        let row = PrescriptionRow {
            id: id.clone(),
            patient_id: patient.id.clone(),
            encounter_id: encounter_id.to_owned(),
            prescriber_id: prescriber.to_string(),
            status: PrescriptionStatus::Active.as_str().to_owned(),
            body: place(&id, &patient.id)
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
            .resource_id(&id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = override_category(&body.warnings);
        Ok(NewPrescription { row, event })
    }

    /// A prescription as the pharmacy dispenses against it: the row, the prescribed drug
    /// (name and generic name), the prescribed quantity and the patient. Refused (recorded)
    /// unless `actor` may read the patient's prescriptions.
    pub(crate) async fn prescription_for_dispensing(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<DispensingTarget, ServiceError> {
        let row = store::find(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("prescription"))?;
        let patient_id: PatientId = row
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        let (patient, _) = self.prescription_access(actor, patient_id).await?;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let body = open_body(&row, &dek)?;
        Ok(DispensingTarget {
            row,
            patient,
            drug_name: body.drug_name,
            generic_name: body.generic_name,
            quantity: body.quantity,
        })
    }

    /// The patient's prescriptions, newest first, as the actor may see them. Audited.
    pub async fn list_prescriptions(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<Vec<PrescriptionView>, ServiceError> {
        let (patient, view) = self.prescription_access(actor, patient_id).await?;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let mut out = Vec::new();
        for row in store::of_patient(self.store().conn(), patient_id, None, LIST_LIMIT).await? {
            out.push(
                self.present_prescription(actor, &row, &patient, view, &dek)
                    .await?,
            );
        }
        let mut event = self
            .audit_event(actor, AuditAction::Listed, ResourceType::Prescription)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{} prescriptions", out.len()));
        self.record(event).await?;
        Ok(out)
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
        let rows = store::active(
            self.store().conn(),
            PrescriptionStatus::Active.as_str(),
            LIST_LIMIT,
        )
        .await?;
        let mut patients: std::collections::HashMap<
            String,
            (PatientRow, PatientView, DataKey, DispensingPatient),
        > = std::collections::HashMap::new();
        let mut out = Vec::new();
        let mut events = Vec::new();
        for row in rows {
            if !patients.contains_key(&row.patient_id) {
                let patient_id: PatientId = row
                    .patient_id
                    .parse()
                    .map_err(|_| ServiceError::Integrity)?;
                let (patient, view) = match self.prescription_access(actor, patient_id).await {
                    Ok(found) => found,
                    // An erased patient's prescriptions are not dispensed.
                    Err(ServiceError::NotFound(_)) => continue,
                    Err(err) => return Err(err),
                };
                let dek = self
                    .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
                    .await?;
                let shown = self.dispensing_patient(actor, &patient, view, &dek).await?;
                patients.insert(row.patient_id.clone(), (patient, view, dek, shown));
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
                .resource_id(&row.id)
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

    /// One prescription (for its page and the printable copy). Audited.
    pub async fn get_prescription(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<PrescriptionView, ServiceError> {
        let row = store::find(self.store().conn(), id).await?;
        let Some(row) = row else {
            let id = Some(id.to_owned());
            return Err(self
                .missing(actor, ResourceType::Prescription, id, "prescription")
                .await);
        };
        let patient_id: PatientId = row
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        let (patient, view) = self.prescription_access(actor, patient_id).await?;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let shown = self
            .present_prescription(actor, &row, &patient, view, &dek)
            .await?;
        self.record(
            self.audit_event(actor, AuditAction::Read, ResourceType::Prescription)
                .resource_id(&row.id)
                .patient(pseudonym_of(patient.pseudonym_number)),
        )
        .await?;
        Ok(shown)
    }

    /// Completes or cancels an active prescription (a doctor in the care team); cancelling
    /// needs a reason.
    pub async fn change_prescription_status(
        &self,
        actor: &Actor,
        id: &str,
        to_raw: &str,
        reason: Option<&str>,
    ) -> Result<PrescriptionView, ServiceError> {
        if !actor.may(Action::Prescribe) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Prescription,
                    Some(id.to_owned()),
                    "prescriptions are changed by doctors in the care team",
                )
                .await);
        }
        let to =
            PrescriptionStatus::parse(to_raw).map_err(|m| ValidationErrors::single("status", m))?;
        let row = store::find(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("prescription"))?;
        let patient_id: PatientId = row
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        let (patient, view) = self.prescription_access(actor, patient_id).await?;
        if !(view == PatientView::Full && actor.may(Action::Prescribe)) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Prescription,
                    Some(row.id.clone()),
                    "prescriptions are changed by doctors in the care team",
                )
                .await);
        }
        let from = PrescriptionStatus::parse(&row.status).map_err(|_| ServiceError::Integrity)?;
        from.transition_to(to).map_err(|e| ServiceError::Conflict {
            field: Some("status"),
            message: e.to_string(),
        })?;
        let reason = match (to, reason.map(str::trim).filter(|s| !s.is_empty())) {
            (PrescriptionStatus::Cancelled, None) => {
                return Err(ValidationErrors::single("reason", "is required to cancel").into());
            }
            (_, Some(text)) => Some(
                ClinicalText::parse(text)
                    .map_err(|m| ValidationErrors::single("reason", m))?
                    .as_str()
                    .to_owned(),
            ),
            (_, None) => None,
        };
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let sealed =
            place(&row.id, &row.patient_id).seal(&dek, "status_reason", reason.as_deref())?;
        let mut event = self
            .audit_event(
                actor,
                AuditAction::StatusChanged,
                ResourceType::Prescription,
            )
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{from} → {to}"));
        self.transaction(async |txn| {
            if !store::set_status(
                txn,
                &row.id,
                from.as_str(),
                to.as_str(),
                sealed.clone(),
                to_micros(self.now()).max(row.updated_at + 1),
            )
            .await?
            {
                return Err(ServiceError::Conflict {
                    field: Some("status"),
                    message: "the prescription was changed meanwhile: reload it".into(),
                });
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.get_prescription(actor, id).await
    }

    pub(crate) async fn present_prescription(
        &self,
        actor: &Actor,
        row: &PrescriptionRow,
        patient: &PatientRow,
        view: PatientView,
        dek: &DataKey,
    ) -> Result<PrescriptionView, ServiceError> {
        let body = open_body(row, dek)?;
        let prescriber: UserId = row
            .prescriber_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        let prescriber_name = users::find_by_id(self.store().conn(), prescriber)
            .await?
            .map(|u| u.display_name.as_str().to_owned())
            .unwrap_or_default();
        let label = if view.shows_identity() {
            let (given, family) = crate::patients::open_names(patient, dek)?;
            format!("{given} {family}")
        } else {
            pseudonym_of(patient.pseudonym_number)
        };
        let clinical = view == PatientView::Full;
        // The pharmacist dispensing it must see what was overridden, and why.
        let sees_override = matches!(view, PatientView::Full | PatientView::Dispensing);
        Ok(PrescriptionView {
            id: row.id.clone(),
            patient_id: patient.id.parse().map_err(|_| ServiceError::Integrity)?,
            patient_label: label,
            encounter_id: row.encounter_id.clone(),
            prescriber_id: prescriber,
            prescriber_name,
            status: PrescriptionStatus::parse(&row.status).map_err(|_| ServiceError::Integrity)?,
            drug_id: row.drug_id.clone(),
            drug_name: body.drug_name,
            generic_name: body.generic_name,
            dose: body.dose,
            route: body.route,
            frequency: body.frequency,
            duration_days: body.duration_days,
            quantity: body.quantity,
            quantity_dispensed: u32::try_from(row.quantity_dispensed).unwrap_or(0),
            instructions: body.instructions,
            warnings: if sees_override {
                body.warnings
            } else {
                Vec::new()
            },
            acknowledgement: body.acknowledgement.filter(|_| sees_override),
            status_reason: place(&row.id, &row.patient_id).open(
                dek,
                "status_reason",
                row.status_reason.as_deref(),
            )?,
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
            may_change: clinical
                && actor.may(Action::Prescribe)
                && row.status == PrescriptionStatus::Active.as_str(),
        })
    }
}

fn open_body(row: &PrescriptionRow, dek: &DataKey) -> Result<Body, ServiceError> {
    let json = place(&row.id, &row.patient_id)
        .open(dek, "body", Some(&row.body))?
        .ok_or(ServiceError::Integrity)?;
    serde_json::from_str(&json).map_err(|_| ServiceError::Integrity)
}
