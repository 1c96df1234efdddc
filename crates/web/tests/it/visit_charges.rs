//! A visit is charged once: reception's manual charge naming the appointment and the
//! automatic charge when the appointment is completed never both land, whichever runs first
//! or both at once; a visit charged on an invoice that was then voided still counts as
//! charged. With the refusals (who may name a visit, which visits, corrections), the field
//! messages, the invoice page's visit choice and the audit trail.

use axum::http::StatusCode;
use carevault_service::ServiceError;
use carevault_service::billing::{LineRequest, PriceInput};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp, captured_logs};
use crate::on_all_backends;
use crate::scheduling_api::{book, booking, id_of, jane, john_record, set_status, user_id};

/// Adds the consultation price (40.00) that completing a consultation charges.
async fn consultation_price(app: &TestApp) {
    let mut admin = app.api_client("admin").await;
    let response = admin
        .post_json(
            "/api/v1/prices",
            &json!({"code": "CONS", "kind": "consultation", "label": "Consultation",
                    "appointment_type": "consultation", "fixed_price": "40.00"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
}

/// Books `patient` with Dr. Smith on Monday at `hh:mm` (15 minutes) and moves the
/// appointment through `statuses` (check-in by reception, the rest by the doctor).
async fn visit<'a>(
    reception: &mut Client<'a>,
    doctor: &mut Client<'a>,
    patient: &str,
    time: &str,
    statuses: &[&str],
) -> String {
    let drsmith = user_id(doctor).await;
    let (hours, minutes) = time.split_once(':').expect("hh:mm");
    let end_minutes: u32 = minutes.parse::<u32>().expect("minutes") + 15;
    let end = format!("{hours}:{end_minutes:02}");
    let appointment = id_of(
        &book(
            reception,
            &booking(
                patient,
                &drsmith,
                &format!("2026-03-02T{time}:00+00:00"),
                &format!("2026-03-02T{end}:00+00:00"),
            ),
        )
        .await,
    );
    for status in statuses {
        let client = if *status == "checked_in" {
            &mut *reception
        } else {
            &mut *doctor
        };
        let moved = set_status(client, &appointment, status, None).await;
        assert_eq!(moved.status, StatusCode::OK, "{status}: {}", moved.text());
    }
    appointment
}

/// Opens (or finds) John's draft as reception and returns its id.
async fn johns_draft(app: &TestApp, reception: &mut Client<'_>) -> String {
    let john = john_record(app).await;
    let response = reception
        .post_json("/api/v1/invoices", &json!({ "patient_id": john }))
        .await;
    assert!(
        response.status == StatusCode::CREATED || response.status == StatusCode::OK,
        "{}",
        response.text()
    );
    id_of(&response.json())
}

async fn invoice(client: &mut Client<'_>, id: &str) -> Value {
    let response = client.get(&format!("/api/v1/invoices/{id}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// John's invoices, newest first.
async fn johns_invoices(app: &TestApp, client: &mut Client<'_>) -> Vec<Value> {
    let john = john_record(app).await;
    let response = client
        .get(&format!("/api/v1/invoices?patient_id={john}"))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["items"].as_array().expect("items").clone()
}

fn lines_charging(invoice: &Value, appointment: &str) -> usize {
    invoice["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter(|line| line["appointment_id"] == appointment)
        .count()
}

fn offered(invoice: &Value) -> Vec<String> {
    invoice["visits_to_charge"]
        .as_array()
        .expect("visits_to_charge")
        .iter()
        .map(|v| v["appointment_id"].as_str().expect("an id").to_owned())
        .collect()
}

/// How many invoice lines in the whole database charge `appointment` (asked of the database
/// itself, not through the application).
async fn lines_in_database(app: &TestApp, appointment: &str) -> usize {
    let db = Database::connect(app.database_url.as_str())
        .await
        .expect("the test database");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT id FROM invoice_lines WHERE appointment_id = '{appointment}'"),
        ))
        .await
        .expect("rows");
    rows.len()
}

/// The audit events about `resource` of `resource_type`, oldest first.
async fn events_of(app: &TestApp, resource_type: &str, resource: &str) -> Vec<Value> {
    let mut auditor = app.api_client("auditor").await;
    let response = auditor
        .get(&format!(
            "/api/v1/audit/events?resource_type={resource_type}&resource={resource}&limit=200"
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let mut events = response.json()["events"]
        .as_array()
        .expect("events")
        .clone();
    events.reverse();
    events
}

async fn a_manual_charge_first_makes_the_completion_skip_its_charge(backend: Backend) {
    let app = TestApp::new(backend).await;
    consultation_price(&app).await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let john = john_record(&app).await;
    let appointment = visit(
        &mut reception,
        &mut doctor,
        &john,
        "10:00",
        &["checked_in", "in_progress"],
    )
    .await;
    let id = johns_draft(&app, &mut reception).await;

    // The draft offers the visit, with its consultation price.
    let bill = invoice(&mut reception, &id).await;
    let visits = bill["visits_to_charge"].as_array().expect("visits").clone();
    assert_eq!(visits.len(), 1, "{bill}");
    assert_eq!(visits[0]["appointment_id"], appointment.as_str());
    assert_eq!(visits[0]["status"], "in_progress");
    assert_eq!(visits[0]["type"], "consultation");
    assert_eq!(visits[0]["price"], "40.00");
    assert!(
        visits[0]["clinician_name"]
            .as_str()
            .is_some_and(|n| n.contains("Smith"))
    );

    // Naming the visit alone charges its consultation price, described like the automatic
    // charge would be.
    let added = reception
        .post_json(
            &format!("/api/v1/invoices/{id}/lines"),
            &json!({ "appointment_id": appointment }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let bill = added.json();
    assert_eq!(bill["lines"][0]["appointment_id"], appointment.as_str());
    assert_eq!(bill["lines"][0]["source"], "manual");
    assert_eq!(
        bill["lines"][0]["description"],
        "Consultation on 2026-03-02"
    );
    assert_eq!(bill["totals"]["grand_total"], "40.00");
    assert!(
        offered(&invoice(&mut reception, &id).await).is_empty(),
        "a charged visit is no longer offered"
    );

    // The doctor completes the appointment: it goes through, and nothing more is charged.
    let completed = set_status(&mut doctor, &appointment, "completed", None).await;
    assert_eq!(completed.status, StatusCode::OK, "{}", completed.text());
    let bill = invoice(&mut reception, &id).await;
    assert_eq!(bill["lines"].as_array().map(Vec::len), Some(1), "{bill}");
    assert_eq!(bill["totals"]["grand_total"], "40.00");
    assert_eq!(johns_invoices(&app, &mut reception).await.len(), 1);
    assert_eq!(lines_in_database(&app, &appointment).await, 1);

    // The completion says why it charged nothing; the manual line names the visit.
    let events = events_of(&app, "appointment", &appointment).await;
    let completion = events
        .iter()
        .filter(|e| e["action"] == "status_changed")
        .filter_map(|e| e["reason"].as_str())
        .find(|r| r.contains("completed"))
        .expect("the completion's event");
    assert!(
        completion.contains(&format!(
            "already charged on invoice {id}, not charged again"
        )),
        "{completion}"
    );
    let invoice_events = events_of(&app, "invoice", &id).await;
    let reasons: Vec<&str> = invoice_events
        .iter()
        .filter(|e| e["action"] == "update")
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        [format!(
            "line added charging visit {appointment}; total 4000"
        )],
        "one change of the invoice, no automatic charge"
    );
    assert!(
        captured_logs().lines().any(|line| line
            .contains("appointment already charged; automatic charge skipped")
            && line.contains(&appointment)),
        "the skip is logged"
    );
}

async fn a_visit_charged_on_completion_is_refused_by_hand(backend: Backend) {
    let app = TestApp::new(backend).await;
    consultation_price(&app).await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let john = john_record(&app).await;
    let appointment = visit(
        &mut reception,
        &mut doctor,
        &john,
        "10:00",
        &["checked_in", "in_progress", "completed"],
    )
    .await;
    let invoices = johns_invoices(&app, &mut reception).await;
    assert_eq!(invoices.len(), 1, "the completion opened a draft");
    let id = id_of(&invoices[0]);
    let number = invoices[0]["number"].as_str().expect("a number").to_owned();
    let before = invoice(&mut reception, &id).await;
    assert_eq!(lines_charging(&before, &appointment), 1);
    assert_eq!(before["lines"][0]["source"], "appointment");
    assert!(offered(&before).is_empty());

    // By the API: 409 on the field, naming the invoice and the day; nothing written.
    let refused = reception
        .post_json(
            &format!("/api/v1/invoices/{id}/lines"),
            &json!({"appointment_id": appointment, "description": "Consultation", "unit_price": "40.00"}),
        )
        .await;
    let problem = refused.problem(StatusCode::CONFLICT);
    let message = format!("This visit was already charged on invoice {number} on 2026-03-02.");
    assert_eq!(problem["detail"], message.as_str(), "{problem}");
    assert_eq!(problem["errors"][0]["field"], "appointment_id", "{problem}");
    assert_eq!(invoice(&mut reception, &id).await["lines"], before["lines"]);

    // By the page: the same message next to the visit choice, the typed text kept.
    let mut desk = app.browser("reception").await;
    let page = desk
        .post_form(
            &format!("/invoices/{id}/lines"),
            &[
                ("appointment_id", appointment.as_str()),
                ("description", "Second consultation typed"),
                ("quantity", "1"),
                ("unit_price", "40.00"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    let html = page.text();
    assert!(html.contains("id=\"appointment_id-error\""), "{html}");
    assert!(html.contains(&message), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("value=\"Second consultation typed\""));
    assert_eq!(lines_in_database(&app, &appointment).await, 1);
}

async fn a_void_invoice_still_counts_as_charged(backend: Backend) {
    let app = TestApp::new(backend).await;
    consultation_price(&app).await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let john = john_record(&app).await;
    let appointment = visit(
        &mut reception,
        &mut doctor,
        &john,
        "10:00",
        &["checked_in", "in_progress", "completed"],
    )
    .await;
    let voided = id_of(&johns_invoices(&app, &mut reception).await[0]);
    let issued = reception
        .post_json(&format!("/api/v1/invoices/{voided}/issue"), &json!({}))
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text());
    let mut admin = app.api_client("admin").await;
    let void = admin
        .post_json(
            &format!("/api/v1/invoices/{voided}/void"),
            &json!({"reason": "Billed to the wrong insurer"}),
        )
        .await;
    assert_eq!(void.status, StatusCode::OK, "{}", void.text());
    let number = void.json()["number"].as_str().expect("a number").to_owned();

    // A new draft neither offers the visit nor takes it.
    let draft = johns_draft(&app, &mut reception).await;
    assert_ne!(draft, voided);
    assert!(offered(&invoice(&mut reception, &draft).await).is_empty());
    let refused = reception
        .post_json(
            &format!("/api/v1/invoices/{draft}/lines"),
            &json!({ "appointment_id": appointment }),
        )
        .await;
    let problem = refused.problem(StatusCode::CONFLICT);
    assert_eq!(
        problem["detail"],
        format!("This visit was already charged on invoice {number} on 2026-03-02.").as_str()
    );
    // Re-billing it is a deliberate line that names no visit.
    let rebilled = reception
        .post_json(
            &format!("/api/v1/invoices/{draft}/lines"),
            &json!({"description": "Consultation on 2026-03-02 (re-billed)", "unit_price": "40.00", "quantity": "1"}),
        )
        .await;
    assert_eq!(rebilled.status, StatusCode::CREATED, "{}", rebilled.text());
    assert_eq!(lines_in_database(&app, &appointment).await, 1);
}

async fn both_at_once_charge_once(backend: Backend) {
    // One visit per round, each in its own half hour of Dr. Smith's Monday.
    const TIMES: [&str; 12] = [
        "10:00", "10:30", "11:00", "11:30", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30",
        "16:00", "16:30",
    ];
    const ROUNDS: usize = TIMES.len();
    let app = TestApp::new(backend).await;
    consultation_price(&app).await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let john = john_record(&app).await;
    let draft = johns_draft(&app, &mut reception).await;
    let desk = app.actor("reception").await;
    let clinician = app.actor("drsmith").await;
    let mut manual_won = 0;
    for (round, time) in TIMES.into_iter().enumerate() {
        let appointment = visit(
            &mut reception,
            &mut doctor,
            &john,
            time,
            &["checked_in", "in_progress"],
        )
        .await;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let completion = {
            let (services, actor, barrier) =
                (app.services.clone(), clinician.clone(), barrier.clone());
            let id: carevault_core::AppointmentId = appointment.parse().expect("an appointment id");
            tokio::spawn(async move {
                barrier.wait().await;
                services
                    .change_appointment_status(&actor, id, "completed", None)
                    .await
            })
        };
        let manual = {
            let (services, actor, barrier) = (app.services.clone(), desk.clone(), barrier.clone());
            let (draft, appointment) = (draft.clone(), appointment.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                services
                    .add_invoice_line(
                        &actor,
                        &draft,
                        LineRequest {
                            appointment_id: Some(appointment),
                            ..LineRequest::default()
                        },
                    )
                    .await
            })
        };
        let completed = completion.await.expect("ran");
        assert!(
            completed.is_ok(),
            "round {round}: the completion never fails: {completed:?}"
        );
        match manual.await.expect("ran") {
            Ok(_) => manual_won += 1,
            Err(ServiceError::Conflict {
                field: Some("appointment_id"),
                message,
            }) => assert!(
                message.starts_with("This visit was already charged on invoice INV-"),
                "round {round}: {message}"
            ),
            Err(other) => panic!("round {round}: unexpected {other:?}"),
        }
        assert_eq!(
            lines_in_database(&app, &appointment).await,
            1,
            "round {round}: charged exactly once"
        );
    }
    // Everything landed on the one draft, whose totals are its lines' sum.
    let bill = invoice(&mut reception, &draft).await;
    let lines = bill["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), ROUNDS, "{bill}");
    assert_eq!(
        bill["totals"]["grand_total"],
        format!("{}.00", 40 * ROUNDS).as_str()
    );
    assert_eq!(johns_invoices(&app, &mut reception).await.len(), 1);
    println!("the manual charge won {manual_won} of {ROUNDS} rounds");
}

async fn naming_a_visit_is_checked(backend: Backend) {
    let app = TestApp::new(backend).await;
    consultation_price(&app).await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let john = john_record(&app).await;
    let jane = jane(&app).await;
    let attended = visit(&mut reception, &mut doctor, &john, "10:00", &["checked_in"]).await;
    let to_come = visit(&mut reception, &mut doctor, &john, "11:00", &[]).await;
    let janes = visit(&mut reception, &mut doctor, &jane, "11:30", &["checked_in"]).await;
    let id = johns_draft(&app, &mut reception).await;
    let lines = format!("/api/v1/invoices/{id}/lines");
    // Only John's attended visit is offered (checked in counts: charging at the desk).
    assert_eq!(
        offered(&invoice(&mut reception, &id).await),
        std::slice::from_ref(&attended)
    );

    for (appointment, why) in [
        ("not-an-id".to_owned(), "is not a known visit"),
        (uuid::Uuid::now_v7().to_string(), "is not a known visit"),
        (to_come.clone(), "still to come"),
        (janes.clone(), "is not a visit of this invoice's patient"),
    ] {
        let response = reception
            .post_json(&lines, &json!({ "appointment_id": appointment }))
            .await;
        let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], "appointment_id", "{problem}");
        assert!(
            problem["errors"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains(why)),
            "{appointment}: {problem}"
        );
    }
    // A visit without a price, description or consultation price of its type: the unit
    // price is asked for.
    let admin = app.actor("admin").await;
    let cons = app.services.list_prices(&admin).await.expect("prices")[0]
        .id
        .clone();
    app.services
        .save_price(
            &admin,
            Some(&cons),
            PriceInput {
                code: "CONS".into(),
                kind: "consultation".into(),
                label: "Consultation".into(),
                appointment_type: Some("consultation".into()),
                fixed_price: Some("40.00".into()),
                active: false,
                ..PriceInput::default()
            },
        )
        .await
        .expect("retired");
    let response = reception
        .post_json(&lines, &json!({ "appointment_id": attended }))
        .await;
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["field"] == "unit_price")),
        "{problem}"
    );

    // Pharmacists handle bills but not appointments: naming a visit is refused and
    // recorded, and their view of the draft offers none.
    let mut pharmacist = app.api_client("pharma").await;
    assert!(offered(&invoice(&mut pharmacist, &id).await).is_empty());
    let refused = pharmacist
        .post_json(
            &lines,
            &json!({"appointment_id": attended, "description": "Visit", "unit_price": "1.00"}),
        )
        .await;
    refused.problem(StatusCode::FORBIDDEN);
    let mut auditor = app.api_client("auditor").await;
    let denied = auditor
        .get("/api/v1/audit/events?outcome=denied&resource_type=invoice&limit=50")
        .await
        .json();
    assert!(
        denied["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| {
                e["actor_role"] == "pharmacist"
                    && e["reason"] == "charging a visit is for administrators and reception"
            }),
        "{denied}"
    );
    // The patient cannot add lines at all.
    app.api_client("john")
        .await
        .post_json(&lines, &json!({ "appointment_id": attended }))
        .await
        .problem(StatusCode::FORBIDDEN);

    // A correction names no visit.
    let charged = reception
        .post_json(
            &lines,
            &json!({"description": "Dressing", "unit_price": "5.00", "quantity": "1"}),
        )
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{}", charged.text());
    let issued = reception
        .post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({}))
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text());
    let response = reception
        .post_json(
            &lines,
            &json!({"appointment_id": attended, "description": "Credit", "unit_price": "-1.00", "quantity": "1"}),
        )
        .await;
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "appointment_id", "{problem}");
    // Nothing of it was written.
    for appointment in [&attended, &to_come, &janes] {
        assert_eq!(lines_in_database(&app, appointment).await, 0);
    }
    let bill = invoice(&mut reception, &id).await;
    assert_eq!(bill["lines"].as_array().map(Vec::len), Some(1));
    assert!(
        offered(&bill).is_empty(),
        "an issued invoice offers no visit"
    );
}

async fn the_invoice_page_offers_the_visits(backend: Backend) {
    let app = TestApp::new(backend).await;
    consultation_price(&app).await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let john = john_record(&app).await;
    let appointment = visit(
        &mut reception,
        &mut doctor,
        &john,
        "10:00",
        &["checked_in", "in_progress"],
    )
    .await;
    let id = johns_draft(&app, &mut reception).await;
    let mut desk = app.browser("reception").await;
    let html = desk.get(&format!("/invoices/{id}")).await.text();
    assert!(html.contains("<select id=\"appointment_id\""), "{html}");
    let option = format!("<option value=\"{appointment}\">");
    let at = html.find(&option).expect("the visit is offered");
    let label = &html[at + option.len()..];
    let label = &label[..label.find("</option>").expect("closed")];
    assert!(
        label.starts_with("2026-03-02 10:00 — Consultation with Dr.")
            && label.contains("(in progress)")
            && label.contains("40.00"),
        "{label}"
    );
    // The pharmacist's page of the same draft offers no visit.
    let pharmacist_page = app
        .browser("pharma")
        .await
        .get(&format!("/invoices/{id}"))
        .await
        .text();
    assert!(!pharmacist_page.contains("id=\"appointment_id\""));

    // Choosing the visit alone is enough; the page then no longer offers it.
    let added = desk
        .post_form(
            &format!("/invoices/{id}/lines"),
            &[("appointment_id", appointment.as_str()), ("quantity", "")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    let html = desk.get(&format!("/invoices/{id}")).await.text();
    assert!(html.contains("Consultation on 2026-03-02"), "{html}");
    assert!(!html.contains(&option));
    assert_eq!(lines_in_database(&app, &appointment).await, 1);
}

on_all_backends!(
    a_manual_charge_first_makes_the_completion_skip_its_charge,
    a_visit_charged_on_completion_is_refused_by_hand,
    a_void_invoice_still_counts_as_charged,
    both_at_once_charge_once,
    naming_a_visit_is_checked,
    the_invoice_page_offers_the_visits,
);
