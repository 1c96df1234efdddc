//! The masking policy, as data: for each role and its relation to a patient, which
//! [`PatientView`] applies, and for each view and field, the [`Visibility`] of that field.
//!
//! The service layer applies it to every patient record before anything leaves the service
//! (a hidden field is never sent — not blanked by a template, absent). docs/MASKING.md is
//! rendered from [`render_markdown`] by a test, so the documentation cannot drift.

use crate::policy::{Action, Decision, Grant, Scope, decide, grant};
use crate::role::Role;

/// The fields of a patient record, with their JSON names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatientField {
    Id,
    Mrn,
    GivenName,
    FamilyName,
    DateOfBirth,
    Sex,
    GenderIdentity,
    Address,
    Phone,
    Email,
    EmergencyContact,
    NationalId,
    PreferredLanguage,
    BloodGroup,
    Allergies,
    PrimaryDiagnosis,
    Status,
    CreatedAt,
    UpdatedAt,
}

impl PatientField {
    pub const ALL: [PatientField; 19] = [
        PatientField::Id,
        PatientField::Mrn,
        PatientField::GivenName,
        PatientField::FamilyName,
        PatientField::DateOfBirth,
        PatientField::Sex,
        PatientField::GenderIdentity,
        PatientField::Address,
        PatientField::Phone,
        PatientField::Email,
        PatientField::EmergencyContact,
        PatientField::NationalId,
        PatientField::PreferredLanguage,
        PatientField::BloodGroup,
        PatientField::Allergies,
        PatientField::PrimaryDiagnosis,
        PatientField::Status,
        PatientField::CreatedAt,
        PatientField::UpdatedAt,
    ];

    /// The field's name in JSON, forms and HTML (`data-field="…"`).
    pub fn name(self) -> &'static str {
        match self {
            PatientField::Id => "id",
            PatientField::Mrn => "mrn",
            PatientField::GivenName => "given_name",
            PatientField::FamilyName => "family_name",
            PatientField::DateOfBirth => "date_of_birth",
            PatientField::Sex => "sex",
            PatientField::GenderIdentity => "gender_identity",
            PatientField::Address => "address",
            PatientField::Phone => "phone",
            PatientField::Email => "email",
            PatientField::EmergencyContact => "emergency_contact",
            PatientField::NationalId => "national_id",
            PatientField::PreferredLanguage => "preferred_language",
            PatientField::BloodGroup => "blood_group",
            PatientField::Allergies => "allergies",
            PatientField::PrimaryDiagnosis => "primary_diagnosis",
            PatientField::Status => "status",
            PatientField::CreatedAt => "created_at",
            PatientField::UpdatedAt => "updated_at",
        }
    }

    /// Clinical fields: never sent to a role without clinical access.
    pub fn is_clinical(self) -> bool {
        matches!(
            self,
            PatientField::BloodGroup | PatientField::Allergies | PatientField::PrimaryDiagnosis
        )
    }

    /// Contact details a patient may correct themselves.
    pub fn is_own_contact_detail(self) -> bool {
        matches!(
            self,
            PatientField::Address
                | PatientField::Phone
                | PatientField::Email
                | PatientField::EmergencyContact
                | PatientField::PreferredLanguage
        )
    }
}

/// How one field is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// The stored value.
    Clear,
    /// A partial value: phone → `XXX-XXX-4592`, e-mail → `j***@example.org`, date of birth →
    /// the year.
    Masked,
    /// A pseudonymous stand-in: name → `ANON_1021` (stable per patient), date of birth → a
    /// five-year age band.
    Pseudonym,
    /// Not sent at all.
    Hidden,
}

impl Visibility {
    pub fn label(self) -> &'static str {
        match self {
            Visibility::Clear => "clear",
            Visibility::Masked => "masked",
            Visibility::Pseudonym => "pseudonym",
            Visibility::Hidden => "–",
        }
    }
}

pub use crate::policy::Relation;

/// A named set of field visibilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatientView {
    /// Everything (administrators; clinicians on the care team).
    Full,
    /// Identity and contact details, no clinical fields (reception).
    Registration,
    /// Pseudonym, birth year, masked contact (clinicians outside the care team).
    Masked,
    /// What dispensing needs: name, date of birth, MRN and allergies (pharmacy).
    Dispensing,
    /// Pseudonym and age band (auditors).
    Pseudonymous,
    /// The patient's own record: everything.
    Own,
}

impl PatientView {
    pub const ALL: [PatientView; 6] = [
        PatientView::Full,
        PatientView::Registration,
        PatientView::Masked,
        PatientView::Dispensing,
        PatientView::Pseudonymous,
        PatientView::Own,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PatientView::Full => "full",
            PatientView::Registration => "registration",
            PatientView::Masked => "masked",
            PatientView::Dispensing => "dispensing",
            PatientView::Pseudonymous => "pseudonymous",
            PatientView::Own => "own",
        }
    }

    /// Whether names are shown in clear in this view.
    pub fn shows_identity(self) -> bool {
        visibility(self, PatientField::FamilyName) == Visibility::Clear
    }
}

/// The view `role` gets of a patient it stands to in `relation`; `None` means no access at
/// all (a patient looking at someone else's record). The policy decides whether the view is
/// clear or pseudonymised ([`Action::SeeIdentity`]); this names the role's view.
pub fn view_for(role: Role, relation: Relation) -> Option<PatientView> {
    match decide(role, Action::SeeIdentity, relation) {
        Decision::Refuse(_) => None,
        Decision::AllowMasked
            if grant(role, Action::SeeIdentity) == Grant::Scoped(Scope::Pseudonym) =>
        {
            Some(PatientView::Pseudonymous)
        }
        Decision::AllowMasked => Some(PatientView::Masked),
        Decision::Allow => Some(match role {
            Role::Admin | Role::Doctor | Role::Nurse => PatientView::Full,
            Role::Receptionist => PatientView::Registration,
            Role::Pharmacist => PatientView::Dispensing,
            Role::Patient => PatientView::Own,
            Role::Auditor => PatientView::Pseudonymous,
        }),
    }
}

use Visibility::{Clear as C, Hidden as H, Masked as M, Pseudonym as P};

/// Columns follow [`PatientView::ALL`]: full, registration, masked, dispensing, pseudonymous,
/// own.
const POLICY: [(PatientField, [Visibility; 6]); 19] = [
    (PatientField::Id, [C, C, C, C, C, C]),
    (PatientField::Mrn, [C, C, H, C, H, C]),
    (PatientField::GivenName, [C, C, H, C, H, C]),
    (PatientField::FamilyName, [C, C, P, C, P, C]),
    (PatientField::DateOfBirth, [C, C, M, C, P, C]),
    (PatientField::Sex, [C, C, C, H, C, C]),
    (PatientField::GenderIdentity, [C, C, H, H, H, C]),
    (PatientField::Address, [C, C, H, H, H, C]),
    (PatientField::Phone, [C, C, M, H, H, C]),
    (PatientField::Email, [C, C, M, H, H, C]),
    (PatientField::EmergencyContact, [C, C, H, H, H, C]),
    (PatientField::NationalId, [C, C, H, H, H, C]),
    (PatientField::PreferredLanguage, [C, C, C, H, H, C]),
    (PatientField::BloodGroup, [C, H, H, H, H, C]),
    (PatientField::Allergies, [C, H, H, C, H, C]),
    (PatientField::PrimaryDiagnosis, [C, H, H, H, H, C]),
    (PatientField::Status, [C, C, C, C, C, C]),
    (PatientField::CreatedAt, [C, C, C, H, H, C]),
    (PatientField::UpdatedAt, [C, C, C, H, H, C]),
];

/// The visibility of `field` in `view`.
pub fn visibility(view: PatientView, field: PatientField) -> Visibility {
    let column = PatientView::ALL
        .iter()
        .position(|v| *v == view)
        .unwrap_or(0);
    POLICY
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(Visibility::Hidden, |(_, row)| row[column])
}

/// The policy as a Markdown document (docs/MASKING.md).
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Masking policy\n\n\
         Generated from `crates/core/src/masking.rs` by `cargo test -p carevault-core` \
         (`CAREVAULT_BLESS=1` rewrites it); do not edit by hand.\n\n\
         ## Which view each role gets\n\n\
         | role | own record | care team | otherwise |\n|---|---|---|---|\n",
    );
    let label = |view: Option<PatientView>| view.map_or("no access", PatientView::label);
    for role in Role::ALL {
        let own = if role == Role::Patient {
            label(view_for(role, Relation::Own))
        } else {
            "–"
        };
        let care = if matches!(role, Role::Doctor | Role::Nurse) {
            label(view_for(role, Relation::CareTeam))
        } else {
            "–"
        };
        out.push_str(&format!(
            "| {} | {own} | {care} | {} |\n",
            role.as_str(),
            label(view_for(role, Relation::None))
        ));
    }
    out.push_str("\n## What each view shows\n\n| field |");
    for view in PatientView::ALL {
        out.push_str(&format!(" {} |", view.label()));
    }
    out.push_str("\n|---|");
    for _ in PatientView::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for field in PatientField::ALL {
        out.push_str(&format!("| `{}` |", field.name()));
        for view in PatientView::ALL {
            out.push_str(&format!(" {} |", visibility(view, field).label()));
        }
        out.push('\n');
    }
    out.push_str(
        "\n- **masked**: phone → `XXX-XXX-4592` (last four digits), e-mail → first letter and \
         domain, date of birth → year of birth.\n\
         - **pseudonym**: family name → `ANON_<n>`, a number drawn at random at registration, \
         stable for the patient's lifetime and different for every patient; date of birth → \
         five-year age band (`40-44`, `90+`).\n\
         - **–**: the field is absent from JSON and HTML alike.\n\
         - A patient's care team: clinicians assigned by an administrator or receptionist, and \
         clinicians with a scheduled, checked-in, in-progress or completed appointment with \
         the patient; while they last, a doctor the patient shared their record with and a \
         clinician holding emergency (break-the-glass) access count too, and so does a \
         nurse of the department where the patient is checked in (or being seen) today, \
         until that visit is completed or the day ends. A doctor therefore \
         sees the patients of their own schedule by name and everyone else's appointments \
         under the pseudonym. The care team itself is \
         shown only in the full, registration and own views: who treats a patient is \
         revealing too.\n\
         - The dispensing view is what a pharmacist needs to hand a drug to the right \
         person safely: who it is (name, date of birth, hospital number) and what they are \
         allergic to, the one clinical field it shows; with a prescription's acknowledged \
         warnings and override reason. Pharmacists reach patients through the prescriptions \
         they dispense, never through the patient list.\n\
         - Search matches only on what the caller's view shows in clear: doctors and nurses \
         search their own care team's patients (everyone else by pseudonym only), auditors by \
         pseudonym; receptionists cannot look pseudonyms up. Pharmacists do not search or \
         list patients (docs/PERMISSIONS.md).\n\
         - The pseudonym is shown beside a name only to administrators. The research export \
         uses pseudonyms of its own (random per export), never `ANON_` ones.\n",
    );
    out.push_str(
        "\n## The chart: which sections each view receives\n\n\
         Generated from `crates/core/src/chart.rs`. A section not listed is not loaded, not \
         opened and not sent. The banner (name as the view allows, MRN, date of birth and age, \
         sex, alerts) is on every chart and patient-scoped page; its allergy line is shown \
         exactly when the view includes the allergies.\n\n",
    );
    out.push_str(&crate::chart::render_markdown());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_one_row_in_order() {
        for (i, field) in PatientField::ALL.iter().enumerate() {
            assert_eq!(POLICY[i].0, *field);
        }
    }

    #[test]
    fn receptionists_never_receive_clinical_fields() {
        for field in PatientField::ALL.into_iter().filter(|f| f.is_clinical()) {
            for view in [
                PatientView::Registration,
                PatientView::Masked,
                PatientView::Pseudonymous,
            ] {
                assert_eq!(visibility(view, field), Visibility::Hidden, "{field:?}");
            }
        }
    }

    #[test]
    fn pharmacists_see_what_dispensing_needs_and_nothing_else() {
        let shown: Vec<(&str, Visibility)> = PatientField::ALL
            .into_iter()
            .filter(|f| visibility(PatientView::Dispensing, *f) != Visibility::Hidden)
            .map(|f| (f.name(), visibility(PatientView::Dispensing, f)))
            .collect();
        assert_eq!(
            shown,
            [
                ("id", Visibility::Clear),
                ("mrn", Visibility::Clear),
                ("given_name", Visibility::Clear),
                ("family_name", Visibility::Clear),
                ("date_of_birth", Visibility::Clear),
                ("allergies", Visibility::Clear),
                ("status", Visibility::Clear),
            ]
        );
        // Of the clinical fields, allergies only: the blood group and diagnoses stay hidden.
        for field in [PatientField::BloodGroup, PatientField::PrimaryDiagnosis] {
            assert_eq!(
                visibility(PatientView::Dispensing, field),
                Visibility::Hidden
            );
        }
    }

    #[test]
    fn outside_the_care_team_nothing_identifying_is_clear() {
        for view in [PatientView::Masked, PatientView::Pseudonymous] {
            for field in [
                PatientField::Mrn,
                PatientField::GivenName,
                PatientField::FamilyName,
                PatientField::DateOfBirth,
                PatientField::Address,
                PatientField::Phone,
                PatientField::Email,
                PatientField::NationalId,
                PatientField::EmergencyContact,
            ] {
                assert_ne!(
                    visibility(view, field),
                    Visibility::Clear,
                    "{view:?} {field:?}"
                );
            }
        }
    }

    #[test]
    fn patients_see_only_their_own_record() {
        assert_eq!(view_for(Role::Patient, Relation::None), None);
        assert_eq!(
            view_for(Role::Patient, Relation::Own),
            Some(PatientView::Own)
        );
    }

    #[test]
    fn rendered_policy_matches_docs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/MASKING.md");
        let rendered = render_markdown();
        if std::env::var_os("CAREVAULT_BLESS").is_some() {
            std::fs::write(path, &rendered).unwrap();
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            on_disk, rendered,
            "docs/MASKING.md is stale: run `CAREVAULT_BLESS=1 cargo test -p carevault-core`"
        );
    }
}
