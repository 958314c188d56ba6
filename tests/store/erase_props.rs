//! What a `DELETE` erases (protocol 1.2): one rule, `protocol::erase`,
//! that the store (a single server's, every node's of a cluster) and the
//! client apply. A property test drives any sequence of messages,
//! replies, edits, deletions (the author's, or a room admin's) and
//! reactions, by authors whose names come in any case, through
//!
//! - the store's part that says which bytes of its log records to
//!   overwrite (`store::local::erase_overwrites`), on `MSG` records;
//! - the client's real `history.csv` (`client::History`, in a tempdir);
//!
//! and checks that each ends with the texts the rule gives
//! ([`Blank::apply`]), with fillers of the same length in place of
//! `(message deleted)`, and that no deleted word is left anywhere. The
//! named tests are the differences the copies had before they called the
//! one rule.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use wachat::client::{History, Message};
use wachat::protocol::action::{self, Act, ActionId, REACTIONS};
use wachat::protocol::erase::{Blank, Line, erasure};
use wachat::protocol::{Chat, MsgState, Text};
use wachat::store::local::erase_overwrites;
use wachat::store::record::push_field;

const USERS: [&str; 3] = ["ana", "bob", "carl"];

#[derive(Clone, Debug)]
enum Step {
    Send(usize),                // author
    Reply(usize, usize),        // author, message number
    Edit(usize),                // message number
    Delete(usize),              // message number
    React(usize, usize, usize), // who, message number, emoji
    Remove(usize, usize),       // a room admin deletes someone else's: who, message number
}

/// A step, and the case its names are written in (0: lower, 1: Capital, 2: UPPER).
fn step() -> impl Strategy<Value = (Step, usize)> {
    let step = prop_oneof![
        (0..3usize).prop_map(Step::Send),
        (0..3usize, 0..6usize).prop_map(|(a, m)| Step::Reply(a, m)),
        (0..6usize).prop_map(Step::Edit),
        (0..6usize).prop_map(Step::Delete),
        (0..3usize, 0..6usize, 0..REACTIONS.len()).prop_map(|(w, m, e)| Step::React(w, m, e)),
        (0..3usize, 0..6usize).prop_map(|(w, m)| Step::Remove(w, m)),
    ];
    (step, 0..3usize)
}

fn cased(name: &str, case: usize) -> String {
    match case {
        0 => name.to_string(),
        1 => name[..1].to_uppercase() + &name[1..],
        _ => name.to_uppercase(),
    }
}

fn text(s: &str) -> Text {
    Text::from_plain(s).unwrap()
}

/// A conversation in `#club` as the server stores it: each line's
/// `(from, id, text)` as sent, and after each deletion, the deleting
/// line's number, the author (in some case) and the id.
#[derive(Default)]
struct Talk {
    lines: Vec<(String, String, Text)>,
    deletions: Vec<(usize, String, String)>,
    /// The words of the deleted messages (their texts and edits').
    secrets: Vec<String>,
}

/// Plays the steps as a server that erases at once (`--erase-minutes 0`). A reply or a reaction quotes what its message
/// reads; none is made to a message an erasure touched (its quote of a
/// deleted one): the stores would quote their fillers, which read alike
/// but are not the same bytes, and would hold no deleted word anyway.
fn talk(steps: &[(Step, usize)]) -> Talk {
    let mut t = Talk::default();
    // Per message: its line, author, and words (None once deleted).
    let mut sent: Vec<Sent> = Vec::new();
    // What each line reads now, erasures applied.
    let mut now: Vec<Text> = Vec::new();
    let mut edits: HashMap<usize, Text> = HashMap::new();
    let mut on: HashSet<(usize, usize, usize)> = HashSet::new();
    for (n, (step, case)) in steps.iter().enumerate() {
        let stamp = n as u64 + 1;
        let live = |sent: &[Sent], m: usize| m < sent.len() && sent[m].2.is_some();
        let quotable =
            |sent: &[Sent], now: &[Text], m: usize| live(sent, m) && now[sent[m].0] == t.lines[sent[m].0].2;
        let reads =
            |sent: &[Sent], m: usize| edits.get(&m).cloned().unwrap_or_else(|| now[sent[m].0].clone());
        let (from, id, body, new_message) = match *step {
            Step::Send(a) => (a, format!("m{n}"), text(&format!("secret{n}x text")), true),
            Step::Reply(a, m) if quotable(&sent, &now, m) => {
                let who = &t.lines[sent[m].0].0;
                let body = action::reply_text(who, &reads(&sent, m), &text(&format!("answer{n}x"))).unwrap();
                (a, format!("m{n}"), body, true)
            }
            Step::React(w, m, e) if quotable(&sent, &now, m) => {
                let added = on.insert((w, m, e)) || !on.remove(&(w, m, e));
                let act = if added { Act::React } else { Act::Unreact };
                let id = ActionId { act, stamp, target: t.lines[sent[m].0].1.clone() };
                let body = action::react_text(REACTIONS[e], added, &reads(&sent, m));
                (w, id.to_string(), body, false)
            }
            Step::Edit(m) if live(&sent, m) => {
                let new = text(&format!("secret{n}x edited"));
                edits.insert(m, new.clone());
                sent[m].2.as_mut().unwrap().push(format!("secret{n}x"));
                let id = ActionId { act: Act::Edit, stamp, target: t.lines[sent[m].0].1.clone() };
                (sent[m].1, id.to_string(), action::edit_text(&new).unwrap(), false)
            }
            Step::Delete(m) | Step::Remove(_, m) if live(&sent, m) => {
                let (act, who, body) = match *step {
                    Step::Remove(w, _) if w != sent[m].1 => {
                        (Act::Remove, w, action::removed_text(USERS[sent[m].1]))
                    }
                    Step::Remove(..) => continue, // an admin's own: the three-field form
                    _ => (Act::Delete, sent[m].1, action::deleted_text()),
                };
                let target = t.lines[sent[m].0].1.clone();
                t.secrets.extend(sent[m].2.take().unwrap());
                let id = ActionId { act, stamp, target: target.clone() };
                t.lines.push((cased(USERS[who], *case), id.to_string(), body.clone()));
                now.push(body);
                let author = cased(USERS[sent[m].1], (case + 1) % 3);
                t.deletions.push((t.lines.len() - 1, author.clone(), target.clone()));
                erase_in(&mut now, &t.lines, &author, &target);
                continue;
            }
            _ => continue,
        };
        if new_message {
            sent.push((t.lines.len(), from, Some(vec![format!("secret{n}x")])));
        }
        t.lines.push((cased(USERS[from], *case), id, body.clone()));
        now.push(body);
    }
    t
}

/// A message of the talk: its line, its author, its words (`None` once
/// deleted).
type Sent = (usize, usize, Option<Vec<String>>);

/// The rule, applied to the texts themselves: each line's new text.
fn erase_in(now: &mut [Text], lines: &[(String, String, Text)], author: &str, id: &str) {
    let rule: Vec<Line> =
        lines.iter().zip(now.iter()).map(|((from, id, _), text)| Line { from, id, text }).collect();
    let blanks = erasure(&rule, author, id);
    for (i, blank) in blanks {
        if let Some(new) = blank.apply(&now[i]) {
            now[i] = new;
        }
    }
}

/// The reference: every deletion erased by the rule as it comes.
fn by_the_rule(t: &Talk) -> Vec<String> {
    let mut now: Vec<Text> = Vec::new();
    let mut deletions = t.deletions.iter().peekable();
    for (i, line) in t.lines.iter().enumerate() {
        now.push(line.2.clone());
        while let Some((_, author, id)) = deletions.next_if(|(at, _, _)| *at == i) {
            erase_in(&mut now, &t.lines[..=i], author, id);
        }
    }
    now.iter().map(|t| t.unescaped()).collect()
}

/// The local store's log: `MSG` records, overwritten as its eraser does.
fn by_the_local_store(t: &Talk) -> Vec<String> {
    let mut records: Vec<String> = Vec::new();
    let mut deletions = t.deletions.iter().peekable();
    for (i, (from, id, body)) in t.lines.iter().enumerate() {
        let mut line = format!("MSG,{i},{from},#club,{id},,{i},0,").into_bytes();
        push_field(&mut line, body.as_escaped());
        records.push(String::from_utf8(line).unwrap());
        while let Some((_, author, target)) = deletions.next_if(|(at, _, _)| *at == i) {
            let lines: Vec<&str> = records.iter().map(String::as_str).collect();
            let spans = erase_overwrites(&lines, author, target).unwrap();
            for (n, range) in spans {
                let filler = wachat::csvlog::filler(range.len());
                records[n].replace_range(range, &filler);
            }
        }
    }
    records
        .iter()
        .map(|r| {
            let field = &r[wachat::csvlog::field_start(r, 8)..];
            let field = match field.strip_prefix('"') {
                Some(quoted) => quoted.strip_suffix('"').unwrap().replace("\"\"", "\""),
                None => field.to_string(),
            };
            Text::parse(&field).unwrap().unescaped()
        })
        .collect()
}

/// The client: its `history.csv`, read back after a new start.
fn by_the_client(t: &Talk) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    let mut history = History::open(path.clone()).unwrap();
    for (i, (from, id, body)) in t.lines.iter().enumerate() {
        history.add(message(from, "#club", id, i as u64, body)).unwrap();
    }
    history.sync().unwrap();
    drop(history);
    let history = History::open(path).unwrap();
    let shown = history.conversation("ana", &Chat::parse("#club").unwrap(), 10_000);
    shown.iter().map(|m| m.text.unescaped()).collect()
}

fn message(from: &str, to: &str, id: &str, ts: u64, body: &Text) -> Message {
    Message {
        from: from.into(),
        to: Chat::parse(to).unwrap(),
        id: id.into(),
        ts,
        state: MsgState::Received,
        text: body.clone(),
        refused: None,
        p2p: false,
    }
}

/// A filler (`(message deleted)` and spaces, or dashes) read as the
/// rule's `(message deleted)`: the generated texts hold no dash and no
/// two spaces in a row.
fn normal(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '-' {
            rest = rest.trim_start_matches('-');
            out.push_str(action::DELETED);
        } else if let Some(after) = rest.strip_prefix(action::DELETED) {
            rest = after.trim_start_matches(' ');
            out.push_str(action::DELETED);
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn check_all_agree(t: &Talk) -> Result<(), TestCaseError> {
    let rule = by_the_rule(t);
    let local = by_the_local_store(t);
    let client = by_the_client(t);
    prop_assert_eq!(&local, &client, "the store's log and the client's file erase the same bytes");
    for (i, want) in rule.iter().enumerate() {
        prop_assert_eq!(&normal(&local[i]), want, "line {}: {:?}", i, t.lines[i]);
    }
    for secret in &t.secrets {
        for (i, line) in rule.iter().enumerate() {
            prop_assert!(!line.contains(&format!("{secret} ")), "{} still in line {}: {}", secret, i, line);
            prop_assert!(!local[i].contains(&format!("{secret} ")), "{} still in line {}", secret, i);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_backend_erases_what_the_rule_says(steps in proptest::collection::vec(step(), 1..40)) {
        let t = talk(&steps);
        check_all_agree(&t)?;
    }
}

fn lines(rows: &[(&str, &str, &str)]) -> Vec<(String, String, Text)> {
    rows.iter().map(|(f, i, b)| (f.to_string(), i.to_string(), text(b))).collect()
}

/// The client did not erase a reaction to a reply, which repeats the
/// reply's quote of the deleted message (`👍 to: > ana: …`); the store
/// did.
#[test]
fn the_client_erases_a_reaction_repeating_a_deleted_quote() {
    let t = Talk {
        lines: lines(&[
            ("ana", "m1", "secret1x text"),
            ("bob", "b1", "> ana: secret1x text\nok"),
            ("carl", "_r1_b1", "👍 to: > ana: secret1x text…"),
            ("ana", "_d2_m1", "(message deleted)"),
        ]),
        deletions: vec![(3, "ana".into(), "m1".into())],
        secrets: vec!["secret1x".into()],
    };
    let client = by_the_client(&t);
    assert_eq!(normal(&client[2]), "👍 to: > ana: (message deleted)", "{client:?}");
    check_all_agree(&t).unwrap();
}

/// The local store matched the author exactly: `DELETE` by `ana` of a
/// message stored from `Ana` erased nothing; the client folded the case.
#[test]
fn the_store_compares_the_author_ignoring_case() {
    let t = Talk {
        lines: lines(&[
            ("Ana", "m1", "secret1x text"),
            ("bob", "b1", "> Ana: secret1x text\nok"),
            ("ANA", "_d2_m1", "(message deleted)"),
        ]),
        deletions: vec![(2, "ana".into(), "m1".into())],
        secrets: vec!["secret1x".into()],
    };
    let local = by_the_local_store(&t);
    assert_eq!(normal(&local[0]), action::DELETED, "{local:?}");
    assert!(local[1].starts_with("> Ana: ---") && local[1].ends_with("\nok"), "{local:?}");
    check_all_agree(&t).unwrap();
}

/// The client erased, in every conversation of its file, reactions to a
/// message of the same id and replies quoting the same words; only the
/// deleted message's conversation holds its text.
#[test]
fn the_client_erases_only_in_the_messages_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(dir.path().join("history.csv")).unwrap();
    let rows = [
        ("ana", "#club", "m1", "same words"),
        ("carl", "#other", "m1", "carl's m1"),
        ("bob", "#other", "_r1_m1", "👍 to: carl's m1"),
        ("bob", "#other", "b1", "> ana: same words\nsaid elsewhere, and kept"),
        ("ana", "#club", "_d2_m1", "(message deleted)"),
    ];
    for (i, (from, to, id, body)) in rows.iter().enumerate() {
        history.add(message(from, to, id, i as u64, &text(body))).unwrap();
    }
    let other = history.conversation("ana", &Chat::parse("#other").unwrap(), 10);
    let texts: Vec<String> = other.iter().map(|m| m.text.unescaped()).collect();
    assert_eq!(texts, ["carl's m1", "👍 to: carl's m1", "> ana: same words\nsaid elsewhere, and kept"]);
    let club = history.conversation("ana", &Chat::parse("#club").unwrap(), 10);
    assert_eq!(normal(&club[0].text.unescaped()), action::DELETED);
}

/// The client's memory held a reply's text with the quoted words cut
/// out of the field as stored (its CSV quotes kept), not as its file
/// reads: a screen showed `"> ana: \nok, sure"` until the next start.
#[test]
fn the_clients_memory_reads_as_its_file_after_an_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    let mut history = History::open(path.clone()).unwrap();
    let m1 = text("secret1x, with a comma");
    let rows = [
        ("ana", "m1", m1.clone()),
        ("bob", "b1", action::reply_text("ana", &m1, &text("ok, sure")).unwrap()),
        ("ana", "_d2_m1", action::deleted_text()),
    ];
    for (i, (from, id, body)) in rows.iter().enumerate() {
        history.add(message(from, "#club", id, i as u64, body)).unwrap();
    }
    let in_memory = history.get("bob", "b1").unwrap().text.unescaped();
    assert_eq!(normal(&in_memory), "> ana: (message deleted)\nok, sure");
    history.sync().unwrap();
    drop(history);
    let reopened = History::open(path).unwrap();
    assert_eq!(reopened.get("bob", "b1").unwrap().text.unescaped(), in_memory);
}

/// A reply to a reply quotes the first reply's quote (`> bob: > ana: …`):
/// no copy erased it, so the deleted words stayed on every disk.
#[test]
fn a_reply_to_a_reply_loses_the_quote_too() {
    let m1 = text("secret1x text");
    let b1 = action::reply_text("ana", &m1, &text("ok")).unwrap();
    let c1 = action::reply_text("bob", &b1, &text("me too")).unwrap();
    let t = Talk {
        lines: vec![
            ("ana".into(), "m1".into(), m1),
            ("bob".into(), "b1".into(), b1),
            ("carl".into(), "c1".into(), c1.clone()),
            ("ana".into(), "_r1_c1".into(), action::react_text("👍", true, &c1)),
            ("ana".into(), "_d2_m1".into(), action::deleted_text()),
        ],
        deletions: vec![(4, "ana".into(), "m1".into())],
        secrets: vec!["secret1x".into()],
    };
    assert_eq!(t.lines[2].2.unescaped(), "> bob: > ana: secret1x text…\nme too");
    let rule = by_the_rule(&t);
    assert_eq!(rule[2], "> bob: (message deleted)\nme too");
    assert_eq!(rule[3], "👍 to: > bob: (message deleted)");
    check_all_agree(&t).unwrap();
}

/// The client took a message's number in the whole log for its place in
/// memory: once the window had moved on (10,000 messages), a `DELETE`
/// erased another message, or none.
#[test]
fn the_client_erases_the_right_message_after_the_window_moves() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(dir.path().join("history.csv")).unwrap();
    let n = 2 * wachat::client::history::WINDOW + 10;
    for i in 0..n {
        history.add(message("bob", "ana", &format!("b{i}"), i as u64, &text("filler words"))).unwrap();
    }
    history.add(message("ana", "bob", "m1", n as u64, &text("secret1x text"))).unwrap();
    history.add(message("ana", "bob", "_d1_m1", n as u64 + 1, &action::deleted_text())).unwrap();
    assert_eq!(normal(&history.get("ana", "m1").unwrap().text.unescaped()), action::DELETED);
    let bytes = std::fs::read_to_string(dir.path().join("history.csv")).unwrap();
    assert!(!bytes.contains("secret1x"));
    assert_eq!(bytes.matches("filler words").count(), n);
}

/// An erasure's blank applied to a text it does not fit changes nothing.
#[test]
fn a_blank_that_does_not_fit_changes_nothing() {
    assert_eq!(Blank::Quote("> ana: hi".into()).apply(&text("> bob: hi\nyes")), None);
    assert_eq!(Blank::Tail(99).apply(&text("👍 to: hi")), None);
}
