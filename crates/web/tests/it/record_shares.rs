//! Patient-controlled sharing: a patient shares their record with a doctor outside the care
//! team, who then sees it in full; revoking (or expiry) ends that at once; nobody but the
//! patient manages the shares.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::{create_account, id_of, jane, john_record, sign_in};

async fn a_share_opens_the_record_until_revoked_or_expired(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let john_id = john_record(&app).await;
    let jones = create_account(&app, &admin, "drjones", "doctor").await;
    let mut doctor = sign_in(&app, "drjones").await;
    let record = format!("/api/v1/patients/{john_id}");
    let masked = doctor.get(&record).await.json();
    assert_ne!(masked["given_name"], "John", "{masked}");
    assert!(masked.get("allergies").is_none(), "{masked}");

    let mut john = app.api_client("john").await;
    let shares = format!("{record}/shares");
    let granted = john
        .post_json(&shares, &json!({"doctor_id": jones, "days": 7}))
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text());
    let share = granted.json();
    assert_eq!(share["active"], true);
    assert_eq!(share["doctor"], "Dr. drjones");
    let share_id = id_of(&share);

    let full = doctor.get(&record).await.json();
    assert_eq!(full["given_name"], "John", "{full}");
    assert_eq!(full["allergies"], "Penicillin", "{full}");
    // The registry's list agrees with the record.
    let list = doctor.get("/api/v1/patients?per_page=100").await.json();
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == john_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(listed["given_name"], "John", "{listed}");
    // A second share with the same doctor while one is in force is refused.
    let again = john.post_json(&shares, &json!({"doctor_id": jones})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());

    // Revoked: the doctor's very next request is masked again.
    let revoke = john
        .send(
            john.request(Method::DELETE, &format!("{shares}/{share_id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(revoke.status, StatusCode::OK, "{}", revoke.text());
    assert_eq!(revoke.json()["active"], false);
    let after = doctor.get(&record).await.json();
    assert_ne!(after["given_name"], "John", "{after}");
    let twice = john
        .send(
            john.request(Method::DELETE, &format!("{shares}/{share_id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text());

    // A one-day share ends by itself.
    let day = john
        .post_json(&shares, &json!({"doctor_id": jones, "days": "1"}))
        .await;
    assert_eq!(day.status, StatusCode::CREATED, "{}", day.text());
    assert_eq!(doctor.get(&record).await.json()["given_name"], "John");
    app.clock.advance(Duration::from_secs(25 * 3600));
    let mut doctor = sign_in(&app, "drjones").await;
    assert_ne!(doctor.get(&record).await.json()["given_name"], "John");

    // Both the grants and the revocation are on record.
    let mut auditor = app.api_client("auditor").await;
    let events = auditor
        .get("/api/v1/audit/events?resource_type=record_share&limit=50")
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text());
    let text = events.text();
    assert!(text.contains("record share revoked"), "{text}");
    assert!(
        text.contains("record shared with a doctor for 7 days"),
        "{text}"
    );
}

on_all_backends!(a_share_opens_the_record_until_revoked_or_expired);

async fn only_the_patient_manages_their_shares(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let john_id = john_record(&app).await;
    let jane_id = jane(&app).await;
    let jones = create_account(&app, &admin, "drjones", "doctor").await;
    let nurse_id = {
        let nurse = app.actor("nurse").await;
        nurse.user_id().unwrap().to_string()
    };
    let shares = format!("/api/v1/patients/{john_id}/shares");

    // Unauthenticated.
    let anonymous = app.anonymous().get(&shares).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // Another patient: refused on John's record, whether listing, granting or revoking, and
    // the same for an id that does not exist (no existence oracle).
    let mut jane_client = sign_in(&app, "jane").await;
    for path in [
        shares.clone(),
        "/api/v1/patients/0199d1a0-0000-7000-8000-000000000000/shares".to_owned(),
    ] {
        assert_eq!(jane_client.get(&path).await.status, StatusCode::FORBIDDEN);
        let post = jane_client
            .post_json(&path, &json!({"doctor_id": jones}))
            .await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{}", post.text());
    }
    let mut john = app.api_client("john").await;
    let share = john
        .post_json(&shares, &json!({"doctor_id": jones}))
        .await
        .json();
    let share_id = id_of(&share);
    let revoke_path = format!("{shares}/{share_id}");
    let by_jane = jane_client
        .send(
            jane_client
                .request(Method::DELETE, &revoke_path)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(by_jane.status, StatusCode::FORBIDDEN);
    // Jane's own share list does not show John's share.
    let hers = jane_client
        .get(&format!("/api/v1/patients/{jane_id}/shares"))
        .await;
    assert_eq!(hers.status, StatusCode::OK, "{}", hers.text());
    assert_eq!(hers.json()["items"].as_array().unwrap().len(), 0);

    // Staff: only administrators may list; nobody but the patient grants or revokes.
    for username in ["drsmith", "nurse", "reception", "pharma", "auditor"] {
        let mut client = app.api_client(username).await;
        assert_eq!(
            client.get(&shares).await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
    }
    let mut admin_client = app.api_client("admin").await;
    let listed = admin_client.get(&shares).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert_eq!(listed.json()["items"].as_array().unwrap().len(), 1);
    let by_admin = admin_client
        .post_json(&shares, &json!({"doctor_id": jones}))
        .await;
    assert_eq!(by_admin.status, StatusCode::FORBIDDEN);

    // Bad input is named.
    for (body, field) in [
        (json!({"doctor_id": nurse_id}), "doctor_id"),
        (json!({"doctor_id": "not-an-id"}), "doctor_id"),
        (json!({"doctor_id": ""}), "doctor_id"),
        (json!({"doctor_id": jones, "days": 0}), "days"),
        (json!({"doctor_id": jones, "days": 400}), "days"),
        (json!({"doctor_id": jones, "days": "soon"}), "days"),
    ] {
        let response = john.post_json(&shares, &body).await;
        let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{body} → {problem}"
        );
    }
    let unknown = john
        .send(
            john.request(Method::DELETE, &format!("{shares}/no-such-share"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = john.get("/api/v1/patients/not-an-id/shares").await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
}

on_all_backends!(only_the_patient_manages_their_shares);

async fn the_sharing_page_shares_and_stops(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let john_id = john_record(&app).await;
    let jones = create_account(&app, &admin, "drjones", "doctor").await;

    let anonymous = app.anonymous().get("/my/sharing").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert!(
        anonymous
            .location()
            .is_some_and(|l| l.starts_with("/login"))
    );
    for username in ["drsmith", "reception", "admin"] {
        let mut staff = app.browser(username).await;
        assert_eq!(
            staff.get("/my/sharing").await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
    }

    let mut john = app.browser("john").await;
    let page = john.get("/my/sharing").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("Dr. drjones"), "the doctors are offered");
    assert!(html.contains("not shared with anyone"));

    // No doctor chosen: the message is next to the field and nothing is written.
    let refused = john
        .post_form("/my/sharing", &[("doctor_id", ""), ("days", "7")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("id=\"doctor_id-error\""));
    let none = app
        .services
        .record_shares(&admin, john_id.parse().unwrap())
        .await
        .unwrap();
    assert!(none.is_empty());

    let shared = john
        .post_form("/my/sharing", &[("doctor_id", &jones), ("days", "7")])
        .await;
    assert_eq!(shared.status, StatusCode::SEE_OTHER, "{}", shared.text());
    let html = john.get("/my/sharing").await.text();
    assert!(html.contains("Stop sharing"), "{html}");
    let mut doctor = sign_in(&app, "drjones").await;
    let record = format!("/api/v1/patients/{john_id}");
    assert_eq!(doctor.get(&record).await.json()["given_name"], "John");

    let shares = app
        .services
        .record_shares(&admin, john_id.parse().unwrap())
        .await
        .unwrap();
    let stopped = john
        .post_form(&format!("/my/sharing/{}/revoke", shares[0].id), &[])
        .await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER, "{}", stopped.text());
    assert!(john.get("/my/sharing").await.text().contains("stopped"));
    assert_ne!(doctor.get(&record).await.json()["given_name"], "John");

    // Another patient cannot stop John's share (it is not theirs to find).
    jane(&app).await;
    let again = john
        .post_form("/my/sharing", &[("doctor_id", &jones), ("days", "7")])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let shares = app
        .services
        .record_shares(&admin, john_id.parse().unwrap())
        .await
        .unwrap();
    let active = shares.iter().find(|s| s.active).unwrap();
    let mut jane_browser = app.anonymous();
    let signed_in = jane_browser
        .sign_in_through_form("jane", crate::scheduling_api::PASSWORD)
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    jane_browser.refresh_form_token().await;
    let by_jane = jane_browser
        .post_form(&format!("/my/sharing/{}/revoke", active.id), &[])
        .await;
    assert_eq!(by_jane.status, StatusCode::NOT_FOUND, "{}", by_jane.text());
    assert_eq!(doctor.get(&record).await.json()["given_name"], "John");
}

on_all_backends!(the_sharing_page_shares_and_stops);
