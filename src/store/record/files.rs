//! 1.2 (§21): `FILE`, a change of the description of a file of a chat
//! (`store::files`): its upload begun, its bytes checked, a message that
//! carries it or no longer does, whose it is, its removal. The bytes are
//! not in the log (a 16 MB file would be read back by every replay): they
//! are a `Blobs`' (`<data>/files/`, or a cluster's `file_chunks`), and
//! what an upload received so far is theirs too, so a part writes no record.
//!
//! ```text
//! FILE,<ts>,<file id>,UPLOAD,<owner>,<size>,<sha256>,<created>,<name>
//! FILE,<ts>,<file id>,DONE,<type>
//! FILE,<ts>,<file id>,CARRY,<from>,<to>,<msg id>,<left: author|recipient|both, or empty>
//! FILE,<ts>,<file id>,UNCARRY,<from>,<to>,<msg id>
//! FILE,<ts>,<file id>,DISOWN,<the deleted account's name>
//! FILE,<ts>,<file id>,HEIR
//! FILE,<ts>,<file id>,GONE
//! ```
//!
//! `DISOWN` and `HEIR` name the rule (`files::disown`, `files::pass_to_heir`),
//! which applying the record runs: the leader and every follower run it on
//! the same description. A checkpoint keeps every description whole, after
//! every room's rows, each followed by its carriers in their order:
//!
//! ```text
//! FILE,<id>,<owner>,<size>,<sha256>,<type>,<created>,<1 complete|0 not>,<name>
//! CARRIER,<id>,<from>,<to>,<msg id>,<left>
//! ```

use super::fields::{CsvLine, Fields, Rows};
use super::{CheckpointRows, Record};
use crate::store::files::{Carrier, FileChange, Left, Meta};
use crate::store::state::State;

/// A carrier's sides that left, as a word.
fn left_word(left: Left) -> &'static str {
    match (left.author, left.recipient) {
        (false, false) => "",
        (true, false) => "author",
        (false, true) => "recipient",
        (true, true) => "both",
    }
}

fn left_of(word: &str) -> Result<Left, String> {
    Ok(match word {
        "" => Left::default(),
        "author" => Left { author: true, recipient: false },
        "recipient" => Left { author: false, recipient: true },
        "both" => Left { author: true, recipient: true },
        other => return Err(format!("unknown side {other:?}")),
    })
}

pub(super) fn encode(line: &mut CsvLine, ts: u64, id: &str, change: &FileChange) {
    line.word("FILE");
    line.number(ts);
    line.field(id);
    match change {
        FileChange::Upload { owner, name, size, sha256, created } => {
            line.fields(&["UPLOAD", owner]);
            line.number(*size);
            line.field(sha256);
            line.number(*created);
            line.field(name);
        }
        FileChange::Done { kind } => line.fields(&["DONE", kind]),
        FileChange::Carry(c) => line.fields(&["CARRY", &c.from, &c.to, &c.id, left_word(c.left)]),
        FileChange::Uncarry(c) => line.fields(&["UNCARRY", &c.from, &c.to, &c.id]),
        FileChange::Disown(name) => line.fields(&["DISOWN", name]),
        FileChange::Heir => line.field("HEIR"),
        FileChange::Gone => line.field("GONE"),
    }
}

/// Reads a `FILE` line, whose time is `ts`.
pub(super) fn decode(f: &Fields, ts: u64) -> Result<Record, String> {
    let text = |i| -> Result<String, String> { Ok(f.get(i)?.to_string()) };
    let carrier = || -> Result<Carrier, String> { Ok(Carrier::new(f.get(4)?, f.get(5)?, f.get(6)?)) };
    let change = match f.get(3)?.as_ref() {
        "UPLOAD" => FileChange::Upload {
            owner: text(4)?,
            size: f.number(5)?,
            sha256: text(6)?,
            created: f.number(7)?,
            name: text(8)?,
        },
        "DONE" => FileChange::Done { kind: text(4)? },
        "CARRY" => FileChange::Carry(Carrier { left: left_of(f.get(7)?)?, ..carrier()? }),
        "UNCARRY" => FileChange::Uncarry(carrier()?),
        "DISOWN" => FileChange::Disown(text(4)?),
        "HEIR" => FileChange::Heir,
        "GONE" => FileChange::Gone,
        other => return Err(format!("unknown change of a file {other:?}")),
    };
    Ok(Record::File { ts, id: text(2)?, change })
}

impl State {
    /// `FILE`: the change of file `id`'s description (`files::FileIndex`).
    pub(super) fn apply_file(&mut self, id: &str, change: &FileChange) -> Result<(), String> {
        self.files.apply(id, change)
    }
}

pub(super) const ROWS: CheckpointRows = CheckpointRows {
    kinds: &["FILE", "CARRIER"],
    user: |_, _, _| {},
    room: |_, _, _| {},
    end: end_rows,
    load: load_row,
};

/// Every description, in the order of the ids (a checkpoint of the same
/// state is the same bytes).
fn end_rows(state: &State, out: &mut Rows) {
    let mut all: Vec<(&String, &Meta)> = state.files.all().collect();
    all.sort_by(|a, b| a.0.cmp(b.0));
    for (id, m) in all {
        let (size, created) = (m.size.to_string(), m.created.to_string());
        let complete = if m.complete { "1" } else { "0" };
        out.row(&["FILE", id, &m.owner, &size, &m.sha256, &m.kind, &created, complete, &m.name]);
        for c in &m.carriers {
            out.row(&["CARRIER", id, &c.from, &c.to, &c.id, left_word(c.left)]);
        }
    }
}

fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let id = f.get(1)?;
    if f.get(0)?.as_ref() == "CARRIER" {
        let carrier = Carrier { left: left_of(f.get(5)?)?, ..Carrier::new(f.get(2)?, f.get(3)?, f.get(4)?) };
        return state.files.apply(id, &FileChange::Carry(carrier));
    }
    let meta = Meta {
        owner: f.get(2)?.to_string(),
        size: f.number(3)?,
        sha256: f.get(4)?.to_string(),
        kind: f.get(5)?.to_string(),
        created: f.number(6)?,
        complete: f.number(7)? == 1,
        name: f.get(8)?.to_string(),
        carriers: Vec::new(),
    };
    state.files.load(id, meta);
    Ok(())
}
