//! `/api/v1/prices`, `/api/v1/invoices`, `/api/v1/invoices/{id}/lines`, `…/issue`,
//! `…/void`, `/api/v1/invoices/{id}/payments`: the price list, invoices with their lines and
//! payments. Amounts are decimal text (`"12.30"`), never JSON numbers, so that no client
//! rounds them through floating point. The rules live in `carevault_service::billing`; this
//! module only translates JSON.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use carevault_core::Action;
use carevault_service::billing::{
    InvoiceSummary, InvoiceView, LineRequest, PaymentRequest, PriceInput, PriceView,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// Adds the billing routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::ManageBilling, routes!(prices))
        .api(Action::AdministerBilling, routes!(create_price))
        .api(Action::AdministerBilling, routes!(update_price))
        .api(Action::SeeBills, routes!(invoices))
        .api(Action::ManageBilling, routes!(open_invoice))
        .api(Action::SeeBills, routes!(invoice))
        .api(Action::ManageBilling, routes!(add_line))
        .api(Action::ManageBilling, routes!(remove_line))
        .api(Action::ManageBilling, routes!(issue))
        .api(Action::AdministerBilling, routes!(void))
        .api(Action::ManageBilling, routes!(pay))
}

/// A price-list entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceRecord {
    pub id: String,
    pub code: String,
    /// `consultation`, `procedure`, `drug` or `other`.
    pub kind: String,
    pub label: String,
    /// Consultations: the appointment type charged when such an appointment is completed.
    pub appointment_type: Option<String>,
    /// Drugs: the drug; none on the default drug entry.
    pub drug_id: Option<String>,
    /// Decimal text.
    pub fixed_price: Option<String>,
    /// Decimal text, per cent on the unit cost (drugs).
    pub markup_percent: Option<String>,
    /// Decimal text, per cent.
    pub tax_rate: String,
    pub active: bool,
}

impl From<PriceView> for PriceRecord {
    fn from(p: PriceView) -> Self {
        Self {
            id: p.id,
            code: p.code,
            kind: p.kind,
            label: p.label,
            appointment_type: p.appointment_type,
            drug_id: p.drug_id,
            fixed_price: p.fixed_price.map(|m| m.to_string()),
            markup_percent: p.markup_percent.map(|m| m.value().normalize().to_string()),
            tax_rate: p.tax_rate.value().normalize().to_string(),
            active: p.active,
        }
    }
}

/// The price list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceList {
    pub items: Vec<PriceRecord>,
}

/// A price-list entry's values.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceRequest {
    /// Letters, digits, `-`, `_`, `.` (stored upper case), unique.
    pub code: String,
    /// `consultation`, `procedure`, `drug` or `other`.
    pub kind: String,
    pub label: String,
    /// Consultations: `consultation`, `follow_up` or `procedure`.
    #[serde(default)]
    pub appointment_type: Option<String>,
    /// Drugs: the drug priced; none for the default of every drug without its own entry.
    #[serde(default)]
    pub drug_id: Option<String>,
    /// Decimal text (`"25.00"`).
    #[serde(default)]
    pub fixed_price: Option<String>,
    /// Drugs only, instead of a fixed price: per cent on the unit cost (`"30"`).
    #[serde(default)]
    pub markup_percent: Option<String>,
    /// Per cent, default 0.
    #[serde(default)]
    pub tax_rate: Option<String>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
}

impl From<PriceRequest> for PriceInput {
    fn from(body: PriceRequest) -> Self {
        PriceInput {
            code: body.code,
            kind: body.kind,
            label: body.label,
            appointment_type: body.appointment_type,
            drug_id: body.drug_id,
            fixed_price: body.fixed_price,
            markup_percent: body.markup_percent,
            tax_rate: body.tax_rate,
            active: body.active.unwrap_or(true),
        }
    }
}

/// An invoice's totals, decimal text.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsRecord {
    pub subtotal: String,
    pub discount_total: String,
    pub tax_total: String,
    pub grand_total: String,
    pub paid: String,
    pub balance: String,
}

/// An invoice in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceSummaryRecord {
    pub id: String,
    /// `INV-000123`.
    pub number: String,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    /// `draft`, `issued`, `partially_paid`, `paid` or `void`.
    pub status: String,
    /// ISO 4217.
    pub currency: String,
    pub totals: TotalsRecord,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<InvoiceSummary> for InvoiceSummaryRecord {
    fn from(s: InvoiceSummary) -> Self {
        Self {
            id: s.id,
            number: s.number,
            patient_id: s.patient_id,
            patient_name: s.patient_name,
            mrn: s.mrn,
            status: s.status.as_str().to_owned(),
            currency: s.currency.as_str().to_owned(),
            totals: TotalsRecord {
                subtotal: s.totals.subtotal.to_string(),
                discount_total: s.totals.discount_total.to_string(),
                tax_total: s.totals.tax_total.to_string(),
                grand_total: s.totals.grand_total.to_string(),
                paid: s.totals.paid.to_string(),
                balance: s.totals.balance.to_string(),
            },
            created_at: s.created_at,
            issued_at: s.issued_at,
            closed_at: s.closed_at,
        }
    }
}

/// One line of an invoice; amounts are decimal text.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineRecord {
    pub id: String,
    pub position: i32,
    /// `charge` or `correction`.
    pub kind: String,
    /// `manual`, `appointment` or `dispensing`.
    pub source: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount_percent: Option<String>,
    pub tax_rate: String,
    pub gross: String,
    pub discount: String,
    pub net: String,
    pub tax: String,
    pub total: String,
    pub created_at: DateTime<Utc>,
    /// The visit (appointment) this line charges, if any: a visit is charged once.
    pub appointment_id: Option<String>,
}

/// A visit of the patient not charged yet, which a manual charge may name.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitToChargeRecord {
    pub appointment_id: String,
    pub start: DateTime<Utc>,
    /// `consultation`, `follow_up` or `procedure`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `checked_in`, `in_progress` or `completed`.
    pub status: String,
    pub clinician_name: Option<String>,
    /// Decimal text: the consultation price of its type, charged when the line gives none.
    pub price: Option<String>,
}

/// One payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentRecord {
    pub id: String,
    pub amount: String,
    /// `cash`, `card`, `insurance` or `transfer`.
    pub method: String,
    pub reference: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// An invoice with its lines and payments.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceRecord {
    #[serde(flatten)]
    pub summary: InvoiceSummaryRecord,
    pub lines: Vec<LineRecord>,
    pub payments: Vec<PaymentRecord>,
    pub void_reason: Option<String>,
    /// For a draft read by administrators or reception: the patient's recent visits (last
    /// 90 days; checked in, in progress or completed) not charged yet. Otherwise empty.
    pub visits_to_charge: Vec<VisitToChargeRecord>,
}

impl From<InvoiceView> for InvoiceRecord {
    fn from(v: InvoiceView) -> Self {
        Self {
            summary: v.summary.into(),
            lines: v
                .lines
                .into_iter()
                .map(|l| LineRecord {
                    id: l.id,
                    position: l.position,
                    kind: l.kind.as_str().to_owned(),
                    source: l.source,
                    description: l.description,
                    quantity: l.quantity.normalize().to_string(),
                    unit_price: l.unit_price.to_string(),
                    discount_percent: l
                        .discount_percent
                        .map(|p| p.value().normalize().to_string()),
                    tax_rate: l.tax_rate.value().normalize().to_string(),
                    gross: l.amounts.gross.to_string(),
                    discount: l.amounts.discount.to_string(),
                    net: l.amounts.net.to_string(),
                    tax: l.amounts.tax.to_string(),
                    total: l.amounts.total.to_string(),
                    created_at: l.created_at,
                    appointment_id: l.appointment_id,
                })
                .collect(),
            payments: v
                .payments
                .into_iter()
                .map(|p| PaymentRecord {
                    id: p.id,
                    amount: p.amount.to_string(),
                    method: p.method.as_str().to_owned(),
                    reference: p.reference,
                    received_at: p.received_at,
                })
                .collect(),
            void_reason: v.void_reason,
            visits_to_charge: v
                .visits_to_charge
                .into_iter()
                .map(|visit| VisitToChargeRecord {
                    appointment_id: visit.appointment_id,
                    start: visit.start,
                    kind: visit.kind.as_str().to_owned(),
                    status: visit.status.as_str().to_owned(),
                    clinician_name: visit.clinician_name,
                    price: visit.price.map(|m| m.to_string()),
                })
                .collect(),
        }
    }
}

/// Invoices.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceList {
    pub items: Vec<InvoiceSummaryRecord>,
}

/// Which invoices to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvoiceListParams {
    /// One patient's (patients: only their own).
    #[param(format = Uuid, min_length = 1)]
    patient_id: Option<String>,
    /// `draft`, `issued`, `partially_paid`, `paid` or `void`.
    #[param(schema_with = crate::api::schemas::invoice_status)]
    status: Option<String>,
}

/// Opens a patient's draft invoice.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenInvoiceRequest {
    #[schema(format = Uuid)]
    pub patient_id: String,
}

/// A line added by hand: from a price-list entry (`price_id`), or written out. On a draft
/// it is a charge; on an issued or partially paid invoice a correction, whose unit price may
/// be negative (a credit).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemRequest {
    #[serde(default)]
    pub price_id: Option<String>,
    /// Required unless `price_id` gives it.
    #[serde(default)]
    pub description: String,
    /// Decimal text, more than zero (default 1 with `price_id`).
    #[serde(default)]
    pub quantity: String,
    /// Decimal text; required unless `price_id` gives it.
    #[serde(default)]
    pub unit_price: String,
    /// Per cent, or give `discount_amount`.
    #[serde(default)]
    pub discount_percent: Option<String>,
    #[serde(default)]
    pub discount_amount: Option<String>,
    /// Per cent, default 0 (or the price-list entry's).
    #[serde(default)]
    pub tax_rate: Option<String>,
    /// The visit (an appointment of the invoice's patient, checked in, in progress or
    /// completed) this charge is for. A visit is charged once: completing it later adds no
    /// second line, and naming a visit charged already (by hand, or automatically when it
    /// was completed, even on a void invoice) is 409 with the invoice and day. Drafts only
    /// (a correction names no visit); administrators and reception. Without `price_id` and
    /// `unit_price`, the visit type's consultation price is charged, and without a
    /// description it reads "Consultation on 2026-03-02".
    #[serde(default)]
    #[schema(format = Uuid)]
    pub appointment_id: Option<String>,
}

/// A payment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoicePaymentRequest {
    /// Decimal text, more than zero, at most the balance.
    #[schema(min_length = 1)]
    pub amount: String,
    /// `cash`, `card`, `insurance` or `transfer`.
    #[schema(schema_with = payment_method_schema)]
    pub method: String,
    /// A receipt, card slip or claim number.
    #[serde(default)]
    pub reference: Option<String>,
}

/// Why an invoice is voided.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    #[schema(min_length = 1)]
    /// 5–500 characters.
    pub reason: String,
}

/// Lists the price list.
///
/// Administrators, receptionists and pharmacists.
#[utoipa::path(
    get, path = "/api/v1/prices", tag = "billing",
    responses(
        (status = 200, description = "The price list", body = PriceList),
        (status = 403, description = "Not billing staff", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn prices(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<PriceList>, ApiError> {
    let items = state.services.list_prices(&actor).await?;
    Ok(Json(PriceList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Adds a price-list entry.
///
/// Administrators only. A consultation price names an appointment type; a drug price names a
/// drug (or none, for the default of every drug) and gives a fixed price or a markup.
#[utoipa::path(
    post, path = "/api/v1/prices", tag = "billing",
    request_body = PriceRequest,
    responses(
        (status = 201, description = "The entry", body = PriceRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code, appointment type or drug is priced already", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_price(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<PriceRequest>, ApiError>,
) -> Result<(StatusCode, Json<PriceRecord>), ApiError> {
    let ApiJson(body) = body?;
    let price = state.services.save_price(&actor, None, body.into()).await?;
    Ok((StatusCode::CREATED, Json(price.into())))
}

/// Replaces a price-list entry.
///
/// Administrators only. Lines already on invoices keep their amounts.
#[utoipa::path(
    put, path = "/api/v1/prices/{id}", tag = "billing",
    params(("id" = String, Path, description = "The entry's id")),
    request_body = PriceRequest,
    responses(
        (status = 200, description = "The entry", body = PriceRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code, appointment type or drug is priced already", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_price(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<PriceRequest>, ApiError>,
) -> Result<Json<PriceRecord>, ApiError> {
    let ApiJson(body) = body?;
    let price = state
        .services
        .save_price(&actor, Some(&id), body.into())
        .await?;
    Ok(Json(price.into()))
}

/// Lists invoices, newest first.
///
/// Administrators, receptionists and pharmacists: everyone's (filter by patient or status);
/// a patient: only their own (asking for another patient's is 403 and recorded). Audited.
#[utoipa::path(
    get, path = "/api/v1/invoices", tag = "billing",
    params(InvoiceListParams),
    responses(
        (status = 200, description = "The invoices", body = InvoiceList),
        (status = 403, description = "No access to bills, or another patient's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is unknown or its value invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn invoices(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<InvoiceListParams>, ApiError>,
) -> Result<Json<InvoiceList>, ApiError> {
    let ApiQuery(params) = params?;
    crate::extract::refuse_empty_params(&[
        ("patient_id", params.patient_id.as_deref()),
        ("status", params.status.as_deref()),
    ])
    .map_err(|e| Problem::validation(&e))?;
    let items = state
        .services
        .list_invoices(
            &actor,
            params.patient_id.as_deref(),
            params.status.as_deref(),
        )
        .await?;
    Ok(Json(InvoiceList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Opens the patient's draft invoice (or returns the one already open).
///
/// Administrators, receptionists and pharmacists. 201 when opened now, 200 when the
/// patient already had a draft: a patient has at most one, which completed appointments
/// and dispensing also charge.
#[utoipa::path(
    post, path = "/api/v1/invoices", tag = "billing",
    request_body = OpenInvoiceRequest,
    responses(
        (status = 201, description = "The new draft", body = InvoiceRecord),
        (status = 200, description = "The patient's draft, already open", body = InvoiceRecord),
        (status = 403, description = "Not billing staff (nurses, doctors, auditors, patients)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn open_invoice(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<OpenInvoiceRequest>, ApiError>,
) -> Result<(StatusCode, Json<InvoiceRecord>), ApiError> {
    let ApiJson(body) = body?;
    let (invoice, created) = state
        .services
        .open_invoice(&actor, &body.patient_id)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(invoice.into())))
}

/// One invoice with its lines and payments.
///
/// Billing staff; a patient only their own (another's is 403 and recorded). Audited.
#[utoipa::path(
    get, path = "/api/v1/invoices/{id}", tag = "billing",
    params(("id" = String, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceRecord),
        (status = 403, description = "No access to bills, or another patient's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn invoice(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<InvoiceRecord>, ApiError> {
    Ok(Json(state.services.get_invoice(&actor, &id).await?.into()))
}

/// Adds a line.
///
/// Billing staff. A draft takes charges; an issued or partially paid invoice only
/// corrections (new lines, possibly negative); a paid or void one nothing (409). A charge
/// may name the visit it is for (`appointment_id`; administrators and reception): a visit is
/// charged once, and a visit charged already is 409 with `errors[].field` =
/// `appointment_id`.
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/lines", tag = "billing",
    params(("id" = String, Path, description = "The invoice's id")),
    request_body = LineItemRequest,
    responses(
        (status = 201, description = "The invoice with the new line", body = InvoiceRecord),
        (status = 403, description = "Not billing staff, or naming a visit without seeing schedules (pharmacists)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The invoice takes no such line now, or the visit named is charged already (`errors[].field` = `appointment_id`, the detail names the invoice and day)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_line(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<LineItemRequest>, ApiError>,
) -> Result<(StatusCode, Json<InvoiceRecord>), ApiError> {
    let ApiJson(body) = body?;
    let invoice = state
        .services
        .add_invoice_line(
            &actor,
            &id,
            LineRequest {
                price_id: body.price_id,
                description: body.description,
                quantity: body.quantity,
                unit_price: body.unit_price,
                discount_percent: body.discount_percent,
                discount_amount: body.discount_amount,
                tax_rate: body.tax_rate,
                appointment_id: body.appointment_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(invoice.into())))
}

/// Removes a line of a draft invoice.
///
/// Billing staff. Lines of an issued invoice are never removed (409): add a correction.
#[utoipa::path(
    delete, path = "/api/v1/invoices/{id}/lines/{line_id}", tag = "billing",
    params(
        ("id" = String, Path, description = "The invoice's id"),
        ("line_id" = String, Path, description = "The line's id"),
    ),
    responses(
        (status = 200, description = "The invoice without the line", body = InvoiceRecord),
        (status = 403, description = "Not billing staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice or line", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The invoice is no longer a draft", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_line(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((id, line_id)): Path<(String, String)>,
) -> Result<Json<InvoiceRecord>, ApiError> {
    Ok(Json(
        state
            .services
            .remove_invoice_line(&actor, &id, &line_id)
            .await?
            .into(),
    ))
}

/// Issues a draft invoice.
///
/// Billing staff. It needs at least one line and a total above zero.
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/issue", tag = "billing",
    params(("id" = String, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "The issued invoice", body = InvoiceRecord),
        (status = 403, description = "Not billing staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft, or nothing to charge", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn issue(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<InvoiceRecord>, ApiError> {
    Ok(Json(
        state.services.issue_invoice(&actor, &id).await?.into(),
    ))
}

/// Voids an invoice, with a reason.
///
/// Administrators only; a paid or void invoice cannot be voided (409).
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/void", tag = "billing",
    params(("id" = String, Path, description = "The invoice's id")),
    request_body = VoidRequest,
    responses(
        (status = 200, description = "The void invoice", body = InvoiceRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Paid or void already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No usable reason", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn void(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<VoidRequest>, ApiError>,
) -> Result<Json<InvoiceRecord>, ApiError> {
    let ApiJson(body) = body?;
    Ok(Json(
        state
            .services
            .void_invoice(&actor, &id, &body.reason)
            .await?
            .into(),
    ))
}

/// Records a payment.
///
/// Billing staff, on an issued or partially paid invoice; never more than the balance
/// (422). The invoice becomes partially paid or paid.
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/payments", tag = "billing",
    params(("id" = String, Path, description = "The invoice's id")),
    request_body = InvoicePaymentRequest,
    responses(
        (status = 201, description = "The invoice with the payment", body = InvoiceRecord),
        (status = 403, description = "Not billing staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The invoice takes no payments (draft, paid, void)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input (a malformed amount, more than the balance); `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn pay(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<InvoicePaymentRequest>, ApiError>,
) -> Result<(StatusCode, Json<InvoiceRecord>), ApiError> {
    let ApiJson(body) = body?;
    let invoice = state
        .services
        .record_payment(
            &actor,
            &id,
            PaymentRequest {
                amount: body.amount,
                method: body.method,
                reference: body.reference,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(invoice.into())))
}

fn payment_method_schema() -> utoipa::openapi::Object {
    use carevault_core::billing::PaymentMethod as M;
    crate::api::schemas::choices(M::ALL, M::as_str)
}
