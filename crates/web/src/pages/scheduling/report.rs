//! The appointment report and its CSV export.

use super::*;

/// One bar of the SVG chart.
#[derive(Debug, Clone)]
struct Bar {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    label: String,
    count: u64,
    /// Draw the label under this bar (not every day fits).
    show_label: bool,
}

#[derive(Debug, Clone)]
struct CountRow {
    label: String,
    count: u64,
}

#[derive(Template)]
#[template(path = "appointment_report.html")]
struct ReportPage {
    layout: Layout,
    from: String,
    to: String,
    errors: ValidationErrors,
    total: u64,
    by_department: Vec<CountRow>,
    by_clinician: Vec<CountRow>,
    by_status: Vec<CountRow>,
    by_day: Vec<CountRow>,
    bars: Vec<Bar>,
    chart_width: u32,
    chart_height: u32,
    max_count: u64,
    csv_href: String,
}

/// Chart geometry.
const CHART_HEIGHT: u32 = 200;
const CHART_TOP: u32 = 20;
const CHART_BOTTOM: u32 = 40;

fn bars(report: &AppointmentReport) -> (Vec<Bar>, u32, u64) {
    let n = u32::try_from(report.by_day.len())
        .unwrap_or(u32::MAX)
        .max(1);
    let width = (720 / n).clamp(4, 40);
    let max = report
        .by_day
        .iter()
        .map(|(_, c)| *c)
        .max()
        .unwrap_or(0)
        .max(1);
    let label_every = (n / 14).max(1);
    let bars = report
        .by_day
        .iter()
        .enumerate()
        .map(|(i, (day, count))| {
            let i = u32::try_from(i).unwrap_or(0);
            let height = u32::try_from(u64::from(CHART_HEIGHT) * count / max).unwrap_or(0);
            Bar {
                x: 40 + i * width,
                y: CHART_TOP + CHART_HEIGHT - height,
                width: width.saturating_sub(2).max(2),
                height,
                label: day.format("%d %b").to_string(),
                count: *count,
                show_label: i % label_every == 0,
            }
        })
        .collect();
    (bars, 40 + n * width + 30, max)
}

fn appointment_range(
    state: &AppState,
    raw: Option<&str>,
) -> (NaiveDate, NaiveDate, ValidationErrors) {
    report_range(state, raw, month_start, |from, _| from + Duration::days(30))
}

/// `GET /appointments/report?from=…&to=…`.
pub async fn report(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, mut errors) = appointment_range(&state, raw.as_deref());
    let mut report = AppointmentReport {
        from,
        to,
        ..AppointmentReport::default()
    };
    if errors.is_empty() {
        match state.services.appointment_report(&actor, from, to).await {
            Ok(r) => report = r,
            Err(ServiceError::Validation(e)) => errors = e,
            Err(other) => return Err(other.into()),
        }
    } else {
        // Who may see the report is decided (and a refusal recorded) before the input is
        // judged: ask for one day so a wrong role still gets its 403.
        state
            .services
            .appointment_report(&actor, from, from)
            .await?;
    }
    let (chart, chart_width, max_count) = bars(&report);
    let counts = |rows: &[(String, u64)]| {
        rows.iter()
            .map(|(label, count)| CountRow {
                label: label.clone(),
                count: *count,
            })
            .collect::<Vec<_>>()
    };
    let status = input_status(&errors);
    Ok(with_status(
        render(&ReportPage {
            layout: Layout::new(
                &state,
                &actor,
                "Appointment report",
                "/appointments/report",
                csrf,
            ),
            from: from.to_string(),
            to: to.to_string(),
            errors,
            total: report.total,
            by_department: counts(&report.by_department),
            by_clinician: counts(&report.by_clinician),
            by_status: report
                .by_status
                .iter()
                .map(|(s, c)| CountRow {
                    label: status_label(*s).to_owned(),
                    count: *c,
                })
                .collect(),
            by_day: report
                .by_day
                .iter()
                .map(|(d, c)| CountRow {
                    label: d.to_string(),
                    count: *c,
                })
                .collect(),
            bars: chart,
            chart_width,
            chart_height: CHART_TOP + CHART_HEIGHT + CHART_BOTTOM,
            max_count,
            csv_href: format!("/appointments/report.csv?from={from}&to={to}"),
        })?,
        status,
    ))
}

/// `GET /appointments/report.csv?from=…&to=…`: the same counts as CSV
/// (`dimension,key,count`).
pub async fn report_csv(
    PageRequest { state, actor, .. }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, errors) = appointment_range(&state, raw.as_deref());
    if !errors.is_empty() {
        state
            .services
            .appointment_report(&actor, from, from)
            .await?;
        return Err(PageError::invalid(errors.to_string()));
    }
    let report = state.services.appointment_report(&actor, from, to).await?;
    let mut rows: Vec<[String; 3]> = vec![["dimension".into(), "key".into(), "count".into()]];
    rows.push(["total".into(), String::new(), report.total.to_string()]);
    for (name, count) in &report.by_department {
        rows.push(["department".into(), name.clone(), count.to_string()]);
    }
    for (name, count) in &report.by_clinician {
        rows.push(["clinician".into(), name.clone(), count.to_string()]);
    }
    for (status, count) in &report.by_status {
        rows.push(["status".into(), status.as_str().into(), count.to_string()]);
    }
    for (day, count) in &report.by_day {
        rows.push(["day".into(), day.to_string(), count.to_string()]);
    }
    csv_download(REPORT_CSV_FILE_NAME, rows)
}
