//! Break the glass, through the API and the pages: a doctor outside a patient's care team
//! sees the masked record and is refused the care team; after stating a reason they see
//! the record in full until the grant expires (the test's clock moves past it), the audit
//! trail holds a `break_glass` event, and the administrators' queue shows the grant until
//! it is reviewed (once). Who may break the glass, bad input named by field, the red
//! banner, the form, the queue page and the dashboard alert.
//!
//! The clock starts on Monday 2026-03-02 at 09:00 UTC. Moving it more than 15 minutes ends
//! every session (the idle timeout), so clients sign in again after a jump.

use std::time::Duration;

use axum::http::StatusCode;
use carevault_service::patients::{Change, PatientInput};
use serde_json::json;

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;

const REASON: &str = "Collapsed in the emergency department; care team unreachable";

/// Eve, registered by an administrator with an allergy and a diagnosis, and nobody on her
/// care team. Returns her record id.
async fn eve(app: &TestApp) -> String {
    let admin = app.actor("admin").await;
    let set = |v: &str| Change::Set(v.to_owned());
    let record = app
        .register_patient(
            &admin,
            PatientInput {
                given_name: set("Eve"),
                family_name: set("Emergency"),
                date_of_birth: set("1971-08-14"),
                sex: set("female"),
                allergies: set("Penicillin"),
                primary_diagnosis: set("Atrial fibrillation"),
                ..PatientInput::default()
            },
        )
        .await;
    record.id.to_string()
}

/// John Patient's record id (Dr. Smith and the nurse are on his care team).
async fn john_record(app: &TestApp) -> String {
    let mut john = app.api_client("john").await;
    let me = john.get("/api/v1/me/patient").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    me.json()["id"].as_str().expect("an id").to_owned()
}

fn field(problem: &serde_json::Value) -> &str {
    problem["errors"][0]["field"].as_str().expect("a field")
}

fn is_pseudonym(value: &serde_json::Value) -> bool {
    value.as_str().is_some_and(|v| v.starts_with("ANON_"))
}

/// Asserts the record is the masked view: a pseudonym, no name, no clinical field.
fn assert_masked(record: &serde_json::Value) {
    assert!(is_pseudonym(&record["family_name"]), "{record}");
    for hidden in [
        "given_name",
        "allergies",
        "primary_diagnosis",
        "blood_group",
    ] {
        assert!(record.get(hidden).is_none(), "{hidden} shown: {record}");
    }
}

async fn break_glass(client: &mut Client<'_>, body: serde_json::Value) -> TestResponse {
    client.post_json("/api/v1/break-glass", &body).await
}

async fn events(client: &mut Client<'_>, query: &str) -> Vec<serde_json::Value> {
    let page = client.get(&format!("/api/v1/audit/events?{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    page.json()["events"].as_array().expect("events").clone()
}

async fn access_is_granted_until_it_expires_and_reviewed_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let eve = eve(&app).await;
    let record = format!("/api/v1/patients/{eve}");
    let care_team = format!("{record}/care-team");
    let mut doctor = app.api_client("drsmith").await;

    // Outside the care team: the masked view, and no care team.
    let masked = doctor.get(&record).await;
    assert_eq!(masked.status, StatusCode::OK, "{}", masked.text());
    assert_masked(&masked.json());
    doctor.get(&care_team).await.problem(StatusCode::FORBIDDEN);

    // Bad input, each named by its field; nothing granted.
    let short = break_glass(
        &mut doctor,
        json!({"patient_id": eve, "reason": "emergency", "duration_minutes": 60}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&short), "reason");
    assert!(
        short["errors"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("20 characters")),
        "{short}"
    );
    let long = break_glass(
        &mut doctor,
        json!({"patient_id": eve, "reason": REASON, "duration_minutes": 25 * 60}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&long), "duration_minutes");
    for (body, named) in [
        (
            json!({"patient_id": "not-an-id", "reason": REASON}),
            "patient_id",
        ),
        (
            json!({"patient_id": uuid::Uuid::now_v7().to_string(), "reason": REASON}),
            "patient_id",
        ),
        (json!({"reason": REASON}), "patient_id"),
        (
            json!({"patient_id": eve, "reason": REASON, "duration_minutes": 10}),
            "duration_minutes",
        ),
        (
            json!({"patient_id": eve, "reason": REASON, "duration_minutes": 1.5}),
            "duration_minutes",
        ),
        (
            json!({"patient_id": eve, "reason": REASON, "colour": "red"}),
            "colour",
        ),
    ] {
        let problem = break_glass(&mut doctor, body.clone())
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field(&problem), named, "{body}");
    }
    assert_masked(&doctor.get(&record).await.json());

    // Breaking the glass: granted at once, for an hour.
    let granted = break_glass(
        &mut doctor,
        json!({"patient_id": eve, "reason": REASON, "duration_minutes": 60}),
    )
    .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text());
    let grant = granted.json();
    let grant_id = grant["id"].as_str().expect("an id").to_owned();
    assert_eq!(grant["patient_id"], eve.as_str());
    assert_eq!(grant["patient"], "Eve Emergency");
    assert_eq!(grant["clinician"], "Dr. Sarah Smith");
    assert_eq!(grant["reason"], REASON);
    assert_eq!(grant["duration_minutes"], 60);
    assert_eq!(grant["granted_at"], "2026-03-02T09:00:00Z");
    assert_eq!(grant["expires_at"], "2026-03-02T10:00:00Z");
    assert_eq!(grant["active"], true);
    assert_eq!(grant["review_status"], "pending");
    for unset in ["review_note", "reviewed_by", "reviewed_at"] {
        assert!(grant[unset].is_null(), "{unset}: {grant}");
    }

    // Now the full record and the care team.
    let full = doctor.get(&record).await;
    assert_eq!(full.status, StatusCode::OK, "{}", full.text());
    let full = full.json();
    assert_eq!(full["given_name"], "Eve");
    assert_eq!(full["family_name"], "Emergency");
    assert_eq!(full["allergies"], "Penicillin");
    assert_eq!(full["primary_diagnosis"], "Atrial fibrillation");
    let team = doctor.get(&care_team).await;
    assert_eq!(team.status, StatusCode::OK, "{}", team.text());

    // The doctor's own grants.
    let own = doctor.get("/api/v1/break-glass").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
    let own = own.json();
    assert_eq!(own["items"].as_array().map(Vec::len), Some(1), "{own}");
    assert_eq!(own["items"][0]["id"], grant_id.as_str());

    // The audit trail: a `break_glass` event on Eve's record, without the stated reason.
    let mut auditor = app.api_client("auditor").await;
    let glass = events(&mut auditor, "action=break_glass").await;
    assert_eq!(glass.len(), 1, "{glass:?}");
    assert_eq!(glass[0]["resource_type"], "patient");
    assert_eq!(glass[0]["resource_id"], eve.as_str());
    assert_eq!(glass[0]["actor_role"], "doctor");
    assert_eq!(glass[0]["outcome"], "allowed");
    assert!(is_pseudonym(&glass[0]["patient_pseudonym"]), "{}", glass[0]);
    assert!(!glass[0].to_string().contains("Collapsed"), "{}", glass[0]);

    // The administrators' queue.
    let mut admin = app.api_client("admin").await;
    let queue = admin.get("/api/v1/break-glass?status=pending").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.text());
    let queue = queue.json();
    let items = queue["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{queue}");
    assert_eq!(items[0]["id"], grant_id.as_str());
    assert_eq!(items[0]["reason"], REASON);
    assert_eq!(items[0]["patient"], "Eve Emergency");
    assert_eq!(items[0]["review_status"], "pending");
    let bad = admin
        .get("/api/v1/break-glass?status=maybe")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&bad), "status");
    let bad = admin
        .get("/api/v1/break-glass?state=pending")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&bad), "state");

    // Reviews: bad input named, an unknown grant 404, then once only.
    let review = format!("/api/v1/break-glass/{grant_id}/review");
    for (path, body, named) in [
        (
            review.as_str(),
            json!({"verdict": "maybe", "note": "Checked the rota."}),
            "verdict",
        ),
        (
            review.as_str(),
            json!({"verdict": "pending", "note": "Checked the rota."}),
            "verdict",
        ),
        (review.as_str(), json!({"verdict": "justified"}), "note"),
        (
            review.as_str(),
            json!({"note": "Checked the rota."}),
            "verdict",
        ),
        (
            "/api/v1/break-glass/not-an-id/review",
            json!({"verdict": "justified", "note": "Checked the rota."}),
            "id",
        ),
    ] {
        let problem = admin
            .post_json(path, &body)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field(&problem), named, "{path} {body}");
    }
    admin
        .post_json(
            &format!("/api/v1/break-glass/{}/review", uuid::Uuid::now_v7()),
            &json!({"verdict": "justified", "note": "Checked the rota."}),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    let reviewed = admin
        .post_json(
            &review,
            &json!({"verdict": "justified", "note": "Checked the ED rota: genuine emergency."}),
        )
        .await;
    assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.text());
    let reviewed = reviewed.json();
    assert_eq!(reviewed["review_status"], "justified");
    assert_eq!(
        reviewed["review_note"],
        "Checked the ED rota: genuine emergency."
    );
    assert_eq!(reviewed["reviewed_by"], "Ada Admin");
    assert_eq!(reviewed["reviewed_at"], "2026-03-02T09:00:00Z");
    let again = admin
        .post_json(
            &review,
            &json!({"verdict": "unjustified", "note": "Changed my mind."}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        again["detail"]
            .as_str()
            .is_some_and(|d| d.contains("reviewed already"))
    );
    let pending = admin.get("/api/v1/break-glass?status=pending").await.json();
    assert_eq!(
        pending["items"].as_array().map(Vec::len),
        Some(0),
        "{pending}"
    );
    let justified = admin
        .get("/api/v1/break-glass?status=justified")
        .await
        .json();
    assert_eq!(
        justified["items"][0]["id"],
        grant_id.as_str(),
        "{justified}"
    );
    let reviews = events(&mut auditor, "action=update&resource_type=emergency_access").await;
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(reviews[0]["resource_id"], grant_id.as_str());

    // Still in force at 09:59; masked again once it expires at 10:00.
    app.clock.advance(Duration::from_secs(59 * 60));
    let mut doctor = app.api_client("drsmith").await;
    assert_eq!(doctor.get(&record).await.json()["allergies"], "Penicillin");
    app.clock.advance(Duration::from_secs(60));
    assert_masked(&doctor.get(&record).await.json());
    doctor.get(&care_team).await.problem(StatusCode::FORBIDDEN);
    let own = doctor.get("/api/v1/break-glass").await.json();
    assert_eq!(own["items"][0]["active"], false, "{own}");
    assert!(is_pseudonym(&own["items"][0]["patient"]), "{own}");
    assert_eq!(own["items"][0]["review_status"], "justified");
}

async fn only_doctors_and_nurses_outside_the_care_team_break_the_glass(backend: Backend) {
    let app = TestApp::new(backend).await;
    let eve = eve(&app).await;
    let body = json!({"patient_id": eve, "reason": REASON});

    // Unauthenticated: 401.
    break_glass(&mut app.anonymous(), body.clone())
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.anonymous()
        .get("/api/v1/break-glass")
        .await
        .problem(StatusCode::UNAUTHORIZED);

    // Everyone but doctors and nurses: 403, recorded.
    for username in ["reception", "pharma", "john", "auditor", "admin"] {
        let mut client = app.api_client(username).await;
        break_glass(&mut client, body.clone())
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    let mut auditor = app.api_client("auditor").await;
    let refused = events(
        &mut auditor,
        "action=access_denied&resource_type=emergency_access",
    )
    .await;
    assert_eq!(refused.len(), 5, "{refused:?}");
    assert!(events(&mut auditor, "action=break_glass").await.is_empty());

    // A nurse may; the default is four hours.
    let mut nurse = app.api_client("nurse").await;
    let granted = break_glass(&mut nurse, body.clone()).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text());
    let grant = granted.json();
    assert_eq!(grant["duration_minutes"], 240);
    assert_eq!(grant["expires_at"], "2026-03-02T13:00:00Z");
    let review = format!(
        "/api/v1/break-glass/{}/review",
        grant["id"].as_str().unwrap()
    );

    // A doctor on the care team needs no emergency access: 409.
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let conflict = break_glass(&mut doctor, json!({"patient_id": john, "reason": REASON}))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        conflict["detail"]
            .as_str()
            .is_some_and(|d| d.contains("care team")),
        "{conflict}"
    );

    // The queue and reviews are the administrators': a doctor sees only their own grants
    // (none), and may not review.
    let own = doctor.get("/api/v1/break-glass").await.json();
    assert_eq!(own["items"].as_array().map(Vec::len), Some(0), "{own}");
    doctor
        .post_json(
            &review,
            &json!({"verdict": "justified", "note": "Fine by me."}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    for username in ["reception", "pharma", "john", "auditor"] {
        let mut client = app.api_client(username).await;
        client
            .get("/api/v1/break-glass")
            .await
            .problem(StatusCode::FORBIDDEN);
        client
            .post_json(
                &review,
                &json!({"verdict": "unjustified", "note": "Not my call."}),
            )
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    let mut admin = app.api_client("admin").await;
    let queue = admin.get("/api/v1/break-glass").await.json();
    assert_eq!(queue["items"][0]["clinician"], "Nadia Nurse", "{queue}");
}

fn assert_page(response: &TestResponse, status: StatusCode, what: &str) -> String {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    response.text()
}

async fn the_pages_offer_the_form_show_the_banner_and_queue_the_review(backend: Backend) {
    let app = TestApp::new(backend).await;
    let eve = eve(&app).await;
    let page_path = format!("/patients/{eve}");
    let form_path = format!("{page_path}/break-glass");

    // Outside the care team: the masked page with the form, no banner.
    let mut doctor = app.browser("drsmith").await;
    let page = assert_page(&doctor.get(&page_path).await, StatusCode::OK, "masked page");
    assert!(
        page.contains("Emergency access (break the glass)"),
        "{page}"
    );
    assert!(page.contains(&format!("action=\"{form_path}\"")), "{page}");
    assert!(page.contains("at least 20 characters"), "{page}");
    assert!(
        page.contains("<option value=\"240\" selected>4 hours</option>"),
        "{page}"
    );
    assert!(!page.contains("emergency-banner"), "{page}");
    assert!(!page.contains("Penicillin"), "{page}");

    // Bad input: the page again, the message beside the field, nothing granted.
    let short = doctor
        .post_form(
            &form_path,
            &[("reason", "urgent"), ("duration_minutes", "120")],
        )
        .await;
    let html = assert_page(&short, StatusCode::UNPROCESSABLE_ENTITY, "short reason");
    assert!(html.contains("id=\"break-glass-reason-error\""), "{html}");
    assert!(
        html.contains("Reason must say why, in at least 20 characters"),
        "{html}"
    );
    assert!(html.contains(">urgent</textarea>"), "{html}");
    assert!(
        html.contains("<option value=\"120\" selected>2 hours</option>"),
        "{html}"
    );
    assert!(!html.contains("Penicillin"), "{html}");
    let long = doctor
        .post_form(
            &form_path,
            &[("reason", REASON), ("duration_minutes", "1500")],
        )
        .await;
    let html = assert_page(&long, StatusCode::UNPROCESSABLE_ENTITY, "too long");
    assert!(html.contains("id=\"break-glass-duration-error\""), "{html}");

    // Granted: back to the page (303), now in full with the red banner and no form.
    let granted = doctor
        .post_form(
            &form_path,
            &[("reason", REASON), ("duration_minutes", "120")],
        )
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.text());
    assert_eq!(
        granted.location(),
        Some(format!("{page_path}?notice=emergency-access-granted").as_str())
    );
    let page = assert_page(
        &doctor
            .get(&format!("{page_path}?notice=emergency-access-granted"))
            .await,
        StatusCode::OK,
        "full page",
    );
    assert!(
        page.contains(
            "data-alert=\"emergency-access\" role=\"note\">Emergency access until 11:00 UTC — every view is recorded and will be reviewed</p>"
        ),
        "{page}"
    );
    assert!(page.contains("Emergency access granted."), "{page}");
    assert!(page.contains("Penicillin"), "{page}");
    assert!(!page.contains(&format!("action=\"{form_path}\"")), "{page}");

    // Nobody else is offered the form: the care team, reception, the administrator.
    let john = john_record(&app).await;
    let mut nurse = app.browser("nurse").await;
    let page = assert_page(
        &nurse.get(&format!("/patients/{john}")).await,
        StatusCode::OK,
        "the nurse on John's care team",
    );
    assert!(!page.contains("break-glass"), "{page}");
    for username in ["reception", "admin"] {
        let mut client = app.browser(username).await;
        let page = assert_page(&client.get(&page_path).await, StatusCode::OK, username);
        assert!(
            !page.contains("Emergency access (break the glass)"),
            "{username}"
        );
        assert!(!page.contains("emergency-banner"), "{username}");
    }
    let on_team = doctor
        .post_form(
            &format!("/patients/{john}/break-glass"),
            &[("reason", REASON), ("duration_minutes", "60")],
        )
        .await;
    let html = assert_page(&on_team, StatusCode::CONFLICT, "on the care team already");
    assert!(html.contains("care team already"), "{html}");
    let mut reception = app.browser("reception").await;
    let refused = reception
        .post_form(
            &form_path,
            &[("reason", REASON), ("duration_minutes", "60")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());

    // The queue is the administrators'.
    assert_page(
        &doctor.get("/admin/break-glass").await,
        StatusCode::FORBIDDEN,
        "a doctor",
    );

    // The admin dashboard's alert links to the queue, which shows the grant.
    let mut admin = app.browser("admin").await;
    let dashboard = assert_page(&admin.get("/dashboard").await, StatusCode::OK, "dashboard");
    assert!(
        dashboard.contains("1 emergency access awaiting review"),
        "{dashboard}"
    );
    assert!(
        dashboard.contains("href=\"/admin/break-glass\""),
        "{dashboard}"
    );
    let queue = assert_page(
        &admin.get("/admin/break-glass").await,
        StatusCode::OK,
        "queue",
    );
    assert!(queue.contains("Dr. Sarah Smith"), "{queue}");
    assert!(queue.contains("Eve Emergency"), "{queue}");
    assert!(queue.contains(REASON), "{queue}");
    assert!(queue.contains("2026-03-02 09:00 UTC"), "{queue}");
    assert!(queue.contains("2026-03-02 11:00 UTC"), "{queue}");
    let grant_id = {
        let marker = "action=\"/admin/break-glass/";
        let start = queue.find(marker).expect("a review form") + marker.len();
        queue[start..start + 36].to_owned()
    };
    let review = format!("/admin/break-glass/{grant_id}/review");

    // A review without a verdict: the queue again with the message.
    let bad = admin.post_form(&review, &[("note", "Checked.")]).await;
    let html = assert_page(&bad, StatusCode::UNPROCESSABLE_ENTITY, "no verdict");
    assert!(html.contains("Verdict must be one of"), "{html}");
    assert!(html.contains(">Checked.</textarea>"), "{html}");

    let done = admin
        .post_form(
            &review,
            &[
                ("verdict", "unjustified"),
                ("note", "The patient was stable."),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(
        done.location(),
        Some("/admin/break-glass?notice=emergency-access-reviewed")
    );
    let queue = assert_page(
        &admin
            .get("/admin/break-glass?notice=emergency-access-reviewed")
            .await,
        StatusCode::OK,
        "reviewed",
    );
    assert!(queue.contains("The review has been recorded."), "{queue}");
    assert!(
        queue.contains("No emergency access awaits review."),
        "{queue}"
    );
    assert!(queue.contains("data-status=\"Not justified\""), "{queue}");
    assert!(queue.contains("The patient was stable."), "{queue}");
    let twice = admin
        .post_form(&review, &[("verdict", "justified"), ("note", "Again.")])
        .await;
    let html = assert_page(&twice, StatusCode::CONFLICT, "reviewed twice");
    assert!(html.contains("reviewed already"), "{html}");

    // No alert once nothing waits; the dashboard still renders.
    let dashboard = assert_page(&admin.get("/dashboard").await, StatusCode::OK, "dashboard");
    assert!(!dashboard.contains("awaiting review"), "{dashboard}");
    assert!(dashboard.contains("Break-the-glass reviews"), "{dashboard}");

    // After expiry (11:00), the banner is gone and the form is back.
    app.clock.advance(Duration::from_secs(2 * 60 * 60));
    let mut doctor = app.browser("drsmith").await;
    let page = assert_page(&doctor.get(&page_path).await, StatusCode::OK, "expired");
    assert!(!page.contains("emergency-banner"), "{page}");
    assert!(!page.contains("Penicillin"), "{page}");
    assert!(page.contains(&format!("action=\"{form_path}\"")), "{page}");
}

on_all_backends!(
    access_is_granted_until_it_expires_and_reviewed_once,
    only_doctors_and_nurses_outside_the_care_team_break_the_glass,
    the_pages_offer_the_form_show_the_banner_and_queue_the_review,
);
