//! Users, sessions, sign-in throttling and settings.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{foreign_key, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    Role,
    Status,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    KeyHash,
    FailedAt,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Name,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(string_len(Users::Id, 36).primary_key())
                    .col(string_len_uniq(Users::Username, 64))
                    .col(string_len(Users::DisplayName, 100))
                    .col(string_len(Users::Role, 20))
                    .col(string_len(Users::Status, 20))
                    .col(string_len(Users::PasswordHash, 255))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer(Users::UpdatedAt))
                    .col(big_integer_null(Users::LastLoginAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(string_len(Sessions::Id, 36).primary_key())
                    .col(string_len_uniq(Sessions::TokenHash, 64))
                    .col(string_len(Sessions::UserId, 36))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::LastSeenAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .col(big_integer_null(Sessions::RevokedAt))
                    .foreign_key(&mut foreign_key(
                        "fk_sessions_user",
                        (Sessions::Table, Sessions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_sessions_user",
                Sessions::Table,
                [Sessions::UserId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(big_pk_auto(LoginFailures::Id))
                    .col(string_len(LoginFailures::KeyHash, 64))
                    .col(big_integer(LoginFailures::FailedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_login_failures_key_time",
                LoginFailures::Table,
                [LoginFailures::KeyHash, LoginFailures::FailedAt],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(string_len(Settings::Name, 64).primary_key())
                    .col(text(Settings::Value))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
