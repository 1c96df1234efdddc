//! The patient JSON API: per role, exactly the fields the masking policy allows (hidden
//! fields absent, not blank); stable pseudonyms; search, paging and sorting; the duplicate
//! warning; input checking with nothing written; who may change what; care teams; refusals
//! on every route; and every read in the audit log without a trace of the patient's data.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use carevault_core::Role;
use carevault_core::masking::{PatientField, Relation, Visibility, view_for, visibility};
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp, TestResponse, captured_logs};
use crate::on_all_backends;

// A distinct marker in every free-text field, and distinct values in the others.
const GIVEN: &str = "Givenmarkqz";
const FAMILY: &str = "Familymarkqz";
const DOB: &str = "1967-08-19";
const GENDER: &str = "Gendermarkqz";
const ADDRESS: &str = "7 Addressmarkqz Road";
const PHONE: &str = "0161 496 0731";
const EMAIL: &str = "emailmarkqz@example.org";
const EC_NAME: &str = "Contactmarkqz";
const EC_RELATION: &str = "Relationmarkqz";
const EC_PHONE: &str = "0161 496 0999";
const NATIONAL_ID: &str = "NIDMARKQZ 4711";
const LANGUAGE: &str = "Languagemarkqz";
const BLOOD: &str = "AB-";
const ALLERGIES: &str = "Allergiesmarkqz";
const DIAGNOSIS: &str = "Diagnosismarkqz";

/// Strings that must never appear where their field is not shown in clear, nor in the
/// audit trail or the logs.
const SECRETS: [&str; 13] = [
    GIVEN,
    FAMILY,
    DOB,
    GENDER,
    "Addressmarkqz",
    PHONE,
    "emailmarkqz",
    EC_NAME,
    EC_RELATION,
    EC_PHONE,
    NATIONAL_ID,
    ALLERGIES,
    DIAGNOSIS,
];

fn marked_patient() -> Value {
    json!({
        "given_name": GIVEN,
        "family_name": FAMILY,
        "date_of_birth": DOB,
        "sex": "female",
        "gender_identity": GENDER,
        "address": ADDRESS,
        "phone": PHONE,
        "email": EMAIL,
        "emergency_contact": {"name": EC_NAME, "relation": EC_RELATION, "phone": EC_PHONE},
        "national_id": NATIONAL_ID,
        "preferred_language": LANGUAGE,
        "blood_group": BLOOD,
        "allergies": ALLERGIES,
        "primary_diagnosis": DIAGNOSIS,
    })
}

fn simple_patient(given: &str, family: &str, dob: &str, phone: &str) -> Value {
    json!({
        "given_name": given,
        "family_name": family,
        "date_of_birth": dob,
        "sex": "male",
        "phone": phone,
    })
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn patch(client: &mut Client<'_>, path: &str, body: &Value) -> TestResponse {
    let request = client
        .request(Method::PATCH, path)
        .header(header::CONTENT_TYPE, "application/merge-patch+json")
        .body(Body::from(body.to_string()))
        .expect("a request");
    client.send(request).await
}

async fn delete(client: &mut Client<'_>, path: &str) -> TestResponse {
    let request = client
        .request(Method::DELETE, path)
        .body(Body::empty())
        .expect("a request");
    client.send(request).await
}

/// Registers `body` and returns the new patient's JSON.
async fn register(client: &mut Client<'_>, body: &Value) -> Value {
    let response = client.post_json("/api/v1/patients", body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let patient = response.json();
    let id = patient["id"].as_str().expect("an id");
    assert_eq!(
        response.location(),
        Some(format!("/api/v1/patients/{id}").as_str())
    );
    patient
}

fn id_of(patient: &Value) -> String {
    patient["id"].as_str().expect("an id").to_owned()
}

async fn user_id(app: &TestApp, username: &str) -> String {
    let me = app.api_client(username).await.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    me.json()["id"].as_str().expect("an id").to_owned()
}

async fn assign(app: &TestApp, patient: &str, username: &str) {
    let mut reception = app.api_client("reception").await;
    let response = reception
        .post_json(
            &format!("/api/v1/patients/{patient}/care-team"),
            &json!({ "username": username }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

/// How many patients exist (as the administrator sees the list).
async fn patient_count(app: &TestApp) -> u64 {
    let list = app.api_client("admin").await.get("/api/v1/patients").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    list.json()["total"].as_u64().expect("a total")
}

fn keys(object: &Value) -> BTreeSet<String> {
    object
        .as_object()
        .unwrap_or_else(|| panic!("an object: {object}"))
        .keys()
        .cloned()
        .collect()
}

fn field_of(problem: &Value) -> &str {
    problem["errors"][0]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("a field error: {problem}"))
}

fn is_pseudonym(value: &Value) -> bool {
    value.as_str().is_some_and(|v| {
        v.strip_prefix("ANON_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

// ---------------------------------------------------------------------------------------
// 1. Role × field
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Clear,
    Masked,
    Pseudonym,
}

const C: Option<Shown> = Some(Shown::Clear);
const M: Option<Shown> = Some(Shown::Masked);
const P: Option<Shown> = Some(Shown::Pseudonym);
const H: Option<Shown> = None;

/// The roles of the table, in its column order, with how each stands to the test patient
/// (drsmith is put on its care team; the nurse is not).
const ROLES: [(&str, Role, Relation); 6] = [
    ("admin", Role::Admin, Relation::None),
    ("drsmith", Role::Doctor, Relation::CareTeam),
    ("nurse", Role::Nurse, Relation::None),
    ("reception", Role::Receptionist, Relation::None),
    ("pharma", Role::Pharmacist, Relation::None),
    ("auditor", Role::Auditor, Relation::None),
];

/// What each role sees of a patient, written out by hand (and checked against the policy
/// in `carevault_core::masking` below).
const TABLE: [(&str, [Option<Shown>; 6]); 19] = [
    //                      admin drsmith nurse reception pharma auditor
    ("id", [C, C, C, C, C, C]),
    ("mrn", [C, C, H, C, C, H]),
    ("given_name", [C, C, H, C, C, H]),
    ("family_name", [C, C, P, C, C, P]),
    ("date_of_birth", [C, C, M, C, C, P]),
    ("sex", [C, C, C, C, H, C]),
    ("gender_identity", [C, C, H, C, H, H]),
    ("address", [C, C, H, C, H, H]),
    ("phone", [C, C, M, C, H, H]),
    ("email", [C, C, M, C, H, H]),
    ("emergency_contact", [C, C, H, C, H, H]),
    ("national_id", [C, C, H, C, H, H]),
    ("preferred_language", [C, C, C, C, H, H]),
    ("blood_group", [C, C, H, H, H, H]),
    ("allergies", [C, C, H, H, C, H]),
    ("primary_diagnosis", [C, C, H, H, H, H]),
    ("status", [C, C, C, C, C, C]),
    ("created_at", [C, C, C, C, H, H]),
    ("updated_at", [C, C, C, C, H, H]),
];

#[test]
fn the_table_is_the_policy() {
    assert_eq!(
        TABLE.map(|(name, _)| name),
        PatientField::ALL.map(PatientField::name),
        "one row per field, in order"
    );
    for (column, (username, role, relation)) in ROLES.into_iter().enumerate() {
        let view = view_for(role, relation).expect("a view");
        for ((name, row), field) in TABLE.iter().zip(PatientField::ALL) {
            let policy = match visibility(view, field) {
                Visibility::Clear => C,
                Visibility::Masked => M,
                Visibility::Pseudonym => P,
                Visibility::Hidden => H,
            };
            assert_eq!(row[column], policy, "{username} {name}");
        }
    }
    assert_eq!(view_for(Role::Patient, Relation::None), None);
}

/// The value `field` of the registered patient has when shown in clear.
fn clear_value(field: &str, registered: &Value) -> Value {
    match field {
        "id" | "mrn" | "status" | "created_at" | "updated_at" => registered[field].clone(),
        "email" => json!(EMAIL),
        other => marked_patient()[other].clone(),
    }
}

async fn each_role_sees_exactly_the_fields_the_policy_allows(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let registered = register(&mut admin, &marked_patient()).await;
    let id = id_of(&registered);
    // The administrator's answer to the registration is the full record, as given.
    for (name, _) in TABLE {
        assert_eq!(registered[name], clear_value(name, &registered), "{name}");
    }
    assert!(
        registered["mrn"]
            .as_str()
            .is_some_and(|m| m.len() == 8 && m.bytes().all(|b| b.is_ascii_digit())),
        "{registered}"
    );
    assert!(
        chrono::DateTime::parse_from_rfc3339(registered["created_at"].as_str().unwrap()).is_ok()
    );
    assign(&app, &id, "drsmith").await;

    let mut pseudonyms = BTreeSet::new();
    for (column, (username, ..)) in ROLES.into_iter().enumerate() {
        let response = app
            .api_client(username)
            .await
            .get(&format!("/api/v1/patients/{id}"))
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{username}: {}",
            response.text()
        );
        let body = response.text();
        let patient = response.json();
        let expected: BTreeSet<String> = TABLE
            .iter()
            .filter(|(_, row)| row[column].is_some())
            .map(|(name, _)| (*name).to_owned())
            .collect();
        assert_eq!(keys(&patient), expected, "{username}: {patient}");
        for (name, row) in TABLE {
            let value = &patient[name];
            match row[column] {
                None => {}
                Some(Shown::Clear) => {
                    assert_eq!(*value, clear_value(name, &registered), "{username} {name}")
                }
                Some(Shown::Masked) => {
                    let masked = match name {
                        "phone" => json!("XXX-XXX-0731"),
                        "email" => json!("e***@example.org"),
                        "date_of_birth" => json!("1967"),
                        other => panic!("no masked form for {other}"),
                    };
                    assert_eq!(*value, masked, "{username} {name}");
                }
                Some(Shown::Pseudonym) => match name {
                    "family_name" => {
                        assert!(is_pseudonym(value), "{username}: {value}");
                        pseudonyms.insert(value.as_str().unwrap().to_owned());
                    }
                    // Born 1967-08-19; the test clock stands at 2026-03-02: 58.
                    "date_of_birth" => assert_eq!(*value, json!("55\u{2013}59"), "{username}"),
                    other => panic!("no pseudonym for {other}"),
                },
            }
        }
        // Nothing not shown in clear leaks anywhere into the body.
        for (name, row) in TABLE {
            if row[column] == C {
                continue;
            }
            let secret = clear_value(name, &registered);
            let mut secrets = vec![];
            match &secret {
                Value::String(s) => secrets.push(s.clone()),
                Value::Object(contact) => {
                    secrets.extend(contact.values().filter_map(|v| v.as_str().map(Into::into)))
                }
                _ => {}
            }
            for secret in secrets {
                assert!(
                    !body.contains(&secret),
                    "{username}: {name} ({secret}) leaked: {body}"
                );
            }
        }
        assert!(!body.contains("pseudonym"), "{username}: {body}");
        assert!(!body.contains("\"view\""), "{username}: {body}");
    }
    assert_eq!(
        pseudonyms.len(),
        1,
        "one pseudonym per patient: {pseudonyms:?}"
    );

    // Another patient's record: refused.
    app.api_client("john")
        .await
        .get(&format!("/api/v1/patients/{id}"))
        .await
        .problem(StatusCode::FORBIDDEN);
    // The patient's own record: everything.
    let own = app.api_client("john").await.get("/api/v1/me/patient").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
    let own = own.json();
    assert_eq!(
        keys(&own),
        PatientField::ALL
            .map(|f| f.name().to_owned())
            .into_iter()
            .collect()
    );
    assert_eq!(own["family_name"], "Patient");

    assert!(
        !SECRETS.iter().any(|s| captured_logs().contains(s)),
        "patient data in the logs"
    );
}

// ---------------------------------------------------------------------------------------
// 2. Pseudonyms
// ---------------------------------------------------------------------------------------

/// The pseudonym of patient `id`, checked to be the same for two reads and two roles.
async fn pseudonym_of(app: &TestApp, id: &str) -> String {
    let mut auditor = app.api_client("auditor").await;
    let mut nurse = app.api_client("nurse").await;
    let a = auditor.get(&format!("/api/v1/patients/{id}")).await.json();
    let b = auditor.get(&format!("/api/v1/patients/{id}")).await.json();
    let c = nurse.get(&format!("/api/v1/patients/{id}")).await.json();
    assert!(is_pseudonym(&a["family_name"]), "{a}");
    assert_eq!(a["family_name"], b["family_name"], "stable across requests");
    assert_eq!(
        a["family_name"], c["family_name"],
        "the same for every role"
    );
    a["family_name"].as_str().unwrap().to_owned()
}

async fn pseudonyms_are_stable_across_requests_and_restarts_and_differ(backend: Backend) {
    let mut app = TestApp::new(backend).await;
    let (first, second) = {
        let mut admin = app.api_client("admin").await;
        let first = id_of(&register(&mut admin, &marked_patient()).await);
        let second = id_of(
            &register(
                &mut admin,
                &simple_patient("Other", "Person", "1990-01-01", "020 7946 0001"),
            )
            .await,
        );
        (first, second)
    };
    let before = (
        pseudonym_of(&app, &first).await,
        pseudonym_of(&app, &second).await,
    );
    assert_ne!(
        before.0, before.1,
        "different patients, different pseudonyms"
    );
    app.restart().await;
    let after = (
        pseudonym_of(&app, &first).await,
        pseudonym_of(&app, &second).await,
    );
    assert_eq!(before, after, "stable across restarts");
}

// ---------------------------------------------------------------------------------------
// 3. Search
// ---------------------------------------------------------------------------------------

async fn search_finds_by_every_index_and_pages_and_masks(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let mut ann = simple_patient("Ann", "Smithqz", "1980-02-03", "+44 20 7946 0958");
    ann["national_id"] = json!("QZ 12 34 56 C");
    let ann = register(&mut admin, &ann).await;
    let bob = register(
        &mut admin,
        &simple_patient("Bob", "Smithqz", "1975-06-07", "020 7946 0123"),
    )
    .await;
    let ann_id = id_of(&ann);
    let mrn = ann["mrn"].as_str().unwrap().to_owned();

    let search = |q: &str| format!("/api/v1/patients?q={}", encode(q));
    // Identifiers find exactly one patient; a name finds the exact match first and its
    // sound-alikes after it.
    for (q, exact) in [
        (mrn.as_str(), true),
        ("Ann Smithqz", false),
        ("Smithqz, Ann", false),
        ("Smithqz 1980-02-03", true),
        ("020 7946 0958", true),
        ("+44 (0)20 7946-0958", true),
        ("qz123456c", true),
        ("QZ 12 34 56 C", true),
    ] {
        let page = admin.get(&search(q)).await;
        assert_eq!(page.status, StatusCode::OK, "{q}: {}", page.text());
        let page = page.json();
        let ids: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        if exact {
            assert_eq!(ids, [ann_id.as_str()], "{q}: {page}");
            assert_eq!(page["total"], 1, "{q}");
        } else {
            assert_eq!(ids.first(), Some(&ann_id.as_str()), "{q}: {page}");
        }
    }
    // Sound-alike family names; both Smiths.
    let page = admin.get(&search("Smythqz")).await.json();
    assert_eq!(page["total"], 2, "{page}");
    // Nothing matches: an empty page, not an error.
    let page = admin.get(&search("Nobodyatall")).await.json();
    assert_eq!(
        (
            page["total"].as_u64(),
            page["items"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );

    // Paging.
    let one = admin
        .get(&format!("{}&per_page=1", search("Smithqz")))
        .await
        .json();
    let two = admin
        .get(&format!("{}&per_page=1&page=2", search("Smithqz")))
        .await
        .json();
    assert_eq!(
        (one["total"].as_u64(), two["total"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        (one["page"].as_u64(), two["page"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(one["per_page"], 1);
    let paged: BTreeSet<&str> = [&one, &two]
        .iter()
        .map(|p| {
            let items = p["items"].as_array().unwrap();
            assert_eq!(items.len(), 1, "{p}");
            items[0]["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        paged,
        BTreeSet::from([ann_id.as_str(), bob["id"].as_str().unwrap()])
    );
    // A page far past the end (the largest there is) is empty, with the true total.
    let past = admin
        .get(&format!(
            "{}&per_page=100&page=9223372036854775807",
            search("Smithqz")
        ))
        .await;
    assert_eq!(past.status, StatusCode::OK, "{}", past.text());
    let past = past.json();
    assert_eq!(
        (
            past["total"].as_u64(),
            past["items"].as_array().map(Vec::len)
        ),
        (Some(2), Some(0)),
        "{past}"
    );
    // The list without a query: John (demo) and the two Smiths, sorted.
    let newest = admin.get("/api/v1/patients?sort=newest").await.json();
    let oldest = admin.get("/api/v1/patients?sort=oldest").await.json();
    assert_eq!(newest["total"], 3);
    let order =
        |p: &Value| -> Vec<String> { p["items"].as_array().unwrap().iter().map(id_of).collect() };
    let mut reversed = order(&oldest);
    reversed.reverse();
    assert_eq!(order(&newest), reversed);
    assert_eq!(order(&newest)[0], bob["id"].as_str().unwrap());

    // Bad parameters name themselves.
    for (query, field) in [
        ("page=0", "page"),
        ("page=first", "page"),
        ("per_page=0", "per_page"),
        ("per_page=1000", "per_page"),
        ("sort=name", "sort"),
        ("colour=blue", "colour"),
        ("q=a&q=b", "q"),
    ] {
        let problem = admin
            .get(&format!("/api/v1/patients?{query}"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field_of(&problem), field, "{query}: {problem}");
    }
    let problem = admin
        .get(&search(&"x".repeat(201)))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_of(&problem), "q");

    // Outside the care team, a nurse's name search finds nothing (a hit would confirm the
    // name behind a pseudonym); the plain list shows the patients as pseudonyms.
    let mut nurse = app.api_client("nurse").await;
    let page = nurse.get(&search("Smithqz 1980-02-03")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(page.json()["total"], 0, "{}", page.text());
    let listed = nurse.get("/api/v1/patients?per_page=100").await;
    let text = listed.text();
    let listed = listed.json();
    let item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == ann_id.as_str())
        .expect("Ann is listed")
        .clone();
    assert!(is_pseudonym(&item["family_name"]), "{item}");
    assert!(
        item.get("given_name").is_none() && item.get("mrn").is_none(),
        "{item}"
    );
    assert!(!text.contains("Smithqz") && !text.contains("Ann"), "{text}");
    // Pharmacists do not search patients at all (by name or anything else): they find
    // them through the prescriptions they dispense.
    let mut pharma = app.api_client("pharma").await;
    for q in ["07700 900462", "Ann Smithqz"] {
        pharma.get(&search(q)).await.problem(StatusCode::FORBIDDEN);
    }
    // The receptionist sees names but no clinical fields.
    let page = app
        .api_client("reception")
        .await
        .get(&search("Ann Smithqz"))
        .await
        .json();
    assert_eq!(page["items"][0]["family_name"], "Smithqz");
    assert!(page["items"][0].get("allergies").is_none());

    // Auditors search by pseudonym only.
    let pseudonym = item["family_name"].as_str().unwrap().to_owned();
    let mut auditor = app.api_client("auditor").await;
    let page = auditor.get(&search(&pseudonym)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = page.json();
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], ann_id.as_str());
    assert_eq!(page["items"][0]["family_name"], pseudonym.as_str());
    let problem = auditor
        .get(&search("Smithqz"))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_of(&problem), "q");
    // Patients have their own record instead.
    app.api_client("john")
        .await
        .get("/api/v1/patients")
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(
        !captured_logs().contains("Smithqz"),
        "search text in the logs"
    );
}

// ---------------------------------------------------------------------------------------
// 4. Duplicates
// ---------------------------------------------------------------------------------------

async fn a_possible_duplicate_needs_register_anyway_and_is_audited(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let mut first = simple_patient("Dora", "Dupliqz", "1990-05-06", "0113 496 0100");
    first["allergies"] = json!(ALLERGIES);
    first["blood_group"] = json!("B+");
    let first = register(&mut admin, &first).await;

    let mut reception = app.api_client("reception").await;
    let again = simple_patient("Dorothy", "Dupliqz", "1990-05-06", "0113 496 0200");
    let before = patient_count(&app).await;
    let response = reception.post_json("/api/v1/patients", &again).await;
    let problem = response.problem(StatusCode::CONFLICT);
    assert_eq!(problem["type"], "urn:carevault:problem:possible-duplicate");
    assert_eq!(problem["title"], "Possible duplicate");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("\"register_anyway\": true")),
        "{problem}"
    );
    let matches = problem["matches"].as_array().expect("matches");
    assert_eq!(matches.len(), 1, "{problem}");
    assert_eq!(matches[0]["id"], first["id"]);
    // As the receptionist may see it: no clinical fields, and their values nowhere.
    let registration: BTreeSet<String> = PatientField::ALL
        .into_iter()
        .filter(|f| !f.is_clinical())
        .map(|f| f.name().to_owned())
        .collect();
    assert_eq!(keys(&matches[0]), registration);
    assert!(!response.text().contains(ALLERGIES));
    assert_eq!(patient_count(&app).await, before, "nothing registered");

    // The same phone number is a possible duplicate too.
    let same_phone = simple_patient("Eve", "Elsewhereqz", "1970-01-01", "0113 496 0100");
    reception
        .post_json("/api/v1/patients", &same_phone)
        .await
        .problem(StatusCode::CONFLICT);

    let mut anyway = again.clone();
    anyway["register_anyway"] = json!(true);
    let second = register(&mut reception, &anyway).await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(patient_count(&app).await, before + 1);

    let events = app
        .api_client("auditor")
        .await
        .get(&format!(
            "/api/v1/audit/events?resource_type=patient&resource={}&action=create",
            id_of(&second)
        ))
        .await
        .json();
    assert_eq!(events["total"], 1, "{events}");
    let event = &events["events"][0];
    assert_eq!(event["reason"], "registered despite a possible duplicate");
    assert_eq!(event["actor_role"], "receptionist");
    assert!(is_pseudonym(&event["patient_pseudonym"]), "{event}");
}

// ---------------------------------------------------------------------------------------
// 5. Bad input
// ---------------------------------------------------------------------------------------

async fn bad_registrations_name_the_field_and_write_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let before = patient_count(&app).await;
    let mut admin = app.api_client("admin").await;
    let good = marked_patient();
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        (with("date_of_birth", json!("2027-01-01")), "date_of_birth"),
        (with("date_of_birth", json!("03/02/1980")), "date_of_birth"),
        (with("given_name", json!("n".repeat(300))), "given_name"),
        (with("email", json!("not-an-email")), "email"),
        (with("phone", json!("call me")), "phone"),
        (with("sex", json!("sometimes")), "sex"),
        (with("blood_group", json!("C+")), "blood_group"),
        (with("colour", json!("blue")), "colour"),
        (with("status", json!("active")), "status"),
        (with("given_name", json!(42)), "given_name"),
        (with("given_name", Value::Null), "given_name"),
        (with("register_anyway", json!("yes")), "register_anyway"),
        (with("emergency_contact", json!("Mum")), "emergency_contact"),
        (
            with(
                "emergency_contact",
                json!({"name": "Mum", "relation": "mother", "phone": "x"}),
            ),
            "emergency_contact.phone",
        ),
        (without("family_name"), "family_name"),
        (without("date_of_birth"), "date_of_birth"),
    ];
    for (body, field) in cases {
        let response = admin.post_json("/api/v1/patients", &body).await;
        let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field}: {problem}");
        assert!(
            problem["errors"][0]["detail"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
        for secret in SECRETS {
            assert!(
                !response.text().contains(secret),
                "{field}: echoed {secret}"
            );
        }
    }
    // Not JSON at all.
    let request = admin
        .request(Method::POST, "/api/v1/patients")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"given_name\": "))
        .unwrap();
    admin.send(request).await.problem(StatusCode::BAD_REQUEST);
    let request = admin
        .request(Method::POST, "/api/v1/patients")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(good.to_string()))
        .unwrap();
    admin
        .send(request)
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A receptionist may not fill in clinical fields.
    app.api_client("reception")
        .await
        .post_json("/api/v1/patients", &good)
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(patient_count(&app).await, before, "nothing written");
}

// ---------------------------------------------------------------------------------------
// 6. Changes
// ---------------------------------------------------------------------------------------

async fn who_may_change_what(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let patient = register(&mut admin, &marked_patient()).await;
    let path = format!("/api/v1/patients/{}", id_of(&patient));
    assign(&app, &id_of(&patient), "drsmith").await;

    // Reception: demographics yes, clinical no.
    let mut reception = app.api_client("reception").await;
    let changed = patch(&mut reception, &path, &json!({"phone": "0161 496 0555"})).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let changed = changed.json();
    assert_eq!(changed["phone"], "0161 496 0555");
    assert!(
        changed.get("allergies").is_none(),
        "still the registration view"
    );
    patch(&mut reception, &path, &json!({"allergies": "Latex"}))
        .await
        .problem(StatusCode::FORBIDDEN);

    // A doctor on the care team: clinical yes, contact details no; allergies are the
    // allergy list's (a 422 naming it).
    let mut doctor = app.api_client("drsmith").await;
    let changed = patch(&mut doctor, &path, &json!({"blood_group": "B-"})).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(changed.json()["blood_group"], "B-");
    let refused = patch(&mut doctor, &path, &json!({"allergies": "Latex"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["errors"][0]["field"], "allergies");
    assert!(
        refused["errors"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("/allergies")),
        "{refused}"
    );
    patch(&mut doctor, &path, &json!({"phone": "0161 496 0666"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    // A refused change changes nothing, not even the fields that were allowed.
    patch(
        &mut doctor,
        &path,
        &json!({"blood_group": "A+", "phone": "0161 496 0666"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    let now = admin.get(&path).await.json();
    assert_eq!(
        (
            now["allergies"].as_str(),
            now["blood_group"].as_str(),
            now["phone"].as_str()
        ),
        (Some(ALLERGIES), Some("B-"), Some("0161 496 0555"))
    );

    // Nurses, pharmacists and auditors change nothing.
    for username in ["nurse", "pharma", "auditor"] {
        patch(
            &mut app.api_client(username).await,
            &path,
            &json!({"preferred_language": "French"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    }

    // The patient: their own contact details, not their name, not someone else's record.
    let mut john = app.api_client("john").await;
    let own = john.get("/api/v1/me/patient").await.json();
    let own_path = format!("/api/v1/patients/{}", id_of(&own));
    let changed = patch(&mut john, &own_path, &json!({"phone": "07700 900999"})).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(changed.json()["phone"], "07700 900999");
    patch(&mut john, &own_path, &json!({"given_name": "Jonathan"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    patch(&mut john, &path, &json!({"phone": "07700 900999"}))
        .await
        .problem(StatusCode::FORBIDDEN);

    // null clears an optional field; a required field cannot be cleared.
    let cleared = patch(
        &mut admin,
        &path,
        &json!({"gender_identity": null, "email": null}),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text());
    let cleared = cleared.json();
    assert!(
        cleared["gender_identity"].is_null() && cleared["email"].is_null(),
        "{cleared}"
    );
    assert_eq!(cleared["given_name"], GIVEN, "absent members are kept");
    let problem = patch(&mut admin, &path, &json!({"given_name": null}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_of(&problem), "given_name");
    for (body, field) in [
        (json!({"date_of_birth": "2030-01-01"}), "date_of_birth"),
        (json!({"email": "nope"}), "email"),
        (json!({"given_name": 7}), "given_name"),
        (json!({"mrn": "10000014"}), "mrn"),
        (json!({"status": "merged"}), "status"),
        (json!({"status": null}), "status"),
    ] {
        let problem = patch(&mut admin, &path, &body)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field_of(&problem), field, "{body}: {problem}");
    }
    let unchanged = admin.get(&path).await.json();
    assert_eq!(unchanged["given_name"], GIVEN);
    assert_eq!(unchanged["date_of_birth"], DOB);
    // Status: active or deceased.
    let deceased = patch(&mut admin, &path, &json!({"status": "deceased"})).await;
    assert_eq!(deceased.status, StatusCode::OK, "{}", deceased.text());
    assert_eq!(deceased.json()["status"], "deceased");

    // Every change is audited with the field names, never the values.
    let events = app
        .api_client("auditor")
        .await
        .get(&format!(
            "/api/v1/audit/events?resource_type=patient&resource={}&action=update&outcome=allowed&limit=500",
            id_of(&patient)
        ))
        .await
        .json();
    let reasons: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"changed: phone"), "{reasons:?}");
    assert!(reasons.contains(&"changed: blood_group"), "{reasons:?}");
    assert!(
        !reasons.iter().any(|r| r.contains("allergies")),
        "{reasons:?}"
    );
    assert!(!events.to_string().contains("Latex"));
}

// ---------------------------------------------------------------------------------------
// 7. Refusals on every route
// ---------------------------------------------------------------------------------------

async fn every_patient_route_refuses_the_wrong_caller(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let other = id_of(
        &register(
            &mut admin,
            &simple_patient("Olga", "Otherqz", "1960-01-01", "0191 498 0001"),
        )
        .await,
    );
    let mut john = app.api_client("john").await;
    let own = id_of(&john.get("/api/v1/me/patient").await.json());
    let nurse_id = user_id(&app, "nurse").await;
    let patient = format!("/api/v1/patients/{other}");
    let team = format!("{patient}/care-team");
    let member = format!("{team}/{nurse_id}");
    let body = simple_patient("New", "Personqz", "2000-01-01", "0191 498 0002");

    // Without a session: 401 on every route.
    let mut anonymous = app.anonymous();
    for path in ["/api/v1/patients", &patient, &team, "/api/v1/me/patient"] {
        anonymous.get(path).await.problem(StatusCode::UNAUTHORIZED);
    }
    anonymous
        .post_json("/api/v1/patients", &body)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    patch(&mut anonymous, &patient, &json!({"phone": "0191 498 0003"}))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    anonymous
        .post_json(&team, &json!({"username": "nurse"}))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    delete(&mut anonymous, &member)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // A session cookie alone does not authorise an API write.
    let mut browser = app.browser("admin").await;
    browser
        .post_json("/api/v1/patients", &body)
        .await
        .problem(StatusCode::UNAUTHORIZED);

    // The wrong role: 403.
    let mut pharma = app.api_client("pharma").await;
    pharma
        .post_json("/api/v1/patients", &body)
        .await
        .problem(StatusCode::FORBIDDEN);
    pharma
        .post_json(&team, &json!({"username": "nurse"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    delete(&mut pharma, &member)
        .await
        .problem(StatusCode::FORBIDDEN);
    patch(
        &mut app.api_client("auditor").await,
        &patient,
        &json!({"phone": "0191 498 0003"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    app.api_client("drsmith")
        .await
        .get("/api/v1/me/patient")
        .await
        .problem(StatusCode::FORBIDDEN);

    // A patient and someone else's record (IDOR): 403 whatever the route.
    john.get("/api/v1/patients")
        .await
        .problem(StatusCode::FORBIDDEN);
    john.get(&patient).await.problem(StatusCode::FORBIDDEN);
    john.get(&team).await.problem(StatusCode::FORBIDDEN);
    patch(&mut john, &patient, &json!({"phone": "0191 498 0003"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    john.post_json(&team, &json!({"username": "nurse"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    delete(&mut john, &member)
        .await
        .problem(StatusCode::FORBIDDEN);
    // Nor may they manage their own care team.
    john.post_json(
        &format!("/api/v1/patients/{own}/care-team"),
        &json!({"username": "drsmith"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    // An id that does not exist is refused the same way for a patient (no probing).
    john.get("/api/v1/patients/01990000-0000-7000-8000-000000000000")
        .await
        .problem(StatusCode::FORBIDDEN);
    // Their own record and care team they may see.
    assert_eq!(
        john.get(&format!("/api/v1/patients/{own}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        john.get(&format!("/api/v1/patients/{own}/care-team"))
            .await
            .status,
        StatusCode::OK
    );

    // Ids that are not ids, or name nobody: 404 problem, never 500.
    for path in [
        "/api/v1/patients/not-an-id",
        "/api/v1/patients/42",
        "/api/v1/patients/not-an-id/care-team",
        "/api/v1/patients/01990000-0000-7000-8000-000000000000",
    ] {
        admin.get(path).await.problem(StatusCode::NOT_FOUND);
    }
    patch(
        &mut admin,
        "/api/v1/patients/not-an-id",
        &json!({"phone": "0191 498 0003"}),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    admin
        .post_json(
            "/api/v1/patients/not-an-id/care-team",
            &json!({"username": "nurse"}),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    for path in [
        format!("/api/v1/patients/not-an-id/care-team/{nurse_id}"),
        format!("{team}/not-an-id"),
        // The nurse is not on this patient's team.
        member.clone(),
    ] {
        delete(&mut admin, &path)
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    // Methods that do not exist on a route.
    delete(&mut admin, &patient)
        .await
        .problem(StatusCode::METHOD_NOT_ALLOWED);
}

// ---------------------------------------------------------------------------------------
// 8. Care teams
// ---------------------------------------------------------------------------------------

async fn care_team_assignment_opens_the_full_view(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let id = id_of(&register(&mut admin, &marked_patient()).await);
    let path = format!("/api/v1/patients/{id}");
    let team = format!("{path}/care-team");
    let mut nurse = app.api_client("nurse").await;
    let before = nurse.get(&path).await.json();
    assert!(is_pseudonym(&before["family_name"]), "{before}");
    assert!(before.get("allergies").is_none());

    let mut reception = app.api_client("reception").await;
    let assigned = reception
        .post_json(&team, &json!({"username": "nurse"}))
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.text());
    let members = assigned.json()["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 1);
    let member = &members[0];
    assert_eq!(
        keys(member),
        [
            "display_name",
            "role",
            "since",
            "source",
            "user_id",
            "username"
        ]
        .map(String::from)
        .into_iter()
        .collect()
    );
    assert_eq!(member["username"], "nurse");
    assert_eq!(member["display_name"], "Nadia Nurse");
    assert_eq!(member["role"], "nurse");
    assert_eq!(member["source"], "assigned");
    assert!(chrono::DateTime::parse_from_rfc3339(member["since"].as_str().unwrap()).is_ok());
    let nurse_id = member["user_id"].as_str().unwrap().to_owned();
    assert_eq!(nurse_id, user_id(&app, "nurse").await);

    let after = nurse.get(&path).await.json();
    assert_eq!(after["family_name"], FAMILY);
    assert_eq!(after["allergies"], ALLERGIES);
    // The team is visible to whoever may see the patient.
    let listed = nurse.get(&team).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert_eq!(listed.json()["members"][0]["username"], "nurse");
    // Assigning twice keeps one membership.
    let twice = reception
        .post_json(&team, &json!({"username": "nurse"}))
        .await;
    assert!(
        twice.status == StatusCode::OK || twice.status == StatusCode::CONFLICT,
        "{}",
        twice.text()
    );
    assert_eq!(
        nurse.get(&team).await.json()["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Only doctors and nurses, by an existing username.
    for (body, field) in [
        (json!({"username": "pharma"}), "username"),
        (json!({"username": "nobody-here"}), "username"),
        (json!({"username": 3}), "username"),
        (json!({}), "username"),
        (json!({"username": "nurse", "role": "doctor"}), "role"),
    ] {
        let problem = reception
            .post_json(&team, &body)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field_of(&problem), field, "{body}: {problem}");
    }
    // Receptionists and administrators only.
    app.api_client("drsmith")
        .await
        .post_json(&team, &json!({"username": "drsmith"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    delete(&mut nurse, &format!("{team}/{nurse_id}"))
        .await
        .problem(StatusCode::FORBIDDEN);

    let removed = delete(&mut reception, &format!("{team}/{nurse_id}")).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text());
    assert_eq!(removed.json()["members"], json!([]));
    let masked_again = nurse.get(&path).await.json();
    assert!(is_pseudonym(&masked_again["family_name"]), "{masked_again}");
    assert!(masked_again.get("allergies").is_none());

    // Assignments and removals are audited as updates, with ids only.
    let events = app
        .api_client("auditor")
        .await
        .get(&format!(
            "/api/v1/audit/events?resource_type=patient&resource={id}&action=update"
        ))
        .await
        .json();
    let reasons: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&format!("care team: added {nurse_id}").as_str()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&format!("care team: removed {nurse_id}").as_str()),
        "{reasons:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 9. Audit
// ---------------------------------------------------------------------------------------

async fn every_read_is_audited_without_patient_data(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let id = id_of(&register(&mut admin, &marked_patient()).await);
    assign(&app, &id, "drsmith").await;
    let drsmith_id = user_id(&app, "drsmith").await;
    let mut auditor = app.api_client("auditor").await;
    let reads = format!(
        "/api/v1/audit/events?resource_type=patient&resource={id}&action=read&actor={drsmith_id}"
    );
    assert_eq!(auditor.get(&reads).await.json()["total"], 0);

    let mut doctor = app.api_client("drsmith").await;
    let seen = doctor.get(&format!("/api/v1/patients/{id}")).await;
    assert_eq!(seen.status, StatusCode::OK);
    let events = auditor.get(&reads).await.json();
    assert_eq!(events["total"], 1, "exactly one read event: {events}");
    let event = &events["events"][0];
    assert_eq!(event["resource_type"], "patient");
    assert_eq!(event["resource_id"], id.as_str());
    assert_eq!(event["actor_id"], drsmith_id.as_str());
    assert_eq!(event["actor_role"], "doctor");
    assert_eq!(event["outcome"], "allowed");
    assert!(is_pseudonym(&event["patient_pseudonym"]), "{event}");

    // Lists, searches, the care team and refusals are recorded too.
    doctor.get("/api/v1/patients").await;
    doctor
        .get(&format!("/api/v1/patients?q={}", encode(FAMILY)))
        .await;
    doctor
        .get(&format!("/api/v1/patients/{id}/care-team"))
        .await;
    app.api_client("john")
        .await
        .get(&format!("/api/v1/patients/{id}"))
        .await
        .problem(StatusCode::FORBIDDEN);
    let all = auditor
        .get(&format!(
            "/api/v1/audit/events?resource_type=patient&resource={id}&limit=500"
        ))
        .await
        .json();
    let actions: BTreeSet<(String, String)> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for action in ["create", "listed", "search", "read", "access_denied"] {
        assert!(
            actions.iter().any(|(a, _)| a == action),
            "{action} missing: {actions:?}"
        );
    }
    assert!(actions.contains(&("access_denied".to_owned(), "denied".to_owned())));

    // No patient data anywhere in the trail.
    let everything = auditor.get("/api/v1/audit/events?limit=500").await;
    assert_eq!(everything.status, StatusCode::OK);
    assert!(everything.json()["total"].as_u64().unwrap() < 500);
    let text = everything.text();
    for secret in SECRETS.iter().chain([&"markqz"]) {
        assert!(!text.contains(secret), "{secret} in the audit trail");
    }
    let csv = auditor.get("/api/v1/audit/export.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(!csv.text().contains("markqz"));
}

async fn a_role_that_may_not_search_is_refused_before_its_parameters_are_judged(backend: Backend) {
    let app = TestApp::new(backend).await;
    for path in [
        "/api/v1/patients?page=abc",
        "/api/v1/patients?sort=sideways",
    ] {
        let mut john = app.api_client("john").await;
        let response = john.get(path).await;
        response.problem(StatusCode::FORBIDDEN);
        let mut browser = app.browser("john").await;
        let page = browser.get(&path.replace("/api/v1", "")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    let mut auditor = app.api_client("auditor").await;
    let denied = auditor
        .get("/api/v1/audit/events?action=access_denied&resource_type=patient")
        .await
        .json();
    let reasons: Vec<&str> = denied["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| **r == "may not list or search patients")
            .count(),
        4,
        "{reasons:?}"
    );
}

async fn if_match_refuses_a_patch_based_on_an_old_version(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let created = admin
        .post_json(
            "/api/v1/patients",
            &json!({"given_name": "Ivy", "family_name": "Etagson", "date_of_birth": "1980-01-01", "sex": "female"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/patients/{id}");
    let read = admin.get(&path).await;
    let first = read.header("etag").expect("an ETag").to_owned();

    let with_if_match = |client: &Client<'_>, tag: &str, body: Value| {
        client
            .request(Method::PATCH, &path)
            .header(header::CONTENT_TYPE, "application/merge-patch+json")
            .header(header::IF_MATCH, tag)
            .body(Body::from(body.to_string()))
            .expect("a request")
    };
    app.clock.advance(std::time::Duration::from_secs(1));
    let request = with_if_match(&admin, &first, json!({"phone": "07700 900101"}));
    let changed = admin.send(request).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let second = changed.header("etag").expect("a new ETag").to_owned();
    assert_ne!(first, second);

    // A second client still holding the first version is refused, and nothing is written.
    let request = with_if_match(&admin, &first, json!({"phone": "07700 900202"}));
    let stale = admin.send(request).await;
    stale.problem(StatusCode::PRECONDITION_FAILED);
    let request = with_if_match(&admin, "\"yesterday\"", json!({"phone": "07700 900303"}));
    admin
        .send(request)
        .await
        .problem(StatusCode::PRECONDITION_FAILED);
    let now = admin.get(&path).await.json();
    assert_eq!(now["phone"], "07700 900101");
}

on_all_backends!(
    each_role_sees_exactly_the_fields_the_policy_allows,
    pseudonyms_are_stable_across_requests_and_restarts_and_differ,
    search_finds_by_every_index_and_pages_and_masks,
    a_possible_duplicate_needs_register_anyway_and_is_audited,
    bad_registrations_name_the_field_and_write_nothing,
    who_may_change_what,
    every_patient_route_refuses_the_wrong_caller,
    care_team_assignment_opens_the_full_view,
    every_read_is_audited_without_patient_data,
    a_role_that_may_not_search_is_refused_before_its_parameters_are_judged,
    if_match_refuses_a_patch_based_on_an_old_version,
);
