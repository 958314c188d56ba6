//! A damaged record reads as damaged, not as an error for every request
//! (issue 25, attack 10).
//!
//! A crash can tear only the last line of the last segment, which
//! `Log::open` cuts. Anything else that is not a record (a line blanked
//! by hand, bytes garbled by a failing disk) is damage: before this file,
//! a `HISTORY` whose chain ran through it answered `KO:INTERNAL` for ever.
//! Now a reader passes over it, says so once in the log, and goes on:
//!
//! - `HISTORY` finds the previous message of the conversation by looking
//!   back from the damaged record (at most [`SEARCH_BACK`] bytes, within
//!   its segment), since the damaged record's link to it is lost; if none
//!   is found there, the conversation's history stops at the damage;
//! - an inbox replay leaves the damaged event out (its sequence number is
//!   skipped, which a client takes as any gap);
//! - a start-up scan skips a blank line, as before, but still stops at a
//!   line that is not a record, naming its file and line: the state is
//!   built from the log, and a start must not build it from a guess.
//!
//! `wachat users check` ([`check_dir`]) names every damaged line of every
//! segment, with its file and line number, for the operator.

use std::collections::HashSet;
use std::path::Path;

use parking_lot::Mutex;

use super::log::Log;
use super::record::{LOG_HEADER, Pos, Record};

/// How far back `HISTORY` looks for the message before a damaged one.
const SEARCH_BACK: u64 = 1 << 20;

/// Damage already reported (per log), so that each is logged once however
/// often it is read; bounded, past it reported again (harmless).
static REPORTED: Mutex<Option<HashSet<(usize, Pos)>>> = Mutex::new(None);
const REPORTED_MAX: usize = 10_000;

/// Logs, once per record, that the record at `pos` of `log` is damaged.
pub fn report(log: &Log, pos: Pos, why: &str) {
    let key = (log as *const Log as usize, pos);
    let mut reported = REPORTED.lock();
    let set = reported.get_or_insert_with(HashSet::new);
    if set.len() >= REPORTED_MAX {
        set.clear();
    }
    if set.insert(key) {
        log::error!(
            "store: the record at position {pos} is damaged ({why}): skipped; \
             `wachat users check` lists every damaged line"
        );
    }
}

/// The position of the record before `pos` (within [`SEARCH_BACK`] bytes
/// and `pos`'s segment) whose line `wanted` accepts; `None` if there is none.
pub fn find_before(log: &Log, pos: Pos, wanted: impl Fn(&str) -> bool) -> Option<Pos> {
    let mut buf = Vec::new();
    let (start, n) = log.read_block(pos, SEARCH_BACK, SEARCH_BACK as usize, &mut buf).ok()??;
    let before = usize::try_from(pos - start).ok()?.min(n);
    let bytes = &buf[..before];
    // The block may begin inside a line, unless it begins where the
    // segment does (read_block stopped there: less than SEARCH_BACK back).
    let whole_from = if pos - start < SEARCH_BACK { 0 } else { bytes.iter().position(|&b| b == b'\n')? + 1 };
    let mut end = before; // the `\n` ending the line being looked at
    while end > whole_from {
        let line_start = bytes[whole_from..end - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(whole_from, |i| whole_from + i + 1);
        if let Ok(line) = std::str::from_utf8(&bytes[line_start..end - 1])
            && wanted(line)
        {
            return Some(start + line_start as u64);
        }
        end = line_start;
    }
    None
}

/// Every damaged line of the log segments in `log_dir`: `file line N:
/// why`. Reads the files only, so it may run beside a server.
pub fn check_dir(log_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(log_dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    names.sort();
    let mut problems = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let path = log_dir.join(name);
        let bytes = std::fs::read(&path)?;
        let last = i + 1 == names.len();
        let mut lines = bytes.split(|&b| b == b'\n').enumerate().peekable();
        while let Some((n, line)) = lines.next() {
            let shown = format!("{} line {}", path.display(), n + 1);
            if lines.peek().is_none() {
                // After the last `\n`: nothing, or a torn line.
                if !line.is_empty() {
                    let why = if last { "a torn last line (cut at the next start)" } else { "a torn line" };
                    problems.push(format!("{shown}: {why}"));
                }
                break;
            }
            if n == 0 {
                if line != LOG_HEADER.as_bytes() {
                    problems.push(format!("{shown}: expected the header {LOG_HEADER:?}"));
                }
                continue;
            }
            let why = match std::str::from_utf8(line) {
                _ if line.iter().all(|&b| b == b' ' || b == b'\r') => "a blank line".to_string(),
                Err(_) => "not UTF-8".to_string(),
                Ok(text) => match Record::decode(text) {
                    Ok(_) => continue,
                    Err(e) => format!("not a record: {e}"),
                },
            };
            problems.push(format!("{shown}: {why}"));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_each_damaged_line_with_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let seen = |user: &str| {
            let mut line = Vec::new();
            Record::Seen { ts: 7, user: user.into() }.encode(&mut line);
            String::from_utf8(line).unwrap()
        };
        let closed = format!("{LOG_HEADER}\n{}   \n{}MSG,x\n", seen("ana"), seen("bob"));
        std::fs::write(dir.path().join("00000000000000000000.csv"), closed).unwrap();
        std::fs::write(dir.path().join("00000000000000000100.csv"), format!("{LOG_HEADER}\nSEEN,1")).unwrap();
        let problems = check_dir(dir.path()).unwrap();
        let shown: Vec<String> =
            problems.iter().map(|p| p.replace(&format!("{}/", dir.path().display()), "")).collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert_eq!(shown[0], "00000000000000000000.csv line 3: a blank line");
        assert!(shown[1].starts_with("00000000000000000000.csv line 5: not a record"), "{shown:?}");
        assert_eq!(shown[2], "00000000000000000100.csv line 2: a torn last line (cut at the next start)");
    }
}
