//! The problem list: a patient's conditions over time (an ICD-10-CM code or free text
//! flagged as such), each with its onset and whether it is still active.

text_choice!(
    /// Whether a problem is current.
    ProblemStatus, "the problem statuses" {
        Active => "active",
        Resolved => "resolved",
    }
);
