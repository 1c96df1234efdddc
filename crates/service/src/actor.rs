//! Who is acting. An [`Actor`] can only be made by the authentication code in this crate
//! ([`crate::auth`]), so holding one proves a live session (or the operator's console, or
//! the server itself for background jobs).

use carevault_core::policy::{Action, Decision, Grant, Relation, Scope, grant};
use carevault_core::{DisplayName, Role, SessionId, UserId, Username};

use crate::error::ServiceError;

/// How the actor came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A signed-in user, through the web UI or the API.
    User,
    /// The operator at the server's console (`carevault user …`): whoever can run the binary
    /// against the data directory.
    Operator,
    /// The server itself, for scheduled jobs.
    System,
}

/// Its `Debug` output names the kind, ids and role, never the person's name.
#[derive(Clone)]
pub struct Actor {
    pub(crate) kind: ActorKind,
    pub(crate) user_id: Option<UserId>,
    pub(crate) username: Option<Username>,
    pub(crate) display_name: String,
    pub(crate) role: Option<Role>,
    pub(crate) session_id: Option<SessionId>,
    pub(crate) request_id: Option<String>,
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("kind", &self.kind)
            .field("user_id", &self.user_id)
            .field("role", &self.role)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl Actor {
    /// A signed-in user: [`Actor::seeding`] with the session and the request it acts in.
    pub(crate) fn user(
        user_id: UserId,
        username: Username,
        display_name: &DisplayName,
        role: Role,
        session_id: SessionId,
        request_id: Option<String>,
    ) -> Self {
        Self {
            session_id: Some(session_id),
            request_id,
            ..Self::seeding(user_id, username, display_name, role)
        }
    }

    /// A user acting without a session: only demo seeding, which runs at start-up through
    /// the same use cases a signed-in user would.
    pub(crate) fn seeding(
        user_id: UserId,
        username: Username,
        display_name: &DisplayName,
        role: Role,
    ) -> Self {
        Self {
            kind: ActorKind::User,
            user_id: Some(user_id),
            username: Some(username),
            display_name: display_name.as_str().to_owned(),
            role: Some(role),
            session_id: None,
            request_id: None,
        }
    }

    pub(crate) fn operator() -> Self {
        Self {
            kind: ActorKind::Operator,
            user_id: None,
            username: None,
            display_name: "console operator".into(),
            role: None,
            session_id: None,
            request_id: None,
        }
    }

    /// The server itself, for background jobs (the appointment status job).
    pub(crate) fn system() -> Self {
        Self {
            kind: ActorKind::System,
            user_id: None,
            username: None,
            display_name: "system".into(),
            role: None,
            session_id: None,
            request_id: None,
        }
    }

    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }

    pub fn username(&self) -> Option<&Username> {
        self.username.as_ref()
    }

    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The role of a signed-in user; `None` for the operator and the system.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    pub fn session_id(&self) -> Option<SessionId> {
        self.session_id
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// What the policy grants this actor for `action`. The operator and the system hold
    /// administrative actions only.
    pub fn grant(&self, action: Action) -> Grant {
        match (self.kind, self.role) {
            (ActorKind::User, Some(role)) => grant(role, action),
            (ActorKind::Operator | ActorKind::System, _) if action == Action::AdministerSystem => {
                Grant::Yes
            }
            _ => Grant::No,
        }
    }

    /// Whether the actor may attempt `action` at all (a scope, if any, decides per record).
    pub fn may(&self, action: Action) -> bool {
        self.grant(action).is_possible()
    }

    /// The policy's answer for `action` on a patient the actor stands to in `relation`.
    pub fn decide(&self, action: Action, relation: Relation) -> Decision {
        match (self.kind, self.role) {
            (ActorKind::User, Some(role)) => carevault_core::policy::decide(role, action, relation),
            _ if self.grant(action) == Grant::Yes => Decision::Allow,
            _ => Decision::Refuse(action.refusal()),
        }
    }

    /// A patient's account: the policy lets it reach its own record only (its identity
    /// grant is scoped to *own*). Such an actor asking for anyone else's record is refused
    /// and recorded, where staff are told the record does not exist.
    pub fn reaches_own_record_only(&self) -> bool {
        self.grant(Action::SeeIdentity) == Grant::Scoped(Scope::Own)
    }

    /// `Ok` only when the policy says an unconditional yes.
    pub fn require(&self, action: Action) -> Result<(), ServiceError> {
        match self.grant(action) {
            Grant::Yes => Ok(()),
            _ => Err(ServiceError::Forbidden),
        }
    }
}
