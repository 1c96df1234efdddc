//! The ICD-10 code search.

use super::*;

/// One code of the bundled ICD-10 list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Icd10Record {
    #[schema(example = "E11.9")]
    code: String,
    #[schema(example = "Type 2 diabetes mellitus without complications")]
    title: String,
}

/// Codes matching a search, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Icd10List {
    items: Vec<Icd10Record>,
}

/// A code search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Icd10Params {
    /// A code (`E11`, `e11.9`) or words of a title (`diabetes`).
    #[param(value_type = String, required = true, pattern = r"\S")]
    q: Option<String>,
    /// 1–50; absent: 20.
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

/// Searches the bundled ICD-10 list.
///
/// Any staff member (the list is public reference data; patients have no use for it).
#[utoipa::path(
    get, path = "/api/v1/icd10", tag = "clinical",
    params(Icd10Params),
    responses(
        (status = 200, description = "Matching codes, best first", body = Icd10List),
        (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing query, a limit outside 1–50 or an unknown parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn icd10(
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<Icd10Params>, ApiError>,
) -> Result<Json<Icd10List>, ApiError> {
    let ApiQuery(params) = params?;
    if matches!(actor.role(), None | Some(Role::Patient)) {
        return Err(Problem::for_status(StatusCode::FORBIDDEN).into());
    }
    let query = params.q.unwrap_or_default();
    if query.trim().is_empty() {
        return Err(validation(&ValidationErrors::single("q", "is required")));
    }
    let limit = params.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(validation(&ValidationErrors::single(
            "limit",
            "must be between 1 and 50",
        )));
    }
    let items = carevault_core::icd10::search(&query, limit as usize)
        .into_iter()
        .map(|c| Icd10Record {
            code: c.code.to_owned(),
            title: c.title.to_owned(),
        })
        .collect();
    Ok(Json(Icd10List { items }))
}
