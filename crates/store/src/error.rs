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
    /// The database gave up on the transaction because of concurrent ones (a deadlock, a
    /// serialisation failure, a lock wait that timed out, a busy SQLite file): trying the
    /// whole transaction again is safe and usually succeeds.
    #[error("the transaction collided with concurrent ones")]
    Contention(#[source] DbErr),
    /// A stored row could not be turned back into a domain value (corrupted or tampered).
    #[error("a stored row is not valid: {0}")]
    Corrupt(String),
    /// Anything else: a bug or an unexpected database condition.
    #[error("database error")]
    Database(#[source] DbErr),
}

impl StoreError {
    /// A `Contention` error that no database raised, for the tests of the layers above that
    /// retry on it (they may not name the database crate).
    pub fn simulated_contention() -> Self {
        StoreError::Contention(DbErr::Custom("simulated contention".into()))
    }
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            return StoreError::UniqueViolation(detail);
        }
        if is_unavailable(&err) {
            return StoreError::Unavailable(err);
        }
        if is_contention(&err) {
            return StoreError::Contention(err);
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

/// Deadlocks and serialisation failures (SQLSTATE 40001, 40P01), MySQL's lock wait timeout
/// (1205) and SQLite's busy codes (5, 517).
fn is_contention(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as SqlxError;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            let SqlxError::Database(db) = e.as_ref() else {
                return false;
            };
            let code = db.code();
            let code = code.as_deref().unwrap_or_default();
            if matches!(code, "40001" | "40P01" | "5" | "517" | "261") {
                return true;
            }
            // MySQL reports its own error number separately from the SQLSTATE.
            db.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|e| matches!(e.number(), 1205 | 1213))
        }
        _ => false,
    }
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
