//! The requests waiting for a slot.

use super::*;

/// A pending request with the free slots of its clinician's day.
#[derive(Debug, Clone)]
struct RequestRow {
    item: AppointmentItem,
    preferred_times: Option<String>,
    start_value: String,
    clinician_id: String,
    free: Vec<FreeSlot>,
}

#[derive(Template)]
#[template(path = "appointment_requests.html")]
struct RequestsPage {
    layout: Layout,
    rows: Vec<RequestRow>,
    clinicians: Vec<SelectOption>,
    zone: String,
}

/// How many requests get their clinician's free slots looked up.
const REQUESTS_WITH_AVAILABILITY: usize = 25;

/// `GET /appointments/requests`: pending requests to accept or decline.
pub async fn requests(
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    staff_screen(&actor, "/my/appointments")?;
    let list = state
        .services
        .list_appointments(
            &actor,
            AppointmentQuery {
                statuses: vec![AppointmentStatus::Requested],
                ..AppointmentQuery::default()
            },
        )
        .await?;
    let staff = state.services.staff_directory(&actor).await?;
    let tz = state.services.clinic_time_zone();
    let mut rows = Vec::new();
    for (index, a) in list.iter().enumerate() {
        let mut free = Vec::new();
        if index < REQUESTS_WITH_AVAILABILITY
            && let Some(clinician) = a.clinician_id
            && a.next_statuses.contains(&AppointmentStatus::Scheduled)
        {
            let date = a.start.with_timezone(&tz).date_naive();
            if let Ok(availability) = state.services.availability(&actor, clinician, date).await {
                free = day_slots(&state, &availability.free);
            }
        }
        rows.push(RequestRow {
            item: item(&state, a),
            preferred_times: a.preferred_times.clone().flatten(),
            start_value: input_value(&state, a.start),
            clinician_id: a.clinician_id.map(|c| c.to_string()).unwrap_or_default(),
            free,
        });
    }
    render(&RequestsPage {
        layout: Layout::new(
            &state,
            &actor,
            "Appointment requests",
            "/appointments/requests",
            csrf,
        )
        .with_notice(notice),
        rows,
        clinicians: clinician_options(&staff, "", Some("The requested clinician")),
        zone: zone_name(&state),
    })
}
