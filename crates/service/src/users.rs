//! Account management: creating accounts, setting and changing passwords, disabling.
//! Administrators (and the operator at the console) manage accounts; every user can change
//! their own password, which ends their other sessions.

use carevault_core::Action;
use carevault_core::{DisplayName, Password, Role, UserId, UserStatus, Username, ValidationErrors};
use carevault_crypto::password::{hash_password, verify_password};
use carevault_store::{StoreError, sessions, users};
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use carevault_core::audit::{AuditAction, ResourceType};

/// A new account as submitted (unvalidated). Its `Debug` output shows only the role.
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub password: SecretString,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// An account as an administrator sees it: never the password hash.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub id: UserId,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<users::UserRecord> for AccountView {
    fn from(u: users::UserRecord) -> Self {
        Self {
            id: u.id,
            username: u.username,
            display_name: u.display_name.to_string(),
            role: u.role,
            status: u.status,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

async fn hash_off_thread(password: &Password) -> Result<String, ServiceError> {
    let secret = password.secret().clone();
    tokio::task::spawn_blocking(move || hash_password(&secret))
        .await
        .map_err(ServiceError::internal)?
        .map_err(ServiceError::internal)
}

impl Services {
    /// Creates an account. Administrators and the console operator only.
    pub async fn create_account(
        &self,
        actor: &Actor,
        new: NewAccount,
    ) -> Result<AccountView, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Account)
            .await?;
        let mut errors = ValidationErrors::new();
        let username = errors.check("username", Username::parse(&new.username));
        let display_name = errors.check("display_name", DisplayName::parse(&new.display_name));
        let role = errors.check("role", new.role.parse::<Role>());
        let password = errors.check("password", Password::parse(new.password));
        let (Some(username), Some(display_name), Some(role), Some(password)) =
            (username, display_name, role, password)
        else {
            return Err(errors.into());
        };
        let hash = hash_off_thread(&password).await?;
        let id = UserId::generate();
        let now = self.now();
        self.transaction(async |txn| {
            let result = users::insert(
                txn,
                &users::NewUser {
                    id,
                    username: &username,
                    display_name: &display_name,
                    role,
                    password_hash: &hash,
                    now,
                },
            )
            .await;
            match result {
                Ok(()) => {}
                Err(StoreError::UniqueViolation(_)) => {
                    return Err(ServiceError::Conflict {
                        field: Some("username"),
                        message: "is already taken".into(),
                    });
                }
                Err(other) => return Err(other.into()),
            }
            let mut event =
                self.audit_event(actor, AuditAction::AccountCreated, ResourceType::Account);
            event.resource_id = Some(id.to_string());
            event.reason = Some(format!("role {role}"));
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        tracing::info!(user_id = %id, role = %role, "account created");
        let created = users::find_by_id(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("account"))?;
        Ok(created.into())
    }

    /// Every account. Administrators only.
    pub async fn list_accounts(&self, actor: &Actor) -> Result<Vec<AccountView>, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Account)
            .await?;
        Ok(users::list(self.store().conn())
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Sets another account's password and ends all its sessions. Administrators only.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        username: &str,
        password: SecretString,
    ) -> Result<(), ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Account)
            .await?;
        let password = Password::parse(password)
            .map_err(|message| ValidationErrors::single("password", message))?;
        let user = users::find_by_username(self.store().conn(), &username.trim().to_lowercase())
            .await?
            .ok_or(ServiceError::NotFound("account"))?;
        let hash = hash_off_thread(&password).await?;
        let now = self.now();
        self.transaction_on_sessions(async |txn| {
            users::set_password_hash(txn, user.id, &hash, now).await?;
            sessions::revoke_all_for_user(txn, user.id, None, now).await?;
            let mut event =
                self.audit_event(actor, AuditAction::PasswordReset, ResourceType::Account);
            event.resource_id = Some(user.id.to_string());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        tracing::info!(user_id = %user.id, "password reset");
        Ok(())
    }

    /// Changes the actor's own password after checking the current one; every other session
    /// of the account ends.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        current: SecretString,
        new: SecretString,
    ) -> Result<(), ServiceError> {
        let user_id = actor.user_id().ok_or(ServiceError::Unauthenticated)?;
        let user = users::find_by_id(self.store().conn(), user_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let throttle_key = self.check_account_throttle(user.username.as_str()).await?;
        let stored = user.password_hash.clone();
        let current_ok = tokio::task::spawn_blocking(move || verify_password(&current, &stored))
            .await
            .map_err(ServiceError::internal)?;
        if !current_ok {
            self.record_account_failure(&throttle_key).await?;
            return Err(ValidationErrors::single(
                "current_password",
                "is not your current password",
            )
            .into());
        }
        let password = Password::parse(new)
            .map_err(|message| ValidationErrors::single("new_password", message))?;
        let hash = hash_off_thread(&password).await?;
        let now = self.now();
        self.transaction_on_sessions(async |txn| {
            users::set_password_hash(txn, user.id, &hash, now).await?;
            sessions::revoke_all_for_user(txn, user.id, actor.session_id(), now).await?;
            let mut event =
                self.audit_event(actor, AuditAction::PasswordChanged, ResourceType::Account);
            event.resource_id = Some(user.id.to_string());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        tracing::info!(user_id = %user.id, "password changed");
        Ok(())
    }

    /// Disables an account and ends all its sessions. Administrators only; nobody disables
    /// their own account (so an installation cannot lock out its last administrator by
    /// accident).
    pub async fn disable_account(&self, actor: &Actor, username: &str) -> Result<(), ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Account)
            .await?;
        let user = users::find_by_username(self.store().conn(), &username.trim().to_lowercase())
            .await?
            .ok_or(ServiceError::NotFound("account"))?;
        if actor.user_id() == Some(user.id) {
            return Err(ServiceError::Conflict {
                field: Some("username"),
                message: "you cannot disable your own account".into(),
            });
        }
        let now = self.now();
        self.transaction_on_sessions(async |txn| {
            users::set_status(txn, user.id, UserStatus::Disabled, now).await?;
            sessions::revoke_all_for_user(txn, user.id, None, now).await?;
            let mut event =
                self.audit_event(actor, AuditAction::AccountDisabled, ResourceType::Account);
            event.resource_id = Some(user.id.to_string());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        tracing::info!(user_id = %user.id, "account disabled");
        Ok(())
    }
}
