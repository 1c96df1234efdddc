//! Registering patients: the duplicate check and the insert (also of the synthetic seed).

use super::*;

/// The result of a registration.
#[derive(Debug, Clone)]
pub enum Registration {
    Registered(Box<PatientDetails>),
    /// Someone with the same family name and date of birth, or the same phone number, is
    /// already registered: shown as the actor may see them. Submit again with
    /// `register_anyway` to register regardless (audited).
    PossibleDuplicates(Vec<PatientDetails>),
}
impl Services {
    /// Registers a patient. Administrators and receptionists; only administrators may fill
    /// in clinical fields (paper records being transcribed).
    pub async fn register_patient(
        &self,
        actor: &Actor,
        input: PatientInput,
        register_anyway: bool,
    ) -> Result<Registration, ServiceError> {
        self.require_registration_rights(actor, None).await?;
        if let Some(field) = input.changed_fields().into_iter().find(|field| {
            !may_write(actor.role(), Relation::None, *field) && *field != PatientField::Status
        }) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    None,
                    &format!("may not set {}", field.name()),
                )
                .await);
        }
        if !input.status.is_keep() {
            return Err(
                ValidationErrors::single("status", "is set by the system at registration").into(),
            );
        }
        let data = apply_input(&input, None, "", self.today())?;
        let duplicates = self.possible_duplicates(actor, &data).await?;
        if !duplicates.is_empty() && !register_anyway {
            return Ok(Registration::PossibleDuplicates(duplicates));
        }
        let row = self
            .insert_patients(actor, vec![data], !duplicates.is_empty())
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("nothing registered")))?;
        let (row, _, view) = self.load_for(actor, row).await?;
        let data = self.open_row(actor, &row, AuditAction::Read).await?;
        Ok(Registration::Registered(Box::new(
            self.present_one(&row, &data, view).await?,
        )))
    }

    /// Patients sharing the family name and date of birth, or the phone number, of `data`
    /// (confirmed by decrypting the candidates), shown as the actor may see them and
    /// recorded as listed.
    async fn possible_duplicates(
        &self,
        actor: &Actor,
        data: &PatientData,
    ) -> Result<Vec<PatientDetails>, ServiceError> {
        let ring = self.key_ring();
        let mut entries = Vec::new();
        if let Some(value) =
            family_name_and_birth_date_blind_index(&ring, &data.family_name, data.date_of_birth)
        {
            entries.push((IndexKind::FamilyNameAndBirthDate.label(), value));
        }
        if let Some(phone) = &data.phone
            && let Some(value) = blind_index(&ring, IndexKind::Phone, phone)
        {
            entries.push((IndexKind::Phone.label(), value));
        }
        let ids = patients::matching_ids(self.store().conn(), &entries, 10).await?;
        let rows = patients::find_many(self.store().conn(), &ids).await?;
        let mut matches = Vec::new();
        let mut events = Vec::new();
        for row in rows.into_iter().filter(|row| !row.is_erased()) {
            let other = self.open_row(actor, &row, AuditAction::Listed).await?;
            let same_person = normalize_name(&other.family_name)
                == normalize_name(&data.family_name)
                && other.date_of_birth == data.date_of_birth;
            let same_phone = match (&other.phone, &data.phone) {
                (Some(a), Some(b)) => normalize_phone(a) == normalize_phone(b),
                _ => false,
            };
            if !(same_person || same_phone) {
                continue;
            }
            let relation = self.relation_to(actor, &row).await?;
            let Some(view) = actor.role().and_then(|role| view_for(role, relation)) else {
                continue;
            };
            matches.push(self.present_one(&row, &other, view).await?);
            let mut event = self
                .audit_event(actor, AuditAction::Listed, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some("possible duplicate at registration".into());
            events.push(event);
        }
        for event in events {
            self.record(event).await?;
        }
        Ok(matches)
    }

    /// Inserts validated patients, each in its own transaction with its audit event (a
    /// batch from the synthetic-data generator shares one transaction per chunk). Returns
    /// the new ids.
    pub(crate) async fn insert_patients(
        &self,
        actor: &Actor,
        batch: Vec<PatientData>,
        duplicate_override: bool,
    ) -> Result<Vec<PatientId>, ServiceError> {
        let ring = self.key_ring();
        let count = batch.len();
        let ids = self
            .transaction(async |txn| {
                // A batch costs about as many statements as one registration: the MRNs are
                // reserved together, the pseudonyms checked together, the rows inserted with
                // multi-row statements and the events appended in one go.
                let first_serial = patients::reserve_counter_values(
                    txn,
                    "mrn",
                    i64::try_from(MRN_FIRST_SERIAL).unwrap_or(1),
                    i64::try_from(count).unwrap_or(i64::MAX),
                )
                .await?;
                let numbers = free_pseudonym_numbers(txn, count).await?;
                let now = whole_micros(self.now());
                let mut ids = Vec::with_capacity(count);
                let mut rows = Vec::with_capacity(count);
                let mut allergy_rows = Vec::new();
                let mut events = Vec::with_capacity(count);
                for ((mut data, serial), number) in
                    batch.iter().cloned().zip(first_serial..).zip(numbers)
                {
                    data.mrn = Mrn::from_serial(u64::try_from(serial).unwrap_or(0)).to_string();
                    let id = PatientId::generate();
                    let dek = DataKey::generate();
                    let wrapped = wrap_data_key(&ring, &dek, &id.to_string())
                        .map_err(ServiceError::internal)?;
                    let mut row = PatientRow {
                        id,
                        pseudonym_number: number,
                        status: PatientStatus::Active,
                        sex: data.sex,
                        birth_year: 0,
                        account_id: None,
                        kek_version: i32::try_from(wrapped.kek_version()).unwrap_or(i32::MAX),
                        wrapped_data_key: wrapped.into_bytes(),
                        mrn: Vec::new(),
                        given_name: Vec::new(),
                        family_name: Vec::new(),
                        date_of_birth: Vec::new(),
                        gender_identity: None,
                        address: None,
                        phone: None,
                        email: None,
                        emergency_contact: None,
                        national_id: None,
                        preferred_language: None,
                        blood_group: None,
                        allergies: None,
                        primary_diagnosis: None,
                        created_at: now,
                        updated_at: now,
                    };
                    seal_into(&mut row, &dek, &data)?;
                    let mut event = self
                        .audit_event(actor, AuditAction::Create, ResourceType::Patient)
                        .resource_id(&row.id)
                        .patient(pseudonym_of(row.pseudonym_number));
                    if duplicate_override {
                        event.reason = Some("registered despite a possible duplicate".into());
                    }
                    events.push(event);
                    // Allergies typed in from paper become entries of the allergy list.
                    if let Some(text) = &data.allergies {
                        allergy_rows.extend(crate::allergies::transcribed_rows(
                            text,
                            id,
                            &dek,
                            actor.user_id(),
                            now,
                        )?);
                    }
                    rows.push((row, index_entries(&ring, &data)));
                    ids.push(id);
                }
                patients::insert_many(txn, rows)
                    .await
                    .map_err(|err| match err {
                        // Two registrations drew the same pseudonym number at once: try again.
                        StoreError::UniqueViolation(_) => tx::again(ServiceError::internal(
                            anyhow::anyhow!("could not register"),
                        )),
                        other => other.into(),
                    })?;
                carevault_store::allergies::insert_many(txn, &allergy_rows).await?;
                self.append_many_in(txn, &events).await?;
                Ok(ids)
            })
            .await?;
        for id in &ids {
            tracing::info!(patient_id = %id, "patient registered");
        }
        Ok(ids)
    }

    /// Generates `count` synthetic patients through the registration path (sealed, indexed,
    /// audited as created by `actor`), in chunks of one transaction each. Administrators and
    /// the console operator; refused on a database holding real patients unless it is a
    /// demo database or `allow_real` is set (benchmarks on a scratch database).
    pub async fn seed_synthetic_patients(
        &self,
        actor: &Actor,
        count: u64,
        seed: Option<u64>,
    ) -> Result<u64, ServiceError> {
        use crate::synthetic::SyntheticPatients;
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let mut generator = seed.map_or_else(SyntheticPatients::random, SyntheticPatients::seeded);
        let today = self.today();
        let mut done = 0u64;
        while done < count {
            let chunk = (count - done).min(500);
            let mut batch = Vec::with_capacity(usize::try_from(chunk).unwrap_or(500));
            for _ in 0..chunk {
                let p = generator.next_patient(today);
                batch.push(PatientData {
                    mrn: String::new(),
                    given_name: p.given_name,
                    family_name: p.family_name,
                    date_of_birth: p.date_of_birth,
                    sex: Sex::parse(p.sex).unwrap_or(Sex::Unknown),
                    gender_identity: p.gender_identity,
                    address: Some(p.address),
                    phone: Some(p.phone),
                    email: p.email,
                    emergency_contact: p.emergency_contact.map(|(name, relation, phone)| {
                        EmergencyContactInput {
                            name,
                            relation,
                            phone,
                        }
                    }),
                    national_id: p.national_id,
                    preferred_language: Some(p.preferred_language),
                    blood_group: p.blood_group.map(str::to_owned),
                    allergies: p.allergies,
                    primary_diagnosis: p.primary_diagnosis,
                });
            }
            self.insert_patients(actor, batch, false).await?;
            done += chunk;
        }
        Ok(done)
    }
}

/// `count` distinct random pseudonym numbers that no stored patient has (checked together).
async fn free_pseudonym_numbers(
    conn: &impl carevault_store::Conn,
    count: usize,
) -> Result<Vec<i64>, ServiceError> {
    let mut chosen: Vec<i64> = Vec::with_capacity(count);
    while chosen.len() < count {
        let mut candidates: Vec<i64> = (chosen.len()..count)
            .map(|_| random_pseudonym_number())
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates.retain(|n| !chosen.contains(n));
        let taken = patients::pseudonyms_taken(conn, &candidates).await?;
        chosen.extend(candidates.into_iter().filter(|n| !taken.contains(n)));
    }
    Ok(chosen)
}
