//! Billing pages: the invoice list (`/billing`), one invoice with its forms
//! (`/invoices/{id}`: add a line, remove a draft line, issue, record a payment, void), the
//! printable invoice and receipt as HTML and PDF, the patient's own bills (`/my/bills`), the
//! price list (`/billing/prices`) and the billing report with its chart and CSV
//! (`/reports/billing`). Every decision is the service's; these handlers translate forms.

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use carevault_core::Action;
use carevault_core::appointment::{AppointmentStatus, AppointmentType};
use carevault_core::billing::{InvoiceStatus, PaymentMethod};
use carevault_core::money::{Currency, Money};
use carevault_core::{Role, ValidationErrors};
use carevault_service::billing::{
    BillingReport, InvoiceSummary, InvoiceView, LineRequest, PaymentRequest, PriceInput, PriceKind,
    PriceView,
};
use carevault_service::visit_charges::VisitToCharge;
use carevault_service::{Actor, ServiceError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CurrentActor, FormToken, query_params};
use crate::pages::{
    Layout, csv_download, month_start, not_found, notice_in_query, render, report_range,
    with_status,
};
use crate::pdf::{self, Section};
use crate::routes::{Access, RouteTable};

/// The file name browsers save the billing report as.
pub const REPORT_CSV_FILE_NAME: &str = "billing-report.csv";

/// Adds the billing pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    use Access::Page;
    table
        .add(
            &[("GET", Action::SeeBills), ("POST", Action::ManageBilling)],
            "/billing",
            Page,
            get(list).post(open_invoice),
        )
        .add(
            &[
                ("GET", Action::ManageBilling),
                ("POST", Action::AdministerBilling),
            ],
            "/billing/prices",
            Page,
            get(prices).post(add_price),
        )
        .add(
            &[("GET", Action::UsePortal)],
            "/my/bills",
            Page,
            get(my_bills),
        )
        .add(
            &[("GET", Action::SeeBills)],
            "/billing.csv",
            Page,
            get(list_csv),
        )
        .add(
            &[("GET", Action::SeeBills)],
            "/invoices/{id}",
            Page,
            get(invoice_page),
        )
        .add(
            &[("POST", Action::ManageBilling)],
            "/invoices/{id}/lines",
            Page,
            post(add_line),
        )
        .add(
            &[("POST", Action::ManageBilling)],
            "/invoices/{id}/lines/{line_id}/remove",
            Page,
            post(remove_line),
        )
        .add(
            &[("POST", Action::ManageBilling)],
            "/invoices/{id}/issue",
            Page,
            post(issue),
        )
        .add(
            &[("POST", Action::ManageBilling)],
            "/invoices/{id}/payments",
            Page,
            post(pay),
        )
        .add(
            &[("POST", Action::AdministerBilling)],
            "/invoices/{id}/void",
            Page,
            post(void),
        )
        .add(
            &[("GET", Action::SeeBills)],
            "/invoices/{id}/print",
            Page,
            get(print_invoice),
        )
        .add(
            &[("GET", Action::SeeBills)],
            "/invoices/{id}/invoice.pdf",
            Page,
            get(invoice_pdf),
        )
        .add(
            &[("GET", Action::SeeBills)],
            "/invoices/{id}/receipt",
            Page,
            get(print_receipt),
        )
        .add(
            &[("GET", Action::SeeBills)],
            "/invoices/{id}/receipt.pdf",
            Page,
            get(receipt_pdf),
        )
        .add(
            &[("GET", Action::OfficeReports)],
            "/reports/billing",
            Page,
            get(report),
        )
        .add(
            &[("GET", Action::OfficeReports)],
            "/reports/billing.csv",
            Page,
            get(report_csv),
        )
}

fn status_label(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Draft => "Draft",
        InvoiceStatus::Issued => "Issued",
        InvoiceStatus::PartiallyPaid => "Partially paid",
        InvoiceStatus::Paid => "Paid",
        InvoiceStatus::Void => "Void",
    }
}

fn method_label(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Cash => "Cash",
        PaymentMethod::Card => "Card",
        PaymentMethod::Insurance => "Insurance",
        PaymentMethod::Transfer => "Bank transfer",
    }
}

fn invoice_id(raw: &str) -> Result<String, PageError> {
    raw.trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| not_found("invoice"))
}

/// An invoice as a list row.
#[derive(Debug, Clone)]
struct InvoiceRow {
    id: String,
    number: String,
    patient: String,
    mrn: String,
    status: &'static str,
    status_code: &'static str,
    date: String,
    total: String,
    balance: String,
}

impl InvoiceRow {
    fn new(state: &AppState, s: &InvoiceSummary) -> Self {
        let zone = state.services.clinic_time_zone();
        InvoiceRow {
            id: s.id.clone(),
            number: s.number.clone(),
            patient: s.patient_name.clone(),
            mrn: s.mrn.clone(),
            status: status_label(s.status),
            status_code: s.status.as_str(),
            date: s
                .issued_at
                .unwrap_or(s.created_at)
                .with_timezone(&zone)
                .format("%Y-%m-%d")
                .to_string(),
            total: s.totals.grand_total.display_with(s.currency),
            balance: s.totals.balance.display_with(s.currency),
        }
    }
}

#[derive(Template)]
#[template(path = "billing_list.html")]
struct ListPage {
    layout: Layout,
    invoices: Vec<InvoiceRow>,
    statuses: Vec<(&'static str, &'static str)>,
    status: String,
    patient: String,
    /// Staff may open invoices; the patient's own list has no forms.
    staff: bool,
    is_admin: bool,
    patient_error: Option<String>,
    csv_href: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListParams {
    status: String,
    patient: String,
    notice: String,
}

async fn list_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    params: ListParams,
    errors: ValidationErrors,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let staff = actor.role() != Some(Role::Patient);
    let invoices = state
        .services
        .list_invoices(
            actor,
            Some(params.patient.trim()).filter(|p| staff && p.parse::<uuid::Uuid>().is_ok()),
            Some(params.status.as_str()),
        )
        .await?;
    let (title, current) = if staff {
        ("Billing", "/billing")
    } else {
        ("My bills", "/my/bills")
    };
    let layout = Layout::new(state, actor, title, current, csrf).with_notice(notice);
    let filtered_patient = params
        .patient
        .trim()
        .parse::<carevault_core::PatientId>()
        .ok()
        .filter(|_| staff);
    let layout = match filtered_patient {
        // One patient's bills: whose they are, as on every patient-scoped page (no banner
        // for an id that names nobody; the list is then empty).
        Some(id) => match state.services.patient_banner(actor, id).await {
            Ok(banner) => layout.with_banner(&banner),
            Err(ServiceError::NotFound(_)) => layout,
            Err(other) => return Err(other.into()),
        },
        None if staff => layout,
        None => crate::pages::banner::with_own_banner(state, actor, layout).await?,
    };
    render(&ListPage {
        layout,
        invoices: invoices.iter().map(|s| InvoiceRow::new(state, s)).collect(),
        statuses: InvoiceStatus::ALL
            .iter()
            .map(|s| (s.as_str(), status_label(*s)))
            .collect(),
        status: params.status.clone(),
        patient: params.patient.clone(),
        staff,
        is_admin: actor.role() == Some(Role::Admin),
        patient_error: errors.message_for("patient_id").map(str::to_owned),
        csv_href: list_csv_href(staff, &params.status, &params.patient),
    })
}

/// `GET /billing?status=…&patient=…`: invoices, newest first (billing staff).
pub async fn list(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if actor.role() == Some(Role::Patient) {
        return Ok(Redirect::to("/my/bills").into_response());
    }
    let params: ListParams = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::Status(StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string())))?;
    let notice = crate::pages::notice(Some(params.notice.as_str()));
    list_page(
        &state,
        &actor,
        csrf,
        params,
        ValidationErrors::new(),
        notice,
    )
    .await
}

/// The file name browsers save the invoice list export as.
pub const INVOICES_CSV_FILE_NAME: &str = "invoices.csv";

/// The export link for the list with these filters (a patient's list has none).
fn list_csv_href(staff: bool, status: &str, patient: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if staff && !status.trim().is_empty() {
        query.append_pair("status", status.trim());
    }
    if staff && !patient.trim().is_empty() {
        query.append_pair("patient", patient.trim());
    }
    let query = query.finish();
    if query.is_empty() {
        "/billing.csv".to_owned()
    } else {
        format!("/billing.csv?{query}")
    }
}

/// `GET /billing.csv?status=…&patient=…`: the invoices `/billing` lists with the same
/// filters (a patient: their own bills), as the actor may see them; audited as one export
/// with its row count. Amounts are exact decimals in the invoice's currency.
pub async fn list_csv(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params: ListParams = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::Status(StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string())))?;
    let staff = actor.role() != Some(Role::Patient);
    let invoices = state
        .services
        .export_invoices(
            &actor,
            Some(params.patient.trim()).filter(|p| staff && p.parse::<uuid::Uuid>().is_ok()),
            Some(params.status.as_str()),
        )
        .await?;
    let header = [
        "number", "patient", "mrn", "date", "status", "currency", "total", "paid", "balance",
    ]
    .map(str::to_owned);
    let rows = invoices.iter().map(|s| {
        let row = InvoiceRow::new(&state, s);
        [
            row.number,
            row.patient,
            row.mrn,
            row.date,
            row.status.to_owned(),
            s.currency.to_string(),
            s.totals.grand_total.to_string(),
            s.totals.paid.to_string(),
            s.totals.balance.to_string(),
        ]
    });
    csv_download(INVOICES_CSV_FILE_NAME, std::iter::once(header).chain(rows))
}

/// `GET /my/bills`: the patient's own invoices.
pub async fn my_bills(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
) -> Result<Response, PageError> {
    if actor.role() != Some(Role::Patient) {
        return Ok(Redirect::to("/billing").into_response());
    }
    list_page(
        &state,
        &actor,
        csrf,
        ListParams::default(),
        ValidationErrors::new(),
        None,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OpenForm {
    patient_id: String,
}

/// `POST /billing`: open (or go to) the patient's draft invoice.
pub async fn open_invoice(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Form(form): Form<OpenForm>,
) -> Result<Response, PageError> {
    match state.services.open_invoice(&actor, &form.patient_id).await {
        Ok((invoice, _)) => {
            Ok(Redirect::to(&format!("/invoices/{}", invoice.summary.id)).into_response())
        }
        Err(ServiceError::Validation(errors)) => Ok(with_status(
            list_page(
                &state,
                &actor,
                csrf,
                ListParams {
                    patient: form.patient_id,
                    ..ListParams::default()
                },
                errors,
                None,
            )
            .await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(ServiceError::NotFound(_)) => Ok(with_status(
            list_page(
                &state,
                &actor,
                csrf,
                ListParams {
                    patient: form.patient_id,
                    ..ListParams::default()
                },
                ValidationErrors::single("patient_id", "is not a registered patient"),
                None,
            )
            .await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------
// One invoice
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct LineRow {
    id: String,
    kind: &'static str,
    description: String,
    quantity: String,
    unit_price: String,
    discount: String,
    tax_rate: String,
    total: String,
}

#[derive(Debug, Clone)]
struct PaymentRow {
    date: String,
    method: &'static str,
    reference: String,
    amount: String,
}

/// Everything an invoice page or print shows, formatted.
#[derive(Debug, Clone)]
struct Shown {
    id: String,
    number: String,
    patient: String,
    mrn: String,
    status: &'static str,
    status_code: &'static str,
    created: String,
    issued: String,
    lines: Vec<LineRow>,
    payments: Vec<PaymentRow>,
    subtotal: String,
    discount_total: String,
    tax_total: String,
    grand_total: String,
    paid: String,
    balance: String,
    void_reason: Option<String>,
    draft: bool,
    payable: bool,
    may_edit: bool,
    may_void: bool,
}

fn shown(state: &AppState, v: &InvoiceView) -> Shown {
    let zone = state.services.clinic_time_zone();
    let day = |t: DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d").to_string();
    let s = &v.summary;
    let money = |m: Money| m.display_with(s.currency);
    Shown {
        id: s.id.clone(),
        number: s.number.clone(),
        patient: s.patient_name.clone(),
        mrn: s.mrn.clone(),
        status: status_label(s.status),
        status_code: s.status.as_str(),
        created: day(s.created_at),
        issued: s.issued_at.map(day).unwrap_or_default(),
        lines: v
            .lines
            .iter()
            .map(|l| LineRow {
                id: l.id.clone(),
                kind: l.kind.as_str(),
                description: l.description.clone(),
                quantity: l.quantity.normalize().to_string(),
                unit_price: l.unit_price.to_string(),
                discount: if l.amounts.discount.is_zero() {
                    String::new()
                } else {
                    l.amounts.discount.to_string()
                },
                tax_rate: format!("{} %", l.tax_rate.value().normalize()),
                total: l.amounts.total.to_string(),
            })
            .collect(),
        payments: v
            .payments
            .iter()
            .map(|p| PaymentRow {
                date: day(p.received_at),
                method: method_label(p.method),
                reference: p.reference.clone().unwrap_or_default(),
                amount: money(p.amount),
            })
            .collect(),
        subtotal: money(s.totals.subtotal),
        discount_total: money(s.totals.discount_total),
        tax_total: money(s.totals.tax_total),
        grand_total: money(s.totals.grand_total),
        paid: money(s.totals.paid),
        balance: money(s.totals.balance),
        void_reason: v.void_reason.clone(),
        draft: s.status == InvoiceStatus::Draft,
        payable: matches!(
            s.status,
            InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid
        ),
        may_edit: v.may_edit,
        may_void: v.may_void,
    }
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct LineForm {
    appointment_id: String,
    price_id: String,
    description: String,
    quantity: String,
    unit_price: String,
    discount_percent: String,
    tax_rate: String,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct PaymentForm {
    amount: String,
    method: String,
    reference: String,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct VoidForm {
    reason: String,
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    layout: Layout,
    i: Shown,
    back_href: &'static str,
    prices: Vec<(String, String)>,
    /// The patient's visits not charged yet: (appointment id, label).
    visits: Vec<(String, String)>,
    methods: Vec<(&'static str, &'static str)>,
    line: LineForm,
    payment: PaymentForm,
    void_form: VoidForm,
    errors: ValidationErrors,
    /// Which form the errors belong to: `line`, `payment`, `void` or `invoice`.
    errors_for: &'static str,
}

impl InvoicePage {
    fn error(&self, form: &str, field: &str) -> Option<String> {
        (self.errors_for == form)
            .then(|| self.errors.message_for(field).map(str::to_owned))
            .flatten()
    }
}

struct Forms {
    line: LineForm,
    payment: PaymentForm,
    void_form: VoidForm,
    errors: ValidationErrors,
    errors_for: &'static str,
}

impl Default for Forms {
    fn default() -> Self {
        Forms {
            line: LineForm {
                quantity: "1".into(),
                ..LineForm::default()
            },
            payment: PaymentForm::default(),
            void_form: VoidForm::default(),
            errors: ValidationErrors::new(),
            errors_for: "",
        }
    }
}

async fn invoice_view(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: &str,
    forms: Forms,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let view = state.services.get_invoice(actor, id).await?;
    let prices = if view.may_edit {
        state
            .services
            .list_prices(actor)
            .await?
            .into_iter()
            .filter(|p| p.active && p.fixed_price.is_some())
            .map(|p: PriceView| {
                let price = p.fixed_price.map(|m| m.to_string()).unwrap_or_default();
                (p.id, format!("{} — {} ({price})", p.code, p.label))
            })
            .collect()
    } else {
        Vec::new()
    };
    let zone = state.services.clinic_time_zone();
    let visits = view
        .visits_to_charge
        .iter()
        .map(|v| {
            (
                v.appointment_id.clone(),
                visit_label(v, zone, view.summary.currency),
            )
        })
        .collect();
    let i = shown(state, &view);
    let patient = actor.role() == Some(Role::Patient);
    let patient_id: carevault_core::PatientId = view
        .summary
        .patient_id
        .parse()
        .map_err(|_| PageError::from(ServiceError::Integrity))?;
    let banner = state.services.patient_banner(actor, patient_id).await?;
    render(&InvoicePage {
        layout: Layout::new(
            state,
            actor,
            &format!("Invoice {}", i.number),
            if patient { "/my/bills" } else { "/billing" },
            csrf,
        )
        .with_banner(&banner)
        .with_notice(notice),
        i,
        back_href: if patient { "/my/bills" } else { "/billing" },
        prices,
        visits,
        methods: PaymentMethod::ALL
            .iter()
            .map(|m| (m.as_str(), method_label(*m)))
            .collect(),
        line: forms.line,
        payment: forms.payment,
        void_form: forms.void_form,
        errors: forms.errors,
        errors_for: forms.errors_for,
    })
}

/// How the manual charge form offers a visit: "2026-03-02 10:00 — Consultation with Dr.
/// Smith (completed) — 40.00".
fn visit_label(v: &VisitToCharge, zone: chrono_tz::Tz, currency: Currency) -> String {
    let kind = match v.kind {
        AppointmentType::Consultation => "Consultation",
        AppointmentType::FollowUp => "Follow-up",
        AppointmentType::Procedure => "Procedure",
    };
    let status = match v.status {
        AppointmentStatus::CheckedIn => "checked in",
        AppointmentStatus::InProgress => "in progress",
        AppointmentStatus::Completed => "completed",
        _ => "",
    };
    let mut label = format!(
        "{} — {kind}",
        v.start.with_timezone(&zone).format("%Y-%m-%d %H:%M")
    );
    if let Some(name) = &v.clinician_name {
        label.push_str(&format!(" with {name}"));
    }
    if !status.is_empty() {
        label.push_str(&format!(" ({status})"));
    }
    if let Some(price) = v.price {
        label.push_str(&format!(" — {}", price.display_with(currency)));
    }
    label
}

/// `GET /invoices/{id}`.
pub async fn invoice_page(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    invoice_view(
        &state,
        &actor,
        csrf,
        &id,
        Forms::default(),
        notice_in_query(raw.as_deref()),
    )
    .await
}

/// One change made from the invoice page: the notice after it, the form it came from, and
/// the field a conflict's message is shown at.
struct Step {
    notice: &'static str,
    form: &'static str,
    conflict_field: &'static str,
}

const LINE_ADDED: Step = Step {
    notice: "invoice-line-added",
    form: "line",
    conflict_field: "description",
};
const LINE_REMOVED: Step = Step {
    notice: "invoice-line-removed",
    form: "invoice",
    conflict_field: "invoice",
};
const ISSUED: Step = Step {
    notice: "invoice-issued",
    form: "invoice",
    conflict_field: "invoice",
};
const PAID: Step = Step {
    notice: "payment-recorded",
    form: "payment",
    conflict_field: "invoice",
};
const VOIDED: Step = Step {
    notice: "invoice-voided",
    form: "void",
    conflict_field: "invoice",
};

/// After a change: back to the invoice with a notice, or the invoice again with the errors
/// next to the form's fields (422), or a 409's message at the top of that form.
async fn after_change(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: &str,
    result: Result<InvoiceView, ServiceError>,
    step: Step,
    mut forms: Forms,
) -> Result<Response, PageError> {
    let Step {
        notice,
        form,
        conflict_field,
    } = step;
    let (errors, status) = match result {
        Ok(_) => {
            return Ok(Redirect::to(&format!("/invoices/{id}?notice={notice}")).into_response());
        }
        Err(ServiceError::Validation(errors)) => (errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(ServiceError::Conflict { field, message }) => (
            ValidationErrors::single(field.unwrap_or(conflict_field), message),
            StatusCode::CONFLICT,
        ),
        Err(other) => return Err(other.into()),
    };
    forms.errors = errors;
    forms.errors_for = form;
    Ok(with_status(
        invoice_view(state, actor, csrf, id, forms, None).await?,
        status,
    ))
}

fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `POST /invoices/{id}/lines`.
pub async fn add_line(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<LineForm>,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    let result = state
        .services
        .add_invoice_line(
            &actor,
            &id,
            LineRequest {
                price_id: optional(&form.price_id),
                description: form.description.clone(),
                quantity: form.quantity.clone(),
                unit_price: form.unit_price.clone(),
                discount_percent: optional(&form.discount_percent),
                discount_amount: None,
                tax_rate: optional(&form.tax_rate),
                appointment_id: optional(&form.appointment_id),
            },
        )
        .await;
    let forms = Forms {
        line: form,
        ..Forms::default()
    };
    after_change(&state, &actor, csrf, &id, result, LINE_ADDED, forms).await
}

/// `POST /invoices/{id}/lines/{line_id}/remove` (drafts only).
pub async fn remove_line(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path((id, line_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    let result = state
        .services
        .remove_invoice_line(&actor, &id, &line_id)
        .await;
    after_change(
        &state,
        &actor,
        csrf,
        &id,
        result,
        LINE_REMOVED,
        Forms::default(),
    )
    .await
}

/// `POST /invoices/{id}/issue`.
pub async fn issue(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    let result = state.services.issue_invoice(&actor, &id).await;
    after_change(&state, &actor, csrf, &id, result, ISSUED, Forms::default()).await
}

/// `POST /invoices/{id}/payments`.
pub async fn pay(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<PaymentForm>,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    let result = state
        .services
        .record_payment(
            &actor,
            &id,
            PaymentRequest {
                amount: form.amount.clone(),
                method: form.method.clone(),
                reference: optional(&form.reference),
            },
        )
        .await;
    let forms = Forms {
        payment: form,
        ..Forms::default()
    };
    after_change(&state, &actor, csrf, &id, result, PAID, forms).await
}

/// `POST /invoices/{id}/void` (administrators).
pub async fn void(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<VoidForm>,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    let result = state.services.void_invoice(&actor, &id, &form.reason).await;
    let forms = Forms {
        void_form: form,
        ..Forms::default()
    };
    after_change(&state, &actor, csrf, &id, result, VOIDED, forms).await
}

// ---------------------------------------------------------------------------------------
// Print views and PDFs
// ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "invoice_print.html")]
struct PrintPage {
    layout: Layout,
    i: Shown,
    receipt: bool,
    pdf_href: String,
}

async fn print(
    state: AppState,
    actor: Actor,
    csrf: String,
    id: String,
    receipt: bool,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    let view = state.services.get_invoice(&actor, &id).await?;
    let i = shown(&state, &view);
    let kind = if receipt { "receipt" } else { "invoice" };
    render(&PrintPage {
        layout: Layout::new(
            &state,
            &actor,
            &format!(
                "{} {}",
                if receipt { "Receipt for" } else { "Invoice" },
                i.number
            ),
            "/billing",
            csrf,
        ),
        pdf_href: format!("/invoices/{id}/{kind}.pdf"),
        i,
        receipt,
    })
}

/// `GET /invoices/{id}/print`.
pub async fn print_invoice(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    print(state, actor, csrf, id, false).await
}

/// `GET /invoices/{id}/receipt`.
pub async fn print_receipt(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    print(state, actor, csrf, id, true).await
}

/// The invoice (or the receipt: its payments) as PDF sections.
fn pdf_sections(i: &Shown, receipt: bool) -> Vec<Section> {
    let mut sections = vec![Section {
        heading: "Patient".into(),
        lines: vec![format!("{} (MRN {})", i.patient, i.mrn)],
    }];
    if !receipt {
        sections.push(Section {
            heading: "Lines".into(),
            lines: i
                .lines
                .iter()
                .map(|l| {
                    let discount = if l.discount.is_empty() {
                        String::new()
                    } else {
                        format!(", discount {}", l.discount)
                    };
                    format!(
                        "{} x {} at {}{discount}, tax {}: {}{}",
                        l.quantity,
                        l.description,
                        l.unit_price,
                        l.tax_rate,
                        l.total,
                        if l.kind == "correction" {
                            " (correction)"
                        } else {
                            ""
                        }
                    )
                })
                .collect(),
        });
    }
    sections.push(Section {
        heading: "Totals".into(),
        lines: vec![
            format!("Subtotal: {}", i.subtotal),
            format!("Discounts: {}", i.discount_total),
            format!("Tax: {}", i.tax_total),
            format!("Total: {}", i.grand_total),
            format!("Paid: {}", i.paid),
            format!("Balance due: {}", i.balance),
        ],
    });
    sections.push(Section {
        heading: "Payments".into(),
        lines: i
            .payments
            .iter()
            .map(|p| {
                let reference = if p.reference.is_empty() {
                    String::new()
                } else {
                    format!(" (ref. {})", p.reference)
                };
                format!("{} {}: {}{reference}", p.date, p.method, p.amount)
            })
            .collect(),
    });
    if let Some(reason) = &i.void_reason {
        sections.push(Section {
            heading: "Void".into(),
            lines: vec![format!("This invoice is void: {reason}")],
        });
    }
    sections
}

async fn pdf_file(
    state: AppState,
    actor: Actor,
    id: String,
    receipt: bool,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    let view = state.services.get_invoice(&actor, &id).await?;
    let i = shown(&state, &view);
    let title = if receipt {
        format!("Receipt for invoice {}", i.number)
    } else {
        format!("Invoice {}", i.number)
    };
    let subtitle = format!(
        "Status: {}. Dated {}{}.",
        i.status,
        if i.issued.is_empty() {
            &i.created
        } else {
            &i.issued
        },
        if i.draft {
            " (draft, not yet issued)"
        } else {
            ""
        }
    );
    let bytes = pdf::render(&title, &subtitle, &pdf_sections(&i, receipt));
    let name = format!(
        "attachment; filename=\"{}-{}.pdf\"",
        if receipt { "receipt" } else { "invoice" },
        i.number
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /invoices/{id}/invoice.pdf`.
pub async fn invoice_pdf(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    pdf_file(state, actor, id, false).await
}

/// `GET /invoices/{id}/receipt.pdf`.
pub async fn receipt_pdf(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    pdf_file(state, actor, id, true).await
}

// ---------------------------------------------------------------------------------------
// The price list
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct PriceForm {
    code: String,
    kind: String,
    label: String,
    appointment_type: String,
    drug_id: String,
    fixed_price: String,
    markup_percent: String,
    tax_rate: String,
}

#[derive(Debug, Clone)]
struct PriceRow {
    code: String,
    kind: String,
    label: String,
    applies_to: String,
    price: String,
    tax_rate: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "price_list.html")]
struct PricesPage {
    layout: Layout,
    prices: Vec<PriceRow>,
    is_admin: bool,
    kinds: Vec<&'static str>,
    drugs: Vec<(String, String)>,
    form: PriceForm,
    errors: ValidationErrors,
}

async fn prices_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    form: PriceForm,
    errors: ValidationErrors,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let list = state.services.list_prices(actor).await?;
    let is_admin = actor.role() == Some(Role::Admin);
    let drugs: Vec<(String, String)> = if is_admin {
        state
            .services
            .list_drugs(actor, false)
            .await?
            .into_iter()
            .map(|d| (d.id, format!("{} {}", d.name, d.strength)))
            .collect()
    } else {
        Vec::new()
    };
    let drug_name = |id: &str| {
        drugs
            .iter()
            .find(|(d, _)| d == id)
            .map_or_else(|| "a drug".to_owned(), |(_, name)| name.clone())
    };
    render(&PricesPage {
        layout: Layout::new(state, actor, "Price list", "/billing/prices", csrf)
            .with_notice(notice),
        prices: list
            .iter()
            .map(|p| PriceRow {
                code: p.code.clone(),
                kind: p.kind.clone(),
                label: p.label.clone(),
                applies_to: match (&p.appointment_type, &p.drug_id) {
                    (Some(t), _) => format!("{} appointments", t.replace('_', " ")),
                    (None, Some(d)) => drug_name(d),
                    (None, None) if p.kind == "drug" => "every drug without its own price".into(),
                    _ => String::new(),
                },
                price: match (p.fixed_price, p.markup_percent) {
                    (Some(price), _) => price.to_string(),
                    (None, Some(markup)) => format!("cost + {} %", markup.value().normalize()),
                    _ => String::new(),
                },
                tax_rate: format!("{} %", p.tax_rate.value().normalize()),
                active: p.active,
            })
            .collect(),
        is_admin,
        kinds: PriceKind::ALL.iter().map(|k| k.as_str()).collect(),
        drugs,
        form,
        errors,
    })
}

/// `GET /billing/prices`.
pub async fn prices(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    prices_page(
        &state,
        &actor,
        csrf,
        PriceForm {
            kind: "procedure".into(),
            tax_rate: "0".into(),
            ..PriceForm::default()
        },
        ValidationErrors::new(),
        notice_in_query(raw.as_deref()),
    )
    .await
}

/// `POST /billing/prices` (administrators).
pub async fn add_price(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Form(form): Form<PriceForm>,
) -> Result<Response, PageError> {
    let input = PriceInput {
        code: form.code.clone(),
        kind: form.kind.clone(),
        label: form.label.clone(),
        appointment_type: optional(&form.appointment_type),
        drug_id: optional(&form.drug_id),
        fixed_price: optional(&form.fixed_price),
        markup_percent: optional(&form.markup_percent),
        tax_rate: optional(&form.tax_rate),
        active: true,
    };
    let (errors, status) = match state.services.save_price(&actor, None, input).await {
        Ok(_) => return Ok(Redirect::to("/billing/prices?notice=price-saved").into_response()),
        Err(ServiceError::Validation(errors)) => (errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(ServiceError::Conflict { field, message }) => (
            ValidationErrors::single(field.unwrap_or("code"), message),
            StatusCode::CONFLICT,
        ),
        Err(other) => return Err(other.into()),
    };
    Ok(with_status(
        prices_page(&state, &actor, csrf, form, errors, None).await?,
        status,
    ))
}

// ---------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------

/// One day of the chart: an issued bar and a paid bar.
#[derive(Debug, Clone)]
struct DayBars {
    x_issued: u32,
    x_paid: u32,
    y_issued: u32,
    y_paid: u32,
    h_issued: u32,
    h_paid: u32,
    width: u32,
    label: String,
    issued: String,
    paid: String,
    show_label: bool,
}

#[derive(Template)]
#[template(path = "billing_report.html")]
struct ReportPage {
    layout: Layout,
    from: String,
    to: String,
    errors: ValidationErrors,
    issued_count: u64,
    issued_total: String,
    void_count: u64,
    paid_total: String,
    outstanding_count: u64,
    outstanding_total: String,
    by_method: Vec<(&'static str, String)>,
    days: Vec<DayBars>,
    chart_width: u32,
    max_label: String,
    csv_href: String,
}

const CHART_HEIGHT: u32 = 200;
const CHART_TOP: u32 = 20;

fn day_bars(report: &BillingReport) -> (Vec<DayBars>, u32, Money) {
    let n = u32::try_from(report.days.len()).unwrap_or(u32::MAX).max(1);
    let width = (720 / n).clamp(6, 40);
    let max = report
        .days
        .iter()
        .flat_map(|(_, issued, paid)| [*issued, *paid])
        .max()
        .unwrap_or(Money::ZERO);
    let max_minor = max.minor_units().max(1);
    let height = |m: Money| {
        u32::try_from(
            i128::from(CHART_HEIGHT) * i128::from(m.minor_units()) / i128::from(max_minor),
        )
        .unwrap_or(0)
    };
    let label_every = (n / 14).max(1);
    let bars = report
        .days
        .iter()
        .enumerate()
        .map(|(i, (day, issued, paid))| {
            let i = u32::try_from(i).unwrap_or(0);
            let half = (width / 2).saturating_sub(1).max(2);
            let x = 60 + i * width;
            DayBars {
                x_issued: x,
                x_paid: x + half,
                h_issued: height(*issued),
                h_paid: height(*paid),
                y_issued: CHART_TOP + CHART_HEIGHT - height(*issued),
                y_paid: CHART_TOP + CHART_HEIGHT - height(*paid),
                width: half,
                label: day.format("%d %b").to_string(),
                issued: issued.display_with(report.currency),
                paid: paid.display_with(report.currency),
                show_label: i % label_every == 0,
            }
        })
        .collect();
    (bars, 60 + n * width + 30, max)
}

fn billing_range(state: &AppState, raw: Option<&str>) -> (NaiveDate, NaiveDate, ValidationErrors) {
    report_range(state, raw, month_start, |from, _| from + Duration::days(31))
}

/// `GET /reports/billing?from=…&to=…` (administrators and reception).
pub async fn report(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, mut errors) = billing_range(&state, raw.as_deref());
    // Who may see the report is decided (and a refusal recorded) before the input is judged.
    let mut report = state
        .services
        .billing_report(&actor, from, from + Duration::days(1))
        .await?;
    if errors.is_empty() {
        match state.services.billing_report(&actor, from, to).await {
            Ok(r) => report = r,
            Err(ServiceError::Validation(e)) => errors = e,
            Err(other) => return Err(other.into()),
        }
    }
    let (days, chart_width, max) = day_bars(&report);
    let currency = report.currency;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(with_status(
        render(&ReportPage {
            layout: Layout::new(&state, &actor, "Billing report", "/reports/billing", csrf),
            from: from.to_string(),
            to: to.to_string(),
            issued_count: report.issued_count,
            issued_total: report.issued_total.display_with(currency),
            void_count: report.void_count,
            paid_total: report.paid_total.display_with(currency),
            outstanding_count: report.outstanding_count,
            outstanding_total: report.outstanding_total.display_with(currency),
            by_method: report
                .paid_by_method
                .iter()
                .map(|(m, amount)| (method_label(*m), amount.display_with(currency)))
                .collect(),
            days: if errors.is_empty() { days } else { Vec::new() },
            chart_width,
            max_label: max.display_with(currency),
            csv_href: format!("/reports/billing.csv?from={from}&to={to}"),
            errors,
        })?,
        status,
    ))
}

/// `GET /reports/billing.csv?from=…&to=…`: `dimension,key,amount` rows (amounts as exact
/// decimals, the currency in its own row).
pub async fn report_csv(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, errors) = billing_range(&state, raw.as_deref());
    state
        .services
        .billing_report(&actor, from, from + Duration::days(1))
        .await?;
    if !errors.is_empty() {
        return Err(PageError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(errors.to_string()),
        ));
    }
    let report = state.services.billing_report(&actor, from, to).await?;
    let mut rows: Vec<[String; 3]> = vec![["dimension".into(), "key".into(), "amount".into()]];
    rows.push([
        "currency".into(),
        report.currency.as_str().into(),
        String::new(),
    ]);
    rows.push([
        "issued".into(),
        "count".into(),
        report.issued_count.to_string(),
    ]);
    rows.push([
        "issued".into(),
        "total".into(),
        report.issued_total.to_string(),
    ]);
    rows.push(["void".into(), "count".into(), report.void_count.to_string()]);
    for (method, amount) in &report.paid_by_method {
        rows.push(["paid".into(), method.as_str().into(), amount.to_string()]);
    }
    rows.push(["paid".into(), "total".into(), report.paid_total.to_string()]);
    rows.push([
        "outstanding".into(),
        "count".into(),
        report.outstanding_count.to_string(),
    ]);
    rows.push([
        "outstanding".into(),
        "total".into(),
        report.outstanding_total.to_string(),
    ]);
    for (day, issued, paid) in &report.days {
        rows.push(["issued_on".into(), day.to_string(), issued.to_string()]);
        rows.push(["paid_on".into(), day.to_string(), paid.to_string()]);
    }
    csv_download(REPORT_CSV_FILE_NAME, rows)
}
