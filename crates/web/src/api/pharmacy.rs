//! `/api/v1/drugs`, `/api/v1/stock/receipts`, `/api/v1/stock/adjustments`,
//! `/api/v1/dispensations`: the formulary, stock receipts and adjustments (administrators
//! and pharmacists) and dispensing against a prescription (pharmacists). The rules live in
//! `carevault_service::pharmacy`; this module only translates JSON.

use axum::Json;
use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use carevault_core::Action;
use carevault_service::pharmacy::{
    AdjustmentRequest, BatchView, Dispensation, DispenseRequest, DrugInput, DrugView,
    ReceiptRequest, StockReport,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{ApiJson, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// Adds the pharmacy routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::ManageStock, routes!(list_drugs))
        .api(Action::ManageStock, routes!(create_drug))
        .api(Action::ManageStock, routes!(update_drug))
        .api(Action::ManageStock, routes!(stock))
        .api(Action::ManageStock, routes!(receive))
        .api(Action::ManageStock, routes!(adjust))
        .api(Action::Dispense, routes!(dispense))
}

/// A formulary entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrugRecord {
    pub id: String,
    #[schema(min_length = 1)]
    pub name: String,
    #[schema(min_length = 1)]
    pub generic_name: String,
    #[schema(min_length = 1)]
    pub form: String,
    #[schema(min_length = 1)]
    pub strength: String,
    #[schema(min_length = 1)]
    pub unit: String,
    pub atc_code: Option<String>,
    pub reorder_level: u32,
    pub reorder_quantity: u32,
    pub active: bool,
}

impl From<DrugView> for DrugRecord {
    fn from(d: DrugView) -> Self {
        Self {
            id: d.id,
            name: d.name,
            generic_name: d.generic_name,
            form: d.form,
            strength: d.strength,
            unit: d.unit,
            atc_code: d.atc_code,
            reorder_level: d.reorder_level,
            reorder_quantity: d.reorder_quantity,
            active: d.active,
        }
    }
}

/// The formulary.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrugList {
    pub items: Vec<DrugRecord>,
}

/// A new formulary entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrugRequest {
    #[schema(min_length = 1)]
    pub name: String,
    #[schema(min_length = 1)]
    pub generic_name: String,
    /// Tablet, capsule, syrup, …
    #[schema(min_length = 1)]
    pub form: String,
    /// `500 mg`, `5 mg/ml`, …
    #[schema(min_length = 1)]
    pub strength: String,
    /// The unit dispensed and counted (tablet, ml, …).
    #[schema(min_length = 1)]
    pub unit: String,
    /// An ATC code such as `N02BE01`.
    #[serde(default)]
    pub atc_code: Option<String>,
    /// Usable stock at or below this needs reordering. Default 0.
    #[serde(default)]
    #[schema(maximum = 1_000_000)]
    pub reorder_level: Option<u32>,
    /// How much to reorder. Default 0.
    #[serde(default)]
    #[schema(maximum = 1_000_000)]
    pub reorder_quantity: Option<u32>,
}

/// A formulary entry's new values (every field; `active: false` withdraws the drug).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrugUpdateRequest {
    #[schema(min_length = 1)]
    pub name: String,
    #[schema(min_length = 1)]
    pub generic_name: String,
    #[schema(min_length = 1)]
    pub form: String,
    #[schema(min_length = 1)]
    pub strength: String,
    #[schema(min_length = 1)]
    pub unit: String,
    #[serde(default)]
    pub atc_code: Option<String>,
    #[serde(default)]
    #[schema(maximum = 1_000_000)]
    pub reorder_level: Option<u32>,
    #[serde(default)]
    #[schema(maximum = 1_000_000)]
    pub reorder_quantity: Option<u32>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
}

/// The service's input from the fields of a [`DrugRequest`] or [`DrugUpdateRequest`] (two
/// types, hence a macro); absent reorder figures are 0.
macro_rules! drug_input {
    ($body:expr, $active:expr) => {
        DrugInput {
            active: $active,
            name: $body.name,
            generic_name: $body.generic_name,
            form: $body.form,
            strength: $body.strength,
            unit: $body.unit,
            atc_code: $body.atc_code,
            reorder_level: $body.reorder_level.unwrap_or(0).to_string(),
            reorder_quantity: $body.reorder_quantity.unwrap_or(0).to_string(),
        }
    };
}

/// One drug's stock.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockLevelRecord {
    pub drug: DrugRecord,
    /// Every unit on the shelf, expired ones too.
    pub on_hand: u64,
    /// Units that may be dispensed today.
    pub usable: u64,
    /// Usable stock at or below the reorder level.
    pub reorder_needed: bool,
    /// Usable batches expiring within the window.
    pub expiring: Vec<BatchRecord>,
    /// Expired batches still holding units.
    pub expired: Vec<BatchRecord>,
    /// On hand × unit cost, a decimal amount as text.
    pub value: String,
}

/// Stock per active drug.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockList {
    /// The expiry-alert window, in days.
    pub expiry_window_days: u32,
    pub items: Vec<StockLevelRecord>,
    /// The value of all stock on hand, a decimal amount as text.
    pub total_value: String,
}

impl From<StockReport> for StockList {
    fn from(report: StockReport) -> Self {
        Self {
            expiry_window_days: report.expiry_window_days,
            total_value: report.total_value.to_string(),
            items: report
                .rows
                .into_iter()
                .map(|row| StockLevelRecord {
                    drug: row.level.drug.into(),
                    on_hand: row.level.on_hand,
                    usable: row.level.usable,
                    reorder_needed: row.level.reorder_needed,
                    expiring: row.level.expiring.into_iter().map(Into::into).collect(),
                    expired: row.level.expired.into_iter().map(Into::into).collect(),
                    value: row.value.to_string(),
                })
                .collect(),
        }
    }
}

/// One batch on the shelf.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchRecord {
    pub id: String,
    pub drug_id: String,
    pub batch_number: String,
    pub supplier: String,
    /// The date from which the batch may no longer be dispensed.
    pub expiry: NaiveDate,
    pub quantity_received: u32,
    pub quantity_on_hand: u32,
    /// A decimal amount with two places, as text (`"0.10"`).
    pub unit_cost: String,
    pub received_at: DateTime<Utc>,
}

impl From<BatchView> for BatchRecord {
    fn from(b: BatchView) -> Self {
        Self {
            id: b.id,
            drug_id: b.drug_id,
            batch_number: b.batch_number,
            supplier: b.supplier,
            expiry: b.expiry,
            quantity_received: b.quantity_received,
            quantity_on_hand: b.quantity_on_hand,
            unit_cost: b.unit_cost.to_string(),
            received_at: b.received_at,
        }
    }
}

/// A stock receipt: a new batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockReceiptRequest {
    pub drug_id: String,
    pub supplier: String,
    pub batch_number: String,
    /// `YYYY-MM-DD`, after today.
    pub expiry: String,
    /// Units received (a whole number, more than zero).
    #[schema(value_type = u32)]
    pub quantity: serde_json::Value,
    /// A decimal amount as text (`"0.10"`).
    pub unit_cost: String,
}

/// An adjustment of one batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustmentRequest {
    pub batch_id: String,
    /// `count_correction`, `damage` or `expiry_write_off`.
    pub kind: String,
    /// A signed change for a count correction (`-2`, `3`); units removed otherwise.
    #[schema(value_type = i64)]
    pub quantity: serde_json::Value,
    /// Why (required).
    pub reason: String,
}

/// A dispensing against an active prescription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispensationRequest {
    pub prescription_id: String,
    /// The formulary drug dispensed: the prescribed drug, by name or generic name.
    pub drug_id: String,
    /// Units dispensed (whole or part of what the prescription has left).
    pub quantity: u32,
}

/// Units taken from one batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispensedBatch {
    pub batch_id: String,
    pub quantity: u32,
}

/// What was dispensed.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispensationRecord {
    pub prescription_id: String,
    pub drug_id: String,
    pub quantity: u32,
    /// The batches used, first expiry first.
    pub batches: Vec<DispensedBatch>,
    /// The prescription's dispensed quantity afterwards.
    pub quantity_dispensed: u32,
    /// The invoice the dispensing was charged on (the patient's open draft).
    pub invoice_id: Option<String>,
}

impl From<Dispensation> for DispensationRecord {
    fn from(d: Dispensation) -> Self {
        Self {
            prescription_id: d.prescription_id,
            drug_id: d.drug_id,
            quantity: d.quantity,
            batches: d
                .batches
                .into_iter()
                .map(|(batch_id, quantity)| DispensedBatch { batch_id, quantity })
                .collect(),
            quantity_dispensed: d.quantity_dispensed,
            invoice_id: d.invoice_id,
        }
    }
}

/// A JSON number or string as the text the service parses (anything else: empty, refused).
fn number_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// Lists the formulary (active drugs).
///
/// Administrators and pharmacists.
#[utoipa::path(
    get, path = "/api/v1/drugs", tag = "pharmacy",
    responses(
        (status = 200, description = "The formulary by name and strength", body = DrugList),
        (status = 403, description = "Not an administrator or pharmacist", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_drugs(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<DrugList>, ApiError> {
    let drugs = state.services.list_drugs(&actor, false).await?;
    Ok(Json(DrugList {
        items: drugs.into_iter().map(Into::into).collect(),
    }))
}

/// Adds a drug to the formulary.
///
/// Administrators and pharmacists. Name and strength are unique.
#[utoipa::path(
    post, path = "/api/v1/drugs", tag = "pharmacy",
    request_body = DrugRequest,
    responses(
        (status = 201, description = "The drug", body = DrugRecord),
        (status = 403, description = "Not an administrator or pharmacist", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The formulary has this drug at this strength", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_drug(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<DrugRequest>, ApiError>,
) -> Result<(StatusCode, Json<DrugRecord>), ApiError> {
    let ApiJson(body) = body?;
    let drug = state
        .services
        .create_drug(&actor, drug_input!(body, true))
        .await?;
    Ok((StatusCode::CREATED, Json(drug.into())))
}

/// Changes a formulary entry.
///
/// Administrators and pharmacists. Every field is replaced; `active: false` withdraws the
/// drug (it is no longer received, prescribed or dispensed).
#[utoipa::path(
    put, path = "/api/v1/drugs/{id}", tag = "pharmacy",
    params(("id" = String, Path, description = "The drug's id")),
    request_body = DrugUpdateRequest,
    responses(
        (status = 200, description = "The drug", body = DrugRecord),
        (status = 403, description = "Not an administrator or pharmacist", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drug", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The formulary has this drug at this strength", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_drug(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<DrugUpdateRequest>, ApiError>,
) -> Result<Json<DrugRecord>, ApiError> {
    let ApiJson(body) = body?;
    let drug = state
        .services
        .update_drug(&actor, &id, drug_input!(body, body.active.unwrap_or(true)))
        .await?;
    Ok(Json(drug.into()))
}

/// Stock per active drug: levels, reorder and expiry alerts, value.
///
/// Administrators and pharmacists. Expiring means within the configured window
/// (`--expiry-window-days`).
#[utoipa::path(
    get, path = "/api/v1/stock", tag = "pharmacy",
    responses(
        (status = 200, description = "Stock per drug", body = StockList),
        (status = 403, description = "Not an administrator or pharmacist", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn stock(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<StockList>, ApiError> {
    Ok(Json(state.services.stock_report(&actor).await?.into()))
}

/// Receives a new batch of a formulary drug.
///
/// Administrators and pharmacists. The expiry must be after today.
#[utoipa::path(
    post, path = "/api/v1/stock/receipts", tag = "pharmacy",
    request_body = StockReceiptRequest,
    responses(
        (status = 201, description = "The new batch", body = BatchRecord),
        (status = 403, description = "Not an administrator or pharmacist", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<StockReceiptRequest>, ApiError>,
) -> Result<(StatusCode, Json<BatchRecord>), ApiError> {
    let ApiJson(body) = body?;
    let batch = state
        .services
        .receive_stock(
            &actor,
            ReceiptRequest {
                drug_id: body.drug_id,
                supplier: body.supplier,
                batch_number: body.batch_number,
                expiry: body.expiry,
                quantity: number_text(&body.quantity),
                unit_cost: body.unit_cost,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(batch.into())))
}

/// Adjusts one batch: a count correction, damage or an expiry write-off.
///
/// Administrators and pharmacists. A reason is required; stock never goes below zero.
#[utoipa::path(
    post, path = "/api/v1/stock/adjustments", tag = "pharmacy",
    request_body = StockAdjustmentRequest,
    responses(
        (status = 200, description = "The batch afterwards", body = BatchRecord),
        (status = 403, description = "Not an administrator or pharmacist", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn adjust(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<StockAdjustmentRequest>, ApiError>,
) -> Result<Json<BatchRecord>, ApiError> {
    let ApiJson(body) = body?;
    let batch = state
        .services
        .adjust_stock(
            &actor,
            AdjustmentRequest {
                batch_id: body.batch_id,
                kind: body.kind,
                quantity: number_text(&body.quantity),
                reason: body.reason,
            },
        )
        .await?;
    Ok(Json(batch.into()))
}

/// Dispenses (part of) an active prescription.
///
/// Pharmacists only. Batches first expiry first out, expired batches never; stock, the
/// prescription's dispensed quantity and the audit event change in one transaction.
#[utoipa::path(
    post, path = "/api/v1/dispensations", tag = "pharmacy",
    request_body = DispensationRequest,
    responses(
        (status = 201, description = "What was dispensed", body = DispensationRecord),
        (status = 403, description = "Not a pharmacist", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such prescription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough stock, more than the prescription has left, or not active", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn dispense(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<DispensationRequest>, ApiError>,
) -> Result<(StatusCode, Json<DispensationRecord>), ApiError> {
    let ApiJson(body) = body?;
    let done = state
        .services
        .dispense(
            &actor,
            DispenseRequest {
                prescription_id: body.prescription_id,
                drug_id: body.drug_id,
                quantity: body.quantity.to_string(),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}
