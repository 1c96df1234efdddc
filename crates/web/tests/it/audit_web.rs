//! The audit trail's web face: the events API with its filters and paging, who may read the
//! log (and that refusals land in it), the streamed CSV export, a patient's "who accessed my
//! record", and the audit section of the status page with "Verify now".

use std::time::Duration;

use axum::http::StatusCode;
use secrecy::SecretString;

use crate::harness::{Backend, Client, TestApp};
use crate::on_all_backends;

async fn user_id(client: &mut Client<'_>) -> String {
    let me = client.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    me.json()["id"].as_str().expect("an id").to_owned()
}

fn events(page: &serde_json::Value) -> &Vec<serde_json::Value> {
    page["events"].as_array().expect("events")
}

fn field_of(problem: &serde_json::Value) -> &str {
    problem["errors"][0]["field"].as_str().expect("a field")
}

async fn the_events_api_filters_and_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    for _ in 0..3 {
        app.api_client("nurse").await;
    }
    app.anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "nurse", "password": "wrong-password"}),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let mut auditor = app.api_client("auditor").await;
    let mut nurse = app.api_client("nurse").await;
    let nurse_id = user_id(&mut nurse).await;

    // One actor's sign-ins, newest first, with every documented field.
    let page = auditor
        .get(&format!(
            "/api/v1/audit/events?actor={nurse_id}&action=sign_in"
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = page.json();
    assert_eq!(page["total"], 4);
    assert_eq!(
        (page["offset"].as_u64(), page["limit"].as_u64()),
        (Some(0), Some(50))
    );
    let listed = events(&page);
    assert_eq!(listed.len(), 4);
    let seqs: Vec<u64> = listed.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let first = &listed[0];
    for field in [
        "seq",
        "time",
        "actor_kind",
        "actor_id",
        "actor_name",
        "actor_role",
        "action",
        "resource_type",
        "resource_id",
        "patient_pseudonym",
        "outcome",
        "reason",
        "request_id",
    ] {
        assert!(first.get(field).is_some(), "{field} missing: {first}");
    }
    assert_eq!(first["actor_kind"], "user");
    assert_eq!(first["actor_name"], "Nadia Nurse");
    assert_eq!(first["actor_role"], "nurse");
    assert_eq!(first["outcome"], "allowed");
    assert!(first["patient_pseudonym"].is_null());
    assert!(
        chrono::DateTime::parse_from_rfc3339(first["time"].as_str().unwrap()).is_ok(),
        "{first}"
    );

    // Paging: two pages of two, disjoint, in order.
    let base = format!("/api/v1/audit/events?actor={nurse_id}&action=sign_in&limit=2");
    let one = auditor.get(&base).await.json();
    let two = auditor.get(&format!("{base}&offset=2")).await.json();
    assert_eq!(two["offset"], 2);
    assert_eq!(two["limit"], 2);
    let paged: Vec<u64> = events(&one)
        .iter()
        .chain(events(&two))
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(paged, seqs);
    let beyond = auditor.get(&format!("{base}&offset=10")).await.json();
    assert_eq!(beyond["total"], 4);
    assert!(events(&beyond).is_empty());

    // Outcome and resource: the failed sign-in names the targeted account.
    let failed = auditor
        .get(&format!(
            "/api/v1/audit/events?outcome=failed&resource_type=account&resource={nurse_id}"
        ))
        .await
        .json();
    assert_eq!(failed["total"], 1);
    assert_eq!(events(&failed)[0]["action"], "sign_in_failed");
    assert_eq!(events(&failed)[0]["actor_kind"], "anonymous");

    // Dates: a date as `to` covers the whole day (UTC); the test clock stands at
    // 2026-03-02 09:00 UTC.
    let today = auditor
        .get(&format!(
            "/api/v1/audit/events?actor={nurse_id}&from=2026-03-02&to=2026-03-02"
        ))
        .await
        .json();
    assert_eq!(today["total"], 4);
    for (from, to) in [("2026-03-03", "2026-03-04"), ("2026-03-01", "2026-03-01")] {
        let none = auditor
            .get(&format!(
                "/api/v1/audit/events?actor={nurse_id}&from={from}&to={to}"
            ))
            .await
            .json();
        assert_eq!(none["total"], 0, "{from}..{to}");
    }
    app.clock.advance(Duration::from_secs(86_400));
    app.api_client("nurse").await;
    // The day's idle timeout ended the auditor's session: a new one.
    let mut auditor = app.api_client("auditor").await;
    let next_day = auditor
        .get(&format!(
            "/api/v1/audit/events?actor={nurse_id}&from=2026-03-03T00:00:00Z"
        ))
        .await
        .json();
    assert_eq!(next_day["total"], 1);

    // Bad input: 422 problem+json naming the parameter, never a plain-text 400.
    for (query, field) in [
        ("action=teleport", "action"),
        ("outcome=maybe", "outcome"),
        ("resource_type=spaceship", "resource_type"),
        ("actor=not-an-id", "actor"),
        ("from=2026-02-30", "from"),
        ("to=tomorrow", "to"),
        ("offset=ten", "offset"),
        ("limit=many", "limit"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("colour=blue", "colour"),
        ("action=sign_in&action=sign_out", "action"),
    ] {
        let problem = auditor
            .get(&format!("/api/v1/audit/events?{query}"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field_of(&problem), field, "{query}: {problem}");
    }
    let problem = auditor
        .get("/api/v1/audit/export.csv?offset=5")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_of(&problem), "offset");
}

const NOT_AUDITORS: [&str; 5] = ["drsmith", "nurse", "reception", "pharma", "john"];

async fn only_admins_and_auditors_read_the_log_and_refusals_are_recorded(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut refused_ids = Vec::new();
    for username in NOT_AUDITORS {
        let mut api = app.api_client(username).await;
        refused_ids.push(user_id(&mut api).await);
        for path in ["/api/v1/audit/events", "/api/v1/audit/export.csv"] {
            api.get(path).await.problem(StatusCode::FORBIDDEN);
        }
        let mut browser = app.browser(username).await;
        for path in ["/audit", "/audit/export.csv"] {
            let page = browser.get(path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{username} {path}");
            assert!(page.text().contains("Access denied"));
        }
        let dashboard = browser.get("/dashboard").await.text();
        assert!(!dashboard.contains("href=\"/audit\""), "{username}");
    }

    let mut admin = app.api_client("admin").await;
    for id in &refused_ids {
        let denied = admin
            .get(&format!(
                "/api/v1/audit/events?actor={id}&action=access_denied&resource_type=audit_log"
            ))
            .await;
        assert_eq!(denied.status, StatusCode::OK, "{}", denied.text());
        let denied = denied.json();
        assert_eq!(denied["total"], 4, "one refusal per request: {denied}");
        for event in events(&denied) {
            assert_eq!(event["outcome"], "denied");
            assert_eq!(event["reason"], "requires audit-log access");
        }
    }
    let everyone_denied = admin
        .get("/api/v1/audit/events?outcome=denied&limit=500")
        .await
        .json();
    assert_eq!(everyone_denied["total"], 20);

    for username in ["admin", "auditor"] {
        let mut browser = app.browser(username).await;
        let page = browser.get("/audit?outcome=denied").await;
        assert_eq!(page.status, StatusCode::OK, "{username}: {}", page.text());
        let html = page.text();
        assert!(
            html.contains("<caption>Audit events, newest first"),
            "{html}"
        );
        assert!(html.contains("Dr. Sarah Smith"), "actor names are shown");
        assert!(html.contains("access_denied"));
        assert!(html.contains("showing 1–20 of 20"), "{html}");
        assert!(html.contains("href=\"/audit/export.csv?outcome=denied\""));
        assert!(html.contains("<option value=\"denied\" selected>"));
        assert!(html.contains("href=\"/audit\""), "the menu links the log");
        assert!(!html.contains("<script"), "no script");
        assert!(!html.contains("style=\""), "no inline style");
    }
}

async fn the_audit_page_pages_and_shows_bad_filters_next_to_their_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut auditor = app.browser("auditor").await;
    for _ in 0..3 {
        app.api_client("nurse").await;
    }
    let first = auditor.get("/audit?action=sign_in&limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let html = first.text().replace("&#38;", "&");
    // auditor's own page sign-in + three nurse sign-ins
    assert!(html.contains("Showing 1–2 of 4"), "{html}");
    assert!(
        html.contains("href=\"/audit?action=sign_in&offset=2&limit=2\""),
        "{html}"
    );
    assert!(!html.contains("rel=\"prev\""));
    let second = auditor
        .get("/audit?action=sign_in&offset=2&limit=2")
        .await
        .text()
        .replace("&#38;", "&");
    assert!(second.contains("Showing 3–4 of 4"), "{second}");
    assert!(second.contains("href=\"/audit?action=sign_in&offset=0&limit=2\""));
    assert!(!second.contains("rel=\"next\""));

    let bad = auditor
        .get("/audit?action=teleport&from=yesterday&patient=ANON_7")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text();
    assert!(html.contains("id=\"action-error\""), "{html}");
    assert!(html.contains("id=\"from-error\""));
    assert!(html.contains("aria-describedby=\"action-error\""));
    assert!(html.contains("value=\"ANON_7\""), "the input is kept");
    assert!(!html.contains("Request id:"), "the form, not an error page");
    for (id, label) in [
        ("actor", "Actor"),
        ("action", "Action"),
        ("patient", "Patient"),
        ("resource_type", "Resource type"),
        ("outcome", "Outcome"),
        ("from", "From"),
        ("to", "To"),
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\">{label}")),
            "a label for {id}"
        );
    }
}

async fn the_csv_export_streams_every_matching_event_and_is_recorded(backend: Backend) {
    let app = TestApp::new(backend).await;
    for _ in 0..3 {
        app.api_client("nurse").await;
    }
    let mut auditor = app.api_client("auditor").await;
    // A staff member whose display name holds a formula, a comma and quotes: their events
    // carry it into the export's actor_name column.
    let operator = app.services.console_operator();
    app.services
        .create_account(
            &operator,
            carevault_service::users::NewAccount {
                username: "mallory".into(),
                display_name: "=HYPERLINK(\"http://evil.example\",\"x\"), Jr".into(),
                role: "nurse".into(),
                password: secrecy::SecretString::from("mallory-password"),
            },
        )
        .await
        .unwrap();
    let signed_in = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "mallory", "password": "mallory-password"}),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);
    let total = auditor.get("/api/v1/audit/events?limit=1").await.json()["total"]
        .as_u64()
        .unwrap();

    let export = auditor.get("/api/v1/audit/export.csv").await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text());
    assert_eq!(
        export.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        export.header("content-disposition"),
        Some("attachment; filename=\"audit-events.csv\"")
    );
    let text = export.text();
    assert!(text.starts_with(
        "seq,time,actor_id,actor_name,actor_role,action,resource_type,resource_id,\
         patient_pseudonym,outcome,reason,request_id\r\n"
    ));
    assert!(text.ends_with("\r\n"));
    assert!(
        text.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\"), Jr\","),
        "quoted per RFC 4180 and neutralised: {text}"
    );
    assert!(
        !text.contains(",=HYPERLINK"),
        "no cell starts with a formula"
    );
    let mut reader = csv::Reader::from_reader(export.body.as_ref());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(
        rows.len() as u64,
        total,
        "every event up to the export itself"
    );
    let seqs: Vec<u64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert!(
        rows.iter()
            .any(|r| &r[3] == "'=HYPERLINK(\"http://evil.example\",\"x\"), Jr"),
        "a spreadsheet reads the name back as text"
    );
    assert!(
        rows.iter()
            .any(|r| &r[5] == "account_created" && &r[3] == "console operator"),
        "actors without an account are named by kind"
    );

    // The export itself is in the log, with its row count.
    let exported = auditor
        .get("/api/v1/audit/events?action=audit_exported")
        .await
        .json();
    assert_eq!(exported["total"], 1);
    let event = &events(&exported)[0];
    assert_eq!(event["actor_role"], "auditor");
    assert_eq!(event["resource_type"], "audit_log");
    assert!(
        event["reason"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{total} rows")),
        "{event}"
    );

    // Filtered, through the browser's session.
    let mut admin = app.browser("admin").await;
    let filtered = admin
        .get("/audit/export.csv?action=sign_in&outcome=allowed")
        .await;
    assert_eq!(filtered.status, StatusCode::OK);
    assert_eq!(
        filtered.header("content-disposition"),
        Some("attachment; filename=\"audit-events.csv\"")
    );
    let mut reader = csv::Reader::from_reader(filtered.body.as_ref());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // three nurse sign-ins, mallory's, the auditor's and the admin's
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| &r[5] == "sign_in"));
    let bad = admin.get("/audit/export.csv?action=teleport").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let exported = auditor
        .get("/api/v1/audit/events?action=audit_exported")
        .await
        .json();
    assert_eq!(
        exported["total"], 2,
        "an export with bad filters never started"
    );
}

async fn a_patient_sees_who_accessed_their_account(backend: Backend) {
    let app = TestApp::new(backend).await;
    let operator = app.services.console_operator();
    app.services
        .reset_password(
            &operator,
            "john",
            SecretString::from("a-new-password-for-john"),
        )
        .await
        .expect("password reset");
    let mut john = app.anonymous();
    let signed_in = john
        .sign_in_through_form("john", "a-new-password-for-john")
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let dashboard = john.get("/dashboard").await.text();
    assert!(dashboard.contains("href=\"/account/access-history\""));
    assert!(!dashboard.contains("Coming with the audit trail"));
    let page = john.get("/account/access-history").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("<caption>Accesses to your record"), "{html}");
    assert!(html.contains("console operator"), "{html}");
    assert!(html.contains("reset the password"), "{html}");
    assert!(html.contains("created the account"), "{html}");
    assert!(
        !html.contains("signed in"),
        "the patient's own actions are not listed"
    );
    // The demo administrator registered John's record and put clinicians on his care team.
    assert!(html.contains("Ada Admin"), "{html}");

    // The viewing is recorded; other roles are refused.
    let mut auditor = app.api_client("auditor").await;
    let john_id = app
        .services
        .list_accounts(&operator)
        .await
        .expect("accounts")
        .into_iter()
        .find(|a| a.username.as_str() == "john")
        .expect("john")
        .id
        .to_string();
    let viewed = auditor
        .get(&format!(
            "/api/v1/audit/events?actor={john_id}&action=audit_viewed"
        ))
        .await
        .json();
    assert_eq!(viewed["total"], 1, "{viewed}");
    for username in ["admin", "drsmith", "auditor"] {
        let mut browser = app.browser(username).await;
        let page = browser.get("/account/access-history").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{username}");
    }
}

async fn the_status_page_shows_the_audit_trail_and_verifies_it(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.browser("admin").await;
    let page = admin.get("/admin/status").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("<h2 id=\"audit-trail-heading\">Audit trail</h2>"));
    assert!(
        html.contains("<dd id=\"audit-verification\">never</dd>"),
        "{html}"
    );
    assert!(html.contains("none yet"));
    assert!(html.contains(&app.services.audit_verifier_key()));
    assert!(html.contains("action=\"/admin/audit/verify\""));
    let mut api = app.api_client("auditor").await;
    api.get("/api/v1/audit/checkpoint")
        .await
        .problem(StatusCode::NOT_FOUND);

    let checkpoint = app
        .services
        .checkpoint_now()
        .await
        .expect("checkpoint")
        .expect("a new checkpoint");
    let verified = admin.post_form("/admin/audit/verify", &[]).await;
    assert_eq!(
        verified.status,
        StatusCode::SEE_OTHER,
        "{}",
        verified.text()
    );
    assert_eq!(
        verified.location(),
        Some("/admin/status?notice=audit-verified")
    );
    let html = admin
        .get("/admin/status?notice=audit-verified")
        .await
        .text();
    assert!(html.contains("The audit trail has been verified"), "{html}");
    assert!(html.contains("<strong class=\"ok\">ok</strong>"), "{html}");
    assert!(html.contains("Events verified"));
    assert!(html.contains(&checkpoint.root_hash));
    assert!(html.contains(&format!("{} events, signed", checkpoint.tree_size)));

    let served = api.get("/api/v1/audit/checkpoint").await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text());
    let served = served.json();
    assert_eq!(served["tree_size"], checkpoint.tree_size);
    assert_eq!(served["root_hash"], checkpoint.root_hash.as_str());
    assert_eq!(served["origin"], app.services.audit_origin());
    assert_eq!(served["verifier_key"], app.services.audit_verifier_key());
    assert!(
        served["note"]
            .as_str()
            .unwrap()
            .starts_with(app.services.audit_origin())
    );
    let size = checkpoint.tree_size;
    let inclusion = api
        .get(&format!(
            "/api/v1/audit/proof/inclusion?index=0&size={size}"
        ))
        .await
        .json();
    assert_eq!(inclusion["root_hash"], checkpoint.root_hash.as_str());
    assert_eq!(inclusion["tree_size"], size);
    assert_eq!(inclusion["leaf_hash"].as_str().unwrap().len(), 64);
    let consistency = api
        .get(&format!("/api/v1/audit/proof/consistency?from=1&to={size}"))
        .await
        .json();
    assert_eq!(consistency["to_root"], checkpoint.root_hash.as_str());
    for (query, field) in [
        ("proof/inclusion?index=0", "size"),
        ("proof/inclusion?index=x&size=2", "index"),
        ("proof/inclusion?index=1&size=1", "index"),
        ("proof/inclusion?index=0&size=1&extra=1", "extra"),
        ("proof/consistency?from=0&to=1", "from"),
        ("proof/consistency?to=1", "from"),
    ] {
        let problem = api
            .get(&format!("/api/v1/audit/{query}"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field_of(&problem), field, "{query}: {problem}");
    }

    // Only administrators verify, and only with the form token.
    let mut auditor = app.browser("auditor").await;
    let refused = auditor.post_form("/admin/audit/verify", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let forged = admin
        .post_form_raw(
            "/admin/audit/verify",
            &[("csrf_token", "not-the-token")],
            &[("origin", "https://carevault.test")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

on_all_backends!(
    the_events_api_filters_and_pages,
    only_admins_and_auditors_read_the_log_and_refusals_are_recorded,
    the_audit_page_pages_and_shows_bad_filters_next_to_their_field,
    the_csv_export_streams_every_matching_event_and_is_recorded,
    a_patient_sees_who_accessed_their_account,
    the_status_page_shows_the_audit_trail_and_verifies_it,
);
