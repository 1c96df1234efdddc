//! Notifications persistence: the outbox / in-app inbox and the users' preferences.
//!
//! Every change of a notification's delivery state is a conditional update on the state it
//! was read in (`status = 'pending' AND attempts = n`), like the stock decrement in
//! `pharmacy.rs`: two delivery runs racing over the same row cannot both send it, and a
//! reminder cancelled meanwhile is not marked sent. `rows_affected` says who won.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::Conn;
use crate::entity::{notification_preferences, notifications};
use crate::error::StoreError;

pub type NotificationRow = notifications::Model;
pub type PreferencesRow = notification_preferences::Model;

/// The delivery statuses as stored (see `carevault_core::notification::DeliveryStatus`).
const PENDING: &str = "pending";
const SENT: &str = "sent";
const CANCELLED: &str = "cancelled";

pub async fn insert(conn: &impl Conn, row: NotificationRow) -> Result<(), StoreError> {
    notifications::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &impl Conn, id: &str) -> Result<Option<NotificationRow>, StoreError> {
    Ok(notifications::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?)
}

/// Whether a notification with this dedupe key exists.
pub async fn dedupe_key_exists(conn: &impl Conn, key: &str) -> Result<bool, StoreError> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::DedupeKey.eq(key))
        .count(conn)
        .await?
        > 0)
}

/// What the outbox list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    pub recipient_user_id: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub channel: Option<String>,
}

/// Notifications matching `filter`, newest first, at most `limit`.
pub async fn list(
    conn: &impl Conn,
    filter: &NotificationFilter,
    limit: u64,
) -> Result<Vec<NotificationRow>, StoreError> {
    let mut query = notifications::Entity::find();
    if let Some(recipient) = &filter.recipient_user_id {
        query = query.filter(notifications::Column::RecipientUserId.eq(recipient.as_str()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(notifications::Column::Status.eq(status.as_str()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(notifications::Column::Kind.eq(kind.as_str()));
    }
    if let Some(channel) = &filter.channel {
        query = query.filter(notifications::Column::Channel.eq(channel.as_str()));
    }
    Ok(query
        .order_by_desc(notifications::Column::CreatedAt)
        .order_by_desc(notifications::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// A user's unread in-app notifications that have been delivered.
pub async fn unread_count(conn: &impl Conn, user_id: &str) -> Result<u64, StoreError> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::RecipientUserId.eq(user_id))
        .filter(notifications::Column::Channel.eq("in_app"))
        .filter(notifications::Column::Status.eq(SENT))
        .filter(notifications::Column::ReadAt.is_null())
        .count(conn)
        .await?)
}

/// Pending notifications of `channel` whose next attempt is due at `now`, oldest due first.
pub async fn due(
    conn: &impl Conn,
    channel: &str,
    now: i64,
    limit: u64,
) -> Result<Vec<NotificationRow>, StoreError> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::Status.eq(PENDING))
        .filter(notifications::Column::Channel.eq(channel))
        .filter(notifications::Column::NextAttemptAt.lte(now))
        .order_by_asc(notifications::Column::NextAttemptAt)
        .order_by_asc(notifications::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Marks a pending notification sent, only if it is still pending after `attempts` attempts:
/// `false` (nothing changed) if someone else moved it meanwhile.
pub async fn mark_sent(
    conn: &impl Conn,
    id: &str,
    attempts: i32,
    now: i64,
) -> Result<bool, StoreError> {
    let result = notifications::Entity::update_many()
        .col_expr(notifications::Column::Status, Expr::value(SENT))
        .col_expr(notifications::Column::Attempts, Expr::value(attempts + 1))
        .col_expr(notifications::Column::SentAt, Expr::value(now))
        .col_expr(
            notifications::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(notifications::Column::Id.eq(id))
        .filter(notifications::Column::Status.eq(PENDING))
        .filter(notifications::Column::Attempts.eq(attempts))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a failed attempt of a pending notification read after `attempts` attempts: the
/// new status (`pending` to retry at `next_attempt_at`, or `failed`) and the error.
/// `false` if it changed meanwhile.
pub async fn record_failure(
    conn: &impl Conn,
    id: &str,
    attempts: i32,
    status: &str,
    next_attempt_at: i64,
    error: &str,
) -> Result<bool, StoreError> {
    let result = notifications::Entity::update_many()
        .col_expr(notifications::Column::Status, Expr::value(status))
        .col_expr(notifications::Column::Attempts, Expr::value(attempts + 1))
        .col_expr(
            notifications::Column::NextAttemptAt,
            Expr::value(next_attempt_at),
        )
        .col_expr(notifications::Column::LastError, Expr::value(error))
        .filter(notifications::Column::Id.eq(id))
        .filter(notifications::Column::Status.eq(PENDING))
        .filter(notifications::Column::Attempts.eq(attempts))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Cancels every pending notification of `kind` about `related_id` (an appointment's
/// reminders); returns how many.
pub async fn cancel_pending(
    conn: &impl Conn,
    related_id: &str,
    kind: &str,
) -> Result<u64, StoreError> {
    let result = notifications::Entity::update_many()
        .col_expr(notifications::Column::Status, Expr::value(CANCELLED))
        .filter(notifications::Column::RelatedId.eq(related_id))
        .filter(notifications::Column::Kind.eq(kind))
        .filter(notifications::Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Marks a recipient's notification read (once): `false` if it is not theirs, not found
/// or read already.
pub async fn mark_read(
    conn: &impl Conn,
    id: &str,
    recipient_user_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let result = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(now))
        .filter(notifications::Column::Id.eq(id))
        .filter(notifications::Column::RecipientUserId.eq(recipient_user_id))
        .filter(notifications::Column::ReadAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_preferences(
    conn: &impl Conn,
    user_id: &str,
) -> Result<Option<PreferencesRow>, StoreError> {
    Ok(
        notification_preferences::Entity::find_by_id(user_id.to_owned())
            .one(conn)
            .await?,
    )
}

/// Writes a user's preferences (inserted the first time, replaced afterwards).
pub async fn save_preferences(conn: &impl Conn, row: PreferencesRow) -> Result<(), StoreError> {
    if find_preferences(conn, &row.user_id).await?.is_some() {
        notification_preferences::Entity::update_many()
            .col_expr(
                notification_preferences::Column::EmailEnabled,
                Expr::value(row.email_enabled),
            )
            .col_expr(
                notification_preferences::Column::RemindersEnabled,
                Expr::value(row.reminders_enabled),
            )
            .col_expr(
                notification_preferences::Column::UpdatedAt,
                Expr::value(row.updated_at),
            )
            .filter(notification_preferences::Column::UserId.eq(row.user_id.as_str()))
            .exec(conn)
            .await?;
    } else {
        notification_preferences::Entity::insert(notification_preferences::ActiveModel {
            user_id: Set(row.user_id),
            email_enabled: Set(row.email_enabled),
            reminders_enabled: Set(row.reminders_enabled),
            updated_at: Set(row.updated_at),
        })
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}
