//! Encryption at rest, seen from outside the application: marker strings registered in every
//! field (and recorded in the patient's allergy list and problem list) never appear in the
//! database files or in `pg_dump` / `mysqldump` output, yet every
//! indexed field still finds the patient; a sealed value copied into another patient's row
//! fails its integrity check (audited) instead of showing the other patient's data; and the
//! research export is k-anonymous.

use std::collections::HashMap;

use carevault_service::patients::{Change, PatientInput, PatientQuery};
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

/// A patient with a distinct marker in every free-text field.
fn marked_patient() -> (PatientInput, Vec<&'static str>) {
    let set = |v: &str| Change::Set(v.to_owned());
    let input = PatientInput {
        given_name: set("Qxgivenmarker"),
        family_name: set("Qxfamilymarker"),
        date_of_birth: set("1961-07-19"),
        sex: set("female"),
        gender_identity: set("Qxgendermarker"),
        address: set("1 Qxaddressmarker Road, Riverton RV3 4AB"),
        phone: set("+44 7700 938421"),
        email: set("qxemailmarker@example.org"),
        emergency_contact: Change::Set(carevault_service::patients::EmergencyContactInput {
            name: "Qxcontactmarker".into(),
            relation: "Qxrelationmarker".into(),
            phone: "07700 900777".into(),
        }),
        national_id: set("QX 93 84 21 C"),
        preferred_language: set("Qxlanguagemarker"),
        blood_group: set("AB-"),
        allergies: set("Qxallergymarker"),
        primary_diagnosis: set("Qxdiagnosismarker"),
        status: Change::Keep,
    };
    let markers = vec![
        "Qxgivenmarker",
        "Qxfamilymarker",
        "1961-07-19",
        "Qxgendermarker",
        "Qxaddressmarker",
        "7700 938421",
        "7700938421",
        "qxemailmarker",
        "Qxcontactmarker",
        "Qxrelationmarker",
        "QX 93 84 21 C",
        "QX938421C",
        "Qxlanguagemarker",
        "Qxallergymarker",
        "Qxdiagnosismarker",
    ];
    (input, markers)
}

/// Everything the database holds, as the backend's own tools show it.
pub(crate) fn database_contents(app: &TestApp) -> Vec<u8> {
    let url = &app.database_url;
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = std::path::Path::new(rest.split('?').next().unwrap_or(rest));
        let dir = path.parent().unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().starts_with(&name) {
                bytes.extend(std::fs::read(entry.path()).unwrap());
            }
        }
        assert!(!bytes.is_empty(), "no database file at {url}");
        bytes
    } else if url.starts_with("postgres") {
        let output = std::process::Command::new("pg_dump")
            .arg("--dbname")
            .arg(url)
            .output()
            .expect("pg_dump runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    } else {
        let parsed = url::Url::parse(url).unwrap();
        let database = parsed.path().trim_start_matches('/').to_owned();
        let output = std::process::Command::new("mysqldump")
            .arg(format!(
                "--host={}",
                parsed.host_str().unwrap_or("127.0.0.1")
            ))
            .arg(format!("--port={}", parsed.port().unwrap_or(3306)))
            .arg(format!("--user={}", parsed.username()))
            .arg(&database)
            .output()
            .expect("mysqldump runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

async fn markers_stay_sealed_and_every_index_finds_the_patient(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let (input, mut markers) = marked_patient();
    let patient = app.register_patient(&admin, input).await;
    let mrn = patient.mrn.clone().expect("admin sees the MRN");
    // Nurses' texts (triage, nursing note, addendum) are sealed too.
    markers.extend(crate::nursing::write_nursing_markers(&app, &patient.id.to_string()).await);
    // Another patient, so that a search must pick the right one.
    let set = |v: &str| Change::Set(v.to_owned());
    app.register_patient(
        &admin,
        PatientInput {
            given_name: set("Other"),
            family_name: set("Person"),
            date_of_birth: set("1990-01-01"),
            sex: set("male"),
            ..PatientInput::default()
        },
    )
    .await;
    // The allergy list and the problem list hold clinical text too.
    app.services
        .assign_care_team_member(&admin, patient.id, "drsmith")
        .await
        .expect("on the care team");
    let doctor = app.actor("drsmith").await;
    let entry = app
        .services
        .record_allergy(
            &doctor,
            patient.id,
            carevault_service::allergies::AllergyRequest {
                substance: "Qxsubstancemarker".into(),
                free_text: true,
                reaction: Some("Qxreactionmarker".into()),
                severity: "severe".into(),
                status: String::new(),
            },
        )
        .await
        .expect("an allergy");
    app.services
        .change_allergy_status(
            &doctor,
            None,
            &entry.id,
            carevault_service::allergies::AllergyStatusRequest {
                status: "inactive".into(),
                reason: Some("Qxstatusreasonmarker".into()),
            },
        )
        .await
        .expect("retired");
    app.services
        .add_problem(
            &doctor,
            patient.id,
            carevault_service::problems::ProblemRequest {
                text: Some("Qxproblemmarker".into()),
                free_text: true,
                onset: Some("2001-09-17".into()),
                ..Default::default()
            },
        )
        .await
        .expect("a problem");
    markers.extend([
        "Qxsubstancemarker",
        "Qxreactionmarker",
        "Qxstatusreasonmarker",
        "Qxproblemmarker",
        "2001-09-17",
    ]);
    app.services.shutdown().await; // every audit event committed, the WAL checkpointed

    let contents = database_contents(&app);
    for marker in &markers {
        assert!(!contains(&contents, marker), "{marker} is stored in clear");
    }
    assert!(!contains(&contents, &mrn), "the MRN is stored in clear");

    let mut app = app;
    app.restart().await;
    let admin = app.actor("admin").await;
    for q in [
        mrn.as_str(),
        "Qxgivenmarker Qxfamilymarker",
        "qxfamilymarker, qxgivenmarker",
        "Qxfamilymarker 1961-07-19",
        "07700 938421",
        "+447700938421",
        "qx938421c",
        "Qxfamilymarkr", // sound-alike
    ] {
        let page = app
            .services
            .search_patients(
                &admin,
                PatientQuery {
                    q: Some(q.into()),
                    page: 1,
                    ..Default::default()
                },
            )
            .await
            .expect("search");
        assert!(
            page.items.iter().any(|p| p.id == patient.id),
            "searching {q:?} did not find the patient"
        );
        assert!(
            page.items.iter().all(|p| p.id == patient.id),
            "searching {q:?} found others"
        );
    }
}

on_all_backends!(markers_stay_sealed_and_every_index_finds_the_patient);

async fn a_sealed_value_moved_to_another_row_fails_its_integrity_check(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let set = |v: &str| Change::Set(v.to_owned());
    let alice = app
        .register_patient(
            &admin,
            PatientInput {
                given_name: set("Alice"),
                family_name: set("Victim"),
                date_of_birth: set("1980-01-01"),
                sex: set("female"),
                ..PatientInput::default()
            },
        )
        .await;
    let bob = app
        .register_patient(
            &admin,
            PatientInput {
                given_name: set("Bob"),
                family_name: set("Target"),
                date_of_birth: set("1981-02-02"),
                sex: set("male"),
                ..PatientInput::default()
            },
        )
        .await;

    // A database administrator copies Alice's sealed family name into Bob's row.
    let db = Database::connect(&app.database_url).await.unwrap();
    let backend_kind = db.get_database_backend();
    let sql = match backend_kind {
        sea_orm::DbBackend::MySql => {
            "UPDATE patients AS b JOIN patients AS a ON a.id = ? SET b.family_name = a.family_name WHERE b.id = ?".to_owned()
        }
        sea_orm::DbBackend::Postgres => {
            "UPDATE patients SET family_name = (SELECT family_name FROM patients WHERE id = $1) WHERE id = $2".to_owned()
        }
        _ => "UPDATE patients SET family_name = (SELECT family_name FROM patients WHERE id = ?) WHERE id = ?".to_owned(),
    };
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            backend_kind,
            sql,
            [alice.id.to_string().into(), bob.id.to_string().into()],
        ))
        .await
        .unwrap();
    assert_eq!(result.rows_affected(), 1);

    let mut client = app.api_client("admin").await;
    let response = client.get(&format!("/api/v1/patients/{}", bob.id)).await;
    let problem = response.problem(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        problem["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("integrity"),
        "{problem}"
    );
    let body = response.text();
    assert!(
        !body.contains("Victim") && !body.contains("Alice"),
        "{body}"
    );

    // Alice is untouched; Bob's failed read is on record.
    let alice_now = app
        .services
        .get_patient(&admin, alice.id)
        .await
        .expect("alice reads");
    assert_eq!(alice_now.family_name.as_deref(), Some("Victim"));
    let rows = db
        .query_all_raw(Statement::from_string(
            backend_kind,
            format!(
                "SELECT outcome, reason FROM audit_events WHERE resource_id = '{}' AND outcome = 'failed'",
                bob.id
            ),
        ))
        .await
        .unwrap();
    assert!(!rows.is_empty(), "the integrity failure was not audited");
    let reason: Option<String> = rows[0].try_get("", "reason").unwrap();
    assert!(reason.unwrap_or_default().contains("integrity"));
}

on_all_backends!(a_sealed_value_moved_to_another_row_fails_its_integrity_check);

async fn the_research_export_is_k_anonymous(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let operator = app.services.console_operator();
    app.services
        .seed_synthetic_patients(&operator, 2000, Some(7))
        .await
        .expect("seeded");
    let export = app
        .services
        .research_export(&admin, Some(5))
        .await
        .expect("export");
    let mut lines = export.csv.lines();
    let header: Vec<&str> = lines
        .by_ref()
        .take_while(|line| line.starts_with('#'))
        .collect();
    assert!(
        header
            .iter()
            .any(|l| l.contains("k achieved: ") && l.contains("suppressed rows: ")),
        "{header:?}"
    );
    let columns: Vec<&str> = export
        .csv
        .lines()
        .find(|l| !l.starts_with('#'))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(
        columns,
        [
            "pseudonym",
            "age_band",
            "sex",
            "postcode_area",
            "blood_group",
            "primary_diagnosis",
            "status"
        ]
    );
    let rows: Vec<Vec<String>> = export
        .csv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), export.rows);
    let registered = app
        .services
        .search_patients(&admin, PatientQuery::default())
        .await
        .unwrap()
        .total;
    assert_eq!(
        registered, 2001,
        "2000 synthetic patients and the demo's John Patient"
    );
    assert_eq!(
        export.rows as u64 + export.suppressed as u64,
        registered,
        "every patient is a row or suppressed"
    );
    assert!(export.rows > 1000, "most rows survive: {}", export.rows);
    let mut groups: HashMap<(String, String, String), usize> = HashMap::new();
    for row in &rows {
        *groups
            .entry((row[1].clone(), row[2].clone(), row[3].clone()))
            .or_default() += 1;
    }
    for (qi, count) in &groups {
        assert!(*count >= 5, "{qi:?} appears only {count} times");
    }
    assert!(export.k_achieved.unwrap_or(0) >= 5);

    // No direct identifier of any patient: compare with what the admin sees in clear.
    // Compared field by field: a value as a substring could match by chance inside the
    // random per-export pseudonyms (`R` + 16 hex digits), which is no leak.
    let mut page = 1;
    let csv = export.csv.to_lowercase();
    let fields: std::collections::HashSet<String> = csv
        .lines()
        .flat_map(|line| line.split(','))
        .map(|field| field.trim().trim_matches('"').to_owned())
        .collect();
    loop {
        let patients = app
            .services
            .search_patients(
                &admin,
                PatientQuery {
                    page,
                    per_page: Some(100),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for p in &patients.items {
            for value in [
                p.mrn.clone(),
                p.date_of_birth.clone(),
                p.phone.clone().flatten(),
                p.email.clone().flatten(),
            ]
            .into_iter()
            .flatten()
            {
                assert!(
                    !fields.contains(&value.to_lowercase()),
                    "{value} is in the export"
                );
            }
            let name = format!(
                "{} {}",
                p.given_name.clone().unwrap(),
                p.family_name.clone().unwrap()
            )
            .to_lowercase();
            assert!(!csv.contains(&name), "a name is in the export");
        }
        if page * 100 >= patients.total {
            break;
        }
        page += 1;
    }
}

on_all_backends!(the_research_export_is_k_anonymous);
