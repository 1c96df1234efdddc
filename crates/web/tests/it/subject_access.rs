//! Data-subject rights: the access export of a patient with data in every section
//! holds every section as valid JSON and the documents byte for byte, lists who read the
//! record and is audited once as an export; a patient exports their own record and no one
//! else's; the routes refuse anonymous callers, wrong roles and bad ids; consents keep their
//! history, refuse unknown purposes naming the field, and a withdrawn reminder consent stops
//! appointment reminders; the records of processing render for administrators and auditors
//! and name every role.

use std::collections::HashMap;
use std::io::Read;

use axum::http::StatusCode;
use carevault_core::clinical::VitalsInput;
use carevault_service::billing::LineRequest;
use carevault_service::documents::DocumentUpload;
use carevault_service::encounters::{DiagnosisInput, EncounterInput};
use carevault_service::prescriptions::{Prescribed, PrescriptionRequest};
use carevault_store::audit::AuditFilter;
use serde_json::{Value, json};

use crate::documents::tiny_pdf;
use crate::harness::{Backend, Client, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::{id_of, jane, john_record, new_patient, user_id};

const SECTIONS: [&str; 12] = [
    "patient",
    "appointments",
    "encounters",
    "diagnoses",
    "vitals",
    "nursing_notes",
    "prescriptions",
    "documents",
    "invoices",
    "notifications",
    "consents",
    "access_log",
];

/// Books John with Dr. Smith (as reception) at `start` for 15 minutes.
async fn book_john(app: &TestApp, start: &str, end: &str) -> String {
    let john = john_record(app).await;
    let smith = user_id(&mut app.api_client("drsmith").await).await;
    let mut reception = app.api_client("reception").await;
    let response = reception
        .post_json(
            "/api/v1/appointments",
            &json!({
                "patient_id": john,
                "clinician_id": smith,
                "start": start,
                "end": end,
                "reason": "Persistent cough",
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    id_of(&response.json())
}

/// Appointment reminders in the outbox, as the administrator sees it.
async fn reminders(app: &TestApp) -> Vec<Value> {
    let response = app
        .api_client("admin")
        .await
        .get("/api/v1/notifications?all=true&kind=appointment_reminder")
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["items"].as_array().expect("items").clone()
}

/// Gives John data in every section; returns (John's id, the PDF uploaded).
async fn seed_every_section(app: &TestApp) -> (String, Vec<u8>) {
    let john = john_record(app).await;
    let john_id = john.parse().expect("an id");
    book_john(
        app,
        "2026-03-03T10:00:00+00:00",
        "2026-03-03T10:15:00+00:00",
    )
    .await;

    let doctor = app.actor("drsmith").await;
    let encounter = app
        .services
        .create_encounter(
            &doctor,
            EncounterInput {
                patient_id: john.clone(),
                texts: HashMap::from([
                    ("chief_complaint".to_owned(), "Thirst".to_owned()),
                    ("assessment".to_owned(), "Likely diabetes".to_owned()),
                ]),
                diagnoses: vec![DiagnosisInput {
                    kind: "primary".into(),
                    code: Some("E11.9".into()),
                    ..DiagnosisInput::default()
                }],
                ..EncounterInput::default()
            },
        )
        .await
        .expect("an encounter");
    app.services
        .record_vitals(
            &doctor,
            john_id,
            Some(&encounter.id),
            &VitalsInput {
                pulse_bpm: Some("72"),
                ..VitalsInput::default()
            },
        )
        .await
        .expect("vitals");
    let mut request = PrescriptionRequest {
        encounter_id: encounter.id.clone(),
        drug_name: "Metformin".into(),
        dose: "500 mg".into(),
        route: "oral".into(),
        frequency: "twice daily".into(),
        duration_days: "30".into(),
        quantity: "60".into(),
        ..Default::default()
    };
    let written = app
        .services
        .prescribe(&doctor, request.clone())
        .await
        .expect("prescribed");
    if let Prescribed::NeedsAcknowledgement(_) = written {
        request.acknowledgement = Some("Reviewed and intended".into());
        app.services
            .prescribe(&doctor, request)
            .await
            .expect("prescribed");
    }
    app.services
        .sign_encounter(&doctor, &encounter.id)
        .await
        .expect("signed");

    let pdf = tiny_pdf("Qxaccessexportmarker");
    app.services
        .upload_document(
            &doctor,
            DocumentUpload {
                patient_id: john_id,
                encounter_id: None,
                title: "Lab report".into(),
                original_name: "lab report.pdf".into(),
                bytes: pdf.clone(),
            },
        )
        .await
        .expect("uploaded");

    let reception = app.actor("reception").await;
    let (invoice, _) = app
        .services
        .open_invoice(&reception, &john)
        .await
        .expect("an invoice");
    app.services
        .add_invoice_line(
            &reception,
            &invoice.summary.id,
            LineRequest {
                description: "Consultation".into(),
                quantity: "1".into(),
                unit_price: "50.00".into(),
                ..LineRequest::default()
            },
        )
        .await
        .expect("a line");

    let mut john_client = app.api_client("john").await;
    let consent = john_client
        .post_json(
            &format!("/api/v1/patients/{john}/consents"),
            &json!({"purpose": "research", "status": "granted"}),
        )
        .await;
    assert_eq!(consent.status, StatusCode::CREATED, "{}", consent.text());

    let note = app
        .api_client("nurse")
        .await
        .post_json(
            &format!("/api/v1/patients/{john}/nursing-notes"),
            &json!({"text": "Mobilised to the chair."}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.text());

    // The doctor reads the record: the access log must show it.
    let read = app
        .api_client("drsmith")
        .await
        .get(&format!("/api/v1/patients/{john}"))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    (john, pdf)
}

/// Every file of a ZIP by name.
fn unzip(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut files = HashMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("an entry");
        let mut content = Vec::new();
        file.read_to_end(&mut content).expect("readable");
        files.insert(file.name().expect("a name").into_owned(), content);
    }
    files
}

async fn export(client: &mut Client<'_>, path: &str) -> HashMap<String, Vec<u8>> {
    let response = client.get(path).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/zip"));
    let disposition = response.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment; filename=\"access-export-"),
        "{disposition}"
    );
    unzip(&response.body)
}

fn section(files: &HashMap<String, Vec<u8>>, name: &str) -> Value {
    let bytes = files
        .get(&format!("{name}.json"))
        .unwrap_or_else(|| panic!("{name}.json is missing: {:?}", files.keys()));
    let value: Value = serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{name}.json is not valid JSON: {e}"));
    assert_eq!(value["section"], name);
    value
}

on_all_backends!(
    the_access_export_holds_every_section_and_the_documents_byte_for_byte,
    a_patient_exports_their_own_record_and_no_one_elses,
    export_routes_refuse_anonymous_wrong_roles_and_bad_ids,
    an_erased_patient_has_nothing_to_export,
    consents_keep_their_history_and_refuse_bad_input,
    a_withdrawn_reminder_consent_stops_appointment_reminders,
    the_records_of_processing_name_every_role,
);

async fn the_access_export_holds_every_section_and_the_documents_byte_for_byte(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (john, pdf) = seed_every_section(&app).await;
    let smith = user_id(&mut app.api_client("drsmith").await).await;

    let mut admin = app.api_client("admin").await;
    let files = export(
        &mut admin,
        &format!("/api/v1/patients/{john}/access-export"),
    )
    .await;
    for name in SECTIONS {
        let value = section(&files, name);
        assert_eq!(value["patient_id"], john.as_str(), "{name}");
        let items = value["items"].as_array().expect("items");
        assert!(!items.is_empty(), "{name}.json has no items");
        assert_eq!(value["count"], items.len(), "{name}");
    }
    let patient = &section(&files, "patient")["items"][0];
    assert_eq!(patient["given_name"], "John");
    assert!(patient["mrn"].is_string());
    let encounter = &section(&files, "encounters")["items"][0];
    assert_eq!(encounter["texts"]["chief_complaint"], "Thirst");
    assert_eq!(section(&files, "diagnoses")["items"][0]["code"], "E11.9");
    assert_eq!(
        section(&files, "prescriptions")["items"][0]["drug_name"],
        "Metformin"
    );
    assert_eq!(
        section(&files, "invoices")["items"][0]["lines"][0]["description"],
        "Consultation"
    );
    assert_eq!(
        section(&files, "consents")["items"][0]["purpose"],
        "research"
    );
    assert_eq!(
        section(&files, "notifications")["items"][0]["kind"],
        "appointment_reminder"
    );

    // The document: named in documents.json, the same bytes in the archive.
    let documents = section(&files, "documents");
    let file = documents["items"][0]["file"].as_str().expect("a file name");
    assert!(file.starts_with("documents/"), "{file}");
    assert_eq!(files.get(file).expect("the document's file"), &pdf);
    assert_eq!(documents["items"][0]["title"], "Lab report");

    // Who accessed the record: the doctor's read is there, by name.
    let log = section(&files, "access_log");
    assert!(
        log["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["actor_id"] == smith.as_str() && e["action"] == "read"),
        "the doctor's read is missing: {log}"
    );

    // The manifest and README list the sections.
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("JSON");
    assert_eq!(manifest["sections"].as_array().map(Vec::len), Some(12));
    assert_eq!(
        section(&files, "nursing_notes")["items"][0]["text"],
        "Mobilised to the chair."
    );
    assert!(String::from_utf8_lossy(&files["README.txt"]).contains("access_log.json"));

    // One export event, on the patient, with the counts.
    let admin_actor = app.actor("admin").await;
    let events = app
        .services
        .audit_events(
            &admin_actor,
            AuditFilter {
                action: Some("export".into()),
                resource_id: Some(john.clone()),
                ..AuditFilter::default()
            },
            0,
            50,
        )
        .await
        .expect("events");
    assert_eq!(events.entries.len(), 1, "{:?}", events.entries);
    let reason = events.entries[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("documents 1"), "{reason}");
    assert_eq!(events.entries[0].actor_role.as_deref(), Some("admin"));
}

async fn a_patient_exports_their_own_record_and_no_one_elses(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let jane = jane(&app).await;

    let mut browser = app.browser("john").await;
    let files = export(&mut browser, "/my/access-export").await;
    assert_eq!(section(&files, "patient")["items"][0]["id"], john.as_str());
    for name in SECTIONS {
        section(&files, name);
    }

    let mut api = app.api_client("john").await;
    export(&mut api, &format!("/api/v1/patients/{john}/access-export")).await;
    let other = api
        .get(&format!("/api/v1/patients/{jane}/access-export"))
        .await;
    other.problem(StatusCode::FORBIDDEN);
    let unknown = api
        .get("/api/v1/patients/01900000-0000-7000-8000-000000000000/access-export")
        .await;
    unknown.problem(StatusCode::FORBIDDEN);
    let page = browser
        .get(&format!("/patients/{jane}/access-export"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    // The refusal is recorded.
    let admin = app.actor("admin").await;
    let refused = app
        .services
        .audit_events(
            &admin,
            AuditFilter {
                action: Some("access_denied".into()),
                resource_id: Some(jane.clone()),
                ..AuditFilter::default()
            },
            0,
            50,
        )
        .await
        .expect("events");
    assert!(!refused.entries.is_empty());
}

async fn export_routes_refuse_anonymous_wrong_roles_and_bad_ids(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let path = format!("/api/v1/patients/{john}/access-export");

    let anonymous = app.anonymous().get(&path).await;
    anonymous.problem(StatusCode::UNAUTHORIZED);
    let page = app
        .anonymous()
        .get(&format!("/patients/{john}/access-export"))
        .await;
    assert!(page.status.is_redirection(), "{}", page.status);
    assert!(page.location().unwrap_or_default().starts_with("/login"));
    let my = app.anonymous().get("/my/access-export").await;
    assert!(my.status.is_redirection());

    for role in ["drsmith", "reception", "nurse", "pharma", "auditor"] {
        let response = app.api_client(role).await.get(&path).await;
        response.problem(StatusCode::FORBIDDEN);
    }
    let staff_my = app
        .browser("reception")
        .await
        .get("/my/access-export")
        .await;
    assert_eq!(staff_my.status, StatusCode::FORBIDDEN);

    let mut admin = app.api_client("admin").await;
    admin
        .get("/api/v1/patients/not-an-id/access-export")
        .await
        .problem(StatusCode::NOT_FOUND);
    admin
        .get("/api/v1/patients/01900000-0000-7000-8000-000000000000/access-export")
        .await
        .problem(StatusCode::NOT_FOUND);
    let bad_page = app
        .browser("admin")
        .await
        .get("/patients/not-an-id/access-export")
        .await;
    assert_eq!(bad_page.status, StatusCode::NOT_FOUND);

    // The page route downloads the same archive for the administrator.
    let mut browser = app.browser("admin").await;
    let files = export(&mut browser, &format!("/patients/{john}/access-export")).await;
    section(&files, "patient");
}

async fn an_erased_patient_has_nothing_to_export(backend: Backend) {
    let app = TestApp::new(backend).await;
    let patient = new_patient(&app, "Erin", "Erasable").await;
    let mut admin = app.api_client("admin").await;
    let mrn = admin
        .get(&format!("/api/v1/patients/{patient}"))
        .await
        .json()["mrn"]
        .as_str()
        .expect("an MRN")
        .to_owned();
    export(
        &mut admin,
        &format!("/api/v1/patients/{patient}/access-export"),
    )
    .await;
    let admin_actor = app.actor("admin").await;
    app.services
        .erase_patient(&admin_actor, patient.parse().expect("an id"), &mrn)
        .await
        .expect("erased");
    let gone = admin
        .get(&format!("/api/v1/patients/{patient}/access-export"))
        .await;
    let problem = gone.problem(StatusCode::NOT_FOUND);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("erased"),
        "{problem}"
    );
}

async fn consents_keep_their_history_and_refuse_bad_input(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let jane = jane(&app).await;
    let path = format!("/api/v1/patients/{john}/consents");

    let mut john_client = app.api_client("john").await;
    let before = john_client.get(&path).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text());
    assert_eq!(before.json()["history"].as_array().map(Vec::len), Some(0));
    for status in ["withdrawn", "granted"] {
        let response = john_client
            .post_json(&path, &json!({"purpose": "data_sharing", "status": status}))
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    }
    let mut reception = app.api_client("reception").await;
    let paper = reception
        .post_json(
            &path,
            &json!({"purpose": "email_notifications", "status": "withdrawn", "note": "Paper form 2026/17"}),
        )
        .await;
    assert_eq!(paper.status, StatusCode::CREATED, "{}", paper.text());
    let list = reception.get(&path).await.json();
    let history = list["history"].as_array().expect("history");
    assert_eq!(history.len(), 3, "{list}");
    assert_eq!(history[0]["note"], "Paper form 2026/17");
    assert_eq!(history[0]["recorded_by_patient"], false);
    assert_eq!(history[1]["recorded_by_patient"], true);
    let current = |purpose: &str| {
        list["current"]
            .as_array()
            .expect("current")
            .iter()
            .find(|c| c["purpose"] == purpose)
            .map(|c| c["status"].clone())
    };
    assert_eq!(current("data_sharing"), Some(json!("granted")));
    assert_eq!(current("email_notifications"), Some(json!("withdrawn")));
    assert_eq!(current("appointment_reminders"), Some(json!("granted")));

    // Bad input names the field; nothing is written.
    let bad = john_client
        .post_json(&path, &json!({"purpose": "marketing", "status": "granted"}))
        .await;
    let problem = bad.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["field"] == "purpose")),
        "{problem}"
    );
    let bad_status = john_client
        .post_json(&path, &json!({"purpose": "research", "status": "maybe"}))
        .await;
    bad_status.problem(StatusCode::UNPROCESSABLE_ENTITY);
    let bad_form = app
        .browser("john")
        .await
        .post_form(
            "/my/consents",
            &[("purpose", "marketing"), ("status", "granted")],
        )
        .await;
    assert_eq!(bad_form.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_form
            .text()
            .contains("must be one of the consent purposes")
    );
    assert_eq!(
        reception.get(&path).await.json()["history"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    // Who may: not a doctor, not another patient, not anonymous.
    app.api_client("drsmith")
        .await
        .get(&path)
        .await
        .problem(StatusCode::FORBIDDEN);
    john_client
        .get(&format!("/api/v1/patients/{jane}/consents"))
        .await
        .problem(StatusCode::FORBIDDEN);
    john_client
        .post_json(
            &format!("/api/v1/patients/{jane}/consents"),
            &json!({"purpose": "research", "status": "granted"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    app.anonymous()
        .get(&path)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    reception
        .get("/api/v1/patients/not-an-id/consents")
        .await
        .problem(StatusCode::NOT_FOUND);

    // The pages: the patient's own and reception's, with a form that records.
    let mut john_browser = app.browser("john").await;
    let mine = john_browser.get("/my/consents").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.text().contains("data_sharing"));
    assert!(mine.text().contains("/my/access-export"));
    let granted = john_browser
        .post_form(
            "/my/consents",
            &[("purpose", "sms_notifications"), ("status", "withdrawn")],
        )
        .await;
    assert!(granted.status.is_redirection(), "{}", granted.text());
    let mut desk = app.browser("reception").await;
    let staff_page = desk.get(&format!("/patients/{john}/consents")).await;
    assert_eq!(staff_page.status, StatusCode::OK);
    assert!(staff_page.text().contains("Paper form 2026/17"));
    let recorded = desk
        .post_form(
            &format!("/patients/{john}/consents"),
            &[("purpose", "research"), ("status", "granted"), ("note", "")],
        )
        .await;
    assert!(recorded.status.is_redirection(), "{}", recorded.text());
    let doctor_page = app
        .browser("drsmith")
        .await
        .get(&format!("/patients/{john}/consents"))
        .await;
    assert_eq!(doctor_page.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reception.get(&path).await.json()["history"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
}

async fn a_withdrawn_reminder_consent_stops_appointment_reminders(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;

    // With no consent recorded, a booking queues John's reminder.
    book_john(
        &app,
        "2026-03-03T10:00:00+00:00",
        "2026-03-03T10:15:00+00:00",
    )
    .await;
    assert_eq!(reminders(&app).await.len(), 1);

    let withdrawn = app
        .api_client("john")
        .await
        .post_json(
            &format!("/api/v1/patients/{john}/consents"),
            &json!({"purpose": "appointment_reminders", "status": "withdrawn"}),
        )
        .await;
    assert_eq!(
        withdrawn.status,
        StatusCode::CREATED,
        "{}",
        withdrawn.text()
    );
    book_john(
        &app,
        "2026-03-04T10:00:00+00:00",
        "2026-03-04T10:15:00+00:00",
    )
    .await;
    assert_eq!(
        reminders(&app).await.len(),
        1,
        "no reminder after withdrawal"
    );

    // Granted again: reminders come back.
    app.api_client("john")
        .await
        .post_json(
            &format!("/api/v1/patients/{john}/consents"),
            &json!({"purpose": "appointment_reminders", "status": "granted"}),
        )
        .await;
    book_john(
        &app,
        "2026-03-05T10:00:00+00:00",
        "2026-03-05T10:15:00+00:00",
    )
    .await;
    assert_eq!(reminders(&app).await.len(), 2);
}

async fn the_records_of_processing_name_every_role(backend: Backend) {
    let app = TestApp::new(backend).await;
    for user in ["admin", "auditor"] {
        let page = app.browser(user).await.get("/admin/processing").await;
        assert_eq!(page.status, StatusCode::OK, "{user}");
        let html = page.text();
        for role in carevault_core::Role::ALL {
            assert!(
                html.contains(&format!("data-role=\"{}\"", role.as_str())),
                "{role:?} is missing"
            );
        }
        assert!(html.contains("appointment_reminders"));
        assert!(html.contains("10 years"));
    }
    for user in ["drsmith", "john", "reception"] {
        let page = app.browser(user).await.get("/admin/processing").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{user}");
    }
    let anonymous = app.anonymous().get("/admin/processing").await;
    assert!(anonymous.status.is_redirection());
}
