//! Listing and searching patients.

use super::*;

/// How a list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatientSort {
    /// Best match first when searching; otherwise newest registration first.
    #[default]
    Relevance,
    Newest,
    Oldest,
    RecentlyUpdated,
}

impl PatientSort {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "" | "relevance" => Ok(PatientSort::Relevance),
            "newest" => Ok(PatientSort::Newest),
            "oldest" => Ok(PatientSort::Oldest),
            "updated" => Ok(PatientSort::RecentlyUpdated),
            _ => Err("must be one of relevance, newest, oldest, updated".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PatientSort::Relevance => "relevance",
            PatientSort::Newest => "newest",
            PatientSort::Oldest => "oldest",
            PatientSort::RecentlyUpdated => "updated",
        }
    }
}

/// A list or search request. Its `Debug` output leaves the search text out.
#[derive(Clone, Default)]
pub struct PatientQuery {
    /// Search text: a name, "family name date of birth", an MRN, a phone number, a national
    /// id, or a pseudonym. Its content never reaches a log or the audit trail.
    pub q: Option<String>,
    /// 1-based.
    pub page: u64,
    pub per_page: Option<u64>,
    pub sort: PatientSort,
}

impl std::fmt::Debug for PatientQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientQuery")
            .field("searching", &self.q.is_some())
            .field("page", &self.page)
            .field("per_page", &self.per_page)
            .field("sort", &self.sort)
            .finish()
    }
}

/// One page of patients.
#[derive(Debug, Clone)]
pub struct PatientPage {
    pub items: Vec<PatientDetails>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}
impl Services {
    /// A page of patients, optionally searched. Every patient on the page is recorded as
    /// listed (search hits as `search`). Auditors search by pseudonym only; patients use
    /// their own record instead.
    pub async fn search_patients(
        &self,
        actor: &Actor,
        query: PatientQuery,
    ) -> Result<PatientPage, ServiceError> {
        self.may_search_patients(actor).await?;
        let per_page = query
            .per_page
            .unwrap_or(self.settings().patients.page_size)
            .clamp(1, MAX_PAGE_SIZE);
        let page = query.page.max(1);
        // The databases take a signed 64-bit offset: a page beyond it is just empty.
        let offset = (page - 1)
            .saturating_mul(per_page)
            .min(i64::MAX.unsigned_abs());
        let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if let Some(q) = q
            && q.chars().count() > 200
        {
            return Err(ValidationErrors::single("q", "must be at most 200 characters").into());
        }
        let conn = self.store().conn();
        let (rows, total, action) = match q {
            None => {
                let order = match query.sort {
                    PatientSort::Relevance | PatientSort::Newest => ListOrder::NewestFirst,
                    PatientSort::Oldest => ListOrder::OldestFirst,
                    PatientSort::RecentlyUpdated => ListOrder::RecentlyUpdated,
                };
                let (rows, total) = patients::list(conn, order, offset, per_page).await?;
                (rows, total, AuditAction::Listed)
            }
            Some(q) => {
                if let Some(number) = parse_pseudonym(q) {
                    if !actor.may(Action::LookUpPseudonyms) {
                        // Their view shows names: a pseudonym look-up would map pseudonyms
                        // (the audit trail's, a masked screen's) back to people.
                        return Err(ValidationErrors::single(
                            "q",
                            "search by name, date of birth, hospital number or phone; pseudonyms are looked up by clinicians, auditors and administrators",
                        )
                        .into());
                    }
                    let row =
                        patients::find_by_pseudonym(conn, i64::try_from(number).unwrap_or(-1))
                            .await?
                            .filter(|row| !row.is_erased());
                    let total = u64::from(row.is_some());
                    (
                        row.into_iter().filter(|_| offset == 0).collect(),
                        total,
                        AuditAction::Search,
                    )
                } else if actor.grant(Action::FindPatients) == Grant::Scoped(Scope::Pseudonym) {
                    return Err(ValidationErrors::single(
                        "q",
                        "auditors search by pseudonym (ANON_…) only",
                    )
                    .into());
                } else {
                    let entries = search_entries(&self.key_ring(), q);
                    // A search may only match on what the caller's view shows in clear, or a
                    // hit would confirm a hidden value (a phone number, a name behind a
                    // pseudonym): clinicians see identities on their own care team only.
                    // (Pharmacists do not search patients at all: `may_search_patients`.)
                    let care_team_of = actor.user_id().filter(|_| sees_by_care(actor));
                    let (ids, total) =
                        patients::search(conn, &entries, care_team_of, offset, per_page).await?;
                    let mut rows = patients::find_many(conn, &ids).await?;
                    rows.retain(|row| !row.is_erased());
                    if query.sort != PatientSort::Relevance {
                        match query.sort {
                            PatientSort::Oldest => rows.sort_by_key(|row| row.id),
                            PatientSort::RecentlyUpdated => {
                                rows.sort_by_key(|row| std::cmp::Reverse(row.updated_at))
                            }
                            _ => rows.sort_by_key(|row| std::cmp::Reverse(row.id)),
                        }
                    }
                    (rows, total, AuditAction::Search)
                }
            }
        };
        let role = actor.role().ok_or(ServiceError::Forbidden)?;
        let ids: Vec<PatientId> = rows.iter().map(|row| row.id).collect();
        let on_team = match actor.user_id() {
            Some(user) if sees_by_care(actor) => self.in_care_of(user, &ids).await?,
            _ => Default::default(),
        };
        let mut shown = Vec::with_capacity(rows.len());
        for row in &rows {
            let relation = if on_team.contains(&row.id) {
                Relation::CareTeam
            } else {
                Relation::None
            };
            if let Some(view) = view_for(role, relation) {
                shown.push((row, view));
            }
        }
        let mut allergies = self.allergy_summaries(&shown).await?;
        let mut items = Vec::with_capacity(shown.len());
        let mut events = Vec::with_capacity(shown.len());
        for (row, view) in shown {
            let data = self.open_row(actor, row, action).await?;
            let summary = allergies.remove(&row.id).flatten();
            items.push(present(row, &data, view, self.today(), summary)?);
            events.push(
                self.audit_event(actor, action, ResourceType::Patient)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(row.pseudonym_number)),
            );
        }
        if events.is_empty() && q.is_some() {
            let mut event = self.audit_event(actor, AuditAction::Search, ResourceType::Patient);
            event.reason = Some("no match".into());
            events.push(event);
        }
        self.record_all(events).await?;
        Ok(PatientPage {
            items,
            total,
            page,
            per_page,
        })
    }

    /// `Ok` when the actor may list and search patients (and so export the list), as the
    /// permission matrix's `FindPatients` grants it; otherwise the refusal, recorded. This is
    /// the one decision behind `/patients`, `/patients.csv` and `GET /api/v1/patients`.
    /// Handlers call it before they judge the request's parameters, so a role that may not
    /// search is refused (and recorded) even when its parameters are also wrong.
    pub async fn may_search_patients(&self, actor: &Actor) -> Result<(), ServiceError> {
        if actor.grant(Action::FindPatients).is_possible() {
            return Ok(());
        }
        Err(self
            .deny(
                actor,
                ResourceType::Patient,
                None,
                Action::FindPatients.refusal(),
            )
            .await)
    }
}
