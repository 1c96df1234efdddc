//! Error policy: every use case returns [`ServiceError`]. Its variants say what happened in
//! terms a caller can act on; none carries database text, personal data or secrets. The web
//! layer maps each variant to one HTTP status; `Internal` is logged with the request id and
//! shown to the client only as "something went wrong".

use std::time::Duration;

use carevault_core::ValidationErrors;
use carevault_store::StoreError;

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
    SlotTaken(Box<crate::scheduling::SlotConflict>),
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

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => ServiceError::Unavailable,
            other => ServiceError::Internal(other.into()),
        }
    }
}

impl ServiceError {
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ServiceError::Internal(err.into())
    }
}
