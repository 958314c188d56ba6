//! Which cases run, one after the other, and what became of each.
//!
//! Cases run one at a time: they share one server, and a case that
//! counts presence events or `USERS` must not see another case's users
//! come and go. A case that panics (a bug in the suite, never in the
//! server under test) is reported as a failure of that case alone.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use super::case::run_prefix;
use super::wire::TranscriptLine;
use super::{Case, CaseCtx, Failure, Group, Needs, ProtocolLevel, SuiteConfig};

/// What became of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail(Failure),
    /// Not run, and why (`--fast`, no `--allow-restart`).
    Skip(&'static str),
}

/// A case's outcome, with its transcript.
#[derive(Clone, Debug)]
pub struct CaseOutcome {
    /// `group/name`.
    pub id: String,
    pub group: Group,
    pub section: &'static str,
    pub level: ProtocolLevel,
    pub status: Status,
    pub ms: u64,
    pub transcript: Vec<TranscriptLine>,
}

/// The cases `settings` selects: at its level or below, in its groups.
pub fn selected(cases: Vec<Case>, settings: &SuiteConfig) -> Vec<Case> {
    cases
        .into_iter()
        .filter(|c| c.level <= settings.level)
        .filter(|c| settings.only.is_empty() || settings.only.contains(&c.group))
        .collect()
}

/// Runs `cases` against the server of `settings`, calling `each` as soon
/// as a case is done (so a long run shows its progress).
///
/// The first case refused with `KO:RATE_LIMITED` stops the run: the
/// others are skipped, since they would only spend more of the limits the
/// suite's address shares with everyone behind it (a class).
pub fn run(cases: &[Case], settings: &SuiteConfig, each: &mut dyn FnMut(&CaseOutcome)) -> Vec<CaseOutcome> {
    let prefix = run_prefix();
    let mut outcomes = Vec::new();
    let mut stopped = false;
    for (n, case) in cases.iter().enumerate() {
        let outcome = match stopped {
            true => CaseOutcome::new(case, Status::Skip(STOPPED), 0, Vec::new()),
            false => run_one(case, settings, format!("{prefix}n{n}")),
        };
        stopped |= rate_limited(&outcome);
        each(&outcome);
        outcomes.push(outcome);
    }
    outcomes
}

/// Why the cases after a `KO:RATE_LIMITED` are skipped.
pub const STOPPED: &str = "stopped: the server rate-limited the suite (run it against a server of your own, \
     or one started with --exempt <your address> and --rate 0)";

/// Whether a case failed on the server's limits (not on the protocol).
pub fn rate_limited(outcome: &CaseOutcome) -> bool {
    matches!(&outcome.status, Status::Fail(f) if f.got.contains("KO:RATE_LIMITED"))
}

/// Why `settings` leave `case` out (`--fast`, no restart command, …), if
/// they do.
pub fn skipped(case: &Case, settings: &SuiteConfig) -> Option<&'static str> {
    match case.needs {
        Needs::Clock if settings.fast => Some("slow (--fast)"),
        Needs::Restart if settings.restart.is_none() => Some("needs --allow-restart CMD"),
        Needs::Tls if settings.tls.is_none() => Some("needs a TLS server (--tls or --ca)"),
        Needs::Register if settings.invite_only => Some("registers by itself (the server is invite-only)"),
        _ => None,
    }
}

fn run_one(case: &Case, settings: &SuiteConfig, prefix: String) -> CaseOutcome {
    if let Some(why) = skipped(case, settings) {
        return CaseOutcome::new(case, Status::Skip(why), 0, Vec::new());
    }
    let start = Instant::now();
    let mut ctx = CaseCtx::new(settings, prefix);
    let result = catch_unwind(AssertUnwindSafe(|| (case.run)(&mut ctx)));
    let status = match result {
        Ok(Ok(())) => Status::Pass,
        Ok(Err(failure)) => Status::Fail(failure),
        Err(_) => Status::Fail(Failure::new(
            "the case to run",
            "the suite itself panicked (a bug in wachat conform)",
        )),
    };
    CaseOutcome::new(case, status, start.elapsed().as_millis() as u64, ctx.transcript.excerpt())
}

impl CaseOutcome {
    pub fn new(case: &Case, status: Status, ms: u64, transcript: Vec<TranscriptLine>) -> CaseOutcome {
        CaseOutcome {
            id: case.id(),
            group: case.group,
            section: case.section,
            level: case.level,
            status,
            ms,
            transcript,
        }
    }
}
