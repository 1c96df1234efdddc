//! Who may read and write a patient's allergy list and problem list
//! ([`chart_list_allowed`]).

use crate::masking::PatientView;
use crate::role::Role;

/// Who may do what with a patient's allergy list and problem list. The one place the rule
/// lives; the service asks it with the actor's role, the view the masking policy gave them
/// and whether they are in the patient's care now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartListAction {
    /// Read the allergy list or the problem list.
    Read,
    /// Record an allergy or "no known allergies", change an entry's status.
    WriteAllergies,
    /// Add a problem, resolve or reactivate one.
    WriteProblems,
}

/// Whether `role`, seeing the patient in `view` and `in_care` (on the care team, by
/// emergency access or by a share of the whole record), may do `action`. Reading is for
/// whoever gets the full or own view (administrators, the care team, the patient); writing
/// allergies is for doctors and nurses in the patient's care; the problem list for doctors in
/// the patient's care. Administrators do not write clinical data; reception, pharmacists and
/// auditors have no access.
pub fn chart_list_allowed(
    role: Role,
    view: PatientView,
    in_care: bool,
    action: ChartListAction,
) -> bool {
    match action {
        ChartListAction::Read => matches!(view, PatientView::Full | PatientView::Own),
        ChartListAction::WriteAllergies => {
            in_care && view == PatientView::Full && matches!(role, Role::Doctor | Role::Nurse)
        }
        ChartListAction::WriteProblems => {
            in_care && view == PatientView::Full && role == Role::Doctor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_list_rule() {
        use ChartListAction::*;
        use PatientView::*;
        for role in Role::ALL {
            assert!(chart_list_allowed(role, Full, false, Read));
            assert!(!chart_list_allowed(role, Masked, true, Read));
            assert!(!chart_list_allowed(role, Registration, false, Read));
            assert!(!chart_list_allowed(role, Dispensing, false, Read));
            assert!(!chart_list_allowed(role, Pseudonymous, false, Read));
        }
        assert!(chart_list_allowed(Role::Patient, Own, false, Read));
        assert!(chart_list_allowed(Role::Nurse, Full, true, WriteAllergies));
        assert!(chart_list_allowed(Role::Doctor, Full, true, WriteAllergies));
        assert!(!chart_list_allowed(Role::Nurse, Full, true, WriteProblems));
        assert!(chart_list_allowed(Role::Doctor, Full, true, WriteProblems));
        // A shared item gives a masked view; a full view without care (an administrator).
        assert!(!chart_list_allowed(
            Role::Doctor,
            Full,
            false,
            WriteProblems
        ));
        assert!(!chart_list_allowed(
            Role::Admin,
            Full,
            false,
            WriteAllergies
        ));
        assert!(!chart_list_allowed(Role::Admin, Full, true, WriteAllergies));
        assert!(!chart_list_allowed(
            Role::Patient,
            Own,
            true,
            WriteAllergies
        ));
    }
}
