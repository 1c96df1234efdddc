//! A user's notification preferences.

use super::*;

/// A user's notification preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    /// Consent to e-mail (default off).
    pub email_enabled: bool,
    /// Appointment and follow-up reminders at all (default on).
    pub reminders_enabled: bool,
    /// Whether e-mail could reach this user now: SMTP configured and an address on file
    /// (patients only).
    pub email_available: bool,
}

pub(super) fn default_preferences(user_id: UserId) -> PreferencesRecord {
    PreferencesRecord {
        user_id,
        email_enabled: false,
        reminders_enabled: true,
        updated_at: DateTime::UNIX_EPOCH,
    }
}
impl Services {
    async fn email_on_file(&self, me: UserId) -> Result<bool, ServiceError> {
        if !self.email_configured() {
            return Ok(false);
        }
        let Some(patient) = patients::find_by_account(self.store().conn(), me).await? else {
            return Ok(false);
        };
        let dek = self.patient_key(&patient).await?;
        Ok(Self::patient_email(&patient, &dek)?.is_some())
    }

    /// The signed-in user's preferences (the defaults until they save some).
    pub async fn notification_preferences(
        &self,
        actor: &Actor,
    ) -> Result<Preferences, ServiceError> {
        let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let row = store::find_preferences(self.store().conn(), me)
            .await?
            .unwrap_or_else(|| default_preferences(me));
        Ok(Preferences {
            email_enabled: row.email_enabled,
            reminders_enabled: row.reminders_enabled,
            email_available: self.email_on_file(me).await?,
        })
    }

    /// Saves the signed-in user's preferences (audited: e-mail is a consent).
    pub async fn set_notification_preferences(
        &self,
        actor: &Actor,
        email_enabled: bool,
        reminders_enabled: bool,
    ) -> Result<Preferences, ServiceError> {
        let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let mut event = self.audit_event(actor, AuditAction::Update, ResourceType::Notification);
        event.resource_id = Some(me.to_string());
        event.reason = Some(format!(
            "notification preferences: e-mail {}, reminders {}",
            if email_enabled { "on" } else { "off" },
            if reminders_enabled { "on" } else { "off" }
        ));
        self.transaction(async |txn| {
            store::save_preferences(
                txn,
                &PreferencesRecord {
                    user_id: me,
                    email_enabled,
                    reminders_enabled,
                    updated_at: self.now(),
                },
            )
            .await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.notification_preferences(actor).await
    }
}
