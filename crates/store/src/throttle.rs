//! Failed sign-ins, counted per key (a hash of an account name or a client address) in a
//! sliding window. Kept in the database so several server processes share the count.

use carevault_core::time::{from_micros, to_micros};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::login_failures::{self, Column, Entity};
use crate::error::StoreError;

/// Records a failure (or reserves an attempt) and returns its row id.
pub async fn record_failure(
    conn: &impl Conn,
    key_hash: &str,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let row = login_failures::ActiveModel {
        key_hash: Set(key_hash.to_owned()),
        failed_at: Set(to_micros(at)),
        ..Default::default()
    };
    Ok(Entity::insert(row).exec(conn).await?.last_insert_id)
}

/// Deletes the failures with these row ids (a reserved attempt that turned out fine).
pub async fn delete(conn: &impl Conn, ids: &[i64]) -> Result<(), StoreError> {
    if !ids.is_empty() {
        Entity::delete_many()
            .filter(Column::Id.is_in(ids.to_vec()))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Failures for `key_hash` at or after `since`: how many, and the earliest of them.
pub async fn failures_since(
    conn: &impl Conn,
    key_hash: &str,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
    let times: Vec<i64> = Entity::find()
        .select_only()
        .column(Column::FailedAt)
        .filter(Column::KeyHash.eq(key_hash))
        .filter(Column::FailedAt.gte(to_micros(since)))
        .order_by_desc(Column::FailedAt)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    Ok((times.len() as u64, times.last().copied().map(from_micros)))
}

/// How many failures for `key_hash` at or after `since` were recorded no later than the
/// failure with row id `up_to` (row ids grow with every insert). Lets concurrent attempts
/// agree on an order: the attempt whose reservation is the N-th is the N-th attempt.
pub async fn failures_up_to(
    conn: &impl Conn,
    key_hash: &str,
    since: DateTime<Utc>,
    up_to: i64,
) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(Entity::find()
        .filter(Column::KeyHash.eq(key_hash))
        .filter(Column::FailedAt.gte(to_micros(since)))
        .filter(Column::Id.lte(up_to))
        .count(conn)
        .await?)
}

/// Forgets the failures of `key_hash` (after a successful sign-in).
pub async fn clear(conn: &impl Conn, key_hash: &str) -> Result<(), StoreError> {
    Entity::delete_many()
        .filter(Column::KeyHash.eq(key_hash))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes failures older than `before`; they no longer count for anything.
pub async fn prune(conn: &impl Conn, before: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(Entity::delete_many()
        .filter(Column::FailedAt.lt(to_micros(before)))
        .exec(conn)
        .await?
        .rows_affected)
}
