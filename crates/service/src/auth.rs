//! Signing in and out, and turning a session token back into an [`Actor`].
//!
//! - Passwords are checked with Argon2id on a blocking thread; an unknown username costs the
//!   same work as a known one, and every failure gives the same answer.
//! - Failures are counted per account and per client address in a sliding window; past the
//!   limit the answer is [`ServiceError::Throttled`] with the time to wait.
//! - Tokens are 256-bit random values; only their SHA-256 is stored. Every sign-in issues a
//!   new token (and revokes the one the client held before, if any).
//! - A session ends when revoked (sign-out, password change, account disabled), after the
//!   idle timeout, or at its absolute expiry.

use std::net::IpAddr;
use std::time::Duration;

use carevault_core::{Role, SessionId, UserId, UserStatus, Username, ValidationErrors};
use carevault_crypto::password::{verify_against_dummy, verify_password};
use carevault_crypto::token::{generate_session_token, looks_like_session_token, token_hash};
use carevault_store::{sessions, settings, throttle, users};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::session_cache::Account;
use carevault_core::audit::{AuditAction, Outcome, ResourceType};

/// A sign-in attempt as the client sent it. Its `Debug` output shows nothing typed.
pub struct SignInRequest {
    pub username: String,
    pub password: SecretString,
    /// The client's address, for per-address throttling (`None` if unknown).
    pub client_addr: Option<IpAddr>,
    /// The session token the client presented, if any: it is revoked, so a session id never
    /// survives a sign-in (no session fixation).
    pub previous_token: Option<SecretString>,
    /// The request's id, for the audit trail.
    pub request_id: Option<String>,
}

impl std::fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignInRequest { .. }")
    }
}

/// The account as the signed-in user may see it.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub id: UserId,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
}

/// A new session. The token is shown to the client once and never again.
#[derive(Debug)]
pub struct SignedIn {
    pub token: SecretString,
    pub session_id: SessionId,
    pub expires_at: DateTime<Utc>,
    pub account: AccountSummary,
}

/// The key failures are counted under: a salted hash, so the table holds neither account
/// names nor client addresses (and the salt keeps addresses from being enumerated back).
fn throttle_key(salt: &str, kind: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0]);
    hasher.update(kind.as_bytes());
    hasher.update([0]);
    hasher.update(value.as_bytes());
    hex::encode(hasher.finalize())
}

fn to_std(duration: chrono::TimeDelta) -> Duration {
    duration.to_std().unwrap_or_default()
}

impl Services {
    /// The actor for the operator at the console. Only the CLI calls this: whoever can run
    /// the binary against the data directory already holds the database and the keys.
    pub fn console_operator(&self) -> Actor {
        Actor::operator()
    }

    /// Checks a username and password and opens a session.
    ///
    /// Throttling holds under concurrency: each attempt is first *reserved* as a failure
    /// (one row per key), and only the attempts that fit within the limit are verified. A
    /// successful attempt removes its reservation.
    pub async fn sign_in(&self, request: SignInRequest) -> Result<SignedIn, ServiceError> {
        let username = Username::for_sign_in(&request.username)
            .map_err(|message| ValidationErrors::single("username", message))?;
        if request.password.expose_secret().is_empty() {
            return Err(ValidationErrors::single("password", "is required").into());
        }
        // An absurdly long password is a wrong one: it counts and is recorded like any other,
        // but is not worth hashing.
        let too_long =
            request.password.expose_secret().chars().count() > carevault_core::user::PASSWORD_MAX;
        let settings = &self.settings().throttle;
        let now = self.now();
        let window_start = now - chrono::Duration::from_std(settings.window).unwrap_or_default();
        let salt = self.throttle_salt().await?;
        let account_key = throttle_key(&salt, "account", &username);
        let address_key = request
            .client_addr
            .map(|addr| throttle_key(&salt, "address", &addr.to_string()));
        let conn = self.store().conn();
        let mut limits = vec![(account_key.clone(), settings.max_failures_per_account)];
        if let Some(key) = &address_key {
            limits.push((key.clone(), settings.max_failures_per_address));
        }

        // Refuse before doing any work when a limit is already reached.
        for (key, limit) in &limits {
            let (count, oldest) = throttle::failures_since(conn, key, window_start, *limit).await?;
            if count >= *limit {
                return Err(self
                    .refuse_throttled(key == &account_key, oldest, now, &request)
                    .await);
            }
        }
        // Reserve the attempt, then make sure it still fits: an attempt counts the
        // reservations made before its own (row ids grow with every insert), so of many
        // concurrent attempts exactly those within the limit get past this point.
        let mut reserved = Vec::with_capacity(limits.len());
        for (key, _) in &limits {
            reserved.push(throttle::record_failure(conn, key, now).await?);
        }
        for ((key, limit), id) in limits.iter().zip(&reserved) {
            let position = throttle::failures_up_to(conn, key, window_start, *id).await?;
            if position > *limit {
                throttle::delete(conn, &reserved).await?;
                let (_, oldest) = throttle::failures_since(conn, key, window_start, *limit).await?;
                return Err(self
                    .refuse_throttled(key == &account_key, oldest, now, &request)
                    .await);
            }
        }

        let user = users::find_by_username(conn, &username).await?;
        let password = request.password.clone();
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        let password_ok = !too_long
            && tokio::task::spawn_blocking(move || match stored_hash {
                Some(hash) => verify_password(&password, &hash),
                None => {
                    verify_against_dummy(&password);
                    false
                }
            })
            .await
            .map_err(ServiceError::internal)?;

        let user = match user {
            Some(user) if password_ok && user.status == UserStatus::Active => user,
            _ => {
                // The reservation stands as the recorded failure. The typed username is never
                // recorded; the account's id is, when it exists.
                let mut event = self.anonymous_event(
                    AuditAction::SignInFailed,
                    Outcome::Failed,
                    request.request_id.clone(),
                );
                event.resource_type = ResourceType::Account;
                event.resource_id = user.as_ref().map(|u| u.id.to_string());
                event.reason = Some(
                    match &user {
                        Some(u) if password_ok && u.status != UserStatus::Active => {
                            "account disabled"
                        }
                        _ => "invalid credentials",
                    }
                    .into(),
                );
                self.record(event).await?;
                let (count, oldest) = throttle::failures_since(
                    conn,
                    &account_key,
                    window_start,
                    settings.max_failures_per_account,
                )
                .await?;
                if count >= settings.max_failures_per_account {
                    return Err(self.throttled(oldest, now));
                }
                return Err(ServiceError::InvalidCredentials);
            }
        };

        // Looked up before the transaction, so that the transaction starts with a write (a
        // deferred SQLite transaction that reads first can fail to upgrade under load).
        let previous_session = match &request.previous_token {
            Some(previous) => {
                sessions::find_by_token_hash(conn, &token_hash(previous.expose_secret())).await?
            }
            None => None,
        };
        let token = generate_session_token();
        let session_id = SessionId::generate();
        let expires_at = now
            + chrono::Duration::from_std(self.settings().session_absolute_timeout)
                .unwrap_or_default();
        let sign_in = async |txn: &carevault_store::Transaction| {
            sessions::insert(
                txn,
                &sessions::NewSession {
                    id: session_id,
                    token_hash: &token_hash(token.expose_secret()),
                    user_id: user.id,
                    now,
                    expires_at,
                },
            )
            .await?;
            if let Some(old) = &previous_session {
                sessions::revoke(txn, old.id, now).await?;
            }
            users::set_last_login(txn, user.id, now).await?;
            throttle::clear(txn, &account_key).await?;
            throttle::delete(txn, &reserved).await?;
            let actor = Actor::user(
                user.id,
                user.username.clone(),
                &user.display_name,
                user.role,
                session_id,
                request.request_id.clone(),
            );
            let mut event = self.audit_event(&actor, AuditAction::SignIn, ResourceType::Session);
            event.resource_id = Some(session_id.to_string());
            self.append_in(txn, event).await?;
            Ok::<(), ServiceError>(())
        };
        // Only a sign-in that revokes the browser's previous session changes what the session
        // cache may hold.
        if previous_session.is_some() {
            self.transaction_on_sessions(sign_in).await?;
        } else {
            self.transaction(sign_in).await?;
        }
        tracing::info!(user_id = %user.id, role = %user.role, session_id = %session_id, "signed in");

        Ok(SignedIn {
            token,
            session_id,
            expires_at,
            account: AccountSummary {
                id: user.id,
                username: user.username,
                display_name: user.display_name.to_string(),
                role: user.role,
            },
        })
    }

    /// Records a throttled attempt and returns the refusal.
    async fn refuse_throttled(
        &self,
        account: bool,
        oldest: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        request: &SignInRequest,
    ) -> ServiceError {
        let mut event = self.anonymous_event(
            AuditAction::SignInThrottled,
            Outcome::Denied,
            request.request_id.clone(),
        );
        event.reason = Some(
            if account {
                "account throttled"
            } else {
                "address throttled"
            }
            .into(),
        );
        if let Err(err) = self.record(event).await {
            return err;
        }
        self.throttled(oldest, now)
    }

    fn throttled(&self, oldest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> ServiceError {
        let window = self.settings().throttle.window;
        let chrono_window = chrono::Duration::from_std(window).unwrap_or_default();
        let retry_after = oldest
            .map(|oldest| to_std(oldest + chrono_window - now))
            .unwrap_or(window)
            .max(Duration::from_secs(1));
        tracing::warn!(
            retry_after_secs = retry_after.as_secs(),
            "sign-in throttled"
        );
        ServiceError::Throttled { retry_after }
    }

    /// The actor behind a session token, or `Unauthenticated` if the token is unknown,
    /// revoked, idle too long or past its absolute expiry.
    pub async fn authenticate(
        &self,
        token: &SecretString,
        request_id: Option<String>,
    ) -> Result<Actor, ServiceError> {
        let token = token.expose_secret();
        if !looks_like_session_token(token) {
            return Err(ServiceError::Unauthenticated);
        }
        let conn = self.store().conn();
        let hash = token_hash(token);
        let cache = &self.inner.sessions;
        let lookup = cache.begin();
        let (session, cached_account) = match cache.get(&hash) {
            Some((session, account)) => (session, Some(account)),
            None => match sessions::find_by_token_hash(conn, &hash).await? {
                Some(session) => (session, None),
                None => return Err(ServiceError::Unauthenticated),
            },
        };
        let now = self.now();
        if session.revoked_at.is_some() {
            return Err(ServiceError::Unauthenticated);
        }
        let idle = to_std(now - session.last_seen_at);
        if now >= session.expires_at || idle >= self.settings().session_idle_timeout {
            let reason = if now >= session.expires_at {
                "absolute timeout"
            } else {
                "idle timeout"
            };
            let role = users::find_by_id(conn, session.user_id)
                .await?
                .map(|u| u.role);
            self.transaction_on_sessions(async |txn| {
                if sessions::revoke(txn, session.id, now).await? {
                    let mut event = self.anonymous_event(
                        AuditAction::SessionExpired,
                        Outcome::Allowed,
                        request_id.clone(),
                    );
                    event.actor_kind = carevault_core::audit::ActorKind::User;
                    event.actor_id = Some(session.user_id);
                    event.actor_role = role;
                    event.resource_id = Some(session.id.to_string());
                    event.reason = Some(reason.into());
                    self.append_in(txn, event).await?;
                }
                Ok(())
            })
            .await?;
            tracing::info!(session_id = %session.id, reason, "session expired");
            return Err(ServiceError::Unauthenticated);
        }
        let user = match cached_account {
            Some(account) => account,
            None => {
                let Some(user) = users::find_by_id(conn, session.user_id).await? else {
                    return Err(ServiceError::Unauthenticated);
                };
                let account = Account::from(user);
                cache.put(lookup, &hash, session.clone(), account.clone());
                account
            }
        };
        if user.status != UserStatus::Active {
            return Err(ServiceError::Unauthenticated);
        }
        // Record activity, but not on every request: a write per request would cost more
        // than it tells. The granularity is far below any sensible idle timeout.
        let granularity = (self.settings().session_idle_timeout / 20).min(Duration::from_secs(30));
        if idle >= granularity {
            sessions::touch(conn, session.id, now).await?;
            cache.touched(&hash, now);
        }
        Ok(Actor::user(
            user.id,
            user.username,
            &user.display_name,
            user.role,
            session.id,
            request_id,
        ))
    }

    /// Ends the actor's session, server-side: its token is useless from now on.
    pub async fn sign_out(&self, actor: &Actor) -> Result<(), ServiceError> {
        let Some(session_id) = actor.session_id() else {
            return Err(ServiceError::Unauthenticated);
        };
        self.transaction_on_sessions(async |txn| {
            sessions::revoke(txn, session_id, self.now()).await?;
            let mut event = self.audit_event(actor, AuditAction::SignOut, ResourceType::Session);
            event.resource_id = Some(session_id.to_string());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        tracing::info!(session_id = %session_id, user_id = ?actor.user_id(), "signed out");
        Ok(())
    }

    /// The signed-in account.
    pub fn whoami(&self, actor: &Actor) -> Result<AccountSummary, ServiceError> {
        match (actor.user_id(), actor.username(), actor.role()) {
            (Some(id), Some(username), Some(role)) => Ok(AccountSummary {
                id,
                username: username.clone(),
                display_name: actor.display_name().to_owned(),
                role,
            }),
            _ => Err(ServiceError::Unauthenticated),
        }
    }

    /// Housekeeping: forgets failed sign-ins older than the throttling window and deletes
    /// sessions that ended more than a day ago.
    pub async fn prune_expired_state(&self) -> Result<(), ServiceError> {
        let now = self.now();
        let window =
            chrono::Duration::from_std(self.settings().throttle.window).unwrap_or_default();
        throttle::prune(self.store().conn(), now - window).await?;
        sessions::prune(self.store().conn(), now - chrono::Duration::days(1)).await?;
        Ok(())
    }

    async fn throttle_salt(&self) -> Result<String, ServiceError> {
        if let Some(salt) = self.inner.throttle_salt.get() {
            return Ok(salt.clone());
        }
        let fresh = hex::encode(carevault_crypto::random_bytes::<16>());
        let salt =
            settings::get_or_insert(self.store().conn(), settings::THROTTLE_SALT, &fresh).await?;
        Ok(self.inner.throttle_salt.get_or_init(|| salt).clone())
    }

    /// Refuses when the account has reached its failure limit; otherwise returns the key
    /// to record a failure under. Used for checks of a known user's current password.
    pub(crate) async fn check_account_throttle(
        &self,
        username: &str,
    ) -> Result<String, ServiceError> {
        let salt = self.throttle_salt().await?;
        let key = throttle_key(&salt, "account", username);
        let settings = &self.settings().throttle;
        let now = self.now();
        let window_start = now - chrono::Duration::from_std(settings.window).unwrap_or_default();
        let (count, oldest) = throttle::failures_since(
            self.store().conn(),
            &key,
            window_start,
            settings.max_failures_per_account,
        )
        .await?;
        if count >= settings.max_failures_per_account {
            return Err(self.throttled(oldest, now));
        }
        Ok(key)
    }

    pub(crate) async fn record_account_failure(&self, key: &str) -> Result<(), ServiceError> {
        throttle::record_failure(self.store().conn(), key, self.now()).await?;
        Ok(())
    }
}
