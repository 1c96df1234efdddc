//! Carevault's domain vocabulary: roles, the access policy, validated value types and
//! domain errors.
//!
//! This crate does no I/O, no async, no SQL and no HTTP. Everything here is plain data and
//! pure functions, so every other crate can depend on it and tests can exercise it directly.

#[macro_use]
mod choice;
#[macro_use]
pub mod status;
#[macro_use]
mod text;

pub mod allergy;
pub mod appointment;
pub mod audit;
pub mod billing;
pub mod chart;
pub mod clinical;
pub mod consent;
pub mod deidentify;
pub mod document;
pub mod emergency;
pub mod error;
pub mod icd10;
pub mod ids;
pub mod masking;
pub mod money;
pub mod notification;
pub mod nursing;
pub mod patient;
pub mod pharmacy;
pub mod policy;
pub mod problem;
pub mod reference_range;
pub mod role;
pub mod time;
pub mod user;

pub use error::{FieldError, ValidationErrors};
pub use ids::{
    AllergyId, AppointmentId, BatchId, ConsentId, DepartmentId, DiagnosisId, DocumentId, DrugId,
    EmergencyAccessId, EncounterId, EncounterNoteId, InvoiceId, InvoiceLineId, LegalHoldId,
    NotificationId, NursingNoteId, PatientId, PaymentId, PrescriptionId, PriceId, ProblemId,
    RecordShareId, SessionId, StockMovementId, UserId, VitalsId,
};
pub use policy::{Action, Decision, Grant, Relation, Scope};
pub use role::Role;
pub use user::{DisplayName, Password, UserStatus, Username};
