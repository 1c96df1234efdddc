//! Nurses' own work, without a doctor's draft: the triage at check-in (acuity, note, flagged
//! vitals; who may, when, bad input with nothing written, one audit event), nursing notes
//! (care team, department, neither), the department relation (it starts at check-in and ends
//! with the visit or the day), the nurse's patient list, and the triage shown where the
//! doctor sees the appointment. JSON API and pages.
//!
//! The clock starts on Monday 2026-03-02 at 09:00 UTC (the clinic's time zone is UTC). The
//! demo nurse and Dr. Smith work in General Medicine; the nurse is on John's care team.

use axum::http::StatusCode;
use carevault_service::scheduling::StaffProfileInput;
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::scheduling_api::{
    book, booking, create_account, id_of, john_record, mon, new_patient, set_status, sign_in,
    user_id,
};

/// The audit events with `action` on `resource_type` (as the administrator reads them).
pub(crate) async fn events(
    app: &TestApp,
    action: &str,
    resource_type: &str,
) -> Vec<carevault_service::audit_log::AuditEntry> {
    let admin = app.actor("admin").await;
    app.services
        .audit_events(
            &admin,
            carevault_store::audit::AuditFilter {
                action: Some(action.into()),
                resource_type: Some(resource_type.into()),
                ..Default::default()
            },
            0,
            200,
        )
        .await
        .expect("the audit log")
        .entries
}

/// A new patient booked with Dr. Smith at `time` today and checked in by reception:
/// (patient id, appointment id).
pub(crate) async fn checked_in_visit(app: &TestApp, family: &str, time: &str) -> (String, String) {
    let patient = new_patient(app, "Pat", family).await;
    let appointment = booked_visit(app, &patient, time).await;
    let mut reception = app.api_client("reception").await;
    let response = set_status(&mut reception, &appointment, "checked_in", None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    (patient, appointment)
}

/// Books `patient` with Dr. Smith at `time` (hh:mm) today, as reception.
pub(crate) async fn booked_visit(app: &TestApp, patient: &str, time: &str) -> String {
    let mut doctor = app.api_client("drsmith").await;
    let smith = user_id(&mut doctor).await;
    let mut reception = app.api_client("reception").await;
    let (h, m) = time.split_once(':').expect("hh:mm");
    let end_minute: u32 = m.parse::<u32>().expect("minutes") + 15;
    let end = format!("{h}:{end_minute:02}");
    id_of(
        &book(
            &mut reception,
            &booking(patient, &smith, &mon(time), &mon(&end)),
        )
        .await,
    )
}

fn triage_body() -> Value {
    json!({
        "acuity": 3,
        "note": "Fever for two days, productive cough.",
        "temperature_c": 38.6,
        "pulse_bpm": 104,
        "systolic_mmhg": 128,
        "diastolic_mmhg": 82,
        "spo2_percent": 94,
    })
}

async fn post_triage(client: &mut Client<'_>, appointment: &str, body: &Value) -> TestResponse {
    client
        .post_json(&format!("/api/v1/appointments/{appointment}/triage"), body)
        .await
}

/// A second nurse, in Cardiology.
async fn cardiology_nurse(app: &TestApp) -> Client<'_> {
    let admin = app.actor("admin").await;
    let id = create_account(app, &admin, "nurse2", "nurse").await;
    let cardiology = app
        .services
        .departments(&admin)
        .await
        .expect("departments")
        .into_iter()
        .find(|d| d.code == "CARD")
        .expect("CARD")
        .id;
    app.services
        .update_staff_profile(
            &admin,
            id.parse().expect("an id"),
            StaffProfileInput {
                department_id: Some(cardiology.to_string()),
                active: true,
                ..StaffProfileInput::default()
            },
        )
        .await
        .expect("a profile");
    sign_in(app, "nurse2").await
}

async fn family_name_seen(client: &mut Client<'_>, patient: &str) -> String {
    let response = client.get(&format!("/api/v1/patients/{patient}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["family_name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------------------------------------

async fn a_nurse_triages_a_checked_in_patient_without_a_doctor(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (patient, appointment) = checked_in_visit(&app, "Triagee", "09:30").await;
    let mut nurse = app.api_client("nurse").await;
    let mut doctor = app.api_client("drsmith").await;

    // Refusals, each recorded: not a nurse (a doctor, reception), a nurse of another
    // department, nobody signed in.
    for mut client in [
        app.api_client("drsmith").await,
        app.api_client("reception").await,
        app.api_client("pharma").await,
        cardiology_nurse(&app).await,
    ] {
        post_triage(&mut client, &appointment, &triage_body())
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    post_triage(&mut app.anonymous(), &appointment, &triage_body())
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let denied = events(&app, "access_denied", "nursing_note").await;
    assert_eq!(denied.len(), 4, "every refusal is recorded");

    // Bad input: every field named, nothing written.
    let problem = post_triage(
        &mut nurse,
        &appointment,
        &json!({"acuity": 7, "temperature_c": 98.6, "systolic_mmhg": 120, "note": "x"}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for field in ["acuity", "temperature_c", "diastolic_mmhg"] {
        assert!(fields.contains(&field), "{field} in {problem}");
    }
    post_triage(&mut nurse, &appointment, &json!({"note": "no acuity"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    post_triage(&mut nurse, "not-an-id", &triage_body())
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    post_triage(
        &mut nurse,
        "01900000-0000-7000-8000-000000000000",
        &triage_body(),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    assert!(events(&app, "create", "nursing_note").await.is_empty());
    let vitals = doctor
        .get(&format!("/api/v1/vitals?patient_id={patient}"))
        .await;
    assert_eq!(vitals.status, StatusCode::OK, "{}", vitals.text());
    assert_eq!(vitals.json()["items"].as_array().map(Vec::len), Some(0));

    // The triage: acuity, note and vitals, flagged, in one write.
    let response = post_triage(&mut nurse, &appointment, &triage_body()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let triage = response.json();
    assert_eq!(triage["acuity"], "3");
    assert_eq!(triage["acuity_label"], "ESI 3 · Urgent");
    assert_eq!(triage["appointment_id"], appointment.as_str());
    assert_eq!(triage["recorded_by"], "Nadia Nurse");
    let flags = &triage["vitals"]["flags"];
    assert_eq!(flags["temperature_c"], "high");
    assert_eq!(flags["pulse_bpm"], "high");
    assert_eq!(flags["spo2_percent"], "low");
    assert_eq!(flags["systolic_mmhg"], "normal");
    assert_eq!(triage["vitals"]["appointment_id"], appointment.as_str());
    assert!(triage["vitals"]["encounter_id"].is_null());
    let created = events(&app, "create", "nursing_note").await;
    assert_eq!(created.len(), 1, "one audit event for the triage");
    assert_eq!(created[0].reason.as_deref(), Some("triage with vitals"));
    assert_eq!(created[0].actor_role.as_deref(), Some("nurse"));
    assert!(created[0].patient_pseudonym.is_some());

    // No doctor, no encounter: the patient has none.
    let encounters = doctor
        .get(&format!("/api/v1/encounters?patient_id={patient}"))
        .await;
    assert_eq!(encounters.status, StatusCode::OK, "{}", encounters.text());
    assert_eq!(encounters.json()["items"].as_array().map(Vec::len), Some(0));

    // The doctor sees the triage on the appointment; reception does not.
    let seen = doctor
        .get(&format!("/api/v1/appointments/{appointment}"))
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text());
    assert_eq!(seen.json()["triage"]["acuity"], "3");
    assert_eq!(
        seen.json()["triage"]["vitals"]["flags"]["temperature_c"],
        "high"
    );
    let desk = app
        .api_client("reception")
        .await
        .get(&format!("/api/v1/appointments/{appointment}"))
        .await;
    assert_eq!(desk.status, StatusCode::OK);
    assert!(desk.json().get("triage").is_none(), "{}", desk.text());

    // And on the appointment page, flagged.
    let mut smith = app.browser("drsmith").await;
    let page = smith.get(&format!("/appointments/{appointment}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("data-acuity=\"3\""), "{html}");
    assert!(html.contains("ESI 3 · Urgent"));
    assert!(html.contains("Fever for two days"));
    assert!(html.contains("data-field=\"temperature_c\" data-flag=\"high\""));
    assert!(html.contains("data-field=\"spo2_percent\" data-flag=\"low\""));
    assert!(html.contains("(high, normal range 36.1–37.9 °C)"));

    // A re-triage is allowed; the latest one is shown.
    let again = post_triage(&mut nurse, &appointment, &json!({"acuity": "2"})).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text());
    assert!(again.json()["vitals"].is_null());
    let seen = doctor
        .get(&format!("/api/v1/appointments/{appointment}"))
        .await;
    assert_eq!(seen.json()["triage"]["acuity"], "2");
}

on_all_backends!(a_nurse_triages_a_checked_in_patient_without_a_doctor);

async fn triage_waits_for_check_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    // John is on the nurse's care team, so she is in his care; his visit is only booked.
    let john = john_record(&app).await;
    let appointment = booked_visit(&app, &john, "10:00").await;
    let mut nurse = app.api_client("nurse").await;
    let problem = post_triage(&mut nurse, &appointment, &triage_body())
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("scheduled") && d.contains("checked in")),
        "{problem}"
    );
    assert!(events(&app, "create", "nursing_note").await.is_empty());

    // The form says so too, without writing anything.
    let mut page_nurse = app.browser("nurse").await;
    let form = page_nurse
        .get(&format!("/appointments/{appointment}/triage"))
        .await;
    assert_eq!(form.status, StatusCode::CONFLICT, "{}", form.text());

    // Once checked in, it is accepted.
    let mut reception = app.api_client("reception").await;
    set_status(&mut reception, &appointment, "checked_in", None).await;
    let response = post_triage(&mut nurse, &appointment, &triage_body()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
}

on_all_backends!(triage_waits_for_check_in);

async fn the_triage_form_keeps_what_was_typed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, appointment) = checked_in_visit(&app, "Formtriage", "09:30").await;
    let mut nurse = app.browser("nurse").await;
    let path = format!("/appointments/{appointment}/triage");
    let form = nurse.get(&path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    let html = form.text();
    assert!(html.contains("name=\"acuity\" value=\"1\""), "{html}");
    assert!(html.contains("Normal 36.1–37.9 °C"));

    let refused = nurse
        .post_form(
            &path,
            &[
                ("acuity", "3"),
                ("note", "Qznotekept"),
                ("temperature_c", "98.6"),
                ("pulse_bpm", "104"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text()
    );
    let html = refused.text();
    assert!(html.contains("id=\"vital-temperature_c-error\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("value=\"98.6\""), "the typed value is kept");
    assert!(html.contains("value=\"104\""));
    assert!(html.contains(">Qznotekept</textarea>"));
    assert!(html.contains("value=\"3\" checked"));
    assert!(events(&app, "create", "nursing_note").await.is_empty());

    let done = nurse
        .post_form(
            &path,
            &[("acuity", "2"), ("temperature_c", "38.6"), ("note", "")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(
        done.location(),
        Some(format!("/appointments/{appointment}?notice=triage-recorded").as_str())
    );
    let page = nurse
        .get(&format!(
            "/appointments/{appointment}?notice=triage-recorded"
        ))
        .await;
    let html = page.text();
    assert!(html.contains("The triage has been recorded."));
    assert!(html.contains("data-acuity=\"2\""));
    assert!(html.contains("data-flag=\"high\""));
}

on_all_backends!(the_triage_form_keeps_what_was_typed);

async fn the_department_relation_ends_with_the_visit_or_the_day(backend: Backend) {
    let app = TestApp::new(backend).await;
    let patient = new_patient(&app, "Pat", "Walkin").await;
    let appointment = booked_visit(&app, &patient, "09:30").await;
    let mut nurse = app.api_client("nurse").await;
    let mut cardiology = cardiology_nurse(&app).await;

    // Booked only: the nurse sees the pseudonym.
    assert!(
        family_name_seen(&mut nurse, &patient)
            .await
            .starts_with("ANON_")
    );
    // Checked in: she is in the patient's care by department, the other department's
    // nurse is not.
    let mut reception = app.api_client("reception").await;
    set_status(&mut reception, &appointment, "checked_in", None).await;
    assert_eq!(family_name_seen(&mut nurse, &patient).await, "Walkin");
    assert!(
        family_name_seen(&mut cardiology, &patient)
            .await
            .starts_with("ANON_")
    );
    // In progress: still.
    let mut doctor = app.api_client("drsmith").await;
    set_status(&mut doctor, &appointment, "in_progress", None).await;
    assert_eq!(family_name_seen(&mut nurse, &patient).await, "Walkin");
    let note = nurse
        .post_json(
            &format!("/api/v1/patients/{patient}/nursing-notes"),
            &json!({"text": "Observed in bay 2."}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.text());
    // Completed: it ends, and so does writing.
    let done = set_status(&mut doctor, &appointment, "completed", None).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(
        family_name_seen(&mut nurse, &patient)
            .await
            .starts_with("ANON_")
    );
    nurse
        .post_json(
            &format!("/api/v1/patients/{patient}/nursing-notes"),
            &json!({"text": "Too late."}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);

    // Another patient checked in today: the relation ends when the day ends, even though
    // nobody completed the visit.
    let (other, _) = checked_in_visit(&app, "Latenight", "11:00").await;
    assert_eq!(family_name_seen(&mut nurse, &other).await, "Latenight");
    app.clock.set(
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 3, 0, 0, 1)
            .single()
            .expect("a time"),
    );
    let mut nurse = app.api_client("nurse").await;
    assert!(
        family_name_seen(&mut nurse, &other)
            .await
            .starts_with("ANON_")
    );
    let list = nurse.get("/api/v1/me/patients").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        !list.text().contains(&other),
        "yesterday's visit is gone from the list"
    );
}

on_all_backends!(the_department_relation_ends_with_the_visit_or_the_day);

async fn nursing_notes_need_the_care_team_or_the_department(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let (checked_in, _) = checked_in_visit(&app, "Bynotes", "09:30").await;
    let stranger = new_patient(&app, "Pat", "Stranger").await;
    let mut nurse = app.api_client("nurse").await;
    let path = |p: &str| format!("/api/v1/patients/{p}/nursing-notes");

    // Care team (John) and department (the checked-in patient).
    for patient in [&john, &checked_in] {
        let response = nurse
            .post_json(
                &path(patient),
                &json!({"text": "Qznursingmarker wound dressed."}),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        assert_eq!(response.json()["kind"], "nursing");
    }
    // Neither: refused and recorded.
    nurse
        .post_json(&path(&stranger), &json!({"text": "Should not land."}))
        .await
        .problem(StatusCode::FORBIDDEN);
    nurse
        .get(&path(&stranger))
        .await
        .problem(StatusCode::FORBIDDEN);
    let denied = events(&app, "access_denied", "nursing_note").await;
    assert_eq!(denied.len(), 2, "{denied:?}");
    // Only nurses write; the doctor of the care team reads; reception does not.
    let mut doctor = app.api_client("drsmith").await;
    doctor
        .post_json(&path(&john), &json!({"text": "A doctor's note."}))
        .await
        .problem(StatusCode::FORBIDDEN);
    let list = doctor.get(&path(&john)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    assert_eq!(list.json()["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list.json()["may_write"], false);
    app.api_client("reception")
        .await
        .get(&path(&john))
        .await
        .problem(StatusCode::FORBIDDEN);
    app.api_client("john")
        .await
        .get(&path(&john))
        .await
        .problem(StatusCode::FORBIDDEN);
    // Bad input: named, nothing written.
    let problem = nurse
        .post_json(&path(&john), &json!({"text": "  "}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "text");
    nurse
        .post_json(&path(&john), &json!({"text": "x", "extra": 1}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(events(&app, "create", "nursing_note").await.len(), 2);
    app.anonymous()
        .get(&path(&john))
        .await
        .problem(StatusCode::UNAUTHORIZED);

    // The page: the list and the form; refused input keeps the text.
    let mut page_nurse = app.browser("nurse").await;
    let page = page_nurse
        .get(&format!("/patients/{john}/nursing-notes"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("Qznursingmarker wound dressed."), "{html}");
    assert!(html.contains("name=\"text\""));
    let refused = page_nurse
        .post_form(&format!("/patients/{john}/nursing-notes"), &[("text", " ")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("aria-invalid=\"true\""));
    let added = page_nurse
        .post_form(
            &format!("/patients/{john}/nursing-notes"),
            &[("text", "Second note from the page.")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    let page = page_nurse.get(added.location().expect("a location")).await;
    assert!(page.text().contains("The nursing note has been added."));
    assert!(page.text().contains("Second note from the page."));
    let stranger_page = page_nurse
        .get(&format!("/patients/{stranger}/nursing-notes"))
        .await;
    assert_eq!(stranger_page.status, StatusCode::FORBIDDEN);
    // A doctor's page has no form.
    let mut smith = app.browser("drsmith").await;
    let page = smith.get(&format!("/patients/{john}/nursing-notes")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains("name=\"text\""));
}

on_all_backends!(nursing_notes_need_the_care_team_or_the_department);

async fn the_nurse_sees_her_patients_today(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let (waiting, waiting_visit) = checked_in_visit(&app, "Waiting", "09:30").await;
    let (triaged, triaged_visit) = checked_in_visit(&app, "Triaged", "10:00").await;
    let booked = new_patient(&app, "Pat", "Notyet").await;
    booked_visit(&app, &booked, "10:30").await;
    let mut nurse = app.api_client("nurse").await;
    post_triage(
        &mut nurse,
        &triaged_visit,
        &json!({"acuity": 2, "pulse_bpm": 130}),
    )
    .await;

    let list = nurse.get("/api/v1/me/patients").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let items = list.json()["items"].as_array().expect("items").clone();
    let row = |id: &str| items.iter().find(|r| r["patient_id"] == id).cloned();
    let w = row(&waiting).expect("the checked-in patient");
    assert_eq!(w["reason"], "department");
    assert_eq!(w["appointment_id"], waiting_visit.as_str());
    assert_eq!(w["clinician"], "Dr. Sarah Smith");
    assert_eq!(w["appointment_status"], "checked_in");
    assert_eq!(w["may_triage"], true);
    assert!(w["triage"].is_null());
    let t = row(&triaged).expect("the triaged patient");
    assert_eq!(t["triage"]["acuity"], "2");
    assert_eq!(t["triage"]["vitals"]["flags"]["pulse_bpm"], "high");
    let j = row(&john).expect("the care-team patient");
    assert_eq!(j["reason"], "care_team");
    assert!(j["appointment_id"].is_null());
    assert!(row(&booked).is_none(), "not checked in: not on the list");
    // Department visits come first, in time order.
    assert_eq!(items[0]["patient_id"], waiting.as_str());
    assert_eq!(items[1]["patient_id"], triaged.as_str());
    // Each patient shown is recorded as listed.
    let listed = events(&app, "listed", "patient").await;
    assert!(
        listed
            .iter()
            .filter(|e| e.reason.as_deref() == Some("nurse's patient list"))
            .count()
            >= 3
    );

    // Nurses only.
    for username in ["drsmith", "reception", "john"] {
        app.api_client(username)
            .await
            .get("/api/v1/me/patients")
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    app.anonymous()
        .get("/api/v1/me/patients")
        .await
        .problem(StatusCode::UNAUTHORIZED);

    // The page: every row opens the chart; "Triage" for the one not triaged yet.
    let mut page_nurse = app.browser("nurse").await;
    let page = page_nurse.get("/my/patients").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("href=\"/my/patients\" aria-current=\"page\""));
    for id in [&waiting, &triaged, &john] {
        assert!(html.contains(&format!("href=\"/patients/{id}\"")), "{id}");
    }
    assert!(html.contains(&format!(
        "href=\"/appointments/{waiting_visit}/triage\" data-action=\"triage\""
    )));
    assert!(!html.contains(&format!(
        "href=\"/appointments/{triaged_visit}/triage\" data-action=\"triage\""
    )));
    assert!(html.contains("data-acuity=\"2\""));
    let dashboard = page_nurse.get("/dashboard").await;
    assert!(dashboard.text().contains("href=\"/my/patients\""));
    let mut smith = app.browser("drsmith").await;
    assert_eq!(
        smith.get("/my/patients").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        !smith
            .get("/dashboard")
            .await
            .text()
            .contains("/my/patients")
    );
}

on_all_backends!(the_nurse_sees_her_patients_today);

async fn nurses_still_do_not_write_encounters_prescribe_or_sign(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut nurse = app.api_client("nurse").await;
    nurse
        .post_json(
            "/api/v1/encounters",
            &json!({"patient_id": john, "chief_complaint": "Cough"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    let mut doctor = app.api_client("drsmith").await;
    let draft = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({"patient_id": john, "chief_complaint": "Cough"}),
        )
        .await;
    let draft = id_of(&draft.json());
    nurse
        .post_json(&format!("/api/v1/encounters/{draft}/sign"), &json!({}))
        .await
        .problem(StatusCode::FORBIDDEN);
    nurse
        .post_json(
            "/api/v1/prescriptions",
            &json!({"encounter_id": draft, "drug_name": "Paracetamol", "dose": "1 g",
                    "route": "oral", "frequency": "four times daily", "duration_days": 3,
                    "quantity": 12}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
}

on_all_backends!(nurses_still_do_not_write_encounters_prescribe_or_sign);

/// Writes a triage note, a nursing note and an addendum holding marker strings for
/// `patient` (checked in today with Dr. Smith; a signed encounter for the addendum), and
/// returns the markers: the at-rest test checks none of them is stored in clear.
pub(crate) async fn write_nursing_markers(app: &TestApp, patient: &str) -> Vec<&'static str> {
    let appointment = booked_visit(app, patient, "11:30").await;
    let mut reception = app.api_client("reception").await;
    set_status(&mut reception, &appointment, "checked_in", None).await;
    let mut nurse = app.api_client("nurse").await;
    let triage = post_triage(
        &mut nurse,
        &appointment,
        &json!({"acuity": 4, "note": "Qxtriagemarker sore ankle", "pulse_bpm": 88}),
    )
    .await;
    assert_eq!(triage.status, StatusCode::CREATED, "{}", triage.text());
    let note = nurse
        .post_json(
            &format!("/api/v1/patients/{patient}/nursing-notes"),
            &json!({"text": "Qxnursingnotemarker ice applied"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.text());
    let mut doctor = app.api_client("drsmith").await;
    let encounter = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({"patient_id": patient, "chief_complaint": "Ankle"}),
        )
        .await;
    assert_eq!(
        encounter.status,
        StatusCode::CREATED,
        "{}",
        encounter.text()
    );
    let encounter = id_of(&encounter.json());
    let signed = doctor
        .post_json(&format!("/api/v1/encounters/{encounter}/sign"), &json!({}))
        .await;
    assert!(signed.status.is_success(), "{}", signed.text());
    let addendum = nurse
        .post_json(
            &format!("/api/v1/encounters/{encounter}/addenda"),
            &json!({"text": "Qxaddendummarker review in a week"}),
        )
        .await;
    assert_eq!(addendum.status, StatusCode::CREATED, "{}", addendum.text());
    vec!["Qxtriagemarker", "Qxnursingnotemarker", "Qxaddendummarker"]
}
