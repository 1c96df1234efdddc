//! Error policy: every use case returns [`ServiceError`]. Its variants say what happened in
//! terms a caller can act on; none carries database text, personal data or secrets. The web
//! layer maps each variant to one HTTP status; `Internal` is logged with the request id and
//! shown to the client only as "something went wrong".

use std::time::Duration;

use carevault_core::appointment::TimeSlot;
use carevault_core::{AppointmentId, ValidationErrors};
use carevault_store::StoreError;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No valid session: sign in first.
    #[error("sign-in required")]
    Unauthenticated,
    /// Username or password wrong, or the account disabled (deliberately indistinguishable).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed sign-ins; try again after the given time.
    #[error("too many failed sign-in attempts")]
    Throttled { retry_after: Duration },
    /// Signed in, but the role or the relationship to the data does not allow this.
    #[error("you do not have permission to do this")]
    Forbidden,
    /// Nothing of that kind with that id (or nothing the actor may know exists).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input is not valid; each problem names its field.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// The change conflicts with the current state (a duplicate username, …).
    #[error("{message}")]
    Conflict {
        field: Option<&'static str>,
        message: String,
    },
    /// The slot is already held by an overlapping active appointment of the same clinician
    /// or patient: the collision (as the actor may see it) and the next free slots.
    #[error("{}", .0.message)]
    SlotTaken(Box<SlotConflict>),
    /// Stored data failed its integrity check (a sealed field or data key that was altered
    /// or moved behind the application's back). Recorded in the audit trail.
    #[error("stored data failed its integrity check")]
    Integrity,
    /// The database cannot be reached; retry later.
    #[error("the database is unavailable")]
    Unavailable,
    /// A bug or an unexpected condition; details are in the server log.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// One appointment a booking collided with, as the actor may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictingSlot {
    pub appointment_id: AppointmentId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `clinician` or `patient`: whose time is already taken.
    pub taken_for: &'static str,
    pub clinician_name: Option<String>,
    pub patient_label: String,
}

/// Why a booking was refused as a double booking, and what is free instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotConflict {
    pub message: String,
    pub conflicts: Vec<ConflictingSlot>,
    /// The clinician's next free slots of the same length.
    pub next_free: Vec<TimeSlot>,
    /// The clinic's time zone, to show the times in.
    pub time_zone: Tz,
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => ServiceError::Unavailable,
            StoreError::Corrupt(what) => {
                tracing::error!(row = what, "a stored row does not convert");
                ServiceError::Integrity
            }
            other => ServiceError::Internal(other.into()),
        }
    }
}

impl ServiceError {
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ServiceError::Internal(err.into())
    }
}
