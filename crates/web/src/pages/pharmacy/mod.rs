//! Pharmacy pages: the stock overview (`/pharmacy`), the formulary and its forms, receiving
//! stock, adjusting a batch, the dispensing queue, and the stock report with its chart and
//! CSV.
//!
//! The service decides who may do what (`ManageStock` for administrators and pharmacists;
//! only pharmacists see the dispensing queue and dispense) and validates every field.
//! Handlers parse the form, call one use case and redirect (303, with a fixed notice) or
//! render the form again with the messages next to their fields (422; a 409 from the
//! service, such as not enough stock, is shown the same way with status 409). Forms are
//! plain HTML with labelled fields and stable names and ids.

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use carevault_core::Action;
use carevault_core::ValidationErrors;
use carevault_core::money::Money;
use carevault_service::ServiceError;
use carevault_service::allergies::{AllergyList, AllergyStatement};
use carevault_service::pharmacy::{
    AdjustmentRequest, BatchView, DispenseRequest, DrugInput, DrugView, ReceiptRequest, StockLevel,
    StockReport,
};
use carevault_service::prescriptions::{PrescriptionView, QueuedPrescription};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CurrentActor, FormToken};
use crate::pages::{Layout, csv_download, notice_in_query, render, with_status};
use crate::routes::{Access, RouteTable};

/// The file name browsers save the stock report as.
pub const STOCK_CSV_FILE_NAME: &str = "stock-report.csv";

/// Adds the pharmacy pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    use Access::Page;
    table
        .add(
            &[("GET", Action::ManageStock)],
            "/pharmacy",
            Page,
            get(overview),
        )
        .add(
            &[("GET", Action::ManageStock), ("POST", Action::ManageStock)],
            "/pharmacy/drugs",
            Page,
            get(drugs).post(create_drug),
        )
        .add(
            &[("GET", Action::ManageStock), ("POST", Action::ManageStock)],
            "/pharmacy/drugs/{id}/edit",
            Page,
            get(edit_drug_form).post(update_drug),
        )
        .add(
            &[("GET", Action::ManageStock), ("POST", Action::ManageStock)],
            "/pharmacy/receipts/new",
            Page,
            get(receipt_form).post(receive),
        )
        .add(
            &[("GET", Action::ManageStock), ("POST", Action::ManageStock)],
            "/pharmacy/batches/{id}/adjust",
            Page,
            get(adjust_form).post(adjust),
        )
        .add(
            &[("GET", Action::Dispense)],
            "/pharmacy/dispensing",
            Page,
            get(dispensing),
        )
        .add(
            &[("POST", Action::Dispense)],
            "/pharmacy/dispensing/{id}",
            Page,
            post(dispense),
        )
        .add(
            &[("GET", Action::ManageStock)],
            "/reports/stock",
            Page,
            get(report),
        )
        .add(
            &[("GET", Action::ManageStock)],
            "/reports/stock.csv",
            Page,
            get(report_csv),
        )
}

/// The pharmacy's notices after a redirect (a fixed set: nothing from the URL is echoed).
fn pharmacy_notice(raw: Option<&str>) -> Option<&'static str> {
    let code = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "notice")
        .map(|(_, v)| v.into_owned());
    match code.as_deref() {
        Some("drug-saved") => Some("The formulary entry has been saved."),
        Some("stock-received") => Some("The stock has been received."),
        Some("stock-adjusted") => Some("The batch has been adjusted."),
        Some("dispensed") => Some("Dispensed: the stock and the prescription are updated."),
        _ => notice_in_query(raw),
    }
}

/// A form shown again: the messages by field and the status to answer with (422 for bad
/// input, 409 for a conflict such as not enough stock).
fn form_errors(
    err: ServiceError,
    default_field: &'static str,
) -> Result<(ValidationErrors, StatusCode), PageError> {
    match err {
        ServiceError::Validation(errors) => Ok((errors, StatusCode::UNPROCESSABLE_ENTITY)),
        ServiceError::Conflict { field, message } => Ok((
            ValidationErrors::single(field.unwrap_or(default_field), message),
            StatusCode::CONFLICT,
        )),
        other => Err(other.into()),
    }
}

/// A drug as one line of text: `Metformin 500 mg tablet`.
fn drug_label(drug: &DrugView) -> String {
    format!("{} {} {}", drug.name, drug.strength, drug.form)
}

// ---------------------------------------------------------------------------------------
// The stock overview
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct BatchLine {
    id: String,
    batch_number: String,
    supplier: String,
    expiry: String,
    on_hand: u32,
    unit_cost: String,
    /// `expired`, `expiring` or empty.
    alert: &'static str,
}

#[derive(Debug, Clone)]
struct LevelLine {
    drug_id: String,
    label: String,
    unit: String,
    on_hand: u64,
    usable: u64,
    reorder_level: u32,
    reorder_needed: bool,
    expiring: usize,
    expired: usize,
    batches: Vec<BatchLine>,
}

fn batch_line(batch: &BatchView, level: &StockLevel) -> BatchLine {
    let alert = if level.expired.iter().any(|b| b.id == batch.id) {
        "expired"
    } else if level.expiring.iter().any(|b| b.id == batch.id) {
        "expiring"
    } else {
        ""
    };
    BatchLine {
        id: batch.id.clone(),
        batch_number: batch.batch_number.clone(),
        supplier: batch.supplier.clone(),
        expiry: batch.expiry.format("%Y-%m-%d").to_string(),
        on_hand: batch.quantity_on_hand,
        unit_cost: batch.unit_cost.to_string(),
        alert,
    }
}

fn level_line(level: &StockLevel) -> LevelLine {
    LevelLine {
        drug_id: level.drug.id.clone(),
        label: drug_label(&level.drug),
        unit: level.drug.unit.clone(),
        on_hand: level.on_hand,
        usable: level.usable,
        reorder_level: level.drug.reorder_level,
        reorder_needed: level.reorder_needed,
        expiring: level.expiring.len(),
        expired: level.expired.len(),
        batches: level
            .batches
            .iter()
            .filter(|b| b.quantity_on_hand > 0)
            .map(|b| batch_line(b, level))
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "pharmacy_stock.html")]
struct StockPage {
    layout: Layout,
    window: u32,
    levels: Vec<LevelLine>,
    reorder_count: usize,
    expiring_count: usize,
    expired_count: usize,
    is_pharmacist: bool,
}

/// `GET /pharmacy`: every active drug's stock with its alerts (administrators and
/// pharmacists).
pub async fn overview(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let window = state.services.expiry_window_days();
    let levels = state.services.stock_levels(&actor, window).await?;
    let lines: Vec<LevelLine> = levels.iter().map(level_line).collect();
    render(&StockPage {
        layout: Layout::new(&state, &actor, "Pharmacy stock", "/pharmacy", csrf)
            .with_notice(pharmacy_notice(raw.as_deref())),
        window,
        reorder_count: lines.iter().filter(|l| l.reorder_needed).count(),
        expiring_count: lines.iter().map(|l| l.expiring).sum(),
        expired_count: lines.iter().map(|l| l.expired).sum(),
        levels: lines,
        is_pharmacist: actor.role() == Some(carevault_core::Role::Pharmacist),
    })
}

// ---------------------------------------------------------------------------------------
// The formulary
// ---------------------------------------------------------------------------------------

/// The formulary form's fields, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DrugForm {
    pub name: String,
    pub generic_name: String,
    pub form: String,
    pub strength: String,
    pub unit: String,
    pub atc_code: String,
    pub reorder_level: String,
    pub reorder_quantity: String,
    pub active: Option<String>,
}

impl DrugForm {
    fn input(&self) -> DrugInput {
        DrugInput {
            name: self.name.clone(),
            generic_name: self.generic_name.clone(),
            form: self.form.clone(),
            strength: self.strength.clone(),
            unit: self.unit.clone(),
            atc_code: Some(self.atc_code.clone()),
            reorder_level: self.reorder_level.clone(),
            reorder_quantity: self.reorder_quantity.clone(),
            active: self.active.is_some(),
        }
    }

    fn of(drug: &DrugView) -> Self {
        Self {
            name: drug.name.clone(),
            generic_name: drug.generic_name.clone(),
            form: drug.form.clone(),
            strength: drug.strength.clone(),
            unit: drug.unit.clone(),
            atc_code: drug.atc_code.clone().unwrap_or_default(),
            reorder_level: drug.reorder_level.to_string(),
            reorder_quantity: drug.reorder_quantity.to_string(),
            active: drug.active.then(|| "on".to_owned()),
        }
    }

    fn blank() -> Self {
        Self {
            reorder_level: "0".into(),
            reorder_quantity: "0".into(),
            active: Some("on".into()),
            ..Self::default()
        }
    }
}

#[derive(Template)]
#[template(path = "pharmacy_drugs.html")]
struct DrugsPage {
    layout: Layout,
    drugs: Vec<DrugView>,
    form: DrugForm,
    errors: ValidationErrors,
}

async fn drugs_page(
    state: &AppState,
    actor: &carevault_service::Actor,
    csrf: String,
    form: DrugForm,
    errors: ValidationErrors,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let drugs = state.services.list_drugs(actor, true).await?;
    render(&DrugsPage {
        layout: Layout::new(state, actor, "Formulary", "/pharmacy", csrf).with_notice(notice),
        drugs,
        form,
        errors,
    })
}

/// `GET /pharmacy/drugs`: the formulary and the form for a new entry.
pub async fn drugs(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    drugs_page(
        &state,
        &actor,
        csrf,
        DrugForm::blank(),
        ValidationErrors::new(),
        pharmacy_notice(raw.as_deref()),
    )
    .await
}

/// `POST /pharmacy/drugs`: adds a formulary entry.
pub async fn create_drug(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Form(form): Form<DrugForm>,
) -> Result<Response, PageError> {
    match state.services.create_drug(&actor, form.input()).await {
        Ok(_) => Ok(Redirect::to("/pharmacy/drugs?notice=drug-saved").into_response()),
        Err(err) => {
            let (errors, status) = form_errors(err, "name")?;
            Ok(with_status(
                drugs_page(&state, &actor, csrf, form, errors, None).await?,
                status,
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "pharmacy_drug_form.html")]
struct DrugEditPage {
    layout: Layout,
    action: String,
    form: DrugForm,
    errors: ValidationErrors,
}

/// `GET /pharmacy/drugs/{id}/edit`.
pub async fn edit_drug_form(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let drug = state.services.get_drug(&actor, &id).await?;
    render(&DrugEditPage {
        layout: Layout::new(
            &state,
            &actor,
            &format!("Edit {}", drug_label(&drug)),
            "/pharmacy",
            csrf,
        ),
        action: format!("/pharmacy/drugs/{}/edit", drug.id),
        form: DrugForm::of(&drug),
        errors: ValidationErrors::new(),
    })
}

/// `POST /pharmacy/drugs/{id}/edit`.
pub async fn update_drug(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<DrugForm>,
) -> Result<Response, PageError> {
    match state.services.update_drug(&actor, &id, form.input()).await {
        Ok(_) => Ok(Redirect::to("/pharmacy/drugs?notice=drug-saved").into_response()),
        Err(err) => {
            let (errors, status) = form_errors(err, "name")?;
            let page = DrugEditPage {
                layout: Layout::new(&state, &actor, "Edit formulary entry", "/pharmacy", csrf),
                action: format!("/pharmacy/drugs/{id}/edit"),
                form,
                errors,
            };
            Ok(with_status(render(&page)?, status))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Receiving stock
// ---------------------------------------------------------------------------------------

/// The receipt form's fields, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReceiptForm {
    pub drug_id: String,
    pub supplier: String,
    pub batch_number: String,
    pub expiry: String,
    pub quantity: String,
    pub unit_cost: String,
}

#[derive(Debug, Clone)]
struct DrugChoice {
    id: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "pharmacy_receipt.html")]
struct ReceiptPage {
    layout: Layout,
    drugs: Vec<DrugChoice>,
    form: ReceiptForm,
    errors: ValidationErrors,
}

async fn receipt_page(
    state: &AppState,
    actor: &carevault_service::Actor,
    csrf: String,
    form: ReceiptForm,
    errors: ValidationErrors,
) -> Result<Response, PageError> {
    let drugs = state
        .services
        .list_drugs(actor, false)
        .await?
        .iter()
        .map(|d| DrugChoice {
            id: d.id.clone(),
            label: drug_label(d),
            selected: d.id == form.drug_id,
        })
        .collect();
    render(&ReceiptPage {
        layout: Layout::new(state, actor, "Receive stock", "/pharmacy", csrf),
        drugs,
        form,
        errors,
    })
}

/// `GET /pharmacy/receipts/new` (`?drug=` preselects a drug).
pub async fn receipt_form(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let drug = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "drug")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let form = ReceiptForm {
        drug_id: drug,
        ..ReceiptForm::default()
    };
    receipt_page(&state, &actor, csrf, form, ValidationErrors::new()).await
}

/// `POST /pharmacy/receipts/new`: receives a batch.
pub async fn receive(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Form(form): Form<ReceiptForm>,
) -> Result<Response, PageError> {
    let request = ReceiptRequest {
        drug_id: form.drug_id.clone(),
        supplier: form.supplier.clone(),
        batch_number: form.batch_number.clone(),
        expiry: form.expiry.clone(),
        quantity: form.quantity.clone(),
        unit_cost: form.unit_cost.clone(),
    };
    match state.services.receive_stock(&actor, request).await {
        Ok(_) => Ok(Redirect::to("/pharmacy?notice=stock-received").into_response()),
        Err(err) => {
            let (errors, status) = form_errors(err, "quantity")?;
            Ok(with_status(
                receipt_page(&state, &actor, csrf, form, errors).await?,
                status,
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Adjusting a batch
// ---------------------------------------------------------------------------------------

/// The adjustment form's fields, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AdjustForm {
    pub kind: String,
    pub quantity: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "pharmacy_adjust.html")]
struct AdjustPage {
    layout: Layout,
    action: String,
    drug: String,
    batch: BatchLine,
    form: AdjustForm,
    errors: ValidationErrors,
}

/// The batch `id` with its drug, from the stock levels (which the service authorises).
async fn find_batch(
    state: &AppState,
    actor: &carevault_service::Actor,
    id: &str,
) -> Result<(String, BatchLine), PageError> {
    let levels = state
        .services
        .stock_levels(actor, state.services.expiry_window_days())
        .await?;
    levels
        .iter()
        .find_map(|level| {
            level
                .batches
                .iter()
                .find(|b| b.id == id)
                .map(|b| (drug_label(&level.drug), batch_line(b, level)))
        })
        .ok_or_else(|| crate::pages::not_found("batch"))
}

async fn adjust_page(
    state: &AppState,
    actor: &carevault_service::Actor,
    csrf: String,
    id: &str,
    form: AdjustForm,
    errors: ValidationErrors,
) -> Result<Response, PageError> {
    let (drug, batch) = find_batch(state, actor, id).await?;
    render(&AdjustPage {
        layout: Layout::new(
            state,
            actor,
            &format!("Adjust batch {}", batch.batch_number),
            "/pharmacy",
            csrf,
        ),
        action: format!("/pharmacy/batches/{}/adjust", batch.id),
        drug,
        batch,
        form,
        errors,
    })
}

/// `GET /pharmacy/batches/{id}/adjust`.
pub async fn adjust_form(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let form = AdjustForm {
        kind: "count_correction".into(),
        ..AdjustForm::default()
    };
    adjust_page(&state, &actor, csrf, &id, form, ValidationErrors::new()).await
}

/// `POST /pharmacy/batches/{id}/adjust`: a count correction, damage or expiry write-off.
pub async fn adjust(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<AdjustForm>,
) -> Result<Response, PageError> {
    let request = AdjustmentRequest {
        batch_id: id.clone(),
        kind: form.kind.clone(),
        quantity: form.quantity.clone(),
        reason: form.reason.clone(),
    };
    match state.services.adjust_stock(&actor, request).await {
        Ok(_) => Ok(Redirect::to("/pharmacy?notice=stock-adjusted").into_response()),
        Err(err) => {
            let (errors, status) = form_errors(err, "quantity")?;
            Ok(with_status(
                adjust_page(&state, &actor, csrf, &id, form, errors).await?,
                status,
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Dispensing
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct QueueLine {
    id: String,
    patient_id: String,
    patient: String,
    /// `YYYY-MM-DD (NN years)`, empty where the view hides it.
    date_of_birth: String,
    mrn: Option<String>,
    /// `hidden`, `not_recorded`, `none` (no known allergies) or `listed`.
    allergy_state: &'static str,
    /// The active allergies, one line each ("Penicillin — rash (severe)").
    allergies: Vec<String>,
    prescriber: String,
    prescribed_on: String,
    /// The warnings acknowledged when it was prescribed ("Allergy: penicillin").
    warnings: Vec<String>,
    /// Why the prescriber went ahead despite them.
    override_reason: Option<String>,
    drug: String,
    dose: String,
    prescribed: u32,
    dispensed: u32,
    left: u32,
    /// The formulary drugs that may be dispensed for it.
    choices: Vec<DrugChoice>,
    /// The form's last values and messages, when this prescription's dispensing failed.
    quantity: String,
    errors: ValidationErrors,
}

#[derive(Template)]
#[template(path = "pharmacy_dispensing.html")]
struct DispensingPage {
    layout: Layout,
    queue: Vec<QueueLine>,
    failed: bool,
    /// The search as typed, and its message.
    q: String,
    q_error: Option<String>,
}

/// How the queue shows a patient's allergies: the state (see [`QueueLine`]) and the lines.
fn allergy_lines(list: Option<&AllergyList>) -> (&'static str, Vec<String>) {
    let Some(list) = list else {
        return ("hidden", Vec::new());
    };
    match &list.statement {
        AllergyStatement::NotRecorded => ("not_recorded", Vec::new()),
        AllergyStatement::NoKnownAllergies { .. } => ("none", Vec::new()),
        AllergyStatement::Allergies(entries) => (
            "listed",
            entries
                .iter()
                .map(|a| {
                    let mut line = a.substance.clone();
                    if let Some(reaction) = a.reaction.as_deref().filter(|r| !r.is_empty()) {
                        line.push_str(&format!(" — {reaction}"));
                    }
                    line.push_str(&format!(" ({})", a.severity));
                    line
                })
                .collect(),
        ),
    }
}

fn warning_line(kind: &str, detail: &str) -> String {
    match kind {
        "allergy" => format!("Allergy: {detail}"),
        "duplicate" => format!("Duplicate of an active prescription: {detail}"),
        other => format!("{other}: {detail}"),
    }
}

fn matches_prescription(drug: &DrugView, p: &PrescriptionView) -> bool {
    if let Some(id) = &p.drug_id {
        return *id == drug.id;
    }
    let same = |a: &str, b: &str| {
        let a = a.trim();
        !a.is_empty() && a.eq_ignore_ascii_case(b.trim())
    };
    [Some(p.drug_name.as_str()), p.generic_name.as_deref()]
        .iter()
        .flatten()
        .any(|name| same(name, &drug.name) || same(name, &drug.generic_name))
}

/// The failed form of one prescription: its id, the submitted form and the messages.
type FailedDispense = (String, DispenseForm, ValidationErrors);

async fn dispensing_page(
    state: &AppState,
    actor: &carevault_service::Actor,
    csrf: String,
    failed: Option<FailedDispense>,
    notice: Option<&'static str>,
    q: String,
) -> Result<Response, PageError> {
    let (queue, q_error) = match state
        .services
        .dispensing_queue(actor, Some(q.as_str()))
        .await
    {
        Ok(queue) => (queue, None),
        Err(ServiceError::Validation(errors)) => {
            (Vec::new(), errors.message_for("q").map(str::to_owned))
        }
        Err(other) => return Err(other.into()),
    };
    let drugs = state.services.list_drugs(actor, false).await?;
    let zone = state.services.clinic_time_zone();
    let lines = queue
        .iter()
        .map(
            |QueuedPrescription {
                 prescription: p,
                 patient,
             }| {
                let failed_here = failed.as_ref().filter(|(id, ..)| *id == p.id);
                let chosen = failed_here.map(|(_, form, _)| form.drug_id.as_str());
                let left = p.quantity.saturating_sub(p.quantity_dispensed);
                let (allergy_state, allergies) = allergy_lines(patient.allergies.as_ref());
                QueueLine {
                    id: p.id.clone(),
                    patient_id: p.patient_id.to_string(),
                    patient: patient.name.clone(),
                    date_of_birth: match (patient.date_of_birth, patient.age) {
                        (Some(dob), Some(age)) => {
                            format!("{} ({age} years)", dob.format("%Y-%m-%d"))
                        }
                        (Some(dob), None) => dob.format("%Y-%m-%d").to_string(),
                        _ => String::new(),
                    },
                    mrn: patient.mrn.clone(),
                    allergy_state,
                    allergies,
                    prescriber: p.prescriber_name.clone(),
                    prescribed_on: p
                        .created_at
                        .with_timezone(&zone)
                        .format("%Y-%m-%d")
                        .to_string(),
                    warnings: p
                        .warnings
                        .iter()
                        .map(|w| warning_line(&w.kind, &w.detail))
                        .collect(),
                    override_reason: p.acknowledgement.clone(),
                    drug: match &p.generic_name {
                        Some(generic) => format!("{} ({generic})", p.drug_name),
                        None => p.drug_name.clone(),
                    },
                    dose: format!("{}, {}, {}", p.dose, p.route, p.frequency),
                    prescribed: p.quantity,
                    dispensed: p.quantity_dispensed,
                    left,
                    choices: drugs
                        .iter()
                        .filter(|d| matches_prescription(d, p))
                        .map(|d| DrugChoice {
                            id: d.id.clone(),
                            label: drug_label(d),
                            selected: chosen == Some(d.id.as_str()),
                        })
                        .collect(),
                    quantity: failed_here
                        .map(|(_, form, _)| form.quantity.clone())
                        .unwrap_or_else(|| left.to_string()),
                    errors: failed_here
                        .map(|(.., errors)| errors.clone())
                        .unwrap_or_default(),
                }
            },
        )
        .collect();
    let status = if q_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(with_status(
        render(&DispensingPage {
            layout: Layout::new(state, actor, "Dispensing", "/pharmacy/dispensing", csrf)
                .with_notice(notice),
            queue: lines,
            failed: failed.is_some(),
            q,
            q_error,
        })?,
        status,
    ))
}

/// The search of the dispensing queue (`?q=`), as typed.
fn queue_search(raw: Option<&str>) -> String {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `GET /pharmacy/dispensing[?q=…]`: active prescriptions with units left (pharmacists),
/// optionally only those whose patient (name, MRN, date of birth) or drug matches `q`.
pub async fn dispensing(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    dispensing_page(
        &state,
        &actor,
        csrf,
        None,
        pharmacy_notice(raw.as_deref()),
        queue_search(raw.as_deref()),
    )
    .await
}

/// The dispense form's fields, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DispenseForm {
    pub drug_id: String,
    pub quantity: String,
}

/// `POST /pharmacy/dispensing/{id}`: dispenses against prescription `id`.
pub async fn dispense(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<DispenseForm>,
) -> Result<Response, PageError> {
    let request = DispenseRequest {
        prescription_id: id.clone(),
        drug_id: form.drug_id.clone(),
        quantity: form.quantity.clone(),
    };
    match state.services.dispense(&actor, request).await {
        Ok(_) => Ok(Redirect::to("/pharmacy/dispensing?notice=dispensed").into_response()),
        Err(err) => {
            let (errors, status) = form_errors(err, "quantity")?;
            Ok(with_status(
                dispensing_page(
                    &state,
                    &actor,
                    csrf,
                    Some((id, form, errors)),
                    None,
                    String::new(),
                )
                .await?,
                status,
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------
// The stock report
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct ReportLine {
    label: String,
    on_hand: u64,
    usable: u64,
    reorder_level: u32,
    reorder_needed: bool,
    value: String,
}

#[derive(Debug, Clone)]
struct ExpiringLine {
    drug: String,
    batch_number: String,
    expiry: String,
    on_hand: u32,
    expired: bool,
}

/// One bar of the chart (value per drug).
#[derive(Debug, Clone)]
struct Bar {
    x: u64,
    y: u64,
    width: u64,
    height: u64,
    label: String,
    value: String,
}

const CHART_HEIGHT: u64 = 200;
const CHART_TOP: u64 = 20;
const CHART_LEFT: u64 = 40;

#[derive(Template)]
#[template(path = "pharmacy_report.html")]
struct ReportPage {
    layout: Layout,
    window: u32,
    lines: Vec<ReportLine>,
    expiring: Vec<ExpiringLine>,
    total_value: String,
    max_value: String,
    bars: Vec<Bar>,
    chart_width: u64,
    chart_height: u64,
}

/// The chart's bars: each drug's stock value, scaled to the largest (in cents, integer
/// arithmetic only).
fn bars(report: &StockReport) -> (Vec<Bar>, u64, Money) {
    let max = report
        .rows
        .iter()
        .map(|r| r.value)
        .max()
        .unwrap_or(Money::ZERO);
    let max_cents = u64::try_from(max.minor_units()).unwrap_or(0).max(1);
    let slot = 48u64;
    let width = 32u64;
    let bars = report
        .rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let cents = u64::try_from(row.value.minor_units()).unwrap_or(0);
            let height = cents.saturating_mul(CHART_HEIGHT) / max_cents;
            Bar {
                x: CHART_LEFT + 4 + slot * index as u64,
                y: CHART_TOP + CHART_HEIGHT - height,
                width,
                height,
                label: row.level.drug.name.clone(),
                value: row.value.to_string(),
            }
        })
        .collect::<Vec<_>>();
    let chart_width = CHART_LEFT + 8 + slot * (bars.len().max(1) as u64);
    (bars, chart_width, max)
}

fn expiring_lines(report: &StockReport) -> Vec<ExpiringLine> {
    let mut lines = Vec::new();
    for row in &report.rows {
        for (batches, expired) in [(&row.level.expired, true), (&row.level.expiring, false)] {
            for batch in batches.iter() {
                lines.push(ExpiringLine {
                    drug: drug_label(&row.level.drug),
                    batch_number: batch.batch_number.clone(),
                    expiry: batch.expiry.format("%Y-%m-%d").to_string(),
                    on_hand: batch.quantity_on_hand,
                    expired,
                });
            }
        }
    }
    lines.sort_by(|a, b| a.expiry.cmp(&b.expiry));
    lines
}

/// `GET /reports/stock`: levels, value and expiring batches (administrators and
/// pharmacists).
pub async fn report(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
) -> Result<Response, PageError> {
    let report = state.services.stock_report(&actor).await?;
    let (bars, chart_width, max) = bars(&report);
    render(&ReportPage {
        layout: Layout::new(&state, &actor, "Stock report", "/reports/stock", csrf),
        window: report.expiry_window_days,
        lines: report
            .rows
            .iter()
            .map(|r| ReportLine {
                label: drug_label(&r.level.drug),
                on_hand: r.level.on_hand,
                usable: r.level.usable,
                reorder_level: r.level.drug.reorder_level,
                reorder_needed: r.level.reorder_needed,
                value: r.value.to_string(),
            })
            .collect(),
        expiring: expiring_lines(&report),
        total_value: report.total_value.to_string(),
        max_value: max.to_string(),
        bars,
        chart_width,
        chart_height: CHART_TOP + CHART_HEIGHT + 20,
    })
}

/// The stock report CSV's columns.
pub const STOCK_CSV_HEADER: [&str; 9] = [
    "drug",
    "strength",
    "form",
    "on_hand",
    "usable",
    "reorder_level",
    "reorder_needed",
    "expiring_batches",
    "value",
];

/// `GET /reports/stock.csv`: one row per drug and a total row; every cell neutralised
/// against spreadsheet formulas.
pub async fn report_csv(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, PageError> {
    let report = state.services.export_stock_report(&actor).await?;
    let mut rows: Vec<Vec<String>> = vec![STOCK_CSV_HEADER.iter().map(|s| (*s).into()).collect()];
    for row in &report.rows {
        let level = &row.level;
        rows.push(vec![
            level.drug.name.clone(),
            level.drug.strength.clone(),
            level.drug.form.clone(),
            level.on_hand.to_string(),
            level.usable.to_string(),
            level.drug.reorder_level.to_string(),
            if level.reorder_needed { "yes" } else { "no" }.into(),
            (level.expiring.len() + level.expired.len()).to_string(),
            row.value.to_string(),
        ]);
    }
    let mut total = vec![String::new(); STOCK_CSV_HEADER.len()];
    total[0] = "total".into();
    total[8] = report.total_value.to_string();
    rows.push(total);
    csv_download(STOCK_CSV_FILE_NAME, rows)
}

#[cfg(test)]
mod tests {
    use carevault_core::allergy::{AllergySeverity, AllergyStatus};
    use carevault_service::allergies::{AllergyList, AllergyStatement, AllergyView};

    use super::allergy_lines;

    fn patient() -> carevault_core::PatientId {
        "01234567-89ab-7def-8123-456789abcdef".parse().unwrap()
    }

    fn list(statement: AllergyStatement) -> AllergyList {
        AllergyList {
            patient_id: patient(),
            statement,
            history: Vec::new(),
        }
    }

    /// "Nobody asked" and "asked: none" never look alike; hidden allergies show nothing.
    #[test]
    fn allergy_states_are_distinct() {
        let at = chrono::DateTime::UNIX_EPOCH;
        assert_eq!(allergy_lines(None), ("hidden", Vec::new()));
        assert_eq!(
            allergy_lines(Some(&list(AllergyStatement::NotRecorded))),
            ("not_recorded", Vec::new())
        );
        assert_eq!(
            allergy_lines(Some(&list(AllergyStatement::NoKnownAllergies {
                recorded_by: "Nurse".into(),
                recorded_at: at,
                id: "n".into(),
                recorded_as: None,
            }))),
            ("none", Vec::new())
        );
        let penicillin = AllergyView {
            id: "a".into(),
            substance: "Penicillins".into(),
            code: Some("penicillins".into()),
            free_text: false,
            reaction: Some("hives".into()),
            severity: AllergySeverity::Severe,
            status: AllergyStatus::Active,
            recorded_by: "Dr. Smith".into(),
            recorded_at: at,
            patient_id: patient(),
            kind: None,
            no_known_allergies: false,
            transcribed: false,
            recorded_as: None,
            status_reason: None,
            updated_by: None,
            updated_at: at,
        };
        assert_eq!(
            allergy_lines(Some(&list(AllergyStatement::Allergies(vec![penicillin])))),
            ("listed", vec!["Penicillins — hives (severe)".to_owned()])
        );
    }
}
