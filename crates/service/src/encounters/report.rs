//! The diagnosis report.

use super::*;

/// Counts for the diagnoses report.
#[derive(Debug, Clone, Default)]
pub struct DiagnosisReport {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub total: u64,
    /// (code, title, count), most frequent first.
    pub by_code: Vec<(String, String, u64)>,
    /// (department name, count), most frequent first.
    pub by_department: Vec<(String, u64)>,
    /// (code, department name, count).
    pub by_code_and_department: Vec<(String, String, u64)>,
}
impl Services {
    /// Diagnoses by code and department for the local days `from..=to`, from the
    /// de-identified counts (nothing sealed is read). Administrators and doctors.
    pub async fn diagnosis_report(
        &self,
        actor: &Actor,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<DiagnosisReport, ServiceError> {
        if !actor.may(Action::ClinicalReports) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Encounter,
                    None,
                    "the diagnoses report is for administrators and doctors",
                )
                .await);
        }
        if to < from || (to - from).num_days() > 366 {
            return Err(ValidationErrors::single(
                "to",
                "must be on or after the start, at most 366 days later",
            )
            .into());
        }
        let settings = &self.settings().scheduling;
        let start = settings.day_start(from);
        let end = to
            .succ_opt()
            .map_or_else(|| settings.day_start(to), |d| settings.day_start(d));
        let rows = store::stats_between(self.store().conn(), start, end).await?;
        let departments: HashMap<String, String> =
            carevault_store::scheduling::departments(self.store().conn())
                .await?
                .into_iter()
                .map(|d| (d.id.to_string(), d.name))
                .collect();
        let department = |id: &Option<DepartmentId>| {
            id.as_ref()
                .and_then(|id| departments.get(&id.to_string()).cloned())
                .unwrap_or_else(|| "(no department)".into())
        };
        let mut by_code: HashMap<String, u64> = HashMap::new();
        let mut by_department: HashMap<String, u64> = HashMap::new();
        let mut by_both: HashMap<(String, String), u64> = HashMap::new();
        for row in &rows {
            *by_code.entry(row.code.clone()).or_default() += 1;
            *by_department
                .entry(department(&row.department_id))
                .or_default() += 1;
            *by_both
                .entry((row.code.clone(), department(&row.department_id)))
                .or_default() += 1;
        }
        let mut by_code: Vec<(String, String, u64)> = by_code
            .into_iter()
            .map(|(code, n)| {
                let title = carevault_core::icd10::lookup(&code)
                    .map(|c| c.title.to_owned())
                    .unwrap_or_default();
                (code, title, n)
            })
            .collect();
        by_code.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        let mut by_department: Vec<(String, u64)> = by_department.into_iter().collect();
        by_department.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut by_code_and_department: Vec<(String, String, u64)> = by_both
            .into_iter()
            .map(|((code, dep), n)| (code, dep, n))
            .collect();
        by_code_and_department.sort();
        let mut event = self.audit_event(actor, AuditAction::Export, ResourceType::Encounter);
        event.reason = Some(format!("diagnoses report {from} to {to}"));
        self.record(event).await?;
        Ok(DiagnosisReport {
            from,
            to,
            total: rows.len() as u64,
            by_code,
            by_department,
            by_code_and_department,
        })
    }
}
