//! The pure rules of clinical records: vital signs with plausible ranges and the
//! BMI, encounter types and statuses (a draft is edited by its author, a signed encounter is
//! only ever amended), diagnoses (an ICD-10 code or flagged free text), prescriptions (their
//! input, their status graph) and the two checks made when prescribing: recorded allergies
//! and a duplicate active prescription. No I/O, no clock, no database of drugs.
//!
//! Decisions recorded here:
//!
//! - **Vitals** are integers in fixed point (tenths of a °C, grams, millimetres), so they
//!   compare exactly and print back as they were typed. A decimal comma is accepted
//!   (`36,8`); extra decimals beyond what a field keeps must be zeros (`36.80` is fine,
//!   `36.85` is refused rather than silently rounded). Ranges are wide on purpose — they
//!   catch typing errors and wrong units (98.6 °F, 154 lb), not abnormal values, which are
//!   exactly what must be recordable. See the `VitalRange` constants.
//! - **Encounters**: `draft → signed`, and `signed` is final. A draft is edited and signed
//!   only by its author; a signed encounter is never edited, corrections are amendments with
//!   a reason ([`AmendmentReason`], 10–500 characters). Who may amend (the care team's
//!   doctors) is the service's rule; here only the status is checked.
//! - **Diagnoses** are coded from the bundled ICD-10 list (`core::icd10`): a form's code must
//!   have the shape of a code and be in that list. A stored code ([`DiagnosisCode`]) is
//!   checked for shape only, so a code later dropped from the list still reads. Free text is
//!   allowed only with the `free_text` flag, so an uncoded diagnosis is always deliberate.
//! - **Prescriptions**: `active → completed | cancelled`; both are final.
//! - **Allergy matching** is a safety net, not a drug database: it compares the words of
//!   each recorded substance with the drug's name and generic name, and knows a small table
//!   of drug classes ([`DRUG_CLASSES`]) so that "penicillin" catches amoxicillin and
//!   "sulfa drugs" catches co-trimoxazole. A match is a warning the prescriber acknowledges;
//!   no match proves nothing.
//!
//! No type here prints a clinical value in `Debug` output: vitals, diagnoses, drug names and
//! reasons are health data (see the "what never to log" list).
//!
//! One file per concept, everything re-exported here (`clinical::Vitals`):
//! `vital_range.rs` (each vital sign's unit, decimals and plausible range), `vitals.rs` (a
//! measured set and the BMI), `encounter.rs`, `diagnosis.rs`, `prescription.rs` (the form and
//! its status graph) and `prescribing_checks.rs` (the allergy and duplicate checks, with the
//! drug-class table).

mod diagnosis;
mod encounter;
mod prescribing_checks;
mod prescription;
mod vital_range;
mod vitals;

pub use diagnosis::*;
pub use encounter::*;
pub use prescribing_checks::*;
pub use prescription::*;
pub use vital_range::*;
pub use vitals::*;

/// A refused status change of an encounter or a prescription (the one error of
/// [`crate::status`]). Its message names the current status and what it may become: "cannot
/// go from completed to active: a completed prescription is final".
pub use crate::status::TransitionError as StatusTransitionError;

use crate::text::{clean_text, given};
