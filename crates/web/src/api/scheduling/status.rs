//! Status changes of an appointment.

use super::*;

/// A status change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeRequest {
    /// `scheduled` (accept a request in its requested slot), `checked_in`, `in_progress`,
    /// `completed`, `cancelled` (declines a request) or `no_show`.
    #[schema(example = "checked_in", schema_with = status_change_schema)]
    status: String,
    /// Required to cancel or decline (staff); optional otherwise.
    #[serde(default)]
    reason: Option<String>,
}

impl std::fmt::Debug for StatusChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusChangeRequest")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Moves an appointment along the status graph.
///
/// `requested` → `scheduled` (accept in the requested slot) or `cancelled` (decline);
/// `scheduled` → `checked_in` (on the day), `cancelled` or `no_show` (once started);
/// `checked_in` → `in_progress` or `cancelled`; `in_progress` → `completed`. Who may do
/// what: see `next_statuses` on the appointment. A patient may cancel their own future
/// appointment until the cut-off before it starts. A move the graph does not allow, or
/// not now, is 409 naming the current status.
#[utoipa::path(
    post, path = "/api/v1/appointments/{id}/status", tag = "scheduling",
    params(("id" = String, Path, format = Uuid, description = "The appointment's id")),
    request_body = StatusChangeRequest,
    responses(
        (status = 200, description = "The appointment in its new status (with its new ETag)", body = AppointmentRecord),
        (status = 403, description = "The caller may not make this change (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed from the current status, or not now (too close to cancel, not the day to check in)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status, or a missing reason; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_status(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<StatusChangeRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id: AppointmentId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .change_appointment_status(&actor, id, &body.status, body.reason.as_deref())
        .await?;
    Ok(with_etag(&state, view, StatusCode::OK))
}

fn status_change_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of([
        "scheduled",
        "checked_in",
        "in_progress",
        "completed",
        "cancelled",
        "no_show",
    ])
}
