//! Unit tests of the state: numbering, fan-out, unread counts, the resend
//! window, freed rooms, and records that contradict the state.

use super::*;
use crate::store::record::{Link, NO_POS, Pos, Record, StoredMessage};

/// Listing lines as written on the wire.
fn wire<T: std::fmt::Display>(lines: Vec<T>) -> Vec<String> {
    lines.iter().map(T::to_string).collect()
}

/// A state with users `ana`, `bob`, `cy`, all in `#general`.
fn state() -> (State, Batch) {
    let mut state = State::default();
    let mut batch = Batch::default();
    for name in ["ana", "bob", "cy"] {
        state.add_user(name, "hash").unwrap();
        let read = state.room_id("#general").map_or(0, |r| state.room_link(r).ord);
        let join = Record::Join { ts: 1, user: name.into(), room: "#general".into(), read };
        state.commit(join, &mut batch).unwrap();
    }
    (state, batch)
}

fn msg(state: &mut State, batch: &mut Batch, from: &str, to: &str, id: &str) -> Pos {
    let (f, t) = (state.user_id(from).unwrap(), state.user_id(to));
    let link = match t {
        Some(t) => state.direct_link(f, t),
        None => state.room_link(state.room_id(to).unwrap()),
    };
    let text = crate::protocol::Text::parse("hi").unwrap();
    let m = StoredMessage { from: from.into(), to: to.into(), id: id.into(), ts: 5, text };
    let pos = state.end;
    state.commit(Record::Msg { msg: Arc::new(m), link }, batch).unwrap();
    pos
}

#[test]
fn a_direct_message_is_numbered_queued_and_pushed_and_its_ack_delivers() {
    let (mut s, mut batch) = state();
    batch.clear();
    let pos = msg(&mut s, &mut batch, "ana", "bob", "m1");
    let pos2 = msg(&mut s, &mut batch, "ana", "bob", "m2");
    let (ana, bob) = (s.user_id("ana").unwrap(), s.user_id("bob").unwrap());
    assert_eq!(batch.deliveries.iter().map(|d| (d.user, d.seq)).collect::<Vec<_>>(), [(bob, 1), (bob, 2)]);
    assert!(batch.sync, "a message needs a sync before its OK");
    assert_eq!(s.users[bob].inbox.last_seq, 2);
    assert_eq!(s.queued(bob, 0, 2, 10)[0], (1, Queued::Direct { pos, from: ana, dord: 0, id: "m1".into() }));
    assert_eq!(s.inbox_end(bob, pos + 1), 1, "only the first is durable");
    assert_eq!(s.acked_direct(bob, 2).len(), 2);
    assert_eq!(s.sent_candidates(ana, "m2"), [pos2], "the sender's window points at its record");
    // bob acknowledges both: DELIVERED moves ana's mark, ana gets one STATUS each.
    for (_, dord, id) in s.acked_direct(bob, 2) {
        assert!(s.would_deliver(ana, bob, dord));
        let delivered = Record::Delivered { ts: 6, user: "bob".into(), chat: "ana".into(), id, dord };
        s.commit(delivered, &mut batch).unwrap();
    }
    s.commit(Record::Ack { ts: 6, user: "bob".into(), seq: 2, device: None }, &mut batch).unwrap();
    assert!(s.queued(bob, 0, 10, 10).is_empty());
    assert_eq!(s.marks(ana, bob), Marks { delivered: 2, read: 0 });
    assert_eq!(s.users[ana].inbox.last_seq, 2, "two STATUS events");
    assert!(!s.would_deliver(ana, bob, 1));
}

#[test]
fn a_room_message_goes_to_every_other_member_and_own_messages_are_not_unread() {
    let (mut s, mut batch) = state();
    batch.clear();
    msg(&mut s, &mut batch, "bob", "#general", "r1");
    msg(&mut s, &mut batch, "ana", "#general", "r2");
    let (ana, bob, cy) = (s.user_id("ana").unwrap(), s.user_id("bob").unwrap(), s.user_id("cy").unwrap());
    let to: Vec<(UserId, u64)> = batch.deliveries.iter().map(|d| (d.user, d.seq)).collect();
    assert!(
        to.contains(&(ana, 1)) && to.contains(&(cy, 1)) && to.contains(&(bob, 1)) && to.contains(&(cy, 2))
    );
    assert_eq!(to.len(), 4, "never to the sender");
    let none = &mut |_| Vec::new();
    assert_eq!(wire(s.chats(ana, none)), ["#general:1"], "bob's r1 is unread, ana's own r2 is not");
    assert_eq!(wire(s.chats(bob, none)), ["#general:1"]);
    assert_eq!(wire(s.chats(cy, none)), ["#general:2"]);
    // A message not on disk yet is not shown.
    assert_eq!(wire(s.chats(cy, &mut |_| vec!["ana".into()])), ["#general:1"]);
    let room = s.room_id("#general").unwrap();
    s.commit(
        Record::Read { ts: 7, user: "cy".into(), chat: "#general".into(), id: "r2".into(), ord: 1 },
        &mut batch,
    )
    .unwrap();
    assert_eq!(s.room_read(room, cy), 2);
    assert_eq!(wire(s.chats(cy, none)), ["#general:0"]);
}

#[test]
fn only_the_last_ids_of_a_sender_are_remembered() {
    let (mut s, mut batch) = state();
    let ana = s.user_id("ana").unwrap();
    let positions: Vec<Pos> =
        (0..=DEDUP_WINDOW).map(|i| msg(&mut s, &mut batch, "ana", "bob", &format!("m{i}"))).collect();
    assert!(s.sent_candidates(ana, "m0").is_empty(), "the oldest is forgotten");
    assert_eq!(s.sent_candidates(ana, "m1"), [positions[1]]);
    assert_eq!(s.sent_candidates(ana, &format!("m{DEDUP_WINDOW}")), [positions[DEDUP_WINDOW]]);
    assert_eq!(s.users[ana].recent.len(), DEDUP_WINDOW);
}

#[test]
fn a_room_nobody_is_in_is_freed_and_its_name_starts_again() {
    let (mut s, mut batch) = state();
    let join = Record::Join { ts: 2, user: "ana".into(), room: "#Club".into(), read: 0 };
    s.commit(join, &mut batch).unwrap();
    msg(&mut s, &mut batch, "ana", "#Club", "c1");
    assert_eq!(s.room_count(), 2);
    s.commit(Record::Leave { ts: 3, user: "ana".into(), room: "#Club".into() }, &mut batch).unwrap();
    assert_eq!(s.room_count(), 1, "freed");
    assert_eq!(s.room_id("#club"), None);
    let join = Record::Join { ts: 4, user: "bob".into(), room: "#club".into(), read: 0 };
    s.commit(join, &mut batch).unwrap();
    let room = s.room_id("#CLUB").unwrap();
    assert_eq!(s.room(room).name.as_ref(), "#club", "spelled by its new first member");
    assert_eq!(s.room_link(room), Link { prev: NO_POS, ord: 0, dord: 0 });
}

#[test]
fn a_member_who_sends_and_never_reads_is_bounded() {
    let (mut s, mut batch) = state();
    msg(&mut s, &mut batch, "bob", "#general", "first");
    for i in 0..OWN_UNREAD_WINDOW + 10 {
        msg(&mut s, &mut batch, "ana", "#general", &format!("a{i}"));
    }
    let (room, ana) = (s.room_id("#general").unwrap(), s.user_id("ana").unwrap());
    assert_eq!(s.room(room).members[&ana].own.len(), OWN_UNREAD_WINDOW);
    assert_eq!(wire(s.chats(ana, &mut |_| Vec::new())), ["#general:0"], "bob's message counts as read");
}

#[test]
fn records_that_contradict_the_state_are_refused() {
    let (mut s, mut batch) = state();
    msg(&mut s, &mut batch, "ana", "bob", "m1");
    let text = crate::protocol::Text::parse("x").unwrap();
    let m = StoredMessage { from: "ana".into(), to: "bob".into(), id: "m2".into(), ts: 9, text };
    let wrong = Record::Msg { msg: Arc::new(m), link: Link { prev: NO_POS, ord: 0, dord: 0 } };
    assert!(s.load(s.end, 10, &wrong).unwrap_err().contains("its place"));
    let ghost = Record::Delivered { ts: 1, user: "bob".into(), chat: "ana".into(), id: "zz".into(), dord: 5 };
    assert!(s.load(s.end, 10, &ghost).unwrap_err().contains("no message number 5"));
    let stranger = Record::Ack { ts: 1, user: "zed".into(), seq: 1, device: None };
    assert!(s.load(s.end, 10, &stranger).unwrap_err().contains("unknown user"));
}

#[test]
fn a_checkpoint_holds_the_state_of_the_moment_of_its_snapshot() {
    use crate::store::checkpoint;
    let (mut s, mut batch) = state();
    msg(&mut s, &mut batch, "ana", "bob", "m1");
    msg(&mut s, &mut batch, "ana", "#general", "r1");
    let (_, then) = checkpoint::encode(&checkpoint::snapshot(&s));
    let snapshot = checkpoint::snapshot(&s);
    // Changes after the snapshot: ana's window and bob's inbox (shared
    // with the snapshot, so copied now), a conversation, a room.
    msg(&mut s, &mut batch, "ana", "bob", "m2");
    msg(&mut s, &mut batch, "bob", "#general", "r2");
    s.commit(Record::Ack { ts: 6, user: "bob".into(), seq: 2, device: None }, &mut batch).unwrap();
    let (_, late) = checkpoint::encode(&snapshot);
    assert_eq!(String::from_utf8(late).unwrap(), String::from_utf8(then.clone()).unwrap());
    let (_, now) = checkpoint::encode(&checkpoint::snapshot(&s));
    assert_ne!(now, then);
    // And it loads back into the same state (maps may list in another order).
    let mut loaded = State::default();
    for name in ["ana", "bob", "cy"] {
        loaded.add_user(name, "hash").unwrap();
    }
    checkpoint::verify(&then).unwrap();
    checkpoint::load(&mut loaded, &then).unwrap();
    let (_, again) = checkpoint::encode(&checkpoint::snapshot(&loaded));
    let lines = |b: &[u8]| {
        let mut l: Vec<String> = String::from_utf8(b.to_vec())
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("END"))
            .map(String::from)
            .collect();
        l.sort();
        l
    };
    assert_eq!(lines(&again), lines(&then));
    assert!(lines(&then).iter().any(|l| l.starts_with("SENT,ana,")), "the window is in it");
    let (ana, in_loaded) = (s.user_id("ana").unwrap(), loaded.user_id("ana").unwrap());
    assert_eq!(loaded.sent_candidates(in_loaded, "m1"), s.sent_candidates(ana, "m1"));
}

#[test]
fn a_user_with_several_devices_gets_copies_and_read_marks_and_one_device_does_not() {
    let (mut s, mut batch) = state();
    let (ana, bob) = (s.user_id("ana").unwrap(), s.user_id("bob").unwrap());
    msg(&mut s, &mut batch, "ana", "bob", "m0");
    assert_eq!(s.users[ana].inbox.last_seq, 0, "one device: no copy");
    s.commit(Record::Devices { ts: 6, user: "ana".into(), several: true }, &mut batch).unwrap();
    let pos = msg(&mut s, &mut batch, "ana", "bob", "m1");
    assert_eq!(s.queued(ana, 0, 9, 9), [(1, Queued::Copy { pos })]);
    let reply = msg(&mut s, &mut batch, "bob", "ana", "r1");
    let read = s.end;
    let record = Record::Read { ts: 7, user: "ana".into(), chat: "bob".into(), id: "r1".into(), ord: 0 };
    s.commit(record.clone(), &mut batch).unwrap();
    let marks: Vec<_> = s.queued(ana, 0, 9, 9).into_iter().map(|(_, q)| q).collect();
    assert_eq!(
        marks[1..],
        [Queued::Direct { pos: reply, from: bob, dord: 0, id: "r1".into() }, Queued::Mark { pos: read }]
    );
    s.commit(record, &mut batch).unwrap();
    assert_eq!(s.users[ana].inbox.last_seq, 3, "a READ that moves nothing marks nothing");
    let frames: Vec<String> =
        batch.deliveries.iter().filter(|d| d.user == ana).map(|d| d.event.frame(d.seq).to_string()).collect();
    assert_eq!(frames, ["MSG:1:ana:bob:m1:5:hi", "MSG:2:bob:ana:r1:5:hi", "READMARK:3:bob:r1:7"]);
    s.commit(Record::Devices { ts: 8, user: "ana".into(), several: false }, &mut batch).unwrap();
    msg(&mut s, &mut batch, "ana", "bob", "m2");
    assert_eq!(s.users[ana].inbox.last_seq, 3, "one device again: no copy");
}

#[test]
fn room_messages_lengthen_a_run_and_the_inbox_does_not_grow_with_them() {
    let (mut s, mut batch) = state();
    let (ana, cy) = (s.user_id("ana").unwrap(), s.user_id("cy").unwrap());
    // #other: ana and cy too, so two rooms interleave in one entry.
    for name in ["ana", "cy"] {
        s.commit(Record::Join { ts: 1, user: name.into(), room: "#other".into(), read: 0 }, &mut batch)
            .unwrap();
    }
    batch.clear();
    let first = msg(&mut s, &mut batch, "bob", "#general", "g0");
    for i in 1..1000 {
        let room = if i % 3 == 0 { "#other" } else { "#general" };
        let from = if i % 3 == 0 { "ana" } else { "bob" };
        msg(&mut s, &mut batch, from, room, &format!("g{i}"));
    }
    // cy (offline: it never acknowledged) holds 1,000 events in one entry of two runs.
    assert_eq!(s.users[cy].inbox.last_seq, 1000);
    assert_eq!(s.users[cy].inbox.queue.len(), 1, "one entry, not one per message");
    let Some(Queued::Rooms { runs, done: 0 }) = s.users[cy].inbox.queue.front() else { panic!("not a run") };
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0].first, runs[0].n, runs[1].n), (first, 667, 333));
    // Live pushes are numbered one per message and member all the same:
    // the runs change only what the inbox keeps.
    let cy_seqs: Vec<u64> = batch.deliveries.iter().filter(|d| d.user == cy).map(|d| d.seq).collect();
    assert_eq!(cy_seqs, (1..=1000).collect::<Vec<u64>>());
    // A direct message after them is the next entry, number 1001.
    let dm = msg(&mut s, &mut batch, "bob", "cy", "d1");
    assert_eq!(
        s.queued(cy, 1000, 1001, 10),
        [(1001, Queued::Direct { pos: dm, from: 1, dord: 0, id: "d1".into() })]
    );
    assert_eq!(s.inbox_end(cy, dm), 1000, "the direct message is not durable yet");
    // An ACK inside the run counts it as done; one past it drops it.
    s.commit(Record::Ack { ts: 6, user: "cy".into(), seq: 400, device: None }, &mut batch).unwrap();
    assert_eq!(s.queued(cy, 400, 1001, 10)[0].0, 401);
    assert_eq!(s.queued(cy, 400, 1001, 10)[0].1.width(), 600);
    assert_eq!(s.acked_direct(cy, 1001).len(), 1);
    s.commit(Record::Ack { ts: 6, user: "cy".into(), seq: 1000, device: None }, &mut batch).unwrap();
    assert_eq!(s.users[cy].inbox.queue.len(), 1);
    // ana's own #other messages are not in its inbox: only the 667 of #general.
    assert_eq!(s.users[ana].inbox.last_seq, 667, "its own 333 are not in its inbox");
    assert_eq!(s.users[ana].inbox.queue.len(), 1);
}

/// 1.3: a post to a room of another server waits for the home's copy
/// however many messages its author writes meanwhile (more than its
/// resend window holds), in a checkpoint and in the log read again; the
/// copy, or a bounce, ends the wait.
#[test]
fn a_post_waits_for_its_home_s_copy_past_the_resend_window_and_across_a_start() {
    use crate::store::checkpoint;
    let (mut s, mut batch) = state();
    let lab = "#lab@lab2";
    s.commit(Record::Join { ts: 1, user: "ana".into(), room: lab.into(), read: 0 }, &mut batch).unwrap();
    let post = |s: &mut State, batch: &mut Batch, id: &str| {
        let text = crate::protocol::Text::parse("hi").unwrap();
        let m = StoredMessage { from: "ana".into(), to: lab.into(), id: id.into(), ts: 5, text };
        s.commit(Record::Post { msg: Arc::new(m) }, batch).unwrap();
    };
    post(&mut s, &mut batch, "p0");
    post(&mut s, &mut batch, "p1");
    for i in 0..DEDUP_WINDOW + 44 {
        msg(&mut s, &mut batch, "ana", "bob", &format!("d{i}"));
    }
    let ana = s.user_id("ana").unwrap();
    assert!(s.sent_candidates(ana, "p0").is_empty(), "out of the resend window");
    assert!(s.waits_for_copy(ana, "#LAB@lab2", "p0") && s.waits_for_copy(ana, lab, "p1"));
    assert!(!s.waits_for_copy(ana, lab, "d0") && !s.waits_for_copy(ana, "#general", "p0"));

    // A start from a checkpoint, or from the log alone, knows the same.
    let fresh = || {
        let mut fresh = State::default();
        for name in ["ana", "bob", "cy"] {
            fresh.add_user(name, "hash").unwrap();
        }
        fresh
    };
    let (_, bytes) = checkpoint::encode(&checkpoint::snapshot(&s));
    let text = String::from_utf8(bytes.clone()).unwrap();
    let tagged = |id| format!("POSTED,ana,#lab@lab2,{id},{:x}\n", super::recent::tag("hi"));
    assert!(text.contains(&format!("\n{}{}", tagged("p0"), tagged("p1"))), "{text}");
    let mut loaded = fresh();
    checkpoint::load(&mut loaded, &bytes).unwrap();
    let mut replayed = fresh();
    let mut pos = 0;
    for line in batch.log.split_inclusive(|&b| b == b'\n') {
        let record = Record::decode(std::str::from_utf8(&line[..line.len() - 1]).unwrap()).unwrap();
        replayed.load(pos, line.len() as u64, &record).unwrap();
        pos += line.len() as u64;
    }
    for started in [&loaded, &replayed] {
        let ana = started.user_id("ana").unwrap();
        assert_eq!(started.users[ana].posts, s.users[ana].posts);
    }

    // The home's copy of p0 comes: it waits no more (a second copy is a
    // duplicate, which the link finds in the room); p1 bounces.
    let copy = s.room_id(lab).unwrap();
    let text = crate::protocol::Text::parse("hi").unwrap();
    let m = StoredMessage { from: "ana".into(), to: lab.into(), id: "p0".into(), ts: 9, text };
    s.commit(Record::Msg { msg: Arc::new(m), link: s.room_link(copy) }, &mut batch).unwrap();
    assert!(!s.waits_for_copy(ana, lab, "p0") && s.waits_for_copy(ana, lab, "p1"));
    let (author, address, id, reason) = ("ana".into(), lab.into(), "p1".into(), "lab2 refused it".into());
    s.commit(Record::Failed { ts: 9, author, address, id, reason }, &mut batch).unwrap();
    assert!(s.users[ana].posts.is_empty());
    let (_, bytes) = checkpoint::encode(&checkpoint::snapshot(&s));
    assert!(!String::from_utf8(bytes).unwrap().contains("POSTED"));
}

/// 1.3: a direct message that bounced is remembered for `HISTORY`, by a
/// checkpoint (`BOUNCED` rows, a reason with commas and quotes among them)
/// and by the log read again; a refused `JOIN` or a room post is not.
#[test]
fn bounces_are_remembered_in_a_checkpoint_and_in_the_log_read_again() {
    use crate::store::checkpoint;
    let (mut s, mut batch) = state();
    let failed = |s: &mut State, batch: &mut Batch, address: &str, id: &str, reason: &str| {
        let (author, address, id, reason) = ("ana".into(), address.into(), id.into(), reason.into());
        s.commit(Record::Failed { ts: 9, author, address, id, reason }, batch).unwrap();
    };
    failed(&mut s, &mut batch, "zed@lab2", "m1", "lab2 refused it: lab2 has no user zed, \"really\"");
    failed(&mut s, &mut batch, "#nope@lab2", "", "lab2 has no room #nope");
    failed(&mut s, &mut batch, "bob@lab3", "m2", "lab3 unreachable for 30 s (--give-up)");
    let ana = s.user_id("ana").unwrap();
    let kept: Vec<(String, String)> =
        s.users[ana].bounces.iter().map(|b| (b.peer.to_string(), b.id.to_string())).collect();
    assert_eq!(kept, [("zed@lab2".to_string(), "m1".to_string()), ("bob@lab3".into(), "m2".into())]);

    let (_, bytes) = checkpoint::encode(&checkpoint::snapshot(&s));
    let mut loaded = State::default();
    let mut replayed = State::default();
    for started in [&mut loaded, &mut replayed] {
        for name in ["ana", "bob", "cy"] {
            started.add_user(name, "hash").unwrap();
        }
    }
    checkpoint::load(&mut loaded, &bytes).unwrap();
    let mut pos = 0;
    for line in batch.log.split_inclusive(|&b| b == b'\n') {
        let record = Record::decode(std::str::from_utf8(&line[..line.len() - 1]).unwrap()).unwrap();
        replayed.load(pos, line.len() as u64, &record).unwrap();
        pos += line.len() as u64;
    }
    for started in [&loaded, &replayed] {
        assert_eq!(started.users[ana].bounces, s.users[ana].bounces);
    }
}
