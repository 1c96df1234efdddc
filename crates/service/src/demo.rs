//! Demo mode: the accounts of the source documents, created only by `serve --demo` on an
//! empty database, which is then marked as demo data for good. A database so marked is
//! refused by a server started without `--demo`, so the well-known demo passwords can never
//! guard real patients.

use carevault_store::{settings, users};
use secrecy::SecretString;

use crate::Services;
use crate::error::ServiceError;
use crate::users::NewAccount;

/// The demo accounts: username, password, role, display name.
pub const DEMO_ACCOUNTS: [(&str, &str, &str, &str); 7] = [
    ("admin", "admin123", "admin", "Ada Admin"),
    ("drsmith", "doctor123", "doctor", "Dr. Sarah Smith"),
    ("nurse", "nurse123", "nurse", "Nadia Nurse"),
    ("reception", "staff123", "receptionist", "Rita Reception"),
    ("pharma", "pharmacy123", "pharmacist", "Paul Pharmacist"),
    ("john", "patient123", "patient", "John Patient"),
    ("auditor", "audit123", "auditor", "Aude Auditor"),
];

/// The demo departments: code, name, location, default slot length in minutes. The first
/// is the demo clinicians' department.
pub const DEMO_DEPARTMENTS: [(&str, &str, &str, u32); 3] = [
    ("GEN", "General Medicine", "Building A, ground floor", 15),
    ("CARD", "Cardiology", "Building B, first floor", 30),
    ("PAED", "Paediatrics", "Building A, second floor", 20),
];

/// What `seed_demo` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoSeed {
    /// The database was empty; the demo accounts now exist.
    Created,
    /// The database already holds demo data; nothing changed.
    AlreadyDemo,
    /// The database holds real accounts; demo mode will not touch it.
    RefusedRealData,
}

/// A drug of the demo formulary and its batches: (number, expiry in days, units, unit cost).
struct DemoDrug {
    name: &'static str,
    generic: &'static str,
    form: &'static str,
    strength: &'static str,
    reorder: &'static str,
    batches: &'static [(&'static str, u64, u32, &'static str)],
}

/// The demo formulary: amoxicillin has a batch expiring within the window and metformin is
/// below its reorder level, so the pharmacy's alerts have something to show; the rest are
/// what the demo's charts prescribe for long-term conditions.
const DEMO_FORMULARY: [DemoDrug; 11] = [
    DemoDrug {
        name: "Paracetamol",
        generic: "paracetamol",
        form: "tablet",
        strength: "500 mg",
        reorder: "100",
        batches: &[("PA-2611", 400, 500, "0.02")],
    },
    DemoDrug {
        name: "Amoxicillin",
        generic: "amoxicillin",
        form: "capsule",
        strength: "500 mg",
        reorder: "50",
        batches: &[("AM-2609", 20, 60, "0.12"), ("AM-2703", 200, 100, "0.11")],
    },
    DemoDrug {
        name: "Metformin",
        generic: "metformin",
        form: "tablet",
        strength: "500 mg",
        reorder: "100",
        batches: &[("ME-2701", 300, 40, "0.05")],
    },
    DemoDrug {
        name: "Ibuprofen",
        generic: "ibuprofen",
        form: "tablet",
        strength: "400 mg",
        reorder: "50",
        batches: &[("IB-2702", 250, 300, "0.04")],
    },
    DemoDrug {
        name: "Amlodipine",
        generic: "amlodipine",
        form: "tablet",
        strength: "5 mg",
        reorder: "200",
        batches: &[("AL-2705", 320, 4000, "0.03")],
    },
    DemoDrug {
        name: "Atorvastatin",
        generic: "atorvastatin",
        form: "tablet",
        strength: "20 mg",
        reorder: "200",
        batches: &[("AT-2706", 340, 4000, "0.05")],
    },
    DemoDrug {
        name: "Levothyroxine",
        generic: "levothyroxine",
        form: "tablet",
        strength: "50 micrograms",
        reorder: "200",
        batches: &[("LE-2704", 280, 3000, "0.04")],
    },
    DemoDrug {
        name: "Omeprazole",
        generic: "omeprazole",
        form: "capsule",
        strength: "20 mg",
        reorder: "200",
        batches: &[("OM-2707", 360, 3000, "0.03")],
    },
    DemoDrug {
        name: "Salbutamol",
        generic: "salbutamol",
        form: "inhaler",
        strength: "100 micrograms per dose",
        reorder: "10",
        batches: &[("SA-2703", 300, 60, "1.50")],
    },
    DemoDrug {
        name: "Apixaban",
        generic: "apixaban",
        form: "tablet",
        strength: "5 mg",
        reorder: "200",
        batches: &[("AP-2708", 380, 3000, "0.90")],
    },
    DemoDrug {
        name: "Doxycycline",
        generic: "doxycycline",
        form: "capsule",
        strength: "100 mg",
        reorder: "50",
        batches: &[("DO-2702", 260, 400, "0.10")],
    },
];

impl Services {
    /// Whether this database was created in demo mode.
    pub async fn holds_demo_data(&self) -> Result<bool, ServiceError> {
        Ok(settings::get(self.store().conn(), settings::DEMO_DATA)
            .await?
            .as_deref()
            == Some("true"))
    }

    /// Creates the demo accounts on an empty database.
    pub async fn seed_demo(&self) -> Result<DemoSeed, ServiceError> {
        if self.holds_demo_data().await? {
            return Ok(DemoSeed::AlreadyDemo);
        }
        if users::count(self.store().conn()).await? > 0 {
            return Ok(DemoSeed::RefusedRealData);
        }
        // Mark first: if seeding stops half-way, the database is still known to be demo.
        settings::set(self.store().conn(), settings::DEMO_DATA, "true").await?;
        let operator = self.console_operator();
        for (username, password, role, display_name) in DEMO_ACCOUNTS {
            self.create_account(
                &operator,
                NewAccount {
                    username: username.into(),
                    display_name: display_name.into(),
                    role: role.into(),
                    password: SecretString::from(password),
                },
            )
            .await?;
        }
        self.seed_demo_scheduling().await?;
        self.seed_demo_patients(&operator).await?;
        Ok(DemoSeed::Created)
    }

    /// The demo's patients: John Patient (linked to the `john` account, with Dr. Smith and
    /// the demo nurse on his care team) and a few hundred synthetic ones.
    async fn seed_demo_patients(&self, operator: &crate::Actor) -> Result<(), ServiceError> {
        use crate::patients::{Change, PatientInput, Registration};
        let admin = self.demo_admin().await?;
        let set = |value: &str| Change::Set(value.to_owned());
        let john = PatientInput {
            given_name: set("John"),
            family_name: set("Patient"),
            date_of_birth: set("1978-04-12"),
            sex: set("male"),
            address: set("14 Mill Lane, Riverton RV3 4AB"),
            phone: set("07700 900461"),
            email: set("john.patient@example.org"),
            preferred_language: set("English"),
            blood_group: set("O+"),
            allergies: set("Penicillin"),
            primary_diagnosis: set("Essential hypertension"),
            ..PatientInput::default()
        };
        let Registration::Registered(details) = self.register_patient(&admin, john, true).await?
        else {
            return Err(ServiceError::internal(anyhow::anyhow!(
                "demo patient not registered"
            )));
        };
        self.link_patient_account(&admin, details.id, "john")
            .await?;
        for clinician in ["drsmith", "nurse"] {
            self.assign_care_team_member(&admin, details.id, clinician)
                .await?;
        }
        let synthetic = self.settings().patients.demo_synthetic_patients;
        self.seed_synthetic_patients(operator, synthetic, Some(2026))
            .await?;
        if synthetic > 0 {
            self.seed_demo_appointments(&admin, details.id).await?;
            self.seed_demo_pharmacy_and_billing(&admin, details.id)
                .await?;
            let charted = self.seed_demo_charts(&admin, details.id).await?;
            self.seed_demo_day(&admin, details.id, &charted).await?;
        }
        Ok(())
    }

    /// The demo's price list, a small formulary with stock (one drug below its reorder
    /// level, one batch expiring soon, so the alerts show) and an issued invoice for John.
    /// Skipped with the appointments when the demo has no synthetic patients (the tests).
    async fn seed_demo_pharmacy_and_billing(
        &self,
        admin: &crate::Actor,
        john: carevault_core::PatientId,
    ) -> Result<(), ServiceError> {
        use crate::billing::{LineRequest, PriceInput};
        use crate::pharmacy::{DrugInput, ReceiptRequest};
        let some = |v: &str| Some(v.to_owned());
        let prices = [
            (
                "CONS",
                "consultation",
                "Consultation",
                some("consultation"),
                some("40.00"),
                None,
            ),
            (
                "FOLLOW",
                "consultation",
                "Follow-up visit",
                some("follow_up"),
                some("25.00"),
                None,
            ),
            (
                "PROC",
                "consultation",
                "Procedure appointment",
                some("procedure"),
                some("80.00"),
                None,
            ),
            (
                "DRESS",
                "procedure",
                "Wound dressing",
                None,
                some("12.50"),
                None,
            ),
            (
                "DRUGS",
                "drug",
                "Medicines (cost + 30 %)",
                None,
                None,
                some("30"),
            ),
        ];
        for (code, kind, label, appointment_type, fixed_price, markup_percent) in prices {
            self.save_price(
                admin,
                None,
                PriceInput {
                    code: code.into(),
                    kind: kind.into(),
                    label: label.into(),
                    appointment_type,
                    drug_id: None,
                    fixed_price,
                    markup_percent,
                    tax_rate: None,
                    active: true,
                },
            )
            .await?;
        }
        let today = self.clinic_today();
        let in_days = |days: u64| {
            today
                .checked_add_days(chrono::Days::new(days))
                .unwrap_or(today)
                .format("%Y-%m-%d")
                .to_string()
        };
        for DemoDrug {
            name,
            generic,
            form,
            strength,
            reorder,
            batches,
        } in DEMO_FORMULARY
        {
            let drug = self
                .create_drug(
                    admin,
                    DrugInput {
                        name: name.into(),
                        generic_name: generic.into(),
                        form: form.into(),
                        strength: strength.into(),
                        unit: form.into(),
                        atc_code: None,
                        reorder_level: reorder.into(),
                        reorder_quantity: "500".into(),
                        active: true,
                    },
                )
                .await?;
            for (batch, days, units, cost) in batches {
                self.receive_stock(
                    admin,
                    ReceiptRequest {
                        drug_id: drug.id.clone(),
                        supplier: "Riverton Pharma Supplies".into(),
                        batch_number: (*batch).into(),
                        expiry: in_days(*days),
                        quantity: units.to_string(),
                        unit_cost: (*cost).into(),
                    },
                )
                .await?;
            }
        }
        let (invoice, _) = self.open_invoice(admin, &john.to_string()).await?;
        let line = |description: &str, price: &str| LineRequest {
            description: description.into(),
            quantity: "1".into(),
            unit_price: price.into(),
            ..LineRequest::default()
        };
        self.add_invoice_line(admin, &invoice.summary.id, line("Consultation", "40.00"))
            .await?;
        self.add_invoice_line(admin, &invoice.summary.id, line("Blood test", "18.50"))
            .await?;
        self.issue_invoice(admin, &invoice.summary.id).await?;
        Ok(())
    }

    /// A week of Dr. Smith's appointments for the demo calendar: on each of the next five
    /// weekdays, four synthetic patients at 09:00, 09:30, 14:00 and 14:30 (clinic time), and
    /// John Patient a week from today at 11:00. Skipped when the demo has no synthetic
    /// patients (as in the tests), so that tests start with an empty schedule.
    async fn seed_demo_appointments(
        &self,
        admin: &crate::Actor,
        john: carevault_core::PatientId,
    ) -> Result<(), ServiceError> {
        use crate::scheduling::BookingInput;
        use carevault_store::patients::{ListOrder, list};
        use chrono::{Datelike, Days, NaiveTime, TimeZone, Weekday};
        let doctor = users::find_by_username(self.store().conn(), "drsmith")
            .await?
            .ok_or(ServiceError::NotFound("account"))?;
        let (rows, _) = list(self.store().conn(), ListOrder::OldestFirst, 1, 20).await?;
        let mut patients = rows.into_iter().map(|row| row.id);
        let zone = self.clinic_time_zone();
        let today = self.clinic_today();
        let at = |date: chrono::NaiveDate, hour: u32, minute: u32| {
            let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default();
            zone.from_local_datetime(&date.and_time(time))
                .earliest()
                .map(|t| t.to_rfc3339())
        };
        let reasons = [
            "Blood pressure review",
            "Persistent cough",
            "Medication review",
            "Follow-up of blood tests",
        ];
        let mut bookings = Vec::new();
        let mut day = today;
        let mut weekdays = 0;
        while weekdays < 5 {
            day = day.checked_add_days(Days::new(1)).unwrap_or(day);
            if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                continue;
            }
            weekdays += 1;
            for (i, (hour, minute)) in [(9, 0), (9, 30), (14, 0), (14, 30)].into_iter().enumerate()
            {
                if let (Some(start), Some(patient)) = (at(day, hour, minute), patients.next()) {
                    bookings.push((patient, start, reasons[i % reasons.len()]));
                }
            }
        }
        if let Some(start) = today
            .checked_add_days(Days::new(7))
            .and_then(|d| at(d, 11, 0))
        {
            bookings.push((john, start, "Annual check-up"));
        }
        for (patient, start, reason) in bookings {
            let booked = self
                .book_appointment(
                    admin,
                    BookingInput {
                        patient_id: patient.to_string(),
                        clinician_id: doctor.id.to_string(),
                        start,
                        reason: reason.into(),
                        ..BookingInput::default()
                    },
                )
                .await;
            // A day outside the demo doctor's hours (a holiday) is simply left empty.
            if let Err(err) = booked
                && !matches!(err, ServiceError::Validation(_))
            {
                return Err(err);
            }
        }
        Ok(())
    }

    /// The demo's departments, and directory entries for its staff: Dr. Smith (general
    /// medicine, weekdays 08:00–17:00 with a lunch break) and the nurse.
    async fn seed_demo_scheduling(&self) -> Result<(), ServiceError> {
        use crate::scheduling::{DepartmentInput, StaffProfileInput};
        let admin = self.demo_admin().await?;
        let mut general = None;
        for (code, name, location, minutes) in DEMO_DEPARTMENTS {
            let department = self
                .create_department(
                    &admin,
                    DepartmentInput {
                        code: code.into(),
                        name: name.into(),
                        location: location.into(),
                        slot_minutes: Some(minutes.to_string()),
                        active: true,
                    },
                )
                .await?;
            general.get_or_insert(department.id);
        }
        let profiles = [
            (
                "drsmith",
                "General practice",
                "+44 20 7946 0101",
                "mon-fri 08:00-12:00,13:00-17:00",
            ),
            (
                "nurse",
                "Practice nursing",
                "+44 20 7946 0102",
                "mon-fri 08:00-16:00",
            ),
        ];
        for (username, specialty, phone, hours) in profiles {
            let user = users::find_by_username(self.store().conn(), username)
                .await?
                .ok_or(ServiceError::NotFound("account"))?;
            self.update_staff_profile(
                &admin,
                user.id,
                StaffProfileInput {
                    department_id: general.map(|id| id.to_string()),
                    specialty: Some(specialty.into()),
                    work_phone: Some(phone.into()),
                    working_hours: Some(hours.into()),
                    active: true,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// The demo administrator acting (for seeding through the same paths a person uses).
    async fn demo_admin(&self) -> Result<crate::Actor, ServiceError> {
        let user = users::find_by_username(self.store().conn(), "admin")
            .await?
            .ok_or(ServiceError::NotFound("account"))?;
        Ok(crate::Actor::seeding(
            user.id,
            user.username,
            &user.display_name,
            user.role,
        ))
    }

    /// How many accounts exist (to tell a first-run operator how to create the first one).
    pub async fn account_count(&self) -> Result<u64, ServiceError> {
        Ok(users::count(self.store().conn()).await?)
    }
}
