//! Reading appointments: who may, how far an actor manages them, presenting them with the
//! patient as the actor may see them, and the lists.

use super::*;

/// An appointment as one actor may see it. Hidden fields are `None` (for [`Shown`] fields:
/// `None` hidden, `Some(None)` shown but empty).
#[derive(Clone, PartialEq, Eq)]
pub struct AppointmentView {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    /// The patient's name in clear, or their pseudonym, as the actor's view allows.
    pub patient_label: String,
    /// Which view of the patient the label comes from.
    pub patient_view: PatientView,
    pub clinician_id: Option<UserId>,
    pub clinician_name: Option<String>,
    pub department_id: DepartmentId,
    pub department_name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: AppointmentType,
    pub status: AppointmentStatus,
    pub reason: Option<String>,
    pub notes: Shown<String>,
    pub preferred_times: Shown<String>,
    /// Why it was cancelled or declined.
    pub status_reason: Shown<String>,
    /// The statuses this actor may move it to now.
    pub next_statuses: Vec<AppointmentStatus>,
    /// Whether this actor may move it to another slot.
    pub may_reschedule: bool,
    pub created_at: DateTime<Utc>,
    /// The version: a reschedule based on an older one is refused.
    pub updated_at: DateTime<Utc>,
    /// The latest triage of the visit (acuity, note, flagged vitals), for those with the
    /// full view of the patient; `None` otherwise or when there is none.
    pub triage: Option<crate::nursing::TriageView>,
}

impl std::fmt::Debug for AppointmentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppointmentView")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// Which appointments to list.
#[derive(Debug, Clone, Default)]
pub struct AppointmentQuery {
    pub clinician: Option<UserId>,
    pub patient: Option<PatientId>,
    pub department: Option<DepartmentId>,
    pub statuses: Vec<AppointmentStatus>,
    /// Starting on or after this local day (clinic time).
    pub from: Option<NaiveDate>,
    /// Starting on or before this local day (inclusive).
    pub to: Option<NaiveDate>,
}
impl Services {
    /// Whether `actor` may see appointments at all, and if so whose.
    fn appointment_reader(actor: &Actor) -> Option<Role> {
        actor.role().filter(|_| actor.may(Action::Appointments))
    }

    pub(super) async fn require_appointment_reader(
        &self,
        actor: &Actor,
    ) -> Result<Role, ServiceError> {
        match Self::appointment_reader(actor) {
            Some(role) => Ok(role),
            None => Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "this role sees no appointments",
                )
                .await),
        }
    }

    /// What `actor` may book, move, cancel or mark a no-show (staff side).
    pub(super) async fn manage_scope(&self, actor: &Actor) -> Result<ManageScope, ServiceError> {
        Ok(match actor.grant(Action::BookAppointments) {
            Grant::Yes => ManageScope {
                everything: true,
                ..ManageScope::default()
            },
            Grant::Scoped(carevault_core::Scope::OwnSchedule) => {
                let me = actor.user_id();
                let my_department = match me {
                    Some(id) => store::find_staff_profile(self.store().conn(), id)
                        .await?
                        .and_then(|p| p.department_id),
                    None => None,
                };
                ManageScope {
                    everything: false,
                    me,
                    my_department,
                }
            }
            _ => ManageScope::default(),
        })
    }

    /// The patient rows behind `rows`, with the view the actor has of each.
    async fn patient_views(
        &self,
        actor: &Actor,
        rows: &[AppointmentRow],
    ) -> Result<HashMap<PatientId, (PatientRow, PatientView)>, ServiceError> {
        let ids: Vec<PatientId> = rows
            .iter()
            .map(|r| r.patient_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let role = actor.role().ok_or(ServiceError::Forbidden)?;
        let rows = patients::find_many(self.store().conn(), &ids).await?;
        let mut relations = self.relations_to(actor, &rows).await?;
        let mut out = HashMap::new();
        for row in rows {
            let relation = relations.remove(&row.id).unwrap_or(Relation::None);
            if let Some(view) = view_for(role, relation) {
                out.insert(row.id, (row, view));
            }
        }
        Ok(out)
    }

    /// Presents `rows` as `actor` may see them (rows of patients the actor has no view of
    /// are left out), and the audit events that record the disclosure.
    pub(super) async fn present_appointments(
        &self,
        actor: &Actor,
        rows: Vec<AppointmentRow>,
        action: AuditAction,
    ) -> Result<(Vec<AppointmentView>, Vec<AuditEvent>), ServiceError> {
        let patients = self.patient_views(actor, &rows).await?;
        let scope = self.manage_scope(actor).await?;
        let departments = department_names(self.store().conn()).await?;
        let names = self.account_names().await?;
        let mut keys: HashMap<String, DataKey> = HashMap::new();
        let mut labels: HashMap<PatientId, String> = HashMap::new();
        let mut views = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let Some((patient, view)) = patients.get(&row.patient_id) else {
                continue;
            };
            let view = *view;
            if let std::collections::hash_map::Entry::Vacant(slot) = labels.entry(patient.id) {
                let label = if view.shows_identity() {
                    let data = self.open_row(actor, patient, action).await?;
                    format!("{} {}", data.given_name, data.family_name)
                } else {
                    pseudonym_of(patient.pseudonym_number)
                };
                slot.insert(label);
            }
            let shows_reason = matches!(
                view,
                PatientView::Full | PatientView::Registration | PatientView::Own
            );
            let shows_clinical = matches!(view, PatientView::Full | PatientView::Own);
            let opened = if shows_reason {
                let key = patient.id.to_string();
                if !keys.contains_key(&key) {
                    let dek = self.patient_key(patient).await?;
                    keys.insert(key.clone(), dek);
                }
                let dek = keys
                    .get(&key)
                    .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("no data key")))?;
                let opened = (|| {
                    Ok::<_, ServiceError>((
                        open(dek, &row, "reason", Some(&row.reason))?,
                        open(dek, &row, "notes", row.notes.as_deref())?,
                        open(dek, &row, "preferred_times", row.preferred_times.as_deref())?,
                        open(dek, &row, "status_reason", row.status_reason.as_deref())?,
                    ))
                })();
                match opened {
                    Ok(opened) => Some(opened),
                    Err(ServiceError::Integrity) => {
                        let mut event = self
                            .audit_event(actor, action, ResourceType::Appointment)
                            .resource_id(&row.id)
                            .patient(pseudonym_of(patient.pseudonym_number));
                        event.outcome = Outcome::Failed;
                        event.reason = Some("sealed data failed its integrity check".into());
                        tracing::error!(appointment_id = %row.id, "sealed appointment data failed its integrity check");
                        self.record(event).await?;
                        return Err(ServiceError::Integrity);
                    }
                    Err(other) => return Err(other),
                }
            } else {
                None
            };
            let (reason, notes, preferred, status_reason) = opened.unwrap_or_default();
            let status = row.status;
            let next_statuses = self.permitted_transitions(actor, &scope, &row, status, view);
            let may_reschedule = status == AppointmentStatus::Scheduled
                && !actor.reaches_own_record_only()
                && scope.manages(row.clinician_id, row.department_id);
            events.push(
                self.audit_event(actor, action, ResourceType::Appointment)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(patient.pseudonym_number)),
            );
            views.push(AppointmentView {
                id: row.id,
                patient_id: row.patient_id,
                patient_label: labels.get(&patient.id).cloned().unwrap_or_default(),
                patient_view: view,
                clinician_id: row.clinician_id,
                clinician_name: row.clinician_id.and_then(|id| names.get(id)),
                department_id: row.department_id,
                department_name: departments
                    .get(&row.department_id)
                    .cloned()
                    .unwrap_or_default(),
                start: row.start_at,
                end: row.end_at,
                kind: row.kind,
                status,
                reason: shows_reason.then(|| reason.unwrap_or_default()),
                notes: shows_clinical.then_some(notes),
                preferred_times: shows_reason.then_some(preferred),
                status_reason: shows_reason.then_some(status_reason),
                next_statuses,
                may_reschedule,
                created_at: row.created_at,
                updated_at: row.updated_at,
                triage: None,
            });
        }
        // The nurse's triage of each visit, for those with the full view of its patient.
        let full: Vec<String> = views
            .iter()
            .filter(|v| v.patient_view == PatientView::Full)
            .map(|v| v.id.to_string())
            .collect();
        if !full.is_empty() {
            let name = |id: UserId| names.of(id);
            let mut triages = self.triages_of_appointments(&full, &keys, &name).await?;
            for view in &mut views {
                if view.patient_view == PatientView::Full {
                    view.triage = triages.remove(&view.id.to_string());
                }
            }
        }
        Ok((views, events))
    }

    /// One appointment, as the actor may see it. Audited.
    pub async fn get_appointment(
        &self,
        actor: &Actor,
        id: AppointmentId,
    ) -> Result<AppointmentView, ServiceError> {
        let row = self.load_appointment(actor, id).await?;
        let (mut views, events) = self
            .present_appointments(actor, vec![row], AuditAction::Read)
            .await?;
        self.record_all(events).await?;
        views.pop().ok_or(ServiceError::NotFound("appointment"))
    }

    /// Loads an appointment the actor may see; a patient asking for someone else's is
    /// refused (and recorded) whether or not it exists.
    pub(super) async fn load_appointment(
        &self,
        actor: &Actor,
        id: AppointmentId,
    ) -> Result<AppointmentRow, ServiceError> {
        self.require_appointment_reader(actor).await?;
        let row = store::find_appointment(self.store().conn(), id).await?;
        if actor.reaches_own_record_only() {
            let own = self.own_patient_row(actor).await?;
            match (&row, own) {
                (Some(row), Some(own)) if row.patient_id == own.id => {}
                _ => {
                    return Err(self
                        .deny(
                            actor,
                            ResourceType::Appointment,
                            Some(id.to_string()),
                            "not the patient's own appointment",
                        )
                        .await);
                }
            }
        }
        row.ok_or(ServiceError::NotFound("appointment"))
    }

    /// The patient record linked to a patient's account.
    pub(super) async fn own_patient_row(
        &self,
        actor: &Actor,
    ) -> Result<Option<PatientRow>, ServiceError> {
        match actor.user_id().filter(|_| actor.may(Action::UsePortal)) {
            Some(user) => Ok(patients::find_by_account(self.store().conn(), user)
                .await?
                .filter(|row| !row.is_erased())),
            None => Ok(None),
        }
    }

    /// Appointments matching `query`, earliest first, as the actor may see them. A patient
    /// sees only their own (any other patient filter is refused); every listed appointment
    /// is recorded as listed.
    pub async fn list_appointments(
        &self,
        actor: &Actor,
        mut query: AppointmentQuery,
    ) -> Result<Vec<AppointmentView>, ServiceError> {
        self.require_appointment_reader(actor).await?;
        if actor.reaches_own_record_only() {
            let own = self.own_patient_row(actor).await?;
            let Some(own) = own else {
                return Ok(Vec::new());
            };
            let own_id = own.id;
            if query.patient.is_some_and(|p| p != own_id) {
                return Err(self
                    .deny(
                        actor,
                        ResourceType::Appointment,
                        query.patient.map(|p| p.to_string()),
                        "not the patient's own appointments",
                    )
                    .await);
            }
            query.patient = Some(own_id);
        }
        let settings = self.scheduling();
        let filter = AppointmentFilter {
            clinician: query.clinician,
            patient: query.patient,
            department: query.department,
            statuses: query.statuses.clone(),
            from: query.from.map(|d| settings.day_start(d)),
            to: query
                .to
                .and_then(|d| d.succ_opt())
                .map(|d| settings.day_start(d)),
        };
        let rows = store::appointments(self.store().conn(), &filter, LIST_LIMIT).await?;
        let (views, events) = self
            .present_appointments(actor, rows, AuditAction::Listed)
            .await?;
        self.record_all(events).await?;
        Ok(views)
    }

    /// A patient's own appointments (all of them, earliest first).
    pub async fn my_appointments(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AppointmentView>, ServiceError> {
        if !actor.may(Action::UsePortal) {
            return Err(self
                .deny(actor, ResourceType::Appointment, None, "patients only")
                .await);
        }
        self.list_appointments(actor, AppointmentQuery::default())
            .await
    }
}
