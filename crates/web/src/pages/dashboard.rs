//! The dashboard: one per role, showing that role's day (counts of its own work, from
//! `Services::role_dashboard`) above its cards. Administrators get the system facts (uptime,
//! last backup, last audit verification, database, disk, sessions) and the charts of
//! `Services::admin_dashboard`, rendered as inline SVG by [`crate::charts`].

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::{Action, Role};
use carevault_service::dashboard::{AdminDashboard, RoleDashboard, SEXES};
use carevault_service::pharmacy::StockLevel;

use crate::charts::{self, Bar, Group};
use crate::errors::PageError;
use crate::pages::{Layout, NoticeQuery, PageRequest, format_size, format_uptime, notice, render};

/// A card on a dashboard.
#[derive(Debug, Clone)]
pub struct Card {
    pub title: &'static str,
    pub body: &'static str,
    pub link: Option<(&'static str, &'static str)>,
}

/// The cards of a role's dashboard.
pub fn cards_for(role: Option<Role>) -> Vec<Card> {
    match role {
        Some(Role::Admin) => vec![
            Card {
                title: "System status",
                body: "Version, database backend, uptime and applied migrations.",
                link: Some(("/admin/status", "Open system status")),
            },
            Card {
                title: "Users",
                body: "Staff and patient accounts, their roles and status.",
                link: Some(("/admin/users", "Manage users")),
            },
            Card {
                title: "Audit log",
                body: "Every sign-in, change and access, with who, when and the outcome; filter it (denied requests, one account, a date range) and download it as CSV.",
                link: Some(("/audit", "Open the audit log")),
            },
            Card {
                title: "Audit integrity",
                body: "The last verification of the tamper-evident log, the latest signed checkpoint and the key that verifies it; verify the whole log now.",
                link: Some(("/admin/status#audit-trail", "Check the audit trail")),
            },
            Card {
                title: "Patients",
                body: "Search, register and correct patients; see how each record is stored (the encryption view).",
                link: Some(("/patients", "Open the patient list")),
            },
            Card {
                title: "Research export",
                body: "A de-identified, k-anonymous CSV of all patients: pseudonyms, age bands, sex, postcode areas.",
                link: Some(("/admin/research-export", "Prepare an export")),
            },
            Card {
                title: "Departments and staff",
                body: "Departments with their default appointment length; staff profiles with department, specialty, work phone and working hours.",
                link: Some(("/departments", "Manage departments")),
            },
            Card {
                title: "Staff directory",
                body: "Everyone with a clinical or desk role; set their department, specialty and working hours.",
                link: Some(("/staff", "Open the staff directory")),
            },
            Card {
                title: "Appointment report",
                body: "Appointments by department, clinician, status and day for a date range, with a chart and a CSV download.",
                link: Some(("/appointments/report", "Open the report")),
            },
            Card {
                title: "Backups",
                body: "The last backup, its size and the result of the restore drill.",
                link: Some(("/admin/backups", "Open backups")),
            },
            Card {
                title: "Metrics",
                body: "Request counts, latencies, the audit queue and the backup age in Prometheus text format, for monitoring.",
                link: Some(("/metrics", "Open /metrics")),
            },
            Card {
                title: "Pharmacy stock",
                body: "Stock per drug with reorder and expiry alerts, the formulary, and the stock report.",
                link: Some(("/pharmacy", "Open the stock overview")),
            },
            Card {
                title: "Break-the-glass reviews",
                body: "Emergency accesses by doctors and nurses outside a patient's care team, with their stated reasons: judge each justified or not.",
                link: Some(("/admin/break-glass", "Open the review queue")),
            },
        ],
        Some(Role::Doctor) => vec![
            Card {
                title: "My day",
                body: "Today's appointments, in order, with check-in status; start and complete them.",
                link: Some(("/my/day", "Open my day")),
            },
            Card {
                title: "Appointment requests",
                body: "Patients asking to see you: accept into a free slot or decline with a reason.",
                link: Some(("/appointments/requests", "See requests")),
            },
            Card {
                title: "Patients",
                body: "Search by name, date of birth, MRN or phone. Patients on your care team are shown in full; others appear as a pseudonym (ANON_…).",
                link: Some(("/patients", "Search patients")),
            },
            Card {
                title: "Encounters and prescriptions",
                body: "Open a patient in your care and choose \"New encounter\": record the visit, code the diagnoses, prescribe, then sign. Corrections after signing are amendments.",
                link: Some(("/patients", "Find the patient")),
            },
            Card {
                title: "Diagnoses report",
                body: "Diagnoses by code and department for a period, with a chart and CSV.",
                link: Some(("/reports/diagnoses", "Open the report")),
            },
        ],
        Some(Role::Nurse) => vec![
            Card {
                title: "My patients",
                body: "Today's checked-in patients of your department and your care team: triage new arrivals (acuity, vitals, a note) and open their charts.",
                link: Some(("/my/patients", "Open my patients")),
            },
            Card {
                title: "My day",
                body: "Today's appointments with you, and who has checked in.",
                link: Some(("/my/day", "Open my day")),
            },
            Card {
                title: "Patients",
                body: "Search patients. Those on your care team are shown in full; others appear as a pseudonym (ANON_…).",
                link: Some(("/patients", "Search patients")),
            },
            Card {
                title: "Nursing notes and addenda",
                body: "Write nursing notes for patients in your care from \"My patients\", add treatment notes and vitals to an open encounter, and add an addendum to a signed one.",
                link: Some(("/my/patients", "Find the patient")),
            },
        ],
        Some(Role::Receptionist) => vec![
            Card {
                title: "Check-in desk",
                body: "Today's arrivals across every department: check patients in as they arrive.",
                link: Some(("/desk", "Open the check-in desk")),
            },
            Card {
                title: "Book an appointment",
                body: "Open the patient's page and choose \"Book appointment\"; a double booking is refused with the next free slots.",
                link: Some(("/patients", "Find the patient")),
            },
            Card {
                title: "Appointment requests",
                body: "Patients' requests waiting for a slot: accept or decline.",
                link: Some(("/appointments/requests", "See requests")),
            },
            Card {
                title: "Registration",
                body: "Register patients (you are warned about possible duplicates), correct their details and assign their care team.",
                link: Some(("/patients/new", "Register a patient")),
            },
            Card {
                title: "Patients",
                body: "Find a patient by name, date of birth, MRN, phone or national id.",
                link: Some(("/patients", "Search patients")),
            },
            Card {
                title: "Billing",
                body: "Invoices to issue and payments to record.",
                link: Some(("/billing", "Open billing")),
            },
        ],
        Some(Role::Pharmacist) => vec![
            Card {
                title: "Prescriptions to dispense",
                body: "Active prescriptions with units left to dispense: dispense first expiry first out.",
                link: Some(("/pharmacy/dispensing", "Open the dispensing queue")),
            },
            Card {
                title: "Stock",
                body: "Stock per drug with reorder and expiry alerts; receive and adjust batches; the formulary.",
                link: Some(("/pharmacy", "Open the stock overview")),
            },
            Card {
                title: "Stock report",
                body: "Levels, stock value and expiring batches, with a chart and CSV.",
                link: Some(("/reports/stock", "Open the report")),
            },
            Card {
                title: "Find a prescription",
                body: "The patient at the counter: search the prescriptions waiting to be dispensed by name, MRN, date of birth or drug.",
                link: Some(("/pharmacy/dispensing", "Search the queue")),
            },
        ],
        Some(Role::Patient) => vec![
            Card {
                title: "My record",
                body: "Your details as the hospital holds them; correct your address, phone, e-mail and emergency contact.",
                link: Some(("/my/record", "Open my record")),
            },
            Card {
                title: "My appointments",
                body: "Your upcoming and past appointments; request a consultation or cancel one.",
                link: Some(("/my/appointments", "Open my appointments")),
            },
            Card {
                title: "My health record",
                body: "Your signed encounters, prescriptions and documents; print a summary; share your record (or one visit) with a doctor.",
                link: Some(("/my/encounters", "Open my encounters")),
            },
            Card {
                title: "My bills",
                body: "Your invoices and payments.",
                link: Some(("/my/bills", "Open my bills")),
            },
            Card {
                title: "Who accessed my record",
                body: "Every time staff opened or changed your record or your account: when, who, in which role, and what they did.",
                link: Some(("/account/access-history", "See who accessed my record")),
            },
        ],
        Some(Role::Auditor) => vec![
            Card {
                title: "Audit log",
                body: "Every sign-in, change and access, with who, when and the outcome; filter it by actor, action, patient pseudonym, outcome or date, and download it as CSV.",
                link: Some(("/audit", "Open the audit log")),
            },
            Card {
                title: "Integrity",
                body: "Check the log from outside: the latest signed checkpoint and inclusion and consistency proofs are served by the API (/api/v1/audit/…).",
                link: Some(("/api/docs", "Read the API reference")),
            },
            Card {
                title: "Patients (pseudonymised)",
                body: "Patients as pseudonyms (ANON_…), age bands and sex; look one up by pseudonym to follow it through the audit log.",
                link: Some(("/patients", "Open the pseudonymised list")),
            },
        ],
        None => Vec::new(),
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    greeting: String,
    /// Administrators: "N emergency accesses awaiting review", when N > 0.
    emergency_alert: Option<String>,
    /// Administrators and pharmacists: drugs to reorder and batches expiring, when any.
    stock_alert: Option<StockAlert>,
    /// The role's own day, in words and numbers.
    day: Vec<DayFact>,
    /// Administrators: the system facts and the charts.
    admin: Option<AdminPanel>,
    cards: Vec<Card>,
}

/// One line of a role's day: a number and what it counts (`key` names it for tests).
#[derive(Debug, Clone)]
pub struct DayFact {
    pub key: &'static str,
    pub value: String,
    pub label: String,
    pub link: Option<&'static str>,
}

fn fact(key: &'static str, value: impl ToString, label: impl Into<String>) -> DayFact {
    DayFact {
        key,
        value: value.to_string(),
        label: label.into(),
        link: None,
    }
}

/// The administrators' facts and charts, ready to show.
#[derive(Debug, Clone)]
pub struct AdminPanel {
    pub facts: Vec<(&'static str, &'static str, String)>,
    /// (title, inline SVG) of each chart.
    pub charts: Vec<(&'static str, String)>,
}

/// Minor units as "1234.50 USD".
pub fn format_minor(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", abs / 100, abs % 100)
}

fn admin_panel(d: &AdminDashboard) -> AdminPanel {
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let backup = match &d.last_backup {
        None => "none recorded".to_owned(),
        Some(b) => {
            let result = match &b.error {
                None => "succeeded".to_owned(),
                Some(e) => format!("FAILED: {e}"),
            };
            let drill = match &b.drill {
                None => String::new(),
                Some(dr) if dr.error.is_none() => ", restore drill passed".to_owned(),
                Some(_) => ", restore drill FAILED".to_owned(),
            };
            format!(
                "{}, {}, {result}{drill}",
                when(b.finished_at),
                format_size(b.bytes)
            )
        }
    };
    let verification = match &d.last_verification {
        None => "never".to_owned(),
        Some(v) if v.ok => format!("ok at {} ({} events)", when(v.finished_at), v.size),
        Some(v) => format!("FAILED at {}", when(v.finished_at)),
    };
    let disk = match d.disk {
        None => "unknown".to_owned(),
        Some(disk) => format!(
            "{} free of {}{}",
            format_size(disk.available_bytes),
            format_size(disk.total_bytes),
            if disk.is_low() { " (LOW)" } else { "" }
        ),
    };
    let facts = vec![
        ("uptime", "Uptime", format_uptime(d.status.uptime)),
        ("backup", "Last backup", backup),
        ("audit", "Last audit verification", verification),
        (
            "database",
            "Database",
            format!(
                "{}, {}",
                d.status.backend.name(),
                d.status
                    .database_size_bytes
                    .and_then(|b| u64::try_from(b).ok())
                    .map_or_else(|| "size unknown".to_owned(), format_size)
            ),
        ),
        ("disk", "Data directory disk", disk),
        (
            "sessions",
            "Active sessions",
            d.status.active_sessions.to_string(),
        ),
    ];
    let to_bars = |counts: &[carevault_service::dashboard::Count]| -> Vec<Bar> {
        counts
            .iter()
            .map(|c| Bar::new(c.label.clone(), c.value))
            .collect()
    };
    let age_groups: Vec<Group> = d
        .patients_by_age_and_sex
        .iter()
        .map(|g| Group {
            label: g.group.clone(),
            bars: to_bars(&g.values),
        })
        .collect();
    let invoice_bars: Vec<Bar> = d
        .outstanding_invoices
        .iter()
        .map(|o| {
            Bar::new(
                format!(
                    "{} ({})",
                    o.status.replace('_', " "),
                    format_minor(o.owed_minor, &d.currency)
                ),
                o.count,
            )
        })
        .collect();
    let stock = d.stock_alerts;
    let charts = vec![
        (
            "Patients by age band and sex",
            charts::grouped_bars(
                "patients-age-sex",
                "Patients by five-year age band and sex (erased records excluded)",
                &SEXES,
                &age_groups,
            ),
        ),
        (
            "Appointments per day",
            charts::vertical_bars(
                "appointments-per-day",
                &format!(
                    "Appointments per day, the 14 days before and after {}",
                    d.today.format("%Y-%m-%d")
                ),
                &to_bars(&d.appointments_per_day),
                7,
            ),
        ),
        (
            "Appointments per department",
            charts::horizontal_bars(
                "appointments-per-department",
                "Appointments per department, the same 28 days",
                &to_bars(&d.appointments_per_department),
            ),
        ),
        (
            "Encounters per week",
            charts::vertical_bars(
                "encounters-per-week",
                "Encounters per week (weeks starting Monday), the last 12 weeks",
                &to_bars(&d.encounters_per_week),
                2,
            ),
        ),
        (
            "Stock alerts",
            charts::horizontal_bars(
                "stock-alerts",
                "Stock alerts: drugs to reorder, batches expiring and expired",
                &[
                    Bar::new("reorder", stock.reorder),
                    Bar::new("expiring", stock.expiring),
                    Bar::new("expired", stock.expired),
                ],
            ),
        ),
        (
            "Outstanding invoices",
            charts::horizontal_bars(
                "outstanding-invoices",
                "Invoices still owing, by status (amount owed in brackets)",
                &invoice_bars,
            ),
        ),
    ];
    AdminPanel { facts, charts }
}

/// The facts of a role's own day.
fn day_facts(day: &RoleDashboard, zone: chrono_tz::Tz) -> Vec<DayFact> {
    match day {
        RoleDashboard::Admin => Vec::new(),
        RoleDashboard::Clinician {
            today,
            total,
            scheduled,
            waiting,
            in_progress,
            completed,
        } => {
            let mut first = fact(
                "appointments-today",
                total,
                format!(
                    "appointment(s) on your schedule today ({})",
                    today.format("%Y-%m-%d")
                ),
            );
            first.link = Some("/my/day");
            vec![
                first,
                fact("waiting", waiting, "checked in and waiting"),
                fact("in-progress", in_progress, "in progress"),
                fact("scheduled", scheduled, "still to come"),
                fact("completed", completed, "completed"),
            ]
        }
        RoleDashboard::Reception {
            today,
            total,
            checked_in,
            expected,
            pending_requests,
        } => {
            let mut first = fact(
                "appointments-today",
                total,
                format!("appointment(s) today ({})", today.format("%Y-%m-%d")),
            );
            first.link = Some("/desk");
            let mut requests = fact(
                "requests",
                pending_requests,
                "appointment request(s) waiting for a slot",
            );
            requests.link = Some("/appointments/requests");
            vec![
                first,
                fact("checked-in", checked_in, "checked in"),
                fact("expected", expected, "expected, not arrived yet"),
                requests,
            ]
        }
        RoleDashboard::Pharmacy {
            active_prescriptions,
            stock_alerts,
        } => {
            let mut queue = fact(
                "dispensing-queue",
                active_prescriptions,
                "active prescription(s) in the dispensing queue",
            );
            queue.link = Some("/pharmacy/dispensing");
            let mut alerts = fact(
                "stock-alerts",
                stock_alerts.total(),
                format!(
                    "stock alert(s): {} to reorder, {} expiring, {} expired",
                    stock_alerts.reorder, stock_alerts.expiring, stock_alerts.expired
                ),
            );
            alerts.link = Some("/pharmacy");
            vec![queue, alerts]
        }
        RoleDashboard::Patient {
            next_appointments,
            unpaid_bills,
            unpaid_minor,
            currency,
        } => {
            let mut out = Vec::new();
            let mut next = fact(
                "next-appointments",
                next_appointments.len(),
                "upcoming appointment(s)",
            );
            next.link = Some("/my/appointments");
            out.push(next);
            for a in next_appointments {
                out.push(fact(
                    "next-appointment",
                    a.start
                        .with_timezone(&zone)
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                    format!(
                        "{}{} ({})",
                        a.department,
                        a.clinician
                            .as_deref()
                            .map(|c| format!(", {c}"))
                            .unwrap_or_default(),
                        a.status.replace('_', " ")
                    ),
                ));
            }
            let mut bills = fact(
                "unpaid-bills",
                unpaid_bills,
                format!(
                    "unpaid bill(s), {} owed",
                    format_minor(*unpaid_minor, currency)
                ),
            );
            bills.link = Some("/my/bills");
            out.push(bills);
            out
        }
        RoleDashboard::Auditor {
            last_verification,
            refusals_last_24h,
        } => {
            let verification = match last_verification {
                None => fact("audit-verification", "never", "audit trail verification"),
                Some(v) => fact(
                    "audit-verification",
                    if v.ok { "ok" } else { "FAILED" },
                    format!(
                        "last audit trail verification, {} ({} events)",
                        v.finished_at.format("%Y-%m-%d %H:%M UTC"),
                        v.size
                    ),
                ),
            };
            let mut refusals = fact(
                "refusals",
                refusals_last_24h,
                "refused request(s) in the last 24 hours",
            );
            refusals.link = Some("/audit?outcome=denied");
            vec![verification, refusals]
        }
    }
}

/// The stock alert card: drugs at or below their reorder level and batches expiring within
/// the window (or expired).
#[derive(Debug, Clone)]
pub struct StockAlert {
    pub window: u32,
    pub reorder: Vec<String>,
    pub expiring: Vec<String>,
}

/// The stock alert of `levels`, if there is anything to say.
fn stock_alert(levels: &[StockLevel], window: u32) -> Option<StockAlert> {
    let reorder: Vec<String> = levels
        .iter()
        .filter(|l| l.reorder_needed)
        .map(|l| format!("{} {}", l.drug.name, l.drug.strength))
        .collect();
    let expiring: Vec<String> = levels
        .iter()
        .flat_map(|l| {
            l.expired
                .iter()
                .map(move |b| (l, b, true))
                .chain(l.expiring.iter().map(move |b| (l, b, false)))
        })
        .map(|(l, b, expired)| {
            format!(
                "{} {}, batch {} ({} {})",
                l.drug.name,
                l.drug.strength,
                b.batch_number,
                if expired { "expired" } else { "expires" },
                b.expiry.format("%Y-%m-%d")
            )
        })
        .collect();
    (!reorder.is_empty() || !expiring.is_empty()).then_some(StockAlert {
        window,
        reorder,
        expiring,
    })
}

/// The administrators' alert about emergency accesses awaiting review, if any.
fn emergency_alert(pending: u64) -> Option<String> {
    match pending {
        0 => None,
        1 => Some("1 emergency access awaiting review".to_owned()),
        n => Some(format!("{n} emergency accesses awaiting review")),
    }
}

pub async fn home() -> Response {
    Redirect::to("/dashboard").into_response()
}

pub async fn dashboard(
    PageRequest { state, actor, csrf }: PageRequest,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let role = actor.role();
    let title = match role {
        Some(role) => format!("{} dashboard", role.label()),
        None => "Dashboard".to_owned(),
    };
    let emergency_alert = if actor.may(Action::ReviewEmergencyAccess) {
        emergency_alert(state.services.pending_emergency_reviews(&actor).await?)
    } else {
        None
    };
    let stock_alert = if actor.may(Action::ManageStock) {
        let window = state.services.expiry_window_days();
        let levels = state.services.stock_levels(&actor, window).await?;
        stock_alert(&levels, window)
    } else {
        None
    };
    let day = match state.services.role_dashboard(&actor).await {
        Ok(day) => day_facts(&day, state.services.clinic_time_zone()),
        Err(carevault_service::ServiceError::Forbidden) => Vec::new(),
        Err(err) => return Err(err.into()),
    };
    let admin = if actor.may(Action::AdministerSystem) {
        Some(admin_panel(&state.services.admin_dashboard(&actor).await?))
    } else {
        None
    };
    let page = DashboardPage {
        layout: Layout::new(&state, &actor, &title, "/dashboard", csrf)
            .with_notice(notice(query.notice.as_deref())),
        greeting: format!("Welcome, {}", actor.display_name()),
        emergency_alert,
        stock_alert,
        day,
        admin,
        cards: cards_for(role),
    };
    render(&page)
}
