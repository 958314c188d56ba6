//! `wachat conform server --class ROSTER.CSV`: the suite against every
//! student's server of a roster, for a teacher grading a class.
//!
//! - **In parallel.** Each server is checked by one of `--jobs` threads
//!   (default [`DEFAULT_JOBS`]); a run mostly waits for replies and
//!   timeouts, so 30 servers take about as long as a few, not 30 times
//!   one. Each server's cases still run one after the other (they share
//!   its users and rooms), and a student's run is the same as alone.
//! - **Restarts.** A roster row may end with a shell command that
//!   restarts that student's server on its data (run on the teacher's
//!   machine, e.g. `ssh lab-17 ./restart.sh`): with it, the group
//!   `restart` runs for that student (the lab's "kill -9, lose nothing").
//! - **Not reachable is not failing.** A server whose send port accepts
//!   no connection is reported as not reachable, with why, and graded
//!   apart from one that fails its cases.
//! - **Points.** Each group of cases weighs some points (default
//!   [`DEFAULT_WEIGHT`], `--weight GROUP=POINTS` to change one); a student
//!   earns a group's weight times the share of its cases run that passed.
//!   A case may weigh points of its own instead (`--weight CASE=POINTS`),
//!   earned whole if it passed, beside its group's, which its group's
//!   share leaves out: the lab's core ([`CORE`]: the replay after a
//!   reconnect, `DELIVERED` only after the `ACK`, a resent message stored
//!   once) weighs [`CORE_POINTS`] each by default, so that a server that
//!   fails one of them cannot pass with 98 %. A group or a case that did
//!   not run (`--fast`, no restart command) is left out of that student's
//!   maximum. In the text table, the JSON (one object per student) and
//!   `--csv FILE`, one row per student for a grading script or a
//!   spreadsheet.
//! - **Why**: the class page (`--html`) links each failing case of each
//!   student to its transcript and sequence diagram, on the same page.
//! - **Exit code**: non-zero when any server failed a case, was not
//!   reachable, or could not be checked.

use std::fmt::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::ValueEnum;

use super::report::counts;
use super::{CaseOutcome, Group, Status, SuiteConfig, all_cases, runner};
use crate::display::json_str;
use crate::error::{Error, Result};
use crate::protocol::{DEFAULT_RECV_PORT, DEFAULT_SEND_PORT};

/// Servers checked at once unless `--jobs` says otherwise.
pub const DEFAULT_JOBS: u64 = 8;

/// A group's points unless `--weight` says otherwise.
pub const DEFAULT_WEIGHT: f64 = 10.0;

/// The lab's core (LAB.md parts 3 to 5, "lose nothing"): the cases a
/// server fails when it loses a message (no replay of what was not
/// acknowledged after a reconnect), lies about a status (`DELIVERED`
/// before the recipient's `ACK`) or stores a message twice (a resent id
/// delivered again). Each weighs [`CORE_POINTS`] of its own unless
/// `--weight CASE=POINTS` says otherwise.
pub const CORE: [&str; 3] = [
    "receive/unacked-replayed-after-reconnect",
    "status/delivered-only-after-ack",
    "messages/resend-gets-original-ok",
];

/// A core case's points. With three of them beside groups of 10 points,
/// failing one leaves at most (G + 150) / (G + 225) of the maximum, G
/// the groups' points: 76 % at level 1.0 without restarts (G = 90), 78 %
/// at level 1.2 with them (G = 120). Below 80 % either way, whatever else
/// passed.
pub const CORE_POINTS: f64 = 75.0;

/// One row of the roster: `student,host,send_port,recv_port[,restart]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    pub student: String,
    pub host: String,
    pub send_port: u16,
    pub recv_port: u16,
    /// A shell command that restarts this student's server on its data.
    pub restart: Option<String>,
}

/// What became of one student's server.
#[derive(Debug)]
pub enum Grade {
    /// The suite ran: every case's outcome.
    Ran(Vec<CaseOutcome>),
    /// Its send port accepted no connection: why.
    Unreachable(String),
    /// It could not be checked (a bad roster row, a server that refuses
    /// the suite's accounts): why.
    Unchecked(String),
}

/// One student's line of the class report.
#[derive(Debug)]
pub struct ClassRow {
    pub student: String,
    /// `host:send:recv` as the roster gave them.
    pub address: String,
    pub checked: Grade,
    /// The cases the run would not skip (the level, `--only`, `--fast`,
    /// this row's restart command), with their groups: what a server that
    /// answers is graded on, and so the maximum of one that does not.
    pub gradable: Vec<(Group, String)>,
}

/// A group's part of a student's grade.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupGrade {
    pub group: Group,
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub weight: f64,
    /// `weight × pass / (pass + fail)`; `None` if none of its cases ran.
    pub points: Option<f64>,
}

/// A case's part of a student's grade: a case that weighs points of its
/// own ([`Weights::of_case`]).
#[derive(Clone, Debug, PartialEq)]
pub struct CaseGrade {
    /// `group/name`.
    pub id: String,
    pub weight: f64,
    /// `weight` if it passed, 0 if it failed; `None` if it did not run.
    pub points: Option<f64>,
}

/// What one `--weight` weighs: a group, or one case (`group/name`).
#[derive(Clone, Debug, PartialEq)]
pub enum Weighed {
    Group(Group),
    Case(String),
}

/// The weights: [`DEFAULT_WEIGHT`] each group and [`CORE_POINTS`] each
/// core case, but those given (the last given for each wins).
#[derive(Clone, Debug, Default)]
pub struct Weights(pub Vec<(Weighed, f64)>);

impl Weights {
    pub fn of(&self, group: Group) -> f64 {
        let given = self.0.iter().rev().find(|(w, _)| *w == Weighed::Group(group));
        given.map_or(DEFAULT_WEIGHT, |(_, points)| *points)
    }

    /// The points `id` weighs of its own; `None`: it has a share of its
    /// group's.
    pub fn of_case(&self, id: &str) -> Option<f64> {
        let given = self.0.iter().rev().find(|(w, _)| matches!(w, Weighed::Case(case) if case == id));
        given.map(|(_, points)| *points).or_else(|| CORE.contains(&id).then_some(CORE_POINTS))
    }
}

/// `--weight GROUP=POINTS` or `--weight CASE=POINTS` (a case as `--list`
/// names it: `receive/acked-not-replayed`).
pub fn parse_weight(s: &str) -> std::result::Result<(Weighed, f64), String> {
    let (what, points) =
        s.split_once('=').ok_or_else(|| format!("{s:?}: GROUP=POINTS or CASE=POINTS, e.g. restart=30"))?;
    let what = what.trim();
    let weighed = if what.contains('/') {
        if !all_cases().iter().any(|c| c.id() == what) {
            return Err(format!("{what:?} is no case (wachat conform server --list names them)"));
        }
        Weighed::Case(what.to_string())
    } else {
        Weighed::Group(Group::from_str(what, true).map_err(|_| {
            let all: Vec<&str> = Group::value_variants().iter().map(|g| g.as_str()).collect();
            format!("{what:?} is no group: {}", all.join(", "))
        })?)
    };
    match points.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok((weighed, p)),
        _ => Err(format!("{points:?}: points are a number, 0 or more")),
    }
}

impl ClassRow {
    fn outcomes(&self) -> &[CaseOutcome] {
        match &self.checked {
            Grade::Ran(outcomes) => outcomes.as_slice(),
            _ => &[],
        }
    }

    /// The grade per group, in the suite's order of groups: its cases
    /// that weigh points of their own left out.
    pub fn grades(&self, weights: &Weights) -> Vec<GroupGrade> {
        let shared = |o: &&CaseOutcome| weights.of_case(&o.id).is_none();
        Group::value_variants()
            .iter()
            .map(|&group| {
                let (pass, fail, skip) =
                    counts(self.outcomes().iter().filter(|o| o.group == group).filter(shared));
                let weight = weights.of(group);
                let points = (pass + fail > 0).then(|| weight * pass as f64 / (pass + fail) as f64);
                GroupGrade { group, pass, fail, skip, weight, points }
            })
            .collect()
    }

    /// The grade of each case that weighs points of its own, in the
    /// suite's order; `points` is `None` for one that did not run.
    pub fn case_grades(&self, weights: &Weights) -> Vec<CaseGrade> {
        self.outcomes()
            .iter()
            .filter_map(|o| {
                let weight = weights.of_case(&o.id)?;
                let points = match o.status {
                    Status::Pass => Some(weight),
                    Status::Fail(_) => Some(0.0),
                    Status::Skip(_) => None,
                };
                Some(CaseGrade { id: o.id.clone(), weight, points })
            })
            .collect()
    }

    /// Points earned and the most there were to earn. A server not
    /// reachable or not checked earns nothing of what it would have been
    /// graded on: its gradable groups and cases.
    pub fn points(&self, weights: &Weights) -> (f64, f64) {
        if let Grade::Ran(_) = self.checked {
            let groups = self.grades(weights).into_iter().filter_map(|g| Some((g.points?, g.weight)));
            let cases = self.case_grades(weights).into_iter().filter_map(|c| Some((c.points?, c.weight)));
            return groups.chain(cases).fold((0.0, 0.0), |(p, m), (gp, gm)| (p + gp, m + gm));
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut max = 0.0;
        for (group, id) in &self.gradable {
            match weights.of_case(id) {
                Some(points) => max += points,
                None if !groups.contains(group) => groups.push(*group),
                None => {}
            }
        }
        (0.0, max + groups.iter().map(|&g| weights.of(g)).sum::<f64>())
    }

    /// `passing`, `failing` (a case failed), `not reachable`, `not checked`.
    pub fn status(&self) -> &'static str {
        match &self.checked {
            Grade::Ran(outcomes) if outcomes.iter().any(|o| matches!(o.status, Status::Fail(_))) => "failing",
            Grade::Ran(_) => "passing",
            Grade::Unreachable(_) => "not reachable",
            Grade::Unchecked(_) => "not checked",
        }
    }

    /// Why it was not checked, if it was not.
    pub fn why_not(&self) -> Option<&str> {
        match &self.checked {
            Grade::Ran(_) => None,
            Grade::Unreachable(why) | Grade::Unchecked(why) => Some(why),
        }
    }

    /// The ids of the cases that failed.
    pub fn failing(&self) -> Vec<&CaseOutcome> {
        match &self.checked {
            Grade::Ran(outcomes) => outcomes.iter().filter(|o| matches!(o.status, Status::Fail(_))).collect(),
            _ => Vec::new(),
        }
    }

    fn counts(&self) -> (usize, usize, usize) {
        match &self.checked {
            Grade::Ran(outcomes) => counts(outcomes),
            _ => (0, 0, 0),
        }
    }
}

/// Reads the roster: a header row, then `student,host,send_port,recv_port`
/// and an optional fifth column, the restart command. Empty ports are the
/// defaults. A bad row is kept, as a row that cannot be checked.
pub fn read_roster(path: &Path) -> Result<Vec<std::result::Result<RosterEntry, (String, String)>>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::Usage(format!("reading the roster {}: {e}", path.display())))?;
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::Usage(format!("{} line {}: {e}", path.display(), n + 2)))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let port = |i: usize, default: u16| match field(i).as_str() {
            "" => Ok(default),
            s => s.parse::<u16>().map_err(|_| format!("line {}: bad port {s:?}", n + 2)),
        };
        let (student, host) = (field(0), field(1));
        let row = match (port(2, DEFAULT_SEND_PORT), port(3, DEFAULT_RECV_PORT)) {
            _ if host.is_empty() => Err(format!("line {}: no host", n + 2)),
            (Ok(send_port), Ok(recv_port)) => {
                let restart = Some(field(4)).filter(|c| !c.is_empty());
                Ok(RosterEntry { student: student.clone(), host, send_port, recv_port, restart })
            }
            (Err(why), _) | (_, Err(why)) => Err(why),
        };
        rows.push(row.map_err(|why| (student, why)));
    }
    Ok(rows)
}

/// Checks every row, `jobs` at a time, each with the settings `settings`
/// makes for it; says each result on stderr as it comes. The rows come
/// back in the roster's order.
pub fn check_all(
    rows: Vec<std::result::Result<RosterEntry, (String, String)>>,
    jobs: usize,
    settings: &(dyn Fn(&RosterEntry) -> Result<SuiteConfig> + Sync),
) -> Vec<ClassRow> {
    let queue = Mutex::new(rows.into_iter().enumerate());
    let done = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    // The lock is let go before the row is checked.
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((n, row)) = next else { return };
                    let started = Instant::now();
                    let checked = match row {
                        Ok(row) => check_one(row, settings),
                        Err((student, why)) => ClassRow {
                            student,
                            address: String::new(),
                            checked: Grade::Unchecked(why),
                            gradable: Vec::new(),
                        },
                    };
                    eprintln!("{}", progress(&checked, started.elapsed()));
                    done.lock().unwrap_or_else(|e| e.into_inner()).push((n, checked));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(n, _)| *n);
    done.into_iter().map(|(_, row)| row).collect()
}

/// One student's server: reachable? then the probe, the cases, the clean-up.
fn check_one(row: RosterEntry, settings: &(dyn Fn(&RosterEntry) -> Result<SuiteConfig> + Sync)) -> ClassRow {
    let address = format!("{}:{}:{}", row.host, row.send_port, row.recv_port);
    let mut settings = match settings(&row) {
        Ok(settings) => settings,
        Err(e) => {
            let checked = Grade::Unchecked(e.to_string());
            return ClassRow { student: row.student, address, checked, gradable: Vec::new() };
        }
    };
    let cases = runner::selected(all_cases(), &settings);
    let gradable: Vec<(Group, String)> =
        cases.iter().filter(|c| runner::skipped(c, &settings).is_none()).map(|c| (c.group, c.id())).collect();
    let checked = match reachable(&settings) {
        Err(why) => Grade::Unreachable(why),
        Ok(()) => match super::preflight::check(&mut settings) {
            Err(why) => Grade::Unchecked(why.lines().next().unwrap_or_default().to_string()),
            Ok(_) => {
                let outcomes = runner::run(&cases, &settings, &mut |_| {});
                super::preflight::clean_up(&settings);
                Grade::Ran(outcomes)
            }
        },
    };
    ClassRow { student: row.student, address, checked, gradable }
}

/// Whether the send port accepts a connection within the suite's wait.
fn reachable(settings: &SuiteConfig) -> std::result::Result<(), String> {
    let addr = settings.send_addr();
    let targets: Vec<_> = addr.to_socket_addrs().map_err(|e| format!("{addr}: {e}"))?.collect();
    let mut why = format!("{addr}: no address");
    for target in targets {
        match TcpStream::connect_timeout(&target, settings.wait) {
            Ok(_) => return Ok(()),
            Err(e) => why = format!("{addr}: {e}"),
        }
    }
    Err(why)
}

/// `st3 10.0.0.17:6666:9999: 64 pass, 3 fail, 6 skip in 34.2 s`.
fn progress(row: &ClassRow, took: Duration) -> String {
    let student = crate::display::visible(&row.student);
    let secs = took.as_secs_f64();
    match (&row.checked, row.why_not()) {
        (Grade::Ran(outcomes), _) => {
            let (p, f, s) = counts(outcomes);
            format!("{student} {}: {p} pass, {f} fail, {s} skip in {secs:.1} s", row.address)
        }
        (_, why) => format!(
            "{student} {}: {}: {}",
            row.address,
            row.status(),
            crate::display::visible(why.unwrap_or(""))
        ),
    }
}

/// The class table as text: one line per student.
pub fn text(rows: &[ClassRow], weights: &Weights) -> String {
    let mut out = format!(
        "{:<16} {:<24} {:<13} {:>4} {:>4} {:>4} {:>13}  failing\n",
        "student", "address", "status", "pass", "fail", "skip", "points"
    );
    for row in rows {
        let (p, f, s) = row.counts();
        let (points, max) = row.points(weights);
        let mut failing: Vec<String> = row.failing().iter().map(|o| o.id.clone()).collect();
        if failing.len() > 5 {
            let more = failing.len() - 4;
            failing.truncate(4);
            failing.push(format!("… ({more} more)"));
        }
        let failing = row.why_not().map_or_else(|| failing.join(", "), str::to_string);
        let _ = writeln!(
            out,
            "{:<16} {:<24} {:<13} {p:>4} {f:>4} {s:>4} {:>13}  {}",
            crate::display::visible(&row.student),
            row.address,
            row.status(),
            format!("{points:.1}/{max:.0}"),
            crate::display::visible(&failing)
        );
    }
    out
}

/// The class as JSON Lines, one object per student, with its points per group.
pub fn json(rows: &[ClassRow], weights: &Weights) -> String {
    rows.iter()
        .map(|row| {
            let (p, f, s) = row.counts();
            let (points, max) = row.points(weights);
            let failing: Vec<String> = row.failing().iter().map(|o| json_str(&o.id)).collect();
            let groups: Vec<String> = row
                .grades(weights)
                .iter()
                .map(|g| {
                    let points = g.points.map_or("null".to_string(), |p| format!("{p:.2}"));
                    format!(
                        r#""{}":{{"pass":{},"fail":{},"skip":{},"weight":{},"points":{points}}}"#,
                        g.group.as_str(),
                        g.pass,
                        g.fail,
                        g.skip,
                        g.weight
                    )
                })
                .collect();
            let cases: Vec<String> = row
                .case_grades(weights)
                .iter()
                .map(|c| {
                    let points = c.points.map_or("null".to_string(), |p| format!("{p:.2}"));
                    format!(r#"{}:{{"weight":{},"points":{points}}}"#, json_str(&c.id), c.weight)
                })
                .collect();
            format!(
                r#"{{"student":{},"address":{},"status":"{}","why":{},"pass":{p},"fail":{f},"skip":{s},"points":{points:.2},"max":{max},"groups":{{{}}},"cases":{{{}}},"failing":[{}]}}"#,
                json_str(&row.student),
                json_str(&row.address),
                row.status(),
                row.why_not().map_or("null".to_string(), json_str),
                groups.join(","),
                cases.join(","),
                failing.join(",")
            ) + "\n"
        })
        .collect()
}

/// The class as CSV, for a grading script or a spreadsheet: one row per
/// student, its points and maximum, then each group's points, then those
/// of each case that weighs points of its own (empty when it did not run).
pub fn csv(rows: &[ClassRow], weights: &Weights) -> Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let groups = Group::value_variants();
    let weighed: Vec<String> =
        all_cases().iter().map(|c| c.id()).filter(|id| weights.of_case(id).is_some()).collect();
    let mut header = vec!["student", "address", "status", "points", "max", "pass", "fail", "skip"];
    header.extend(groups.iter().map(|g| g.as_str()));
    header.extend(weighed.iter().map(String::as_str));
    let fail = |e: csv::Error| Error::Usage(format!("writing the class CSV: {e}"));
    out.write_record(&header).map_err(fail)?;
    for row in rows {
        let (p, f, s) = row.counts();
        let (points, max) = row.points(weights);
        let mut record = vec![
            row.student.clone(),
            row.address.clone(),
            row.status().to_string(),
            format!("{points:.2}"),
            format!("{max}"),
            p.to_string(),
            f.to_string(),
            s.to_string(),
        ];
        record.extend(
            row.grades(weights).iter().map(|g| g.points.map_or(String::new(), |p| format!("{p:.2}"))),
        );
        let cases = row.case_grades(weights);
        record.extend(weighed.iter().map(|id| {
            let points = cases.iter().find(|c| &c.id == id).and_then(|c| c.points);
            points.map_or(String::new(), |p| format!("{p:.2}"))
        }));
        out.write_record(&record).map_err(fail)?;
    }
    let bytes = out.into_inner().map_err(|e| Error::Usage(format!("writing the class CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `Ok` if every server passed; else the usage error that makes the exit
/// code non-zero, saying how many failed and how many were not reached.
pub fn verdict(rows: &[ClassRow]) -> Result<()> {
    let count = |status: &str| rows.iter().filter(|r| r.status() == status).count();
    let (failing, unreachable, unchecked) = (count("failing"), count("not reachable"), count("not checked"));
    if failing + unreachable + unchecked == 0 {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{failing} of {} servers failed cases, {unreachable} not reachable, {unchecked} not checked",
        rows.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::Failure;
    use crate::conform::case::ProtocolLevel;

    fn outcome(group: Group, name: &str, status: Status) -> CaseOutcome {
        CaseOutcome {
            id: format!("{}/{name}", group.as_str()),
            group,
            section: "§",
            level: ProtocolLevel::V1_0,
            status,
            ms: 1,
            transcript: Vec::new(),
        }
    }

    fn fail() -> Status {
        Status::Fail(Failure::new("OK", "KO"))
    }

    #[test]
    fn points_are_a_groups_weight_times_its_share_of_cases_passed() {
        let row = ClassRow {
            student: "ana".into(),
            address: "h:1:2".into(),
            checked: Grade::Ran(vec![
                outcome(Group::Framing, "a", Status::Pass),
                outcome(Group::Framing, "b", Status::Pass),
                outcome(Group::Framing, "c", Status::Pass),
                outcome(Group::Framing, "d", fail()),
                outcome(Group::Auth, "e", Status::Pass),
                outcome(Group::Restart, "f", Status::Skip("needs --allow-restart CMD")),
            ]),
            gradable: vec![(Group::Framing, "framing/a".into()), (Group::Auth, "auth/e".into())],
        };
        let weights =
            Weights(vec![(Weighed::Group(Group::Framing), 20.0), (Weighed::Group(Group::Auth), 5.0)]);
        let grades = row.grades(&weights);
        let framing = grades.iter().find(|g| g.group == Group::Framing).unwrap();
        assert_eq!((framing.pass, framing.fail, framing.points), (3, 1, Some(15.0)));
        let restart = grades.iter().find(|g| g.group == Group::Restart).unwrap();
        assert_eq!((restart.skip, restart.points), (1, None), "skipped: not graded");
        // 15 of 20, 5 of 5; restart and the groups with no case left out.
        assert_eq!(row.points(&weights), (20.0, 25.0));
        assert_eq!(row.status(), "failing");
        let down = ClassRow { checked: Grade::Unreachable("refused".into()), ..row };
        assert_eq!(down.status(), "not reachable");
        assert_eq!(down.points(&weights), (0.0, 25.0), "nothing of what it would be graded on");
        assert!(verdict(&[down]).is_err());
    }

    #[test]
    fn weights_are_read_from_the_flag() {
        assert_eq!(parse_weight("restart=30"), Ok((Weighed::Group(Group::Restart), 30.0)));
        assert_eq!(parse_weight("v1.2 = 0"), Ok((Weighed::Group(Group::V12), 0.0)));
        assert!(parse_weight("nothing=3").unwrap_err().contains("framing, auth"));
        assert!(parse_weight("auth=-1").is_err());
        assert!(parse_weight("auth").is_err());
        let case = "receive/acked-not-replayed";
        assert_eq!(parse_weight(&format!("{case}=20")), Ok((Weighed::Case(case.into()), 20.0)));
        assert!(parse_weight("receive/nothing=20").unwrap_err().contains("is no case"));
        let weights = Weights(vec![
            (Weighed::Group(Group::Auth), 1.0),
            (Weighed::Group(Group::Auth), 2.0),
            (Weighed::Case(CORE[0].into()), 5.0),
        ]);
        assert_eq!((weights.of(Group::Auth), weights.of(Group::Rooms)), (2.0, DEFAULT_WEIGHT));
        assert_eq!(weights.of_case(CORE[0]), Some(5.0), "a core case as the teacher weighs it");
        assert_eq!(weights.of_case(CORE[1]), Some(CORE_POINTS));
        assert_eq!(weights.of_case(case), None, "a share of its group's");
        assert!(CORE.iter().all(|id| all_cases().iter().any(|c| c.id() == *id)), "the core names cases");
    }

    /// A server that passes every case but one of the lab's core scores
    /// below 80 %, at every level, restarts graded or not: each group of
    /// the level a full share, the core case's own points lost.
    #[test]
    fn failing_one_core_case_is_below_80_percent_at_every_level() {
        for level in [ProtocolLevel::V1_0, ProtocolLevel::V1_1, ProtocolLevel::V1_2] {
            for restarts in [false, true] {
                for core in CORE {
                    let outcomes: Vec<CaseOutcome> = all_cases()
                        .iter()
                        .filter(|c| c.level <= level && (restarts || c.group != Group::Restart))
                        .map(|c| {
                            let status = if c.id() == core { fail() } else { Status::Pass };
                            CaseOutcome {
                                id: c.id(),
                                group: c.group,
                                level: c.level,
                                ..outcome(c.group, c.name, status)
                            }
                        })
                        .collect();
                    let row = ClassRow {
                        student: "bob".into(),
                        address: "h:1:2".into(),
                        checked: Grade::Ran(outcomes),
                        gradable: Vec::new(),
                    };
                    let (points, max) = row.points(&Weights::default());
                    assert!(
                        points / max < 0.8,
                        "{core} failed at {level:?}, restarts {restarts}: {points}/{max}"
                    );
                    assert!(points / max > 0.7, "the rest counts: {points}/{max}");
                }
            }
        }
    }

    #[test]
    fn the_roster_may_name_a_restart_command_and_keeps_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.csv");
        std::fs::write(
            &path,
            "student,host,send_port,recv_port,restart\n\
             ana,10.0.0.17,6666,9999,ssh lab-17 ./restart.sh\n\
             bob,10.0.0.18,,\n\
             eve,10.0.0.19,66x,9999\n",
        )
        .unwrap();
        let rows = read_roster(&path).unwrap();
        assert_eq!(rows[0].as_ref().unwrap().restart.as_deref(), Some("ssh lab-17 ./restart.sh"));
        let bob = rows[1].as_ref().unwrap();
        assert_eq!(
            (bob.send_port, bob.recv_port, bob.restart.clone()),
            (DEFAULT_SEND_PORT, DEFAULT_RECV_PORT, None)
        );
        assert_eq!(
            rows[2].as_ref().unwrap_err(),
            &("eve".to_string(), "line 4: bad port \"66x\"".to_string())
        );
    }

    #[test]
    fn the_csv_has_a_row_per_student_and_a_column_per_group() {
        let rows = [ClassRow {
            student: "ana".into(),
            address: "h:1:2".into(),
            checked: Grade::Ran(vec![outcome(Group::Auth, "e", Status::Pass)]),
            gradable: vec![(Group::Auth, "auth/e".into())],
        }];
        let text = csv(&rows, &Weights::default()).unwrap();
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("student,address,status,points,max,pass,fail,skip,framing,auth,")
        );
        assert!(lines.next().unwrap().starts_with("ana,h:1:2,passing,10.00,10,1,0,0,,10.00,"));
    }
}
