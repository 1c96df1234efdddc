//! Reading appointments: the record, the list parameters, and the list and read handlers.

use super::*;

/// An appointment as the caller may see it. `reason` is absent where the caller's view of
/// the patient hides it; `notes`, `preferred_times` and `status_reason` likewise, and are
/// `null` when shown but empty. Times are RFC 3339 in the clinic's time zone.
#[derive(Clone, Serialize, ToSchema)]
pub struct AppointmentRecord {
    #[schema(value_type = String, format = Uuid)]
    id: String,
    #[schema(value_type = String, format = Uuid)]
    patient_id: String,
    /// The patient's name, or their pseudonym (`ANON_…`) where the caller may not see it.
    patient: String,
    /// `null` for a request that names no clinician yet.
    #[schema(value_type = Option<String>, format = Uuid)]
    clinician_id: Option<String>,
    /// The clinician's display name.
    clinician: Option<String>,
    #[schema(value_type = String, format = Uuid)]
    department_id: String,
    /// The department's name.
    department: String,
    #[schema(example = "2026-03-02T10:00:00+00:00")]
    start: String,
    #[schema(example = "2026-03-02T10:15:00+00:00")]
    end: String,
    /// `consultation`, `follow_up` or `procedure`.
    #[serde(rename = "type")]
    #[schema(example = "consultation")]
    kind: String,
    /// `requested`, `scheduled`, `checked_in`, `in_progress`, `completed`, `cancelled` or
    /// `no_show`.
    #[schema(example = "scheduled")]
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    notes: Option<Option<String>>,
    /// Other times that would suit, in the patient's words (requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    preferred_times: Option<Option<String>>,
    /// Why it was cancelled or declined.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    status_reason: Option<Option<String>>,
    /// The statuses the caller may move it to now.
    next_statuses: Vec<String>,
    /// Whether the caller may move it to another slot (`PATCH`).
    may_reschedule: bool,
    /// RFC 3339, clinic time.
    created_at: String,
    /// RFC 3339, clinic time; the version (see `ETag`).
    updated_at: String,
    /// The nurse's latest triage of the visit (acuity, note, flagged vitals), for those
    /// with the full view of the patient; absent otherwise or when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    triage: Option<crate::api::nursing::TriageRecord>,
}

impl std::fmt::Debug for AppointmentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppointmentRecord")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl AppointmentRecord {
    pub(super) fn new<Z: TimeZone>(a: AppointmentView, zone: &Z) -> Self
    where
        Z::Offset: std::fmt::Display,
    {
        // `patient_view` is for the pages' own use: not sent.
        let AppointmentView {
            id,
            patient_id,
            patient_label,
            patient_view: _,
            clinician_id,
            clinician_name,
            department_id,
            department_name,
            start,
            end,
            kind,
            status,
            reason,
            notes,
            preferred_times,
            status_reason,
            next_statuses,
            may_reschedule,
            created_at,
            updated_at,
            triage,
        } = a;
        Self {
            id: id.to_string(),
            patient_id: patient_id.to_string(),
            patient: patient_label,
            clinician_id: clinician_id.map(|c| c.to_string()),
            clinician: clinician_name,
            department_id: department_id.to_string(),
            department: department_name,
            start: local_time(start, zone),
            end: local_time(end, zone),
            kind: kind.as_str().to_owned(),
            status: status.as_str().to_owned(),
            reason,
            notes,
            preferred_times,
            status_reason,
            next_statuses: next_statuses
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            may_reschedule,
            created_at: local_time(created_at, zone),
            updated_at: local_time(updated_at, zone),
            triage: triage.map(Into::into),
        }
    }
}

/// A list of appointments, earliest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentList {
    items: Vec<AppointmentRecord>,
}

/// Which appointments to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppointmentListParams {
    /// A clinician's user id.
    #[param(format = Uuid, min_length = 1)]
    clinician: Option<String>,
    /// A patient's id (patients: only their own).
    #[param(format = Uuid, min_length = 1)]
    patient: Option<String>,
    /// A department's id.
    #[param(format = Uuid, min_length = 1)]
    department: Option<String>,
    /// One day, `YYYY-MM-DD` (clinic time); not with `from` or `to`.
    #[param(format = Date)]
    date: Option<String>,
    /// The first day, `YYYY-MM-DD`, inclusive.
    #[param(format = Date)]
    from: Option<String>,
    /// The last day, `YYYY-MM-DD`, inclusive.
    #[param(format = Date)]
    to: Option<String>,
    /// Statuses, comma-separated: `scheduled,checked_in`.
    #[param(schema_with = crate::api::schemas::appointment_statuses)]
    status: Option<String>,
}

pub(super) fn optional_id<T: std::str::FromStr>(
    errors: &mut ValidationErrors,
    field: &str,
    raw: Option<&str>,
) -> Option<T> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match raw.parse() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(field, "is not a valid id");
            None
        }
    }
}

pub(super) fn optional_date(
    errors: &mut ValidationErrors,
    field: &str,
    raw: Option<&str>,
) -> Option<NaiveDate> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.push(field, "must be a date like 2026-03-02");
            None
        }
    }
}

impl AppointmentListParams {
    /// Checks every value; all problems are reported together.
    pub(super) fn into_query(self) -> Result<AppointmentQuery, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (name, value) in [
            ("clinician", &self.clinician),
            ("patient", &self.patient),
            ("department", &self.department),
            ("date", &self.date),
            ("from", &self.from),
            ("to", &self.to),
            ("status", &self.status),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                errors.push(name, crate::extract::EMPTY_PARAMETER);
            }
        }
        let clinician = optional_id(&mut errors, "clinician", self.clinician.as_deref());
        let patient = optional_id(&mut errors, "patient", self.patient.as_deref());
        let department = optional_id(&mut errors, "department", self.department.as_deref());
        let date = optional_date(&mut errors, "date", self.date.as_deref());
        let mut from = optional_date(&mut errors, "from", self.from.as_deref());
        let mut to = optional_date(&mut errors, "to", self.to.as_deref());
        if date.is_some() && (from.is_some() || to.is_some()) {
            errors.push("date", "give either a date or from/to, not both");
        } else if date.is_some() {
            (from, to) = (date, date);
        } else if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.push("to", "must not be before from");
        }
        let mut statuses = Vec::new();
        for part in self
            .status
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if let Some(status) = errors.check("status", AppointmentStatus::parse(part)) {
                statuses.push(status);
            }
        }
        errors.into_result()?;
        Ok(AppointmentQuery {
            clinician,
            patient,
            department,
            statuses,
            from,
            to,
        })
    }
}

/// Lists appointments.
///
/// Staff who see appointments (not pharmacists or auditors); a patient only their own.
/// Each is shown as the caller may see it (patients as names or pseudonyms) and recorded in
/// the audit log.
#[utoipa::path(
    get, path = "/api/v1/appointments", tag = "scheduling",
    params(AppointmentListParams),
    responses(
        (status = 200, description = "The appointments, earliest first", body = AppointmentList),
        (status = 403, description = "The role sees no appointments, or a patient asked for another patient's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn appointments(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<AppointmentListParams>, ApiError>,
) -> Result<Json<AppointmentList>, ApiError> {
    let ApiQuery(params) = params?;
    let query = params.into_query().map_err(|e| validation(&e))?;
    let list = state.services.list_appointments(&actor, query).await?;
    Ok(Json(AppointmentList {
        items: list.into_iter().map(|a| record(&state, a)).collect(),
    }))
}

/// One appointment.
///
/// Shown as the caller may see it; recorded in the audit log. A patient may read only their
/// own (any other id is 403, whether or not it exists).
#[utoipa::path(
    get, path = "/api/v1/appointments/{id}", tag = "scheduling",
    params(("id" = String, Path, format = Uuid, description = "The appointment's id")),
    responses(
        (status = 200, description = "The appointment; the `ETag` header is its version, for `If-Match` on PATCH", body = AppointmentRecord),
        (status = 403, description = "The caller may not see it (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`id` is not an id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn appointment(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: AppointmentId = path_id(&id).map_err(|e| validation(&e))?;
    let view = state.services.get_appointment(&actor, id).await?;
    Ok(with_etag(&state, view, StatusCode::OK))
}

/// The caller's own appointments and requests.
///
/// Patients; recorded in the audit log.
#[utoipa::path(
    get, path = "/api/v1/me/appointments", tag = "scheduling",
    responses(
        (status = 200, description = "The caller's appointments, earliest first", body = AppointmentList),
        (status = 403, description = "Not a patient account", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_appointments(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<AppointmentList>, ApiError> {
    let list = state.services.my_appointments(&actor).await?;
    Ok(Json(AppointmentList {
        items: list.into_iter().map(|a| record(&state, a)).collect(),
    }))
}
