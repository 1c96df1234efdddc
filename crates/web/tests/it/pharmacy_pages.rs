//! The pharmacy pages, through the browser-like clients: who may open them (sign-in
//! redirects, 403s for nurses, receptionists and patients), bad input shown next to its
//! field with nothing written, receiving stock and seeing it on `/pharmacy`, dispensing from
//! the queue, the low-stock alert on the dashboards, the stock report's value (page, CSV and
//! `/api/v1/stock`), and a prescription chosen from the formulary that refuses another drug.

use std::collections::HashMap;

use axum::http::StatusCode;
use carevault_service::encounters::EncounterInput;
use carevault_service::pharmacy::{DrugInput, DrugView};

use crate::harness::{Backend, TestApp, TestResponse};
use crate::on_all_backends;
use crate::pharmacy::{active_prescription, drug, in_days, receive};
use crate::scheduling_api::john_record;

fn assert_page(response: &TestResponse, status: StatusCode, what: &str) -> String {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    response.text()
}

fn assert_redirect(response: &TestResponse, to: &str, what: &str) {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{what}: {}",
        response.text()
    );
    assert!(
        response.location().is_some_and(|l| l.starts_with(to)),
        "{what}: {:?}",
        response.location()
    );
}

async fn new_drug(app: &TestApp, input: DrugInput) -> DrugView {
    let pharma = app.actor("pharma").await;
    app.services
        .create_drug(&pharma, input)
        .await
        .expect("a drug")
}

/// Units on hand of `drug`, through the service.
async fn on_hand(app: &TestApp, drug: &DrugView) -> u64 {
    let pharma = app.actor("pharma").await;
    app.services
        .stock_levels(&pharma, 90)
        .await
        .expect("levels")
        .into_iter()
        .find(|l| l.drug.id == drug.id)
        .map(|l| l.on_hand)
        .expect("the drug's level")
}

const GET_ROUTES: [&str; 6] = [
    "/pharmacy",
    "/pharmacy/drugs",
    "/pharmacy/receipts/new",
    "/pharmacy/dispensing",
    "/reports/stock",
    "/reports/stock.csv",
];

async fn pharmacy_pages_refuse_the_wrong_people(backend: Backend) {
    let app = TestApp::new(backend).await;
    let metformin = new_drug(&app, drug("Metformin")).await;
    let pharma = app.actor("pharma").await;
    let batch = receive(&app, &pharma, &metformin, "M-1", 200, 10).await;
    let prescription = active_prescription(&app, "Metformin", 10).await;
    let mut anonymous = app.anonymous();
    let mut paths: Vec<String> = GET_ROUTES.iter().map(|p| (*p).to_owned()).collect();
    paths.push(format!("/pharmacy/drugs/{}/edit", metformin.id));
    paths.push(format!("/pharmacy/batches/{batch}/adjust"));
    for path in &paths {
        let response = anonymous.get(path).await;
        assert_redirect(&response, "/login", path);
    }
    for user in ["nurse", "reception", "john"] {
        let mut client = app.browser(user).await;
        for path in &paths {
            let response = client.get(path).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{user} {path}");
        }
        let response = client
            .post_form(
                "/pharmacy/receipts/new",
                &[
                    ("drug_id", &metformin.id),
                    ("supplier", "Acme"),
                    ("batch_number", "X-1"),
                    ("expiry", &in_days(&app, 100)),
                    ("quantity", "5"),
                    ("unit_cost", "1.00"),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{user} receives");
        let response = client
            .post_form(
                &format!("/pharmacy/dispensing/{prescription}"),
                &[("drug_id", &metformin.id), ("quantity", "1")],
            )
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{user} dispenses");
        // The dashboard has no stock alert for them.
        let dashboard = client.get("/dashboard").await;
        assert!(!dashboard.text().contains("stock-alerts"), "{user}");
    }
    assert_eq!(on_hand(&app, &metformin).await, 10, "nothing was written");
    // Administrators manage stock but do not dispense.
    let mut admin = app.browser("admin").await;
    assert_page(&admin.get("/pharmacy").await, StatusCode::OK, "admin stock");
    assert_eq!(
        admin.get("/pharmacy/dispensing").await.status,
        StatusCode::FORBIDDEN
    );
    // The navigation offers the pharmacy to pharmacists and administrators only.
    let mut pharmacist = app.browser("pharma").await;
    assert!(
        pharmacist
            .get("/dashboard")
            .await
            .text()
            .contains("href=\"/pharmacy\"")
    );
    let mut nurse = app.browser("nurse").await;
    assert!(
        !nurse
            .get("/dashboard")
            .await
            .text()
            .contains("href=\"/pharmacy\"")
    );
}

async fn receiving_stock_checks_every_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let metformin = new_drug(&app, drug("Metformin")).await;
    let mut client = app.browser("pharma").await;
    let form = assert_page(
        &client.get("/pharmacy/receipts/new").await,
        StatusCode::OK,
        "the receipt form",
    );
    for field in [
        "drug_id",
        "supplier",
        "batch_number",
        "expiry",
        "quantity",
        "unit_cost",
    ] {
        assert!(
            form.contains(&format!("<label for=\"{field}\"")),
            "{field} is labelled"
        );
    }
    let future = in_days(&app, 120);
    let past = in_days(&app, 0);
    let good = [
        ("drug_id", metformin.id.as_str()),
        ("supplier", "Acme Pharma"),
        ("batch_number", "LOT-77"),
        ("expiry", future.as_str()),
        ("quantity", "40"),
        ("unit_cost", "0.25"),
    ];
    let with = |field: &str, value: &'static str| -> Vec<(String, String)> {
        good.iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    if *k == field { value } else { *v }.to_owned(),
                )
            })
            .collect()
    };
    let cases: Vec<(Vec<(String, String)>, &str)> = vec![
        (with("quantity", "-5"), "quantity"),
        (with("quantity", "ten"), "quantity"),
        (with("unit_cost", "1,5x"), "unit_cost"),
        (with("drug_id", "no-such-drug"), "drug_id"),
        (with("expiry", "2020-01-01"), "expiry"),
        (with("expiry", "not a date"), "expiry"),
        (
            good.iter()
                .map(|(k, v)| {
                    (
                        (*k).to_owned(),
                        if *k == "expiry" { past.as_str() } else { v }.to_owned(),
                    )
                })
                .collect(),
            "expiry",
        ),
    ];
    for (fields, bad) in cases {
        let borrowed: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = client.post_form("/pharmacy/receipts/new", &borrowed).await;
        let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, bad);
        assert!(
            page.contains(&format!("id=\"{bad}-error\"")),
            "{bad}: the message is next to the field"
        );
        assert!(page.contains("LOT-77"), "{bad}: the typed values are kept");
    }
    assert_eq!(on_hand(&app, &metformin).await, 0, "nothing was received");

    let response = client.post_form("/pharmacy/receipts/new", &good).await;
    assert_redirect(&response, "/pharmacy?notice=stock-received", "received");
    let stock = assert_page(
        &client.get("/pharmacy?notice=stock-received").await,
        StatusCode::OK,
        "stock",
    );
    assert!(stock.contains("The stock has been received."));
    assert!(stock.contains("LOT-77"));
    assert!(stock.contains("Metformin 500 mg tablet"));
    assert!(stock.contains("<td class=\"num\" data-field=\"on_hand\">40</td>"));
    assert_eq!(on_hand(&app, &metformin).await, 40);

    // Adjusting the batch: a bad reason changes nothing; damage removes units.
    let pharma = app.actor("pharma").await;
    let batch = app
        .services
        .stock_levels(&pharma, 90)
        .await
        .expect("levels")
        .into_iter()
        .find(|l| l.drug.id == metformin.id)
        .expect("level")
        .batches[0]
        .id
        .clone();
    let path = format!("/pharmacy/batches/{batch}/adjust");
    assert_page(&client.get(&path).await, StatusCode::OK, "adjust form");
    let response = client
        .post_form(
            &path,
            &[
                ("kind", "damage"),
                ("quantity", "50"),
                ("reason", "dropped"),
            ],
        )
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "too many");
    assert!(page.contains("id=\"quantity-error\""));
    assert_eq!(on_hand(&app, &metformin).await, 40);
    let response = client
        .post_form(
            &path,
            &[
                ("kind", "damage"),
                ("quantity", "4"),
                ("reason", "a box was dropped"),
            ],
        )
        .await;
    assert_redirect(&response, "/pharmacy?notice=stock-adjusted", "adjusted");
    assert_eq!(on_hand(&app, &metformin).await, 36);
}

async fn the_formulary_forms(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.browser("pharma").await;
    assert_page(
        &client.get("/pharmacy/drugs").await,
        StatusCode::OK,
        "formulary",
    );
    let fields = |reorder: &'static str| {
        vec![
            ("name", "Amoxicillin"),
            ("generic_name", "amoxicillin"),
            ("form", "capsule"),
            ("strength", "250 mg"),
            ("unit", "capsule"),
            ("atc_code", "J01CA04"),
            ("reorder_level", reorder),
            ("reorder_quantity", "100"),
            ("active", "on"),
        ]
    };
    let response = client.post_form("/pharmacy/drugs", &fields("lots")).await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "bad level");
    assert!(page.contains("id=\"reorder_level-error\""));
    let pharma = app.actor("pharma").await;
    assert!(
        app.services
            .list_drugs(&pharma, true)
            .await
            .expect("drugs")
            .is_empty()
    );
    let response = client.post_form("/pharmacy/drugs", &fields("20")).await;
    assert_redirect(&response, "/pharmacy/drugs?notice=drug-saved", "created");
    let drugs = app.services.list_drugs(&pharma, true).await.expect("drugs");
    assert_eq!(drugs.len(), 1);
    let id = drugs[0].id.clone();
    let edit = assert_page(
        &client.get(&format!("/pharmacy/drugs/{id}/edit")).await,
        StatusCode::OK,
        "edit",
    );
    assert!(edit.contains("value=\"Amoxicillin\""));
    let response = client
        .post_form(&format!("/pharmacy/drugs/{id}/edit"), &fields("35"))
        .await;
    assert_redirect(&response, "/pharmacy/drugs", "updated");
    assert_eq!(
        app.services
            .get_drug(&pharma, &id)
            .await
            .expect("the drug")
            .reorder_level,
        35
    );
    // The same drug twice is shown as a form error, not a 500.
    let response = client.post_form("/pharmacy/drugs", &fields("1")).await;
    let page = assert_page(&response, StatusCode::CONFLICT, "duplicate");
    assert!(page.contains("id=\"name-error\""));
    // An unknown drug id is a 404.
    assert_eq!(
        client.get("/pharmacy/drugs/nope/edit").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The units left shown for `prescription` on the queue page.
fn units_left(page: &str, prescription: &str) -> Option<u32> {
    let start = page.find(&format!("id=\"prescription-{prescription}\""))?;
    let marker = "<span data-field=\"left\">";
    let at = page[start..].find(marker)? + start + marker.len();
    let end = page[at..].find('<')? + at;
    page[at..end].parse().ok()
}

async fn dispensing_from_the_queue(backend: Backend) {
    let app = TestApp::new(backend).await;
    let metformin = new_drug(&app, drug("Metformin")).await;
    let insulin = new_drug(&app, drug("Insulin")).await;
    let pharma = app.actor("pharma").await;
    receive(&app, &pharma, &metformin, "M-1", 200, 20).await;
    let prescription = active_prescription(&app, "Metformin", 30).await;
    let mut client = app.browser("pharma").await;
    let queue = assert_page(
        &client.get("/pharmacy/dispensing").await,
        StatusCode::OK,
        "queue",
    );
    assert_eq!(units_left(&queue, &prescription), Some(30));
    assert!(
        queue.contains("John"),
        "the dispensing view names the patient"
    );
    // Showing the prescription on the queue is recorded, with the patient's pseudonym.
    let mut auditor = app.api_client("auditor").await;
    let events = auditor
        .get(&format!(
            "/api/v1/audit/events?resource_type=prescription&resource={prescription}&limit=100"
        ))
        .await
        .json();
    let listed: Vec<&serde_json::Value> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "listed" && e["actor_role"] == "pharmacist")
        .collect();
    assert_eq!(listed.len(), 1, "{events}");
    assert!(
        listed[0]["patient_pseudonym"]
            .as_str()
            .is_some_and(|p| p.starts_with("ANON_"))
    );
    assert!(queue.contains(&format!("id=\"dispense-{prescription}\"")));
    // Only the matching formulary drug is offered.
    assert!(queue.contains(&format!("<option value=\"{}\"", metformin.id)));
    assert!(!queue.contains(&format!("<option value=\"{}\"", insulin.id)));

    let path = format!("/pharmacy/dispensing/{prescription}");
    let response = client
        .post_form(&path, &[("drug_id", &metformin.id), ("quantity", "5")])
        .await;
    assert_redirect(
        &response,
        "/pharmacy/dispensing?notice=dispensed",
        "dispensed",
    );
    let queue = assert_page(
        &client.get("/pharmacy/dispensing?notice=dispensed").await,
        StatusCode::OK,
        "queue",
    );
    assert!(queue.contains("Dispensed: the stock and the prescription are updated."));
    assert_eq!(units_left(&queue, &prescription), Some(25));
    assert_eq!(on_hand(&app, &metformin).await, 15);

    // Bad input and conflicts are shown next to the field; nothing is written.
    let response = client
        .post_form(&path, &[("drug_id", &metformin.id), ("quantity", "-1")])
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "negative");
    assert!(page.contains(&format!("id=\"quantity-{prescription}-error\"")));
    let response = client
        .post_form(&path, &[("drug_id", &metformin.id), ("quantity", "20")])
        .await;
    let page = assert_page(&response, StatusCode::CONFLICT, "short");
    assert!(page.contains(&format!("id=\"quantity-{prescription}-error\"")));
    assert!(page.contains("not enough stock"), "{page}");
    let response = client
        .post_form(&path, &[("drug_id", &insulin.id), ("quantity", "1")])
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "wrong drug");
    assert!(page.contains(&format!("id=\"drug_id-{prescription}-error\"")));
    let response = client
        .post_form(&path, &[("drug_id", "no-such-drug"), ("quantity", "1")])
        .await;
    assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "unknown drug");
    assert_eq!(on_hand(&app, &metformin).await, 15);
    let queue = client.get("/pharmacy/dispensing").await.text();
    assert_eq!(units_left(&queue, &prescription), Some(25));

    // Fully dispensed prescriptions leave the queue.
    receive(&app, &pharma, &metformin, "M-2", 300, 20).await;
    let response = client
        .post_form(&path, &[("drug_id", &metformin.id), ("quantity", "25")])
        .await;
    assert_redirect(&response, "/pharmacy/dispensing", "the rest");
    let queue = client.get("/pharmacy/dispensing").await.text();
    assert_eq!(units_left(&queue, &prescription), None);
}

async fn low_stock_alerts_on_the_dashboards(backend: Backend) {
    let app = TestApp::new(backend).await;
    let metformin = new_drug(&app, drug("Metformin")).await; // reorder level 5
    let plenty = new_drug(&app, drug("Aspirin")).await;
    let pharma = app.actor("pharma").await;
    receive(&app, &pharma, &metformin, "LOW-1", 200, 3).await;
    receive(&app, &pharma, &plenty, "OK-1", 200, 100).await;
    receive(&app, &pharma, &plenty, "SOON-1", 20, 100).await;
    for user in ["pharma", "admin"] {
        let mut client = app.browser(user).await;
        let dashboard = assert_page(&client.get("/dashboard").await, StatusCode::OK, user);
        assert!(dashboard.contains("id=\"stock-alerts\""), "{user}");
        assert!(dashboard.contains("<li>Metformin 500 mg</li>"), "{user}");
        assert!(!dashboard.contains("<li>Aspirin 500 mg</li>"), "{user}");
        assert!(dashboard.contains("batch SOON-1"), "{user}: expiring batch");
        assert!(!dashboard.contains("batch OK-1"), "{user}");
        assert!(dashboard.contains("<strong data-count=\"reorder\">1</strong>"));
        assert!(dashboard.contains("href=\"/pharmacy\""));
    }
    let mut client = app.browser("pharma").await;
    let stock = client.get("/pharmacy").await.text();
    assert!(stock.contains("Stock alerts"));
    assert!(stock.contains("badge-danger\">Reorder"));
}

async fn the_expiry_window_is_configurable(backend: Backend) {
    let app = TestApp::builder(backend)
        .service_settings(|s| s.pharmacy.expiry_window_days = 10)
        .build()
        .await;
    let aspirin = new_drug(&app, drug("Aspirin")).await;
    let pharma = app.actor("pharma").await;
    receive(&app, &pharma, &aspirin, "IN-20", 20, 100).await;
    receive(&app, &pharma, &aspirin, "IN-5", 5, 100).await;
    let mut client = app.browser("pharma").await;
    let dashboard = client.get("/dashboard").await.text();
    assert!(dashboard.contains("batch IN-5"));
    assert!(
        !dashboard.contains("batch IN-20"),
        "outside the 10-day window"
    );
    assert!(dashboard.contains("within 10 days"));
    let stock = client.get("/pharmacy").await.text();
    assert!(stock.contains("1 batch(es) expiring within 10 days"));
}

async fn the_stock_report_values_stock_exactly(backend: Backend) {
    let app = TestApp::new(backend).await;
    let metformin = new_drug(&app, drug("Metformin")).await;
    // A drug name a spreadsheet would run as a formula is neutralised in the CSV.
    new_drug(&app, drug("=SUM(A1)")).await;
    let pharma = app.actor("pharma").await;
    // 10 × 0.10 + 3 × 1.25 = 4.75 (and 0.1 × 10 in floating point would not be exact).
    receive(&app, &pharma, &metformin, "A-1", 200, 10).await;
    let mut client = app.browser("pharma").await;
    let response = client
        .post_form(
            "/pharmacy/receipts/new",
            &[
                ("drug_id", &metformin.id),
                ("supplier", "Acme"),
                ("batch_number", "B-2"),
                ("expiry", &in_days(&app, 30)),
                ("quantity", "3"),
                ("unit_cost", "1.25"),
            ],
        )
        .await;
    assert_redirect(&response, "/pharmacy", "received");
    let page = assert_page(
        &client.get("/reports/stock").await,
        StatusCode::OK,
        "report",
    );
    assert!(page.contains("<svg"));
    assert!(page.contains("<strong id=\"total-value\">4.75</strong>"));
    assert!(page.contains("B-2"), "the expiring batch is listed");
    let csv = client.get("/reports/stock.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv"))
    );
    let text = csv.text();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "drug,strength,form,on_hand,usable,reorder_level,reorder_needed,expiring_batches,value"
    );
    assert_eq!(lines[1], "'=SUM(A1),500 mg,tablet,0,0,5,yes,0,0.00");
    assert_eq!(lines[2], "Metformin,500 mg,tablet,13,13,5,no,1,4.75");
    assert_eq!(lines[3], "total,,,,,,,,4.75");
    // The API gives the same levels and value.
    let mut api = app.api_client("pharma").await;
    let stock = api.get("/api/v1/stock").await;
    assert_eq!(stock.status, StatusCode::OK, "{}", stock.text());
    let json = stock.json();
    assert_eq!(json["total_value"], "4.75");
    assert_eq!(json["items"][1]["drug"]["name"], "Metformin");
    assert_eq!(json["items"][1]["value"], "4.75");
    assert_eq!(json["items"][1]["on_hand"], 13);
    assert_eq!(json["items"][1]["expiring"][0]["batch_number"], "B-2");
    let mut nurse = app.api_client("nurse").await;
    assert_eq!(
        nurse.get("/api/v1/stock").await.status,
        StatusCode::FORBIDDEN
    );
}

/// The prescription form's fields, choosing `drug_id` from the formulary.
/// The prescription fieldset of the draft's form (with the draft's text kept).
fn rx_fields(drug_id: &str) -> Vec<(&str, &str)> {
    vec![
        ("chief_complaint", "Thirst"),
        ("rx_drug_id", drug_id),
        ("rx_drug_name", ""),
        ("rx_dose", "500 mg"),
        ("rx_route", "oral"),
        ("rx_frequency", "twice daily"),
        ("rx_duration_days", "10"),
        ("rx_quantity", "20"),
        ("action", "save"),
    ]
}

async fn a_formulary_prescription_is_dispensed_as_that_drug(backend: Backend) {
    let app = TestApp::new(backend).await;
    let metformin = new_drug(&app, drug("Metformin")).await;
    // Another formulary drug whose generic name matches the prescribed one.
    let other = new_drug(
        &app,
        DrugInput {
            name: "Glucophage".into(),
            generic_name: "metformin".into(),
            ..drug("Glucophage")
        },
    )
    .await;
    let pharma = app.actor("pharma").await;
    receive(&app, &pharma, &metformin, "M-1", 200, 50).await;
    receive(&app, &pharma, &other, "G-1", 200, 50).await;

    let doctor = app.actor("drsmith").await;
    let john = john_record(&app).await;
    let encounter = app
        .services
        .create_encounter(
            &doctor,
            EncounterInput {
                patient_id: john.clone(),
                texts: HashMap::from([("chief_complaint".to_owned(), "Thirst".to_owned())]),
                ..EncounterInput::default()
            },
        )
        .await
        .expect("an encounter");
    let mut client = app.browser("drsmith").await;
    let page = assert_page(
        &client.get(&format!("/encounters/{}", encounter.id)).await,
        StatusCode::OK,
        "encounter",
    );
    assert!(
        page.contains("name=\"rx_drug_id\""),
        "the formulary is offered"
    );
    assert!(page.contains(&format!("<option value=\"{}\"", metformin.id)));
    let path = format!("/encounters/{}/edit", encounter.id);
    let response = client.post_form(&path, &rx_fields("no-such-drug")).await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "unknown drug");
    assert!(page.contains("Formulary drug is not an active drug in the formulary"));
    let response = client.post_form(&path, &rx_fields(&metformin.id)).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let prescriptions = app
        .services
        .list_prescriptions(&doctor, john.parse().expect("a patient id"))
        .await
        .expect("prescriptions");
    assert_eq!(prescriptions.len(), 1);
    let prescription = &prescriptions[0];
    assert_eq!(prescription.drug_id.as_deref(), Some(metformin.id.as_str()));
    assert_eq!(prescription.drug_name, "Metformin");
    assert_eq!(prescription.generic_name.as_deref(), Some("metformin"));

    let mut client = app.browser("pharma").await;
    let queue = client.get("/pharmacy/dispensing").await.text();
    assert!(queue.contains(&format!("<option value=\"{}\"", metformin.id)));
    assert!(
        !queue.contains(&format!("<option value=\"{}\"", other.id)),
        "only the prescribed formulary drug is offered"
    );
    let dispense = format!("/pharmacy/dispensing/{}", prescription.id);
    let response = client
        .post_form(&dispense, &[("drug_id", &other.id), ("quantity", "5")])
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "other drug");
    assert!(page.contains("is not the formulary drug prescribed"));
    assert_eq!(on_hand(&app, &other).await, 50);
    let response = client
        .post_form(&dispense, &[("drug_id", &metformin.id), ("quantity", "5")])
        .await;
    assert_redirect(&response, "/pharmacy/dispensing", "dispensed");
    assert_eq!(on_hand(&app, &metformin).await, 45);

    // The API takes a drug id too, and a free-text prescription still works.
    let mut api = app.api_client("drsmith").await;
    let response = api
        .post_json(
            "/api/v1/prescriptions",
            &serde_json::json!({
                "encounter_id": encounter.id,
                "drug_id": other.id,
                "dose": "500 mg",
                "route": "oral",
                "frequency": "daily",
                "duration_days": 5,
                "quantity": 5,
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.json()["drug_id"], other.id.as_str());
    assert_eq!(response.json()["drug_name"], "Glucophage");
}

on_all_backends!(
    pharmacy_pages_refuse_the_wrong_people,
    receiving_stock_checks_every_field,
    the_formulary_forms,
    dispensing_from_the_queue,
    low_stock_alerts_on_the_dashboards,
    the_expiry_window_is_configurable,
    the_stock_report_values_stock_exactly,
    a_formulary_prescription_is_dispensed_as_that_drug,
);
