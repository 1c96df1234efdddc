//! The patient list with its search box, and its CSV.

use super::*;

/// One patient in the list.
#[derive(Debug, Clone)]
pub(super) struct ListRow {
    pub(super) href: String,
    pub(super) name: String,
    pub(super) mrn: Option<String>,
    pub(super) born: Option<String>,
    sex: Option<String>,
    pub(super) status: String,
}

impl From<&PatientDetails> for ListRow {
    fn from(d: &PatientDetails) -> Self {
        Self {
            href: patient_href(d.id),
            name: d.display_name(),
            mrn: d.mrn.clone(),
            born: d.date_of_birth.clone(),
            sex: d.sex.clone(),
            status: d.status.clone(),
        }
    }
}

/// Which optional columns any row has.
#[derive(Debug, Clone, Copy, Default)]
struct Columns {
    mrn: bool,
    born: bool,
    sex: bool,
}

impl Columns {
    fn of(rows: &[ListRow]) -> Self {
        Self {
            mrn: rows.iter().any(|r| r.mrn.is_some()),
            born: rows.iter().any(|r| r.born.is_some()),
            sex: rows.iter().any(|r| r.sex.is_some()),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct ListPaging {
    total: u64,
    first: u64,
    last: u64,
    page: u64,
    pages: u64,
    previous_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "patients.html")]
struct PatientsPage {
    layout: Layout,
    q: String,
    sorts: Vec<SelectOption>,
    search_hint: &'static str,
    errors: ValidationErrors,
    searched: bool,
    rows: Vec<ListRow>,
    columns: Columns,
    paging: ListPaging,
    register_href: Option<&'static str>,
    csv_href: String,
}

#[derive(Deserialize, Default)]
struct ListParams {
    q: Option<String>,
    page: Option<String>,
    sort: Option<String>,
    notice: Option<String>,
}

const SORTS: [(&str, &str); 4] = [
    ("relevance", "Best match"),
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("updated", "Recently changed"),
];

pub(super) fn list_href(q: &str, sort: PatientSort, page: u64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    if sort != PatientSort::Relevance {
        query.append_pair("sort", sort.as_str());
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        "/patients".to_owned()
    } else {
        format!("/patients?{query}")
    }
}

/// `GET /patients`: the list, searched, sorted and paged.
pub async fn list(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    // Who may search is decided (and a refusal recorded) before the parameters are judged.
    state.services.may_search_patients(&actor).await?;
    let role = actor.role();
    let mut errors = ValidationErrors::new();
    let params = match query_params::<ListParams>(raw.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(problems) => {
            errors = problems;
            ListParams::default()
        }
    };
    let q = params.q.clone().unwrap_or_default().trim().to_owned();
    let page = match params.page.as_deref().map(str::trim) {
        None | Some("") => Some(1),
        Some(raw) => errors.check(
            "page",
            raw.parse::<u64>()
                .ok()
                .filter(|p| *p >= 1 && i64::try_from(*p).is_ok())
                .ok_or_else(|| "must be a whole number, 1 or more".to_owned()),
        ),
    };
    let sort = errors.check(
        "sort",
        PatientSort::parse(params.sort.as_deref().unwrap_or_default().trim()),
    );
    let layout = Layout::new(&state, &actor, "Patients", "/patients", csrf)
        .with_notice(notice(params.notice.as_deref()));
    let mut page_view = PatientsPage {
        layout,
        q: q.clone(),
        sorts: select_options(
            SORTS.map(|(value, label)| (value.to_owned(), label.to_owned())),
            sort.unwrap_or_default().as_str(),
        ),
        search_hint: if role == Some(Role::Auditor) {
            "A pseudonym (ANON_…): auditors see patients by pseudonym only."
        } else {
            "A name, a family name and date of birth (Smith 1980-02-03), a hospital number, a phone number, a national id or a pseudonym."
        },
        errors: ValidationErrors::new(),
        searched: !q.is_empty(),
        rows: Vec::new(),
        columns: Columns::default(),
        paging: ListPaging::default(),
        register_href: manages_registration(role).then_some("/patients/new"),
        csv_href: list_href(&q, sort.unwrap_or_default(), 1).replacen(
            "/patients",
            "/patients.csv",
            1,
        ),
    };
    let (Some(page), Some(sort), true) = (page, sort, errors.is_empty()) else {
        // Nothing is asked of the service: the page shows the problems and no patients.
        page_view.errors = errors;
        return unprocessable(&page_view);
    };
    let result = state
        .services
        .search_patients(
            &actor,
            PatientQuery {
                q: (!q.is_empty()).then(|| q.clone()),
                page,
                per_page: None,
                sort,
            },
        )
        .await;
    let found = match result {
        Ok(found) => found,
        Err(ServiceError::Validation(errors)) => {
            page_view.errors = errors;
            return unprocessable(&page_view);
        }
        Err(other) => return Err(other.into()),
    };
    let rows: Vec<ListRow> = found.items.iter().map(ListRow::from).collect();
    let offset = (found.page - 1).saturating_mul(found.per_page);
    let shown = rows.len() as u64;
    let pages = found.total.div_ceil(found.per_page.max(1));
    page_view.paging = ListPaging {
        total: found.total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        page: found.page,
        pages,
        previous_href: (found.page > 1).then(|| list_href(&q, sort, found.page - 1)),
        next_href: (found.page < pages).then(|| list_href(&q, sort, found.page + 1)),
    };
    page_view.columns = Columns::of(&rows);
    page_view.rows = rows;
    render(&page_view)
}

/// The file name browsers save the patient list export as.
pub const PATIENTS_CSV_FILE_NAME: &str = "patients.csv";

/// One column of the patient export: its header and how a row fills it.
type PatientColumn = (&'static str, fn(&PatientDetails) -> Option<String>);

pub(super) fn shown(value: &Option<Option<String>>) -> Option<String> {
    value.clone().flatten()
}

/// Every column the export could have, with the masking policy's field behind it.
const PATIENT_COLUMNS: [(PatientField, PatientColumn); 20] = [
    (PatientField::Id, ("id", |d| Some(d.id.to_string()))),
    (PatientField::Mrn, ("mrn", |d| d.mrn.clone())),
    (
        PatientField::GivenName,
        ("given_name", |d| d.given_name.clone()),
    ),
    (
        PatientField::FamilyName,
        ("family_name", |d| d.family_name.clone()),
    ),
    (
        PatientField::DateOfBirth,
        ("date_of_birth", |d| d.date_of_birth.clone()),
    ),
    (PatientField::Sex, ("sex", |d| d.sex.clone())),
    (
        PatientField::GenderIdentity,
        ("gender_identity", |d| shown(&d.gender_identity)),
    ),
    (PatientField::Address, ("address", |d| shown(&d.address))),
    (PatientField::Phone, ("phone", |d| shown(&d.phone))),
    (PatientField::Email, ("email", |d| shown(&d.email))),
    (
        PatientField::EmergencyContact,
        ("emergency_contact_name", |d| {
            d.emergency_contact.clone().flatten().map(|c| c.name)
        }),
    ),
    (
        PatientField::EmergencyContact,
        ("emergency_contact_relation", |d| {
            d.emergency_contact.clone().flatten().map(|c| c.relation)
        }),
    ),
    (
        PatientField::EmergencyContact,
        ("emergency_contact_phone", |d| {
            d.emergency_contact.clone().flatten().map(|c| c.phone)
        }),
    ),
    (
        PatientField::NationalId,
        ("national_id", |d| shown(&d.national_id)),
    ),
    (
        PatientField::PreferredLanguage,
        ("preferred_language", |d| shown(&d.preferred_language)),
    ),
    (
        PatientField::BloodGroup,
        ("blood_group", |d| shown(&d.blood_group)),
    ),
    (
        PatientField::Allergies,
        ("allergies", |d| shown(&d.allergies)),
    ),
    (
        PatientField::PrimaryDiagnosis,
        ("primary_diagnosis", |d| shown(&d.primary_diagnosis)),
    ),
    (PatientField::Status, ("status", |d| Some(d.status.clone()))),
    (
        PatientField::UpdatedAt,
        ("updated_at", |d| {
            d.updated_at.map(crate::csv_export::rfc3339_utc)
        }),
    ),
];

/// The export's columns for `role`: a field is a column only if one of the views the role
/// can get of a patient (on the care team or not) shows it, so a receptionist's file has
/// no clinical column at all, not empty ones. Presentation only: the cells come from the
/// records the service already masked.
fn patient_columns(role: Option<Role>) -> Vec<PatientColumn> {
    use carevault_core::masking::{Relation, view_for};
    let views: Vec<_> = role
        .into_iter()
        .flat_map(|role| [Relation::CareTeam, Relation::None].map(|r| view_for(role, r)))
        .flatten()
        .collect();
    PATIENT_COLUMNS
        .iter()
        .filter(|(field, _)| {
            views
                .iter()
                .any(|view| visibility(*view, *field) != Visibility::Hidden)
        })
        .map(|(_, column)| *column)
        .collect()
}

/// `GET /patients.csv?q=…&sort=…`: every patient the `/patients` list would show for these
/// filters (all pages), masked as there; audited as one export with its row count.
pub async fn list_csv(
    PageRequest { state, actor, .. }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query_params::<ListParams>(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::invalid(e.to_string()))?;
    let sort = PatientSort::parse(params.sort.as_deref().unwrap_or_default().trim())
        .map_err(|e| PageError::invalid(format!("Order {e}.")))?;
    let q = params
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    let export = state.services.export_patients(&actor, q, sort).await?;
    let columns = patient_columns(actor.role());
    let header: Vec<String> = columns.iter().map(|(name, _)| (*name).to_owned()).collect();
    Ok(crate::csv_export::csv_stream_response(
        PATIENTS_CSV_FILE_NAME,
        header,
        export,
        move |d| {
            columns
                .iter()
                .map(|(_, cell)| cell(d).unwrap_or_default())
                .collect::<Vec<String>>()
        },
    ))
}

pub(super) fn unprocessable(template: &impl Template) -> Result<Response, PageError> {
    let mut response = render(template)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
