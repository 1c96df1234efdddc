//! Patient pages: the list with its search box, registration (with the duplicate warning and
//! "Register anyway"), the patient page with its tabs and care team, editing, the patient's
//! own record, the administrator's encryption view and the research export.
//!
//! The service applies the masking policy before a record leaves it: a field it did not send
//! (the outer `None` of [`PatientDetails`]) is not rendered at all, not blanked. Whether the
//! actor may see or change something is the service's decision; these handlers parse the
//! form, call one use case and render what comes back. Which inputs a form shows, and which
//! links a page offers, follow the actor's role and the view the service chose: presentation
//! only, like the navigation menu.

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::masking::{PatientField, Visibility, visibility};
use carevault_core::patient::{BloodGroup, Sex};
use carevault_core::{Action, PatientId, Role, UserId, ValidationErrors};
use carevault_service::ServiceError;
use carevault_service::patients::{
    Change, EmergencyContactInput, EncryptionView, PatientDetails, PatientInput, PatientQuery,
    PatientSort, Registration,
};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::query_params;
use crate::pages::banner::with_banner;
use crate::pages::{Layout, PageRequest, notice, render};

mod admin;
mod care_team;
mod form;
mod list;
mod register;

pub use admin::*;
pub use care_team::*;
pub use form::*;
pub use list::*;
pub use register::*;

/// The file name browsers save the research export as.
pub const RESEARCH_EXPORT_FILE_NAME: &str = "research-export.csv";

fn parse_patient_id(raw: &str) -> Result<PatientId, PageError> {
    raw.parse()
        .map_err(|_| PageError::Status(StatusCode::NOT_FOUND, Some("No such patient.".into())))
}

fn patient_href(id: PatientId) -> String {
    format!("/patients/{id}")
}

/// Whether the role registers patients and manages care teams (the service decides; this
/// only chooses which links and forms to offer).
fn manages_registration(role: Option<Role>) -> bool {
    role.is_some_and(|r| carevault_core::policy::grant(r, Action::RegisterPatients).is_possible())
}

#[cfg(test)]
mod tests {
    use super::*;
    use carevault_core::masking::PatientView;
    use carevault_service::patients::editable_fields;

    #[test]
    fn an_emptied_input_clears_and_a_missing_one_keeps() {
        let form = PatientForm {
            phone: Some("  ".into()),
            email: Some("a@example.org".into()),
            ..PatientForm::default()
        };
        let input = form.to_input();
        assert_eq!(input.phone, Change::Clear);
        assert_eq!(input.email, Change::Set("a@example.org".into()));
        assert_eq!(input.address, Change::Keep);
        assert_eq!(input.emergency_contact, Change::Keep);
        assert_eq!(
            input.changed_fields(),
            [PatientField::Phone, PatientField::Email]
        );
    }

    #[test]
    fn the_emergency_contact_is_one_change() {
        let empty = PatientForm {
            emergency_contact_name: Some(String::new()),
            emergency_contact_relation: Some(String::new()),
            emergency_contact_phone: Some(String::new()),
            ..PatientForm::default()
        };
        assert_eq!(empty.to_input().emergency_contact, Change::Clear);
        let partial = PatientForm {
            emergency_contact_name: Some("Ann".into()),
            ..empty
        };
        assert!(matches!(
            partial.to_input().emergency_contact,
            Change::Set(EmergencyContactInput { ref name, .. }) if name == "Ann"
        ));
    }

    #[test]
    fn forms_offer_only_what_the_role_may_change() {
        let names = |role, view| -> Vec<&str> {
            form_sections(
                &editable_fields(Some(role), view),
                &PatientForm::default(),
                &ValidationErrors::new(),
                true,
            )
            .iter()
            .flat_map(|s| s.inputs.iter().map(|i| i.name))
            .collect()
        };
        let reception = names(Role::Receptionist, PatientView::Registration);
        assert!(reception.contains(&"given_name") && !reception.contains(&"allergies"));
        // Allergies are the allergy list's, not an input of the edit form.
        assert_eq!(
            names(Role::Doctor, PatientView::Full),
            ["blood_group", "primary_diagnosis"]
        );
        assert!(names(Role::Doctor, PatientView::Masked).is_empty());
        assert!(names(Role::Nurse, PatientView::Full).is_empty());
        assert_eq!(
            names(Role::Patient, PatientView::Own),
            [
                "address",
                "phone",
                "email",
                "preferred_language",
                "emergency_contact_name",
                "emergency_contact_relation",
                "emergency_contact_phone"
            ]
        );
    }

    #[test]
    fn list_links_keep_the_search() {
        assert_eq!(list_href("", PatientSort::Relevance, 1), "/patients");
        assert_eq!(
            list_href("Smith & Co", PatientSort::Oldest, 3),
            "/patients?q=Smith+%26+Co&sort=oldest&page=3"
        );
    }
}
