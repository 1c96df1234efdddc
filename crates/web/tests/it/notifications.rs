//! Notifications: an appointment's reminder delivered by e-mail through a small SMTP server
//! the test starts on 127.0.0.1 — not before its time, at its time, never once the
//! appointment is cancelled — SMTP failures retried on the back-off schedule and then marked
//! failed with the error shown to administrators; the inbox, preferences and consent;
//! follow-up reminders (who may queue them, bad input with nothing written); IDOR; the
//! break-the-glass alert; stock alerts deduplicated per day.
//!
//! The clock starts on Monday 2026-03-02 at 09:00 UTC; Dr. Smith works 08:00–12:00.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use carevault_service::notifications::SmtpSettings;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::pharmacy::{drug, receive};
use crate::scheduling_api::{create_account, id_of, jane, john_record, sign_in, user_id};

// ---- a tiny SMTP server ----

/// One message the server accepted.
#[derive(Debug, Clone, Default)]
struct Mail {
    recipients: Vec<String>,
    data: String,
}

/// A minimal SMTP server: greeting, EHLO, MAIL, RCPT, DATA, QUIT. In failing mode it
/// answers MAIL with a 451 that echoes an address (which must not reach the stored error).
#[derive(Clone)]
struct SmtpServer {
    url: String,
    mails: Arc<Mutex<Vec<Mail>>>,
    failing: Arc<AtomicBool>,
    sessions: Arc<AtomicUsize>,
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("an address");
        let server = SmtpServer {
            url: format!("smtp://{addr}"),
            mails: Arc::new(Mutex::new(Vec::new())),
            failing: Arc::new(AtomicBool::new(false)),
            sessions: Arc::new(AtomicUsize::new(0)),
        };
        let shared = server.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(shared.clone().session(socket));
            }
        });
        server
    }

    async fn session(self, socket: tokio::net::TcpStream) {
        self.sessions.fetch_add(1, Ordering::SeqCst);
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        let _ = write.write_all(b"220 smtp.test ESMTP ready\r\n").await;
        let mut mail = Mail::default();
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let command = line.trim_end().to_ascii_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
                b"250 smtp.test\r\n"
            } else if command.starts_with("MAIL FROM") {
                if self.failing.load(Ordering::SeqCst) {
                    b"451 4.3.0 <john.patient@example.org> mailbox busy, try later\r\n"
                } else {
                    mail = Mail::default();
                    b"250 2.1.0 OK\r\n"
                }
            } else if command.starts_with("RCPT TO") {
                mail.recipients.push(line.trim_end()[8..].trim().to_owned());
                b"250 2.1.5 OK\r\n"
            } else if command == "DATA" {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                let mut data = String::new();
                loop {
                    let mut part = String::new();
                    if lines.read_line(&mut part).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if part.trim_end() == "." {
                        break;
                    }
                    data.push_str(&part);
                }
                // Undo quoted-printable soft line breaks, so tests can look for phrases.
                mail.data = data.replace("=\r\n", "").replace("=\n", "");
                self.mails.lock().unwrap().push(mail.clone());
                b"250 2.0.0 queued\r\n"
            } else if command == "QUIT" {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            } else if command == "RSET" || command == "NOOP" {
                b"250 OK\r\n"
            } else {
                b"502 not implemented\r\n"
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }

    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

/// A test app whose notifications go out through `smtp`.
async fn app_with_smtp(backend: Backend, smtp: &SmtpServer) -> TestApp {
    let settings = SmtpSettings::parse(&smtp.url, "Carevault <noreply@carevault.test>")
        .expect("SMTP settings");
    TestApp::builder(backend)
        .service_settings(|s| s.notifications.smtp = Some(settings))
        .build()
        .await
}

// ---- helpers ----

async fn send(
    client: &mut Client<'_>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> TestResponse {
    let builder = client.request(method, path);
    let request = match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("a request");
    client.send(request).await
}

/// Turns e-mail on (consent) for the client's user.
async fn consent_to_email(client: &mut Client<'_>) {
    let response = send(
        client,
        Method::PUT,
        "/api/v1/notifications/preferences",
        Some(&json!({"email_enabled": true, "reminders_enabled": true})),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["email_enabled"], true);
}

/// Books John with Dr. Smith (as reception) from `start` for 15 minutes; returns its id.
async fn book_john(app: &TestApp, start: &str, end: &str) -> String {
    let john = john_record(app).await;
    let smith = user_id(&mut app.api_client("drsmith").await).await;
    let mut reception = app.api_client("reception").await;
    let response = reception
        .post_json(
            "/api/v1/appointments",
            &json!({
                "patient_id": john,
                "clinician_id": smith,
                "start": start,
                "end": end,
                "reason": "Persistent cough",
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    id_of(&response.json())
}

/// The caller's inbox.
async fn inbox(client: &mut Client<'_>) -> Vec<Value> {
    let response = client.get("/api/v1/notifications").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["items"].as_array().expect("items").clone()
}

/// The outbox as the administrator sees it, with `query` filters.
async fn outbox(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app
        .api_client("admin")
        .await
        .get(&format!("/api/v1/notifications?all=true{query}"))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["items"].as_array().expect("items").clone()
}

fn of_kind<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|n| n["kind"] == kind).collect()
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

// ---- the acceptance scenarios ----

on_all_backends!(
    a_reminder_is_emailed_at_its_time_and_not_once_cancelled,
    smtp_failures_are_retried_with_back_off_then_marked_failed,
    follow_ups_inbox_and_refusals,
    break_glass_and_stock_alerts,
    rescheduling_moves_the_reminder_and_requests_are_answered,
);

async fn a_reminder_is_emailed_at_its_time_and_not_once_cancelled(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(backend, &smtp).await;
    let mut john = app.api_client("john").await;
    consent_to_email(&mut john).await;

    // Tuesday 10:00: the reminder is due 24 hours before, on Monday at 10:00.
    let appointment = book_john(
        &app,
        "2026-03-03T10:00:00+00:00",
        "2026-03-03T10:15:00+00:00",
    )
    .await;
    let queued = outbox(&app, "&kind=appointment_reminder").await;
    assert_eq!(queued.len(), 2, "in-app and e-mail: {queued:?}");
    assert!(queued.iter().all(|n| n["status"] == "pending"));
    assert!(
        queued
            .iter()
            .all(|n| n["related_id"] == appointment.as_str())
    );
    // The outbox does not show texts about a patient.
    assert!(queued.iter().all(|n| n.get("body").is_none()));

    // Not before its time.
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!(run.emails_sent, 0);
    app.clock.advance(minutes(59));
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!((run.emails_sent, run.in_app_delivered), (0, 0));
    assert!(smtp.mails().is_empty());
    assert!(
        of_kind(
            &inbox(&mut app.api_client("john").await).await,
            "appointment_reminder"
        )
        .is_empty()
    );

    // At its time: once, to John's address, saying when and with whom only.
    app.clock.advance(minutes(1));
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!((run.emails_sent, run.in_app_delivered), (1, 1));
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].recipients, vec!["<john.patient@example.org>"]);
    assert!(
        mails[0].data.contains("Subject: Appointment reminder"),
        "{}",
        mails[0].data
    );
    assert!(
        mails[0].data.contains("Tuesday 3 March 2026 at 10:00"),
        "{}",
        mails[0].data
    );
    assert!(
        mails[0].data.contains("Dr. Sarah Smith"),
        "{}",
        mails[0].data
    );
    assert!(
        !mails[0].data.contains("cough"),
        "no clinical detail: {}",
        mails[0].data
    );
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!(run, Default::default(), "sent once only");
    let mine = inbox(&mut app.api_client("john").await).await;
    let reminders = of_kind(&mine, "appointment_reminder");
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0]["subject"], "Appointment reminder");
    assert!(reminders[0].get("read_at").is_none());
    assert_eq!(
        outbox(&app, "&kind=appointment_reminder&status=sent")
            .await
            .len(),
        2
    );

    // Another appointment, cancelled: its reminder never goes out.
    let cancelled = book_john(
        &app,
        "2026-03-04T11:00:00+00:00",
        "2026-03-04T11:15:00+00:00",
    )
    .await;
    let mut reception = app.api_client("reception").await;
    let response = reception
        .post_json(
            &format!("/api/v1/appointments/{cancelled}/status"),
            &json!({"status": "cancelled", "reason": "The patient phoned to cancel"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let withdrawn = outbox(&app, "&kind=appointment_reminder&status=cancelled").await;
    assert_eq!(withdrawn.len(), 2, "{withdrawn:?}");
    assert!(
        withdrawn
            .iter()
            .all(|n| n["related_id"] == cancelled.as_str())
    );
    app.clock.advance(Duration::from_secs(26 * 3600));
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!(run, Default::default());
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(
        of_kind(
            &inbox(&mut app.api_client("john").await).await,
            "appointment_reminder"
        )
        .len(),
        1
    );

    // John marks his reminder read.
    let id = reminders[0]["id"].as_str().unwrap().to_owned();
    let mut john = app.api_client("john").await;
    let response = send(
        &mut john,
        Method::POST,
        &format!("/api/v1/notifications/{id}/read"),
        None,
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::NO_CONTENT,
        "{}",
        response.text()
    );
    let mine = inbox(&mut app.api_client("john").await).await;
    assert!(
        mine.iter()
            .find(|n| n["id"] == id.as_str())
            .unwrap()
            .get("read_at")
            .is_some()
    );
}

async fn smtp_failures_are_retried_with_back_off_then_marked_failed(backend: Backend) {
    let smtp = SmtpServer::start().await;
    smtp.failing.store(true, Ordering::SeqCst);
    let app = app_with_smtp(backend, &smtp).await;
    let mut john = app.api_client("john").await;
    consent_to_email(&mut john).await;
    book_john(
        &app,
        "2026-03-03T10:00:00+00:00",
        "2026-03-03T10:15:00+00:00",
    )
    .await;
    app.clock.advance(minutes(60));

    // Attempt 1 fails: still pending, next attempt a minute later, the error kept without
    // the server's text.
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!((run.emails_retrying, run.emails_failed), (1, 0));
    let email = outbox(&app, "&channel=email").await;
    assert_eq!(email.len(), 1);
    assert_eq!(email[0]["status"], "pending");
    assert_eq!(email[0]["attempts"], 1);
    assert_eq!(email[0]["next_attempt_at"], "2026-03-02T10:01:00Z");
    let error = email[0]["last_error"].as_str().unwrap().to_owned();
    assert!(error.contains("451"), "{error}");
    assert!(!error.contains("example.org"), "no server text: {error}");
    // Nothing is retried before its time.
    let sessions = smtp.sessions.load(Ordering::SeqCst);
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!(run, Default::default());
    assert_eq!(smtp.sessions.load(Ordering::SeqCst), sessions);

    // Attempts 2 to 5 after 1, 5, 30 and 120 minutes stay pending; the 6th, 12 hours
    // later, gives up.
    for (wait, attempts) in [(1, 2), (5, 3), (30, 4), (120, 5)] {
        app.clock.advance(minutes(wait));
        let run = app.services.deliver_due_notifications().await.unwrap();
        assert_eq!(run.emails_retrying, 1, "attempt {attempts}");
        let email = outbox(&app, "&channel=email").await;
        assert_eq!(email[0]["status"], "pending");
        assert_eq!(email[0]["attempts"], attempts);
    }
    app.clock.advance(minutes(720 - 1));
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!(run, Default::default(), "not a minute early");
    app.clock.advance(minutes(1));
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!(run.emails_failed, 1);
    assert!(smtp.mails().is_empty());

    // Failed, with the error, for administrators: API and page.
    let failed = outbox(&app, "&status=failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 6);
    assert!(failed[0]["last_error"].as_str().unwrap().contains("451"));
    let run = app.services.deliver_due_notifications().await.unwrap();
    assert_eq!(run, Default::default(), "a failed e-mail is final");
    let mut admin = app.browser("admin").await;
    let page = admin.get("/admin/notifications?status=failed").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("reply code 451"), "{}", page.text());
    // The in-app reminder arrived regardless.
    assert_eq!(
        of_kind(
            &inbox(&mut app.api_client("john").await).await,
            "appointment_reminder"
        )
        .len(),
        1
    );
}

async fn follow_ups_inbox_and_refusals(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let jane_record = jane(&app).await;

    // No session: 401 from the API, the sign-in page for pages.
    let response = app.anonymous().get("/api/v1/notifications").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    for path in [
        "/notifications",
        "/notifications/preferences",
        "/admin/notifications",
    ] {
        let response = app.anonymous().get(path).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{path}");
        assert!(response.location().unwrap().starts_with("/login"), "{path}");
    }
    // Only administrators see the outbox.
    for user in ["john", "drsmith", "nurse", "auditor"] {
        let response = app
            .api_client(user)
            .await
            .get("/api/v1/notifications?all=true")
            .await;
        response.problem(StatusCode::FORBIDDEN);
        let page = app.browser(user).await.get("/admin/notifications").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{user}");
    }
    let response = app
        .api_client("admin")
        .await
        .get("/api/v1/notifications?all=true&status=lost")
        .await;
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem.to_string().contains("status"), "{problem}");

    // A nurse may not queue a follow-up; a doctor outside the care team may not either.
    let before = outbox(&app, "").await.len();
    let mut nurse = app.api_client("nurse").await;
    let body = json!({"patient_id": john, "due": "2026-03-20"});
    nurse
        .post_json("/api/v1/follow-ups", &body)
        .await
        .problem(StatusCode::FORBIDDEN);
    let admin_actor = app.actor("admin").await;
    create_account(&app, &admin_actor, "drother", "doctor").await;
    let mut other = sign_in(&app, "drother").await;
    other
        .post_json("/api/v1/follow-ups", &body)
        .await
        .problem(StatusCode::FORBIDDEN);
    // Bad input: field errors, nothing written.
    let mut smith = app.api_client("drsmith").await;
    for (bad, field) in [
        (json!({"patient_id": john, "due": "2026-13-01"}), "due"),
        (json!({"patient_id": john, "due": "2026-03-01"}), "due"),
        (
            json!({"patient_id": "0190b5c2-7d1e-7000-8000-000000000000", "due": "2026-03-20"}),
            "patient_id",
        ),
        (
            json!({"patient_id": "nobody", "due": "2026-03-20"}),
            "patient_id",
        ),
    ] {
        let response = smith.post_json("/api/v1/follow-ups", &bad).await;
        let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            problem["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["field"] == field)),
            "{bad}: {problem}"
        );
    }
    assert_eq!(outbox(&app, "").await.len(), before, "nothing written");

    // Dr. Smith (John's care team) asks John to book a follow-up: in his inbox at once.
    let response = smith.post_json("/api/v1/follow-ups", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(
        response.json()["notification_ids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut john_client = app.api_client("john").await;
    let mine = inbox(&mut john_client).await;
    let follow_ups = of_kind(&mine, "follow_up_reminder");
    assert_eq!(follow_ups.len(), 1);
    assert!(follow_ups[0]["body"].as_str().unwrap().contains(
        "Dr. Sarah Smith asks you to book a follow-up appointment by Friday 20 March 2026"
    ));
    let notification = follow_ups[0]["id"].as_str().unwrap().to_owned();

    // Jane cannot see or mark John's notification; nor can staff.
    let mut jane_client = sign_in(&app, "jane").await;
    assert!(inbox(&mut jane_client).await.is_empty());
    for client in [&mut jane_client, &mut smith] {
        send(
            client,
            Method::POST,
            &format!("/api/v1/notifications/{notification}/read"),
            None,
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    }
    send(
        &mut jane_client,
        Method::POST,
        "/api/v1/notifications/not-an-id/read",
        None,
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    let mine = inbox(&mut john_client).await;
    assert!(mine.iter().all(|n| n.get("read_at").is_none()));

    // Preferences: reminders off means no follow-up reminder.
    let response = send(
        &mut john_client,
        Method::PUT,
        "/api/v1/notifications/preferences",
        Some(&json!({"email_enabled": false, "reminders_enabled": false})),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let response = send(
        &mut john_client,
        Method::PUT,
        "/api/v1/notifications/preferences",
        Some(&json!({"email_enabled": "yes"})),
    )
    .await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY);
    let response = smith.post_json("/api/v1/follow-ups", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert!(
        response.json()["notification_ids"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        of_kind(&inbox(&mut john_client).await, "follow_up_reminder").len(),
        1
    );

    // The pages: the inbox with its mark-as-read form, and the preferences with consent.
    let mut browser = app.browser("john").await;
    let page = browser.get("/notifications").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Please book a follow-up appointment"));
    let response = browser
        .post_form(&format!("/notifications/{notification}/read"), &[])
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let page = browser.get("/notifications/preferences").await;
    assert!(
        page.text()
            .contains("I agree to receive notifications by e-mail")
    );
    let response = browser
        .post_form("/notifications/preferences", &[("reminders_enabled", "on")])
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let prefs = john_client
        .get("/api/v1/notifications/preferences")
        .await
        .json();
    assert_eq!(prefs["reminders_enabled"], true);
    assert_eq!(prefs["email_enabled"], false);
    assert_eq!(prefs["email_available"], false, "no SMTP configured here");
    let _ = jane_record;
}

async fn break_glass_and_stock_alerts(backend: Backend) {
    let app = TestApp::new(backend).await;
    let jane_record = jane(&app).await;

    // A doctor outside Jane's care team breaks the glass: administrators and auditors are
    // told, by pseudonym.
    let mut smith = app.api_client("drsmith").await;
    let response = smith
        .post_json(
            "/api/v1/break-glass",
            &json!({
                "patient_id": jane_record,
                "reason": "Unconscious in the emergency department, no history available",
                "duration_minutes": 60,
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    for user in ["admin", "auditor"] {
        let mut client = app.api_client(user).await;
        let alerts = inbox(&mut client).await;
        let alerts = of_kind(&alerts, "break_glass_alert");
        assert_eq!(alerts.len(), 1, "{user}");
        let body = alerts[0]["body"].as_str().unwrap();
        assert!(body.contains("Dr. Sarah Smith (doctor)"), "{body}");
        assert!(body.contains("ANON_"), "{body}");
        assert!(
            !body.contains("Otherpatient") && !body.contains("Unconscious"),
            "{body}"
        );
    }
    assert!(inbox(&mut app.api_client("nurse").await).await.is_empty());

    // A drug at its reorder level: one alert per pharmacist and administrator per day.
    let pharma = app.actor("pharma").await;
    let metformin = app
        .services
        .create_drug(&pharma, drug("Metformin"))
        .await
        .unwrap();
    let written = app.services.run_stock_alert_job().await.unwrap();
    assert_eq!(written, 2, "the pharmacist and the administrator");
    assert_eq!(
        app.services.run_stock_alert_job().await.unwrap(),
        0,
        "deduplicated"
    );
    let mut pharmacist = app.api_client("pharma").await;
    let alerts = inbox(&mut pharmacist).await;
    let low = of_kind(&alerts, "low_stock");
    assert_eq!(low.len(), 1);
    assert!(
        low[0]["subject"]
            .as_str()
            .unwrap()
            .contains("Metformin 500 mg")
    );
    // The next day, with a batch received that expires within the window: no longer low,
    // but expiring.
    app.clock.advance(Duration::from_secs(24 * 3600));
    receive(&app, &pharma, &metformin, "B-17", 30, 200).await;
    assert_eq!(app.services.run_stock_alert_job().await.unwrap(), 2);
    let alerts = inbox(&mut app.api_client("pharma").await).await;
    let expiring = of_kind(&alerts, "expiring_batch");
    assert_eq!(expiring.len(), 1);
    assert!(
        expiring[0]["body"]
            .as_str()
            .unwrap()
            .contains("batch B-17: 200 tablet")
    );
    assert_eq!(of_kind(&alerts, "low_stock").len(), 1, "yesterday's only");
}

async fn rescheduling_moves_the_reminder_and_requests_are_answered(backend: Backend) {
    let app = TestApp::new(backend).await;
    let smith = user_id(&mut app.api_client("drsmith").await).await;
    let mut reception = app.api_client("reception").await;

    // Moved from Thursday to Friday: the reminder moves with it.
    let appointment = book_john(
        &app,
        "2026-03-05T09:00:00+00:00",
        "2026-03-05T09:15:00+00:00",
    )
    .await;
    let reminders = outbox(&app, "&kind=appointment_reminder").await;
    assert_eq!(reminders.len(), 1, "in-app only without SMTP");
    assert_eq!(reminders[0]["next_attempt_at"], "2026-03-04T09:00:00Z");
    let response = send(
        &mut reception,
        Method::PATCH,
        &format!("/api/v1/appointments/{appointment}"),
        Some(&json!({"start": "2026-03-06T09:00:00+00:00", "end": "2026-03-06T09:15:00+00:00"})),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let reminders = outbox(&app, "&kind=appointment_reminder").await;
    let status_of = |status: &str| -> Vec<&Value> {
        reminders.iter().filter(|n| n["status"] == status).collect()
    };
    assert_eq!(status_of("cancelled").len(), 1);
    let pending = status_of("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["next_attempt_at"], "2026-03-05T09:00:00Z");
    assert_eq!(pending[0]["related_id"], appointment.as_str());

    // John's requests: one accepted, one declined; he is told either way.
    let departments = reception.get("/api/v1/departments").await.json();
    let general = departments
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "GEN")
        .map(id_of)
        .unwrap();
    let mut john = app.api_client("john").await;
    let mut requests = Vec::new();
    for start in ["2026-03-04T10:00:00+00:00", "2026-03-04T11:00:00+00:00"] {
        let response = john
            .post_json(
                "/api/v1/appointments",
                &json!({"department_id": general, "start": start, "reason": "Headache"}),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        requests.push(id_of(&response.json()));
    }
    assert!(of_kind(&inbox(&mut john).await, "consultation_request_outcome").is_empty());
    let response = reception
        .post_json(
            &format!("/api/v1/appointments/{}/accept", requests[0]),
            &json!({"clinician_id": smith, "start": "2026-03-04T10:00:00+00:00"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let response = reception
        .post_json(
            &format!("/api/v1/appointments/{}/status", requests[1]),
            &json!({"status": "cancelled", "reason": "No doctor free that morning"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let mine = inbox(&mut john).await;
    let outcomes = of_kind(&mine, "consultation_request_outcome");
    assert_eq!(outcomes.len(), 2, "{mine:?}");
    let subjects: Vec<&str> = outcomes
        .iter()
        .map(|n| n["subject"].as_str().unwrap())
        .collect();
    assert!(subjects.contains(&"Your appointment request was accepted"));
    assert!(subjects.contains(&"Your appointment request was declined"));
    assert!(
        mine.iter()
            .all(|n| !n["body"].as_str().unwrap().contains("Headache"))
    );
    // The accepted request has its reminder now.
    let reminders = outbox(&app, "&kind=appointment_reminder&status=pending").await;
    assert!(
        reminders
            .iter()
            .any(|n| n["related_id"] == requests[0].as_str())
    );
}
