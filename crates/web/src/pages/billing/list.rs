//! The invoice list and its CSV, the patient's own bills, and opening an invoice.

use super::*;

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
    pub(super) fn new(state: &AppState, s: &InvoiceSummary) -> Self {
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
    let staff = !actor.reaches_own_record_only();
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
        is_admin: actor.may(Action::AdministerBilling),
        patient_error: errors.message_for("patient_id").map(str::to_owned),
        csv_href: list_csv_href(staff, &params.status, &params.patient),
    })
}

/// `GET /billing?status=…&patient=…`: invoices, newest first (billing staff).
pub async fn list(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    staff_screen(&actor, "/my/bills")?;
    let params: ListParams = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::invalid(e.to_string()))?;
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
    PageRequest { state, actor, .. }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params: ListParams = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::invalid(e.to_string()))?;
    let staff = !actor.reaches_own_record_only();
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
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    if !actor.reaches_own_record_only() {
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
    PageRequest { state, actor, csrf }: PageRequest,
    Form(form): Form<OpenForm>,
) -> Result<Response, PageError> {
    let errors = match state.services.open_invoice(&actor, &form.patient_id).await {
        Ok((invoice, _)) => {
            return Ok(Redirect::to(&format!("/invoices/{}", invoice.summary.id)).into_response());
        }
        Err(ServiceError::Validation(errors)) => errors,
        Err(ServiceError::NotFound(_)) => {
            ValidationErrors::single("patient_id", "is not a registered patient")
        }
        Err(other) => return Err(other.into()),
    };
    let params = ListParams {
        patient: form.patient_id,
        ..ListParams::default()
    };
    let page = list_page(&state, &actor, csrf, params, errors, None).await?;
    Ok(with_status(page, StatusCode::UNPROCESSABLE_ENTITY))
}
