//! One invoice: its page with the forms, and what they submit (adding and removing lines,
//! issuing, payments, voiding).

use super::*;

#[derive(Debug, Clone)]
pub(super) struct LineRow {
    id: String,
    pub(super) kind: &'static str,
    pub(super) description: String,
    pub(super) quantity: String,
    pub(super) unit_price: String,
    pub(super) discount: String,
    pub(super) tax_rate: String,
    pub(super) total: String,
}

#[derive(Debug, Clone)]
pub(super) struct PaymentRow {
    pub(super) date: String,
    pub(super) method: &'static str,
    pub(super) reference: String,
    pub(super) amount: String,
}

/// Everything an invoice page or print shows, formatted.
#[derive(Debug, Clone)]
pub(super) struct Shown {
    pub(super) id: String,
    pub(super) number: String,
    pub(super) patient: String,
    pub(super) mrn: String,
    pub(super) status: &'static str,
    status_code: &'static str,
    pub(super) created: String,
    pub(super) issued: String,
    pub(super) lines: Vec<LineRow>,
    pub(super) payments: Vec<PaymentRow>,
    pub(super) subtotal: String,
    pub(super) discount_total: String,
    pub(super) tax_total: String,
    pub(super) grand_total: String,
    pub(super) paid: String,
    pub(super) balance: String,
    pub(super) void_reason: Option<String>,
    pub(super) draft: bool,
    payable: bool,
    may_edit: bool,
    may_void: bool,
}

pub(super) fn shown(state: &AppState, v: &InvoiceView) -> Shown {
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
    let patient = actor.reaches_own_record_only();
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
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    invoice_view(&state, &actor, csrf, &id, Forms::default(), notice).await
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

pub(super) fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `POST /invoices/{id}/lines`.
pub async fn add_line(
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = invoice_id(&id)?;
    let result = state.services.issue_invoice(&actor, &id).await;
    after_change(&state, &actor, csrf, &id, result, ISSUED, Forms::default()).await
}

/// `POST /invoices/{id}/payments`.
pub async fn pay(
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
