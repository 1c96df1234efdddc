//! The formulary and its forms.

use super::*;

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
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
