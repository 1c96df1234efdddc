//! Assigning and removing care team members from the patient page.

use super::*;

#[derive(Deserialize, Default)]
pub struct CareTeamForm {
    #[serde(default)]
    username: String,
}

carevault_core::opaque_debug!(CareTeamForm);

/// `POST /patients/{id}/care-team`: puts a doctor or nurse on the care team.
pub async fn assign_care_team(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<CareTeamForm>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let errors = match state
        .services
        .assign_care_team_member(&actor, id, &form.username)
        .await
    {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/patients/{id}?notice=care-team-added#care-team"))
                    .into_response(),
            );
        }
        Err(ServiceError::Validation(errors)) => errors,
        Err(ServiceError::Conflict { field, message }) => {
            ValidationErrors::single(field.unwrap_or("username"), message)
        }
        Err(other) => return Err(other.into()),
    };
    crate::pages::chart::rerender_with(
        &state,
        &actor,
        csrf,
        id,
        crate::pages::chart::ChartForms {
            team_username: form.username,
            errors,
            emergency: None,
        },
    )
    .await
}

/// `POST /patients/{id}/care-team/{user_id}/remove`: takes an assigned member off the team.
pub async fn remove_care_team(
    PageRequest { state, actor, .. }: PageRequest,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let user_id: UserId = user_id.parse().map_err(|_| {
        PageError::Status(
            StatusCode::NOT_FOUND,
            Some("No such care team member.".into()),
        )
    })?;
    state
        .services
        .remove_care_team_member(&actor, id, user_id)
        .await?;
    Ok(Redirect::to(&format!(
        "/patients/{id}?notice=care-team-removed#care-team"
    ))
    .into_response())
}
