//! Erasure (crypto-shredding a patient), its tombstones, legal holds, and the queries of the
//! retention report.
//!
//! [`shred_patient`] is the whole of what erasure does to the database, in the caller's
//! transaction: it empties the wrapped data key (so every sealed value of the patient, in
//! every table, can no longer be opened), empties the patient row's sealed columns, deletes
//! the blind indexes, clears the quasi-identifiers kept in clear, ends the care team and the
//! shares, cancels open appointments and frees their slots, deletes the notifications about
//! the patient (their texts are sealed under the destroyed key), empties the sealed bodies
//! and reasons of the allergy and problem lists, and disables and anonymises the linked
//! portal account. It is idempotent, so replaying the erasure ledger after a
//! restore can apply it again.

use std::collections::{HashMap, HashSet};

use carevault_core::patient::PatientStatus;
use carevault_core::time::to_micros;
use carevault_core::{LegalHoldId, PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::Conn;
use crate::entity::{
    appointment_slot_claims, appointments, care_team_members, encounters, erasures, legal_holds,
    notification_preferences, notifications, patient_allergies, patient_problems,
    patient_search_index, patients, record_shares, sessions, users,
};
use crate::error::StoreError;
use crate::patients::{ERASED_STATUS, PatientRow};
use crate::record::{self, Row};

/// The tombstone of an erased patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRecord {
    pub patient_id: PatientId,
    pub erased_at: DateTime<Utc>,
    pub erased_by: Option<UserId>,
    /// `user`, `system` or `operator`, as the erasure ledger writes it.
    pub actor_kind: String,
    pub reason_category: String,
    /// The erasure ledger's entry, once written.
    pub ledger_sequence: Option<u64>,
}

impl TryFrom<erasures::Model> for ErasureRecord {
    type Error = StoreError;

    fn try_from(m: erasures::Model) -> Result<Self, StoreError> {
        let row = Row("erasures");
        Ok(ErasureRecord {
            patient_id: row.parse("patient_id", &m.patient_id)?,
            erased_at: row.time(m.erased_at),
            erased_by: row.parse_opt("erased_by", m.erased_by.as_deref())?,
            actor_kind: m.actor_kind,
            reason_category: m.reason_category,
            ledger_sequence: m
                .ledger_sequence
                .map(|seq| row.convert("ledger_sequence", seq, u64::try_from))
                .transpose()?,
        })
    }
}

/// A ledger sequence as stored.
fn stored_sequence(sequence: u64) -> i64 {
    i64::try_from(sequence).unwrap_or(i64::MAX)
}

/// A legal hold on a patient's record: no erasure while it is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHoldRecord {
    pub id: LegalHoldId,
    pub patient_id: PatientId,
    /// A case or matter reference, in clear.
    pub reason: String,
    pub set_by: Option<UserId>,
    pub set_at: DateTime<Utc>,
    /// The hold ends at this instant; `None`: until released.
    pub until: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_by: Option<UserId>,
}

impl LegalHoldRecord {
    /// Whether the hold is in force at `now`.
    pub fn in_force_at(&self, now: DateTime<Utc>) -> bool {
        self.released_at.is_none() && self.until.is_none_or(|until| until > now)
    }
}

impl TryFrom<legal_holds::Model> for LegalHoldRecord {
    type Error = StoreError;

    fn try_from(m: legal_holds::Model) -> Result<Self, StoreError> {
        let row = Row("legal_holds");
        Ok(LegalHoldRecord {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            reason: m.reason,
            set_by: row.parse_opt("set_by", m.set_by.as_deref())?,
            set_at: row.time(m.set_at),
            until: row.time_opt(m.until),
            released_at: row.time_opt(m.released_at),
            released_by: row.parse_opt("released_by", m.released_by.as_deref())?,
        })
    }
}

/// The `sex` an erased patient row keeps (a valid value that says nothing).
pub const ERASED_SEX: &str = "unknown";
/// The display name an erased patient's portal account gets.
pub const ERASED_ACCOUNT_NAME: &str = "Erased patient";

/// The patient row with this id, erased or not (erasure and replay must see tombstones).
pub async fn find_patient(
    conn: &impl Conn,
    id: PatientId,
) -> Result<Option<PatientRow>, StoreError> {
    record::one(conn, patients::Entity::find_by_id(id.to_string())).await
}

/// Moves a not-erased patient row's version forward by a microsecond, taking its row lock
/// (SQLite: the write lock) for the rest of the transaction. `None` when there is no such
/// patient, or it is erased.
pub async fn touch_patient(conn: &impl Conn, id: PatientId) -> Result<Option<()>, StoreError> {
    let result = patients::Entity::update_many()
        .col_expr(
            patients::Column::UpdatedAt,
            Expr::col(patients::Column::UpdatedAt).add(1),
        )
        .filter(patients::Column::Id.eq(id.to_string()))
        .filter(patients::Column::Status.ne(ERASED_STATUS))
        .exec(conn)
        .await?;
    Ok((result.rows_affected == 1).then_some(()))
}

/// What [`shred_patient`] found and changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shredded {
    /// Whether the row was not erased before.
    pub newly_erased: bool,
    /// The portal account that was linked (now disabled, renamed and signed out).
    pub account_id: Option<String>,
    pub index_rows: u64,
    pub notifications: u64,
    pub appointments_cancelled: u64,
}

/// Crypto-shreds a patient (see the module comment). `now` in micros. `None` when no such
/// patient row exists.
pub async fn shred_patient(
    conn: &impl Conn,
    patient: PatientId,
    now: i64,
) -> Result<Option<Shredded>, StoreError> {
    let Some(row) = find_patient(conn, patient).await? else {
        return Ok(None);
    };
    let id = patient.to_string();
    let id = id.as_str();
    let mut shredded = Shredded {
        newly_erased: row.status != PatientStatus::Erased,
        account_id: row.account_id.map(|account| account.to_string()),
        ..Shredded::default()
    };
    let empty: Vec<u8> = Vec::new();
    let none: Option<Vec<u8>> = None;
    use patients::Column as P;
    patients::Entity::update_many()
        .col_expr(P::WrappedDataKey, Expr::value(empty.clone()))
        .col_expr(P::Mrn, Expr::value(empty.clone()))
        .col_expr(P::GivenName, Expr::value(empty.clone()))
        .col_expr(P::FamilyName, Expr::value(empty.clone()))
        .col_expr(P::DateOfBirth, Expr::value(empty))
        .col_expr(P::GenderIdentity, Expr::value(none.clone()))
        .col_expr(P::Address, Expr::value(none.clone()))
        .col_expr(P::Phone, Expr::value(none.clone()))
        .col_expr(P::Email, Expr::value(none.clone()))
        .col_expr(P::EmergencyContact, Expr::value(none.clone()))
        .col_expr(P::NationalId, Expr::value(none.clone()))
        .col_expr(P::PreferredLanguage, Expr::value(none.clone()))
        .col_expr(P::BloodGroup, Expr::value(none.clone()))
        .col_expr(P::Allergies, Expr::value(none.clone()))
        .col_expr(P::PrimaryDiagnosis, Expr::value(none))
        .col_expr(P::Sex, Expr::value(ERASED_SEX))
        .col_expr(P::BirthYear, Expr::value(0))
        .col_expr(P::AccountId, Expr::value(Option::<String>::None))
        .col_expr(P::Status, Expr::value(ERASED_STATUS))
        .col_expr(
            P::UpdatedAt,
            Expr::value(std::cmp::max(now, to_micros(row.updated_at) + 1)),
        )
        .filter(P::Id.eq(id))
        .exec(conn)
        .await?;
    shredded.index_rows = patient_search_index::Entity::delete_many()
        .filter(patient_search_index::Column::PatientId.eq(id))
        .exec(conn)
        .await?
        .rows_affected;
    care_team_members::Entity::delete_many()
        .filter(care_team_members::Column::PatientId.eq(id))
        .exec(conn)
        .await?;
    record_shares::Entity::update_many()
        .col_expr(record_shares::Column::RevokedAt, Expr::value(now))
        .filter(record_shares::Column::PatientId.eq(id))
        .filter(record_shares::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    shredded.notifications = notifications::Entity::delete_many()
        .filter(notifications::Column::PatientId.eq(id))
        .exec(conn)
        .await?
        .rows_affected;
    // The allergy and problem lists: their sealed texts emptied (the key is gone anyway).
    patient_allergies::Entity::update_many()
        .col_expr(
            patient_allergies::Column::Body,
            Expr::value(Vec::<u8>::new()),
        )
        .col_expr(
            patient_allergies::Column::StatusReason,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .filter(patient_allergies::Column::PatientId.eq(id))
        .exec(conn)
        .await?;
    patient_problems::Entity::update_many()
        .col_expr(
            patient_problems::Column::Body,
            Expr::value(Vec::<u8>::new()),
        )
        .filter(patient_problems::Column::PatientId.eq(id))
        .exec(conn)
        .await?;
    // Open appointments end: nobody can be seen under a destroyed record, and their slots
    // must be free for others.
    let open: Vec<String> = appointments::Entity::find()
        .select_only()
        .column(appointments::Column::Id)
        .filter(appointments::Column::PatientId.eq(id))
        .filter(appointments::Column::Status.is_in(["requested", "scheduled", "checked_in"]))
        .into_tuple()
        .all(conn)
        .await?;
    if !open.is_empty() {
        appointment_slot_claims::Entity::delete_many()
            .filter(appointment_slot_claims::Column::AppointmentId.is_in(open.clone()))
            .exec(conn)
            .await?;
        shredded.appointments_cancelled = appointments::Entity::update_many()
            .col_expr(appointments::Column::Status, Expr::value("cancelled"))
            .col_expr(appointments::Column::UpdatedAt, Expr::value(now))
            .filter(appointments::Column::Id.is_in(open))
            .exec(conn)
            .await?
            .rows_affected;
    }
    if let Some(account) = &shredded.account_id {
        anonymise_account(conn, account, now).await?;
    }
    Ok(Some(shredded))
}

/// Disables a patient's portal account, replaces its name (a patient's name, in clear) and
/// username, and ends its sessions.
async fn anonymise_account(conn: &impl Conn, account: &str, now: i64) -> Result<(), StoreError> {
    // The random end of the UUIDv7: unique, and says nothing about the person.
    let tail: String = account
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .chars()
        .rev()
        .take(16)
        .collect();
    users::Entity::update_many()
        .col_expr(users::Column::Status, Expr::value("disabled"))
        .col_expr(users::Column::DisplayName, Expr::value(ERASED_ACCOUNT_NAME))
        .col_expr(
            users::Column::Username,
            Expr::value(format!("erased-{tail}")),
        )
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(account))
        .exec(conn)
        .await?;
    sessions::Entity::update_many()
        .col_expr(sessions::Column::RevokedAt, Expr::value(now))
        .filter(sessions::Column::UserId.eq(account))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    notifications::Entity::delete_many()
        .filter(notifications::Column::RecipientUserId.eq(account))
        .exec(conn)
        .await?;
    notification_preferences::Entity::delete_many()
        .filter(notification_preferences::Column::UserId.eq(account))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records the tombstone; an existing one is left as it is (replay).
pub async fn insert_erasure(conn: &impl Conn, erasure: &ErasureRecord) -> Result<bool, StoreError> {
    let patient_id = erasure.patient_id.to_string();
    if find_erasure(conn, &patient_id).await?.is_some() {
        return Ok(false);
    }
    let row = erasures::ActiveModel {
        patient_id: Set(patient_id),
        erased_at: Set(to_micros(erasure.erased_at)),
        erased_by: Set(erasure.erased_by.map(|id| id.to_string())),
        actor_kind: Set(erasure.actor_kind.clone()),
        reason_category: Set(erasure.reason_category.clone()),
        ledger_sequence: Set(erasure.ledger_sequence.map(stored_sequence)),
    };
    erasures::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(true)
}

pub async fn find_erasure(
    conn: &impl Conn,
    patient: &str,
) -> Result<Option<ErasureRecord>, StoreError> {
    record::one(conn, erasures::Entity::find_by_id(patient.to_owned())).await
}

/// Notes which ledger entry records an erasure.
pub async fn set_ledger_sequence(
    conn: &impl Conn,
    patient: PatientId,
    sequence: u64,
) -> Result<(), StoreError> {
    erasures::Entity::update_many()
        .col_expr(
            erasures::Column::LedgerSequence,
            Expr::value(stored_sequence(sequence)),
        )
        .filter(erasures::Column::PatientId.eq(patient.to_string()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Erasures the ledger file does not record yet, oldest first.
pub async fn erasures_without_ledger(conn: &impl Conn) -> Result<Vec<ErasureRecord>, StoreError> {
    record::all(
        conn,
        erasures::Entity::find()
            .filter(erasures::Column::LedgerSequence.is_null())
            .order_by_asc(erasures::Column::ErasedAt)
            .order_by_asc(erasures::Column::PatientId),
    )
    .await
}

/// How many patients have been erased.
pub async fn erasure_count(conn: &impl Conn) -> Result<u64, StoreError> {
    Ok(erasures::Entity::find().count(conn).await?)
}

pub async fn insert_hold(conn: &impl Conn, hold: &LegalHoldRecord) -> Result<(), StoreError> {
    let row = legal_holds::ActiveModel {
        id: Set(hold.id.to_string()),
        patient_id: Set(hold.patient_id.to_string()),
        reason: Set(hold.reason.clone()),
        set_by: Set(hold.set_by.map(|id| id.to_string())),
        set_at: Set(to_micros(hold.set_at)),
        until: Set(hold.until.map(to_micros)),
        released_at: Set(hold.released_at.map(to_micros)),
        released_by: Set(hold.released_by.map(|id| id.to_string())),
    };
    legal_holds::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find_hold(
    conn: &impl Conn,
    id: LegalHoldId,
) -> Result<Option<LegalHoldRecord>, StoreError> {
    record::one(conn, legal_holds::Entity::find_by_id(id.to_string())).await
}

/// A patient's holds, newest first (released and expired ones included).
pub async fn holds_of(
    conn: &impl Conn,
    patient: PatientId,
) -> Result<Vec<LegalHoldRecord>, StoreError> {
    record::all(
        conn,
        legal_holds::Entity::find()
            .filter(legal_holds::Column::PatientId.eq(patient.to_string()))
            .order_by_desc(legal_holds::Column::SetAt)
            .order_by_desc(legal_holds::Column::Id),
    )
    .await
}

fn in_force(now: DateTime<Utc>) -> Condition {
    let now = to_micros(now);
    Condition::all()
        .add(legal_holds::Column::ReleasedAt.is_null())
        .add(
            Condition::any()
                .add(legal_holds::Column::Until.is_null())
                .add(legal_holds::Column::Until.gt(now)),
        )
}

/// The patient's holds in force at `now`, the one lasting longest first.
pub async fn active_holds(
    conn: &impl Conn,
    patient: &str,
    now: DateTime<Utc>,
) -> Result<Vec<LegalHoldRecord>, StoreError> {
    let mut holds: Vec<LegalHoldRecord> = record::all(
        conn,
        legal_holds::Entity::find()
            .filter(legal_holds::Column::PatientId.eq(patient))
            .filter(in_force(now)),
    )
    .await?;
    holds.sort_by_key(|hold| std::cmp::Reverse(hold.until.unwrap_or(DateTime::<Utc>::MAX_UTC)));
    Ok(holds)
}

/// Releases a hold if it has not been released yet.
pub async fn release_hold(
    conn: &impl Conn,
    id: LegalHoldId,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = legal_holds::Entity::update_many()
        .col_expr(legal_holds::Column::ReleasedAt, Expr::value(to_micros(now)))
        .col_expr(
            legal_holds::Column::ReleasedBy,
            Expr::value(by.map(|id| id.to_string())),
        )
        .filter(legal_holds::Column::Id.eq(id.to_string()))
        .filter(legal_holds::Column::ReleasedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The patients with a hold in force at `now`.
pub async fn held_patients(
    conn: &impl Conn,
    now: DateTime<Utc>,
) -> Result<HashSet<String>, StoreError> {
    let ids: Vec<String> = legal_holds::Entity::find()
        .select_only()
        .column(legal_holds::Column::PatientId)
        .filter(in_force(now))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ids.into_iter().collect())
}

/// When the patient's last encounter started (micros), if they have any.
pub async fn last_encounter_at(conn: &impl Conn, patient: &str) -> Result<Option<i64>, StoreError> {
    let latest: Option<i64> = encounters::Entity::find()
        .select_only()
        .column(encounters::Column::StartedAt)
        .filter(encounters::Column::PatientId.eq(patient))
        .order_by_desc(encounters::Column::StartedAt)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(latest)
}

/// The start of the latest encounter (micros) of each of `patients` that has one.
pub async fn last_encounters(
    conn: &impl Conn,
    patients: &[String],
) -> Result<HashMap<String, i64>, StoreError> {
    if patients.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Option<i64>)> = encounters::Entity::find()
        .select_only()
        .column(encounters::Column::PatientId)
        .column_as(encounters::Column::StartedAt.max(), "latest")
        .filter(encounters::Column::PatientId.is_in(patients.iter().cloned()))
        .group_by(encounters::Column::PatientId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, latest)| latest.map(|latest| (id, latest)))
        .collect())
}

/// Up to `limit` not-erased patients registered before `registered_before` (micros), by
/// id after `after` (keyset paging): id, pseudonym number, registration time (micros), as
/// the retention report needs them. Clear columns only. Someone registered since cannot be
/// past retention, so a young registry reads nothing.
pub async fn retention_subjects(
    conn: &impl Conn,
    registered_before: i64,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let mut query = patients::Entity::find()
        .select_only()
        .column(patients::Column::Id)
        .column(patients::Column::PseudonymNumber)
        .column(patients::Column::CreatedAt)
        .filter(patients::Column::Status.ne(ERASED_STATUS))
        .filter(patients::Column::CreatedAt.lt(registered_before));
    if let Some(after) = after {
        query = query.filter(patients::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(patients::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?)
}
