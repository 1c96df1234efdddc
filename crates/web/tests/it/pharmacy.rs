//! Pharmacy through the service: the formulary, stock receipts and adjustments, and
//! dispensing against a prescription — first expiry first out, expired batches never used,
//! partial dispensing, no over-dispensing, and concurrent dispensing that never oversells.

use std::collections::HashMap;
use std::time::Duration;

use carevault_service::encounters::EncounterInput;
use carevault_service::pharmacy::{
    AdjustmentRequest, DispenseRequest, DrugInput, DrugView, ReceiptRequest,
};
use carevault_service::prescriptions::{Prescribed, PrescriptionRequest};
use carevault_service::{Actor, ServiceError};
use chrono::Days;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::john_record;

pub(crate) fn drug(name: &str) -> DrugInput {
    DrugInput {
        name: name.into(),
        generic_name: name.to_lowercase(),
        form: "tablet".into(),
        strength: "500 mg".into(),
        unit: "tablet".into(),
        atc_code: Some("A10BA02".into()),
        reorder_level: "5".into(),
        reorder_quantity: "100".into(),
        active: true,
    }
}

pub(crate) fn in_days(app: &TestApp, days: u64) -> String {
    app.services
        .clinic_today()
        .checked_add_days(Days::new(days))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

pub(crate) async fn receive(
    app: &TestApp,
    actor: &Actor,
    drug: &DrugView,
    batch: &str,
    expiry_in_days: u64,
    quantity: u32,
) -> String {
    app.services
        .receive_stock(
            actor,
            ReceiptRequest {
                drug_id: drug.id.clone(),
                supplier: "Acme Pharma".into(),
                batch_number: batch.into(),
                expiry: in_days(app, expiry_in_days),
                quantity: quantity.to_string(),
                unit_cost: "0.10".into(),
            },
        )
        .await
        .expect("received")
        .id
}

/// An active prescription of `drug_name` for John, written by drsmith.
pub(crate) async fn active_prescription(app: &TestApp, drug_name: &str, quantity: u32) -> String {
    let doctor = app.actor("drsmith").await;
    let john = john_record(app).await;
    let encounter = app
        .services
        .create_encounter(
            &doctor,
            EncounterInput {
                patient_id: john,
                texts: HashMap::from([("chief_complaint".to_owned(), "Thirst".to_owned())]),
                ..EncounterInput::default()
            },
        )
        .await
        .expect("an encounter");
    let mut request = PrescriptionRequest {
        encounter_id: encounter.id.clone(),
        drug_name: drug_name.to_owned(),
        dose: "500 mg".into(),
        route: "oral".into(),
        frequency: "once daily".into(),
        duration_days: "30".into(),
        quantity: quantity.to_string(),
        ..Default::default()
    };
    let mut written = app
        .services
        .prescribe(&doctor, request.clone())
        .await
        .expect("prescribed");
    if let Prescribed::NeedsAcknowledgement(_) = written {
        request.acknowledgement = Some("Intended: a second course".into());
        written = app
            .services
            .prescribe(&doctor, request)
            .await
            .expect("prescribed");
    }
    match written {
        Prescribed::Written(view) => view.id,
        Prescribed::NeedsAcknowledgement(w) => panic!("still warned: {w:?}"),
    }
}

fn dispense_request(prescription: &str, drug: &DrugView, quantity: u32) -> DispenseRequest {
    DispenseRequest {
        prescription_id: prescription.to_owned(),
        drug_id: drug.id.clone(),
        quantity: quantity.to_string(),
    }
}

async fn on_hand(app: &TestApp, actor: &Actor, drug: &DrugView) -> (u64, HashMap<String, u32>) {
    let levels = app.services.stock_levels(actor, 30).await.expect("levels");
    let level = levels
        .into_iter()
        .find(|l| l.drug.id == drug.id)
        .expect("the drug's level");
    let batches = level
        .batches
        .iter()
        .map(|b| (b.batch_number.clone(), b.quantity_on_hand))
        .collect();
    (level.on_hand, batches)
}

fn is_conflict<T: std::fmt::Debug>(result: &Result<T, ServiceError>) -> bool {
    matches!(result, Err(ServiceError::Conflict { .. }))
}

async fn concurrent_dispensing_never_oversells(backend: Backend) {
    let app = TestApp::new(backend).await;
    let pharma = app.actor("pharma").await;
    let metformin = app
        .services
        .create_drug(&pharma, drug("Metformin"))
        .await
        .expect("a drug");
    receive(&app, &pharma, &metformin, "M-1", 200, 10).await;
    let prescription = active_prescription(&app, "Metformin", 30).await;

    let mut tasks = Vec::new();
    for _ in 0..20 {
        let services = app.services.clone();
        let actor = pharma.clone();
        let request = dispense_request(&prescription, &metformin, 1);
        tasks.push(tokio::spawn(async move {
            services.dispense(&actor, request).await
        }));
    }
    let mut succeeded = 0;
    for task in tasks {
        match task.await.expect("the task ran") {
            Ok(done) => {
                assert_eq!(done.quantity, 1);
                succeeded += 1;
            }
            Err(ServiceError::Conflict { message, .. }) => {
                assert!(message.contains("not enough stock"), "{message}");
            }
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(succeeded, 10, "exactly the stock on hand is dispensed");
    let (total, batches) = on_hand(&app, &pharma, &metformin).await;
    assert_eq!(total, 0);
    assert_eq!(batches["M-1"], 0);
    let view = app
        .services
        .get_prescription(&pharma, &prescription)
        .await
        .expect("the prescription");
    assert_eq!(view.quantity_dispensed, 10);
    // And nothing more can be taken.
    assert!(is_conflict(
        &app.services
            .dispense(&pharma, dispense_request(&prescription, &metformin, 1))
            .await
    ));
}

async fn dispensing_is_fefo_partial_and_bounded(backend: Backend) {
    let app = TestApp::new(backend).await;
    let pharma = app.actor("pharma").await;
    let metformin = app
        .services
        .create_drug(&pharma, drug("Metformin"))
        .await
        .expect("a drug");
    // Received first but expiring later: FEFO must not take it first.
    receive(&app, &pharma, &metformin, "LATE", 300, 10).await;
    receive(&app, &pharma, &metformin, "SOON", 60, 4).await;
    let prescription = active_prescription(&app, "Metformin", 12).await;

    // Partial dispensing: 3 of 12, from the earlier-expiring batch.
    let first = app
        .services
        .dispense(&pharma, dispense_request(&prescription, &metformin, 3))
        .await
        .expect("dispensed");
    assert_eq!(first.quantity_dispensed, 3);
    let (_, batches) = on_hand(&app, &pharma, &metformin).await;
    assert_eq!((batches["SOON"], batches["LATE"]), (1, 10));

    // The rest of the earlier batch first, then the later one.
    let second = app
        .services
        .dispense(&pharma, dispense_request(&prescription, &metformin, 4))
        .await
        .expect("dispensed");
    assert_eq!(second.batches.len(), 2);
    assert_eq!(second.batches[0].1, 1);
    assert_eq!(second.batches[1].1, 3);
    let (total, batches) = on_hand(&app, &pharma, &metformin).await;
    assert_eq!((total, batches["SOON"], batches["LATE"]), (7, 0, 7));

    // Over-dispensing: 7 dispensed of 12, 6 more refused, nothing changes.
    let over = app
        .services
        .dispense(&pharma, dispense_request(&prescription, &metformin, 6))
        .await;
    assert!(is_conflict(&over), "{over:?}");
    let (total, _) = on_hand(&app, &pharma, &metformin).await;
    assert_eq!(total, 7);
    let done = app
        .services
        .dispense(&pharma, dispense_request(&prescription, &metformin, 5))
        .await
        .expect("the rest");
    assert_eq!(done.quantity_dispensed, 12);
    assert!(is_conflict(
        &app.services
            .dispense(&pharma, dispense_request(&prescription, &metformin, 1))
            .await
    ));

    // Bad input: zero units, an unknown drug, a drug other than the prescribed one.
    let other = app
        .services
        .create_drug(&pharma, drug("Ibuprofen"))
        .await
        .expect("a drug");
    let second_rx = active_prescription(&app, "Metformin", 5).await;
    for (request, what) in [
        (dispense_request(&second_rx, &metformin, 0), "zero"),
        (dispense_request(&second_rx, &other, 1), "another drug"),
        (
            DispenseRequest {
                drug_id: "nope".into(),
                ..dispense_request(&second_rx, &metformin, 1)
            },
            "unknown drug",
        ),
    ] {
        let refused = app.services.dispense(&pharma, request).await;
        assert!(
            matches!(refused, Err(ServiceError::Validation(_))),
            "{what}: {refused:?}"
        );
    }
}

async fn expired_batches_are_never_dispensed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let pharma = app.actor("pharma").await;
    let metformin = app
        .services
        .create_drug(&pharma, drug("Metformin"))
        .await
        .expect("a drug");
    receive(&app, &pharma, &metformin, "OLD", 2, 5).await;
    receive(&app, &pharma, &metformin, "NEW", 100, 3).await;
    // A receipt already expired is refused.
    let expired_receipt = app
        .services
        .receive_stock(
            &pharma,
            ReceiptRequest {
                drug_id: metformin.id.clone(),
                supplier: "Acme".into(),
                batch_number: "X".into(),
                expiry: in_days(&app, 0),
                quantity: "5".into(),
                unit_cost: "1.00".into(),
            },
        )
        .await;
    assert!(matches!(expired_receipt, Err(ServiceError::Validation(_))));
    let prescription = active_prescription(&app, "Metformin", 10).await;

    // Two days on, the OLD batch has expired.
    app.clock.advance(Duration::from_secs(2 * 24 * 3600));
    let levels = app.services.stock_levels(&pharma, 30).await.unwrap();
    let level = levels.iter().find(|l| l.drug.id == metformin.id).unwrap();
    assert_eq!((level.on_hand, level.usable), (8, 3));
    assert!(
        level.reorder_needed,
        "3 usable is at or below the level of 5"
    );
    assert_eq!(level.expired.len(), 1);

    let short = app
        .services
        .dispense(&pharma, dispense_request(&prescription, &metformin, 4))
        .await;
    assert!(is_conflict(&short), "only 3 usable: {short:?}");
    let done = app
        .services
        .dispense(&pharma, dispense_request(&prescription, &metformin, 3))
        .await
        .expect("dispensed");
    assert_eq!(done.batches.len(), 1);
    let (_, batches) = on_hand(&app, &pharma, &metformin).await;
    assert_eq!((batches["OLD"], batches["NEW"]), (5, 0));
}

async fn adjustments_need_a_reason_and_stay_above_zero(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let metformin = app
        .services
        .create_drug(&admin, drug("Metformin"))
        .await
        .expect("admins manage the formulary");
    let batch = receive(&app, &admin, &metformin, "B-1", 100, 5).await;
    let adjust = |kind: &str, quantity: &str, reason: &str| AdjustmentRequest {
        batch_id: batch.clone(),
        kind: kind.into(),
        quantity: quantity.into(),
        reason: reason.into(),
    };
    for (request, what) in [
        (adjust("damage", "1", ""), "no reason"),
        (
            adjust("count_correction", "-6", "Counted the shelf"),
            "below zero",
        ),
        (
            adjust("damage", "6", "Dropped the box"),
            "damage below zero",
        ),
        (
            adjust("expiry_write_off", "1", "Out of date"),
            "not expired",
        ),
        (adjust("count_correction", "0", "Counted the shelf"), "zero"),
    ] {
        let refused = app.services.adjust_stock(&admin, request).await;
        assert!(
            matches!(refused, Err(ServiceError::Validation(_))),
            "{what}: {refused:?}"
        );
    }
    let (total, _) = on_hand(&app, &admin, &metformin).await;
    assert_eq!(total, 5, "nothing written");
    let after = app
        .services
        .adjust_stock(&admin, adjust("damage", "2", "Two tablets crushed"))
        .await
        .expect("adjusted");
    assert_eq!(after.quantity_on_hand, 3);
    let after = app
        .services
        .adjust_stock(&admin, adjust("count_correction", "+4", "Found a box"))
        .await
        .expect("adjusted");
    assert_eq!(after.quantity_on_hand, 7);
    let after = app
        .services
        .adjust_stock(&admin, adjust("count_correction", "-7", "Shelf is empty"))
        .await
        .expect("adjusted");
    assert_eq!(after.quantity_on_hand, 0);

    // A duplicate drug (same name and strength) is a conflict.
    assert!(is_conflict(
        &app.services.create_drug(&admin, drug("Metformin")).await
    ));
}

async fn only_pharmacy_and_admins_manage_stock(backend: Backend) {
    let app = TestApp::new(backend).await;
    let pharma = app.actor("pharma").await;
    let admin = app.actor("admin").await;
    let metformin = app
        .services
        .create_drug(&pharma, drug("Metformin"))
        .await
        .expect("pharmacists manage the formulary");
    let batch = receive(&app, &pharma, &metformin, "B-1", 100, 5).await;
    receive(&app, &admin, &metformin, "B-2", 100, 5).await;
    app.services.list_drugs(&admin, true).await.expect("admin");
    app.services.stock_levels(&admin, 30).await.expect("admin");
    let prescription = active_prescription(&app, "Metformin", 10).await;

    for username in ["drsmith", "nurse", "reception", "john", "auditor"] {
        let actor = app.actor(username).await;
        let forbidden = |r: Result<(), ServiceError>, what: &str| {
            assert!(
                matches!(r, Err(ServiceError::Forbidden)),
                "{username} {what}: {r:?}"
            );
        };
        forbidden(
            app.services
                .create_drug(&actor, drug("Aspirin"))
                .await
                .map(|_| ()),
            "create_drug",
        );
        forbidden(
            app.services
                .update_drug(&actor, &metformin.id, drug("Metformin"))
                .await
                .map(|_| ()),
            "update_drug",
        );
        forbidden(
            app.services.list_drugs(&actor, false).await.map(|_| ()),
            "list_drugs",
        );
        forbidden(
            app.services.stock_levels(&actor, 30).await.map(|_| ()),
            "stock_levels",
        );
        forbidden(
            app.services
                .receive_stock(
                    &actor,
                    ReceiptRequest {
                        drug_id: metformin.id.clone(),
                        supplier: "Acme".into(),
                        batch_number: "Z".into(),
                        expiry: in_days(&app, 100),
                        quantity: "1".into(),
                        unit_cost: "1.00".into(),
                    },
                )
                .await
                .map(|_| ()),
            "receive_stock",
        );
        forbidden(
            app.services
                .adjust_stock(
                    &actor,
                    AdjustmentRequest {
                        batch_id: batch.clone(),
                        kind: "damage".into(),
                        quantity: "1".into(),
                        reason: "Broken tablets".into(),
                    },
                )
                .await
                .map(|_| ()),
            "adjust_stock",
        );
        forbidden(
            app.services
                .dispense(&actor, dispense_request(&prescription, &metformin, 1))
                .await
                .map(|_| ()),
            "dispense",
        );
    }
    // Admins manage stock but do not dispense: that is the pharmacist's.
    assert!(matches!(
        app.services
            .dispense(&admin, dispense_request(&prescription, &metformin, 1))
            .await,
        Err(ServiceError::Forbidden)
    ));
    let (total, _) = on_hand(&app, &pharma, &metformin).await;
    assert_eq!(total, 10, "nothing changed by the refused calls");
    app.services
        .dispense(&pharma, dispense_request(&prescription, &metformin, 1))
        .await
        .expect("the pharmacist dispenses");
}

async fn the_json_api_receives_adjusts_and_dispenses(backend: Backend) {
    use axum::http::StatusCode;
    use serde_json::json;
    let app = TestApp::new(backend).await;
    let mut pharma = app.api_client("pharma").await;
    let created = pharma
        .post_json(
            "/api/v1/drugs",
            &json!({"name": "Metformin", "generic_name": "metformin", "form": "tablet",
                    "strength": "500 mg", "unit": "tablet", "reorder_level": 5}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let drug_id = created.json()["id"].as_str().unwrap().to_owned();
    let listed = pharma.get("/api/v1/drugs").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()["items"].as_array().unwrap().len(), 1);

    let receipt = |expiry: String, quantity: serde_json::Value| {
        json!({"drug_id": drug_id, "supplier": "Acme", "batch_number": "B-1",
               "expiry": expiry, "quantity": quantity, "unit_cost": "0.10"})
    };
    for bad in [
        receipt(in_days(&app, 100), json!(-3)),
        receipt(in_days(&app, 0), json!(3)),
        receipt(in_days(&app, 100), json!("lots")),
    ] {
        let refused = pharma.post_json("/api/v1/stock/receipts", &bad).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text()
        );
    }
    let received = pharma
        .post_json(
            "/api/v1/stock/receipts",
            &receipt(in_days(&app, 100), json!(5)),
        )
        .await;
    assert_eq!(received.status, StatusCode::CREATED, "{}", received.text());
    assert_eq!(received.json()["unit_cost"], "0.10");
    let batch_id = received.json()["id"].as_str().unwrap().to_owned();

    let below = pharma
        .post_json(
            "/api/v1/stock/adjustments",
            &json!({"batch_id": batch_id, "kind": "damage", "quantity": 9,
                    "reason": "Dropped the box"}),
        )
        .await;
    assert_eq!(
        below.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        below.text()
    );
    let adjusted = pharma
        .post_json(
            "/api/v1/stock/adjustments",
            &json!({"batch_id": batch_id, "kind": "damage", "quantity": 1,
                    "reason": "Dropped one tablet"}),
        )
        .await;
    assert_eq!(adjusted.status, StatusCode::OK, "{}", adjusted.text());
    assert_eq!(adjusted.json()["quantity_on_hand"], 4);

    let prescription = active_prescription(&app, "Metformin", 10).await;
    let dispense = |quantity: u32| json!({"prescription_id": prescription, "drug_id": drug_id, "quantity": quantity});
    let mut nurse = app.api_client("nurse").await;
    let refused = nurse.post_json("/api/v1/dispensations", &dispense(1)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = nurse.get("/api/v1/drugs").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let short = pharma
        .post_json("/api/v1/dispensations", &dispense(5))
        .await;
    assert_eq!(short.status, StatusCode::CONFLICT, "{}", short.text());
    let done = pharma
        .post_json("/api/v1/dispensations", &dispense(4))
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    assert_eq!(done.json()["quantity_dispensed"], 4);
}

on_all_backends!(
    the_json_api_receives_adjusts_and_dispenses,
    concurrent_dispensing_never_oversells,
    dispensing_is_fefo_partial_and_bounded,
    expired_batches_are_never_dispensed,
    adjustments_need_a_reason_and_stay_above_zero,
    only_pharmacy_and_admins_manage_stock,
);
