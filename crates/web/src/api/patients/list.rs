//! Listing and searching patients.

use super::*;

/// One page of patients.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientList {
    items: Vec<PatientRecord>,
    /// How many patients match in all.
    total: u64,
    /// 1-based.
    page: u64,
    per_page: u64,
}

impl From<PatientPage> for PatientList {
    fn from(page: PatientPage) -> Self {
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        }
    }
}

/// Search and paging.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PatientListParams {
    /// Search text: an MRN, a full name ("Ann Smith" or "Smith, Ann"), a family name
    /// (sound-alikes match too), "family name YYYY-MM-DD", a phone number, a national id,
    /// or a pseudonym (`ANON_…`; the only search open to auditors). Without it, all
    /// patients are listed. At most 200 characters.
    #[param(max_length = 200)]
    q: Option<String>,
    /// 1-based page number (default 1).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    page: Option<String>,
    /// Patients per page (1–100; default set by the server).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    per_page: Option<String>,
    /// `relevance` (default), `newest`, `oldest` or `updated`.
    #[param(schema_with = sort_schema)]
    sort: Option<String>,
}

fn sort_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of(["relevance", "newest", "oldest", "updated"])
}

impl std::fmt::Debug for PatientListParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The search text is a name, a phone number or an MRN: never in Debug output.
        f.debug_struct("PatientListParams")
            .field("searching", &self.q.is_some())
            .field("page", &self.page)
            .field("per_page", &self.per_page)
            .field("sort", &self.sort)
            .finish()
    }
}

impl PatientListParams {
    /// Checks every value; all problems are reported together.
    pub(super) fn into_query(self) -> Result<PatientQuery, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let number = |raw: Option<&str>| -> Result<Option<u64>, String> {
            raw.map(str::trim)
                .filter(|raw| !raw.is_empty())
                .map(|raw| {
                    // At most the largest signed 64-bit number, as the document says.
                    raw.parse::<u64>()
                        .ok()
                        .filter(|n| i64::try_from(*n).is_ok())
                        .ok_or_else(|| "must be a whole number".into())
                })
                .transpose()
        };
        let page = errors
            .check(
                "page",
                number(self.page.as_deref()).and_then(|page| match page {
                    Some(0) => Err("must be 1 or more".into()),
                    page => Ok(page),
                }),
            )
            .flatten();
        let per_page = errors
            .check(
                "per_page",
                number(self.per_page.as_deref()).and_then(|n| match n {
                    Some(n) if !(1..=MAX_PAGE_SIZE).contains(&n) => {
                        Err(format!("must be between 1 and {MAX_PAGE_SIZE}"))
                    }
                    n => Ok(n),
                }),
            )
            .flatten();
        let sort = errors.check(
            "sort",
            PatientSort::parse(self.sort.as_deref().unwrap_or_default().trim()),
        );
        errors.into_result()?;
        Ok(PatientQuery {
            q: self.q,
            page: page.unwrap_or(1),
            per_page,
            sort: sort.unwrap_or_default(),
        })
    }
}

/// Lists or searches patients.
///
/// For staff; auditors search by pseudonym only, patients use `/api/v1/me/patient`. Each
/// listed patient is shown as the caller may see them, and each is recorded in the audit
/// log.
#[utoipa::path(
    get, path = "/api/v1/patients", tag = "patients",
    params(PatientListParams),
    responses(
        (status = 200, description = "A page of patients", body = PatientList),
        (status = 403, description = "The role may not list patients (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is unknown or its value invalid (an auditor searching by anything but a pseudonym: `q`); `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<PatientListParams>, ApiError>,
) -> Result<Json<PatientList>, ApiError> {
    // Who may search is decided (and a refusal recorded) before the parameters are judged.
    state.services.may_search_patients(&actor).await?;
    let ApiQuery(params) = params?;
    crate::extract::refuse_empty_params(&[
        ("page", params.page.as_deref()),
        ("per_page", params.per_page.as_deref()),
        ("sort", params.sort.as_deref()),
    ])
    .map_err(|e| Problem::validation(&e))?;
    let query = params
        .into_query()
        .map_err(|errors| Problem::validation(&errors))?;
    let page = state.services.search_patients(&actor, query).await?;
    Ok(Json(page.into()))
}
