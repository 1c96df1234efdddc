//! Billing over the API and through the service: exact totals and rounding, payments and
//! statuses, corrections as new lines, voiding by administrators, who sees which invoice
//! (IDOR), automatic charges from dispensing and completed appointments, and a failure
//! injected after the stock update of a dispensing that must leave everything unchanged.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::pharmacy::{active_prescription, drug, receive};
use crate::scheduling_api::{book, booking, id_of, jane, john_record, mon, set_status, user_id};

/// Asserts a problem with `status` whose `errors` name `field`.
fn field_problem(response: &TestResponse, status: StatusCode, field: &str) -> Value {
    let problem = response.problem(status);
    assert!(
        problem["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["field"] == field)),
        "expected an error naming {field}: {problem}"
    );
    problem
}

async fn created(client: &mut Client<'_>, path: &str, body: &Value) -> Value {
    let response = client.post_json(path, body).await;
    assert!(
        response.status == StatusCode::CREATED || response.status == StatusCode::OK,
        "{path} {body}: {} {}",
        response.status,
        response.text()
    );
    response.json()
}

async fn ok(client: &mut Client<'_>, path: &str, body: &Value) -> Value {
    let response = client.post_json(path, body).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{path}: {}",
        response.text()
    );
    response.json()
}

async fn invoice(client: &mut Client<'_>, id: &str) -> Value {
    let response = client.get(&format!("/api/v1/invoices/{id}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// Opens John's draft as reception and returns it.
async fn johns_draft(app: &TestApp, reception: &mut Client<'_>) -> Value {
    let john = john_record(app).await;
    created(
        reception,
        "/api/v1/invoices",
        &json!({ "patient_id": john }),
    )
    .await
}

async fn totals_are_exact_and_payments_move_the_status(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut reception = app.api_client("reception").await;
    let draft = johns_draft(&app, &mut reception).await;
    let id = id_of(&draft);
    assert_eq!(draft["status"], "draft");
    assert!(
        draft["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("INV-"))
    );
    // Opening again returns the same draft (200, not a second one).
    let again = reception
        .post_json(
            "/api/v1/invoices",
            &json!({ "patient_id": draft["patient_id"] }),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(id_of(&again.json()), id);

    let lines = format!("/api/v1/invoices/{id}/lines");
    // 3 × 0.10 with 10 % tax: 0.30 + 0.03 = 0.33, to the cent.
    let one = created(
        &mut reception,
        &lines,
        &json!({"description": "Dressing", "quantity": "3", "unit_price": "0.10", "tax_rate": "10"}),
    )
    .await;
    assert_eq!(one["totals"]["subtotal"], "0.30");
    assert_eq!(one["totals"]["tax_total"], "0.03");
    assert_eq!(one["totals"]["grand_total"], "0.33");
    // Rounding is per line, half away from zero: 0.05 at 10 % is 0.005 → 0.01 tax.
    let two = created(
        &mut reception,
        &lines,
        &json!({"description": "Plaster", "quantity": "1", "unit_price": "0.05", "tax_rate": "10"}),
    )
    .await;
    assert_eq!(two["lines"][1]["tax"], "0.01");
    assert_eq!(two["totals"]["grand_total"], "0.39");
    // A 12.5 % discount of 19.99 is 2.49875 → 2.50; net 17.49, no tax.
    let three = created(
        &mut reception,
        &lines,
        &json!({"description": "Physiotherapy", "quantity": "1", "unit_price": "19.99", "discount_percent": "12.5"}),
    )
    .await;
    assert_eq!(three["lines"][2]["discount"], "2.50");
    assert_eq!(three["lines"][2]["net"], "17.49");
    assert_eq!(three["totals"]["grand_total"], "17.88");

    // Malformed input: clear 422s naming the field, nothing written.
    for (body, field) in [
        (
            json!({"description": "X", "quantity": "-1", "unit_price": "1.00"}),
            "quantity",
        ),
        (
            json!({"description": "X", "quantity": "1", "unit_price": "1.2.3"}),
            "unit_price",
        ),
        (
            json!({"description": "X", "quantity": "1", "unit_price": "-5.00"}),
            "unit_price",
        ),
        (
            json!({"description": "", "quantity": "1", "unit_price": "1.00"}),
            "description",
        ),
    ] {
        let refused = reception.post_json(&lines, &body).await;
        field_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    assert_eq!(
        invoice(&mut reception, &id).await["lines"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    // A draft takes no payment.
    let payments = format!("/api/v1/invoices/{id}/payments");
    let early = reception
        .post_json(&payments, &json!({"amount": "1.00", "method": "cash"}))
        .await;
    early.problem(StatusCode::CONFLICT);

    let issued = ok(
        &mut reception,
        &format!("/api/v1/invoices/{id}/issue"),
        &json!({}),
    )
    .await;
    assert_eq!(issued["status"], "issued");
    let paid_part = created(
        &mut reception,
        &payments,
        &json!({"amount": "10.00", "method": "card", "reference": "slip 4411"}),
    )
    .await;
    assert_eq!(paid_part["status"], "partially_paid");
    assert_eq!(paid_part["totals"]["balance"], "7.88");
    // More than the balance, a malformed amount, an unknown method: 422, nothing written.
    for (body, field) in [
        (json!({"amount": "7.89", "method": "cash"}), "amount"),
        (json!({"amount": "1.00.0", "method": "cash"}), "amount"),
        (json!({"amount": "1,000.00", "method": "cash"}), "amount"),
        (json!({"amount": "abc", "method": "cash"}), "amount"),
        (json!({"amount": "1.00", "method": "cheque"}), "method"),
        (json!({"amount": "0", "method": "cash"}), "amount"),
    ] {
        let refused = reception.post_json(&payments, &body).await;
        field_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let after = invoice(&mut reception, &id).await;
    assert_eq!(after["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(after["payments"][0]["reference"], "slip 4411");
    let paid = created(
        &mut reception,
        &payments,
        &json!({"amount": "7.88", "method": "cash"}),
    )
    .await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["totals"]["balance"], "0.00");
    // Paid is final: no more payments, lines or voiding.
    let more = reception
        .post_json(&payments, &json!({"amount": "0.01", "method": "cash"}))
        .await;
    more.problem(StatusCode::CONFLICT);
    let mut admin = app.api_client("admin").await;
    let void = admin
        .post_json(
            &format!("/api/v1/invoices/{id}/void"),
            &json!({"reason": "entered twice by mistake"}),
        )
        .await;
    void.problem(StatusCode::CONFLICT);
}

async fn corrections_are_new_lines_and_only_admins_void(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut reception = app.api_client("reception").await;
    let id = id_of(&johns_draft(&app, &mut reception).await);
    let lines = format!("/api/v1/invoices/{id}/lines");
    let draft = created(
        &mut reception,
        &lines,
        &json!({"description": "X-ray", "quantity": "1", "unit_price": "50.00"}),
    )
    .await;
    let first_line = draft["lines"][0]["id"].as_str().expect("a line").to_owned();
    // A draft's line may be removed and added again.
    let removed = reception
        .send(
            reception
                .request(Method::DELETE, &format!("{lines}/{first_line}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text());
    assert_eq!(removed.json()["totals"]["grand_total"], "0.00");
    // Nothing to charge: an empty invoice is not issued.
    let empty = reception
        .post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({}))
        .await;
    empty.problem(StatusCode::CONFLICT);
    let draft = created(
        &mut reception,
        &lines,
        &json!({"description": "X-ray", "quantity": "1", "unit_price": "50.00"}),
    )
    .await;
    let line = draft["lines"][0]["id"].as_str().expect("a line").to_owned();
    ok(
        &mut reception,
        &format!("/api/v1/invoices/{id}/issue"),
        &json!({}),
    )
    .await;
    created(
        &mut reception,
        &format!("/api/v1/invoices/{id}/payments"),
        &json!({"amount": "20.00", "method": "insurance"}),
    )
    .await;

    // An issued invoice's lines are never edited or removed…
    let edit = reception
        .send(
            reception
                .request(Method::DELETE, &format!("{lines}/{line}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    edit.problem(StatusCode::CONFLICT);
    // …a correction is a new line, which may credit…
    let corrected = created(
        &mut reception,
        &lines,
        &json!({"description": "X-ray priced twice", "quantity": "1", "unit_price": "-10.00"}),
    )
    .await;
    assert_eq!(corrected["lines"][1]["kind"], "correction");
    assert_eq!(corrected["lines"][0]["total"], "50.00");
    assert_eq!(corrected["totals"]["grand_total"], "40.00");
    assert_eq!(corrected["totals"]["balance"], "20.00");
    // …but never below what was paid.
    let too_far = reception
        .post_json(
            &lines,
            &json!({"description": "Credit", "quantity": "1", "unit_price": "-25.00"}),
        )
        .await;
    field_problem(&too_far, StatusCode::UNPROCESSABLE_ENTITY, "unit_price");

    // Voiding: reception may not; an admin needs a reason; then the invoice is closed.
    let by_reception = reception
        .post_json(
            &format!("/api/v1/invoices/{id}/void"),
            &json!({"reason": "patient transferred"}),
        )
        .await;
    by_reception.problem(StatusCode::FORBIDDEN);
    let mut admin = app.api_client("admin").await;
    let no_reason = admin
        .post_json(
            &format!("/api/v1/invoices/{id}/void"),
            &json!({"reason": " "}),
        )
        .await;
    field_problem(&no_reason, StatusCode::UNPROCESSABLE_ENTITY, "reason");
    let voided = ok(
        &mut admin,
        &format!("/api/v1/invoices/{id}/void"),
        &json!({"reason": "patient transferred to the county hospital"}),
    )
    .await;
    assert_eq!(voided["status"], "void");
    assert_eq!(
        voided["void_reason"],
        "patient transferred to the county hospital"
    );
    assert_eq!(voided["payments"].as_array().map(Vec::len), Some(1));
    let late = reception
        .post_json(
            &format!("/api/v1/invoices/{id}/payments"),
            &json!({"amount": "1.00", "method": "cash"}),
        )
        .await;
    late.problem(StatusCode::CONFLICT);
}

async fn each_patient_sees_only_their_own_invoices(backend: Backend) {
    let app = TestApp::new(backend).await;
    let jane_record = jane(&app).await;
    let mut reception = app.api_client("reception").await;
    let johns = id_of(&johns_draft(&app, &mut reception).await);
    let janes = id_of(
        &created(
            &mut reception,
            "/api/v1/invoices",
            &json!({ "patient_id": jane_record }),
        )
        .await,
    );
    for id in [&johns, &janes] {
        created(
            &mut reception,
            &format!("/api/v1/invoices/{id}/lines"),
            &json!({"description": "Consultation", "quantity": "1", "unit_price": "30.00"}),
        )
        .await;
        ok(
            &mut reception,
            &format!("/api/v1/invoices/{id}/issue"),
            &json!({}),
        )
        .await;
    }

    let mut john = app.api_client("john").await;
    let mine = john.get("/api/v1/invoices").await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    let items = mine.json()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], johns.as_str());
    assert_eq!(
        invoice(&mut john, &johns).await["totals"]["grand_total"],
        "30.00"
    );
    // Jane's invoice, by id or by her patient id: refused (and recorded), like a missing one.
    john.get(&format!("/api/v1/invoices/{janes}"))
        .await
        .problem(StatusCode::FORBIDDEN);
    john.get("/api/v1/invoices/00000000-0000-7000-8000-000000000000")
        .await
        .problem(StatusCode::FORBIDDEN);
    john.get(&format!("/api/v1/invoices?patient_id={jane_record}"))
        .await
        .problem(StatusCode::FORBIDDEN);
    // Patients only read: no payments, lines or new invoices of their own.
    john.post_json(
        &format!("/api/v1/invoices/{johns}/payments"),
        &json!({"amount": "30.00", "method": "card"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    john.post_json("/api/v1/invoices", &json!({ "patient_id": jane_record }))
        .await
        .problem(StatusCode::FORBIDDEN);
    // Nurses, doctors and auditors have no access to bills; a nurse cannot create one.
    for user in ["nurse", "drsmith", "auditor"] {
        let mut client = app.api_client(user).await;
        client
            .get("/api/v1/invoices")
            .await
            .problem(StatusCode::FORBIDDEN);
        client
            .get(&format!("/api/v1/invoices/{johns}"))
            .await
            .problem(StatusCode::FORBIDDEN);
        client
            .post_json("/api/v1/invoices", &json!({ "patient_id": jane_record }))
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    // Pharmacists and admins are billing staff.
    for user in ["pharma", "admin"] {
        let mut client = app.api_client(user).await;
        let list = client.get("/api/v1/invoices").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text());
        assert_eq!(list.json()["items"].as_array().map(Vec::len), Some(2));
    }
    // Without a session: 401.
    let mut anonymous = app.anonymous();
    anonymous
        .get("/api/v1/invoices")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    anonymous
        .get(&format!("/api/v1/invoices/{johns}"))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    anonymous
        .post_json("/api/v1/invoices", &json!({ "patient_id": jane_record }))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // Bad input.
    reception
        .get("/api/v1/invoices?status=owing")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    reception
        .post_json("/api/v1/invoices", &json!({ "patient_id": "nobody" }))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
}

async fn the_price_list_is_kept_by_admins(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let consultation = json!({
        "code": "cons-gp", "kind": "consultation", "label": "GP consultation",
        "appointment_type": "consultation", "fixed_price": "40.00", "tax_rate": "0",
    });
    let entry = created(&mut admin, "/api/v1/prices", &consultation).await;
    assert_eq!(entry["code"], "CONS-GP");
    assert_eq!(entry["fixed_price"], "40.00");
    // One price per code and per appointment type.
    admin
        .post_json("/api/v1/prices", &consultation)
        .await
        .problem(StatusCode::CONFLICT);
    for (body, field) in [
        (
            json!({"code": "X", "kind": "drug", "label": "Drugs", "fixed_price": "1", "markup_percent": "10"}),
            "markup_percent",
        ),
        (
            json!({"code": "X", "kind": "procedure", "label": "Suture", "fixed_price": "ten"}),
            "fixed_price",
        ),
        (
            json!({"code": "X", "kind": "consultation", "label": "C", "fixed_price": "1"}),
            "appointment_type",
        ),
        (
            json!({"code": "X", "kind": "service", "label": "C", "fixed_price": "1"}),
            "kind",
        ),
        (
            json!({"code": "X", "kind": "drug", "label": "D", "drug_id": "nope", "markup_percent": "10"}),
            "drug_id",
        ),
    ] {
        let refused = admin.post_json("/api/v1/prices", &body).await;
        field_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let mut reception = app.api_client("reception").await;
    let list = reception.get("/api/v1/prices").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json()["items"].as_array().map(Vec::len), Some(1));
    reception
        .post_json(
            "/api/v1/prices",
            &json!({"code": "Y", "kind": "other", "label": "Y", "fixed_price": "1"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    app.api_client("nurse")
        .await
        .get("/api/v1/prices")
        .await
        .problem(StatusCode::FORBIDDEN);
    app.anonymous()
        .get("/api/v1/prices")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // A procedure from the price list on an invoice: label, price and tax from the entry.
    let suture = created(
        &mut admin,
        "/api/v1/prices",
        &json!({"code": "PROC-SUT", "kind": "procedure", "label": "Suture", "fixed_price": "12.50", "tax_rate": "20"}),
    )
    .await;
    let id = id_of(&johns_draft(&app, &mut reception).await);
    let with = created(
        &mut reception,
        &format!("/api/v1/invoices/{id}/lines"),
        &json!({"price_id": suture["id"], "quantity": "2"}),
    )
    .await;
    assert_eq!(with["lines"][0]["description"], "Suture");
    assert_eq!(with["totals"]["grand_total"], "30.00");
}

async fn dispensing_and_completed_appointments_are_charged(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    created(
        &mut admin,
        "/api/v1/prices",
        &json!({"code": "DRUGS", "kind": "drug", "label": "Drugs at cost + 50 %", "markup_percent": "50"}),
    )
    .await;
    created(
        &mut admin,
        "/api/v1/prices",
        &json!({"code": "CONS", "kind": "consultation", "label": "Consultation", "appointment_type": "consultation", "fixed_price": "40.00"}),
    )
    .await;
    let pharma = app.actor("pharma").await;
    let metformin = app
        .services
        .create_drug(&pharma, drug("Metformin"))
        .await
        .expect("a drug");
    receive(&app, &pharma, &metformin, "M-1", 200, 10).await; // unit cost 0.10
    let prescription = active_prescription(&app, "Metformin", 6).await;
    let mut pharmacist = app.api_client("pharma").await;
    let dispensed = created(
        &mut pharmacist,
        "/api/v1/dispensations",
        &json!({"prescription_id": prescription, "drug_id": metformin.id, "quantity": 3}),
    )
    .await;
    let invoice_id = dispensed["invoice_id"]
        .as_str()
        .expect("charged")
        .to_owned();
    let bill = invoice(&mut pharmacist, &invoice_id).await;
    assert_eq!(bill["status"], "draft");
    assert_eq!(bill["lines"][0]["source"], "dispensing");
    assert_eq!(bill["lines"][0]["unit_price"], "0.15");
    assert_eq!(bill["lines"][0]["quantity"], "3");
    assert_eq!(bill["totals"]["grand_total"], "0.45");
    assert!(
        bill["lines"][0]["description"]
            .as_str()
            .is_some_and(|d| d.contains("Metformin"))
    );

    // A completed consultation lands on the same open draft.
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let drsmith = user_id(&mut doctor).await;
    let john = john_record(&app).await;
    let appointment = id_of(
        &book(
            &mut reception,
            &booking(&john, &drsmith, &mon("10:00"), &mon("10:15")),
        )
        .await,
    );
    let moved = set_status(&mut reception, &appointment, "checked_in", None).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    for status in ["in_progress", "completed"] {
        let moved = set_status(&mut doctor, &appointment, status, None).await;
        assert_eq!(moved.status, StatusCode::OK, "{status}: {}", moved.text());
    }
    let bill = invoice(&mut reception, &invoice_id).await;
    assert_eq!(bill["lines"].as_array().map(Vec::len), Some(2));
    assert_eq!(bill["lines"][1]["source"], "appointment");
    assert_eq!(
        bill["lines"][1]["description"],
        "Consultation on 2026-03-02"
    );
    assert_eq!(bill["totals"]["grand_total"], "40.45");

    // Both automatic charges and the reads of the invoice are in the audit trail.
    let mut auditor = app.api_client("auditor").await;
    let events = auditor
        .get(&format!(
            "/api/v1/audit/events?resource_type=invoice&resource={invoice_id}&limit=100"
        ))
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text());
    let events = events.json()["events"].as_array().expect("events").clone();
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e["action"] == "update")
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("dispensing of prescription"))
            && reasons.iter().any(|r| r.contains("completed appointment")),
        "{reasons:?}"
    );
    assert!(events.iter().any(|e| e["action"] == "read"));
    assert!(events.iter().all(|e| e["patient_pseudonym"].is_string()));

    // Once issued, the next dispensing opens a new draft.
    ok(
        &mut reception,
        &format!("/api/v1/invoices/{invoice_id}/issue"),
        &json!({}),
    )
    .await;
    let next = created(
        &mut pharmacist,
        "/api/v1/dispensations",
        &json!({"prescription_id": prescription, "drug_id": metformin.id, "quantity": 1}),
    )
    .await;
    let next_invoice = next["invoice_id"].as_str().expect("charged");
    assert_ne!(next_invoice, invoice_id);
    assert_eq!(
        invoice(&mut reception, next_invoice).await["totals"]["grand_total"],
        "0.15"
    );
}

async fn db(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.database_url.as_str())
        .await
        .expect("the test database")
}

/// The sum of an integer column over its rows (summed here: `SUM` types differ by backend).
async fn sum(db: &DatabaseConnection, column: &str, table: &str) -> i64 {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        format!("SELECT {column} FROM {table}"),
    ))
    .await
    .expect("rows")
    .iter()
    .map(|row| match row.try_get_by_index::<i64>(0) {
        Ok(value) => value,
        Err(_) => i64::from(row.try_get_by_index::<i32>(0).expect("a number")),
    })
    .sum()
}

/// What a failed dispensing must not change: stock on hand, the prescription's dispensed
/// quantity, the stock movements, and every invoice (how many, their totals and versions).
async fn snapshot(db: &DatabaseConnection) -> [i64; 5] {
    [
        sum(db, "quantity_on_hand", "stock_batches").await,
        sum(db, "quantity_dispensed", "prescriptions").await,
        sum(db, "1", "invoices").await,
        sum(db, "total_minor", "invoices").await + sum(db, "version", "invoices").await,
        sum(db, "1", "stock_movements").await,
    ]
}

async fn a_failed_charge_undoes_the_whole_dispensing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let pharma = app.actor("pharma").await;
    let metformin = app
        .services
        .create_drug(&pharma, drug("Metformin"))
        .await
        .expect("a drug");
    receive(&app, &pharma, &metformin, "M-1", 200, 10).await;
    let prescription = active_prescription(&app, "Metformin", 6).await;
    let db = db(&app).await;
    let mut pharmacist = app.api_client("pharma").await;
    let dispense = json!({"prescription_id": prescription, "drug_id": metformin.id, "quantity": 2});

    // Behind the server's back, the table of invoice lines disappears: the charge is the
    // last write of the dispensing (after the stock, the prescription and the invoice's
    // totals), so its failure must roll all of them back.
    let sabotage = "ALTER TABLE invoice_lines RENAME TO invoice_lines_away";
    let repair = "ALTER TABLE invoice_lines_away RENAME TO invoice_lines";
    for round in 0..2 {
        let before = snapshot(&db).await;
        db.execute_unprepared(sabotage).await.expect("renamed");
        let failed = pharmacist
            .post_json("/api/v1/dispensations", &dispense)
            .await;
        assert!(
            failed.status.is_server_error(),
            "round {round}: {} {}",
            failed.status,
            failed.text()
        );
        assert!(
            !failed.text().contains("invoice_lines"),
            "no database text leaks"
        );
        db.execute_unprepared(repair).await.expect("renamed back");
        assert_eq!(
            snapshot(&db).await,
            before,
            "round {round}: nothing changed"
        );
        // Repaired, the same dispensing goes through and is charged.
        let done = created(&mut pharmacist, "/api/v1/dispensations", &dispense).await;
        assert!(done["invoice_id"].is_string());
    }
    let after = snapshot(&db).await;
    assert_eq!(after[0], 6, "two dispensings of two");
    assert_eq!(after[1], 4);
    assert_eq!(after[2], 1, "one open draft");
}

async fn concurrent_payments_never_overpay(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut reception = app.api_client("reception").await;
    let id = id_of(&johns_draft(&app, &mut reception).await);
    created(
        &mut reception,
        &format!("/api/v1/invoices/{id}/lines"),
        &json!({"description": "Stay", "quantity": "1", "unit_price": "10.00"}),
    )
    .await;
    ok(
        &mut reception,
        &format!("/api/v1/invoices/{id}/issue"),
        &json!({}),
    )
    .await;
    let staff = app.actor("reception").await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let services = app.services.clone();
        let actor = staff.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            services
                .record_payment(
                    &actor,
                    &id,
                    carevault_service::billing::PaymentRequest {
                        amount: "4.00".into(),
                        method: "cash".into(),
                        reference: None,
                    },
                )
                .await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.expect("ran") {
            Ok(_) => accepted += 1,
            Err(carevault_service::ServiceError::Validation(_)) => {}
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(accepted, 2, "4.00 fits twice into 10.00");
    let bill = invoice(&mut reception, &id).await;
    assert_eq!(bill["totals"]["paid"], "8.00");
    assert_eq!(bill["status"], "partially_paid");
}

on_all_backends!(
    totals_are_exact_and_payments_move_the_status,
    corrections_are_new_lines_and_only_admins_void,
    each_patient_sees_only_their_own_invoices,
    the_price_list_is_kept_by_admins,
    dispensing_and_completed_appointments_are_charged,
    a_failed_charge_undoes_the_whole_dispensing,
    concurrent_payments_never_overpay,
);
