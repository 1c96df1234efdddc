//! One mechanism for status graphs: a status type's allowed moves are data, a transitions
//! table with one row per status (in the type's `ALL` order) listing the statuses it may move
//! to; `status_graph!` turns that table into the same methods on every status type, and a
//! refused move is one error type, [`TransitionError`].
//!
//! ```text
//! pub const TRANSITIONS: [(InvoiceStatus, &[InvoiceStatus]); 5] = [
//!     (Draft, &[Issued, Void]),
//!     ...
//! ];
//! status_graph!(InvoiceStatus, "invoice", TRANSITIONS);
//! ```
//!
//! gives `InvoiceStatus::allowed_next`, `is_final`, `can_transition_to` and `transition_to`.
//! Staying in the same status is never a transition (no row lists its own status). A table
//! whose rows are not one per status in `ALL` order does not compile.
//!
//! Used by appointments, encounters, prescriptions, invoices, notification deliveries,
//! allergy entries and problems.

use std::fmt;

/// Generates the status-graph methods of a status type (a `text_choice!` enum) from its
/// transition table: `allowed_next`, `is_final`, `can_transition_to`, `transition_to`. The
/// noun names the thing in refusals ("a paid invoice is final").
macro_rules! status_graph {
    ($name:ident, $noun:literal, $table:ident) => {
        // The table has one row per status, in `ALL` order (checked when compiling).
        const _: () = {
            assert!(
                $table.len() == $name::ALL.len(),
                concat!(stringify!($table), " needs one row per status")
            );
            let mut i = 0;
            while i < $table.len() {
                assert!(
                    $table[i].0 as usize == $name::ALL[i] as usize,
                    concat!(
                        stringify!($table),
                        " rows must follow ",
                        stringify!($name),
                        "::ALL"
                    )
                );
                i += 1;
            }
        };

        impl $name {
            /// The statuses this one may move to, in the order of the transition table.
            pub fn allowed_next(self) -> &'static [$name] {
                $table
                    .iter()
                    .find(|(status, _)| *status == self)
                    .map_or(&[], |(_, next)| *next)
            }

            /// Whether this status can never change again.
            pub fn is_final(self) -> bool {
                self.allowed_next().is_empty()
            }

            /// Whether a move to `to` is allowed. Staying put is not a transition.
            pub fn can_transition_to(self, to: $name) -> bool {
                self.allowed_next().contains(&to)
            }

            /// Checks the move to `to`, returning the new status.
            pub fn transition_to(
                self,
                to: $name,
            ) -> Result<$name, $crate::status::TransitionError<$name>> {
                if self.can_transition_to(to) {
                    Ok(to)
                } else {
                    Err($crate::status::TransitionError::new(
                        $noun,
                        self,
                        to,
                        self.allowed_next(),
                    ))
                }
            }
        }
    };
}

/// A refused status change. Its message names the current status and what it may become:
/// "cannot go from scheduled to completed: from scheduled it can go to: checked_in,
/// cancelled, no_show", or "cannot go from completed to active: a completed prescription is
/// final".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionError<S: 'static> {
    noun: &'static str,
    from: S,
    to: S,
    allowed: &'static [S],
}

impl<S: Copy> TransitionError<S> {
    /// A refusal of the move `from → to` of a `noun`, where `from` may only go to `allowed`.
    /// Made by `status_graph!`'s `transition_to`.
    pub fn new(noun: &'static str, from: S, to: S, allowed: &'static [S]) -> Self {
        TransitionError {
            noun,
            from,
            to,
            allowed,
        }
    }

    /// The current status.
    pub fn from(&self) -> S {
        self.from
    }

    /// The status asked for.
    pub fn to(&self) -> S {
        self.to
    }

    /// What the current status may become instead (empty when it is final).
    pub fn allowed(&self) -> &'static [S] {
        self.allowed
    }
}

impl<S: fmt::Display> fmt::Display for TransitionError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot go from {} to {}: ", self.from, self.to)?;
        if self.allowed.is_empty() {
            write!(f, "a {} {} is final", self.from, self.noun)
        } else {
            let names: Vec<String> = self.allowed.iter().map(ToString::to_string).collect();
            write!(f, "from {} it can go to: {}", self.from, names.join(", "))
        }
    }
}

impl<S: fmt::Debug + fmt::Display> std::error::Error for TransitionError<S> {}

/// Test support: `assert_status_matrix!(InvoiceStatus, ["x . x", ...])` checks the graph of a
/// `status_graph!` type against an explicit matrix (see [`assert_matrix`]).
#[cfg(test)]
macro_rules! assert_status_matrix {
    ($name:ty, [$($row:literal),* $(,)?]) => {
        $crate::status::assert_matrix(
            <$name>::ALL,
            &[$($row),*],
            <$name>::can_transition_to,
            <$name>::transition_to,
            <$name>::allowed_next,
            <$name>::is_final,
        )
    };
}

/// Test support: checks a status graph against an explicit matrix. `expected` has one row
/// per status of `all` (in that order) and one character per target status, again in `all`
/// order: `x` for an allowed move, `.` for a refused one (spaces are ignored). Every pair is
/// checked through `can_transition_to`, `transition_to` (its result, and a refusal's `from`,
/// `to` and `allowed`), `allowed_next` and `is_final`.
#[cfg(test)]
pub(crate) fn assert_matrix<S>(
    all: &[S],
    expected: &[&str],
    can: impl Fn(S, S) -> bool,
    transition: impl Fn(S, S) -> Result<S, TransitionError<S>>,
    allowed_next: impl Fn(S) -> &'static [S],
    is_final: impl Fn(S) -> bool,
) where
    S: Copy + PartialEq + fmt::Debug + fmt::Display + 'static,
{
    assert_eq!(expected.len(), all.len(), "one matrix row per status");
    for (&from, row) in all.iter().zip(expected) {
        let cells: Vec<char> = row.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(cells.len(), all.len(), "row of {from}: one cell per status");
        let mut next = Vec::new();
        for (&to, cell) in all.iter().zip(cells) {
            let allowed = match cell {
                'x' => true,
                '.' => false,
                other => panic!("row of {from}: unexpected cell {other:?}"),
            };
            if allowed {
                next.push(to);
            }
            assert_eq!(can(from, to), allowed, "{from} -> {to}");
            match transition(from, to) {
                Ok(status) => {
                    assert!(allowed, "{from} -> {to} was allowed");
                    assert_eq!(status, to);
                }
                Err(refusal) => {
                    assert!(!allowed, "{from} -> {to} was refused: {refusal}");
                    assert_eq!(refusal.from(), from);
                    assert_eq!(refusal.to(), to);
                    assert_eq!(refusal.allowed(), allowed_next(from));
                }
            }
        }
        let listed = allowed_next(from);
        assert!(
            listed.len() == next.len() && listed.iter().all(|s| next.contains(s)),
            "{from}: allowed_next is {listed:?}, the matrix says {next:?}"
        );
        assert_eq!(is_final(from), next.is_empty(), "{from}: is_final");
    }
}
