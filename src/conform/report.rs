//! What the suite prints: one line per case as it finishes, the transcript
//! of each failure, a summary per group; `--json`, one object per case
//! (JSON Lines, for grading scripts). The class's (`--class`) are
//! `class.rs`'s.
//!
//! Everything that came from the server under test is shown through
//! [`crate::display::visible`] (the transcript already is): a student's
//! server cannot drive the teacher's terminal.

use std::fmt::Write as _;

use std::path::Path;

use super::wire::{Dir, TranscriptLine};
use super::{CaseOutcome, Group, Status};
use crate::error::Error;

/// The line of a case in the text report, and its transcript if it failed.
pub fn text(outcome: &CaseOutcome) -> String {
    let mut out = String::new();
    let (word, why) = match &outcome.status {
        Status::Pass => ("pass", String::new()),
        Status::Fail(_) => ("FAIL", String::new()),
        Status::Skip(why) => ("skip", format!(" ({why})")),
    };
    let _ = writeln!(out, "{word}  {:<48} {:<28} {:>6} ms{why}", outcome.id, outcome.section, outcome.ms);
    if let Status::Fail(failure) = &outcome.status {
        let _ = writeln!(out, "      expected: {}", crate::display::visible(&failure.expected));
        let _ = writeln!(out, "      got:      {}", crate::display::visible(&failure.got));
        let _ = writeln!(out, "      frames (ms; > sent by the suite, < received, -- what happened):");
        for line in &outcome.transcript {
            let _ = writeln!(out, "      {}", transcript_line(line));
        }
    }
    out
}

fn transcript_line(line: &TranscriptLine) -> String {
    let dir = match line.dir {
        Dir::Sent => ">",
        Dir::Got => "<",
        Dir::Note => "--",
    };
    format!("{:>6}  {:<10} {dir} {}", line.at_ms, line.conn, line.text)
}

/// Passed, failed, skipped.
pub fn counts<'a>(outcomes: impl IntoIterator<Item = &'a CaseOutcome>) -> (usize, usize, usize) {
    outcomes.into_iter().fold((0, 0, 0), |(p, f, s), o| match o.status {
        Status::Pass => (p + 1, f, s),
        Status::Fail(_) => (p, f + 1, s),
        Status::Skip(_) => (p, f, s + 1),
    })
}

/// The summary: one line per group, then the total.
pub fn summary(outcomes: &[CaseOutcome], secs: f64) -> String {
    let mut out = String::from("\ngroup        pass  fail  skip\n");
    let mut groups: Vec<Group> = Vec::new();
    for o in outcomes {
        if !groups.contains(&o.group) {
            groups.push(o.group);
        }
    }
    for group in groups {
        let (p, f, s) = counts(outcomes.iter().filter(|o| o.group == group));
        let _ = writeln!(out, "{:<12} {p:>4}  {f:>4}  {s:>4}", group.as_str());
    }
    let (p, f, s) = counts(outcomes);
    let _ = writeln!(out, "{:<12} {p:>4}  {f:>4}  {s:>4}   in {secs:.1} s", "total");
    out
}

/// A JSON string literal (the one rule, `display`'s).
pub use crate::display::json_str;

/// One case as one JSON object on one line.
pub fn json(outcome: &CaseOutcome) -> String {
    let (status, expected, got, skip) = match &outcome.status {
        Status::Pass => ("pass", "", "", ""),
        Status::Fail(f) => ("fail", f.expected.as_str(), f.got.as_str(), ""),
        Status::Skip(why) => ("skip", "", "", *why),
    };
    let frames: Vec<String> = outcome
        .transcript
        .iter()
        .map(|l| {
            let dir = match l.dir {
                Dir::Sent => "sent",
                Dir::Got => "received",
                Dir::Note => "note",
            };
            format!(
                r#"{{"ms":{},"conn":{},"dir":"{dir}","text":{}}}"#,
                l.at_ms,
                json_str(&l.conn),
                json_str(&l.text)
            )
        })
        .collect();
    let frames = if matches!(outcome.status, Status::Fail(_)) { frames.join(",") } else { String::new() };
    format!(
        r#"{{"case":{},"group":"{}","section":{},"level":"{}","status":"{status}","ms":{},"expected":{},"got":{},"skipped":{},"frames":[{frames}]}}"#,
        json_str(&outcome.id),
        outcome.group.as_str(),
        json_str(outcome.section),
        outcome.level.as_str(),
        outcome.ms,
        json_str(expected),
        json_str(got),
        json_str(skip),
    )
}

/// `Ok` if no case failed; else the usage error that makes the exit code
/// non-zero, counting the failures.
pub fn verdict(outcomes: &[CaseOutcome]) -> crate::error::Result<()> {
    let failed = outcomes.iter().filter(|o| matches!(o.status, Status::Fail(_))).count();
    match failed {
        0 => Ok(()),
        n => Err(Error::Usage(format!("{n} of {} cases failed", outcomes.len()))),
    }
}

/// Writes a report file, naming it in the error.
pub fn write_file(path: &Path, text: &str) -> crate::error::Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_and_controls() {
        assert_eq!(json_str("a\"b\\c\nd\u{1b}"), r#""a\"b\\c\nd\u001b""#);
    }
}
