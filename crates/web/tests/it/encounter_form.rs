//! The encounter as one form, and the doctor's path from the day to a signed encounter:
//! every button of the draft's form saves everything typed in one transaction (texts,
//! diagnoses, vitals, a prescription, the signature, the appointment's completion) or
//! nothing; the ICD-10 lookup without scripts keeps every field and saves nothing; a
//! prescription warning writes nothing, keeps every value and is the first thing on the page;
//! the override shows on the encounter and the printed prescription, reaches the pharmacy and
//! is audited as a category; "Start" creates or opens the appointment's encounter once, also
//! under concurrency; signing completes the appointment (charged once) in the same
//! transaction; and My day to a signed encounter takes four page loads.
//!
//! The clock starts on Monday 2026-03-02 at 09:00 UTC; Dr. Smith works that day.

use axum::http::StatusCode;
use carevault_core::AppointmentId;
use carevault_core::appointment::AppointmentStatus;
use carevault_core::clinical::EncounterStatus;
use carevault_service::ServiceError;
use carevault_service::scheduling::BookingInput;
use serde_json::json;

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::scheduling_api::{create_account, john_record, mon};

fn page(response: &TestResponse, status: StatusCode, what: &str) -> String {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    response.text()
}

fn redirected(response: &TestResponse, prefix: &str, what: &str) -> String {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{what}: {}",
        response.text()
    );
    let location = response.location().expect("a location").to_owned();
    assert!(location.starts_with(prefix), "{what}: {location}");
    location
}

/// The encounter id of `/encounters/{id}?…`.
fn encounter_of(location: &str) -> String {
    location
        .trim_start_matches("/encounters/")
        .split(['?', '#'])
        .next()
        .expect("an id")
        .to_owned()
}

/// John booked with Dr. Smith today at `time` and checked in by reception.
async fn checked_in(app: &TestApp, john: &str, time: &str) -> AppointmentId {
    let reception = app.actor("reception").await;
    let doctor = app.actor("drsmith").await;
    let booked = app
        .services
        .book_appointment(
            &reception,
            BookingInput {
                patient_id: john.to_owned(),
                clinician_id: doctor.user_id().expect("a user").to_string(),
                start: mon(time),
                reason: "Sore throat".into(),
                ..BookingInput::default()
            },
        )
        .await
        .expect("booked");
    app.services
        .change_appointment_status(&reception, booked.id, "checked_in", None)
        .await
        .expect("checked in");
    booked.id
}

/// A draft for John through the API, with a complaint and a coded diagnosis.
async fn api_draft(app: &TestApp, john: &str) -> String {
    let mut api = app.api_client("drsmith").await;
    let response = api
        .post_json(
            "/api/v1/encounters",
            &json!({"patient_id": john, "chief_complaint": "Loose stools Qzoriginal",
                    "diagnoses": [{"kind": "primary", "code": "A09"}]}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["id"].as_str().expect("an id").to_owned()
}

/// Every field of the form, filled: texts, two diagnosis rows, vitals, a prescription.
fn everything<'a>(drug: &'a str, marker: &'a str) -> Vec<(&'static str, String)> {
    vec![
        ("kind", "follow_up".into()),
        ("chief_complaint", format!("Vomiting {marker}complaint")),
        ("history", format!("Two days {marker}history")),
        ("examination", format!("Dry mucosa {marker}examination")),
        ("assessment", format!("Gastroenteritis {marker}assessment")),
        ("plan", format!("Fluids and rest {marker}plan")),
        ("dx0_kind", "primary".into()),
        ("dx0_code", "A09".into()),
        ("dx1_code", String::new()),
        ("dx1_text", format!("Worried {marker}freetext")),
        ("dx1_free", "on".into()),
        ("dx2_code", String::new()),
        ("temperature_c", "38.6".into()),
        ("pulse_bpm", "104".into()),
        ("spo2_percent", "94".into()),
        ("rx_drug_name", drug.into()),
        ("rx_dose", "500 mg".into()),
        ("rx_route", "oral".into()),
        ("rx_frequency", "three times daily".into()),
        ("rx_duration_days", "7".into()),
        ("rx_quantity", "21".into()),
        (
            "rx_instructions",
            format!("After food {marker}instructions"),
        ),
    ]
}

fn with(fields: &[(&'static str, String)], more: &[(&'static str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .chain(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
        .collect()
}

async fn post(client: &mut Client<'_>, path: &str, fields: &[(String, String)]) -> TestResponse {
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    client.post_form(path, &borrowed).await
}

/// The form's every typed value, as the page shows it again.
fn assert_everything_kept(html: &str, fields: &[(&'static str, String)], what: &str) {
    for (name, value) in fields {
        if value.is_empty() || name.ends_with("_kind") || name.ends_with("_free") {
            continue;
        }
        let shown = if *name == "kind" {
            html.contains(&format!("value=\"{value}\" selected"))
        } else {
            html.contains(&format!("name=\"{name}\" type=\"text\" value=\"{value}\""))
                || html.contains(&format!("value=\"{value}\""))
                    && html.contains(&format!("name=\"{name}\""))
                || html.contains(&format!(
                    "name=\"{name}\" rows=\"3\" maxlength=\"2000\">{value}</textarea>"
                ))
        };
        assert!(shown, "{what}: {name} = {value:?} was not kept");
    }
    assert!(
        html.contains("name=\"dx1_free\" value=\"on\" checked"),
        "{what}: the free-text box was not kept"
    );
}

/// How many events of `resource_type` with this action (and resource) are recorded.
async fn events(
    app: &TestApp,
    resource_type: &str,
    resource_id: Option<&str>,
    action: &str,
) -> Vec<Option<String>> {
    let admin = app.actor("admin").await;
    app.services
        .audit_events(
            &admin,
            carevault_store::audit::AuditFilter {
                resource_type: Some(resource_type.into()),
                resource_id: resource_id.map(str::to_owned),
                action: Some(action.into()),
                ..Default::default()
            },
            0,
            200,
        )
        .await
        .expect("the audit log")
        .entries
        .into_iter()
        .map(|e| e.reason)
        .collect()
}

async fn one_form_saves_everything_and_sign_saves_first(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let john_id = john.parse().expect("an id");
    let doctor = app.actor("drsmith").await;
    let mut browser = app.browser("drsmith").await;

    // A new encounter: everything in one save.
    let fields = everything("Paracetamol", "Qz1");
    let created = post(
        &mut browser,
        "/encounters/new",
        &with(&fields, &[("patient_id", &john), ("action", "save")]),
    )
    .await;
    let location = redirected(&created, "/encounters/", "saved");
    assert!(location.contains("notice=encounter-saved-rx"), "{location}");
    let id = encounter_of(&location);
    let saved = app
        .services
        .get_encounter(&doctor, &id)
        .await
        .expect("the draft");
    assert_eq!(saved.status, EncounterStatus::Draft);
    assert_eq!(saved.kind.as_str(), "follow_up");
    assert_eq!(saved.text("plan"), Some("Fluids and rest Qz1plan"));
    assert_eq!(saved.text("examination"), Some("Dry mucosa Qz1examination"));
    assert_eq!(saved.diagnoses.len(), 2);
    assert_eq!(saved.diagnoses[0].code.as_deref(), Some("A09"));
    assert!(saved.diagnoses[1].free_text);
    assert_eq!(
        saved.vitals.len(),
        1,
        "the vitals are recorded with the save"
    );
    assert!(
        saved.vitals[0]
            .measurement("temperature_c")
            .is_some_and(|m| m.value == "38.6")
    );
    let prescriptions = app
        .services
        .list_prescriptions(&doctor, john_id)
        .await
        .expect("prescriptions");
    assert_eq!(prescriptions.len(), 1);
    assert_eq!(prescriptions[0].encounter_id, id);
    assert_eq!(
        prescriptions[0].instructions.as_deref(),
        Some("After food Qz1instructions")
    );
    // One event per change, all in the save's transaction.
    assert_eq!(
        events(&app, "encounter", Some(&id), "create").await.len(),
        1
    );
    assert_eq!(events(&app, "vitals", None, "create").await.len(), 1);
    assert_eq!(events(&app, "prescription", None, "create").await.len(), 1);

    // The draft's page is one form with what was recorded in it, not repeated above.
    let path = format!("/encounters/{id}");
    let draft = page(&browser.get(&path).await, StatusCode::OK, "the draft");
    assert_eq!(
        draft
            .matches("<form method=\"post\" action=\"/encounters/")
            .count(),
        1,
        "one form"
    );
    assert_eq!(
        draft.matches("Fluids and rest Qz1plan").count(),
        1,
        "{draft}"
    );
    let seen = crate::harness::hidden_field(&draft, "seen").expect("the version");

    // A form drawn from an older version: 409, every typed value kept, nothing written.
    let later = everything("", "Qz2");
    let later: Vec<(&'static str, String)> = later
        .into_iter()
        .filter(|(k, _)| {
            !k.starts_with("rx_") && !["temperature_c", "pulse_bpm", "spo2_percent"].contains(k)
        })
        .collect();
    let edit = format!("{path}/edit");
    redirected(
        &post(
            &mut browser,
            &edit,
            &with(&later, &[("seen", &seen), ("action", "save")]),
        )
        .await,
        &path,
        "saved again",
    );
    let stale = page(
        &post(
            &mut browser,
            &edit,
            &with(
                &everything("", "Qz3")
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("rx_"))
                    .collect::<Vec<_>>(),
                &[("seen", &seen), ("action", "sign")],
            ),
        )
        .await,
        StatusCode::CONFLICT,
        "a stale form",
    );
    assert!(
        stale.contains("changed by someone else meanwhile"),
        "{stale}"
    );
    assert!(
        stale.contains(">Fluids and rest Qz3plan</textarea>"),
        "kept"
    );
    let unchanged = app.services.get_encounter(&doctor, &id).await.expect("it");
    assert_eq!(unchanged.status, EncounterStatus::Draft);
    assert_eq!(unchanged.text("plan"), Some("Fluids and rest Qz2plan"));

    // "Sign" saves what is typed first: every word typed is in the signed encounter.
    let draft = page(&browser.get(&path).await, StatusCode::OK, "the draft");
    let seen = crate::harness::hidden_field(&draft, "seen").expect("the version");
    let last: Vec<(&'static str, String)> = everything("", "Qz4")
        .into_iter()
        .filter(|(k, _)| {
            !k.starts_with("rx_") && !["temperature_c", "pulse_bpm", "spo2_percent"].contains(k)
        })
        .collect();
    let signed = redirected(
        &post(
            &mut browser,
            &edit,
            &with(&last, &[("seen", &seen), ("action", "sign")]),
        )
        .await,
        &path,
        "signed",
    );
    assert!(signed.contains("notice=encounter-signed"), "{signed}");
    let shown = page(&browser.get(&signed).await, StatusCode::OK, "signed page");
    assert!(shown.contains("data-status=\"signed\""));
    for (name, value) in &last {
        if name.starts_with("dx") && !name.ends_with("_text") || *name == "kind" {
            continue;
        }
        for word in value.split_whitespace() {
            assert!(
                shown.contains(word),
                "{name}: {word} is not in the signed page"
            );
        }
    }
    assert!(shown.contains("<code>A09</code>"));
    let signed_view = app.services.get_encounter(&doctor, &id).await.expect("it");
    assert_eq!(signed_view.status, EncounterStatus::Signed);
    assert_eq!(signed_view.text("history"), Some("Two days Qz4history"));
    assert_eq!(
        events(&app, "encounter", Some(&id), "status_changed").await,
        vec![Some("draft → signed".to_owned())]
    );
    // Its coded diagnosis is counted for the report.
    let report = app
        .services
        .diagnosis_report(
            &doctor,
            "2026-03-02".parse().expect("a date"),
            "2026-03-02".parse().expect("a date"),
        )
        .await
        .expect("the report");
    assert_eq!(report.by_code.len(), 1);
    assert_eq!(report.by_code[0].0, "A09");
}

async fn the_lookup_keeps_every_field_and_saves_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let john_id = john.parse().expect("an id");
    let doctor = app.actor("drsmith").await;
    let id = api_draft(&app, &john).await;
    let path = format!("/encounters/{id}");
    let mut browser = app.browser("drsmith").await;
    let before = app.services.get_encounter(&doctor, &id).await.expect("it");

    // Every field filled, but row 2 empty; "Look up" is a button of the same form.
    let fields = everything("Paracetamol", "Qzlook");
    let looked = page(
        &post(
            &mut browser,
            &format!("{path}/edit"),
            &with(
                &fields,
                &[
                    ("icd10", "gastroenteritis"),
                    ("rx_acknowledgement", "Qzreason kept"),
                    ("action", "lookup"),
                ],
            ),
        )
        .await,
        StatusCode::OK,
        "the lookup",
    );
    assert_everything_kept(&looked, &fields, "after the lookup");
    assert!(
        looked.contains("value=\"gastroenteritis\""),
        "the query is kept"
    );
    assert!(
        looked.contains("value=\"Qzreason kept\""),
        "the reason is kept"
    );
    assert!(looked.contains("value=\"use:A09\""), "{looked}");
    assert!(
        looked.contains("data-unsaved=\"true\""),
        "the script is told it is unsaved"
    );

    // "Use A09 — …" puts the code into the first empty row, still keeping everything.
    let used = page(
        &post(
            &mut browser,
            &format!("{path}/edit"),
            &with(
                &fields,
                &[("icd10", "gastroenteritis"), ("action", "use:K52.9")],
            ),
        )
        .await,
        StatusCode::OK,
        "a code used",
    );
    assert_everything_kept(&used, &fields, "after using a code");
    assert!(
        used.contains("name=\"dx2_code\" type=\"text\" value=\"K52.9\""),
        "the first empty row gets the code: {used}"
    );

    // Nothing was saved by either.
    let after = app.services.get_encounter(&doctor, &id).await.expect("it");
    assert_eq!(after.updated_at, before.updated_at);
    assert_eq!(
        after.text("chief_complaint"),
        Some("Loose stools Qzoriginal")
    );
    assert!(after.vitals.is_empty());
    assert!(
        app.services
            .list_prescriptions(&doctor, john_id)
            .await
            .expect("prescriptions")
            .is_empty()
    );
    assert!(
        events(&app, "encounter", Some(&id), "update")
            .await
            .is_empty()
    );

    // The same on a new encounter: nothing is created.
    let count = app
        .services
        .list_encounters(&doctor, john_id)
        .await
        .expect("encounters")
        .len();
    let looked = page(
        &post(
            &mut browser,
            "/encounters/new",
            &with(
                &fields,
                &[("patient_id", &john), ("icd10", "A0"), ("action", "lookup")],
            ),
        )
        .await,
        StatusCode::OK,
        "a new encounter's lookup",
    );
    assert_everything_kept(&looked, &fields, "a new encounter's lookup");
    assert_eq!(
        app.services
            .list_encounters(&doctor, john_id)
            .await
            .expect("encounters")
            .len(),
        count
    );

    // The type-ahead's search reads with the session cookie; staff only.
    let found = browser.get("/api/v1/icd10?q=gastroenteritis&limit=5").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    assert!(found.json()["items"][0]["code"].is_string());
    app.anonymous()
        .get("/api/v1/icd10?q=gastro")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.browser("john")
        .await
        .get("/api/v1/icd10?q=gastro")
        .await
        .problem(StatusCode::FORBIDDEN);
    // The script is served from this origin.
    let script = app.anonymous().get("/assets/encounter.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
}

async fn a_prescription_warning_writes_nothing_and_is_seen_first(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let john_id = john.parse().expect("an id");
    let doctor = app.actor("drsmith").await;
    let id = api_draft(&app, &john).await;
    let path = format!("/encounters/{id}");
    let edit = format!("{path}/edit");
    let mut browser = app.browser("drsmith").await;
    let before = app.services.get_encounter(&doctor, &id).await.expect("it");

    // John is allergic to penicillin: amoxicillin stops the whole save, signing included.
    let fields = everything("Amoxicillin", "Qzwarn");
    let warned = page(
        &post(&mut browser, &edit, &with(&fields, &[("action", "sign")])).await,
        StatusCode::CONFLICT,
        "warned",
    );
    assert_everything_kept(&warned, &fields, "after the warning");
    let open = warned
        .find("<div class=\"warning-box prescription-warnings\" role=\"alert\" tabindex=\"-1\" id=\"prescription-warnings\">")
        .expect("the warning box, announced and focusable");
    let first_field = warned.find("id=\"chief_complaint\"").expect("the form");
    assert!(open < first_field, "the warning is above every field");
    let main = warned.find("<main").expect("main");
    assert!(
        !warned[main..open].contains("<input type=\"text\""),
        "nothing typed comes before the warning"
    );
    let box_html = &warned[open..first_field];
    assert!(
        box_html.contains("Amoxicillin"),
        "the drug is named: {box_html}"
    );
    assert!(box_html.contains("Penicillin"), "the allergy is named");
    assert!(
        box_html.contains("name=\"rx_acknowledgement\""),
        "the acknowledgement is inside the box"
    );
    assert!(
        box_html.contains("value=\"sign\""),
        "signing is offered in the box"
    );
    // Nothing was written.
    let after = app.services.get_encounter(&doctor, &id).await.expect("it");
    assert_eq!(after.updated_at, before.updated_at);
    assert_eq!(after.status, EncounterStatus::Draft);
    assert!(after.vitals.is_empty());
    assert!(
        app.services
            .list_prescriptions(&doctor, john_id)
            .await
            .expect("prescriptions")
            .is_empty()
    );
    // A reason too short: the box again, with its message.
    let short = page(
        &post(
            &mut browser,
            &edit,
            &with(&fields, &[("rx_acknowledgement", "ok"), ("action", "sign")]),
        )
        .await,
        StatusCode::CONFLICT,
        "a short reason",
    );
    assert!(short.contains("id=\"rx-acknowledgement-error\""), "{short}");

    // With a reason, everything is written and signed in one go.
    let reason = "Rash in childhood only Qzprivate";
    let signed = redirected(
        &post(
            &mut browser,
            &edit,
            &with(
                &fields,
                &[("rx_acknowledgement", reason), ("action", "sign")],
            ),
        )
        .await,
        &path,
        "acknowledged and signed",
    );
    let shown = page(&browser.get(&signed).await, StatusCode::OK, "signed");
    assert!(shown.contains("data-status=\"signed\""));
    assert!(
        shown.contains("data-override"),
        "the override is on the encounter"
    );
    assert!(shown.contains(reason));
    let prescriptions = app
        .services
        .list_prescriptions(&doctor, john_id)
        .await
        .expect("prescriptions");
    assert_eq!(prescriptions.len(), 1);
    let rx = &prescriptions[0];
    assert_eq!(rx.acknowledgement.as_deref(), Some(reason));
    let printed = page(
        &browser
            .get(&format!("/prescriptions/{}/print", rx.id))
            .await,
        StatusCode::OK,
        "printed",
    );
    assert!(printed.contains("data-override") && printed.contains(reason));
    assert!(printed.contains("Penicillin"));
    // The pharmacist's queue sees the override and why.
    let pharmacist = app.actor("pharma").await;
    let queue = app
        .services
        .dispensing_queue(&pharmacist, None)
        .await
        .expect("the queue");
    let queued = queue
        .iter()
        .find(|p| p.prescription.id == rx.id)
        .expect("queued");
    assert_eq!(queued.prescription.warnings[0].kind, "allergy");
    assert_eq!(queued.prescription.acknowledgement.as_deref(), Some(reason));
    // The audit trail records the category of the override, never the reason.
    assert_eq!(
        events(&app, "prescription", Some(&rx.id), "create").await,
        vec![Some("warning overridden: allergy".to_owned())]
    );
    let admin = app.actor("admin").await;
    let everything_logged = app
        .services
        .audit_events(&admin, Default::default(), 0, 500)
        .await
        .expect("the log");
    assert!(
        !format!("{:?}", everything_logged.entries).contains("Qzprivate"),
        "the reason is not in the audit trail"
    );

    // Prescribing again from the signed encounter: both warnings, at the top of the page,
    // with the reason's field (part of the folded prescription form) inside the box.
    let again = [
        ("drug_name", "Amoxicillin"),
        ("dose", "250 mg"),
        ("route", "oral"),
        ("frequency", "twice daily"),
        ("duration_days", "5"),
        ("quantity", "10"),
    ];
    let warned = page(
        &browser
            .post_form(&format!("{path}/prescriptions"), &again)
            .await,
        StatusCode::CONFLICT,
        "warned again",
    );
    let open = warned
        .find("id=\"prescription-warnings\"")
        .expect("the warning box");
    assert!(
        open < warned.find("id=\"texts\"").expect("the record"),
        "at the top"
    );
    assert!(
        warned.contains("data-warning=\"allergy\"")
            && warned.contains("data-warning=\"duplicate\"")
    );
    assert!(
        warned.contains("name=\"acknowledgement\" form=\"prescribe-form\""),
        "{warned}"
    );
    assert!(
        warned.contains("<details class=\"fold\" id=\"prescribe\" open>"),
        "unfolded"
    );
    assert!(warned.contains("value=\"250 mg\""), "kept");
    let mut acknowledged = again.to_vec();
    acknowledged.push(("acknowledgement", "Second course needed Qzprivate"));
    redirected(
        &browser
            .post_form(&format!("{path}/prescriptions"), &acknowledged)
            .await,
        &path,
        "prescribed again",
    );
    let second = app
        .services
        .list_prescriptions(&doctor, john_id)
        .await
        .expect("prescriptions")
        .into_iter()
        .find(|p| p.id != rx.id)
        .expect("the second prescription");
    assert_eq!(
        events(&app, "prescription", Some(&second.id), "create").await,
        vec![Some("warning overridden: allergy, duplicate".to_owned())]
    );
}

async fn start_creates_or_opens_the_appointments_encounter(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let john_id = john.parse().expect("an id");
    let doctor = app.actor("drsmith").await;
    let appointment = checked_in(&app, &john, "10:00").await;
    let start = format!("/appointments/{appointment}/start");

    // My day links the patient to the chart and offers Start.
    let mut browser = app.browser("drsmith").await;
    let day = page(&browser.get("/my/day").await, StatusCode::OK, "my day");
    assert!(day.contains(&format!("href=\"/patients/{john}\"")), "{day}");
    assert!(day.contains(&format!("action=\"{start}\"")));

    // Nobody but the appointment's doctor starts it; each refusal is recorded.
    let admin = app.actor("admin").await;
    create_account(&app, &admin, "drjones", "doctor").await;
    app.services
        .assign_care_team_member(&admin, john_id, "drjones")
        .await
        .expect("assigned");
    let mut jones = app.anonymous();
    jones
        .sign_in_through_form("drjones", crate::scheduling_api::PASSWORD)
        .await;
    jones.refresh_form_token().await;
    page(
        &jones.post_form(&start, &[]).await,
        StatusCode::FORBIDDEN,
        "another doctor",
    );
    for username in ["nurse", "reception", "admin", "john"] {
        let mut other = app.browser(username).await;
        page(
            &other.post_form(&start, &[]).await,
            StatusCode::FORBIDDEN,
            username,
        );
    }
    let refusals = app
        .services
        .audit_events(
            &admin,
            carevault_store::audit::AuditFilter {
                resource_type: Some("appointment".into()),
                outcome: Some("denied".into()),
                ..Default::default()
            },
            0,
            50,
        )
        .await
        .expect("the log");
    assert!(refusals.total >= 5, "{:?}", refusals.entries);
    page(
        &browser
            .post_form("/appointments/not-an-id/start", &[])
            .await,
        StatusCode::NOT_FOUND,
        "a bad id",
    );
    page(
        &browser
            .post_form(&format!("/appointments/{}/start", uuid_v7()), &[])
            .await,
        StatusCode::NOT_FOUND,
        "no such appointment",
    );
    assert!(
        app.services
            .list_encounters(&doctor, john_id)
            .await
            .expect("encounters")
            .is_empty(),
        "nothing was created by the refusals"
    );

    // Start: in progress, and the draft of this appointment opens.
    let location = redirected(
        &browser.post_form(&start, &[]).await,
        "/encounters/",
        "start",
    );
    let id = encounter_of(&location);
    let view = app.services.get_encounter(&doctor, &id).await.expect("it");
    assert_eq!(
        view.appointment_id.as_deref(),
        Some(appointment.to_string().as_str())
    );
    let shown = view.appointment.as_ref().expect("its appointment");
    assert_eq!(shown.status, AppointmentStatus::InProgress);
    assert!(shown.may_complete);
    let form = page(&browser.get(&location).await, StatusCode::OK, "the form");
    assert!(form.contains("data-appointment"), "{form}");
    assert!(form.contains(&format!("href=\"/appointments/{appointment}\"")));
    assert!(form.contains("General Medicine"));
    assert!(
        form.contains("name=\"complete_appointment\" value=\"on\" checked"),
        "completing is offered, ticked"
    );
    assert_eq!(
        events(&app, "encounter", Some(&id), "create").await,
        vec![Some("started from its appointment".to_owned())]
    );
    // Again (a second click, another tab): the same encounter.
    let again = redirected(
        &browser.post_form(&start, &[]).await,
        "/encounters/",
        "again",
    );
    assert_eq!(encounter_of(&again), id);
    let day = page(&browser.get("/my/day").await, StatusCode::OK, "my day");
    assert!(day.contains("Open encounter"), "{day}");
    assert_eq!(
        app.services
            .list_encounters(&doctor, john_id)
            .await
            .expect("encounters")
            .len(),
        1
    );

    // Concurrent starts of a checked-in appointment, and of one already in progress
    // without an encounter: one encounter each.
    let second = checked_in(&app, &john, "11:00").await;
    let third = checked_in(&app, &john, "11:30").await;
    app.services
        .change_appointment_status(&doctor, third, "in_progress", None)
        .await
        .expect("started by status");
    for appointment in [second, third] {
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let services = app.services.clone();
            let actor = doctor.clone();
            tasks.push(tokio::spawn(async move {
                services
                    .start_appointment_encounter(&actor, appointment)
                    .await
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.expect("joined").expect("started").encounter_id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "one encounter for {appointment}: {ids:?}");
        let of_appointment: Vec<_> = app
            .services
            .list_encounters(&doctor, john_id)
            .await
            .expect("encounters")
            .into_iter()
            .filter(|e| e.appointment_id.as_deref() == Some(appointment.to_string().as_str()))
            .collect();
        assert_eq!(of_appointment.len(), 1, "{appointment}");
    }
    // A scheduled appointment is not started: the patient is checked in first.
    let reception = app.actor("reception").await;
    let booked = app
        .services
        .book_appointment(
            &reception,
            BookingInput {
                patient_id: john.clone(),
                clinician_id: doctor.user_id().expect("a user").to_string(),
                start: mon("15:00"),
                reason: "Later".into(),
                ..BookingInput::default()
            },
        )
        .await
        .expect("booked");
    match app
        .services
        .start_appointment_encounter(&doctor, booked.id)
        .await
    {
        Err(ServiceError::Conflict { message, .. }) => {
            assert!(message.contains("checked in"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    page(
        &browser
            .post_form(&format!("/appointments/{}/start", booked.id), &[])
            .await,
        StatusCode::CONFLICT,
        "not checked in",
    );
}

fn uuid_v7() -> String {
    "01990000-0000-7000-8000-000000000000".to_owned()
}

/// The appointment charges on John's invoices.
async fn appointment_charges(app: &TestApp, john: &str) -> Vec<String> {
    let mut reception = app.api_client("reception").await;
    let list = reception
        .get(&format!("/api/v1/invoices?patient_id={john}"))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let mut charges = Vec::new();
    for invoice in list.json()["items"].as_array().expect("items") {
        let id = invoice["id"].as_str().expect("an id");
        let bill = reception
            .get(&format!("/api/v1/invoices/{id}"))
            .await
            .json();
        for line in bill["lines"].as_array().expect("lines") {
            if line["source"] == "appointment" {
                charges.push(line["description"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    charges
}

async fn signing_completes_the_appointment_in_the_same_transaction(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let doctor = app.actor("drsmith").await;
    let mut admin_api = app.api_client("admin").await;
    let price = admin_api
        .post_json(
            "/api/v1/prices",
            &json!({"code": "CONS", "kind": "consultation", "label": "Consultation",
                    "appointment_type": "consultation", "fixed_price": "40.00"}),
        )
        .await;
    assert_eq!(price.status, StatusCode::CREATED, "{}", price.text());
    let mut browser = app.browser("drsmith").await;
    let fields: Vec<(&'static str, String)> = everything("", "Qzdone")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("rx_"))
        .collect();

    // Signed with "Complete the appointment": both, and the visit charged once.
    let appointment = checked_in(&app, &john, "10:00").await;
    let id = encounter_of(&redirected(
        &browser
            .post_form(&format!("/appointments/{appointment}/start"), &[])
            .await,
        "/encounters/",
        "start",
    ));
    let edit = format!("/encounters/{id}/edit");
    let signed = redirected(
        &post(
            &mut browser,
            &edit,
            &with(
                &fields,
                &[("complete_appointment", "on"), ("action", "sign")],
            ),
        )
        .await,
        &format!("/encounters/{id}"),
        "signed and completed",
    );
    assert!(
        signed.contains("notice=encounter-signed-completed"),
        "{signed}"
    );
    let view = app.services.get_encounter(&doctor, &id).await.expect("it");
    assert_eq!(view.status, EncounterStatus::Signed);
    let reception = app.actor("reception").await;
    let done = app
        .services
        .get_appointment(&reception, appointment)
        .await
        .expect("the appointment");
    assert_eq!(done.status, AppointmentStatus::Completed);
    assert_eq!(appointment_charges(&app, &john).await.len(), 1);
    assert_eq!(
        events(
            &app,
            "appointment",
            Some(&appointment.to_string()),
            "status_changed"
        )
        .await
        .iter()
        .filter(|r| r.as_deref() == Some("in_progress → completed"))
        .count(),
        1
    );

    // The appointment completed elsewhere meanwhile: signing and completing is refused as a
    // whole — the encounter stays a draft with its text unchanged, the form keeps every
    // value, and the visit is still charged once.
    let second = checked_in(&app, &john, "11:00").await;
    let id = encounter_of(&redirected(
        &browser
            .post_form(&format!("/appointments/{second}/start"), &[])
            .await,
        "/encounters/",
        "start",
    ));
    let before = app.services.get_encounter(&doctor, &id).await.expect("it");
    app.services
        .change_appointment_status(&doctor, second, "completed", None)
        .await
        .expect("completed from the schedule");
    let refused = page(
        &post(
            &mut browser,
            &format!("/encounters/{id}/edit"),
            &with(
                &fields,
                &[("complete_appointment", "on"), ("action", "sign")],
            ),
        )
        .await,
        StatusCode::CONFLICT,
        "completing a completed appointment",
    );
    assert_everything_kept(&refused, &fields, "after the refusal");
    let after = app.services.get_encounter(&doctor, &id).await.expect("it");
    assert_eq!(after.status, EncounterStatus::Draft);
    assert_eq!(after.updated_at, before.updated_at);
    assert_eq!(appointment_charges(&app, &john).await.len(), 2);
    // Without completing it, signing goes through.
    redirected(
        &post(
            &mut browser,
            &format!("/encounters/{id}/edit"),
            &with(&fields, &[("action", "sign")]),
        )
        .await,
        &format!("/encounters/{id}"),
        "signed only",
    );
    assert_eq!(appointment_charges(&app, &john).await.len(), 2);
}

/// Follows a response's redirects like a browser; returns the page it lands on.
async fn land(client: &mut Client<'_>, mut response: TestResponse) -> TestResponse {
    while response.status == StatusCode::SEE_OTHER {
        let location = response.location().expect("a location").to_owned();
        response = client.get(&location).await;
    }
    response
}

async fn from_my_day_to_a_signed_encounter_in_four_page_loads(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let appointment = checked_in(&app, &john, "10:00").await;
    let mut browser = app.browser("drsmith").await;
    let mut loads = 0;

    // 1: My day.
    let day = browser.get("/my/day").await;
    loads += 1;
    let day = page(&day, StatusCode::OK, "my day");
    let start = format!("/appointments/{appointment}/start");
    assert!(day.contains(&format!("action=\"{start}\"")));
    // 2: Start → the encounter's form.
    let posted = browser.post_form(&start, &[]).await;
    let location = posted.location().unwrap_or_default().to_owned();
    let form = land(&mut browser, posted).await;
    loads += 1;
    let form = page(&form, StatusCode::OK, "the form");
    let id = encounter_of(&location);
    let seen = crate::harness::hidden_field(&form, "seen").expect("the version");
    // 3: everything typed, a code, a prescription, Sign → the allergy warning.
    let fields = everything("Amoxicillin", "Qzday");
    let edit = format!("/encounters/{id}/edit");
    let warned = post(
        &mut browser,
        &edit,
        &with(
            &fields,
            &[
                ("seen", &seen),
                ("complete_appointment", "on"),
                ("action", "sign"),
            ],
        ),
    )
    .await;
    loads += 1;
    page(&warned, StatusCode::CONFLICT, "the warning");
    // 4: the reason, "Prescribe anyway and sign" → the signed encounter.
    let signed = post(
        &mut browser,
        &edit,
        &with(
            &fields,
            &[
                ("seen", &seen),
                ("complete_appointment", "on"),
                ("rx_acknowledgement", "Tolerated it last year"),
                ("action", "sign"),
            ],
        ),
    )
    .await;
    let signed = land(&mut browser, signed).await;
    loads += 1;
    let signed = page(&signed, StatusCode::OK, "the signed encounter");
    assert!(loads <= 4);
    assert!(signed.contains("data-status=\"signed\""));
    assert!(signed.contains("<code>A09</code>"));
    assert!(signed.contains("Amoxicillin"));
    for (name, value) in &fields {
        if name.starts_with("rx_") || name.starts_with("dx") && !name.ends_with("_text") {
            continue;
        }
        if *name == "kind" {
            assert!(signed.contains("follow up"));
            continue;
        }
        for word in value.split_whitespace() {
            assert!(
                signed.contains(word),
                "{name}: {word} is not on the signed page"
            );
        }
    }
    assert!(signed.contains("After food Qzdayinstructions"));
    assert!(signed.contains("The encounter has been signed and the appointment completed."));
}

on_all_backends!(
    one_form_saves_everything_and_sign_saves_first,
    the_lookup_keeps_every_field_and_saves_nothing,
    a_prescription_warning_writes_nothing_and_is_seen_first,
    start_creates_or_opens_the_appointments_encounter,
    signing_completes_the_appointment_in_the_same_transaction,
    from_my_day_to_a_signed_encounter_in_four_page_loads,
);
