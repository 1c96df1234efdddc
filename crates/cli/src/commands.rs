//! The commands: `serve`, `migrate`, `user …`, `audit verify`, `keys …`, `demo seed` and
//! `backup …`.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use carevault_service::demo::{DEMO_ACCOUNTS, DemoSeed};
use carevault_service::jobs::JobIntervals;
use carevault_service::users::NewAccount;
use carevault_service::{AuditSettings, ServiceSettings, Services, SystemClock, ThrottleSettings};
use carevault_store::{ConnectSettings, Store};
use carevault_web::{AppState, WebSettings};
use secrecy::SecretString;

use carevault_service::keys::{KeySourceConfig, bind_key_ring};

use crate::config::{
    AuditCommand, BackupCommand, Cli, Command, Config, DemoCommand, KeysCommand, ServeArgs,
    UserCommand, master_key_from_env,
};
use crate::logging;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let serve_args = match &cli.command {
        Command::Serve(args) => args.clone(),
        _ => ServeArgs::default(),
    };
    let config = Config::load(&cli.global, &serve_args)?;
    logging::init(config.log_format, &config.log_level)?;
    match cli.command {
        Command::Serve(_) => serve(config).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            let applied = store.applied_migrations().await?;
            println!(
                "{} migrations applied to {}:",
                applied.len(),
                store.redacted_url()
            );
            for name in applied {
                println!("  {name}");
            }
            Ok(())
        }
        Command::User(command) => user(config, command).await,
        Command::Audit(AuditCommand::Verify { checkpoint }) => {
            verify_audit(config, checkpoint).await
        }
        Command::Keys(command) => keys(config, command).await,
        Command::Demo(DemoCommand::Seed {
            patients,
            seed,
            allow_real_database,
        }) => demo_seed(config, patients, seed, allow_real_database).await,
        Command::Backup(command) => backup(config, command).await,
    }
}

/// The key ring of `--key-dir` or `CAREVAULT_MASTER_KEY`, opened without a database and
/// without creating anything (to read or restore a backup).
fn open_key_ring(config: &Config) -> anyhow::Result<carevault_crypto::keyring::KeyRing> {
    use secrecy::ExposeSecret;
    match key_source(config) {
        KeySourceConfig::MasterKey(key) => Ok(
            carevault_crypto::keyring::KeyRing::from_master_key_base64(key.expose_secret())?,
        ),
        KeySourceConfig::Directory(dir) => {
            Ok(carevault_crypto::keyring::KeyRing::open(&dir, false)?)
        }
    }
}

/// Reads and opens a backup file: every segment authenticated, every table checked.
fn open_backup_file(
    config: &Config,
    file: &Path,
) -> anyhow::Result<carevault_service::backup::OpenedBackup> {
    let keys = open_key_ring(config)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let opened = carevault_service::backup::open_backup(&bytes, &keys)
        .with_context(|| format!("{} failed verification", file.display()))?;
    Ok(opened)
}

async fn backup(config: Config, command: BackupCommand) -> anyhow::Result<()> {
    match command {
        BackupCommand::Create { out } => {
            let store = open_store(&config).await?;
            let services = services(store, &config).await?;
            let operator = services.console_operator();
            let record = services.backup_now(&operator, out.as_deref()).await;
            services.shutdown().await;
            services.close().await;
            let record = record?;
            if let Some(error) = record.error {
                bail!("backup FAILED: {error}");
            }
            let path = match out {
                Some(path) => path,
                None => config
                    .data_dir
                    .join("backups")
                    .join(record.file_name.unwrap_or_default()),
            };
            println!(
                "Backup written to {} ({} bytes).",
                path.display(),
                record.bytes
            );
            match record.drill.and_then(|drill| drill.error) {
                None => println!("Restore drill passed: every table matches the manifest."),
                Some(error) => bail!("the restore drill FAILED: {error}"),
            }
            Ok(())
        }
        BackupCommand::Verify { file } => {
            let opened = open_backup_file(&config, &file)?;
            let rows: u64 = opened.manifest.tables.iter().map(|t| t.rows).sum();
            println!(
                "{} is intact: made {} by Carevault {} from {} with KEK v{}; {} tables, {} rows, {} migrations.",
                file.display(),
                opened.manifest.created_at.to_rfc3339(),
                opened.manifest.carevault_version,
                opened.manifest.source_backend,
                opened.header.kek_version,
                opened.manifest.tables.len(),
                rows,
                opened.manifest.migrations.len()
            );
            Ok(())
        }
        BackupCommand::Restore { file } => restore(config, file).await,
    }
}

/// `carevault backup restore FILE`: verifies the whole file first, then restores into the
/// empty target database, replays the erasure ledger, and says what the operator must know.
async fn restore(config: Config, file: std::path::PathBuf) -> anyhow::Result<()> {
    let opened = open_backup_file(&config, &file)?;
    if config.database_url.starts_with("sqlite:") {
        ensure_private_dir(&config.data_dir, "data directory")?;
    }
    let store = Store::connect(
        &config.database_url,
        &ConnectSettings {
            max_connections: config.db_max_connections.min(4),
            ..Default::default()
        },
    )
    .await?;
    let report = carevault_service::backup::restore_backup(&opened, &store)
        .await
        .with_context(|| format!("cannot restore into {}", store.redacted_url()))?;
    println!(
        "Restored {} ({} tables, {} rows, made {}) into {}; every table matches the manifest.",
        file.display(),
        report.tables,
        report.rows,
        opened.manifest.created_at.to_rfc3339(),
        store.redacted_url()
    );
    if report.migrated_after > 0 {
        println!(
            "Applied {} newer migrations after loading the rows.",
            report.migrated_after
        );
    }
    // The restored database records the key fingerprints; these must be its keys.
    bind_key_ring(&store, &key_source(&config)).await?;
    let ledger = erasure_ledger_path(&config);
    let replay = carevault_service::erasure::replay_ledger(&store, &ledger).await?;
    println!(
        "Erasure ledger {}: {} entries, {} patients erased again (erased after the backup was taken).",
        ledger.display(),
        replay.entries,
        replay.erased_now
    );
    store.close().await;
    println!(
        "\nBefore serving: the server needs the same keys (--key-dir {} or the same \
         CAREVAULT_MASTER_KEY) and the audit signing key in it.",
        config.key_dir.display()
    );
    let checkpoints = checkpoint_file(&config);
    if checkpoints.exists() {
        println!(
            "The checkpoint log {} belongs to the database before the restore: it records \
             audit events made after this backup, so `carevault audit verify` will report a \
             rollback. Keep it as evidence and move it aside (e.g. to {}.pre-restore) before \
             serving; new checkpoints start from the restored audit trail.",
            checkpoints.display(),
            checkpoints.display()
        );
    } else {
        println!(
            "No checkpoint log in {}: `carevault audit verify` checks the restored audit trail \
             against the checkpoints stored in the database.",
            config.data_dir.join("checkpoints").display()
        );
    }
    Ok(())
}

async fn keys(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let services = services(store, &config).await?;
    let operator = services.console_operator();
    match command {
        KeysCommand::Status => {}
        KeysCommand::Rotate => {
            let report = services.rotate_keys(&operator).await?;
            println!(
                "KEK v{} is now current; {} data keys re-wrapped, {} still under older versions.",
                report.version, report.rewrapped, report.remaining
            );
        }
        KeysCommand::Rewrap => {
            let report = services.rewrap_data_keys(&operator).await?;
            println!(
                "{} data keys re-wrapped under KEK v{}; {} still under older versions.",
                report.rewrapped, report.version, report.remaining
            );
        }
    }
    let status = services.key_status(&operator).await?;
    println!("keys: {}", status.source);
    println!("index key fingerprint: {}", status.index_fingerprint);
    println!(
        "{:<8} {:<34} {:>10}  state",
        "KEK", "fingerprint", "data keys"
    );
    for kek in status.keks {
        println!(
            "v{:<7} {:<34} {:>10}  {}",
            kek.version, kek.fingerprint, kek.data_keys, kek.state
        );
    }
    services.shutdown().await;
    services.close().await;
    Ok(())
}

async fn demo_seed(
    config: Config,
    patients: u64,
    seed: Option<u64>,
    allow_real_database: bool,
) -> anyhow::Result<()> {
    // A bulk load: a large page cache keeps the blind-index B-tree's inner pages in memory
    // (1,000,000 patients: see BENCHMARKS.md, "At 1,000,000 patients").
    let store = open_store_with(
        &config,
        ConnectSettings {
            max_connections: config.db_max_connections.min(4),
            sqlite_cache_kib: Some(256 * 1024),
            ..Default::default()
        },
    )
    .await?;
    let services = services(store, &config).await?;
    if !services.holds_demo_data().await? && !allow_real_database {
        bail!(
            "this database was not created by `serve --demo`; synthetic patients go only into \
             demo or scratch databases (add --allow-real-database for a benchmark database)"
        );
    }
    let operator = services.console_operator();
    let started = std::time::Instant::now();
    let created = services
        .seed_synthetic_patients(&operator, patients, seed)
        .await?;
    println!(
        "Registered {created} synthetic patients in {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    services.shutdown().await;
    services.close().await;
    Ok(())
}

/// Creates `dir` (and parents) readable by the owner only.
fn ensure_private_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the {what} {}", dir.display()))?;
    }
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("cannot read the {what} {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("the {what} {} is not a directory", dir.display());
    }
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %dir.display(), "the {what} is readable by other users; chmod 700 it");
    }
    Ok(())
}

/// Opens the database (creating the data directory for SQLite) and applies migrations.
async fn open_store(config: &Config) -> anyhow::Result<Store> {
    open_store_with(
        config,
        ConnectSettings {
            max_connections: config.db_max_connections,
            ..Default::default()
        },
    )
    .await
}

async fn open_store_with(config: &Config, settings: ConnectSettings) -> anyhow::Result<Store> {
    if config.database_url.starts_with("sqlite:") {
        ensure_private_dir(&config.data_dir, "data directory")?;
    }
    let store = Store::connect(&config.database_url, &settings).await?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot apply migrations to {}", store.redacted_url()))?;
    Ok(store)
}

/// The audit trail's signing key: `<key-dir>/audit-signing.key`, created (0600) on first use.
pub fn audit_key_path(config: &Config) -> std::path::PathBuf {
    config.key_dir.join("audit-signing.key")
}

/// The checkpoint file outside the database.
pub fn checkpoint_file(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("checkpoints").join("checkpoints.log")
}

/// Where the patient-data keys come from: `CAREVAULT_MASTER_KEY`, else the key directory.
fn key_source(config: &Config) -> KeySourceConfig {
    match master_key_from_env() {
        Some(key) => KeySourceConfig::MasterKey(key),
        None => KeySourceConfig::Directory(config.key_dir.clone()),
    }
}

async fn services(store: Store, config: &Config) -> anyhow::Result<Services> {
    // First: the keys must be this database's keys (or the database new). Nothing else in
    // the key directory is created before that holds.
    let keys = bind_key_ring(&store, &key_source(config)).await?;
    ensure_private_dir(&config.key_dir, "key directory")?;
    let key_path = audit_key_path(config);
    let signing_key = carevault_audit::load_or_create_signing_key(&key_path)
        .with_context(|| format!("cannot use the audit signing key {}", key_path.display()))?;
    ensure_private_dir(&config.data_dir.join("checkpoints"), "checkpoint directory")?;
    let audit = AuditSettings::new(signing_key, Some(checkpoint_file(config)))?;
    Ok(Services::new(
        store,
        Arc::new(SystemClock),
        ServiceSettings {
            session_idle_timeout: config.session_idle_timeout,
            session_absolute_timeout: config.session_absolute_timeout,
            throttle: ThrottleSettings::default(),
            scheduling: carevault_service::scheduling::SchedulingSettings {
                time_zone: config.time_zone,
                no_show_grace: chrono::Duration::from_std(config.no_show_grace)?,
                patient_cancel_cutoff: chrono::Duration::from_std(config.patient_cancel_cutoff)?,
                ..Default::default()
            },
            documents_max_bytes: config.max_upload_bytes as u64,
            pharmacy: carevault_service::pharmacy::PharmacySettings {
                expiry_window_days: config.expiry_window_days,
            },
            notifications: config.notifications.clone(),
            billing: carevault_service::billing::BillingSettings {
                currency: config.currency,
            },
            backup: carevault_service::backup::BackupSettings {
                dir: Some(config.data_dir.join("backups")),
                keep: config.backup_keep,
                interval: config.backup_interval,
            },
            privacy: carevault_service::erasure::PrivacySettings {
                ledger_path: Some(erasure_ledger_path(config)),
                clinical_retention_years: config.retention_years,
                retention_erase: config.retention_erase,
            },
            data_dir: Some(config.data_dir.clone()),
            ..ServiceSettings::default()
        },
        audit,
        keys,
    ))
}

/// The erasure ledger: in the key directory (it must survive a database restore and travels
/// with the keys), or in the data directory when the keys come from `CAREVAULT_MASTER_KEY`.
fn erasure_ledger_path(config: &Config) -> std::path::PathBuf {
    let dir = match master_key_from_env() {
        Some(_) => &config.data_dir,
        None => &config.key_dir,
    };
    carevault_service::erasure::ledger_path(dir)
}

/// Connects and migrates like [`open_store`], but waits for a database server that cannot be
/// reached (PostgreSQL or MariaDB down), retrying with a growing pause (up to 10 s); the
/// first failure is announced with the address the standby answers on. Any other failure,
/// and any failure on SQLite (a local file: nothing to wait for), ends the command.
async fn open_store_waiting(config: &Config, address: SocketAddr) -> anyhow::Result<Store> {
    let mut pause = Duration::from_secs(1);
    let mut announced = false;
    loop {
        let connected = Store::connect(
            &config.database_url,
            &ConnectSettings {
                max_connections: config.db_max_connections,
                ..Default::default()
            },
        )
        .await;
        match connected {
            Ok(store) => {
                store.migrate().await.with_context(|| {
                    format!("cannot apply migrations to {}", store.redacted_url())
                })?;
                if announced {
                    println!("The database answers again: {}", store.redacted_url());
                }
                return Ok(store);
            }
            Err(err) if !config.database_url.starts_with("sqlite:") => {
                if !announced {
                    println!(
                        "Carevault {} is serving at http://{address}/ (waiting for the database: {err})",
                        env!("CARGO_PKG_VERSION")
                    );
                    announced = true;
                }
                tracing::warn!(error = %err, retry_in = ?pause, "the database cannot be reached; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    ensure_private_dir(&config.data_dir, "data directory")?;
    let web_settings = WebSettings {
        public_url: config.public_url.clone(),
        insecure_cookies: config.insecure_cookies,
        demo: config.demo,
        max_body_bytes: config.max_body_bytes,
        trust_forwarded_for: config.trust_forwarded_for,
    };
    // Listen first: while the database cannot be reached (or migrations run), the standby
    // answers `/readyz` 503 and pages with "database unavailable" instead of refusing
    // connections; a server whose database is down at start-up serves as soon as it is back.
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let address = listener.local_addr()?;
    let standby = carevault_web::standby::Standby::new(web_settings.clone());
    let mut server = tokio::spawn({
        let app = standby
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await
        }
    });
    let store = tokio::select! {
        store = open_store_waiting(&config, address) => store?,
        stopped = &mut server => {
            // Stopped (SIGINT or SIGTERM) before the database ever answered.
            stopped.context("the HTTP server task failed")??;
            return Ok(());
        }
    };
    let backend = store.backend();
    let services = services(store, &config).await?;
    // The old free-text allergies become entries of the allergy list (once; a later start
    // finds nothing left to move). The key ring is bound by now.
    services
        .move_legacy_allergies()
        .await
        .context("cannot move the free-text allergies into the allergy list")?;

    if config.demo {
        match services.seed_demo().await? {
            DemoSeed::Created | DemoSeed::AlreadyDemo => {}
            DemoSeed::RefusedRealData => bail!(
                "--demo: this database already holds real accounts; demo mode only starts on an \
                 empty data directory (choose another --data-dir)"
            ),
        }
    } else if services.holds_demo_data().await? {
        bail!(
            "this database was created by `serve --demo` and its accounts have published \
             passwords; start it with --demo, or use a fresh --data-dir for real patients"
        );
    }

    // The application takes over from the standby before the banner says it serves.
    let state = AppState::new(services.clone(), web_settings);
    standby.ready(carevault_web::router(state));
    println!(
        "Carevault {} is serving at http://{address}/ ({backend})",
        env!("CARGO_PKG_VERSION")
    );
    if config.public_url.as_str().trim_end_matches('/') != format!("http://{address}") {
        println!("Public URL: {}", config.public_url);
    }
    if config.demo {
        println!("\nDEMO DATA — not for real patients. Sign in with:");
        println!("  {:<11} {:<12} role", "username", "password");
        for (username, password, role, _) in DEMO_ACCOUNTS {
            println!("  {username:<11} {password:<12} {role}");
        }
        println!();
    } else if services.account_count().await? == 0 {
        println!(
            "\nNo accounts yet. Create the first administrator with:\n  carevault user create --username admin --role admin{}\n",
            data_dir_hint(&config)
        );
    }

    println!(
        "Audit checkpoints are signed with {}",
        services.audit_verifier_key()
    );
    let jobs = services.start_jobs(JobIntervals {
        backup: config.backup_interval,
        retention: config.retention_interval,
        ..JobIntervals::default()
    });
    let served = server.await.context("the HTTP server task failed")?;
    // Requests in flight have finished: commit every accepted audit event, sign a final
    // checkpoint, then stop.
    for job in jobs {
        job.abort();
    }
    services.shutdown().await;
    services.close().await;
    served?;
    tracing::info!("stopped");
    Ok(())
}

fn data_dir_hint(config: &Config) -> String {
    if config.data_dir == Path::new("data") {
        String::new()
    } else {
        format!(" --data-dir {}", config.data_dir.display())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Reads a password: the first line of stdin with `--password-stdin`, otherwise prompted
/// twice on the terminal.
fn read_password(from_stdin: bool) -> anyhow::Result<SecretString> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        return Ok(SecretString::from(password));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to prompt for the password: pass --password-stdin and pipe it in");
    }
    let first = rpassword::prompt_password("New password: ")?;
    let second = rpassword::prompt_password("Repeat it: ")?;
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(SecretString::from(first))
}

async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let services = services(store, &config).await?;
    let operator = services.console_operator();
    let explain = |err: carevault_service::ServiceError| -> anyhow::Error {
        match err {
            carevault_service::ServiceError::Validation(errors) => {
                anyhow::anyhow!(
                    errors
                        .0
                        .iter()
                        .map(|e| format!("--{}: {}", e.field.replace('_', "-"), e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
            carevault_service::ServiceError::Conflict { field, message } => {
                anyhow::anyhow!("--{}: {message}", field.unwrap_or("username"))
            }
            other => anyhow::anyhow!(other),
        }
    };
    match command {
        UserCommand::Create {
            username,
            role,
            display_name,
            password_stdin,
        } => {
            if services.holds_demo_data().await? {
                bail!("this database holds demo data; create real accounts in a fresh --data-dir");
            }
            let password = read_password(password_stdin)?;
            let account = services
                .create_account(
                    &operator,
                    NewAccount {
                        display_name: display_name.unwrap_or_else(|| username.clone()),
                        username,
                        role,
                        password,
                    },
                )
                .await
                .map_err(explain)?;
            println!(
                "Created {} ({}), id {}",
                account.username, account.role, account.id
            );
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            services
                .reset_password(&operator, &username, password)
                .await
                .map_err(explain)?;
            println!("Password set for {username}; its sessions were ended.");
        }
        UserCommand::Disable { username } => {
            services
                .disable_account(&operator, &username)
                .await
                .map_err(explain)?;
            println!("Disabled {username}; its sessions were ended.");
        }
        UserCommand::List => {
            for account in services.list_accounts(&operator).await.map_err(explain)? {
                println!(
                    "{:<24} {:<13} {:<9} {}",
                    account.username.as_str(),
                    account.role.as_str(),
                    account.status.as_str(),
                    account.display_name
                );
            }
        }
    }
    // Commit every audit event, then close the pool (SQLite folds its WAL back in).
    services.shutdown().await;
    services.close().await;
    Ok(())
}

/// `carevault audit verify`: read-only; never migrates, never creates a key, never signs.
async fn verify_audit(config: Config, extra_files: Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    let store = Store::connect(
        &config.database_url,
        &ConnectSettings {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await?;
    let pending = store.pending_migrations().await?;
    if !pending.is_empty() {
        bail!(
            "the database has {} unapplied migrations; run `carevault migrate` first",
            pending.len()
        );
    }
    let key_path = audit_key_path(&config);
    let signing_key = carevault_audit::load_signing_key(&key_path)
        .with_context(|| format!("cannot read the audit signing key {}", key_path.display()))?;
    let audit = AuditSettings::new(signing_key, None)?;
    let verifier = audit.verifier();

    let mut files = Vec::new();
    let default_file = checkpoint_file(&config);
    if default_file.exists() {
        files.push(default_file);
    }
    files.extend(extra_files);
    let mut supplied = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the checkpoint file {}", path.display()))?;
        for record in carevault_audit::open_checkpoint_log(&text, &verifier, audit.origin()) {
            match record {
                Ok(checkpoint) => {
                    let mut checkpoint = checkpoint;
                    checkpoint.label = format!("{} in {}", checkpoint.label, path.display());
                    supplied.push(checkpoint);
                }
                Err(err) => bail!(
                    "audit trail verification FAILED: {}: {err} (signature invalid or record damaged)",
                    path.display()
                ),
            }
        }
    }
    let supplied_count = supplied.len();
    let report = carevault_service::audit_verify::verify_audit_log(
        &store,
        &verifier,
        audit.origin(),
        supplied,
        chrono::Utc::now(),
    )
    .await?;
    if report.ok {
        println!(
            "audit trail verified: {} events, root {}, {} checkpoints matched ({} from files), origin {}",
            report.size,
            report.root,
            report.checkpoints_matched,
            supplied_count,
            audit.origin()
        );
        Ok(())
    } else {
        let problem = report.problem.unwrap_or_default();
        match report.first_bad_seq {
            Some(seq) => {
                bail!("audit trail verification FAILED at sequence number {seq}: {problem}")
            }
            None => bail!("audit trail verification FAILED: {problem}"),
        }
    }
}
