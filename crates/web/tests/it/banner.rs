//! The patient banner, walked over the route table: every patient-scoped HTML page carries
//! it (`data-patient-banner`) for the role whose page it is; a clinician outside the care
//! team either gets the masked banner (no allergy line, the "masked" alert) or a refusal
//! that shows nothing of the patient. A new page route must be classified here, so no
//! patient-scoped page can be added without its banner being checked.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use carevault_web::Access;

use crate::fixtures::{Records, records_of};
use crate::harness::{Backend, Client, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::{PASSWORD, create_account, john_record};

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

/// `template` with `{patient}`, `{encounter}`, `{prescription}`, `{appointment}` and
/// `{invoice}` filled in from `records`.
fn fill(records: &Records, template: &str) -> String {
    template
        .replace("{patient}", &records.patient)
        .replace("{encounter}", &records.encounter)
        .replace("{prescription}", &records.prescription)
        .replace("{appointment}", &records.appointment)
        .replace("{invoice}", &records.invoice)
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

    let ids = records_of(&app, john_record(&app).await, ("10:00", "10:15")).await;
    let admin = app.actor("admin").await;
    create_account(&app, &admin, "drjones", "doctor").await;
    let banner = format!("data-patient-banner=\"{}\"", ids.patient);
    for (route, address, owner, ask_outsider) in PATIENT_PAGES {
        let path = fill(&ids, address);
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
