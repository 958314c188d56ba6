//! The log's bytes, kind by kind: one record of every kind (and every
//! shape of `RULE`), encoded, must be exactly the line the code wrote when
//! these lines were taken (before the record kinds were split into files),
//! and decode back to itself. Old data directories load because of this.

use std::sync::Arc;

use super::{Link, NO_POS, Record, StoredMessage};
use crate::protocol::{Change, RoomMode, Text};
use crate::store::files::{Carrier, FileChange, Left};
use crate::store::invites::Mark;
use crate::store::moderation::Rule;

fn name(s: &str) -> Arc<str> {
    s.into()
}

fn msg(to: &str, text: &str, prev: u64) -> Record {
    let text = Text::parse(text).unwrap();
    let msg = StoredMessage { from: name("ana"), to: name(to), id: name("m1"), ts: 17, text };
    Record::Msg { msg: Arc::new(msg), link: Link { prev, ord: 3, dord: 1 } }
}

fn rule(ts: u64, room: &str, rule: Rule) -> Record {
    Record::Rule { ts, by: name("ana"), room: name(room), rule }
}

fn set(user: Arc<str>, key: &str, value: Option<&str>) -> Record {
    let (name, key, value) = ("archive".into(), key.into(), value.map(String::from));
    Record::Set { ts: 19, user, name, key, value }
}

fn invite(mark: Mark) -> Record {
    Record::Invite { ts: 20, code: "k7m2".into(), mark, expires_ms: 1_795_000_000_000 }
}

fn change(c: Change) -> Record {
    rule(11, "#lab", Rule::Change(c))
}

/// Every kind, with the line it must be written as.
fn every_kind() -> Vec<(Record, &'static str)> {
    let hash = name("$argon2id$v=19$m=8,t=2,p=1$c2FsdA$aGFzaA");
    let (ana, bob, club) = (name("ana"), name("bob"), name("#club"));
    let delivered =
        Record::Delivered { ts: 5, user: bob.clone(), chat: ana.clone(), id: name("m1"), dord: 4 };
    let read = Record::Read { ts: 6, user: bob.clone(), chat: ana.clone(), id: name("m1"), ord: 4 };
    let room_read = Record::Read { ts: 6, user: bob.clone(), chat: club.clone(), id: name("m1"), ord: 9 };
    let room_delivered =
        Record::Delivered { ts: 5, user: bob.clone(), chat: club.clone(), id: name("m1"), dord: 9 };
    vec![
        (msg("bob", "hi", NO_POS), "MSG,17,ana,bob,m1,,3,1,hi\n"),
        (msg("#club", "a, \"q\"\\n t", 120), "MSG,17,ana,#club,m1,120,3,1,\"a, \"\"q\"\"\\n t\"\n"),
        (delivered, "DELIVERED,5,bob,ana,m1,,,4\n"),
        (read, "READ,6,bob,ana,m1,,,4\n"),
        (room_read, "READ,6,bob,#club,m1,,9\n"),
        (room_delivered, "DELIVERED,5,bob,#club,m1,,,9\n"),
        (Record::Join { ts: 7, user: bob.clone(), room: club.clone(), read: 2 }, "JOIN,7,bob,#club,,,2\n"),
        (Record::Leave { ts: 8, user: bob.clone(), room: club }, "LEAVE,8,bob,#club\n"),
        (Record::Ack { ts: 9, user: bob.clone(), seq: 12, device: None }, "ACK,9,bob,,,,12\n"),
        (
            Record::Ack { ts: 9, user: bob.clone(), seq: 12, device: Some((name("Phone"), 15)) },
            "ACK,9,bob,Phone,,15,12\n",
        ),
        (Record::Seen { ts: 10, user: bob.clone() }, "SEEN,10,bob\n"),
        (Record::Inbox { ts: 10, user: bob.clone(), seq: 30 }, "INBOX,10,bob,,,,30\n"),
        (rule(11, "#lab", Rule::Owner), "RULE,11,ana,#lab,OWNER\n"),
        (rule(12, "", Rule::ServerAdmin(true)), "RULE,12,ana,,ADMIN,,1\n"),
        (rule(12, "", Rule::ServerAdmin(false)), "RULE,12,ana,,ADMIN,,0\n"),
        (change(Change::Topic("a, b".into())), "RULE,11,ana,#lab,TOPIC,,0,,\"a, b\"\n"),
        (change(Change::Mode(RoomMode::Announce, true)), "RULE,11,ana,#lab,MODE,+announce,0,,\n"),
        (change(Change::Mode(RoomMode::Invite, false)), "RULE,11,ana,#lab,MODE,-invite,0,,\n"),
        (change(Change::Invited("bob".into())), "RULE,11,ana,#lab,INVITED,bob,0,,\n"),
        (change(Change::Kicked("bob".into())), "RULE,11,ana,#lab,KICKED,bob,0,,\n"),
        (change(Change::Banned("bob".into(), 99)), "RULE,11,ana,#lab,BANNED,bob,99,,\n"),
        (change(Change::Unbanned("bob".into())), "RULE,11,ana,#lab,UNBANNED,bob,0,,\n"),
        (change(Change::Muted("bob".into(), 0)), "RULE,11,ana,#lab,MUTED,bob,0,,\n"),
        (change(Change::Unmuted("bob".into())), "RULE,11,ana,#lab,UNMUTED,bob,0,,\n"),
        (change(Change::Opped("bob".into())), "RULE,11,ana,#lab,OPPED,bob,0,,\n"),
        (change(Change::Deopped("bob".into())), "RULE,11,ana,#lab,DEOPPED,bob,0,,\n"),
        (Record::Devices { ts: 13, user: bob.clone(), several: true }, "DEVICES,13,bob,,,,1\n"),
        (Record::Devices { ts: 13, user: bob.clone(), several: false }, "DEVICES,13,bob,,,,0\n"),
        (
            Record::Passwd { ts: 14, user: ana.clone(), hash: hash.clone() },
            "PASSWD,14,ana,,,,,,\"$argon2id$v=19$m=8,t=2,p=1$c2FsdA$aGFzaA\"\n",
        ),
        (Record::DelAccount { ts: 15, user: ana.clone() }, "DELACCOUNT,15,ana\n"),
        (
            Record::Reuse { ts: 16, user: ana.clone(), hash },
            "REUSE,16,ana,,,,,,\"$argon2id$v=19$m=8,t=2,p=1$c2FsdA$aGFzaA\"\n",
        ),
        (set(ana.clone(), "bob", Some("Bob")), "SET,19,ana,bob,archive,,1,,Bob\n"),
        (invite(Mark::Kept), "INVITE,20,k7m2,KEPT,1795000000000\n"),
        (invite(Mark::Used), "INVITE,20,k7m2,USED,1795000000000\n"),
        (invite(Mark::Revoked), "INVITE,20,k7m2,REVOKED,1795000000000\n"),
        (set(ana.clone(), "#lab", Some("a, \"b\"")), "SET,19,ana,#lab,archive,,1,,\"a, \"\"b\"\"\"\n"),
        (set(ana, "bob", None), "SET,19,ana,bob,archive,,0\n"),
        // 1.3: a bounce, and a message from and to another server's user.
        (
            Record::Failed {
                ts: 23,
                author: name("ana"),
                address: name("bob@lab2"),
                id: name("m1"),
                reason: name("lab2 refused it: lab2 has no user bob"),
            },
            "FAILED,23,ana,bob@lab2,m1,,,,lab2 refused it: lab2 has no user bob\n",
        ),
        (msg("bob@lab2", "hi", NO_POS), "MSG,17,ana,bob@lab2,m1,,3,1,hi\n"),
        // 1.3: a message to a room homed elsewhere, a refused JOIN of one,
        // and a catch-up of a room homed here for a member server.
        (
            Record::Post {
                msg: Arc::new(StoredMessage {
                    from: name("ana"),
                    to: name("#lab@lab2"),
                    id: name("m1"),
                    ts: 17,
                    text: Text::parse("hi room").unwrap(),
                }),
            },
            "POST,17,ana,#lab@lab2,m1,,0,0,hi room\n",
        ),
        (
            Record::Failed {
                ts: 23,
                author: name("ana"),
                address: name("#nope@lab2"),
                id: name(""),
                reason: name("lab2 refused it: lab2 has no room #nope"),
            },
            "FAILED,23,ana,#nope@lab2,,,,,lab2 refused it: lab2 has no room #nope\n",
        ),
        (
            Record::Backfill { ts: 29, peer: name("@lab1"), room: name("#lab"), positions: vec![18, 9021] },
            "BACKFILL,29,@lab1,#lab,,,,,18 9021\n",
        ),
        // 1.2: each change of a file's description.
        (
            file(FileChange::Upload {
                owner: "ana".into(),
                name: "a, b.png".into(),
                size: 30_000,
                sha256: "9f86d081".into(),
                created: 30,
            }),
            "FILE,31,0af3,UPLOAD,ana,30000,9f86d081,30,\"a, b.png\"\n",
        ),
        (file(FileChange::Done { kind: "image/png".into() }), "FILE,31,0af3,DONE,image/png\n"),
        (file(FileChange::Carry(Carrier::new("ana", "#lab", "m1"))), "FILE,31,0af3,CARRY,ana,#lab,m1,\n"),
        (
            file(FileChange::Carry(Carrier {
                left: Left { author: true, recipient: true },
                ..Carrier::new("ana", "bob", "m2")
            })),
            "FILE,31,0af3,CARRY,ana,bob,m2,both\n",
        ),
        (file(FileChange::Uncarry(Carrier::new("ana", "bob", "m2"))), "FILE,31,0af3,UNCARRY,ana,bob,m2\n"),
        (file(FileChange::Disown("ana".into())), "FILE,31,0af3,DISOWN,ana\n"),
        (file(FileChange::Heir), "FILE,31,0af3,HEIR\n"),
        (file(FileChange::Gone), "FILE,31,0af3,GONE\n"),
    ]
}

fn file(change: FileChange) -> Record {
    Record::File { ts: 31, id: "0af3".into(), change }
}

#[test]
fn every_kind_is_written_as_before_and_reads_back() {
    let mut kinds = std::collections::BTreeSet::new();
    for (record, expected) in every_kind() {
        let mut out = Vec::new();
        record.encode(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), expected, "{record:?}");
        assert_eq!(Record::decode(expected.trim_end_matches('\n')).unwrap(), record, "{expected}");
        kinds.insert(expected.split(',').next().unwrap());
    }
    let all = [
        "ACK",
        "BACKFILL",
        "DELACCOUNT",
        "DELIVERED",
        "DEVICES",
        "FAILED",
        "FILE",
        "INBOX",
        "INVITE",
        "JOIN",
        "LEAVE",
        "MSG",
        "PASSWD",
        "POST",
        "READ",
        "REUSE",
        "RULE",
        "SEEN",
        "SET",
    ];
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), all, "a kind without its golden line");
}

#[test]
fn lines_of_older_writers_still_read() {
    // A `RULE` change written with an empty `until` (as a hand-edited or
    // older line may be) reads as "until lifted".
    let old = Record::decode("RULE,11,ana,#lab,MUTED,bob,,,").unwrap();
    assert_eq!(old, change(Change::Muted("bob".into(), 0)));
    // Missing trailing fields read as empty.
    assert_eq!(Record::decode("SEEN,10,bob").unwrap(), Record::Seen { ts: 10, user: name("bob") });
    // The `BLOCK` and `PREF` lines older servers wrote read as the
    // settings they mean.
    let setting = |name: &str, key: &str, value: Option<&str>| Record::Set {
        ts: 17,
        user: self::name("ana"),
        name: name.into(),
        key: key.into(),
        value: value.map(String::from),
    };
    for (line, record) in [
        ("BLOCK,17,ana,Bob,,,1", setting("block", "bob", Some("Bob"))),
        ("BLOCK,17,ana,Bob,,,0", setting("block", "bob", None)),
        ("PREF,17,ana,#Lab,mentions,,1", setting("pref", "#lab", Some("#Lab:mentions:pinned"))),
        ("PREF,17,ana,Bob,none,,0", setting("pref", "bob", Some("Bob:none:unpinned"))),
        ("PREF,17,ana,Bob,all,,0", setting("pref", "bob", None)),
    ] {
        assert_eq!(Record::decode(line).unwrap(), record, "{line}");
    }
}

#[test]
fn the_csv_crate_reads_the_same_fields() {
    let mut out = Vec::new();
    msg("#club", "a, \"b\"", 7).encode(&mut out);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&out[..]);
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[8], "a, \"b\"");
    assert_eq!(&row[5], "7");
}

#[test]
fn bad_lines_say_why() {
    assert!(Record::decode("MSG,x,ana,bob,m1,,0,0,hi").unwrap_err().contains("not a number"));
    assert!(Record::decode("NOPE,1").unwrap_err().contains("unknown kind"));
    assert!(Record::decode("MSG,1,ana,bob,m1,,0,0,\"open").unwrap_err().contains("not closed"));
    assert!(Record::decode("MSG,1,ana,bob,m1,,0,0,").is_err(), "an empty text");
}
