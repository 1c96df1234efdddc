//! The staff directory and staff profiles (department, working hours, slot length).

use super::*;

/// One entry of the staff directory, as the actor may see it: patients see doctors' names,
/// specialties and departments only (the other fields are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department_id: Option<DepartmentId>,
    pub department_name: Option<String>,
    pub specialty: Option<String>,
    pub work_phone: Option<String>,
    /// Working hours in the text form (`mon-fri 08:00-17:00`).
    pub working_hours: Option<String>,
    pub active: bool,
    /// Whether a profile has been saved (otherwise the defaults are shown).
    pub has_profile: bool,
}

/// A staff profile as submitted, before validation.
#[derive(Debug, Clone, Default)]
pub struct StaffProfileInput {
    /// Blank: no department.
    pub department_id: Option<String>,
    pub specialty: Option<String>,
    pub work_phone: Option<String>,
    /// Blank: Monday to Friday, 08:00–17:00.
    pub working_hours: Option<String>,
    pub active: bool,
}
impl Services {
    /// The staff directory. Staff see everyone with a clinical or desk role; patients see
    /// active doctors (name, specialty, department).
    pub async fn staff_directory(&self, actor: &Actor) -> Result<Vec<StaffMember>, ServiceError> {
        if actor.role().is_none() {
            if actor.grant(Action::AdministerSystem) == Grant::Yes {
                return self.all_staff(false).await;
            }
            return Err(ServiceError::Unauthenticated);
        }
        if !actor.may(Action::SeeStaff) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::StaffProfile,
                    None,
                    Action::SeeStaff.refusal(),
                )
                .await);
        }
        self.all_staff(actor.may(Action::UsePortal)).await
    }

    async fn all_staff(&self, for_patient: bool) -> Result<Vec<StaffMember>, ServiceError> {
        let conn = self.store().conn();
        let departments = department_names(conn).await?;
        let profiles: HashMap<UserId, StaffProfileRow> = store::staff_profiles(conn)
            .await?
            .into_iter()
            .map(|p| (p.user_id, p))
            .collect();
        let mut out = Vec::new();
        for user in users::list(conn).await? {
            if !user.role.in_staff_directory() {
                continue;
            }
            let profile = profiles.get(&user.id);
            let active = user.status == carevault_core::UserStatus::Active
                && profile.is_none_or(|p| p.active);
            if for_patient && !(user.role.takes_patient_requests() && active) {
                continue;
            }
            let department_id = profile.and_then(|p| p.department_id);
            let department_name = department_id.and_then(|id| departments.get(&id).cloned());
            out.push(StaffMember {
                id: user.id,
                username: user.username.as_str().to_owned(),
                display_name: user.display_name.as_str().to_owned(),
                role: user.role,
                department_id,
                department_name,
                specialty: profile.and_then(|p| p.specialty.clone()),
                work_phone: if for_patient {
                    None
                } else {
                    profile.and_then(|p| p.work_phone.clone())
                },
                working_hours: if for_patient {
                    None
                } else {
                    Some(profile.map_or_else(
                        || WeeklyHours::default().to_string(),
                        |p| p.working_hours.to_string(),
                    ))
                },
                active,
                has_profile: profile.is_some(),
            });
        }
        out.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        Ok(out)
    }

    /// One entry of the directory.
    pub async fn staff_member(
        &self,
        actor: &Actor,
        id: UserId,
    ) -> Result<StaffMember, ServiceError> {
        self.staff_directory(actor)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(ServiceError::NotFound("staff member"))
    }

    /// Saves a staff member's profile. Administrators.
    pub async fn update_staff_profile(
        &self,
        actor: &Actor,
        id: UserId,
        input: StaffProfileInput,
    ) -> Result<StaffMember, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::StaffProfile)
            .await?;
        let user = users::find_by_id(self.store().conn(), id)
            .await?
            .filter(|u| u.role.in_staff_directory())
            .ok_or(ServiceError::NotFound("staff member"))?;
        let mut errors = ValidationErrors::new();
        let department_id = match given(input.department_id.as_ref()) {
            None => None,
            Some(raw) => match raw.parse::<DepartmentId>() {
                Ok(id) => {
                    if store::find_department(self.store().conn(), id)
                        .await?
                        .is_none()
                    {
                        errors.push("department_id", "is not a known department");
                    }
                    Some(id)
                }
                Err(_) => {
                    errors.push("department_id", "is not a valid id");
                    None
                }
            },
        };
        let specialty = given(input.specialty.as_ref()).map(str::to_owned);
        if specialty.as_ref().is_some_and(|s| s.chars().count() > 100) {
            errors.push("specialty", "must be at most 100 characters");
        }
        let work_phone = given(input.work_phone.as_ref())
            .and_then(|raw| errors.check("work_phone", Phone::parse(raw)))
            .map(|p| p.as_str().to_owned());
        let hours = match given(input.working_hours.as_ref()) {
            None => Some(WeeklyHours::default()),
            Some(raw) if raw.len() > 300 => {
                errors.push("working_hours", "must be at most 300 characters");
                None
            }
            Some(raw) => errors.check("working_hours", WeeklyHours::parse(raw)),
        };
        errors.into_result()?;
        let row = StaffProfileRow {
            user_id: user.id,
            department_id,
            specialty,
            work_phone,
            working_hours: hours.unwrap_or_default(),
            active: input.active,
            updated_at: whole_micros(self.now()),
        };
        self.transaction(async |txn| {
            store::upsert_staff_profile(txn, row.clone()).await?;
            let mut event =
                self.audit_event(actor, AuditAction::Update, ResourceType::StaffProfile);
            event.resource_id = Some(user.id.to_string());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        self.staff_member(actor, id).await
    }

    /// A clinician who can hold appointments: an active doctor or nurse account with an
    /// active profile (or none yet: default hours, no department).
    pub(super) async fn clinician(
        &self,
        id: UserId,
    ) -> Result<Option<(users::UserRecord, Option<StaffProfileRow>)>, ServiceError> {
        let conn = self.store().conn();
        let Some(user) = users::find_by_id(conn, id).await? else {
            return Ok(None);
        };
        if !user.role.holds_a_schedule() || user.status != carevault_core::UserStatus::Active {
            return Ok(None);
        }
        let profile = store::find_staff_profile(conn, id).await?;
        if profile.as_ref().is_some_and(|p| !p.active) {
            return Ok(None);
        }
        Ok(Some((user, profile)))
    }
}
