//! The stock report with its chart and CSV.

use super::*;

#[derive(Debug, Clone)]
struct ReportLine {
    label: String,
    on_hand: u64,
    usable: u64,
    reorder_level: u32,
    reorder_needed: bool,
    value: String,
}

#[derive(Debug, Clone)]
struct ExpiringLine {
    drug: String,
    batch_number: String,
    expiry: String,
    on_hand: u32,
    expired: bool,
}

/// One bar of the chart (value per drug).
#[derive(Debug, Clone)]
struct Bar {
    x: u64,
    y: u64,
    width: u64,
    height: u64,
    label: String,
    value: String,
}

const CHART_HEIGHT: u64 = 200;
const CHART_TOP: u64 = 20;
const CHART_LEFT: u64 = 40;

#[derive(Template)]
#[template(path = "pharmacy_report.html")]
struct ReportPage {
    layout: Layout,
    window: u32,
    lines: Vec<ReportLine>,
    expiring: Vec<ExpiringLine>,
    total_value: String,
    max_value: String,
    bars: Vec<Bar>,
    chart_width: u64,
    chart_height: u64,
}

/// The chart's bars: each drug's stock value, scaled to the largest (in cents, integer
/// arithmetic only).
fn bars(report: &StockReport) -> (Vec<Bar>, u64, Money) {
    let max = report
        .rows
        .iter()
        .map(|r| r.value)
        .max()
        .unwrap_or(Money::ZERO);
    let max_cents = u64::try_from(max.minor_units()).unwrap_or(0).max(1);
    let slot = 48u64;
    let width = 32u64;
    let bars = report
        .rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let cents = u64::try_from(row.value.minor_units()).unwrap_or(0);
            let height = cents.saturating_mul(CHART_HEIGHT) / max_cents;
            Bar {
                x: CHART_LEFT + 4 + slot * index as u64,
                y: CHART_TOP + CHART_HEIGHT - height,
                width,
                height,
                label: row.level.drug.name.clone(),
                value: row.value.to_string(),
            }
        })
        .collect::<Vec<_>>();
    let chart_width = CHART_LEFT + 8 + slot * (bars.len().max(1) as u64);
    (bars, chart_width, max)
}

fn expiring_lines(report: &StockReport) -> Vec<ExpiringLine> {
    let mut lines = Vec::new();
    for row in &report.rows {
        for (batches, expired) in [(&row.level.expired, true), (&row.level.expiring, false)] {
            for batch in batches.iter() {
                lines.push(ExpiringLine {
                    drug: drug_label(&row.level.drug),
                    batch_number: batch.batch_number.clone(),
                    expiry: batch.expiry.format("%Y-%m-%d").to_string(),
                    on_hand: batch.quantity_on_hand,
                    expired,
                });
            }
        }
    }
    lines.sort_by(|a, b| a.expiry.cmp(&b.expiry));
    lines
}

/// `GET /reports/stock`: levels, value and expiring batches (administrators and
/// pharmacists).
pub async fn report(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    let report = state.services.stock_report(&actor).await?;
    let (bars, chart_width, max) = bars(&report);
    render(&ReportPage {
        layout: Layout::new(&state, &actor, "Stock report", "/reports/stock", csrf),
        window: report.expiry_window_days,
        lines: report
            .rows
            .iter()
            .map(|r| ReportLine {
                label: drug_label(&r.level.drug),
                on_hand: r.level.on_hand,
                usable: r.level.usable,
                reorder_level: r.level.drug.reorder_level,
                reorder_needed: r.level.reorder_needed,
                value: r.value.to_string(),
            })
            .collect(),
        expiring: expiring_lines(&report),
        total_value: report.total_value.to_string(),
        max_value: max.to_string(),
        bars,
        chart_width,
        chart_height: CHART_TOP + CHART_HEIGHT + 20,
    })
}

/// The stock report CSV's columns.
pub const STOCK_CSV_HEADER: [&str; 9] = [
    "drug",
    "strength",
    "form",
    "on_hand",
    "usable",
    "reorder_level",
    "reorder_needed",
    "expiring_batches",
    "value",
];

/// `GET /reports/stock.csv`: one row per drug and a total row; every cell neutralised
/// against spreadsheet formulas.
pub async fn report_csv(
    PageRequest { state, actor, .. }: PageRequest,
) -> Result<Response, PageError> {
    let report = state.services.export_stock_report(&actor).await?;
    let mut rows: Vec<Vec<String>> = vec![STOCK_CSV_HEADER.iter().map(|s| (*s).into()).collect()];
    for row in &report.rows {
        let level = &row.level;
        rows.push(vec![
            level.drug.name.clone(),
            level.drug.strength.clone(),
            level.drug.form.clone(),
            level.on_hand.to_string(),
            level.usable.to_string(),
            level.drug.reorder_level.to_string(),
            if level.reorder_needed { "yes" } else { "no" }.into(),
            (level.expiring.len() + level.expired.len()).to_string(),
            row.value.to_string(),
        ]);
    }
    let mut total = vec![String::new(); STOCK_CSV_HEADER.len()];
    total[0] = "total".into();
    total[8] = report.total_value.to_string();
    rows.push(total);
    csv_download(STOCK_CSV_FILE_NAME, rows)
}
