//! The staff directory and staff profiles: records, requests and handlers.

use super::*;

/// A member of staff as the caller may see them. Patients see active doctors only, without
/// `work_phone` and `working_hours` (absent).
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffRecord {
    /// The user id.
    #[schema(value_type = String, format = Uuid)]
    id: String,
    #[schema(example = "drsmith")]
    username: String,
    #[schema(example = "Dr. Sarah Smith")]
    display_name: String,
    #[schema(value_type = String, example = "doctor")]
    role: Role,
    #[schema(value_type = Option<String>, format = Uuid)]
    department_id: Option<String>,
    /// The department's name.
    #[schema(example = "General Medicine")]
    department: Option<String>,
    #[schema(example = "General practice")]
    specialty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "+44 20 7946 0101")]
    work_phone: Option<String>,
    /// Per weekday, e.g. `mon-fri 08:00-12:00,13:00-17:00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "mon-fri 08:00-12:00,13:00-17:00")]
    working_hours: Option<String>,
    active: bool,
}

impl From<StaffMember> for StaffRecord {
    fn from(s: StaffMember) -> Self {
        Self {
            id: s.id.to_string(),
            username: s.username,
            display_name: s.display_name,
            role: s.role,
            department_id: s.department_id.map(|d| d.to_string()),
            department: s.department_name,
            specialty: s.specialty,
            work_phone: s.work_phone,
            working_hours: s.working_hours,
            active: s.active,
        }
    }
}

/// A staff member's profile (all of it: `PUT` replaces every field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffProfileRequest {
    /// `null` or absent: no department.
    #[serde(default, deserialize_with = "crate::extract::optional_id")]
    #[schema(format = Uuid, min_length = 1)]
    department_id: Option<String>,
    #[serde(default)]
    #[schema(example = "Cardiology")]
    specialty: Option<String>,
    #[serde(default)]
    #[schema(example = "+44 20 7946 0103")]
    work_phone: Option<String>,
    /// Per weekday, e.g. `mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00`. Absent:
    /// Monday to Friday, 08:00–17:00.
    #[serde(default)]
    #[schema(example = "mon-fri 08:00-12:00,13:00-17:00")]
    working_hours: Option<String>,
    /// Default `true`.
    #[serde(default = "yes")]
    active: bool,
}

impl From<StaffProfileRequest> for StaffProfileInput {
    fn from(s: StaffProfileRequest) -> Self {
        Self {
            department_id: s.department_id,
            specialty: s.specialty,
            work_phone: s.work_phone,
            working_hours: s.working_hours,
            active: s.active,
        }
    }
}

/// A whole number of minutes sent as a JSON number or as text (`30` or `"30"`); the
/// service judges the value. `null` is "not given".
pub(crate) fn minutes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    crate::extract::number_or_text(deserializer, "a whole number of minutes", false)
}

/// The staff directory.
///
/// Staff see everyone with a clinical or desk role; patients see active doctors (name,
/// specialty, department); auditors are refused.
#[utoipa::path(
    get, path = "/api/v1/staff", tag = "scheduling",
    responses(
        (status = 200, description = "The directory, by name", body = Vec<StaffRecord>),
        (status = 403, description = "Auditors", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn staff(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<Vec<StaffRecord>>, ApiError> {
    let list = state.services.staff_directory(&actor).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// One entry of the staff directory.
#[utoipa::path(
    get, path = "/api/v1/staff/{id}", tag = "scheduling",
    params(("id" = String, Path, format = Uuid, description = "The user id")),
    responses(
        (status = 200, description = "The staff member", body = StaffRecord),
        (status = 403, description = "Auditors", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in the directory (as the caller sees it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`id` is not an id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn staff_member(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<StaffRecord>, ApiError> {
    let id: UserId = path_id(&id).map_err(|e| validation(&e))?;
    Ok(Json(state.services.staff_member(&actor, id).await?.into()))
}

/// Saves a staff member's profile (every field).
///
/// Administrators.
#[utoipa::path(
    put, path = "/api/v1/staff/{id}", tag = "scheduling",
    params(("id" = String, Path, format = Uuid, description = "The user id")),
    request_body = StaffProfileRequest,
    responses(
        (status = 200, description = "The staff member", body = StaffRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_staff_member(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<StaffProfileRequest>, ApiError>,
) -> Result<Json<StaffRecord>, ApiError> {
    let id: UserId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let saved = state
        .services
        .update_staff_profile(&actor, id, body.into())
        .await?;
    Ok(Json(saved.into()))
}
