//! The checkpoint's own cases: older versions and rows, bad rows.

use super::*;

/// A checkpoint file of these lines (with its header and `END`).
fn file(lines: &[&str]) -> Vec<u8> {
    let mut out = Out(format!("{HEADER}\n").into_bytes());
    for line in lines {
        out.0.extend_from_slice(line.as_bytes());
        out.0.push(b'\n');
    }
    let count = out.0.iter().filter(|&&b| b == b'\n').count();
    let sum = checksum(&out.0);
    out.row(&["END", &count.to_string(), &sum]);
    out.0
}

fn accounts() -> State {
    let mut state = State::default();
    state.add_user("ana", "hash").unwrap();
    state.add_user("bob", "hash").unwrap();
    state
}

#[test]
fn a_version_2_checkpoint_loads_without_its_ids() {
    let bytes = file(&[
        "CHECKPOINT,2,500,9,3",
        "USER,ana,0,0,",
        "USER,bob,2,1,7",
        "QUEUED,bob,D,400,ana,1,m2",
        "SENT,ana,m1,5,bob,0",
        "SENT,ana,m2,6,bob,1",
        "DIRECT,ana,bob,400,2,2,0,1,0,0,0,3",
    ]);
    assert_eq!(verify(&bytes), Ok(500));
    let mut state = accounts();
    assert_eq!(load(&mut state, &bytes), Ok(500));
    let (ana, bob) = (state.user_id("ana").unwrap(), state.user_id("bob").unwrap());
    assert!(state.sent_candidates(ana, "m2").is_empty(), "version 2 kept no positions");
    assert_eq!(state.queued(bob, 0, 2, 10).len(), 1);
    assert_eq!(state.last_seen(bob), Some(7));
}

#[test]
fn an_account_deleted_before_its_time_was_kept_is_deleted_from_the_checkpoint_on() {
    let bytes = file(&["CHECKPOINT,3,500,1795000000000,3", "USER,ana,0,0,", "HASH,ana,!deleted"]);
    let mut state = accounts();
    assert_eq!(load(&mut state, &bytes), Ok(500));
    let ana = state.user_id("ana").unwrap();
    assert_eq!(state.users[ana].hash, "!deleted:1795000000000");
}

#[test]
fn copies_read_marks_and_several_devices_survive_a_checkpoint() {
    let bytes = file(&[
        "CHECKPOINT,3,500,9,3",
        "USER,ana,3,0,",
        "QUEUED,ana,C,100",
        "QUEUED,ana,S,200",
        "QUEUED,ana,M,300",
        "SEVERAL,ana",
        "USER,bob,0,0,",
    ]);
    let mut state = accounts();
    assert_eq!(load(&mut state, &bytes), Ok(500));
    let ana = state.user_id("ana").unwrap();
    assert!(state.users[ana].several && !state.users[state.user_id("bob").unwrap()].several);
    let queued: Vec<Queued> = state.queued(ana, 0, 3, 10).into_iter().map(|(_, q)| q).collect();
    let expected = [Queued::Copy { pos: 100 }, Queued::Status { pos: 200 }, Queued::Mark { pos: 300 }];
    assert_eq!(queued, expected);
    let (_, again) = encode(&snapshot(&state));
    let mut back = accounts();
    load(&mut back, &again).unwrap();
    assert!(back.users[ana].several);
    assert_eq!(back.queued(ana, 0, 3, 10), state.queued(ana, 0, 3, 10));
}

#[test]
fn a_window_entry_must_have_a_hex_tag_and_a_position() {
    for bad in ["SENT,ana,1f", "SENT,ana,xyz:40", "SENT,ana,1f:x"] {
        let bytes = file(&["CHECKPOINT,3,500,9,3", "USER,ana,0,0,", bad]);
        assert!(load(&mut accounts(), &bytes).is_err(), "{bad}");
    }
    let bytes = file(&["CHECKPOINT,3,500,9,3", "USER,ana,0,0,", "SENT,ana,1f:40 2e:90"]);
    let mut state = accounts();
    load(&mut state, &bytes).unwrap();
    let ana = state.user_id("ana").unwrap();
    assert_eq!(state.users[ana].recent.oldest_first().collect::<Vec<_>>(), [(0x1f, 40), (0x2e, 90)]);
}

#[test]
fn room_runs_survive_a_checkpoint_and_old_room_rows_load_as_runs() {
    let bytes = file(&[
        "CHECKPOINT,3,900,9,3",
        "USER,ana,6,1,",
        "QUEUED,ana,R,100",
        "QUEUED,ana,G,1,200:400:3;300:300:1",
        "QUEUED,ana,S,500",
    ]);
    let mut state = accounts();
    assert_eq!(load(&mut state, &bytes), Ok(900));
    let ana = state.user_id("ana").unwrap();
    let runs = vec![Run { first: 200, head: 400, n: 3 }, Run { first: 300, head: 300, n: 1 }];
    let expected =
        [(2, Queued::room(100)), (3, Queued::Rooms { runs, done: 1 }), (6, Queued::Status { pos: 500 })];
    assert_eq!(state.queued(ana, 0, 6, 10), expected);
    assert_eq!(state.oldest_queued(), 100);
    let (_, again) = encode(&snapshot(&state));
    let mut back = accounts();
    load(&mut back, &again).unwrap();
    assert_eq!(back.queued(ana, 0, 6, 10), state.queued(ana, 0, 6, 10));
    for bad in ["QUEUED,ana,G,0,", "QUEUED,ana,G,0,1:2", "QUEUED,ana,G,0,1:2:0", "QUEUED,ana,G,0,1:x:1"] {
        let bytes = file(&["CHECKPOINT,3,500,9,3", "USER,ana,1,0,", bad]);
        assert!(load(&mut accounts(), &bytes).is_err(), "{bad}");
    }
}

#[test]
fn blocks_and_preferences_survive_a_checkpoint() {
    let bytes = file(&[
        "CHECKPOINT,3,500,9,3",
        "USER,ana,0,0,",
        "BLOCK,ana,bob",
        "PREF,ana,#Lab,mentions,1",
        "USER,bob,0,0,",
    ]);
    let mut state = accounts();
    assert_eq!(load(&mut state, &bytes), Ok(500));
    let (ana, bob) = (state.user_id("ana").unwrap(), state.user_id("bob").unwrap());
    // An older server's checkpoint rows load as the settings they mean.
    let settings = &state.users[ana].settings;
    assert_eq!(settings.get("block", "bob"), Some("bob"));
    assert_eq!(settings.get("pref", "#lab"), Some("#Lab:mentions:pinned"));
    let (_, again) = encode(&snapshot(&state));
    assert!(!String::from_utf8_lossy(&again).contains("\nBLOCK,"), "written as SET rows");
    let mut back = accounts();
    load(&mut back, &again).unwrap();
    assert_eq!(back.users[ana].settings, state.users[ana].settings);
    assert_eq!(back.users[bob].settings.all().count(), 0);
}
