//! The dispensing queue and dispensing.

use super::*;

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
pub(super) fn allergy_lines(list: Option<&AllergyList>) -> (&'static str, Vec<String>) {
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
    PageRequest { state, actor, csrf }: PageRequest,
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
    PageRequest { state, actor, csrf }: PageRequest,
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
