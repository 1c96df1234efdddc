//! The configuration: one typed [`Config`], resolved from command-line flags, `CAREVAULT_*`
//! environment variables and an optional `carevault.toml`, in that order of precedence, then
//! validated with messages that say which option is wrong and how to fix it.
//! docs/CONFIGURATION.md lists every option.
//!
//! The command line itself (clap: flags, their environment variables, the subcommands) is in
//! `args.rs`; this file reads `carevault.toml`, then resolves and checks every option.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

mod args;

pub use args::*;

/// `CAREVAULT_MASTER_KEY`: keys derived from one secret instead of a key directory
/// (environment only, never a flag or the configuration file, so it stays out of shell
/// history and `ps`).
pub fn master_key_from_env() -> Option<secrecy::SecretString> {
    std::env::var("CAREVAULT_MASTER_KEY")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .map(secrecy::SecretString::from)
}

/// `carevault.toml`: every key optional; flags and environment variables win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub key_dir: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub log_level: Option<String>,
    pub db_max_connections: Option<u32>,
    pub bind: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub session_idle_timeout: Option<String>,
    pub session_absolute_timeout: Option<String>,
    pub insecure_cookies: Option<bool>,
    pub max_body_size: Option<String>,
    pub max_upload_size: Option<String>,
    pub trust_forwarded_for: Option<bool>,
    pub time_zone: Option<String>,
    pub no_show_grace: Option<String>,
    pub patient_cancel_cutoff: Option<String>,
    pub expiry_window_days: Option<String>,
    pub reminder_lead: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub currency: Option<String>,
    pub backup_interval: Option<String>,
    pub backup_keep: Option<String>,
    pub retention_years: Option<String>,
    pub retention_interval: Option<String>,
    pub retention_erase: Option<bool>,
}

/// The resolved, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub key_dir: PathBuf,
    pub log_format: LogFormat,
    pub log_level: String,
    pub db_max_connections: u32,
    pub bind: SocketAddr,
    pub public_url: url::Url,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    pub insecure_cookies: bool,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    pub trust_forwarded_for: bool,
    pub demo: bool,
    pub time_zone: chrono_tz::Tz,
    pub no_show_grace: Duration,
    pub patient_cancel_cutoff: Duration,
    pub expiry_window_days: u32,
    /// The currency of new invoices.
    pub currency: carevault_core::money::Currency,
    /// Reminder lead time and SMTP (its URL is redacted in `Debug`).
    pub notifications: carevault_service::notifications::NotificationSettings,
    /// How often `serve` takes a backup; `None`: never.
    pub backup_interval: Option<Duration>,
    /// How many backup files the schedule keeps.
    pub backup_keep: usize,
    /// Years clinical records are kept after the last encounter.
    pub retention_years: u32,
    /// How often the retention job runs; `None`: never.
    pub retention_interval: Option<Duration>,
    /// Whether the retention job erases (otherwise it reports).
    pub retention_erase: bool,
}

fn parse_duration(option: &str, value: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(value)
        .with_context(|| format!("{option}: {value:?} is not a duration (examples: 90s, 15m, 12h)"))
}

fn parse_size(option: &str, value: &str) -> anyhow::Result<usize> {
    let v = value.trim();
    let (number, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => bail!("{option}: {value:?} is not a size (examples: 65536, 512KiB, 1MiB)"),
    };
    let n: usize = number.parse().with_context(|| {
        format!("{option}: {value:?} is not a size (examples: 65536, 512KiB, 1MiB)")
    })?;
    n.checked_mul(multiplier)
        .with_context(|| format!("{option}: {value:?} is too large"))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

impl Config {
    /// Reads the config file (if any) and resolves every option.
    pub fn load(global: &GlobalArgs, serve: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &global.config {
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from("carevault.toml")).filter(|p| p.exists()),
        };
        let file_config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!("cannot read the configuration file {}", path.display())
                })?;
                toml::from_str(&text).with_context(|| {
                    format!("the configuration file {} is not valid", path.display())
                })?
            }
            None => FileConfig::default(),
        };
        Self::resolve(global, serve, file_config)
    }

    /// Flags and environment (already merged by clap) over the file over the defaults.
    pub fn resolve(
        global: &GlobalArgs,
        serve: &ServeArgs,
        file: FileConfig,
    ) -> anyhow::Result<Config> {
        let data_dir = global
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = global
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| sqlite_url(&data_dir.join("carevault.db")));
        carevault_store::Backend::from_url(&database_url)
            .map_err(|e| anyhow::anyhow!("--database-url: {e}"))?;
        let key_dir = global
            .key_dir
            .clone()
            .or(file.key_dir)
            .unwrap_or_else(|| data_dir.join("keys"));
        let bind = serve
            .bind
            .or(file.bind)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let public_url_text = serve
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{bind}"));
        let public_url = url::Url::parse(&public_url_text)
            .with_context(|| format!("--public-url: {public_url_text:?} is not a URL"))?;
        if !matches!(public_url.scheme(), "http" | "https") {
            bail!("--public-url: must start with http:// or https://");
        }
        let session_idle_timeout = parse_duration(
            "--session-idle-timeout",
            serve
                .session_idle_timeout
                .as_deref()
                .or(file.session_idle_timeout.as_deref())
                .unwrap_or("15m"),
        )?;
        let session_absolute_timeout = parse_duration(
            "--session-absolute-timeout",
            serve
                .session_absolute_timeout
                .as_deref()
                .or(file.session_absolute_timeout.as_deref())
                .unwrap_or("12h"),
        )?;
        if !(Duration::from_secs(60)..=Duration::from_secs(24 * 3600))
            .contains(&session_idle_timeout)
        {
            bail!("--session-idle-timeout: must be between 1m and 24h");
        }
        if !(Duration::from_secs(300)..=Duration::from_secs(7 * 24 * 3600))
            .contains(&session_absolute_timeout)
        {
            bail!("--session-absolute-timeout: must be between 5m and 7d");
        }
        if session_idle_timeout > session_absolute_timeout {
            bail!("--session-idle-timeout: must not be longer than --session-absolute-timeout");
        }
        let max_body_bytes = parse_size(
            "--max-body-size",
            serve
                .max_body_size
                .as_deref()
                .or(file.max_body_size.as_deref())
                .unwrap_or("1MiB"),
        )?;
        if !(1024..=64 * 1024 * 1024).contains(&max_body_bytes) {
            bail!("--max-body-size: must be between 1KiB and 64MiB");
        }
        let max_upload_bytes = parse_size(
            "--max-upload-size",
            serve
                .max_upload_size
                .as_deref()
                .or(file.max_upload_size.as_deref())
                .unwrap_or("20MiB"),
        )?;
        if !(1024..=256 * 1024 * 1024).contains(&max_upload_bytes) {
            bail!("--max-upload-size: must be between 1KiB and 256MiB");
        }
        let demo = serve.demo;
        let https = public_url.scheme() == "https";
        // Demo mode serves plain http on localhost, where Secure cookies cannot be relied on.
        let insecure_cookies =
            serve.insecure_cookies || file.insecure_cookies.unwrap_or(false) || (demo && !https);
        if demo && !https && !bind.ip().is_loopback() {
            bail!(
                "--demo: demo mode serves plain http and binds only to a loopback address \
                 (it is {bind}); demo data is not for a network"
            );
        }
        if insecure_cookies && !bind.ip().is_loopback() {
            bail!(
                "--insecure-cookies: only allowed when --bind is a loopback address (it is {bind}); \
                 serve over https behind a reverse proxy instead"
            );
        }
        let db_max_connections = global
            .db_max_connections
            .or(file.db_max_connections)
            .unwrap_or(10);
        if !(1..=500).contains(&db_max_connections) {
            bail!("--db-max-connections: must be between 1 and 500");
        }
        let time_zone_text = serve
            .time_zone
            .clone()
            .or(file.time_zone)
            .unwrap_or_else(|| "UTC".into());
        let time_zone: chrono_tz::Tz = time_zone_text.parse().map_err(|_| {
            anyhow::anyhow!(
                "--time-zone: {time_zone_text:?} is not an IANA time zone (e.g. Europe/London)"
            )
        })?;
        let no_show_grace = parse_duration(
            "--no-show-grace",
            serve
                .no_show_grace
                .as_deref()
                .or(file.no_show_grace.as_deref())
                .unwrap_or("30m"),
        )?;
        if no_show_grace > Duration::from_secs(7 * 24 * 3600) {
            bail!("--no-show-grace: must be at most 7d");
        }
        let patient_cancel_cutoff = parse_duration(
            "--patient-cancel-cutoff",
            serve
                .patient_cancel_cutoff
                .as_deref()
                .or(file.patient_cancel_cutoff.as_deref())
                .unwrap_or("24h"),
        )?;
        if patient_cancel_cutoff > Duration::from_secs(30 * 24 * 3600) {
            bail!("--patient-cancel-cutoff: must be at most 30d");
        }
        let expiry_window_days = carevault_core::pharmacy::parse_expiry_window(
            serve
                .expiry_window_days
                .as_deref()
                .or(file.expiry_window_days.as_deref())
                .unwrap_or("90"),
        )
        .map_err(|message| anyhow::anyhow!("--expiry-window-days: {message}"))?;
        let currency = carevault_core::money::Currency::parse(
            serve
                .currency
                .as_deref()
                .or(file.currency.as_deref())
                .unwrap_or("USD"),
        )
        .map_err(|message| anyhow::anyhow!("--currency: {message}"))?;
        let reminder_lead = carevault_core::notification::parse_reminder_lead(
            serve
                .reminder_lead
                .as_deref()
                .or(file.reminder_lead.as_deref())
                .unwrap_or("24"),
        )
        .map_err(|message| anyhow::anyhow!("--reminder-lead: {message}"))?;
        let smtp = match (
            serve.smtp_url.clone().or(file.smtp_url.clone()),
            serve.smtp_from.clone().or(file.smtp_from.clone()),
        ) {
            (None, None) => None,
            (Some(_), None) => bail!("--smtp-from: required with --smtp-url"),
            (None, Some(_)) => bail!("--smtp-url: required with --smtp-from"),
            (Some(url), Some(from)) => Some(
                carevault_service::notifications::SmtpSettings::parse(&url, &from)
                    .map_err(|message| anyhow::anyhow!(message))?,
            ),
        };
        let notifications = carevault_service::notifications::NotificationSettings {
            reminder_lead,
            smtp,
        };
        let backup_interval_text = serve
            .backup_interval
            .clone()
            .or(file.backup_interval)
            .unwrap_or_else(|| "24h".into());
        let backup_interval = if matches!(backup_interval_text.trim(), "off" | "none" | "0") {
            None
        } else {
            let every = parse_duration("--backup-interval", &backup_interval_text)?;
            if every < Duration::from_secs(60) {
                bail!("--backup-interval: must be at least 1m (or off)");
            }
            Some(every)
        };
        let backup_keep_text = serve
            .backup_keep
            .clone()
            .or(file.backup_keep)
            .unwrap_or_else(|| "14".into());
        let backup_keep: usize = backup_keep_text
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .with_context(|| {
                format!("--backup-keep: {backup_keep_text:?} is not a number between 1 and 1000")
            })?;
        let retention_years_text = serve
            .retention_years
            .clone()
            .or(file.retention_years)
            .unwrap_or_else(|| "10".into());
        let retention_years: u32 = retention_years_text
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .with_context(|| {
                format!(
                    "--retention-years: {retention_years_text:?} is not a number of years between 1 and 100"
                )
            })?;
        let retention_interval_text = serve
            .retention_interval
            .clone()
            .or(file.retention_interval)
            .unwrap_or_else(|| "24h".into());
        let retention_interval = if matches!(retention_interval_text.trim(), "off" | "none" | "0") {
            None
        } else {
            let every = parse_duration("--retention-interval", &retention_interval_text)?;
            if every < Duration::from_secs(60) {
                bail!("--retention-interval: must be at least 1m (or off)");
            }
            Some(every)
        };
        let retention_erase = serve.retention_erase || file.retention_erase.unwrap_or(false);
        Ok(Config {
            backup_interval,
            backup_keep,
            retention_years,
            retention_interval,
            retention_erase,
            time_zone,
            no_show_grace,
            patient_cancel_cutoff,
            expiry_window_days,
            currency,
            notifications,
            data_dir,
            database_url,
            key_dir,
            log_format: global
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Pretty),
            log_level: global
                .log_level
                .clone()
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            db_max_connections,
            bind,
            public_url,
            session_idle_timeout,
            session_absolute_timeout,
            insecure_cookies,
            max_body_bytes,
            max_upload_bytes,
            trust_forwarded_for: serve.trust_forwarded_for
                || file.trust_forwarded_for.unwrap_or(false),
            demo,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_local_and_secure() {
        let config = Config::resolve(
            &GlobalArgs::default(),
            &ServeArgs::default(),
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://data/carevault.db");
        assert_eq!(config.key_dir, PathBuf::from("data/keys"));
        assert!(!config.insecure_cookies);
        assert_eq!(config.session_idle_timeout, Duration::from_secs(900));
    }

    #[test]
    fn flags_win_over_the_file() {
        let file: FileConfig =
            toml::from_str("bind = \"127.0.0.1:9000\"\nsession_idle_timeout = \"5m\"").unwrap();
        let serve = ServeArgs {
            bind: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        };
        let config = Config::resolve(&GlobalArgs::default(), &serve, file).unwrap();
        assert_eq!(config.bind.port(), 9100);
        assert_eq!(config.session_idle_timeout, Duration::from_secs(300));
    }

    #[test]
    fn bad_values_name_the_option() {
        let bad = |serve: ServeArgs| {
            Config::resolve(&GlobalArgs::default(), &serve, FileConfig::default())
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad(ServeArgs {
                session_idle_timeout: Some("soon".into()),
                ..Default::default()
            })
            .contains("--session-idle-timeout")
        );
        assert!(
            bad(ServeArgs {
                max_body_size: Some("1GiB".into()),
                ..Default::default()
            })
            .contains("--max-body-size")
        );
        assert!(
            bad(ServeArgs {
                max_upload_size: Some("1GiB".into()),
                ..Default::default()
            })
            .contains("--max-upload-size")
        );
        assert!(
            bad(ServeArgs {
                insecure_cookies: true,
                bind: Some("0.0.0.0:8080".parse().unwrap()),
                ..Default::default()
            })
            .contains("--insecure-cookies")
        );
        assert!(
            bad(ServeArgs {
                time_zone: Some("Mars/Olympus".into()),
                ..Default::default()
            })
            .contains("--time-zone")
        );
        assert!(
            bad(ServeArgs {
                no_show_grace: Some("30d".into()),
                ..Default::default()
            })
            .contains("--no-show-grace")
        );
        assert!(
            bad(ServeArgs {
                patient_cancel_cutoff: Some("whenever".into()),
                ..Default::default()
            })
            .contains("--patient-cancel-cutoff")
        );
        for days in ["0", "731", "ninety"] {
            assert!(
                bad(ServeArgs {
                    expiry_window_days: Some(days.into()),
                    ..Default::default()
                })
                .contains("--expiry-window-days")
            );
        }
        let window = |days: Option<&str>| {
            Config::resolve(
                &GlobalArgs::default(),
                &ServeArgs {
                    expiry_window_days: days.map(Into::into),
                    ..Default::default()
                },
                FileConfig::default(),
            )
            .unwrap()
            .expiry_window_days
        };
        assert_eq!(window(None), 90);
        assert_eq!(window(Some("30")), 30);
        let zoned = Config::resolve(
            &GlobalArgs::default(),
            &ServeArgs {
                time_zone: Some("Europe/London".into()),
                ..Default::default()
            },
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(zoned.time_zone, chrono_tz::Europe::London);
        let global = GlobalArgs {
            database_url: Some("oracle://x".into()),
            ..Default::default()
        };
        assert!(Config::resolve(&global, &ServeArgs::default(), FileConfig::default()).is_err());
        assert!(toml::from_str::<FileConfig>("unknown_key = 1").is_err());
    }

    #[test]
    fn demo_turns_on_insecure_cookies_for_plain_http() {
        let serve = ServeArgs {
            demo: true,
            ..Default::default()
        };
        let config =
            Config::resolve(&GlobalArgs::default(), &serve, FileConfig::default()).unwrap();
        assert!(config.insecure_cookies);
    }

    #[test]
    fn backup_schedule_defaults_and_limits() {
        let resolve = |serve: ServeArgs| {
            Config::resolve(&GlobalArgs::default(), &serve, FileConfig::default())
        };
        let config = resolve(ServeArgs::default()).unwrap();
        assert_eq!(config.backup_interval, Some(Duration::from_secs(24 * 3600)));
        assert_eq!(config.backup_keep, 14);
        let off = resolve(ServeArgs {
            backup_interval: Some("off".into()),
            backup_keep: Some("3".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(off.backup_interval, None);
        assert_eq!(off.backup_keep, 3);
        let err = resolve(ServeArgs {
            backup_keep: Some("0".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("--backup-keep"), "{err}");
        let err = resolve(ServeArgs {
            backup_interval: Some("5s".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("--backup-interval"), "{err}");
    }

    #[test]
    fn notifications_reminder_lead_and_smtp() {
        let resolve = |serve: ServeArgs| {
            Config::resolve(&GlobalArgs::default(), &serve, FileConfig::default())
        };
        let config = resolve(ServeArgs::default()).unwrap();
        assert_eq!(
            config.notifications.reminder_lead,
            chrono::Duration::hours(24)
        );
        assert!(config.notifications.smtp.is_none());
        let config = resolve(ServeArgs {
            reminder_lead: Some("48".into()),
            smtp_url: Some("smtps://mailer:s3cret-pass@smtp.example.org:465".into()),
            smtp_from: Some("Carevault <noreply@example.org>".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            config.notifications.reminder_lead,
            chrono::Duration::hours(48)
        );
        assert!(config.notifications.smtp.is_some());
        assert!(
            !format!("{config:?}").contains("s3cret-pass"),
            "the password is redacted"
        );
        let bad = |serve: ServeArgs| resolve(serve).unwrap_err().to_string();
        assert!(
            bad(ServeArgs {
                reminder_lead: Some("0".into()),
                ..Default::default()
            })
            .contains("--reminder-lead")
        );
        assert!(
            bad(ServeArgs {
                smtp_url: Some("smtp://smtp.example.org".into()),
                ..Default::default()
            })
            .contains("--smtp-from")
        );
        let message = bad(ServeArgs {
            smtp_url: Some("ftp://mailer:s3cret-pass@example.org".into()),
            smtp_from: Some("noreply@example.org".into()),
            ..Default::default()
        });
        assert!(message.contains("--smtp-url"), "{message}");
        assert!(!message.contains("s3cret-pass"), "{message}");
    }
}
