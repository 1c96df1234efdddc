//! Appointments at rest, seen from outside the application: the reason and notes are sealed
//! (marker strings never appear in the database files or dumps), a sealed reason copied into
//! another patient's appointment fails its integrity check (audited) instead of showing the
//! other patient's words, and the slot claims that refuse double bookings are really in the
//! database.

use carevault_service::patients::{Change, PatientInput};
use carevault_service::scheduling::BookingInput;
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;
use crate::patient_storage::{contains, database_contents};

fn patient(given: &str, family: &str) -> PatientInput {
    let set = |v: &str| Change::Set(v.to_owned());
    PatientInput {
        given_name: set(given),
        family_name: set(family),
        date_of_birth: set("1980-01-01"),
        sex: set("female"),
        ..PatientInput::default()
    }
}

fn booking(patient: &str, clinician: &str, start: &str, reason: &str) -> BookingInput {
    BookingInput {
        patient_id: patient.to_owned(),
        clinician_id: clinician.to_owned(),
        start: start.to_owned(),
        reason: reason.to_owned(),
        notes: Some(format!("{reason} notes")),
        ..BookingInput::default()
    }
}

async fn reasons_and_notes_are_sealed_and_claims_are_stored(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let doctor = app.actor("drsmith").await.user_id().unwrap().to_string();
    let alice = app
        .register_patient(&admin, patient("Alice", "Sealed"))
        .await;
    let booked = app
        .services
        .book_appointment(
            &admin,
            booking(
                &alice.id.to_string(),
                &doctor,
                "2026-03-03T10:00:00Z",
                "Qzappointmentmarker",
            ),
        )
        .await
        .expect("booked");
    assert_eq!(booked.reason.as_deref(), Some("Qzappointmentmarker"));

    let contents = database_contents(&app);
    for marker in ["Qzappointmentmarker", "Qzappointmentmarker notes"] {
        assert!(!contains(&contents, marker), "{marker} is in clear");
    }

    // 10:00–10:15 (General Medicine's 15-minute default): three grid cells, held for the
    // clinician and for the patient.
    let db = Database::connect(&app.database_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT owner_kind FROM appointment_slot_claims WHERE appointment_id = '{}'",
                booked.id
            ),
        ))
        .await
        .unwrap();
    let kinds: Vec<String> = rows
        .iter()
        .map(|row| row.try_get("", "owner_kind").unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "c").count(), 3, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "p").count(), 3, "{kinds:?}");

    // Cancelling releases them.
    app.services
        .change_appointment_status(&admin, booked.id, "cancelled", Some("patient called"))
        .await
        .expect("cancelled");
    let left = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT owner_kind FROM appointment_slot_claims WHERE appointment_id = '{}'",
                booked.id
            ),
        ))
        .await
        .unwrap();
    assert!(left.is_empty(), "claims survived the cancellation");
}

on_all_backends!(reasons_and_notes_are_sealed_and_claims_are_stored);

async fn a_sealed_reason_moved_to_another_appointment_fails_its_integrity_check(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let doctor = app.actor("drsmith").await.user_id().unwrap().to_string();
    let alice = app
        .register_patient(&admin, patient("Alice", "Victim"))
        .await;
    let bob = app.register_patient(&admin, patient("Bob", "Target")).await;
    let secret = app
        .services
        .book_appointment(
            &admin,
            booking(
                &alice.id.to_string(),
                &doctor,
                "2026-03-03T10:00:00Z",
                "Alice's private worry",
            ),
        )
        .await
        .expect("booked");
    let other = app
        .services
        .book_appointment(
            &admin,
            booking(
                &bob.id.to_string(),
                &doctor,
                "2026-03-03T11:00:00Z",
                "Routine check",
            ),
        )
        .await
        .expect("booked");

    // A database administrator copies Alice's sealed reason into Bob's appointment.
    let db = Database::connect(&app.database_url).await.unwrap();
    let kind = db.get_database_backend();
    let sql = match kind {
        sea_orm::DbBackend::MySql => {
            "UPDATE appointments AS b JOIN appointments AS a ON a.id = ? SET b.reason = a.reason WHERE b.id = ?"
        }
        sea_orm::DbBackend::Postgres => {
            "UPDATE appointments SET reason = (SELECT reason FROM appointments WHERE id = $1) WHERE id = $2"
        }
        _ => {
            "UPDATE appointments SET reason = (SELECT reason FROM appointments WHERE id = ?) WHERE id = ?"
        }
    };
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            kind,
            sql,
            [secret.id.to_string().into(), other.id.to_string().into()],
        ))
        .await
        .unwrap();
    assert_eq!(result.rows_affected(), 1);

    let mut client = app.api_client("admin").await;
    let response = client
        .get(&format!("/api/v1/appointments/{}", other.id))
        .await;
    let problem = response.problem(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        problem["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("integrity"),
        "{problem}"
    );
    assert!(!response.text().contains("private worry"));

    // Alice's appointment still reads; Bob's failed read is on record.
    let alice_now = app
        .services
        .get_appointment(&admin, secret.id)
        .await
        .expect("alice's appointment reads");
    assert_eq!(alice_now.reason.as_deref(), Some("Alice's private worry"));
    let rows = db
        .query_all_raw(Statement::from_string(
            kind,
            format!(
                "SELECT reason FROM audit_events WHERE resource_id = '{}' AND outcome = 'failed'",
                other.id
            ),
        ))
        .await
        .unwrap();
    assert!(!rows.is_empty(), "the integrity failure was not audited");
}

on_all_backends!(a_sealed_reason_moved_to_another_appointment_fails_its_integrity_check);
