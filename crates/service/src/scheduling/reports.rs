//! The appointment report.

use super::*;

/// Counts for the appointment report.
#[derive(Debug, Clone, Default)]
pub struct AppointmentReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: u64,
    pub by_department: Vec<(String, u64)>,
    pub by_clinician: Vec<(String, u64)>,
    pub by_status: Vec<(AppointmentStatus, u64)>,
    /// Every day of the range, zero days included.
    pub by_day: Vec<(NaiveDate, u64)>,
}
impl Services {
    /// Counts by department, clinician, status and day for the local days `from..=to`.
    /// Administrators and receptionists. No patient data is read.
    pub async fn appointment_report(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<AppointmentReport, ServiceError> {
        if !actor.may(Action::OfficeReports) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "the appointment report is for administrators and reception",
                )
                .await);
        }
        let mut errors = ValidationErrors::new();
        if to < from {
            errors.push("to", "must not be before the start of the range");
        } else if (to - from).num_days() > 366 {
            errors.push("to", "the range may span at most 366 days");
        }
        errors.into_result()?;
        let settings = self.scheduling();
        let start = settings.day_start(from);
        let end = to.succ_opt().map_or(start, |d| settings.day_start(d));
        let rows = store::report_rows(self.store().conn(), start, end).await?;
        let departments = department_names(self.store().conn()).await?;
        let names = self.account_names().await?;
        let mut by_department: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_clinician: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_status: BTreeMap<usize, u64> = BTreeMap::new();
        let mut by_day: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        let mut day = from;
        while day <= to {
            by_day.insert(day, 0);
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        for row in &rows {
            *by_department
                .entry(
                    departments
                        .get(&row.department_id)
                        .cloned()
                        .unwrap_or_default(),
                )
                .or_default() += 1;
            let clinician = row
                .clinician_id
                .and_then(|c| names.get(c))
                .unwrap_or_else(|| "(not yet assigned)".into());
            *by_clinician.entry(clinician).or_default() += 1;
            let index = AppointmentStatus::ALL
                .iter()
                .position(|s| *s == row.status)
                .unwrap_or_default();
            *by_status.entry(index).or_default() += 1;
            *by_day.entry(settings.local_date(row.start_at)).or_default() += 1;
        }
        let mut event = self.audit_event(actor, AuditAction::Export, ResourceType::Appointment);
        event.reason = Some(format!("appointment report {from} to {to}"));
        self.record(event).await?;
        Ok(AppointmentReport {
            from,
            to,
            total: rows.len() as u64,
            by_department: by_department.into_iter().collect(),
            by_clinician: by_clinician.into_iter().collect(),
            by_status: by_status
                .into_iter()
                .map(|(i, n)| (AppointmentStatus::ALL[i], n))
                .collect(),
            by_day: by_day.into_iter().collect(),
        })
    }
}
