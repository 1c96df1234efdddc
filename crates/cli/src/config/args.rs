//! The command line: the global flags, the subcommands and the `serve` flags, each with its
//! `CAREVAULT_*` environment variable (clap). Defaults are applied by [`super::Config`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(
    name = "carevault",
    version,
    about = "Carevault hospital management system"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Configuration file (TOML). Default: ./carevault.toml if it exists.
    #[arg(long, global = true, env = "CAREVAULT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the database, keys, checkpoints and backups live. Default: ./data
    #[arg(long, global = true, env = "CAREVAULT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://…, postgres://… or mysql://…. Default: sqlite://<data-dir>/carevault.db
    #[arg(
        long,
        global = true,
        env = "CAREVAULT_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Directory of the key files. Default: <data-dir>/keys
    #[arg(long, global = true, env = "CAREVAULT_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// Log format: pretty or json. Default: pretty
    #[arg(long, global = true, env = "CAREVAULT_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log level of Carevault's own crates (error, warn, info, debug, trace), or a complete
    /// tracing filter such as `warn,carevault_web=debug` (which then replaces the default).
    /// Default: info
    #[arg(long, global = true, env = "CAREVAULT_LOG")]
    pub log_level: Option<String>,
    /// Database pool size. Default: 10
    #[arg(long, global = true, env = "CAREVAULT_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

// Parsed once at start-up: the size of `ServeArgs` (every serve flag) does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (applies pending migrations first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Work with the tamper-evident audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Inspect and rotate the encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Synthetic data for demonstrations and benchmarks.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Back up, verify and restore the database (docs/BACKUP-FORMAT.md).
    #[command(subcommand)]
    Backup(BackupCommand),
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a consistent backup while servers keep running: one encrypted file in
    /// <data-dir>/backups (or --out), followed by a restore drill into a scratch database.
    Create {
        /// Write the backup to this file instead (it must not exist).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a backup file's integrity (every segment, every table against its manifest)
    /// with the keys of --key-dir or CAREVAULT_MASTER_KEY, without restoring it.
    Verify { file: PathBuf },
    /// Restore a backup into an EMPTY database (--database-url, default the SQLite file in
    /// --data-dir) of any backend; also how to move from SQLite to PostgreSQL or MariaDB.
    Restore { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show the key source, the KEK versions with their fingerprints, and how many patient
    /// data keys each wraps (a version that wraps none is retired).
    Status,
    /// Create a new KEK version and re-wrap every patient data key under it while servers
    /// keep running (they pick the new key up within seconds).
    Rotate,
    /// Re-wrap data keys still under an older KEK version (after an interrupted rotation).
    Rewrap,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Register N synthetic patients (realistic names, addresses, phones; all fictitious)
    /// through the normal registration path: sealed, indexed and audited. Refused on a
    /// database that holds real accounts, unless --allow-real-database.
    Seed {
        #[arg(long)]
        patients: u64,
        /// Seed for a reproducible set.
        #[arg(long)]
        seed: Option<u64>,
        /// Also on a database that was not created by `serve --demo` (a benchmark scratch
        /// database, say). Never on a hospital's database.
        #[arg(long)]
        allow_real_database: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit tree from the database and check it against every stored
    /// checkpoint, the checkpoint file in the data directory and any --checkpoint file.
    /// Exits non-zero naming the first bad sequence number. Changes nothing.
    Verify {
        /// A checkpoint log saved elsewhere (C2SP signed notes, one after another).
        #[arg(long)]
        checkpoint: Vec<PathBuf>,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    /// Address to listen on. Default: 127.0.0.1:8080
    #[arg(long, env = "CAREVAULT_BIND")]
    pub bind: Option<SocketAddr>,
    /// The URL people use to reach the server. Default: http://<bind>
    #[arg(long, env = "CAREVAULT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// End a session after this long without activity. Default: 15m
    #[arg(long, env = "CAREVAULT_SESSION_IDLE_TIMEOUT")]
    pub session_idle_timeout: Option<String>,
    /// End a session this long after sign-in, however active. Default: 12h
    #[arg(long, env = "CAREVAULT_SESSION_ABSOLUTE_TIMEOUT")]
    pub session_absolute_timeout: Option<String>,
    /// Send cookies without the Secure flag (plain http on a loopback address only).
    #[arg(long, env = "CAREVAULT_INSECURE_COOKIES")]
    pub insecure_cookies: bool,
    /// Largest accepted request body, e.g. 1MiB. Default: 1MiB
    #[arg(long, env = "CAREVAULT_MAX_BODY_SIZE")]
    pub max_body_size: Option<String>,
    /// Largest accepted document upload (PDF, PNG, JPEG), e.g. 20MiB. Default: 20MiB
    #[arg(long, env = "CAREVAULT_MAX_UPLOAD_SIZE")]
    pub max_upload_size: Option<String>,
    /// Take the client address from X-Forwarded-For (only behind a trusted reverse proxy).
    #[arg(long, env = "CAREVAULT_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Demo mode: create the demo accounts on an empty data dir and show a demo banner.
    #[arg(long, env = "CAREVAULT_DEMO")]
    pub demo: bool,
    /// The clinic's time zone (IANA name, e.g. Europe/London): working hours and calendar
    /// days are in it. Default: UTC
    #[arg(long, env = "CAREVAULT_TIME_ZONE")]
    pub time_zone: Option<String>,
    /// A scheduled appointment not checked in this long after its end becomes a no-show.
    /// Default: 30m
    #[arg(long, env = "CAREVAULT_NO_SHOW_GRACE")]
    pub no_show_grace: Option<String>,
    /// Patients may cancel their own appointments online until this long before the start.
    /// Default: 24h
    #[arg(long, env = "CAREVAULT_PATIENT_CANCEL_CUTOFF")]
    pub patient_cancel_cutoff: Option<String>,
    /// Pharmacy batches expiring within this many days are flagged (1–730). Default: 90
    #[arg(long, env = "CAREVAULT_EXPIRY_WINDOW_DAYS")]
    pub expiry_window_days: Option<String>,
    /// Appointment reminders go out this many hours before the start (1–168). Default: 24
    #[arg(long, env = "CAREVAULT_REMINDER_LEAD")]
    pub reminder_lead: Option<String>,
    /// SMTP server for e-mail notifications, e.g. smtp://user:pass@host:587?tls=required or
    /// smtps://user:pass@host:465. Default: none (in-app notifications only)
    #[arg(long, env = "CAREVAULT_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender address of e-mail notifications (required with --smtp-url).
    #[arg(long, env = "CAREVAULT_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// The currency of invoices (ISO 4217 code, e.g. EUR). Default: USD
    #[arg(long, env = "CAREVAULT_CURRENCY")]
    pub currency: Option<String>,
    /// Take a backup (followed by a restore drill) this often, into <data-dir>/backups;
    /// `off` disables scheduled backups. Default: 24h
    #[arg(long, env = "CAREVAULT_BACKUP_INTERVAL")]
    pub backup_interval: Option<String>,
    /// How many scheduled backup files to keep (the newest; 1–1000). Default: 14
    #[arg(long, env = "CAREVAULT_BACKUP_KEEP")]
    pub backup_keep: Option<String>,
    /// Clinical records are kept this many years after the patient's last encounter; until
    /// then erasure is refused. Default: 10
    #[arg(long, env = "CAREVAULT_RETENTION_YEARS")]
    pub retention_years: Option<String>,
    /// How often the retention job lists the patients past retention without a legal hold;
    /// `off` disables it. Default: 24h
    #[arg(long, env = "CAREVAULT_RETENTION_INTERVAL")]
    pub retention_interval: Option<String>,
    /// Let the retention job erase the patients past retention (otherwise it only reports).
    #[arg(long, env = "CAREVAULT_RETENTION_ERASE")]
    pub retention_erase: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (the password is prompted for, or read from stdin).
    Create {
        #[arg(long)]
        username: String,
        /// admin, doctor, nurse, receptionist, pharmacist, patient or auditor
        #[arg(long)]
        role: String,
        /// The name shown in the interface. Default: the username
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password (ends all its sessions).
    SetPassword {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account (ends all its sessions).
    Disable {
        #[arg(long)]
        username: String,
    },
    /// List accounts.
    List,
}
