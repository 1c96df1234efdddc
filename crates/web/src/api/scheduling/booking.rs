//! Booking: creating an appointment or a request, availability, rescheduling, accepting,
//! and the slot-taken answer.

use super::*;

/// A time range, RFC 3339 in the clinic's time zone; `end` is exclusive.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotRecord {
    #[schema(example = "2026-03-02T10:00:00+00:00")]
    start: String,
    #[schema(example = "2026-03-02T10:15:00+00:00")]
    end: String,
}

/// A clinician's day.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityRecord {
    #[schema(value_type = String, format = Uuid)]
    clinician_id: String,
    /// `YYYY-MM-DD`, a day in the clinic's time zone.
    #[schema(example = "2026-03-02", format = Date)]
    date: String,
    /// The length of the free slots offered: the clinician's department's default.
    slot_minutes: u32,
    /// Working hours of the day.
    working: Vec<SlotRecord>,
    /// Held by active appointments (empty for patients).
    busy: Vec<SlotRecord>,
    /// Free slots of `slot_minutes` within the working hours, from now on.
    free: Vec<SlotRecord>,
}

impl AvailabilityRecord {
    pub(super) fn new<Z: TimeZone>(a: Availability, zone: &Z) -> Self
    where
        Z::Offset: std::fmt::Display,
    {
        let slots = |slots: Vec<TimeSlot>| {
            slots
                .into_iter()
                .map(|s| SlotRecord {
                    start: local_time(s.start(), zone),
                    end: local_time(s.end(), zone),
                })
                .collect()
        };
        Self {
            clinician_id: a.clinician.id.to_string(),
            date: a.date.to_string(),
            slot_minutes: a.slot_minutes,
            working: slots(a.working),
            busy: slots(a.busy),
            free: slots(a.free),
        }
    }
}

/// The 409 answer of a booking or a move: an RFC 9457 problem. For a double booking
/// (`urn:carevault:problem:slot-taken`) it carries the appointments the slot collides
/// with (as the caller may see them) and the clinician's next free slots; any other 409
/// (`urn:carevault:problem:conflict`: not allowed from the current status, changed
/// meanwhile) is a plain problem without them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotTakenProblem {
    /// `urn:carevault:problem:slot-taken` or `urn:carevault:problem:conflict`.
    #[serde(rename = "type")]
    kind: String,
    /// `The slot is taken`.
    title: String,
    status: u16,
    /// Whose time is taken: the clinician's or the patient's.
    detail: String,
    request_id: String,
    /// `slot-taken` only: the appointments the slot collides with.
    conflicts: Option<Vec<SlotConflictRecord>>,
    /// `slot-taken` only: the clinician's next free slots of the same length.
    next_free_slots: Option<Vec<SlotRecord>>,
}

/// An appointment a booking collided with.
#[derive(Serialize, ToSchema)]
pub struct SlotConflictRecord {
    #[schema(value_type = String, format = Uuid)]
    appointment_id: String,
    start: String,
    end: String,
    /// `clinician` or `patient`: whose time is already taken.
    taken_for: String,
    clinician: Option<String>,
    /// The name or pseudonym, as the caller may see it; `another patient` if not at all.
    patient: String,
}

impl std::fmt::Debug for SlotConflictRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `patient` may be a name: never in Debug output.
        f.debug_struct("SlotConflictRecord")
            .field("appointment_id", &self.appointment_id)
            .finish_non_exhaustive()
    }
}

/// A new appointment.
///
/// Staff (administrators, receptionists, doctors for their own schedule) book: `patient_id`,
/// `clinician_id`, `start` and `reason` are required; the length is `end`, or
/// `duration_minutes`, or the department's default. A patient *requests*: `start` is the
/// preferred start, `department_id` or `clinician_id` (a doctor) says with whom,
/// `preferred_times` lists other times that would suit; `patient_id`, if given, must be
/// their own record; `end`, `duration_minutes` and `notes` are not theirs to set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAppointmentRequest {
    #[serde(default)]
    #[schema(format = Uuid)]
    patient_id: Option<String>,
    #[serde(default)]
    #[schema(format = Uuid)]
    clinician_id: Option<String>,
    /// Default: the clinician's department.
    #[serde(default)]
    #[schema(format = Uuid)]
    department_id: Option<String>,
    /// RFC 3339 with an offset, on a 5-minute boundary, not in the past.
    #[schema(example = "2026-03-02T10:00:00+00:00")]
    start: String,
    /// RFC 3339 with an offset; exclusive.
    #[serde(default)]
    #[schema(example = "2026-03-02T10:30:00+00:00")]
    end: Option<String>,
    /// 5–720, a multiple of 5.
    #[serde(default, deserialize_with = "minutes")]
    #[schema(value_type = Option<i64>, example = 30, minimum = 5, maximum = 720, multiple_of = 5)]
    duration_minutes: Option<String>,
    /// `consultation` (default), `follow_up` or `procedure`.
    #[serde(default, rename = "type")]
    #[schema(example = "consultation")]
    kind: Option<String>,
    #[schema(example = "Persistent cough")]
    reason: String,
    #[serde(default)]
    notes: Option<String>,
    /// Requests only.
    #[serde(default)]
    preferred_times: Option<String>,
}

impl std::fmt::Debug for CreateAppointmentRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CreateAppointmentRequest { .. }")
    }
}

/// A field that is not the caller's to send.
fn not_accepted(errors: &mut ValidationErrors, field: &str, given: bool, why: &str) {
    if given {
        errors.push(field, why);
    }
}

impl CreateAppointmentRequest {
    fn into_booking(self) -> Result<BookingInput, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        not_accepted(
            &mut errors,
            "preferred_times",
            self.preferred_times.is_some(),
            "is for patients' requests only",
        );
        errors.into_result()?;
        Ok(BookingInput {
            patient_id: self.patient_id.unwrap_or_default(),
            clinician_id: self.clinician_id.unwrap_or_default(),
            department_id: self.department_id,
            start: self.start,
            end: self.end,
            duration_minutes: self.duration_minutes,
            kind: self.kind,
            reason: self.reason,
            notes: self.notes,
        })
    }

    fn into_request(self) -> Result<RequestInput, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let why = "is chosen by the hospital when it accepts the request";
        not_accepted(&mut errors, "end", self.end.is_some(), why);
        not_accepted(
            &mut errors,
            "duration_minutes",
            self.duration_minutes.is_some(),
            why,
        );
        not_accepted(
            &mut errors,
            "notes",
            self.notes.is_some(),
            "are written by staff",
        );
        errors.into_result()?;
        Ok(RequestInput {
            patient_id: self.patient_id,
            department_id: self.department_id,
            clinician_id: self.clinician_id,
            start: self.start,
            preferred_times: self.preferred_times,
            kind: self.kind,
            reason: self.reason,
        })
    }
}

/// A new slot: for `PATCH` (reschedule) and for accepting a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotRequest {
    /// Another clinician (default: keep the appointment's; required when accepting a
    /// request that names none).
    #[serde(default)]
    #[schema(format = Uuid)]
    clinician_id: Option<String>,
    /// RFC 3339 with an offset.
    #[schema(example = "2026-03-03T10:00:00+00:00")]
    start: String,
    /// RFC 3339 with an offset; exclusive.
    #[serde(default)]
    end: Option<String>,
    /// 5–720, a multiple of 5.
    #[serde(default, deserialize_with = "minutes")]
    #[schema(value_type = Option<i64>, example = 30, minimum = 5, maximum = 720, multiple_of = 5)]
    pub(super) duration_minutes: Option<String>,
}

impl From<SlotRequest> for SlotInput {
    fn from(s: SlotRequest) -> Self {
        Self {
            clinician_id: s.clinician_id,
            start: s.start,
            end: s.end,
            duration_minutes: s.duration_minutes,
        }
    }
}

/// Whose day, and which.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityParams {
    /// The clinician's user id.
    #[param(format = Uuid)]
    clinician: String,
    /// `YYYY-MM-DD`, a day in the clinic's time zone.
    #[param(format = Date)]
    date: String,
}

/// Books an appointment, or (for a patient) requests one.
///
/// Administrators and receptionists book for any clinician, doctors into their own
/// schedule; nurses, pharmacists and auditors may not. No two active appointments of the
/// same clinician or the same patient may overlap; a collision is 409 with the colliding
/// appointments and the clinician's next free slots. A patient's request holds no slot: it
/// is created `requested` until reception or the doctor accepts it.
#[utoipa::path(
    post, path = "/api/v1/appointments", tag = "scheduling",
    request_body = CreateAppointmentRequest,
    responses(
        (status = 201, description = "Booked (`scheduled`) or requested (`requested`); `Location` is its URL", body = AppointmentRecord,
            headers(("location" = String, description = "/api/v1/appointments/{id}"))),
        (status = 403, description = "The role may not book, a doctor booking for another clinician, or a patient naming another patient's record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slot is taken for the clinician or the patient", body = SlotTakenProblem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input (unknown clinician or patient, a time without offset, in the past, outside working hours, end before start, too long); `errors[].field` names each bad field", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_appointment(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<CreateAppointmentRequest>,
) -> Result<Response, ApiError> {
    // Which use case: a patient's booking is a request; whether either is allowed is the
    // service's decision.
    let created = if actor.role() == Some(Role::Patient) {
        let input = body.into_request().map_err(|e| validation(&e))?;
        state.services.request_appointment(&actor, input).await?
    } else {
        let input = body.into_booking().map_err(|e| validation(&e))?;
        state.services.book_appointment(&actor, input).await?
    };
    Ok(with_etag(&state, created, StatusCode::CREATED))
}

/// A clinician's day: working hours, busy and free slots.
///
/// Staff who see appointments, and patients (who get no `busy` slots).
#[utoipa::path(
    get, path = "/api/v1/appointments/availability", tag = "scheduling",
    params(AvailabilityParams),
    responses(
        (status = 200, description = "The day", body = AvailabilityRecord),
        (status = 403, description = "The role sees no appointments", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such clinician", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is missing or invalid; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn availability(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<AvailabilityParams>, ApiError>,
) -> Result<Json<AvailabilityRecord>, ApiError> {
    let ApiQuery(params) = params?;
    let mut errors = ValidationErrors::new();
    let clinician: Option<UserId> = match params.clinician.trim() {
        "" => {
            errors.push("clinician", "is required");
            None
        }
        raw => optional_id(&mut errors, "clinician", Some(raw)),
    };
    let date = match params.date.trim() {
        "" => {
            errors.push("date", "is required");
            None
        }
        raw => optional_date(&mut errors, "date", Some(raw)),
    };
    errors.into_result().map_err(|e| validation(&e))?;
    let (Some(clinician), Some(date)) = (clinician, date) else {
        return Err(validation(&ValidationErrors::single(
            "clinician",
            "is required",
        )));
    };
    let day = state.services.availability(&actor, clinician, date).await?;
    Ok(Json(AvailabilityRecord::new(
        day,
        &state.services.clinic_time_zone(),
    )))
}

/// Moves a scheduled appointment to another slot (and possibly another clinician).
///
/// Staff who may book for the clinician (both the old and the new one). Send `If-Match`
/// with the `ETag` of the copy the move is based on to be refused (412) instead of moving
/// an appointment someone else changed since.
#[utoipa::path(
    patch, path = "/api/v1/appointments/{id}", tag = "scheduling",
    params(("id" = String, Path, format = Uuid, description = "The appointment's id")),
    request_body = SlotRequest,
    responses(
        (status = 200, description = "The moved appointment (with its new ETag)", body = AppointmentRecord),
        (status = 403, description = "The caller may not move it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not scheduled, the new slot is taken (`slot-taken`), or it changed meanwhile", body = SlotTakenProblem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names a version that is no longer the stored one; nothing was written", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reschedule(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    if_match: IfMatch,
    body: Result<ApiJson<SlotRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id: AppointmentId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let seen = if_match
        .version("If-Match must be an ETag from this appointment's GET or PATCH response.")?;
    match state
        .services
        .reschedule_appointment(&actor, id, body.into(), seen)
        .await
    {
        Ok(view) => Ok(with_etag(&state, view, StatusCode::OK)),
        // "Changed meanwhile" (the one conflict that names no field) against the version
        // the client named: RFC 9110's answer is 412.
        Err(ServiceError::Conflict {
            field: None,
            message,
        }) if seen.is_some() => Err(precondition_failed(message)),
        Err(other) => Err(other.into()),
    }
}

/// Accepts a patient's request into a free slot.
///
/// Reception, administrators, or the requested doctor. The slot is checked like a
/// booking's.
#[utoipa::path(
    post, path = "/api/v1/appointments/{id}/accept", tag = "scheduling",
    params(("id" = String, Path, format = Uuid, description = "The appointment's id")),
    request_body = SlotRequest,
    responses(
        (status = 200, description = "The appointment, now scheduled (with its new ETag)", body = AppointmentRecord),
        (status = 403, description = "The caller may not accept it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not a request any more, or the slot is taken (`slot-taken`)", body = SlotTakenProblem, content_type = "application/problem+json"),
    )
)]
pub async fn accept(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<SlotRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id: AppointmentId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .accept_request(&actor, id, body.into())
        .await?;
    Ok(with_etag(&state, view, StatusCode::OK))
}
