//! A checkpoint's bytes, row by row: a file with one row of every kind
//! (as the code wrote them when these rows were taken, before the record
//! kinds were split into files) loads, and written again is the very same
//! bytes. Old data directories' checkpoints load because of this.

use super::{encode, load, snapshot, verify};
use crate::store::state::State;

/// Every kind of row, in the order [`encode`] writes them.
const ROWS: &[&str] = &[
    "CHECKPOINT,3,900,1795000000000,7",
    "USER,ana,6,1,",
    "QUEUED,ana,D,400,bob,1,m2",
    "QUEUED,ana,G,1,200:400:3;300:300:1",
    "QUEUED,ana,S,500",
    "QUEUED,ana,C,600",
    "QUEUED,ana,M,700",
    "QUEUED,ana,T,800,r1,1",
    "SEVERAL,ana",
    "HASH,ana,\"$argon2id$v=19$m=8,t=2,p=1$c2FsdA$aGFzaA\"",
    "SINCE,ana,300",
    "BASE,ana,bob,2",
    "SET,ana,archive,#lab,\"a, b\"",
    "SET,ana,archive,bob,Bob",
    "SET,ana,block,cy,cy",
    "SET,ana,pref,#lab,#Lab:mentions:pinned",
    "SET,ana,pref,bob,bob:none:unpinned",
    "POSTED,ana,#lab@lab2,p1",
    "POSTED,ana,#lab@lab2,p2",
    "POSTED,ana,#lab@lab2,p3,a430d84680aabd0b",
    "BOUNCED,ana,zed@lab2,m9,1795000000000,lab2 refused it: no user zed",
    "SENT,ana,1f:40 2e:90",
    "USER,bob,3,3,1795000000000",
    "HASH,bob,!deleted:1795000000000",
    "USER,cy,0,0,12",
    "DIRECT,ana,bob,400,5,3,2,1,1,2,0,6",
    "ROOM,#lab,300,4,7",
    "MEMBER,#lab,ana,2,2 3",
    "BORN,#lab,120",
    "RULES,#lab,ana,1,0,\"a, b\"",
    "RULE,#lab,ADMIN,cy,0",
    "RULE,#lab,INVITED,bob,0",
    "RULE,#lab,BANNED,bob,99",
    "RULE,#lab,MUTED,cy,0",
    "RECEIPT,#lab,ana,3",
    "PENDING,#lab,3,ana,m4,1",
    "ROOM,#empty,,0,0",
    "MEMBER,#empty,cy,0,",
    "ADMIN,cy",
    "INVITE,k7m2,1795000000000,1",
    "INVITE,p3q4,99,0",
    "FILE,0af3,ana,30000,9f86d081,image/png,30,1,\"a, b.png\"",
    "CARRIER,0af3,ana,#lab,m1,",
    "CARRIER,0af3,ana,bob,m2,both",
    "FILE,1b2c,,3,ba7816bf,application/octet-stream,40,0,notes.txt",
    "USAGE_FROM,0",
    "USAGE,ana,120",
    "USAGE,cy,40",
];

fn file() -> Vec<u8> {
    let mut body = format!("{}\n", super::HEADER);
    for row in ROWS {
        body.push_str(row);
        body.push('\n');
    }
    let lines = body.matches('\n').count();
    let sum = super::checksum(body.as_bytes());
    body.push_str(&format!("END,{lines},{sum}\n"));
    body.into_bytes()
}

fn accounts() -> State {
    let mut state = State::default();
    for name in ["ana", "bob", "cy"] {
        state.add_user(name, "hash").unwrap();
    }
    state
}

#[test]
fn a_checkpoint_of_every_row_is_written_again_byte_for_byte() {
    let bytes = file();
    assert_eq!(verify(&bytes), Ok(900));
    let mut state = accounts();
    assert_eq!(load(&mut state, &bytes), Ok(900));
    let (end, again) = encode(&snapshot(&state));
    assert_eq!(end, 900);
    assert_eq!(String::from_utf8(again).unwrap(), String::from_utf8(bytes).unwrap());
}

/// Rows this server never writes, which a checkpoint of an older server may
/// hold: each loads as the rows that stand for it (blocks and
/// preferences are settings, `SET`).
const OLD_ROWS: &[(&str, &[&str])] = &[
    ("BLOCK,ana,cy", &["SET,ana,block,cy,cy"]),
    ("PREF,ana,#Lab,mentions,1", &["SET,ana,pref,#lab,#Lab:mentions:pinned"]),
    ("PREF,ana,bob,none,0", &["SET,ana,pref,bob,bob:none:unpinned"]),
];

#[test]
fn rows_of_before_load_as_the_rows_that_stand_for_them() {
    let with = |rows: &[&str]| {
        let mut all = ROWS.to_vec();
        all.retain(|r| !r.starts_with("SET,ana,block") && !r.starts_with("SET,ana,pref"));
        let at = all.iter().position(|r| r.starts_with("SENT,")).unwrap();
        all.splice(at..at, rows.iter().copied());
        let mut body = format!("{}\n", super::HEADER);
        all.iter().for_each(|row| body.push_str(&format!("{row}\n")));
        let (lines, sum) = (body.matches('\n').count(), super::checksum(body.as_bytes()));
        body.push_str(&format!("END,{lines},{sum}\n"));
        let mut state = accounts();
        assert_eq!(load(&mut state, body.as_bytes()), Ok(900));
        String::from_utf8(encode(&snapshot(&state)).1).unwrap()
    };
    let old: Vec<&str> = OLD_ROWS.iter().map(|(old, _)| *old).collect();
    let new: Vec<&str> = OLD_ROWS.iter().flat_map(|(_, new)| new.iter().copied()).collect();
    assert_eq!(with(&old), with(&new));
    assert_eq!(with(&new), String::from_utf8(file()).unwrap());
}

#[test]
fn every_family_row_has_a_golden_row_and_one_reader() {
    let golden: std::collections::BTreeSet<&str> = ROWS
        .iter()
        .chain(OLD_ROWS.iter().map(|(old, _)| old))
        .map(|r| r.split(',').next().unwrap())
        .collect();
    let mut claimed = std::collections::BTreeSet::new();
    for family in crate::store::record::CHECKPOINT_ROWS {
        for kind in family.kinds {
            assert!(golden.contains(kind), "no golden row of {kind}: add one to ROWS");
            assert!(claimed.insert(*kind), "two record families read {kind} rows");
        }
    }
    // The checkpoint's core reads its own rows first: a family's row
    // must not share a word with them, or it would never be read.
    let core =
        ["CHECKPOINT", "USER", "QUEUED", "SENT", "DIRECT", "ROOM", "MEMBER", "USAGE_FROM", "USAGE", "END"];
    assert!(core.iter().all(|kind| !claimed.contains(kind)));
}
