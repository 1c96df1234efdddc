//! The stock alert job: low stock and expiring batches.

use super::*;

impl Services {
    /// Queues low-stock and expiring-batch alerts to every active pharmacist and
    /// administrator, at most one per drug, kind, recipient and channel a day (dedupe
    /// keys). A job; returns how many notifications were written.
    pub async fn run_stock_alert_job(&self) -> Result<u64, ServiceError> {
        let conn = self.store().conn();
        let today = self.clinic_today();
        let window = self.settings().pharmacy.expiry_window_days;
        let recipients = self
            .active_users_with(conn, &roles_granted(Action::ManageStock))
            .await?;
        if recipients.is_empty() {
            return Ok(0);
        }
        let mut written = 0;
        for drug in carevault_store::pharmacy::list_drugs(conn, false).await? {
            let rows = carevault_store::pharmacy::batches_of_drug(conn, drug.id).await?;
            let batches: Vec<Batch<&_>> = rows
                .iter()
                .map(|row| Batch {
                    id: row,
                    expiry: row.expiry,
                    quantity: row.quantity_on_hand,
                })
                .collect();
            let name = one_line(&format!("{} {}", drug.name, drug.strength));
            let usable = usable_stock(&batches, today);
            let mut alerts = Vec::new();
            if reorder_needed(usable, u64::from(drug.reorder_level)) {
                alerts.push((
                    NotificationKind::LowStock,
                    NotificationText {
                        subject: format!("Low stock: {name}"),
                        body: format!(
                            "{name}: {usable} {} usable, at or below the reorder level of {}.\n\
                             Suggested reorder quantity: {}.",
                            one_line(&drug.unit),
                            drug.reorder_level,
                            drug.reorder_quantity
                        ),
                    },
                ));
            }
            let expiring = expiring_within(&batches, today, window);
            if !expiring.is_empty() {
                let lines: Vec<String> = expiring
                    .iter()
                    .map(|b| {
                        format!(
                            "batch {}: {} {} expiring on {}",
                            one_line(&b.id.batch_number),
                            b.quantity,
                            one_line(&drug.unit),
                            b.expiry
                        )
                    })
                    .collect();
                alerts.push((
                    NotificationKind::ExpiringBatch,
                    NotificationText {
                        subject: format!("Batches expiring soon: {name}"),
                        body: format!(
                            "{name} has batches expiring within {window} days:\n{}",
                            lines.join("\n")
                        ),
                    },
                ));
            }
            for (kind, text) in alerts {
                for user in &recipients {
                    let key = format!("{}:{}:{today}:{}", kind.as_str(), drug.id, user.id);
                    written += self
                        .queue_alert_once(Outgoing {
                            kind,
                            recipient: user.id,
                            text: text.clone(),
                            related_id: Some(drug.id.to_string()),
                            deliver_at: self.now(),
                            dedupe_key: Some(key),
                            about: None,
                        })
                        .await?;
                }
            }
        }
        if written > 0 {
            tracing::info!(notifications = written, "stock alerts queued");
        }
        Ok(written)
    }

    /// Queues an alert in its own transaction; a concurrent run that queued it first (the
    /// dedupe key's unique index) is not an error.
    async fn queue_alert_once(&self, out: Outgoing<'_>) -> Result<u64, ServiceError> {
        let queued = self
            .transaction_once(async |txn| match self.queue_in(txn, out).await {
                Ok(ids) => Ok(ids.len() as u64),
                Err(ServiceError::Internal(err))
                    if matches!(
                        err.downcast_ref::<StoreError>(),
                        Some(StoreError::UniqueViolation(_))
                    ) =>
                {
                    Err(Abort::Stop(()))
                }
                Err(err) => Err(Abort::Fail(err)),
            })
            .await;
        match queued {
            Ok(written) => Ok(written),
            Err(Abort::Stop(())) => Ok(0),
            Err(Abort::Fail(err)) => Err(err),
        }
    }
}
