//! The transactions of the use cases, in one place.
//!
//! [`Services::transaction`] opens a transaction, runs the use case's writes in it, commits
//! when they succeed and rolls back when they fail (the error is returned as it was). When
//! the database gives up on it because of concurrent transactions ([`StoreError::Contention`]:
//! a deadlock, a serialisation failure, a lock-wait timeout, a busy SQLite file), or when the
//! writes find that a concurrent change got in first and ask for [`again`], the whole
//! attempt starts over after a pause of the one back-off policy, [`Backoff::CONTENTION`].
//! Once no attempt is left, contention answers [`ServiceError::Unavailable`] (503, try
//! later) and [`again`] answers what its caller gave it.
//!
//! A use case that must read again before each attempt (optimistic concurrency: read,
//! decide, write conditionally on what was read) wraps its reads and one
//! [`Services::transaction_once`] in [`retry`]. A body that is retried runs again from the
//! start: it writes nothing outside the database. A transaction dropped unfinished (the
//! request went away) is rolled back by SeaORM.

use std::time::Duration;

use carevault_store::{StoreError, Transaction, TransactionTrait};

use crate::Services;
use crate::error::ServiceError;

/// How a contended transaction is tried again: at most `attempts` attempts in all, with a
/// random pause between two ("equal jitter": between half and all of a window that starts
/// at `base` and doubles after every failed attempt, up to `cap`), so that colliding
/// transactions do not collide again in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Attempts in all, the first one included.
    pub attempts: u32,
    /// The window of the first pause.
    pub base: Duration,
    /// The largest window.
    pub cap: Duration,
}

impl Backoff {
    /// The policy of every use case: twelve attempts, pauses from 2.5–5 ms growing to
    /// 100–200 ms (about a second and a half at worst in all).
    pub(crate) const CONTENTION: Backoff = Backoff {
        attempts: 12,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(200),
    };

    /// The pause after the failed attempt number `failed` (counted from 1), or `None` when
    /// that was the last attempt.
    pub(crate) fn pause(&self, failed: u32) -> Option<Duration> {
        if failed == 0 || failed >= self.attempts {
            return None;
        }
        let window = self.window(failed);
        let half = window / 2;
        let jitter = rand::random_range(0..=window.as_micros() - half.as_micros());
        Some(half + Duration::from_micros(u64::try_from(jitter).unwrap_or(0)))
    }

    /// The window of the pause after the failed attempt `failed`: `base · 2^(failed − 1)`,
    /// at most `cap`.
    fn window(&self, failed: u32) -> Duration {
        let doubling = 1u32
            .checked_shl(failed.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base
            .checked_mul(doubling)
            .map_or(self.cap, |window| window.min(self.cap))
    }
}

/// The marker of [`again`]: a concurrent change got in first; `then` is the answer once no
/// attempt is left.
#[derive(Debug, thiserror::Error)]
#[error("a concurrent change got in first")]
struct Again {
    then: Box<ServiceError>,
}

/// Asks [`Services::transaction`] (or [`retry`]) for another attempt on fresh data because a
/// concurrent change got in first (a conditional write found its row changed, an open
/// invoice moved); `then` is the answer when no attempt is left. Returned as an error, so
/// the transaction is rolled back.
pub(crate) fn again(then: ServiceError) -> ServiceError {
    ServiceError::Internal(anyhow::Error::new(Again {
        then: Box::new(then),
    }))
}

/// Why one attempt inside [`retry`] rolled back: the body stopped on purpose and wrote
/// nothing (`Stop`, saying why: the caller decides what follows), or it failed.
#[derive(Debug)]
pub(crate) enum Abort<S> {
    Stop(S),
    Fail(ServiceError),
}

impl<S> From<ServiceError> for Abort<S> {
    fn from(err: ServiceError) -> Self {
        Abort::Fail(err)
    }
}

impl<S> From<StoreError> for Abort<S> {
    fn from(err: StoreError) -> Self {
        Abort::Fail(err.into())
    }
}

/// What a failed attempt means: `Ok(answer)` if it may be tried again (`answer` being what
/// to return when no attempt is left), `Err(err)` if it is final.
fn retryable(err: ServiceError) -> Result<ServiceError, ServiceError> {
    let ServiceError::Internal(cause) = err else {
        return Err(err);
    };
    if matches!(
        cause.downcast_ref::<StoreError>(),
        Some(StoreError::Contention(_))
    ) {
        return Ok(ServiceError::Unavailable);
    }
    match cause.downcast::<Again>() {
        Ok(again) => Ok(*again.then),
        Err(cause) => Err(ServiceError::Internal(cause)),
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the attempts of
/// [`Backoff::CONTENTION`] are used up; retried on contention and on [`again`].
pub(crate) async fn retry<T>(
    attempt: impl AsyncFnOnce() -> Result<T, ServiceError> + Clone,
) -> Result<T, ServiceError> {
    retry_with(Backoff::CONTENTION, attempt).await
}

async fn retry_with<T>(
    policy: Backoff,
    attempt: impl AsyncFnOnce() -> Result<T, ServiceError> + Clone,
) -> Result<T, ServiceError> {
    let mut failed = 0;
    loop {
        match attempt.clone()().await {
            Ok(value) => return Ok(value),
            Err(err) => {
                failed += 1;
                after_failure(policy, failed, err).await?;
            }
        }
    }
}

/// After the failed attempt number `failed`: pauses and answers `Ok` when another attempt
/// may succeed; otherwise answers the error to return.
async fn after_failure(
    policy: Backoff,
    failed: u32,
    err: ServiceError,
) -> Result<(), ServiceError> {
    let answer = retryable(err)?;
    match policy.pause(failed) {
        Some(pause) => {
            tracing::debug!(
                attempt = failed,
                ?pause,
                "transaction contended; trying again"
            );
            tokio::time::sleep(pause).await;
            Ok(())
        }
        None => {
            tracing::warn!(attempts = failed, "transaction still contended; giving up");
            Err(answer)
        }
    }
}

/// Commits `txn` if `result` is `Ok`, else rolls it back; answers `result` (or the commit's
/// failure).
async fn finish<T, E: From<StoreError>>(txn: Transaction, result: Result<T, E>) -> Result<T, E> {
    match result {
        Ok(value) => {
            txn.commit().await.map_err(StoreError::from)?;
            Ok(value)
        }
        Err(err) => {
            if let Err(failed) = txn.rollback().await {
                tracing::warn!(error = %failed, "rollback failed (the database discards the transaction)");
            }
            Err(err)
        }
    }
}

impl Services {
    /// Runs the body that `body()` makes in one transaction: committed when it returns `Ok`,
    /// rolled back when it returns `Err` (which is then returned); the whole transaction is
    /// tried again, with a fresh body, on contention and on [`again`] (see the module's
    /// comment). Written `self.transaction(async |txn| { … })`: a fresh closure per
    /// attempt keeps the future `Send` (an `AsyncFnMut` called in a loop does not, yet).
    pub(crate) async fn transaction<T>(
        &self,
        body: impl AsyncFnOnce(&Transaction) -> Result<T, ServiceError> + Clone,
    ) -> Result<T, ServiceError> {
        let mut failed = 0;
        loop {
            match self.transaction_once(body.clone()).await {
                Ok(value) => return Ok(value),
                Err(err) => {
                    failed += 1;
                    after_failure(Backoff::CONTENTION, failed, err).await?;
                }
            }
        }
    }

    /// [`Services::transaction`] for a body that may also stop on purpose: its
    /// `Err(Abort::Stop(why))` rolls back and answers `Ok(Err(why))`.
    pub(crate) async fn transaction_or_stop<S, T>(
        &self,
        body: impl AsyncFnOnce(&Transaction) -> Result<T, Abort<S>> + Clone,
    ) -> Result<Result<T, S>, ServiceError> {
        let mut failed = 0;
        loop {
            match self.transaction_once(body.clone()).await {
                Ok(value) => return Ok(Ok(value)),
                Err(Abort::Stop(why)) => return Ok(Err(why)),
                Err(Abort::Fail(err)) => {
                    failed += 1;
                    after_failure(Backoff::CONTENTION, failed, err).await?;
                }
            }
        }
    }

    /// Runs `body` in one transaction, once: committed when it returns `Ok`, rolled back
    /// when it returns `Err`. For a body that must not run twice, and for one attempt
    /// inside [`retry`] (where the error may be an [`Abort`], to stop without failing).
    pub(crate) async fn transaction_once<T, E, F>(&self, body: F) -> Result<T, E>
    where
        F: AsyncFnOnce(&Transaction) -> Result<T, E>,
        E: From<StoreError>,
    {
        // A transaction begun inside another's body (same task) already has the turn.
        let nested = HOLDS_WRITE_TURN.try_with(|_| ()).is_ok();
        let _turn = if nested {
            None
        } else {
            self.store().write_turn().await?
        };
        let txn = self
            .store()
            .conn()
            .begin()
            .await
            .map_err(StoreError::from)?;
        let result = HOLDS_WRITE_TURN.scope((), body(&txn)).await;
        finish(txn, result).await
    }
}

tokio::task_local! {
    /// Set while a transaction's body runs: a transaction begun inside it must not wait for
    /// the write turn its caller holds.
    static HOLDS_WRITE_TURN: ();
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn the_policy_bounds_attempts_and_pauses() {
        let policy = Backoff::CONTENTION;
        assert_eq!(policy.pause(0), None);
        let mut largest = Duration::ZERO;
        for failed in 1..policy.attempts {
            let window = policy.window(failed);
            assert!(window <= policy.cap);
            for _ in 0..50 {
                let pause = policy.pause(failed).expect("an attempt is left");
                assert!(
                    pause >= window / 2 && pause <= window,
                    "{pause:?} in {window:?}"
                );
                largest = largest.max(pause);
            }
        }
        assert_eq!(policy.pause(policy.attempts), None);
        assert_eq!(policy.pause(policy.attempts + 1), None);
        assert!(largest <= policy.cap);
        // The window doubles, then stays at the cap.
        assert_eq!(policy.window(1), policy.base);
        assert_eq!(policy.window(2), policy.base * 2);
        assert_eq!(policy.window(40), policy.cap);
    }

    fn contention() -> ServiceError {
        StoreError::simulated_contention().into()
    }

    const FAST: Backoff = Backoff {
        attempts: 4,
        base: Duration::from_micros(10),
        cap: Duration::from_micros(40),
    };

    #[tokio::test]
    async fn contention_is_retried_up_to_the_limit_then_unavailable() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retry_with(FAST, async || {
            calls.set(calls.get() + 1);
            Err(contention())
        })
        .await;
        assert!(matches!(result, Err(ServiceError::Unavailable)));
        assert_eq!(calls.get(), FAST.attempts);
    }

    #[tokio::test]
    async fn again_answers_its_error_once_out_of_attempts_and_success_stops() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retry_with(FAST, async || {
            calls.set(calls.get() + 1);
            Err(again(ServiceError::NotFound("thing")))
        })
        .await;
        assert!(matches!(result, Err(ServiceError::NotFound("thing"))));
        assert_eq!(calls.get(), FAST.attempts);

        let calls = Cell::new(0);
        let result = retry_with(FAST, async || {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err(contention())
            } else {
                Ok(calls.get())
            }
        })
        .await;
        assert_eq!(result.ok(), Some(3));
    }

    #[tokio::test]
    async fn other_errors_are_final() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retry_with(FAST, async || {
            calls.set(calls.get() + 1);
            Err(ServiceError::Forbidden)
        })
        .await;
        assert!(matches!(result, Err(ServiceError::Forbidden)));
        let result: Result<(), _> = retry_with(FAST, async || {
            calls.set(calls.get() + 1);
            Err(ServiceError::internal(anyhow::anyhow!("a bug")))
        })
        .await;
        assert!(matches!(result, Err(ServiceError::Internal(_))));
        assert_eq!(calls.get(), 2);
    }

    /// Services over a fresh SQLite file (removed by the guard).
    async fn services() -> (Services, Scratch) {
        let scratch = Scratch(std::env::temp_dir().join(format!(
            "carevault-tx-{}.db",
            hex::encode(carevault_crypto::random_bytes::<8>())
        )));
        let store = carevault_store::Store::connect(
            &format!("sqlite://{}", scratch.0.display()),
            &carevault_store::ConnectSettings::default(),
        )
        .await
        .expect("a scratch database");
        store.migrate().await.expect("migrations apply");
        let keys =
            carevault_crypto::keyring::KeyRing::from_master_key(&[7u8; 32]).expect("a key ring");
        let services = Services::new(
            store,
            std::sync::Arc::new(crate::ManualClock::new(chrono::Utc::now())),
            crate::ServiceSettings::default(),
            crate::AuditSettings::ephemeral().expect("audit settings"),
            keys,
        );
        (services, scratch)
    }

    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let mut name = self.0.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(name);
            }
        }
    }

    #[tokio::test]
    async fn a_failed_body_is_rolled_back_and_a_good_one_committed() {
        let (services, _scratch) = services().await;
        let conn = services.store().conn();
        let result: Result<(), _> = services
            .transaction(async |txn| {
                carevault_store::settings::set(txn, "tx-test", "written").await?;
                Err(ServiceError::Conflict {
                    field: None,
                    message: "no".into(),
                })
            })
            .await;
        assert!(matches!(result, Err(ServiceError::Conflict { .. })));
        let stored = carevault_store::settings::get(conn, "tx-test").await;
        assert_eq!(stored.expect("readable"), None);

        let stopped = services
            .transaction_or_stop(async |txn| {
                carevault_store::settings::set(txn, "tx-test", "written").await?;
                Err::<(), _>(Abort::Stop("changed"))
            })
            .await;
        assert_eq!(stopped.ok(), Some(Err("changed")));
        let stored = carevault_store::settings::get(conn, "tx-test").await;
        assert_eq!(stored.expect("readable"), None);

        services
            .transaction(async |txn| {
                carevault_store::settings::set(txn, "tx-test", "written").await?;
                Ok(())
            })
            .await
            .expect("committed");
        let stored = carevault_store::settings::get(conn, "tx-test").await;
        assert_eq!(stored.expect("readable").as_deref(), Some("written"));
    }
}
