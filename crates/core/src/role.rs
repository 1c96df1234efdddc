//! The seven roles a Carevault account can have.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A user's role. Exactly one per account; it decides the default permissions
/// ([`crate::permission`]) and the navigation the web UI shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Doctor,
    Nurse,
    Receptionist,
    Pharmacist,
    Patient,
    Auditor,
}

impl Role {
    /// Every role, in the order the permission matrix lists them.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Doctor,
        Role::Nurse,
        Role::Receptionist,
        Role::Pharmacist,
        Role::Patient,
        Role::Auditor,
    ];

    /// The stable lowercase name used in the database, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Doctor => "doctor",
            Role::Nurse => "nurse",
            Role::Receptionist => "receptionist",
            Role::Pharmacist => "pharmacist",
            Role::Patient => "patient",
            Role::Auditor => "auditor",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Doctor => "Doctor",
            Role::Nurse => "Nurse",
            Role::Receptionist => "Receptionist",
            Role::Pharmacist => "Pharmacist",
            Role::Patient => "Patient",
            Role::Auditor => "Auditor",
        }
    }

    /// Staff roles work for the hospital; a patient account only ever sees its own record.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Patient)
    }

    /// Roles listed in the staff directory (with a staff profile and a department).
    pub fn in_staff_directory(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Doctor | Role::Nurse | Role::Receptionist | Role::Pharmacist
        )
    }

    /// Roles that hold a schedule of their own (appointments are booked with them).
    pub fn holds_a_schedule(self) -> bool {
        matches!(self, Role::Doctor | Role::Nurse)
    }

    /// Roles a patient can ask for an appointment with, and find in "Our doctors".
    pub fn takes_patient_requests(self) -> bool {
        matches!(self, Role::Doctor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("must be one of: {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
