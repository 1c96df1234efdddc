//! Backups: a backup taken while patients are being registered restores into
//! fresh SQLite, PostgreSQL and MariaDB databases with every table matching the manifest,
//! the audit trail verifying and every patient readable with the same keys; a flipped
//! byte is refused before anything touches the target; no key material is in the file or
//! its decrypted content; and `/admin/backups` is for administrators only.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use carevault_crypto::keyring::KeyRing;
use carevault_service::backup::{
    self, BackupError, LAST_BACKUP_SETTING, compare_with_manifest, create_backup, open_backup,
    restore_backup,
};
use carevault_service::patients::{Change, PatientInput};
use carevault_service::{AuditSettings, Clock, ServiceSettings, Services};
use carevault_store::backup::{BACKUP_TABLES, EXCLUDED_TABLES};
use carevault_store::{ConnectSettings, Store};
use sea_orm::{ConnectionTrait, Database, EntityTrait};

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

fn set(value: &str) -> Change<String> {
    Change::Set(value.to_owned())
}

fn patient(given: &str) -> PatientInput {
    PatientInput {
        given_name: set(given),
        family_name: set("Backupson"),
        date_of_birth: set("1980-02-03"),
        sex: set("female"),
        allergies: set("Penicillin"),
        ..PatientInput::default()
    }
}

/// A fresh, empty database on `backend`'s server (a new SQLite file for SQLite); dropped
/// with the returned guard.
struct FreshDatabase {
    url: String,
    drop: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl FreshDatabase {
    async fn create(backend: &Backend) -> FreshDatabase {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => FreshDatabase {
                url: format!("sqlite://{}/restored.db", dir.path().display()),
                drop: None,
                _dir: dir,
            },
            Backend::Postgres(admin) | Backend::MySql(admin) => {
                let name = format!("cvr_{}", uuid::Uuid::new_v4().simple());
                let postgres = matches!(backend, Backend::Postgres(_));
                let quoted = if postgres {
                    format!("\"{name}\"")
                } else {
                    format!("`{name}`")
                };
                let db = Database::connect(admin.as_str()).await.unwrap();
                db.execute_unprepared(&format!("CREATE DATABASE {quoted}"))
                    .await
                    .unwrap();
                let _ = db.close().await;
                let mut url = url::Url::parse(admin).unwrap();
                url.set_path(&format!("/{name}"));
                let drop = if postgres {
                    format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
                } else {
                    format!("DROP DATABASE IF EXISTS {quoted}")
                };
                FreshDatabase {
                    url: url.to_string(),
                    drop: Some((admin.clone(), drop)),
                    _dir: dir,
                }
            }
        }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Some((admin, sql)) = self.drop.take() {
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let db = Database::connect(admin.as_str()).await.ok()?;
                    let _ = db.execute_unprepared(&sql).await;
                    let _ = db.close().await;
                    Some(())
                })
            })
            .join();
        }
    }
}

async fn connect(url: &str) -> Store {
    Store::connect(
        url,
        &ConnectSettings {
            max_connections: 3,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The backends to restore a backup of `source` into: SQLite always, and PostgreSQL and
/// MariaDB when configured, except the source's own server engine (a SQLite source covers
/// those), so every pair of engines is crossed without a restore too many.
fn targets(source: &Backend) -> Vec<Backend> {
    let mut targets = vec![Backend::Sqlite];
    if !matches!(source, Backend::Postgres(_)) {
        targets.extend(Backend::postgres());
    }
    if !matches!(source, Backend::MySql(_)) {
        targets.extend(Backend::mysql());
    }
    targets
}

/// Services over a restored database with the source's keys and audit signing key.
fn services_over(store: Store, app: &TestApp) -> Services {
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    Services::new(
        store,
        app.clock.clone(),
        ServiceSettings::default(),
        AuditSettings::new(signing, None).unwrap(),
        KeyRing::from_master_key(&app.master_key).unwrap(),
    )
}

async fn sign_in(services: &Services, username: &str) -> carevault_service::Actor {
    let signed_in = services
        .sign_in(carevault_service::auth::SignInRequest {
            username: username.into(),
            password: secrecy::SecretString::from(crate::harness::demo_password(username)),
            client_addr: None,
            previous_token: None,
            request_id: None,
        })
        .await
        .unwrap();
    services.authenticate(&signed_in.token, None).await.unwrap()
}

async fn backup_while_writing_restores_everywhere(backend: Backend) {
    let targets = targets(&backend);
    let app = TestApp::new(backend).await;
    let doctor = app.actor("admin").await;
    let mut before = Vec::new();
    for i in 0..3 {
        before.push(
            app.register_patient(&doctor, patient(&format!("Early{i}")))
                .await,
        );
    }
    let keys = KeyRing::from_master_key(&app.master_key).unwrap();

    // Writers keep registering patients while the snapshot is read.
    let writer = {
        let services = app.services.clone();
        let doctor = doctor.clone();
        tokio::spawn(async move {
            for i in 0..8 {
                let _ = services
                    .register_patient(&doctor, patient(&format!("During{i}")), true)
                    .await;
            }
        })
    };
    let source = connect(&app.database_url).await;
    let (file, manifest) = create_backup(&source, &keys, app.clock.now())
        .await
        .unwrap();
    writer.await.unwrap();
    source.close().await;

    let rows = |name: &str| {
        manifest
            .tables
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.rows)
            .unwrap()
    };
    assert!(rows("patients") >= 3);
    assert!(rows("audit_events") > 0);
    assert_eq!(
        manifest.tables.len(),
        BACKUP_TABLES.len(),
        "every table is in the manifest"
    );

    let opened = open_backup(&file, &keys).unwrap();
    for target in targets {
        let fresh = FreshDatabase::create(&target).await;
        let store = connect(&fresh.url).await;
        let report = restore_backup(&opened, &store).await.unwrap();
        assert_eq!(report.tables, BACKUP_TABLES.len());
        // Independently of the restore's own check: the restored tables hash as the
        // snapshot did (so the snapshot was consistent and the encoding engine-neutral).
        compare_with_manifest(&store, &opened.manifest)
            .await
            .unwrap_or_else(|e| panic!("{target:?}: {e}"));

        let services = services_over(store, &app);
        let verification = services.verify_audit_trail(true).await.unwrap();
        assert!(verification.ok, "{target:?}: {:?}", verification.problem);
        let reader = sign_in(&services, "admin").await;
        for original in &before {
            let read = services.get_patient(&reader, original.id).await.unwrap();
            assert_eq!(read.given_name, original.given_name, "{target:?}");
            assert_eq!(read.allergies, original.allergies, "{target:?}");
        }
        // Every patient the snapshot holds (including those registered while it was read)
        // opens with the same keys, and has its full set of search index rows: patients and
        // their index rows are written in one transaction, so a consistent snapshot has both
        // or neither.
        let db = Database::connect(fresh.url.as_str()).await.unwrap();
        let backend = db.get_database_backend();
        let ids = db
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                "SELECT id FROM patients",
            ))
            .await
            .unwrap();
        assert_eq!(ids.len() as u64, rows("patients"), "{target:?}");
        let mut per_patient = std::collections::BTreeSet::new();
        for row in ids {
            let id: String = row.try_get("", "id").unwrap();
            let index_rows = db
                .query_all_raw(sea_orm::Statement::from_sql_and_values(
                    backend,
                    match backend {
                        sea_orm::DbBackend::Postgres => {
                            "SELECT patient_id FROM patient_search_index WHERE patient_id = $1"
                        }
                        _ => "SELECT patient_id FROM patient_search_index WHERE patient_id = ?",
                    },
                    [id.clone().into()],
                ))
                .await
                .unwrap()
                .len();
            let read = services
                .get_patient(&reader, id.parse().unwrap())
                .await
                .unwrap_or_else(|e| panic!("{target:?}: patient {id}: {e}"));
            if read.family_name.as_deref() == Some("Backupson") {
                per_patient.insert(index_rows);
            }
        }
        assert_eq!(per_patient.len(), 1, "{target:?}: {per_patient:?}");
        assert!(!per_patient.contains(&0), "{target:?}: {per_patient:?}");
        let _ = db.close().await;
        // A second restore into the now populated database is refused.
        let again = restore_backup(&opened, &connect(&fresh.url).await).await;
        assert!(
            matches!(again, Err(BackupError::TargetNotEmpty(_))),
            "{target:?}: {again:?}"
        );
        services.shutdown().await;
        services.close().await;
    }
}

async fn flipped_byte_is_refused_before_the_target_is_touched(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doctor = app.actor("admin").await;
    app.register_patient(&doctor, patient("Flip")).await;
    let keys = KeyRing::from_master_key(&app.master_key).unwrap();
    let source = connect(&app.database_url).await;
    let (file, _) = create_backup(&source, &keys, app.clock.now())
        .await
        .unwrap();
    source.close().await;
    assert!(open_backup(&file, &keys).is_ok());

    let header_len = backup::HEADER_LEN;
    // In the header (salt, fingerprint, time), the first segment, and the last byte.
    for position in [20, header_len - 3, header_len + 10, file.len() - 1] {
        let mut damaged = file.clone();
        damaged[position] ^= 0x01;
        let err = open_backup(&damaged, &keys).unwrap_err().to_string();
        assert!(
            err.contains("damaged or was not made with these keys")
                || err.contains("not made with these keys"),
            "byte {position}: {err}"
        );
    }
    let mut damaged = file.clone();
    damaged[header_len + 10] ^= 0x80;
    let err = open_backup(&damaged, &keys).unwrap_err().to_string();
    assert!(err.contains("segment 0 fails authentication"), "{err}");
    // Truncated at a segment boundary, or by one byte.
    let err = open_backup(&file[..file.len() - 1], &keys)
        .unwrap_err()
        .to_string();
    assert!(err.contains("damaged"), "{err}");
    // Not a backup at all.
    let mut not_ours = file.clone();
    not_ours[0] = b'X';
    assert!(matches!(
        open_backup(&not_ours, &keys),
        Err(BackupError::NotABackup)
    ));
    // Other keys.
    let other = KeyRing::from_master_key(&[9u8; 32]).unwrap();
    let err = open_backup(&file, &other).unwrap_err().to_string();
    assert!(err.contains("not made with these keys"), "{err}");
    // Nothing touched a target: restoring needs an opened (verified) backup, and an empty
    // target stays empty.
    let fresh = FreshDatabase::create(&Backend::Sqlite).await;
    let store = connect(&fresh.url).await;
    assert!(store.applied_migrations().await.unwrap().is_empty());
}

async fn no_key_material_in_the_backup(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doctor = app.actor("admin").await;
    app.register_patient(&doctor, patient("Keyless")).await;
    let keys = KeyRing::from_master_key(&app.master_key).unwrap();
    let source = connect(&app.database_url).await;
    let (file, _) = create_backup(&source, &keys, app.clock.now())
        .await
        .unwrap();
    source.close().await;
    let opened = open_backup(&file, &keys).unwrap();
    let mut content = serde_json::to_vec(&opened.manifest).unwrap();
    for (_, ndjson) in &opened.tables {
        content.extend_from_slice(ndjson);
    }

    // The KEK and index key derived from the master key (as the key ring derives them).
    let derive = |info: &[u8]| {
        let mut out = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(b"carevault master key v1"), &app.master_key)
            .expand(info, &mut out)
            .unwrap();
        out
    };
    let secrets: Vec<(&str, [u8; 32])> = vec![
        ("master key", app.master_key),
        ("KEK", derive(b"carevault master kek v1")),
        ("index key", derive(b"carevault master index v1")),
        ("audit signing key", [7u8; 32]),
    ];
    let contains =
        |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    for (what, secret) in &secrets {
        let text = STANDARD.encode(secret);
        let hex_text = hex::encode(secret);
        for (where_, haystack) in [("file", &file), ("decrypted content", &content)] {
            assert!(!contains(haystack, secret), "raw {what} in the {where_}");
            assert!(
                !contains(haystack, text.as_bytes()),
                "base64 {what} in the {where_}"
            );
            assert!(
                !contains(haystack, hex_text.as_bytes()),
                "hex {what} in the {where_}"
            );
        }
    }
    // The search can fail: the patient's sealed data key is in there.
    assert!(contains(&content, b"wrapped_data_key"));
}

/// Erasure survives restores: a patient erased after the backup was taken is erased again
/// when that backup is restored (the restore replays the key directory's erasure ledger):
/// their sealed fields cannot be read, search does not find them, and the tombstone is there.
async fn a_restore_replays_erasures_made_after_the_backup(backend: Backend) {
    let targets = targets(&backend);
    let keys_dir = tempfile::tempdir().unwrap();
    let ledger = carevault_service::erasure::ledger_path(keys_dir.path());
    let app = {
        let ledger = ledger.clone();
        TestApp::builder(backend)
            .service_settings(move |s| s.privacy.ledger_path = Some(ledger))
            .build()
            .await
    };
    let admin = app.actor("admin").await;
    let erased = app.register_patient(&admin, patient("Erasmus")).await;
    let kept = app.register_patient(&admin, patient("Keeper")).await;
    let keys = KeyRing::from_master_key(&app.master_key).unwrap();
    let source = connect(&app.database_url).await;
    let (file, _) = create_backup(&source, &keys, app.clock.now())
        .await
        .unwrap();
    source.close().await;

    let mrn = erased.mrn.clone().expect("an administrator sees the MRN");
    app.services
        .erase_patient(&admin, erased.id, &mrn)
        .await
        .expect("the erasure");

    let opened = open_backup(&file, &keys).unwrap();
    for target in targets {
        let fresh = FreshDatabase::create(&target).await;
        let store = connect(&fresh.url).await;
        restore_backup(&opened, &store).await.unwrap();
        let replay = carevault_service::erasure::replay_ledger(&store, &ledger)
            .await
            .unwrap();
        assert_eq!((replay.entries, replay.erased_now), (1, 1), "{target:?}");
        let tombstone =
            carevault_store::entity::erasures::Entity::find_by_id(erased.id.to_string())
                .one(store.conn())
                .await
                .unwrap();
        assert!(tombstone.is_some(), "{target:?}: the tombstone is present");
        let row = carevault_store::entity::patients::Entity::find_by_id(erased.id.to_string())
            .one(store.conn())
            .await
            .unwrap()
            .expect("the erased patient's row stays as a tombstone");
        assert!(
            row.wrapped_data_key.is_empty(),
            "{target:?}: the data key is shredded"
        );
        assert_eq!(row.status, "erased");

        let services = services_over(store, &app);
        let reader = sign_in(&services, "admin").await;
        let read = services.get_patient(&reader, erased.id).await;
        assert!(
            matches!(read, Err(carevault_service::ServiceError::NotFound(_))),
            "{target:?}: {read:?}"
        );
        for q in ["Erasmus", mrn.as_str(), "Erasmus Backupson 1980-02-03"] {
            let found = services
                .search_patients(
                    &reader,
                    carevault_service::patients::PatientQuery {
                        q: Some(q.to_owned()),
                        page: 1,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            // Keeper shares the family name and date of birth, so the last query finds them.
            assert!(
                found.items.iter().all(|p| p.id != erased.id),
                "{target:?}: {q} does not find the erased patient"
            );
            if q != "Erasmus Backupson 1980-02-03" {
                assert_eq!(found.total, 0, "{target:?}: {q} finds nothing");
            }
        }
        // The patient who was not erased is restored whole.
        let other = services.get_patient(&reader, kept.id).await.unwrap();
        assert_eq!(other.given_name, kept.given_name, "{target:?}");
        let verification = services.verify_audit_trail(true).await.unwrap();
        assert!(verification.ok, "{target:?}: {:?}", verification.problem);
        services.shutdown().await;
        services.close().await;
    }
}

on_all_backends!(
    a_restore_replays_erasures_made_after_the_backup,
    backup_while_writing_restores_everywhere,
    flipped_byte_is_refused_before_the_target_is_touched,
    no_key_material_in_the_backup,
    admin_backups_page_and_button,
);

async fn admin_backups_page_and_button(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let backup_dir = dir.path().join("backups");
    let dir_for_settings = backup_dir.clone();
    let app = TestApp::builder(backend)
        .service_settings(move |s| {
            s.backup.dir = Some(dir_for_settings);
            s.backup.keep = 2;
        })
        .build()
        .await;

    // Signed out: to the sign-in page; nothing written.
    let anonymous = app.anonymous().get("/admin/backups").await;
    assert!(
        matches!(
            anonymous.status,
            StatusCode::SEE_OTHER | StatusCode::UNAUTHORIZED
        ),
        "{}",
        anonymous.status
    );
    for username in ["drsmith", "nurse", "auditor", "john"] {
        let mut client = app.browser(username).await;
        assert_eq!(
            client.get("/admin/backups").await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
        assert_eq!(
            client.post_form("/admin/backups", &[]).await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
    }
    assert!(!backup_dir.exists(), "no backup for the refused requests");

    let mut admin = app.browser("admin").await;
    let page = admin.get("/admin/backups").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("none recorded"));

    // Without the form token: refused.
    let forged = admin
        .post_form_raw(
            "/admin/backups",
            &[],
            &[
                ("origin", "https://carevault.test"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!backup_dir.exists());

    for _ in 0..3 {
        let pressed = admin.post_form("/admin/backups", &[]).await;
        assert_eq!(pressed.status, StatusCode::SEE_OTHER, "{}", pressed.text());
        let drill = app
            .services
            .last_backup()
            .await
            .unwrap()
            .and_then(|r| r.drill);
        assert_eq!(
            pressed.location(),
            Some("/admin/backups?result=ok"),
            "{drill:?}"
        );
    }
    let page = admin.get("/admin/backups?result=ok").await.text();
    assert!(page.contains("restore drill passed"), "{page}");
    assert!(page.contains("succeeded"));
    let files: Vec<_> = std::fs::read_dir(&backup_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 2, "pruned to keep = 2: {files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.starts_with("carevault-20260302T0900") && f.ends_with(".cvbak"))
    );
    for name in &files {
        assert!(page.contains(name.as_str()), "{name} listed");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(backup_dir.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let dir_mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&backup_dir).unwrap().permissions().mode()
    };
    assert_eq!(dir_mode & 0o777, 0o700);

    let record = app.services.last_backup().await.unwrap().expect("recorded");
    assert!(record.succeeded());
    assert_eq!(record.drill.as_ref().and_then(|d| d.error.clone()), None);
    assert!(files.contains(record.file_name.as_ref().unwrap()));
    // Each press is one `export` event of the system naming the file and its size.
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let events = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT reason, actor_kind FROM audit_events \
             WHERE action = 'export' AND resource_type = 'system'",
        ))
        .await
        .unwrap();
    assert_eq!(events.len(), 3);
    for event in events {
        let reason: String = event.try_get("", "reason").unwrap();
        assert!(
            reason.starts_with("backup carevault-") && reason.ends_with(" bytes"),
            "{reason}"
        );
        let kind: String = event.try_get("", "actor_kind").unwrap();
        assert_eq!(kind, "user");
    }
    let _ = db.close().await;
    let stored = carevault_store::settings::get(
        &Database::connect(app.database_url.as_str()).await.unwrap(),
        LAST_BACKUP_SETTING,
    )
    .await
    .unwrap();
    assert!(stored.is_some());
}

/// Every table the migrations create is backed up or deliberately excluded.
#[tokio::test]
async fn every_table_is_backed_up_or_excluded() {
    let app = TestApp::new(Backend::Sqlite).await;
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        ))
        .await
        .unwrap();
    for row in rows {
        let name: String = row.try_get("", "name").unwrap();
        assert!(
            name == "seaql_migrations"
                || BACKUP_TABLES.contains(&name.as_str())
                || EXCLUDED_TABLES.contains(&name.as_str()),
            "table {name} is neither backed up nor excluded"
        );
    }
}

/// The scheduled job backs up like the button (as the system), and a server without a
/// backup directory records a clear failure instead of writing anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backup_and_disabled_backups() {
    let dir = tempfile::tempdir().unwrap();
    let backup_dir = dir.path().join("backups");
    let dir_for_settings = backup_dir.clone();
    let app = TestApp::builder(Backend::Sqlite)
        .service_settings(move |s| s.backup.dir = Some(dir_for_settings))
        .build()
        .await;
    let record = app.services.run_scheduled_backup().await.unwrap();
    assert!(record.succeeded(), "{record:?}");
    assert_eq!(record.drill.unwrap().error, None);
    let name = record.file_name.unwrap();
    let bytes = std::fs::read(backup_dir.join(&name)).unwrap();
    assert_eq!(bytes.len() as u64, record.bytes);
    let keys = KeyRing::from_master_key(&app.master_key).unwrap();
    let opened = open_backup(&bytes, &keys).unwrap();
    assert_eq!(opened.header.kek_version, 1);
    assert_eq!(opened.manifest.source_backend, "sqlite");
    // The drill's scratch database is gone.
    let leftovers: Vec<_> = std::fs::read_dir(&backup_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".cvbak"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let disabled = TestApp::new(Backend::Sqlite).await;
    let admin = disabled.actor("admin").await;
    let record = disabled.services.backup_now(&admin, None).await.unwrap();
    assert!(!record.succeeded());
    assert!(
        record.error.as_deref().unwrap().contains("not configured"),
        "{record:?}"
    );
    let mut browser = disabled.browser("admin").await;
    let pressed = browser.post_form("/admin/backups", &[]).await;
    assert_eq!(pressed.location(), Some("/admin/backups?result=failed"));
    let page = browser.get("/admin/backups?result=failed").await.text();
    assert!(page.contains("The backup FAILED"), "{page}");
    assert!(page.contains("not configured"), "{page}");
}

/// After `keys rotate`, new backups use the new KEK version and older backups still open:
/// the header names the version they were made with.
#[test]
fn backups_made_before_a_rotation_still_open() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("keys");
    let ring = KeyRing::open(&dir, true).unwrap();
    let dump = carevault_store::backup::DatabaseDump {
        backend: carevault_store::Backend::Sqlite,
        migrations: vec!["m1".into()],
        tables: Vec::new(),
    };
    let now = chrono::Utc::now();
    let (old, _) = backup::encode_backup(&dump, &ring, now).unwrap();
    assert_eq!(KeyRing::rotate(&dir).unwrap(), 2);
    let rotated = KeyRing::open(&dir, false).unwrap();
    let opened = open_backup(&old, &rotated).unwrap();
    assert_eq!(opened.header.kek_version, 1);
    let (new, _) = backup::encode_backup(&dump, &rotated, now).unwrap();
    assert_eq!(backup::read_header(&new).unwrap().kek_version, 2);
    // The old ring cannot open a backup made with KEK v2.
    assert!(matches!(
        open_backup(&new, &ring),
        Err(BackupError::KeyMissing(2))
    ));
}
