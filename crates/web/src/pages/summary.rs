//! The medical record summary: an HTML print view and the same content as a PDF, for a
//! patient's care team and administrators (`/patients/{id}/summary[.pdf]`) and for the
//! patient (`/my/summary[.pdf]`). Both are built from one list of sections, so they cannot
//! disagree.

use askama::Template;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_core::Action;
use carevault_core::PatientId;
use carevault_service::Actor;
use carevault_service::encounters::MedicalSummary;
use chrono_tz::Tz;

use crate::AppState;
use crate::errors::PageError;
use crate::pages::{Layout, PageRequest, render};
use crate::pdf::{self, Section};
use crate::routes::RouteTable;
use crate::vitals_table::{VitalsTable, reading_as_text};

/// Adds the summary pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .page(Action::SeeClinical, "/patients/{id}/summary", page)
        .page(Action::SeeClinical, "/patients/{id}/summary.pdf", pdf_file)
        .page(Action::UsePortal, "/my/summary", my_page)
        .page(Action::UsePortal, "/my/summary.pdf", my_pdf)
}

#[derive(Template)]
#[template(path = "summary.html")]
struct SummaryPage {
    layout: Layout,
    subtitle: String,
    pdf_href: String,
    sections: Vec<Section>,
    /// The vitals section's heading: the print view shows that section as a table.
    vitals_heading: &'static str,
    vitals_table: VitalsTable,
}

/// The heading of the vitals section (a table in the print view, lines in the PDF).
const VITALS_HEADING: &str = "Vitals";

fn shown(value: &Option<Option<String>>) -> Option<String> {
    value.clone().flatten()
}

/// The summary as headed lines (times in the clinic's zone).
fn sections(summary: &MedicalSummary, zone: Tz) -> Vec<Section> {
    let p = &summary.patient;
    let day =
        |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&zone).format("%Y-%m-%d").to_string();
    let mut patient = vec![format!("Name: {}", p.display_name())];
    if let Some(dob) = &p.date_of_birth {
        patient.push(format!("Date of birth: {dob}"));
    }
    if let Some(sex) = &p.sex {
        patient.push(format!("Sex: {sex}"));
    }
    if let Some(mrn) = &p.mrn {
        patient.push(format!("MRN: {mrn}"));
    }
    if let Some(group) = shown(&p.blood_group) {
        patient.push(format!("Blood group: {group}"));
    }
    let allergies = match &p.allergies {
        Some(Some(text)) => vec![text.clone()],
        // Nothing recorded is not "no known allergies" (which is a recorded statement).
        Some(None) => vec!["Allergies not recorded.".to_owned()],
        None => Vec::new(),
    };
    let problems = summary
        .problems
        .iter()
        .map(|d| match &d.code {
            Some(code) => format!("{code} {} (since {})", d.text, day(d.added_at)),
            None => format!("{} (free text, since {})", d.text, day(d.added_at)),
        })
        .collect();
    let mut encounters = Vec::new();
    for e in &summary.encounters {
        encounters.push(format!(
            "{} · {} · {}",
            day(e.started_at),
            e.kind.as_str().replace('_', " "),
            e.clinician_name
        ));
        for (field, label) in [
            ("chief_complaint", "Complaint"),
            ("assessment", "Assessment"),
            ("plan", "Plan"),
        ] {
            if let Some(text) = e.text(field) {
                encounters.push(format!("    {label}: {text}"));
            }
        }
        for d in e.diagnoses.iter().filter(|d| d.retracted_at.is_none()) {
            encounters.push(format!(
                "    Diagnosis ({}): {}{}",
                d.kind.as_str(),
                d.code.as_ref().map(|c| format!("{c} ")).unwrap_or_default(),
                d.text
            ));
        }
        if !e.amendments.is_empty() {
            encounters.push(format!("    Amended {} time(s)", e.amendments.len()));
        }
    }
    let prescriptions = summary
        .prescriptions
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}, {} days, quantity {} — {} ({}, {})",
                r.drug_name,
                r.dose,
                r.route,
                r.frequency,
                r.duration_days,
                r.quantity,
                r.status.as_str(),
                day(r.created_at),
                r.prescriber_name
            )
        })
        .collect();
    let mut out = vec![Section {
        heading: "Patient".into(),
        lines: patient,
    }];
    if p.allergies.is_some() {
        out.push(Section {
            heading: "Allergies".into(),
            lines: allergies,
        });
    }
    out.push(Section {
        heading: "Problem list".into(),
        lines: problems,
    });
    out.push(Section {
        heading: "Encounters".into(),
        lines: encounters,
    });
    out.push(Section {
        heading: "Prescriptions".into(),
        lines: prescriptions,
    });
    // Each abnormal value reads "(high)" or "(low)" with its range: a PDF has no colour.
    out.push(Section {
        heading: VITALS_HEADING.into(),
        lines: summary
            .vitals
            .iter()
            .map(|v| reading_as_text(v, zone))
            .collect(),
    });
    out
}

fn subtitle(summary: &MedicalSummary, zone: Tz) -> String {
    format!(
        "Medical record summary, printed {} ({}). Confidential: contains personal health information.",
        summary
            .printed_at
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M"),
        zone.name()
    )
}

async fn render_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: PatientId,
    pdf_href: String,
) -> Result<Response, PageError> {
    let summary = state.services.medical_record_summary(actor, id).await?;
    let zone = state.services.clinic_time_zone();
    let layout = Layout::new(state, actor, "Medical record summary", "/patients", csrf);
    render(&SummaryPage {
        layout: crate::pages::banner::with_banner(state, actor, layout, id).await?,
        subtitle: subtitle(&summary, zone),
        pdf_href,
        sections: sections(&summary, zone),
        vitals_heading: VITALS_HEADING,
        vitals_table: VitalsTable::new(
            "summary-vitals",
            "Latest vitals, newest first",
            &summary.vitals,
            zone,
        ),
    })
}

async fn render_pdf(state: &AppState, actor: &Actor, id: PatientId) -> Result<Response, PageError> {
    let summary = state.services.medical_record_summary(actor, id).await?;
    let zone = state.services.clinic_time_zone();
    let bytes = pdf::render(
        "Medical record summary",
        &subtitle(&summary, zone),
        &sections(&summary, zone),
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"medical-record-summary.pdf\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

fn patient_id(raw: &str) -> Result<PatientId, PageError> {
    raw.parse()
        .map_err(|_| PageError::Status(StatusCode::NOT_FOUND, Some("No such patient.".into())))
}

/// `GET /patients/{id}/summary`.
pub async fn page(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = patient_id(&id)?;
    render_page(
        &state,
        &actor,
        csrf,
        id,
        format!("/patients/{id}/summary.pdf"),
    )
    .await
}

/// `GET /patients/{id}/summary.pdf`.
pub async fn pdf_file(
    PageRequest { state, actor, .. }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = patient_id(&id)?;
    render_pdf(&state, &actor, id).await
}

async fn own_id(state: &AppState, actor: &Actor) -> Result<PatientId, PageError> {
    match state.services.my_record_shares(actor).await? {
        Some((id, _)) => Ok(id),
        None => Err(PageError::Status(
            StatusCode::NOT_FOUND,
            Some("Your account is not linked to a patient record yet.".into()),
        )),
    }
}

/// `GET /my/summary`.
pub async fn my_page(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    let id = own_id(&state, &actor).await?;
    render_page(&state, &actor, csrf, id, "/my/summary.pdf".into()).await
}

/// `GET /my/summary.pdf`.
pub async fn my_pdf(PageRequest { state, actor, .. }: PageRequest) -> Result<Response, PageError> {
    let id = own_id(&state, &actor).await?;
    render_pdf(&state, &actor, id).await
}
