//! What the allergy list and the problem list share: the one access decision
//! (`carevault_core::allergy::chart_list_allowed`, asked once per use case and recorded when
//! it refuses), their audit events, and the names of who recorded what.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use crate::audit_trail::pseudonym_of;
use carevault_core::allergy::{ChartListAction, chart_list_allowed};
use carevault_core::audit::{AuditAction, Outcome, ResourceType};
use carevault_core::masking::PatientView;
use carevault_core::{AllergyId, PatientId, ProblemId, UserId};
use carevault_store::allergies::AllergyRecord;
use carevault_store::patients::PatientRow;
use carevault_store::problems::ProblemRecord;
use carevault_store::{Conn, StoreError, users};

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::ids::requested_id;

/// A patient the actor may act on in a chart list, and how they stand to them.
pub(crate) struct ChartListAccess {
    pub patient: PatientRow,
    pub view: PatientView,
    /// On the care team, by emergency access, or by a share of the whole record.
    pub in_care: bool,
}

impl ChartListAccess {
    /// Whether the actor may also do `action` (for the forms a page offers).
    pub fn allows(&self, actor: &Actor, action: ChartListAction) -> bool {
        actor
            .role()
            .is_some_and(|role| chart_list_allowed(role, self.view, self.in_care, action))
    }
}

fn refusal(action: ChartListAction, resource: ResourceType) -> &'static str {
    match (action, resource) {
        (ChartListAction::Read, ResourceType::Allergy) => {
            "allergies are for the patient's care team and the patient"
        }
        (ChartListAction::Read, _) => {
            "the problem list is for the patient's care team and the patient"
        }
        (ChartListAction::WriteAllergies, _) => {
            "allergies are recorded by doctors and nurses in the patient's care"
        }
        (ChartListAction::WriteProblems, _) => {
            "the problem list is kept by doctors in the patient's care"
        }
    }
}

impl Services {
    /// The patient, if `actor` may do `action` on their `resource` list; otherwise the
    /// refusal, recorded (a patient asking for someone else's record is refused whether or
    /// not it exists, by `load_for`).
    pub(crate) async fn chart_list_access(
        &self,
        actor: &Actor,
        patient_id: PatientId,
        action: ChartListAction,
        resource: ResourceType,
    ) -> Result<ChartListAccess, ServiceError> {
        let (patient, _, view) = self.load_for(actor, patient_id).await?;
        let in_care = match actor.user_id() {
            Some(user) if view == PatientView::Full => self
                .in_care_of(user, &[patient_id])
                .await?
                .contains(&patient_id),
            _ => false,
        };
        let access = ChartListAccess {
            patient,
            view,
            in_care,
        };
        if access.allows(actor, action) {
            Ok(access)
        } else {
            Err(self
                .deny(
                    actor,
                    resource,
                    Some(patient_id.to_string()),
                    refusal(action, resource),
                )
                .await)
        }
    }

    /// Records that a sealed entry of `patient`'s list failed to open, and returns the error
    /// to give the caller.
    pub(crate) async fn chart_list_integrity_failure(
        &self,
        actor: &Actor,
        resource: ResourceType,
        patient: &PatientRow,
    ) -> ServiceError {
        let mut event = self
            .audit_event(actor, AuditAction::Read, resource)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.outcome = Outcome::Failed;
        event.reason = Some("sealed data failed its integrity check".into());
        tracing::error!(patient_id = %patient.id, resource = %resource, "sealed list entry failed its integrity check");
        match self.record(event).await {
            Ok(_) => ServiceError::Integrity,
            Err(err) => err,
        }
    }

    /// The entry a status change names (`raw_id`), with the access to its list and who
    /// changes it. Not found (recorded like any missing record) unless it exists and is of
    /// `patient` when the route names one; refused unless `actor` may write its list.
    pub(crate) async fn entry_for_change<R: ListEntry>(
        &self,
        actor: &Actor,
        raw_id: &str,
        patient: Option<PatientId>,
    ) -> Result<(R, ChartListAccess, UserId), ServiceError> {
        let raw = raw_id.trim();
        let found = match requested_id::<R::Id>(raw) {
            Some(id) => R::find(self.store().conn(), id).await?,
            None => None,
        };
        let entry = match found {
            Some(entry) if patient.is_none_or(|p| p == entry.patient_id()) => entry,
            _ => {
                let id = Some(raw.to_owned());
                return Err(self.missing(actor, R::RESOURCE, id, R::NOUN).await);
            }
        };
        let access = self
            .chart_list_access(actor, entry.patient_id(), R::WRITE, R::RESOURCE)
            .await?;
        let by = actor.user_id().ok_or(ServiceError::Forbidden)?;
        Ok((entry, access, by))
    }

    /// Display names of every account, by id (who recorded an entry).
    pub(crate) async fn account_names(&self) -> Result<AccountNames, ServiceError> {
        Ok(AccountNames(
            users::list(self.store().conn())
                .await?
                .into_iter()
                .map(|u| (u.id, u.display_name.as_str().to_owned()))
                .collect(),
        ))
    }
}

/// An entry of a chart list (an allergy, a problem), as a status change finds it.
pub(crate) trait ListEntry: Sized {
    type Id: FromStr + Display;
    /// What the list's audit events are about.
    const RESOURCE: ResourceType;
    /// Changing an entry of the list.
    const WRITE: ChartListAction;
    /// The entry in a "not found" message.
    const NOUN: &'static str;

    fn patient_id(&self) -> PatientId;

    /// The stored entry with this id, if any.
    async fn find(conn: &impl Conn, id: Self::Id) -> Result<Option<Self>, StoreError>;
}

impl ListEntry for AllergyRecord {
    type Id = AllergyId;
    const RESOURCE: ResourceType = ResourceType::Allergy;
    const WRITE: ChartListAction = ChartListAction::WriteAllergies;
    const NOUN: &'static str = "allergy entry";

    fn patient_id(&self) -> PatientId {
        self.patient_id
    }

    async fn find(conn: &impl Conn, id: AllergyId) -> Result<Option<Self>, StoreError> {
        carevault_store::allergies::find(conn, id).await
    }
}

impl ListEntry for ProblemRecord {
    type Id = ProblemId;
    const RESOURCE: ResourceType = ResourceType::Problem;
    const WRITE: ChartListAction = ChartListAction::WriteProblems;
    const NOUN: &'static str = "problem";

    fn patient_id(&self) -> PatientId {
        self.patient_id
    }

    async fn find(conn: &impl Conn, id: ProblemId) -> Result<Option<Self>, StoreError> {
        carevault_store::problems::find(conn, id).await
    }
}

/// The conflict (409 on `status`) for a status change the list's graph does not allow.
pub(crate) fn status_conflict(message: String) -> ServiceError {
    ServiceError::Conflict {
        field: Some("status"),
        message,
    }
}

/// The display names of every account, to show who recorded an entry.
#[derive(Default)]
pub(crate) struct AccountNames(HashMap<UserId, String>);

impl AccountNames {
    /// The account's display name; empty for an account that no longer exists.
    pub fn of(&self, id: UserId) -> String {
        self.get(id).unwrap_or_default()
    }

    /// The account's display name, if the account exists.
    pub fn get(&self, id: UserId) -> Option<String> {
        self.0.get(&id).cloned()
    }
}
