//! The formulary: creating, changing, listing and reading drugs.

use super::*;

/// A formulary entry as submitted, before validation.
#[derive(Debug, Clone)]
pub struct DrugInput {
    pub name: String,
    pub generic_name: String,
    pub form: String,
    pub strength: String,
    pub unit: String,
    pub atc_code: Option<String>,
    pub reorder_level: String,
    pub reorder_quantity: String,
    pub active: bool,
}

impl Default for DrugInput {
    fn default() -> Self {
        DrugInput {
            name: String::new(),
            generic_name: String::new(),
            form: String::new(),
            strength: String::new(),
            unit: String::new(),
            atc_code: None,
            reorder_level: "0".into(),
            reorder_quantity: "0".into(),
            active: true,
        }
    }
}

/// A formulary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugView {
    pub id: String,
    pub name: String,
    pub generic_name: String,
    pub form: String,
    pub strength: String,
    pub unit: String,
    pub atc_code: Option<String>,
    pub reorder_level: u32,
    pub reorder_quantity: u32,
    pub active: bool,
}

/// Validates a formulary entry into a record (id and times left to the caller).
fn drug_row(
    input: &DrugInput,
    id: DrugId,
    now: DateTime<Utc>,
) -> Result<DrugRecord, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let name = required_text(&mut errors, "name", &input.name, 200);
    let generic_name = required_text(&mut errors, "generic_name", &input.generic_name, 200);
    let form = required_text(&mut errors, "form", &input.form, 50);
    let strength = required_text(&mut errors, "strength", &input.strength, 50);
    let unit = required_text(&mut errors, "unit", &input.unit, 30);
    let atc_code = match input.atc_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => {
            let code = code.to_ascii_uppercase();
            // ATC: letter, two digits, two letters, two digits (the first 1–7 characters).
            let pattern = b"ADDAADD";
            let valid = !code.is_empty()
                && code.len() <= 7
                && code.bytes().zip(pattern).all(|(c, p)| match p {
                    b'A' => c.is_ascii_uppercase(),
                    _ => c.is_ascii_digit(),
                });
            if !valid {
                errors.push("atc_code", "must be an ATC code such as N02BE01");
            }
            Some(code)
        }
    };
    let reorder_level = errors.check(
        "reorder_level",
        parse_units(&input.reorder_level, "reorder_level", true)
            .map_err(|_| format!("must be a whole number from 0 to {QUANTITY_MAX}")),
    );
    let reorder_quantity = errors.check(
        "reorder_quantity",
        parse_units(&input.reorder_quantity, "reorder_quantity", true)
            .map_err(|_| format!("must be a whole number from 0 to {QUANTITY_MAX}")),
    );
    errors.into_result()?;
    match (
        name,
        generic_name,
        form,
        strength,
        unit,
        reorder_level,
        reorder_quantity,
    ) {
        (
            Some(name),
            Some(generic_name),
            Some(form),
            Some(strength),
            Some(unit),
            Some(reorder_level),
            Some(reorder_quantity),
        ) => Ok(DrugRecord {
            id,
            name,
            generic_name,
            form,
            strength,
            unit,
            atc_code,
            reorder_level,
            reorder_quantity,
            active: input.active,
            created_at: now,
            updated_at: now,
        }),
        _ => Err(ValidationErrors::single("name", "is required")),
    }
}

pub(crate) fn drug_view(row: &DrugRecord) -> DrugView {
    DrugView {
        id: row.id.to_string(),
        name: row.name.clone(),
        generic_name: row.generic_name.clone(),
        form: row.form.clone(),
        strength: row.strength.clone(),
        unit: row.unit.clone(),
        atc_code: row.atc_code.clone(),
        reorder_level: row.reorder_level,
        reorder_quantity: row.reorder_quantity,
        active: row.active,
    }
}
impl Services {
    pub(super) async fn load_drug(&self, id: &str) -> Result<DrugRecord, ServiceError> {
        self.find_drug(id).await?.ok_or_else(|| {
            ValidationErrors::single("drug_id", "is not a drug in the formulary").into()
        })
    }

    /// The drug `id` (as typed) names; `None` if none, or if it is not an id at all.
    pub(crate) async fn find_drug(&self, id: &str) -> Result<Option<DrugRecord>, ServiceError> {
        Ok(match crate::ids::requested_id::<DrugId>(id.trim()) {
            Some(id) => store::find_drug(self.store().conn(), id).await?,
            None => None,
        })
    }

    /// Adds a drug to the formulary (admins and pharmacists). A drug with the same name and
    /// strength is a 409.
    pub async fn create_drug(
        &self,
        actor: &Actor,
        input: DrugInput,
    ) -> Result<DrugView, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Drug)
            .await?;
        let row = drug_row(&input, DrugId::generate(), self.now())?;
        self.write_drug(actor, AuditAction::Create, row).await
    }

    /// Changes a formulary entry (admins and pharmacists); `active: false` withdraws it.
    pub async fn update_drug(
        &self,
        actor: &Actor,
        id: &str,
        input: DrugInput,
    ) -> Result<DrugView, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Drug)
            .await?;
        let existing = self
            .find_drug(id)
            .await?
            .ok_or(ServiceError::NotFound("drug"))?;
        let mut row = drug_row(&input, existing.id, self.now())?;
        row.created_at = existing.created_at;
        self.write_drug(actor, AuditAction::Update, row).await
    }

    /// Writes a formulary entry and its `action` event in one transaction: a `Create`
    /// inserts it, an `Update` changes it (not found if it is gone meanwhile). A drug with
    /// the same name and strength is a 409.
    async fn write_drug(
        &self,
        actor: &Actor,
        action: AuditAction,
        row: DrugRecord,
    ) -> Result<DrugView, ServiceError> {
        let mut event = self.audit_event(actor, action, ResourceType::Drug);
        event.resource_id = Some(row.id.to_string());
        self.transaction(async |txn| {
            let written = if action == AuditAction::Create {
                store::insert_drug(txn, &row).await.map(|()| true)
            } else {
                store::update_drug(txn, &row).await
            };
            if !written.map_err(same_drug_taken)? {
                return Err(ServiceError::NotFound("drug"));
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(drug_view(&row))
    }

    /// The formulary (admins and pharmacists), by name and strength.
    pub async fn list_drugs(
        &self,
        actor: &Actor,
        include_inactive: bool,
    ) -> Result<Vec<DrugView>, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Drug)
            .await?;
        Ok(store::list_drugs(self.store().conn(), include_inactive)
            .await?
            .iter()
            .map(drug_view)
            .collect())
    }

    /// One formulary entry (admins and pharmacists).
    pub async fn get_drug(&self, actor: &Actor, id: &str) -> Result<DrugView, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Drug)
            .await?;
        self.find_drug(id)
            .await?
            .map(|row| drug_view(&row))
            .ok_or(ServiceError::NotFound("drug"))
    }
}
