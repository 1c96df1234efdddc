//! Server-side sessions. The token itself is never stored: rows are found by its SHA-256.

use carevault_core::time::to_micros;
use carevault_core::{SessionId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::Conn;
use crate::entity::sessions::{self, Column, Entity};
use crate::error::StoreError;
use crate::record::{self, Row};

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end of the session, whatever the activity.
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<sessions::Model> for SessionRecord {
    type Error = StoreError;

    fn try_from(m: sessions::Model) -> Result<Self, StoreError> {
        let row = Row("sessions");
        Ok(SessionRecord {
            id: row.parse("id", &m.id)?,
            user_id: row.parse("user_id", &m.user_id)?,
            created_at: row.time(m.created_at),
            last_seen_at: row.time(m.last_seen_at),
            expires_at: row.time(m.expires_at),
            revoked_at: row.time_opt(m.revoked_at),
        })
    }
}

#[derive(Debug)]
pub struct NewSession<'a> {
    pub id: SessionId,
    pub token_hash: &'a str,
    pub user_id: UserId,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &impl Conn, new: &NewSession<'_>) -> Result<(), StoreError> {
    let row = sessions::ActiveModel {
        id: Set(new.id.to_string()),
        token_hash: Set(new.token_hash.to_owned()),
        user_id: Set(new.user_id.to_string()),
        created_at: Set(to_micros(new.now)),
        last_seen_at: Set(to_micros(new.now)),
        expires_at: Set(to_micros(new.expires_at)),
        revoked_at: Set(None),
    };
    Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

pub async fn find_by_token_hash(
    conn: &impl Conn,
    token_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    record::one(
        conn,
        Entity::find().filter(Column::TokenHash.eq(token_hash)),
    )
    .await
}

/// Marks the session as used now (for the idle timeout).
pub async fn touch(conn: &impl Conn, id: SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::LastSeenAt, Expr::value(to_micros(now)))
        .filter(Column::Id.eq(id.to_string()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes one session; returns whether it was still live.
pub async fn revoke(
    conn: &impl Conn,
    id: SessionId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(to_micros(now)))
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Revokes every live session of `user`, except `keep` if given; returns how many.
pub async fn revoke_all_for_user(
    conn: &impl Conn,
    user: UserId,
    keep: Option<SessionId>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut update = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(to_micros(now)))
        .filter(Column::UserId.eq(user.to_string()))
        .filter(Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(Column::Id.ne(keep.to_string()));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

/// Sessions neither revoked, expired nor idle past `idle_cutoff`.
pub async fn count_active(
    conn: &impl Conn,
    now: DateTime<Utc>,
    idle_cutoff: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(Entity::find()
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(to_micros(now)))
        .filter(Column::LastSeenAt.gt(to_micros(idle_cutoff)))
        .count(conn)
        .await?)
}

/// Deletes sessions that ended (expired or revoked) before `before`; returns how many.
pub async fn prune(conn: &impl Conn, before: DateTime<Utc>) -> Result<u64, StoreError> {
    use sea_orm::Condition;
    let cutoff = to_micros(before);
    Ok(Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::ExpiresAt.lt(cutoff))
                .add(Column::RevokedAt.lt(cutoff)),
        )
        .exec(conn)
        .await?
        .rows_affected)
}
