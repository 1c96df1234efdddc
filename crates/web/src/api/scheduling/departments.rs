//! Departments: their records, requests and handlers.

use super::*;

/// A department.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentRecord {
    #[schema(value_type = String, format = Uuid)]
    id: String,
    #[schema(example = "GEN")]
    code: String,
    #[schema(example = "General Medicine")]
    name: String,
    #[schema(example = "Building A, ground floor")]
    location: String,
    /// The default appointment length, in minutes.
    #[schema(example = 15)]
    slot_minutes: u32,
    active: bool,
}

impl From<Department> for DepartmentRecord {
    fn from(d: Department) -> Self {
        Self {
            id: d.id.to_string(),
            code: d.code,
            name: d.name,
            location: d.location,
            slot_minutes: d.slot_minutes,
            active: d.active,
        }
    }
}

/// A department (all of it: `PUT` replaces every field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentRequest {
    /// 1–16 letters, digits, hyphens or underscores; stored in capitals; unique.
    #[schema(example = "CARD")]
    code: String,
    /// 2–100 characters; unique.
    #[schema(example = "Cardiology")]
    name: String,
    #[serde(default)]
    #[schema(example = "Building B, first floor")]
    location: String,
    /// The default appointment length: 5–240 minutes, a multiple of 5 (default 30).
    #[serde(default)]
    #[schema(example = 30, minimum = 5, maximum = 240, multiple_of = 5)]
    slot_minutes: Option<i64>,
    /// Default `true`.
    #[serde(default = "yes")]
    active: bool,
}

pub(super) fn yes() -> bool {
    true
}

impl From<DepartmentRequest> for DepartmentInput {
    fn from(d: DepartmentRequest) -> Self {
        Self {
            code: d.code,
            name: d.name,
            location: d.location,
            slot_minutes: d.slot_minutes.map(|m| m.to_string()),
            active: d.active,
        }
    }
}

/// Lists departments.
///
/// Anyone signed in; administrators also see inactive ones.
#[utoipa::path(
    get, path = "/api/v1/departments", tag = "scheduling",
    responses(
        (status = 200, description = "The departments", body = Vec<DepartmentRecord>),
    )
)]
pub async fn departments(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<Vec<DepartmentRecord>>, ApiError> {
    let list = state.services.departments(&actor).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Creates a department.
///
/// Administrators.
#[utoipa::path(
    post, path = "/api/v1/departments", tag = "scheduling",
    request_body = DepartmentRequest,
    responses(
        (status = 201, description = "Created; `Location` is its URL", body = DepartmentRecord,
            headers(("location" = String, description = "/api/v1/departments/{id}"))),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code or name is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_department(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<DepartmentRequest>,
) -> Result<Response, ApiError> {
    let created = state
        .services
        .create_department(&actor, body.into())
        .await?;
    let location = format!("/api/v1/departments/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(DepartmentRecord::from(created)),
    )
        .into_response())
}

/// One department.
#[utoipa::path(
    get, path = "/api/v1/departments/{id}", tag = "scheduling",
    params(("id" = String, Path, format = Uuid, description = "The department's id")),
    responses(
        (status = 200, description = "The department", body = DepartmentRecord),
        (status = 404, description = "No such department (or an inactive one, for non-administrators)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`id` is not an id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn department(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<DepartmentRecord>, ApiError> {
    let id: DepartmentId = path_id(&id).map_err(|e| validation(&e))?;
    Ok(Json(state.services.department(&actor, id).await?.into()))
}

/// Changes a department (every field).
///
/// Administrators.
#[utoipa::path(
    put, path = "/api/v1/departments/{id}", tag = "scheduling",
    params(("id" = String, Path, format = Uuid, description = "The department's id")),
    request_body = DepartmentRequest,
    responses(
        (status = 200, description = "The changed department", body = DepartmentRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code or name is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_department(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<DepartmentRequest>, ApiError>,
) -> Result<Json<DepartmentRecord>, ApiError> {
    let id: DepartmentId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let changed = state
        .services
        .update_department(&actor, id, body.into())
        .await?;
    Ok(Json(changed.into()))
}
