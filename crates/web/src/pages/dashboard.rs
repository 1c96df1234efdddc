//! The dashboard: one per role, showing that role's day. Until the later parts of the system
//! land, each card says what it will hold.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::Role;
use carevault_service::pharmacy::StockLevel;
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CurrentActor, FormToken};
use crate::pages::{Layout, notice, render};

/// A card on a dashboard.
#[derive(Debug, Clone)]
pub struct Card {
    pub title: &'static str,
    pub body: &'static str,
    pub link: Option<(&'static str, &'static str)>,
}

const fn card(title: &'static str, body: &'static str) -> Card {
    Card {
        title,
        body,
        link: None,
    }
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
            card(
                "Backups",
                "Coming with backups: the last backup, its size and the result of the restore drill.",
            ),
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
                title: "Treatment updates",
                body: "Open a patient in your care, then an open encounter, to add treatment notes and vitals.",
                link: Some(("/patients", "Find the patient")),
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
            card(
                "Billing",
                "Coming with billing: invoices to issue and payments to record.",
            ),
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
                title: "Patients",
                body: "Confirm a patient's name and date of birth for dispensing.",
                link: Some(("/patients", "Search patients")),
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
            card(
                "My bills",
                "Coming with billing: your invoices and payments.",
            ),
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
    cards: Vec<Card>,
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

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

pub async fn home() -> Response {
    Redirect::to("/dashboard").into_response()
}

pub async fn dashboard(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let role = actor.role();
    let title = match role {
        Some(role) => format!("{} dashboard", role.label()),
        None => "Dashboard".to_owned(),
    };
    let emergency_alert = if role == Some(Role::Admin) {
        emergency_alert(state.services.pending_emergency_reviews(&actor).await?)
    } else {
        None
    };
    let stock_alert = if matches!(role, Some(Role::Admin | Role::Pharmacist)) {
        let window = state.services.expiry_window_days();
        let levels = state.services.stock_levels(&actor, window).await?;
        stock_alert(&levels, window)
    } else {
        None
    };
    let page = DashboardPage {
        layout: Layout::new(&state, &actor, &title, "/dashboard", csrf)
            .with_notice(notice(query.notice.as_deref())),
        greeting: format!("Welcome, {}", actor.display_name()),
        emergency_alert,
        stock_alert,
        cards: cards_for(role),
    };
    render(&page)
}
