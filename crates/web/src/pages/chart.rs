//! The patient chart (`/patients/{id}`, and `/my/record` for the patient themselves): one
//! screen with the banner, problems, allergies, active medications, vitals with their
//! trend, recent encounters, appointments, documents, bills and the care team — each only
//! when the service returned it. One use case (`Services::patient_chart`) supplies it all,
//! so the page is authorised, opened and recorded once.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use carevault_core::clinical::VITAL_RANGES;
use carevault_core::masking::{PatientField, Visibility, visibility};
use carevault_core::reference_range::{VitalFlag, reference_range};
use carevault_core::{Action, PatientId, Role, ValidationErrors};
use carevault_service::Actor;
use carevault_service::chart::{CareTeamSection, PatientChart};
use carevault_service::encounters::VitalsView;
use chrono_tz::Tz;

use crate::AppState;
use crate::errors::PageError;
use crate::pages::documents::DocumentsSection;
use crate::pages::emergency::EmergencySection;
use crate::pages::{Layout, PageRequest, notice, render};

/// Vitals readings shown side by side in the chart's flowsheet.
const FLOWSHEET_READINGS: usize = 6;

/// A moment in the clinic's time zone, with the zone's abbreviation.
fn format_instant(at: chrono::DateTime<chrono::Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// The clinic's day of a moment.
fn format_day(at: chrono::DateTime<chrono::Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d").to_string()
}

/// One field of the record's details: `<div data-field="{name}">`.
#[derive(Debug, Clone)]
pub(crate) struct FieldRow {
    pub name: &'static str,
    pub label: &'static str,
    /// `None`: shown, but nothing is recorded.
    pub value: Option<String>,
    /// "masked" or "pseudonym" when the value is not the stored one.
    pub note: Option<&'static str>,
}

/// A problem as listed.
#[derive(Debug, Clone)]
struct ProblemRow {
    code: Option<String>,
    text: String,
    free_text: bool,
    onset: Option<String>,
    active: bool,
}

/// An allergy as listed in the chart's allergy section.
#[derive(Debug, Clone)]
struct AllergyRow {
    substance: String,
    reaction: Option<String>,
    severity: &'static str,
    free_text: bool,
    recorded: String,
}

/// An active medication.
#[derive(Debug, Clone)]
struct MedicationRow {
    id: String,
    drug: String,
    directions: String,
    prescriber: String,
    started: String,
    dispensed: String,
    overridden: Option<String>,
}

/// One vital sign across the last readings.
#[derive(Debug, Clone)]
struct FlowsheetRow {
    field: &'static str,
    label: &'static str,
    unit: &'static str,
    range: Option<String>,
    /// One cell per reading, newest first.
    cells: Vec<FlowsheetCell>,
}

#[derive(Debug, Clone, Default)]
struct FlowsheetCell {
    value: Option<String>,
    /// `high`, `low`, or empty.
    flag: &'static str,
}

/// The vitals flowsheet: readings as columns (newest first), vital signs as rows.
#[derive(Debug, Clone, Default)]
struct Flowsheet {
    /// When each reading was taken (day, time) and by whom, newest first.
    columns: Vec<(String, String, String)>,
    rows: Vec<FlowsheetRow>,
    /// The latest reading's abnormal values, for the summary line: "Temperature 38.6 °C (high)".
    abnormal_latest: Vec<String>,
    latest_at: Option<String>,
    bmi: Option<String>,
}

fn flowsheet(readings: &[VitalsView], zone: Tz) -> Flowsheet {
    // Newest first: the latest reading is the one a clinician looks for.
    let shown: Vec<&VitalsView> = readings.iter().take(FLOWSHEET_READINGS).collect();
    let columns = shown
        .iter()
        .map(|r| {
            (
                r.at.with_timezone(&zone).format("%d %b %Y").to_string(),
                r.at.with_timezone(&zone).format("%H:%M %Z").to_string(),
                r.recorded_by.clone(),
            )
        })
        .collect();
    let rows = VITAL_RANGES
        .iter()
        .filter(|range| shown.iter().any(|r| r.measurement(range.field).is_some()))
        .map(|range| FlowsheetRow {
            field: range.field,
            label: range.label,
            unit: range.short_unit,
            range: reference_range(range.field).map(|r| r.describe()),
            cells: shown
                .iter()
                .map(|r| {
                    r.measurement(range.field)
                        .map(|m| FlowsheetCell {
                            value: Some(m.value.clone()),
                            flag: match m.flag {
                                VitalFlag::Normal => "",
                                flag => flag.as_str(),
                            },
                        })
                        .unwrap_or_default()
                })
                .collect(),
        })
        .collect();
    let latest = readings.first();
    Flowsheet {
        columns,
        rows,
        abnormal_latest: latest
            .map(|r| {
                r.measurements
                    .iter()
                    .filter(|m| m.flag.is_abnormal())
                    .map(|m| format!("{} {} {} ({})", m.label, m.value, m.short_unit, m.flag))
                    .collect()
            })
            .unwrap_or_default(),
        latest_at: latest.map(|r| format_instant(r.at, zone)),
        bmi: latest
            .and_then(|r| r.bmi.as_ref())
            .map(|b| format!("{} ({})", b.value, b.category)),
    }
}

/// A recent encounter.
#[derive(Debug, Clone)]
struct EncounterRow {
    id: String,
    date: String,
    kind: String,
    signed: bool,
    author: String,
    diagnoses: Vec<(Option<String>, String)>,
}

/// A triage or nursing note.
#[derive(Debug, Clone)]
struct NursingRow {
    /// "Triage · ESI 3 · Urgent" or "Nursing note".
    what: String,
    urgent: bool,
    at: String,
    author: String,
    text: Option<String>,
    /// The abnormal values measured with a triage: "Temperature 38.6 °C (high)".
    abnormal: Vec<String>,
}

/// An appointment.
#[derive(Debug, Clone)]
struct AppointmentRow {
    id: String,
    when: String,
    kind: String,
    status: String,
    with: String,
    reason: Option<String>,
}

/// A bill.
#[derive(Debug, Clone)]
struct BillRow {
    id: String,
    number: String,
    status: String,
    total: String,
    balance: String,
}

/// A care-team member.
#[derive(Debug, Clone)]
struct MemberRow {
    user_id: String,
    display_name: String,
    username: String,
    role: &'static str,
    source: String,
    since: String,
    removable: bool,
}

#[derive(Template)]
#[template(path = "chart.html")]
struct ChartPage {
    layout: Layout,
    id: String,
    view: &'static str,
    /// Shown where it stands in for the name, and to administrators.
    pseudonym: Option<String>,
    sections: Vec<&'static str>,
    clinical: bool,
    fields: Vec<FieldRow>,
    allergy_state: &'static str,
    allergies: Vec<AllergyRow>,
    problems: Vec<ProblemRow>,
    resolved_problems: Vec<ProblemRow>,
    medications: Vec<MedicationRow>,
    vitals: Flowsheet,
    encounters: Vec<EncounterRow>,
    nursing: Vec<NursingRow>,
    upcoming: Vec<AppointmentRow>,
    recent: Vec<AppointmentRow>,
    documents: DocumentsSection,
    bills: Vec<BillRow>,
    members: Vec<MemberRow>,
    team_withheld: Option<String>,
    team_username: String,
    errors: ValidationErrors,
    emergency: EmergencySection,
    actions: carevault_service::chart::ChartActions,
    access_history_href: Option<String>,
}

impl ChartPage {
    fn has(&self, section: &str) -> bool {
        self.sections.contains(&section)
    }
}

/// The fields of the record's details the service sent, in the record's order.
pub(crate) fn field_rows(
    d: &carevault_service::patients::PatientDetails,
    zone: Tz,
) -> Vec<FieldRow> {
    use PatientField as F;
    let mut rows = Vec::new();
    let mut push = |field: F, label: &'static str, shown: Option<Option<String>>| {
        if let Some(value) = shown {
            let note = match visibility(d.view, field) {
                Visibility::Masked => Some("masked"),
                Visibility::Pseudonym => Some("pseudonym"),
                Visibility::Clear | Visibility::Hidden => None,
            };
            rows.push(FieldRow {
                name: field.name(),
                label,
                value: value.filter(|v| !v.is_empty()),
                note,
            });
        }
    };
    push(F::Id, "Record id", Some(Some(d.id.to_string())));
    push(F::Mrn, "Hospital number (MRN)", d.mrn.clone().map(Some));
    push(F::GivenName, "Given name", d.given_name.clone().map(Some));
    let family_label = match visibility(d.view, F::FamilyName) {
        Visibility::Pseudonym => "Pseudonym",
        _ => "Family name",
    };
    push(F::FamilyName, family_label, d.family_name.clone().map(Some));
    let dob_label = match visibility(d.view, F::DateOfBirth) {
        Visibility::Masked => "Year of birth",
        Visibility::Pseudonym => "Age band",
        _ => "Date of birth",
    };
    push(F::DateOfBirth, dob_label, d.date_of_birth.clone().map(Some));
    push(F::Sex, "Sex", d.sex.clone().map(Some));
    push(
        F::GenderIdentity,
        "Gender identity",
        d.gender_identity.clone(),
    );
    push(F::Address, "Address", d.address.clone());
    push(F::Phone, "Phone", d.phone.clone());
    push(F::Email, "E-mail", d.email.clone());
    push(
        F::EmergencyContact,
        "Emergency contact",
        d.emergency_contact.as_ref().map(|contact| {
            contact
                .as_ref()
                .map(|c| format!("{} ({}), {}", c.name, c.relation, c.phone))
        }),
    );
    push(F::NationalId, "National id", d.national_id.clone());
    push(
        F::PreferredLanguage,
        "Preferred language",
        d.preferred_language.clone(),
    );
    push(F::BloodGroup, "Blood group", d.blood_group.clone());
    push(F::Allergies, "Allergies", d.allergies.clone());
    push(
        F::PrimaryDiagnosis,
        "Primary diagnosis",
        d.primary_diagnosis.clone(),
    );
    push(F::Status, "Status", Some(Some(d.status.clone())));
    push(
        F::CreatedAt,
        "Registered",
        d.created_at.map(|t| Some(format_instant(t, zone))),
    );
    push(
        F::UpdatedAt,
        "Last changed",
        d.updated_at.map(|t| Some(format_instant(t, zone))),
    );
    rows
}

/// What a form posted from the chart brings back when it failed.
#[derive(Debug, Default)]
pub(crate) struct ChartForms {
    pub team_username: String,
    pub errors: ValidationErrors,
    /// The break-the-glass form with the typed reason and its messages.
    pub emergency: Option<EmergencySection>,
}

/// Renders the chart (`current`: the navigation entry to highlight).
pub(crate) fn render_chart(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    current: &str,
    chart: PatientChart,
    notice_code: Option<&str>,
    forms: ChartForms,
) -> Result<Response, PageError> {
    let role = actor.role();
    let zone = state.services.clinic_time_zone();
    let banner = &chart.banner;
    let mut layout = Layout::new(state, actor, &banner.name, current, csrf)
        .with_notice(notice(notice_code))
        .with_banner(banner);
    layout.heading_in_banner = true;
    let sections: Vec<&'static str> = chart.sections.iter().map(|s| s.as_str()).collect();
    let clinical = chart.sections.iter().any(|s| s.is_clinical());
    let (allergy_state, allergies) = match &chart.allergies {
        None => ("not-shown", Vec::new()),
        Some(list) => {
            use carevault_service::allergies::AllergyStatement as A;
            let state = match &list.statement {
                A::NotRecorded => "not-recorded",
                A::NoKnownAllergies { .. } => "none-known",
                A::Allergies(_) => "recorded",
            };
            (
                state,
                list.active()
                    .iter()
                    .map(|a| AllergyRow {
                        substance: a.substance.clone(),
                        reaction: a.reaction.clone(),
                        severity: a.severity.as_str(),
                        free_text: a.free_text,
                        recorded: format!("{}, {}", a.recorded_by, format_day(a.recorded_at, zone)),
                    })
                    .collect(),
            )
        }
    };
    let (problems, resolved_problems): (Vec<ProblemRow>, Vec<ProblemRow>) = chart
        .problems
        .iter()
        .flatten()
        .map(|p| ProblemRow {
            code: p.code.clone(),
            text: p.text.clone(),
            free_text: p.free_text,
            onset: p.onset.map(|d| d.format("%Y-%m-%d").to_string()),
            active: p.status == carevault_core::problem::ProblemStatus::Active,
        })
        .partition(|p| p.active);
    let medications = chart
        .medications
        .iter()
        .flatten()
        .map(|p| MedicationRow {
            id: p.id.clone(),
            drug: p.drug_name.clone(),
            directions: format!(
                "{}, {}, {}, {} days",
                p.dose, p.route, p.frequency, p.duration_days
            ),
            prescriber: p.prescriber_name.clone(),
            started: format_day(p.created_at, zone),
            dispensed: format!("{} of {}", p.quantity_dispensed, p.quantity),
            overridden: p.acknowledgement.as_ref().map(|reason| {
                let kinds: Vec<&str> = p.warnings.iter().map(|w| w.kind.as_str()).collect();
                format!("{} warning overridden: {reason}", kinds.join(" and "))
            }),
        })
        .collect();
    let vitals = chart
        .vitals
        .as_ref()
        .map(|v| flowsheet(&v.readings, zone))
        .unwrap_or_default();
    let encounters = chart
        .encounters
        .iter()
        .flatten()
        .map(|e| EncounterRow {
            id: e.id.clone(),
            date: format_day(e.started_at, zone),
            kind: e.kind.as_str().replace('_', " "),
            signed: e.status == carevault_core::clinical::EncounterStatus::Signed,
            author: e.author.clone(),
            diagnoses: e.diagnoses.clone(),
        })
        .collect();
    let nursing = chart
        .nursing
        .iter()
        .flatten()
        .map(|n| NursingRow {
            what: match n.acuity {
                Some(acuity) => format!("Triage · {}", acuity.label()),
                None => "Nursing note".to_owned(),
            },
            urgent: n.acuity.is_some_and(|a| a.is_high()),
            at: format_instant(n.at, zone),
            author: n.author.clone(),
            text: n.text.clone(),
            abnormal: n
                .vitals
                .iter()
                .flat_map(|v| v.measurements.iter())
                .filter(|m| m.flag.is_abnormal())
                .map(|m| format!("{} {} {} ({})", m.label, m.value, m.short_unit, m.flag))
                .collect(),
        })
        .collect();
    let appointment = |a: &carevault_service::chart::AppointmentSummary| AppointmentRow {
        id: a.id.clone(),
        when: a
            .start
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        kind: a.kind.replace('_', " "),
        status: a.status.clone(),
        with: match &a.clinician {
            Some(c) => format!("{c}, {}", a.department),
            None => a.department.clone(),
        },
        reason: a.reason.clone(),
    };
    let (upcoming, recent) = chart
        .appointments
        .as_ref()
        .map(|a| {
            (
                a.upcoming.iter().map(appointment).collect(),
                a.recent.iter().map(appointment).collect(),
            )
        })
        .unwrap_or_default();
    let documents = match chart.documents {
        Some(items) => DocumentsSection::listing(state, banner.id, items),
        None => DocumentsSection::default(),
    };
    let bills = chart
        .bills
        .iter()
        .flatten()
        .map(|b| BillRow {
            id: b.id.clone(),
            number: b.number.clone(),
            status: b.status.as_str().replace('_', " "),
            total: b.totals.grand_total.display_with(b.currency),
            balance: b.totals.balance.display_with(b.currency),
        })
        .collect();
    let (members, team_withheld) = match &chart.care_team {
        CareTeamSection::Members(members) => {
            // One line per person, however many ways they are on the team.
            let mut rows: Vec<MemberRow> = Vec::new();
            for m in members {
                if let Some(row) = rows.iter_mut().find(|r| r.user_id == m.user_id.to_string()) {
                    row.source = format!("{}, {}", row.source, m.source);
                    row.removable |= m.source == "assigned";
                    continue;
                }
                rows.push(MemberRow {
                    user_id: m.user_id.to_string(),
                    display_name: m.display_name.clone(),
                    username: m.username.clone(),
                    role: m.role.label(),
                    source: m.source.clone(),
                    since: format_instant(m.since, zone),
                    removable: m.source == "assigned",
                });
            }
            (rows, None)
        }
        CareTeamSection::NotShown { members, reason } => (
            Vec::new(),
            Some(match members {
                0 => format!("{reason} Nobody is assigned yet."),
                1 => format!("{reason} It has 1 member."),
                n => format!("{reason} It has {n} members."),
            }),
        ),
    };
    let emergency = forms.emergency.unwrap_or_else(|| EmergencySection {
        offer: chart.actions.break_glass,
        ..EmergencySection::new_form()
    });
    let access_history_href = if actor.may(Action::ReadAuditLog) {
        Some(format!(
            "/audit?patient={}",
            chart
                .details
                .as_ref()
                .map(|d| d.pseudonym.clone())
                .unwrap_or_default()
        ))
    } else if actor.may(Action::UsePortal) {
        Some("/account/access-history".to_owned())
    } else {
        None
    };
    let pseudonym = chart.details.as_ref().and_then(|d| {
        (visibility(d.view, PatientField::FamilyName) == Visibility::Pseudonym
            || role == Some(Role::Admin))
        .then(|| d.pseudonym.clone())
    });
    render(&ChartPage {
        layout,
        id: banner.id.to_string(),
        view: banner.view.label(),
        pseudonym,
        sections,
        clinical,
        fields: chart
            .details
            .as_ref()
            .map(|d| field_rows(d, zone))
            .unwrap_or_default(),
        allergy_state,
        allergies,
        problems,
        resolved_problems,
        medications,
        vitals,
        encounters,
        nursing,
        upcoming,
        recent,
        documents,
        bills,
        members,
        team_withheld,
        team_username: forms.team_username,
        errors: forms.errors,
        emergency,
        actions: chart.actions,
        access_history_href,
    })
}

/// Renders the chart again with a form's messages (422).
pub(crate) async fn rerender_with(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: PatientId,
    forms: ChartForms,
) -> Result<Response, PageError> {
    let chart = state.services.patient_chart(actor, id).await?;
    let mut response = render_chart(state, actor, csrf, "/patients", chart, None, forms)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

fn notice_code(raw: Option<&str>) -> Option<String> {
    crate::extract::query_params::<crate::pages::NoticeQuery>(raw.unwrap_or_default())
        .ok()
        .and_then(|q| q.notice)
}

/// `GET /patients/{id}`: the chart, as the actor may see it.
pub async fn show(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let id: PatientId = id
        .parse()
        .map_err(|_| PageError::Status(StatusCode::NOT_FOUND, Some("No such patient.".into())))?;
    let chart = state.services.patient_chart(&actor, id).await?;
    let code = notice_code(raw.as_deref());
    render_chart(
        &state,
        &actor,
        csrf,
        "/patients",
        chart,
        code.as_deref(),
        ChartForms::default(),
    )
}

#[derive(Template)]
#[template(path = "patient_none.html")]
struct NoRecordPage {
    layout: Layout,
}

/// `GET /my/record`: the patient's own chart.
pub async fn my_record(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let Some(chart) = state.services.my_chart(&actor).await? else {
        return render(&NoRecordPage {
            layout: Layout::new(&state, &actor, "My record", "/my/record", csrf),
        });
    };
    let code = notice_code(raw.as_deref());
    render_chart(
        &state,
        &actor,
        csrf,
        "/my/record",
        chart,
        code.as_deref(),
        ChartForms::default(),
    )
}
