//! Stock: the overview, receiving stock and adjusting a batch.

use super::*;

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
    PageRequest { state, actor, csrf }: PageRequest,
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
        is_pharmacist: actor.may(Action::Dispense),
    })
}

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
pub(super) struct DrugChoice {
    pub(super) id: String,
    pub(super) label: String,
    pub(super) selected: bool,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
