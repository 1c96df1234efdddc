//! The allergy and problem list pages: the statement in force ("No known allergies" and
//! "Allergies not recorded" never alike), recording an allergy from the coded list or as
//! flagged free text, messages beside the fields with every typed value kept, "no known
//! allergies" refused at the form that asked while an allergy is active, status changes and
//! the history; the problem list's form, duplicates, resolve; "Add to problem list" from an
//! encounter's diagnosis back to the encounter with a notice; the patient form pointing to
//! the allergy list and refusing a change of the old field; who sees which page.

use axum::http::StatusCode;
use serde_json::json;

use crate::allergies::cared_for_patient;
use crate::harness::{Backend, TestApp, TestResponse};
use crate::on_all_backends;
use crate::scheduling_api::{jane, john_record};

fn page(response: &TestResponse, status: StatusCode, what: &str) -> String {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    response.text()
}

fn redirected_to(response: &TestResponse, target: &str) {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert_eq!(response.location(), Some(target));
}

async fn the_allergy_page_records_and_changes_entries(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let path = format!("/patients/{john}/allergies");
    let mut nurse = app.browser("nurse").await;

    let html = page(&nurse.get(&path).await, StatusCode::OK, "the allergy page");
    assert!(
        html.contains("data-allergy-statement=\"allergies\""),
        "{html}"
    );
    assert!(html.contains("Penicillin"));
    assert!(html.contains("<option value=\"penicillins\">Penicillins</option>"));
    assert!(html.contains("<optgroup label=\"Foods\">"));
    assert!(html.contains("Record allergy"));
    // An allergy is active: the "no known allergies" button is not offered.
    assert!(!html.contains("/allergies/no-known\""));

    // Nothing chosen: the message is beside the select, and the typed reaction stays.
    let refused = nurse
        .post_form(
            &path,
            &[
                ("substance", ""),
                ("substance_text", ""),
                ("reaction", "Qpitchy lips"),
                ("severity", "moderate"),
            ],
        )
        .await;
    let html = page(&refused, StatusCode::UNPROCESSABLE_ENTITY, "no substance");
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("id=\"substance-error\""));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("value=\"Qpitchy lips\""));
    assert!(html.contains("<option value=\"moderate\" selected>"));
    // Free text ticked but too short: the message is beside the text input, ticked kept.
    let refused = nurse
        .post_form(
            &path,
            &[
                ("substance", ""),
                ("free_text", "true"),
                ("substance_text", "K"),
                ("reaction", ""),
                ("severity", "mild"),
            ],
        )
        .await;
    let html = page(&refused, StatusCode::UNPROCESSABLE_ENTITY, "too short");
    assert!(html.contains("id=\"substance_text-error\""));
    assert!(html.contains("value=\"K\""));
    assert!(html.contains("name=\"free_text\" type=\"checkbox\" value=\"true\" checked"));

    // Coded, then free text.
    redirected_to(
        &nurse
            .post_form(
                &path,
                &[
                    ("substance", "latex"),
                    ("reaction", "hives"),
                    ("severity", "moderate"),
                ],
            )
            .await,
        &format!("{path}?notice=allergy-recorded"),
    );
    redirected_to(
        &nurse
            .post_form(
                &path,
                &[
                    ("substance", ""),
                    ("free_text", "true"),
                    ("substance_text", "Kiwi fruit"),
                    ("reaction", "itchy mouth"),
                    ("severity", "mild"),
                ],
            )
            .await,
        &format!("{path}?notice=allergy-recorded"),
    );
    // Latex again, while active: 409 at the form, the field named, the values kept.
    let html = page(
        &nurse
            .post_form(
                &path,
                &[
                    ("substance", "latex"),
                    ("reaction", "Qpwheals"),
                    ("severity", ""),
                ],
            )
            .await,
        StatusCode::CONFLICT,
        "latex twice",
    );
    assert!(html.contains("Substance is already recorded as an active allergy."));
    assert!(html.contains("value=\"Qpwheals\""));
    assert!(html.contains("<option value=\"latex\" selected>"));
    let html = page(
        &nurse.get(&format!("{path}?notice=allergy-recorded")).await,
        StatusCode::OK,
        "after recording",
    );
    assert!(html.contains("The allergy has been recorded."));
    assert!(html.contains("Latex") && html.contains("hives"));
    assert!(html.contains("Kiwi fruit") && html.contains(">free text</span>"));

    // "No known allergies" while allergies are active: refused at the page, 409.
    let html = page(
        &nurse.post_form(&format!("{path}/no-known"), &[]).await,
        StatusCode::CONFLICT,
        "no known allergies refused",
    );
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("inactive or entered in error"));

    // Status change from the row's form; then the entry is in the history.
    let list = app
        .services
        .list_allergies(&app.actor("nurse").await, john.parse().expect("an id"))
        .await
        .expect("the list");
    let kiwi = list
        .list
        .active()
        .iter()
        .find(|e| e.substance == "Kiwi fruit")
        .expect("kiwi")
        .id
        .clone();
    let status_path = format!("{path}/{kiwi}/status");
    assert!(html.contains(&format!("action=\"{status_path}\"")));
    // A reason that is too long is refused with the field named.
    let too_long = "r".repeat(501);
    let html = page(
        &nurse
            .post_form(
                &status_path,
                &[("status", "inactive"), ("reason", &too_long)],
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "long reason",
    );
    assert!(html.contains("reason must be at most 500 characters"));
    redirected_to(
        &nurse
            .post_form(
                &status_path,
                &[("status", "entered_in_error"), ("reason", "Wrong patient")],
            )
            .await,
        &format!("{path}?notice=allergy-status-changed"),
    );
    let html = page(&nurse.get(&path).await, StatusCode::OK, "history");
    let history = html.split("id=\"history\"").nth(1).expect("a history");
    assert!(history.contains("Kiwi fruit") && history.contains("entered in error"));
    assert!(history.contains("Wrong patient"));

    // An entry of another patient, under this patient's address: not found.
    let jane = jane(&app).await;
    let mut doctor = app.browser("drsmith").await;
    let other = doctor
        .post_form(
            &format!("/patients/{jane}/allergies/{kiwi}/status"),
            &[("status", "active")],
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

async fn not_recorded_and_no_known_allergies_read_differently(backend: Backend) {
    let app = TestApp::new(backend).await;
    let patient = cared_for_patient(&app, "Statement").await;
    let path = format!("/patients/{patient}/allergies");
    let mut doctor = app.browser("drsmith").await;
    let html = page(&doctor.get(&path).await, StatusCode::OK, "nothing recorded");
    assert!(html.contains("data-allergy-statement=\"not_recorded\""));
    assert!(html.contains("Allergies not recorded"));
    assert!(!html.contains(">No known allergies</span>"));
    redirected_to(
        &doctor.post_form(&format!("{path}/no-known"), &[]).await,
        &format!("{path}?notice=no-known-allergies-recorded"),
    );
    let html = page(&doctor.get(&path).await, StatusCode::OK, "none known");
    assert!(html.contains("data-allergy-statement=\"no_known_allergies\""));
    assert!(html.contains(">No known allergies</span>"));
    assert!(!html.contains("Allergies not recorded"));
    // The printable summary says the same.
    let summary = page(
        &doctor.get(&format!("/patients/{patient}/summary")).await,
        StatusCode::OK,
        "summary",
    );
    assert!(summary.contains("No known allergies"), "{summary}");
}

async fn who_sees_the_list_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    for suffix in ["allergies", "problems"] {
        let path = format!("/patients/{john}/{suffix}");
        let response = app.anonymous().get(&path).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        assert!(
            response.location().is_some_and(|l| l.starts_with("/login")),
            "{:?}",
            response.location()
        );
        for username in ["reception", "pharma", "auditor"] {
            let response = app.browser(username).await.get(&path).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{username} {path}");
        }
        // Readers without the forms.
        let html = page(
            &app.browser("admin").await.get(&path).await,
            StatusCode::OK,
            "admin",
        );
        assert!(!html.contains("Record allergy") && !html.contains("Add to problem list"));
        let html = page(
            &app.browser("john").await.get(&path).await,
            StatusCode::OK,
            "the patient",
        );
        assert!(!html.contains("Record allergy") && !html.contains("Add to problem list"));
    }
    let html = page(
        &app.browser("nurse")
            .await
            .get(&format!("/patients/{john}/problems"))
            .await,
        StatusCode::OK,
        "nurse",
    );
    assert!(!html.contains("Add to problem list"));
    // The administrator may not record.
    let mut admin = app.browser("admin").await;
    let refused = admin
        .post_form(
            &format!("/patients/{john}/allergies"),
            &[("substance", "egg")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // An unknown or malformed patient: 404.
    let mut doctor = app.browser("drsmith").await;
    assert_eq!(
        doctor.get("/patients/nope/allergies").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        doctor
            .get(&format!("/patients/{}/problems", uuid::Uuid::now_v7()))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn the_problem_page_and_add_from_a_diagnosis(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let path = format!("/patients/{john}/problems");
    let mut doctor = app.browser("drsmith").await;

    let html = page(&doctor.get(&path).await, StatusCode::OK, "empty list");
    assert!(html.contains("No problems recorded."));
    assert!(html.contains("Add to problem list"));

    // A code not in the list: the message beside it, typed values kept.
    let html = page(
        &doctor
            .post_form(
                &path,
                &[
                    ("code", "Q99.999"),
                    ("onset", "2020-05-01"),
                    ("status", "active"),
                ],
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown code",
    );
    assert!(html.contains("id=\"code-error\""));
    assert!(html.contains("value=\"Q99.999\""));
    assert!(html.contains("value=\"2020-05-01\""));
    let html = page(
        &doctor
            .post_form(&path, &[("code", "I10"), ("onset", "2030-01-01")])
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "future onset",
    );
    assert!(html.contains("Onset must not be in the future."));

    redirected_to(
        &doctor
            .post_form(&path, &[("code", "I10"), ("onset", "2020-05-01")])
            .await,
        &format!("{path}?notice=problem-added"),
    );
    // Twice: 409 at the form, the field named, the code kept.
    let html = page(
        &doctor.post_form(&path, &[("code", "I10")]).await,
        StatusCode::CONFLICT,
        "duplicate",
    );
    assert!(html.contains("role=\"alert\""));
    assert!(
        html.contains("Code is already on the patient&#39;s active problem list."),
        "{html}"
    );
    assert!(html.contains("value=\"I10\""));

    // Add an encounter's diagnosis in one click, back to the encounter.
    let mut api = app.api_client("drsmith").await;
    let encounter = crate::allergies::draft_encounter(&mut api, &john, "E11.9").await;
    let eid = encounter["id"].as_str().expect("an id").to_owned();
    let did = encounter["diagnoses"][0]["id"]
        .as_str()
        .expect("a diagnosis")
        .to_owned();
    let add = format!("/encounters/{eid}/diagnoses/{did}/problem");
    // A draft's diagnoses are replaced at every save: not added until it is signed.
    redirected_to(
        &doctor.post_form(&add, &[]).await,
        &format!("/encounters/{eid}?notice=problem-encounter-draft"),
    );
    let signed = api
        .post_json(&format!("/api/v1/encounters/{eid}/sign"), &json!({}))
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text());
    redirected_to(
        &doctor.post_form(&add, &[]).await,
        &format!("/encounters/{eid}?notice=problem-added-from-diagnosis"),
    );
    redirected_to(
        &doctor.post_form(&add, &[]).await,
        &format!("/encounters/{eid}?notice=problem-already-listed"),
    );
    assert_eq!(
        doctor
            .post_form(&format!("/encounters/{eid}/diagnoses/nope/problem"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Others may not.
    for username in ["nurse", "admin", "reception"] {
        let response = app.browser(username).await.post_form(&add, &[]).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{username}");
    }
    let html = page(&doctor.get(&path).await, StatusCode::OK, "two problems");
    assert!(html.contains("E11.9") && html.contains("I10"));
    assert!(html.contains(&format!("href=\"/encounters/{eid}\"")));

    // Resolve from the list.
    let problems = app
        .services
        .list_problems(&app.actor("drsmith").await, john.parse().expect("an id"))
        .await
        .expect("the list")
        .problems;
    let hypertension = problems
        .iter()
        .find(|p| p.code.as_deref() == Some("I10"))
        .expect("I10");
    redirected_to(
        &doctor
            .post_form(
                &format!("{path}/{}/status", hypertension.id),
                &[("status", "resolved")],
            )
            .await,
        &format!("{path}?notice=problem-status-changed"),
    );
    let html = page(&doctor.get(&path).await, StatusCode::OK, "resolved");
    assert!(html.contains("data-status=\"resolved\""));
    assert!(html.contains(">Reactivate"));
    // A problem of another patient under this address: not found.
    let other = cared_for_patient(&app, "Otherpage").await;
    assert_eq!(
        doctor
            .post_form(
                &format!("/patients/{other}/problems/{}/status", hypertension.id),
                &[("status", "active")],
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn the_patient_form_points_to_the_allergy_list(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let edit = format!("/patients/{john}/edit");
    let mut doctor = app.browser("drsmith").await;
    let html = page(&doctor.get(&edit).await, StatusCode::OK, "edit form");
    assert!(!html.contains("name=\"allergies\""));
    assert!(html.contains(&format!("href=\"/patients/{john}/allergies\"")));
    // A stale form (or a hand-made post) that still sends the old field: 422, nothing saved.
    let html = page(
        &doctor
            .post_form(&edit, &[("allergies", "Latex"), ("blood_group", "B+")])
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "old field",
    );
    assert!(
        html.contains(&format!("/patients/{john}/allergies")),
        "{html}"
    );
    let mut api = app.api_client("drsmith").await;
    let record = api.get(&format!("/api/v1/patients/{john}")).await.json();
    assert_eq!(record["allergies"], "Penicillin");
    assert_eq!(record["blood_group"], "O+");
    let problem = api
        .send(
            api.request(
                axum::http::Method::PATCH,
                &format!("/api/v1/patients/{john}"),
            )
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                json!({"allergies": "Latex"}).to_string(),
            ))
            .expect("a request"),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let message = problem["errors"][0]["detail"].as_str().unwrap_or_default();
    assert_eq!(problem["errors"][0]["field"], "allergies");
    assert!(
        message.contains(&format!("/api/v1/patients/{john}/allergies")),
        "{message}"
    );
    // The registration form explains what becomes of typed-in allergies.
    let html = page(
        &app.browser("admin").await.get("/patients/new").await,
        StatusCode::OK,
        "registration",
    );
    assert!(html.contains("becomes a free-text entry of the allergy list"));
}

on_all_backends!(
    the_allergy_page_records_and_changes_entries,
    not_recorded_and_no_known_allergies_read_differently,
    who_sees_the_list_pages,
    the_problem_page_and_add_from_a_diagnosis,
    the_patient_form_points_to_the_allergy_list,
);
