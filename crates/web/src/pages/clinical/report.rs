//! The diagnoses report with its chart and CSV.

use super::*;

fn diagnosis_range(
    state: &AppState,
    raw: Option<&str>,
) -> (NaiveDate, NaiveDate, ValidationErrors) {
    report_range(
        state,
        raw,
        |today| today - Duration::days(30),
        |_, today| today,
    )
}

/// One bar of the chart.
#[derive(Debug, Clone)]
pub struct ChartBar {
    pub y: u32,
    pub width: u32,
    pub label: String,
    pub count: u64,
    pub text_y: u32,
}

#[derive(Template)]
#[template(path = "diagnosis_report.html")]
struct ReportPage {
    layout: Layout,
    from: String,
    to: String,
    errors: ValidationErrors,
    total: u64,
    by_code: Vec<(String, String, u64)>,
    by_department: Vec<(String, u64)>,
    by_code_and_department: Vec<(String, String, u64)>,
    bars: Vec<ChartBar>,
    chart_height: u32,
    csv_href: String,
}

const CHART_BARS: usize = 15;

pub(super) fn chart(by_code: &[(String, String, u64)]) -> (Vec<ChartBar>, u32) {
    let max = by_code.iter().map(|c| c.2).max().unwrap_or(1).max(1);
    let bars: Vec<ChartBar> = by_code
        .iter()
        .take(CHART_BARS)
        .enumerate()
        .map(|(i, (code, _, count))| {
            let y = 10 + u32::try_from(i).unwrap_or(0) * 28;
            ChartBar {
                y,
                width: u32::try_from(count * 440 / max).unwrap_or(440).max(2),
                label: code.clone(),
                count: *count,
                text_y: y + 15,
            }
        })
        .collect();
    let height = 20 + u32::try_from(bars.len()).unwrap_or(0) * 28;
    (bars, height)
}

/// `GET /reports/diagnoses?from=…&to=…` (administrators and doctors).
pub async fn diagnosis_report(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, mut errors) = diagnosis_range(&state, raw.as_deref());
    let report = if errors.is_empty() {
        match state.services.diagnosis_report(&actor, from, to).await {
            Ok(r) => Some(r),
            Err(ServiceError::Validation(e)) => {
                errors = e;
                None
            }
            Err(other) => return Err(other.into()),
        }
    } else {
        // The role check still runs (and a refusal is recorded).
        state.services.diagnosis_report(&actor, from, from).await?;
        None
    };
    let status = input_status(&errors);
    let report = report.unwrap_or_default();
    let (bars, chart_height) = chart(&report.by_code);
    let mut response = render(&ReportPage {
        layout: Layout::new(
            &state,
            &actor,
            "Diagnoses report",
            "/reports/diagnoses",
            csrf,
        ),
        from: from.to_string(),
        to: to.to_string(),
        errors,
        total: report.total,
        by_code: report.by_code,
        by_department: report.by_department,
        by_code_and_department: report.by_code_and_department,
        bars,
        chart_height,
        csv_href: format!("/reports/diagnoses.csv?from={from}&to={to}"),
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /reports/diagnoses.csv?from=…&to=…`: `code,title,department,count`.
pub async fn diagnosis_report_csv(
    PageRequest { state, actor, .. }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, errors) = diagnosis_range(&state, raw.as_deref());
    if !errors.is_empty() {
        state.services.diagnosis_report(&actor, from, from).await?;
        return Err(PageError::invalid(errors.to_string()));
    }
    let report = state.services.diagnosis_report(&actor, from, to).await?;
    let titles: HashMap<&str, &str> = report
        .by_code
        .iter()
        .map(|(c, t, _)| (c.as_str(), t.as_str()))
        .collect();
    let mut rows: Vec<[String; 4]> = vec![[
        "code".into(),
        "title".into(),
        "department".into(),
        "count".into(),
    ]];
    for (code, department, count) in &report.by_code_and_department {
        rows.push([
            code.clone(),
            titles
                .get(code.as_str())
                .copied()
                .unwrap_or_default()
                .to_owned(),
            department.clone(),
            count.to_string(),
        ]);
    }
    csv_download(&format!("diagnoses-{from}-{to}.csv"), rows)
}
