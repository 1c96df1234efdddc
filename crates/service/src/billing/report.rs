//! The billing report.

use super::*;

/// The billing report of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingReport {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    pub currency: Currency,
    /// Invoices issued in the period (void ones included) and their grand total.
    pub issued_count: u64,
    pub issued_total: Money,
    /// Of those, voided.
    pub void_count: u64,
    /// Payments received in the period, per method (every method, zero included).
    pub paid_by_method: Vec<(PaymentMethod, Money)>,
    pub paid_total: Money,
    /// What every issued or partially paid invoice still owes now, whatever its date.
    pub outstanding_count: u64,
    pub outstanding_total: Money,
    /// Per day of the period: (day, issued total, paid total).
    pub days: Vec<(NaiveDate, Money, Money)>,
}
impl Services {
    /// The billing report of the clinic days `[from, to)`: issued, paid by method, and what
    /// is outstanding now (administrators, receptionists). Reads amounts only, no sealed
    /// field. Audited.
    pub async fn billing_report(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BillingReport, ServiceError> {
        if !actor.may(Action::OfficeReports) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Invoice,
                    None,
                    "the billing report is for administrators and reception",
                )
                .await);
        }
        if to <= from || (to - from).num_days() > 366 {
            return Err(ValidationErrors::single(
                "to",
                "must be after the start, at most 366 days later",
            )
            .into());
        }
        let start = self.settings().scheduling.day_start(from);
        let end = self.settings().scheduling.day_start(to);
        let conn = self.store().conn();
        let zero = || Money::ZERO;
        let day_of = |instant: DateTime<Utc>| self.settings().scheduling.local_date(instant);
        let days_len = usize::try_from((to - from).num_days()).unwrap_or(0);
        let mut days: Vec<(NaiveDate, Money, Money)> = (0..days_len)
            .map(|offset| (from + chrono::Days::new(offset as u64), zero(), zero()))
            .collect();
        let index = |date: NaiveDate| usize::try_from((date - from).num_days()).ok();
        let mut report = BillingReport {
            from,
            to,
            currency: self.settings().billing.currency,
            issued_count: 0,
            issued_total: zero(),
            void_count: 0,
            paid_by_method: PaymentMethod::ALL.iter().map(|m| (*m, zero())).collect(),
            paid_total: zero(),
            outstanding_count: 0,
            outstanding_total: zero(),
            days: Vec::new(),
        };
        let add = |a: Money, b: Money| a.checked_add(b).map_err(ServiceError::internal);
        for row in store::invoices_for_report(conn, start, end).await? {
            let totals = totals_of(&row)?;
            let status = row.status;
            if let Some(issued) = row.issued_at
                && issued >= start
                && issued < end
            {
                report.issued_count += 1;
                report.issued_total = add(report.issued_total, totals.grand_total)?;
                if status == InvoiceStatus::Void {
                    report.void_count += 1;
                }
                if let Some(slot) = index(day_of(issued)).and_then(|i| days.get_mut(i)) {
                    slot.1 = add(slot.1, totals.grand_total)?;
                }
            }
            if matches!(status, InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid) {
                report.outstanding_count += 1;
                report.outstanding_total = add(report.outstanding_total, totals.balance)?;
            }
        }
        for payment in store::payments_between(conn, start, end).await? {
            let amount = payment.amount;
            let method = payment.method;
            if let Some(slot) = report.paid_by_method.iter_mut().find(|(m, _)| *m == method) {
                slot.1 = add(slot.1, amount)?;
            }
            report.paid_total = add(report.paid_total, amount)?;
            if let Some(slot) = index(day_of(payment.received_at)).and_then(|i| days.get_mut(i)) {
                slot.2 = add(slot.2, amount)?;
            }
        }
        report.days = days;
        let mut event = self.audit_event(actor, AuditAction::Read, ResourceType::Invoice);
        event.reason = Some(format!("billing report {from} to {to}"));
        self.record(event).await?;
        Ok(report)
    }
}
