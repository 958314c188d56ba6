//! Sequences of requests played through both backends' code: a single
//! server's state (`store/state/`, `store/record/`) and a cluster's batch
//! work (`work.rs`). They ask `store::meaning` for the marks and for who
//! receives what (`meaning::effects`), so they must give every user the
//! same events with the same numbers; a difference is a divergence of
//! the protocol between them, and these tests name it.

use std::collections::HashMap;
use std::sync::Arc;

use super::db::count;
use super::locks::Acked;
use super::writes::{Inbox, Named, Work};
use crate::protocol::{Chat, Text};
use crate::store::{Delivery, Message, Pushed, UserId};

/// A step of bob's in [`STEPS`], after ana sent him m0, m1 and m2.
enum Step {
    Ack(u64),
    /// `READ` of the message with this id and number.
    Read(&'static str, u64),
}

/// ACK 2, READ m0, READ m2 (read before it is acknowledged: never
/// DELIVERED), ACK 3, READ m0 again, ACK 3 again.
const STEPS: [Step; 6] =
    [Step::Ack(2), Step::Read("m0", 0), Step::Read("m2", 2), Step::Ack(3), Step::Read("m0", 0), Step::Ack(3)];

/// The sequence on a single server's state, each record decided as
/// `store::local` decides it (ana is user 0, bob 1).
fn on_one_server() -> (crate::store::state::State, Vec<Delivery>) {
    use crate::store::record::Record;
    let mut state = crate::store::state::State::default();
    let mut batch = crate::store::state::Batch::default();
    let (ana, bob) = (state.add_user("ana", "h").unwrap(), state.add_user("bob", "h").unwrap());
    for (i, ts) in (0..3).zip(10..) {
        let text = Text::parse("hi").unwrap();
        let msg = Message { from: "ana".into(), to: "bob".into(), id: format!("m{i}").into(), ts, text };
        let link = state.direct_link(ana, bob);
        state.commit(Record::Msg { msg: Arc::new(msg), link }, &mut batch).unwrap();
    }
    for (step, ts) in STEPS.iter().zip(20..) {
        let (user, chat): (Arc<str>, Arc<str>) = ("bob".into(), "ana".into());
        match *step {
            Step::Ack(seq) => {
                for (_, dord, id) in state.acked_direct(bob, seq) {
                    if state.would_deliver(ana, bob, dord) {
                        let (user, chat) = (user.clone(), chat.clone());
                        state.commit(Record::Delivered { ts, user, chat, id, dord }, &mut batch).unwrap();
                    }
                }
                state.commit(Record::Ack { ts, user, seq }, &mut batch).unwrap();
            }
            Step::Read(id, ord) if state.would_read(ana, bob, ord) => {
                state.commit(Record::Read { ts, user, chat, id: id.into(), ord }, &mut batch).unwrap();
            }
            Step::Read(..) => {}
        }
    }
    (state, batch.deliveries)
}

/// The sequence on a cluster's batch work (ana is user 1, bob 2).
fn on_a_cluster() -> Work {
    let mut w = Work::default();
    let inbox = Inbox { last_seq: 0, acked: 0, sent: 0, stored: 0, several: false };
    w.inboxes.extend([(1, inbox), (2, inbox)]);
    let users = HashMap::from([("bob".to_string(), Some((2, Arc::from("bob"))))]);
    let text = Text::parse("hi").unwrap();
    for (i, ts) in (0..3).zip(10..) {
        let to = Chat::User("bob".into());
        w.send(1, &"ana".into(), &to, &format!("m{i}"), &text, ts, &users, &HashMap::new()).unwrap();
    }
    let acked: Vec<Acked> =
        (0..3).map(|i| Acked { seq: i + 1, sender: 1, ord: i, msg_id: format!("m{i}") }).collect();
    let (ana, peers) =
        (Chat::User("ana".into()), HashMap::from([("ana".to_string(), Some((1, "ana".into())))]));
    for (step, ts) in STEPS.iter().zip(20..) {
        match *step {
            Step::Ack(seq) => w.ack(2, &"bob".into(), seq as i64, &acked, ts, true),
            Step::Read(id, ord) => {
                let found = Some(Named { ord: ord as i64 });
                w.read(2, &"bob".into(), &ana, id, found, &peers, &HashMap::new(), ts).unwrap();
            }
        }
    }
    w
}

/// One sequence of direct messages, `ACK`s and `READ`s, played on a
/// single server and on a cluster: the sender gets the same `STATUS`
/// events, and the marks end the same (both ask `store::meaning`).
#[test]
fn acks_and_reads_give_the_same_receipts_on_both_backends() {
    let ((state, one), w) = (on_one_server(), on_a_cluster());
    let events = |deliveries: &[Delivery], user: UserId| -> Vec<String> {
        deliveries.iter().filter(|d| d.user == user).map(|d| format!("{} {:?}", d.seq, d.event)).collect()
    };
    let to_ana = events(&one, 0);
    assert_eq!(to_ana.len(), 4, "DELIVERED m0 m1, READ m0 m2: {to_ana:#?}");
    assert_eq!(to_ana, events(&w.deliveries, 1), "ana's STATUS events");
    assert_eq!(events(&one, 1), events(&w.deliveries, 2), "bob's messages");
    let (marks, dir) = (state.marks(0, 1), w.dirs[&(1, 2)]);
    assert_eq!((marks.delivered, marks.read), (count(dir.delivered), count(dir.read)));
    assert_eq!((marks.delivered, marks.read), (2, 3), "m2 was read before it was delivered");
}

/// A step of [`WHO_GETS_WHAT`]. Users are numbered alike on both
/// backends: ana 0, bob 1, cy 2, dee 3; ana and bob have several
/// devices; ana, bob and cy are in #lab.
enum Act {
    /// `MSG` from a user to a user or `#lab`, with this id.
    Send(usize, &'static str, &'static str),
    /// `READ` by a user of a chat's message with this id and number.
    Read(usize, &'static str, &'static str, u64),
    /// `ACK` by a user up to this number, acknowledging the direct
    /// messages `(seq, sender, number, id)` (what the cluster reads).
    Ack(usize, u64, &'static [(i64, UserId, i64, &'static str)]),
    /// `DELACCOUNT` of a user.
    Delete(usize),
}

const NAMES: [&str; 4] = ["ana", "bob", "cy", "dee"];

/// Room messages (a copy for ana's other devices, none for cy), direct
/// messages (to bob, who has several devices, and to ana from dee),
/// a room `READ` (a mark for bob's devices, no `STATUS`), a direct
/// `READ` (a `STATUS` for dee, a mark for ana's), then dee deletes its
/// account: the `DELIVERED` of its last message and its `READ` tell it
/// nothing, and ana's devices still get their mark.
const WHO_GETS_WHAT: [Act; 10] = [
    Act::Send(0, "#lab", "r0"),
    Act::Send(2, "#lab", "r1"),
    Act::Send(3, "ana", "d0"),
    Act::Send(0, "bob", "d1"),
    Act::Send(3, "ana", "d2"),
    Act::Read(1, "#lab", "r1", 1),
    Act::Read(0, "dee", "d0", 0),
    Act::Delete(3),
    Act::Ack(0, 5, &[(3, 3, 0, "d0"), (5, 3, 1, "d2")]),
    Act::Read(0, "dee", "d2", 1),
];

/// [`WHO_GETS_WHAT`] on a single server's state, each record decided as
/// `store::local` decides it.
fn who_gets_what_on_one_server() -> (crate::store::state::State, Vec<Delivery>) {
    use crate::store::record::Record;
    let mut state = crate::store::state::State::default();
    let mut batch = crate::store::state::Batch::default();
    let mut commit =
        |state: &mut crate::store::state::State, record| state.commit(record, &mut batch).unwrap();
    for name in NAMES {
        state.add_user(name, "h").unwrap();
    }
    for (user, ts) in [0, 1, 2].into_iter().zip(1..) {
        commit(&mut state, Record::Join { ts, user: NAMES[user].into(), room: "#lab".into(), read: 0 });
    }
    for user in [0, 1] {
        commit(&mut state, Record::Devices { ts: 4, user: NAMES[user].into(), several: true });
    }
    for (act, ts) in WHO_GETS_WHAT.iter().zip(10..) {
        match *act {
            Act::Send(from, to, id) => {
                let link = match state.room_id(to) {
                    Some(room) if to.starts_with('#') => state.room_link(room),
                    _ => state.direct_link(from, state.user_id(to).unwrap()),
                };
                let (from, to) = (NAMES[from].into(), to.into());
                let msg = Message { from, to, id: id.into(), ts, text: Text::parse("hi").unwrap() };
                commit(&mut state, Record::Msg { msg: Arc::new(msg), link });
            }
            Act::Read(user, chat, id, ord) => {
                let sender = state.user_id(chat);
                if sender.is_none_or(|sender| state.would_read(sender, user, ord)) {
                    let (user, chat, id) = (NAMES[user].into(), chat.into(), id.into());
                    commit(&mut state, Record::Read { ts, user, chat, id, ord });
                }
            }
            Act::Ack(user, seq, _) => {
                for (sender, dord, id) in state.acked_direct(user, seq) {
                    if state.would_deliver(sender, user, dord) {
                        let (chat, user) = (NAMES[sender].into(), NAMES[user].into());
                        commit(&mut state, Record::Delivered { ts, user, chat, id, dord });
                    }
                }
                commit(&mut state, Record::Ack { ts, user: NAMES[user].into(), seq });
            }
            Act::Delete(user) => commit(&mut state, Record::DelAccount { ts, user: NAMES[user].into() }),
        }
    }
    (state, batch.deliveries)
}

/// [`WHO_GETS_WHAT`] on a cluster's batch work, #lab being room 7.
fn who_gets_what_on_a_cluster() -> Work {
    let mut w = Work::default();
    for user in 0..NAMES.len() {
        let inbox = Inbox { last_seq: 0, acked: 0, sent: 0, stored: 0, several: user < 2 };
        w.inboxes.insert(user, inbox);
    }
    let members = HashMap::from([(0, 0), (1, 0), (2, 0)]);
    w.rooms.insert(7, super::writes::Room { name: "#lab".into(), count: 0, live: true, members });
    let room_ids = HashMap::from([("lab".to_string(), 7)]);
    let users: HashMap<String, Option<(UserId, Arc<str>)>> =
        NAMES.iter().enumerate().map(|(id, name)| (name.to_string(), Some((id, Arc::from(*name))))).collect();
    let chat = |to: &str| match to.strip_prefix('#') {
        Some(room) => Chat::Room(room.into()),
        None => Chat::User(to.into()),
    };
    let text = Text::parse("hi").unwrap();
    for (act, ts) in WHO_GETS_WHAT.iter().zip(10..) {
        match *act {
            Act::Send(from, to, id) => {
                w.send(from, &NAMES[from].into(), &chat(to), id, &text, ts, &users, &room_ids).unwrap();
            }
            Act::Read(user, to, id, ord) => {
                let found = Some(Named { ord: ord as i64 });
                w.read(user, &NAMES[user].into(), &chat(to), id, found, &users, &room_ids, ts).unwrap();
            }
            Act::Ack(user, seq, acked) => {
                let acked: Vec<Acked> = acked
                    .iter()
                    .map(|&(seq, sender, ord, id)| Acked { seq, sender, ord, msg_id: id.into() })
                    .collect();
                w.ack(user, &NAMES[user].into(), seq as i64, &acked, ts, true);
            }
            // What `locks::read_guarded` finds of a deleted account.
            Act::Delete(user) => {
                w.gone.insert(user);
            }
        }
    }
    w
}

/// Messages to a room and to users, room and direct `READ`s, an `ACK`,
/// and an account deleted, played on a single server and on a cluster:
/// every user gets the same events with the same numbers (both store
/// what `meaning::effects` names), and a deleted sender none.
#[test]
fn both_backends_give_the_same_users_the_same_events() {
    let ((state, one), w) = (who_gets_what_on_one_server(), who_gets_what_on_a_cluster());
    let events = |deliveries: &[Delivery], user: UserId| -> Vec<String> {
        deliveries.iter().filter(|d| d.user == user).map(|d| format!("{} {:?}", d.seq, d.event)).collect()
    };
    let kinds = |user| -> Vec<String> {
        let kind = |e: &Pushed| format!("{e:?}").split([' ', '(']).next().unwrap_or_default().to_string();
        one.iter().filter(|d| d.user == user).map(|d| kind(&d.event)).collect()
    };
    assert_eq!(
        kinds(0),
        ["Copy", "Msg", "Msg", "Copy", "Msg", "Mark", "Mark"],
        "ana: {:#?}",
        events(&one, 0)
    );
    assert_eq!(kinds(1), ["Msg", "Msg", "Msg", "Mark"], "bob: r0, r1, d1, his READ of #lab");
    assert_eq!(kinds(2), ["Msg"], "cy: r0, not its own r1");
    assert_eq!(kinds(3), ["Status"], "dee: READ of d0 only, after it deleted nothing");
    for (user, name) in NAMES.iter().enumerate() {
        assert_eq!(events(&one, user), events(&w.deliveries, user), "{name}'s events");
    }
    let (marks, dir) = (state.marks(3, 0), w.dirs[&(3, 0)]);
    assert_eq!((marks.delivered, marks.read), (count(dir.delivered), count(dir.read)));
    assert_eq!((marks.delivered, marks.read), (2, 2), "d2 delivered and read, its sender told neither");
}
