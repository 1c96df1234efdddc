//! Dashboards, `/readyz` and `/metrics`: the administrators' charts count the seeded data
//! exactly (the SVG is parsed and compared with counts computed here from what the test
//! created and what the API lists), each role's dashboard shows its own day only, the
//! readiness document has its fixed shape, and `/metrics` is for administrators.
//!
//! The clock starts on Monday 2026-03-02 at 09:00 UTC; the clinic's time zone is UTC.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use carevault_service::backup::{BackupRecord, DrillRecord, LAST_BACKUP_SETTING};
use carevault_service::encounters::EncounterInput;
use carevault_service::patients::{Change, PatientInput};
use carevault_service::scheduling::RequestInput;
use carevault_store::{ConnectSettings, Store};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp};
use crate::on_all_backends;
use crate::pharmacy::{drug, receive};
use crate::scheduling_api::{
    book, booking, create_account, jane, john_record, mon, new_patient, set_status, sign_in,
    user_id,
};

/// Tuesday of the test week, at `hh:mm` UTC.
fn tue(time: &str) -> String {
    format!("2026-03-03T{time}:00+00:00")
}

on_all_backends!(
    admin_charts_count_the_seeded_data,
    the_patient_tallies_match_a_recount,
    each_role_sees_its_own_day,
    metrics_are_for_administrators,
    readiness_reports_four_words,
);

/// The `<svg>` of chart `id` in `html`.
fn chart<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!("data-chart=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no chart {id}"));
    let start = html[..at].rfind("<svg").expect("an <svg>");
    let end = at + html[at..].find("</svg>").expect("</svg>");
    &html[start..end + "</svg>".len()]
}

/// Every bar of `svg`: `data-label` → `data-value`, checking that each bar's `<title>`
/// says the same and that the chart has an accessible title.
fn bars(svg: &str) -> BTreeMap<String, u64> {
    assert!(svg.contains("role=\"img\""), "{svg}");
    assert!(
        regex::Regex::new(
            r#"^<svg [^>]*aria-labelledby="([^"]+)"[^>]*><title id="([^"]+)">[^<]+</title>"#
        )
        .unwrap()
        .captures(svg)
        .is_some_and(|c| c[1] == c[2]),
        "{svg}"
    );
    let rect = regex::Regex::new(
        r#"<rect [^>]*data-label="([^"]*)" data-value="(\d+)"[^>]*><title>([^<]*)</title></rect>"#,
    )
    .unwrap();
    let mut out = BTreeMap::new();
    for c in rect.captures_iter(svg) {
        let (label, value) = (c[1].to_owned(), c[2].parse::<u64>().unwrap());
        assert_eq!(&c[3], format!("{label}: {value}"), "{svg}");
        assert!(out.insert(label, value).is_none(), "a label twice: {svg}");
    }
    out
}

/// The bars of `svg` that are not zero.
fn nonzero(svg: &str) -> BTreeMap<String, u64> {
    bars(svg).into_iter().filter(|(_, v)| *v > 0).collect()
}

/// `<li data-fact="key"><strong data-value="…">` of a dashboard.
fn day_fact(html: &str, key: &str) -> String {
    let marker = format!("data-fact=\"{key}\"><strong data-value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no fact {key} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn patient(family: &str, dob: &str, sex: &str) -> PatientInput {
    PatientInput {
        given_name: Change::Set("Dana".into()),
        family_name: Change::Set(family.into()),
        date_of_birth: Change::Set(dob.into()),
        sex: Change::Set(sex.into()),
        ..PatientInput::default()
    }
}

/// The five-year band of someone born in `year`, in 2026, computed here independently.
fn band_2026(year: i32) -> String {
    let age = 2026 - year;
    if age >= 90 {
        "90+".into()
    } else {
        let lo = age / 5 * 5;
        format!("{lo}-{}", lo + 4)
    }
}

async fn general_medicine(client: &mut Client<'_>) -> String {
    let list = client.get("/api/v1/departments").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    list.json()
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "GEN")
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .expect("GEN")
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

async fn admin_charts_count_the_seeded_data(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    for (family, dob, sex) in [
        ("Chartaa", "1984-05-01", "female"),
        ("Chartab", "1983-07-07", "female"),
        ("Chartac", "1982-12-31", "female"),
        ("Chartad", "1984-01-01", "male"),
        ("Chartae", "2000-01-01", "male"),
        ("Chartaf", "1930-01-01", "other"),
        ("Chartag", "2024-06-01", "unknown"),
    ] {
        app.register_patient(&admin, patient(family, dob, sex))
            .await;
    }
    let erased = app
        .register_patient(&admin, patient("Chartah", "1950-03-03", "female"))
        .await;

    // Expected ages and sexes, from every patient the API lists (John included).
    let mut admin_api = app.api_client("admin").await;
    let list = admin_api.get("/api/v1/patients?per_page=100").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let mut expected_ages: BTreeMap<String, u64> = BTreeMap::new();
    for p in list.json()["items"].as_array().unwrap() {
        let dob =
            NaiveDate::parse_from_str(p["date_of_birth"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let label = format!("{} {}", band_2026(dob.year()), p["sex"].as_str().unwrap());
        *expected_ages.entry(label).or_default() += 1;
    }
    assert!(expected_ages["40-44 female"] >= 3, "{expected_ages:?}");
    // One record is erased behind the server's back (as the erasure procedure leaves it):
    // it is no longer counted.
    erase_by_hand(&app, erased.id).await;
    let erased_label = format!("{} female", band_2026(1950));
    *expected_ages.get_mut(&erased_label).unwrap() -= 1;
    expected_ages.retain(|_, n| *n > 0);

    // Appointments: two on Monday, one on Tuesday; a cancelled one is not counted.
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let drsmith = user_id(&mut doctor).await;
    let john = john_record(&app).await;
    let alice = new_patient(&app, "Alice", "Chartzz").await;
    book(
        &mut reception,
        &booking(&john, &drsmith, &mon("10:00"), &mon("10:15")),
    )
    .await;
    book(
        &mut reception,
        &booking(&alice, &drsmith, &mon("10:30"), &mon("10:45")),
    )
    .await;
    book(
        &mut reception,
        &booking(&john, &drsmith, &tue("10:00"), &tue("10:15")),
    )
    .await;
    let cancelled = id_of(
        &book(
            &mut reception,
            &booking(&alice, &drsmith, &tue("11:00"), &tue("11:15")),
        )
        .await,
    );
    let response = set_status(
        &mut reception,
        &cancelled,
        "cancelled",
        Some("Patient phoned"),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());

    // Encounters: two this week.
    let smith = app.actor("drsmith").await;
    for _ in 0..2 {
        app.services
            .create_encounter(
                &smith,
                EncounterInput {
                    patient_id: john.clone(),
                    ..EncounterInput::default()
                },
            )
            .await
            .expect("an encounter");
    }

    // Stock: a drug with nothing on the shelf (reorder), one expiring within the window.
    let empty = app
        .services
        .create_drug(&admin, drug("Dashformin"))
        .await
        .unwrap();
    let _ = empty;
    let stocked = app
        .services
        .create_drug(&admin, drug("Dashprofen"))
        .await
        .unwrap();
    receive(&app, &admin, &stocked, "B-1", 30, 100).await;

    // Invoices: one issued for 10.00.
    let draft = reception
        .post_json("/api/v1/invoices", &json!({ "patient_id": john }))
        .await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.text());
    let invoice = id_of(&draft.json());
    let line = reception
        .post_json(
            &format!("/api/v1/invoices/{invoice}/lines"),
            &json!({"description": "Consultation", "quantity": "1", "unit_price": "10.00", "tax_rate": "0"}),
        )
        .await;
    assert!(line.status.is_success(), "{}", line.text());
    let issued = reception
        .post_json(&format!("/api/v1/invoices/{invoice}/issue"), &json!({}))
        .await;
    assert!(issued.status.is_success(), "{}", issued.text());

    // Alice (registered through the API as 1980-02-03, female) is in the list only now.
    *expected_ages
        .entry(format!("{} female", band_2026(1980)))
        .or_default() += 1;

    let mut browser = app.browser("admin").await;
    let page = browser.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();

    assert_eq!(nonzero(chart(&html, "patients-age-sex")), expected_ages);
    // Every band shown has one bar per sex.
    assert_eq!(bars(chart(&html, "patients-age-sex")).len() % 4, 0);

    let per_day = bars(chart(&html, "appointments-per-day"));
    assert_eq!(per_day.len(), 28, "{per_day:?}");
    assert_eq!(
        per_day.keys().next().map(String::as_str),
        Some("2026-02-16")
    );
    assert_eq!(
        per_day.keys().last().map(String::as_str),
        Some("2026-03-15")
    );
    assert_eq!(
        nonzero(chart(&html, "appointments-per-day")),
        BTreeMap::from([("2026-03-02".to_owned(), 2), ("2026-03-03".to_owned(), 1)])
    );
    assert_eq!(
        nonzero(chart(&html, "appointments-per-department")),
        BTreeMap::from([("General Medicine".to_owned(), 3)])
    );

    let weeks = bars(chart(&html, "encounters-per-week"));
    assert_eq!(weeks.len(), 12, "{weeks:?}");
    assert_eq!(weeks.keys().next().map(String::as_str), Some("2025-12-15"));
    assert_eq!(
        nonzero(chart(&html, "encounters-per-week")),
        BTreeMap::from([("2026-03-02".to_owned(), 2)])
    );

    assert_eq!(
        bars(chart(&html, "stock-alerts")),
        BTreeMap::from([
            ("reorder".to_owned(), 1),
            ("expiring".to_owned(), 1),
            ("expired".to_owned(), 0),
        ])
    );
    assert_eq!(
        bars(chart(&html, "outstanding-invoices")),
        BTreeMap::from([
            ("issued (10.00 USD)".to_owned(), 1),
            ("partially paid (0.00 USD)".to_owned(), 0),
        ])
    );

    // The system facts.
    for key in ["uptime", "backup", "audit", "database", "disk", "sessions"] {
        assert!(html.contains(&format!("data-fact=\"{key}\"")), "{key}");
    }
    assert!(html.contains("none recorded"));
    // No patient identity on the administrators' charts.
    for name in ["Chartaa", "Chartzz", "Dana", "Alice"] {
        assert!(!html.contains(name), "{name} on the dashboard");
    }
    // No script anywhere.
    assert!(!html.contains("<script"));

    // Other roles get no charts.
    let mut doctor_browser = app.browser("drsmith").await;
    let page = doctor_browser.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains("data-chart="));
}

async fn each_role_sees_its_own_day(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    create_account(&app, &admin, "drjones", "doctor").await;
    let mut reception = app.api_client("reception").await;
    let general = general_medicine(&mut reception).await;
    let mut doctor = app.api_client("drsmith").await;
    let drsmith = user_id(&mut doctor).await;
    let mut jones_api = sign_in(&app, "drjones").await;
    let drjones = user_id(&mut jones_api).await;
    let john = john_record(&app).await;
    let alice = new_patient(&app, "Alice", "Daymarkqa").await;
    let jane_record = jane(&app).await;
    let _ = jane_record;

    // Dr. Smith: two today (one checked in), one tomorrow. Dr. Jones: one today.
    let first = id_of(
        &book(
            &mut reception,
            &booking(&john, &drsmith, &mon("10:00"), &mon("10:15")),
        )
        .await,
    );
    book(
        &mut reception,
        &booking(&alice, &drsmith, &mon("11:00"), &mon("11:15")),
    )
    .await;
    book(
        &mut reception,
        &booking(&john, &drsmith, &tue("10:00"), &tue("10:15")),
    )
    .await;
    let mut jones_booking = booking(&alice, &drjones, &mon("14:00"), &mon("14:15"));
    jones_booking["department_id"] = json!(general);
    book(&mut reception, &jones_booking).await;
    let checked_in = set_status(&mut reception, &first, "checked_in", None).await;
    assert_eq!(checked_in.status, StatusCode::OK, "{}", checked_in.text());
    // John asks for another appointment: a request waiting for a slot.
    let john_actor = app.actor("john").await;
    app.services
        .request_appointment(
            &john_actor,
            RequestInput {
                department_id: Some(general.clone()),
                start: tue("15:00"),
                reason: "Check-up".into(),
                ..RequestInput::default()
            },
        )
        .await
        .expect("a request");

    // Doctors see their own schedule only.
    let mut smith = app.browser("drsmith").await;
    let html = smith.get("/dashboard").await.text();
    assert_eq!(day_fact(&html, "appointments-today"), "2");
    assert_eq!(day_fact(&html, "waiting"), "1");
    assert_eq!(day_fact(&html, "scheduled"), "1");
    assert_eq!(day_fact(&html, "completed"), "0");

    let mut jones = app.anonymous();
    let login = jones
        .sign_in_through_form("drjones", crate::scheduling_api::PASSWORD)
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.text());
    let html = jones.get("/dashboard").await.text();
    assert_eq!(day_fact(&html, "appointments-today"), "1");
    assert_eq!(day_fact(&html, "waiting"), "0");

    let mut nurse = app.browser("nurse").await;
    let html = nurse.get("/dashboard").await.text();
    assert_eq!(day_fact(&html, "appointments-today"), "0");

    // Reception: the whole day's arrivals.
    let mut desk = app.browser("reception").await;
    let html = desk.get("/dashboard").await.text();
    assert_eq!(day_fact(&html, "appointments-today"), "3");
    assert_eq!(day_fact(&html, "checked-in"), "1");
    assert_eq!(day_fact(&html, "expected"), "2");
    assert_eq!(day_fact(&html, "requests"), "1");

    // Pharmacist: the queue and the alerts.
    let pharma_actor = app.actor("pharma").await;
    let stocked = app
        .services
        .create_drug(&pharma_actor, drug("Dayformin"))
        .await
        .unwrap();
    let _ = stocked;
    let mut pharma = app.browser("pharma").await;
    let html = pharma.get("/dashboard").await.text();
    assert_eq!(day_fact(&html, "dispensing-queue"), "0");
    assert_eq!(day_fact(&html, "stock-alerts"), "1");

    // John: his own appointments only (two booked and his request), and no unpaid bill.
    let mut john_browser = app.browser("john").await;
    let html = john_browser.get("/dashboard").await.text();
    assert_eq!(day_fact(&html, "next-appointments"), "3");
    assert_eq!(day_fact(&html, "unpaid-bills"), "0");
    // Jane has none: John's appointments are not hers.
    let mut jane_browser = app.anonymous();
    let login = jane_browser
        .sign_in_through_form("jane", crate::scheduling_api::PASSWORD)
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.text());
    let html = jane_browser.get("/dashboard").await.text();
    assert_eq!(day_fact(&html, "next-appointments"), "0");
    assert!(!html.contains("data-chart="));

    // Auditor: no verification yet; refusals of the last day, counted (a doctor asking
    // for the metrics is refused and recorded).
    let mut auditor = app.browser("auditor").await;
    let before: u64 = day_fact(&auditor.get("/dashboard").await.text(), "refusals")
        .parse()
        .unwrap();
    assert_eq!(smith.get("/metrics").await.status, StatusCode::FORBIDDEN);
    let html = auditor.get("/dashboard").await.text();
    assert_eq!(day_fact(&html, "audit-verification"), "never");
    assert_eq!(
        day_fact(&html, "refusals").parse::<u64>().unwrap(),
        before + 1
    );

    // Unauthenticated: the dashboard sends the browser to sign in.
    let response = app.anonymous().get("/dashboard").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
}

async fn metrics_are_for_administrators(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;

    // Nobody: to the sign-in page. A doctor or a nurse: 403, recorded.
    let response = app.anonymous().get("/metrics").await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert!(response.location().is_some_and(|l| l.starts_with("/login")));
    let mut doctor = app.browser("drsmith").await;
    assert_eq!(doctor.get("/metrics").await.status, StatusCode::FORBIDDEN);
    let mut nurse = app.browser("nurse").await;
    assert_eq!(nurse.get("/metrics").await.status, StatusCode::FORBIDDEN);
    // A bearer token is not a page session.
    let mut bearer = app.api_client("admin").await;
    assert_eq!(bearer.get("/metrics").await.status, StatusCode::SEE_OTHER);

    // An administrator: the text format, with route templates, never raw ids.
    let mut admin = app.browser("admin").await;
    let record = admin.get(&format!("/api/v1/patients/{john}")).await;
    assert_eq!(record.status, StatusCode::OK);
    admin.get("/no/such/page/12345").await;
    let response = admin.get("/metrics?format=%3Cscript%3E").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = response.text();
    for needle in [
        "carevault_up 1",
        "carevault_database_up 1",
        "# TYPE carevault_http_requests_total counter",
        "carevault_http_requests_total{method=\"GET\",route=\"/api/v1/patients/{id}\",status=\"200\"} 1",
        "carevault_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        "carevault_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"403\"} 2",
        "carevault_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"303\"} 2",
        "# TYPE carevault_http_request_duration_seconds histogram",
        "carevault_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/patients/{id}\",le=\"+Inf\"} 1",
        "carevault_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/patients/{id}\"} 1",
        "# TYPE carevault_audit_queue_depth gauge",
        "carevault_audit_queue_depth 0",
        "# TYPE carevault_backup_age_seconds gauge",
        "# TYPE carevault_uptime_seconds gauge",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(!text.contains(&john), "a raw id in the labels");
    assert!(!text.contains("12345"));
    assert!(!text.contains("<script>"));
    // Every sample line is `name{labels} value` or `name value`.
    let sample = regex::Regex::new(r#"^[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? [0-9.e+-]+$"#).unwrap();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(sample.is_match(line), "bad sample line {line:?}");
    }
}

async fn readiness_reports_four_words(backend: Backend) {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_owned();
    let app = TestApp::builder(backend)
        .service_settings(|s| s.data_dir = Some(dir))
        .build()
        .await;
    let mut anonymous = app.anonymous();
    let ready = anonymous.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    let doc = ready.json();
    assert_eq!(doc["status"], "ready");
    let checks = doc["checks"].as_object().unwrap();
    assert_eq!(
        checks.keys().map(String::as_str).collect::<Vec<_>>(),
        ["audit", "backup", "database", "disk"]
    );
    assert_eq!(doc.as_object().unwrap().len(), 3);
    assert_eq!(doc["database"], "ok");
    assert_eq!(checks["database"], "ok");
    assert!(
        matches!(checks["disk"].as_str(), Some("ok" | "low")),
        "{doc}"
    );
    assert_eq!(checks["backup"], "none");
    assert_eq!(checks["audit"], "pending");

    // After a verification: verified.
    app.services.verify_audit_trail(true).await.unwrap();
    assert_eq!(
        anonymous.get("/readyz").await.json()["checks"]["audit"],
        "verified"
    );

    // A failed backup is reported, but the node stays in: 200.
    let store = Store::connect(&app.database_url, &ConnectSettings::default())
        .await
        .unwrap();
    let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 2, d, h, m, 0).unwrap();
    let failed = BackupRecord {
        finished_at: at(28, 8, 0) + chrono::Duration::days(2),
        file_name: None,
        bytes: 0,
        error: Some("the backup directory is not writable".into()),
        drill: None,
    };
    carevault_store::settings::set(
        store.conn(),
        LAST_BACKUP_SETTING,
        &serde_json::to_string(&failed).unwrap(),
    )
    .await
    .unwrap();
    let ready = anonymous.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["checks"]["backup"], "failed");
    // The status page shows it, with the disk.
    let mut admin = app.browser("admin").await;
    let page = admin.get("/admin/status").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("data-health=\"failed\""), "{html}");
    assert!(html.contains("the backup directory is not writable"));
    assert!(html.contains("id=\"disk-space\""));
    assert!(html.contains("free of"));
    assert!(html.contains("href=\"/metrics\""));

    // A good backup two days old: stale.
    let stale = BackupRecord {
        finished_at: at(28, 8, 0),
        file_name: Some("carevault-20260228.cvbak".into()),
        bytes: 2048,
        error: None,
        drill: Some(DrillRecord {
            finished_at: at(28, 8, 5),
            error: None,
        }),
    };
    carevault_store::settings::set(
        store.conn(),
        LAST_BACKUP_SETTING,
        &serde_json::to_string(&stale).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        anonymous.get("/readyz").await.json()["checks"]["backup"],
        "stale"
    );
    let metrics = admin.get("/metrics").await.text();
    // 2026-02-28 08:00 to 2026-03-02 09:00: 49 hours.
    assert!(
        metrics.contains(&format!("carevault_backup_age_seconds {}\n", 49 * 3600)),
        "{metrics}"
    );
    store.close().await;
}

/// Marks a record erased in the database, behind the server's back (as the erasure
/// procedure leaves it).
async fn erase_by_hand(app: &TestApp, id: carevault_core::PatientId) {
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .unwrap();
    let backend = db.get_database_backend();
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DbBackend::Postgres => "UPDATE patients SET status = 'erased' WHERE id = $1",
            _ => "UPDATE patients SET status = 'erased' WHERE id = ?",
        },
        [id.to_string().into()],
    ))
    .await
    .unwrap();
    let _ = db.close().await;
}

/// (sex, birth year, count) from the tallies the triggers keep, and recounted from `patients`.
async fn tallies_and_recount(app: &TestApp) -> (Vec<(String, i64, i64)>, Vec<(String, i64, i64)>) {
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .unwrap();
    let backend = db.get_database_backend();
    let read = async |sql: &str| {
        let mut rows: Vec<(String, i64, i64)> = db
            .query_all_raw(sea_orm::Statement::from_string(backend, sql))
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                (
                    row.try_get_by_index::<String>(0).unwrap(),
                    i64::from(row.try_get_by_index::<i32>(1).unwrap()),
                    row.try_get_by_index::<i64>(2).unwrap(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let tallies = read("SELECT sex, birth_year, n FROM patient_tallies WHERE n <> 0").await;
    let recount = read(
        "SELECT sex, birth_year, COUNT(*) FROM patients WHERE status <> 'erased' \
         GROUP BY sex, birth_year",
    )
    .await;
    let _ = db.close().await;
    (tallies, recount)
}

/// The tallies behind the dashboard and the patient list's total follow every change of a
/// patient row: registrations (one and a batch), an edit of the sex and the date of birth,
/// an erasure through the service and a status changed by hand in the database.
async fn the_patient_tallies_match_a_recount(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let (tallies, recount) = tallies_and_recount(&app).await;
    assert_eq!(tallies, recount, "after the demo accounts");

    let mut ids = Vec::new();
    for (family, dob, sex) in [
        ("Tallyaa", "1984-05-01", "female"),
        ("Tallyab", "1984-07-07", "female"),
        ("Tallyac", "1990-12-31", "male"),
        ("Tallyad", "1930-01-01", "other"),
    ] {
        ids.push(
            app.register_patient(&admin, patient(family, dob, sex))
                .await,
        );
    }
    app.services
        .seed_synthetic_patients(&app.services.console_operator(), 40, Some(3))
        .await
        .expect("a batch of synthetic patients");
    let (tallies, recount) = tallies_and_recount(&app).await;
    assert_eq!(tallies, recount, "after the registrations");

    app.services
        .update_patient(
            &admin,
            ids[0].id,
            PatientInput {
                sex: Change::Set("male".into()),
                date_of_birth: Change::Set("1971-02-03".into()),
                ..PatientInput::default()
            },
            None,
        )
        .await
        .expect("an edit");
    let mrn = ids[1].mrn.clone().expect("an administrator sees the MRN");
    app.services
        .erase_patient(&admin, ids[1].id, &mrn)
        .await
        .expect("an erasure");
    erase_by_hand(&app, ids[2].id).await;
    let (tallies, recount) = tallies_and_recount(&app).await;
    assert_eq!(tallies, recount, "after the edit and the erasures");

    // The unfiltered list's total is the tallies' sum.
    let mut admin_api = app.api_client("admin").await;
    let list = admin_api.get("/api/v1/patients?per_page=1").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let counted: i64 = recount.iter().map(|(_, _, n)| n).sum();
    assert_eq!(list.json()["total"].as_i64(), Some(counted));
}
