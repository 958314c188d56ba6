//! What a run prints: per guarantee, held or violated with a count and
//! the first examples (their frames, connections and times); the same as
//! one JSON object with `--json`.

use std::fmt::Write;

use super::check::Verdict;
use super::history::{Recording, Way};
use super::model::Model;
use crate::display::json_str;
use crate::protocol::Port;

/// How many examples a report shows per guarantee.
pub const EXAMPLES: usize = 3;

/// The run's settings, as printed and replayed.
pub struct Header {
    pub target: String,
    pub level: String,
    pub devices: usize,
    pub users: usize,
    pub rooms: usize,
    pub duration_s: u64,
    pub seed: u64,
    pub faults: String,
    /// The command line that replays this run.
    pub replay: String,
}

/// How much the run did.
#[derive(Default, Debug)]
pub struct Counts {
    pub operations: usize,
    pub msgs: usize,
    pub oks: usize,
    /// Of those `OK`'d, the messages to a room.
    pub room_oks: usize,
    /// Of those `OK`'d, the messages carrying a file (a federation's).
    pub file_oks: usize,
    /// The files their recipients' servers named at the end (`FILEOF`),
    /// whose bytes the check of *files* compared.
    pub files_fetched: usize,
    pub resends: usize,
    pub reads: usize,
    pub acks: usize,
    pub events: usize,
    /// Messages bounced to their senders (1.3, a federation's).
    pub bounces: usize,
    pub connections: usize,
    pub faults: usize,
    /// How many of each kind (the first word of a fault: delay, reset,
    /// partition, restart), by name.
    pub fault_kinds: Vec<(String, usize)>,
    pub failovers: u64,
}

pub fn counts(run: &Recording, m: &Model) -> Counts {
    let out_send = run.frames.iter().filter(|f| f.port == Port::Send && f.dir == Way::Out);
    let msg_frames = out_send.filter(|f| f.text.starts_with("MSG:") || f.text.starts_with("FILE:")).count();
    let mut conns: Vec<u64> = run.frames.iter().map(|f| f.conn).collect();
    conns.sort();
    conns.dedup();
    let c = Counts {
        msgs: m.sent.len(),
        oks: m.oks.len(),
        room_oks: m.accepted().iter().filter(|s| m.room(&s.chat).is_some()).count(),
        file_oks: m.accepted().iter().filter(|s| s.file.is_some()).count(),
        files_fetched: m.files_of.len(),
        resends: msg_frames.saturating_sub(m.sent.len()),
        reads: m.reads.len(),
        acks: m.acks.len(),
        events: m.queued.len(),
        bounces: {
            let mut bounced: Vec<(usize, &str)> = m.bounces.iter().map(|b| (b.user, b.id.as_str())).collect();
            bounced.sort();
            bounced.dedup();
            bounced.len()
        },
        connections: conns.len(),
        faults: run.faults.len(),
        fault_kinds: fault_kinds(run),
        failovers: run.failovers,
        operations: 0,
    };
    Counts { operations: msg_frames + c.reads + c.acks + c.connections, ..c }
}

fn fault_kinds(run: &Recording) -> Vec<(String, usize)> {
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for f in &run.faults {
        *kinds.entry(f.what.split(' ').next().unwrap_or_default().to_string()).or_default() += 1;
    }
    kinds.into_iter().collect()
}

pub fn text(h: &Header, run: &Recording, m: &Model, verdicts: &[Verdict]) -> String {
    let c = counts(run, m);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "wachat chaos: {}, level {}, {} users{}, {} rooms, {} s, faults {}, seed {}",
        h.target,
        h.level,
        h.users,
        if h.devices > 1 { format!(" of {} devices", h.devices) } else { String::new() },
        h.rooms,
        h.duration_s,
        h.faults,
        h.seed
    );
    let kinds: Vec<String> = c.fault_kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let bounced = if c.bounces > 0 { format!(", {} bounced", c.bounces) } else { String::new() };
    let files = match c.file_oks {
        0 => String::new(),
        n => format!(", {n} carrying a file, fetched {} times by recipients", c.files_fetched),
    };
    let _ = write!(
        out,
        "{} operations: {} messages ({} OK'd, {} of them to rooms{files}, {} resends{bounced}), {} READs, {} ACKs, {} events read, {} connections; {} faults",
        c.operations,
        c.msgs,
        c.oks,
        c.room_oks,
        c.resends,
        c.reads,
        c.acks,
        c.events,
        c.connections,
        c.faults
    );
    if !kinds.is_empty() {
        let _ = write!(out, " ({})", kinds.join(", "));
    }
    let _ =
        if c.failovers == 0 { writeln!(out) } else { writeln!(out, "; {} to another server", c.failovers) };
    for v in verdicts {
        if v.violations.is_empty() {
            let _ = writeln!(out, "held      {:<11} {}", v.name, v.promise);
            continue;
        }
        let _ = writeln!(out, "VIOLATED  {:<11} {} times: {}", v.name, v.violations.len(), v.promise);
        for e in v.violations.iter().take(EXAMPLES) {
            let _ = writeln!(out, "    at {:.3} s: {}", e.at_us as f64 / 1e6, e.what);
            for &f in &e.frames {
                let _ = writeln!(out, "        {}", run.frames[f].show(&run.names));
            }
        }
    }
    let broken = verdicts.iter().filter(|v| !v.violations.is_empty()).count();
    let _ = writeln!(
        out,
        "{} of {} guarantees held; replay: {}",
        verdicts.len() - broken,
        verdicts.len(),
        h.replay
    );
    out
}

pub fn json(h: &Header, run: &Recording, m: &Model, verdicts: &[Verdict]) -> String {
    let c = counts(run, m);
    let guarantees: Vec<String> = verdicts.iter().map(|v| verdict_json(run, v)).collect();
    format!(
        concat!(
            "{{\"target\":{},\"level\":{},\"devices\":{},\"users\":{},\"rooms\":{},\"duration_s\":{},\"seed\":{},",
            "\"faults\":{},\"replay\":{},\"operations\":{},\"messages\":{},\"oks\":{},\"room_oks\":{},\"file_oks\":{},\"files_fetched\":{},\"resends\":{},",
            "\"reads\":{},\"acks\":{},\"events\":{},\"bounces\":{},\"connections\":{},\"fault_count\":{},\"fault_kinds\":{{{}}},\"failovers\":{},",
            "\"guarantees\":[{}]}}\n"
        ),
        json_str(&h.target),
        json_str(&h.level),
        h.devices,
        h.users,
        h.rooms,
        h.duration_s,
        h.seed,
        json_str(&h.faults),
        json_str(&h.replay),
        c.operations,
        c.msgs,
        c.oks,
        c.room_oks,
        c.file_oks,
        c.files_fetched,
        c.resends,
        c.reads,
        c.acks,
        c.events,
        c.bounces,
        c.connections,
        c.faults,
        c.fault_kinds.iter().map(|(k, n)| format!("{}:{n}", json_str(k))).collect::<Vec<_>>().join(","),
        c.failovers,
        guarantees.join(",")
    )
}

fn verdict_json(run: &Recording, v: &Verdict) -> String {
    let examples: Vec<String> = v
        .violations
        .iter()
        .take(EXAMPLES)
        .map(|e| {
            let frames: Vec<String> =
                e.frames.iter().map(|&f| json_str(&run.frames[f].show(&run.names))).collect();
            format!(
                "{{\"at_s\":{:.3},\"what\":{},\"frames\":[{}]}}",
                e.at_us as f64 / 1e6,
                json_str(&e.what),
                frames.join(",")
            )
        })
        .collect();
    let status = if v.violations.is_empty() { "held" } else { "violated" };
    format!(
        "{{\"name\":{},\"status\":\"{status}\",\"count\":{},\"examples\":[{}]}}",
        json_str(v.name),
        v.violations.len(),
        examples.join(",")
    )
}
