//! The price list and its form.

use super::*;

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
    let is_admin = actor.may(Action::AdministerBilling);
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
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
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
        notice,
    )
    .await
}

/// `POST /billing/prices` (administrators).
pub async fn add_price(
    PageRequest { state, actor, csrf }: PageRequest,
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
