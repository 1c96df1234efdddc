//! Allergies: the per-patient list of structured, sealed allergy entries and the "no known
//! allergies" statement; the list the prescribing check reads.
//!
//! INTERFACE STUB: the chart and the banner read [`Services::allergies_of`]; the use cases
//! that record and change entries, the store and the migration of the old free-text field
//! arrive with the allergy work.

use carevault_core::allergy::{AllergySeverity, AllergyStatus};
use carevault_crypto::data_key::DataKey;
use carevault_store::patients::PatientRow;
use chrono::{DateTime, Utc};

use crate::Services;
use crate::error::ServiceError;

/// One allergy entry, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllergyView {
    pub id: String,
    /// The substance as shown: the coded substance's label, or the free text.
    pub substance: String,
    /// The coded substance's code; `None` for free text.
    pub code: Option<String>,
    /// Free text rather than a coded substance (always deliberate, shown as such).
    pub free_text: bool,
    pub reaction: Option<String>,
    pub severity: AllergySeverity,
    pub status: AllergyStatus,
    /// Display name of whoever recorded it.
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// What is recorded about a patient's allergies now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllergyStatement {
    /// Nothing recorded: nobody has asked, or nobody wrote it down.
    NotRecorded,
    /// Asked, and the patient has none known.
    NoKnownAllergies {
        recorded_by: String,
        recorded_at: DateTime<Utc>,
    },
    /// The active entries (at least one).
    Allergies(Vec<AllergyView>),
}

/// A patient's allergy list: the statement in force and the entries no longer in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllergyList {
    pub statement: AllergyStatement,
    /// Inactive and entered-in-error entries, newest first (the history).
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
}

#[allow(dead_code, reason = "interface stub: the chart reads it")]
impl Services {
    /// The allergy list of `patient`, opened with its data key. Not authorised and not
    /// audited here: the calling use case has done both for the patient.
    pub(crate) async fn allergies_of(
        &self,
        _patient: &PatientRow,
        _dek: &DataKey,
    ) -> Result<AllergyList, ServiceError> {
        Ok(AllergyList {
            statement: AllergyStatement::NotRecorded,
            history: Vec::new(),
        })
    }
}
