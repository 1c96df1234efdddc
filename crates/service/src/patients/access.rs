//! Who sees and writes what: the actor's relation to a patient, the view it gives,
//! presenting a record, opening a row for an actor.

use super::*;

fn show<T: Clone>(
    view: PatientView,
    field: PatientField,
    value: &Option<T>,
    mask: impl Fn(&T) -> T,
) -> Shown<T> {
    match visibility(view, field) {
        Visibility::Hidden => None,
        Visibility::Clear => Some(value.clone()),
        Visibility::Masked | Visibility::Pseudonym => Some(value.as_ref().map(mask)),
    }
}

/// `allergies`: the allergy list in one line (`AllergyList::summary`), shown where the
/// view shows allergies.
pub(crate) fn present(
    row: &PatientRow,
    data: &PatientData,
    view: PatientView,
    today: NaiveDate,
    allergies: Option<String>,
) -> Result<PatientDetails, ServiceError> {
    use PatientField as F;
    let id = row.id;
    let pseudonym = pseudonym_of(row.pseudonym_number);
    let vis = |field| visibility(view, field);
    let clear_if = |field, value: &str| (vis(field) == Visibility::Clear).then(|| value.to_owned());
    let family_name = match vis(F::FamilyName) {
        Visibility::Clear => Some(data.family_name.clone()),
        Visibility::Hidden => None,
        Visibility::Masked | Visibility::Pseudonym => Some(pseudonym.clone()),
    };
    let given_name = match vis(F::GivenName) {
        Visibility::Clear => Some(data.given_name.clone()),
        Visibility::Hidden => None,
        Visibility::Masked | Visibility::Pseudonym => Some(pseudonym.clone()),
    };
    let date_of_birth = match vis(F::DateOfBirth) {
        Visibility::Clear => Some(data.date_of_birth.format("%Y-%m-%d").to_string()),
        Visibility::Masked => Some(birth_year(data.date_of_birth)),
        Visibility::Pseudonym => Some(age_band(data.date_of_birth, today)),
        Visibility::Hidden => None,
    };
    let when = |field, at| (vis(field) != Visibility::Hidden).then_some(at);
    Ok(PatientDetails {
        id,
        view,
        pseudonym: pseudonym.clone(),
        mrn: clear_if(F::Mrn, &data.mrn),
        given_name,
        family_name,
        date_of_birth,
        sex: (vis(F::Sex) != Visibility::Hidden).then(|| data.sex.as_str().to_owned()),
        gender_identity: show(view, F::GenderIdentity, &data.gender_identity, |_| {
            "***".into()
        }),
        address: show(view, F::Address, &data.address, |_| "***".into()),
        phone: show(view, F::Phone, &data.phone, |p| mask_phone(p)),
        email: show(view, F::Email, &data.email, |e| mask_email(e)),
        emergency_contact: show(view, F::EmergencyContact, &data.emergency_contact, |c| {
            EmergencyContactInput {
                name: "***".into(),
                relation: c.relation.clone(),
                phone: mask_phone(&c.phone),
            }
        }),
        national_id: show(view, F::NationalId, &data.national_id, |_| "***".into()),
        preferred_language: show(
            view,
            F::PreferredLanguage,
            &data.preferred_language,
            Clone::clone,
        ),
        blood_group: show(view, F::BloodGroup, &data.blood_group, |_| "***".into()),
        allergies: show(view, F::Allergies, &allergies, |_| "***".into()),
        primary_diagnosis: show(view, F::PrimaryDiagnosis, &data.primary_diagnosis, |_| {
            "***".into()
        }),
        status: row.status.as_str().to_owned(),
        created_at: when(F::CreatedAt, row.created_at),
        updated_at: when(F::UpdatedAt, row.updated_at),
    })
}

pub(super) fn random_pseudonym_number() -> i64 {
    let bytes: [u8; 8] = carevault_crypto::random_bytes();
    let span = PSEUDONYM_RANGE.end - PSEUDONYM_RANGE.start;
    let n = PSEUDONYM_RANGE.start + u64::from_be_bytes(bytes) % span;
    i64::try_from(n).unwrap_or(1_000)
}

/// Whether a view includes the care team. Who treats a patient is itself revealing (an
/// oncologist, a psychiatrist), so the masked, dispensing and pseudonymous views leave it out.
pub(super) fn sees_care_team(view: PatientView) -> bool {
    matches!(
        view,
        PatientView::Full | PatientView::Own | PatientView::Registration
    )
}

/// The fields a role may fill in, given its relation to the patient (`existing`: on a
/// registered record, where the status can change too).
pub(super) fn writable_fields(
    role: Option<Role>,
    relation: Relation,
    existing: bool,
) -> Vec<PatientField> {
    PatientField::ALL
        .into_iter()
        .filter(|field| {
            !matches!(
                field,
                PatientField::Id
                    | PatientField::Mrn
                    | PatientField::CreatedAt
                    | PatientField::UpdatedAt
            )
        })
        .filter(|field| may_write(role, relation, *field))
        .filter(|field| existing || *field != PatientField::Status)
        // On a registered record, allergies are the allergy list's (its own page and API).
        .filter(|field| !existing || *field != PatientField::Allergies)
        .collect()
}

/// The fields a role may change on a record it was shown in `view`. For presentation only
/// (which links and inputs to offer): every use case checks each submitted field itself.
pub fn editable_fields(role: Option<Role>, view: PatientView) -> Vec<PatientField> {
    let relation = match (role, view) {
        (_, PatientView::Own) => Relation::Own,
        (Some(_), PatientView::Full) => Relation::CareTeam,
        _ => Relation::None,
    };
    writable_fields(role, relation, true)
}

/// Fields a role may write, given its relation to the patient: the scope of its
/// [`Action::EditRecord`] grant.
pub(super) fn may_write(role: Option<Role>, relation: Relation, field: PatientField) -> bool {
    let Some(role) = role else {
        return false;
    };
    match grant(role, Action::EditRecord) {
        Grant::Yes => true,
        Grant::Scoped(Scope::NonClinicalFields) => !field.is_clinical(),
        Grant::Scoped(Scope::ClinicalFieldsInCare) => relation.is_care() && field.is_clinical(),
        Grant::Scoped(Scope::OwnContactDetails) => {
            relation == Relation::Own && field.is_own_contact_detail()
        }
        _ => false,
    }
}

/// The patients of `patients` that `found` holds no relation for yet.
fn without_relation(
    patients: &[PatientId],
    found: &std::collections::HashMap<PatientId, Relation>,
) -> Vec<PatientId> {
    patients
        .iter()
        .filter(|p| !found.contains_key(p))
        .copied()
        .collect()
}

/// Whether the actor's view of a patient depends on being in the patient's care (so the
/// care relation must be looked up).
pub(super) fn sees_by_care(actor: &Actor) -> bool {
    actor.grant(Action::SeeIdentity) == Grant::Scoped(Scope::CareTeamElsePseudonym)
}
impl Services {
    /// [`present`], with the patient's allergy list in one line where the view shows it.
    pub(crate) async fn present_one(
        &self,
        row: &PatientRow,
        data: &PatientData,
        view: PatientView,
    ) -> Result<PatientDetails, ServiceError> {
        let summary = self
            .allergy_summaries(&[(row, view)])
            .await?
            .remove(&row.id)
            .flatten();
        present(row, data, view, self.today(), summary)
    }

    /// How `actor` stands to the patient in `row`: the one place the relation the policy
    /// decides on is worked out.
    pub(crate) async fn relation_to(
        &self,
        actor: &Actor,
        row: &PatientRow,
    ) -> Result<Relation, ServiceError> {
        Ok(self
            .relations_to(actor, std::slice::from_ref(row))
            .await?
            .remove(&row.id)
            .unwrap_or(Relation::None))
    }

    /// [`Services::relation_to`] for each of `rows`, with one look-up per kind of relation
    /// for all of them (a day's calendar asks about 80 patients at once, not one by one).
    pub(crate) async fn relations_to(
        &self,
        actor: &Actor,
        rows: &[PatientRow],
    ) -> Result<std::collections::HashMap<PatientId, Relation>, ServiceError> {
        let mut relations: std::collections::HashMap<PatientId, Relation> =
            rows.iter().map(|row| (row.id, Relation::None)).collect();
        let Some(user_id) = actor.user_id() else {
            return Ok(relations);
        };
        let mut by_care = Vec::with_capacity(rows.len());
        for row in rows {
            if actor.reaches_own_record_only() && row.account_id == Some(user_id) {
                relations.insert(row.id, Relation::Own);
            } else if sees_by_care(actor) {
                by_care.push(row.id);
            }
        }
        if !by_care.is_empty() {
            relations.extend(self.care_relations(user_id, &by_care).await?);
        }
        Ok(relations)
    }

    /// Which of `patients` are in `user`'s care now: on the care team (assigned, or by an
    /// appointment), or reachable through emergency access (break the glass) or a share the
    /// patient granted, while those last, or — for a nurse — by department: checked in
    /// (or being seen) today in her department (`nursing/`). The one definition of "care
    /// team" for masking, the chart and every check.
    pub(crate) async fn in_care_of(
        &self,
        user: UserId,
        patients: &[PatientId],
    ) -> Result<std::collections::HashSet<PatientId>, ServiceError> {
        Ok(self
            .care_relations(user, patients)
            .await?
            .into_keys()
            .collect())
    }

    /// [`Services::in_care_of`], saying for each patient by which relation (the first that
    /// holds of care team, share, department, break-the-glass).
    pub(crate) async fn care_relations(
        &self,
        user: UserId,
        patients: &[PatientId],
    ) -> Result<std::collections::HashMap<PatientId, Relation>, ServiceError> {
        let conn = self.store().conn();
        let now = self.now();
        let mut found: std::collections::HashMap<PatientId, Relation> =
            care_team::memberships_among(conn, user, patients)
                .await?
                .into_iter()
                .map(|id| (id, Relation::CareTeam))
                .collect();
        // Only the first relation that holds counts, so each later look-up asks only about
        // the patients still without one (and none is made once every patient has one).
        let rest = without_relation(patients, &found);
        if rest.is_empty() {
            return Ok(found);
        }
        for id in carevault_store::record_shares::shared_among(conn, user, &rest, now).await? {
            found.entry(id).or_insert(Relation::Share);
        }
        let rest = without_relation(patients, &found);
        if rest.is_empty() {
            return Ok(found);
        }
        for id in self.department_care_among(user, &rest).await? {
            found.entry(id).or_insert(Relation::Department);
        }
        let rest = without_relation(patients, &found);
        if rest.is_empty() {
            return Ok(found);
        }
        for id in carevault_store::emergency_access::held_among(conn, user, &rest, now).await? {
            found.entry(id).or_insert(Relation::BreakGlass);
        }
        Ok(found)
    }

    /// Records that a sealed value failed to open, and returns the error to give the caller.
    async fn integrity_failure(
        &self,
        actor: &Actor,
        row: &PatientRow,
        action: AuditAction,
    ) -> ServiceError {
        let mut event = self
            .audit_event(actor, action, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.outcome = Outcome::Failed;
        event.reason = Some("sealed data failed its integrity check".into());
        tracing::error!(patient_id = %row.id, "sealed patient data failed its integrity check");
        match self.record(event).await {
            Ok(_) => ServiceError::Integrity,
            Err(err) => err,
        }
    }

    /// Opens `row` with its already unwrapped data key `dek`, recording an integrity failure
    /// if it does not open (for use cases that need the key for more than the row).
    pub(crate) async fn open_row_with(
        &self,
        actor: &Actor,
        row: &PatientRow,
        dek: &DataKey,
        action: AuditAction,
    ) -> Result<PatientData, ServiceError> {
        match open_all(row, dek) {
            Ok(data) => Ok(data),
            Err(ServiceError::Integrity) => Err(self.integrity_failure(actor, row, action).await),
            Err(other) => Err(other),
        }
    }

    /// Opens `row` for the actor, recording an integrity failure if it does not open.
    pub(crate) async fn open_row(
        &self,
        actor: &Actor,
        row: &PatientRow,
        action: AuditAction,
    ) -> Result<PatientData, ServiceError> {
        let opened = match self.patient_key(row).await {
            Ok(dek) => open_all(row, &dek),
            Err(err) => Err(err),
        };
        match opened {
            Ok(data) => Ok(data),
            Err(ServiceError::Integrity) => Err(self.integrity_failure(actor, row, action).await),
            Err(other) => Err(other),
        }
    }

    /// Refuses actors who may not look at patients at all.
    async fn require_patient_access(&self, actor: &Actor) -> Result<(), ServiceError> {
        if actor.grant(Action::SeeIdentity).is_possible() {
            Ok(())
        } else {
            Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    None,
                    "requires access to patient records",
                )
                .await)
        }
    }

    /// [`Services::load_for`] for a part of the record only some views show: the patient and
    /// the view, if it is one of `shown_to`; otherwise `refusal` about `resource`, recorded.
    pub(crate) async fn load_for_part(
        &self,
        actor: &Actor,
        patient: PatientId,
        shown_to: &[PatientView],
        resource: ResourceType,
        refusal: &str,
    ) -> Result<(PatientRow, PatientView), ServiceError> {
        let (row, _, view) = self.load_for(actor, patient).await?;
        if shown_to.contains(&view) {
            return Ok((row, view));
        }
        Err(self
            .deny(actor, resource, Some(patient.to_string()), refusal)
            .await)
    }

    /// Loads a patient the actor may see, with the view that applies. A patient asking for
    /// someone else's record is refused (and recorded) whether or not it exists.
    pub(crate) async fn load_for(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<(PatientRow, Relation, PatientView), ServiceError> {
        self.require_patient_access(actor).await?;
        let row = patients::find(self.store().conn(), id).await?;
        let Some(row) = row.filter(|row| !row.is_erased()) else {
            let id = Some(id.to_string());
            return Err(self
                .missing(actor, ResourceType::Patient, id, "patient")
                .await);
        };
        let relation = self.relation_to(actor, &row).await?;
        let Some(role) = actor.role() else {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(id.to_string()),
                    "no role",
                )
                .await);
        };
        match view_for(role, relation) {
            Some(view) => Ok((row, relation, view)),
            None => {
                let mut event = self
                    .audit_event(actor, AuditAction::AccessDenied, ResourceType::Patient)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(row.pseudonym_number));
                event.outcome = Outcome::Denied;
                event.reason = Some("not the patient's own record".into());
                self.record(event).await?;
                Err(ServiceError::Forbidden)
            }
        }
    }
}
