//! Encounters: their records and requests, and the handlers for drafts, signing, amendments
//! and treatment notes.

use super::*;

/// A diagnosis as shown.
#[derive(Serialize, ToSchema)]
pub struct DiagnosisRecord {
    #[schema(format = Uuid)]
    id: String,
    /// `primary` or `secondary`.
    #[schema(example = "primary")]
    kind: String,
    /// The ICD-10 code; `null` for free text.
    #[schema(example = "E11.9")]
    code: Option<String>,
    /// The code's title, or the free text.
    #[schema(example = "Type 2 diabetes mellitus without complications")]
    text: String,
    /// Free text, not coded.
    free_text: bool,
    added_by: String,
    added_at: String,
    /// When an amendment retracted it (it stays listed); `null` while current.
    retracted_at: Option<String>,
}

impl From<DiagnosisView> for DiagnosisRecord {
    fn from(d: DiagnosisView) -> Self {
        Self {
            id: d.id,
            kind: d.kind.as_str().to_owned(),
            code: d.code,
            text: d.text,
            free_text: d.free_text,
            added_by: d.added_by,
            added_at: utc(d.added_at),
            retracted_at: d.retracted_at.map(utc),
        }
    }
}

/// One change an amendment made: the text before and after.
#[derive(Serialize, ToSchema)]
pub struct ChangeRecord {
    /// A text's name (`plan`) or `diagnoses`.
    field: String,
    before: String,
    after: String,
}

/// An amendment: who, when, why and what.
#[derive(Serialize, ToSchema)]
pub struct AmendmentRecord {
    #[schema(format = Uuid)]
    id: String,
    /// The amending doctor's display name.
    author: String,
    at: String,
    reason: String,
    changes: Vec<ChangeRecord>,
}

impl From<AmendmentView> for AmendmentRecord {
    fn from(a: AmendmentView) -> Self {
        Self {
            id: a.id,
            author: a.author,
            at: utc(a.at),
            reason: a.reason,
            changes: a
                .changes
                .into_iter()
                .map(|c| ChangeRecord {
                    field: c.field,
                    before: c.before,
                    after: c.after,
                })
                .collect(),
        }
    }
}

/// A treatment note.
#[derive(Serialize, ToSchema)]
pub struct NoteRecord {
    #[schema(format = Uuid)]
    id: String,
    author: String,
    at: String,
    text: String,
}

impl From<NoteView> for NoteRecord {
    fn from(n: NoteView) -> Self {
        Self {
            id: n.id,
            author: n.author,
            at: utc(n.at),
            text: n.text,
        }
    }
}

/// An encounter as the caller may see it. A text the caller may not see is absent; an
/// empty one is `null`.
#[derive(Serialize, ToSchema)]
pub struct EncounterRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    patient_id: String,
    /// The patient as the caller may see them.
    patient: String,
    #[schema(format = Uuid)]
    clinician_id: String,
    #[schema(example = "Dr. Sarah Smith")]
    clinician: String,
    #[schema(format = Uuid)]
    appointment_id: Option<String>,
    /// `consultation`, `follow_up`, …
    #[schema(example = "consultation")]
    kind: String,
    /// `draft` or `signed`.
    #[schema(example = "draft")]
    status: String,
    started_at: String,
    signed_at: Option<String>,
    /// The version (see `ETag`).
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    chief_complaint: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    history: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    examination: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    assessment: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    plan: Option<Option<String>>,
    diagnoses: Vec<DiagnosisRecord>,
    /// Every amendment, oldest first, with the texts before and after.
    amendments: Vec<AmendmentRecord>,
    /// Treatment notes (in a single encounter's view, for the care team).
    notes: Vec<NoteRecord>,
    /// Vitals recorded on this encounter (in a single encounter's view).
    vitals: Vec<VitalsRecord>,
    /// Addenda added after signing, oldest first (in a single encounter's view, for the
    /// care team). Separate from the amendments: an addendum changes nothing.
    addenda: Vec<crate::api::nursing::AddendumRecord>,
    /// What the caller may do now.
    may_edit: bool,
    may_sign: bool,
    may_amend: bool,
    may_add_note: bool,
    may_add_addendum: bool,
}

impl std::fmt::Debug for EncounterRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncounterRecord")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl From<EncounterView> for EncounterRecord {
    fn from(e: EncounterView) -> Self {
        let mut texts: HashMap<&str, Option<Option<String>>> = e.texts.into_iter().collect();
        let mut take = |field: &str| texts.remove(field).flatten();
        Self {
            chief_complaint: take("chief_complaint"),
            history: take("history"),
            examination: take("examination"),
            assessment: take("assessment"),
            plan: take("plan"),
            id: e.id,
            patient_id: e.patient_id.to_string(),
            patient: e.patient_label,
            clinician_id: e.clinician_id.to_string(),
            clinician: e.clinician_name,
            appointment_id: e.appointment_id,
            kind: e.kind.as_str().to_owned(),
            status: e.status.as_str().to_owned(),
            started_at: utc(e.started_at),
            signed_at: e.signed_at.map(utc),
            updated_at: utc(e.updated_at),
            diagnoses: e.diagnoses.into_iter().map(Into::into).collect(),
            amendments: e.amendments.into_iter().map(Into::into).collect(),
            notes: e.notes.into_iter().map(Into::into).collect(),
            vitals: e.vitals.into_iter().map(Into::into).collect(),
            addenda: e.addenda.into_iter().map(Into::into).collect(),
            may_add_addendum: e.may_add_addendum,
            may_edit: e.may_edit,
            may_sign: e.may_sign,
            may_amend: e.may_amend,
            may_add_note: e.may_add_note,
        }
    }
}

/// Encounters, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EncounterList {
    items: Vec<EncounterRecord>,
}

/// The amendments of one encounter, oldest first.
#[derive(Serialize, ToSchema)]
pub struct AmendmentList {
    items: Vec<AmendmentRecord>,
}

/// A diagnosis as submitted: an ICD-10 `code`, or `text` with `free_text: true`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisRequest {
    /// `primary` or `secondary`; absent: secondary.
    #[serde(default)]
    #[schema(example = "primary")]
    kind: String,
    #[schema(example = "E11.9")]
    code: Option<String>,
    /// The free text (with `free_text: true`).
    text: Option<String>,
    #[serde(default)]
    free_text: bool,
}

impl From<DiagnosisRequest> for DiagnosisInput {
    fn from(d: DiagnosisRequest) -> Self {
        Self {
            kind: d.kind,
            code: d.code,
            text: d.text,
            free_text: d.free_text,
        }
    }
}

/// The five texts of a request by name; an absent one is left out.
fn texts_map(
    chief_complaint: Option<String>,
    history: Option<String>,
    examination: Option<String>,
    assessment: Option<String>,
    plan: Option<String>,
) -> HashMap<String, String> {
    [
        ("chief_complaint", chief_complaint),
        ("history", history),
        ("examination", examination),
        ("assessment", assessment),
        ("plan", plan),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
    .collect()
}

macro_rules! texts_of {
    ($body:expr) => {
        texts_map(
            $body.chief_complaint,
            $body.history,
            $body.examination,
            $body.assessment,
            $body.plan,
        )
    };
}

/// A new encounter (a draft), by a doctor in the patient's care team.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEncounterRequest {
    #[serde(default)]
    #[schema(format = Uuid, required = true)]
    patient_id: String,
    #[schema(format = Uuid)]
    appointment_id: Option<String>,
    /// Absent: `consultation`.
    kind: Option<String>,
    #[schema(example = "Thirst for two weeks")]
    chief_complaint: Option<String>,
    history: Option<String>,
    examination: Option<String>,
    assessment: Option<String>,
    plan: Option<String>,
    #[serde(default)]
    diagnoses: Vec<DiagnosisRequest>,
}

/// Changes to a draft (its author only). Absent fields keep their value; `diagnoses`, when
/// given, replaces the list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEncounterRequest {
    kind: Option<String>,
    #[schema(example = "Thirst for two weeks")]
    chief_complaint: Option<String>,
    history: Option<String>,
    examination: Option<String>,
    assessment: Option<String>,
    plan: Option<String>,
    diagnoses: Option<Vec<DiagnosisRequest>>,
}

/// A correction of a signed encounter, with a reason.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentRequest {
    #[serde(default)]
    #[schema(example = "Lab result: HbA1c confirms type 2 diabetes")]
    reason: String,
    #[schema(example = "Thirst for two weeks")]
    chief_complaint: Option<String>,
    history: Option<String>,
    examination: Option<String>,
    assessment: Option<String>,
    plan: Option<String>,
    #[serde(default)]
    add_diagnoses: Vec<DiagnosisRequest>,
    /// Ids of diagnoses to retract (they stay listed, marked retracted).
    #[serde(default)]
    retract_diagnoses: Vec<String>,
}

/// A treatment note for an open encounter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    #[serde(default)]
    #[schema(example = "Dressing changed; wound clean.")]
    text: String,
}

/// A patient's encounters.
///
/// The care team (including emergency access and shares) and administrators read them in
/// full; a patient reads their own signed encounters as a summary. Everyone else: 403.
#[utoipa::path(
    get, path = "/api/v1/encounters", tag = "clinical",
    params(PatientParams),
    responses(
        (status = 200, description = "The encounters, newest first (without notes and vitals)", body = EncounterList),
        (status = 403, description = "Not allowed to read this patient's clinical record (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or malformed `patient_id`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_encounters(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<PatientParams>, ApiError>,
) -> Result<Json<EncounterList>, ApiError> {
    let ApiQuery(params) = params?;
    let patient = patient_param(params.patient_id.as_deref()).map_err(|e| validation(&e))?;
    let items = state.services.list_encounters(&actor, patient).await?;
    Ok(Json(EncounterList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Starts an encounter (a draft).
///
/// Doctors in the patient's care team.
#[utoipa::path(
    post, path = "/api/v1/encounters", tag = "clinical",
    request_body = CreateEncounterRequest,
    responses(
        (status = 201, description = "The draft; `ETag` is its version", body = EncounterRecord),
        (status = 403, description = "Not a doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input; `errors[].field` names each bad field (`diagnoses[0].code`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<CreateEncounterRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiJson(body) = body?;
    let view = state
        .services
        .create_encounter(
            &actor,
            EncounterInput {
                patient_id: body.patient_id,
                appointment_id: body.appointment_id,
                kind: body.kind,
                texts: texts_of!(body),
                diagnoses: body.diagnoses.into_iter().map(Into::into).collect(),
            },
        )
        .await?;
    Ok(with_etag(view, StatusCode::CREATED))
}

/// One encounter.
///
/// As the caller may see it: texts hidden from the caller are absent.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    responses(
        (status = 200, description = "The encounter; `ETag` is its version, for `If-Match` on PATCH", body = EncounterRecord),
        (status = 403, description = "Not allowed to read this patient's clinical record (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let view = state.services.get_encounter(&actor, &id).await?;
    Ok(with_etag(view, StatusCode::OK))
}

/// Changes a draft.
///
/// Its author only; a signed encounter is never edited (409, amend it instead). Absent
/// fields keep their value. Send `If-Match` with the `ETag` the change is based on to be
/// refused (412) rather than overwrite someone else's change.
#[utoipa::path(
    patch, path = "/api/v1/encounters/{id}", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    request_body = PatchEncounterRequest,
    responses(
        (status = 200, description = "The draft (with its new ETag)", body = EncounterRecord),
        (status = 403, description = "Not the draft's author (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The encounter is signed, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names an older version; nothing was written", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch_encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    if_match: IfMatch,
    body: Result<ApiJson<PatchEncounterRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let current = state.services.get_encounter(&actor, &id).await?;
    let seen = if_match.require_current(
        current.updated_at,
        "If-Match does not name the encounter's current version (its ETag).",
    )?;
    // Absent texts keep their current value.
    let mut texts: HashMap<String, String> = TEXT_FIELDS
        .iter()
        .filter_map(|f| current.text(f).map(|t| ((*f).to_owned(), t.to_owned())))
        .collect();
    texts.extend(texts_of!(body));
    let diagnoses = match body.diagnoses {
        Some(list) => list.into_iter().map(Into::into).collect(),
        None => current
            .diagnoses
            .iter()
            .filter(|d| d.retracted_at.is_none())
            .map(|d| DiagnosisInput {
                kind: d.kind.as_str().to_owned(),
                code: d.code.clone(),
                text: d.free_text.then(|| d.text.clone()),
                free_text: d.free_text,
            })
            .collect(),
    };
    let view = state
        .services
        .update_draft_encounter(
            &actor,
            &id,
            EncounterInput {
                patient_id: current.patient_id.to_string(),
                appointment_id: current.appointment_id.clone(),
                kind: body.kind,
                texts,
                diagnoses,
            },
            seen.or(Some(current.updated_at)),
        )
        .await?;
    Ok(with_etag(view, StatusCode::OK))
}

/// Signs a draft.
///
/// Its author only; from then on the encounter is only amended.
#[utoipa::path(
    post, path = "/api/v1/encounters/{id}/sign", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    responses(
        (status = 200, description = "The signed encounter", body = EncounterRecord),
        (status = 403, description = "Not the draft's author (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Signed already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let view = state.services.sign_encounter(&actor, &id).await?;
    Ok(with_etag(view, StatusCode::OK))
}

/// The amendments of an encounter.
///
/// Oldest first, each with its author, time, reason and the texts before and after.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}/amendments", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    responses(
        (status = 200, description = "The amendments", body = AmendmentList),
        (status = 403, description = "Not allowed to read this patient's clinical record (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn amendments(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<AmendmentList>, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let view = state.services.get_encounter(&actor, &id).await?;
    Ok(Json(AmendmentList {
        items: view.amendments.into_iter().map(Into::into).collect(),
    }))
}

/// Amends a signed encounter.
///
/// Doctors in the care team, with a reason; the original stays visible in the amendment.
#[utoipa::path(
    post, path = "/api/v1/encounters/{id}/amendments", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    request_body = AmendmentRequest,
    responses(
        (status = 201, description = "The amended encounter, its amendments included", body = EncounterRecord),
        (status = 403, description = "Not a doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A draft: edit it instead", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input (no reason, no change); `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn amend_encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<AmendmentRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .amend_encounter(
            &actor,
            &id,
            AmendmentInput {
                reason: body.reason,
                texts: texts_of!(body),
                add_diagnoses: body.add_diagnoses.into_iter().map(Into::into).collect(),
                retract_diagnoses: body.retract_diagnoses,
            },
        )
        .await?;
    Ok(with_etag(view, StatusCode::CREATED))
}

/// Adds a treatment note to an open encounter.
///
/// Nurses and doctors in the care team; a signed encounter takes no more notes (409).
#[utoipa::path(
    post, path = "/api/v1/encounters/{id}/notes", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    request_body = NoteRequest,
    responses(
        (status = 201, description = "The encounter with the note", body = EncounterRecord),
        (status = 403, description = "Not a nurse or doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The encounter is signed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty or too long text", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_note(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<NoteRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .add_treatment_note(&actor, &id, &body.text)
        .await?;
    Ok(with_etag(view, StatusCode::CREATED))
}
