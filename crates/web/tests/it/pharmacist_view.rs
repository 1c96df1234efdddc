//! What the pharmacist sees: the dispensing queue shows what dispensing needs (the
//! patient's name, date of birth and age, MRN and allergies, the prescriber, and any
//! acknowledged warning with the prescriber's reason) and can be searched; the pharmacist no
//! longer lists, searches or exports the patient register, and those refusals are recorded.

use axum::http::StatusCode;
use serde_json::Value;

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::pharmacy::active_prescription;
use crate::scheduling_api::john_record;

/// The queue item of `prescription` on a queue page (its `<section>`).
fn item<'p>(page: &'p str, prescription: &str) -> &'p str {
    let start = page
        .find(&format!("id=\"prescription-{prescription}\""))
        .unwrap_or_else(|| panic!("{prescription} is queued: {page}"));
    let start = page[..start].rfind("<section").unwrap_or(start);
    let end = page[start..]
        .find("</section>")
        .map_or(page.len(), |end| start + end);
    &page[start..end]
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let mut auditor = app.api_client("auditor").await;
    let response = auditor.get(&format!("/api/v1/audit/events?{query}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["events"]
        .as_array()
        .expect("events")
        .clone()
}

fn page(response: &TestResponse, status: StatusCode) -> String {
    assert_eq!(response.status, status, "{}", response.text());
    response.text()
}

async fn the_queue_shows_what_dispensing_needs(backend: Backend) {
    let app = TestApp::new(backend).await;
    // The same drug twice: the second is written over the duplicate warning, with a reason.
    let plain = active_prescription(&app, "Metformin", 30).await;
    let overridden = active_prescription(&app, "Metformin", 10).await;
    let john = john_record(&app).await;
    let record = app
        .api_client("admin")
        .await
        .get(&format!("/api/v1/patients/{john}"))
        .await
        .json();
    let mrn = record["mrn"].as_str().expect("an MRN").to_owned();
    let dob = record["date_of_birth"].as_str().expect("a DOB").to_owned();

    let mut pharma = app.browser("pharma").await;
    let queue = page(&pharma.get("/pharmacy/dispensing").await, StatusCode::OK);
    for prescription in [&plain, &overridden] {
        let shown = item(&queue, prescription);
        assert!(shown.contains("data-field=\"patient\">John "), "{shown}");
        assert!(
            shown.contains(&format!("data-field=\"date_of_birth\">{dob} (")),
            "{shown}"
        );
        assert!(shown.contains(" years)</dd>"), "{shown}");
        assert!(
            shown.contains(&format!("data-field=\"mrn\">{mrn}<")),
            "{shown}"
        );
        // John's allergy, as transcribed from his paper record at registration.
        assert!(shown.contains("data-allergy-state=\"listed\""), "{shown}");
        assert!(shown.contains("Penicillin"), "{shown}");
        assert!(!shown.contains("No known allergies"));
        assert!(shown.contains("data-field=\"prescriber\">Dr."), "{shown}");
        // From the queue to the patient's prescriptions and bills (taking payment at the
        // counter), without the patient list.
        for link in [
            format!("href=\"/patients/{john}/clinical\""),
            format!("href=\"/billing?patient={john}\""),
        ] {
            assert!(shown.contains(&link), "{link}: {shown}");
        }
    }
    let bills = page(
        &pharma.get(&format!("/billing?patient={john}")).await,
        StatusCode::OK,
    );
    assert!(bills.contains(&format!("value=\"{john}\"")), "{bills}");
    assert!(!item(&queue, &plain).contains("data-field=\"override\""));
    let warned = item(&queue, &overridden);
    assert!(warned.contains("has-override"), "{warned}");
    assert!(
        warned.contains("Duplicate of an active prescription: Metformin"),
        "{warned}"
    );
    assert!(
        warned.contains("data-field=\"override_reason\">Intended: a second course<"),
        "{warned}"
    );
    // The override comes first, right under the drug's name.
    let at = |marker: &str| warned.find(marker).expect(marker);
    assert!(at("data-field=\"override\"") < at("data-dispensing-patient"));
    assert!(at("data-field=\"override\"") < at("data-field=\"prescribed\""));

    // Every prescription shown is recorded as listed, saying what was shown.
    for prescription in [&plain, &overridden] {
        let events = audit(
            &app,
            &format!("resource_type=prescription&resource={prescription}&action=listed"),
        )
        .await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["actor_role"], "pharmacist");
        assert_eq!(
            events[0]["reason"],
            "dispensing queue; with date of birth, MRN and allergies"
        );
        assert!(
            !events[0].to_string().contains(&mrn),
            "no MRN in the audit trail"
        );
    }

    // The pharmacist's own copy of the prescription shows the override too.
    let api = app
        .api_client("pharma")
        .await
        .get(&format!("/api/v1/prescriptions/{overridden}"))
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text());
    assert_eq!(api.json()["acknowledgement"], "Intended: a second course");
}

async fn the_queue_can_be_searched(backend: Backend) {
    let app = TestApp::new(backend).await;
    let prescription = active_prescription(&app, "Metformin", 30).await;
    let john = john_record(&app).await;
    let record = app
        .api_client("admin")
        .await
        .get(&format!("/api/v1/patients/{john}"))
        .await
        .json();
    let mrn = record["mrn"].as_str().expect("an MRN").to_owned();
    let dob = record["date_of_birth"].as_str().expect("a DOB").to_owned();
    let mut pharma = app.browser("pharma").await;
    for q in [
        "john".to_owned(),
        mrn.clone(),
        dob.clone(),
        "metf".to_owned(),
    ] {
        let found = page(
            &pharma.get(&format!("/pharmacy/dispensing?q={q}")).await,
            StatusCode::OK,
        );
        item(&found, &prescription);
        assert!(
            found.contains(&format!("value=\"{q}\"")),
            "the search is kept"
        );
        assert!(found.contains("Show all"));
    }
    let none = page(
        &pharma.get("/pharmacy/dispensing?q=Nobody").await,
        StatusCode::OK,
    );
    assert!(!none.contains(&format!("prescription-{prescription}")));
    assert!(none.contains("No prescription waiting to be dispensed matches this search."));
    let searched = audit(&app, "resource_type=prescription&action=search").await;
    assert!(
        searched
            .iter()
            .any(|e| e["reason"] == "dispensing queue: no match"),
        "{searched:?}"
    );
    // Part of an MRN is not a match: a hospital number is looked up whole.
    let partial = page(
        &pharma
            .get(&format!("/pharmacy/dispensing?q={}", &mrn[..4]))
            .await,
        StatusCode::OK,
    );
    assert!(!partial.contains(&format!("prescription-{prescription}")));

    // A search too long: its message next to the box, nothing listed.
    let long = "x".repeat(101);
    let refused = page(
        &pharma.get(&format!("/pharmacy/dispensing?q={long}")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(refused.contains("id=\"q-error\""), "{refused}");
    assert!(refused.contains("aria-invalid=\"true\""));
    assert!(!refused.contains(&format!("prescription-{prescription}")));
}

async fn refused(client: &mut Client<'_>, path: &str) {
    let response = client.get(path).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
    assert!(
        !response.text().contains("John"),
        "{path}: nothing of a patient"
    );
}

async fn a_pharmacist_does_not_list_search_or_export_patients(backend: Backend) {
    let app = TestApp::new(backend).await;
    let prescription = active_prescription(&app, "Metformin", 30).await;
    let mut pharma = app.browser("pharma").await;
    for path in ["/patients", "/patients?q=John+Patient", "/patients.csv"] {
        refused(&mut pharma, path).await;
    }
    let mut api = app.api_client("pharma").await;
    api.get("/api/v1/patients")
        .await
        .problem(StatusCode::FORBIDDEN);
    api.get("/api/v1/patients?q=John")
        .await
        .problem(StatusCode::FORBIDDEN);

    // Each refusal is recorded, none as an export.
    let denied: Vec<Value> = audit(&app, "outcome=denied&resource_type=patient&limit=100")
        .await
        .into_iter()
        .filter(|e| e["actor_role"] == "pharmacist")
        .collect();
    assert_eq!(denied.len(), 5, "{denied:?}");
    assert!(
        denied
            .iter()
            .all(|e| { e["reason"] == "may not list or search patients" })
    );
    assert!(
        audit(&app, "action=export&limit=100")
            .await
            .iter()
            .all(|e| e["actor_role"] != "pharmacist")
    );

    // The menu and the dashboard lead to the queue instead; the queue works.
    let dashboard = page(&pharma.get("/dashboard").await, StatusCode::OK);
    assert!(!dashboard.contains("href=\"/patients\""), "{dashboard}");
    assert!(dashboard.contains("href=\"/pharmacy/dispensing\""));
    let queue = page(&pharma.get("/pharmacy/dispensing").await, StatusCode::OK);
    item(&queue, &prescription);
    // One patient reached through a prescription still opens, in the dispensing view.
    let john = john_record(&app).await;
    let record = api.get(&format!("/api/v1/patients/{john}")).await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.text());
    let record = record.json();
    assert!(record["mrn"].is_string() && record["date_of_birth"].is_string());
    assert!(record.get("phone").is_none() && record.get("address").is_none());

    // Reception still has the list.
    let mut reception = app.browser("reception").await;
    assert_eq!(reception.get("/patients.csv").await.status, StatusCode::OK);
}

on_all_backends!(
    the_queue_shows_what_dispensing_needs,
    the_queue_can_be_searched,
    a_pharmacist_does_not_list_search_or_export_patients,
);
