//! The allergy list through the JSON API: recorded (coded or flagged free text), listed,
//! retired and marked entered in error by the care team's doctors and nurses; "no known
//! allergies" as a statement of its own, refused while an allergy is active and retired by
//! one; who is refused (and that the refusal is recorded); entries of another patient;
//! bad input named by field with nothing written; one audit event per read and change; and
//! the prescribing check reading the list (coded through the drug class, free text through
//! the safety net, inactive and entered-in-error entries never warning).
//!
//! Demo data: John Patient (registered with the allergy "Penicillin", now a free-text entry)
//! with Dr. Smith and the nurse on his care team.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::scheduling_api::{create_account, jane, john_record, sign_in};

pub(crate) fn created(response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

pub(crate) fn ok(response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// Asserts a problem with `status` whose `errors` name `field`.
pub(crate) fn field_problem(response: &TestResponse, status: StatusCode, field: &str) {
    let problem = response.problem(status);
    assert!(
        problem["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["field"] == field)),
        "expected an error naming {field}: {problem}"
    );
}

/// The audit events matching `filter` (read as the administrator).
pub(crate) async fn events(
    app: &TestApp,
    filter: carevault_store::audit::AuditFilter,
) -> Vec<carevault_service::audit_log::AuditEntry> {
    let admin = app.actor("admin").await;
    app.services
        .audit_events(&admin, filter, 0, 500)
        .await
        .expect("the audit log")
        .entries
}

/// Events of `resource_type` with `action` (and `outcome`, if given).
pub(crate) async fn events_of(
    app: &TestApp,
    resource_type: &str,
    action: &str,
    resource_id: Option<&str>,
) -> Vec<carevault_service::audit_log::AuditEntry> {
    events(
        app,
        carevault_store::audit::AuditFilter {
            resource_type: Some(resource_type.into()),
            action: Some(action.into()),
            resource_id: resource_id.map(str::to_owned),
            ..Default::default()
        },
    )
    .await
}

fn allergies_path(patient: &str) -> String {
    format!("/api/v1/patients/{patient}/allergies")
}

async fn list(client: &mut Client<'_>, patient: &str) -> Value {
    ok(&client.get(&allergies_path(patient)).await)
}

async fn record(client: &mut Client<'_>, patient: &str, body: Value) -> Value {
    created(&client.post_json(&allergies_path(patient), &body).await)
}

async fn set_status(client: &mut Client<'_>, entry: &str, body: Value) -> TestResponse {
    client
        .post_json(&format!("/api/v1/allergies/{entry}/status"), &body)
        .await
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// A patient registered by reception, with Dr. Smith and the nurse on the care team.
pub(crate) async fn cared_for_patient(app: &TestApp, family: &str) -> String {
    let patient = crate::scheduling_api::new_patient(app, "Alex", family).await;
    let admin = app.actor("admin").await;
    for member in ["drsmith", "nurse"] {
        app.services
            .assign_care_team_member(&admin, patient.parse().expect("an id"), member)
            .await
            .expect("on the care team");
    }
    patient
}

async fn allergies_are_recorded_listed_and_changed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let mut nurse = app.api_client("nurse").await;

    // The allergy typed in at registration is a free-text entry of the list.
    let before = list(&mut doctor, &john).await;
    assert_eq!(before["statement"], "allergies", "{before}");
    assert_eq!(before["summary"], "Penicillin");
    assert_eq!(before["may_record"], true);
    let penicillin = &before["active"][0];
    assert_eq!(penicillin["substance"], "Penicillin");
    assert_eq!(penicillin["free_text"], true);
    assert_eq!(penicillin["transcribed"], true);
    assert!(penicillin.get("code").is_none(), "{penicillin}");

    // The nurse records a coded allergy.
    let latex = record(
        &mut nurse,
        &john,
        json!({"substance": "latex", "reaction": "hives", "severity": "moderate"}),
    )
    .await;
    assert_eq!(latex["substance"], "Latex");
    assert_eq!(latex["code"], "latex");
    assert_eq!(latex["substance_kind"], "environmental");
    assert_eq!(latex["free_text"], false);
    assert_eq!(latex["severity"], "moderate");
    assert_eq!(latex["status"], "active");
    assert_eq!(latex["recorded_by"], "Nadia Nurse");
    // The same coded substance twice while active: refused, nothing written.
    field_problem(
        &nurse
            .post_json(&allergies_path(&john), &json!({"substance": "latex"}))
            .await,
        StatusCode::CONFLICT,
        "substance",
    );
    // A flagged free-text entry.
    let kiwi = record(
        &mut doctor,
        &john,
        json!({"substance": "Kiwi fruit", "free_text": true, "severity": "mild"}),
    )
    .await;
    assert_eq!(kiwi["free_text"], true);

    let now = list(&mut doctor, &john).await;
    assert_eq!(now["active"].as_array().map(Vec::len), Some(3), "{now}");
    assert_eq!(
        now["summary"],
        "Penicillin; Latex — hives (moderate); Kiwi fruit (mild)"
    );
    // The patient record's `allergies` is that line, read-only.
    let record_json = ok(&doctor.get(&format!("/api/v1/patients/{john}")).await);
    assert_eq!(record_json["allergies"], now["summary"]);

    // The patient reads their own list, and may not write it.
    let mut patient = app.api_client("john").await;
    let own = list(&mut patient, &john).await;
    assert_eq!(own["may_record"], false);
    assert_eq!(own["active"].as_array().map(Vec::len), Some(3));
    patient
        .post_json(&allergies_path(&john), &json!({"substance": "egg"}))
        .await
        .problem(StatusCode::FORBIDDEN);

    // Retired with a reason; listed in the history.
    let retired = ok(&set_status(
        &mut doctor,
        &id(&latex),
        json!({"status": "inactive", "reason": "Tolerated latex gloves in clinic"}),
    )
    .await);
    assert_eq!(retired["status"], "inactive");
    assert_eq!(retired["status_reason"], "Tolerated latex gloves in clinic");
    assert_eq!(retired["updated_by"], "Dr. Sarah Smith");
    let after = list(&mut doctor, &john).await;
    assert_eq!(after["active"].as_array().map(Vec::len), Some(2));
    assert_eq!(after["history"][0]["id"], latex["id"]);
    // The graph: already inactive, and entered in error is final.
    field_problem(
        &set_status(&mut doctor, &id(&latex), json!({"status": "inactive"})).await,
        StatusCode::CONFLICT,
        "status",
    );
    ok(&set_status(
        &mut nurse,
        &id(&kiwi),
        json!({"status": "entered_in_error", "reason": "Recorded on the wrong patient"}),
    )
    .await);
    field_problem(
        &set_status(&mut nurse, &id(&kiwi), json!({"status": "active"})).await,
        StatusCode::CONFLICT,
        "status",
    );
    // While retired, latex may be recorded again; then the old entry cannot come back.
    let second_latex = record(&mut nurse, &john, json!({"substance": "latex"})).await;
    field_problem(
        &set_status(&mut nurse, &id(&latex), json!({"status": "active"})).await,
        StatusCode::CONFLICT,
        "status",
    );
    ok(&set_status(
        &mut nurse,
        &id(&second_latex),
        json!({"status": "entered_in_error", "reason": "Recorded on the wrong patient"}),
    )
    .await);
    // Reactivated.
    let again = ok(&set_status(&mut nurse, &id(&latex), json!({"status": "active"})).await);
    assert_eq!(again["status"], "active");

    // One event per read and change, with the patient's pseudonym and no clinical word.
    let listed = events_of(&app, "allergy", "listed", Some(&john)).await;
    assert_eq!(listed.len(), 4, "four list reads");
    assert!(listed.iter().all(|e| e.patient_pseudonym.is_some()));
    let creates = events_of(&app, "allergy", "create", Some(&id(&latex))).await;
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].actor_role.as_deref(), Some("nurse"));
    let changes = events_of(&app, "allergy", "status_changed", Some(&id(&latex))).await;
    let reasons: Vec<_> = changes.iter().filter_map(|e| e.reason.clone()).collect();
    assert_eq!(reasons, ["inactive → active", "active → inactive"]);
    let everything = events(
        &app,
        carevault_store::audit::AuditFilter {
            resource_type: Some("allergy".into()),
            ..Default::default()
        },
    )
    .await;
    let dump = format!("{everything:?}");
    for word in ["Latex", "latex", "hives", "Kiwi", "Penicillin", "gloves"] {
        assert!(!dump.contains(word), "{word} in the audit trail");
    }
}

async fn bad_input_is_named_and_nothing_is_written(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut nurse = app.api_client("nurse").await;
    let path = allergies_path(&john);
    let entry = id(&list(&mut nurse, &john).await["active"][0]);
    let creates_before = events_of(&app, "allergy", "create", None).await.len();

    let cases = [
        (json!({"substance": "kiwi fruit"}), "substance"),
        (json!({"substance": ""}), "substance"),
        (json!({"substance": "x", "free_text": true}), "substance"),
        (
            json!({"substance": "egg", "reaction": "r".repeat(201)}),
            "reaction",
        ),
        (
            json!({"substance": "egg", "severity": "deadly"}),
            "severity",
        ),
        (
            json!({"substance": "egg", "status": "entered_in_error"}),
            "status",
        ),
        (json!({"substance": "egg", "colour": "red"}), "colour"),
        (json!({"substance": 7}), "substance"),
        (
            json!({"no_known_allergies": true, "substance": "egg"}),
            "no_known_allergies",
        ),
    ];
    for (body, field) in cases {
        field_problem(
            &nurse.post_json(&path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    field_problem(
        &set_status(&mut nurse, &entry, json!({"status": "gone"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status",
    );
    field_problem(
        &set_status(
            &mut nurse,
            &entry,
            json!({"status": "inactive", "reason": "r".repeat(501)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason",
    );
    // Not JSON.
    let response = nurse
        .send(
            nurse
                .request(axum::http::Method::POST, &path)
                .header("content-type", "text/plain")
                .body(axum::body::Body::from("egg"))
                .expect("a request"),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Nothing was written.
    let after = list(&mut nurse, &john).await;
    assert_eq!(after["active"].as_array().map(Vec::len), Some(1), "{after}");
    assert_eq!(after["active"][0]["status"], "active");
    assert!(after["history"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(
        events_of(&app, "allergy", "create", None).await.len(),
        creates_before
    );
    assert!(
        events_of(&app, "allergy", "status_changed", None)
            .await
            .is_empty()
    );
}

async fn no_known_allergies_is_a_statement_of_its_own(backend: Backend) {
    let app = TestApp::new(backend).await;
    let patient = cared_for_patient(&app, "Nkatest").await;
    let mut doctor = app.api_client("drsmith").await;
    let mut nurse = app.api_client("nurse").await;

    // Nobody asked yet: not recorded, and not "none known".
    let empty = list(&mut doctor, &patient).await;
    assert_eq!(empty["statement"], "not_recorded");
    assert!(empty["summary"].is_null());
    let record_json = ok(&doctor.get(&format!("/api/v1/patients/{patient}")).await);
    assert!(record_json["allergies"].is_null(), "{record_json}");

    let first = record(&mut nurse, &patient, json!({"no_known_allergies": true})).await;
    assert_eq!(first["entry"], "no_known_allergies");
    let stated = list(&mut doctor, &patient).await;
    assert_eq!(stated["statement"], "no_known_allergies");
    assert_eq!(stated["summary"], "No known allergies");
    assert_eq!(stated["no_known_allergies"]["id"], first["id"]);
    assert_eq!(
        ok(&doctor.get(&format!("/api/v1/patients/{patient}")).await)["allergies"],
        "No known allergies"
    );

    // Asked again: the new statement replaces the old one.
    let second = record(&mut doctor, &patient, json!({"no_known_allergies": true})).await;
    let replaced = list(&mut doctor, &patient).await;
    assert_eq!(replaced["no_known_allergies"]["id"], second["id"]);
    assert_eq!(replaced["history"][0]["id"], first["id"]);
    assert_eq!(replaced["history"][0]["status"], "inactive");

    // An allergy retires the statement, in the same change.
    let penicillins = record(
        &mut doctor,
        &patient,
        json!({"substance": "penicillins", "reaction": "anaphylaxis", "severity": "severe"}),
    )
    .await;
    let with_allergy = list(&mut doctor, &patient).await;
    assert_eq!(with_allergy["statement"], "allergies");
    assert!(with_allergy.get("no_known_allergies").is_none());
    assert!(
        with_allergy["history"]
            .as_array()
            .expect("history")
            .iter()
            .all(|e| e["entry"] == "no_known_allergies" && e["status"] == "inactive")
    );
    let create = events_of(&app, "allergy", "create", Some(&id(&penicillins))).await;
    assert_eq!(
        create[0].reason.as_deref(),
        Some("allergy recorded; \"no known allergies\" made inactive")
    );

    // "No known allergies" is refused while an allergy is active, and so is reviving one.
    let refused = doctor
        .post_json(
            &allergies_path(&patient),
            &json!({"no_known_allergies": true}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("inactive or entered in error")),
        "{refused}"
    );
    field_problem(
        &set_status(&mut doctor, &id(&second), json!({"status": "active"})).await,
        StatusCode::CONFLICT,
        "status",
    );
    assert_eq!(list(&mut doctor, &patient).await["statement"], "allergies");

    // Once the allergy is gone (entered in error), nothing is recorded again until asked.
    ok(&set_status(
        &mut doctor,
        &id(&penicillins),
        json!({"status": "entered_in_error", "reason": "Wrong patient"}),
    )
    .await);
    assert_eq!(
        list(&mut doctor, &patient).await["statement"],
        "not_recorded"
    );
    // Reviving the last statement is allowed now.
    ok(&set_status(&mut nurse, &id(&second), json!({"status": "active"})).await);
    assert_eq!(
        list(&mut doctor, &patient).await["statement"],
        "no_known_allergies"
    );
    // And reactivating an allergy entry retires it again (not possible for one entered in
    // error: record a new one).
    record(&mut nurse, &patient, json!({"substance": "egg"})).await;
    assert_eq!(list(&mut doctor, &patient).await["statement"], "allergies");
}

async fn who_may_read_and_write_allergies(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let jane = jane(&app).await;
    let admin_actor = app.actor("admin").await;
    create_account(&app, &admin_actor, "drjones", "doctor").await;
    create_account(&app, &admin_actor, "nursejo", "nurse").await;
    // Dr. Jones looks after Jane only.
    app.services
        .assign_care_team_member(&admin_actor, jane.parse().expect("an id"), "drjones")
        .await
        .expect("on Jane's care team");
    let path = allergies_path(&john);
    let john_entry = id(&list(&mut app.api_client("drsmith").await, &john).await["active"][0]);
    let denied_before = events(
        &app,
        carevault_store::audit::AuditFilter {
            resource_type: Some("allergy".into()),
            outcome: Some("denied".into()),
            ..Default::default()
        },
    )
    .await
    .len();

    // Without a session: 401.
    let mut anonymous = app.anonymous();
    anonymous.get(&path).await.problem(StatusCode::UNAUTHORIZED);
    anonymous
        .post_json(&path, &json!({"substance": "egg"}))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    anonymous
        .post_json(
            &format!("/api/v1/allergies/{john_entry}/status"),
            &json!({"status": "inactive"}),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);

    // Reading: reception, pharmacists (for now), auditors and clinicians outside the care
    // team are refused; a patient reads only their own.
    for username in ["reception", "pharma", "auditor"] {
        let mut client = app.api_client(username).await;
        client.get(&path).await.problem(StatusCode::FORBIDDEN);
        client
            .post_json(&path, &json!({"substance": "egg"}))
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    let mut jones = sign_in(&app, "drjones").await;
    let mut jo = sign_in(&app, "nursejo").await;
    jones.get(&path).await.problem(StatusCode::FORBIDDEN);
    jo.get(&path).await.problem(StatusCode::FORBIDDEN);
    jones
        .post_json(&path, &json!({"substance": "egg"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    let mut jane_client = sign_in(&app, "jane").await;
    jane_client.get(&path).await.problem(StatusCode::FORBIDDEN);
    ok(&jane_client.get(&allergies_path(&jane)).await);
    // A made-up patient id: a patient is refused as for someone else's, staff get 404.
    let unknown = format!("/api/v1/patients/{}/allergies", uuid::Uuid::now_v7());
    jane_client
        .get(&unknown)
        .await
        .problem(StatusCode::FORBIDDEN);
    app.api_client("drsmith")
        .await
        .get(&unknown)
        .await
        .problem(StatusCode::NOT_FOUND);
    app.api_client("drsmith")
        .await
        .get("/api/v1/patients/not-an-id/allergies")
        .await
        .problem(StatusCode::NOT_FOUND);

    // Administrators read, and do not write clinical data.
    let mut admin = app.api_client("admin").await;
    let listed = list(&mut admin, &john).await;
    assert_eq!(listed["may_record"], false);
    admin
        .post_json(&path, &json!({"substance": "egg"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    admin
        .post_json(&path, &json!({"no_known_allergies": true}))
        .await
        .problem(StatusCode::FORBIDDEN);

    // Entry ids: a clinician of another patient cannot change John's entry through it, and
    // an unknown entry is 404.
    jones
        .post_json(
            &format!("/api/v1/allergies/{john_entry}/status"),
            &json!({"status": "entered_in_error"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    jane_client
        .post_json(
            &format!("/api/v1/allergies/{john_entry}/status"),
            &json!({"status": "inactive"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    admin
        .post_json(
            &format!("/api/v1/allergies/{john_entry}/status"),
            &json!({"status": "inactive"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    app.api_client("nurse")
        .await
        .post_json(
            &format!("/api/v1/allergies/{}/status", uuid::Uuid::now_v7()),
            &json!({"status": "inactive"}),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    // Still active.
    assert_eq!(
        list(&mut app.api_client("nurse").await, &john).await["active"][0]["status"],
        "active"
    );

    // Every refusal is on record (jane's refusals are about the patient record itself).
    let denied = events(
        &app,
        carevault_store::audit::AuditFilter {
            resource_type: Some("allergy".into()),
            outcome: Some("denied".into()),
            ..Default::default()
        },
    )
    .await;
    assert!(
        denied.len() >= denied_before + 13,
        "{} refusals recorded",
        denied.len() - denied_before
    );
    let roles: Vec<_> = denied.iter().filter_map(|e| e.actor_role.clone()).collect();
    for role in [
        "receptionist",
        "pharmacist",
        "auditor",
        "doctor",
        "nurse",
        "admin",
    ] {
        assert!(roles.iter().any(|r| r == role), "{role} not recorded");
    }
}

/// A draft encounter for `patient` by `doctor`.
pub(crate) async fn draft_encounter(doctor: &mut Client<'_>, patient: &str, code: &str) -> Value {
    created(
        &doctor
            .post_json(
                "/api/v1/encounters",
                &json!({
                    "patient_id": patient,
                    "kind": "consultation",
                    "chief_complaint": "Sore throat",
                    "diagnoses": [{"kind": "primary", "code": code}],
                }),
            )
            .await,
    )
}

fn prescription(encounter: &str, drug: &str) -> Value {
    json!({
        "encounter_id": encounter,
        "drug_name": drug,
        "dose": "500 mg",
        "route": "oral",
        "frequency": "three times daily",
        "duration_days": 7,
        "quantity": 21,
    })
}

async fn prescribing_reads_the_allergy_list(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let encounter = id(&draft_encounter(&mut doctor, &john, "J02.9").await);

    // The free-text entry "Penicillin" (from registration) catches amoxicillin.
    let warned = doctor
        .post_json(
            "/api/v1/prescriptions",
            &prescription(&encounter, "Amoxicillin"),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert_eq!(warned["warnings"][0]["kind"], "allergy");
    assert_eq!(
        warned["warnings"][0]["detail"],
        "Recorded allergy (free text): Penicillin (severity unknown). Amoxicillin is a penicillin."
    );

    // A coded drug class catches its members, named in the sentence.
    let cephalosporins = record(
        &mut doctor,
        &john,
        json!({"substance": "cephalosporins", "reaction": "anaphylaxis", "severity": "severe"}),
    )
    .await;
    let warned = doctor
        .post_json(
            "/api/v1/prescriptions",
            &prescription(&encounter, "Cefalexin 500 mg capsules"),
        )
        .await
        .problem(StatusCode::CONFLICT);
    let warnings = warned["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warned}");
    assert_eq!(
        warnings[0]["detail"],
        "Recorded allergy: Cephalosporins — anaphylaxis (severe). Cefalexin 500 mg capsules is a cephalosporin."
    );
    // An unrelated drug: no warning.
    created(
        &doctor
            .post_json(
                "/api/v1/prescriptions",
                &prescription(&encounter, "Paracetamol"),
            )
            .await,
    );

    // Entries no longer in force never warn.
    let penicillin = list(&mut doctor, &john).await["active"]
        .as_array()
        .expect("active")
        .iter()
        .find(|e| e["substance"] == "Penicillin")
        .map(id)
        .expect("the penicillin entry");
    ok(&set_status(
        &mut doctor,
        &penicillin,
        json!({"status": "inactive", "reason": "Negative penicillin challenge"}),
    )
    .await);
    ok(&set_status(
        &mut doctor,
        &id(&cephalosporins),
        json!({"status": "entered_in_error", "reason": "Recorded on the wrong patient"}),
    )
    .await);
    created(
        &doctor
            .post_json(
                "/api/v1/prescriptions",
                &prescription(&encounter, "Amoxicillin"),
            )
            .await,
    );
    created(
        &doctor
            .post_json(
                "/api/v1/prescriptions",
                &prescription(&encounter, "Cefalexin 500 mg capsules"),
            )
            .await,
    );
}

on_all_backends!(
    allergies_are_recorded_listed_and_changed,
    bad_input_is_named_and_nothing_is_written,
    no_known_allergies_is_a_statement_of_its_own,
    who_may_read_and_write_allergies,
    prescribing_reads_the_allergy_list,
);
