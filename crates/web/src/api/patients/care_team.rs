//! The care team: records, requests and handlers.

use super::*;

/// A member of a patient's care team.
#[derive(Debug, Serialize, ToSchema)]
pub struct CareTeamMemberRecord {
    #[schema(value_type = String, format = Uuid)]
    user_id: UserId,
    username: String,
    display_name: String,
    #[schema(value_type = String, example = "doctor")]
    role: Role,
    /// How the member joined the team, e.g. `assigned`.
    source: String,
    /// RFC 3339, UTC.
    since: String,
}

impl From<CareTeamMember> for CareTeamMemberRecord {
    fn from(m: CareTeamMember) -> Self {
        Self {
            user_id: m.user_id,
            username: m.username,
            display_name: m.display_name,
            role: m.role,
            source: m.source,
            since: rfc3339_utc(m.since),
        }
    }
}

/// A patient's care team.
#[derive(Debug, Serialize, ToSchema)]
pub struct CareTeam {
    members: Vec<CareTeamMemberRecord>,
}

impl From<Vec<CareTeamMember>> for CareTeam {
    fn from(members: Vec<CareTeamMember>) -> Self {
        Self {
            members: members.into_iter().map(Into::into).collect(),
        }
    }
}

/// Whom to put on the care team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignCareTeamMemberRequest {
    /// An active doctor's or nurse's username.
    #[schema(example = "nurse")]
    username: String,
}

/// The patient's care team.
///
/// Anyone who may see the patient; recorded in the audit log.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/care-team", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The care team", body = CareTeam),
        (status = 403, description = "The caller may not see this patient", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn care_team(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<CareTeam>, ApiError> {
    let id = patient_id(&id).ok_or_else(|| not_found("patient"))?;
    let members = state.services.care_team(&actor, id).await?;
    Ok(Json(members.into()))
}

/// Puts a doctor or nurse on the patient's care team.
///
/// Administrators and receptionists. Answers the whole team.
#[utoipa::path(
    post, path = "/api/v1/patients/{id}/care-team", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    request_body = AssignCareTeamMemberRequest,
    responses(
        (status = 200, description = "The care team, with the new member", body = CareTeam),
        (status = 403, description = "Not an administrator or receptionist", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`username` is not an active doctor or nurse", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign_care_team_member(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<AssignCareTeamMemberRequest>, ApiError>,
) -> Result<Json<CareTeam>, ApiError> {
    let id = patient_id(&id).ok_or_else(|| not_found("patient"))?;
    let ApiJson(body) = body?;
    let members = state
        .services
        .assign_care_team_member(&actor, id, &body.username)
        .await?;
    Ok(Json(members.into()))
}

/// Takes an assigned member off the patient's care team.
///
/// Administrators and receptionists. Answers the remaining team.
#[utoipa::path(
    delete, path = "/api/v1/patients/{id}/care-team/{user_id}", tag = "patients",
    params(
        ("id" = String, Path, format = Uuid, description = "The patient's id"),
        ("user_id" = String, Path, format = Uuid, description = "The member's user id"),
    ),
    responses(
        (status = 200, description = "The care team, without the member", body = CareTeam),
        (status = 403, description = "Not an administrator or receptionist", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient, or no such assigned member", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_care_team_member(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<CareTeam>, ApiError> {
    let id = patient_id(&id).ok_or_else(|| not_found("patient"))?;
    let user_id: UserId = user_id.parse().map_err(|_| not_found("care team member"))?;
    let members = state
        .services
        .remove_care_team_member(&actor, id, user_id)
        .await?;
    Ok(Json(members.into()))
}
