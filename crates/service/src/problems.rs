//! The problem list: a patient's conditions (ICD-10-CM coded or flagged free text), added
//! from an encounter's diagnoses or directly by a doctor of the care team; sealed.
//!
//! INTERFACE STUB: the chart reads [`Services::problems_of`]; the use cases, the store and
//! the pages arrive with the problem-list work.

use carevault_core::problem::ProblemStatus;
use carevault_crypto::data_key::DataKey;
use carevault_store::patients::PatientRow;
use chrono::{DateTime, NaiveDate, Utc};

use crate::Services;
use crate::error::ServiceError;

/// One problem, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemView {
    pub id: String,
    /// The ICD-10-CM code; `None` for free text.
    pub code: Option<String>,
    /// The code's title, or the free text.
    pub text: String,
    pub free_text: bool,
    pub onset: Option<NaiveDate>,
    pub status: ProblemStatus,
    /// The encounter whose diagnosis it came from, if any.
    pub encounter_id: Option<String>,
    /// Display name of whoever recorded it.
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[allow(dead_code, reason = "interface stub: the chart reads it")]
impl Services {
    /// The problem list of `patient` (active first, then resolved; newest first within
    /// each), opened with its data key. Not authorised and not audited here: the calling use
    /// case has done both for the patient.
    pub(crate) async fn problems_of(
        &self,
        _patient: &PatientRow,
        _dek: &DataKey,
    ) -> Result<Vec<ProblemView>, ServiceError> {
        Ok(Vec::new())
    }
}
