//! The old free-text `allergies` field moved into the allergy list: a database migrated to
//! 015 only, patients written with sealed allergies exactly as the code of that time wrote
//! them (every identifying and clinical column sealed under the patient's data key, bound to
//! `patients ‖ column ‖ id ‖ id`), then migration 016 and the start-up move. Every word of
//! every text is found in the new entries; the old column is empty; one audit event per
//! patient, by the system; a second run changes nothing.

use carevault_core::PatientId;
use carevault_crypto::data_key::{DataKey, wrap_data_key};
use carevault_crypto::keyring::KeyRing;
use carevault_crypto::seal::{FieldContext, seal_text};
use carevault_store::Store;
use carevault_store::patients::PatientRow;

use crate::allergies::events_of;
use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

/// The migrations before the allergy list (`m20261123_000015_consents` is the 15th).
const BEFORE_ALLERGY_LIST: u32 = 15;

/// The legacy texts, one patient each (`None`: no allergies recorded).
fn legacy_texts() -> Vec<(&'static str, Option<String>)> {
    vec![
        (
            "Split",
            Some("Penicillin (rash, hives); latex\nshellfish".to_owned()),
        ),
        ("Whole", Some("Penicillin and latex".to_owned())),
        ("Nkda", Some("NKDA".to_owned())),
        (
            "Mixed",
            Some("Co-trimoxazole - rash, Amoxicillin/clavulanate & NSAIDs".to_owned()),
        ),
        (
            "Long",
            Some(format!(
                "Qzlong {} reaction documented 1998",
                "intolerance ".repeat(150)
            )),
        ),
        ("Formula", Some("=HYPERLINK(\"http://x\",\"y\")".to_owned())),
        ("Nothing", None),
    ]
}

/// Writes a patient row as the code at migration 015 did.
async fn write_legacy_patient(
    store: &Store,
    ring: &KeyRing,
    family: &str,
    number: i64,
    allergies: Option<&str>,
) -> String {
    let id = PatientId::generate().to_string();
    let dek = DataKey::generate();
    let wrapped = wrap_data_key(ring, &dek, &id).expect("a wrapped key");
    let seal = |column: &str, value: &str| {
        seal_text(
            &dek,
            1,
            &FieldContext {
                table: "patients",
                column,
                row_id: &id,
                patient_id: &id,
            },
            value,
        )
        .expect("sealed")
    };
    let at = 1_760_000_000_000_000 + number;
    let at = carevault_core::time::from_micros(at);
    let row = PatientRow {
        id: id.parse().expect("an id"),
        pseudonym_number: 500_000 + number,
        status: carevault_core::patient::PatientStatus::Active,
        sex: carevault_core::patient::Sex::Female,
        birth_year: 1970,
        account_id: None,
        kek_version: i32::try_from(wrapped.kek_version()).expect("a version"),
        wrapped_data_key: wrapped.into_bytes(),
        mrn: seal("mrn", &format!("1{:06}0", number)),
        given_name: seal("given_name", "Legacy"),
        family_name: seal("family_name", family),
        date_of_birth: seal("date_of_birth", "1970-01-01"),
        gender_identity: None,
        address: None,
        phone: None,
        email: None,
        emergency_contact: None,
        national_id: None,
        preferred_language: None,
        blood_group: None,
        allergies: allergies.map(|text| seal("allergies", text)),
        primary_diagnosis: None,
        created_at: at,
        updated_at: at,
    };
    carevault_store::patients::insert_many(store.conn(), vec![(row, Vec::new())])
        .await
        .expect("a legacy row");
    id
}

async fn legacy_allergies_move_without_losing_a_word(backend: Backend) {
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Option<String>)>::new()));
    let written = ids.clone();
    let app = TestApp::builder(backend)
        .prepared_at_migration(
            BEFORE_ALLERGY_LIST,
            Box::new(move |store, master_key| {
                Box::pin(async move {
                    let applied = store.applied_migrations().await.expect("migrations");
                    assert_eq!(applied.len(), BEFORE_ALLERGY_LIST as usize);
                    assert!(
                        applied
                            .last()
                            .is_some_and(|m| m.ends_with("000015_consents")),
                        "{applied:?}"
                    );
                    let ring = KeyRing::from_master_key(&master_key).expect("a key ring");
                    for (n, (family, text)) in legacy_texts().into_iter().enumerate() {
                        let id = write_legacy_patient(
                            &store,
                            &ring,
                            family,
                            i64::try_from(n).expect("small"),
                            text.as_deref(),
                        )
                        .await;
                        written.lock().expect("ids").push((id, text));
                    }
                })
            }),
        )
        .build()
        .await;
    let patients = ids.lock().expect("ids").clone();
    let store = Store::connect(&app.database_url, &Default::default())
        .await
        .expect("the store");

    // The start-up move.
    let moved = app.services.move_legacy_allergies().await.expect("moved");
    assert_eq!(moved.patients, 6, "{moved:?}");
    assert_eq!(moved.failed, 0);
    assert_eq!(moved.entries, 3 + 1 + 1 + 4 + 1 + 1, "{moved:?}");

    let admin = app.actor("admin").await;
    for (id, text) in &patients {
        let row = carevault_store::privacy::find_patient(store.conn(), id.parse().expect("an id"))
            .await
            .expect("read")
            .expect("the row");
        assert!(row.allergies.is_none(), "the old column is emptied");
        let list = app
            .services
            .list_allergies(&admin, id.parse().expect("an id"))
            .await
            .expect("the list")
            .list;
        let Some(text) = text else {
            assert_eq!(list.statement_code(), "not_recorded");
            continue;
        };
        let entries: Vec<String> = list
            .active()
            .iter()
            .map(|e| e.substance.to_lowercase())
            .collect();
        let mut everything = entries;
        if let Some((_, _, _, recorded_as)) = list.no_known_allergies() {
            // The statement keeps the words it was moved from.
            everything.push(recorded_as.unwrap_or_default().to_lowercase());
        }
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let word = word.to_lowercase();
            assert!(
                everything.iter().any(|e| e.contains(&word)),
                "{word} of {text:?} lost: {everything:?}"
            );
        }
        assert!(list.active().iter().all(|e| e.transcribed));
    }
    // The texts as they became.
    let summary_of = |n: usize| {
        let app = &app;
        let admin = &admin;
        let id = patients[n].0.clone();
        async move {
            app.services
                .get_patient(admin, id.parse().expect("an id"))
                .await
                .expect("the patient")
                .allergies
                .flatten()
        }
    };
    assert_eq!(
        summary_of(0).await.as_deref(),
        Some("Penicillin (rash, hives); Latex; Shellfish")
    );
    assert_eq!(summary_of(1).await.as_deref(), Some("Penicillin and latex"));
    assert_eq!(summary_of(2).await.as_deref(), Some("No known allergies"));
    assert_eq!(summary_of(6).await, None);
    // The NKDA statement keeps its words in the history's wording.
    let nkda = app
        .services
        .list_allergies(&admin, patients[2].0.parse().expect("an id"))
        .await
        .expect("the list");
    assert!(nkda.list.no_known_allergies().is_some());
    let statement_entry =
        carevault_store::allergies::of_patient(store.conn(), patients[2].0.parse().expect("an id"))
            .await
            .expect("rows");
    assert_eq!(statement_entry.len(), 1);
    assert_eq!(
        statement_entry[0].entry_kind,
        carevault_core::allergy::AllergyEntryKind::NoKnownAllergies
    );
    assert!(statement_entry[0].recorded_by.is_none());

    // One event per moved patient, by the system, naming no allergy.
    let events = events_of(&app, "allergy", "update", None).await;
    assert_eq!(events.len(), 6);
    assert!(events.iter().all(|e| e.actor_kind == "system"));
    assert!(events.iter().all(|e| {
        e.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("free-text allergies moved"))
    }));
    assert!(!format!("{events:?}").to_lowercase().contains("penicillin"));

    // The prescribing check reads what was moved.
    let sealed_words = app
        .services
        .list_allergies(&admin, patients[3].0.parse().expect("an id"))
        .await
        .expect("the list");
    let substances: Vec<&str> = sealed_words
        .list
        .active()
        .iter()
        .map(|e| e.substance.as_str())
        .collect();
    assert_eq!(
        substances,
        [
            "Co-trimoxazole - rash",
            "Amoxicillin",
            "clavulanate",
            "NSAIDs"
        ]
    );
    assert_eq!(
        sealed_words.list.active()[3].code.as_deref(),
        Some("nsaids"),
        "a part that is exactly a label is coded"
    );

    // Running it again changes nothing.
    let before = entry_count(&store, &patients).await;
    let again = app.services.move_legacy_allergies().await.expect("again");
    assert_eq!(again, Default::default());
    assert_eq!(entry_count(&store, &patients).await, before);
    assert_eq!(events_of(&app, "allergy", "update", None).await.len(), 6);
}

async fn entry_count(store: &Store, patients: &[(String, Option<String>)]) -> usize {
    let mut total = 0;
    for (id, _) in patients {
        total += carevault_store::allergies::of_patient(store.conn(), id.parse().expect("an id"))
            .await
            .expect("rows")
            .len();
    }
    total
}

on_all_backends!(legacy_allergies_move_without_losing_a_word);
