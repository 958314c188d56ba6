//! The session of docs/PROTOCOL.md §22 (blocks, notification levels,
//! pins), played back against a single server (tests/prefs.rs) and a
//! cluster (tests/cluster/prefs.rs): both backends must answer it alike.

use std::collections::HashMap;

use super::Conn;

/// Plays the session, its connections (`A`, `B`, `P`) made by `connect`;
/// timestamps (13 digits) aside, every reply and event must be the one
/// the document shows.
pub fn play_section_21(connect: impl Fn(&str) -> Conn) {
    play_session("## 22. Version 1.2: blocks", 30, connect);
}

/// Plays the first session (`### A session`) of the section of
/// docs/PROTOCOL.md whose heading starts with `heading` (§23's too), which
/// must have more than `least` lines.
pub fn play_session(heading: &str, least: usize, connect: impl Fn(&str) -> Conn) {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROTOCOL.md")).unwrap();
    let section = &doc[doc.find(heading).expect(heading)..];
    let session = &section[section.find("### A session").unwrap()..];
    let block = session.split("```").nth(1).expect("the session's block");
    let mut conns: HashMap<String, Conn> = HashMap::new();
    let mut played = 0;
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let (who, rest) = line.split_once(' ').unwrap();
        let conn = conns.entry(who.to_string()).or_insert_with(|| connect(who));
        match rest.split_at(2) {
            ("> ", frame) => conn.send(frame),
            ("< ", frame) => assert_eq!(without_stamps(&conn.line()), without_stamps(frame), "{line}"),
            _ => panic!("not a line of a session: {line:?}"),
        }
        played += 1;
    }
    assert!(played > least, "{played} lines");
}

/// `line` with each run of 13 digits (a time in ms) as `<ts>`, and each
/// action id's stamp (`_emwup63ee_m1`, §19) as `<stamp>`.
fn without_stamps(line: &str) -> String {
    let line = without_ms(line);
    let mut out = String::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find('_') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let stamp = rest.get(1..).and_then(|r| r.find('_')).map(|end| &rest[..=end]);
        if let Some(stamp) = stamp.filter(|s| {
            s.len() > 5
                && s.starts_with(['e', 'd', 'r', 'u', 'x'])
                && s.chars().all(|c| c.is_ascii_alphanumeric())
        }) {
            out.push_str(&stamp[..1]);
            out.push_str("<stamp>");
            rest = &rest[stamp.len()..];
        }
    }
    out.push_str(rest);
    out
}

/// `line` with each run of 13 digits (a time in ms) as `<ts>`.
fn without_ms(line: &str) -> String {
    let mut out = String::new();
    let mut digits = 0;
    for c in line.chars() {
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
        out.push(c);
        if digits == 13 {
            out.truncate(out.len() - 13);
            out.push_str("<ts>");
        }
    }
    out
}
