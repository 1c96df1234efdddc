//! The patient banner, walked over the route table: every patient-scoped HTML page carries
//! it (`data-patient-banner`) for the role whose page it is; a clinician outside the care
//! team either gets the masked banner (no allergy line, the "masked" alert) or a refusal
//! that shows nothing of the patient. A new page route must be classified here, so no
//! patient-scoped page can be added without its banner being checked.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use carevault_web::Access;
use serde_json::json;

use crate::harness::{Backend, Client, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::{
    PASSWORD, book, booking, create_account, id_of, john_record, mon, set_status, user_id,
};

/// Patient-scoped pages: the route (as in the table), the address to ask (`{patient}`,
/// `{encounter}`, `{prescription}`, `{appointment}` and `{invoice}` filled in) and whose
/// page it is. `true`: a clinician outside the care team is asked too.
const PATIENT_PAGES: &[(&str, &str, &str, bool)] = &[
    ("/patients/{id}", "/patients/{patient}", "drsmith", true),
    (
        "/patients/{id}/edit",
        "/patients/{patient}/edit",
        "reception",
        true,
    ),
    (
        "/patients/{id}/clinical",
        "/patients/{patient}/clinical",
        "drsmith",
        true,
    ),
    (
        "/patients/{id}/summary",
        "/patients/{patient}/summary",
        "drsmith",
        true,
    ),
    (
        "/patients/{id}/allergies",
        "/patients/{patient}/allergies",
        "nurse",
        true,
    ),
    (
        "/patients/{id}/problems",
        "/patients/{patient}/problems",
        "drsmith",
        true,
    ),
    (
        "/patients/{id}/nursing-notes",
        "/patients/{patient}/nursing-notes",
        "nurse",
        true,
    ),
    (
        "/patients/{id}/consents",
        "/patients/{patient}/consents",
        "reception",
        true,
    ),
    (
        "/patients/{id}/holds",
        "/patients/{patient}/holds",
        "admin",
        true,
    ),
    (
        "/patients/{id}/erase",
        "/patients/{patient}/erase",
        "admin",
        true,
    ),
    (
        "/encounters/new",
        "/encounters/new?patient={patient}",
        "drsmith",
        true,
    ),
    (
        "/encounters/{id}",
        "/encounters/{encounter}",
        "drsmith",
        true,
    ),
    (
        "/prescriptions/{id}/print",
        "/prescriptions/{prescription}/print",
        "drsmith",
        true,
    ),
    (
        "/appointments/{id}",
        "/appointments/{appointment}",
        "drsmith",
        true,
    ),
    (
        "/appointments/new",
        "/appointments/new?patient={patient}",
        "reception",
        true,
    ),
    (
        "/appointments/{id}/triage",
        "/appointments/{appointment}/triage",
        "nurse",
        true,
    ),
    ("/invoices/{id}", "/invoices/{invoice}", "reception", true),
    ("/my/record", "/my/record", "john", false),
    ("/my/encounters", "/my/encounters", "john", false),
    ("/my/prescriptions", "/my/prescriptions", "john", false),
    ("/my/documents", "/my/documents", "john", false),
    ("/my/bills", "/my/bills", "john", false),
    // A list filtered to one patient is that patient's page too.
    ("/billing", "/billing?patient={patient}", "reception", false),
    ("/my/appointments", "/my/appointments", "john", false),
    ("/my/sharing", "/my/sharing", "john", false),
    ("/my/consents", "/my/consents", "john", false),
    ("/my/summary", "/my/summary", "john", false),
];

/// Page routes with a placeholder, or under `/my/`, that are not patient-scoped HTML pages,
/// and why.
const NOT_PATIENT_PAGES: &[(&str, &str)] = &[
    (
        "/patients/{id}/encryption",
        "how the record is stored: no personal data by design",
    ),
    ("/patients/{id}/access-export", "a ZIP file"),
    ("/patients/{id}/summary.pdf", "a PDF"),
    ("/my/summary.pdf", "a PDF"),
    ("/my/access-export", "a ZIP file"),
    (
        "/invoices/{id}/print",
        "a printed invoice: the patient's details are part of it",
    ),
    (
        "/invoices/{id}/receipt",
        "a printed receipt: the patient's details are part of it",
    ),
    ("/invoices/{id}/invoice.pdf", "a PDF"),
    ("/invoices/{id}/receipt.pdf", "a PDF"),
    ("/documents/{id}/download", "a file"),
    ("/documents/{id}/thumbnail", "an image"),
    ("/pharmacy/drugs/{id}/edit", "a formulary entry"),
    ("/pharmacy/batches/{id}/adjust", "a stock batch"),
    ("/departments/{id}/edit", "a department"),
    ("/staff/{id}/edit", "a staff member"),
    ("/my/day", "a clinician's list of many patients"),
    ("/my/patients", "a nurse's list of many patients"),
];

/// What the pages are filled in with.
struct Ids {
    patient: String,
    encounter: String,
    prescription: String,
    appointment: String,
    invoice: String,
}

impl Ids {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{patient}", &self.patient)
            .replace("{encounter}", &self.encounter)
            .replace("{prescription}", &self.prescription)
            .replace("{appointment}", &self.appointment)
            .replace("{invoice}", &self.invoice)
    }
}

/// John with an encounter, a prescription, an appointment checked in today with Dr. Smith
/// and an open invoice.
async fn johns_records(app: &TestApp) -> Ids {
    let patient = john_record(app).await;
    let mut doctor = app.api_client("drsmith").await;
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
    let clinician = user_id(&mut doctor).await;
    let mut reception = app.api_client("reception").await;
    let appointment = id_of(
        &book(
            &mut reception,
            &booking(&patient, &clinician, &mon("10:00"), &mon("10:15")),
        )
        .await,
    );
    let checked_in = set_status(&mut reception, &appointment, "checked_in", None).await;
    assert_eq!(checked_in.status, StatusCode::OK, "{}", checked_in.text());
    let opened = reception
        .post_json("/api/v1/invoices", &json!({"patient_id": patient}))
        .await;
    assert!(opened.status.is_success(), "{}", opened.text());
    let invoice = opened.json()["id"]
        .as_str()
        .expect("an invoice id")
        .to_owned();
    Ids {
        patient,
        encounter,
        prescription,
        appointment,
        invoice,
    }
}

async fn signed_in<'a>(app: &'a TestApp, username: &str) -> Client<'a> {
    if username == "drjones" {
        let mut client = app.anonymous();
        let response = client.sign_in_through_form("drjones", PASSWORD).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        client.refresh_form_token().await;
        client
    } else {
        app.browser(username).await
    }
}

async fn every_patient_scoped_page_shows_the_banner(backend: Backend) {
    let app = TestApp::new(backend).await;

    // Every page route is classified.
    let table = carevault_web::route_table(app.state.clone());
    let classified: BTreeSet<&str> = PATIENT_PAGES
        .iter()
        .map(|p| p.0)
        .chain(NOT_PATIENT_PAGES.iter().map(|p| p.0))
        .collect();
    let pages: BTreeSet<&str> = table
        .iter()
        .filter(|r| r.access == Access::Page && r.method == "GET")
        .map(|r| r.path)
        .collect();
    for path in &pages {
        if path.contains('{') || path.starts_with("/my/") {
            assert!(
                classified.contains(path),
                "{path} is not classified: is it a patient-scoped page (then it needs the \
                 banner and a line in PATIENT_PAGES) or not (a line in NOT_PATIENT_PAGES)?"
            );
        }
    }
    for path in &classified {
        assert!(pages.contains(path), "{path} is no longer a page route");
    }

    let ids = johns_records(&app).await;
    let admin = app.actor("admin").await;
    create_account(&app, &admin, "drjones", "doctor").await;
    let banner = format!("data-patient-banner=\"{}\"", ids.patient);
    for (route, address, owner, ask_outsider) in PATIENT_PAGES {
        let path = ids.fill(address);
        let mut client = signed_in(&app, owner).await;
        let response = client.get(&path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{route} as {owner}: {}",
            response.text()
        );
        let html = response.text();
        assert!(html.contains(&banner), "{route} as {owner} has no banner");
        assert!(
            html.contains("John Patient"),
            "{route} as {owner}: the banner names the patient"
        );

        if *ask_outsider {
            let mut outsider = signed_in(&app, "drjones").await;
            let response = outsider.get(&path).await;
            let html = response.text();
            match response.status {
                StatusCode::OK => {
                    assert!(html.contains(&banner), "{route} masked: no banner");
                    assert!(
                        html.contains("data-alert=\"masked\""),
                        "{route} masked: the banner says the record is masked"
                    );
                    assert!(
                        !html.contains("data-allergies="),
                        "{route} masked: no allergy line"
                    );
                    assert!(!html.contains("John"), "{route} masked: the name shows");
                }
                StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                    assert!(!html.contains(&banner), "{route} refused with a banner");
                    assert!(!html.contains("John"), "{route} refused: the name shows");
                }
                other => panic!("{route} as an outsider: {other}: {html}"),
            }
        }
    }
}

on_all_backends!(every_patient_scoped_page_shows_the_banner);
