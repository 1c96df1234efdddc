//! Shared fixtures: records built through the API as staff would build them.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::TestApp;
use crate::scheduling_api::{book, booking, id_of, mon, set_status, user_id};

/// A patient with one of each record a patient-scoped route names.
pub(crate) struct Records {
    pub(crate) patient: String,
    pub(crate) encounter: String,
    pub(crate) prescription: String,
    pub(crate) appointment: String,
    pub(crate) invoice: String,
}

/// An appointment checked in with Dr. Smith (which puts her on the care team), an encounter,
/// a prescription and an open invoice for `patient`; the appointment in `slot` on Monday.
pub(crate) async fn records_of(app: &TestApp, patient: String, slot: (&str, &str)) -> Records {
    let mut doctor = app.api_client("drsmith").await;
    let clinician = user_id(&mut doctor).await;
    let mut reception = app.api_client("reception").await;
    let appointment = id_of(
        &book(
            &mut reception,
            &booking(&patient, &clinician, &mon(slot.0), &mon(slot.1)),
        )
        .await,
    );
    let checked_in = set_status(&mut reception, &appointment, "checked_in", None).await;
    assert_eq!(checked_in.status, StatusCode::OK, "{}", checked_in.text());
    let created = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({
                "patient_id": patient,
                "chief_complaint": "Cough",
                "diagnoses": [{"kind": "primary", "code": "J22"}],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let encounter = id_of(&created.json());
    let written = doctor
        .post_json(
            "/api/v1/prescriptions",
            &json!({
                "encounter_id": encounter,
                "drug_name": "Doxycycline",
                "dose": "100 mg",
                "route": "oral",
                "frequency": "once daily",
                "duration_days": 7,
                "quantity": 7,
            }),
        )
        .await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.text());
    let prescription = id_of(&written.json());
    let opened = reception
        .post_json("/api/v1/invoices", &json!({"patient_id": patient}))
        .await;
    assert!(opened.status.is_success(), "{}", opened.text());
    let invoice = opened.json()["id"]
        .as_str()
        .expect("an invoice id")
        .to_owned();
    Records {
        patient,
        encounter,
        prescription,
        appointment,
        invoice,
    }
}
