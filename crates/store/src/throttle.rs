//! Failed sign-ins, counted per key (a hash of an account name or a client address) in a
//! sliding window. Kept in the database so several server processes share the count.

use carevault_core::time::{from_micros, to_micros};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::login_failures::{self, Column, Entity};
use crate::error::StoreError;

pub async fn record_failure(
    conn: &impl Conn,
    key_hash: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = login_failures::ActiveModel {
        key_hash: Set(key_hash.to_owned()),
        failed_at: Set(to_micros(at)),
        ..Default::default()
    };
    Entity::insert(row).exec_without_returning(conn).await?;
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
