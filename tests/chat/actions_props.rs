//! Property test of message actions (protocol 1.2): any
//! sequence of edits, deletes and reactions leaves every reader in the same
//! final state, however it reads them: the server's `HISTORY` (the whole
//! conversation, newest first, `protocol::fates`) and a client's listing
//! (`client::fold`), against the state the steps were meant to leave
//! (kept on the side). What is checked: the text each message shows, and
//! that a deleted text shows nowhere. A room admin's delete of someone
//! else's message (`_x`) is one of the steps.

use proptest::prelude::*;

use wachat::client::Message;
use wachat::client::fold::fold;
use wachat::protocol::action::{self, Act, ActionId, REACTIONS};
use wachat::protocol::fates::Fates;
use wachat::protocol::{Chat, MsgState, Text};

#[derive(Clone, Debug)]
enum Step {
    Send(usize, usize),         // author, text number
    Edit(usize, usize),         // message number, text number
    Delete(usize),              // message number
    React(usize, usize, usize), // who, message number, emoji
    Remove(usize, usize),       // a room admin deletes someone else's: who, message number
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..3usize, 0..100usize).prop_map(|(a, t)| Step::Send(a, t)),
        (0..8usize, 0..100usize).prop_map(|(m, t)| Step::Edit(m, t)),
        (0..8usize).prop_map(Step::Delete),
        (0..3usize, 0..8usize, 0..REACTIONS.len()).prop_map(|(w, m, e)| Step::React(w, m, e)),
        (0..3usize, 0..8usize).prop_map(|(w, m)| Step::Remove(w, m)),
    ]
}

const USERS: [&str; 3] = ["ana", "bob", "carl"];

fn text(s: &str) -> Text {
    Text::from_plain(s).unwrap()
}

/// The conversation the steps make, as the server would store it (the
/// server's own checks: only the author edits or deletes, nothing acts on
/// a deleted message), with the reference state kept on the side.
fn conversation(steps: &[Step]) -> (Vec<Message>, Vec<(String, Option<String>)>) {
    let mut messages = Vec::new();
    let mut sent: Vec<(usize, String, Option<String>)> = Vec::new(); // author, id, text now (None: deleted)
    let mut on: std::collections::HashSet<(usize, usize, usize)> = Default::default();
    let mut stamp = 0u64;
    let mut push = |messages: &mut Vec<Message>, from: usize, id: String, t: Text| {
        stamp += 1;
        messages.push(Message {
            from: USERS[from].into(),
            to: Chat::Room("club".into()),
            id,
            ts: stamp,
            state: MsgState::Received,
            text: t,
            refused: None,
            p2p: false,
        });
    };
    for s in steps {
        match *s {
            Step::Send(a, t) => {
                let id = format!("m{}", sent.len());
                let body = format!("secret{t} text");
                push(&mut messages, a, id.clone(), text(&body));
                sent.push((a, id, Some(body)));
            }
            Step::Edit(m, t) if m < sent.len() && sent[m].2.is_some() => {
                let body = format!("secret{t} edited");
                let id = ActionId { act: Act::Edit, stamp: messages.len() as u64, target: sent[m].1.clone() };
                push(&mut messages, sent[m].0, id.to_string(), action::edit_text(&text(&body)).unwrap());
                sent[m].2 = Some(body);
            }
            Step::Delete(m) if m < sent.len() && sent[m].2.is_some() => {
                let id =
                    ActionId { act: Act::Delete, stamp: messages.len() as u64, target: sent[m].1.clone() };
                push(&mut messages, sent[m].0, id.to_string(), action::deleted_text());
                sent[m].2 = None;
            }
            Step::Remove(w, m) if m < sent.len() && sent[m].2.is_some() && sent[m].0 != w => {
                let id =
                    ActionId { act: Act::Remove, stamp: messages.len() as u64, target: sent[m].1.clone() };
                push(&mut messages, w, id.to_string(), action::removed_text(USERS[sent[m].0]));
                sent[m].2 = None;
            }
            Step::React(w, m, e) if m < sent.len() && sent[m].2.is_some() => {
                let added = on.insert((w, m, e)) || !on.remove(&(w, m, e));
                let act = if added { Act::React } else { Act::Unreact };
                let id = ActionId { act, stamp: messages.len() as u64, target: sent[m].1.clone() };
                let target = text(sent[m].2.as_deref().unwrap());
                push(&mut messages, w, id.to_string(), action::react_text(REACTIONS[e], added, &target));
            }
            _ => {}
        }
    }
    let expected = sent.into_iter().map(|(_, id, now)| (id, now)).collect();
    (messages, expected)
}

proptest! {
    #[test]
    fn every_reader_ends_in_the_same_state(steps in proptest::collection::vec(step(), 1..40)) {
        let (messages, expected) = conversation(&steps);
        // The server's HISTORY: Fates over the whole conversation.
        let mut fates = Fates::default();
        for m in messages.iter().rev() {
            fates.observe(&m.from, &m.id, m.ts, &m.text);
        }
        // A client's listing of the same messages.
        let listed = fold(messages.clone());
        prop_assert_eq!(listed.len(), expected.len());
        for ((id, now), shown) in expected.iter().zip(&listed) {
            prop_assert_eq!(&shown.id, id);
            let m = messages.iter().find(|m| &m.id == id).unwrap();
            let server = fates.shown(&m.from, &m.id, &m.text).unescaped();
            let client = shown.text.unescaped();
            match now {
                Some(body) => {
                    prop_assert_eq!(&server, body);
                    prop_assert!(client.starts_with(body.as_str()), "{} vs {}", client, body);
                }
                None => {
                    prop_assert_eq!(server.as_str(), action::DELETED);
                    prop_assert_eq!(client.as_str(), action::DELETED);
                }
            }
        }
        // No deleted text shows anywhere: every action line of a deleted
        // message reads as deleted too.
        for m in &messages {
            if let Some(a) = ActionId::parse(&m.id)
                && expected.iter().any(|(id, now)| id == &a.target && now.is_none())
            {
                let shown = fates.shown(&m.from, &m.id, &m.text).unescaped();
                match a.act {
                    Act::Remove => prop_assert!(shown.starts_with("(message from "), "{}", shown),
                    _ => prop_assert_eq!(shown, action::DELETED),
                }
            }
        }
        // A device that reads the conversation again gets the same listing.
        let again = fold(messages.clone());
        prop_assert_eq!(again, listed);
    }
}
