//! Patients' requests for appointments, accepting them, and availability.

use super::*;

/// A patient's request for a consultation, before validation.
#[derive(Clone, Default)]
pub struct RequestInput {
    /// Blank, or the patient's own record id; any other is refused (and recorded).
    pub patient_id: Option<String>,
    /// A department, or blank when a doctor is given (their department is used).
    pub department_id: Option<String>,
    pub clinician_id: Option<String>,
    /// The preferred start, RFC 3339 with an offset.
    pub start: String,
    /// Other times that would suit, in the patient's words.
    pub preferred_times: Option<String>,
    pub kind: Option<String>,
    pub reason: String,
}

impl std::fmt::Debug for RequestInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestInput")
            .field("department_id", &self.department_id)
            .field("clinician_id", &self.clinician_id)
            .finish_non_exhaustive()
    }
}

/// A clinician's day: working hours, what is booked, and what is free.
#[derive(Debug, Clone)]
pub struct Availability {
    pub clinician: StaffMember,
    pub date: NaiveDate,
    /// Working ranges of the day, in UTC.
    pub working: Vec<TimeSlot>,
    /// Slots held by active appointments.
    pub busy: Vec<TimeSlot>,
    /// Free slots of the clinician's department's default length.
    pub free: Vec<TimeSlot>,
    pub slot_minutes: u32,
}
impl Services {
    /// A clinician's day: working hours, booked and free slots. Staff who see appointments
    /// and patients (who see only the free slots).
    pub async fn availability(
        &self,
        actor: &Actor,
        clinician: UserId,
        date: NaiveDate,
    ) -> Result<Availability, ServiceError> {
        self.require_appointment_reader(actor).await?;
        let member = self.staff_member(actor, clinician).await?;
        let Some((_, profile)) = self.clinician(clinician).await? else {
            return Err(ServiceError::NotFound("clinician"));
        };
        let hours = profile
            .as_ref()
            .map_or_else(WeeklyHours::default, |p| p.working_hours.clone());
        let slot_minutes = match profile.as_ref().and_then(|p| p.department_id) {
            Some(id) => store::find_department(self.store().conn(), id)
                .await?
                .map_or(30, |d| d.slot_minutes),
            None => 30,
        };
        let settings = self.scheduling();
        let offset = settings.offset_on(date);
        let working: Vec<TimeSlot> = hours
            .ranges(chrono::Datelike::weekday(&date))
            .iter()
            .filter_map(|(open, close)| {
                let start = offset.from_local_datetime(&date.and_time(*open)).single()?;
                let end = offset
                    .from_local_datetime(&date.and_time(*close))
                    .single()?;
                TimeSlot::new(start.with_timezone(&Utc), end.with_timezone(&Utc)).ok()
            })
            .collect();
        let day_start = settings.day_start(date);
        let day_end = date
            .succ_opt()
            .map_or(day_start + Duration::days(1), |d| settings.day_start(d));
        let busy = self
            .busy_slots(clinician, day_start - Duration::hours(12), day_end)
            .await?;
        let from = day_start.max(self.now());
        let free = if from >= day_end {
            Vec::new()
        } else {
            next_free_slots(
                &busy,
                &hours,
                offset,
                from,
                Duration::minutes(i64::from(slot_minutes)),
                usize::MAX,
                1,
            )
        };
        let busy = if actor.reaches_own_record_only() {
            Vec::new()
        } else {
            busy.into_iter()
                .filter(|s| s.end() > day_start && s.start() < day_end)
                .collect()
        };
        Ok(Availability {
            clinician: member,
            date,
            working,
            busy,
            free,
            slot_minutes,
        })
    }

    /// A patient asks for a consultation. Nothing is booked until staff accept it.
    pub async fn request_appointment(
        &self,
        actor: &Actor,
        input: RequestInput,
    ) -> Result<AppointmentView, ServiceError> {
        if !actor.may(Action::UsePortal) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "requests are made by patients for themselves",
                )
                .await);
        }
        let Some(patient) = self.own_patient_row(actor).await? else {
            return Err(ServiceError::Conflict {
                field: None,
                message: "your account is not linked to a patient record yet: please ask reception"
                    .into(),
            });
        };
        if let Some(raw) = given(input.patient_id.as_ref())
            && raw != patient.id.to_string()
        {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "a patient may request appointments only for themselves",
                )
                .await);
        }
        let mut errors = ValidationErrors::new();
        let clinician: Option<UserId> = match given(input.clinician_id.as_ref()) {
            Some(raw) => parse_id(&mut errors, "clinician_id", raw),
            None => None,
        };
        let clinician_found = match clinician {
            Some(id) => {
                let found = self
                    .clinician(id)
                    .await?
                    .filter(|(user, _)| user.role.takes_patient_requests());
                if found.is_none() {
                    errors.push("clinician_id", "is not a doctor who takes appointments");
                }
                found
            }
            None => None,
        };
        let department: Option<DepartmentId> = match given(input.department_id.as_ref()) {
            Some(raw) => parse_id(&mut errors, "department_id", raw),
            None => clinician_found
                .as_ref()
                .and_then(|(_, p)| p.as_ref())
                .and_then(|p| p.department_id),
        };
        let department_row = match department {
            Some(id) => {
                let row = store::find_department(self.store().conn(), id)
                    .await?
                    .filter(|d| d.active);
                if row.is_none() {
                    errors.push("department_id", "is not an active department");
                }
                row
            }
            None => {
                if errors.message_for("clinician_id").is_none() {
                    errors.push("department_id", "choose a department or a doctor");
                }
                None
            }
        };
        let kind = parse_kind(&mut errors, input.kind.as_ref());
        let reason = required_text(&mut errors, "reason", &input.reason);
        let preferred = text(
            &mut errors,
            "preferred_times",
            input.preferred_times.as_ref(),
        );
        let minutes = department_row
            .as_ref()
            .map_or(30, |d| i64::from(d.slot_minutes));
        let slot = self.parse_slot(&mut errors, &input.start, None, None, minutes);
        errors.into_result()?;
        let (Some(department), Some(slot), Some(kind), Some(reason)) =
            (department_row, slot, kind, reason)
        else {
            return Err(ValidationErrors::single("start", "is required").into());
        };
        let id = AppointmentId::generate();
        let now = whole_micros(self.now());
        let dek = self.patient_key(&patient).await?;
        let s = |column: &str, value: Option<&str>| seal(&dek, id, patient.id, column, value);
        let row = AppointmentRow {
            id,
            patient_id: patient.id,
            clinician_id: clinician,
            department_id: department.id,
            start_at: slot.start(),
            end_at: slot.end(),
            kind,
            status: AppointmentStatus::Requested,
            reason: s("reason", Some(&reason))?.unwrap_or_default(),
            notes: None,
            preferred_times: s("preferred_times", preferred.as_deref())?,
            status_reason: None,
            requested_by: actor.user_id(),
            created_by: actor.user_id(),
            created_at: now,
            updated_at: now,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Appointment)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("consultation requested".into());
        self.transaction(async |txn| {
            store::insert_appointment(txn, row.clone()).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.get_appointment(actor, id).await
    }

    /// Accepts a patient's request into a free slot (and a clinician, if the request named
    /// none). Reception, administrators, or the requested doctor.
    pub async fn accept_request(
        &self,
        actor: &Actor,
        id: AppointmentId,
        input: SlotInput,
    ) -> Result<AppointmentView, ServiceError> {
        let row = self.load_appointment(actor, id).await?;
        let status = row.status;
        if status != AppointmentStatus::Requested {
            return Err(status
                .transition_to(AppointmentStatus::Scheduled)
                .err()
                .map_or_else(
                    || ServiceError::Conflict {
                        field: Some("status"),
                        message: format!("the appointment is {status}, not requested"),
                    },
                    |e| ServiceError::Conflict {
                        field: Some("status"),
                        message: e.to_string(),
                    },
                ));
        }
        self.move_appointment(actor, row, input, true).await
    }
}
