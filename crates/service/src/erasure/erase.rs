//! Erasing a patient: the refusal, the preview, the erasure and its tombstone.

use super::*;

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureOutcome {
    pub patient_id: PatientId,
    pub pseudonym: String,
    pub erased_at: DateTime<Utc>,
    /// The ledger entry, once written.
    pub ledger_sequence: Option<u64>,
    /// Why the ledger could not be written: the erasure stands, but the ledger must be
    /// repaired (a restore would otherwise bring the patient back).
    pub ledger_problem: Option<String>,
}

/// The tombstone of an erased patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub patient_id: PatientId,
    pub pseudonym: String,
    pub erased_at: DateTime<Utc>,
    pub erased_by: Option<String>,
    pub reason_category: String,
    pub ledger_sequence: Option<u64>,
}

/// What the erase page shows before confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasurePreview {
    pub patient_id: PatientId,
    pub pseudonym: String,
    /// Why erasure would be refused now, if it would.
    pub refusal: Option<String>,
    pub holds: Vec<LegalHold>,
    pub last_encounter: Option<DateTime<Utc>>,
    /// Clinical records are kept until then (`None`: no encounter).
    pub retained_until: Option<DateTime<Utc>>,
    /// Whether the ledger is configured.
    pub ledger_configured: bool,
}

fn tombstone_of(row: &PatientRow, erasure: ErasureRecord) -> Tombstone {
    Tombstone {
        patient_id: erasure.patient_id,
        pseudonym: pseudonym_of(row.pseudonym_number),
        erased_at: erasure.erased_at,
        erased_by: erasure.erased_by.map(|id| id.to_string()),
        reason_category: erasure.reason_category,
        ledger_sequence: erasure.ledger_sequence,
    }
}

fn actor_kind_text(actor: &Actor) -> &'static str {
    match actor.kind() {
        ActorKind::User => "user",
        ActorKind::Operator => "operator",
        ActorKind::System => "system",
    }
}

pub(super) fn erase_event(
    event: AuditEvent,
    row: &PatientRow,
    category: &str,
    ledger_seq: Option<u64>,
) -> AuditEvent {
    event
        .resource_id(&row.id)
        .patient(pseudonym_of(row.pseudonym_number))
        .reason(match ledger_seq {
            Some(seq) => format!("erased ({category}, ledger entry {seq})"),
            None => format!("erased ({category})"),
        })
}
impl Services {
    /// Why `row` may not be erased at `now`, if it may not: a hold in force (its reason and
    /// last day) or clinical records still within retention.
    async fn erasure_refusal(
        &self,
        conn: &impl carevault_store::Conn,
        row: &PatientRow,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, ServiceError> {
        let holds = store::active_holds(conn, &row.id.to_string(), now).await?;
        if let Some(hold) = holds.first() {
            let until = match hold.until {
                Some(until) => format!("until {}", self.local_day_of_end(until)),
                None => "until it is released".to_owned(),
            };
            let more = match holds.len() {
                1 => String::new(),
                n => format!(
                    " (and {} more hold{})",
                    n - 1,
                    if n == 2 { "" } else { "s" }
                ),
            };
            return Ok(Some(format!(
                "a legal hold applies: “{}”, {until}{more}",
                hold.reason
            )));
        }
        if let Some(last) = store::last_encounter_at(conn, &row.id.to_string()).await? {
            let kept_until =
                years_after(from_micros(last), self.privacy().clinical_retention_years);
            if kept_until > now {
                return Ok(Some(format!(
                    "clinical records must be kept until {} ({} years after the last encounter)",
                    kept_until
                        .with_timezone(&self.clinic_time_zone())
                        .format("%Y-%m-%d"),
                    self.privacy().clinical_retention_years
                )));
            }
        }
        Ok(None)
    }

    /// What erasing the patient would do, and whether it would be refused now.
    /// Administrators.
    pub async fn erasure_preview(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<ErasurePreview, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = self.privacy_row(id).await?;
        if row.is_erased() {
            return Err(ServiceError::NotFound("patient"));
        }
        let now = self.now();
        let conn = self.store().conn();
        let refusal = self.erasure_refusal(conn, &row, now).await?;
        let holds = store::holds_of(conn, id)
            .await?
            .into_iter()
            .map(|hold| present_hold(hold, now))
            .collect();
        let last = store::last_encounter_at(conn, &row.id.to_string())
            .await?
            .map(from_micros);
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::LegalHold)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("erasure preview".into());
        self.record(event).await?;
        Ok(ErasurePreview {
            patient_id: id,
            pseudonym: pseudonym_of(row.pseudonym_number),
            refusal,
            holds,
            last_encounter: last,
            retained_until: last
                .map(|last| years_after(last, self.privacy().clinical_retention_years)),
            ledger_configured: self.privacy().ledger_path.is_some(),
        })
    }

    /// Erases a patient (GDPR Art. 17) after the administrator typed the patient's MRN as
    /// confirmation. Refused (409, with the reason) under a legal hold or within clinical
    /// retention. See the module comment for what it does.
    pub async fn erase_patient(
        &self,
        actor: &Actor,
        id: PatientId,
        confirm_mrn: &str,
    ) -> Result<ErasureOutcome, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = self.privacy_row(id).await?;
        if row.is_erased() {
            return Err(ServiceError::Conflict {
                field: None,
                message: "this patient has been erased already".into(),
            });
        }
        let typed: String = confirm_mrn.chars().filter(char::is_ascii_digit).collect();
        if typed.is_empty() {
            return Err(ValidationErrors::single(
                "confirm_mrn",
                "type the patient's MRN to confirm the erasure",
            )
            .into());
        }
        let dek = self.patient_key(&row).await?;
        let place = Place {
            table: "patients",
            row_id: &row.id.to_string(),
            patient_id: &row.id.to_string(),
        };
        let mrn = place
            .open(&dek, "mrn", Some(&row.mrn))?
            .ok_or(ServiceError::Integrity)?;
        let mrn_digits: String = mrn.chars().filter(char::is_ascii_digit).collect();
        if typed != mrn_digits {
            return Err(ValidationErrors::single(
                "confirm_mrn",
                "does not match this patient's MRN: nothing was erased",
            )
            .into());
        }
        drop(dek);
        self.erase_row(actor, row, CATEGORY_REQUEST).await
    }

    /// The erasure itself, for an authorised actor: refusal checks, the one transaction,
    /// then the ledger.
    pub(super) async fn erase_row(
        &self,
        actor: &Actor,
        row: PatientRow,
        category: &str,
    ) -> Result<ErasureOutcome, ServiceError> {
        // Earlier erasures whose ledger write failed go first, so the ledger stays in order.
        let _ = self.sync_erasure_ledger().await;
        let now = self.now();
        let micros = to_micros(now);
        let patient_id = row.id;
        let erasure = ErasureRecord {
            patient_id,
            erased_at: now,
            erased_by: actor.user_id(),
            actor_kind: actor_kind_text(actor).to_owned(),
            reason_category: category.to_owned(),
            ledger_sequence: None,
        };
        let erased = self
            .transaction_or_stop(async |txn| {
                // Write first: SQLite takes its write lock now, and on PostgreSQL and MariaDB
                // the patient row stays locked, so a hold being set concurrently (which
                // touches the row) is either seen below or waits for this transaction and
                // then finds it erased.
                let Some(_) = store::touch_patient(txn, row.id).await? else {
                    return Err(ServiceError::NotFound("patient").into());
                };
                if let Some(refusal) = self.erasure_refusal(txn, &row, now).await? {
                    return Err(Abort::Stop(refusal));
                }
                let shredded = store::shred_patient(txn, row.id, micros)
                    .await?
                    .ok_or(ServiceError::NotFound("patient"))?;
                store::insert_erasure(txn, &erasure).await?;
                let event = erase_event(
                    self.audit_event(actor, AuditAction::Erase, ResourceType::Patient),
                    &row,
                    category,
                    None,
                );
                self.append_in(txn, event).await?;
                Ok(shredded)
            })
            .await;
        // The patient's account (if any) was disabled and its sessions revoked.
        self.forget_cached_sessions();
        let shredded = match erased? {
            Ok(shredded) => shredded,
            // Refused: recorded once the transaction is rolled back.
            Err(refusal) => {
                let mut event = self
                    .audit_event(actor, AuditAction::Erase, ResourceType::Patient)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(row.pseudonym_number));
                event.outcome = carevault_core::audit::Outcome::Denied;
                event.reason = Some(
                    if refusal.starts_with("a legal hold") {
                        "erasure refused: legal hold"
                    } else {
                        "erasure refused: clinical retention"
                    }
                    .into(),
                );
                self.record(event).await?;
                return Err(ServiceError::Conflict {
                    field: None,
                    message: format!("The patient cannot be erased: {refusal}."),
                });
            }
        };
        tracing::warn!(
            patient_id = %row.id,
            index_rows = shredded.index_rows,
            notifications = shredded.notifications,
            appointments_cancelled = shredded.appointments_cancelled,
            account = shredded.account_id.is_some(),
            "patient erased (crypto-shredded)"
        );
        let (ledger_sequence, ledger_problem) = match self.append_to_ledger(&erasure).await {
            Ok(seq) => (seq, None),
            Err(problem) => (None, Some(problem)),
        };
        Ok(ErasureOutcome {
            patient_id,
            pseudonym: pseudonym_of(row.pseudonym_number),
            erased_at: now,
            ledger_sequence,
            ledger_problem,
        })
    }

    /// The tombstone of an erased patient. Administrators. 404 if the patient is not
    /// erased (or unknown).
    pub async fn erasure_tombstone(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<Tombstone, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = self.privacy_row(id).await?;
        let erasure = store::find_erasure(self.store().conn(), &row.id.to_string())
            .await?
            .filter(|_| row.is_erased())
            .ok_or(ServiceError::NotFound("erasure"))?;
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("tombstone".into());
        self.record(event).await?;
        Ok(tombstone_of(&row, erasure))
    }
}
