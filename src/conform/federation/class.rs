//! `wachat conform federation --class ROSTER`: which servers of a class
//! roster can link to which, as an N×N table for the teacher.
//!
//! For each ordered pair (A, B), the suite says A's hello to B's link
//! port, with A's secret from the roster and a key A never made. B checks
//! the secret and calls A back at A's roster address (§27, the dialback);
//! A, asked about a key it did not make, says no; B then refuses the
//! hello, and its reason carries what A said (`… did not vouch for this
//! link: <what it said>`). That refusal is the good outcome: B is up,
//! knows A and its secret, reaches A's link port, and A answers `VERIFY`
//! — the link A → B can be made when A dials for itself. Nothing is
//! changed on any server: no hello is taken.
//!
//! That refusal is only words, and anything listening at B's address can
//! say them. So a pair is `ok` only if B also refuses, as a wrong secret,
//! a second hello of A's with a secret that is not A's ([`control`]): a
//! "server" that answers every hello with the same crafted `KO` is `?`,
//! with what it said.
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
use crate::federation::roster::{Entry, Roster};
use crate::protocol::Code;
use crate::protocol::link::{Answer, Opening};

/// What one probe found: can the first server link to the second?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Yes: the second called the first back, and the first answered.
    Linked,
    /// The second's link port did not answer.
    Down,
    /// The second does not know the first (not in its roster, or it is
    /// not the server the roster says at that address).
    Unknown(String),
    /// The second refused the first's secret (another roster).
    Secret(String),
    /// The second could not reach the first (down, or no route back).
    NoWayBack(String),
    /// The second took a hello the first never made: the first vouched
    /// for a key not its own, or the second did not call it back.
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
            Cell::Unknown(_) => "name?",
            Cell::Secret(_) => "secret",
            Cell::NoWayBack(_) => "noway",
            Cell::Open => "OPEN!",
            Cell::Other(_) => "?",
        }
    }

    fn said(&self) -> &str {
        match self {
            Cell::Unknown(s) | Cell::Secret(s) | Cell::NoWayBack(s) | Cell::Other(s) => s,
            Cell::Linked | Cell::Down | Cell::Open => "",
        }
    }
}

/// What the second server's answer to the first's hello says of the pair.
pub fn classify(answer: &str) -> Cell {
    match Answer::parse(answer) {
        Ok(Answer::Hello(_)) => Cell::Open,
        Ok(Answer::Ko(None, Code::UnknownServer, _)) => Cell::Unknown(answer.into()),
        Ok(Answer::Ko(None, Code::AuthFailed, why)) => {
            match why.split_once("did not vouch for this link: ") {
                Some((_, said)) if said.starts_with("KO:") => Cell::Linked,
                Some(_) => Cell::NoWayBack(answer.into()),
                None => Cell::Secret(answer.into()),
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

/// Says `from`'s hello to `to` and classifies the answer; a pair that
/// looks linked is checked with [`control`].
fn probe(from: &Entry, to: &Entry, wait: Duration, timeout: Duration) -> Cell {
    match hello(from, &from.secret, to, wait, timeout) {
        Cell::Linked => control(from, to, wait, timeout),
        cell => cell,
    }
}

/// `from`'s hello to `to` with a secret that is not `from`'s: a server
/// that checks secrets refuses it as such (`secret`), and the pair is
/// `ok`; one that answers it as it answered the right secret never
/// checked anything.
fn control(from: &Entry, to: &Entry, wait: Duration, timeout: Duration) -> Cell {
    let wrong = format!("{}-not-{}", from.secret, from.name);
    match hello(from, &wrong, to, wait, timeout) {
        Cell::Secret(_) => Cell::Linked,
        Cell::Down => Cell::Down,
        Cell::Linked => Cell::Other(
            "said \"did not vouch\" to a wrong secret too: it checks no secret, and called nobody back"
                .into(),
        ),
        other => Cell::Other(format!("answered a wrong secret with: {}", other.said())),
    }
}

/// Says `from`'s hello with `secret` to `to` and classifies the answer.
fn hello(from: &Entry, secret: &str, to: &Entry, wait: Duration, timeout: Duration) -> Cell {
    let transcript = Transcript::new(); // a probe's lines are its answer, in the table
    let Ok(mut conn) = Conn::open(&to.addr(), None, "probe", &transcript, wait) else { return Cell::Down };
    let hello = Opening::Hello {
        from: from.name.clone(),
        to: to.name.clone(),
        secret: secret.to_string(),
        key: super::peer::key(),
        identity: super::peer::identity(&from.name, "class probe"),
    };
    if conn.send(&hello.to_string()).is_err() {
        return Cell::Down;
    }
    match conn.line_by(Instant::now() + timeout + wait, "an answer") {
        Ok(answer) => {
            let cell = classify(&answer);
            if cell == Cell::Open {
                let _ = conn.send("QUIT");
            }
            cell
        }
        Err(f) => Cell::Other(f.got),
    }
}

/// Probes every ordered pair of the roster at `path`, `parallel` at once,
/// each waiting `wait` for a line and `timeout` for a dialback; prints
/// the table, or JSON.
pub fn run(path: &Path, wait: Duration, timeout: Duration, parallel: usize, as_json: bool) -> Result<()> {
    let all = servers(path)?;
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
                    let cell = probe(&all[a], &all[b], wait, timeout);
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
            "\nok: the second called the first back, which answered; DOWN: no answer on its link port; \
             name?: it does not know the first; secret: it has another secret for the first; \
             noway: it could not reach the first; OPEN!: it took a hello the first never made; \
             ?: anything else (a refusal of a wrong secret like the right one's is no check)\n",
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
        let vouch =
            "KO:AUTH_FAILED:lab1 at 127.0.0.1:7001 did not vouch for this link: KO:AUTH_FAILED:not my key";
        assert_eq!(classify(vouch), Cell::Linked);
        let refused = "KO:AUTH_FAILED:lab1 at 127.0.0.1:7001 did not vouch for this link: Connection refused";
        assert_eq!(classify(refused).word(), "noway");
        assert_eq!(classify("KO:AUTH_FAILED:wrong secret for lab1").word(), "secret");
        assert_eq!(classify("KO:UNKNOWN_SERVER:no server named lab1 in the roster").word(), "name?");
        assert_eq!(classify("OK:0"), Cell::Open);
        assert_eq!(classify("HELLO?").word(), "?");
    }

    #[test]
    fn the_verdict_is_ok_only_when_every_link_can_be_made() {
        let row = |cells: [Option<Cell>; 2]| cells.to_vec();
        let all_ok = [row([None, Some(Cell::Linked)]), row([Some(Cell::Linked), None])];
        assert!(verdict(&all_ok).is_ok());
        let one_down = [row([None, Some(Cell::Down)]), row([Some(Cell::NoWayBack("no".into())), None])];
        let said = verdict(&one_down).unwrap_err().to_string();
        assert!(
            said.contains("2 of 2 links cannot be made (1 to a link port that did not answer)"),
            "{said}"
        );
    }
}
