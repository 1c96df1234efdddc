//! Allergies: the per-patient list of structured, sealed allergy entries and the "no known
//! allergies" statement; the list the prescribing check reads, the banner shows and
//! `PatientDetails::allergies` renders.
//!
//! Rules (the pure parts are in `carevault_core::allergy`):
//!
//! - **Who.** Whoever gets the full or own view reads the list (administrators, the care
//!   team, the patient); doctors and nurses in the patient's care record allergies and "no
//!   known allergies" and change an entry's status. Administrators do not write clinical
//!   data; reception, pharmacists and auditors are refused (recorded). The decision is
//!   `chart_list_allowed`, asked once per use case (`chart_lists.rs`).
//! - **What is in force.** Active allergy entries, if any; otherwise an active "no known
//!   allergies" statement; otherwise nothing is recorded. A coded substance is active at
//!   most once (a second entry is refused, 409: change the first). "No known allergies" is refused
//!   while an allergy is active, and recording (or reactivating) an allergy makes an active
//!   statement inactive, in the same transaction. Recording the statement again replaces the
//!   previous one (asked again today). Every change locks the patient row first, so two
//!   changes to one patient's list run one after the other on every backend.
//! - **Statuses.** `active ↔ inactive`, either → `entered_in_error` (final), with an optional
//!   reason (sealed).
//! - **Sealed.** What an entry says (substance, code, flag, reaction, severity) is one JSON
//!   body sealed under the patient's data key; the status reason is sealed too.
//! - **The old free-text field.** `patients.allergies` (sealed, so SQL cannot read it) is
//!   moved into the list once, at start-up ([`Services::move_legacy_allergies`]), a patient
//!   at a time, each in one transaction, without losing a word
//!   (`carevault_core::allergy::transcribed_substances`); registration's `allergies` input
//!   (administrators transcribing paper records) becomes entries the same way.

use std::collections::HashMap;

use crate::audit_trail::pseudonym_of;
use carevault_core::PatientId;
use carevault_core::allergy::{
    AllergyFields, AllergyInput, AllergySeverity, AllergyStatus, ChartListAction, RecordedAllergy,
    Substance, SubstanceKind, SubstanceText, coded_substance, drug_link, states_no_known_allergies,
    transcribed_substances, warning_sentence,
};
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::masking::{PatientField, PatientView, Visibility, visibility};
use carevault_core::patient::ClinicalText;
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{UserId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::Conn;
use carevault_store::allergies::{
    self as store, AllergyRow, KIND_ALLERGY, KIND_NO_KNOWN_ALLERGIES,
};
use carevault_store::patients::{self as patient_store, PatientRow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::sealing::Place;
use crate::tx::Abort;

const TABLE: &str = "patient_allergies";
/// How the statement reads.
pub const NO_KNOWN_ALLERGIES: &str = "No known allergies";
/// Longest reason for a status change, in characters.
pub const REASON_MAX: usize = 500;
/// Who "recorded" an entry moved from the old free-text field (or typed in by no account).
pub const TRANSCRIBED_BY: &str = "transcribed from an earlier record";

/// One allergy entry (or "no known allergies" statement), opened.
#[derive(Clone, PartialEq, Eq)]
pub struct AllergyView {
    pub id: String,
    /// The substance as shown: the coded substance's label, or the free text ("No known
    /// allergies" for the statement).
    pub substance: String,
    /// The coded substance's code; `None` for free text.
    pub code: Option<String>,
    /// Free text rather than a coded substance (always deliberate, shown as such).
    pub free_text: bool,
    pub reaction: Option<String>,
    pub severity: AllergySeverity,
    pub status: AllergyStatus,
    /// Display name of whoever recorded it ([`TRANSCRIBED_BY`] for an entry moved from the
    /// old free-text field).
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub patient_id: PatientId,
    /// The coded substance's kind (drug class, drug, food, environmental).
    pub kind: Option<SubstanceKind>,
    /// The "no known allergies" statement rather than an allergy.
    pub no_known_allergies: bool,
    /// Moved from the old free-text field (or typed in from paper at registration); for a
    /// statement, the words it was moved from are in `substance`.
    pub transcribed: bool,
    /// For a transcribed "no known allergies" statement: the words it was recorded as.
    pub recorded_as: Option<String>,
    /// Why the status last changed, if a reason was given.
    pub status_reason: Option<String>,
    /// Who last changed the status (`None`: never changed).
    pub updated_by: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for AllergyView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllergyView")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("no_known_allergies", &self.no_known_allergies)
            .finish_non_exhaustive()
    }
}

impl AllergyView {
    /// The entry in one line: "Penicillins — anaphylaxis (severe)"; the severity is left out
    /// when unknown.
    pub fn summary(&self) -> String {
        let mut out = self.substance.clone();
        if let Some(reaction) = &self.reaction {
            out.push_str(" — ");
            out.push_str(reaction);
        }
        if self.severity != AllergySeverity::Unknown {
            out.push_str(&format!(" ({})", self.severity));
        }
        out
    }

    /// The substance as the prescribing check reads it.
    fn as_substance(&self) -> Option<Substance> {
        match self.code.as_deref().and_then(coded_substance) {
            Some(coded) => Some(Substance::Coded(coded)),
            None => SubstanceText::parse_transcribed(&self.substance)
                .ok()
                .map(Substance::FreeText),
        }
    }
}

/// What is recorded about a patient's allergies now. Its `Debug` output names the variant
/// only.
#[derive(Clone, PartialEq, Eq)]
pub enum AllergyStatement {
    /// Nothing recorded: nobody has asked, or nobody wrote it down.
    NotRecorded,
    /// Asked, and the patient has none known.
    NoKnownAllergies {
        recorded_by: String,
        recorded_at: DateTime<Utc>,
        /// The statement's entry (to mark it entered in error).
        id: String,
        /// The words it was transcribed from ("NKDA"), for a statement moved from the old
        /// free-text field or typed in from paper at registration.
        recorded_as: Option<String>,
    },
    /// The active entries (at least one), oldest first.
    Allergies(Vec<AllergyView>),
}

impl std::fmt::Debug for AllergyStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllergyStatement::NotRecorded => f.write_str("NotRecorded"),
            AllergyStatement::NoKnownAllergies { id, .. } => f
                .debug_struct("NoKnownAllergies")
                .field("id", id)
                .finish_non_exhaustive(),
            AllergyStatement::Allergies(list) => f.debug_tuple("Allergies").field(list).finish(),
        }
    }
}

/// A patient's allergy list: the statement in force and the entries no longer in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllergyList {
    pub patient_id: PatientId,
    pub statement: AllergyStatement,
    /// Inactive and entered-in-error entries and statements, newest change first (the
    /// history).
    pub history: Vec<AllergyView>,
}

impl AllergyList {
    /// The active entries (empty unless [`AllergyStatement::Allergies`]).
    pub fn active(&self) -> &[AllergyView] {
        match &self.statement {
            AllergyStatement::Allergies(list) => list,
            _ => &[],
        }
    }

    /// What is in force, as a word: `allergies`, `no_known_allergies` or `not_recorded`
    /// (for templates and `data-` attributes).
    pub fn statement_code(&self) -> &'static str {
        match &self.statement {
            AllergyStatement::NotRecorded => "not_recorded",
            AllergyStatement::NoKnownAllergies { .. } => "no_known_allergies",
            AllergyStatement::Allergies(_) => "allergies",
        }
    }

    /// The "no known allergies" statement in force: its entry id, who recorded it, when,
    /// and the words it was transcribed from (if it was).
    pub fn no_known_allergies(&self) -> Option<(&str, &str, DateTime<Utc>, Option<&str>)> {
        match &self.statement {
            AllergyStatement::NoKnownAllergies {
                recorded_by,
                recorded_at,
                id,
                recorded_as,
            } => Some((id, recorded_by, *recorded_at, recorded_as.as_deref())),
            _ => None,
        }
    }

    /// The list in one line, as `PatientDetails::allergies` shows it: the active entries
    /// ("Penicillins — anaphylaxis (severe); Latex"), "No known allergies", or `None` when
    /// nothing is recorded.
    pub fn summary(&self) -> Option<String> {
        match &self.statement {
            AllergyStatement::NotRecorded => None,
            AllergyStatement::NoKnownAllergies { .. } => Some(NO_KNOWN_ALLERGIES.to_owned()),
            AllergyStatement::Allergies(list) => Some(
                list.iter()
                    .map(AllergyView::summary)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        }
    }
}

/// A patient's allergy list as a page or the API shows it.
#[derive(Clone)]
pub struct PatientAllergies {
    pub patient_id: PatientId,
    /// The patient's name (or pseudonym, where the view shows no identity).
    pub patient_label: String,
    pub list: AllergyList,
    /// Whether the actor may record allergies and change entries (for the forms).
    pub may_record: bool,
}

impl std::fmt::Debug for PatientAllergies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientAllergies")
            .field("patient_id", &self.patient_id)
            .field("may_record", &self.may_record)
            .finish_non_exhaustive()
    }
}

/// An allergy as submitted, before validation. Its `Debug` output shows no value.
#[derive(Clone, Default)]
pub struct AllergyRequest {
    /// A code of `carevault_core::allergy::CODED_SUBSTANCES`, or (with `free_text`) words.
    pub substance: String,
    pub free_text: bool,
    pub reaction: Option<String>,
    /// Blank: unknown.
    pub severity: String,
    /// Blank: active.
    pub status: String,
}

impl std::fmt::Debug for AllergyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllergyRequest")
            .field("free_text", &self.free_text)
            .finish_non_exhaustive()
    }
}

/// A status change of an entry, before validation.
#[derive(Clone, Default)]
pub struct AllergyStatusRequest {
    /// `active`, `inactive` or `entered_in_error`.
    pub status: String,
    pub reason: Option<String>,
}

impl std::fmt::Debug for AllergyStatusRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllergyStatusRequest")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

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

/// The sealed body of an entry.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Body {
    /// The label or free text; for a statement moved from the old field, that text.
    substance: String,
    code: Option<String>,
    free_text: bool,
    reaction: Option<String>,
    severity: String,
    transcribed: bool,
}

fn place<'a>(row_id: &'a str, patient_id: &'a str) -> Place<'a> {
    Place {
        table: TABLE,
        row_id,
        patient_id,
    }
}

fn seal_body(
    dek: &DataKey,
    id: &str,
    patient_id: &str,
    body: &Body,
) -> Result<Vec<u8>, ServiceError> {
    let json = serde_json::to_string(body).map_err(ServiceError::internal)?;
    place(id, patient_id)
        .seal(dek, "body", Some(&json))?
        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("body not sealed")))
}

fn body_of(input: &AllergyInput, transcribed: bool) -> Body {
    Body {
        substance: input.substance().display().to_owned(),
        code: input.substance().code().map(str::to_owned),
        free_text: input.substance().is_free_text(),
        reaction: input.reaction().map(|r| r.as_str().to_owned()),
        severity: input.severity().as_str().to_owned(),
        transcribed,
    }
}

/// Opens one entry; a body that does not open is [`ServiceError::Integrity`].
fn open_entry(
    row: &AllergyRow,
    dek: &DataKey,
    names: &HashMap<String, String>,
) -> Result<AllergyView, ServiceError> {
    let p = place(&row.id, &row.patient_id);
    let json = p
        .open(dek, "body", Some(&row.body))?
        .ok_or(ServiceError::Integrity)?;
    let body: Body = serde_json::from_str(&json).map_err(|_| ServiceError::Integrity)?;
    let status_reason = p.open(dek, "status_reason", row.status_reason.as_deref())?;
    let statement = row.entry_kind == KIND_NO_KNOWN_ALLERGIES;
    let coded = body.code.as_deref().and_then(coded_substance);
    let name = |id: &Option<String>| {
        id.as_ref()
            .map(|id| names.get(id).cloned().unwrap_or_default())
    };
    Ok(AllergyView {
        id: row.id.clone(),
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
        status: AllergyStatus::parse(&row.status).map_err(|_| ServiceError::Integrity)?,
        recorded_by: name(&row.recorded_by).unwrap_or_else(|| TRANSCRIBED_BY.to_owned()),
        recorded_at: from_micros(row.recorded_at),
        patient_id: row
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?,
        kind: coded.map(|c| c.kind),
        no_known_allergies: statement,
        transcribed: body.transcribed,
        recorded_as: statement
            .then_some(body.substance)
            .filter(|s| !s.is_empty()),
        status_reason,
        updated_by: name(&row.updated_by),
        updated_at: from_micros(row.updated_at),
    })
}

/// The list from every entry of one patient, opened.
fn list_of(patient_id: PatientId, mut entries: Vec<AllergyView>) -> AllergyList {
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

/// The entries a transcribed free-text allergy record becomes, for `patient` (sealed,
/// active): the "no known allergies" statement when that is all it says, otherwise one entry
/// per substance (`carevault_core::allergy::transcribed_substances`). `by`: who typed it in
/// (`None`: moved from the old field). Entries are `at`, `at + 1 µs`, … so they keep the
/// text's order.
pub(crate) fn transcribed_rows(
    text: &str,
    patient_id: &str,
    dek: &DataKey,
    by: Option<UserId>,
    at: i64,
) -> Result<Vec<AllergyRow>, ValidationErrors> {
    let row = |offset: i64, kind: &str, body: &Body| -> Result<AllergyRow, ValidationErrors> {
        let id = Uuid::now_v7().to_string();
        let sealed = seal_body(dek, &id, patient_id, body)
            .map_err(|_| ValidationErrors::single("allergies", "could not be stored"))?;
        Ok(AllergyRow {
            id,
            patient_id: patient_id.to_owned(),
            entry_kind: kind.to_owned(),
            status: AllergyStatus::Active.as_str().to_owned(),
            body: sealed,
            status_reason: None,
            recorded_by: by.map(|u| u.to_string()),
            recorded_at: at + offset,
            updated_by: None,
            updated_at: at + offset,
        })
    };
    if states_no_known_allergies(text) {
        let body = Body {
            substance: text.trim().to_owned(),
            transcribed: true,
            ..Body::default()
        };
        return Ok(vec![row(0, KIND_NO_KNOWN_ALLERGIES, &body)?]);
    }
    let substances = transcribed_substances(text)
        .map_err(|message| ValidationErrors::single("allergies", message))?;
    substances
        .into_iter()
        .enumerate()
        .map(|(i, substance)| {
            let body = body_of(&AllergyInput::transcribed(substance), true);
            row(i64::try_from(i).unwrap_or(0), KIND_ALLERGY, &body)
        })
        .collect()
}

/// A status change's reason, checked.
fn parse_reason(raw: Option<&str>) -> Result<Option<String>, ValidationErrors> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(text) if text.chars().count() > REASON_MAX => Err(ValidationErrors::single(
            "reason",
            format!("must be at most {REASON_MAX} characters"),
        )),
        Some(text) => ClinicalText::parse(text)
            .map(|t| Some(t.as_str().to_owned()))
            .map_err(|m| ValidationErrors::single("reason", m)),
    }
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
        let entries = store::of_patient(self.store().conn(), &patient.id)
            .await?
            .iter()
            .map(|row| open_entry(row, dek, &names))
            .collect::<Result<Vec<_>, _>>()?;
        let patient_id = patient.id.parse().map_err(|_| ServiceError::Integrity)?;
        Ok(list_of(patient_id, entries))
    }

    /// `PatientDetails::allergies` for each of `patients` whose view shows allergies (the
    /// list in one line, see [`AllergyList::summary`]), by patient id, read in one query.
    /// Not audited here: the patient records are read by the calling use case.
    pub(crate) async fn allergy_summaries(
        &self,
        patients: &[(&PatientRow, PatientView)],
    ) -> Result<HashMap<String, Option<String>>, ServiceError> {
        let shown: Vec<&PatientRow> = patients
            .iter()
            .filter(|(_, view)| visibility(*view, PatientField::Allergies) != Visibility::Hidden)
            .map(|(row, _)| *row)
            .collect();
        let ids: Vec<String> = shown.iter().map(|row| row.id.clone()).collect();
        let rows =
            store::of_patients(self.store().conn(), &ids, AllergyStatus::Active.as_str()).await?;
        let mut by_patient: HashMap<&str, Vec<&AllergyRow>> = HashMap::new();
        for row in &rows {
            by_patient
                .entry(row.patient_id.as_str())
                .or_default()
                .push(row);
        }
        let names = HashMap::new();
        let mut out = HashMap::new();
        for patient in shown {
            let entries = match by_patient.get(patient.id.as_str()) {
                None => Vec::new(),
                Some(rows) => {
                    let dek = self
                        .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
                        .await?;
                    rows.iter()
                        .map(|row| open_entry(row, &dek, &names))
                        .collect::<Result<Vec<_>, _>>()?
                }
            };
            let patient_id = patient.id.parse().map_err(|_| ServiceError::Integrity)?;
            out.insert(patient.id.clone(), list_of(patient_id, entries).summary());
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
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
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

    /// Makes the patient's active "no known allergies" statements inactive (an allergy is
    /// recorded or reactivated); how many there were.
    async fn retire_statements(
        &self,
        conn: &impl Conn,
        patient: &PatientRow,
        dek: &DataKey,
        by: UserId,
        at: i64,
    ) -> Result<usize, ServiceError> {
        let mut retired = 0;
        for row in store::of_patient(conn, &patient.id).await? {
            if row.entry_kind != KIND_NO_KNOWN_ALLERGIES
                || row.status != AllergyStatus::Active.as_str()
            {
                continue;
            }
            let reason = place(&row.id, &row.patient_id).seal(
                dek,
                "status_reason",
                Some("superseded: an allergy was recorded"),
            )?;
            if store::set_status(
                conn,
                &row.id,
                AllergyStatus::Active.as_str(),
                AllergyStatus::Inactive.as_str(),
                reason,
                Some(&by.to_string()),
                at.max(row.updated_at + 1),
            )
            .await?
            {
                retired += 1;
            }
        }
        Ok(retired)
    }

    /// Whether the patient has an active allergy entry with this coded substance (inside
    /// the caller's transaction).
    async fn active_code(
        &self,
        conn: &impl Conn,
        patient: &PatientRow,
        dek: &DataKey,
        code: &str,
    ) -> Result<bool, ServiceError> {
        for row in store::of_patient(conn, &patient.id).await? {
            if row.entry_kind != KIND_ALLERGY || row.status != AllergyStatus::Active.as_str() {
                continue;
            }
            let json = place(&row.id, &row.patient_id)
                .open(dek, "body", Some(&row.body))?
                .ok_or(ServiceError::Integrity)?;
            let body: Body = serde_json::from_str(&json).map_err(|_| ServiceError::Integrity)?;
            if body.code.as_deref() == Some(code) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the patient has an active allergy entry (inside the caller's transaction).
    async fn has_active_allergy(
        &self,
        conn: &impl Conn,
        patient: &PatientRow,
    ) -> Result<bool, ServiceError> {
        Ok(store::of_patient(conn, &patient.id)
            .await?
            .iter()
            .any(|row| {
                row.entry_kind == KIND_ALLERGY && row.status == AllergyStatus::Active.as_str()
            }))
    }

    /// Records an allergy (doctors and nurses in the patient's care). An active "no known
    /// allergies" statement becomes inactive in the same transaction; a coded substance that
    /// is already active is refused (409). One `create` event.
    pub async fn record_allergy(
        &self,
        actor: &Actor,
        patient_id: PatientId,
        request: AllergyRequest,
    ) -> Result<AllergyView, ServiceError> {
        let access = self
            .chart_list_access(
                actor,
                patient_id,
                ChartListAction::WriteAllergies,
                ResourceType::Allergy,
            )
            .await?;
        let by = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let input = AllergyInput::parse(&AllergyFields {
            substance: &request.substance,
            free_text: request.free_text,
            reaction: request.reaction.as_deref(),
            severity: &request.severity,
            status: &request.status,
        })?;
        let patient = &access.patient;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let id = Uuid::now_v7().to_string();
        let now = to_micros(self.now());
        let row = AllergyRow {
            id: id.clone(),
            patient_id: patient.id.clone(),
            entry_kind: KIND_ALLERGY.to_owned(),
            status: input.status().as_str().to_owned(),
            body: seal_body(&dek, &id, &patient.id, &body_of(&input, false))?,
            status_reason: None,
            recorded_by: Some(by.to_string()),
            recorded_at: now,
            updated_by: None,
            updated_at: now,
        };
        let event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Allergy)
            .resource_id(&id)
            .patient(pseudonym_of(patient.pseudonym_number));
        self.transaction(async |txn| {
            let mut event = event.clone();
            patient_store::lock_row(txn, &patient.id).await?;
            if input.status() == AllergyStatus::Active
                && let Some(code) = input.substance().code()
                && self.active_code(txn, patient, &dek, code).await?
            {
                return Err(ServiceError::Conflict {
                    field: Some("substance"),
                    message: "this substance is already recorded as an active allergy: change that entry instead".into(),
                });
            }
            if input.status() == AllergyStatus::Active
                && self.retire_statements(txn, patient, &dek, by, now).await? > 0
            {
                event.reason = Some("allergy recorded; \"no known allergies\" made inactive".into());
            }
            store::insert(txn, row.clone()).await?;
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        tracing::info!(patient_id = %patient.id, entry_id = %id, "allergy recorded");
        open_entry(&row, &dek, &self.account_names().await?)
    }

    /// Records "no known allergies" (doctors and nurses in the patient's care): refused
    /// (409) while an allergy is active; a previous statement is replaced. One `create`
    /// event.
    pub async fn record_no_known_allergies(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<AllergyView, ServiceError> {
        let access = self
            .chart_list_access(
                actor,
                patient_id,
                ChartListAction::WriteAllergies,
                ResourceType::Allergy,
            )
            .await?;
        let by = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let patient = &access.patient;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let id = Uuid::now_v7().to_string();
        let now = to_micros(self.now());
        let row = AllergyRow {
            id: id.clone(),
            patient_id: patient.id.clone(),
            entry_kind: KIND_NO_KNOWN_ALLERGIES.to_owned(),
            status: AllergyStatus::Active.as_str().to_owned(),
            body: seal_body(&dek, &id, &patient.id, &Body::default())?,
            status_reason: None,
            recorded_by: Some(by.to_string()),
            recorded_at: now,
            updated_by: None,
            updated_at: now,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Allergy)
            .resource_id(&id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("no known allergies".into());
        self.transaction(async |txn| {
            patient_store::lock_row(txn, &patient.id).await?;
            if self.has_active_allergy(txn, patient).await? {
                return Err(ServiceError::Conflict {
                    field: None,
                    message: "allergies are recorded as active: mark them inactive or entered in error before recording \"no known allergies\"".into(),
                });
            }
            for old in store::of_patient(txn, &patient.id).await? {
                if old.entry_kind == KIND_NO_KNOWN_ALLERGIES
                    && old.status == AllergyStatus::Active.as_str()
                {
                    let reason = place(&old.id, &old.patient_id).seal(
                        &dek,
                        "status_reason",
                        Some("superseded: recorded again"),
                    )?;
                    store::set_status(
                        txn,
                        &old.id,
                        AllergyStatus::Active.as_str(),
                        AllergyStatus::Inactive.as_str(),
                        reason,
                        Some(&by.to_string()),
                        now.max(old.updated_at + 1),
                    )
                    .await?;
                }
            }
            store::insert(txn, row.clone()).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        open_entry(&row, &dek, &self.account_names().await?)
    }

    /// Changes an entry's status (doctors and nurses in the patient's care), with an
    /// optional reason: `active ↔ inactive`, either → `entered_in_error` (final).
    /// Reactivating an allergy makes an active "no known allergies" inactive; reactivating
    /// the statement is refused while an allergy is active. With `patient`, an entry of
    /// another patient is not found. One `status_changed` event.
    pub async fn change_allergy_status(
        &self,
        actor: &Actor,
        patient: Option<PatientId>,
        entry_id: &str,
        request: AllergyStatusRequest,
    ) -> Result<AllergyView, ServiceError> {
        let row = store::find(self.store().conn(), entry_id.trim()).await?;
        let row = match row {
            Some(row) if patient.is_none_or(|p| p.to_string() == row.patient_id) => row,
            _ => {
                let id = Some(entry_id.trim().to_owned());
                return Err(self
                    .missing(actor, ResourceType::Allergy, id, "allergy entry")
                    .await);
            }
        };
        let patient_id: PatientId = row
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        let access = self
            .chart_list_access(
                actor,
                patient_id,
                ChartListAction::WriteAllergies,
                ResourceType::Allergy,
            )
            .await?;
        let by = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let mut errors = ValidationErrors::new();
        let to = errors.check("status", AllergyStatus::parse(&request.status));
        let reason = match parse_reason(request.reason.as_deref()) {
            Ok(reason) => reason,
            Err(found) => {
                errors.0.extend(found.0);
                None
            }
        };
        errors.into_result()?;
        let to = to.ok_or_else(|| ValidationErrors::single("status", "is required"))?;
        let from = AllergyStatus::parse(&row.status).map_err(|_| ServiceError::Integrity)?;
        from.check_change(to)
            .map_err(|message| ServiceError::Conflict {
                field: Some("status"),
                message,
            })?;
        // An entry taken out of force stops warning when prescribing: the next clinician must
        // be able to read why.
        if to != AllergyStatus::Active && reason.is_none() {
            return Err(ValidationErrors::single(
                "reason",
                "is required: say why the allergy no longer applies or was entered in error",
            )
            .into());
        }
        let patient = &access.patient;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let sealed_reason =
            place(&row.id, &row.patient_id).seal(&dek, "status_reason", reason.as_deref())?;
        let now = to_micros(self.now()).max(row.updated_at + 1);
        let mut event = self
            .audit_event(actor, AuditAction::StatusChanged, ResourceType::Allergy)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{from} → {to}"));
        let statement = row.entry_kind == KIND_NO_KNOWN_ALLERGIES;
        self.transaction(async |txn| {
            let mut event = event.clone();
            patient_store::lock_row(txn, &patient.id).await?;
            if to == AllergyStatus::Active {
                if statement && self.has_active_allergy(txn, patient).await? {
                    return Err(ServiceError::Conflict {
                        field: Some("status"),
                        message: "allergies are recorded as active: \"no known allergies\" cannot be in force with them".into(),
                    });
                }
                let code = open_entry(&row, &dek, &HashMap::new())?.code;
                if let Some(code) = code.as_deref()
                    && self.active_code(txn, patient, &dek, code).await?
                {
                    return Err(ServiceError::Conflict {
                        field: Some("status"),
                        message: "this substance is recorded as an active allergy in another entry"
                            .into(),
                    });
                }
                if !statement && self.retire_statements(txn, patient, &dek, by, now).await? > 0 {
                    event.reason = Some(format!(
                        "{from} → {to}; \"no known allergies\" made inactive"
                    ));
                }
            }
            if !store::set_status(
                txn,
                &row.id,
                from.as_str(),
                to.as_str(),
                sealed_reason.clone(),
                Some(&by.to_string()),
                now,
            )
            .await?
            {
                return Err(ServiceError::Conflict {
                    field: Some("status"),
                    message: "the entry was changed meanwhile: reload it".into(),
                });
            }
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        let changed = store::find(self.store().conn(), &row.id)
            .await?
            .ok_or(ServiceError::NotFound("allergy entry"))?;
        open_entry(&changed, &dek, &self.account_names().await?)
    }

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
        let mut after: Option<String> = None;
        loop {
            let rows =
                patient_store::with_legacy_allergies(self.store().conn(), after.as_deref(), 100)
                    .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = Some(last.id.clone());
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
            let dek = match self
                .unwrap_patient_key(&row.id, &row.wrapped_data_key)
                .await
            {
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
            let entries = transcribed_rows(&text, &row.id, &dek, None, row.updated_at)
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
                    if !patient_store::clear_legacy_allergies(txn, &row.id, row.updated_at).await? {
                        return Err(Abort::Stop(()));
                    }
                    let count = entries.len();
                    for entry in entries {
                        store::insert(txn, entry).await?;
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
            match carevault_store::privacy::find_patient(self.store().conn(), &row.id).await? {
                Some(again)
                    if again.allergies.is_some()
                        && again.status != patient_store::ERASED_STATUS =>
                {
                    row = again;
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(substance: &str, status: AllergyStatus, statement: bool, at: i64) -> AllergyView {
        AllergyView {
            id: format!("id-{at}"),
            substance: substance.to_owned(),
            code: None,
            free_text: true,
            reaction: Some("Qzreaction".into()),
            severity: AllergySeverity::Severe,
            status,
            recorded_by: "Dr. Who".into(),
            recorded_at: from_micros(at),
            patient_id: PatientId::generate(),
            kind: None,
            no_known_allergies: statement,
            transcribed: statement,
            recorded_as: statement.then(|| "Qznkda".to_owned()),
            status_reason: Some("Qzreason".into()),
            updated_by: None,
            updated_at: from_micros(at),
        }
    }

    #[test]
    fn the_statement_in_force_and_its_line() {
        let patient = PatientId::generate();
        assert_eq!(list_of(patient, Vec::new()).summary(), None);
        let none_known = list_of(
            patient,
            vec![
                entry("", AllergyStatus::Active, true, 2),
                entry("", AllergyStatus::Inactive, true, 1),
            ],
        );
        assert_eq!(none_known.statement_code(), "no_known_allergies");
        assert_eq!(none_known.summary().as_deref(), Some(NO_KNOWN_ALLERGIES));
        assert_eq!(none_known.no_known_allergies().map(|s| s.0), Some("id-2"));
        assert_eq!(none_known.history.len(), 1);
        // Active allergies win over a statement; oldest first; history newest first.
        let allergies = list_of(
            patient,
            vec![
                entry("Latex", AllergyStatus::Active, false, 5),
                entry("", AllergyStatus::Active, true, 4),
                entry("Penicillin", AllergyStatus::Active, false, 3),
                entry("Egg", AllergyStatus::EnteredInError, false, 6),
                entry("Fish", AllergyStatus::Inactive, false, 7),
            ],
        );
        assert_eq!(
            allergies.summary().as_deref(),
            Some("Penicillin — Qzreaction (severe); Latex — Qzreaction (severe)")
        );
        let history: Vec<&str> = allergies
            .history
            .iter()
            .map(|e| e.substance.as_str())
            .collect();
        assert_eq!(history, ["Fish", "Egg"]);
    }

    #[test]
    fn debug_prints_no_clinical_value() {
        let patient = PatientId::generate();
        let list = list_of(
            patient,
            vec![
                entry("Qzsubstance", AllergyStatus::Active, false, 1),
                entry("Qzold", AllergyStatus::Inactive, false, 0),
            ],
        );
        let statement = list_of(patient, vec![entry("", AllergyStatus::Active, true, 1)]);
        let printed = format!(
            "{list:?} {statement:?} {:?} {:?}",
            AllergyRequest {
                substance: "Qzsubstance".into(),
                reaction: Some("Qzreaction".into()),
                ..Default::default()
            },
            AllergyStatusRequest {
                status: "inactive".into(),
                reason: Some("Qzreason".into()),
            }
        );
        assert!(!printed.contains("Qz"), "{printed}");
    }
}
