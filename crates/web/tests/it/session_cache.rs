//! The session cache: a revoked session, a disabled account and a reset password stop
//! working at once in the process that made the change, and in another process on the same
//! database (its own pool and cache) once its cache age has passed — the bound the
//! configuration states (`session_cache_max_age`, 1 s by default).

use std::time::Duration;

use carevault_service::{Actor, ServiceError, ServiceSettings, Services};
use secrecy::SecretString;

use crate::harness::{Backend, TestApp, demo_password};
use crate::on_all_backends;

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
