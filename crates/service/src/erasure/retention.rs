//! Clinical-record retention: what is due, the report, and the retention job.

use super::*;

/// Patients read per page by the retention check.
const RETENTION_PAGE: u64 = 2_000;

/// One patient past retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionItem {
    pub patient_id: PatientId,
    pub pseudonym: String,
    /// The last encounter, or the registration when there is none.
    pub last_activity: DateTime<Utc>,
    /// `true` when `last_activity` is an encounter.
    pub from_encounter: bool,
}

/// The retention report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    pub years: u32,
    /// Activity before this instant is past retention.
    pub cutoff: DateTime<Utc>,
    pub items: Vec<RetentionItem>,
    /// Patients past retention but under a legal hold (left out of `items`).
    pub held: usize,
    /// Whether the retention job erases (`retention_erase`).
    pub job_erases: bool,
    /// Erasures not yet in the ledger.
    pub ledger_pending: usize,
}

/// What a retention job run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionRun {
    pub due: usize,
    pub erased: usize,
    pub refused: usize,
}

pub(super) fn years_after(at: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    at.checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn years_before(at: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    at.checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
impl Services {
    async fn retention_items(&self) -> Result<(Vec<RetentionItem>, usize), ServiceError> {
        let now = self.now();
        let years = self.privacy().clinical_retention_years;
        let cutoff = to_micros(years_before(now, years));
        let conn = self.store().conn();
        let held = store::held_patients(conn, now).await?;
        let mut items = Vec::new();
        let mut held_count = 0;
        // A page of patients at a time (bounded memory, whatever the registry's size).
        let mut after: Option<String> = None;
        loop {
            let page =
                store::retention_subjects(conn, cutoff, after.as_deref(), RETENTION_PAGE).await?;
            let Some((last_id, _, _)) = page.last() else {
                break;
            };
            after = Some(last_id.clone());
            let ids: Vec<String> = page.iter().map(|(id, _, _)| id.clone()).collect();
            let last = store::last_encounters(conn, &ids).await?;
            for (id, number, created_at) in page {
                let (activity, from_encounter) = match last.get(&id) {
                    Some(at) => (*at, true),
                    None => (created_at, false),
                };
                if activity >= cutoff {
                    continue;
                }
                if held.contains(&id) {
                    held_count += 1;
                    continue;
                }
                items.push(RetentionItem {
                    patient_id: id.parse().map_err(|_| ServiceError::Integrity)?,
                    pseudonym: pseudonym_of(number),
                    last_activity: from_micros(activity),
                    from_encounter,
                });
            }
        }
        items.sort_by_key(|item| item.last_activity);
        Ok((items, held_count))
    }

    /// The patients past retention without a hold: administrators. Each patient listed is
    /// recorded (`listed`, by pseudonym); nothing is decrypted.
    pub async fn retention_report(&self, actor: &Actor) -> Result<RetentionReport, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let (items, held) = self.retention_items().await?;
        let events = items
            .iter()
            .map(|item| {
                let mut event = self.audit_event(actor, AuditAction::Listed, ResourceType::Patient);
                event.resource_id = Some(item.patient_id.to_string());
                event.patient_pseudonym = Some(item.pseudonym.clone());
                event.reason = Some("retention report".into());
                event
            })
            .collect();
        self.record_all(events).await?;
        let ledger_pending = store::erasures_without_ledger(self.store().conn())
            .await?
            .len();
        let years = self.privacy().clinical_retention_years;
        Ok(RetentionReport {
            years,
            cutoff: years_before(self.now(), years),
            items,
            held,
            job_erases: self.privacy().retention_erase,
            ledger_pending,
        })
    }

    /// The retention job: logs how many patients are past retention and, with
    /// `retention_erase`, erases them as the system actor (each erasure audited and
    /// written to the ledger). Also catches the ledger up.
    pub async fn run_retention_job(&self) -> Result<RetentionRun, ServiceError> {
        let missing = self.sync_erasure_ledger().await?;
        if missing > 0 {
            tracing::error!(
                missing,
                "erasures are missing from the erasure ledger: repair the ledger file"
            );
        }
        let (items, held) = self.retention_items().await?;
        let mut run = RetentionRun {
            due: items.len(),
            ..RetentionRun::default()
        };
        tracing::info!(
            due = run.due,
            held,
            erase = self.privacy().retention_erase,
            "retention check"
        );
        if !self.privacy().retention_erase {
            return Ok(run);
        }
        let actor = Actor::system();
        for item in items {
            let Some(row) = store::find_patient(self.store().conn(), item.patient_id)
                .await?
                .filter(|row| !row.is_erased())
            else {
                continue;
            };
            match self.erase_row(&actor, row, CATEGORY_RETENTION).await {
                Ok(outcome) => {
                    run.erased += 1;
                    if outcome.ledger_problem.is_some() {
                        tracing::error!("a retention erasure is missing from the erasure ledger");
                    }
                }
                Err(ServiceError::Conflict { .. }) => run.refused += 1,
                Err(err) => return Err(err),
            }
        }
        Ok(run)
    }
}
