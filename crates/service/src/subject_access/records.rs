//! The records of processing activities (GDPR Art. 30).

use super::*;

/// One processing activity of the records of processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingActivity {
    pub name: String,
    pub legal_basis: &'static str,
}

/// What one role receives: its grants in the permission matrix and its view of a patient
/// per relation (with the fields that view shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub role: &'static str,
    pub role_label: &'static str,
    /// (capability, grant), only capabilities the role holds in some form.
    pub grants: Vec<(&'static str, &'static str)>,
    /// (relation, view, fields shown in clear or masked).
    pub views: Vec<(&'static str, &'static str, Vec<&'static str>)>,
}

/// The records of processing activities (GDPR Art. 30), generated from the code: the
/// permission matrix, the masking policy, the patient fields and the consent purposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingRecords {
    pub activities: Vec<ProcessingActivity>,
    /// (purpose, description, status without a record).
    pub consent_purposes: Vec<(&'static str, &'static str, &'static str)>,
    pub data_subjects: Vec<String>,
    /// (field, category, sealed at rest).
    pub data_categories: Vec<(&'static str, &'static str, bool)>,
    pub recipients: Vec<Recipient>,
    /// Clinical retention after the last encounter (`PrivacySettings`).
    pub retention_years: u32,
    /// Whether the retention job erases records past retention (otherwise it reports them).
    pub retention_erases: bool,
    pub security_measures: Vec<&'static str>,
    pub transfers: &'static str,
}

/// Patient fields that are stored in clear (see ARCHITECTURE.md, "What stays in clear").
fn stored_in_clear(field: PatientField) -> bool {
    matches!(
        field,
        PatientField::Id | PatientField::Status | PatientField::CreatedAt | PatientField::UpdatedAt
    )
}

fn data_category(field: PatientField) -> &'static str {
    if field.is_clinical() {
        "health data (Art. 9)"
    } else if field.is_own_contact_detail() {
        "contact details"
    } else {
        match field {
            PatientField::Id
            | PatientField::Status
            | PatientField::CreatedAt
            | PatientField::UpdatedAt => "record keeping",
            _ => "identity",
        }
    }
}

fn relation_label(relation: Relation) -> &'static str {
    match relation {
        Relation::Own => "own record",
        Relation::CareTeam | Relation::Share | Relation::Department | Relation::BreakGlass => {
            "care team"
        }
        Relation::None => "other patients",
    }
}

impl Services {
    /// The records of processing (Art. 30). Administrators and auditors (who may read the
    /// audit log); anyone else is refused and recorded.
    pub async fn processing_records(
        &self,
        actor: &Actor,
    ) -> Result<ProcessingRecords, ServiceError> {
        self.authorize(actor, Action::ReadAuditLog, ResourceType::System)
            .await?;
        let mut activities: Vec<ProcessingActivity> = Action::ALL
            .iter()
            .map(|c| ProcessingActivity {
                name: c.label().to_owned(),
                legal_basis: match c {
                    Action::ReadAuditLog | Action::AdministerSystem => {
                        "legal obligation (Art. 6(1)(c)): security and accountability"
                    }
                    Action::ManageBilling => "contract (Art. 6(1)(b))",
                    _ => "provision of health care (Art. 6(1)(c), Art. 9(2)(h))",
                },
            })
            .collect();
        activities.extend(ConsentPurpose::ALL.iter().map(|p| ProcessingActivity {
            name: p.description().to_owned(),
            legal_basis: "consent (Art. 6(1)(a), Art. 9(2)(a)), recorded per patient",
        }));
        let relations = [Relation::Own, Relation::CareTeam, Relation::None];
        let recipients = Role::ALL
            .iter()
            .map(|role| Recipient {
                role: role.as_str(),
                role_label: role.label(),
                grants: Action::ALL
                    .iter()
                    .filter_map(|c| {
                        let g = grant(*role, *c);
                        g.is_possible().then(|| (c.label(), g.label()))
                    })
                    .collect(),
                views: relations
                    .iter()
                    .filter(|r| {
                        (**r == Relation::Own) == grant(*role, Action::UsePortal).is_possible()
                    })
                    .filter(|r| {
                        **r != Relation::CareTeam
                            || grant(*role, Action::SeeClinical) == Grant::Scoped(Scope::CareTeam)
                    })
                    .filter_map(|r| {
                        view_for(*role, *r).map(|view| {
                            (
                                relation_label(*r),
                                view.label(),
                                PatientField::ALL
                                    .iter()
                                    .filter(|f| visibility(view, **f) != Visibility::Hidden)
                                    .map(|f| f.name())
                                    .collect(),
                            )
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok(ProcessingRecords {
            activities,
            consent_purposes: ConsentPurpose::ALL
                .iter()
                .map(|p| (p.as_str(), p.description(), p.default_status().as_str()))
                .collect(),
            data_subjects: vec![
                "Patients (their record, appointments, clinical records, documents, bills, notifications, consents)".to_owned(),
                format!(
                    "Staff and other users (accounts of the roles {}; their actions in the audit trail)",
                    Role::ALL.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
                ),
            ],
            data_categories: PatientField::ALL
                .iter()
                .map(|f| (f.name(), data_category(*f), !stored_in_clear(*f)))
                .collect(),
            recipients,
            retention_years: self.settings().privacy.clinical_retention_years,
            retention_erases: self.settings().privacy.retention_erase,
            security_measures: vec![
                "Identifying and clinical fields sealed at rest with AES-256-GCM under a per-patient data key, wrapped by a rotatable key-encryption key kept outside the database",
                "Search through keyed blind indexes (HMAC-SHA256); no plaintext search columns",
                "Role-based access with a permission matrix and field masking; care-team scoping, audited emergency access",
                "Tamper-evident audit trail of every read, change and refusal (RFC 6962 Merkle tree, signed checkpoints)",
                "Server-side sessions (hashed tokens, idle and absolute timeouts), Argon2id passwords, sign-in throttling, CSRF protection",
            ],
            transfers: "None: no data is transferred to third countries or international organisations.",
        })
    }
}
