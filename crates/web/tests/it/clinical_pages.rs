//! The clinical record's pages: a doctor drafts an encounter through the form (diagnosis
//! rows, the ICD-10 lookup without JavaScript, messages beside the fields), the nurse adds a
//! treatment note and vitals, the doctor prescribes (warnings shown with the acknowledgement
//! field), prints the prescription, signs, and amends (the original kept, with the author and
//! reason); who sees which page; the patient portal's own-records-only pages; the diagnoses
//! report with its chart and CSV.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::scheduling_api::{create_account, jane, john_record, sign_in};

fn page(response: &TestResponse, status: StatusCode, what: &str) -> String {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    response.text()
}

fn redirected_to(response: &TestResponse, prefix: &str) -> String {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let location = response.location().expect("a location").to_owned();
    assert!(location.starts_with(prefix), "{location}");
    location
}

/// An encounter id from `/encounters/{id}?notice=…`.
fn encounter_of(location: &str) -> String {
    location
        .trim_start_matches("/encounters/")
        .split('?')
        .next()
        .expect("an id")
        .to_owned()
}

async fn api_draft(doctor: &mut Client<'_>, patient: &str) -> String {
    let response = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({
                "patient_id": patient,
                "chief_complaint": "Thirst for two weeks",
                "history": "Qzhistorymarker polyuria",
                "assessment": "Hyperglycaemia",
                "plan": "Start metformin",
                "diagnoses": [{"kind": "primary", "code": "E11.9"}],
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["id"].as_str().expect("an id").to_owned()
}

async fn api_prescription(doctor: &mut Client<'_>, encounter: &str) -> String {
    let response = doctor
        .post_json(
            "/api/v1/prescriptions",
            &json!({"encounter_id": encounter, "drug_name": "Paracetamol", "dose": "1 g",
                    "route": "oral", "frequency": "four times daily", "duration_days": 3,
                    "quantity": 12}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["id"].as_str().expect("an id").to_owned()
}

async fn the_encounter_is_written_noted_prescribed_signed_and_amended(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.browser("drsmith").await;
    let mut nurse = app.browser("nurse").await;

    // The patient page links the clinical record and the new-encounter form.
    let patient_page = page(
        &doctor.get(&format!("/patients/{john}")).await,
        StatusCode::OK,
        "patient page",
    );
    assert!(patient_page.contains(&format!("href=\"/patients/{john}/clinical\"")));
    assert!(patient_page.contains(&format!("href=\"/encounters/new?patient={john}\"")));

    // The form, with its script for the type-ahead; without it, the lookup is a button of
    // the same form that keeps what was typed.
    let form_path = format!("/encounters/new?patient={john}");
    let form = page(&doctor.get(&form_path).await, StatusCode::OK, "the form");
    assert!(form.contains("name=\"dx0_code\""), "{form}");
    assert!(form.contains("data-icd10-input"));
    assert!(form.contains("<script src=\"/assets/encounter.js\" defer></script>"));
    let lookup = page(
        &doctor
            .post_form(
                "/encounters/new",
                &[
                    ("patient_id", &john),
                    ("chief_complaint", "Thirst"),
                    ("icd10", "type 2 diabetes"),
                    ("action", "lookup"),
                ],
            )
            .await,
        StatusCode::OK,
        "lookup",
    );
    assert!(lookup.contains("value=\"use:E11.9\""), "{lookup}");
    assert!(lookup.contains(">Thirst</textarea>"), "the form is kept");
    page(
        &nurse.get(&form_path).await,
        StatusCode::FORBIDDEN,
        "nurses do not write encounters",
    );

    // A bad code is named beside its row; nothing is written.
    let refused = page(
        &doctor
            .post_form(
                "/encounters/new",
                &[
                    ("patient_id", &john),
                    ("kind", "consultation"),
                    ("chief_complaint", "Thirst"),
                    ("dx0_kind", "primary"),
                    ("dx0_code", "QQQ.99"),
                    ("dx1_code", ""),
                ],
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a bad code",
    );
    assert!(refused.contains("id=\"dx0-error\""), "{refused}");
    assert!(refused.contains(">Thirst</textarea>"), "the form is kept");

    let created = doctor
        .post_form(
            "/encounters/new",
            &[
                ("patient_id", &john),
                ("kind", "consultation"),
                ("chief_complaint", "Thirst for two weeks"),
                ("history", "Polyuria"),
                ("plan", "Start metformin"),
                ("dx0_kind", "primary"),
                ("dx0_code", "e11.9"),
                ("dx1_code", ""),
                ("dx1_text", "Worried about driving"),
                ("dx1_free", "on"),
            ],
        )
        .await;
    let location = redirected_to(&created, "/encounters/");
    let id = encounter_of(&location);
    let path = format!("/encounters/{id}");
    let shown = page(&doctor.get(&location).await, StatusCode::OK, "the draft");
    assert!(shown.contains("The encounter has been saved as a draft."));
    assert!(shown.contains("Type 2 diabetes mellitus"), "{shown}");
    assert!(shown.contains("Worried about driving"));
    assert!(shown.contains("id=\"sign-encounter\""));
    assert_eq!(
        shown
            .matches("<form method=\"post\" action=\"/encounters/")
            .count(),
        1,
        "the draft is one form"
    );
    // The draft form carries its version: a form drawn before someone's change is refused.
    let seen = crate::harness::hidden_field(&shown, "seen").expect("the draft form's version");
    redirected_to(
        &doctor
            .post_form(
                &format!("{path}/edit"),
                &[
                    ("seen", &seen),
                    ("chief_complaint", "Thirst for two weeks"),
                    ("history", "Polyuria"),
                    ("plan", "Start metformin"),
                    ("dx0_kind", "primary"),
                    ("dx0_code", "E11.9"),
                    ("dx1_text", "Worried about driving"),
                    ("dx1_free", "on"),
                ],
            )
            .await,
        &path,
    );
    let stale = page(
        &doctor
            .post_form(
                &format!("{path}/edit"),
                &[("seen", &seen), ("plan", "Stale plan Qzstale")],
            )
            .await,
        StatusCode::CONFLICT,
        "a stale draft form",
    );
    assert!(stale.contains("class=\"error-box\""), "{stale}");
    assert!(
        stale.contains(">Stale plan Qzstale</textarea>"),
        "the input is kept"
    );

    // The nurse: a treatment note and vitals, but no change to the encounter.
    let nurse_view = page(&nurse.get(&path).await, StatusCode::OK, "nurse view");
    assert!(nurse_view.contains(&format!("action=\"{path}/notes\"")));
    assert!(!nurse_view.contains(&format!("action=\"{path}/edit\"")));
    assert!(!nurse_view.contains("id=\"sign-encounter\""));
    redirected_to(
        &nurse
            .post_form(
                &format!("{path}/notes"),
                &[("text", "Gave water; patient comfortable")],
            )
            .await,
        &path,
    );
    let refused = page(
        &nurse
            .post_form(&format!("{path}/vitals"), &[("temperature_c", "55")])
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "out-of-range vitals",
    );
    assert!(
        refused.contains("id=\"vital-temperature_c-error\""),
        "{refused}"
    );
    redirected_to(
        &nurse
            .post_form(
                &format!("{path}/vitals"),
                &[("temperature_c", "37.4"), ("pulse_bpm", "80")],
            )
            .await,
        &path,
    );
    page(
        &nurse
            .post_form(
                &format!("{path}/edit"),
                &[("plan", "Nurse plan"), ("dx0_code", "I10")],
            )
            .await,
        StatusCode::FORBIDDEN,
        "a nurse changing the diagnoses",
    );
    let with_note = page(&doctor.get(&path).await, StatusCode::OK, "with the note");
    assert!(with_note.contains("Gave water; patient comfortable"));
    assert!(with_note.contains("37.4"));

    // Prescribing amoxicillin for John (penicillin allergy) with the draft's form: warned,
    // nothing written, then acknowledged.
    let draft = [
        ("seen", ""),
        ("chief_complaint", "Thirst for two weeks"),
        ("history", "Polyuria"),
        ("plan", "Start metformin"),
        ("dx0_kind", "primary"),
        ("dx0_code", "E11.9"),
        ("dx1_text", "Worried about driving"),
        ("dx1_free", "on"),
        ("rx_drug_name", "Amoxicillin"),
        ("rx_dose", "500 mg"),
        ("rx_route", "oral"),
        ("rx_frequency", "three times daily"),
        ("rx_duration_days", "7"),
        ("rx_quantity", "21"),
        ("action", "save"),
    ];
    let edit = format!("{path}/edit");
    let warned = page(
        &doctor.post_form(&edit, &draft).await,
        StatusCode::CONFLICT,
        "warned",
    );
    assert!(warned.contains("id=\"prescription-warnings\""), "{warned}");
    assert!(warned.contains("data-warning=\"allergy\""));
    assert!(warned.contains("name=\"rx_acknowledgement\""));
    assert!(warned.contains("value=\"Amoxicillin\""), "the form is kept");
    let mut acknowledged = draft.to_vec();
    acknowledged.push(("rx_acknowledgement", "ok"));
    let short = page(
        &doctor.post_form(&edit, &acknowledged).await,
        StatusCode::CONFLICT,
        "a short acknowledgement",
    );
    assert!(short.contains("id=\"rx-acknowledgement-error\""), "{short}");
    acknowledged.pop();
    acknowledged.push((
        "rx_acknowledgement",
        "Childhood rash only; tolerated amoxicillin since",
    ));
    redirected_to(&doctor.post_form(&edit, &acknowledged).await, &path);
    let with_rx = page(
        &doctor.get(&path).await,
        StatusCode::OK,
        "with the prescription",
    );
    let marker = "href=\"/prescriptions/";
    let start = with_rx.find(marker).expect("a print link") + marker.len();
    let prescription = with_rx[start..start + 36].to_owned();
    let printed = page(
        &doctor
            .get(&format!("/prescriptions/{prescription}/print"))
            .await,
        StatusCode::OK,
        "the printable prescription",
    );
    assert!(printed.contains("class=\"prescription-print\""));
    assert!(printed.contains("Amoxicillin"));
    assert!(printed.contains("John"), "{printed}");
    assert!(
        printed.contains("Childhood rash only; tolerated amoxicillin since"),
        "the override is printed: {printed}"
    );

    // Signing (the form's other button); afterwards the draft form is refused and
    // amendments keep the original.
    redirected_to(
        &doctor
            .post_form(
                &edit,
                &[
                    ("chief_complaint", "Thirst for two weeks"),
                    ("history", "Polyuria"),
                    ("plan", "Start metformin"),
                    ("dx0_kind", "primary"),
                    ("dx0_code", "E11.9"),
                    ("dx1_text", "Worried about driving"),
                    ("dx1_free", "on"),
                    ("action", "sign"),
                ],
            )
            .await,
        &path,
    );
    let signed = page(&doctor.get(&path).await, StatusCode::OK, "signed");
    assert!(signed.contains("data-status=\"signed\""));
    assert!(!signed.contains(&format!("action=\"{path}/edit\"")));
    assert!(signed.contains(&format!("action=\"{path}/amend\"")));
    let refused = page(
        &doctor
            .post_form(&format!("{path}/edit"), &[("plan", "Insulin")])
            .await,
        StatusCode::CONFLICT,
        "editing a signed encounter",
    );
    assert!(refused.contains("signed"), "{refused}");
    let no_reason = page(
        &doctor
            .post_form(
                &format!("{path}/amend"),
                &[
                    ("reason", ""),
                    ("chief_complaint", "Thirst for two weeks"),
                    ("history", "Polyuria"),
                    ("plan", "Start insulin"),
                ],
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an amendment without a reason",
    );
    assert!(
        no_reason.contains("id=\"amend-reason-error\""),
        "{no_reason}"
    );
    redirected_to(
        &doctor
            .post_form(
                &format!("{path}/amend"),
                &[
                    ("reason", "HbA1c shows type 1 diabetes"),
                    ("chief_complaint", "Thirst for two weeks"),
                    ("history", "Polyuria"),
                    ("plan", "Start insulin"),
                ],
            )
            .await,
        &path,
    );
    let amended = page(&nurse.get(&path).await, StatusCode::OK, "amended");
    assert!(amended.contains("HbA1c shows type 1 diabetes"), "{amended}");
    assert!(amended.contains("Dr. Sarah Smith"));
    assert!(
        amended.contains("<td class=\"before\">Start metformin</td>"),
        "{amended}"
    );
    assert!(amended.contains("<td class=\"after\">Start insulin</td>"));
    assert!(
        !amended.contains(&format!("action=\"{path}/notes\"")),
        "signed: no notes"
    );
    // The nurse may not amend.
    page(
        &nurse
            .post_form(
                &format!("{path}/amend"),
                &[("reason", "Nurse correction"), ("plan", "Rest")],
            )
            .await,
        StatusCode::FORBIDDEN,
        "a nurse amending",
    );

    // The patient's clinical record lists both.
    let list = page(
        &doctor.get(&format!("/patients/{john}/clinical")).await,
        StatusCode::OK,
        "the clinical record",
    );
    assert!(list.contains(&format!("data-encounter=\"{id}\"")));
    assert!(list.contains(&format!("data-prescription=\"{prescription}\"")));
}

on_all_backends!(the_encounter_is_written_noted_prescribed_signed_and_amended);

async fn reception_and_pharmacy_see_no_encounter_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut api = app.api_client("drsmith").await;
    let id = api_draft(&mut api, &john).await;
    let prescription = api_prescription(&mut api, &id).await;

    let mut reception = app.browser("reception").await;
    for path in [
        format!("/patients/{john}/clinical"),
        format!("/encounters/{id}"),
        format!("/prescriptions/{prescription}/print"),
        "/reports/diagnoses".to_owned(),
    ] {
        let answer = reception.get(&path).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!answer.text().contains("metformin"), "{path}");
    }
    page(
        &reception
            .post_form(&format!("/encounters/{id}/notes"), &[("text", "x")])
            .await,
        StatusCode::FORBIDDEN,
        "reception adding a note",
    );

    let mut pharmacist = app.browser("pharma").await;
    page(
        &pharmacist.get(&format!("/encounters/{id}")).await,
        StatusCode::FORBIDDEN,
        "pharmacy reading an encounter",
    );
    let list = page(
        &pharmacist.get(&format!("/patients/{john}/clinical")).await,
        StatusCode::OK,
        "pharmacy's list",
    );
    assert!(list.contains("Paracetamol"));
    assert!(!list.contains("Thirst"), "{list}");
    assert!(!list.contains("Qzhistorymarker"));
    page(
        &pharmacist
            .get(&format!("/prescriptions/{prescription}/print"))
            .await,
        StatusCode::OK,
        "pharmacy prints",
    );
}

on_all_backends!(reception_and_pharmacy_see_no_encounter_page);

async fn the_portal_shows_only_the_patients_own_signed_records(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let jane = jane(&app).await;
    let admin = app.actor("admin").await;
    app.services
        .assign_care_team_member(&admin, jane.parse().expect("an id"), "drsmith")
        .await
        .expect("assigned");
    let mut api = app.api_client("drsmith").await;
    let johns = api_draft(&mut api, &john).await;
    let johns_draft = api_draft(&mut api, &john).await;
    let janes = api_draft(&mut api, &jane).await;
    for id in [&johns, &janes] {
        let signed = api
            .post_json(&format!("/api/v1/encounters/{id}/sign"), &json!({}))
            .await;
        assert_eq!(signed.status, StatusCode::OK, "{}", signed.text());
    }
    api_prescription(&mut api, &johns).await;
    let janes_rx = api_prescription(&mut api, &janes).await;

    let mut patient = app.browser("john").await;
    let dashboard = page(
        &patient.get("/dashboard").await,
        StatusCode::OK,
        "dashboard",
    );
    assert!(dashboard.contains("href=\"/my/encounters\""));
    assert!(dashboard.contains("href=\"/my/prescriptions\""));
    let mine = page(&patient.get("/my/encounters").await, StatusCode::OK, "mine");
    assert!(mine.contains(&format!("data-encounter=\"{johns}\"")));
    assert!(!mine.contains(&johns_draft), "drafts are not shown");
    assert!(mine.contains("Start metformin"));
    assert!(mine.contains("E11.9"));
    assert!(
        !mine.contains("Qzhistorymarker"),
        "working notes are not shown"
    );
    assert!(!mine.contains(&janes));
    let own = page(
        &patient.get(&format!("/encounters/{johns}")).await,
        StatusCode::OK,
        "own encounter",
    );
    assert!(own.contains("Start metformin"));
    assert!(!own.contains("Qzhistorymarker"));
    assert!(
        !own.contains("action=\"/encounters/"),
        "no forms for the patient"
    );
    let prescriptions = page(
        &patient.get("/my/prescriptions").await,
        StatusCode::OK,
        "my prescriptions",
    );
    assert!(prescriptions.contains("Paracetamol"));
    assert!(!prescriptions.contains(&janes_rx));

    // Never Jane's (IDOR).
    for path in [
        format!("/encounters/{janes}"),
        format!("/prescriptions/{janes_rx}/print"),
        format!("/patients/{jane}/clinical"),
    ] {
        let answer = patient.get(&path).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            answer.text()
        );
    }
    page(
        &patient.get(&format!("/encounters/{johns_draft}")).await,
        StatusCode::NOT_FOUND,
        "own draft",
    );
    let mut jane_client = app.anonymous();
    let signed_in = jane_client
        .sign_in_through_form("jane", crate::scheduling_api::PASSWORD)
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    jane_client.refresh_form_token().await;
    let hers = page(
        &jane_client.get("/my/encounters").await,
        StatusCode::OK,
        "hers",
    );
    assert!(hers.contains(&janes) && !hers.contains(&johns), "{hers}");
    page(
        &jane_client.get(&format!("/encounters/{johns}")).await,
        StatusCode::FORBIDDEN,
        "Jane on John's encounter",
    );
    // Staff have no portal.
    page(
        &app.browser("nurse").await.get("/my/encounters").await,
        StatusCode::FORBIDDEN,
        "staff on the portal",
    );
}

on_all_backends!(the_portal_shows_only_the_patients_own_signed_records);

async fn the_diagnoses_report_counts_codes_with_a_chart_and_csv(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut api = app.api_client("drsmith").await;
    let id = api_draft(&mut api, &john).await;
    let signed = api
        .post_json(&format!("/api/v1/encounters/{id}/sign"), &json!({}))
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text());

    let mut doctor = app.browser("drsmith").await;
    let report = page(
        &doctor
            .get("/reports/diagnoses?from=2026-03-01&to=2026-03-31")
            .await,
        StatusCode::OK,
        "the report",
    );
    assert!(report.contains("<svg"), "{report}");
    assert!(report.contains("<code>E11.9</code>"));
    assert!(
        report.contains("href=\"/reports/diagnoses.csv?from=2026-03-01&"),
        "{report}"
    );
    let csv = doctor
        .get("/reports/diagnoses.csv?from=2026-03-01&to=2026-03-31")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let body = csv.text();
    assert!(
        body.starts_with("code,title,department,count\r\n"),
        "{body}"
    );
    assert!(body.contains("E11.9,"), "{body}");
    assert!(!body.contains("John"), "no patient in the report");
    page(
        &doctor.get("/reports/diagnoses?from=yesterday").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a bad date",
    );
    for username in ["nurse", "reception", "john"] {
        let mut client = app.browser(username).await;
        page(
            &client.get("/reports/diagnoses").await,
            StatusCode::FORBIDDEN,
            username,
        );
        page(
            &client.get("/reports/diagnoses.csv").await,
            StatusCode::FORBIDDEN,
            username,
        );
    }
    let admin = page(
        &app.browser("admin")
            .await
            .get("/reports/diagnoses?from=2026-03-01&to=2026-03-31")
            .await,
        StatusCode::OK,
        "admin",
    );
    assert!(admin.contains("E11.9"));
}

on_all_backends!(the_diagnoses_report_counts_codes_with_a_chart_and_csv);

async fn a_doctor_outside_the_care_team_breaks_the_glass_for_the_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let admin = app.actor("admin").await;
    create_account(&app, &admin, "drjones", "doctor").await;
    let mut api = app.api_client("drsmith").await;
    let id = api_draft(&mut api, &john).await;

    let mut jones = app.anonymous();
    jones
        .sign_in_through_form("drjones", crate::scheduling_api::PASSWORD)
        .await;
    jones.refresh_form_token().await;
    for path in [
        format!("/encounters/{id}"),
        format!("/patients/{john}/clinical"),
    ] {
        page(&jones.get(&path).await, StatusCode::FORBIDDEN, &path);
    }
    let mut jones_api = sign_in(&app, "drjones").await;
    let granted: Value = jones_api
        .post_json(
            "/api/v1/break-glass",
            &json!({"patient_id": john, "reason": "Collapsed in the emergency department today"}),
        )
        .await
        .json();
    assert_eq!(granted["active"], true, "{granted}");
    let html = page(
        &jones.get(&format!("/encounters/{id}")).await,
        StatusCode::OK,
        "with emergency access",
    );
    assert!(html.contains("Qzhistorymarker"), "{html}");
    let list = page(
        &jones.get(&format!("/patients/{john}/clinical")).await,
        StatusCode::OK,
        "the list with emergency access",
    );
    assert!(list.contains(&format!("data-encounter=\"{id}\"")));
}

on_all_backends!(a_doctor_outside_the_care_team_breaks_the_glass_for_the_pages);
