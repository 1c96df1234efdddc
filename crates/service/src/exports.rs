//! CSV exports of the lists a user can see: patients, appointments and
//! invoices. Each export is the list page's own use case — the same authorisation, filters
//! and masking, and the same per-row `listed` / `search` events — run over every row rather
//! than one page, followed by one `export` event naming the list and its row count. The web
//! layer only turns the rows into CSV.

use carevault_core::audit::{AuditAction, ResourceType};

use crate::Services;
use crate::actor::Actor;
use crate::billing::InvoiceSummary;
use crate::error::ServiceError;
use crate::patients::{MAX_PAGE_SIZE, PatientDetails, PatientQuery, PatientSort};
use crate::scheduling::{AppointmentQuery, AppointmentView};

/// At most this many pages of patients are read into one export (a million rows).
const MAX_EXPORT_PAGES: u64 = 10_000;

impl Services {
    /// Starts an export of every patient matching `q` (as on `/patients`), in the list's
    /// order, as the actor may see them: reads the first page (which authorises the actor and
    /// counts the matches), records one `export` event with that count, and returns a reader
    /// that yields the rows page by page (`search_patients`, so each page's rows are also
    /// recorded as listed), so the download streams instead of being built in memory.
    pub async fn export_patients(
        &self,
        actor: &Actor,
        q: Option<String>,
        sort: PatientSort,
    ) -> Result<PatientExport, ServiceError> {
        let query = PatientQuery {
            q,
            page: 1,
            per_page: Some(MAX_PAGE_SIZE),
            sort,
        };
        let first = self.search_patients(actor, query.clone()).await?;
        let total = first.total;
        let done = first.per_page >= first.total;
        self.record_list_export(
            actor,
            ResourceType::Patient,
            "patients",
            usize::try_from(total).unwrap_or(usize::MAX),
        )
        .await?;
        Ok(PatientExport {
            services: self.clone(),
            actor: actor.clone(),
            query,
            pending: Some(first.items),
            done,
            total,
        })
    }

    /// The appointments matching `query`, as `list_appointments` gives them to the actor.
    /// Recorded as one `export` event with the row count.
    pub async fn export_appointments(
        &self,
        actor: &Actor,
        query: AppointmentQuery,
    ) -> Result<Vec<AppointmentView>, ServiceError> {
        let rows = self.list_appointments(actor, query).await?;
        self.record_list_export(actor, ResourceType::Appointment, "appointments", rows.len())
            .await?;
        Ok(rows)
    }

    /// The invoices `list_invoices` gives the actor (billing staff: everyone's, optionally
    /// one patient's or one status; a patient: their own). Recorded as one `export` event
    /// with the row count.
    pub async fn export_invoices(
        &self,
        actor: &Actor,
        patient_id: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<InvoiceSummary>, ServiceError> {
        let rows = self.list_invoices(actor, patient_id, status).await?;
        self.record_list_export(actor, ResourceType::Invoice, "invoices", rows.len())
            .await?;
        Ok(rows)
    }

    /// The stock report (as `stock_report` gives it to the actor), recorded as one `export`
    /// event with its row count (one row per drug).
    pub async fn export_stock_report(
        &self,
        actor: &Actor,
    ) -> Result<crate::pharmacy::StockReport, ServiceError> {
        let report = self.stock_report(actor).await?;
        self.record_list_export(actor, ResourceType::Stock, "stock", report.rows.len())
            .await?;
        Ok(report)
    }

    /// Records that `actor` downloaded the list `what` with `rows` rows. Called only after
    /// the list's own use case authorised and produced the rows.
    async fn record_list_export(
        &self,
        actor: &Actor,
        resource: ResourceType,
        what: &str,
        rows: usize,
    ) -> Result<(), ServiceError> {
        let mut event = self.audit_event(actor, AuditAction::Export, resource);
        event.reason = Some(format!("{what} CSV, {rows} rows"));
        self.record(event).await?;
        Ok(())
    }
}

/// A patient export in progress: call [`PatientExport::next_page`] until it returns `None`.
/// Rows registered while it runs may or may not be included (pages are read one after the
/// other, not in one snapshot); the recorded count is the number of matches when it started.
pub struct PatientExport {
    services: Services,
    actor: Actor,
    query: PatientQuery,
    pending: Option<Vec<PatientDetails>>,
    done: bool,
    /// Matches when the export started (the count recorded in the audit trail).
    pub total: u64,
}

impl std::fmt::Debug for PatientExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientExport")
            .field("page", &self.query.page)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl PatientExport {
    pub async fn next_page(&mut self) -> Result<Option<Vec<PatientDetails>>, ServiceError> {
        if let Some(rows) = self.pending.take() {
            return Ok(Some(rows));
        }
        if self.done || self.query.page >= MAX_EXPORT_PAGES {
            return Ok(None);
        }
        self.query.page += 1;
        let found = self
            .services
            .search_patients(&self.actor, self.query.clone())
            .await?;
        if self.query.page.saturating_mul(found.per_page) >= found.total || found.items.is_empty() {
            self.done = true;
        }
        if found.items.is_empty() {
            return Ok(None);
        }
        Ok(Some(found.items))
    }
}
