//! Departments: listing, reading, validating, creating and updating them.

use super::*;

/// A department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: DepartmentId,
    pub code: String,
    pub name: String,
    pub location: String,
    /// The default appointment length, in minutes.
    pub slot_minutes: u32,
    pub active: bool,
}

/// A department as submitted (form fields or JSON), before validation.
#[derive(Debug, Clone, Default)]
pub struct DepartmentInput {
    pub code: String,
    pub name: String,
    pub location: String,
    /// Blank: 30 minutes.
    pub slot_minutes: Option<String>,
    pub active: bool,
}
impl Services {
    /// Every department (patients and other non-administrators: active ones only).
    pub async fn departments(&self, actor: &Actor) -> Result<Vec<Department>, ServiceError> {
        if actor.user_id().is_none() && actor.grant(Action::AdministerSystem) != Grant::Yes {
            return Err(ServiceError::Unauthenticated);
        }
        let all = actor.grant(Action::AdministerSystem) == Grant::Yes;
        Ok(store::departments(self.store().conn())
            .await?
            .into_iter()
            .filter(|row| all || row.active)
            .map(department_of)
            .collect())
    }

    /// One department.
    pub async fn department(
        &self,
        actor: &Actor,
        id: DepartmentId,
    ) -> Result<Department, ServiceError> {
        self.departments(actor)
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or(ServiceError::NotFound("department"))
    }

    /// The department `id` as `input` describes it (`created_at`, `updated_at`: its times).
    fn validate_department(
        input: &DepartmentInput,
        id: DepartmentId,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<DepartmentRow, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let code = input.code.trim().to_ascii_uppercase();
        if code.is_empty() {
            errors.push("code", "is required");
        } else if code.len() > 16
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.push(
                "code",
                "must be 1–16 letters, digits, hyphens or underscores (e.g. CARD)",
            );
        }
        let name = input.name.trim().to_owned();
        if name.chars().count() < 2 || name.chars().count() > 100 {
            errors.push("name", "must be 2–100 characters");
        }
        let location = input.location.trim().to_owned();
        if location.chars().count() > 200 {
            errors.push("location", "must be at most 200 characters");
        }
        let slot_minutes = match given(input.slot_minutes.as_ref()) {
            None => 30,
            Some(raw) => match raw.parse::<u32>() {
                Ok(m) if (5..=240).contains(&m) && m % 5 == 0 => m,
                _ => {
                    errors.push(
                        "slot_minutes",
                        "must be a whole number of minutes from 5 to 240, a multiple of 5",
                    );
                    30
                }
            },
        };
        errors.into_result()?;
        Ok(DepartmentRow {
            id,
            code,
            name,
            location,
            slot_minutes,
            active: input.active,
            created_at,
            updated_at,
        })
    }

    /// Creates a department. Administrators.
    pub async fn create_department(
        &self,
        actor: &Actor,
        input: DepartmentInput,
    ) -> Result<Department, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Department)
            .await?;
        let now = whole_micros(self.now());
        let row = Self::validate_department(&input, DepartmentId::generate(), now, now)?;
        self.transaction(async |txn| {
            match store::insert_department(txn, row.clone()).await {
                Err(StoreError::UniqueViolation(_)) => {
                    return Err(ServiceError::Conflict {
                        field: Some("code"),
                        message: "a department with this code or name already exists".into(),
                    });
                }
                other => other?,
            }
            let mut event = self.audit_event(actor, AuditAction::Create, ResourceType::Department);
            event.resource_id = Some(row.id.to_string());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        Ok(department_of(row))
    }

    /// Changes a department. Administrators.
    pub async fn update_department(
        &self,
        actor: &Actor,
        id: DepartmentId,
        input: DepartmentInput,
    ) -> Result<Department, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Department)
            .await?;
        let existing = store::find_department(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("department"))?;
        let row = Self::validate_department(
            &input,
            existing.id,
            existing.created_at,
            whole_micros(self.now()),
        )?;
        self.transaction(async |txn| {
            match store::update_department(txn, row.clone()).await {
                Err(StoreError::UniqueViolation(_)) => {
                    return Err(ServiceError::Conflict {
                        field: Some("code"),
                        message: "a department with this code or name already exists".into(),
                    });
                }
                other => other?,
            };
            let mut event = self.audit_event(actor, AuditAction::Update, ResourceType::Department);
            event.resource_id = Some(row.id.to_string());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        Ok(department_of(row))
    }
}
