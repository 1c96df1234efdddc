//! Opening the database: one URL decides the backend (SQLite, PostgreSQL or MariaDB/MySQL),
//! and the same code path serves all three.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;

use crate::error::StoreError;
use crate::migration::Migrator;

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    /// The backend a URL selects, from its scheme.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::MySql),
            _ => Err(format!(
                "unsupported database URL scheme {scheme:?}: use sqlite://, postgres:// or mysql://"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MariaDB/MySQL",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How long a PostgreSQL or MariaDB connection may sit idle in the pool before it is pinged
/// on its way out: a proxy's idle cut, or a server restarted while it sat, is found there. A
/// connection lent again sooner after a restart fails its first statement (`Unavailable`, a
/// 503) and is dropped; the pool opens a new one.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(5);

/// Pool settings.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub max_connections: u32,
    /// How long to wait for a connection before answering "unavailable".
    pub acquire_timeout: Duration,
    /// Record every statement run through the store here (tests and benchmarks hold a
    /// request's statements to a budget); none in production.
    pub statement_counter: Option<StatementCounter>,
    /// SQLite only: each connection's page cache, in KiB (`PRAGMA cache_size`); `None`
    /// keeps SQLite's 2 MiB. A bulk load into a large database wants far more (its inserts
    /// land at random places in the blind-index B-tree); a server keeps the default, as the
    /// operating system caches the file anyway.
    pub sqlite_cache_kib: Option<u32>,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_counter: None,
            sqlite_cache_kib: None,
        }
    }
}

/// The SQL text (with placeholders, never values) of the statements a store ran, in order.
/// Transaction control (`BEGIN`, `COMMIT`) is not a statement here.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<Mutex<Vec<String>>>);

impl StatementCounter {
    fn record(&self, sql: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(sql.to_owned());
    }

    /// The statements run since the last call, and forgets them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// A failure to open the database: one line naming the URL without its password.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the database at {url}: {reason}")]
pub struct ConnectError {
    pub url: String,
    pub reason: String,
}

/// `url` with any password replaced by `***`, safe to print and log.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The open database.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    backend: Backend,
    redacted_url: String,
    /// SQLite only: whose turn it is to write (see [`Store::write_turn`]).
    write_turn: Option<Arc<tokio::sync::Mutex<()>>>,
    /// How long a writer waits for its turn before it counts as contention.
    turn_timeout: Duration,
}

impl Store {
    /// Opens a pool for `url`. SQLite files are created if missing and opened in WAL mode with
    /// `synchronous=FULL` (a committed transaction survives power loss), foreign keys on and
    /// a busy timeout, on every connection of the pool.
    pub async fn connect(url: &str, settings: &ConnectSettings) -> Result<Store, ConnectError> {
        let redacted_url = redact_url(url);
        let fail = |reason: String| ConnectError {
            url: redacted_url.clone(),
            reason,
        };
        let backend = Backend::from_url(url).map_err(fail)?;
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(settings.max_connections)
            .min_connections(0)
            .connect_timeout(settings.acquire_timeout)
            .acquire_timeout(settings.acquire_timeout)
            // Statements can carry sealed bytes and blind indexes; they are not logged.
            .sqlx_logging(false);
        // The pool pings a connection before lending it only where it can have gone stale: a
        // database server or a proxy may drop one that sat idle, but a connection in use a
        // moment ago is alive, and a SQLite connection is a file. (A ping on every lending
        // is one more round trip — on SQLite one more hand-off to the connection's thread —
        // in each transaction: BENCHMARKS.md.)
        if backend == Backend::Sqlite {
            options.test_before_acquire(false);
            options.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
            });
            if let Some(kib) = settings.sqlite_cache_kib {
                options.map_sqlx_sqlite_opts(move |o| o.pragma("cache_size", format!("-{kib}")));
            }
        } else {
            options.test_before_acquire_if_idle_for(IDLE_BEFORE_PING);
        }
        let mut db = Database::connect(options)
            .await
            .map_err(|e| fail(first_line(&e.to_string())))?;
        if let Some(counter) = settings.statement_counter.clone() {
            db.set_metric_callback(move |info| counter.record(&info.statement.sql));
        }
        // A pool opens lazily on some backends: make sure the server really answers.
        db.ping()
            .await
            .map_err(|e| fail(first_line(&e.to_string())))?;
        Ok(Store {
            db,
            backend,
            redacted_url,
            write_turn: (backend == Backend::Sqlite).then(Arc::default),
            turn_timeout: settings.acquire_timeout,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with its password masked.
    pub fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// On SQLite, waits for this process's turn to run a write transaction and holds it
    /// until the guard is dropped: SQLite lets one transaction write at a time, and writers
    /// queued here in order are served at once, where writers left to SQLite's busy handler
    /// sleep in growing steps (the long tail of concurrent writes). PostgreSQL and MariaDB
    /// lock rows, not the database: nothing to wait for. A turn not had within the pool's
    /// acquire timeout is `Contention` (retried with back-off, then "unavailable"), so an
    /// overload or a mistake (a body waiting for another task's transaction) cannot hang.
    pub async fn write_turn(&self) -> Result<Option<tokio::sync::OwnedMutexGuard<()>>, StoreError> {
        let Some(turn) = &self.write_turn else {
            return Ok(None);
        };
        match tokio::time::timeout(self.turn_timeout, turn.clone().lock_owned()).await {
            Ok(guard) => Ok(Some(guard)),
            Err(_) => Err(StoreError::Contention(sea_orm::DbErr::Custom(
                "no turn to write within the acquire timeout".into(),
            ))),
        }
    }

    /// The pool, for repository calls outside a transaction.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Applies every embedded migration that has not been applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await.map_err(StoreError::from)
    }

    /// Names of the migrations applied to this database, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<String>, StoreError> {
        let applied = Migrator::get_applied_migrations(&self.db).await?;
        Ok(applied.iter().map(|m| m.name().to_owned()).collect())
    }

    /// Names of the migrations this binary knows but the database has not applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let pending = Migrator::get_pending_migrations(&self.db).await?;
        Ok(pending.iter().map(|m| m.name().to_owned()).collect())
    }

    /// Whether the database answers a trivial query now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(StoreError::Unavailable)
    }

    /// Size of the database in bytes, where the backend can tell cheaply.
    pub async fn size_bytes(&self) -> Option<i64> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()"
            }
            Backend::Postgres => "SELECT pg_database_size(current_database())::bigint AS size",
            Backend::MySql => {
                "SELECT CAST(COALESCE(SUM(data_length + index_length), 0) AS SIGNED) AS size \
                 FROM information_schema.tables WHERE table_schema = DATABASE()"
            }
        };
        let backend: DbBackend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(backend, sql))
            .await
            .ok()??;
        row.try_get::<i64>("", "size").ok()
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(self) {
        let _ = self.db.close().await;
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/cv"),
            "postgres://app:***@db.example:5432/cv"
        );
        assert_eq!(
            redact_url("sqlite://data/carevault.db"),
            "sqlite://data/carevault.db"
        );
        assert!(!redact_url("mysql://root:pw@127.0.0.1/x").contains("pw"));
    }

    #[test]
    fn backends_from_urls() {
        assert_eq!(Backend::from_url("sqlite://x.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgresql://h/d"), Ok(Backend::Postgres));
        assert_eq!(Backend::from_url("mysql://h/d"), Ok(Backend::MySql));
        assert!(Backend::from_url("oracle://h/d").is_err());
    }
}
