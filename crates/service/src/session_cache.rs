//! Sessions authenticated in the last second, so that a busy client's requests do not each
//! read its session and account again.
//!
//! - **Bounded staleness.** An entry is used for at most `session_cache_max_age` (1 s); after that
//!   the session and the account are read again. A change made by another process on the same
//!   database (a revoked session, a disabled account, a new password) therefore takes effect
//!   here within that bound.
//! - **Immediate in this process.** Every use case that revokes a session or changes an
//!   account calls [`SessionCache::forget_all`] after its commit. A look-up that read the
//!   database before such a change cannot put its stale answer back: entries are only stored
//!   if no change happened since the read began (a generation number).
//! - **Small.** At most [`SessionCache::CAPACITY`] entries; a full cache drops its old entries,
//!   or everything if none is old. It holds no password hash and no token, only its SHA-256.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use carevault_store::sessions::SessionRecord;
use carevault_store::users::UserRecord;
use chrono::{DateTime, Utc};

/// What authentication needs of an account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub id: carevault_core::UserId,
    pub username: carevault_core::Username,
    pub display_name: carevault_core::DisplayName,
    pub role: carevault_core::Role,
    pub status: carevault_core::UserStatus,
}

impl From<UserRecord> for Account {
    fn from(user: UserRecord) -> Self {
        Account {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            status: user.status,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    session: SessionRecord,
    account: Account,
    fetched: Instant,
}

/// See the module documentation.
pub(crate) struct SessionCache {
    entries: Mutex<HashMap<String, Entry>>,
    generation: AtomicU64,
    /// How long an entry is used before the database is asked again: the bound within
    /// which a change made by another process takes effect here
    /// (`ServiceSettings::session_cache_max_age`).
    max_age: Duration,
}

/// Only the size: the entries name accounts and sessions.
impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache")
            .field("entries", &self.entries().len())
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// Empties the cache when dropped: after a change to sessions or accounts, whether its
/// transaction committed, failed, or its request was dropped while committing.
struct ForgetOnDrop<'a>(&'a SessionCache);

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.forget_all();
    }
}

/// A look-up in progress: remembers the generation it started in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup(u64);

impl SessionCache {
    /// The most sessions held.
    pub(crate) const CAPACITY: usize = 10_000;

    pub(crate) fn new(max_age: Duration) -> Self {
        SessionCache {
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
            max_age,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session and account cached for `token_hash`, if fresh.
    pub(crate) fn get(&self, token_hash: &str) -> Option<(SessionRecord, Account)> {
        let entries = self.entries();
        let entry = entries.get(token_hash)?;
        (entry.fetched.elapsed() < self.max_age)
            .then(|| (entry.session.clone(), entry.account.clone()))
    }

    /// Starts a look-up in the database: call before reading.
    pub(crate) fn begin(&self) -> Lookup {
        Lookup(self.generation.load(Ordering::Acquire))
    }

    /// Stores what a look-up begun with `lookup` read, unless something changed since.
    pub(crate) fn put(
        &self,
        lookup: Lookup,
        token_hash: &str,
        session: SessionRecord,
        account: Account,
    ) {
        let mut entries = self.entries();
        if self.generation.load(Ordering::Acquire) != lookup.0 {
            return;
        }
        if entries.len() >= Self::CAPACITY {
            entries.retain(|_, e| e.fetched.elapsed() < self.max_age);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            token_hash.to_owned(),
            Entry {
                session,
                account,
                fetched: Instant::now(),
            },
        );
    }

    /// Notes that the session behind `token_hash` was seen at `now` (after the write).
    pub(crate) fn touched(&self, token_hash: &str, now: DateTime<Utc>) {
        if let Some(entry) = self.entries().get_mut(token_hash) {
            entry.session.last_seen_at = now;
        }
    }

    /// Forgets every entry: a session was revoked or an account changed in this process.
    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

impl crate::Services {
    /// [`crate::Services::transaction`] for a use case that revokes sessions or changes an
    /// account: the session cache forgets everything once it has ended (committed or not).
    pub(crate) async fn transaction_on_sessions<T>(
        &self,
        body: impl AsyncFnOnce(&carevault_store::Transaction) -> Result<T, crate::ServiceError> + Clone,
    ) -> Result<T, crate::ServiceError> {
        let _forget = ForgetOnDrop(&self.inner.sessions);
        self.transaction(body).await
    }

    /// Empties the session cache: for a use case that changed sessions or accounts in a
    /// transaction of another kind.
    pub(crate) fn forget_cached_sessions(&self) {
        self.inner.sessions.forget_all();
    }
}
