//! Errors from the store, classified so the layers above can answer correctly (503 when the
//! database is unreachable, 409 on a uniqueness conflict) without ever showing database text
//! to a client.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or did not answer in time.
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// A uniqueness constraint rejected the write (the constraint's text is kept for logs).
    #[error("a record with the same unique value already exists")]
    UniqueViolation(String),
    /// A stored row could not be turned back into a domain value (corrupted or tampered).
    #[error("a stored row is not valid: {0}")]
    Corrupt(String),
    /// Anything else: a bug or an unexpected database condition.
    #[error("database error")]
    Database(#[source] DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            return StoreError::UniqueViolation(detail);
        }
        if is_unavailable(&err) {
            return StoreError::Unavailable(err);
        }
        StoreError::Database(err)
    }
}

fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as SqlxError;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(
                e.as_ref(),
                SqlxError::Io(_)
                    | SqlxError::PoolTimedOut
                    | SqlxError::PoolClosed
                    | SqlxError::Tls(_)
            )
        }
        _ => false,
    }
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
