//! The pure rules of scheduling: appointment statuses and the transitions allowed between
//! them, appointment types, validated time slots, a clinician's weekly working hours, the
//! slot keys that let the database refuse double bookings, and the search for the next free
//! slots. No I/O, no clock: "now" is always passed in.
//!
//! Decisions recorded here:
//!
//! - **Transitions.** `requested → scheduled | cancelled` (declining a request is cancelling
//!   it); `scheduled → checked_in | cancelled | no_show`; `checked_in → in_progress |
//!   cancelled` (a patient who checked in and then left did show up, so that is a
//!   cancellation, not a no-show); `in_progress → completed`; `completed`, `cancelled` and
//!   `no_show` are final. Rescheduling changes a slot, not a status, and is not a transition.
//! - **Which appointments hold their slot** ([`is_active`]): `scheduled`, `checked_in`,
//!   `in_progress` and `completed`. A `requested` appointment does not: it is a wish until
//!   reception or the clinician accepts it into a free slot. A completed appointment keeps its
//!   slot even if it ended early (that was used time, and its slot keys need not be released
//!   on completion). `cancelled` and `no_show` free the slot.
//! - **Time zones.** Input instants are RFC 3339 with an explicit offset and are stored in
//!   UTC. Working hours are in the clinic's local time, given as one
//!   [`FixedOffset`](chrono::FixedOffset) that the hospital configures. Daylight-saving
//!   changes are the caller's concern for now (pass the offset in force for the dates asked
//!   about).
//! - **Slots** are half-open intervals `[start, end)` on a 5-minute grid
//!   ([`SLOT_GRANULARITY_MINUTES`]) of UTC time, between 5 minutes and 12 hours long, so
//!   back-to-back appointments do not overlap.
//!
//! One file per concept, everything re-exported here (`appointment::TimeSlot`): `status.rs`
//! (statuses, their graph, and the appointment types), `slot.rs` (a validated time slot and
//! its slot keys), `hours.rs` (weekly working hours) and `free_slots.rs` (the search for the
//! next free slots).

mod free_slots;
mod hours;
mod slot;
mod status;

#[cfg(test)]
mod test_support;

pub use free_slots::*;
pub use hours::*;
pub use slot::*;
pub use status::*;
