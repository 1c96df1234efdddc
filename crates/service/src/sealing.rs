//! Sealing and opening text fields of rows that belong to a patient (appointments, emergency
//! access grants, …) under that patient's data key, bound to table, column, row and patient
//! (`carevault_crypto::seal`). The patient row itself has its own helpers in `patients/`.

use carevault_crypto::data_key::DataKey;
use carevault_crypto::seal::{FieldContext, open_field, open_text, seal_field, seal_text};
use zeroize::Zeroizing;

use crate::error::ServiceError;

/// The data-key version recorded in sealed fields (data keys are not rotated yet).
pub(crate) const DATA_KEY_VERSION: u32 = 1;

/// Where a sealed field lives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub table: &'a str,
    pub row_id: &'a str,
    pub patient_id: &'a str,
}

impl Place<'_> {
    fn context<'c>(&'c self, column: &'c str) -> FieldContext<'c> {
        FieldContext {
            table: self.table,
            column,
            row_id: self.row_id,
            patient_id: self.patient_id,
        }
    }

    /// Seals `value` (if any) for `column` of this row.
    pub(crate) fn seal(
        &self,
        dek: &DataKey,
        column: &str,
        value: Option<&str>,
    ) -> Result<Option<Vec<u8>>, ServiceError> {
        value
            .map(|text| {
                seal_text(dek, DATA_KEY_VERSION, &self.context(column), text)
                    .map_err(ServiceError::internal)
            })
            .transpose()
    }

    /// Opens `column` of this row; a value that does not open is [`ServiceError::Integrity`].
    pub(crate) fn open(
        &self,
        dek: &DataKey,
        column: &str,
        sealed: Option<&[u8]>,
    ) -> Result<Option<String>, ServiceError> {
        sealed
            .map(|bytes| {
                open_text(dek, &self.context(column), bytes)
                    .map(|text| text.to_string())
                    .map_err(|_| ServiceError::Integrity)
            })
            .transpose()
    }

    /// Seals the bytes `value` for `column` of this row (document chunks).
    pub(crate) fn seal_bytes(
        &self,
        dek: &DataKey,
        column: &str,
        value: &[u8],
    ) -> Result<Vec<u8>, ServiceError> {
        seal_field(dek, DATA_KEY_VERSION, &self.context(column), value)
            .map_err(ServiceError::internal)
    }

    /// Opens bytes sealed by [`Place::seal_bytes`]; a value that does not open is
    /// [`ServiceError::Integrity`].
    pub(crate) fn open_bytes(
        &self,
        dek: &DataKey,
        column: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        open_field(dek, &self.context(column), sealed).map_err(|_| ServiceError::Integrity)
    }
}
