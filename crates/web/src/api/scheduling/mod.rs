//! `/api/v1/departments`, `/api/v1/staff`, `/api/v1/appointments` and
//! `/api/v1/me/appointments`: scheduling's JSON face. Handlers parse, call one
//! `carevault_service::scheduling` use case with the actor, and render.
//!
//! - **Times** are RFC 3339 with an offset, both ways: a start or end sent without one is a
//!   422 naming the field, and every time sent back is in the clinic's time zone (a double
//!   booking's 409 too, rendered by `crate::problem`).
//! - **What the caller may see**: an appointment is rendered from the
//!   [`AppointmentView`] the service produced for the actor. A field the caller's view hides
//!   (the reason, notes, preferred times, status reason) is *absent*, one shown but empty is
//!   `null`, exactly as in the patient API. `patient` is the name or the pseudonym
//!   (`ANON_…`), as the service chose.
//! - **Bad ids and dates** in the path or the query are 422 problems naming the field (the
//!   path's id is the field `id`), never a 404 or a 500: a malformed id names nothing, and
//!   saying so reveals nothing.
//! - **Versions**: `GET /api/v1/appointments/{id}` answers an `ETag` (the appointment's
//!   `updated_at` in microseconds); a `PATCH` with `If-Match` naming an older one answers
//!   412, like the patient API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_core::Action;
use carevault_core::appointment::{AppointmentStatus, TimeSlot};
use carevault_core::{AppointmentId, DepartmentId, Role, UserId, ValidationErrors};
use carevault_service::ServiceError;
use carevault_service::scheduling::{
    AppointmentQuery, AppointmentView, Availability, BookingInput, Department, DepartmentInput,
    RequestInput, SlotInput, StaffMember, StaffProfileInput,
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::AppState;
use crate::api::versions::{IfMatch, precondition_failed, versioned};
use crate::api::{path_id, validation};
use crate::extract::{ApiJson, ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

mod appointments;
mod booking;
mod departments;
mod staff;
mod status;

pub use appointments::*;
pub use booking::*;
pub use departments::*;
pub use staff::*;
pub use status::*;

/// Adds the scheduling API routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::UseAccount, routes!(departments))
        .api(Action::ManageDepartments, routes!(create_department))
        .api(Action::UseAccount, routes!(department))
        .api(Action::ManageDepartments, routes!(update_department))
        .api(Action::SeeStaff, routes!(staff))
        .api(Action::SeeStaff, routes!(staff_member))
        .api(Action::ManageDepartments, routes!(update_staff_member))
        .api(Action::Appointments, routes!(appointments))
        .api(Action::Appointments, routes!(create_appointment))
        // A literal segment: axum (matchit) prefers it to `{id}` below.
        .api(Action::UseAccount, routes!(availability))
        .api(Action::Appointments, routes!(appointment))
        .api(Action::Appointments, routes!(reschedule))
        .api(Action::Appointments, routes!(change_status))
        .api(Action::Appointments, routes!(accept))
        .api(Action::UsePortal, routes!(my_appointments))
}

// ---------------------------------------------------------------------------------------
// Response bodies
// ---------------------------------------------------------------------------------------

/// `at` as RFC 3339 in `zone` (the clinic's time zone), with its offset.
fn local_time<Z: TimeZone>(at: DateTime<Utc>, zone: &Z) -> String
where
    Z::Offset: std::fmt::Display,
{
    at.with_timezone(zone).to_rfc3339()
}

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

fn record(state: &AppState, view: AppointmentView) -> AppointmentRecord {
    AppointmentRecord::new(view, &state.services.clinic_time_zone())
}

/// The appointment with its version as `ETag`.
fn with_etag(state: &AppState, view: AppointmentView, status: StatusCode) -> Response {
    let (updated_at, location) = (view.updated_at, format!("/api/v1/appointments/{}", view.id));
    versioned(
        (status, Json(record(state, view))).into_response(),
        Some(updated_at),
        Some(&location),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use carevault_core::PatientId;
    use carevault_core::appointment::AppointmentType;
    use carevault_core::masking::PatientView;

    use super::*;

    fn view(shown: bool) -> AppointmentView {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        AppointmentView {
            id: AppointmentId::generate(),
            patient_id: PatientId::generate(),
            patient_label: "ANON_1234".into(),
            patient_view: PatientView::Pseudonymous,
            clinician_id: Some(UserId::generate()),
            clinician_name: Some("Dr. Sarah Smith".into()),
            department_id: DepartmentId::generate(),
            department_name: "General Medicine".into(),
            start: at,
            end: at + chrono::Duration::minutes(15),
            kind: AppointmentType::Consultation,
            status: AppointmentStatus::Scheduled,
            reason: shown.then(|| "cough".to_owned()),
            notes: shown.then_some(None),
            preferred_times: shown.then_some(None),
            status_reason: shown.then_some(None),
            next_statuses: vec![AppointmentStatus::CheckedIn],
            may_reschedule: true,
            created_at: at,
            updated_at: at,
            triage: None,
        }
    }

    fn keys(view: AppointmentView) -> (BTreeSet<String>, serde_json::Value) {
        let zone: chrono::FixedOffset = chrono::FixedOffset::east_opt(3600).unwrap();
        let json = serde_json::to_value(AppointmentRecord::new(view, &zone)).unwrap();
        let keys = json.as_object().unwrap().keys().cloned().collect();
        (keys, json)
    }

    #[test]
    fn hidden_fields_are_absent_and_empty_ones_null() {
        let (hidden, _) = keys(view(false));
        let (shown, json) = keys(view(true));
        let difference: BTreeSet<_> = shown.difference(&hidden).cloned().collect();
        assert_eq!(
            difference,
            ["notes", "preferred_times", "reason", "status_reason"]
                .map(str::to_owned)
                .into()
        );
        assert!(json["notes"].is_null());
        assert_eq!(json["type"], "consultation");
        assert_eq!(json["start"], "2026-03-02T11:00:00+01:00", "clinic time");
    }

    fn query(raw: &str) -> Result<AppointmentQuery, String> {
        crate::extract::query_params::<AppointmentListParams>(raw)
            .map_err(|e| e.0[0].field.clone())
            .and_then(|p| p.into_query().map_err(|errors| errors.0[0].field.clone()))
    }

    #[test]
    fn list_parameters_are_checked_and_named() {
        let q = query("date=2026-03-02&status=scheduled,checked-in").unwrap();
        assert_eq!(q.from, NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(q.to, q.from);
        assert_eq!(
            q.statuses,
            [AppointmentStatus::Scheduled, AppointmentStatus::CheckedIn]
        );
        for (raw, field) in [
            ("clinician=x", "clinician"),
            ("patient=1", "patient"),
            ("department=%20zz", "department"),
            ("date=2026-02-30", "date"),
            ("from=yesterday", "from"),
            ("from=2026-03-03&to=2026-03-02", "to"),
            ("date=2026-03-02&from=2026-03-02", "date"),
            ("status=done", "status"),
            ("colour=blue", "colour"),
        ] {
            assert_eq!(query(raw).unwrap_err(), field, "{raw}");
        }
    }

    #[test]
    fn durations_arrive_as_numbers_or_text() {
        let body: SlotRequest =
            serde_json::from_str(r#"{"start": "x", "duration_minutes": 30}"#).unwrap();
        assert_eq!(body.duration_minutes.as_deref(), Some("30"));
        let body: SlotRequest =
            serde_json::from_str(r#"{"start": "x", "duration_minutes": "45"}"#).unwrap();
        assert_eq!(body.duration_minutes.as_deref(), Some("45"));
        let body: SlotRequest =
            serde_json::from_str(r#"{"start": "x", "duration_minutes": null}"#).unwrap();
        assert_eq!(body.duration_minutes, None);
        let wrong =
            serde_json::from_str::<SlotRequest>(r#"{"start": "x", "duration_minutes": 1.5}"#)
                .unwrap_err();
        assert!(
            wrong.to_string().contains("a whole number of minutes"),
            "{wrong}"
        );
        assert!(serde_json::from_str::<SlotRequest>(r#"{"start": "x", "end": 3}"#).is_err());
    }
}
