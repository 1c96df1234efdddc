//! Changes made in one server process and seen by another on the same database (its own pool
//! and caches, as a second `carevault serve` would have):
//! - the session cache: a revoked session, a disabled account and a reset password stop
//!   working at once in the process that made the change, and in the other process once its
//!   cache age has passed — the bound the configuration states (`session_cache_max_age`, 1 s by
//!   default);
//! - access to a patient, which nothing caches: a removed care-team member, a revoked share,
//!   an ended break-the-glass grant and an erasure take effect at once in both processes.
//!
//! A rotated key is picked up by a running server from the database's fingerprints
//! (`crates/cli/tests/keys.rs` rotates under a real server process).

use std::time::Duration;

use carevault_core::PatientId;
use carevault_service::emergency::EmergencyAccessInput;
use carevault_service::patients::{Change, PatientInput};
use carevault_service::shares::ShareInput;
use carevault_service::{Actor, ServiceError, ServiceSettings, Services};
use secrecy::SecretString;

use crate::harness::{Backend, TestApp, demo_password};
use crate::on_all_backends;
use crate::scheduling_api::{PASSWORD, create_account, john_record};

/// The other process's cache age in these tests: short, so that the test is quick.
const OTHER_MAX_AGE: Duration = Duration::from_millis(300);

async fn sign_in(services: &Services, username: &str) -> SecretString {
    services
        .sign_in(carevault_service::auth::SignInRequest {
            username: username.into(),
            password: SecretString::from(demo_password(username).to_owned()),
            client_addr: None,
            previous_token: None,
            request_id: None,
        })
        .await
        .expect("sign in")
        .token
}

async fn works(services: &Services, token: &SecretString) -> Option<Actor> {
    match services.authenticate(token, None).await {
        Ok(actor) => Some(actor),
        Err(ServiceError::Unauthenticated) => None,
        Err(other) => panic!("authenticate failed: {other:?}"),
    }
}

/// Both processes have the token cached; `change` runs in this process; here the token
/// stops working at once, there after the other process's cache age.
async fn stops_everywhere(
    app: &TestApp,
    other: &Services,
    token: &SecretString,
    change: impl AsyncFnOnce(),
) {
    assert!(
        works(&app.services, token).await.is_some(),
        "works here first"
    );
    assert!(works(other, token).await.is_some(), "works there first");
    change().await;
    assert!(
        works(&app.services, token).await.is_none(),
        "stops at once in the process that made the change"
    );
    tokio::time::sleep(OTHER_MAX_AGE + Duration::from_millis(100)).await;
    assert!(
        works(other, token).await.is_none(),
        "stops in the other process once its cache age has passed"
    );
}

async fn changes_reach_every_process(backend: Backend) {
    let app = TestApp::new(backend).await;
    let other = app
        .other_process(ServiceSettings {
            session_cache_max_age: OTHER_MAX_AGE,
            ..ServiceSettings::default()
        })
        .await;
    let admin = app.actor("admin").await;

    // A session signed out.
    let token = sign_in(&other, "drsmith").await;
    let doctor = works(&app.services, &token).await.expect("a session");
    stops_everywhere(&app, &other, &token, async || {
        app.services.sign_out(&doctor).await.expect("sign out");
    })
    .await;

    // A password reset by an administrator ends the account's sessions.
    let token = sign_in(&app.services, "reception").await;
    stops_everywhere(&app, &other, &token, async || {
        app.services
            .reset_password(
                &admin,
                "reception",
                SecretString::from("a new long password 7"),
            )
            .await
            .expect("reset");
    })
    .await;

    // A disabled account.
    let token = sign_in(&other, "nurse").await;
    stops_everywhere(&app, &other, &token, async || {
        app.services
            .disable_account(&admin, "nurse")
            .await
            .expect("disable");
    })
    .await;

    // A change made in the other process stops the token here too, after this process's
    // cache age (1 s by default).
    let token = sign_in(&app.services, "pharma").await;
    let pharmacist = works(&other, &token).await.expect("a session");
    assert!(works(&app.services, &token).await.is_some());
    other.sign_out(&pharmacist).await.expect("sign out there");
    assert!(works(&other, &token).await.is_none());
    tokio::time::sleep(app.services.settings().session_cache_max_age + Duration::from_millis(100))
        .await;
    assert!(works(&app.services, &token).await.is_none());
    other.shutdown().await;
}

on_all_backends!(changes_reach_every_process);

/// Whether `actor` reads `patient`'s name in `services` (rather than the masked view).
async fn sees_name(services: &Services, actor: &Actor, patient: PatientId) -> bool {
    let record = services
        .get_patient(actor, patient)
        .await
        .expect("the patient (perhaps masked)");
    record.given_name.as_deref() == Some("John")
}

/// Asserts both processes agree on whether `actor` sees `patient`'s name.
async fn both_see_name(
    app: &TestApp,
    other: &Services,
    actor: &Actor,
    patient: PatientId,
    expected: bool,
    what: &str,
) {
    assert_eq!(
        sees_name(&app.services, actor, patient).await,
        expected,
        "{what}: in the process that made the change"
    );
    assert_eq!(
        sees_name(other, actor, patient).await,
        expected,
        "{what}: in the other process"
    );
}

async fn access_changes_reach_every_process_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let other = app.other_process(ServiceSettings::default()).await;
    let admin = app.actor("admin").await;
    let john = app.actor("john").await;
    let john_id: PatientId = john_record(&app).await.parse().expect("an id");
    let jones_id = create_account(&app, &admin, "drjones", "doctor").await;
    let jones = app.actor_with_password("drjones", PASSWORD).await;
    both_see_name(&app, &other, &jones, john_id, false, "a stranger").await;

    // A care-team member added and removed here.
    app.services
        .assign_care_team_member(&admin, john_id, "drjones")
        .await
        .expect("assigned");
    both_see_name(&app, &other, &jones, john_id, true, "on the care team").await;
    app.services
        .remove_care_team_member(&admin, john_id, jones_id.parse().expect("a user id"))
        .await
        .expect("removed");
    both_see_name(&app, &other, &jones, john_id, false, "taken off the team").await;

    // A share granted there and revoked here.
    let share = other
        .grant_record_share(
            &john,
            john_id,
            ShareInput {
                doctor_id: jones_id.clone(),
                ..ShareInput::default()
            },
        )
        .await
        .expect("shared");
    both_see_name(&app, &other, &jones, john_id, true, "shared").await;
    app.services
        .revoke_record_share(&john, john_id, &share.id)
        .await
        .expect("revoked");
    both_see_name(&app, &other, &jones, john_id, false, "share revoked").await;

    // A break-the-glass grant made there ends at its time everywhere.
    other
        .request_emergency_access(
            &jones,
            EmergencyAccessInput {
                patient_id: john_id.to_string(),
                reason: "Unconscious in the emergency department".into(),
                duration_minutes: Some("30".into()),
            },
        )
        .await
        .expect("emergency access");
    both_see_name(&app, &other, &jones, john_id, true, "the glass broken").await;
    app.clock.advance(Duration::from_secs(31 * 60));
    both_see_name(&app, &other, &jones, john_id, false, "the grant ended").await;

    // An erasure here: the other process cannot read the patient any more.
    let erased = app
        .register_patient(
            &admin,
            PatientInput {
                given_name: Change::Set("Erasmus".into()),
                family_name: Change::Set("Gone".into()),
                date_of_birth: Change::Set("1980-02-03".into()),
                sex: Change::Set("female".into()),
                ..PatientInput::default()
            },
        )
        .await;
    let read = other.get_patient(&admin, erased.id).await.expect("read");
    assert_eq!(read.given_name.as_deref(), Some("Erasmus"));
    let mrn = erased.mrn.clone().expect("an administrator sees the MRN");
    app.services
        .erase_patient(&admin, erased.id, &mrn)
        .await
        .expect("erased");
    for services in [&app.services, &other] {
        let after = services.get_patient(&admin, erased.id).await;
        assert!(
            !matches!(&after, Ok(details) if details.given_name.is_some()),
            "no name after the erasure: {after:?}"
        );
    }
    other.shutdown().await;
}

on_all_backends!(access_changes_reach_every_process_at_once);
