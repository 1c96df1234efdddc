//! The scheduling pages, through the browser-like clients: who may open which page (sign-in
//! redirects, 403s), patients kept to their own appointments (IDOR), bad input shown next to
//! its field with nothing written, a double booking answered with the conflict and the next
//! free slots, a doctor seeing another doctor's patients only by pseudonym, the desk and
//! "my day" status buttons, patients' requests and cancellations, the departments and staff
//! forms, and the report's SVG chart and CSV.
//!
//! The clock starts on Monday 2026-03-02 at 09:00 UTC; the clinic's time zone is UTC. Dr.
//! Smith works Monday to Friday 08:00–12:00 and 13:00–17:00 in General Medicine (15-minute
//! slots).

use axum::http::StatusCode;
use carevault_core::appointment::AppointmentStatus;
use carevault_core::{DepartmentId, PatientId, UserId};
use carevault_service::Actor;
use carevault_service::patients::{Change, PatientInput};
use carevault_service::scheduling::{
    AppointmentQuery, AppointmentView, BookingInput, StaffProfileInput,
};
use carevault_service::users::NewAccount;

use crate::harness::{Backend, TestApp, TestResponse};
use crate::on_all_backends;

/// The password of the accounts these tests create.
const PASSWORD: &str = "correct-horse-battery-9";

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

/// The ids every test needs.
struct Ids {
    john: PatientId,
    drsmith: UserId,
    nurse: UserId,
    general: DepartmentId,
}

async fn ids(app: &TestApp) -> Ids {
    let admin = app.actor("admin").await;
    let staff = app.services.staff_directory(&admin).await.expect("staff");
    let user = |name: &str| {
        staff
            .iter()
            .find(|s| s.username == name)
            .map(|s| s.id)
            .expect("a demo clinician")
    };
    let general = app
        .services
        .departments(&admin)
        .await
        .expect("departments")
        .into_iter()
        .find(|d| d.code == "GEN")
        .expect("GEN")
        .id;
    let john = app.actor("john").await;
    let (record, _) = app
        .services
        .my_patient_page(&john)
        .await
        .expect("john's record")
        .expect("linked");
    Ids {
        john: record.id,
        drsmith: user("drsmith"),
        nurse: user("nurse"),
        general,
    }
}

fn person(given: &str, family: &str) -> PatientInput {
    let set = |v: &str| Change::Set(v.to_owned());
    PatientInput {
        given_name: set(given),
        family_name: set(family),
        date_of_birth: set("1984-05-06"),
        sex: set("female"),
        ..PatientInput::default()
    }
}

async fn create_account(app: &TestApp, username: &str, display: &str, role: &str) -> UserId {
    let admin = app.actor("admin").await;
    app.services
        .create_account(
            &admin,
            NewAccount {
                username: username.into(),
                display_name: display.into(),
                role: role.into(),
                password: secrecy::SecretString::from(PASSWORD),
            },
        )
        .await
        .expect("an account")
        .id
}

/// A second patient, Jane, with her own portal account linked to her record.
async fn jane(app: &TestApp) -> PatientId {
    let admin = app.actor("admin").await;
    create_account(app, "jane", "Jane Otherpatient", "patient").await;
    let reception = app.actor("reception").await;
    let record = app
        .register_patient(&reception, person("Jane", "Otherpatient"))
        .await;
    app.services
        .link_patient_account(&admin, record.id, "jane")
        .await
        .expect("linked");
    record.id
}

/// A second doctor in General Medicine.
async fn drjones(app: &TestApp, general: DepartmentId) -> UserId {
    let id = create_account(app, "drjones", "Dr. Jonas Jones", "doctor").await;
    let admin = app.actor("admin").await;
    app.services
        .update_staff_profile(
            &admin,
            id,
            StaffProfileInput {
                department_id: Some(general.to_string()),
                specialty: Some("Internal medicine".into()),
                work_phone: None,
                working_hours: Some("mon-fri 08:00-17:00".into()),
                active: true,
            },
        )
        .await
        .expect("a profile");
    id
}

async fn book(
    app: &TestApp,
    actor: &Actor,
    patient: PatientId,
    clinician: UserId,
    start: &str,
    reason: &str,
) -> AppointmentView {
    app.services
        .book_appointment(
            actor,
            BookingInput {
                patient_id: patient.to_string(),
                clinician_id: clinician.to_string(),
                start: start.into(),
                reason: reason.into(),
                ..BookingInput::default()
            },
        )
        .await
        .expect("booked")
}

async fn appointment_count(app: &TestApp) -> usize {
    let admin = app.actor("admin").await;
    app.services
        .list_appointments(&admin, AppointmentQuery::default())
        .await
        .expect("a list")
        .len()
}

// ---------------------------------------------------------------------------------------

async fn pages_send_visitors_without_a_session_to_sign_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let reception = app.actor("reception").await;
    let a = book(
        &app,
        &reception,
        ids.john,
        ids.drsmith,
        "2026-03-03T10:00:00Z",
        "Check-up",
    )
    .await;
    let mut anonymous = app.anonymous();
    for path in [
        "/departments".to_owned(),
        format!("/departments/{}/edit", ids.general),
        "/staff".to_owned(),
        format!("/staff/{}/edit", ids.drsmith),
        format!("/appointments/new?patient={}", ids.john),
        format!("/appointments/{}", a.id),
        "/appointments/requests".to_owned(),
        "/appointments/report".to_owned(),
        "/appointments/report.csv".to_owned(),
        "/schedule".to_owned(),
        "/my/day".to_owned(),
        "/desk".to_owned(),
        "/my/appointments".to_owned(),
    ] {
        let response = anonymous.get(&path).await;
        assert_redirect(&response, "/login", &path);
    }
    // A form post without a session changes nothing.
    let before = appointment_count(&app).await;
    let response = anonymous
        .post_form(
            &format!("/appointments/{}/status", a.id),
            &[("status", "cancelled"), ("reason", "x")],
        )
        .await;
    assert!(
        response.status == StatusCode::SEE_OTHER || response.status == StatusCode::FORBIDDEN,
        "{}",
        response.status
    );
    let view = app
        .services
        .get_appointment(&reception, a.id)
        .await
        .expect("still there");
    assert_eq!(view.status, AppointmentStatus::Scheduled);
    assert_eq!(appointment_count(&app).await, before);
}

async fn pages_refuse_roles_they_are_not_for(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let reception = app.actor("reception").await;
    let a = book(
        &app,
        &reception,
        ids.john,
        ids.drsmith,
        "2026-03-03T10:00:00Z",
        "Check-up",
    )
    .await;
    let appointment = format!("/appointments/{}", a.id);

    let mut pharma = app.browser("pharma").await;
    for path in [
        "/schedule",
        "/my/day",
        "/desk",
        "/appointments/requests",
        appointment.as_str(),
        "/appointments/report",
        "/my/appointments",
    ] {
        assert_page(&pharma.get(path).await, StatusCode::FORBIDDEN, path);
    }
    let mut auditor = app.browser("auditor").await;
    assert_page(&auditor.get("/staff").await, StatusCode::FORBIDDEN, "staff");

    let mut doctor = app.browser("drsmith").await;
    for path in ["/appointments/report", "/appointments/report.csv"] {
        assert_page(&doctor.get(path).await, StatusCode::FORBIDDEN, path);
    }
    assert_page(
        &doctor.get("/my/appointments").await,
        StatusCode::FORBIDDEN,
        "a doctor's own appointments as a patient",
    );

    // A nurse does not book: neither the form nor the post.
    let mut nurse = app.browser("nurse").await;
    assert_page(
        &nurse
            .get(&format!("/appointments/new?patient={}", ids.john))
            .await,
        StatusCode::FORBIDDEN,
        "nurse booking form",
    );
    let before = appointment_count(&app).await;
    let response = nurse
        .post_form(
            "/appointments/new",
            &[
                ("patient_id", &ids.john.to_string()),
                ("clinician_id", &ids.nurse.to_string()),
                ("start", "2026-03-03T11:00"),
                ("reason", "Dressing"),
            ],
        )
        .await;
    assert_page(&response, StatusCode::FORBIDDEN, "nurse booking");
    assert_eq!(appointment_count(&app).await, before);

    // Departments and staff profiles are the administrator's.
    let mut desk = app.browser("reception").await;
    for path in [
        format!("/departments/{}/edit", ids.general),
        format!("/staff/{}/edit", ids.drsmith),
    ] {
        assert_page(&desk.get(&path).await, StatusCode::FORBIDDEN, &path);
    }
    let response = desk
        .post_form(
            "/departments",
            &[("code", "ORTH"), ("name", "Orthopaedics"), ("active", "on")],
        )
        .await;
    assert_page(
        &response,
        StatusCode::FORBIDDEN,
        "reception creates a department",
    );
    let response = desk
        .post_form(
            &format!("/staff/{}/edit", ids.drsmith),
            &[("working_hours", "mon 08:00-09:00"), ("active", "on")],
        )
        .await;
    assert_page(
        &response,
        StatusCode::FORBIDDEN,
        "reception edits a profile",
    );
    // Reception may see the report.
    assert_page(
        &desk.get("/appointments/report").await,
        StatusCode::OK,
        "report",
    );

    // A patient sees neither the report nor the booking form.
    let mut john = app.browser("john").await;
    for path in [
        "/appointments/report".to_owned(),
        format!("/appointments/new?patient={}", ids.john),
    ] {
        assert_page(&john.get(&path).await, StatusCode::FORBIDDEN, &path);
    }
}

async fn patients_reach_only_their_own_appointments(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let jane = jane(&app).await;
    let reception = app.actor("reception").await;
    let own = book(
        &app,
        &reception,
        ids.john,
        ids.drsmith,
        "2026-03-04T10:00:00Z",
        "Johnsreasonmark",
    )
    .await;
    let other = book(
        &app,
        &reception,
        jane,
        ids.drsmith,
        "2026-03-04T11:00:00Z",
        "Janesreasonmark",
    )
    .await;

    let mut john = app.browser("john").await;
    let page = assert_page(
        &john.get(&format!("/appointments/{}", own.id)).await,
        StatusCode::OK,
        "john's own",
    );
    assert!(page.contains("Johnsreasonmark"));

    let response = john.get(&format!("/appointments/{}", other.id)).await;
    let page = assert_page(&response, StatusCode::FORBIDDEN, "jane's appointment");
    assert!(!page.contains("Janesreasonmark") && !page.contains("Otherpatient"));

    // Not even an id that does not exist tells a patient more.
    let response = john
        .get("/appointments/0190aaaa-aaaa-7aaa-8aaa-aaaaaaaaaaaa")
        .await;
    assert_page(&response, StatusCode::FORBIDDEN, "an unknown appointment");

    for (path, fields) in [
        (
            format!("/appointments/{}/status", other.id),
            vec![("status", "cancelled"), ("reason", "not mine")],
        ),
        (
            format!("/appointments/{}/reschedule", other.id),
            vec![("start", "2026-03-05T10:00")],
        ),
        (
            format!("/appointments/{}/accept", other.id),
            vec![("start", "2026-03-05T10:00")],
        ),
    ] {
        let response = john.post_form(&path, &fields).await;
        assert_page(&response, StatusCode::FORBIDDEN, &path);
    }
    let still = app
        .services
        .get_appointment(&reception, other.id)
        .await
        .expect("jane's");
    assert_eq!(still.status, AppointmentStatus::Scheduled);
    assert_eq!(still.start, other.start);

    let list = assert_page(
        &john.get("/my/appointments").await,
        StatusCode::OK,
        "john's list",
    );
    assert!(list.contains(&own.id.to_string()));
    assert!(!list.contains(&other.id.to_string()));
}

async fn bad_input_is_shown_next_to_its_field_and_nothing_is_written(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let mut desk = app.browser("reception").await;
    let john = ids.john.to_string();
    let drsmith = ids.drsmith.to_string();

    let form = assert_page(
        &desk.get(&format!("/appointments/new?patient={john}")).await,
        StatusCode::OK,
        "booking form",
    );
    assert!(form.contains("John Patient"));
    assert!(form.contains("name=\"csrf_token\""));

    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("start", "next tuesday"), ("reason", "Check-up")],
            "start-error",
        ),
        (
            &[("start", "2026-03-03T10:00"), ("reason", "")],
            "reason-error",
        ),
        (
            &[
                ("start", "2026-03-03T10:00"),
                ("duration_minutes", "1576800"),
                ("reason", "Check-up"),
            ],
            "duration_minutes-error",
        ),
        (
            &[("start", "2026-02-27T10:00"), ("reason", "In the past")],
            "start-error",
        ),
        (
            &[("start", "2026-03-03T20:00"), ("reason", "After hours")],
            "start-error",
        ),
    ];
    for (fields, error) in cases {
        let mut all = vec![
            ("patient_id", john.as_str()),
            ("clinician_id", drsmith.as_str()),
        ];
        all.extend_from_slice(fields);
        let response = desk.post_form("/appointments/new", &all).await;
        let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, error);
        assert!(page.contains(&format!("id=\"{error}\"")), "{error}: {page}");
        assert!(page.contains("aria-invalid=\"true\""));
    }
    // An unknown clinician.
    let response = desk
        .post_form(
            "/appointments/new",
            &[
                ("patient_id", john.as_str()),
                ("clinician_id", "0190aaaa-aaaa-7aaa-8aaa-aaaaaaaaaaaa"),
                ("start", "2026-03-03T10:00"),
                ("reason", "Check-up"),
            ],
        )
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "clinician");
    assert!(page.contains("id=\"clinician_id-error\""), "{page}");
    assert_eq!(appointment_count(&app).await, 0, "nothing was booked");

    // The booking form without a patient is a clear 4xx, not a 500.
    let response = desk.get("/appointments/new?patient=nobody").await;
    assert!(response.status.is_client_error(), "{}", response.status);

    // Departments: a bad code is shown next to the field.
    let mut admin = app.browser("admin").await;
    let response = admin
        .post_form(
            "/departments",
            &[("code", "no spaces!"), ("name", "X"), ("slot_minutes", "7")],
        )
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "department");
    for id in ["code-error", "name-error", "slot_minutes-error"] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
    }
    let admin_actor = app.actor("admin").await;
    assert_eq!(
        app.services
            .departments(&admin_actor)
            .await
            .expect("list")
            .len(),
        3
    );

    // Staff profiles: bad working hours.
    let response = admin
        .post_form(
            &format!("/staff/{drsmith}/edit"),
            &[("working_hours", "someday 25:00-26:00"), ("active", "on")],
        )
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "profile");
    assert!(page.contains("id=\"working_hours-error\""), "{page}");
    let member = app
        .services
        .staff_member(&admin_actor, ids.drsmith)
        .await
        .expect("drsmith");
    assert_eq!(
        member.working_hours.as_deref(),
        Some("mon-fri 08:00-12:00,13:00-17:00")
    );

    // Calendar and report parameters.
    let response = desk.get("/schedule?date=yesterday&view=month").await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "schedule");
    assert!(page.contains("id=\"date-error\"") && page.contains("id=\"view-error\""));
    let response = desk
        .get("/appointments/report?from=2026-03-10&to=2026-03-01")
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "report");
    assert!(page.contains("id=\"to-error\""), "{page}");
    let response = desk.get("/appointments/report?from=garbage").await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "report");
    assert!(page.contains("id=\"from-error\""), "{page}");

    // A patient's request with no reason and a malformed time.
    let mut john_client = app.browser("john").await;
    let response = john_client
        .post_form(
            "/my/appointments",
            &[
                ("department_id", &ids.general.to_string()),
                ("start", "soon"),
            ],
        )
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "request");
    assert!(page.contains("id=\"start-error\"") || page.contains("id=\"reason-error\""));
    assert_eq!(appointment_count(&app).await, 0, "nothing was requested");

    // Cancelling needs a reason.
    let reception = app.actor("reception").await;
    let a = book(
        &app,
        &reception,
        ids.john,
        ids.drsmith,
        "2026-03-03T10:00:00Z",
        "Check-up",
    )
    .await;
    let response = desk
        .post_form(
            &format!("/appointments/{}/status", a.id),
            &[("status", "cancelled"), ("reason", " ")],
        )
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "cancel");
    assert!(page.contains("id=\"reason-error\""), "{page}");
    // A status that does not exist, and one the graph does not allow.
    let response = desk
        .post_form(
            &format!("/appointments/{}/status", a.id),
            &[("status", "teleported")],
        )
        .await;
    assert_page(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown status",
    );
    let response = desk
        .post_form(
            &format!("/appointments/{}/status", a.id),
            &[("status", "completed")],
        )
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "not allowed");
    assert!(page.contains("scheduled"), "{page}");
    let view = app
        .services
        .get_appointment(&reception, a.id)
        .await
        .expect("the appointment");
    assert_eq!(view.status, AppointmentStatus::Scheduled);
}

async fn a_double_booking_shows_the_conflict_and_the_next_free_slots(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let jane = jane(&app).await;
    let mut desk = app.browser("reception").await;
    let john = ids.john.to_string();
    let drsmith = ids.drsmith.to_string();

    let response = desk
        .post_form(
            "/appointments/new",
            &[
                ("patient_id", &john),
                ("clinician_id", &drsmith),
                ("start", "2026-03-03T10:00"),
                ("type", "follow_up"),
                ("reason", "Blood pressure review"),
            ],
        )
        .await;
    assert_redirect(&response, "/appointments/", "first booking");
    let location = response.location().expect("a location").to_owned();
    let page = assert_page(&desk.get(&location).await, StatusCode::OK, "booked");
    assert!(page.contains("The appointment has been booked."));
    assert!(page.contains("2026-03-03 10:00"));
    assert!(page.contains("Blood pressure review"));

    // Jane at the same time with the same doctor.
    let response = desk
        .post_form(
            "/appointments/new",
            &[
                ("patient_id", &jane.to_string()),
                ("clinician_id", &drsmith),
                ("start", "2026-03-03T10:05"),
                ("duration_minutes", "15"),
                ("reason", "Rash"),
                ("notes", "Keep these notes"),
            ],
        )
        .await;
    let page = assert_page(&response, StatusCode::CONFLICT, "double booking");
    assert!(page.contains("id=\"start-error\""), "{page}");
    assert!(page.contains("That time is already taken"));
    assert!(page.contains("data-conflict=\"clinician\""), "{page}");
    assert!(page.contains("10:00–10:15"), "the conflicting slot: {page}");
    assert!(
        page.contains("name=\"prefill_start\" value=\"2026-03-03T10:15\""),
        "the next free slot: {page}"
    );
    assert!(
        page.contains("Keep these notes"),
        "the form keeps its input"
    );
    assert_eq!(appointment_count(&app).await, 1);

    // Picking a free slot fills the form in, and books nothing yet.
    let response = desk
        .post_form(
            "/appointments/new",
            &[
                ("patient_id", &jane.to_string()),
                ("clinician_id", &drsmith),
                ("start", "2026-03-03T10:05"),
                ("reason", "Rash"),
                ("prefill_start", "2026-03-03T10:15"),
            ],
        )
        .await;
    let page = assert_page(&response, StatusCode::OK, "prefilled");
    assert!(page.contains("value=\"2026-03-03T10:15\""), "{page}");
    assert_eq!(appointment_count(&app).await, 1);
    let response = desk
        .post_form(
            "/appointments/new",
            &[
                ("patient_id", &jane.to_string()),
                ("clinician_id", &drsmith),
                ("start", "2026-03-03T10:15"),
                ("reason", "Rash"),
            ],
        )
        .await;
    assert_redirect(&response, "/appointments/", "the free slot");
    assert_eq!(appointment_count(&app).await, 2);

    // The same patient with another clinician at an overlapping time.
    let jones = drjones(&app, ids.general).await;
    let response = desk
        .post_form(
            "/appointments/new",
            &[
                ("patient_id", &john),
                ("clinician_id", &jones.to_string()),
                ("start", "2026-03-03T10:00"),
                ("reason", "Second opinion"),
            ],
        )
        .await;
    let page = assert_page(&response, StatusCode::CONFLICT, "patient double booking");
    assert!(page.contains("data-conflict=\"patient\""), "{page}");
    assert_eq!(appointment_count(&app).await, 2);
}

async fn a_doctor_sees_another_doctors_patients_by_pseudonym(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let jones = drjones(&app, ids.general).await;
    let reception = app.actor("reception").await;
    let stranger = app
        .register_patient(&reception, person("Quentin", "Maskmarkfamily"))
        .await;
    let a = book(
        &app,
        &reception,
        stranger.id,
        jones,
        "2026-03-03T10:00:00Z",
        "Maskmarkreason",
    )
    .await;

    let mut smith = app.browser("drsmith").await;
    for path in [
        format!("/schedule?clinician={jones}&date=2026-03-03"),
        format!("/schedule?clinician={jones}&date=2026-03-03&view=week"),
        format!("/schedule?department={}&date=2026-03-03", ids.general),
    ] {
        let page = assert_page(&smith.get(&path).await, StatusCode::OK, &path);
        assert!(page.contains("ANON_"), "{path}: {page}");
        assert!(!page.contains("Maskmark"), "{path} leaks the name");
        assert!(page.contains("10:00–10:15"));
    }
    let page = assert_page(
        &smith.get(&format!("/appointments/{}", a.id)).await,
        StatusCode::OK,
        "the appointment",
    );
    assert!(
        page.contains("ANON_") && !page.contains("Maskmark"),
        "{page}"
    );
    assert!(!page.contains("data-field=\"notes\""));

    // Dr. Jones sees their own patient by name.
    let mut jones_client = app.anonymous();
    jones_client.sign_in_through_form("drjones", PASSWORD).await;
    jones_client.refresh_form_token().await;
    let page = assert_page(
        &jones_client
            .get("/schedule?date=2026-03-03&view=week")
            .await,
        StatusCode::OK,
        "own calendar",
    );
    assert!(page.contains("Maskmarkfamily"), "{page}");
    assert!(!page.contains("ANON_"));
}

async fn desk_and_my_day_move_appointments_along(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let reception = app.actor("reception").await;
    let today = book(
        &app,
        &reception,
        ids.john,
        ids.drsmith,
        "2026-03-02T10:00:00Z",
        "Today's visit",
    )
    .await;
    let mut desk = app.browser("reception").await;
    let page = assert_page(&desk.get("/desk").await, StatusCode::OK, "desk");
    assert!(page.contains("John Patient") && page.contains("Dr. Sarah Smith"));
    assert!(page.contains("data-action=\"checked_in\""), "{page}");
    let response = desk
        .post_form(
            &format!("/appointments/{}/status", today.id),
            &[("status", "checked_in"), ("return_to", "/desk")],
        )
        .await;
    assert_redirect(&response, "/desk?notice=status-changed", "check in");

    // A return address outside the list goes back to the appointment instead.
    let mut smith = app.browser("drsmith").await;
    let page = assert_page(&smith.get("/my/day").await, StatusCode::OK, "my day");
    assert!(page.contains("John Patient") && page.contains("Checked in"));
    // The doctor's Start opens the encounter; the row links to the patient's chart.
    assert!(page.contains("data-action=\"start-encounter\""), "{page}");
    assert!(
        page.contains(&format!("action=\"/appointments/{}/start\"", today.id)),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"/patients/{}\"", ids.john)),
        "{page}"
    );
    let response = smith
        .post_form(
            &format!("/appointments/{}/status", today.id),
            &[
                ("status", "in_progress"),
                ("return_to", "https://evil.example/"),
            ],
        )
        .await;
    assert_redirect(
        &response,
        &format!("/appointments/{}?notice=status-changed", today.id),
        "start",
    );
    let response = smith
        .post_form(
            &format!("/appointments/{}/status", today.id),
            &[("status", "completed"), ("return_to", "/my/day")],
        )
        .await;
    assert_redirect(&response, "/my/day", "complete");
    let view = app
        .services
        .get_appointment(&reception, today.id)
        .await
        .expect("the appointment");
    assert_eq!(view.status, AppointmentStatus::Completed);

    // The calendar defaults to the clinician's own day.
    let page = assert_page(&smith.get("/schedule").await, StatusCode::OK, "schedule");
    assert!(page.contains("Dr. Sarah Smith") && page.contains("10:00–10:15"));
    assert!(page.contains("date=2026-03-01") && page.contains("date=2026-03-03"));

    // The reschedule form moves an appointment.
    let later = book(
        &app,
        &reception,
        ids.john,
        ids.drsmith,
        "2026-03-05T09:00:00Z",
        "Follow-up",
    )
    .await;
    let page = assert_page(
        &desk.get(&format!("/appointments/{}", later.id)).await,
        StatusCode::OK,
        "appointment",
    );
    let seen = crate::harness::hidden_field(&page, "seen").expect("a version");
    let response = desk
        .post_form(
            &format!("/appointments/{}/reschedule", later.id),
            &[("start", "2026-03-05T11:00"), ("seen", &seen)],
        )
        .await;
    assert_redirect(&response, "/appointments/", "reschedule");
    let view = app
        .services
        .get_appointment(&reception, later.id)
        .await
        .expect("moved");
    assert_eq!(view.start.to_rfc3339(), "2026-03-05T11:00:00+00:00");
}

async fn patients_request_and_cancel_and_see_the_outcome(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let mut john = app.browser("john").await;
    let page = assert_page(&john.get("/my/appointments").await, StatusCode::OK, "list");
    assert!(page.contains("Request an appointment"));
    assert!(page.contains("Dr. Sarah Smith"), "doctors offered");

    let response = john
        .post_form(
            "/my/appointments",
            &[
                ("clinician_id", &ids.drsmith.to_string()),
                ("start", "2026-03-04T10:00"),
                ("preferred_times", "Any morning"),
                ("reason", "Headaches"),
            ],
        )
        .await;
    assert_redirect(&response, "/my/appointments?notice=request-sent", "request");
    let response = john
        .post_form(
            "/my/appointments",
            &[
                ("department_id", &ids.general.to_string()),
                ("start", "2026-03-05T10:00"),
                ("reason", "Second request"),
            ],
        )
        .await;
    assert_redirect(&response, "/my/appointments", "second request");

    let mut desk = app.browser("reception").await;
    let page = assert_page(
        &desk.get("/appointments/requests").await,
        StatusCode::OK,
        "requests",
    );
    assert!(page.contains("Headaches"), "{page}");
    // The other preferred times travel with the reason: reception sees them to find a slot,
    // and so does the doctor (on John's care team).
    assert!(page.contains("Any morning"), "{page}");
    let mut smith = app.browser("drsmith").await;
    let doctors = assert_page(
        &smith.get("/appointments/requests").await,
        StatusCode::OK,
        "the doctor's requests",
    );
    assert!(doctors.contains("Any morning"), "{doctors}");
    assert!(
        page.contains("name=\"slot\" value=\"2026-03-04T10:00\""),
        "free slots of the requested day: {page}"
    );
    let admin = app.actor("admin").await;
    let requested = app
        .services
        .list_appointments(
            &admin,
            AppointmentQuery {
                statuses: vec![AppointmentStatus::Requested],
                ..AppointmentQuery::default()
            },
        )
        .await
        .expect("requests");
    assert_eq!(requested.len(), 2);
    let (first, second) = (&requested[0], &requested[1]);
    let response = desk
        .post_form(
            &format!("/appointments/{}/accept", first.id),
            &[
                ("clinician_id", ""),
                ("start", "2026-03-04T10:00"),
                ("slot", "2026-03-04T10:30"),
            ],
        )
        .await;
    assert_redirect(&response, "/appointments/", "accept");
    let response = desk
        .post_form(
            &format!("/appointments/{}/status", second.id),
            &[
                ("status", "cancelled"),
                ("reason", "Please see your GP first"),
                ("return_to", "/appointments/requests"),
            ],
        )
        .await;
    assert_redirect(&response, "/appointments/requests", "decline");

    let page = assert_page(
        &john.get("/my/appointments").await,
        StatusCode::OK,
        "outcome",
    );
    assert!(page.contains("Please see your GP first"), "{page}");
    assert!(page.contains("Wed 2026-03-04 10:30–10:45"), "{page}");
    // The accepted one can be cancelled by the patient (more than a day ahead).
    assert!(page.contains("data-action=\"cancelled\""));
    let response = john
        .post_form(
            &format!("/appointments/{}/status", first.id),
            &[
                ("status", "cancelled"),
                ("reason", "Feeling better"),
                ("return_to", "/my/appointments"),
            ],
        )
        .await;
    assert_redirect(&response, "/my/appointments", "patient cancels");
    let view = app
        .services
        .get_appointment(&admin, first.id)
        .await
        .expect("it");
    assert_eq!(view.status, AppointmentStatus::Cancelled);
}

async fn departments_and_staff_are_managed_through_forms(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let mut admin = app.browser("admin").await;
    let page = assert_page(&admin.get("/departments").await, StatusCode::OK, "list");
    assert!(page.contains("General Medicine") && page.contains("New department"));
    let response = admin
        .post_form(
            "/departments",
            &[
                ("code", "orth"),
                ("name", "Orthopaedics"),
                ("location", "Building C"),
                ("slot_minutes", "20"),
                ("active", "on"),
            ],
        )
        .await;
    assert_redirect(&response, "/departments?notice=department-saved", "create");
    let page = assert_page(&admin.get("/departments").await, StatusCode::OK, "list");
    assert!(page.contains("ORTH") && page.contains("Orthopaedics"));
    // The same code again is shown next to the field.
    let response = admin
        .post_form(
            "/departments",
            &[("code", "ORTH"), ("name", "Orthopaedics two")],
        )
        .await;
    let page = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "duplicate");
    assert!(page.contains("id=\"code-error\""));

    let page = assert_page(
        &admin
            .get(&format!("/departments/{}/edit", ids.general))
            .await,
        StatusCode::OK,
        "edit",
    );
    assert!(page.contains("value=\"General Medicine\""));
    let response = admin
        .post_form(
            &format!("/departments/{}/edit", ids.general),
            &[
                ("code", "GEN"),
                ("name", "General Medicine"),
                ("location", "Building A, first floor"),
                ("slot_minutes", "15"),
                ("active", "on"),
            ],
        )
        .await;
    assert_redirect(&response, "/departments", "update");

    let page = assert_page(
        &admin.get(&format!("/staff/{}/edit", ids.nurse)).await,
        StatusCode::OK,
        "staff edit",
    );
    assert!(page.contains("mon-fri 08:00-16:00"));
    let response = admin
        .post_form(
            &format!("/staff/{}/edit", ids.nurse),
            &[
                ("department_id", &ids.general.to_string()),
                ("specialty", "Wound care"),
                ("work_phone", "+44 20 7946 0199"),
                ("working_hours", "mon-thu 07:00-15:00"),
                ("active", "on"),
            ],
        )
        .await;
    assert_redirect(&response, "/staff?notice=staff-saved", "profile saved");
    let page = assert_page(&admin.get("/staff").await, StatusCode::OK, "directory");
    assert!(page.contains("Wound care") && page.contains("mon-thu 07:00-15:00"));

    // Patients see doctors, their specialty and department, and nothing else.
    let mut john = app.browser("john").await;
    let page = assert_page(&john.get("/staff").await, StatusCode::OK, "patient view");
    assert!(page.contains("Dr. Sarah Smith") && page.contains("General practice"));
    assert!(!page.contains("Nadia Nurse") && !page.contains("+44 20 7946"));
    assert!(!page.contains("drsmith"), "no usernames for patients");
}

async fn the_report_has_an_svg_chart_and_a_csv(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = ids(&app).await;
    let jane = jane(&app).await;
    let reception = app.actor("reception").await;
    book(
        &app,
        &reception,
        ids.john,
        ids.drsmith,
        "2026-03-03T10:00:00Z",
        "One",
    )
    .await;
    book(
        &app,
        &reception,
        jane,
        ids.drsmith,
        "2026-03-04T10:00:00Z",
        "Two",
    )
    .await;
    let mut desk = app.browser("reception").await;
    let page = assert_page(
        &desk
            .get("/appointments/report?from=2026-03-01&to=2026-03-07")
            .await,
        StatusCode::OK,
        "report",
    );
    assert!(page.contains("<svg") && page.contains("<rect"), "{page}");
    assert_eq!(page.matches("<rect").count(), 7, "one bar per day");
    assert!(
        page.contains("2026-03-03: 1") || page.contains("03 Mar: 1"),
        "{page}"
    );
    assert!(page.contains("General Medicine") && page.contains("Dr. Sarah Smith"));
    assert!(!page.contains("<script"), "no JavaScript");
    assert!(!page.contains("John Patient"), "no patient data");

    let csv = desk
        .get("/appointments/report.csv?from=2026-03-01&to=2026-03-07")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    assert!(
        csv.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv"))
    );
    assert!(
        csv.header("content-disposition")
            .is_some_and(|d| d.contains("attachment"))
    );
    let text = csv.text();
    assert!(text.starts_with("dimension,key,count\r\n"), "{text}");
    assert!(text.contains("total,,2\r\n"));
    assert!(text.contains("department,General Medicine,2\r\n"), "{text}");
    assert!(text.contains("clinician,Dr. Sarah Smith,2\r\n"));
    assert!(text.contains("status,scheduled,2\r\n"));
    assert!(text.contains("day,2026-03-03,1\r\n"));
    assert!(text.contains("day,2026-03-05,0\r\n"));

    // A bad range in the CSV is a 4xx, not a file.
    let csv = desk
        .get("/appointments/report.csv?from=2026-03-07&to=2026-03-01")
        .await;
    assert_eq!(csv.status, StatusCode::UNPROCESSABLE_ENTITY);
}

on_all_backends!(
    pages_send_visitors_without_a_session_to_sign_in,
    pages_refuse_roles_they_are_not_for,
    patients_reach_only_their_own_appointments,
    bad_input_is_shown_next_to_its_field_and_nothing_is_written,
    a_double_booking_shows_the_conflict_and_the_next_free_slots,
    a_doctor_sees_another_doctors_patients_by_pseudonym,
    desk_and_my_day_move_appointments_along,
    patients_request_and_cancel_and_see_the_outcome,
    departments_and_staff_are_managed_through_forms,
    the_report_has_an_svg_chart_and_a_csv,
);
