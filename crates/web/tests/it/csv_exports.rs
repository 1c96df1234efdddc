//! CSV exports of the lists (`/patients.csv`, `/appointments.csv`, `/billing.csv`): RFC 4180
//! quoting that reads back as written, formula cells neutralised, the columns of the
//! caller's view (a receptionist's patient file has no clinical column at all), rows masked
//! exactly like the page, the same refusals as the page, and one `export` event per file
//! with its row count.

use axum::http::StatusCode;
use carevault_service::patients::{Change, PatientInput};

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::scheduling_api::{book, booking, id_of, john_record};

/// A formula a spreadsheet would run.
const FORMULA: &str = "=HYPERLINK(\"http://x\",\"y\")";
/// An address with a comma, a double quote and a newline.
const ADDRESS: &str = "1 \"Old\" Qxmill Lane, Riverton\nRV3 4AB";

fn set(value: &str) -> Change<String> {
    Change::Set(value.to_owned())
}

/// A patient whose free-text cells need neutralising and quoting. Names may not contain
/// `=` or `"` (the registry refuses them), so the `=HYPERLINK` formula goes into free-text
/// fields, and the family name starts with `-`, which spreadsheets also read as a formula.
fn tricky_patient() -> PatientInput {
    PatientInput {
        given_name: set("Quill"),
        family_name: set("-Formulaic"),
        date_of_birth: set("1970-04-05"),
        sex: set("female"),
        address: set(ADDRESS),
        gender_identity: set(FORMULA),
        allergies: set(FORMULA),
        blood_group: set("A+"),
        primary_diagnosis: set("Xqdiagnosismark"),
        ..PatientInput::default()
    }
}

/// The CSV of a 200 response: its header and rows, as a CSV reader reads them back.
fn read_csv(response: &TestResponse, file_name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        response.header("content-disposition"),
        Some(format!("attachment; filename=\"{file_name}\"").as_str())
    );
    assert!(response.text().contains("\r\n"), "RFC 4180 line ends");
    let mut reader = csv::Reader::from_reader(response.body.as_ref());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// The reasons of the `export` events on `resource_type`, as the auditor sees them.
async fn export_reasons(app: &TestApp, resource_type: &str) -> Vec<String> {
    let mut auditor = app.api_client("auditor").await;
    let page = auditor
        .get("/api/v1/audit/events?action=export&limit=100")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    page.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["resource_type"] == resource_type)
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn patient_export_neutralises_quotes_and_masks_per_role(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin_actor = app.actor("admin").await;
    let tricky = app.register_patient(&admin_actor, tricky_patient()).await;

    // The list page offers the download with its filters.
    let mut admin = app.browser("admin").await;
    let page = admin.get("/patients?sort=oldest").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text()
            .contains("href=\"/patients.csv?sort=oldest\" download>Download CSV</a>"),
        "{}",
        page.text()
    );

    // Administrators: every column, values in clear, formulas neutralised, quoting intact.
    let (header, rows) = read_csv(&admin.get("/patients.csv").await, "patients.csv");
    for clinical in ["blood_group", "allergies", "primary_diagnosis"] {
        column(&header, clinical);
    }
    let id = column(&header, "id");
    let row = rows
        .iter()
        .find(|r| r[id] == tricky.id.to_string())
        .expect("the patient's row");
    assert_eq!(row[column(&header, "family_name")], "'-Formulaic");
    assert_eq!(row[column(&header, "address")], ADDRESS);
    assert_eq!(
        row[column(&header, "gender_identity")],
        format!("'{FORMULA}")
    );
    assert_eq!(row[column(&header, "allergies")], format!("'{FORMULA}"));
    assert_eq!(rows.len(), 2, "the demo patient and this one: {rows:?}");
    let reasons = export_reasons(&app, "patient").await;
    assert_eq!(reasons, ["patients CSV, 2 rows"]);

    // A search exports only its hits.
    let (_, hits) = read_csv(
        &admin.get("/patients.csv?q=Quill+-Formulaic").await,
        "patients.csv",
    );
    assert_eq!(hits.len(), 1, "{hits:?}");

    // Reception: identity and contact columns, no clinical column at all.
    let mut reception = app.browser("reception").await;
    let export = reception.get("/patients.csv").await;
    assert!(!export.text().contains("Xqdiagnosismark"));
    let (header, rows) = read_csv(&export, "patients.csv");
    for clinical in ["blood_group", "allergies", "primary_diagnosis"] {
        assert!(
            !header.iter().any(|h| h == clinical),
            "{clinical} in {header:?}"
        );
    }
    let row = rows
        .iter()
        .find(|r| r[column(&header, "id")] == tricky.id.to_string())
        .expect("the patient's row");
    assert_eq!(row[column(&header, "family_name")], "'-Formulaic");
    assert_eq!(row[column(&header, "address")], ADDRESS);

    // A doctor: John (on Dr Smith's care team) in clear, the other patient by pseudonym,
    // nothing of theirs but what the masked view shows.
    let mut doctor = app.browser("drsmith").await;
    let export = doctor.get("/patients.csv").await;
    let text = export.text();
    assert!(
        !text.contains("Formulaic") && !text.contains("Qxmill"),
        "{text}"
    );
    assert!(!text.contains("Xqdiagnosismark") && !text.contains("HYPERLINK"));
    let (header, rows) = read_csv(&export, "patients.csv");
    let family = column(&header, "family_name");
    let row = rows
        .iter()
        .find(|r| r[column(&header, "id")] == tricky.id.to_string())
        .expect("the patient's row");
    assert_eq!(row[family], tricky.pseudonym);
    assert!(row[family].starts_with("ANON_"));
    assert_eq!(row[column(&header, "given_name")], "");
    assert_eq!(row[column(&header, "allergies")], "");
    let john = john_record(&app).await;
    let row = rows
        .iter()
        .find(|r| r[column(&header, "id")] == john)
        .expect("john's row");
    assert_eq!(row[family], "Patient");
    assert_eq!(row[column(&header, "allergies")], "Penicillin");

    let reasons = export_reasons(&app, "patient").await;
    assert_eq!(reasons.len(), 4, "one event per export: {reasons:?}");
}

async fn patient_export_has_every_page(backend: Backend) {
    let app = TestApp::builder(backend)
        .synthetic_patients(130)
        .build()
        .await;
    let mut admin = app.browser("admin").await;
    let (_, rows) = read_csv(
        &admin.get("/patients.csv?sort=oldest").await,
        "patients.csv",
    );
    assert_eq!(rows.len(), 131, "more than one page of 100, and John");
    let mut ids: Vec<&String> = rows.iter().map(|r| &r[0]).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 131, "no row twice");
    assert_eq!(
        export_reasons(&app, "patient").await,
        ["patients CSV, 131 rows"]
    );
}

/// Asserts that a signed-out request is sent to the sign-in page.
fn redirects_to_login(response: &TestResponse) {
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert!(
        response.location().is_some_and(|l| l.starts_with("/login")),
        "{:?}",
        response.location()
    );
}

async fn forbidden(client: &mut Client<'_>, path: &str) {
    let response = client.get(path).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
    assert!(!response.text().contains("\r\n"), "{path}: no CSV");
}

async fn exports_are_refused_like_their_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut anonymous = app.anonymous();
    for path in ["/patients.csv", "/appointments.csv", "/billing.csv"] {
        redirects_to_login(&anonymous.get(path).await);
    }
    forbidden(&mut app.browser("pharma").await, "/appointments.csv").await;
    forbidden(&mut app.browser("pharma").await, "/patients.csv").await;
    forbidden(&mut app.browser("auditor").await, "/appointments.csv").await;
    forbidden(&mut app.browser("nurse").await, "/billing.csv").await;
    forbidden(&mut app.browser("drsmith").await, "/billing.csv").await;
    forbidden(&mut app.browser("john").await, "/patients.csv").await;
    for resource in ["patient", "appointment", "invoice"] {
        assert!(
            export_reasons(&app, resource).await.is_empty(),
            "a refused export is not recorded as one"
        );
    }
}

async fn appointment_export_lists_the_calendar(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let drsmith = app
        .services
        .staff_directory(&admin)
        .await
        .expect("staff")
        .into_iter()
        .find(|s| s.username == "drsmith")
        .expect("drsmith")
        .id
        .to_string();
    let tricky = app.register_patient(&admin, tricky_patient()).await;
    let mut reception_api = app.api_client("reception").await;
    let appointment = book(
        &mut reception_api,
        &booking(
            &tricky.id.to_string(),
            &drsmith,
            "2026-03-03T10:00:00+00:00",
            "2026-03-03T10:15:00+00:00",
        ),
    )
    .await;

    let mut reception = app.browser("reception").await;
    let calendar = reception
        .get(&format!("/schedule?clinician={drsmith}&date=2026-03-03"))
        .await;
    assert_eq!(calendar.status, StatusCode::OK);
    let href = format!("/appointments.csv?clinician={drsmith}&#38;date=2026-03-03");
    assert!(
        calendar.text().contains(&href),
        "{}",
        calendar
            .text()
            .lines()
            .filter(|l| l.contains("csv"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    let path = format!("/appointments.csv?clinician={drsmith}&date=2026-03-03");
    let (header, rows) = read_csv(&reception.get(&path).await, "appointments.csv");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][column(&header, "id")], id_of(&appointment));
    assert_eq!(rows[0][column(&header, "patient")], "Quill -Formulaic");
    assert_eq!(rows[0][column(&header, "reason")], "Persistent cough");
    // Another day of the calendar is another (empty) list.
    let other = format!("/appointments.csv?clinician={drsmith}&date=2026-03-04");
    let (_, none) = read_csv(&reception.get(&other).await, "appointments.csv");
    assert!(none.is_empty());
    let bad = reception.get("/appointments.csv?date=tomorrow").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The doctor's own calendar: the patient is on their care team now (the booking).
    let mut doctor = app.browser("drsmith").await;
    let (header, rows) = read_csv(
        &doctor.get("/appointments.csv?date=2026-03-03").await,
        "appointments.csv",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][column(&header, "patient")], "Quill -Formulaic");

    let reasons = export_reasons(&app, "appointment").await;
    assert_eq!(
        reasons,
        [
            "appointments CSV, 1 rows",
            "appointments CSV, 0 rows",
            "appointments CSV, 1 rows"
        ]
    );
}

async fn invoice_export_follows_the_billing_list(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut reception = app.browser("reception").await;
    let opened = reception
        .post_form("/billing", &[("patient_id", &john)])
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text());
    let invoice = opened
        .location()
        .and_then(|l| l.strip_prefix("/invoices/"))
        .expect("to the invoice")
        .to_owned();

    let list = reception.get("/billing?status=draft").await;
    assert!(
        list.text()
            .contains("href=\"/billing.csv?status=draft\" download>Download CSV</a>"),
        "{}",
        list.text()
    );
    let (header, rows) = read_csv(
        &reception.get("/billing.csv?status=draft").await,
        "invoices.csv",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][column(&header, "status")], "Draft");
    assert_eq!(rows[0][column(&header, "balance")], "0.00");
    let (_, none) = read_csv(
        &reception.get("/billing.csv?status=paid").await,
        "invoices.csv",
    );
    assert!(none.is_empty());

    // The patient gets their own bills through the same route.
    let mut patient = app.browser("john").await;
    let bills = patient.get("/my/bills").await;
    assert!(
        bills
            .text()
            .contains("href=\"/billing.csv\" download>Download CSV</a>")
    );
    let (header, rows) = read_csv(&patient.get("/billing.csv").await, "invoices.csv");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let number = column(&header, "number");
    assert!(!rows[0][number].is_empty(), "{invoice}");

    let reasons = export_reasons(&app, "invoice").await;
    assert_eq!(
        reasons,
        [
            "invoices CSV, 1 rows",
            "invoices CSV, 0 rows",
            "invoices CSV, 1 rows"
        ]
    );
}

async fn stock_export_is_audited_with_its_row_count(backend: Backend) {
    let app = TestApp::new(backend).await;
    let pharma = app.actor("pharma").await;
    for name in ["Metformin", "Quinine"] {
        app.services
            .create_drug(&pharma, crate::pharmacy::drug(name))
            .await
            .expect("a drug");
    }
    let mut pharmacist = app.browser("pharma").await;
    let (header, rows) = read_csv(
        &pharmacist.get("/reports/stock.csv").await,
        "stock-report.csv",
    );
    assert!(!header.is_empty());
    assert_eq!(rows.len(), 3, "two drugs and the total");
    assert_eq!(export_reasons(&app, "stock").await, ["stock CSV, 2 rows"]);
    // A nurse may not, and nothing is recorded as exported.
    let mut nurse = app.browser("nurse").await;
    forbidden(&mut nurse, "/reports/stock.csv").await;
    assert_eq!(export_reasons(&app, "stock").await.len(), 1);
}

on_all_backends!(
    stock_export_is_audited_with_its_row_count,
    patient_export_neutralises_quotes_and_masks_per_role,
    patient_export_has_every_page,
    exports_are_refused_like_their_pages,
    appointment_export_lists_the_calendar,
    invoice_export_follows_the_billing_list,
);
