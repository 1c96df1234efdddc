//! The audit log as CSV (RFC 4180: CRLF line ends; a field with a comma, a quote, CR or LF
//! is quoted, quotes doubled), streamed page by page so the server's memory stays flat
//! however large the log.
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, TAB or CR as a formula. An
//! audit log is opened by auditors in exactly such programs, and some of its text (a stated
//! reason, a pseudonym searched for) comes from users, so every such cell gets a leading
//! apostrophe ([`neutralise_formula`]), which spreadsheets show as text.

use std::borrow::Cow;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use carevault_core::audit::ActorKind;
use carevault_service::ServiceError;
use carevault_service::audit_log::{AuditEntry, AuditExport};
use carevault_service::exports::PatientExport;
use carevault_service::patients::PatientDetails;
use chrono::{DateTime, SecondsFormat, Utc};

/// The export's columns, in order.
pub const AUDIT_CSV_HEADER: [&str; 12] = [
    "seq",
    "time",
    "actor_id",
    "actor_name",
    "actor_role",
    "action",
    "resource_type",
    "resource_id",
    "patient_pseudonym",
    "outcome",
    "reason",
    "request_id",
];

/// The file name browsers save the export as.
pub const AUDIT_CSV_FILE_NAME: &str = "audit-events.csv";

/// An instant as RFC 3339 in UTC with microseconds (the audit log's precision).
pub fn rfc3339_utc(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Characters that make a spreadsheet start a formula, including the full-width forms some
/// spreadsheets also accept.
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];

/// `cell`, with a leading apostrophe when a spreadsheet would read it as a formula (also
/// when the formula character follows leading spaces, which some spreadsheets skip).
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) || cell.trim_start_matches(' ').starts_with(FORMULA_STARTS)
    {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Who acted, for people (the export's `actor_name` column and the audit page): the
/// account's name, or what kind of actor it was when no account acted (or the account no
/// longer exists).
pub fn actor_label(entry: &AuditEntry) -> String {
    if let Some(name) = &entry.actor_name {
        return name.clone();
    }
    match ActorKind::parse(&entry.actor_kind) {
        Some(ActorKind::Operator) => "console operator".into(),
        Some(ActorKind::System) => "Carevault (system)".into(),
        Some(ActorKind::Anonymous) => "anonymous".into(),
        Some(ActorKind::User) | None => match &entry.actor_id {
            Some(id) => format!("unknown account {id}"),
            None => "unknown".into(),
        },
    }
}

/// One event's cells, in the order of [`AUDIT_CSV_HEADER`]. An event without an account
/// (the console operator, the server itself, an anonymous sign-in attempt) names its kind
/// of actor in `actor_name`, since the export has no `actor_kind` column.
pub fn audit_csv_cells(entry: &AuditEntry) -> [String; 12] {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    [
        entry.seq.to_string(),
        rfc3339_utc(entry.time),
        text(&entry.actor_id),
        actor_label(entry),
        text(&entry.actor_role),
        entry.action.clone(),
        entry.resource_type.clone(),
        text(&entry.resource_id),
        text(&entry.patient_pseudonym),
        entry.outcome.clone(),
        text(&entry.reason),
        text(&entry.request_id),
    ]
}

/// Rows as RFC 4180 CSV, every cell neutralised.
pub fn csv_rows<R, C>(rows: impl IntoIterator<Item = R>) -> std::io::Result<Vec<u8>>
where
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    for row in rows {
        let cells: Vec<String> = row
            .into_iter()
            .map(|cell| neutralise_formula(cell.as_ref()).into_owned())
            .collect();
        writer.write_record(&cells).map_err(std::io::Error::other)?;
    }
    writer.into_inner().map_err(|err| err.into_error())
}

/// An export the service has started (and recorded) that yields its rows page by page.
pub trait PagedExport: Send + 'static {
    type Row;
    fn next_page(
        &mut self,
    ) -> impl Future<Output = Result<Option<Vec<Self::Row>>, ServiceError>> + Send;
}

impl PagedExport for AuditExport {
    type Row = AuditEntry;
    async fn next_page(&mut self) -> Result<Option<Vec<AuditEntry>>, ServiceError> {
        AuditExport::next_page(self).await
    }
}

impl PagedExport for PatientExport {
    type Row = PatientDetails;
    async fn next_page(&mut self) -> Result<Option<Vec<PatientDetails>>, ServiceError> {
        PatientExport::next_page(self).await
    }
}

enum ExportStage {
    Header(Vec<String>),
    Rows,
    Finished,
}

/// The streamed CSV download of `export`: the header row, then one chunk per page, each
/// row turned into cells by `cells`. A failure after the first byte cannot change the
/// status any more; it is logged and the body is cut off, so the client sees an incomplete
/// download rather than a short file that looks whole.
pub fn csv_stream_response<E, F, C>(
    file_name: &str,
    header: Vec<String>,
    export: E,
    cells: F,
) -> Response
where
    E: PagedExport,
    F: Fn(&E::Row) -> C + Send + Sync + 'static,
    C: IntoIterator,
    C::Item: AsRef<str>,
{
    let what = file_name.to_owned();
    let cells = std::sync::Arc::new(cells);
    let chunks = futures::stream::unfold(
        (export, ExportStage::Header(header)),
        move |(mut export, stage)| {
            let cells = cells.clone();
            let what = what.clone();
            async move {
                match stage {
                    ExportStage::Header(header) => Some((
                        csv_rows([header]).map(Bytes::from),
                        (export, ExportStage::Rows),
                    )),
                    ExportStage::Rows => match export.next_page().await {
                        Ok(Some(rows)) => Some((
                            csv_rows(rows.iter().map(|row| cells(row))).map(Bytes::from),
                            (export, ExportStage::Rows),
                        )),
                        Ok(None) => None,
                        Err(err) => {
                            tracing::error!(error = %err, file = %what, "an export failed part-way");
                            Some((
                                Err(std::io::Error::other("the export failed")),
                                (export, ExportStage::Finished),
                            ))
                        }
                    },
                    ExportStage::Finished => None,
                }
            }
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// The streamed CSV download of an audit export.
pub fn audit_csv_response(export: AuditExport) -> Response {
    let header = AUDIT_CSV_HEADER.iter().map(|h| (*h).to_owned()).collect();
    csv_stream_response(AUDIT_CSV_FILE_NAME, header, export, audit_csv_cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(rows: &[&[&str]]) -> String {
        String::from_utf8(csv_rows(rows.iter().map(|r| r.iter())).unwrap()).unwrap()
    }

    #[test]
    fn formulas_behind_spaces_and_full_width_forms_are_neutralised() {
        assert_eq!(neutralise_formula("  =1+1"), "'  =1+1");
        assert_eq!(neutralise_formula("＝HYPERLINK(1)"), "'＝HYPERLINK(1)");
        assert_eq!(neutralise_formula("plain = text"), "plain = text");
    }

    #[test]
    fn rows_end_in_crlf_and_plain_cells_stay_bare() {
        assert_eq!(csv(&[&["a", "b c"], &["1", ""]]), "a,b c\r\n1,\r\n");
    }

    #[test]
    fn commas_quotes_and_newlines_are_quoted() {
        assert_eq!(
            csv(&[&["x,y", "say \"hi\"", "two\nlines", "cr\rhere"]]),
            "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\"\r\n"
        );
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            csv(&[&["=HYPERLINK(\"http://evil\",\"x\")"]]),
            "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"\r\n"
        );
        assert_eq!(csv(&[&["-5", "+1", "@SUM(A1)"]]), "'-5,'+1,'@SUM(A1)\r\n");
        assert_eq!(csv(&[&["\tcmd", "\rcmd"]]), "'\tcmd,\"'\rcmd\"\r\n");
        assert_eq!(neutralise_formula("5-3"), "5-3");
        assert_eq!(neutralise_formula("ANON_1021"), "ANON_1021");
        assert_eq!(neutralise_formula(""), "");
    }

    #[test]
    fn the_csv_reads_back_as_written() {
        let cells = ["a,b", "\"q\"", "l1\r\nl2", "=1+1"];
        let bytes = csv_rows([cells]).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes.as_slice());
        let record = reader.records().next().unwrap().unwrap();
        let read: Vec<&str> = record.iter().collect();
        assert_eq!(read, ["a,b", "\"q\"", "l1\r\nl2", "'=1+1"]);
    }

    #[test]
    fn the_header_is_the_documented_one() {
        assert_eq!(
            csv(&[&AUDIT_CSV_HEADER[..]]),
            "seq,time,actor_id,actor_name,actor_role,action,resource_type,resource_id,\
             patient_pseudonym,outcome,reason,request_id\r\n"
        );
    }
}
