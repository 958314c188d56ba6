//! What the suite prints: one line per case as it finishes, the transcript
//! of each failure, a summary per group; `--json`, one object per case
//! (JSON Lines, for grading scripts); and the class table of `--class`.
//!
//! Everything that came from the server under test is shown through
//! [`crate::display::visible`] (the transcript already is): a student's
//! server cannot drive the teacher's terminal.

use std::fmt::Write as _;

use super::wire::{Dir, Line};
use super::{Group, Outcome, Status};

/// The line of a case in the text report, and its transcript if it failed.
pub fn text(outcome: &Outcome) -> String {
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

fn transcript_line(line: &Line) -> String {
    let dir = match line.dir {
        Dir::Sent => ">",
        Dir::Got => "<",
        Dir::Note => "--",
    };
    format!("{:>6}  {:<10} {dir} {}", line.at_ms, line.conn, line.text)
}

/// Passed, failed, skipped.
pub fn counts<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> (usize, usize, usize) {
    outcomes.into_iter().fold((0, 0, 0), |(p, f, s), o| match o.status {
        Status::Pass => (p + 1, f, s),
        Status::Fail(_) => (p, f + 1, s),
        Status::Skip(_) => (p, f, s + 1),
    })
}

/// The summary: one line per group, then the total.
pub fn summary(outcomes: &[Outcome], secs: f64) -> String {
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

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One case as one JSON object on one line.
pub fn json(outcome: &Outcome) -> String {
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

/// One student's row of the class table.
pub struct ClassRow {
    pub student: String,
    pub address: String,
    /// The outcomes, or why the suite could not run at all.
    pub result: Result<Vec<Outcome>, String>,
}

impl ClassRow {
    pub fn failing(&self) -> Vec<String> {
        match &self.result {
            Ok(outcomes) => outcomes
                .iter()
                .filter(|o| matches!(o.status, Status::Fail(_)))
                .map(|o| o.id.clone())
                .collect(),
            Err(why) => vec![why.clone()],
        }
    }
}

/// The class table as text: one line per student.
pub fn class_text(rows: &[ClassRow]) -> String {
    let mut out =
        format!("{:<20} {:<24} {:>4} {:>4} {:>4}  failing\n", "student", "address", "pass", "fail", "skip");
    for row in rows {
        let (p, f, s) = row.result.as_ref().map(counts).unwrap_or((0, 0, 0));
        let mut failing = row.failing();
        if failing.len() > 5 {
            let more = failing.len() - 4;
            failing.truncate(4);
            failing.push(format!("… ({more} more)"));
        }
        let failing = failing.join(", ");
        let _ = writeln!(
            out,
            "{:<20} {:<24} {p:>4} {f:>4} {s:>4}  {}",
            crate::display::visible(&row.student),
            row.address,
            crate::display::visible(&failing)
        );
    }
    out
}

/// The class table as JSON Lines, one object per student.
pub fn class_json(rows: &[ClassRow]) -> String {
    rows.iter()
        .map(|row| {
            let (p, f, s) = row.result.as_ref().map(counts).unwrap_or((0, 0, 0));
            let failing: Vec<String> = row.failing().iter().map(|c| json_str(c)).collect();
            format!(
                r#"{{"student":{},"address":{},"pass":{p},"fail":{f},"skip":{s},"failing":[{}]}}"#,
                json_str(&row.student),
                json_str(&row.address),
                failing.join(",")
            ) + "\n"
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_and_controls() {
        assert_eq!(json_str("a\"b\\c\nd\u{1b}"), r#""a\"b\\c\nd\u001b""#);
    }
}
