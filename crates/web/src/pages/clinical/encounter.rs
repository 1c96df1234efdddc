//! The encounter page: what was recorded, once, with the amendment, note, vitals and
//! prescription forms.

use super::*;

/// Which of the page's forms the messages belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Which {
    #[default]
    None,
    Amend,
    Note,
    Vitals,
    Prescription,
}

#[derive(Template)]
#[template(path = "encounter.html")]
struct EncounterPage {
    layout: Layout,
    e: EncounterRow,
    may_amend: bool,
    may_add_note: bool,
    may_prescribe: bool,
    /// Offer "Add to problem list" beside each current diagnosis.
    may_add_problem: bool,
    patient_href: Option<String>,
    /// The amendment form (folded unless it is being corrected).
    amend_reason: String,
    amend_texts: Vec<TextInput>,
    amend_diagnoses: Vec<DiagnosisFormRow>,
    /// The note form.
    note_text: String,
    vitals: Vec<VitalInput>,
    /// The prescription form (folded unless it is being corrected).
    rx: RxFields,
    rx_warnings: Vec<PrescriptionWarning>,
    formulary: Vec<(String, String)>,
    prescriptions: Vec<PrescriptionRow>,
    lookup: Icd10Lookup,
    errors: ValidationErrors,
    which: Which,
    /// A message for the whole form named by `which`.
    form_error: Option<String>,
    /// The page holds typed values that are not saved (the script asks before leaving).
    unsaved: bool,
    /// The addenda of a signed encounter and the form to add one.
    addenda: crate::pages::nursing::AddendaPanel,
}

impl EncounterPage {
    fn is(&self, which: &str) -> bool {
        matches!(
            (self.which, which),
            (Which::Amend, "amend")
                | (Which::Note, "note")
                | (Which::Vitals, "vitals")
                | (Which::Prescription, "rx")
        )
    }

    pub(super) fn error(&self, which: &str, field: &str) -> Option<&str> {
        if self.is(which) {
            self.errors.message_for(field)
        } else {
            None
        }
    }

    /// The drug the warnings are about.
    fn warned_drug(&self) -> &str {
        &self.rx.values.drug_name
    }

    fn warning_label(&self, kind: &str) -> &'static str {
        warning_label(kind)
    }
}

async fn build_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    view: EncounterView,
    notice_code: Option<&str>,
) -> Result<EncounterPage, PageError> {
    let role = actor.role();
    let prescriptions = encounter_prescriptions(state, actor, &view).await?;
    let current: HashMap<String, String> = TEXT_FIELDS
        .iter()
        .filter_map(|f| view.text(f).map(|t| ((*f).to_owned(), t.to_owned())))
        .collect();
    let mut amend_diagnoses = Vec::new();
    blank_rows(&mut amend_diagnoses);
    let title = format!("Encounter: {}", view.patient_label);
    let layout = crate::pages::banner::with_banner(
        state,
        actor,
        Layout::new(state, actor, &title, "/patients", csrf)
            .with_notice(clinical_notice(notice_code)),
        view.patient_id,
    )
    .await?;
    let is_staff = role.is_some_and(Role::is_staff);
    let may_prescribe = actor.may(Action::Prescribe) && view.may_amend;
    let formulary = if may_prescribe {
        formulary(state, actor).await?
    } else {
        Vec::new()
    };
    Ok(EncounterPage {
        layout,
        may_amend: view.may_amend,
        may_add_note: view.may_add_note,
        may_prescribe,
        may_add_problem: view.may_amend,
        patient_href: is_staff.then(|| format!("/patients/{}", view.patient_id)),
        amend_reason: String::new(),
        amend_texts: text_inputs(&current, &ValidationErrors::new()),
        amend_diagnoses,
        note_text: String::new(),
        vitals: vital_inputs(&Vec::new(), &ValidationErrors::new(), ""),
        rx: RxFields::default(),
        rx_warnings: Vec::new(),
        formulary,
        prescriptions,
        lookup: Icd10Lookup::default(),
        errors: ValidationErrors::new(),
        which: Which::None,
        form_error: None,
        unsaved: false,
        addenda: crate::pages::nursing::AddendaPanel::new(
            state,
            &view.id,
            &view.addenda,
            view.may_add_addendum,
        ),
        e: EncounterRow::from_view(&view),
    })
}

/// The prescriptions written from an encounter, for those who read them with it.
pub(crate) async fn encounter_prescriptions(
    state: &AppState,
    actor: &Actor,
    view: &EncounterView,
) -> Result<Vec<PrescriptionRow>, PageError> {
    if !actor.may(Action::SeeClinical) {
        return Ok(Vec::new());
    }
    Ok(state
        .services
        .list_prescriptions(actor, view.patient_id)
        .await?
        .iter()
        .filter(|p| p.encounter_id == view.id)
        .map(Into::into)
        .collect())
}

/// The notices of these pages (a fixed set: nothing from the URL is echoed).
pub(crate) fn clinical_notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "encounter-saved" => Some("The encounter has been saved as a draft."),
        "encounter-saved-rx" => {
            Some("The encounter has been saved as a draft and the prescription written.")
        }
        "encounter-signed" => {
            Some("The encounter has been signed. Corrections are now amendments.")
        }
        "encounter-signed-completed" => Some(
            "The encounter has been signed and the appointment completed. Corrections are now amendments.",
        ),
        "encounter-amended" => Some("The amendment has been recorded; the original stays visible."),
        "note-added" => Some("The treatment note has been added."),
        "vitals-recorded" => Some("The vitals have been recorded."),
        "prescription-written" => Some("The prescription has been written."),
        // Notices shared with other pages (added to the problem list, an addendum, …).
        other => crate::pages::notice(Some(other)),
    }
}

pub(crate) fn encounter_id(raw: &str) -> Result<String, PageError> {
    raw.trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| not_found("encounter"))
}

#[derive(Debug, Default, Deserialize)]
struct EncounterQuery {
    notice: Option<String>,
}

/// `GET /encounters/{id}`: the one form for its author's draft; what was recorded for
/// everyone else and once signed.
pub async fn encounter_page(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let query: EncounterQuery =
        query_params(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let view = state.services.get_encounter(&actor, &id).await?;
    if view.may_edit {
        return encounter_form::draft_page(&state, &actor, csrf, view, query.notice.as_deref())
            .await;
    }
    let page = build_page(&state, &actor, csrf, view, query.notice.as_deref()).await?;
    render(&page)
}

pub(crate) fn redirect(id: &str, notice: &str) -> Response {
    Redirect::to(&format!("/encounters/{id}?notice={notice}")).into_response()
}

/// Renders the page again after a refused form: 422 with the messages, 409 for a conflict.
/// `fill` puts the form's values back, with the messages by field.
async fn again(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: &str,
    which: Which,
    err: ServiceError,
    fill: impl FnOnce(&mut EncounterPage, &ValidationErrors),
) -> Result<Response, PageError> {
    let (status, errors, form_error) = match err {
        ServiceError::Validation(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
        ServiceError::Conflict { message, .. } => {
            (StatusCode::CONFLICT, ValidationErrors::new(), Some(message))
        }
        other => return Err(other.into()),
    };
    let view = state.services.get_encounter(actor, id).await?;
    let mut page = build_page(state, actor, csrf, view, None).await?;
    page.which = which;
    page.form_error = form_error;
    page.unsaved = true;
    fill(&mut page, &errors);
    page.errors = errors;
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `POST /encounters/{id}/amend`: a correction of a signed encounter, with a reason. Its
/// "Look up" and "Use …" buttons search the ICD-10 list and fill a row, saving nothing.
pub async fn amend(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let current = state.services.get_encounter(&actor, &id).await?;
    let texts = texts_from(&pairs, Some(&current));
    let (mut rows, submitted) = diagnosis_rows(&pairs, "add");
    let retract: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "retract")
        .map(|(_, v)| v.clone())
        .collect();
    let reason = value(&pairs, "reason").to_owned();
    let mut all = texts_from(&pairs, None);
    all.retain(|_, v| !v.is_empty());
    let action = form_action(&pairs);
    if matches!(action, FormAction::Lookup | FormAction::Use(_)) {
        if let FormAction::Use(code) = &action {
            use_code(&mut rows, code);
        }
        if rows.iter().all(|r| !r.is_empty()) {
            blank_rows(&mut rows);
        }
        let mut page = build_page(&state, &actor, csrf, current, None).await?;
        page.which = Which::Amend;
        page.unsaved = true;
        page.amend_reason = reason;
        page.amend_texts = text_inputs(&all, &ValidationErrors::new());
        page.amend_diagnoses = rows;
        page.lookup = Icd10Lookup::search(value(&pairs, "icd10"));
        return render(&page);
    }
    let result = state
        .services
        .amend_encounter(
            &actor,
            &id,
            AmendmentInput {
                reason: reason.clone(),
                texts: texts.clone(),
                add_diagnoses: submitted.iter().map(|(_, d)| d.clone()).collect(),
                retract_diagnoses: retract,
            },
        )
        .await;
    match result {
        Ok(_) => Ok(redirect(&id, "encounter-amended")),
        Err(err) => {
            again(
                &state,
                &actor,
                csrf,
                &id,
                Which::Amend,
                err,
                |page, errors| {
                    attach_diagnosis_errors(&mut rows, &submitted, "add_diagnoses", errors);
                    blank_rows(&mut rows);
                    page.amend_reason = reason;
                    page.amend_texts = text_inputs(&all, errors);
                    page.amend_diagnoses = rows;
                },
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct NoteForm {
    #[serde(default)]
    text: String,
}

carevault_core::opaque_debug!(NoteForm);

/// `POST /encounters/{id}/notes`: a treatment note (nurses and doctors in the care team).
pub async fn add_note(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    match state
        .services
        .add_treatment_note(&actor, &id, &form.text)
        .await
    {
        Ok(_) => Ok(redirect(&id, "note-added")),
        Err(err) => {
            again(&state, &actor, csrf, &id, Which::Note, err, |page, _| {
                page.note_text = form.text;
            })
            .await
        }
    }
}

/// `POST /encounters/{id}/vitals`: vitals on this open encounter (the care team's nurses;
/// the author records them with the draft's form).
pub async fn vitals(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let current = state.services.get_encounter(&actor, &id).await?;
    let raw = vitals_submission(&pairs);
    match state
        .services
        .record_vitals(&actor, current.patient_id, Some(&id), &raw.input())
        .await
    {
        Ok(_) => Ok(redirect(&id, "vitals-recorded")),
        Err(err) => {
            again(
                &state,
                &actor,
                csrf,
                &id,
                Which::Vitals,
                err,
                |page, errors| {
                    page.vitals = vital_inputs(&pairs, errors, "");
                },
            )
            .await
        }
    }
}

/// `POST /encounters/{id}/prescriptions`: prescribes from a signed encounter; warnings
/// come back as a 409 page with the warning box, and the acknowledgement field in it, at the
/// top.
pub async fn prescribe(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<PrescriptionForm>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let result = state.services.prescribe(&actor, form.request(&id)).await;
    match result {
        Ok(Prescribed::Written(_)) => Ok(redirect(&id, "prescription-written")),
        Ok(Prescribed::NeedsAcknowledgement(warnings)) => {
            let view = state.services.get_encounter(&actor, &id).await?;
            let mut page = build_page(&state, &actor, csrf, view, None).await?;
            page.which = Which::Prescription;
            page.unsaved = true;
            page.rx = RxFields::with_errors(form, &ValidationErrors::new(), "");
            page.rx_warnings = warnings;
            let mut response = render(&page)?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(err) => {
            again(
                &state,
                &actor,
                csrf,
                &id,
                Which::Prescription,
                err,
                |page, errors| {
                    page.rx = RxFields::with_errors(form, errors, "");
                },
            )
            .await
        }
    }
}
