//! Appointment statuses and the transitions allowed between them ([`TRANSITIONS`]), which
//! statuses hold their slot or put the clinician on the care team, and the appointment types.

text_choice!(
    /// Where an appointment stands. See [`TRANSITIONS`] for the allowed moves.
    AppointmentStatus, "the appointment statuses" {
        /// A patient asked for it; nobody has accepted it yet.
        Requested => "requested",
        /// Booked into a slot.
        Scheduled => "scheduled",
        /// The patient has arrived.
        CheckedIn => "checked_in",
        /// The clinician is seeing the patient.
        InProgress => "in_progress",
        /// Done. Final.
        Completed => "completed",
        /// Cancelled or declined (with a reason, kept elsewhere). Final.
        Cancelled => "cancelled",
        /// The patient did not come. Final.
        NoShow => "no_show",
    }
);

text_choice!(
    /// What kind of appointment it is.
    AppointmentType, "the appointment types" {
        Consultation => "consultation",
        FollowUp => "follow_up",
        Procedure => "procedure",
    }
);

use AppointmentStatus::{
    Cancelled, CheckedIn, Completed, InProgress, NoShow, Requested, Scheduled,
};

/// The allowed transitions: for each status, the statuses it may move to. A status with no
/// successors is final. One row per status, in [`AppointmentStatus::ALL`] order.
pub const TRANSITIONS: [(AppointmentStatus, &[AppointmentStatus]); 7] = [
    (Requested, &[Scheduled, Cancelled]),
    (Scheduled, &[CheckedIn, Cancelled, NoShow]),
    (CheckedIn, &[InProgress, Cancelled]),
    (InProgress, &[Completed]),
    (Completed, &[]),
    (Cancelled, &[]),
    (NoShow, &[]),
];

status_graph!(AppointmentStatus, "appointment", TRANSITIONS);

/// A refused appointment status change. Its message names the current status and what it may
/// become: "cannot go from scheduled to completed: from scheduled it can go to: checked_in,
/// cancelled, no_show".
pub type TransitionError = crate::status::TransitionError<AppointmentStatus>;

/// Whether an appointment in `status` holds its slot: no other appointment of the same
/// clinician or the same patient may overlap it. `requested` does not (not yet accepted);
/// `completed` does (the time was used); `cancelled` and `no_show` do not.
pub fn is_active(status: AppointmentStatus) -> bool {
    matches!(status, Scheduled | CheckedIn | InProgress | Completed)
}

/// Whether an appointment in `status` puts its clinician on the patient's care team:
/// scheduled, checked in, in progress or completed. A request, a cancellation or a no-show
/// does not.
pub fn puts_on_care_team(status: AppointmentStatus) -> bool {
    matches!(status, Scheduled | CheckedIn | InProgress | Completed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_types_round_trip_their_text() {
        for status in AppointmentStatus::ALL {
            assert_eq!(AppointmentStatus::parse(status.as_str()).unwrap(), *status);
            assert_eq!(status.to_string(), status.as_str());
        }
        for kind in AppointmentType::ALL {
            assert_eq!(AppointmentType::parse(kind.as_str()).unwrap(), *kind);
        }
        let texts: Vec<&str> = AppointmentStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            texts,
            [
                "requested",
                "scheduled",
                "checked_in",
                "in_progress",
                "completed",
                "cancelled",
                "no_show"
            ]
        );
        assert_eq!(
            AppointmentStatus::parse(" Checked-In ").unwrap(),
            AppointmentStatus::CheckedIn
        );
        assert_eq!(
            AppointmentType::parse("follow-up").unwrap(),
            AppointmentType::FollowUp
        );
        assert_eq!(
            AppointmentStatus::parse("done").unwrap_err(),
            "must be one of the appointment statuses: requested, scheduled, checked_in, \
             in_progress, completed, cancelled, no_show"
        );
        assert_eq!(
            AppointmentType::parse("surgery").unwrap_err(),
            "must be one of the appointment types: consultation, follow_up, procedure"
        );
    }

    #[test]
    fn the_transition_table_has_one_row_per_status_in_order() {
        for (i, status) in AppointmentStatus::ALL.iter().enumerate() {
            assert_eq!(TRANSITIONS[i].0, *status);
        }
    }

    #[test]
    fn the_full_transition_matrix() {
        // Columns in the same order as the rows (AppointmentStatus::ALL); x = allowed.
        assert_status_matrix!(
            AppointmentStatus,
            [
                // req sch chk inp com can nos
                ".   x   .   .   .   x   .", // requested
                ".   .   x   .   .   x   x", // scheduled
                ".   .   .   x   .   x   .", // checked_in
                ".   .   .   .   x   .   .", // in_progress
                ".   .   .   .   .   .   .", // completed
                ".   .   .   .   .   .   .", // cancelled
                ".   .   .   .   .   .   .", // no_show
            ]
        );
    }

    #[test]
    fn the_allowed_graph() {
        use AppointmentStatus as S;
        let allowed = [
            (S::Requested, S::Scheduled),
            (S::Requested, S::Cancelled),
            (S::Scheduled, S::CheckedIn),
            (S::Scheduled, S::Cancelled),
            (S::Scheduled, S::NoShow),
            (S::CheckedIn, S::InProgress),
            (S::CheckedIn, S::Cancelled),
            (S::InProgress, S::Completed),
        ];
        for &from in S::ALL {
            for &to in S::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
                assert_eq!(from.transition_to(to).is_ok(), expected, "{from} -> {to}");
            }
        }
        assert_eq!(S::Scheduled.transition_to(S::CheckedIn), Ok(S::CheckedIn));
        assert!(S::Completed.is_final() && S::Cancelled.is_final() && S::NoShow.is_final());
        assert!(!S::Requested.is_final() && !S::InProgress.is_final());
    }

    #[test]
    fn a_checked_in_patient_who_leaves_is_cancelled_not_a_no_show() {
        use AppointmentStatus as S;
        assert!(S::CheckedIn.can_transition_to(S::Cancelled));
        assert!(!S::CheckedIn.can_transition_to(S::NoShow));
    }

    #[test]
    fn refusals_name_the_current_status_and_the_way_on() {
        use AppointmentStatus as S;
        assert_eq!(
            S::Completed
                .transition_to(S::Scheduled)
                .unwrap_err()
                .to_string(),
            "cannot go from completed to scheduled: a completed appointment is final"
        );
        assert_eq!(
            S::Scheduled
                .transition_to(S::Completed)
                .unwrap_err()
                .to_string(),
            "cannot go from scheduled to completed: from scheduled it can go to: checked_in, \
             cancelled, no_show"
        );
        assert_eq!(
            S::Scheduled
                .transition_to(S::Scheduled)
                .unwrap_err()
                .to_string(),
            "cannot go from scheduled to scheduled: from scheduled it can go to: checked_in, \
             cancelled, no_show"
        );
        let error = S::NoShow.transition_to(S::CheckedIn).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot go from no_show to checked_in: a no_show appointment is final"
        );
        assert_eq!((error.from(), error.to()), (S::NoShow, S::CheckedIn));
        assert!(error.allowed().is_empty());
    }

    #[test]
    fn which_statuses_hold_the_slot_and_join_the_care_team() {
        use AppointmentStatus as S;
        let active: Vec<S> = S::ALL.iter().copied().filter(|s| is_active(*s)).collect();
        assert_eq!(
            active,
            [S::Scheduled, S::CheckedIn, S::InProgress, S::Completed]
        );
        let care: Vec<S> = S::ALL
            .iter()
            .copied()
            .filter(|s| puts_on_care_team(*s))
            .collect();
        assert_eq!(
            care,
            [S::Scheduled, S::CheckedIn, S::InProgress, S::Completed]
        );
    }
}
