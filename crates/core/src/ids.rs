//! Opaque identifiers. They are UUIDv7 (time-ordered, so indexes stay compact) rendered as
//! lowercase hyphenated text, which is also how they are stored on every backend.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        /// Its text form, where a `String` is wanted (an audit event's resource id).
        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.to_string()
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| "is not a valid id".to_owned())
            }
        }
    };
}

opaque_id!(
    /// Identifies a user account (staff member or patient login).
    UserId
);
opaque_id!(
    /// Identifies one server-side session. Never the session token itself.
    SessionId
);
opaque_id!(
    /// Identifies a patient record. Used in URLs and audit events; reveals nothing about
    /// the patient.
    PatientId
);
opaque_id!(
    /// Identifies a department.
    DepartmentId
);
opaque_id!(
    /// Identifies an appointment (or a patient's request for one).
    AppointmentId
);
opaque_id!(
    /// Identifies an encounter (one visit's clinical record).
    EncounterId
);
opaque_id!(
    /// Identifies a diagnosis recorded in an encounter.
    DiagnosisId
);
opaque_id!(
    /// Identifies a note or addendum of an encounter.
    EncounterNoteId
);
opaque_id!(
    /// Identifies one set of vital signs.
    VitalsId
);
opaque_id!(
    /// Identifies a nursing note.
    NursingNoteId
);
opaque_id!(
    /// Identifies an entry of a patient's problem list.
    ProblemId
);
opaque_id!(
    /// Identifies an entry of a patient's allergy list.
    AllergyId
);
opaque_id!(
    /// Identifies an uploaded document.
    DocumentId
);
opaque_id!(
    /// Identifies a prescription.
    PrescriptionId
);
opaque_id!(
    /// Identifies an invoice.
    InvoiceId
);
opaque_id!(
    /// Identifies a line of an invoice.
    InvoiceLineId
);
opaque_id!(
    /// Identifies a payment recorded against an invoice.
    PaymentId
);
opaque_id!(
    /// Identifies an entry of the price list.
    PriceId
);
opaque_id!(
    /// Identifies a drug in the pharmacy's catalogue.
    DrugId
);
opaque_id!(
    /// Identifies a stock batch of a drug.
    BatchId
);
opaque_id!(
    /// Identifies one movement of stock (receipt, dispense, adjustment).
    StockMovementId
);
opaque_id!(
    /// Identifies a notification.
    NotificationId
);
opaque_id!(
    /// Identifies a consent record.
    ConsentId
);
opaque_id!(
    /// Identifies a patient's share of their record with a person.
    RecordShareId
);
opaque_id!(
    /// Identifies one break-the-glass access.
    EmergencyAccessId
);
opaque_id!(
    /// Identifies a legal hold.
    LegalHoldId
);
