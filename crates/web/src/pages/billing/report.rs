//! The billing report with its chart and CSV.

use super::*;

/// One day of the chart: an issued bar and a paid bar.
#[derive(Debug, Clone)]
struct DayBars {
    x_issued: u32,
    x_paid: u32,
    y_issued: u32,
    y_paid: u32,
    h_issued: u32,
    h_paid: u32,
    width: u32,
    label: String,
    issued: String,
    paid: String,
    show_label: bool,
}

#[derive(Template)]
#[template(path = "billing_report.html")]
struct ReportPage {
    layout: Layout,
    from: String,
    to: String,
    errors: ValidationErrors,
    issued_count: u64,
    issued_total: String,
    void_count: u64,
    paid_total: String,
    outstanding_count: u64,
    outstanding_total: String,
    by_method: Vec<(&'static str, String)>,
    days: Vec<DayBars>,
    chart_width: u32,
    max_label: String,
    csv_href: String,
}

const CHART_HEIGHT: u32 = 200;
const CHART_TOP: u32 = 20;

fn day_bars(report: &BillingReport) -> (Vec<DayBars>, u32, Money) {
    let n = u32::try_from(report.days.len()).unwrap_or(u32::MAX).max(1);
    let width = (720 / n).clamp(6, 40);
    let max = report
        .days
        .iter()
        .flat_map(|(_, issued, paid)| [*issued, *paid])
        .max()
        .unwrap_or(Money::ZERO);
    let max_minor = max.minor_units().max(1);
    let height = |m: Money| {
        u32::try_from(
            i128::from(CHART_HEIGHT) * i128::from(m.minor_units()) / i128::from(max_minor),
        )
        .unwrap_or(0)
    };
    let label_every = (n / 14).max(1);
    let bars = report
        .days
        .iter()
        .enumerate()
        .map(|(i, (day, issued, paid))| {
            let i = u32::try_from(i).unwrap_or(0);
            let half = (width / 2).saturating_sub(1).max(2);
            let x = 60 + i * width;
            DayBars {
                x_issued: x,
                x_paid: x + half,
                h_issued: height(*issued),
                h_paid: height(*paid),
                y_issued: CHART_TOP + CHART_HEIGHT - height(*issued),
                y_paid: CHART_TOP + CHART_HEIGHT - height(*paid),
                width: half,
                label: day.format("%d %b").to_string(),
                issued: issued.display_with(report.currency),
                paid: paid.display_with(report.currency),
                show_label: i % label_every == 0,
            }
        })
        .collect();
    (bars, 60 + n * width + 30, max)
}

fn billing_range(state: &AppState, raw: Option<&str>) -> (NaiveDate, NaiveDate, ValidationErrors) {
    report_range(state, raw, month_start, |from, _| from + Duration::days(31))
}

/// `GET /reports/billing?from=…&to=…` (administrators and reception).
pub async fn report(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, mut errors) = billing_range(&state, raw.as_deref());
    // Who may see the report is decided (and a refusal recorded) before the input is judged.
    let mut report = state
        .services
        .billing_report(&actor, from, from + Duration::days(1))
        .await?;
    if errors.is_empty() {
        match state.services.billing_report(&actor, from, to).await {
            Ok(r) => report = r,
            Err(ServiceError::Validation(e)) => errors = e,
            Err(other) => return Err(other.into()),
        }
    }
    let (days, chart_width, max) = day_bars(&report);
    let currency = report.currency;
    let status = input_status(&errors);
    Ok(with_status(
        render(&ReportPage {
            layout: Layout::new(&state, &actor, "Billing report", "/reports/billing", csrf),
            from: from.to_string(),
            to: to.to_string(),
            issued_count: report.issued_count,
            issued_total: report.issued_total.display_with(currency),
            void_count: report.void_count,
            paid_total: report.paid_total.display_with(currency),
            outstanding_count: report.outstanding_count,
            outstanding_total: report.outstanding_total.display_with(currency),
            by_method: report
                .paid_by_method
                .iter()
                .map(|(m, amount)| (method_label(*m), amount.display_with(currency)))
                .collect(),
            days: if errors.is_empty() { days } else { Vec::new() },
            chart_width,
            max_label: max.display_with(currency),
            csv_href: format!("/reports/billing.csv?from={from}&to={to}"),
            errors,
        })?,
        status,
    ))
}

/// `GET /reports/billing.csv?from=…&to=…`: `dimension,key,amount` rows (amounts as exact
/// decimals, the currency in its own row).
pub async fn report_csv(
    PageRequest { state, actor, .. }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, errors) = billing_range(&state, raw.as_deref());
    state
        .services
        .billing_report(&actor, from, from + Duration::days(1))
        .await?;
    if !errors.is_empty() {
        return Err(PageError::invalid(errors.to_string()));
    }
    let report = state.services.billing_report(&actor, from, to).await?;
    let mut rows: Vec<[String; 3]> = vec![["dimension".into(), "key".into(), "amount".into()]];
    rows.push([
        "currency".into(),
        report.currency.as_str().into(),
        String::new(),
    ]);
    rows.push([
        "issued".into(),
        "count".into(),
        report.issued_count.to_string(),
    ]);
    rows.push([
        "issued".into(),
        "total".into(),
        report.issued_total.to_string(),
    ]);
    rows.push(["void".into(), "count".into(), report.void_count.to_string()]);
    for (method, amount) in &report.paid_by_method {
        rows.push(["paid".into(), method.as_str().into(), amount.to_string()]);
    }
    rows.push(["paid".into(), "total".into(), report.paid_total.to_string()]);
    rows.push([
        "outstanding".into(),
        "count".into(),
        report.outstanding_count.to_string(),
    ]);
    rows.push([
        "outstanding".into(),
        "total".into(),
        report.outstanding_total.to_string(),
    ]);
    for (day, issued, paid) in &report.days {
        rows.push(["issued_on".into(), day.to_string(), issued.to_string()]);
        rows.push(["paid_on".into(), day.to_string(), paid.to_string()]);
    }
    csv_download(REPORT_CSV_FILE_NAME, rows)
}
