//! A visit is charged once. A completed appointment is charged automatically
//! (`billing::add_charge_in`, from the status change); reception may also charge a visit by
//! hand, naming the appointment on the line. Whichever comes first wins and the other does
//! not land: `invoice_lines.appointment_id` is unique, so the database decides even when
//! both run at the same instant.
//!
//! - The manual charge form offers the patient's recent visits that are not charged yet
//!   ([`Services::visits_to_charge`]): checked in, in progress or completed, in the last
//!   [`OFFERED_DAYS`] days.
//! - A manual charge naming a visit that is charged already is refused (409, on
//!   `appointment_id`, "This visit was already charged on invoice … on …").
//! - The automatic charge of a visit charged by hand is skipped; the completion goes through
//!   and its audit event says so.
//! - A line on a **void** invoice still counts as charged: voiding says the invoice should
//!   not be paid, not that the visit is free to bill again. Re-billing after a void is a
//!   deliberate manual line that names no visit. Removing a line from a draft does free the
//!   visit (the line is gone).
//! - Corrections never name a visit: they amend an amount, they do not charge anything new.
//! - Naming a visit reads the patient's appointments (scheduling data), so it is for those
//!   who see every schedule and handle bills: administrators and reception
//!   ([`may_charge_visits`]). Pharmacists handle bills but not appointments.

use carevault_core::Grant;
use carevault_core::appointment::{AppointmentStatus, AppointmentType};
use carevault_core::audit::ResourceType;
use carevault_core::money::Money;
use carevault_core::{Action, AppointmentId, PatientId, ValidationErrors};
use carevault_store::billing::{self as store, PriceRecord};
use carevault_store::scheduling::{self as schedule_store, AppointmentFilter, AppointmentRow};
use carevault_store::users;
use chrono::{DateTime, NaiveDate, Utc};

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;

/// How far back the manual charge form offers visits.
pub const OFFERED_DAYS: i64 = 90;
/// At most this many visits are offered (the most recent).
const OFFERED_AT_MOST: usize = 20;

/// The statuses of a visit that may be charged: the patient came.
const CHARGEABLE: [AppointmentStatus; 3] = [
    AppointmentStatus::CheckedIn,
    AppointmentStatus::InProgress,
    AppointmentStatus::Completed,
];

/// A visit the manual charge form offers: not charged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitToCharge {
    pub appointment_id: String,
    pub start: DateTime<Utc>,
    pub kind: AppointmentType,
    pub status: AppointmentStatus,
    /// The clinician's display name, if the appointment has one.
    pub clinician_name: Option<String>,
    /// The consultation price of its type (what completing it would charge), if the price
    /// list has one; charged when the line gives no other price.
    pub price: Option<Money>,
}

/// A visit named on a manual charge, checked: it exists and the patient came.
#[derive(Debug, Clone)]
pub(crate) struct NamedVisit {
    pub row: AppointmentRow,
    /// Its local day, for the line's description.
    pub day: NaiveDate,
    /// The consultation price of its type, if any.
    pub price: Option<PriceRecord>,
}

/// Whether `actor` may name visits on manual charges: billing staff who also see every
/// schedule (administrators, reception), as the permission matrix grants them.
pub(crate) fn may_charge_visits(actor: &Actor) -> bool {
    actor.grant(Action::ManageBilling) == Grant::Yes
        && actor.grant(Action::BookAppointments) == Grant::Yes
}

/// How a visit of this type is described on a line written without a description or price
/// ("Consultation on 2026-03-02").
pub(crate) fn visit_label(kind: &str) -> &'static str {
    match AppointmentType::parse(kind) {
        Ok(AppointmentType::FollowUp) => "Follow-up visit",
        Ok(AppointmentType::Procedure) => "Procedure",
        _ => "Consultation",
    }
}

impl Services {
    /// The patient's recent visits not charged yet, most recent first (for the manual
    /// charge form). The caller has authorised the actor for the patient's bills and checked
    /// [`may_charge_visits`]; its audit event covers this read.
    pub(crate) async fn visits_to_charge(
        &self,
        patient: PatientId,
    ) -> Result<Vec<VisitToCharge>, ServiceError> {
        let conn = self.store().conn();
        let now = self.now();
        let mut rows = schedule_store::appointments(
            conn,
            &AppointmentFilter {
                patient: Some(patient),
                statuses: CHARGEABLE.to_vec(),
                from: Some(now - chrono::Duration::days(OFFERED_DAYS)),
                to: Some(now + chrono::Duration::days(1)),
                ..AppointmentFilter::default()
            },
            500,
        )
        .await?;
        let ids: Vec<AppointmentId> = rows.iter().map(|row| row.id).collect();
        let charged = store::charged_appointments(conn, &ids).await?;
        rows.retain(|row| !charged.contains(&row.id));
        rows.reverse();
        rows.truncate(OFFERED_AT_MOST);
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let clinician_name = match row.clinician_id {
                Some(user) => users::find_by_id(conn, user)
                    .await?
                    .map(|u| u.display_name.as_str().to_owned()),
                None => None,
            };
            let price = match crate::billing::appointment_price(conn, row.kind.as_str()).await? {
                Some(price) => match price.rule {
                    carevault_core::billing::PriceRule::Fixed(money) => Some(money),
                    carevault_core::billing::PriceRule::Markup(_) => None,
                },
                None => None,
            };
            out.push(VisitToCharge {
                start: row.start_at,
                kind: row.kind,
                status: row.status,
                clinician_name,
                price,
                appointment_id: row.id.to_string(),
            });
        }
        Ok(out)
    }

    /// The visit a manual charge names, checked: the actor may name visits (otherwise the
    /// refusal, recorded), it is an appointment, and the patient came. Whose it is and
    /// whether it is charged already are checked against the invoice by the caller.
    pub(crate) async fn named_visit(
        &self,
        actor: &Actor,
        raw_id: &str,
    ) -> Result<NamedVisit, ServiceError> {
        if !may_charge_visits(actor) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Invoice,
                    None,
                    "charging a visit is for administrators and reception",
                )
                .await);
        }
        let not_a_visit = || ValidationErrors::single("appointment_id", "is not a known visit");
        let id: AppointmentId = raw_id.trim().parse().map_err(|_| not_a_visit())?;
        let conn = self.store().conn();
        let row = schedule_store::find_appointment(conn, id)
            .await?
            .ok_or_else(not_a_visit)?;
        let status = row.status;
        if !CHARGEABLE.contains(&status) {
            let what = match status {
                AppointmentStatus::Requested => "only requested",
                AppointmentStatus::Scheduled => "still to come",
                AppointmentStatus::Cancelled => "cancelled",
                _ => "a no-show",
            };
            return Err(ValidationErrors::single(
                "appointment_id",
                format!(
                    "is {what}: only a visit the patient came to (checked in, in progress or completed) is charged"
                ),
            )
            .into());
        }
        let price = crate::billing::appointment_price(conn, row.kind.as_str()).await?;
        Ok(NamedVisit {
            day: self.settings().scheduling.local_date(row.start_at),
            price,
            row,
        })
    }

    /// The refusal of a second charge for `appointment_id`, if a line charges it already:
    /// "This visit was already charged on invoice INV-… on …" (on `appointment_id`).
    pub(crate) async fn visit_charged_already(
        &self,
        appointment_id: AppointmentId,
    ) -> Result<Option<ServiceError>, ServiceError> {
        let conn = self.store().conn();
        let Some(line) = store::line_of_appointment(conn, appointment_id).await? else {
            return Ok(None);
        };
        let number = store::find_invoice(conn, line.invoice_id)
            .await?
            .map(|invoice| invoice.number)
            .ok_or(ServiceError::Integrity)?;
        let day = self.settings().scheduling.local_date(line.created_at);
        Ok(Some(ServiceError::Conflict {
            field: Some("appointment_id"),
            message: format!("This visit was already charged on invoice {number} on {day}."),
        }))
    }
}
