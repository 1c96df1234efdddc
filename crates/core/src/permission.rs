//! The permission matrix, as data.
//!
//! Each [`Capability`] maps every [`Role`] to a [`Grant`]: no, yes, or yes within a
//! [`Scope`] that the service layer resolves against the data (care team, own record, …).
//! The service layer asks [`grant`] before it touches anything; docs/PERMISSIONS.md is
//! rendered from [`render_markdown`] by a test, so the documentation cannot drift from the
//! code. A hospital can tighten these defaults; it cannot widen them past this table.

use crate::role::Role;

/// Something a user may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Register patients and edit their demographics.
    EditDemographics,
    /// See who a patient is: name, contact details, date of birth.
    SeeIdentity,
    /// Find patients: list and search the register, and export the list.
    FindPatients,
    /// See clinical data: diagnoses, notes, records.
    SeeClinical,
    /// Write encounters, diagnoses and treatment plans.
    WriteClinical,
    /// Prescribe medication.
    Prescribe,
    /// Dispense prescriptions and manage pharmacy stock.
    ManageStock,
    /// Create and change appointments.
    ScheduleAppointments,
    /// Create invoices and record payments.
    ManageBilling,
    /// Read the audit log.
    ReadAuditLog,
    /// Manage users, roles, keys and backups; see the system status page.
    AdministerSystem,
}

impl Capability {
    pub const ALL: [Capability; 11] = [
        Capability::EditDemographics,
        Capability::SeeIdentity,
        Capability::FindPatients,
        Capability::SeeClinical,
        Capability::WriteClinical,
        Capability::Prescribe,
        Capability::ManageStock,
        Capability::ScheduleAppointments,
        Capability::ManageBilling,
        Capability::ReadAuditLog,
        Capability::AdministerSystem,
    ];

    /// How the capability reads in the rendered matrix.
    pub fn label(self) -> &'static str {
        match self {
            Capability::EditDemographics => "register / edit demographics",
            Capability::SeeIdentity => "see identity (name, contact, DOB)",
            Capability::FindPatients => "find, list and export patients",
            Capability::SeeClinical => "see clinical data (diagnoses, notes, records)",
            Capability::WriteClinical => "write encounters, diagnoses, treatment plans",
            Capability::Prescribe => "prescribe",
            Capability::ManageStock => "dispense, manage stock",
            Capability::ScheduleAppointments => "schedule appointments",
            Capability::ManageBilling => "invoices and payments",
            Capability::ReadAuditLog => "audit log",
            Capability::AdministerSystem => "users, roles, keys, backups",
        }
    }
}

/// The condition under which a scoped grant applies; the service layer checks it against
/// the data in question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Only the patient's own contact details.
    OwnContactDetails,
    /// Clear when on the patient's care team, otherwise the pseudonymised view.
    CareTeamElsePseudonym,
    /// What dispensing needs: name, date of birth and hospital number, of the patients whose
    /// prescriptions are dispensed.
    ForDispensing,
    /// The patient's own record.
    Own,
    /// Always the pseudonymised view.
    Pseudonym,
    /// On the patient's care team, or with an active break-the-glass grant.
    CareTeamOrBreakGlass,
    /// On the patient's care team.
    CareTeam,
    /// Prescriptions (with their acknowledged warnings) and allergies, not notes.
    PrescriptionsAndAllergies,
    /// Treatment updates and vitals only.
    TreatmentUpdatesAndVitals,
    /// Only the clinician's own schedule.
    OwnSchedule,
    /// Request appointments for oneself.
    RequestOwn,
    /// View one's own.
    ViewOwn,
    /// See who accessed one's own record.
    WhoAccessedMyRecord,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Scope::OwnContactDetails => "own contact details",
            Scope::CareTeamElsePseudonym => "care team, else pseudonym",
            Scope::ForDispensing => "name, DOB, MRN for dispensing",
            Scope::Own => "own",
            Scope::Pseudonym => "pseudonym",
            Scope::CareTeamOrBreakGlass => "care team or break-glass",
            Scope::CareTeam => "care team",
            Scope::PrescriptionsAndAllergies => "prescriptions and allergies",
            Scope::TreatmentUpdatesAndVitals => {
                "treatment updates, vitals, triage, nursing notes, addenda"
            }
            Scope::OwnSchedule => "own schedule",
            Scope::RequestOwn => "request own",
            Scope::ViewOwn => "view own",
            Scope::WhoAccessedMyRecord => "who accessed my record",
        }
    }
}

/// What a role gets for a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grant {
    No,
    Yes,
    Scoped(Scope),
}

impl Grant {
    /// `true` unless the grant is [`Grant::No`]: the role may attempt the capability, and a
    /// scope (if any) decides for the particular record.
    pub fn is_possible(self) -> bool {
        !matches!(self, Grant::No)
    }

    pub fn label(self) -> &'static str {
        match self {
            Grant::No => "–",
            Grant::Yes => "yes",
            Grant::Scoped(scope) => scope.label(),
        }
    }
}

use Grant::{No, Scoped, Yes};
use Scope::*;

/// The default matrix. Columns follow [`Role::ALL`]:
/// admin, doctor, nurse, receptionist, pharmacist, patient, auditor.
const MATRIX: [(Capability, [Grant; 7]); 11] = [
    (
        Capability::EditDemographics,
        [Yes, No, No, Yes, No, Scoped(OwnContactDetails), No],
    ),
    (
        Capability::SeeIdentity,
        [
            Yes,
            Scoped(CareTeamElsePseudonym),
            Scoped(CareTeamElsePseudonym),
            Yes,
            Scoped(ForDispensing),
            Scoped(Own),
            Scoped(Pseudonym),
        ],
    ),
    (
        // Pharmacists reach patients through the prescriptions they dispense (the
        // dispensing queue and its search), never through the register; patients have
        // their own record.
        Capability::FindPatients,
        [
            Yes,
            Scoped(CareTeamElsePseudonym),
            Scoped(CareTeamElsePseudonym),
            Yes,
            No,
            No,
            Scoped(Pseudonym),
        ],
    ),
    (
        Capability::SeeClinical,
        [
            Yes,
            Scoped(CareTeamOrBreakGlass),
            Scoped(CareTeam),
            No,
            Scoped(PrescriptionsAndAllergies),
            Scoped(Own),
            No,
        ],
    ),
    (
        Capability::WriteClinical,
        [
            No,
            Scoped(CareTeam),
            Scoped(TreatmentUpdatesAndVitals),
            No,
            No,
            No,
            No,
        ],
    ),
    (Capability::Prescribe, [No, Yes, No, No, No, No, No]),
    (Capability::ManageStock, [Yes, No, No, No, Yes, No, No]),
    (
        Capability::ScheduleAppointments,
        [
            Yes,
            Scoped(OwnSchedule),
            No,
            Yes,
            No,
            Scoped(RequestOwn),
            No,
        ],
    ),
    (
        Capability::ManageBilling,
        [Yes, No, No, Yes, Yes, Scoped(ViewOwn), No],
    ),
    (
        Capability::ReadAuditLog,
        [Yes, No, No, No, No, Scoped(WhoAccessedMyRecord), Yes],
    ),
    (Capability::AdministerSystem, [Yes, No, No, No, No, No, No]),
];

fn role_column(role: Role) -> usize {
    Role::ALL.iter().position(|r| *r == role).unwrap_or(0)
}

/// What `role` gets for `capability` by default.
pub fn grant(role: Role, capability: Capability) -> Grant {
    MATRIX
        .iter()
        .find(|(c, _)| *c == capability)
        .map_or(No, |(_, grants)| grants[role_column(role)])
}

/// The matrix as a Markdown document (docs/PERMISSIONS.md is this text, checked by a test).
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Permissions\n\n\
         <!-- Generated from `carevault_core::permission::render_markdown`; do not edit by hand.\n\
         Regenerate with `CAREVAULT_BLESS=1 cargo test -p carevault-core permissions_doc`. -->\n\n\
         The default permission matrix. Every service function checks it before it touches \
         data; a scoped grant (for example *care team*) is resolved against the record in \
         question. A hospital can tighten these defaults.\n\n",
    );
    out.push_str("| capability |");
    for role in Role::ALL {
        out.push_str(&format!(" {} |", role.as_str()));
    }
    out.push_str("\n|---|");
    for _ in Role::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for (capability, grants) in MATRIX {
        out.push_str(&format!("| {} |", capability.label()));
        for g in grants {
            out.push_str(&format!(" {} |", g.label()));
        }
        out.push('\n');
    }
    out.push_str(
        "\n*Care team* = clinicians with an appointment or encounter with the patient, an \
         explicit assignment, or a share granted by the patient; for a nurse also the patients \
         checked in (or being seen) today in her department. Outside it, a doctor sees the \
         pseudonymised view (`ANON_1021`, `XXX-XXX-4592`) unless they break the glass: a stated \
         reason, time-limited access to one patient, an alert to admins and an entry in a \
         review queue.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_capability_is_in_the_matrix_once() {
        for capability in Capability::ALL {
            assert_eq!(MATRIX.iter().filter(|(c, _)| *c == capability).count(), 1);
        }
    }

    #[test]
    fn only_admins_administer() {
        for role in Role::ALL {
            assert_eq!(
                grant(role, Capability::AdministerSystem).is_possible(),
                role == Role::Admin
            );
        }
    }

    #[test]
    fn pharmacists_and_patients_cannot_find_patients() {
        for role in [Role::Pharmacist, Role::Patient] {
            assert_eq!(grant(role, Capability::FindPatients), Grant::No, "{role:?}");
        }
        assert_eq!(
            grant(Role::Receptionist, Capability::FindPatients),
            Grant::Yes
        );
    }

    #[test]
    fn receptionists_never_see_clinical_data() {
        assert_eq!(
            grant(Role::Receptionist, Capability::SeeClinical),
            Grant::No
        );
        assert_eq!(grant(Role::Auditor, Capability::SeeClinical), Grant::No);
    }

    /// docs/PERMISSIONS.md must be exactly what the code renders.
    #[test]
    fn permissions_doc_matches_the_matrix() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/PERMISSIONS.md");
        let rendered = render_markdown();
        if std::env::var_os("CAREVAULT_BLESS").is_some() {
            std::fs::write(path, &rendered).unwrap();
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == rendered,
            "docs/PERMISSIONS.md is out of date: run CAREVAULT_BLESS=1 cargo test -p carevault-core"
        );
    }
}
