//! The patient banner on every patient-scoped page: whose record this is and what they are
//! allergic to, rendered by `templates/patient_banner.html` from the service's
//! [`PatientBanner`] (already masked for the actor). A page shows it by putting it into its
//! [`Layout`](super::Layout) (`Layout::with_banner`); `base.html` places it above the page
//! heading, and it stays in view while the page scrolls.

use carevault_service::chart::{BannerAlert, BannerAllergies, PatientBanner};

/// The banner as the template prints it.
#[derive(Debug, Clone)]
pub struct BannerView {
    pub patient_id: String,
    /// The chart's address.
    pub href: String,
    pub name: String,
    pub pseudonymised: bool,
    pub mrn: Option<String>,
    /// "1978-04-12", "1978", "45–49".
    pub date_of_birth: Option<String>,
    /// What the date of birth is: "Born", "Born in", "Age band".
    pub date_of_birth_label: &'static str,
    pub age: Option<String>,
    pub sex: Option<String>,
    /// `recorded`, `none-known`, `not-recorded` or `not-shown` (the `data-allergies`
    /// attribute).
    pub allergy_state: &'static str,
    pub allergies: Vec<BannerAllergyView>,
    pub alerts: Vec<BannerAlertView>,
}

/// One allergy in the banner.
#[derive(Debug, Clone)]
pub struct BannerAllergyView {
    pub substance: String,
    /// "anaphylaxis, severe", "severe".
    pub detail: String,
    pub severe: bool,
}

/// One alert in the banner.
#[derive(Debug, Clone)]
pub struct BannerAlertView {
    /// `emergency-access`, `legal-hold`, `masked`, `status` (the `data-alert` attribute).
    pub kind: &'static str,
    pub text: String,
}

impl From<&PatientBanner> for BannerView {
    fn from(b: &PatientBanner) -> Self {
        let (allergy_state, allergies) = match &b.allergies {
            BannerAllergies::NotShown => ("not-shown", Vec::new()),
            BannerAllergies::NotRecorded => ("not-recorded", Vec::new()),
            BannerAllergies::NoKnownAllergies => ("none-known", Vec::new()),
            BannerAllergies::Recorded(list) => (
                "recorded",
                list.iter()
                    .map(|a| {
                        let mut detail: Vec<&str> = Vec::new();
                        if let Some(r) = a.reaction.as_deref().filter(|r| !r.is_empty()) {
                            detail.push(r);
                        }
                        if a.severity != "unknown" {
                            detail.push(&a.severity);
                        }
                        BannerAllergyView {
                            substance: a.substance.clone(),
                            detail: detail.join(", "),
                            severe: a.severity == "severe",
                        }
                    })
                    .collect(),
            ),
        };
        let date_of_birth_label = match b.date_of_birth.as_deref() {
            Some(d) if d.len() == 10 => "Born",
            Some(d) if d.len() == 4 => "Born in",
            _ => "Age band",
        };
        BannerView {
            patient_id: b.id.to_string(),
            href: format!("/patients/{}", b.id),
            name: b.name.clone(),
            pseudonymised: b.pseudonymised,
            mrn: b.mrn.clone(),
            date_of_birth: b.date_of_birth.clone(),
            date_of_birth_label,
            age: b.age_years.map(|y| format!("{y} y")),
            sex: b.sex.clone(),
            allergy_state,
            allergies,
            alerts: b.alerts.iter().map(alert_view).collect(),
        }
    }
}

fn alert_view(alert: &BannerAlert) -> BannerAlertView {
    match alert {
        BannerAlert::EmergencyAccess { until } => BannerAlertView {
            kind: "emergency-access",
            text: format!(
                "Emergency access until {} — every view is recorded and will be reviewed",
                until.format("%H:%M UTC")
            ),
        },
        BannerAlert::LegalHold => BannerAlertView {
            kind: "legal-hold",
            text: "Legal hold: this record must be kept".into(),
        },
        BannerAlert::Masked => BannerAlertView {
            kind: "masked",
            text: "Not on your care team: identity masked, clinical details hidden".into(),
        },
        BannerAlert::Status(status) => BannerAlertView {
            kind: "status",
            text: format!("Record status: {status}"),
        },
    }
}

/// `layout` with the banner of patient `id`, for a page whose own use case does not carry
/// it (`Services::patient_banner`: authorised and recorded as a read of its own). Call it
/// after the page's use case, so that a refused page never reads the banner.
pub(crate) async fn with_banner(
    state: &crate::AppState,
    actor: &carevault_service::Actor,
    layout: super::Layout,
    id: carevault_core::PatientId,
) -> Result<super::Layout, crate::errors::PageError> {
    let banner = state.services.patient_banner(actor, id).await?;
    Ok(layout.with_banner(&banner))
}

/// `layout` with the banner of the patient's own record, on a patient's portal page (no
/// banner when the account is not linked to a record).
pub(crate) async fn with_own_banner(
    state: &crate::AppState,
    actor: &carevault_service::Actor,
    layout: super::Layout,
) -> Result<super::Layout, crate::errors::PageError> {
    Ok(match state.services.my_banner(actor).await? {
        Some(banner) => layout.with_banner(&banner),
        None => layout,
    })
}
