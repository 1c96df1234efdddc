//! The dashboards' use cases: the administrators' dashboard (system facts and charts of
//! counts) and each role's own day (counts of its own work).
//!
//! Rules:
//! - Charts are counts over clear columns only (`store::dashboard`): no sealed field is
//!   opened and no patient identity is in any result, so they are not audited per patient.
//! - Ages come from the clear birth year (the date of birth is sealed): a patient's age is
//!   the current year minus the birth year, in five-year bands, "90+" at the top.
//! - Days and weeks are the clinic's (its time zone); weeks start on Monday.
//! - Appointments counted are booked ones (scheduled, checked in, in progress, completed,
//!   no-show): unaccepted requests and cancelled appointments are left out.
//! - Role dashboards show the actor's own day: a clinician's counts are of appointments on
//!   their own schedule only; a patient's items are read through the audited use cases.

use std::collections::BTreeMap;

use carevault_core::Action;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::time::to_micros;
use carevault_store::audit::AuditFilter;
use carevault_store::dashboard::{self as store, COUNTED_APPOINTMENT_STATUSES as COUNTED};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::Services;
use crate::actor::Actor;
use crate::audit_verify::VerificationReport;
use crate::backup::BackupRecord;
use crate::error::ServiceError;
use crate::status::{DiskSpace, SystemStatus};

/// Days shown before and after today in "appointments per day".
pub const APPOINTMENT_DAYS_EACH_SIDE: i64 = 14;
/// Weeks shown in "encounters per week" (this week included).
pub const ENCOUNTER_WEEKS: i64 = 12;
/// The first age of the open top band.
pub const TOP_AGE_BAND: i32 = 90;
/// The sexes, in chart order.
pub const SEXES: [&str; 4] = ["female", "male", "other", "unknown"];

/// One labelled count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub label: String,
    pub value: u64,
}

/// Counts of one group (an age band) split by series (the sexes, in [`SEXES`] order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupedCount {
    pub group: String,
    pub values: Vec<Count>,
}

/// Stock alerts, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockAlertCounts {
    /// Drugs at or below their reorder level.
    pub reorder: u64,
    /// Batches expiring within the window.
    pub expiring: u64,
    /// Batches already expired (with units left).
    pub expired: u64,
}

impl StockAlertCounts {
    pub fn total(&self) -> u64 {
        self.reorder + self.expiring + self.expired
    }
}

/// Invoices still owing, by status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingInvoices {
    /// `issued` or `partially_paid`.
    pub status: String,
    pub count: u64,
    /// What is still owed (total − paid), in minor units.
    pub owed_minor: i64,
}

/// The administrators' dashboard.
#[derive(Debug, Clone)]
pub struct AdminDashboard {
    pub status: SystemStatus,
    pub disk: Option<DiskSpace>,
    pub last_backup: Option<BackupRecord>,
    pub last_verification: Option<VerificationReport>,
    /// Five-year age bands (youngest first, only bands with patients) by sex.
    pub patients_by_age_and_sex: Vec<GroupedCount>,
    /// Every local day from 14 days ago to 13 days ahead, labelled `YYYY-MM-DD`.
    pub appointments_per_day: Vec<Count>,
    /// The same window, by department name (largest first).
    pub appointments_per_department: Vec<Count>,
    /// The last 12 weeks, labelled by their Monday (`YYYY-MM-DD`), oldest first.
    pub encounters_per_week: Vec<Count>,
    pub stock_alerts: StockAlertCounts,
    pub outstanding_invoices: Vec<OutstandingInvoices>,
    pub currency: String,
    pub today: NaiveDate,
}

/// A role's own day.
#[derive(Debug, Clone)]
pub enum RoleDashboard {
    /// Doctors and nurses: today's appointments on their own schedule.
    Clinician {
        today: NaiveDate,
        total: u64,
        /// Still to come (scheduled).
        scheduled: u64,
        /// Arrived and waiting (checked in).
        waiting: u64,
        in_progress: u64,
        completed: u64,
    },
    /// Receptionists: today's arrivals and the requests waiting for a slot.
    Reception {
        today: NaiveDate,
        total: u64,
        /// Checked in (or already being seen or done).
        checked_in: u64,
        /// Booked but not arrived yet.
        expected: u64,
        pending_requests: u64,
    },
    /// Pharmacists: the dispensing queue and the stock alerts.
    Pharmacy {
        active_prescriptions: u64,
        stock_alerts: StockAlertCounts,
    },
    /// Patients: their next appointments and unpaid bills.
    Patient {
        next_appointments: Vec<UpcomingAppointment>,
        unpaid_bills: u64,
        unpaid_minor: i64,
        currency: String,
    },
    /// Auditors: the last verification and the refusals of the last 24 hours.
    Auditor {
        last_verification: Option<VerificationReport>,
        refusals_last_24h: u64,
    },
    /// Administrators use [`Services::admin_dashboard`].
    Admin,
}

/// One of a patient's next appointments.
#[derive(Debug, Clone)]
pub struct UpcomingAppointment {
    pub id: String,
    pub start: DateTime<Utc>,
    pub clinician: Option<String>,
    pub department: String,
    pub status: String,
}

/// The five-year band of `age` ("40-44", "90+"); negative ages count as 0.
pub fn age_band(age: i32) -> String {
    let age = age.max(0);
    if age >= TOP_AGE_BAND {
        return format!("{TOP_AGE_BAND}+");
    }
    let start = age - age % 5;
    format!("{start}-{}", start + 4)
}

/// The Monday of `date`'s week.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Services {
    /// The administrators' dashboard: the status facts and the charts. Administrators only
    /// (the refusal is recorded). Counts only: nothing about any one patient.
    pub async fn admin_dashboard(&self, actor: &Actor) -> Result<AdminDashboard, ServiceError> {
        let status = self.system_status(actor).await?;
        let conn = self.store().conn();
        let settings = &self.settings().scheduling;
        let today = self.clinic_today();

        // Patients by age band and sex.
        let year = today.year();
        let mut bands: BTreeMap<(i32, String), BTreeMap<&'static str, u64>> = BTreeMap::new();
        for (sex, birth_year, n) in store::patients_by_sex_and_birth_year(conn).await? {
            let age = (year - birth_year).max(0);
            let band_start = if age >= TOP_AGE_BAND {
                TOP_AGE_BAND
            } else {
                age - age % 5
            };
            let sex = SEXES
                .iter()
                .find(|s| **s == sex.as_str())
                .copied()
                .unwrap_or("unknown");
            *bands
                .entry((band_start, age_band(age)))
                .or_default()
                .entry(sex)
                .or_default() += to_u64(n);
        }
        let patients_by_age_and_sex = bands
            .into_iter()
            .map(|((_, group), counts)| GroupedCount {
                group,
                values: SEXES
                    .iter()
                    .map(|s| Count {
                        label: (*s).to_owned(),
                        value: counts.get(s).copied().unwrap_or(0),
                    })
                    .collect(),
            })
            .collect();

        // Appointments per day and per department.
        let first_day = today - Duration::days(APPOINTMENT_DAYS_EACH_SIDE);
        let end_day = today + Duration::days(APPOINTMENT_DAYS_EACH_SIDE);
        let from = to_micros(settings.day_start(first_day));
        let to = to_micros(settings.day_start(end_day));
        let mut per_day: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        let mut day = first_day;
        while day < end_day {
            per_day.insert(day, 0);
            day += Duration::days(1);
        }
        for start in store::appointment_starts(conn, from, to).await? {
            let local = settings.local_date(carevault_core::time::from_micros(start));
            if let Some(n) = per_day.get_mut(&local) {
                *n += 1;
            }
        }
        let appointments_per_day = per_day
            .into_iter()
            .map(|(d, value)| Count {
                label: d.format("%Y-%m-%d").to_string(),
                value,
            })
            .collect();
        let departments: BTreeMap<String, String> = carevault_store::scheduling::departments(conn)
            .await?
            .into_iter()
            .map(|d| (d.id.to_string(), d.name))
            .collect();
        let mut appointments_per_department: Vec<Count> =
            store::appointments_by_department(conn, from, to)
                .await?
                .into_iter()
                .map(|(id, n)| Count {
                    label: departments
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| "(unknown department)".to_owned()),
                    value: to_u64(n),
                })
                .collect();
        appointments_per_department
            .sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));

        // Encounters per week.
        let this_week = week_start(today);
        let first_week = this_week - Duration::weeks(ENCOUNTER_WEEKS - 1);
        let mut per_week: BTreeMap<NaiveDate, u64> = (0..ENCOUNTER_WEEKS)
            .map(|i| (first_week + Duration::weeks(i), 0))
            .collect();
        let from = to_micros(settings.day_start(first_week));
        let to = to_micros(settings.day_start(this_week + Duration::weeks(1)));
        for start in store::encounter_starts(conn, from, to).await? {
            let local = settings.local_date(carevault_core::time::from_micros(start));
            if let Some(n) = per_week.get_mut(&week_start(local)) {
                *n += 1;
            }
        }
        let encounters_per_week = per_week
            .into_iter()
            .map(|(d, value)| Count {
                label: d.format("%Y-%m-%d").to_string(),
                value,
            })
            .collect();

        // Outstanding invoices.
        let mut owing: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        for status in ["issued", "partially_paid"] {
            owing.insert(status.to_owned(), (0, 0));
        }
        for (status, total, paid) in store::outstanding_invoices(conn).await? {
            let entry = owing.entry(status).or_default();
            entry.0 += 1;
            entry.1 = entry.1.saturating_add(total.saturating_sub(paid));
        }
        let outstanding_invoices = owing
            .into_iter()
            .map(|(status, (count, owed_minor))| OutstandingInvoices {
                status,
                count,
                owed_minor,
            })
            .collect();

        Ok(AdminDashboard {
            disk: self.data_dir_space(),
            last_backup: self.last_backup().await?,
            last_verification: self.last_audit_verification().await?,
            patients_by_age_and_sex,
            appointments_per_day,
            appointments_per_department,
            encounters_per_week,
            stock_alerts: self.stock_alert_counts(actor).await?,
            outstanding_invoices,
            currency: self.settings().billing.currency.to_string(),
            today,
            status,
        })
    }

    async fn stock_alert_counts(&self, actor: &Actor) -> Result<StockAlertCounts, ServiceError> {
        let levels = self.stock_levels(actor, self.expiry_window_days()).await?;
        Ok(StockAlertCounts {
            reorder: levels.iter().filter(|l| l.reorder_needed).count() as u64,
            expiring: levels.iter().map(|l| l.expiring.len() as u64).sum(),
            expired: levels.iter().map(|l| l.expired.len() as u64).sum(),
        })
    }

    /// The actor's own day, by role. Counts of appointments come from clear columns;
    /// a patient's own appointments and bills are read through the audited use cases.
    pub async fn role_dashboard(&self, actor: &Actor) -> Result<RoleDashboard, ServiceError> {
        let conn = self.store().conn();
        let settings = &self.settings().scheduling;
        let today = self.clinic_today();
        let from = to_micros(settings.day_start(today));
        let to = to_micros(settings.day_start(today + Duration::days(1)));
        match home(actor) {
            Some(Home::Admin) => {
                self.authorize(actor, Action::AdministerSystem, ResourceType::System)
                    .await?;
                Ok(RoleDashboard::Admin)
            }
            Some(Home::Clinician) => {
                let Some(me) = actor.user_id() else {
                    return Err(ServiceError::Unauthenticated);
                };
                let me = me.to_string();
                let count = |statuses: &'static [&'static str]| {
                    store::count_appointments(conn, from, to, statuses, Some(me.as_str()))
                };
                Ok(RoleDashboard::Clinician {
                    today,
                    total: count(&COUNTED).await?,
                    scheduled: count(&["scheduled"]).await?,
                    waiting: count(&["checked_in"]).await?,
                    in_progress: count(&["in_progress"]).await?,
                    completed: count(&["completed"]).await?,
                })
            }
            Some(Home::Reception) => {
                self.authorize(actor, Action::BookAppointments, ResourceType::Appointment)
                    .await?;
                Ok(RoleDashboard::Reception {
                    today,
                    total: store::count_appointments(conn, from, to, &COUNTED, None).await?,
                    checked_in: store::count_appointments(
                        conn,
                        from,
                        to,
                        &["checked_in", "in_progress", "completed"],
                        None,
                    )
                    .await?,
                    expected: store::count_appointments(conn, from, to, &["scheduled"], None)
                        .await?,
                    pending_requests: store::count_appointments(
                        conn,
                        i64::MIN,
                        i64::MAX,
                        &["requested"],
                        None,
                    )
                    .await?,
                })
            }
            Some(Home::Pharmacy) => {
                let stock_alerts = self.stock_alert_counts(actor).await?;
                Ok(RoleDashboard::Pharmacy {
                    active_prescriptions: store::count_prescriptions(conn, "active").await?,
                    stock_alerts,
                })
            }
            Some(Home::Patient) => {
                let now = self.now();
                let next_appointments = self
                    .my_appointments(actor)
                    .await?
                    .into_iter()
                    .filter(|a| {
                        a.end > now
                            && matches!(
                                a.status.as_str(),
                                "requested" | "scheduled" | "checked_in" | "in_progress"
                            )
                    })
                    .take(3)
                    .map(|a| UpcomingAppointment {
                        id: a.id.to_string(),
                        start: a.start,
                        clinician: a.clinician_name.clone(),
                        department: a.department_name.clone(),
                        status: a.status.as_str().to_owned(),
                    })
                    .collect();
                let bills = self.list_invoices(actor, None, None).await?;
                let unpaid: Vec<_> = bills
                    .iter()
                    .filter(|b| matches!(b.status.as_str(), "issued" | "partially_paid"))
                    .collect();
                Ok(RoleDashboard::Patient {
                    next_appointments,
                    unpaid_bills: unpaid.len() as u64,
                    unpaid_minor: unpaid
                        .iter()
                        .map(|b| b.totals.balance.minor_units())
                        .fold(0i64, i64::saturating_add),
                    currency: self.settings().billing.currency.to_string(),
                })
            }
            Some(Home::Auditor) => {
                self.authorize(actor, Action::ReadAuditLog, ResourceType::AuditLog)
                    .await?;
                let now = self.now();
                let filter = AuditFilter {
                    outcome: Some("denied".to_owned()),
                    from_micros: Some(to_micros(now - Duration::hours(24))),
                    ..AuditFilter::default()
                };
                let refusals_last_24h = carevault_store::audit::count(conn, &filter).await?;
                let mut event =
                    self.audit_event(actor, AuditAction::AuditViewed, ResourceType::AuditLog);
                event.reason = Some("dashboard: refusals of the last 24 hours".to_owned());
                self.record(event).await?;
                Ok(RoleDashboard::Auditor {
                    last_verification: self.last_audit_verification().await?,
                    refusals_last_24h,
                })
            }
            None => Err(self
                .deny(actor, ResourceType::System, None, "no role")
                .await),
        }
    }
}

/// Which home page an actor gets: the first of these the policy lets it work at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Home {
    Admin,
    Clinician,
    Reception,
    Pharmacy,
    Patient,
    Auditor,
}

fn home(actor: &Actor) -> Option<Home> {
    [
        (Action::AdministerSystem, Home::Admin),
        (Action::ClinicalWorklist, Home::Clinician),
        (Action::FrontDesk, Home::Reception),
        (Action::Dispense, Home::Pharmacy),
        (Action::UsePortal, Home::Patient),
        (Action::ReadAuditLog, Home::Auditor),
    ]
    .into_iter()
    .find(|(action, _)| actor.user_id().is_some() && actor.may(*action))
    .map(|(_, home)| home)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands() {
        assert_eq!(age_band(0), "0-4");
        assert_eq!(age_band(4), "0-4");
        assert_eq!(age_band(42), "40-44");
        assert_eq!(age_band(89), "85-89");
        assert_eq!(age_band(90), "90+");
        assert_eq!(age_band(120), "90+");
        assert_eq!(age_band(-3), "0-4");
    }

    #[test]
    fn weeks_start_on_monday() {
        let wed = NaiveDate::from_ymd_opt(2026, 3, 4).unwrap_or_default();
        assert_eq!(
            week_start(wed),
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
        );
        let mon = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        assert_eq!(week_start(mon), mon);
    }
}
