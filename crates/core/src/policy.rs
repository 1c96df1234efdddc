//! The one access policy, as data: role × the actor's relation to the patient (or resource)
//! × action → allow, allow masked, or refuse with a reason.
//!
//! [`MATRIX`] gives every [`Role`] a [`Grant`] for every [`Action`]: no, yes, or yes within
//! a [`Scope`] that names the relations it admits. [`decide`] is the whole decision; the
//! service layer only works out the [`Relation`] (once per request, from the data) and asks.
//! The route table gates every route on its action, the web navigation lists the pages
//! whose action the role may perform, and docs/PERMISSIONS.md is [`render_markdown`],
//! checked by a test, so code, screens and documentation cannot disagree. A hospital can
//! tighten these defaults; it cannot widen them past this table.

use crate::role::Role;

/// How the actor stands to the patient whose data is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// The patient's own account.
    Own,
    /// On the patient's care team: assigned, or the clinician of a current appointment.
    CareTeam,
    /// A doctor the patient shared their record with, while the share lasts.
    Share,
    /// A nurse of the department where the patient is checked in (or being seen) today.
    Department,
    /// A clinician holding emergency (break-the-glass) access, while it lasts.
    BreakGlass,
    /// No relation to the patient (or no patient involved).
    None,
}

impl Relation {
    /// The relations that count as caring for the patient.
    pub fn is_care(self) -> bool {
        matches!(
            self,
            Relation::CareTeam | Relation::Share | Relation::Department | Relation::BreakGlass
        )
    }
}

/// What the policy answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Go ahead, with the role's own view of the patient.
    Allow,
    /// Go ahead with the pseudonymised view only.
    AllowMasked,
    /// Refused; the reason is recorded in the audit trail and may be shown.
    Refuse(&'static str),
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        !matches!(self, Decision::Refuse(_))
    }
}

macro_rules! actions {
    ($($(#[doc = $doc:literal])* $name:ident => $label:literal, $refusal:literal;)*) => {
        /// Something a user may be allowed to do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[doc = $doc])* $name,)*
        }

        impl Action {
            pub const ALL: &[Action] = &[$(Action::$name,)*];

            /// How the action reads in the rendered matrix.
            pub fn label(self) -> &'static str {
                match self {
                    $(Action::$name => $label,)*
                }
            }

            /// Why a role without the action is refused.
            pub fn refusal(self) -> &'static str {
                match self {
                    $(Action::$name => $refusal,)*
                }
            }
        }
    };
}

actions! {
    /// One's own account: dashboard, notifications, password, sign-out; the departments.
    UseAccount => "own account, notifications, departments", "requires an account";
    /// The API's documentation page.
    ReadApiDocs => "API documentation", "the API documentation is for staff";
    /// Look up codes (ICD-10) while writing.
    LookUpCodes => "look up diagnosis codes", "code look-up is for staff";
    /// The patient portal: one's own record, visits, bills, documents, sharing, consents and
    /// who accessed the record.
    UsePortal => "patient portal (own record, visits, bills, sharing, access history)", "the patient portal is for patients";
    /// Find patients: list and search the register, and export the list.
    FindPatients => "find, list and export patients", "may not list or search patients";
    /// Look a patient up by pseudonym (`ANON_…`): for those whose screens show pseudonyms.
    LookUpPseudonyms => "look patients up by pseudonym", "search by name, date of birth, hospital number or phone";
    /// Register patients.
    RegisterPatients => "register patients", "requires registration rights";
    /// Change a registered patient's record (which fields: the scope).
    EditRecord => "edit a patient's record", "may not change this record";
    /// See who a patient is: name, contact details, date of birth.
    SeeIdentity => "see identity (name, contact, DOB)", "requires access to the patient's record";
    /// See who is on a patient's care team.
    SeeCareTeam => "see the care team", "the care team is shown to registration and the care team";
    /// Choose who is on a patient's care team.
    ManageCareTeam => "assign the care team", "requires registration rights";
    /// See clinical data: encounters, diagnoses, problems, allergies, vitals, documents.
    SeeClinical => "see clinical data (encounters, problems, allergies, vitals, documents)", "clinical records are for the patient's care team";
    /// See nursing notes.
    SeeNursingNotes => "see nursing notes", "nursing notes are for the care team";
    /// See prescriptions (with their acknowledged warnings) and allergies.
    SeeMedication => "see prescriptions", "requires access to the patient's record";
    /// Write encounters and diagnoses; keep the problem list; plan follow-ups.
    WriteEncounters => "write encounters, diagnoses, problem list", "encounters are written by doctors in the care team";
    /// Record allergies, vitals, treatment notes and addenda.
    WriteClinicalNotes => "record allergies, vitals, notes, addenda", "clinical notes are written by the care team";
    /// Triage and nursing notes; the nurse's list of patients.
    NursingCare => "triage, nursing notes, my patients", "triage and nursing notes are written by nurses";
    /// Upload documents to a patient's record.
    UploadDocuments => "upload documents", "documents are shown with clinical data only";
    /// Prescribe medication.
    Prescribe => "prescribe", "requires prescribing rights";
    /// Be given access to a patient's record by the patient (a share).
    ReceiveShares => "receive a patient's share of their record", "records are shared with doctors";
    /// Ask for emergency access to a patient outside one's care (break the glass).
    BreakTheGlass => "break the glass", "emergency access is for clinicians";
    /// See emergency access grants (one's own; administrators: all).
    SeeEmergencyAccess => "see emergency access grants", "the review queue is for administrators";
    /// Review emergency access.
    ReviewEmergencyAccess => "review emergency access", "the review queue is for administrators";
    /// A clinician's day: own appointments and encounters (a menu entry).
    ClinicalWorklist => "my day (worklist)", "the worklist is for clinicians";
    /// Dispense prescriptions: the dispensing queue.
    Dispense => "dispense", "requires dispensing rights";
    /// The formulary and stock.
    ManageStock => "formulary and stock", "requires pharmacy rights";
    /// See appointments, the schedule and the desk; check in; change an appointment's status.
    Appointments => "appointments: schedule, check-in, status", "this role sees no appointments";
    /// Book appointments for patients.
    BookAppointments => "book appointments", "requires scheduling rights";
    /// The check-in desk (a menu entry).
    FrontDesk => "check-in desk", "the desk is for reception";
    /// The staff directory.
    SeeStaff => "staff directory", "requires a staff or patient account";
    /// Departments and staff profiles.
    ManageDepartments => "manage departments, staff profiles", "requires administrator";
    /// See invoices and receipts.
    SeeBills => "see invoices", "requires billing rights";
    /// Open invoices, add lines, issue, record payments; see prices.
    ManageBilling => "invoices and payments", "requires billing rights";
    /// Void an invoice; set prices.
    AdministerBilling => "void invoices, set prices", "requires administrator";
    /// Appointment and billing reports.
    OfficeReports => "appointment and billing reports", "reports are for administrators and reception";
    /// The diagnoses report (de-identified counts).
    ClinicalReports => "diagnoses report", "the diagnoses report is for administrators and doctors";
    /// Consents.
    ManageConsents => "consents", "requires registration rights";
    /// A data subject's rights over their record: the access export, the list of shares.
    SubjectRights => "access export, shares", "requires administrator or the patient";
    /// Read the audit log and the records of processing.
    ReadAuditLog => "audit log, records of processing", "requires audit-log access";
    /// Erasure, legal holds and retention.
    ManageRetention => "erasure, legal holds, retention", "requires administrator";
    /// Users, keys, backups, the system status page, the research export.
    AdministerSystem => "users, keys, backups, status, research export", "requires administrator";
}

/// The condition under which a scoped grant applies, as the relations it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The patient's own record.
    Own,
    /// Only the patient's own contact details.
    OwnContactDetails,
    /// A relation of care (care team, share, department, break-the-glass).
    CareTeam,
    /// Clear with a relation of care, otherwise the pseudonymised view.
    CareTeamElsePseudonym,
    /// Clinical fields, with a relation of care.
    ClinicalFieldsInCare,
    /// Identity and contact fields, never clinical ones.
    NonClinicalFields,
    /// What dispensing needs: name, date of birth and hospital number, of any patient whose
    /// prescription is dispensed.
    ForDispensing,
    /// Always the pseudonymised view.
    Pseudonym,
    /// Only the clinician's own schedule (and department).
    OwnSchedule,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::OwnContactDetails => "own contact details",
            Scope::CareTeam => "care team",
            Scope::CareTeamElsePseudonym => "care team, else pseudonym",
            Scope::ClinicalFieldsInCare => "clinical fields, care team",
            Scope::NonClinicalFields => "non-clinical fields",
            Scope::ForDispensing => "name, DOB, MRN for dispensing",
            Scope::Pseudonym => "pseudonym",
            Scope::OwnSchedule => "own schedule",
        }
    }

    /// What the scope answers for `relation`.
    pub fn decide(self, relation: Relation, refusal: &'static str) -> Decision {
        let own = relation == Relation::Own;
        match self {
            Scope::Own | Scope::OwnContactDetails => {
                if own {
                    Decision::Allow
                } else {
                    Decision::Refuse("not the patient's own record")
                }
            }
            Scope::CareTeam | Scope::ClinicalFieldsInCare => {
                if relation.is_care() {
                    Decision::Allow
                } else {
                    Decision::Refuse(refusal)
                }
            }
            Scope::CareTeamElsePseudonym => {
                if relation.is_care() {
                    Decision::Allow
                } else {
                    Decision::AllowMasked
                }
            }
            Scope::Pseudonym => Decision::AllowMasked,
            Scope::NonClinicalFields | Scope::ForDispensing | Scope::OwnSchedule => Decision::Allow,
        }
    }
}

/// What a role gets for an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grant {
    No,
    Yes,
    Scoped(Scope),
}

impl Grant {
    /// `true` unless the grant is [`Grant::No`]: the role may attempt the action, and a scope
    /// (if any) decides for the particular record.
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
#[rustfmt::skip]
const MATRIX: &[(Action, [Grant; 7])] = &[
    //                                 admin doctor                  nurse                   reception                  pharmacist             patient                    auditor
    (Action::UseAccount,            [Yes, Yes,                    Yes,                    Yes,                       Yes,                   Yes,                       Yes]),
    (Action::ReadApiDocs,           [Yes, Yes,                    Yes,                    Yes,                       Yes,                   No,                        Yes]),
    (Action::LookUpCodes,           [Yes, Yes,                    Yes,                    Yes,                       Yes,                   No,                        Yes]),
    (Action::UsePortal,             [No,  No,                     No,                     No,                        No,                    Scoped(Own),               No]),
    // Pharmacists reach patients through the prescriptions they dispense, never through
    // the register; patients have their own record.
    (Action::FindPatients,          [Yes, Scoped(CareTeamElsePseudonym), Scoped(CareTeamElsePseudonym), Yes,         No,                    No,                        Scoped(Pseudonym)]),
    (Action::LookUpPseudonyms,      [Yes, Yes,                    Yes,                    No,                        No,                    No,                        Yes]),
    (Action::RegisterPatients,      [Yes, No,                     No,                     Yes,                       No,                    No,                        No]),
    (Action::EditRecord,            [Yes, Scoped(ClinicalFieldsInCare), No,               Scoped(NonClinicalFields), No,                    Scoped(OwnContactDetails), No]),
    (Action::SeeIdentity,           [Yes, Scoped(CareTeamElsePseudonym), Scoped(CareTeamElsePseudonym), Yes,         Scoped(ForDispensing), Scoped(Own),               Scoped(Pseudonym)]),
    (Action::SeeCareTeam,           [Yes, Scoped(CareTeam),       Scoped(CareTeam),       Yes,                       No,                    Scoped(Own),               No]),
    (Action::ManageCareTeam,        [Yes, No,                     No,                     Yes,                       No,                    No,                        No]),
    (Action::SeeClinical,           [Yes, Scoped(CareTeam),       Scoped(CareTeam),       No,                        No,                    Scoped(Own),               No]),
    (Action::SeeNursingNotes,       [Yes, Scoped(CareTeam),       Scoped(CareTeam),       No,                        No,                    No,                        No]),
    (Action::SeeMedication,         [Yes, Scoped(CareTeam),       Scoped(CareTeam),       No,                        Scoped(ForDispensing), Scoped(Own),               No]),
    (Action::WriteEncounters,       [No,  Scoped(CareTeam),       No,                     No,                        No,                    No,                        No]),
    (Action::WriteClinicalNotes,    [No,  Scoped(CareTeam),       Scoped(CareTeam),       No,                        No,                    No,                        No]),
    (Action::NursingCare,           [No,  No,                     Scoped(CareTeam),       No,                        No,                    No,                        No]),
    (Action::UploadDocuments,       [Yes, Scoped(CareTeam),       Scoped(CareTeam),       No,                        No,                    Scoped(Own),               No]),
    (Action::Prescribe,             [No,  Scoped(CareTeam),       No,                     No,                        No,                    No,                        No]),
    (Action::ReceiveShares,         [No,  Yes,                    No,                     No,                        No,                    No,                        No]),
    (Action::BreakTheGlass,         [No,  Yes,                    Yes,                    No,                        No,                    No,                        No]),
    (Action::SeeEmergencyAccess,    [Yes, Scoped(Own),            Scoped(Own),            No,                        No,                    No,                        No]),
    (Action::ReviewEmergencyAccess, [Yes, No,                     No,                     No,                        No,                    No,                        No]),
    (Action::ClinicalWorklist,      [No,  Yes,                    Yes,                    No,                        No,                    No,                        No]),
    (Action::Dispense,              [No,  No,                     No,                     No,                        Yes,                   No,                        No]),
    (Action::ManageStock,           [Yes, No,                     No,                     No,                        Yes,                   No,                        No]),
    (Action::Appointments,          [Yes, Yes,                    Yes,                    Yes,                       No,                    Scoped(Own),               No]),
    (Action::BookAppointments,      [Yes, Scoped(OwnSchedule),    No,                     Yes,                       No,                    No,                        No]),
    (Action::FrontDesk,             [Yes, No,                     No,                     Yes,                       No,                    No,                        No]),
    (Action::SeeStaff,              [Yes, Yes,                    Yes,                    Yes,                       Yes,                   Yes,                       No]),
    (Action::ManageDepartments,     [Yes, No,                     No,                     No,                        No,                    No,                        No]),
    (Action::SeeBills,              [Yes, No,                     No,                     Yes,                       Yes,                   Scoped(Own),               No]),
    (Action::ManageBilling,         [Yes, No,                     No,                     Yes,                       Yes,                   No,                        No]),
    (Action::AdministerBilling,     [Yes, No,                     No,                     No,                        No,                    No,                        No]),
    (Action::OfficeReports,         [Yes, No,                     No,                     Yes,                       No,                    No,                        No]),
    (Action::ClinicalReports,       [Yes, Yes,                    No,                     No,                        No,                    No,                        No]),
    (Action::ManageConsents,        [Yes, No,                     No,                     Yes,                       No,                    Scoped(Own),               No]),
    (Action::SubjectRights,         [Yes, No,                     No,                     No,                        No,                    Scoped(Own),               No]),
    (Action::ReadAuditLog,          [Yes, No,                     No,                     No,                        No,                    No,                        Yes]),
    (Action::ManageRetention,       [Yes, No,                     No,                     No,                        No,                    No,                        No]),
    (Action::AdministerSystem,      [Yes, No,                     No,                     No,                        No,                    No,                        No]),
];

fn role_column(role: Role) -> usize {
    Role::ALL.iter().position(|r| *r == role).unwrap_or(0)
}

/// What `role` gets for `action` by default.
pub fn grant(role: Role, action: Action) -> Grant {
    MATRIX
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(No, |(_, grants)| grants[role_column(role)])
}

/// The whole decision: may `role`, standing in `relation` to the patient, do `action`?
pub fn decide(role: Role, action: Action, relation: Relation) -> Decision {
    match grant(role, action) {
        No => Decision::Refuse(action.refusal()),
        Yes => Decision::Allow,
        Scoped(scope) => scope.decide(relation, action.refusal()),
    }
}

/// The roles whose grant for `action` is an unconditional yes (for example, who is told of
/// an emergency access: those who read the audit log).
pub fn roles_granted(action: Action) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|role| grant(*role, action) == Yes)
        .collect()
}

/// The matrix as a Markdown document (docs/PERMISSIONS.md is this text, checked by a test).
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Permissions\n\n\
         <!-- Generated from `carevault_core::policy::render_markdown`; do not edit by hand.\n\
         Regenerate with `CAREVAULT_BLESS=1 cargo test -p carevault-core permissions_doc`. -->\n\n\
         The default access policy. Every route is declared with one of these actions and \
         refused (403, recorded in the audit trail) for a role without it; every use case \
         asks the same policy again for the record in question, where a scoped grant (for \
         example *care team*) is resolved against the actor's relation to the patient. The \
         menu shows a page exactly when the role has its action. A hospital can tighten \
         these defaults.\n\n",
    );
    out.push_str("| action |");
    for role in Role::ALL {
        out.push_str(&format!(" {} |", role.as_str()));
    }
    out.push_str("\n|---|");
    for _ in Role::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for (action, grants) in MATRIX {
        out.push_str(&format!("| {} |", action.label()));
        for g in grants {
            out.push_str(&format!(" {} |", g.label()));
        }
        out.push('\n');
    }
    out.push_str(
        "\n## Relations\n\n\
         A scoped grant is decided by how the actor stands to the patient:\n\n\
         - **own**: the patient's own account.\n\
         - **care team** (any of): assigned by an administrator or receptionist, or the \
         clinician of a scheduled, checked-in, in-progress or completed appointment \
         (*care team*); a doctor the patient shared their record with, while the share lasts \
         (*share*); a nurse of the department where the patient is checked in or being seen \
         today (*department*); a clinician holding emergency access, while it lasts \
         (*break-the-glass*).\n\
         - **none**: anyone else. Outside the care team a doctor or nurse sees the \
         pseudonymised view (`ANON_1021`, `XXX-XXX-4592`) and no clinical data unless they \
         break the glass: a stated reason, time-limited access to one patient, an alert to \
         administrators and auditors and an entry in a review queue.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_in_the_matrix_once() {
        for action in Action::ALL {
            assert_eq!(MATRIX.iter().filter(|(a, _)| a == action).count(), 1);
        }
        assert_eq!(MATRIX.len(), Action::ALL.len());
    }

    #[test]
    fn only_admins_administer() {
        for role in Role::ALL {
            assert_eq!(
                grant(role, Action::AdministerSystem).is_possible(),
                role == Role::Admin
            );
        }
    }

    #[test]
    fn pharmacists_and_patients_cannot_find_patients() {
        for role in [Role::Pharmacist, Role::Patient] {
            assert_eq!(grant(role, Action::FindPatients), Grant::No, "{role:?}");
        }
        assert_eq!(grant(Role::Receptionist, Action::FindPatients), Grant::Yes);
    }

    #[test]
    fn receptionists_and_auditors_never_see_clinical_data() {
        for role in [Role::Receptionist, Role::Auditor] {
            for action in [Action::SeeClinical, Action::SeeMedication] {
                assert_eq!(grant(role, action), Grant::No, "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn a_patient_is_refused_on_someone_elses_record() {
        // What a patient may do about a patient is scoped to their own record; their
        // unconditional grants (own account, the directories) involve no patient.
        for action in Action::ALL {
            if let Grant::Scoped(_) = grant(Role::Patient, *action) {
                assert!(
                    !decide(Role::Patient, *action, Relation::None).is_allowed(),
                    "{action:?}"
                );
                assert!(decide(Role::Patient, *action, Relation::Own).is_allowed());
            }
        }
    }

    #[test]
    fn outside_the_care_team_clinicians_see_pseudonyms_and_no_clinical_data() {
        for role in [Role::Doctor, Role::Nurse] {
            assert_eq!(
                decide(role, Action::SeeIdentity, Relation::None),
                Decision::AllowMasked
            );
            assert!(!decide(role, Action::SeeClinical, Relation::None).is_allowed());
            for relation in [
                Relation::CareTeam,
                Relation::Share,
                Relation::Department,
                Relation::BreakGlass,
            ] {
                assert_eq!(decide(role, Action::SeeClinical, relation), Decision::Allow);
            }
        }
    }

    #[test]
    fn break_the_glass_alerts_go_to_administrators_and_auditors() {
        assert_eq!(
            roles_granted(Action::ReadAuditLog),
            [Role::Admin, Role::Auditor]
        );
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
