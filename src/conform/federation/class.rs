//! `wachat conform federation --class ROSTER`: which servers of a class
//! roster can link to which, as an N×N table for the teacher.
//!
//! The teacher holds no server's private key, so the suite probes with a
//! key of its own, made for the run and in nobody's line. For each
//! ordered pair (A, B), it dials B's link port over TLS, taking B's
//! certificate only with B's fingerprint from the roster (so B is up, and
//! shows the key the roster names), and says A's hello. B must refuse it,
//! its key not being A's, and its refusal names the fingerprint B's
//! roster has for A (`KO:AUTH_FAILED:this link's key is not A's (the
//! roster's fingerprint for it is …)`): the same as the teacher's roster
//! is the good outcome — A's own key will link to B when A dials for
//! itself. Nothing is changed on any server: no hello is taken.
//!
//! That refusal is only words, and anything listening at B's address can
//! say them; but it cannot show B's key: the probe takes only the
//! certificate with B's fingerprint, so a "server" that answers every
//! hello with a crafted `KO` is `key!`, never `ok`.
//!
//! The probes run in parallel, at most `--parallel` at once; the table
//! says how long they took.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::conform::report::json_str;
use crate::conform::wire::{Conn, Transcript};
use crate::error::{Error, Result};
use crate::federation::key::{LinkKey, same};
use crate::federation::roster::{Entry, Roster};
use crate::protocol::Code;
use crate::protocol::link::{Answer, Opening};

/// What one probe found: can the first server link to the second?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Yes: the second showed its roster key, and has the first's.
    Linked,
    /// The second's link port did not answer.
    Down,
    /// What answers at the second's address shows another key than the
    /// roster's for it (another machine there, or a new key not in the
    /// roster).
    WrongKey(String),
    /// A line of the roster has no fingerprint (an old line): what to add.
    NoKey(String),
    /// The second does not know the first (not in its roster, or it is
    /// not the server the roster says at that address).
    Unknown(String),
    /// The second has another fingerprint for the first (another roster).
    OtherKey(String),
    /// The second took a hello from a key that is not the first's.
    Open,
    /// Anything else, as said.
    Other(String),
}

impl Cell {
    /// The cell's word in the table.
    pub fn word(&self) -> &'static str {
        match self {
            Cell::Linked => "ok",
            Cell::Down => "DOWN",
            Cell::WrongKey(_) => "key!",
            Cell::NoKey(_) => "nokey",
            Cell::Unknown(_) => "name?",
            Cell::OtherKey(_) => "print",
            Cell::Open => "OPEN!",
            Cell::Other(_) => "?",
        }
    }

    fn said(&self) -> &str {
        match self {
            Cell::WrongKey(s) | Cell::NoKey(s) | Cell::Unknown(s) | Cell::OtherKey(s) | Cell::Other(s) => s,
            Cell::Linked | Cell::Down | Cell::Open => "",
        }
    }
}

/// What the second server's answer to the first's hello (from a key not
/// the first's) says of the pair; `first` is the first's fingerprint in
/// the teacher's roster.
pub fn classify(answer: &str, first: &str) -> Cell {
    match Answer::parse(answer) {
        Ok(Answer::Hello(_)) => Cell::Open,
        Ok(Answer::Ko(None, Code::UnknownServer, _)) => Cell::Unknown(answer.into()),
        Ok(Answer::Ko(None, Code::AuthFailed, why)) if why.contains("has no fingerprint") => {
            Cell::NoKey(answer.into())
        }
        Ok(Answer::Ko(None, Code::AuthFailed, why)) => {
            let theirs = why.split_once("fingerprint for it is ").map(|(_, rest)| rest.trim_end_matches(')'));
            match theirs {
                Some(theirs) if same(theirs, first) => Cell::Linked,
                Some(_) => Cell::OtherKey(answer.into()),
                None => Cell::Other(answer.into()),
            }
        }
        _ => Cell::Other(answer.into()),
    }
}

/// The roster, every line in its order.
fn servers(path: &Path) -> Result<Vec<Entry>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let first = text.lines().find_map(|l| l.split(',').next().map(str::trim).filter(|n| !n.is_empty()));
    let first = first.ok_or_else(|| Error::Usage(format!("{}: no server in it", path.display())))?;
    let roster = Roster::parse(&text, first).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    Ok([vec![roster.me], roster.peers].concat())
}

/// Says `from`'s hello to `to`, with the suite's `key`, and classifies
/// the answer.
fn probe(from: &Entry, to: &Entry, key: &LinkKey, (wait, timeout): (Duration, Duration)) -> Cell {
    let (first, second) = match (from.fingerprint(), to.fingerprint()) {
        (Ok(first), Ok(second)) => (first, second),
        (Err(why), _) | (_, Err(why)) => return Cell::NoKey(why),
    };
    let Ok(tls) = key.dialer(second) else { return Cell::Other("no TLS configuration".into()) };
    let transcript = Transcript::new(); // a probe's lines are its answer, in the table
    let mut conn = match Conn::open(&to.addr(), Some(&tls), "probe", &transcript, wait) {
        Ok(conn) => conn,
        Err(f) if f.expected.starts_with("a TLS handshake") => {
            return Cell::WrongKey(format!(
                "{} at {} shows a key that is not the roster's",
                to.name,
                to.addr()
            ));
        }
        Err(_) => return Cell::Down,
    };
    let hello = Opening {
        from: from.name.clone(),
        to: to.name.clone(),
        identity: super::peer::identity(&from.name, "class probe"),
    };
    if conn.send(&hello.to_string()).is_err() {
        return Cell::Down;
    }
    match conn.line_by(Instant::now() + timeout + wait, "an answer") {
        Ok(answer) => {
            let cell = classify(&answer, first);
            if cell == Cell::Open {
                let _ = conn.send("QUIT");
            }
            cell
        }
        Err(f) => Cell::Other(f.got),
    }
}

/// Probes every ordered pair of the roster at `path`, `parallel` at once,
/// each waiting `wait` and the server's `timeout` for its answer; prints
/// the table, or JSON.
pub fn run(path: &Path, wait: Duration, timeout: Duration, parallel: usize, as_json: bool) -> Result<()> {
    let all = servers(path)?;
    let key = LinkKey::generate()?;
    let pairs: Vec<(usize, usize)> =
        (0..all.len()).flat_map(|a| (0..all.len()).filter(move |&b| b != a).map(move |b| (a, b))).collect();
    let cells = Mutex::new(vec![vec![None; all.len()]; all.len()]);
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let workers = parallel.min(pairs.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(&(a, b)) = pairs.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let cell = probe(&all[a], &all[b], &key, (wait, timeout));
                    cells.lock().unwrap_or_else(|e| e.into_inner())[a][b] = Some(cell);
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let cells = cells.into_inner().unwrap_or_else(|e| e.into_inner());
    if as_json {
        print!("{}", json(&all, &cells));
    } else {
        print!("{}", table(&all, &cells, secs, workers));
    }
    verdict(&cells)
}

/// `Ok` if every link can be made (every cell `ok`); else the usage error
/// that makes the exit code non-zero, as `conform server --class` does for
/// a server that fails or is not reached.
pub fn verdict(cells: &[Vec<Option<Cell>>]) -> Result<()> {
    let probed: Vec<&Cell> = cells.iter().flatten().flatten().collect();
    let (bad, down) = (
        probed.iter().filter(|c| **c != &Cell::Linked).count(),
        probed.iter().filter(|c| **c == &Cell::Down).count(),
    );
    if bad == 0 {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{bad} of {} links cannot be made ({down} to a link port that did not answer)",
        probed.len()
    )))
}

/// The table: a row per dialer, a column per server it links to, then
/// what each server that was not `ok` said.
pub fn table(all: &[Entry], cells: &[Vec<Option<Cell>>], secs: f64, workers: usize) -> String {
    let names: Vec<String> = all.iter().map(|e| crate::display::visible(&e.name).into_owned()).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(6);
    let mut out = format!("{:<width$}  links to →\n{:<width$}", "from ↓", "");
    for name in &names {
        let _ = write!(out, " {name:>width$}");
    }
    out.push('\n');
    let (mut linked, mut problems) = (0, String::new());
    for (a, row) in cells.iter().enumerate() {
        let _ = write!(out, "{:<width$}", names[a]);
        for (b, cell) in row.iter().enumerate() {
            let word = match cell {
                None => "-",
                Some(cell) => cell.word(),
            };
            let _ = write!(out, " {word:>width$}");
            match cell {
                Some(Cell::Linked) => linked += 1,
                Some(cell) => {
                    let said = crate::display::visible(cell.said());
                    let line = format!("  {} → {}: {} {said}", names[a], names[b], cell.word());
                    let _ = writeln!(problems, "{}", line.trim_end());
                }
                None => {}
            }
        }
        out.push('\n');
    }
    let n = all.len();
    let _ = writeln!(
        out,
        "\n{linked} of {} links can be made ({n} servers); {} hellos in {secs:.1} s, {workers} at a time",
        n * n.saturating_sub(1),
        n * n.saturating_sub(1) + linked, // each `ok` checked with a second hello
    );
    if !problems.is_empty() {
        out.push_str(
            "\nok: the second shows its roster key and has the first's; DOWN: no answer on its link port; \
             key!: what answers there shows another key than the roster's; nokey: a line without its \
             fingerprint (its server runs `wachat roster-line`, the line it prints goes in the roster); \
             name?: it does not know the first; print: it has another fingerprint for the first; \
             OPEN!: it took a hello from a key not the first's\n",
        );
        out.push_str(&problems);
    }
    out
}

fn json(all: &[Entry], cells: &[Vec<Option<Cell>>]) -> String {
    let mut out = String::new();
    for (a, row) in cells.iter().enumerate() {
        for (b, cell) in row.iter().enumerate() {
            if let Some(cell) = cell {
                let _ = writeln!(
                    out,
                    r#"{{"from":{},"to":{},"link":"{}","said":{}}}"#,
                    json_str(&all[a].name),
                    json_str(&all[b].name),
                    cell.word(),
                    json_str(cell.said())
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_say_which_links_can_be_made() {
        let print = ["AB"; 32].join(":");
        let refused = format!(
            "KO:AUTH_FAILED:this link's key is not lab1's (the roster's fingerprint for it is {print})"
        );
        assert_eq!(classify(&refused, &print.to_lowercase()), Cell::Linked);
        assert_eq!(classify(&refused, &["CD"; 32].join(":")).word(), "print");
        let old =
            "KO:AUTH_FAILED:the roster's line for lab1 has no fingerprint (name,host,port,fingerprint): …";
        assert_eq!(classify(old, &print).word(), "nokey");
        assert_eq!(classify("KO:UNKNOWN_SERVER:no server named lab1 in the roster", &print).word(), "name?");
        assert_eq!(classify("OK:0", &print), Cell::Open);
        assert_eq!(classify("HELLO?", &print).word(), "?");
    }

    #[test]
    fn the_verdict_is_ok_only_when_every_link_can_be_made() {
        let row = |cells: [Option<Cell>; 2]| cells.to_vec();
        let all_ok = [row([None, Some(Cell::Linked)]), row([Some(Cell::Linked), None])];
        assert!(verdict(&all_ok).is_ok());
        let one_down =
            [row([None, Some(Cell::Down)]), row([Some(Cell::WrongKey("another key".into())), None])];
        let said = verdict(&one_down).unwrap_err().to_string();
        assert!(
            said.contains("2 of 2 links cannot be made (1 to a link port that did not answer)"),
            "{said}"
        );
    }
}
