//! Patient rows (sealed), their blind indexes, and the counters that number them.
//!
//! Everything here is opaque bytes and keyed hashes: the service layer seals before it
//! writes and opens after it reads. Rows are handed out as [`PatientRow`], the stored form
//! with typed plain columns.

use std::collections::HashMap;

use carevault_core::patient::{PatientStatus, Sex};
use carevault_core::time::to_micros;
use carevault_core::{PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, Order, Query, UnionType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::Conn;
use crate::entity::counters;
use crate::entity::patient_search_index as search_index;
use crate::entity::patients::{self, Column, Entity};
use crate::error::StoreError;
use crate::record::{self, Row};

/// A patient row as stored: sealed columns are bytes, never plaintext; the plain columns
/// are domain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRow {
    pub id: PatientId,
    pub pseudonym_number: i64,
    pub status: PatientStatus,
    pub sex: Sex,
    pub birth_year: i32,
    /// The portal account linked to this record.
    pub account_id: Option<UserId>,
    pub wrapped_data_key: Vec<u8>,
    pub kek_version: i32,
    pub mrn: Vec<u8>,
    pub given_name: Vec<u8>,
    pub family_name: Vec<u8>,
    pub date_of_birth: Vec<u8>,
    pub gender_identity: Option<Vec<u8>>,
    pub address: Option<Vec<u8>>,
    pub phone: Option<Vec<u8>>,
    pub email: Option<Vec<u8>>,
    pub emergency_contact: Option<Vec<u8>>,
    pub national_id: Option<Vec<u8>>,
    pub preferred_language: Option<Vec<u8>>,
    pub blood_group: Option<Vec<u8>>,
    /// The old free-text allergy list (see [`clear_legacy_allergies`]).
    pub allergies: Option<Vec<u8>>,
    pub primary_diagnosis: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    /// Also the row's version: conditional writes compare it.
    pub updated_at: DateTime<Utc>,
}

impl PatientRow {
    /// Whether the record has been crypto-shredded (only a tombstone is left).
    pub fn is_erased(&self) -> bool {
        self.status == PatientStatus::Erased
    }
}

impl TryFrom<patients::Model> for PatientRow {
    type Error = StoreError;

    fn try_from(m: patients::Model) -> Result<Self, StoreError> {
        let row = Row("patients");
        Ok(PatientRow {
            id: row.parse("id", &m.id)?,
            pseudonym_number: m.pseudonym_number,
            status: row.convert("status", m.status.as_str(), PatientStatus::parse)?,
            sex: row.convert("sex", m.sex.as_str(), Sex::parse)?,
            birth_year: m.birth_year,
            account_id: row.parse_opt("account_id", m.account_id.as_deref())?,
            wrapped_data_key: m.wrapped_data_key,
            kek_version: m.kek_version,
            mrn: m.mrn,
            given_name: m.given_name,
            family_name: m.family_name,
            date_of_birth: m.date_of_birth,
            gender_identity: m.gender_identity,
            address: m.address,
            phone: m.phone,
            email: m.email,
            emergency_contact: m.emergency_contact,
            national_id: m.national_id,
            preferred_language: m.preferred_language,
            blood_group: m.blood_group,
            allergies: m.allergies,
            primary_diagnosis: m.primary_diagnosis,
            created_at: row.time(m.created_at),
            updated_at: row.time(m.updated_at),
        })
    }
}

impl From<PatientRow> for patients::Model {
    fn from(r: PatientRow) -> Self {
        patients::Model {
            id: r.id.to_string(),
            pseudonym_number: r.pseudonym_number,
            status: r.status.as_str().to_owned(),
            sex: r.sex.as_str().to_owned(),
            birth_year: r.birth_year,
            account_id: r.account_id.map(|id| id.to_string()),
            wrapped_data_key: r.wrapped_data_key,
            kek_version: r.kek_version,
            mrn: r.mrn,
            given_name: r.given_name,
            family_name: r.family_name,
            date_of_birth: r.date_of_birth,
            gender_identity: r.gender_identity,
            address: r.address,
            phone: r.phone,
            email: r.email,
            emergency_contact: r.emergency_contact,
            national_id: r.national_id,
            preferred_language: r.preferred_language,
            blood_group: r.blood_group,
            allergies: r.allergies,
            primary_diagnosis: r.primary_diagnosis,
            created_at: to_micros(r.created_at),
            updated_at: to_micros(r.updated_at),
        }
    }
}

/// The status of crypto-shredded records, which lists and searches leave out.
pub const ERASED_STATUS: &str = "erased";

/// One blind index of a patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The index kind's label (`carevault_crypto::blind_index::IndexKind::label`).
    pub kind: &'static str,
    /// The blind index: lowercase hex.
    pub value: String,
    /// Lower sorts first in search results.
    pub weight: i16,
}

/// How an unfiltered patient list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// Most recently registered first.
    #[default]
    NewestFirst,
    /// Oldest registration first.
    OldestFirst,
    /// Most recently changed first.
    RecentlyUpdated,
}

/// The next value of the counter `name`, starting at `first`. Call it inside the
/// transaction that uses the value: on PostgreSQL and MariaDB the counter row stays locked
/// until that transaction ends, so two registrations never get the same number. When two
/// transactions create a new counter at once, the second gets `Contention`: PostgreSQL has
/// aborted its transaction by then, and the whole transaction, run again, finds the row.
pub async fn next_counter_value(
    conn: &impl Conn,
    name: &str,
    first: i64,
) -> Result<i64, StoreError> {
    reserve_counter_values(conn, name, first, 1).await
}

/// Reserves the next `count` values (at least one) of counter `name` at once, as
/// [`next_counter_value`] does one; returns the first of them.
pub async fn reserve_counter_values(
    conn: &impl Conn,
    name: &str,
    first: i64,
    count: i64,
) -> Result<i64, StoreError> {
    let count = Ord::max(count, 1);
    let updated = counters::Entity::update_many()
        .col_expr(
            counters::Column::Value,
            Expr::col(counters::Column::Value).add(count),
        )
        .filter(counters::Column::Name.eq(name))
        .exec(conn)
        .await?;
    if updated.rows_affected == 0 {
        let row = counters::ActiveModel {
            name: Set(name.to_owned()),
            value: Set(first + count - 1),
        };
        return match counters::Entity::insert(row)
            .exec_without_returning(conn)
            .await
        {
            Ok(_) => Ok(first),
            Err(err) => match StoreError::from(err) {
                StoreError::UniqueViolation(what) => Err(StoreError::Contention(
                    sea_orm::DbErr::Custom(format!("counter {name} created concurrently: {what}")),
                )),
                other => Err(other),
            },
        };
    }
    let row = counters::Entity::find_by_id(name.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("counter {name} vanished")))?;
    Ok(row.value - count + 1)
}

/// Stores new patient rows and their blind indexes: two statements for one registration, a
/// few multi-row statements for a batch (an import, the synthetic seed).
pub async fn insert_many(
    conn: &impl Conn,
    patients: Vec<(PatientRow, Vec<IndexEntry>)>,
) -> Result<(), StoreError> {
    let mut index = Vec::new();
    let mut rows = Vec::with_capacity(patients.len());
    for (row, entries) in patients {
        index.extend(index_rows(row.id, &entries));
        rows.push(patients::Model::from(row).into_active_model());
    }
    // Well under every backend's limit of bound parameters per statement.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    insert_index(conn, &index).await
}

/// One patient's blind-index rows, without repeats.
fn index_rows(patient_id: PatientId, index: &[IndexEntry]) -> Vec<search_index::ActiveModel> {
    let mut seen = std::collections::HashSet::new();
    index
        .iter()
        .filter(|entry| seen.insert((entry.kind, entry.value.clone())))
        .map(|entry| search_index::ActiveModel {
            kind: Set(entry.kind.to_owned()),
            value: Set(entry.value.clone()),
            patient_id: Set(patient_id.to_string()),
            weight: Set(entry.weight),
        })
        .collect()
}

async fn insert_index(
    conn: &impl Conn,
    rows: &[search_index::ActiveModel],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(2000) {
        search_index::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Writes every column of an existing row (except its wrapped data key, which only key
/// rotation changes, through [`replace_wrapped_key`], and the old free-text `allergies`,
/// which only [`clear_legacy_allergies`] empties) and replaces its blind indexes — if
/// the stored row's `updated_at` is still `read_at` (the value this change was based on).
/// `false` when someone else changed the row meanwhile: nothing is written.
pub async fn update(
    conn: &impl Conn,
    row: PatientRow,
    read_at: DateTime<Utc>,
    index: &[IndexEntry],
) -> Result<bool, StoreError> {
    let id = row.id;
    let mut active = patients::Model::from(row).into_active_model();
    for column in [
        Column::Status,
        Column::Sex,
        Column::BirthYear,
        Column::AccountId,
        Column::Mrn,
        Column::GivenName,
        Column::FamilyName,
        Column::DateOfBirth,
        Column::GenderIdentity,
        Column::Address,
        Column::Phone,
        Column::Email,
        Column::EmergencyContact,
        Column::NationalId,
        Column::PreferredLanguage,
        Column::BloodGroup,
        Column::PrimaryDiagnosis,
        Column::UpdatedAt,
    ] {
        active.reset(column);
    }
    active.not_set(Column::Id);
    let result = Entity::update_many()
        .set(active)
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::UpdatedAt.eq(to_micros(read_at)))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Ok(false);
    }
    search_index::Entity::delete_many()
        .filter(search_index::Column::PatientId.eq(id.to_string()))
        .exec(conn)
        .await?;
    insert_index(conn, &index_rows(id, index)).await?;
    Ok(true)
}

/// The patient row, unless it is erased (an erased patient is unknown to every use case
/// but erasure's own: `privacy::find_patient`).
pub async fn find(conn: &impl Conn, id: PatientId) -> Result<Option<PatientRow>, StoreError> {
    record::one(
        conn,
        Entity::find_by_id(id.to_string()).filter(Column::Status.ne(ERASED_STATUS)),
    )
    .await
}

/// The patient record linked to a portal account.
pub async fn find_by_account(
    conn: &impl Conn,
    account: UserId,
) -> Result<Option<PatientRow>, StoreError> {
    record::one(
        conn,
        Entity::find().filter(Column::AccountId.eq(account.to_string())),
    )
    .await
}

pub async fn find_by_pseudonym(
    conn: &impl Conn,
    number: i64,
) -> Result<Option<PatientRow>, StoreError> {
    record::one(
        conn,
        Entity::find()
            .filter(Column::PseudonymNumber.eq(number))
            .filter(Column::Status.ne(ERASED_STATUS)),
    )
    .await
}

/// Which of these pseudonym numbers are already taken (one query).
pub async fn pseudonyms_taken(
    conn: &impl Conn,
    numbers: &[i64],
) -> Result<std::collections::HashSet<i64>, StoreError> {
    if numbers.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    Ok(Entity::find()
        .select_only()
        .column(Column::PseudonymNumber)
        .filter(Column::PseudonymNumber.is_in(numbers.iter().copied()))
        .into_tuple::<i64>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

/// The rows with these ids, in the order of `ids` (missing and erased ids are skipped).
pub async fn find_many(conn: &impl Conn, ids: &[PatientId]) -> Result<Vec<PatientRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let mut rows: Vec<PatientRow> = record::all(
        conn,
        Entity::find()
            .filter(Column::Id.is_in(wanted))
            .filter(Column::Status.ne(ERASED_STATUS)),
    )
    .await?;
    rows.sort_by_key(|row| {
        ids.iter()
            .position(|id| *id == row.id)
            .unwrap_or(usize::MAX)
    });
    Ok(rows)
}

/// One page of the patients not erased, and how many there are.
pub async fn list(
    conn: &impl Conn,
    order: ListOrder,
    offset: u64,
    limit: u64,
) -> Result<(Vec<PatientRow>, u64), StoreError> {
    let base = Entity::find().filter(Column::Status.ne(ERASED_STATUS));
    let total = count_not_erased(conn).await?;
    let ordered = match order {
        ListOrder::NewestFirst => base.order_by_desc(Column::Id),
        ListOrder::OldestFirst => base.order_by_asc(Column::Id),
        ListOrder::RecentlyUpdated => base
            .order_by_desc(Column::UpdatedAt)
            .order_by_desc(Column::Id),
    };
    let rows = record::all(conn, ordered.offset(offset).limit(limit)).await?;
    Ok((rows, total))
}

/// The patients any of `entries` (kind label, blind index) points at — among those on
/// `care_team_of`'s care team, if given: one page of ids, best match (lowest weight) first
/// and newest first among equals, and the number of matches.
///
/// A common family name matches every sound-alike (26,000 rows for "Smith" among a million
/// patients), so the matches are never grouped or sorted as a whole. One statement reads, for
/// each entry, its first `offset + limit` rows in key order (newest first); the page is
/// merged from those. That is exact: a patient on the page has, in the entry that gives its
/// best weight, fewer than `offset + limit` patients before it (each of them sorts before it
/// overall too). The total is counted over the entries that matched at all: a plain count of
/// one key range when only one did.
pub async fn search(
    conn: &impl Conn,
    entries: &[(&str, String)],
    care_team_of: Option<UserId>,
    offset: u64,
    limit: u64,
) -> Result<(Vec<PatientId>, u64), StoreError> {
    let on_team = |condition: Condition| match care_team_of {
        // Only the patients on this clinician's care team.
        Some(user) => Condition::all().add(condition).add(
            Expr::col(search_index::Column::PatientId).in_subquery(
                Query::select()
                    .column(crate::entity::care_team_members::Column::PatientId)
                    .from(crate::entity::care_team_members::Entity)
                    .and_where(
                        Expr::col(crate::entity::care_team_members::Column::UserId)
                            .eq(user.to_string()),
                    )
                    .to_owned(),
            ),
        ),
        None => condition,
    };
    let matches = |kind: &str, value: &str| {
        on_team(
            Condition::all()
                .add(search_index::Column::Kind.eq(kind))
                .add(search_index::Column::Value.eq(value)),
        )
    };
    // The backends bind LIMIT as a signed 64-bit number (a page far past the end is empty).
    let wanted = Ord::min(offset.saturating_add(limit), i64::MAX.unsigned_abs());
    let mut heads: Option<sea_orm::sea_query::SelectStatement> = None;
    for (i, (kind, value)) in entries.iter().enumerate() {
        let head = Query::select()
            .column(Asterisk)
            .from_subquery(
                Query::select()
                    .columns([
                        search_index::Column::Kind,
                        search_index::Column::Value,
                        search_index::Column::PatientId,
                        search_index::Column::Weight,
                    ])
                    .from(search_index::Entity)
                    .cond_where(matches(kind, value))
                    .order_by(search_index::Column::PatientId, Order::Desc)
                    .limit(wanted)
                    .to_owned(),
                Alias::new(format!("e{i}")),
            )
            .to_owned();
        heads = Some(match heads {
            Some(mut all) => all.union(UnionType::All, head).to_owned(),
            None => head,
        });
    }
    let Some(heads) = heads else {
        return Ok((Vec::new(), 0));
    };
    // Best weight per patient, and which entries matched anything.
    let mut best: HashMap<String, i16> = HashMap::new();
    let mut matched: Vec<(String, String)> = Vec::new();
    for row in conn.query_all(&heads).await? {
        let kind: String = row.try_get("", "kind")?;
        let value: String = row.try_get("", "value")?;
        let id: String = row.try_get("", "patient_id")?;
        let weight: i16 = row.try_get("", "weight")?;
        best.entry(id)
            .and_modify(|w| *w = Ord::min(*w, weight))
            .or_insert(weight);
        if !matched.iter().any(|(k, v)| *k == kind && *v == value) {
            matched.push((kind, value));
        }
    }
    // Ids are fixed-format lowercase UUIDs, so Rust's byte order is the databases' order.
    let mut ranked: Vec<(i16, String)> = best.into_iter().map(|(id, w)| (w, id)).collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
    let mut ids = Vec::with_capacity(usize::try_from(limit).unwrap_or(0));
    for (_, id) in ranked
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        ids.push(Row("patient_search_index").parse("patient_id", &id)?);
    }
    // A page that is not full and not past the end says the total itself.
    let len = u64::try_from(ids.len()).unwrap_or(u64::MAX);
    if len < limit && (len > 0 || offset == 0) {
        return Ok((ids, offset + len));
    }
    let (count, condition) = match matched.as_slice() {
        [] => return Ok((ids, 0)),
        [(kind, value)] => (
            Func::count(Expr::col(search_index::Column::PatientId)),
            matches(kind, value),
        ),
        _ => (
            Func::count_distinct(Expr::col(search_index::Column::PatientId)),
            matched.iter().fold(Condition::any(), |any, (kind, value)| {
                any.add(matches(kind, value))
            }),
        ),
    };
    let count = Query::select()
        .expr_as(count, Alias::new("n"))
        .from(search_index::Entity)
        .cond_where(condition)
        .to_owned();
    let total = match conn.query_one(&count).await? {
        Some(row) => u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0),
        None => 0,
    };
    Ok((ids, total))
}

/// The patients that share any of `entries` (for the duplicate check at registration).
pub async fn matching_ids(
    conn: &impl Conn,
    entries: &[(&str, String)],
    limit: u64,
) -> Result<Vec<PatientId>, StoreError> {
    search(conn, entries, None, 0, limit)
        .await
        .map(|(ids, _)| ids)
}

/// The index kinds stored for one patient (for the encryption view).
pub async fn index_kinds(conn: &impl Conn, id: PatientId) -> Result<Vec<String>, StoreError> {
    let mut kinds: Vec<String> = search_index::Entity::find()
        .filter(search_index::Column::PatientId.eq(id.to_string()))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| row.kind)
        .collect();
    kinds.sort();
    kinds.dedup();
    Ok(kinds)
}

/// Up to `limit` rows in id order after `after` (keyset paging over the whole table).
pub async fn batch_after(
    conn: &impl Conn,
    after: Option<PatientId>,
    limit: u64,
) -> Result<Vec<PatientRow>, StoreError> {
    let mut query = Entity::find().order_by_asc(Column::Id);
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after.to_string()));
    }
    record::all(conn, query.limit(limit)).await
}

/// Up to `limit` (id, wrapped data key) pairs still wrapped under a KEK older than `version`.
pub async fn wrapped_keys_below(
    conn: &impl Conn,
    version: u32,
    limit: u64,
) -> Result<Vec<(PatientId, Vec<u8>, i32)>, StoreError> {
    let version = i32::try_from(version).unwrap_or(i32::MAX);
    let rows: Vec<(String, Vec<u8>, i32)> = Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::WrappedDataKey)
        .column(Column::KekVersion)
        .filter(Column::KekVersion.lt(version))
        // Erased patients have no data key left to re-wrap.
        .filter(Column::Status.ne(ERASED_STATUS))
        .order_by_asc(Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|(id, wrapped, version)| Ok((Row("patients").parse("id", &id)?, wrapped, version)))
        .collect()
}

/// Replaces a wrapped data key if it is still the one read (`from_version`); `false` when
/// another process changed it meanwhile.
pub async fn replace_wrapped_key(
    conn: &impl Conn,
    id: PatientId,
    from_version: i32,
    wrapped: Vec<u8>,
    to_version: u32,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::WrappedDataKey, Expr::value(wrapped))
        .col_expr(
            Column::KekVersion,
            Expr::value(i32::try_from(to_version).unwrap_or(i32::MAX)),
        )
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::KekVersion.eq(from_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// How many data keys each KEK version wraps.
pub async fn count_by_kek_version(conn: &impl Conn) -> Result<Vec<(u32, u64)>, StoreError> {
    let rows: Vec<(i32, i64)> = Entity::find()
        .select_only()
        .column(Column::KekVersion)
        .column_as(Expr::col(Column::Id).count(), "n")
        .filter(Column::Status.ne(ERASED_STATUS))
        .group_by(Column::KekVersion)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(version, n)| {
            (
                u32::try_from(version).unwrap_or(0),
                u64::try_from(n).unwrap_or(0),
            )
        })
        .collect())
}

/// The patient records not erased, from the tallies the database keeps (no table scan).
pub async fn count_not_erased(conn: &impl Conn) -> Result<u64, StoreError> {
    let tallies: Vec<i64> = crate::entity::patient_tallies::Entity::find()
        .select_only()
        .column(crate::entity::patient_tallies::Column::N)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(tallies
        .into_iter()
        .map(|n| u64::try_from(n).unwrap_or(0))
        .sum())
}

/// Takes the patient row's lock for the rest of the transaction (SQLite: the write lock)
/// without changing the row, so that changes to the patient's allergy or problem list that
/// check the list first run one after the other. Call it first in the transaction.
pub async fn lock_row(conn: &impl Conn, id: PatientId) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::UpdatedAt, Expr::col(Column::UpdatedAt))
        .filter(Column::Id.eq(id.to_string()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Up to `limit` rows (not erased) whose old free-text `allergies` column still holds a
/// value, in id order, after `after` (an id) if given.
pub async fn with_legacy_allergies(
    conn: &impl Conn,
    after: Option<PatientId>,
    limit: u64,
) -> Result<Vec<PatientRow>, StoreError> {
    let mut query = Entity::find()
        .filter(Column::Allergies.is_not_null())
        .filter(Column::Status.ne(ERASED_STATUS));
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after.to_string()));
    }
    record::all(conn, query.order_by_asc(Column::Id).limit(limit)).await
}

/// Empties the old free-text `allergies` column of a row whose `updated_at` is still
/// `read_at` (its version is left as it is: what the record shows has not changed). `false`
/// when the row changed meanwhile or the column is empty already.
pub async fn clear_legacy_allergies(
    conn: &impl Conn,
    id: PatientId,
    read_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::Allergies, Expr::value(Option::<Vec<u8>>::None))
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::UpdatedAt.eq(to_micros(read_at)))
        .filter(Column::Allergies.is_not_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
