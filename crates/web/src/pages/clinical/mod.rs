//! Clinical record pages: a patient's encounters and prescriptions (`/patients/{id}/clinical`,
//! linked from the patient page), the encounter page, the printable prescription, the
//! patient portal (`/my/encounters`, `/my/prescriptions`) and the diagnoses report with its
//! SVG chart and CSV. A draft its author may edit is the one encounter form
//! ([`super::encounter_form`]); every other encounter page shows what was recorded once —
//! texts, diagnoses, appointment, vitals, prescriptions with the warnings overridden and
//! why, notes and amendments — with the nurses' note and vitals forms on an open encounter,
//! and, on a signed one, the amendment and prescription forms folded away.
//!
//! The service decides who may read and write; these handlers parse forms, call one use case,
//! and redirect (303) or render the page again with the messages next to their fields (422,
//! 409 for a warning that needs an acknowledgement or a signed encounter). Which forms are
//! offered follows the `may_*` flags the service computed: presentation only.

use carevault_core::Action;
use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::{PatientId, Role, ValidationErrors};
use carevault_service::encounters::{
    AmendmentInput, DiagnosisInput, EncounterView, TEXT_FIELDS, VitalsSubmission,
};
use carevault_service::prescriptions::{
    Prescribed, PrescriptionRequest, PrescriptionView, PrescriptionWarning,
};

use super::encounter_form;
use carevault_service::{Actor, ServiceError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::query_params;
use crate::pages::path_patient_id;
use crate::pages::{
    Layout, PageRequest, csv_download, input_status, not_found, render, report_range,
};
use crate::routes::RouteTable;

mod encounter;
mod forms;
mod portal;
mod print;
mod record;
mod report;
mod rows;

pub use encounter::*;
pub use forms::*;
pub use portal::*;
pub use print::*;
pub use record::*;
pub use report::*;
pub use rows::*;

/// Adds the clinical pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .page(
            Action::SeeMedication,
            "/patients/{id}/clinical",
            patient_clinical,
        )
        .page_with_form(
            Action::WriteEncounters,
            "/encounters/new",
            encounter_form::new_form,
            encounter_form::submit_new,
        )
        .page(Action::SeeClinical, "/encounters/{id}", encounter_page)
        .form_post(
            Action::WriteEncounters,
            "/encounters/{id}/edit",
            encounter_form::submit_draft,
        )
        .form_post(
            Action::WriteEncounters,
            "/appointments/{id}/start",
            encounter_form::start_appointment,
        )
        .form_post(Action::WriteEncounters, "/encounters/{id}/amend", amend)
        .form_post(
            Action::WriteClinicalNotes,
            "/encounters/{id}/notes",
            add_note,
        )
        .form_post(
            Action::WriteClinicalNotes,
            "/encounters/{id}/vitals",
            vitals,
        )
        .form_post(
            Action::Prescribe,
            "/encounters/{id}/prescriptions",
            prescribe,
        )
        .page(
            Action::SeeMedication,
            "/prescriptions/{id}/print",
            print_prescription,
        )
        .page(Action::UsePortal, "/my/encounters", my_encounters)
        .page(Action::UsePortal, "/my/prescriptions", my_prescriptions)
        .page(
            Action::ClinicalReports,
            "/reports/diagnoses",
            diagnosis_report,
        )
        .page(
            Action::ClinicalReports,
            "/reports/diagnoses.csv",
            diagnosis_report_csv,
        )
}

pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn text_label(field: &str) -> &'static str {
    match field {
        "chief_complaint" => "Chief complaint",
        "history" => "History",
        "examination" => "Examination",
        "assessment" => "Assessment",
        "plan" => "Plan",
        "diagnoses" => "Diagnoses",
        _ => "Field",
    }
}

pub(crate) const VITAL_FIELDS: [(&str, &str); 8] = [
    ("temperature_c", "Temperature (°C)"),
    ("pulse_bpm", "Pulse (/min)"),
    ("systolic_mmhg", "Systolic BP (mmHg)"),
    ("diastolic_mmhg", "Diastolic BP (mmHg)"),
    ("respiratory_rate", "Respiratory rate (/min)"),
    ("spo2_percent", "SpO₂ (%)"),
    ("weight_kg", "Weight (kg)"),
    ("height_cm", "Height (cm)"),
];

/// A submitted form as name/value pairs (the diagnosis rows have numbered names).
pub(crate) type Pairs = Vec<(String, String)>;

pub(crate) fn value<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn diagnosis_rows_skip_blanks_and_messages_find_their_row() {
        let form = pairs(&[
            ("dx0_kind", "primary"),
            ("dx0_code", ""),
            ("dx1_kind", "secondary"),
            ("dx1_code", "QQQ"),
            ("dx2_code", ""),
            ("dx2_text", "Worried"),
            ("dx2_free", "on"),
        ]);
        let (mut rows, submitted) = diagnosis_rows(&form, "dx");
        assert_eq!(rows.len(), 3);
        assert_eq!(submitted.len(), 2);
        assert_eq!(submitted[0].0, 1);
        assert!(submitted[1].1.free_text);
        let errors = ValidationErrors::single("diagnoses[0].code", "is not a known code");
        attach_diagnosis_errors(&mut rows, &submitted, "diagnoses", &errors);
        assert!(
            rows[1]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("known"))
        );
        assert!(rows[0].error.is_none());
    }

    #[test]
    fn the_chart_scales_to_the_largest_count() {
        let (bars, height) = chart(&[
            ("E11.9".into(), "x".into(), 4),
            ("I10".into(), "y".into(), 2),
        ]);
        assert_eq!(bars[0].width, 440);
        assert_eq!(bars[1].width, 220);
        assert_eq!(height, 76);
    }
}
