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
use crate::chart_lists::{AccountNames, status_conflict};
use carevault_core::PatientId;
use carevault_core::allergy::{
    AllergyEntryKind, AllergyFields, AllergyInput, AllergySeverity, AllergyStatus, ChartListAction,
    RecordedAllergy, Substance, SubstanceKind, SubstanceText, coded_substance, drug_link,
    states_no_known_allergies, transcribed_substances, warning_sentence,
};
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::masking::{PatientField, PatientView, Visibility, visibility};
use carevault_core::patient::ClinicalText;
use carevault_core::{AllergyId, UserId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::Conn;
use carevault_store::allergies::{self as store, AllergyRecord};
use carevault_store::patients::{self as patient_store, PatientRow};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::sealing::Place;
use crate::tx::Abort;

mod legacy;
mod list;
mod record;

pub use legacy::*;
pub(crate) use list::*;
pub use record::*;

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
    id: AllergyId,
    patient_id: PatientId,
    body: &Body,
) -> Result<Vec<u8>, ServiceError> {
    let json = serde_json::to_string(body).map_err(ServiceError::internal)?;
    place(&id.to_string(), &patient_id.to_string())
        .seal(dek, "body", Some(&json))?
        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("body not sealed")))
}

/// A new entry of `patient_id`'s list, its body sealed, recorded (and last updated) `at`.
fn new_entry(
    dek: &DataKey,
    patient_id: PatientId,
    entry_kind: AllergyEntryKind,
    status: AllergyStatus,
    body: &Body,
    by: Option<UserId>,
    at: DateTime<Utc>,
) -> Result<AllergyRecord, ServiceError> {
    let id = AllergyId::generate();
    Ok(AllergyRecord {
        id,
        patient_id,
        entry_kind,
        status,
        body: seal_body(dek, id, patient_id, body)?,
        status_reason: None,
        recorded_by: by,
        recorded_at: at,
        updated_by: None,
        updated_at: at,
    })
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

#[cfg(test)]
mod tests {
    use carevault_core::time::from_micros;

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
