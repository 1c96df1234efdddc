//! The patient chart and the patient banner.
//!
//! **The banner** ([`PatientBanner`]) says whose record a page is about: the name as the
//! actor may see it, MRN, age and date of birth, sex, the allergies ("No known allergies"
//! and "Allergies not recorded" are different statements) and the alerts in force (the
//! actor's own emergency access, a legal hold, a record the actor sees masked). Every
//! patient-scoped page renders it from this one value, masked like everything else: its
//! allergy line is present exactly when the actor's view includes the allergies
//! (`core::chart::chart_sections`).
//!
//! **The chart** ([`PatientChart`]) is the clinician's one screen of a patient: banner,
//! problems, allergies, active medications, vitals with their trend, recent encounters,
//! appointments, documents, bills and care team — each section only if the actor's view
//! includes it. It is one use case: the patient is loaded and authorised once, the data key
//! unwrapped once, and the read recorded once, naming the sections returned.

use carevault_core::Action;
use carevault_core::Decision;
use carevault_core::Grant;
use carevault_core::policy::decide;
use carevault_core::policy::grant;
use std::collections::HashMap;

use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::chart::{ChartSection, chart_sections};
use carevault_core::clinical::{EncounterStatus, EncounterType, PrescriptionStatus};
use carevault_core::masking::{PatientView, Relation};
use carevault_core::time::to_micros;
use carevault_core::{PatientId, Role, UserId};
use carevault_crypto::data_key::DataKey;
use carevault_store::chart as store;
use carevault_store::patients::PatientRow;
use chrono::{DateTime, Utc};

use crate::Services;
use crate::actor::Actor;
use crate::allergies::{AllergyList, AllergyStatement};
use crate::audit_trail::pseudonym_of;
use crate::billing::InvoiceSummary;
use crate::documents::DocumentMeta;
use crate::encounters::VitalsView;
use crate::error::ServiceError;
use crate::patients::{CareTeamMember, PatientData, PatientDetails};
use crate::prescriptions::PrescriptionView;
use crate::problems::ProblemView;
use crate::sealing::Place;

/// How many of each list the chart shows (the full lists are one click away).
const RECENT_ENCOUNTERS: u64 = 8;
const RECENT_NURSING_NOTES: u64 = 5;
const UPCOMING_APPOINTMENTS: u64 = 5;
const RECENT_APPOINTMENTS: u64 = 5;
const RECENT_DOCUMENTS: u64 = 6;
const RECENT_BILLS: u64 = 5;
/// Vitals readings in the trend.
pub const VITALS_TREND: u64 = 10;
/// Active medications listed (a patient rarely has more; the rest are on the clinical
/// record page).
const ACTIVE_MEDICATIONS: u64 = 50;

// ---------------------------------------------------------------------------------------
// The banner
// ---------------------------------------------------------------------------------------

/// Whose record this is, as the actor may see it. `Debug` shows the id and view only.
#[derive(Clone, PartialEq, Eq)]
pub struct PatientBanner {
    pub id: PatientId,
    pub view: PatientView,
    /// The name in clear, or the pseudonym (`ANON_1021`).
    pub name: String,
    /// Whether `name` is the pseudonym.
    pub pseudonymised: bool,
    pub mrn: Option<String>,
    /// `YYYY-MM-DD`, or the birth year (masked), or an age band (pseudonym).
    pub date_of_birth: Option<String>,
    /// Completed years, when the date of birth is shown in clear (`47`).
    pub age_years: Option<u32>,
    pub sex: Option<String>,
    pub allergies: BannerAllergies,
    pub alerts: Vec<BannerAlert>,
}

impl std::fmt::Debug for PatientBanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientBanner")
            .field("id", &self.id)
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

/// The banner's allergy line.
#[derive(Clone, PartialEq, Eq)]
pub enum BannerAllergies {
    /// The actor's view does not include allergies.
    NotShown,
    /// Nothing recorded: nobody asked, or nobody wrote it down.
    NotRecorded,
    /// Asked: none known.
    NoKnownAllergies,
    /// The active allergies.
    Recorded(Vec<BannerAllergy>),
}

/// One active allergy as the banner shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BannerAllergy {
    pub substance: String,
    pub reaction: Option<String>,
    /// `mild`, `moderate`, `severe`, `unknown`.
    pub severity: String,
    pub free_text: bool,
}

/// Something the actor must know before acting on this record.
#[derive(Clone, PartialEq, Eq)]
pub enum BannerAlert {
    /// The actor is reading the record through their own emergency access.
    EmergencyAccess { until: DateTime<Utc> },
    /// The record is under a legal hold (it cannot be erased).
    LegalHold,
    /// The actor sees this record masked (not on the care team).
    Masked,
    /// The record is not active (`inactive`, `deceased`, …).
    Status(String),
}

impl From<&AllergyList> for BannerAllergies {
    fn from(list: &AllergyList) -> Self {
        match &list.statement {
            AllergyStatement::NotRecorded => BannerAllergies::NotRecorded,
            AllergyStatement::NoKnownAllergies { .. } => BannerAllergies::NoKnownAllergies,
            AllergyStatement::Allergies(entries) => BannerAllergies::Recorded(
                entries
                    .iter()
                    .map(|a| BannerAllergy {
                        substance: a.substance.clone(),
                        reaction: a.reaction.clone(),
                        severity: a.severity.as_str().to_owned(),
                        free_text: a.free_text,
                    })
                    .collect(),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The chart
// ---------------------------------------------------------------------------------------

/// A patient's chart as one actor may see it: a section is `Some` exactly when it is in
/// `sections`.
#[derive(Clone)]
pub struct PatientChart {
    pub banner: PatientBanner,
    /// The sections returned, in display order.
    pub sections: Vec<ChartSection>,
    pub details: Option<PatientDetails>,
    pub allergies: Option<AllergyList>,
    pub problems: Option<Vec<ProblemView>>,
    pub medications: Option<Vec<PrescriptionView>>,
    pub vitals: Option<VitalsSummary>,
    pub encounters: Option<Vec<EncounterSummary>>,
    /// The latest triages and nursing notes, newest first.
    pub nursing: Option<Vec<crate::nursing::NursingNoteView>>,
    pub appointments: Option<AppointmentsSummary>,
    pub documents: Option<Vec<DocumentMeta>>,
    pub bills: Option<Vec<InvoiceSummary>>,
    pub care_team: CareTeamSection,
    /// What the actor may do from the chart.
    pub actions: ChartActions,
}

impl std::fmt::Debug for PatientChart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientChart")
            .field("banner", &self.banner)
            .field("sections", &self.sections)
            .finish_non_exhaustive()
    }
}

/// The latest vitals and the last readings, newest first.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct VitalsSummary {
    /// Up to [`VITALS_TREND`] readings, newest first (the first is the latest).
    pub readings: Vec<VitalsView>,
}

impl VitalsSummary {
    pub fn latest(&self) -> Option<&VitalsView> {
        self.readings.first()
    }
}

/// One encounter in the chart's list.
#[derive(Clone, PartialEq, Eq)]
pub struct EncounterSummary {
    pub id: String,
    pub kind: EncounterType,
    pub status: EncounterStatus,
    pub started_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub author: String,
    /// The diagnoses in force (retracted ones left out): code (if coded) and text.
    pub diagnoses: Vec<(Option<String>, String)>,
}

/// Upcoming and recent appointments.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AppointmentsSummary {
    /// Soonest first.
    pub upcoming: Vec<AppointmentSummary>,
    /// Most recent first.
    pub recent: Vec<AppointmentSummary>,
}

/// One appointment in the chart.
#[derive(Clone, PartialEq, Eq)]
pub struct AppointmentSummary {
    pub id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: String,
    pub status: String,
    pub clinician: Option<String>,
    pub department: String,
    /// The reason for the visit (views that show it).
    pub reason: Option<String>,
}

/// The care team, or what a viewer who may not see it may know.
#[derive(Clone)]
pub enum CareTeamSection {
    Members(Vec<CareTeamMember>),
    /// Who treats a patient is itself revealing (an oncologist, a psychiatrist), so some
    /// views do not list the team; they are told how many members it has and why it is not
    /// shown — never that nobody is on it when somebody is.
    NotShown {
        members: usize,
        reason: &'static str,
    },
}

/// What the actor may do from the chart (links and buttons offered; the use cases behind
/// them decide again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChartActions {
    pub new_encounter: bool,
    pub record_allergy: bool,
    pub manage_problems: bool,
    pub nursing: bool,
    pub book_appointment: bool,
    pub edit_record: bool,
    pub manage_care_team: bool,
    pub break_glass: bool,
    pub upload_document: bool,
    pub medical_summary: bool,
    pub administer: bool,
    pub access_history: bool,
    pub consents: bool,
}

/// What a role may do from a chart of a patient it stands to in `relation`, as the policy
/// says. Presentation only: every action is authorised again by its own use case.
fn chart_actions(role: Role, relation: Relation) -> ChartActions {
    let may = |action| decide(role, action, relation) == Decision::Allow;
    // Granted to the role as a whole (not through the patient's own record).
    let staff = |action| grant(role, action) == Grant::Yes;
    ChartActions {
        new_encounter: may(Action::WriteEncounters),
        record_allergy: may(Action::WriteClinicalNotes),
        manage_problems: may(Action::WriteEncounters),
        nursing: may(Action::NursingCare),
        book_appointment: may(Action::BookAppointments),
        // A patient changes their contact details from the portal, not from the chart.
        edit_record: may(Action::EditRecord) && relation != Relation::Own,
        manage_care_team: may(Action::ManageCareTeam),
        break_glass: may(Action::BreakTheGlass) && !may(Action::SeeClinical),
        upload_document: may(Action::UploadDocuments),
        medical_summary: may(Action::SeeClinical),
        administer: may(Action::AdministerSystem),
        access_history: staff(Action::ReadAuditLog) || may(Action::UsePortal),
        consents: staff(Action::ManageConsents),
    }
}

/// Why a view does not list the care team.
fn care_team_withheld(view: PatientView) -> &'static str {
    match view {
        PatientView::Masked => {
            "You are not on this patient's care team, so its members are not shown to you."
        }
        PatientView::Dispensing => {
            "Pharmacy does not see the care team; each prescription names its prescriber."
        }
        _ => "The care team is not part of your view of this record.",
    }
}

impl Services {
    /// The banner of `row` for an actor who sees it through `view`, from data already
    /// opened by the calling use case (which has authorised the actor and records the
    /// read). `allergies`: the list, if the calling use case loaded it.
    pub(crate) async fn banner_of(
        &self,
        actor: &Actor,
        row: &PatientRow,
        data: &PatientData,
        view: PatientView,
        dek: &DataKey,
        allergies: Option<&AllergyList>,
    ) -> Result<PatientBanner, ServiceError> {
        let details = crate::patients::present(row, data, view, self.now().date_naive(), None)?;
        let shows_allergies = actor
            .role()
            .is_some_and(|role| chart_sections(role, view).contains(&ChartSection::Allergies));
        let allergies = match (shows_allergies, allergies) {
            (false, _) => BannerAllergies::NotShown,
            (true, Some(list)) => BannerAllergies::from(list),
            (true, None) => BannerAllergies::from(&self.allergies_of(row, dek).await?),
        };
        let mut alerts = Vec::new();
        let id: PatientId = row.id;
        let now = self.now();
        if let Some(user) = actor.user_id()
            && let Some(grant) =
                carevault_store::emergency_access::active(self.store().conn(), id, user, now)
                    .await?
        {
            alerts.push(BannerAlert::EmergencyAccess {
                until: grant.expires_at,
            });
        }
        if view == PatientView::Masked {
            alerts.push(BannerAlert::Masked);
        }
        if matches!(view, PatientView::Full | PatientView::Registration)
            && !carevault_store::privacy::active_holds(
                self.store().conn(),
                &row.id.to_string(),
                now,
            )
            .await?
            .is_empty()
        {
            alerts.push(BannerAlert::LegalHold);
        }
        if row.status != carevault_core::patient::PatientStatus::Active {
            alerts.push(BannerAlert::Status(row.status.to_string()));
        }
        let age_years = (view.shows_identity()
            && details
                .date_of_birth
                .as_deref()
                .is_some_and(|d| d.len() == 10))
        .then(|| now.date_naive().years_since(data.date_of_birth))
        .flatten();
        Ok(PatientBanner {
            id,
            view,
            pseudonymised: !view.shows_identity(),
            name: details.display_name(),
            mrn: details.mrn.clone(),
            date_of_birth: details.date_of_birth.clone(),
            age_years,
            sex: details.sex.clone(),
            allergies,
            alerts,
        })
    }

    /// The banner of one patient, for a page whose own use case does not carry it. Loads
    /// and authorises the patient and records the read (reason "banner").
    pub async fn patient_banner(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<PatientBanner, ServiceError> {
        let (row, _, view) = self.load_for(actor, id).await?;
        let dek = self.patient_key(&row).await?;
        let data = self
            .open_row_with(actor, &row, &dek, AuditAction::Read)
            .await?;
        let banner = self.banner_of(actor, &row, &data, view, &dek, None).await?;
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("banner".into());
        self.record(event).await?;
        Ok(banner)
    }

    /// The chart of one patient, as the actor may see it: authorised once, the data key
    /// unwrapped once, the read recorded once (naming the sections returned). A patient
    /// asking for someone else's chart is refused and recorded, whether it exists or not.
    pub async fn patient_chart(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<PatientChart, ServiceError> {
        let (row, relation, view) = self.load_for(actor, id).await?;
        let role = actor.role().ok_or(ServiceError::Forbidden)?;
        let dek = self.patient_key(&row).await?;
        let data = self
            .open_row_with(actor, &row, &dek, AuditAction::Read)
            .await?;
        let sections: Vec<ChartSection> = chart_sections(role, view).to_vec();
        let has = |s: ChartSection| sections.contains(&s);
        let conn = self.store().conn();
        let names = self.account_names().await?;
        let name = |id: UserId| names.of(id);

        let allergies = if has(ChartSection::Allergies) {
            Some(self.allergies_of(&row, &dek).await?)
        } else {
            None
        };
        let banner = self
            .banner_of(actor, &row, &data, view, &dek, allergies.as_ref())
            .await?;
        let details = has(ChartSection::Demographics)
            .then(|| {
                crate::patients::present(
                    &row,
                    &data,
                    view,
                    self.now().date_naive(),
                    allergies.as_ref().and_then(|list| list.summary()),
                )
            })
            .transpose()?;
        let problems = if has(ChartSection::Problems) {
            Some(self.problems_of(&row, &dek).await?)
        } else {
            None
        };
        let medications = if has(ChartSection::Medications) {
            let mut out = Vec::new();
            for p in carevault_store::prescriptions::of_patient(
                conn,
                id,
                Some(PrescriptionStatus::Active),
                ACTIVE_MEDICATIONS,
            )
            .await?
            {
                out.push(
                    self.present_prescription(actor, &p, &row, view, &dek)
                        .await?,
                );
            }
            Some(out)
        } else {
            None
        };
        let vitals = if has(ChartSection::Vitals) {
            let mut readings = Vec::new();
            for v in carevault_store::encounters::vitals_of(conn, id, None, VITALS_TREND).await? {
                readings.push(self.present_vitals(&v, &dek, &name)?);
            }
            Some(VitalsSummary { readings })
        } else {
            None
        };
        let encounters = if has(ChartSection::Encounters) {
            let own = view == PatientView::Own;
            let mut out = Vec::new();
            for e in carevault_store::encounters::encounters_of(conn, id, RECENT_ENCOUNTERS).await?
            {
                let status = e.status;
                if own && status != EncounterStatus::Signed {
                    continue;
                }
                let diagnoses = self
                    .open_diagnoses(&e, &dek)
                    .await?
                    .into_iter()
                    .filter(|(d, _)| d.retracted_at.is_none())
                    .map(|(_, body)| (body.code, body.text))
                    .collect();
                out.push(EncounterSummary {
                    kind: e.kind,
                    status,
                    started_at: e.started_at,
                    signed_at: e.signed_at,
                    author: name(e.clinician_id),
                    diagnoses,
                    id: e.id.to_string(),
                });
            }
            Some(out)
        } else {
            None
        };
        let nursing = if has(ChartSection::Nursing) {
            Some(
                self.nursing_notes_of(&row, &dek, RECENT_NURSING_NOTES)
                    .await?,
            )
        } else {
            None
        };
        let appointments = if has(ChartSection::Appointments) {
            let shows_reason = matches!(
                view,
                PatientView::Full | PatientView::Registration | PatientView::Own
            );
            let departments: HashMap<carevault_core::DepartmentId, String> =
                carevault_store::scheduling::departments(conn)
                    .await?
                    .into_iter()
                    .map(|d| (d.id, d.name))
                    .collect();
            let now = to_micros(self.now());
            let summarise = |a: carevault_store::scheduling::AppointmentRow| {
                let reason = if shows_reason {
                    Place {
                        table: "appointments",
                        row_id: &a.id.to_string(),
                        patient_id: &a.patient_id.to_string(),
                    }
                    .open(&dek, "reason", Some(&a.reason))?
                } else {
                    None
                };
                Ok::<_, ServiceError>(AppointmentSummary {
                    start: a.start_at,
                    end: a.end_at,
                    kind: a.kind.to_string(),
                    status: a.status.to_string(),
                    clinician: a.clinician_id.map(name),
                    department: departments
                        .get(&a.department_id)
                        .cloned()
                        .unwrap_or_default(),
                    reason,
                    id: a.id.to_string(),
                })
            };
            let upcoming = store::upcoming_appointments(conn, id, now, UPCOMING_APPOINTMENTS)
                .await?
                .into_iter()
                .map(summarise)
                .collect::<Result<_, _>>()?;
            let recent = store::recent_appointments(conn, id, now, RECENT_APPOINTMENTS)
                .await?
                .into_iter()
                .map(summarise)
                .collect::<Result<_, _>>()?;
            Some(AppointmentsSummary { upcoming, recent })
        } else {
            None
        };
        let documents = if has(ChartSection::Documents) {
            let mut out = Vec::new();
            for d in carevault_store::documents::for_patient(conn, id, RECENT_DOCUMENTS).await? {
                out.push(self.present_document(&d, &dek).await?);
            }
            Some(out)
        } else {
            None
        };
        let bills = if has(ChartSection::Bills) {
            let filter = carevault_store::billing::InvoiceFilter {
                patient_id: Some(row.id),
                status: None,
                limit: RECENT_BILLS,
            };
            carevault_store::billing::list_invoices(conn, &filter)
                .await?
                .iter()
                .map(|invoice| self.summary_of(invoice, &row, &dek))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)?
        } else {
            None
        };
        let care_team = if has(ChartSection::CareTeam) {
            CareTeamSection::Members(self.care_team_members(id).await?)
        } else {
            CareTeamSection::NotShown {
                members: carevault_store::care_team::members(conn, id).await?.len(),
                reason: care_team_withheld(view),
            }
        };
        let actions = chart_actions(role, relation);

        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        let names: Vec<&str> = std::iter::once("banner")
            .chain(sections.iter().map(|s| s.as_str()))
            .collect();
        event.reason = Some(format!("chart: {}", names.join(", ")));
        self.record(event).await?;
        Ok(PatientChart {
            banner,
            sections,
            details,
            allergies,
            problems,
            medications,
            vitals,
            encounters,
            nursing,
            appointments,
            documents,
            bills,
            care_team,
            actions,
        })
    }

    /// The chart of the record linked to a patient's own account (`None`: not linked).
    pub async fn my_chart(&self, actor: &Actor) -> Result<Option<PatientChart>, ServiceError> {
        match self.own_patient_id(actor).await? {
            Some(id) => self.patient_chart(actor, id).await.map(Some),
            None => Ok(None),
        }
    }

    /// The banner of the record linked to a patient's own account (`None`: not linked), for
    /// the portal's pages. Recorded as a read, like [`Services::patient_banner`].
    pub async fn my_banner(&self, actor: &Actor) -> Result<Option<PatientBanner>, ServiceError> {
        match self.own_patient_id(actor).await? {
            Some(id) => self.patient_banner(actor, id).await.map(Some),
            None => Ok(None),
        }
    }
}

carevault_core::opaque_debug!(
    BannerAllergies,
    BannerAllergy,
    BannerAlert,
    EncounterSummary,
    AppointmentSummary,
    AppointmentsSummary,
    VitalsSummary,
    CareTeamSection,
);
