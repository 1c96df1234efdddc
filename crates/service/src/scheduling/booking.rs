//! Booking and moving appointments: the target, the slot, working hours, slot claims and
//! conflicts, free and busy slots, the care team.

use super::*;

/// A booking as submitted, before validation. `start`/`end` are RFC 3339 with an offset.
#[derive(Clone, Default)]
pub struct BookingInput {
    pub patient_id: String,
    pub clinician_id: String,
    /// Blank: the clinician's department.
    pub department_id: Option<String>,
    pub start: String,
    pub end: Option<String>,
    pub duration_minutes: Option<String>,
    /// Blank: consultation.
    pub kind: Option<String>,
    pub reason: String,
    pub notes: Option<String>,
}

impl std::fmt::Debug for BookingInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingInput")
            .field("patient_id", &self.patient_id)
            .field("clinician_id", &self.clinician_id)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// A new slot (and possibly clinician) for an existing appointment, or the slot chosen when
/// accepting a request.
#[derive(Debug, Clone, Default)]
pub struct SlotInput {
    /// Blank: keep the clinician (required when accepting a request without one).
    pub clinician_id: Option<String>,
    pub start: String,
    pub end: Option<String>,
    pub duration_minutes: Option<String>,
}
impl Services {
    /// Books an appointment into a free slot. Administrators and receptionists for any
    /// clinician, doctors for themselves. A double booking is refused with
    /// [`ServiceError::SlotTaken`].
    pub async fn book_appointment(
        &self,
        actor: &Actor,
        input: BookingInput,
    ) -> Result<AppointmentView, ServiceError> {
        self.may_book_appointments(actor).await?;
        let mut errors = ValidationErrors::new();
        let patient_id: Option<PatientId> = parse_id(&mut errors, "patient_id", &input.patient_id);
        let clinician_id: Option<UserId> =
            parse_id(&mut errors, "clinician_id", &input.clinician_id);
        let department_id: Option<DepartmentId> = match given(input.department_id.as_ref()) {
            Some(raw) => parse_id(&mut errors, "department_id", raw),
            None => None,
        };
        let kind = parse_kind(&mut errors, input.kind.as_ref());
        let reason = required_text(&mut errors, "reason", &input.reason);
        let notes = text(&mut errors, "notes", input.notes.as_ref());
        let scope = self.manage_scope(actor).await?;
        if let Some(clinician) = clinician_id
            && !scope.manages_clinician(clinician)
        {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "doctors book into their own schedule only",
                )
                .await);
        }
        let target = self
            .booking_target(&mut errors, patient_id, clinician_id, department_id)
            .await?;
        let slot_minutes = target.as_ref().map_or(30, |t| t.slot_minutes);
        let slot = self.parse_slot(
            &mut errors,
            &input.start,
            input.end.as_deref(),
            input.duration_minutes.as_deref(),
            slot_minutes,
        );
        errors.into_result()?;
        let (Some(target), Some(slot), Some(kind), Some(reason)) = (target, slot, kind, reason)
        else {
            return Err(ValidationErrors::single("start", "is required").into());
        };
        self.check_working_hours(&target.hours, &slot)?;
        if actor.grant(Action::BookAppointments) != Grant::Yes {
            // A doctor books follow-ups for patients already in their care. Otherwise booking
            // would put anyone's record in their hands: new patients go through reception.
            let patient = target.patient.id;
            let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
            if !care_team::is_member(self.store().conn(), patient, me).await? {
                return Err(self
                    .deny(
                        actor,
                        ResourceType::Appointment,
                        None,
                        "doctors book only patients already on their care team",
                    )
                    .await);
            }
        }
        let id = AppointmentId::generate();
        let now = whole_micros(self.now());
        let dek = self.patient_key(&target.patient).await?;
        let s =
            |column: &str, value: Option<&str>| seal(&dek, id, target.patient.id, column, value);
        let row = AppointmentRow {
            id,
            patient_id: target.patient.id,
            clinician_id: Some(target.clinician),
            department_id: target.department,
            start_at: slot.start(),
            end_at: slot.end(),
            kind,
            status: AppointmentStatus::Scheduled,
            reason: s("reason", Some(&reason))?.unwrap_or_default(),
            notes: s("notes", notes.as_deref())?,
            preferred_times: None,
            status_reason: None,
            requested_by: None,
            created_by: actor.user_id(),
            created_at: now,
            updated_at: now,
        };
        let event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Appointment)
            .resource_id(&row.id)
            .patient(pseudonym_of(target.patient.pseudonym_number));
        self.write_with_claims(actor, &target, slot, &row, None, event)
            .await?;
        tracing::info!(appointment_id = %id, "appointment booked");
        self.get_appointment(actor, id).await
    }

    /// Validates who and where an appointment is for.
    async fn booking_target(
        &self,
        errors: &mut ValidationErrors,
        patient: Option<PatientId>,
        clinician: Option<UserId>,
        department: Option<DepartmentId>,
    ) -> Result<Option<BookingTarget>, ServiceError> {
        let conn = self.store().conn();
        let patient_row = match patient {
            Some(id) => {
                let row = patients::find(conn, id)
                    .await?
                    .filter(|row| !row.is_erased());
                match &row {
                    None => errors.push("patient_id", "is not a known patient"),
                    Some(row) if row.status != PatientStatus::Active => {
                        errors.push(
                            "patient_id",
                            format!("the patient's record is {}", row.status),
                        );
                    }
                    Some(_) => {}
                }
                row
            }
            None => None,
        };
        let clinician_found = match clinician {
            Some(id) => {
                let found = self.clinician(id).await?;
                if found.is_none() {
                    errors.push("clinician_id", "is not an active doctor or nurse");
                }
                found
            }
            None => None,
        };
        let department_id = department.or_else(|| {
            clinician_found
                .as_ref()
                .and_then(|(_, p)| p.as_ref())
                .and_then(|p| p.department_id)
        });
        let department_row = match department_id {
            Some(id) => {
                let row = store::find_department(conn, id).await?.filter(|d| d.active);
                if row.is_none() {
                    errors.push("department_id", "is not an active department");
                }
                row
            }
            None => {
                if clinician_found.is_some() {
                    errors.push(
                        "department_id",
                        "is required: the clinician belongs to no department",
                    );
                }
                None
            }
        };
        let (Some(patient), Some((user, profile)), Some(department)) =
            (patient_row, clinician_found, department_row)
        else {
            return Ok(None);
        };
        let hours = profile.map_or_else(WeeklyHours::default, |p| p.working_hours);
        Ok(Some(BookingTarget {
            patient,
            clinician: user.id,
            department: department.id,
            slot_minutes: i64::from(department.slot_minutes),
            hours,
        }))
    }

    pub(super) fn parse_slot(
        &self,
        errors: &mut ValidationErrors,
        start: &str,
        end: Option<&str>,
        duration: Option<&str>,
        default_minutes: i64,
    ) -> Option<TimeSlot> {
        match TimeSlot::parse(start, end, duration, default_minutes, self.now()) {
            Ok(slot) => Some(slot),
            Err(found) => {
                for e in found.0 {
                    errors.push(e.field, e.message);
                }
                None
            }
        }
    }

    fn check_working_hours(
        &self,
        hours: &WeeklyHours,
        slot: &TimeSlot,
    ) -> Result<(), ServiceError> {
        let offset = self.scheduling().offset_at(slot.start());
        if hours.covers(slot, offset) {
            Ok(())
        } else {
            Err(ValidationErrors::single(
                "start",
                format!("is outside the clinician's working hours ({hours})"),
            )
            .into())
        }
    }

    /// Writes `row` (inserted when `read_at` is `None`, else updated if unchanged since)
    /// with its slot claims, care-team membership and audit event, in one transaction,
    /// retried on contention. A claim that collides answers [`ServiceError::SlotTaken`].
    async fn write_with_claims(
        &self,
        actor: &Actor,
        target: &BookingTarget,
        slot: TimeSlot,
        row: &AppointmentRow,
        read_at: Option<DateTime<Utc>>,
        event: AuditEvent,
    ) -> Result<(), ServiceError> {
        let id = row.id;
        let patient = target.patient.id;
        let owners = [
            SlotOwner::Clinician(target.clinician),
            SlotOwner::Patient(patient),
        ];
        let keys = slot_keys(&slot);
        // The reminder follows the slot; an accepted request is announced.
        let accepted = read_at.is_some() && event.action == AuditAction::StatusChanged;
        // A uniqueness violation of these writes is a claim colliding with another one.
        let collided = |err: StoreError| match err {
            StoreError::UniqueViolation(_) => Abort::Stop(SlotCollision),
            other => Abort::Fail(other.into()),
        };
        tx::retry(async || {
            let written = self
                .transaction_once(async |txn| {
                    match read_at {
                        None => store::insert_appointment(txn, row.clone())
                            .await
                            .map_err(collided)?,
                        Some(read_at) => {
                            if !store::update_appointment(txn, row.clone(), read_at)
                                .await
                                .map_err(collided)?
                            {
                                return Err(Abort::Fail(changed_meanwhile()));
                            }
                            store::release_slots(txn, id).await.map_err(collided)?;
                        }
                    }
                    store::claim_slots(txn, id, &owners, &keys)
                        .await
                        .map_err(collided)?;
                    care_team::add(
                        txn,
                        patient,
                        target.clinician,
                        CARE_TEAM_SOURCE,
                        actor.user_id(),
                        self.now(),
                    )
                    .await
                    .map_err(collided)?;
                    if read_at.is_some() {
                        // The clinician may have changed: the old one may leave the team.
                        self.refresh_care_team(txn, patient).await?;
                    }
                    self.queue_appointment_notifications(txn, row, &target.patient, accepted)
                        .await?;
                    self.append_in(txn, event.clone()).await?;
                    Ok(())
                })
                .await;
            match written {
                Ok(()) => Ok(()),
                Err(Abort::Fail(err)) => Err(err),
                // Rolled back; the collision is read outside the transaction.
                Err(Abort::Stop(SlotCollision)) => {
                    match self.conflict_for(actor, target, slot, id).await? {
                        Some(conflict) => Err(ServiceError::SlotTaken(Box::new(conflict))),
                        // The colliding booking was itself rolled back: try again.
                        None => Err(tx::again(ServiceError::Unavailable)),
                    }
                }
            }
        })
        .await
    }

    /// The appointments `slot` collides with (other than `except`), and the clinician's next
    /// free slots of the same length. `None` if nothing collides any more.
    async fn conflict_for(
        &self,
        actor: &Actor,
        target: &BookingTarget,
        slot: TimeSlot,
        except: AppointmentId,
    ) -> Result<Option<SlotConflict>, ServiceError> {
        let conn = self.store().conn();
        let keys = slot_keys(&slot);
        let (first, past_last) = (
            keys.first().copied().unwrap_or_default(),
            keys.last().copied().unwrap_or_default() + 1,
        );
        let patient = target.patient.id;
        let mut taken = Vec::new();
        for (owner, label) in [
            (SlotOwner::Clinician(target.clinician), "clinician"),
            (SlotOwner::Patient(patient), "patient"),
        ] {
            for row in store::overlapping(conn, owner, first, past_last).await? {
                if row.id != except {
                    taken.push((row, label));
                }
            }
        }
        if taken.is_empty() {
            return Ok(None);
        }
        let rows: Vec<AppointmentRow> = taken.iter().map(|(r, _)| r.clone()).collect();
        let (views, events) = self
            .present_appointments(actor, rows, AuditAction::Listed)
            .await?;
        self.record_all(events).await?;
        let mut conflicts = Vec::new();
        for (row, label) in &taken {
            let shown = views.iter().find(|v| v.id == row.id);
            conflicts.push(ConflictingSlot {
                appointment_id: row.id,
                start: row.start_at,
                end: row.end_at,
                taken_for: label,
                clinician_name: shown.and_then(|v| v.clinician_name.clone()),
                patient_label: shown
                    .map_or_else(|| "another patient".to_owned(), |v| v.patient_label.clone()),
            });
        }
        let next_free = self
            .free_slots(
                target.clinician,
                &target.hours,
                slot.start(),
                slot.duration(),
            )
            .await?;
        let whose = if taken.iter().any(|(_, l)| *l == "clinician") {
            "the clinician already has an appointment at this time"
        } else {
            "the patient already has an appointment at this time"
        };
        Ok(Some(SlotConflict {
            message: format!("The slot is taken: {whose}."),
            conflicts,
            next_free,
            time_zone: self.scheduling().time_zone,
        }))
    }

    /// The clinician's next free slots of `length` from `from` on.
    async fn free_slots(
        &self,
        clinician: UserId,
        hours: &WeeklyHours,
        from: DateTime<Utc>,
        length: Duration,
    ) -> Result<Vec<TimeSlot>, ServiceError> {
        let settings = self.scheduling();
        let from = from.max(self.now());
        let horizon = from + Duration::days(i64::from(settings.free_slot_horizon_days) + 1);
        let busy = self
            .busy_slots(clinician, from - Duration::days(1), horizon)
            .await?;
        Ok(next_free_slots(
            &busy,
            hours,
            settings.offset_at(from),
            from,
            length,
            settings.free_slots_offered,
            settings.free_slot_horizon_days,
        ))
    }

    /// Slots held by the clinician's active appointments starting in `[from, to)`.
    pub(super) async fn busy_slots(
        &self,
        clinician: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TimeSlot>, ServiceError> {
        let filter = AppointmentFilter {
            clinician: Some(clinician),
            statuses: AppointmentStatus::ALL
                .iter()
                .copied()
                .filter(|s| is_active(*s))
                .collect(),
            from: Some(from),
            to: Some(to),
            ..Default::default()
        };
        store::appointments(self.store().conn(), &filter, LIST_LIMIT)
            .await?
            .iter()
            .map(slot_of)
            .collect()
    }

    /// Keeps the `appointment` care-team membership of every clinician of `patient` in line
    /// with their appointments: present while one puts them on the team, absent otherwise.
    pub(super) async fn refresh_care_team(
        &self,
        conn: &impl carevault_store::Conn,
        patient: PatientId,
    ) -> Result<(), ServiceError> {
        let members = care_team::members(conn, patient).await?;
        for member in members.iter().filter(|m| m.source == CARE_TEAM_SOURCE) {
            if !store::has_appointment_with(conn, member.user_id, patient, &care_team_statuses())
                .await?
            {
                care_team::remove(conn, patient, member.user_id, CARE_TEAM_SOURCE).await?;
            }
        }
        Ok(())
    }

    /// Moves a scheduled appointment to another slot (and possibly another clinician).
    pub async fn reschedule_appointment(
        &self,
        actor: &Actor,
        id: AppointmentId,
        input: SlotInput,
        seen_updated_at: Option<DateTime<Utc>>,
    ) -> Result<AppointmentView, ServiceError> {
        let row = self.load_appointment(actor, id).await?;
        if let Some(seen) = seen_updated_at
            && to_micros(seen) != to_micros(row.updated_at)
        {
            return Err(changed_meanwhile());
        }
        let status = row.status;
        if status != AppointmentStatus::Scheduled {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: format!("only a scheduled appointment can be moved; this one is {status}"),
            });
        }
        self.move_appointment(actor, row, input, false).await
    }

    pub(super) async fn move_appointment(
        &self,
        actor: &Actor,
        row: AppointmentRow,
        input: SlotInput,
        accepting: bool,
    ) -> Result<AppointmentView, ServiceError> {
        let mut errors = ValidationErrors::new();
        let scope = self.manage_scope(actor).await?;
        let clinician: Option<UserId> = match given(input.clinician_id.as_ref()) {
            Some(raw) => parse_id(&mut errors, "clinician_id", raw),
            None => match row.clinician_id {
                Some(id) => Some(id),
                // A doctor accepting a request for their department takes it themselves.
                None if !scope.everything => actor.user_id(),
                None => {
                    errors.push(
                        "clinician_id",
                        "is required: the request names no clinician",
                    );
                    None
                }
            },
        };
        if !scope.manages(row.clinician_id, row.department_id)
            || clinician.is_some_and(|c| !scope.manages_clinician(c))
        {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    Some(row.id.to_string()),
                    "requires scheduling rights for this clinician",
                )
                .await);
        }
        // The department stays unless the appointment moves to another named clinician (a
        // request for a department keeps it whoever takes it).
        let keeps_department = row.clinician_id.is_none() || clinician == row.clinician_id;
        let target = self
            .booking_target(
                &mut errors,
                Some(row.patient_id),
                clinician,
                keeps_department.then_some(row.department_id),
            )
            .await?;
        let minutes = target.as_ref().map_or(30, |t| t.slot_minutes);
        let slot = self.parse_slot(
            &mut errors,
            &input.start,
            input.end.as_deref(),
            input.duration_minutes.as_deref(),
            minutes,
        );
        errors.into_result()?;
        let (Some(target), Some(slot)) = (target, slot) else {
            return Err(ValidationErrors::single("start", "is required").into());
        };
        self.check_working_hours(&target.hours, &slot)?;
        let read_at = row.updated_at;
        let mut updated = row.clone();
        updated.clinician_id = Some(target.clinician);
        updated.department_id = target.department;
        updated.start_at = slot.start();
        updated.end_at = slot.end();
        updated.status = AppointmentStatus::Scheduled;
        updated.updated_at = version_after(read_at, self.now());
        let mut event = self
            .audit_event(
                actor,
                if accepting {
                    AuditAction::StatusChanged
                } else {
                    AuditAction::Update
                },
                ResourceType::Appointment,
            )
            .resource_id(&updated.id)
            .patient(pseudonym_of(target.patient.pseudonym_number));
        event.reason = Some(if accepting {
            "requested → scheduled (request accepted)".into()
        } else {
            "moved to another slot".into()
        });
        self.write_with_claims(actor, &target, slot, &updated, Some(read_at), event)
            .await?;
        self.get_appointment(actor, row.id).await
    }
}

/// Who, for whom and where a booking is, validated.
struct BookingTarget {
    patient: PatientRow,
    clinician: UserId,
    department: DepartmentId,
    slot_minutes: i64,
    hours: WeeklyHours,
}

/// A booking's slot claim collided with another appointment's (its transaction stops and
/// is rolled back; the collision is then read).
struct SlotCollision;

pub(super) fn changed_meanwhile() -> ServiceError {
    ServiceError::Conflict {
        field: None,
        message: "the appointment was changed by someone else meanwhile: reload it and try again"
            .into(),
    }
}
