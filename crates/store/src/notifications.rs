//! Notifications persistence: the outbox / in-app inbox and the users' preferences.
//!
//! Every change of a notification's delivery state is a conditional update on the state it
//! was read in (`status = 'pending' AND attempts = n`), like the stock decrement in
//! `pharmacy.rs`: two delivery runs racing over the same row cannot both send it, and a
//! reminder cancelled meanwhile is not marked sent. `rows_affected` says who won.

use carevault_core::notification::{Channel, DeliveryStatus, NotificationKind};
use carevault_core::time::to_micros;
use carevault_core::{NotificationId, PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, UpdateMany,
};

use crate::Conn;
use crate::entity::{notification_preferences, notifications};
use crate::error::StoreError;
use crate::record::{self, Row};

const ROW: Row = Row("notifications");

/// One notification on one channel. Its `Debug` output leaves out the texts.
#[derive(Clone)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub recipient_user_id: UserId,
    /// The patient it is about, if any: its texts are sealed under that patient's key.
    pub patient_id: Option<PatientId>,
    pub kind: NotificationKind,
    pub channel: Channel,
    /// Sealed when about a patient, else UTF-8 text.
    pub subject: Vec<u8>,
    pub body: Vec<u8>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// What it is about (an appointment, a grant, …), as its id's text.
    pub related_id: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for NotificationRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl TryFrom<notifications::Model> for NotificationRecord {
    type Error = StoreError;

    fn try_from(m: notifications::Model) -> Result<Self, StoreError> {
        Ok(NotificationRecord {
            id: ROW.parse("id", &m.id)?,
            recipient_user_id: ROW.parse("recipient_user_id", &m.recipient_user_id)?,
            patient_id: ROW.parse_opt("patient_id", m.patient_id.as_deref())?,
            kind: ROW.convert("kind", m.kind.as_str(), NotificationKind::parse)?,
            channel: ROW.convert("channel", m.channel.as_str(), Channel::parse)?,
            subject: m.subject,
            body: m.body,
            status: ROW.convert("status", m.status.as_str(), DeliveryStatus::parse)?,
            attempts: ROW.convert("attempts", m.attempts, u32::try_from)?,
            next_attempt_at: ROW.time(m.next_attempt_at),
            last_error: m.last_error,
            related_id: m.related_id,
            dedupe_key: m.dedupe_key,
            created_at: ROW.time(m.created_at),
            sent_at: ROW.time_opt(m.sent_at),
            read_at: ROW.time_opt(m.read_at),
        })
    }
}

/// `attempts` as stored.
fn stored_attempts(attempts: u32) -> Result<i32, StoreError> {
    ROW.convert("attempts", attempts, i32::try_from)
}

pub async fn insert(conn: &impl Conn, n: &NotificationRecord) -> Result<(), StoreError> {
    let row = notifications::ActiveModel {
        id: Set(n.id.to_string()),
        recipient_user_id: Set(n.recipient_user_id.to_string()),
        patient_id: Set(n.patient_id.map(|id| id.to_string())),
        kind: Set(n.kind.as_str().to_owned()),
        channel: Set(n.channel.as_str().to_owned()),
        subject: Set(n.subject.clone()),
        body: Set(n.body.clone()),
        status: Set(n.status.as_str().to_owned()),
        attempts: Set(stored_attempts(n.attempts)?),
        next_attempt_at: Set(to_micros(n.next_attempt_at)),
        last_error: Set(n.last_error.clone()),
        related_id: Set(n.related_id.clone()),
        dedupe_key: Set(n.dedupe_key.clone()),
        created_at: Set(to_micros(n.created_at)),
        sent_at: Set(n.sent_at.map(to_micros)),
        read_at: Set(n.read_at.map(to_micros)),
    };
    notifications::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find(
    conn: &impl Conn,
    id: NotificationId,
) -> Result<Option<NotificationRecord>, StoreError> {
    record::one(conn, notifications::Entity::find_by_id(id.to_string())).await
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
    pub recipient_user_id: Option<UserId>,
    pub status: Option<DeliveryStatus>,
    pub kind: Option<NotificationKind>,
    pub channel: Option<Channel>,
}

/// Notifications matching `filter`, newest first, at most `limit`.
pub async fn list(
    conn: &impl Conn,
    filter: &NotificationFilter,
    limit: u64,
) -> Result<Vec<NotificationRecord>, StoreError> {
    let mut query = notifications::Entity::find();
    if let Some(recipient) = filter.recipient_user_id {
        query = query.filter(notifications::Column::RecipientUserId.eq(recipient.to_string()));
    }
    if let Some(status) = filter.status {
        query = query.filter(notifications::Column::Status.eq(status.as_str()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(notifications::Column::Kind.eq(kind.as_str()));
    }
    if let Some(channel) = filter.channel {
        query = query.filter(notifications::Column::Channel.eq(channel.as_str()));
    }
    record::all(
        conn,
        query
            .order_by_desc(notifications::Column::CreatedAt)
            .order_by_desc(notifications::Column::Id)
            .limit(limit),
    )
    .await
}

/// A user's unread in-app notifications that have been delivered.
pub async fn unread_count(conn: &impl Conn, user: UserId) -> Result<u64, StoreError> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::RecipientUserId.eq(user.to_string()))
        .filter(notifications::Column::Channel.eq(Channel::InApp.as_str()))
        .filter(notifications::Column::Status.eq(DeliveryStatus::Sent.as_str()))
        .filter(notifications::Column::ReadAt.is_null())
        .count(conn)
        .await?)
}

/// Pending notifications of `channel` whose next attempt is due at `now`, oldest due first.
pub async fn due(
    conn: &impl Conn,
    channel: Channel,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<NotificationRecord>, StoreError> {
    record::all(
        conn,
        notifications::Entity::find()
            .filter(notifications::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .filter(notifications::Column::Channel.eq(channel.as_str()))
            .filter(notifications::Column::NextAttemptAt.lte(to_micros(now)))
            .order_by_asc(notifications::Column::NextAttemptAt)
            .order_by_asc(notifications::Column::Id)
            .limit(limit),
    )
    .await
}

/// One more attempt of notification `id`, only if it is still pending after `attempts`
/// attempts (the caller sets the outcome).
fn next_attempt(
    id: NotificationId,
    attempts: u32,
    status: DeliveryStatus,
) -> Result<UpdateMany<notifications::Entity>, StoreError> {
    let attempts = stored_attempts(attempts)?;
    Ok(notifications::Entity::update_many()
        .col_expr(notifications::Column::Status, Expr::value(status.as_str()))
        .col_expr(notifications::Column::Attempts, Expr::value(attempts + 1))
        .filter(notifications::Column::Id.eq(id.to_string()))
        .filter(notifications::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(notifications::Column::Attempts.eq(attempts)))
}

/// Marks a pending notification sent, only if it is still pending after `attempts` attempts:
/// `false` (nothing changed) if someone else moved it meanwhile.
pub async fn mark_sent(
    conn: &impl Conn,
    id: NotificationId,
    attempts: u32,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = next_attempt(id, attempts, DeliveryStatus::Sent)?
        .col_expr(notifications::Column::SentAt, Expr::value(to_micros(now)))
        .col_expr(
            notifications::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a failed attempt of a pending notification read after `attempts` attempts: the
/// new status (`pending` to retry at `next_attempt_at`, or `failed`) and the error.
/// `false` if it changed meanwhile.
pub async fn record_failure(
    conn: &impl Conn,
    id: NotificationId,
    attempts: u32,
    status: DeliveryStatus,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> Result<bool, StoreError> {
    let result = next_attempt(id, attempts, status)?
        .col_expr(
            notifications::Column::NextAttemptAt,
            Expr::value(to_micros(next_attempt_at)),
        )
        .col_expr(notifications::Column::LastError, Expr::value(error))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Cancels every pending notification of `kind` about `related_id` (an appointment's
/// reminders); returns how many.
pub async fn cancel_pending(
    conn: &impl Conn,
    related_id: &str,
    kind: NotificationKind,
) -> Result<u64, StoreError> {
    let result = notifications::Entity::update_many()
        .col_expr(
            notifications::Column::Status,
            Expr::value(DeliveryStatus::Cancelled.as_str()),
        )
        .filter(notifications::Column::RelatedId.eq(related_id))
        .filter(notifications::Column::Kind.eq(kind.as_str()))
        .filter(notifications::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Marks a recipient's notification read (once): `false` if it is not theirs, not found
/// or read already.
pub async fn mark_read(
    conn: &impl Conn,
    id: NotificationId,
    recipient: UserId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(to_micros(now)))
        .filter(notifications::Column::Id.eq(id.to_string()))
        .filter(notifications::Column::RecipientUserId.eq(recipient.to_string()))
        .filter(notifications::Column::ReadAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A user's notification preferences as saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreferencesRecord {
    pub user_id: UserId,
    pub email_enabled: bool,
    pub reminders_enabled: bool,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<notification_preferences::Model> for PreferencesRecord {
    type Error = StoreError;

    fn try_from(m: notification_preferences::Model) -> Result<Self, StoreError> {
        let row = Row("notification_preferences");
        Ok(PreferencesRecord {
            user_id: row.parse("user_id", &m.user_id)?,
            email_enabled: m.email_enabled,
            reminders_enabled: m.reminders_enabled,
            updated_at: row.time(m.updated_at),
        })
    }
}

pub async fn find_preferences(
    conn: &impl Conn,
    user: UserId,
) -> Result<Option<PreferencesRecord>, StoreError> {
    record::one(
        conn,
        notification_preferences::Entity::find_by_id(user.to_string()),
    )
    .await
}

/// Writes a user's preferences (inserted the first time, replaced afterwards).
pub async fn save_preferences(
    conn: &impl Conn,
    prefs: &PreferencesRecord,
) -> Result<(), StoreError> {
    let updated_at = to_micros(prefs.updated_at);
    if find_preferences(conn, prefs.user_id).await?.is_some() {
        notification_preferences::Entity::update_many()
            .col_expr(
                notification_preferences::Column::EmailEnabled,
                Expr::value(prefs.email_enabled),
            )
            .col_expr(
                notification_preferences::Column::RemindersEnabled,
                Expr::value(prefs.reminders_enabled),
            )
            .col_expr(
                notification_preferences::Column::UpdatedAt,
                Expr::value(updated_at),
            )
            .filter(notification_preferences::Column::UserId.eq(prefs.user_id.to_string()))
            .exec(conn)
            .await?;
    } else {
        notification_preferences::Entity::insert(notification_preferences::ActiveModel {
            user_id: Set(prefs.user_id.to_string()),
            email_enabled: Set(prefs.email_enabled),
            reminders_enabled: Set(prefs.reminders_enabled),
            updated_at: Set(updated_at),
        })
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}
