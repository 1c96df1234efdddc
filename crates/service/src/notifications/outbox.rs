//! The outbox, for administrators.

use super::*;

/// What the outbox list is narrowed to (raw values, validated by the service).
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub channel: Option<String>,
    pub recipient_user_id: Option<String>,
}
impl Services {
    /// Every notification matching `filter`, newest first, with its delivery status and
    /// last error. Administrators. Texts about a patient stay sealed here.
    pub async fn notification_outbox(
        &self,
        actor: &Actor,
        filter: OutboxFilter,
    ) -> Result<Vec<NotificationView>, ServiceError> {
        self.authorize(
            actor,
            carevault_core::Action::AdministerSystem,
            ResourceType::Notification,
        )
        .await?;
        let mut errors = ValidationErrors::new();
        let given = |raw: &Option<String>| {
            raw.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let status = given(&filter.status).and_then(|raw| match DeliveryStatus::parse(&raw) {
            Ok(s) => Some(s),
            Err(message) => {
                errors.push("status", message);
                None
            }
        });
        let kind = given(&filter.kind).and_then(|raw| match NotificationKind::parse(&raw) {
            Ok(k) => Some(k),
            Err(message) => {
                errors.push("kind", message);
                None
            }
        });
        let channel = given(&filter.channel).and_then(|raw| match Channel::parse(&raw) {
            Ok(c) => Some(c),
            Err(message) => {
                errors.push("channel", message);
                None
            }
        });
        let recipient =
            given(&filter.recipient_user_id).and_then(|raw| match raw.parse::<UserId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push("recipient", "is not a valid user id");
                    None
                }
            });
        errors.into_result()?;
        let rows = store::list(
            self.store().conn(),
            &NotificationFilter {
                recipient_user_id: recipient,
                status,
                kind,
                channel,
            },
            LIST_LIMIT,
        )
        .await?;
        let mut event = self.audit_event(actor, AuditAction::Listed, ResourceType::Notification);
        event.reason = Some("notification outbox viewed".into());
        self.record(event).await?;
        self.present(actor, rows, false).await
    }
}
