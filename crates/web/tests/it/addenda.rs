//! Addenda to signed encounters: doctors and nurses of the care team add them, the signed
//! encounter stays exactly as it was (texts, version, no amendment), a draft takes none
//! (409), outsiders are refused and recorded, bad input is named; the form post redirects
//! back with a notice or shows the form again with the text kept; the patient's own view
//! does not include them.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Backend, Client, TestApp};
use crate::nursing::events;
use crate::on_all_backends;
use crate::scheduling_api::{create_account, id_of, john_record, sign_in};

async fn signed_encounter(doctor: &mut Client<'_>, patient: &str) -> String {
    let draft = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({
                "patient_id": patient,
                "chief_complaint": "Cough for a week",
                "plan": "Chest X-ray",
                "diagnoses": [{"kind": "primary", "code": "R05"}],
            }),
        )
        .await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.text());
    let id = id_of(&draft.json());
    let signed = doctor
        .post_json(&format!("/api/v1/encounters/{id}/sign"), &json!({}))
        .await;
    assert!(signed.status.is_success(), "{}", signed.text());
    id
}

async fn addenda_are_added_to_signed_encounters_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let mut nurse = app.api_client("nurse").await;
    let encounter = signed_encounter(&mut doctor, &john).await;
    let before = doctor.get(&format!("/api/v1/encounters/{encounter}")).await;
    assert_eq!(before.status, StatusCode::OK);
    let before = before.json();
    let path = format!("/api/v1/encounters/{encounter}/addenda");

    // The doctor and the nurse of the care team.
    let by_doctor = doctor
        .post_json(&path, &json!({"text": "X-ray: no consolidation."}))
        .await;
    assert_eq!(
        by_doctor.status,
        StatusCode::CREATED,
        "{}",
        by_doctor.text()
    );
    assert_eq!(by_doctor.json()["author_role"], "doctor");
    let by_nurse = nurse
        .post_json(
            &path,
            &json!({"text": "Qzaddendummarker patient phoned, feeling better."}),
        )
        .await;
    assert_eq!(by_nurse.status, StatusCode::CREATED, "{}", by_nurse.text());
    assert_eq!(by_nurse.json()["author"], "Nadia Nurse");

    // The original is unchanged; the addenda are their own list, not amendments.
    let after = doctor
        .get(&format!("/api/v1/encounters/{encounter}"))
        .await
        .json();
    for field in [
        "chief_complaint",
        "plan",
        "status",
        "signed_at",
        "updated_at",
        "diagnoses",
    ] {
        assert_eq!(before[field], after[field], "{field} changed");
    }
    assert_eq!(after["amendments"].as_array().map(Vec::len), Some(0));
    let addenda = after["addenda"].as_array().expect("addenda");
    assert_eq!(addenda.len(), 2);
    assert_eq!(addenda[0]["text"], "X-ray: no consolidation.");
    assert_eq!(addenda[1]["author_role"], "nurse");
    assert_eq!(after["may_add_addendum"], true);
    let created: Vec<_> = events(&app, "create", "encounter")
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("addendum"))
        .collect();
    assert_eq!(created.len(), 2, "one audit event per addendum");

    // The patient's own view leaves them out, like treatment notes.
    let own = app
        .api_client("john")
        .await
        .get(&format!("/api/v1/encounters/{encounter}"))
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
    assert_eq!(own.json()["addenda"].as_array().map(Vec::len), Some(0));

    // A draft takes none.
    let draft = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({"patient_id": john, "chief_complaint": "Follow-up"}),
        )
        .await;
    let draft = id_of(&draft.json());
    let problem = nurse
        .post_json(
            &format!("/api/v1/encounters/{draft}/addenda"),
            &json!({"text": "Too early."}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("draft"))
    );

    // Outsiders: a doctor outside the care team, a pharmacist, reception, the patient.
    let admin = app.actor("admin").await;
    create_account(&app, &admin, "drjones", "doctor").await;
    let mut outsider = sign_in(&app, "drjones").await;
    outsider
        .post_json(&path, &json!({"text": "Not mine to add."}))
        .await
        .problem(StatusCode::FORBIDDEN);
    for username in ["pharma", "reception", "john", "admin"] {
        app.api_client(username)
            .await
            .post_json(&path, &json!({"text": "Not mine to add."}))
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    let denied = events(&app, "access_denied", "encounter").await;
    assert!(denied.len() >= 5, "{denied:?}");

    // Bad input, and nothing more was written.
    let problem = nurse
        .post_json(&path, &json!({"text": ""}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "text");
    nurse
        .post_json(&path, &json!({"text": "x".repeat(2_001)}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    nurse
        .post_json("/api/v1/encounters/nope/addenda", &json!({"text": "x"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    nurse
        .post_json(
            "/api/v1/encounters/01900000-0000-7000-8000-000000000000/addenda",
            &json!({"text": "x"}),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    app.anonymous()
        .post_json(&path, &json!({"text": "x"}))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let after = doctor
        .get(&format!("/api/v1/encounters/{encounter}"))
        .await
        .json();
    assert_eq!(after["addenda"].as_array().map(Vec::len), Some(2));
}

on_all_backends!(addenda_are_added_to_signed_encounters_only);

async fn the_addendum_form_redirects_back_or_keeps_the_text(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let encounter = signed_encounter(&mut doctor, &john).await;
    let mut nurse = app.browser("nurse").await;
    let path = format!("/encounters/{encounter}/addenda");

    let refused = nurse.post_form(&path, &[("text", "   ")]).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text()
    );
    let html = refused.text();
    assert!(html.contains("id=\"addendum-text-error\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains(&format!("action=\"/encounters/{encounter}/addenda\"")));

    let added = nurse
        .post_form(&path, &[("text", "Spoke to the family.")])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    assert_eq!(
        added.location(),
        Some(format!("/encounters/{encounter}?notice=addendum-added#addenda").as_str())
    );
    // The signed encounter's page lists it under the record, with the form for the next one.
    let page = nurse.get(&format!("/encounters/{encounter}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains(&format!("data-addenda=\"{encounter}\"")),
        "{html}"
    );
    assert!(html.contains("Spoke to the family."), "{html}");
    assert!(html.contains("id=\"addendum-text\""), "{html}");

    // A draft: the refusal is shown, no form.
    let draft = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({"patient_id": john, "chief_complaint": "Follow-up"}),
        )
        .await;
    let draft = id_of(&draft.json());
    let refused = nurse
        .post_form(
            &format!("/encounters/{draft}/addenda"),
            &[("text", "Early")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    assert!(refused.text().contains("still a draft"));

    // Outsiders get the 403 page.
    let mut pharmacist = app.browser("pharma").await;
    assert_eq!(
        pharmacist.post_form(&path, &[("text", "x")]).await.status,
        StatusCode::FORBIDDEN
    );
}

on_all_backends!(the_addendum_form_redirects_back_or_keeps_the_text);
