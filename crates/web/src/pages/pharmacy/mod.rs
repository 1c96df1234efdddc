//! Pharmacy pages: the stock overview (`/pharmacy`), the formulary and its forms, receiving
//! stock, adjusting a batch, the dispensing queue, and the stock report with its chart and
//! CSV.
//!
//! The service decides who may do what (`ManageStock` for administrators and pharmacists;
//! only pharmacists see the dispensing queue and dispense) and validates every field.
//! Handlers parse the form, call one use case and redirect (303, with a fixed notice) or
//! render the form again with the messages next to their fields (422; a 409 from the
//! service, such as not enough stock, is shown the same way with status 409). Forms are
//! plain HTML with labelled fields and stable names and ids.

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::Action;
use carevault_core::ValidationErrors;
use carevault_core::money::Money;
use carevault_service::ServiceError;
use carevault_service::allergies::{AllergyList, AllergyStatement};
use carevault_service::pharmacy::{
    AdjustmentRequest, BatchView, DispenseRequest, DrugInput, DrugView, ReceiptRequest, StockLevel,
    StockReport,
};
use carevault_service::prescriptions::{PrescriptionView, QueuedPrescription};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::pages::{Layout, PageRequest, csv_download, notice_in_query, render, with_status};
use crate::routes::RouteTable;

mod dispensing;
mod formulary;
mod report;
mod stock;

pub use dispensing::*;
pub use formulary::*;
pub use report::*;
pub use stock::*;

/// The file name browsers save the stock report as.
pub const STOCK_CSV_FILE_NAME: &str = "stock-report.csv";

/// Adds the pharmacy pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .page(Action::ManageStock, "/pharmacy", overview)
        .page_with_form(Action::ManageStock, "/pharmacy/drugs", drugs, create_drug)
        .page_with_form(
            Action::ManageStock,
            "/pharmacy/drugs/{id}/edit",
            edit_drug_form,
            update_drug,
        )
        .page_with_form(
            Action::ManageStock,
            "/pharmacy/receipts/new",
            receipt_form,
            receive,
        )
        .page_with_form(
            Action::ManageStock,
            "/pharmacy/batches/{id}/adjust",
            adjust_form,
            adjust,
        )
        .page(Action::Dispense, "/pharmacy/dispensing", dispensing)
        .form_post(Action::Dispense, "/pharmacy/dispensing/{id}", dispense)
        .page(Action::ManageStock, "/reports/stock", report)
        .page(Action::ManageStock, "/reports/stock.csv", report_csv)
}

/// The pharmacy's notices after a redirect (a fixed set: nothing from the URL is echoed).
fn pharmacy_notice(raw: Option<&str>) -> Option<&'static str> {
    let code = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "notice")
        .map(|(_, v)| v.into_owned());
    match code.as_deref() {
        Some("drug-saved") => Some("The formulary entry has been saved."),
        Some("stock-received") => Some("The stock has been received."),
        Some("stock-adjusted") => Some("The batch has been adjusted."),
        Some("dispensed") => Some("Dispensed: the stock and the prescription are updated."),
        _ => notice_in_query(raw),
    }
}

/// A form shown again: the messages by field and the status to answer with (422 for bad
/// input, 409 for a conflict such as not enough stock).
fn form_errors(
    err: ServiceError,
    default_field: &'static str,
) -> Result<(ValidationErrors, StatusCode), PageError> {
    match err {
        ServiceError::Validation(errors) => Ok((errors, StatusCode::UNPROCESSABLE_ENTITY)),
        ServiceError::Conflict { field, message } => Ok((
            ValidationErrors::single(field.unwrap_or(default_field), message),
            StatusCode::CONFLICT,
        )),
        other => Err(other.into()),
    }
}

/// A drug as one line of text: `Metformin 500 mg tablet`.
fn drug_label(drug: &DrugView) -> String {
    format!("{} {} {}", drug.name, drug.strength, drug.form)
}

#[cfg(test)]
mod tests {
    use carevault_core::allergy::{AllergySeverity, AllergyStatus};
    use carevault_service::allergies::{AllergyList, AllergyStatement, AllergyView};

    use super::allergy_lines;

    fn patient() -> carevault_core::PatientId {
        "01234567-89ab-7def-8123-456789abcdef".parse().unwrap()
    }

    fn list(statement: AllergyStatement) -> AllergyList {
        AllergyList {
            patient_id: patient(),
            statement,
            history: Vec::new(),
        }
    }

    /// "Nobody asked" and "asked: none" never look alike; hidden allergies show nothing.
    #[test]
    fn allergy_states_are_distinct() {
        let at = chrono::DateTime::UNIX_EPOCH;
        assert_eq!(allergy_lines(None), ("hidden", Vec::new()));
        assert_eq!(
            allergy_lines(Some(&list(AllergyStatement::NotRecorded))),
            ("not_recorded", Vec::new())
        );
        assert_eq!(
            allergy_lines(Some(&list(AllergyStatement::NoKnownAllergies {
                recorded_by: "Nurse".into(),
                recorded_at: at,
                id: "n".into(),
                recorded_as: None,
            }))),
            ("none", Vec::new())
        );
        let penicillin = AllergyView {
            id: "a".into(),
            substance: "Penicillins".into(),
            code: Some("penicillins".into()),
            free_text: false,
            reaction: Some("hives".into()),
            severity: AllergySeverity::Severe,
            status: AllergyStatus::Active,
            recorded_by: "Dr. Smith".into(),
            recorded_at: at,
            patient_id: patient(),
            kind: None,
            no_known_allergies: false,
            transcribed: false,
            recorded_as: None,
            status_reason: None,
            updated_by: None,
            updated_at: at,
        };
        assert_eq!(
            allergy_lines(Some(&list(AllergyStatement::Allergies(vec![penicillin])))),
            ("listed", vec!["Penicillins — hives (severe)".to_owned()])
        );
    }
}
