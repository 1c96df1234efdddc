//! The nurse's patient list ("My patients").

use super::*;

/// Why a patient is on a nurse's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CareReason {
    /// Checked in (or being seen) today in the nurse's department.
    Department,
    /// On the patient's care team.
    CareTeam,
    /// Both.
    Both,
}

impl CareReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CareReason::Department => "department",
            CareReason::CareTeam => "care_team",
            CareReason::Both => "both",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CareReason::Department => "checked in to your department",
            CareReason::CareTeam => "your care team",
            CareReason::Both => "your care team, checked in to your department",
        }
    }
}

/// Today's visit of a patient on the nurse's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitToday {
    pub appointment_id: AppointmentId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub clinician_name: Option<String>,
    pub department_name: String,
}

/// One row of a nurse's patient list.
#[derive(Clone, PartialEq, Eq)]
pub struct NursePatientRow {
    pub patient_id: PatientId,
    /// The patient's name (the nurse has the full view of everyone on her list).
    pub patient_label: String,
    pub mrn: String,
    pub date_of_birth: chrono::NaiveDate,
    pub reason: CareReason,
    /// Today's visit (the earliest one still open), if any.
    pub visit: Option<VisitToday>,
    /// The latest triage of that visit.
    pub triage: Option<TriageView>,
    /// Whether the nurse may triage that visit now (checked in or in progress).
    pub may_triage: bool,
}

impl std::fmt::Debug for NursePatientRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NursePatientRow")
            .field("patient_id", &self.patient_id)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// A nurse's patients: today's checked-in patients of her department, then her care team.
#[derive(Debug, Clone)]
pub struct NursePatientList {
    pub today: chrono::NaiveDate,
    /// Department visits first (by time), then care-team patients without one.
    pub rows: Vec<NursePatientRow>,
    /// The department of the nurse's staff profile, when she has one.
    pub department_name: Option<String>,
}
impl Services {
    /// The nurse's patients today: the checked-in (and in-progress) visits of her
    /// department, then her care team. Nurses only; each patient shown is recorded as
    /// listed.
    pub async fn my_patients(&self, actor: &Actor) -> Result<NursePatientList, ServiceError> {
        let user = match (actor.user_id(), actor.role()) {
            (Some(user), _) if actor.may(Action::NursingCare) => user,
            _ => {
                return Err(self
                    .deny(
                        actor,
                        ResourceType::Patient,
                        None,
                        "the patient list of a nurse is for nurses",
                    )
                    .await);
            }
        };
        let conn = self.store().conn();
        let (from, to) = self.today_window();
        let today = self.settings().scheduling.local_date(self.now());
        let statuses = department_care_statuses();
        let department_visits =
            store::department_appointments(conn, user, &statuses, from, to, PATIENT_LIST_LIMIT)
                .await?;
        let team = store::care_team_patients(conn, user, PATIENT_LIST_LIMIT).await?;
        let open_statuses: Vec<&str> = AppointmentStatus::ALL
            .iter()
            .filter(|s| matches!(s, AppointmentStatus::Scheduled) || may_be_triaged(**s))
            .map(|s| s.as_str())
            .collect();
        let team_visits =
            store::appointments_of_patients(conn, &team, &open_statuses, from, to).await?;
        let team_set: HashSet<PatientId> = team.iter().copied().collect();
        // One row per patient: their department visit, else their open visit today.
        let mut order: Vec<PatientId> = Vec::new();
        let mut visit_of: HashMap<PatientId, AppointmentRow> = HashMap::new();
        let mut by_department: HashSet<PatientId> = HashSet::new();
        for a in department_visits {
            let id: PatientId = a.patient_id;
            by_department.insert(id);
            if let std::collections::hash_map::Entry::Vacant(slot) = visit_of.entry(id) {
                order.push(id);
                slot.insert(a);
            }
        }
        for a in team_visits {
            let id: PatientId = a.patient_id;
            visit_of.entry(id).or_insert(a);
        }
        for id in &team {
            if !order.contains(id) {
                order.push(*id);
            }
        }
        let rows = patient_store::find_many(conn, &order).await?;
        let rows: HashMap<PatientId, PatientRow> = rows
            .into_iter()
            .filter(|r| !r.is_erased())
            .map(|r| (r.id, r))
            .collect();
        let names = self.account_names().await?;
        let departments: HashMap<carevault_core::DepartmentId, String> =
            scheduling_store::departments(conn)
                .await?
                .into_iter()
                .map(|d| (d.id, d.name))
                .collect();
        let department_name = scheduling_store::find_staff_profile(conn, user)
            .await?
            .and_then(|p| p.department_id)
            .and_then(|d| departments.get(&d).cloned());
        let mut keys: HashMap<String, DataKey> = HashMap::new();
        for row in rows.values() {
            let dek = self.patient_key(row).await?;
            keys.insert(row.id.to_string(), dek);
        }
        let visit_ids: Vec<String> = visit_of.values().map(|a| a.id.to_string()).collect();
        let name = |id: UserId| names.of(id);
        let triages = self
            .triages_of_appointments(&visit_ids, &keys, &name)
            .await?;
        let mut out = Vec::new();
        let mut events = Vec::new();
        for id in order {
            let Some(row) = rows.get(&id) else {
                continue;
            };
            let data = self.open_row(actor, row, AuditAction::Listed).await?;
            let reason = match (by_department.contains(&id), team_set.contains(&id)) {
                (true, true) => CareReason::Both,
                (true, false) => CareReason::Department,
                _ => CareReason::CareTeam,
            };
            let visit = visit_of.get(&id);
            let status = visit.map(|a| a.status);
            out.push(NursePatientRow {
                patient_id: id,
                patient_label: format!("{} {}", data.given_name, data.family_name),
                mrn: data.mrn.clone(),
                date_of_birth: data.date_of_birth,
                reason,
                visit: match (visit, status) {
                    (Some(a), Some(status)) => Some(VisitToday {
                        appointment_id: a.id,
                        start: a.start_at,
                        end: a.end_at,
                        status,
                        clinician_name: a.clinician_id.map(name),
                        department_name: departments
                            .get(&a.department_id)
                            .cloned()
                            .unwrap_or_default(),
                    }),
                    _ => None,
                },
                triage: visit.and_then(|a| triages.get(&a.id.to_string()).cloned()),
                may_triage: status.is_some_and(may_be_triaged),
            });
            let mut event = self
                .audit_event(actor, AuditAction::Listed, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some("nurse's patient list".into());
            events.push(event);
        }
        self.record_all(events).await?;
        Ok(NursePatientList {
            today,
            rows: out,
            department_name,
        })
    }
}
