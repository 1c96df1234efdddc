//! My day and the check-in desk.

use super::*;

#[derive(Template)]
#[template(path = "schedule_list.html")]
struct DayListPage {
    layout: Layout,
    intro: String,
    items: Vec<AppointmentItem>,
    return_to: &'static str,
    show_clinician: bool,
    empty: &'static str,
    /// "Start" opens the appointment's encounter (a doctor's own day).
    starts_encounters: bool,
}

/// `GET /my/day`: the signed-in clinician's appointments today.
pub async fn my_day(
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    staff_screen(&actor, "/my/appointments")?;
    let today = state.services.clinic_today();
    // The clinician's own calendar, for today.
    let query = schedule_query(actor.user_id(), None, today, today);
    let list = state.services.list_appointments(&actor, query).await?;
    // A doctor's "Start" opens the encounter (the service decides whether they may).
    let starts_encounters = actor.may(Action::WriteEncounters);
    let items = list
        .iter()
        .map(|a| {
            let mut shown = item(&state, a);
            if starts_encounters {
                shown
                    .actions
                    .retain(|act| act.status != AppointmentStatus::InProgress.as_str());
            }
            shown
        })
        .collect();
    render(&DayListPage {
        layout: Layout::new(&state, &actor, "My day", "/my/day", csrf).with_notice(notice),
        intro: format!(
            "{} — times in {}.",
            today.format("%A %d %B %Y"),
            zone_name(&state)
        ),
        items,
        return_to: "/my/day",
        show_clinician: false,
        empty: "Nothing booked for you today.",
        starts_encounters,
    })
}

/// `GET /desk`: reception's check-in desk, today's appointments in every department.
pub async fn desk(
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    staff_screen(&actor, "/my/appointments")?;
    let today = state.services.clinic_today();
    let list = state
        .services
        .list_appointments(
            &actor,
            AppointmentQuery {
                statuses: vec![
                    AppointmentStatus::Scheduled,
                    AppointmentStatus::CheckedIn,
                    AppointmentStatus::InProgress,
                ],
                from: Some(today),
                to: Some(today),
                ..AppointmentQuery::default()
            },
        )
        .await?;
    render(&DayListPage {
        layout: Layout::new(&state, &actor, "Check-in desk", "/desk", csrf).with_notice(notice),
        intro: format!(
            "Today's arrivals, {} — times in {}.",
            today.format("%A %d %B %Y"),
            zone_name(&state)
        ),
        items: list.iter().map(|a| item(&state, a)).collect(),
        return_to: "/desk",
        show_clinician: true,
        empty: "No arrivals expected for the rest of today.",
        starts_encounters: false,
    })
}
