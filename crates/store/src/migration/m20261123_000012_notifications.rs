//! Notifications: the outbox and in-app inbox (`notifications`) and each user's
//! notification preferences (`notification_preferences`).
//!
//! - One row per recipient and channel: `channel` is `in_app` or `email`. An in-app row is
//!   delivered (`sent`) when it is written; an e-mail row waits `pending` for the delivery
//!   job, which raises `attempts`, keeps `last_error` and moves `next_attempt_at` along the
//!   back-off (`carevault_core::notification`) until it is `sent` or `failed`. A reminder
//!   withdrawn before it went out is `cancelled`.
//! - `subject` and `body` are bytes: sealed under the patient's data key (AAD
//!   `notifications ‖ column ‖ id ‖ patient id`) when `patient_id` is set, UTF-8 text
//!   otherwise (stock alerts name a drug, not a person).
//! - `related_id` is what the notification is about (an appointment, a grant, a drug), so an
//!   appointment's pending reminders can be found and cancelled with it.
//! - `dedupe_key` (unique when present) stops a repeating job from queueing the same alert
//!   twice: `low_stock:{drug}:{date}:{user}:{channel}`.
//! - `notification_preferences.email_enabled` is the user's consent to e-mail (default
//!   off); `reminders_enabled` turns appointment and follow-up reminders off altogether.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    RecipientUserId,
    PatientId,
    Kind,
    Channel,
    Subject,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    RelatedId,
    DedupeKey,
    CreatedAt,
    SentAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum NotificationPreferences {
    Table,
    UserId,
    EmailEnabled,
    RemindersEnabled,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(string_len(Notifications::Id, 36).primary_key())
                    .col(string_len(Notifications::RecipientUserId, 36))
                    .col(string_len_null(Notifications::PatientId, 36))
                    .col(string_len(Notifications::Kind, 40))
                    .col(string_len(Notifications::Channel, 10))
                    .col(blob(Notifications::Subject))
                    .col(blob(Notifications::Body))
                    .col(string_len(Notifications::Status, 10))
                    .col(integer(Notifications::Attempts))
                    .col(big_integer(Notifications::NextAttemptAt))
                    .col(string_len_null(Notifications::LastError, 500))
                    .col(string_len_null(Notifications::RelatedId, 36))
                    .col(string_len_null(Notifications::DedupeKey, 200))
                    .col(big_integer(Notifications::CreatedAt))
                    .col(big_integer_null(Notifications::SentAt))
                    .col(big_integer_null(Notifications::ReadAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_notifications_status_next",
                Notifications::Table,
                [Notifications::Status, Notifications::NextAttemptAt],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_notifications_recipient_created",
                Notifications::Table,
                [Notifications::RecipientUserId, Notifications::CreatedAt],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_notifications_related",
                Notifications::Table,
                [Notifications::RelatedId],
            ))
            .await?;
        manager
            .create_index(unique_index(
                "ux_notifications_dedupe_key",
                Notifications::Table,
                [Notifications::DedupeKey],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotificationPreferences::Table)
                    .col(string_len(NotificationPreferences::UserId, 36).primary_key())
                    .col(boolean(NotificationPreferences::EmailEnabled).default(false))
                    .col(boolean(NotificationPreferences::RemindersEnabled).default(true))
                    .col(big_integer(NotificationPreferences::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
