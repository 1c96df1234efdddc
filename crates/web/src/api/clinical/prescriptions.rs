//! Prescriptions: records, requests, the warnings answer and handlers.

use super::*;

/// A warning found at prescribing time.
#[derive(Serialize, ToSchema)]
pub struct PrescriptionWarningRecord {
    /// `allergy` or `duplicate`.
    #[schema(example = "allergy")]
    kind: String,
    /// What matched. For an allergy, full sentences naming the recorded allergy (substance,
    /// reaction, severity), the drug and how they match; for a duplicate, the active
    /// prescription's drug.
    #[schema(
        example = "Recorded allergy: Penicillins — anaphylaxis (severe). Amoxicillin is a penicillin."
    )]
    detail: String,
}

impl From<PrescriptionWarning> for PrescriptionWarningRecord {
    fn from(w: PrescriptionWarning) -> Self {
        Self {
            kind: w.kind,
            detail: w.detail,
        }
    }
}

/// The 409 answered when warnings need an acknowledgement: a problem document with the
/// `warnings`.
#[derive(Serialize, ToSchema)]
pub struct PrescriptionWarningsProblem {
    #[serde(rename = "type")]
    #[schema(example = "urn:carevault:problem:prescription-warnings")]
    kind: String,
    title: String,
    status: u16,
    detail: Option<String>,
    warnings: Vec<PrescriptionWarningRecord>,
}

/// A prescription as the caller may see it.
#[derive(Serialize, ToSchema)]
pub struct PrescriptionRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    patient_id: String,
    patient: String,
    #[schema(format = Uuid)]
    encounter_id: String,
    #[schema(format = Uuid)]
    prescriber_id: String,
    prescriber: String,
    /// `active`, `completed` or `cancelled`.
    #[schema(example = "active")]
    status: String,
    /// The formulary drug prescribed, when it was chosen from the formulary.
    #[schema(format = Uuid)]
    drug_id: Option<String>,
    #[schema(example = "Amoxicillin")]
    drug_name: String,
    generic_name: Option<String>,
    #[schema(example = "500 mg")]
    dose: String,
    #[schema(example = "oral")]
    route: String,
    #[schema(example = "three times daily")]
    frequency: String,
    duration_days: u32,
    quantity: u32,
    quantity_dispensed: u32,
    instructions: Option<String>,
    /// The warnings overridden when it was written (the care team, administrators and the
    /// pharmacy only).
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledged_warnings: Option<Vec<PrescriptionWarningRecord>>,
    /// The prescriber's reason for going ahead (the same readers).
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledgement: Option<String>,
    status_reason: Option<String>,
    created_at: String,
    updated_at: String,
    /// Whether the caller may complete or cancel it.
    may_change: bool,
}

impl From<PrescriptionView> for PrescriptionRecord {
    fn from(p: PrescriptionView) -> Self {
        let acknowledged_warnings =
            (!p.warnings.is_empty()).then(|| p.warnings.into_iter().map(Into::into).collect());
        let acknowledgement = p.acknowledgement;
        Self {
            id: p.id,
            patient_id: p.patient_id.to_string(),
            patient: p.patient_label,
            encounter_id: p.encounter_id,
            prescriber_id: p.prescriber_id.to_string(),
            prescriber: p.prescriber_name,
            status: p.status.as_str().to_owned(),
            drug_id: p.drug_id,
            drug_name: p.drug_name,
            generic_name: p.generic_name,
            dose: p.dose,
            route: p.route,
            frequency: p.frequency,
            duration_days: p.duration_days,
            quantity: p.quantity,
            quantity_dispensed: p.quantity_dispensed,
            instructions: p.instructions,
            acknowledged_warnings,
            acknowledgement,
            status_reason: p.status_reason,
            created_at: utc(p.created_at),
            updated_at: utc(p.updated_at),
            may_change: p.may_change,
        }
    }
}

/// Prescriptions, newest first.
#[derive(Serialize, ToSchema)]
pub struct PrescriptionList {
    items: Vec<PrescriptionRecord>,
}

/// A new prescription from an encounter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrescriptionRequest {
    #[serde(default)]
    #[schema(format = Uuid)]
    encounter_id: String,
    /// A drug of the formulary. When given it must be active, and `drug_name` and
    /// `generic_name` are taken from it; leave it out for a drug the pharmacy does not
    /// stock (free text).
    #[serde(default)]
    #[schema(format = Uuid)]
    drug_id: Option<String>,
    /// Free text; ignored when `drug_id` is given.
    #[serde(default)]
    #[schema(example = "Amoxicillin")]
    drug_name: String,
    generic_name: Option<String>,
    #[serde(default)]
    #[schema(example = "500 mg")]
    dose: String,
    #[serde(default)]
    #[schema(example = "oral")]
    route: String,
    #[serde(default)]
    #[schema(example = "three times daily")]
    frequency: String,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 7)]
    duration_days: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 21)]
    quantity: Option<String>,
    instructions: Option<String>,
    /// Why to prescribe despite the warnings a previous attempt answered (10+ characters).
    acknowledgement: Option<String>,
}

/// Completes or cancels a prescription.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrescriptionStatusRequest {
    /// `completed` or `cancelled`.
    #[serde(default)]
    #[schema(example = "cancelled")]
    status: String,
    /// Required to cancel.
    reason: Option<String>,
}

/// A patient's prescriptions.
///
/// The care team, administrators, pharmacists and the patient themselves.
#[utoipa::path(
    get, path = "/api/v1/prescriptions", tag = "clinical",
    params(PatientParams),
    responses(
        (status = 200, description = "The prescriptions, newest first", body = PrescriptionList),
        (status = 403, description = "Not allowed to read this patient's prescriptions (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or malformed `patient_id`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_prescriptions(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<PatientParams>, ApiError>,
) -> Result<Json<PrescriptionList>, ApiError> {
    let ApiQuery(params) = params?;
    let patient = patient_param(params.patient_id.as_deref()).map_err(|e| validation(&e))?;
    let items = state.services.list_prescriptions(&actor, patient).await?;
    Ok(Json(PrescriptionList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// The 409 answered when warnings need an acknowledgement.
pub(crate) fn warnings_problem(warnings: Vec<PrescriptionWarning>) -> ApiError {
    let list: Vec<PrescriptionWarningRecord> = warnings.into_iter().map(Into::into).collect();
    Problem::new(
        StatusCode::CONFLICT,
        "prescription-warnings",
        "The prescription needs an acknowledgement",
    )
    .with_detail(
        "Nothing was written: send the same prescription again with an `acknowledgement` \
         saying why to go ahead despite the warnings.",
    )
    .with_extension(
        "warnings",
        serde_json::to_value(&list).unwrap_or(serde_json::Value::Null),
    )
    .into()
}

/// Prescribes from an encounter.
///
/// Doctors in the care team. A recorded allergy matching the drug or an active prescription
/// of the same drug answers 409 `prescription-warnings` (nothing written) until the request
/// is sent again with an `acknowledgement`, which is audited.
#[utoipa::path(
    post, path = "/api/v1/prescriptions", tag = "clinical",
    request_body = CreatePrescriptionRequest,
    responses(
        (status = 201, description = "Written", body = PrescriptionRecord),
        (status = 403, description = "Not a doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Warnings need an acknowledgement; nothing was written", body = PrescriptionWarningsProblem, content_type = "application/problem+json"),
    )
)]
pub async fn prescribe(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<CreatePrescriptionRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiJson(body) = body?;
    let outcome = state
        .services
        .prescribe(
            &actor,
            PrescriptionRequest {
                encounter_id: body.encounter_id,
                drug_id: body.drug_id,
                drug_name: body.drug_name,
                generic_name: body.generic_name,
                dose: body.dose,
                route: body.route,
                frequency: body.frequency,
                duration_days: body.duration_days.unwrap_or_default(),
                quantity: body.quantity.unwrap_or_default(),
                instructions: body.instructions,
                acknowledgement: body.acknowledgement,
            },
        )
        .await?;
    match outcome {
        Prescribed::Written(view) => {
            let location = format!("/api/v1/prescriptions/{}", view.id);
            let mut response =
                (StatusCode::CREATED, Json(PrescriptionRecord::from(*view))).into_response();
            if let Ok(value) = header::HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Ok(response)
        }
        Prescribed::NeedsAcknowledgement(warnings) => Err(warnings_problem(warnings)),
    }
}

/// One prescription.
#[utoipa::path(
    get, path = "/api/v1/prescriptions/{id}", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The prescription's id")),
    responses(
        (status = 200, description = "The prescription", body = PrescriptionRecord),
        (status = 403, description = "Not allowed to read this patient's prescriptions (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such prescription", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn prescription(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<PrescriptionRecord>, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let view = state.services.get_prescription(&actor, &id).await?;
    Ok(Json(view.into()))
}

/// Completes or cancels an active prescription.
///
/// Doctors in the care team; cancelling needs a reason.
#[utoipa::path(
    post, path = "/api/v1/prescriptions/{id}/status", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The prescription's id")),
    request_body = PrescriptionStatusRequest,
    responses(
        (status = 200, description = "The prescription in its new status", body = PrescriptionRecord),
        (status = 403, description = "Not a doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such prescription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active any more", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown status or a missing reason; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_prescription_status(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<PrescriptionStatusRequest>, ApiError>,
) -> Result<Json<PrescriptionRecord>, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .change_prescription_status(&actor, &id, &body.status, body.reason.as_deref())
        .await?;
    Ok(Json(view.into()))
}
