//! Vitals shown as a table with flags wherever they are shown: every abnormal value carries
//! `data-flag="high|low"`, a visible `H`/`L` and words for screen readers, with the reference
//! range in the heading; on the patient's clinical record page (with trend sparklines), the
//! medical record summary (and its PDF as "(high)" / "(low)" text), the portal's own page,
//! and the JSON API.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::john_record;

async fn abnormal_vitals_are_flagged_on_every_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut nurse = app.api_client("nurse").await;
    for (body, minutes) in [
        (
            json!({"patient_id": john, "temperature_c": 36.8, "pulse_bpm": 72, "spo2_percent": 98}),
            0,
        ),
        (
            json!({"patient_id": john, "temperature_c": "38.6", "pulse_bpm": 58,
                   "spo2_percent": 94, "weight_kg": 80, "height_cm": 180}),
            10,
        ),
    ] {
        app.clock
            .advance(std::time::Duration::from_secs(minutes * 60));
        let response = nurse.post_json("/api/v1/vitals", &body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    }

    // The API: flags and ranges per field.
    let list = nurse
        .get(&format!("/api/v1/vitals?patient_id={john}"))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let latest = &list.json()["items"][0];
    assert_eq!(latest["flags"]["temperature_c"], "high");
    assert_eq!(latest["flags"]["pulse_bpm"], "low");
    assert_eq!(latest["flags"]["spo2_percent"], "low");
    assert!(latest["flags"].get("weight_kg").is_none());
    assert_eq!(latest["reference_ranges"]["spo2_percent"], "≥ 95 %");
    assert_eq!(latest["bmi"], "24.7");

    let check = |html: &str, page: &str| {
        assert!(
            html.contains("data-field=\"temperature_c\" data-flag=\"high\""),
            "{page}: {html}"
        );
        assert!(
            html.contains("data-field=\"pulse_bpm\" data-flag=\"low\""),
            "{page}"
        );
        assert!(
            html.contains("data-field=\"spo2_percent\" data-flag=\"low\""),
            "{page}"
        );
        assert!(html.contains("aria-hidden=\"true\">H</span>"), "{page}");
        assert!(html.contains("aria-hidden=\"true\">L</span>"), "{page}");
        assert!(
            html.contains("(low, normal range 60–100 beats per minute)"),
            "{page}"
        );
        assert!(
            html.contains(
                "<span class=\"range\" title=\"Adult reference range: 36.1–37.9 °C\">36.1–37.9</span>"
            ),
            "{page}"
        );
        // The earlier, normal reading is not flagged.
        assert!(
            html.contains("<span class=\"vital-value\">36.8</span></td>"),
            "{page}"
        );
        assert!(html.contains("24.7 (normal)"), "{page}");
    };

    let mut doctor = app.browser("drsmith").await;
    let page = doctor.get(&format!("/patients/{john}/clinical")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    check(&html, "clinical record");
    assert!(html.contains("data-sparkline=\"temperature_c\""), "{html}");
    assert!(html.contains("data-value=\"38.6\" data-flag=\"high\""));

    let page = doctor.get(&format!("/patients/{john}/summary")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    check(&page.text(), "summary");

    let pdf = doctor.get(&format!("/patients/{john}/summary.pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("summary.pdf");
    std::fs::write(&file, &pdf.body).expect("written");
    if let Some(out) = crate::encounters::poppler("pdftotext", &[&file.to_string_lossy(), "-"]) {
        // Lines wrap: compare with the breaks as spaces.
        let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        assert!(
            text.contains("Temperature 38.6 °C (high) [normal 36.1–37.9 °C]"),
            "{text}"
        );
        assert!(text.contains("Pulse 58 /min (low)"), "{text}");
        assert!(text.contains("SpO2 94 % (low) [normal >= 95 %]"), "{text}");
        assert!(
            text.contains("Temperature 36.8 °C; Pulse 72 /min"),
            "{text}"
        );
    }

    let mut patient = app.browser("john").await;
    let page = patient.get("/my/encounters").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    check(&page.text(), "portal");

    // A pharmacist's clinical page shows prescriptions only, no vitals.
    let mut pharmacist = app.browser("pharma").await;
    let page = pharmacist.get(&format!("/patients/{john}/clinical")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains("data-vitals-table"));
}

on_all_backends!(abnormal_vitals_are_flagged_on_every_page);
