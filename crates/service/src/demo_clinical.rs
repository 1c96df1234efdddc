//! The demo's clinical story: charts worth opening and a day for Dr. Smith.
//!
//! - **Charts.** John Patient and a few dozen synthetic patients get a history written
//!   through the ordinary use cases (Dr. Smith creates, codes and signs encounters, records
//!   vitals and prescribes; diagnoses go onto the problem list), then moved back in time
//!   (`carevault_store::demo`) so that the chart shows readings over weeks, one of them
//!   abnormal, signed encounters and active medications. John is allergic to penicillin, so
//!   prescribing the demo formulary's amoxicillin to him raises the allergy warning.
//! - **Dr. Smith's day**, whatever the day and hour the demo starts: appointments from the
//!   quarter hour after the next 45 minutes on, the first of them checked in (John first)
//!   and two of those triaged by the nurse. So that a demo started
//!   on a Sunday night still has a day, the demo doctor is on duty around the clock.
//!
//! Skipped when the demo has no synthetic patients (the tests start from an empty schedule).

use std::collections::HashMap;

use carevault_core::PatientId;
use carevault_core::clinical::VitalsInput;
use carevault_store::users;
use chrono::{Datelike, Duration, TimeZone, Timelike};

use crate::Services;
use crate::actor::Actor;
use crate::allergies::{AllergyRequest, AllergyStatusRequest};
use crate::encounters::{DiagnosisInput, EncounterInput};
use crate::error::ServiceError;
use crate::nursing::TriageInput;
use crate::pharmacy::DispenseRequest;
use crate::prescriptions::{Prescribed, PrescriptionRequest};

/// How many synthetic patients get a chart (besides John).
const CHARTED_PATIENTS: usize = 36;
/// Prescriptions of visits older than this were dispensed at the time (the pharmacy's queue
/// holds the recent ones).
const DISPENSED_AFTER_DAYS: i64 = 14;
/// Charted patients are adults of at least this age (the conditions are adults' ones).
const CHARTED_MIN_AGE: u32 = 30;
/// How many of them are on Dr. Smith's list today (after John).
const TODAY_PATIENTS: usize = 7;
/// How many of today's appointments are already checked in (John included).
const CHECKED_IN_TODAY: usize = 3;

/// The nurse's triage of the first checked-in patients (the third waits for hers): John
/// still febrile after his chest infection, then a stable patient.
const DEMO_TRIAGE: [TriageInput<'static>; 2] = [
    TriageInput {
        acuity: "3",
        note: "Cough better but still short of breath on the stairs. Sat in the waiting room.",
        vitals: VitalsInput {
            temperature_c: Some("37.9"),
            pulse_bpm: Some("96"),
            systolic_mmhg: Some("142"),
            diastolic_mmhg: Some("88"),
            respiratory_rate: Some("20"),
            spo2_percent: Some("95"),
            weight_kg: None,
            height_cm: None,
        },
    },
    TriageInput {
        acuity: "4",
        note: "Here for a medication review. No new complaints.",
        vitals: VitalsInput {
            temperature_c: Some("36.6"),
            pulse_bpm: Some("70"),
            systolic_mmhg: Some("126"),
            diastolic_mmhg: Some("80"),
            respiratory_rate: Some("14"),
            spo2_percent: Some("98"),
            weight_kg: None,
            height_cm: None,
        },
    },
];

/// One medicine of a condition: name, dose, route, frequency, days, quantity.
type Medicine = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u32,
    u32,
);

/// A chronic or acute condition as the demo charts it.
struct Condition {
    code: &'static str,
    complaint: &'static str,
    assessment: &'static str,
    plan: &'static str,
    medicine: Option<Medicine>,
}

const CONDITIONS: [Condition; 10] = [
    Condition {
        code: "I10",
        complaint: "Blood pressure review.",
        assessment: "Essential hypertension, not yet at target.",
        plan: "Start amlodipine; home blood pressure readings; review in six weeks.",
        medicine: Some(("Amlodipine", "5 mg", "oral", "once daily", 90, 90)),
    },
    Condition {
        code: "E11.9",
        complaint: "Diabetes review; HbA1c 58 mmol/mol.",
        assessment: "Type 2 diabetes without complications.",
        plan: "Metformin; diet advice; annual foot and eye checks.",
        medicine: Some(("Metformin", "500 mg", "oral", "twice daily", 90, 180)),
    },
    Condition {
        code: "E78.5",
        complaint: "Raised cholesterol on routine bloods.",
        assessment: "Hyperlipidaemia; QRISK above 10 %.",
        plan: "Atorvastatin at night; repeat lipids in three months.",
        medicine: Some(("Atorvastatin", "20 mg", "oral", "at night", 90, 90)),
    },
    Condition {
        code: "J45.9",
        complaint: "Wheeze on exertion, worse in cold air.",
        assessment: "Asthma, mild, not well controlled.",
        plan: "Salbutamol as needed; inhaler technique checked; asthma plan given.",
        medicine: Some(("Salbutamol", "2 puffs", "inhaled", "as needed", 90, 1)),
    },
    Condition {
        code: "E03.9",
        complaint: "Tiredness; TSH raised.",
        assessment: "Primary hypothyroidism.",
        plan: "Levothyroxine; TSH in eight weeks.",
        medicine: Some((
            "Levothyroxine",
            "50 micrograms",
            "oral",
            "once daily in the morning",
            90,
            90,
        )),
    },
    Condition {
        code: "K21.9",
        complaint: "Heartburn after meals for two months.",
        assessment: "Gastro-oesophageal reflux without oesophagitis.",
        plan: "Omeprazole for eight weeks; lifestyle advice.",
        medicine: Some(("Omeprazole", "20 mg", "oral", "once daily", 56, 56)),
    },
    Condition {
        code: "M17.9",
        complaint: "Knee pain on walking.",
        assessment: "Osteoarthritis of the knee.",
        plan: "Paracetamol regularly; physiotherapy referral.",
        medicine: Some(("Paracetamol", "1 g", "oral", "four times daily", 28, 224)),
    },
    Condition {
        code: "F32.9",
        complaint: "Low mood and poor sleep for several weeks.",
        assessment: "Depressive episode; no risk to self identified.",
        plan: "Talking therapy referral; review in two weeks.",
        medicine: None,
    },
    Condition {
        code: "I48.9",
        complaint: "Palpitations; irregular pulse.",
        assessment: "Atrial fibrillation, rate controlled.",
        plan: "Anticoagulation discussed; ECG and echocardiogram requested.",
        medicine: Some(("Apixaban", "5 mg", "oral", "twice daily", 90, 180)),
    },
    Condition {
        code: "J44.9",
        complaint: "Breathless on stairs; long-standing smoker's cough.",
        assessment: "COPD, stable.",
        plan: "Smoking cessation support; inhaler review.",
        medicine: None,
    },
];

/// A normal reading and an abnormal one (fever, fast pulse, low saturation, high blood
/// pressure): temperature, pulse, systolic, diastolic, respiratory rate, SpO₂.
const NORMAL_VITALS: [(&str, &str, &str, &str, &str, &str); 4] = [
    ("36.7", "72", "128", "82", "14", "98"),
    ("36.9", "68", "134", "84", "16", "97"),
    ("36.5", "80", "122", "78", "15", "99"),
    ("37.1", "76", "136", "86", "16", "97"),
];
const ABNORMAL_VITALS: [(&str, &str, &str, &str, &str, &str); 2] = [
    ("38.6", "104", "132", "84", "22", "94"),
    ("36.8", "88", "158", "96", "16", "97"),
];

fn vitals_input(
    v: &(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ),
    weight: Option<&'static str>,
) -> VitalsInput<'static> {
    VitalsInput {
        temperature_c: Some(v.0),
        pulse_bpm: Some(v.1),
        systolic_mmhg: Some(v.2),
        diastolic_mmhg: Some(v.3),
        respiratory_rate: Some(v.4),
        spo2_percent: Some(v.5),
        weight_kg: weight,
        height_cm: None,
    }
}

/// One visit of the story: days ago, condition, vitals, whether to prescribe.
struct Visit<'a> {
    days_ago: i64,
    condition: &'a Condition,
    vitals: VitalsInput<'static>,
    prescribe: bool,
}

impl Services {
    /// Dr. Smith acting (through the same use cases a signed-in doctor uses).
    async fn demo_actor(&self, username: &str) -> Result<Actor, ServiceError> {
        let user = users::find_by_username(self.store().conn(), username)
            .await?
            .ok_or(ServiceError::NotFound("account"))?;
        Ok(Actor::seeding(
            user.id,
            user.username,
            &user.display_name,
            user.role,
        ))
    }

    /// Writes one visit, signs it and moves it back in time.
    async fn demo_visit(
        &self,
        doctor: &Actor,
        patient: PatientId,
        visit: &Visit<'_>,
        formulary: &HashMap<String, String>,
    ) -> Result<(String, Option<String>), ServiceError> {
        let condition = visit.condition;
        let texts = [
            ("chief_complaint", condition.complaint),
            ("assessment", condition.assessment),
            ("plan", condition.plan),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let encounter = self
            .create_encounter(
                doctor,
                EncounterInput {
                    patient_id: patient.to_string(),
                    appointment_id: None,
                    kind: Some("consultation".into()),
                    texts,
                    diagnoses: vec![DiagnosisInput {
                        kind: "primary".into(),
                        code: Some(condition.code.into()),
                        text: None,
                        free_text: false,
                    }],
                },
            )
            .await?;
        self.record_vitals(doctor, patient, Some(&encounter.id), &visit.vitals)
            .await?;
        if visit.prescribe
            && let Some((name, dose, route, frequency, days, quantity)) = condition.medicine
        {
            let drug_id = formulary.get(&name.to_ascii_lowercase()).cloned();
            let request = PrescriptionRequest {
                encounter_id: encounter.id.clone(),
                drug_id: drug_id.clone(),
                drug_name: name.into(),
                generic_name: None,
                dose: dose.into(),
                route: route.into(),
                frequency: frequency.into(),
                duration_days: days.to_string(),
                quantity: quantity.to_string(),
                instructions: None,
                acknowledgement: None,
            };
            // A warning (an allergy, a duplicate) leaves the visit without a prescription.
            if let (Prescribed::Written(written), Some(drug_id)) =
                (self.prescribe(doctor, request).await?, drug_id)
                && visit.days_ago > DISPENSED_AFTER_DAYS
            {
                // Dispensed at the time; a drug short of stock stays in the queue.
                let pharmacist = self.demo_actor("pharma").await?;
                match self
                    .dispense(
                        &pharmacist,
                        DispenseRequest {
                            prescription_id: written.id.clone(),
                            drug_id,
                            quantity: quantity.to_string(),
                        },
                    )
                    .await
                {
                    Ok(_) | Err(ServiceError::Validation(_) | ServiceError::Conflict { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        self.sign_encounter(doctor, &encounter.id).await?;
        carevault_store::demo::backdate_encounter(
            self.store().conn(),
            &encounter.id,
            Duration::days(visit.days_ago)
                .num_microseconds()
                .unwrap_or_default(),
        )
        .await?;
        Ok((
            encounter.id,
            encounter.diagnoses.first().map(|d| d.id.clone()),
        ))
    }

    /// Puts a visit's diagnosis on the problem list (a chronic condition stays active, an
    /// acute one is resolved). Already listed: left as it is.
    async fn demo_problem(
        &self,
        doctor: &Actor,
        visit: &(String, Option<String>),
        resolved: bool,
    ) -> Result<(), ServiceError> {
        let Some(diagnosis) = &visit.1 else {
            return Ok(());
        };
        match self
            .add_problem_from_diagnosis(doctor, &visit.0, diagnosis)
            .await
        {
            Ok(problem) if resolved => {
                self.change_problem_status(doctor, None, &problem.id, "resolved")
                    .await?;
                Ok(())
            }
            Ok(_) | Err(ServiceError::Conflict { .. }) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// The charts: John's story and a history for `CHARTED_PATIENTS` synthetic
    /// patients, all in Dr. Smith's care.
    pub(crate) async fn seed_demo_charts(
        &self,
        admin: &Actor,
        john: PatientId,
    ) -> Result<Vec<PatientId>, ServiceError> {
        let doctor = self.demo_actor("drsmith").await?;
        let formulary: HashMap<String, String> = self
            .formulary_for_prescribing(&doctor)
            .await?
            .into_iter()
            .map(|drug| (drug.name.to_ascii_lowercase(), drug.id))
            .collect();
        let by_code = |code: &str| CONDITIONS.iter().find(|c| c.code == code);

        // John: hypertension and raised cholesterol, then a chest infection ten days ago
        // (the abnormal reading), treated with doxycycline because of his penicillin allergy.
        let chest_infection = Condition {
            code: "J22",
            complaint: "Cough with green sputum and fever for four days.",
            assessment: "Lower respiratory tract infection. Penicillin allergy: doxycycline instead of amoxicillin.",
            plan: "Doxycycline for seven days; fluids; return if breathless.",
            medicine: Some(("Doxycycline", "100 mg", "oral", "once daily", 7, 8)),
        };
        let john_story = [
            Visit {
                days_ago: 84,
                condition: by_code("I10").unwrap_or(&CONDITIONS[0]),
                vitals: vitals_input(&ABNORMAL_VITALS[1], Some("86.4")),
                prescribe: true,
            },
            Visit {
                days_ago: 42,
                condition: by_code("E78.5").unwrap_or(&CONDITIONS[2]),
                vitals: vitals_input(&NORMAL_VITALS[1], Some("85.9")),
                prescribe: true,
            },
            Visit {
                days_ago: 10,
                condition: &chest_infection,
                vitals: vitals_input(&ABNORMAL_VITALS[0], Some("85.2")),
                prescribe: true,
            },
        ];
        let mut written = Vec::new();
        for visit in &john_story {
            written.push(self.demo_visit(&doctor, john, visit, &formulary).await?);
        }
        for (i, visit) in written.iter().enumerate() {
            self.demo_problem(&doctor, visit, i == 2).await?;
        }
        // His allergy, recorded properly at the first visit: the entry transcribed from his
        // paper record ("Penicillin") is replaced by the coded class with the reaction.
        let listed = self.list_allergies(&doctor, john).await?;
        for transcribed in listed.list.active().iter().filter(|a| a.transcribed) {
            self.change_allergy_status(
                &doctor,
                None,
                &transcribed.id,
                AllergyStatusRequest {
                    status: "entered_in_error".into(),
                    reason: Some("recorded again as a coded allergy with the reaction".into()),
                },
            )
            .await?;
        }
        self.record_allergy(
            &doctor,
            john,
            AllergyRequest {
                substance: "penicillins".into(),
                free_text: false,
                reaction: Some("hives and swollen lips".into()),
                severity: "moderate".into(),
                status: String::new(),
            },
        )
        .await?;

        // Synthetic patients: one or two conditions each, two or three visits over the
        // last months; every fifth has an abnormal latest reading.
        let (rows, _) = carevault_store::patients::list(
            self.store().conn(),
            carevault_store::patients::ListOrder::OldestFirst,
            1,
            200,
        )
        .await?;
        let today = self.clinic_today();
        let mut adults = Vec::new();
        for row in rows.iter().filter(|row| row.id != john) {
            let data = self
                .open_row(admin, row, carevault_core::audit::AuditAction::Read)
                .await?;
            if today
                .years_since(data.date_of_birth)
                .is_some_and(|age| age >= CHARTED_MIN_AGE)
            {
                adults.push(row);
            }
        }
        let mut charted = Vec::new();
        for (i, row) in adults.into_iter().take(CHARTED_PATIENTS).enumerate() {
            let id: PatientId = row.id;
            self.assign_care_team_member(admin, id, "drsmith").await?;
            let first = &CONDITIONS[i % CONDITIONS.len()];
            let second = &CONDITIONS[(i * 7 + 3) % CONDITIONS.len()];
            let mut visits = vec![Visit {
                days_ago: 120 - (i as i64 % 30),
                condition: first,
                vitals: vitals_input(&NORMAL_VITALS[i % NORMAL_VITALS.len()], None),
                prescribe: true,
            }];
            if i % 2 == 0 && second.code != first.code {
                visits.push(Visit {
                    days_ago: 60 - (i as i64 % 20),
                    condition: second,
                    vitals: vitals_input(&NORMAL_VITALS[(i + 1) % NORMAL_VITALS.len()], None),
                    prescribe: true,
                });
            }
            let latest = if i % 5 == 0 {
                ABNORMAL_VITALS[i % ABNORMAL_VITALS.len()]
            } else {
                NORMAL_VITALS[(i + 2) % NORMAL_VITALS.len()]
            };
            visits.push(Visit {
                days_ago: 14 - (i as i64 % 10),
                condition: first,
                vitals: vitals_input(&latest, None),
                prescribe: false,
            });
            let mut written = Vec::new();
            for visit in &visits {
                written.push(self.demo_visit(&doctor, id, visit, &formulary).await?);
            }
            for visit in &written {
                self.demo_problem(&doctor, visit, false).await?;
            }
            self.demo_allergies(&doctor, id, i).await?;
            charted.push(id);
        }
        Ok(charted)
    }

    /// Allergies of the charted patient `i`: some coded allergies, some "no known
    /// allergies", and the rest left as they came from registration (transcribed from paper,
    /// or not recorded at all, which the chart says in so many words).
    async fn demo_allergies(
        &self,
        doctor: &Actor,
        patient: PatientId,
        i: usize,
    ) -> Result<(), ServiceError> {
        let coded = [
            ("sulfonamides", "rash", "mild"),
            ("latex", "contact dermatitis", "mild"),
            ("peanut", "anaphylaxis", "severe"),
            ("nsaids", "wheeze", "moderate"),
        ];
        let already = !self
            .list_allergies(doctor, patient)
            .await?
            .list
            .active()
            .is_empty();
        if i % 5 == 1 && !already {
            let (substance, reaction, severity) = coded[(i / 5) % coded.len()];
            self.record_allergy(
                doctor,
                patient,
                AllergyRequest {
                    substance: substance.into(),
                    free_text: false,
                    reaction: Some(reaction.into()),
                    severity: severity.into(),
                    status: String::new(),
                },
            )
            .await?;
        } else if i.is_multiple_of(3) && !already {
            self.record_no_known_allergies(doctor, patient).await?;
        }
        Ok(())
    }

    /// Dr. Smith's day: John and `TODAY_PATIENTS` charted patients from the quarter hour
    /// after the next 45 minutes on, the first `CHECKED_IN_TODAY` checked in. Dr. Smith is on
    /// duty around the clock in the demo so that this works whatever the hour.
    pub(crate) async fn seed_demo_day(
        &self,
        admin: &Actor,
        john: PatientId,
        charted: &[PatientId],
    ) -> Result<(), ServiceError> {
        use crate::scheduling::{BookingInput, StaffProfileInput};
        let doctor = users::find_by_username(self.store().conn(), "drsmith")
            .await?
            .ok_or(ServiceError::NotFound("account"))?;
        let profile = self.staff_member(admin, doctor.id).await?;
        self.update_staff_profile(
            admin,
            doctor.id,
            StaffProfileInput {
                department_id: profile.department_id.map(|d| d.to_string()),
                specialty: profile.specialty,
                work_phone: profile.work_phone,
                working_hours: Some("mon-sun 00:00-23:55".into()),
                active: true,
            },
        )
        .await?;
        let nurse = self.demo_actor("nurse").await?;
        let zone = self.clinic_time_zone();
        let now = self.now().with_timezone(&zone);
        // The quarter hour after the next 45 minutes: the first patients are waiting, and
        // the next few slots stay free for walk-ins (and for the browser tests' bookings).
        let soon = now + Duration::minutes(45);
        let minute = (soon.minute() / 15 + 1) * 15;
        let first = zone
            .with_ymd_and_hms(soon.year(), soon.month(), soon.day(), soon.hour(), 0, 0)
            .earliest()
            .map(|t| t + Duration::minutes(i64::from(minute)))
            .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("no local time")))?;
        let reasons = [
            "Follow-up after chest infection",
            "Blood pressure review",
            "Medication review",
            "Results of blood tests",
            "Breathlessness",
            "Diabetes review",
            "Knee pain",
            "Palpitations",
        ];
        let patients = std::iter::once(john).chain(charted.iter().copied().take(TODAY_PATIENTS));
        for (i, patient) in patients.enumerate() {
            let start = first + Duration::minutes(15 * i as i64);
            let booked = self
                .book_appointment(
                    admin,
                    BookingInput {
                        patient_id: patient.to_string(),
                        clinician_id: doctor.id.to_string(),
                        start: start.to_rfc3339(),
                        reason: reasons[i % reasons.len()].into(),
                        ..BookingInput::default()
                    },
                )
                .await;
            let appointment = match booked {
                Ok(appointment) => appointment,
                // A slot that does not fit (past midnight, say) is simply left empty.
                Err(ServiceError::Validation(_) | ServiceError::Conflict { .. }) => continue,
                Err(other) => return Err(other),
            };
            if i < CHECKED_IN_TODAY {
                // Check-in is for the appointment's own day: one past midnight stays booked.
                match self
                    .change_appointment_status(admin, appointment.id, "checked_in", None)
                    .await
                {
                    Ok(_) => {
                        if let Some(triage) = DEMO_TRIAGE.get(i) {
                            self.record_triage(&nurse, &appointment.id.to_string(), triage)
                                .await?;
                        }
                    }
                    Err(ServiceError::Validation(_) | ServiceError::Conflict { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        Ok(())
    }
}
