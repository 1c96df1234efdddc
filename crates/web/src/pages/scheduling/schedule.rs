//! The calendars (day, week, month) and their CSV export.

use super::*;

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
struct ScheduleParams {
    clinician: String,
    department: String,
    date: String,
    view: String,
    notice: String,
}

/// One day column of a calendar.
#[derive(Debug, Clone)]
struct DayColumn {
    label: String,
    date: String,
    today: bool,
    items: Vec<AppointmentItem>,
    free: Vec<FreeSlot>,
    href: String,
}

#[derive(Template)]
#[template(path = "schedule.html")]
struct SchedulePage {
    layout: Layout,
    heading: String,
    clinicians: Vec<SelectOption>,
    departments: Vec<SelectOption>,
    date: String,
    week: bool,
    days: Vec<DayColumn>,
    previous_href: String,
    next_href: String,
    today_href: String,
    other_view_href: String,
    /// Booking links from free slots need a patient: offered only to those who book.
    zone: String,
    errors: ValidationErrors,
    csv_href: String,
}

pub(super) fn schedule_href(target: &str, date: NaiveDate, week: bool) -> String {
    let mut href = format!("/schedule?{target}&date={date}");
    if week {
        href.push_str("&view=week");
    }
    href
}

/// What a calendar shows: the day or week, and whose.
struct ScheduleScope {
    date: NaiveDate,
    week: bool,
    clinician: Option<UserId>,
    department: Option<DepartmentId>,
    first: NaiveDate,
    last: NaiveDate,
    departments: Vec<Department>,
}

/// The calendar's day or week and clinician or department from its query (problems go to
/// `errors`). Shared by `/schedule` and its CSV export, so both list the same appointments.
async fn schedule_scope(
    state: &AppState,
    actor: &Actor,
    params: &ScheduleParams,
    errors: &mut ValidationErrors,
) -> Result<ScheduleScope, PageError> {
    let today = state.services.clinic_today();
    let date = match params.date.trim() {
        "" => today,
        raw => errors
            .check(
                "date",
                NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map_err(|_| "must be a date like 2026-03-02".to_owned()),
            )
            .unwrap_or(today),
    };
    let week = match params.view.trim() {
        "" | "day" => false,
        "week" => true,
        _ => {
            errors.push("view", "must be day or week");
            false
        }
    };
    let clinician: Option<UserId> = match params.clinician.trim() {
        "" => None,
        raw => errors.check(
            "clinician",
            raw.parse().map_err(|_| "is not a valid id".to_owned()),
        ),
    };
    let department: Option<DepartmentId> = match params.department.trim() {
        "" => None,
        raw => errors.check(
            "department",
            raw.parse().map_err(|_| "is not a valid id".to_owned()),
        ),
    };
    let departments = state.services.departments(actor).await?;
    let (clinician, department) = match (clinician, department) {
        (Some(c), _) => (Some(c), None),
        (None, Some(d)) => (None, Some(d)),
        (None, None) => {
            if actor.may(Action::ClinicalWorklist) {
                (actor.user_id(), None)
            } else {
                (None, departments.first().map(|d| d.id))
            }
        }
    };
    let first = if week {
        date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
    } else {
        date
    };
    let last = if week {
        first + Duration::days(6)
    } else {
        first
    };
    Ok(ScheduleScope {
        date,
        week,
        clinician,
        department,
        first,
        last,
        departments,
    })
}

/// The calendar's appointments: the active and finished ones of its days.
pub(super) fn schedule_query(
    clinician: Option<UserId>,
    department: Option<DepartmentId>,
    first: NaiveDate,
    last: NaiveDate,
) -> AppointmentQuery {
    AppointmentQuery {
        clinician,
        department,
        statuses: vec![
            AppointmentStatus::Scheduled,
            AppointmentStatus::CheckedIn,
            AppointmentStatus::InProgress,
            AppointmentStatus::Completed,
            AppointmentStatus::NoShow,
        ],
        from: Some(first),
        to: Some(last),
        ..AppointmentQuery::default()
    }
}

/// `GET /schedule?clinician=…|department=…&date=…&view=day|week`.
pub async fn schedule(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    staff_screen(&actor, "/my/appointments")?;
    let mut errors = ValidationErrors::new();
    let params: ScheduleParams = match query_params(raw.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => {
            errors = e;
            ScheduleParams::default()
        }
    };
    let today = state.services.clinic_today();
    let ScheduleScope {
        date,
        week,
        clinician,
        department,
        first,
        last,
        departments,
    } = schedule_scope(&state, &actor, &params, &mut errors).await?;
    let appointments = if errors.is_empty() {
        state
            .services
            .list_appointments(&actor, schedule_query(clinician, department, first, last))
            .await?
    } else {
        Vec::new()
    };
    let staff = state.services.staff_directory(&actor).await?;
    let tz = state.services.clinic_time_zone();
    let heading = match (clinician, department) {
        (Some(c), _) => staff
            .iter()
            .find(|s| s.id == c)
            .map_or_else(|| "Clinician".to_owned(), |s| s.display_name.clone()),
        (None, Some(d)) => departments
            .iter()
            .find(|x| x.id == d)
            .map_or_else(|| "Department".to_owned(), |x| x.name.clone()),
        (None, None) => "No department yet".to_owned(),
    };
    let target = match (clinician, department) {
        (Some(c), _) => format!("clinician={c}"),
        (None, Some(d)) => format!("department={d}"),
        (None, None) => String::new(),
    };
    let mut days = Vec::new();
    let mut day = first;
    while day <= last {
        let items: Vec<AppointmentItem> = appointments
            .iter()
            .filter(|a| a.start.with_timezone(&tz).date_naive() == day)
            .map(|a| item(&state, a))
            .collect();
        let mut free = Vec::new();
        if let (Some(c), false) = (clinician, week)
            && let Ok(availability) = state.services.availability(&actor, c, day).await
        {
            free = day_slots(&state, &availability.free);
        }
        days.push(DayColumn {
            label: day.format("%a %d %b").to_string(),
            date: day.to_string(),
            today: day == today,
            items,
            free,
            href: schedule_href(&target, day, false),
        });
        day += Duration::days(1);
    }
    let step = if week { 7 } else { 1 };
    let current_clinician = clinician.map(|c| c.to_string()).unwrap_or_default();
    let current_department = department.map(|d| d.to_string()).unwrap_or_default();
    let clinicians = clinician_options(&staff, &current_clinician, Some("—"));
    let status = input_status(&errors);
    let notice_code = notice(Some(params.notice.as_str()).filter(|n| !n.is_empty()));
    Ok(with_status(
        render(&SchedulePage {
            layout: Layout::new(&state, &actor, "Schedule", "/schedule", csrf)
                .with_notice(notice_code),
            heading,
            clinicians,
            departments: department_options(&departments, &current_department, Some("—")),
            date: date.to_string(),
            week,
            days,
            previous_href: schedule_href(&target, date - Duration::days(step), week),
            next_href: schedule_href(&target, date + Duration::days(step), week),
            today_href: schedule_href(&target, today, week),
            other_view_href: schedule_href(&target, date, !week),
            zone: zone_name(&state),
            errors,
            csv_href: schedule_href(&target, date, week).replacen(
                "/schedule",
                "/appointments.csv",
                1,
            ),
        })?,
        status,
    ))
}

/// The file name browsers save the appointment list export as.
pub const APPOINTMENTS_CSV_FILE_NAME: &str = "appointments.csv";

/// `GET /appointments.csv?clinician=…|department=…&date=…&view=day|week`: the appointments
/// of the calendar with the same query (a patient: their own), as the actor may see them;
/// audited as one export with its row count. Clinical notes are never exported.
pub async fn schedule_csv(
    PageRequest { state, actor, .. }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params: ScheduleParams = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::invalid(e.to_string()))?;
    let query = if actor.reaches_own_record_only() {
        AppointmentQuery::default()
    } else {
        let mut errors = ValidationErrors::new();
        let scope = schedule_scope(&state, &actor, &params, &mut errors).await?;
        if !errors.is_empty() {
            return Err(PageError::invalid(errors.to_string()));
        }
        schedule_query(scope.clinician, scope.department, scope.first, scope.last)
    };
    let list = state.services.export_appointments(&actor, query).await?;
    let header = [
        "id",
        "start",
        "end",
        "patient",
        "clinician",
        "department",
        "type",
        "status",
        "reason",
        "status_reason",
    ]
    .map(str::to_owned);
    let time = |at| local(&state, at, "%Y-%m-%d %H:%M");
    let rows = list.iter().map(|a| {
        [
            a.id.to_string(),
            time(a.start),
            time(a.end),
            a.patient_label.clone(),
            a.clinician_name.clone().unwrap_or_default(),
            a.department_name.clone(),
            kind_label(a.kind).to_owned(),
            status_label(a.status).to_owned(),
            a.reason.clone().unwrap_or_default(),
            a.status_reason.clone().flatten().unwrap_or_default(),
        ]
    });
    csv_download(
        APPOINTMENTS_CSV_FILE_NAME,
        std::iter::once(header).chain(rows),
    )
}
