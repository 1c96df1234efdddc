//! The patient chart's sections and which of them each view of a patient shows, as data.
//!
//! The chart is the clinician's one screen of a patient: banner, problems, allergies,
//! medications, vitals, encounters, appointments, documents, bills and care team. Which
//! sections an actor receives follows from their role and the [`PatientView`] the masking
//! policy gives them of this patient ([`crate::masking::view_for`]); a section not listed is
//! not loaded, not opened and not sent. docs/MASKING.md renders [`render_markdown`].
//!
//! "Details" (the record's identifying and contact fields) are in every view, masked as
//! `crate::masking` says. The banner (name as the view allows, MRN, age, date of birth, sex, alerts) is on every
//! chart and every patient-scoped page; its allergy line is shown exactly when the
//! [`ChartSection::Allergies`] section is, so a clinician who sees the patient sees what
//! they are allergic to.

use crate::masking::PatientView;
use crate::role::Role;

/// One section of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChartSection {
    /// The record's identifying and contact fields, as the view masks them.
    Demographics,
    Allergies,
    Problems,
    /// Active prescriptions with what was dispensed.
    Medications,
    /// The latest vitals and a trend of the last readings.
    Vitals,
    /// Recent encounters: status, author, diagnoses.
    Encounters,
    /// The nurses' latest triages and nursing notes (clinicians' working notes: not in the
    /// patient's own view, like treatment notes).
    Nursing,
    /// Upcoming and recent appointments.
    Appointments,
    Documents,
    Bills,
    CareTeam,
}

impl ChartSection {
    pub const ALL: [ChartSection; 11] = [
        ChartSection::Demographics,
        ChartSection::Allergies,
        ChartSection::Problems,
        ChartSection::Medications,
        ChartSection::Vitals,
        ChartSection::Encounters,
        ChartSection::Nursing,
        ChartSection::Appointments,
        ChartSection::Documents,
        ChartSection::Bills,
        ChartSection::CareTeam,
    ];

    /// The section's name in JSON, HTML ids and audit reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            ChartSection::Demographics => "demographics",
            ChartSection::Allergies => "allergies",
            ChartSection::Problems => "problems",
            ChartSection::Medications => "medications",
            ChartSection::Vitals => "vitals",
            ChartSection::Encounters => "encounters",
            ChartSection::Nursing => "nursing",
            ChartSection::Appointments => "appointments",
            ChartSection::Documents => "documents",
            ChartSection::Bills => "bills",
            ChartSection::CareTeam => "care_team",
        }
    }

    /// The section's heading.
    pub fn label(self) -> &'static str {
        match self {
            ChartSection::Demographics => "Details",
            ChartSection::Allergies => "Allergies",
            ChartSection::Problems => "Problems",
            ChartSection::Medications => "Medications",
            ChartSection::Vitals => "Vitals",
            ChartSection::Encounters => "Encounters",
            ChartSection::Nursing => "Nursing notes",
            ChartSection::Appointments => "Appointments",
            ChartSection::Documents => "Documents",
            ChartSection::Bills => "Bills",
            ChartSection::CareTeam => "Care team",
        }
    }

    /// Clinical sections: never sent to a view without clinical access.
    pub fn is_clinical(self) -> bool {
        matches!(
            self,
            ChartSection::Allergies
                | ChartSection::Problems
                | ChartSection::Medications
                | ChartSection::Vitals
                | ChartSection::Encounters
                | ChartSection::Nursing
                | ChartSection::Documents
        )
    }
}

use ChartSection as S;

/// Everything: administrators.
const EVERYTHING: &[ChartSection] = &ChartSection::ALL;
/// The patient: everything but the clinicians' working notes (nursing notes).
const OWN: &[ChartSection] = &[
    S::Demographics,
    S::Allergies,
    S::Problems,
    S::Medications,
    S::Vitals,
    S::Encounters,
    S::Appointments,
    S::Documents,
    S::Bills,
    S::CareTeam,
];
/// The care team (and break-the-glass): everything clinical, not the bills (billing is
/// reception's, pharmacy's and administrators' work).
const CLINICAL_TEAM: &[ChartSection] = &[
    S::Demographics,
    S::Allergies,
    S::Problems,
    S::Medications,
    S::Vitals,
    S::Encounters,
    S::Nursing,
    S::Appointments,
    S::Documents,
    S::CareTeam,
];
/// Reception: who the patient is and how to reach them, their appointments, bills and care
/// team; nothing clinical.
const RECEPTION: &[ChartSection] = &[S::Demographics, S::Appointments, S::Bills, S::CareTeam];
/// Pharmacy: what dispensing needs — who the patient is (name, date of birth, MRN), the
/// allergies and the medications.
const DISPENSING: &[ChartSection] = &[S::Demographics, S::Allergies, S::Medications];
/// Clinicians outside the care team and auditors: the masked or pseudonymised details only.
const MASKED: &[ChartSection] = &[S::Demographics];

/// The sections `role` receives of a patient it sees through `view`.
pub fn chart_sections(role: Role, view: PatientView) -> &'static [ChartSection] {
    match view {
        PatientView::Own => OWN,
        PatientView::Full if role == Role::Admin => EVERYTHING,
        PatientView::Full => CLINICAL_TEAM,
        PatientView::Registration => RECEPTION,
        PatientView::Dispensing => DISPENSING,
        PatientView::Masked | PatientView::Pseudonymous => MASKED,
    }
}

/// The chart sections per view, as a Markdown table (for docs/MASKING.md).
pub fn render_markdown() -> String {
    let mut out = String::from("| view | who | chart sections |\n|---|---|---|\n");
    let rows: [(PatientView, Role, &str); 7] = [
        (PatientView::Full, Role::Admin, "administrators"),
        (
            PatientView::Full,
            Role::Doctor,
            "the care team (and break-the-glass)",
        ),
        (PatientView::Own, Role::Patient, "the patient"),
        (PatientView::Registration, Role::Receptionist, "reception"),
        (PatientView::Dispensing, Role::Pharmacist, "pharmacy"),
        (
            PatientView::Masked,
            Role::Doctor,
            "clinicians outside the care team",
        ),
        (PatientView::Pseudonymous, Role::Auditor, "auditors"),
    ];
    for (view, role, who) in rows {
        let sections = chart_sections(role, view);
        let list = sections
            .iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!("| {} | {who} | {list} |\n", view.label()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_without_clinical_access_get_no_clinical_section() {
        for role in Role::ALL {
            for view in [
                PatientView::Registration,
                PatientView::Masked,
                PatientView::Pseudonymous,
            ] {
                assert!(
                    chart_sections(role, view).iter().all(|s| !s.is_clinical()),
                    "{role:?} {view:?}"
                );
            }
        }
    }

    #[test]
    fn pharmacy_sees_what_dispensing_needs_and_no_more() {
        assert_eq!(
            chart_sections(Role::Pharmacist, PatientView::Dispensing),
            &[
                ChartSection::Demographics,
                ChartSection::Allergies,
                ChartSection::Medications
            ]
        );
    }

    #[test]
    fn only_billing_roles_and_the_patient_see_bills() {
        assert!(chart_sections(Role::Admin, PatientView::Full).contains(&ChartSection::Bills));
        assert!(!chart_sections(Role::Doctor, PatientView::Full).contains(&ChartSection::Bills));
        assert!(!chart_sections(Role::Nurse, PatientView::Full).contains(&ChartSection::Bills));
        assert!(
            chart_sections(Role::Receptionist, PatientView::Registration)
                .contains(&ChartSection::Bills)
        );
        assert!(chart_sections(Role::Patient, PatientView::Own).contains(&ChartSection::Bills));
    }

    #[test]
    fn the_care_team_sees_every_clinical_section() {
        for section in ChartSection::ALL.into_iter().filter(|s| s.is_clinical()) {
            assert!(chart_sections(Role::Doctor, PatientView::Full).contains(&section));
            assert!(chart_sections(Role::Nurse, PatientView::Full).contains(&section));
        }
    }
}
