//! The care team: reading it, assigning and removing members.

use super::*;

/// A care-team member as listed on the patient's page.
#[derive(Debug, Clone)]
pub struct CareTeamMember {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub source: String,
    pub since: DateTime<Utc>,
}
impl Services {
    /// The patient's care team. Anyone who may see the patient; audited as a read.
    pub async fn care_team(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<Vec<CareTeamMember>, ServiceError> {
        let (row, _, view) = self.load_for(actor, id).await?;
        if !sees_care_team(view) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(id.to_string()),
                    "the care team is not part of this view",
                )
                .await);
        }
        let members = self.care_team_members(id).await?;
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("care team".into());
        self.record(event).await?;
        Ok(members)
    }

    pub(crate) async fn care_team_members(
        &self,
        id: PatientId,
    ) -> Result<Vec<CareTeamMember>, ServiceError> {
        let mut out = Vec::new();
        for membership in care_team::members(self.store().conn(), id).await? {
            if let Some(user) = users::find_by_id(self.store().conn(), membership.user_id).await? {
                out.push(CareTeamMember {
                    user_id: user.id,
                    username: user.username.to_string(),
                    display_name: user.display_name.to_string(),
                    role: user.role,
                    source: membership.source,
                    since: membership.created_at,
                });
            }
        }
        Ok(out)
    }

    /// Puts a doctor or nurse on the patient's care team. Administrators and receptionists.
    pub async fn assign_care_team_member(
        &self,
        actor: &Actor,
        id: PatientId,
        username: &str,
    ) -> Result<Vec<CareTeamMember>, ServiceError> {
        self.require_registration_rights(actor, Some(id)).await?;
        let (row, _, _) = self.load_for(actor, id).await?;
        let user =
            users::find_by_username(self.store().conn(), username.trim().to_lowercase().as_str())
                .await?
                .filter(|user| {
                    grant(user.role, Action::SeeClinical) == Grant::Scoped(Scope::CareTeam)
                        && user.status == carevault_core::UserStatus::Active
                })
                .ok_or_else(|| {
                    ValidationErrors::single(
                        "username",
                        "must be an active doctor's or nurse's username",
                    )
                })?;
        self.transaction(async |txn| {
            care_team::add(
                txn,
                id,
                user.id,
                care_team::SOURCE_ASSIGNED,
                actor.user_id(),
                self.now(),
            )
            .await?;
            let mut event = self
                .audit_event(actor, AuditAction::Update, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some(format!("care team: added {}", user.id));
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        self.care_team_members(id).await
    }

    /// Takes an assigned member off the patient's care team. Administrators and receptionists.
    pub async fn remove_care_team_member(
        &self,
        actor: &Actor,
        id: PatientId,
        user_id: UserId,
    ) -> Result<Vec<CareTeamMember>, ServiceError> {
        self.require_registration_rights(actor, Some(id)).await?;
        let (row, _, _) = self.load_for(actor, id).await?;
        self.transaction(async |txn| {
            if !care_team::remove(txn, id, user_id, care_team::SOURCE_ASSIGNED).await? {
                return Err(ServiceError::NotFound("care team member"));
            }
            let mut event = self
                .audit_event(actor, AuditAction::Update, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some(format!("care team: removed {user_id}"));
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        self.care_team_members(id).await
    }
}
