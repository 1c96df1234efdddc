//! What record shares and break-the-glass grants have in common: a grant to one user for one
//! patient, in force from `granted_at` until (not including) `expires_at`.

use std::collections::HashSet;

use carevault_core::PatientId;
use carevault_core::time::to_micros;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Select};

use crate::Conn;
use crate::error::StoreError;
use crate::record::Row;

/// The columns of a grant table.
pub(crate) struct GrantColumns<C> {
    pub patient_id: C,
    pub user_id: C,
    pub granted_at: C,
    pub expires_at: C,
}

impl<C: ColumnTrait> GrantColumns<C> {
    /// `query` narrowed to grants to `user` in force at `now`.
    pub fn in_force<E: EntityTrait<Column = C>>(
        &self,
        query: Select<E>,
        user: carevault_core::UserId,
        now: DateTime<Utc>,
    ) -> Select<E> {
        let now = to_micros(now);
        query
            .filter(self.user_id.eq(user.to_string()))
            .filter(self.granted_at.lte(now))
            .filter(self.expires_at.gt(now))
    }

    /// Which of `patients` the grants `query` selects (already narrowed) are for.
    pub async fn patients_among<E: EntityTrait<Column = C>>(
        &self,
        conn: &impl Conn,
        row: Row,
        query: Select<E>,
        patients: &[PatientId],
    ) -> Result<HashSet<PatientId>, StoreError> {
        if patients.is_empty() {
            return Ok(HashSet::new());
        }
        let ids: Vec<String> = patients.iter().map(ToString::to_string).collect();
        query
            .select_only()
            .column(self.patient_id)
            .filter(self.patient_id.is_in(ids))
            .into_tuple::<String>()
            .all(conn)
            .await?
            .iter()
            .map(|id| row.parse("patient_id", id))
            .collect()
    }
}
