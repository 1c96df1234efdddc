//! Break-the-glass grants: insert, the access check, the review queue and the review.

use std::collections::HashSet;

use carevault_core::emergency::ReviewStatus;
use carevault_core::time::to_micros;
use carevault_core::{EmergencyAccessId, PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::Conn;
use crate::entity::emergency_access::{self, Column, Entity};
use crate::error::StoreError;
use crate::grant_window::GrantColumns;
use crate::record::{self, Row};

const ROW: Row = Row("emergency_access");
const GRANT: GrantColumns<Column> = GrantColumns {
    patient_id: Column::PatientId,
    user_id: Column::UserId,
    granted_at: Column::GrantedAt,
    expires_at: Column::ExpiresAt,
};

/// One break-the-glass grant. Its `Debug` output leaves out the sealed reason and note.
#[derive(Clone)]
pub struct EmergencyAccessRecord {
    pub id: EmergencyAccessId,
    pub patient_id: PatientId,
    /// The clinician who broke the glass.
    pub user_id: UserId,
    /// Sealed under the patient's data key.
    pub reason: Vec<u8>,
    pub duration_minutes: u32,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub review_status: ReviewStatus,
    /// Sealed under the patient's data key.
    pub review_note: Option<Vec<u8>>,
    pub reviewed_by: Option<UserId>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for EmergencyAccessRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmergencyAccessRecord")
            .field("id", &self.id)
            .field("patient_id", &self.patient_id)
            .field("expires_at", &self.expires_at)
            .field("review_status", &self.review_status)
            .finish_non_exhaustive()
    }
}

impl EmergencyAccessRecord {
    /// Whether the grant is in force at `now`.
    pub fn in_force_at(&self, now: DateTime<Utc>) -> bool {
        self.granted_at <= now && now < self.expires_at
    }
}

impl TryFrom<emergency_access::Model> for EmergencyAccessRecord {
    type Error = StoreError;

    fn try_from(m: emergency_access::Model) -> Result<Self, StoreError> {
        Ok(EmergencyAccessRecord {
            id: ROW.parse("id", &m.id)?,
            patient_id: ROW.parse("patient_id", &m.patient_id)?,
            user_id: ROW.parse("user_id", &m.user_id)?,
            reason: m.reason,
            duration_minutes: ROW.convert("duration_minutes", m.duration_minutes, u32::try_from)?,
            granted_at: ROW.time(m.granted_at),
            expires_at: ROW.time(m.expires_at),
            review_status: ROW.convert(
                "review_status",
                m.review_status.as_str(),
                ReviewStatus::parse,
            )?,
            review_note: m.review_note,
            reviewed_by: ROW.parse_opt("reviewed_by", m.reviewed_by.as_deref())?,
            reviewed_at: ROW.time_opt(m.reviewed_at),
        })
    }
}

pub async fn insert(conn: &impl Conn, grant: &EmergencyAccessRecord) -> Result<(), StoreError> {
    let row = emergency_access::ActiveModel {
        id: Set(grant.id.to_string()),
        patient_id: Set(grant.patient_id.to_string()),
        user_id: Set(grant.user_id.to_string()),
        reason: Set(grant.reason.clone()),
        duration_minutes: Set(ROW.convert(
            "duration_minutes",
            grant.duration_minutes,
            i32::try_from,
        )?),
        granted_at: Set(to_micros(grant.granted_at)),
        expires_at: Set(to_micros(grant.expires_at)),
        review_status: Set(grant.review_status.as_str().to_owned()),
        review_note: Set(grant.review_note.clone()),
        reviewed_by: Set(grant.reviewed_by.map(|id| id.to_string())),
        reviewed_at: Set(grant.reviewed_at.map(to_micros)),
    };
    Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

pub async fn find(
    conn: &impl Conn,
    id: EmergencyAccessId,
) -> Result<Option<EmergencyAccessRecord>, StoreError> {
    record::one(conn, Entity::find_by_id(id.to_string())).await
}

/// The grant of `user` to `patient` in force at `now` with the latest expiry.
pub async fn active(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<EmergencyAccessRecord>, StoreError> {
    record::one(
        conn,
        GRANT
            .in_force(Entity::find(), user, now)
            .filter(Column::PatientId.eq(patient.to_string()))
            .order_by_desc(Column::ExpiresAt),
    )
    .await
}

/// Grants, newest first: all of them, or only `user`'s, or only those in `status`.
pub async fn list(
    conn: &impl Conn,
    user: Option<UserId>,
    status: Option<ReviewStatus>,
    limit: u64,
) -> Result<Vec<EmergencyAccessRecord>, StoreError> {
    let mut query = Entity::find();
    if let Some(user) = user {
        query = query.filter(Column::UserId.eq(user.to_string()));
    }
    if let Some(status) = status {
        query = query.filter(Column::ReviewStatus.eq(status.as_str()));
    }
    record::all(conn, query.order_by_desc(Column::GrantedAt).limit(limit)).await
}

/// How many grants await review.
pub async fn pending_count(conn: &impl Conn) -> Result<u64, StoreError> {
    Ok(Entity::find()
        .filter(Column::ReviewStatus.eq(ReviewStatus::Pending.as_str()))
        .count(conn)
        .await?)
}

/// Records a review if the grant is still pending; `false` if it was reviewed meanwhile.
pub async fn review(
    conn: &impl Conn,
    id: EmergencyAccessId,
    status: ReviewStatus,
    note: Vec<u8>,
    reviewer: UserId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .set(emergency_access::ActiveModel {
            review_status: Set(status.as_str().to_owned()),
            review_note: Set(Some(note)),
            reviewed_by: Set(Some(reviewer.to_string())),
            reviewed_at: Set(Some(to_micros(now))),
            ..Default::default()
        })
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::ReviewStatus.eq(ReviewStatus::Pending.as_str()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Which of `patients` `user` holds emergency access to at `now`.
pub async fn held_among(
    conn: &impl Conn,
    user: UserId,
    patients: &[PatientId],
    now: DateTime<Utc>,
) -> Result<HashSet<PatientId>, StoreError> {
    let query = GRANT.in_force(Entity::find(), user, now);
    GRANT.patients_among(conn, ROW, query, patients).await
}
