//! A damaged record reads as damaged, not as an error for every request
//! that passes it: one bad line must not make a conversation unreadable.
//!
//! A crash can tear only the last line of the last segment, which
//! `Log::open` cuts. Anything else that is not a record (a line blanked
//! by hand, bytes garbled by a failing disk) is damage. Taken for an
//! error, it would make every `HISTORY` whose chain runs through it
//! answer `KO:INTERNAL` for ever; so a reader passes over it, says so
//! once in the log, and goes on:
//!
//! - `HISTORY` finds the previous message of the conversation by looking
//!   back from the damaged record (at most [`SEARCH_BACK`] bytes, within
//!   its segment), since the damaged record's link to it is lost; if none
//!   is found there, the conversation's history stops at the damage;
//! - an inbox replay leaves the damaged event out (its sequence number is
//!   skipped, which a client takes as any gap);
//! - a start-up scan skips a blank line, but still stops at a
//!   line that is not a record, naming its file and line: the state is
//!   built from the log, and a start must not build it from a guess.
//!
//! `wachat users check` ([`check_dir`]) names every damaged line of every
//! segment, with its file and line number, for the operator.
//!
//! **Repair** (`wachat users check --repair`, [`repair_dir`]): a line
//! removed or shortened in a closed segment, or a blank line inserted in
//! it, moves every later record, so the segment no longer ends where the
//! next one begins and the server refuses to start; with the same damage
//! in the newest segment the server starts, but records have moved away
//! from the positions that the links of later records (and the
//! checkpoints) name, and `HISTORY` loses a neighbour of the damaged line
//! too. (An inserted blank line alone is read through: a position that
//! finds an empty line reads the next one, `log::BLANK_LINES_PASSED`.) A
//! repair puts every record back at its position: each damaged line
//! becomes spaces of the length the lost record had (a line readers pass
//! over, as damage), or goes if it was an inserted blank line. How long
//! the lost record was is read from the links (`prev`) of the records
//! after it, which name their neighbours' positions as written, and for a
//! closed segment from where the next segment begins. What is lost is the
//! damaged line alone: its bytes and the segment as it was are kept in
//! `damaged/`.
//!
//! A repair sets aside only what it can tell is damage. A sound line of a
//! kind this wachat does not know ([`Record::newer_kind`]) is a record a
//! newer wachat wrote, maybe the only description of a file: `check`
//! names it as such, the repair leaves it where it is, and a start that
//! meets it says to run the newer wachat (or restore the backup made
//! before it) instead of advising a repair. Both commands refuse a
//! directory whose format is newer than this wachat's (`store::format`)
//! before they read it.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::log::MAX_LINE;
use super::log::{Header, Log};
#[cfg(test)]
use super::record::OLDER_LOG_HEADER;
use super::record::{LOG_HEADER, MsgRef, NO_POS, Pos, Record};

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
                if Header::of(&bytes[..(line.len() + 1).min(bytes.len())]).is_none() {
                    problems.push(format!("{shown}: expected the header {LOG_HEADER:?}"));
                }
                continue;
            }
            let why = match std::str::from_utf8(line) {
                _ if line.iter().all(|&b| b == b' ' || b == b'\r') => "a blank line".to_string(),
                Err(_) => "not UTF-8".to_string(),
                Ok(text) => match (Record::decode(text), Record::newer_kind(text)) {
                    (Ok(_), _) => continue,
                    (Err(_), Some(kind)) => newer(&kind),
                    (Err(e), None) => format!("not a record: {e}"),
                },
            };
            problems.push(format!("{shown}: {why}"));
        }
    }
    Ok(problems)
}

/// What `check` says of a record of a kind this wachat does not know.
fn newer(kind: &str) -> String {
    format!(
        "a record of a kind this wachat does not know ({kind}): not damage, a newer wachat wrote it; \
         run that one on this directory, or restore the backup made before it (a repair leaves it)"
    )
}

/// A damaged line that [`repair_dir`] set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// The segment's file name.
    pub segment: String,
    /// Its line number as found (the header is line 1).
    pub line: usize,
    /// The position of the lost record, as it was written.
    pub pos: Pos,
    /// The damaged line's bytes as found, without its `\n`.
    pub found: usize,
    /// The lost record's length (spaces now hold its place); `None`: the
    /// line was an inserted blank line, removed.
    pub lost: Option<usize>,
    /// Where its bytes were put.
    pub aside: PathBuf,
}

impl std::fmt::Display for Repaired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = format!("{} line {} (position {})", self.segment, self.line, self.pos);
        match self.lost {
            Some(n) => write!(
                f,
                "{at}: a record of {n} bytes is lost (found {} bytes that are not a record, kept in {})",
                self.found,
                self.aside.display()
            ),
            None => write!(f, "{at}: an inserted blank line, removed; nothing lost"),
        }
    }
}

/// One line of a segment as found: its offset in the file, its length
/// without the `\n`, and for a record, the link it holds (`NO_POS` if
/// none); `None` for a damaged line.
struct Scanned {
    offset: usize,
    len: usize,
    record: Option<Pos>,
}

/// Repairs the segments of `data_dir/log` (see the module documentation);
/// the server must be stopped (the caller holds the directory's lock).
/// Returns what was set aside, oldest first; `Err` names a segment it
/// cannot repair, and changes nothing in that one.
pub fn repair_dir(data_dir: &Path) -> std::io::Result<Vec<Repaired>> {
    let log_dir = data_dir.join("log");
    let mut bases: Vec<(Pos, String)> = std::fs::read_dir(&log_dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| Some((n.strip_suffix(".csv")?.parse().ok()?, n)))
        .collect();
    bases.sort();
    let mut repaired = Vec::new();
    for (i, (base, name)) in bases.iter().enumerate() {
        let next = bases.get(i + 1).map(|(b, _)| *b);
        repaired.extend(repair_segment(data_dir, &log_dir.join(name), name, *base, next)?);
    }
    Ok(repaired)
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {why}", path.display()))
}

/// Repairs one segment whose first record is at `base`; `next`: where the
/// next segment begins (the segment is closed), which its end must meet.
fn repair_segment(
    data_dir: &Path,
    path: &Path,
    name: &str,
    base: Pos,
    next: Option<Pos>,
) -> std::io::Result<Vec<Repaired>> {
    let bytes = std::fs::read(path)?;
    let header = &bytes[..bytes.len().min(LOG_HEADER.len() + 1)];
    if Header::of(header).is_none() {
        return Err(invalid(path, format!("expected the header {LOG_HEADER:?}; not repaired")));
    }
    // A torn last line of the newest segment is the start's to cut.
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < bytes.len() && next.is_some() {
        return Err(invalid(path, "ends in the middle of a line, and it is not the last one; not repaired"));
    }
    let lines = found_lines(&bytes[..whole], header.len());
    let sites: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].record.is_none()).collect();
    let pos_of = |offset: usize| base + (offset - header.len()) as u64;
    let end_found = pos_of(whole);
    let shift = shifts(&lines, &sites, &pos_of, next, end_found);
    if sites.is_empty() {
        if let Some(next) = next
            && next != end_found
        {
            let why = format!(
                "ends at position {end_found}, the next segment begins at {next}, and no line is damaged"
            );
            return Err(invalid(path, format!("{why}; not repaired")));
        }
        return Ok(Vec::new());
    }
    let mut out = header.to_vec();
    let mut repaired = Vec::new();
    let aside_dir = data_dir.join("damaged");
    std::fs::create_dir_all(&aside_dir)?;
    let mut k = 0;
    for (i, line) in lines.iter().enumerate() {
        let text = &bytes[line.offset..line.offset + line.len];
        if sites.get(k) != Some(&i) {
            out.extend_from_slice(text);
            out.push(b'\n');
            continue;
        }
        let before = if k == 0 { 0 } else { shift[k - 1] };
        let length = line.len as i64 + shift[k] - before;
        let written = (pos_of(line.offset) as i64 + before) as Pos;
        let aside = aside_dir.join(format!("{}-line{}.bytes", name.trim_end_matches(".csv"), i + 2));
        std::fs::write(&aside, text)?;
        let lost = match length {
            -1 => None,
            n if n >= 0 => {
                out.extend(std::iter::repeat_n(b' ', n as usize));
                out.push(b'\n');
                Some(n as usize)
            }
            _ => {
                return Err(invalid(
                    path,
                    format!("line {}: more bytes than one line inserted; not repaired", i + 2),
                ));
            }
        };
        repaired.push(Repaired {
            segment: name.to_string(),
            line: i + 2,
            pos: written,
            found: line.len,
            lost,
            aside,
        });
        k += 1;
    }
    out.extend_from_slice(&bytes[whole..]);
    replace_segment(path, &aside_dir.join(name), &out)?;
    Ok(repaired)
}

/// How far the records after each damaged line (`sites`) are from their
/// positions as written (written = found + shift); before the first site,
/// none. Each is voted by the links of the records after it; the last of
/// a closed segment is known: its end must meet `next`.
fn shifts(
    lines: &[Scanned],
    sites: &[usize],
    pos_of: &dyn Fn(usize) -> Pos,
    next: Option<Pos>,
    end_found: Pos,
) -> Vec<i64> {
    let mut shift: Vec<i64> = Vec::with_capacity(sites.len());
    for (k, &site) in sites.iter().enumerate() {
        let before = if k == 0 { 0 } else { shift[k - 1] };
        let region = site + 1..sites.get(k + 1).copied().unwrap_or(lines.len());
        let starts: Vec<Pos> = lines[region.clone()].iter().map(|l| pos_of(l.offset)).collect();
        let written_site = pos_of(lines[site].offset) as i64 + before;
        let links: Vec<(Pos, Pos)> =
            lines[region.start..].iter().filter_map(|l| Some((pos_of(l.offset), l.record?))).collect();
        let voted = vote(&links, written_site, &starts);
        let last = k + 1 == sites.len();
        let shift_k = match (next, last) {
            // A closed segment's end is known: where the next one begins.
            (Some(next), true) => next as i64 - end_found as i64,
            _ => voted.unwrap_or(before),
        };
        shift.push(shift_k);
    }
    shift
}

/// Keeps the segment at `path` as it was at `kept`, then replaces it
/// whole with `repaired`, fsynced, and its directory too.
fn replace_segment(path: &Path, kept: &Path, repaired: &[u8]) -> std::io::Result<()> {
    std::fs::copy(path, kept)?;
    let tmp = path.with_extension("repair");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(repaired)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    crate::sys::disk::sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// The lines of a segment's records (after the header, each ending in
/// `\n`), each a record or a damaged line.
fn found_lines(bytes: &[u8], from: usize) -> Vec<Scanned> {
    let mut lines = Vec::new();
    let mut offset = from;
    for line in bytes[from..].split(|&b| b == b'\n') {
        if offset >= bytes.len() {
            break;
        }
        // A record of a kind a newer wachat wrote is no damage: kept, as
        // a record that links nowhere.
        let record = std::str::from_utf8(line).ok().and_then(|text| {
            Record::decode(text)
                .is_ok()
                .then(|| MsgRef::decode(text).map_or(NO_POS, |m| m.prev))
                .or_else(|| Record::newer_kind(text).map(|_| NO_POS))
        });
        lines.push(Scanned { offset, len: line.len(), record });
        offset += line.len() + 1;
    }
    lines
}

/// The shift of the records in `starts` (found positions, after a damaged
/// line written at `written_site`) read from `links` (the found position
/// of each record from there on, and the position its `prev` names as
/// written): each link past the site names a record as written, before
/// the record that holds it; the shift that makes most of them land on a
/// found record wins. (Records of one length would fit a shift by whole
/// records too, but only the true one never makes a record name itself
/// or one after it.)
fn vote(links: &[(Pos, Pos)], written_site: i64, starts: &[Pos]) -> Option<i64> {
    let mut votes: HashMap<i64, usize> = HashMap::new();
    for &(holder, link) in links.iter().filter(|&&(_, p)| p != NO_POS && p as i64 > written_site) {
        let from = starts.partition_point(|&s| s + (MAX_LINE as u64) < link);
        for &s in starts[from..].iter().take_while(|&&s| s <= link + MAX_LINE as u64 && s < holder) {
            *votes.entry(link as i64 - s as i64).or_default() += 1;
        }
    }
    votes.into_iter().max_by_key(|&(shift, n)| (n, std::cmp::Reverse(shift.abs()))).map(|(shift, _)| shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repair_leaves_a_sound_log_alone() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        std::fs::create_dir(&log).unwrap();
        let mut records = Vec::new();
        Record::Seen { ts: 7, user: "ana".into() }.encode(&mut records);
        let first = format!("{LOG_HEADER}\n{}", String::from_utf8(records.clone()).unwrap());
        std::fs::write(log.join(format!("{:020}.csv", 0)), &first).unwrap();
        std::fs::write(log.join(format!("{:020}.csv", records.len())), format!("{LOG_HEADER}\n")).unwrap();
        assert_eq!(repair_dir(dir.path()).unwrap(), []);
        assert!(!dir.path().join("damaged").exists());
        assert_eq!(std::fs::read_to_string(log.join(format!("{:020}.csv", 0))).unwrap(), first);
        // A closed segment one byte short, with no damaged line to explain
        // it, is not guessed at.
        std::fs::write(log.join(format!("{:020}.csv", records.len() + 1)), format!("{LOG_HEADER}\n"))
            .unwrap();
        std::fs::remove_file(log.join(format!("{:020}.csv", records.len()))).unwrap();
        assert!(repair_dir(dir.path()).unwrap_err().to_string().contains("no line is damaged"));
    }

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

    /// A record of a kind this wachat does not know, among a damaged
    /// line and sound records, in a segment of the older header: the
    /// repair sets the damaged line aside and leaves that record, and the
    /// header, as they were; `check` names it as no damage.
    #[test]
    fn a_repair_leaves_a_record_of_a_newer_kind_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        std::fs::create_dir(&log).unwrap();
        let mut seen = Vec::new();
        Record::Seen { ts: 7, user: "ana".into() }.encode(&mut seen);
        let seen = String::from_utf8(seen).unwrap();
        let shelf = "SHELF,8,ana,,f1,,,,a description only a newer wachat reads\n";
        assert_eq!(Record::newer_kind(shelf.trim_end()).as_deref(), Some("SHELF"));
        assert_eq!(Record::newer_kind("SHELF,yesterday,ana"), None, "its time is no number: damage");
        assert_eq!(Record::newer_kind("MSG,x"), None, "a kind it knows, torn: damage");
        let segment = log.join(format!("{:020}.csv", 0));
        let text = format!("{OLDER_LOG_HEADER}\n{seen}{shelf}#garbled#\n{seen}");
        std::fs::write(&segment, &text).unwrap();
        let problems = check_dir(&log).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].ends_with(&format!("line 3: {}", newer("SHELF"))), "{problems:?}");
        assert!(problems[1].contains("line 4: not a record"), "{problems:?}");
        let repaired = repair_dir(dir.path()).unwrap();
        assert_eq!(repaired.len(), 1, "the damaged line alone: {repaired:?}");
        assert_eq!(repaired[0].line, 4);
        let after = std::fs::read_to_string(&segment).unwrap();
        assert!(
            after.starts_with(&format!("{OLDER_LOG_HEADER}\n{seen}{shelf}")),
            "kept, in place: {after:?}"
        );
        assert!(after.ends_with(&format!(" \n{seen}")), "{after:?}");
        assert_eq!(after.len(), text.len(), "nothing moved");
    }
}
