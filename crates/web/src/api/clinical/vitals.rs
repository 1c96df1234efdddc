//! Vitals: records, requests and handlers.

use super::*;

/// A set of vitals.
#[derive(Clone, Serialize, ToSchema)]
pub struct VitalsRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    encounter_id: Option<String>,
    /// The visit whose triage measured them.
    #[schema(format = Uuid)]
    appointment_id: Option<String>,
    recorded_by: String,
    recorded_at: String,
    /// The measured values by field (`pulse_bpm`: `"72"`), as formatted by the range checks.
    #[schema(value_type = Object, example = json!({"temperature_c": "37.2", "pulse_bpm": "72"}))]
    values: BTreeMap<String, String>,
    /// Each value against its adult reference range (`high`, `low` or `normal`), by field;
    /// weight and height have no range and are absent.
    #[schema(value_type = Object, example = json!({"temperature_c": "high", "pulse_bpm": "normal"}))]
    flags: BTreeMap<String, String>,
    /// The adult reference range of each flagged field, in words.
    #[schema(value_type = Object, example = json!({"temperature_c": "36.1–37.9 °C"}))]
    reference_ranges: BTreeMap<String, String>,
    /// The body-mass index, when weight and height were measured.
    #[schema(example = "24.2")]
    bmi: Option<String>,
    /// Its category.
    #[schema(example = "normal")]
    bmi_category: Option<String>,
}

impl From<VitalsView> for VitalsRecord {
    fn from(v: VitalsView) -> Self {
        let (bmi, bmi_category) = v.bmi.map_or((None, None), |b| {
            (Some(b.value), Some(b.category.as_str().to_owned()))
        });
        let ranged = || v.measurements.iter().filter(|m| m.reference.is_some());
        Self {
            flags: ranged()
                .map(|m| (m.field.to_owned(), m.flag.as_str().to_owned()))
                .collect(),
            reference_ranges: ranged()
                .filter_map(|m| m.reference.clone().map(|r| (m.field.to_owned(), r)))
                .collect(),
            values: v
                .measurements
                .iter()
                .map(|m| (m.field.to_owned(), m.value.clone()))
                .collect(),
            id: v.id,
            encounter_id: v.encounter_id,
            appointment_id: v.appointment_id,
            recorded_by: v.recorded_by,
            recorded_at: utc(v.at),
            bmi,
            bmi_category,
        }
    }
}

/// Vitals for a patient, optionally on an open encounter. Values are numbers (or text).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VitalsRequest {
    #[serde(default)]
    #[schema(format = Uuid, required = true)]
    patient_id: String,
    #[schema(format = Uuid)]
    encounter_id: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<f64>, example = 37.2)]
    temperature_c: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 72)]
    pulse_bpm: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 120)]
    systolic_mmhg: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 80)]
    diastolic_mmhg: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 16)]
    respiratory_rate: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 98)]
    spo2_percent: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<f64>, example = 70.5)]
    weight_kg: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<f64>, example = 172)]
    height_cm: Option<String>,
}

/// Vitals, newest first.
#[derive(Serialize, ToSchema)]
pub struct VitalsList {
    items: Vec<VitalsRecord>,
}

/// A patient's vitals.
///
/// Those who may read the patient's clinical record.
#[utoipa::path(
    get, path = "/api/v1/vitals", tag = "clinical",
    params(PatientParams),
    responses(
        (status = 200, description = "The vitals, newest first", body = VitalsList),
        (status = 403, description = "Not allowed to read this patient's clinical record (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or malformed `patient_id`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_vitals(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<PatientParams>, ApiError>,
) -> Result<Json<VitalsList>, ApiError> {
    let ApiQuery(params) = params?;
    let patient = patient_param(params.patient_id.as_deref()).map_err(|e| validation(&e))?;
    let items = state.services.list_vitals(&actor, patient).await?;
    Ok(Json(VitalsList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Records vitals.
///
/// Nurses and doctors in the care team; each value is checked against its plausible range.
#[utoipa::path(
    post, path = "/api/v1/vitals", tag = "clinical",
    request_body = VitalsRequest,
    responses(
        (status = 201, description = "The recorded vitals", body = VitalsRecord),
        (status = 403, description = "Not a nurse or doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value out of range, none given, or a bad id; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn record_vitals(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<VitalsRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiJson(body) = body?;
    let patient = patient_param(Some(&body.patient_id)).map_err(|e| validation(&e))?;
    let input = vitals_input!(body);
    let view = state
        .services
        .record_vitals(&actor, patient, body.encounter_id.as_deref(), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(VitalsRecord::from(view))).into_response())
}
