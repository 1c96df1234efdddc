//! The patient pages, through the browser-like clients: per role, the patient page carries
//! exactly the fields the masking policy allows (a hidden field is absent from the HTML, not
//! blanked); the register form with its field errors and the duplicate warning; the edit
//! form offering each role only what it may change; the search page; the administrator's
//! encryption view and research export; and who may open which page.

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use carevault_core::Role;
use carevault_core::masking::{PatientField, Relation, Visibility, view_for, visibility};
use carevault_service::patients::{Change, EmergencyContactInput, PatientInput, PatientQuery};
use carevault_service::{Actor, Clock};

use crate::harness::{Backend, TestApp, TestResponse};
use crate::on_all_backends;

fn set(value: &str) -> Change<String> {
    Change::Set(value.to_owned())
}

/// A patient with a marker in every field.
fn marked_patient() -> PatientInput {
    PatientInput {
        given_name: set("Qpgivenmark"),
        family_name: set("Qpfamilymark"),
        date_of_birth: set("1961-07-19"),
        sex: set("female"),
        gender_identity: set("Qpgendermark"),
        address: set("1 Qpaddressmark Road, Riverton RV3 4AB"),
        phone: set("+44 7700 938421"),
        email: set("qpemailmark@example.org"),
        emergency_contact: Change::Set(EmergencyContactInput {
            name: "Qpcontactmark".into(),
            relation: "Qprelationmark".into(),
            phone: "07700 900777".into(),
        }),
        national_id: set("QP 93 84 21 C"),
        preferred_language: set("Qplanguagemark"),
        blood_group: set("AB-"),
        allergies: set("Qpallergymark"),
        primary_diagnosis: set("Qpdiagnosismark"),
        status: Change::Keep,
    }
}

/// The marker strings of [`marked_patient`], by field.
const MARKERS: [(PatientField, &str); 14] = [
    (PatientField::GivenName, "Qpgivenmark"),
    (PatientField::FamilyName, "Qpfamilymark"),
    (PatientField::DateOfBirth, "1961-07-19"),
    (PatientField::GenderIdentity, "Qpgendermark"),
    (PatientField::Address, "Qpaddressmark"),
    (PatientField::Phone, "7700 938421"),
    (PatientField::Email, "qpemailmark"),
    (PatientField::EmergencyContact, "Qpcontactmark"),
    (PatientField::EmergencyContact, "Qprelationmark"),
    (PatientField::NationalId, "QP 93 84 21 C"),
    (PatientField::PreferredLanguage, "Qplanguagemark"),
    (PatientField::BloodGroup, "<dd>AB-"),
    (PatientField::Allergies, "Qpallergymark"),
    (PatientField::PrimaryDiagnosis, "Qpdiagnosismark"),
];

fn simple_patient(given: &str, family: &str, dob: &str, phone: &str) -> PatientInput {
    PatientInput {
        given_name: set(given),
        family_name: set(family),
        date_of_birth: set(dob),
        sex: set("male"),
        phone: set(phone),
        ..PatientInput::default()
    }
}

/// The `data-field` names on a page.
fn data_fields(html: &str) -> BTreeSet<String> {
    let pattern = regex::Regex::new(r#"data-field="([^"]+)""#).unwrap();
    pattern
        .captures_iter(html)
        .map(|c| c[1].to_owned())
        .collect()
}

/// The fields the policy shows `role` standing to a patient in `relation`.
fn policy_fields(role: Role, relation: Relation) -> BTreeSet<String> {
    let view = view_for(role, relation).expect("a view");
    PatientField::ALL
        .into_iter()
        .filter(|f| visibility(view, *f) != Visibility::Hidden)
        .map(|f| f.name().to_owned())
        .collect()
}

/// How many patients there are (as the administrator lists them).
async fn patient_count(app: &TestApp, admin: &Actor) -> u64 {
    app.services
        .search_patients(admin, PatientQuery::default())
        .await
        .expect("a list")
        .total
}

fn assert_page(response: &TestResponse, status: StatusCode, what: &str) -> String {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    response.text()
}

fn assert_sign_in_redirect(response: &TestResponse, what: &str) {
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{what}");
    assert!(
        response.location().is_some_and(|l| l.starts_with("/login")),
        "{what}: {:?}",
        response.location()
    );
}

async fn patient_page_shows_exactly_the_fields_each_role_may_see(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let patient = app.register_patient(&admin, marked_patient()).await;
    let mrn = patient.mrn.clone().expect("the administrator sees the MRN");
    app.services
        .assign_care_team_member(&admin, patient.id, "drsmith")
        .await
        .expect("drsmith joins the care team");
    let today = app.clock.now().date_naive();
    let dob = chrono::NaiveDate::from_ymd_opt(1961, 7, 19).unwrap();
    let age_band = carevault_crypto::mask::age_band(dob, today);

    let cases = [
        ("admin", Role::Admin, Relation::None),
        ("drsmith", Role::Doctor, Relation::CareTeam),
        ("nurse", Role::Nurse, Relation::None),
        ("reception", Role::Receptionist, Relation::None),
        ("pharma", Role::Pharmacist, Relation::None),
        ("auditor", Role::Auditor, Relation::None),
    ];
    for (username, role, relation) in cases {
        let mut client = app.browser(username).await;
        let html = assert_page(
            &client.get(&format!("/patients/{}", patient.id)).await,
            StatusCode::OK,
            username,
        );
        assert_eq!(
            data_fields(&html),
            policy_fields(role, relation),
            "{username}: the page's fields differ from the policy"
        );
        let view = view_for(role, relation).unwrap();
        for (field, marker) in MARKERS {
            let shown = html.contains(marker);
            match visibility(view, field) {
                Visibility::Clear => assert!(shown, "{username}: {marker} should be shown"),
                _ => assert!(!shown, "{username}: {marker} must not be in the page"),
            }
        }
        assert_eq!(
            html.contains(&mrn),
            visibility(view, PatientField::Mrn) == Visibility::Clear,
            "{username}: MRN"
        );
        // Masked and pseudonymised fields carry their stand-ins.
        if visibility(view, PatientField::Phone) == Visibility::Masked {
            assert!(html.contains("XXX-XXX-8421"), "{username}: masked phone");
        }
        if visibility(view, PatientField::Email) == Visibility::Masked {
            assert!(
                html.contains("q***@example.org"),
                "{username}: masked e-mail"
            );
        }
        match visibility(view, PatientField::DateOfBirth) {
            Visibility::Masked => assert!(html.contains("<dd>1961 "), "{username}: birth year"),
            Visibility::Pseudonym => assert!(html.contains(&age_band), "{username}: age band"),
            _ => {}
        }
        if visibility(view, PatientField::FamilyName) == Visibility::Pseudonym {
            assert!(html.contains(&patient.pseudonym), "{username}: pseudonym");
            assert!(
                html.contains(&format!(
                    "<h1 class=\"banner-name\">{}</h1>",
                    patient.pseudonym
                )),
                "{username}: the page is headed with the pseudonym"
            );
        }
        // The pharmacist's page in particular has no phone at all.
        if role == Role::Pharmacist {
            assert!(!html.contains("data-field=\"phone\""));
            assert!(!html.contains("Phone"), "{username}: no phone label either");
        }
    }

    // A patient sees their own record, and nobody else's.
    let mut john = app.browser("john").await;
    let refused = john.get(&format!("/patients/{}", patient.id)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.text().contains("Qpfamilymark"));
    let own = assert_page(&john.get("/my/record").await, StatusCode::OK, "john");
    assert_eq!(
        data_fields(&own),
        policy_fields(Role::Patient, Relation::Own)
    );
    assert!(
        own.contains("<h1 class=\"banner-name\">John Patient</h1>"),
        "{own}"
    );
    assert!(!own.contains("Qpfamilymark"));
    // Staff have no "own record".
    let mut admin_client = app.browser("admin").await;
    assert_eq!(
        admin_client.get("/my/record").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn the_register_form_reports_bad_input_and_duplicates(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let mut reception = app.browser("reception").await;

    let form = assert_page(
        &reception.get("/patients/new").await,
        StatusCode::OK,
        "the form",
    );
    for name in [
        "given_name",
        "date_of_birth",
        "emergency_contact_name",
        "phone",
    ] {
        assert!(form.contains(&format!("name=\"{name}\"")), "{name}");
    }
    for clinical in ["blood_group", "allergies", "primary_diagnosis"] {
        assert!(
            !form.contains(&format!("name=\"{clinical}\"")),
            "{clinical}"
        );
    }
    assert!(form.contains("<label for=\"given_name\">"));
    let admin_form = app.browser("admin").await.get("/patients/new").await.text();
    for clinical in ["blood_group", "allergies", "primary_diagnosis"] {
        assert!(
            admin_form.contains(&format!("name=\"{clinical}\"")),
            "{clinical}"
        );
    }

    // Bad input: every problem next to its field, the input kept, nothing written.
    let before = patient_count(&app, &admin).await;
    let long_name = "A".repeat(300);
    let response = reception
        .post_form(
            "/patients/new",
            &[
                ("given_name", &long_name),
                ("family_name", "Formtest"),
                ("date_of_birth", "2999-01-01"),
                ("sex", "female"),
                ("email", "not-an-email"),
                ("phone", ""),
                ("address", "2 Keep Street"),
            ],
        )
        .await;
    let html = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "bad input");
    for field in ["given_name", "date_of_birth", "email"] {
        assert!(
            html.contains(&format!("<p class=\"field-error\" id=\"{field}-error\">")),
            "{field}: {html}"
        );
        assert!(
            html.contains(&format!("aria-describedby=\"{field}-error\""))
                || html.contains(&format!(" {field}-error\"")),
            "{field} is described by its error"
        );
    }
    assert!(
        html.contains("Date of birth must not be in the future."),
        "{html}"
    );
    assert!(html.contains("Given name must be at most 100 characters."));
    assert!(html.contains("value=\"not-an-email\""));
    assert!(html.contains("value=\"Formtest\""));
    assert!(html.contains(">2 Keep Street</textarea>"));
    assert!(!html.contains("id=\"family_name-error\""));
    assert_eq!(patient_count(&app, &admin).await, before);

    // A registration through the form.
    let first = reception
        .post_form(
            "/patients/new",
            &[
                ("given_name", "Marie"),
                ("family_name", "Dupont"),
                ("date_of_birth", "1970-01-01"),
                ("sex", "female"),
                ("phone", "+44 7700 900100"),
                ("email", ""),
                ("emergency_contact_name", ""),
                ("emergency_contact_relation", ""),
                ("emergency_contact_phone", ""),
            ],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
    let first_href = first
        .location()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    assert!(first_href.starts_with("/patients/"), "{first_href}");
    let page = reception.get(first.location().unwrap()).await.text();
    assert!(page.contains("<h1 class=\"banner-name\">Marie Dupont</h1>"));
    assert!(page.contains("The patient has been registered."));
    assert_eq!(patient_count(&app, &admin).await, before + 1);

    // Same family name and date of birth: a warning with the match, and nothing written.
    let again = [
        ("given_name", "Maria"),
        ("family_name", "Dupont"),
        ("date_of_birth", "1970-01-01"),
        ("sex", "female"),
    ];
    let warned = reception.post_form("/patients/new", &again).await;
    let html = assert_page(&warned, StatusCode::CONFLICT, "duplicate");
    assert!(html.contains("may already be registered"), "{html}");
    assert!(html.contains(&format!("href=\"{first_href}\">Marie Dupont</a>")));
    assert!(html.contains("name=\"register_anyway\" value=\"true\""));
    assert!(html.contains("value=\"Maria\""));
    assert_eq!(patient_count(&app, &admin).await, before + 1);

    let mut anyway = again.to_vec();
    anyway.push(("register_anyway", "true"));
    let second = reception.post_form("/patients/new", &anyway).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.text());
    assert!(!second.location().unwrap().starts_with(&first_href));
    assert_eq!(patient_count(&app, &admin).await, before + 2);

    // Only roles that register are offered the form, and their posts refused.
    for username in ["drsmith", "nurse", "pharma", "auditor", "john"] {
        let mut client = app.browser(username).await;
        assert_eq!(
            client.get("/patients/new").await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
        assert_eq!(
            client.post_form("/patients/new", &again).await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
    }
    // A receptionist cannot slip a clinical field into a registration.
    let mut sneaky = again.to_vec();
    sneaky.push(("allergies", "Qpsneaky"));
    sneaky.push(("register_anyway", "true"));
    assert_eq!(
        reception.post_form("/patients/new", &sneaky).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(patient_count(&app, &admin).await, before + 2);
}

async fn the_edit_form_offers_each_role_what_it_may_change(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let patient = app.register_patient(&admin, marked_patient()).await;
    let other = app
        .register_patient(
            &admin,
            simple_patient("Olga", "Otherpatient", "1990-05-05", "07700 900555"),
        )
        .await;
    app.services
        .assign_care_team_member(&admin, patient.id, "drsmith")
        .await
        .unwrap();
    let edit = format!("/patients/{}/edit", patient.id);

    // Reception: demographics, no clinical input at all.
    let mut reception = app.browser("reception").await;
    let html = assert_page(&reception.get(&edit).await, StatusCode::OK, "reception");
    assert!(html.contains("name=\"given_name\""));
    assert!(html.contains("value=\"Qpfamilymark\""));
    for clinical in ["allergies", "blood_group", "primary_diagnosis"] {
        assert!(
            !html.contains(&format!("name=\"{clinical}\"")),
            "{clinical}"
        );
    }
    assert!(!html.contains("Qpallergymark"));
    // An emptied optional input clears it; a bad value is shown next to its field.
    let response = reception
        .post_form(&edit, &[("email", "broken"), ("phone", "")])
        .await;
    let html = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "bad email");
    assert!(html.contains("id=\"email-error\""), "{html}");
    assert!(html.contains("value=\"broken\""));
    let response = reception
        .post_form(&edit, &[("national_id", ""), ("given_name", "Qpnewgiven")])
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let after = app.services.get_patient(&admin, patient.id).await.unwrap();
    assert_eq!(after.national_id, Some(None));
    assert_eq!(after.given_name.as_deref(), Some("Qpnewgiven"));
    assert_eq!(after.allergies, Some(Some("Qpallergymark".into())));
    // A clinical field posted anyway is refused by the service.
    assert_eq!(
        reception
            .post_form(&edit, &[("allergies", "none")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The doctor on the care team: clinical inputs only; allergies are the allergy list's.
    let mut drsmith = app.browser("drsmith").await;
    let html = assert_page(&drsmith.get(&edit).await, StatusCode::OK, "drsmith");
    for clinical in ["blood_group", "primary_diagnosis"] {
        assert!(html.contains(&format!("name=\"{clinical}\"")), "{clinical}");
    }
    assert!(!html.contains("name=\"allergies\""));
    assert!(html.contains(&format!("href=\"/patients/{}/allergies\"", patient.id)));
    for demographic in ["given_name", "phone", "address", "status"] {
        assert!(
            !html.contains(&format!("name=\"{demographic}\"")),
            "{demographic}"
        );
    }
    // The old field posted anyway: 422 pointing to the allergy list, nothing saved.
    let response = drsmith
        .post_form(
            &edit,
            &[("allergies", "Qpnewallergy"), ("blood_group", "O-")],
        )
        .await;
    let html = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "old field");
    assert!(html.contains(&format!("/patients/{}/allergies", patient.id)));
    let response = drsmith.post_form(&edit, &[("blood_group", "O-")]).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let after = app.services.get_patient(&admin, patient.id).await.unwrap();
    assert_eq!(after.allergies, Some(Some("Qpallergymark".into())));
    assert_eq!(after.blood_group, Some(Some("O-".into())));
    // Not on the other patient's care team: nothing to edit.
    let other_edit = format!("/patients/{}/edit", other.id);
    assert_eq!(drsmith.get(&other_edit).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        drsmith
            .post_form(&other_edit, &[("allergies", "x")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Nurses, pharmacists and auditors edit nothing.
    for username in ["nurse", "pharma", "auditor"] {
        let mut client = app.browser(username).await;
        assert_eq!(
            client.get(&edit).await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
        assert_eq!(
            client
                .post_form(&edit, &[("phone", "07700 900999")])
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
    }

    // John edits his own phone, and nobody else's record.
    let john_actor = app.actor("john").await;
    let own = app
        .services
        .my_patient_record(&john_actor)
        .await
        .unwrap()
        .expect("john's record");
    let mut john = app.browser("john").await;
    let own_edit = format!("/patients/{}/edit", own.id);
    let html = assert_page(&john.get(&own_edit).await, StatusCode::OK, "john");
    assert!(html.contains("name=\"phone\""));
    assert!(html.contains("name=\"emergency_contact_name\""));
    for other_field in ["given_name", "date_of_birth", "allergies", "status"] {
        assert!(
            !html.contains(&format!("name=\"{other_field}\"")),
            "{other_field}"
        );
    }
    let response = john
        .post_form(&own_edit, &[("phone", "+44 7700 900123")])
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert_eq!(
        response.location(),
        Some("/my/record?notice=patient-updated")
    );
    let record = john.get("/my/record?notice=patient-updated").await.text();
    assert!(record.contains("+44 7700 900123"));
    assert!(record.contains("The changes have been saved."));
    assert_eq!(john.get(&edit).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        john.post_form(&edit, &[("phone", "07700 900999")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let unchanged = app.services.get_patient(&admin, patient.id).await.unwrap();
    assert_eq!(unchanged.phone, Some(Some("+44 7700 938421".into())));
}

async fn the_list_searches_sorts_and_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let ann = app
        .register_patient(
            &admin,
            simple_patient("Ann", "Smith", "1980-02-03", "+44 7700 900201"),
        )
        .await;
    let bob = app
        .register_patient(
            &admin,
            simple_patient("Bob", "Jones", "1975-06-07", "+44 7700 900202"),
        )
        .await;
    let ann_href = format!("href=\"/patients/{}\"", ann.id);
    let bob_href = format!("href=\"/patients/{}\"", bob.id);
    let mut client = app.browser("admin").await;

    for q in [
        "Ann+Smith",
        "Smyth",
        ann.mrn.as_deref().unwrap(),
        "Smith+1980-02-03",
    ] {
        let html = assert_page(
            &client.get(&format!("/patients?q={q}")).await,
            StatusCode::OK,
            q,
        );
        assert!(html.contains(&ann_href), "{q}: {html}");
        assert!(!html.contains(&bob_href), "{q}");
        assert!(html.contains("Patients matching your search"));
    }
    let html = client.get("/patients?q=Nobodyatall").await.text();
    assert!(html.contains("No patient matches this search."));

    // Paging and sorting, with the search kept in the links.
    let operator = app.services.console_operator();
    app.services
        .seed_synthetic_patients(&operator, 30, Some(7))
        .await
        .expect("synthetic patients");
    let html = assert_page(&client.get("/patients").await, StatusCode::OK, "list");
    assert!(
        html.contains("href=\"/patients?page=2\" rel=\"next\""),
        "{html}"
    );
    assert!(!html.contains("rel=\"prev\""));
    assert!(html.contains("Page 1 of 2"));
    assert!(html.contains("Register a patient"));
    let html = client.get("/patients?page=2").await.text();
    assert!(html.contains("href=\"/patients\" rel=\"prev\""), "{html}");
    assert!(!html.contains("rel=\"next\""));
    let oldest = client.get("/patients?sort=oldest").await.text();
    assert!(oldest.contains("href=\"/patients?sort=oldest&#38;page=2\""));
    // The oldest registrations (the demo's John, then Ann) come first.
    let first_ann = oldest.find(&ann_href).expect("Ann on the first page");
    let first_bob = oldest.find(&bob_href).expect("Bob on the first page");
    assert!(first_ann < first_bob);
    assert!(oldest.contains("<option value=\"oldest\" selected>"));

    // Bad parameters: a message next to the box, no list.
    for (query, field) in [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("sort=sideways", "sort"),
    ] {
        let response = client.get(&format!("/patients?{query}")).await;
        let html = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, query);
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{query}");
        assert!(!html.contains(&ann_href));
    }

    // Pharmacists do not list or search patients: they reach them through the
    // prescriptions they dispense.
    let mut pharma = app.browser("pharma").await;
    let refused = pharma.get("/patients?q=Ann+Smith").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.text().contains("Ann Smith"));

    // Auditors search by pseudonym only: a name is a field error, not a failure.
    let mut auditor = app.browser("auditor").await;
    let response = auditor.get("/patients?q=Smith").await;
    let html = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "auditor");
    assert!(html.contains("id=\"q-error\""), "{html}");
    assert!(html.contains("aria-describedby=\"q-hint q-error\""));
    assert!(html.contains("pseudonym"));
    assert!(!html.contains("Smith</a>"));
    let html = assert_page(
        &auditor.get(&format!("/patients?q={}", ann.pseudonym)).await,
        StatusCode::OK,
        "auditor by pseudonym",
    );
    assert!(
        html.contains(&format!("{ann_href}>{}</a>", ann.pseudonym)),
        "{html}"
    );
    assert!(!html.contains("Ann"));

    // Patients have no list.
    let mut john = app.browser("john").await;
    assert_eq!(john.get("/patients").await.status, StatusCode::FORBIDDEN);
}

async fn only_administrators_see_the_encryption_view(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let patient = app.register_patient(&admin, marked_patient()).await;
    let path = format!("/patients/{}/encryption", patient.id);

    let mut client = app.browser("admin").await;
    let html = assert_page(&client.get(&path).await, StatusCode::OK, "admin");
    assert!(html.contains("<tr data-column=\"given_name\">"), "{html}");
    assert!(html.contains("<td class=\"storage-sealed\">sealed</td>"));
    assert!(html.contains("<td class=\"storage-clear\">clear</td>"));
    assert!(html.contains(&patient.pseudonym));
    assert!(html.contains("<code>mrn</code>"), "blind index kinds");
    for (_, marker) in MARKERS {
        assert!(!html.contains(marker), "{marker} in the encryption view");
    }
    assert!(!html.contains(patient.mrn.as_deref().unwrap()));
    // The patient page links to it for administrators only.
    let page = client
        .get(&format!("/patients/{}", patient.id))
        .await
        .text();
    assert!(page.contains(&format!("href=\"{path}\"")));

    for username in ["drsmith", "nurse", "reception", "pharma", "auditor", "john"] {
        let mut other = app.browser(username).await;
        let response = other.get(&path).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{username}");
        assert!(!response.text().contains("sealed"), "{username}");
        let page = other.get(&format!("/patients/{}", patient.id)).await.text();
        assert!(!page.contains(&path), "{username} is offered the link");
    }
    assert_sign_in_redirect(&app.anonymous().get(&path).await, "anonymous");
}

/// The cells of the research export, without its `#` header lines.
fn export_rows(csv: &str) -> Vec<Vec<String>> {
    let body: String = csv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

async fn the_research_export_is_a_k_anonymous_download(backend: Backend) {
    // The demo's John and 60 synthetic patients, seeded with the demo accounts.
    let app = TestApp::builder(backend)
        .synthetic_patients(60)
        .build()
        .await;
    let admin = app.actor("admin").await;

    let mut client = app.browser("admin").await;
    let form = assert_page(
        &client.get("/admin/research-export").await,
        StatusCode::OK,
        "form",
    );
    assert!(form.contains("<label for=\"k\">"));
    assert!(form.contains("value=\"5\""), "the default k");
    assert!(form.contains("href=\"/admin/research-export\" aria-current=\"page\""));

    let response = client
        .post_form("/admin/research-export", &[("k", "5")])
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        response.header("content-disposition"),
        Some("attachment; filename=\"research-export.csv\"")
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let csv = response.text();
    let header: Vec<&str> = csv.lines().take_while(|l| l.starts_with('#')).collect();
    let stated = header.join("\n");
    let achieved = regex::Regex::new(r"k achieved: (\d+)")
        .unwrap()
        .captures(&stated)
        .unwrap_or_else(|| panic!("no achieved k in {stated}"))[1]
        .parse::<usize>()
        .unwrap();
    assert!(achieved >= 5, "{stated}");
    let suppressed = regex::Regex::new(r"suppressed rows: (\d+)")
        .unwrap()
        .captures(&stated)
        .unwrap_or_else(|| panic!("no suppressed count in {stated}"))[1]
        .parse::<usize>()
        .unwrap();
    let rows = export_rows(&csv);
    let (columns, rows) = rows.split_first().expect("a header row");
    assert_eq!(
        columns,
        &[
            "pseudonym",
            "age_band",
            "sex",
            "postcode_area",
            "blood_group",
            "primary_diagnosis",
            "status"
        ]
    );
    // The demo's John and the 60 synthetic patients: each exported or suppressed.
    assert_eq!(rows.len() + suppressed, 61, "{stated}");
    assert!(!rows.is_empty(), "{stated}");
    let mut groups: HashMap<(String, String, String), usize> = HashMap::new();
    for row in rows {
        // A pseudonym of this export only, never the application's ANON_ pseudonym.
        assert!(
            row[0].len() == 17 && row[0].starts_with('R') && !row[0].contains("ANON_"),
            "{row:?}"
        );
        *groups
            .entry((row[1].clone(), row[2].clone(), row[3].clone()))
            .or_default() += 1;
    }
    for (group, count) in &groups {
        assert!(*count >= 5, "{group:?} appears {count} times");
    }
    // No identifier of any patient appears.
    let mut page = 1;
    let mut checked = 0;
    loop {
        let found = app
            .services
            .search_patients(
                &admin,
                PatientQuery {
                    page,
                    per_page: Some(100),
                    ..PatientQuery::default()
                },
            )
            .await
            .unwrap();
        for p in &found.items {
            let full_name = p.display_name();
            let mut identifiers = vec![
                full_name,
                p.mrn.clone().unwrap(),
                p.date_of_birth.clone().unwrap(),
            ];
            identifiers.extend(p.phone.clone().flatten());
            identifiers.extend(p.email.clone().flatten());
            for cell in rows.iter().flatten() {
                for identifier in &identifiers {
                    assert!(
                        !cell.contains(identifier.as_str()),
                        "{identifier} in the export"
                    );
                }
                assert_ne!(Some(cell), p.given_name.as_ref());
                assert_ne!(Some(cell), p.family_name.as_ref());
            }
            checked += 1;
        }
        if found.items.len() < 100 {
            break;
        }
        page += 1;
    }
    assert_eq!(checked, 61);

    // Bad k: a message next to the input.
    for k in ["abc", "0", "101"] {
        let response = client
            .post_form("/admin/research-export", &[("k", k)])
            .await;
        let html = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, k);
        assert!(html.contains("id=\"k-error\""), "{k}");
        assert!(html.contains(&format!("value=\"{k}\"")));
    }
    // Without the form token: refused.
    let response = client
        .post_form_raw(
            "/admin/research-export",
            &[("k", "5")],
            &[
                ("origin", "https://carevault.test"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_ne!(
        response.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    // Other roles: refused, and not offered the menu entry.
    for username in ["drsmith", "nurse", "reception", "pharma", "auditor", "john"] {
        let mut other = app.browser(username).await;
        let form = other.get("/admin/research-export").await;
        assert_eq!(form.status, StatusCode::FORBIDDEN, "{username}");
        let response = other
            .post_form("/admin/research-export", &[("k", "5")])
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{username}");
        let response = other
            .post_form("/admin/research-export", &[("k", "abc")])
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{username}");
        let dashboard = other.get("/dashboard").await.text();
        assert!(!dashboard.contains("Research export"), "{username}");
    }
}

async fn care_teams_are_managed_on_the_patient_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let patient = app
        .register_patient(
            &admin,
            simple_patient("Cara", "Teamtest", "1985-03-04", "07700 900303"),
        )
        .await;
    let page = format!("/patients/{}", patient.id);
    let mut reception = app.browser("reception").await;
    let html = reception.get(&page).await.text();
    assert!(html.contains("Nobody is on this patient's care team yet."));
    assert!(html.contains(&format!("action=\"{page}/care-team\"")));

    let response = reception
        .post_form(&format!("{page}/care-team"), &[("username", "nurse")])
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let html = reception
        .get(&format!("{page}?notice=care-team-added"))
        .await
        .text();
    assert!(html.contains("Nadia Nurse"));
    assert!(html.contains("The care team member has been added."));
    // The nurse now sees the patient in full, but manages nothing.
    let mut nurse = app.browser("nurse").await;
    let html = nurse.get(&page).await.text();
    assert!(
        html.contains("<h1 class=\"banner-name\">Cara Teamtest</h1>"),
        "{html}"
    );
    assert!(!html.contains("/care-team\""));

    // Not a clinician: the message is next to the username input.
    let response = reception
        .post_form(&format!("{page}/care-team"), &[("username", "pharma")])
        .await;
    let html = assert_page(&response, StatusCode::UNPROCESSABLE_ENTITY, "pharma");
    assert!(html.contains("id=\"username-error\""), "{html}");
    assert!(html.contains("value=\"pharma\""));

    // Removing.
    let nurse_id = app
        .services
        .care_team(&admin, patient.id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.username == "nurse")
        .unwrap()
        .user_id;
    let remove = format!("{page}/care-team/{nurse_id}/remove");
    assert!(reception.get(&page).await.text().contains(&remove));
    for username in ["drsmith", "nurse", "pharma", "auditor", "john"] {
        let mut other = app.browser(username).await;
        assert_eq!(
            other.post_form(&remove, &[]).await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
        assert_eq!(
            other
                .post_form(&format!("{page}/care-team"), &[("username", "drsmith")])
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
    }
    let response = reception.post_form(&remove, &[]).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert!(!reception.get(&page).await.text().contains("Nadia Nurse"));
    assert_eq!(
        reception.post_form(&remove, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reception
            .post_form(&format!("{page}/care-team/not-an-id/remove"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn every_patient_page_checks_who_asks(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let patient = app
        .register_patient(
            &admin,
            simple_patient("Ida", "Idortest", "1992-09-09", "07700 900404"),
        )
        .await;
    let id = patient.id;
    let gets = [
        "/patients".to_owned(),
        "/patients/new".to_owned(),
        format!("/patients/{id}"),
        format!("/patients/{id}/edit"),
        format!("/patients/{id}/encryption"),
        "/my/record".to_owned(),
        "/admin/research-export".to_owned(),
    ];
    let posts = [
        "/patients/new".to_owned(),
        format!("/patients/{id}/edit"),
        format!("/patients/{id}/care-team"),
        format!("/patients/{id}/care-team/01990000-0000-7000-8000-000000000000/remove"),
        "/admin/research-export".to_owned(),
    ];
    // Without a session: to the sign-in page.
    for path in &gets {
        assert_sign_in_redirect(&app.anonymous().get(path).await, path);
    }
    for path in &posts {
        let response = app
            .anonymous()
            .post_form(path, &[("given_name", "x")])
            .await;
        assert_sign_in_redirect(&response, path);
    }

    // A patient reaches nothing about another patient.
    let mut john = app.browser("john").await;
    for path in &gets[..6] {
        let expected = if path == "/my/record" {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        let response = john.get(path).await;
        assert_eq!(response.status, expected, "john GET {path}");
        assert!(!response.text().contains("Idortest"), "{path}");
    }
    for path in &posts {
        let response = john
            .post_form(path, &[("phone", "07700 900999"), ("username", "drsmith")])
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "john POST {path}");
    }
    let unchanged = app.services.get_patient(&admin, id).await.unwrap();
    assert_eq!(unchanged.phone, Some(Some("07700 900404".into())));
    assert!(app.services.care_team(&admin, id).await.unwrap().is_empty());

    // Bad ids.
    let mut client = app.browser("admin").await;
    for path in [
        "/patients/not-a-uuid",
        "/patients/not-a-uuid/edit",
        "/patients/01990000-0000-7000-8000-000000000000",
        "/patients/01990000-0000-7000-8000-000000000000/edit",
        "/patients/01990000-0000-7000-8000-000000000000/encryption",
    ] {
        assert_eq!(
            client.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // The menu: patients for staff who may find them (not pharmacists, who reach patients
    // through the dispensing queue), "My record" for patients.
    for (username, finds_patients) in [
        ("admin", true),
        ("drsmith", true),
        ("nurse", true),
        ("reception", true),
        ("pharma", false),
        ("auditor", true),
    ] {
        let mut staff = app.browser(username).await;
        let html = staff.get("/dashboard").await.text();
        assert_eq!(
            html.contains("<a href=\"/patients\">Patients</a>"),
            finds_patients,
            "{username}"
        );
        assert!(!html.contains("My record"), "{username}");
    }
    let html = john.get("/dashboard").await.text();
    assert!(html.contains("<a href=\"/my/record\">My record</a>"));
    assert!(!html.contains("href=\"/patients\""));
}

/// The audit events about one patient with this action, as the auditor's API lists them.
async fn events_about(app: &TestApp, patient: &str, query: &str) -> Vec<serde_json::Value> {
    let mut auditor = app.api_client("auditor").await;
    let page = auditor
        .get(&format!(
            "/api/v1/audit/events?resource={patient}&{query}&limit=500"
        ))
        .await
        .json();
    page["events"].as_array().cloned().unwrap_or_default()
}

async fn pages_are_audited_once_and_refused_forms_are_recorded(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let patient = app
        .register_patient(
            &admin,
            simple_patient("Audra", "Onceonly", "1970-03-03", "07700 900313"),
        )
        .await;
    let id = patient.id.to_string();

    // One page view is one read event, care team included.
    let before = events_about(&app, &id, "action=read").await.len();
    let mut browser = app.browser("admin").await;
    assert_eq!(
        browser.get(&format!("/patients/{id}")).await.status,
        StatusCode::OK
    );
    let after = events_about(&app, &id, "action=read").await.len();
    assert_eq!(after, before + 1, "one read per page view");

    // Saving the edit form with one changed field records just that field.
    let mut reception = app.browser("reception").await;
    let form = reception.get(&format!("/patients/{id}/edit")).await.text();
    assert!(form.contains("name=\"phone\""), "{form}");
    let saved = reception
        .post_form(
            &format!("/patients/{id}/edit"),
            &[
                ("given_name", "Audra"),
                ("family_name", "Onceonly"),
                ("date_of_birth", "1970-03-03"),
                ("sex", "male"),
                ("phone", "07700 900999"),
                ("status", "active"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let updates = events_about(&app, &id, "action=update").await;
    let reasons: Vec<&str> = updates
        .iter()
        .filter_map(|event| event["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"changed: phone"), "{reasons:?}");

    // A form the role may not submit is refused, and the refusal is on record.
    let mut pharma = app.browser("pharma").await;
    assert_eq!(
        pharma.get("/patients/new").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        pharma.get(&format!("/patients/{id}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
    let mut nurse = app.browser("nurse").await;
    assert_eq!(
        nurse.get("/admin/research-export").await.status,
        StatusCode::FORBIDDEN
    );
    let mut auditor = app.api_client("auditor").await;
    let denied = auditor
        .get("/api/v1/audit/events?action=access_denied&limit=500")
        .await
        .json();
    let reasons: Vec<String> = denied["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["reason"].as_str().map(str::to_owned))
        .collect();
    for reason in [
        "requires registration rights",
        "may not change this record",
        "requires administrator",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} missing: {reasons:?}"
        );
    }
}

async fn an_edit_made_on_a_stale_copy_is_refused_not_lost(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let patient = app
        .register_patient(
            &admin,
            simple_patient("Stella", "Stalecopy", "1966-06-06", "07700 900606"),
        )
        .await;
    let id = patient.id.to_string();
    // The receptionist opens the edit form …
    let mut reception = app.browser("reception").await;
    let form = reception.get(&format!("/patients/{id}/edit")).await.text();
    let seen = crate::harness::hidden_field(&form, "seen").expect("the form carries its version");
    // … meanwhile the administrator adds an e-mail address …
    app.clock.advance(std::time::Duration::from_secs(5));
    let mut api = app.api_client("admin").await;
    let patched = api
        .send(
            api.request(axum::http::Method::PATCH, &format!("/api/v1/patients/{id}"))
                .header("content-type", "application/merge-patch+json")
                .body(axum::body::Body::from(r#"{"email":"stella@example.org"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    // … and the receptionist saves the form drawn before that change.
    let saved = reception
        .post_form(
            &format!("/patients/{id}/edit"),
            &[
                ("given_name", "Stella"),
                ("family_name", "Stalecopy"),
                ("date_of_birth", "1966-06-06"),
                ("sex", "male"),
                ("phone", "07700 900607"),
                ("email", ""),
                ("status", "active"),
                ("seen", seen.as_str()),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::CONFLICT, "{}", saved.text());
    assert!(
        saved
            .text()
            .contains("someone else changed this record meanwhile")
    );
    let now = app.services.get_patient(&admin, patient.id).await.unwrap();
    assert_eq!(
        now.email,
        Some(Some("stella@example.org".to_owned())),
        "the e-mail survived"
    );
    assert_eq!(
        now.phone,
        Some(Some("07700 900606".to_owned())),
        "nothing of the stale form was written"
    );
}

async fn pseudonyms_and_care_teams_appear_only_where_they_belong(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let patient = app
        .register_patient(
            &admin,
            simple_patient("Petra", "Placement", "1955-05-05", "07700 900505"),
        )
        .await;
    app.services
        .assign_care_team_member(&admin, patient.id, "drsmith")
        .await
        .expect("assigned");
    let path = format!("/patients/{}", patient.id);
    let pseudonym = patient.pseudonym.clone();

    // Beside a name, a pseudonym would let staff map names to pseudonyms.
    for (username, shows_pseudonym, shows_team) in [
        ("reception", false, true),
        ("drsmith", false, true),
        ("pharma", false, false),
        ("nurse", true, false),
        ("auditor", true, false),
        ("admin", true, true),
    ] {
        let mut browser = app.browser(username).await;
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{username}");
        let html = page.text();
        assert_eq!(
            html.contains(&pseudonym),
            shows_pseudonym,
            "{username}: pseudonym"
        );
        assert_eq!(
            html.contains("Dr. Sarah Smith"),
            shows_team,
            "{username}: care team"
        );
    }
    // The care team over the API: refused (and recorded) where the view leaves it out.
    for username in ["pharma", "nurse", "auditor"] {
        let mut client = app.api_client(username).await;
        client
            .get(&format!("/api/v1/patients/{}/care-team", patient.id))
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    // The care-team doctor finds the patient by name; the nurse (not on it) does not.
    let mut doctor = app.api_client("drsmith").await;
    let found = doctor
        .get("/api/v1/patients?q=Petra%20Placement")
        .await
        .json();
    assert_eq!(found["items"][0]["id"], patient.id.to_string(), "{found}");
    let mut nurse = app.api_client("nurse").await;
    let found = nurse
        .get("/api/v1/patients?q=Petra%20Placement")
        .await
        .json();
    assert_eq!(found["total"], 0, "{found}");
    // Receptionists cannot turn a pseudonym back into a name; pharmacists do not search at
    // all.
    app.api_client("reception")
        .await
        .get(&format!("/api/v1/patients?q={pseudonym}"))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.api_client("pharma")
        .await
        .get(&format!("/api/v1/patients?q={pseudonym}"))
        .await
        .problem(StatusCode::FORBIDDEN);
}

on_all_backends!(
    patient_page_shows_exactly_the_fields_each_role_may_see,
    the_register_form_reports_bad_input_and_duplicates,
    the_edit_form_offers_each_role_what_it_may_change,
    the_list_searches_sorts_and_pages,
    only_administrators_see_the_encryption_view,
    the_research_export_is_a_k_anonymous_download,
    care_teams_are_managed_on_the_patient_page,
    every_patient_page_checks_who_asks,
    pages_are_audited_once_and_refused_forms_are_recorded,
    an_edit_made_on_a_stale_copy_is_refused_not_lost,
    pseudonyms_and_care_teams_appear_only_where_they_belong,
);
