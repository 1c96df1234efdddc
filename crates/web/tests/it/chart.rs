//! The patient chart, `GET /api/v1/patients/{id}/chart` and `/patients/{id}`: full for the
//! care team, masked with no clinical section outside it (until the glass is broken),
//! reception without clinical sections, pharmacy with what dispensing needs, a patient on
//! nobody's chart but their own; exactly one audit event per chart read, naming the
//! sections; the banner on the page for every view.

use axum::http::StatusCode;
use carevault_store::audit::AuditFilter;
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::{create_account, id_of, john_record, sign_in};

const DRUG: &str = "Chartmarkqz-olol";

fn ok(response: &crate::harness::TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// Dr. Smith writes a signed encounter for John with a coded diagnosis, vitals (a fever)
/// and a prescription.
async fn john_has_a_history(doctor: &mut Client<'_>, john: &str) {
    let created = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({
                "patient_id": john,
                "kind": "consultation",
                "chief_complaint": "Cough and fever",
                "assessment": "Chest infection",
                "diagnoses": [{"kind": "primary", "code": "J22"}],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let encounter = id_of(&created.json());
    let vitals = doctor
        .post_json(
            "/api/v1/vitals",
            &json!({
                "patient_id": john,
                "encounter_id": encounter,
                "temperature_c": 38.6,
                "pulse_bpm": 104,
                "spo2_percent": 94,
            }),
        )
        .await;
    assert_eq!(vitals.status, StatusCode::CREATED, "{}", vitals.text());
    let prescribed = doctor
        .post_json(
            "/api/v1/prescriptions",
            &json!({
                "encounter_id": encounter,
                "drug_name": DRUG,
                "dose": "100 mg",
                "route": "oral",
                "frequency": "once daily",
                "duration_days": 7,
                "quantity": 7,
            }),
        )
        .await;
    assert_eq!(
        prescribed.status,
        StatusCode::CREATED,
        "{}",
        prescribed.text()
    );
    let signed = doctor
        .post_json(&format!("/api/v1/encounters/{encounter}/sign"), &json!({}))
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text());
}

/// How many audit events name the patient with `pseudonym`, whatever they record.
async fn events_about(app: &TestApp, pseudonym: &str) -> usize {
    let admin = app.actor("admin").await;
    app.services
        .audit_events(
            &admin,
            AuditFilter {
                patient_pseudonym: Some(pseudonym.to_owned()),
                ..Default::default()
            },
            0,
            1000,
        )
        .await
        .expect("the audit log")
        .entries
        .len()
}

/// The audit events about John recorded as reads with a chart reason.
async fn chart_reads(app: &TestApp, pseudonym: &str) -> Vec<String> {
    let admin = app.actor("admin").await;
    app.services
        .audit_events(
            &admin,
            AuditFilter {
                patient_pseudonym: Some(pseudonym.to_owned()),
                ..Default::default()
            },
            0,
            500,
        )
        .await
        .expect("the audit log")
        .entries
        .into_iter()
        .filter(|e| e.action == "read")
        .filter_map(|e| e.reason)
        .filter(|r| r.starts_with("chart:"))
        .collect()
}

fn sections(chart: &Value) -> Vec<String> {
    chart["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| s.as_str().expect("a name").to_owned())
        .collect()
}

async fn the_chart_follows_the_callers_view_and_is_read_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let path = format!("/api/v1/patients/{john}/chart");
    let mut doctor = app.api_client("drsmith").await;
    john_has_a_history(&mut doctor, &john).await;
    let pseudonym = app
        .services
        .get_patient(&app.actor("admin").await, john.parse().expect("an id"))
        .await
        .expect("john")
        .pseudonym;

    // The care team: everything clinical, no bills; one read, naming the sections.
    let before = chart_reads(&app, &pseudonym).await.len();
    let all_before = events_about(&app, &pseudonym).await;
    let chart = ok(&doctor.get(&path).await);
    assert_eq!(
        events_about(&app, &pseudonym).await,
        all_before + 1,
        "exactly one audit event per chart read, of any kind"
    );
    let reads = chart_reads(&app, &pseudonym).await;
    assert_eq!(reads.len(), before + 1, "that event is the chart read");
    assert_eq!(
        reads.last().map(String::as_str),
        Some(
            "chart: banner, demographics, allergies, problems, medications, vitals, encounters, \
             nursing, appointments, documents, care_team"
        )
    );
    assert_eq!(
        sections(&chart),
        [
            "demographics",
            "allergies",
            "problems",
            "medications",
            "vitals",
            "encounters",
            "nursing",
            "appointments",
            "documents",
            "care_team"
        ]
    );
    assert!(chart.get("bills").is_none(), "doctors do not see bills");
    assert_eq!(chart["banner"]["name"], "John Patient");
    assert_eq!(chart["banner"]["pseudonymised"], false);
    assert_eq!(chart["banner"]["date_of_birth"], "1978-04-12");
    assert!(chart["banner"]["mrn"].is_string());
    assert_ne!(chart["banner"]["allergy_status"], "not_shown");
    assert_eq!(chart["medications"][0]["drug_name"], DRUG);
    assert_eq!(chart["vitals"][0]["values"]["temperature_c"], "38.6");
    assert_eq!(chart["encounters"][0]["status"], "signed");
    assert_eq!(chart["encounters"][0]["diagnoses"][0]["code"], "J22");
    assert_eq!(
        chart["care_team"]["members"].as_array().map(Vec::len),
        Some(2)
    );

    // A doctor outside the care team: the masked details and nothing clinical, told
    // truthfully that there is a care team.
    let admin = app.actor("admin").await;
    create_account(&app, &admin, "drjones", "doctor").await;
    let mut outsider = sign_in(&app, "drjones").await;
    let masked = ok(&outsider.get(&path).await);
    assert_eq!(sections(&masked), ["demographics"]);
    assert_eq!(masked["banner"]["pseudonymised"], true);
    assert_eq!(masked["banner"]["name"], pseudonym.as_str());
    assert_eq!(masked["banner"]["allergy_status"], "not_shown");
    assert!(
        masked["banner"]["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .any(|a| a["kind"] == "masked")
    );
    assert!(masked["banner"].get("mrn").is_none());
    assert!(masked["care_team"].get("members").is_none());
    assert_eq!(masked["care_team"]["member_count"], 2);
    let text = masked.to_string();
    for secret in [DRUG, "J22", "Chest infection", "38.6", "John", "1978-04-12"] {
        assert!(
            !text.contains(secret),
            "the masked chart shows {secret}: {text}"
        );
    }
    assert_eq!(chart_reads(&app, &pseudonym).await.len(), before + 2);

    // Breaking the glass opens the full chart, with the alert in the banner.
    let granted = outsider
        .post_json(
            "/api/v1/break-glass",
            &json!({
                "patient_id": john,
                "reason": "Collapsed in the emergency department; care team unreachable",
            }),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text());
    let opened = ok(&outsider.get(&path).await);
    assert!(sections(&opened).contains(&"medications".to_owned()));
    assert_eq!(opened["medications"][0]["drug_name"], DRUG);
    assert!(
        opened["banner"]["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .any(|a| a["kind"] == "emergency_access" && a["until"].is_string())
    );

    // Reception: who, appointments, bills and the care team; no clinical section.
    let mut reception = app.api_client("reception").await;
    let desk = ok(&reception.get(&path).await);
    assert_eq!(
        sections(&desk),
        ["demographics", "appointments", "bills", "care_team"]
    );
    assert_eq!(desk["banner"]["allergy_status"], "not_shown");
    assert!(!desk.to_string().contains(DRUG));
    assert!(!desk.to_string().contains("J22"));

    // Pharmacy: who, allergies and medications.
    let mut pharmacist = app.api_client("pharma").await;
    let dispensing = ok(&pharmacist.get(&path).await);
    assert_eq!(
        sections(&dispensing),
        ["demographics", "allergies", "medications"]
    );
    assert_eq!(dispensing["banner"]["name"], "John Patient");
    assert!(dispensing["banner"]["mrn"].is_string());
    assert!(!dispensing.to_string().contains("J22"));

    // The auditor: the pseudonymised details only.
    let mut auditor = app.api_client("auditor").await;
    let audited = ok(&auditor.get(&path).await);
    assert_eq!(sections(&audited), ["demographics"]);
    assert_eq!(audited["banner"]["pseudonymised"], true);

    // The patient: their own chart in full; someone else's is refused and recorded, whether
    // it exists or not.
    let mut john_client = app.api_client("john").await;
    let own = ok(&john_client.get(&path).await);
    assert!(sections(&own).contains(&"bills".to_owned()));
    let other = crate::scheduling_api::new_patient(&app, "Other", "Chartpatient").await;
    let refused = john_client
        .get(&format!("/api/v1/patients/{other}/chart"))
        .await;
    refused.problem(StatusCode::FORBIDDEN);
    let missing = john_client
        .get("/api/v1/patients/01234567-89ab-7def-8123-456789abcdef/chart")
        .await;
    missing.problem(StatusCode::FORBIDDEN);

    // Staff: an unknown id is 404; no session is 401.
    let missing = doctor
        .get("/api/v1/patients/01234567-89ab-7def-8123-456789abcdef/chart")
        .await;
    missing.problem(StatusCode::NOT_FOUND);
    doctor
        .get("/api/v1/patients/not-an-id/chart")
        .await
        .problem(StatusCode::NOT_FOUND);
    app.anonymous()
        .get(&path)
        .await
        .problem(StatusCode::UNAUTHORIZED);
}

on_all_backends!(the_chart_follows_the_callers_view_and_is_read_once);

/// The chart page: the banner with the patient's allergy line for the care team, the
/// masked banner for an outsider, and the abnormal vitals flagged.
async fn the_chart_page_shows_the_banner_and_flags_abnormal_vitals(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut api = app.api_client("drsmith").await;
    john_has_a_history(&mut api, &john).await;

    let mut doctor = app.browser("drsmith").await;
    let page = doctor.get(&format!("/patients/{john}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(
        html.contains(&format!("data-patient-banner=\"{john}\"")),
        "{html}"
    );
    assert!(html.contains("<h1 class=\"banner-name\">John Patient</h1>"));
    assert!(html.contains("data-allergies="));
    assert!(
        html.contains("data-flag=\"high\""),
        "the fever is flagged: {html}"
    );
    assert!(
        html.contains("data-flag=\"low\""),
        "the saturation is flagged"
    );
    assert!(
        html.contains("36.1–37.9 °C"),
        "the reference range is shown"
    );
    assert!(html.contains(DRUG));
    assert!(html.contains("data-section=\"problems\""));

    let admin = app.actor("admin").await;
    create_account(&app, &admin, "drjones", "doctor").await;
    let mut outsider = app.anonymous();
    let signed_in = outsider
        .sign_in_through_form("drjones", crate::scheduling_api::PASSWORD)
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    outsider.refresh_form_token().await;
    let html = outsider.get(&format!("/patients/{john}")).await.text();
    assert!(html.contains(&format!("data-patient-banner=\"{john}\"")));
    assert!(html.contains("data-alert=\"masked\""));
    assert!(
        !html.contains("data-allergies="),
        "no allergy line for a masked viewer"
    );
    assert!(!html.contains(DRUG));
    assert!(html.contains("data-care-team=\"withheld\""));
    assert!(!html.contains("Nobody is on this patient's care team"));
    assert!(html.contains("id=\"break-glass\""));
}

on_all_backends!(the_chart_page_shows_the_banner_and_flags_abnormal_vitals);
