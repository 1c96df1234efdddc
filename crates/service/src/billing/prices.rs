//! The price list.

use super::*;

pub use carevault_core::billing::PriceKind;

/// A price-list entry as submitted.
#[derive(Debug, Clone, Default)]
pub struct PriceInput {
    pub code: String,
    pub kind: String,
    pub label: String,
    /// Consultations: the appointment type charged.
    pub appointment_type: Option<String>,
    /// Drugs: the formulary drug; empty for the default drug markup.
    pub drug_id: Option<String>,
    pub fixed_price: Option<String>,
    /// Drugs only: a markup on the unit cost instead of a fixed price.
    pub markup_percent: Option<String>,
    pub tax_rate: Option<String>,
    pub active: bool,
}

/// A price-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceView {
    pub id: String,
    pub code: String,
    pub kind: String,
    pub label: String,
    pub appointment_type: Option<String>,
    pub drug_id: Option<String>,
    pub fixed_price: Option<Money>,
    pub markup_percent: Option<Percent>,
    pub tax_rate: Percent,
    pub active: bool,
}

fn price_view(row: &PriceRecord) -> PriceView {
    let (fixed_price, markup_percent) = match row.rule {
        PriceRule::Fixed(price) => (Some(price), None),
        PriceRule::Markup(markup) => (None, Some(markup)),
    };
    PriceView {
        id: row.id.to_string(),
        code: row.code.clone(),
        kind: row.kind.as_str().to_owned(),
        label: row.label.clone(),
        appointment_type: row.appointment_type.clone(),
        drug_id: row.drug_id.map(|id| id.to_string()),
        fixed_price,
        markup_percent,
        tax_rate: row.tax_rate,
        active: row.active,
    }
}

pub(super) fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|v| !v.is_empty())
}

/// Validates a price-list entry into a record (id and times left to the caller). A drug id
/// that names no drug is left out here and refused by the caller, after these checks.
fn price_row(
    input: &PriceInput,
    id: PriceId,
    now: DateTime<Utc>,
) -> Result<PriceRecord, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let code = input.code.trim().to_ascii_uppercase();
    if code.is_empty()
        || code.len() > 40
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        errors.push(
            "code",
            "must be 1–40 letters, digits, '-', '_' or '.' (such as CONS-GP)",
        );
    }
    let kind = errors.check("kind", PriceKind::parse(&input.kind));
    let label = input.label.trim();
    if label.is_empty() || label.chars().count() > 200 || label.chars().any(char::is_control) {
        errors.push("label", "is required (at most 200 characters)");
    }
    let appointment_type = given(input.appointment_type.as_deref()).map(str::to_owned);
    let drug_id = given(input.drug_id.as_deref());
    let rule = match kind {
        Some(PriceKind::Drug) => {
            match PriceRule::parse(
                input.fixed_price.as_deref(),
                input.markup_percent.as_deref(),
            ) {
                Ok(rule) => Some(rule),
                Err(problems) => {
                    for field in ["fixed_price", "markup_percent"] {
                        if let Some(message) = problems.message_for(field) {
                            errors.push(field, message);
                        }
                    }
                    None
                }
            }
        }
        Some(_) => {
            if given(input.markup_percent.as_deref()).is_some() {
                errors.push("markup_percent", "only a drug is priced by a markup");
            }
            errors.check(
                "fixed_price",
                given(input.fixed_price.as_deref())
                    .ok_or_else(|| "is required".to_owned())
                    .and_then(Money::parse)
                    .map(PriceRule::Fixed),
            )
        }
        None => None,
    };
    match kind {
        Some(PriceKind::Consultation) => match appointment_type.as_deref() {
            None => errors.push("appointment_type", "is required for a consultation price"),
            Some(raw) => {
                if let Err(message) = carevault_core::appointment::AppointmentType::parse(raw) {
                    errors.push("appointment_type", message);
                }
            }
        },
        Some(_) if appointment_type.is_some() => {
            errors.push("appointment_type", "only a consultation price names one");
        }
        _ => {}
    }
    if drug_id.is_some() && kind != Some(PriceKind::Drug) {
        errors.push("drug_id", "only a drug price names a drug");
    }
    let tax_rate = match given(input.tax_rate.as_deref()) {
        Some(raw) => errors.check("tax_rate", Percent::parse_at_most(raw, 100)),
        None => Some(Percent::ZERO),
    };
    errors.into_result()?;
    let (Some(kind), Some(rule), Some(tax_rate)) = (kind, rule, tax_rate) else {
        return Err(ValidationErrors::single("kind", "is required"));
    };
    Ok(PriceRecord {
        id,
        code,
        kind,
        label: label.to_owned(),
        appointment_type,
        drug_id: drug_id.and_then(crate::ids::requested_id),
        rule,
        tax_rate,
        active: input.active,
        created_at: now,
        updated_at: now,
    })
}
impl Services {
    /// The price list (billing staff).
    pub async fn list_prices(&self, actor: &Actor) -> Result<Vec<PriceView>, ServiceError> {
        self.billing_staff(actor).await?;
        Ok(store::list_prices(self.store().conn())
            .await?
            .iter()
            .map(price_view)
            .collect())
    }

    /// Adds (`id` none) or replaces a price-list entry: administrators only. A duplicate
    /// code, appointment type or drug is a 409.
    pub async fn save_price(
        &self,
        actor: &Actor,
        id: Option<&str>,
        input: PriceInput,
    ) -> Result<PriceView, ServiceError> {
        if !self.billing_staff(actor).await? {
            return Err(self
                .deny(
                    actor,
                    ResourceType::PriceList,
                    None,
                    "the price list is kept by administrators",
                )
                .await);
        }
        let now = self.now();
        let existing = match id {
            Some(id) => Some(
                match crate::ids::requested_id::<PriceId>(id.trim()) {
                    Some(id) => store::find_price(self.store().conn(), id).await?,
                    None => None,
                }
                .ok_or(ServiceError::NotFound("price"))?,
            ),
            None => None,
        };
        let mut row = price_row(
            &input,
            existing.as_ref().map_or_else(PriceId::generate, |e| e.id),
            now,
        )?;
        if let Some(existing) = &existing {
            row.created_at = existing.created_at;
        }
        if let Some(drug_id) = given(input.drug_id.as_deref())
            && self.find_drug(drug_id).await?.is_none()
        {
            return Err(
                ValidationErrors::single("drug_id", "is not a drug in the formulary").into(),
            );
        }
        let mut event = self.audit_event(
            actor,
            if existing.is_some() {
                AuditAction::Update
            } else {
                AuditAction::Create
            },
            ResourceType::PriceList,
        );
        event.resource_id = Some(row.id.to_string());
        self.transaction(async |txn| {
            let written = if existing.is_some() {
                store::update_price(txn, &row).await.map(|_| ())
            } else {
                store::insert_price(txn, &row).await
            };
            written.map_err(|err| match err {
                StoreError::UniqueViolation(_) => ServiceError::Conflict {
                    field: Some("code"),
                    message: "the price list already has this code, appointment type or drug"
                        .into(),
                },
                other => other.into(),
            })?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(price_view(&row))
    }
}
