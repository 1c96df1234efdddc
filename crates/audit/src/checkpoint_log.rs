//! The checkpoint log file kept outside the database: signed checkpoint notes
//! appended one after another.
//!
//! # File format
//!
//! The file is UTF-8 text made of records. Each record is one complete signed
//! note (see [`crate::checkpoint`]) followed by one empty line:
//!
//! ```text
//! <origin>\n<size>\n<root base64>\n\n— <key name> <signature base64>\n\n
//! <origin>\n<size>\n<root base64>\n\n— <key name> <signature base64>\n\n
//! ...
//! ```
//!
//! A writer appends [`checkpoint_log_record`]`(note)` in a single append-mode
//! write and syncs the file. When reading, a record runs from its first body
//! line to the empty line after its last signature line (`— ` lines); extra
//! empty lines between records and a missing final empty line are tolerated,
//! anything else (a note cut short, a record not followed by an empty line, a
//! note without signature lines) is reported for that record and reading
//! resumes at the next line, so one damaged record does not hide the others.
//!
//! Records are numbered from 1 in file order; their label is
//! `checkpoint #<number> (file line <first line of the record>)`.

use thiserror::Error;

use crate::checkpoint::{CheckpointError, CheckpointVerifier};
use crate::verify::TrustedCheckpoint;

/// Prefix of signature lines in signed notes.
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// The text to append to the checkpoint log for one signed note: the note
/// followed by an empty line.
#[must_use]
pub fn checkpoint_log_record(note: &str) -> String {
    format!("{note}\n")
}

/// One record of a checkpoint log file, not yet opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointLogRecord<'a> {
    /// Position in the file, from 1.
    pub number: usize,
    /// Line of the file where the record starts, from 1.
    pub line: usize,
    /// The signed note, exactly as in the file (ends with the newline of its
    /// last signature line).
    pub note: &'a str,
}

impl CheckpointLogRecord<'_> {
    /// `checkpoint #<number> (file line <line>)`.
    #[must_use]
    pub fn label(&self) -> String {
        record_label(self.number, self.line)
    }
}

fn record_label(number: usize, line: usize) -> String {
    format!("checkpoint #{number} (file line {line})")
}

/// A record of the checkpoint log that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointLogError {
    /// The record does not follow the file format.
    #[error("{record}: {reason}")]
    Malformed {
        /// The record's label.
        record: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The record's note was rejected (malformed, unknown key, bad signature).
    #[error("{record}: {source}")]
    Note {
        /// The record's label.
        record: String,
        /// Why the note was rejected.
        source: CheckpointError,
    },
    /// The checkpoint is validly signed but for another log.
    #[error("{record}: checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// The record's label.
        record: String,
        /// Origin the caller expects.
        expected: String,
        /// Origin in the checkpoint.
        found: String,
    },
}

/// Line reader over `text` that keeps byte offsets and line numbers.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

/// One line: its content (without newline) and whether a newline ended it.
struct Line<'a> {
    content: &'a str,
    terminated: bool,
}

impl<'a> Lines<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        let rest = self.text.get(self.pos..).filter(|rest| !rest.is_empty())?;
        Some(match rest.find('\n') {
            Some(end) => Line {
                content: &rest[..end],
                terminated: true,
            },
            None => Line {
                content: rest,
                terminated: false,
            },
        })
    }

    fn advance(&mut self, line: &Line<'_>) {
        self.pos += line.content.len() + usize::from(line.terminated);
        self.line += 1;
    }
}

/// Splits a checkpoint log file into its records (see the module documentation).
#[must_use]
pub fn split_checkpoint_log(
    text: &str,
) -> Vec<Result<CheckpointLogRecord<'_>, CheckpointLogError>> {
    let mut lines = Lines {
        text,
        pos: 0,
        line: 1,
    };
    let mut records = Vec::new();
    let mut number = 0;
    loop {
        // Skip empty lines between records.
        while let Some(line) = lines.peek().filter(|l| l.content.is_empty()) {
            lines.advance(&line);
        }
        if lines.peek().is_none() {
            break;
        }
        number += 1;
        let (start, start_line) = (lines.pos, lines.line);
        let malformed = |reason| CheckpointLogError::Malformed {
            record: record_label(number, start_line),
            reason,
        };
        records.push(
            read_record(&mut lines)
                .map_err(malformed)
                .map(|end| CheckpointLogRecord {
                    number,
                    line: start_line,
                    note: &text[start..end],
                }),
        );
    }
    records
}

/// Reads one record starting at a non-empty line; returns the end offset of its note.
fn read_record(lines: &mut Lines<'_>) -> Result<usize, &'static str> {
    // Body: non-empty lines up to an empty line.
    loop {
        let Some(line) = lines.peek() else {
            return Err("note is cut short before its signatures");
        };
        if !line.terminated {
            lines.advance(&line);
            return Err("note is cut short (no final newline)");
        }
        if line.content.starts_with(SIGNATURE_LINE_PREFIX) {
            skip_signature_lines(lines);
            return Err("signature line without an empty line before it");
        }
        lines.advance(&line);
        if line.content.is_empty() {
            break;
        }
    }
    // Signature lines.
    let mut end = None;
    while let Some(line) = lines.peek() {
        if !line.content.starts_with(SIGNATURE_LINE_PREFIX) {
            break;
        }
        lines.advance(&line);
        if !line.terminated {
            return Err("signature line is cut short (no final newline)");
        }
        end = Some(lines.pos);
    }
    let Some(end) = end else {
        return Err("note has no signature lines");
    };
    match lines.peek() {
        None => Ok(end),
        Some(line) if line.content.is_empty() => {
            lines.advance(&line);
            Ok(end)
        }
        Some(_) => Err("note is not followed by an empty line"),
    }
}

fn skip_signature_lines(lines: &mut Lines<'_>) {
    while let Some(line) = lines.peek() {
        if !line.content.starts_with(SIGNATURE_LINE_PREFIX) {
            break;
        }
        lines.advance(&line);
    }
}

/// Splits a checkpoint log, opens every note with `verifier` and checks its
/// origin, giving one result per record in file order. The successful ones
/// can be passed to [`crate::verify`] as trusted checkpoints.
#[must_use]
pub fn open_checkpoint_log(
    text: &str,
    verifier: &CheckpointVerifier,
    expected_origin: &str,
) -> Vec<Result<TrustedCheckpoint, CheckpointLogError>> {
    split_checkpoint_log(text)
        .into_iter()
        .map(|record| {
            let record = record?;
            let label = record.label();
            let checkpoint =
                verifier
                    .open(record.note)
                    .map_err(|source| CheckpointLogError::Note {
                        record: label.clone(),
                        source,
                    })?;
            if checkpoint.origin() != expected_origin {
                return Err(CheckpointLogError::WrongOrigin {
                    record: label,
                    expected: expected_origin.to_owned(),
                    found: checkpoint.origin().to_owned(),
                });
            }
            Ok(TrustedCheckpoint::from_checkpoint(label, &checkpoint))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const NOTE_A: &str = "o\n1\nAAAA\n\n\u{2014} k AAAA\n";
    const NOTE_B: &str = "o\n2\nBBBB\n\n\u{2014} k BBBB\n\u{2014} j CCCC\n";

    fn notes(text: &str) -> Vec<Result<(usize, usize, &str), &'static str>> {
        split_checkpoint_log(text)
            .into_iter()
            .map(|r| {
                r.map(|r| (r.number, r.line, r.note)).map_err(|e| match e {
                    CheckpointLogError::Malformed { reason, .. } => reason,
                    _ => "other",
                })
            })
            .collect()
    }

    #[test]
    fn splits_well_formed_file() {
        let text = format!(
            "{}{}",
            checkpoint_log_record(NOTE_A),
            checkpoint_log_record(NOTE_B)
        );
        assert_eq!(notes(&text), vec![Ok((1, 1, NOTE_A)), Ok((2, 7, NOTE_B))]);
        assert_eq!(notes(""), vec![]);
        // Final empty line missing, extra empty lines between records.
        let text = format!("\n{NOTE_A}\n\n\n{NOTE_B}");
        assert_eq!(notes(&text), vec![Ok((1, 2, NOTE_A)), Ok((2, 10, NOTE_B))]);
    }

    #[test]
    fn reports_damaged_records_and_resumes() {
        // Cut-short last record.
        let text = format!("{NOTE_A}\no\n3\nCC");
        assert_eq!(
            notes(&text),
            vec![
                Ok((1, 1, NOTE_A)),
                Err("note is cut short (no final newline)")
            ]
        );
        let text = format!("{NOTE_A}\no\n3\nCCCC\n\n\u{2014} k CC");
        assert_eq!(
            notes(&text)[1],
            Err("signature line is cut short (no final newline)")
        );
        let text = format!("{NOTE_A}\no\n3\nCCCC\n");
        assert_eq!(
            notes(&text)[1],
            Err("note is cut short before its signatures")
        );
        // Missing separator: the first record is reported, the second still read.
        let text = format!("{NOTE_A}{NOTE_B}");
        assert_eq!(
            notes(&text),
            vec![
                Err("note is not followed by an empty line"),
                Ok((2, 6, NOTE_B))
            ]
        );
        // No signature lines.
        let text = format!("o\n1\nAAAA\n\n\n{NOTE_B}");
        assert_eq!(notes(&text)[0], Err("note has no signature lines"));
        assert_eq!(notes(&text)[1], Ok((2, 6, NOTE_B)));
        // Signature right after the body.
        let text = format!("o\n1\nAAAA\n\u{2014} k AAAA\n\n{NOTE_B}");
        assert_eq!(
            notes(&text),
            vec![
                Err("signature line without an empty line before it"),
                Ok((2, 6, NOTE_B))
            ]
        );
    }
}
