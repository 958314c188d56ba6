//! The table of requests (`server::requests::TABLE`) against what it
//! describes: every request that `Request::parse` knows and
//! docs/PROTOCOL.md names has one row, found by its word, with the
//! version the document gives it, and docs/CONTRIBUTING.md shows the
//! table as it is. (That a parsed request has a cost and a handler is
//! the compiler's check: `requests::cost` and `requests::serve`.)

use std::path::Path;

use wachat::protocol::Request;
use wachat::server::requests::{Kind, Row, TABLE, Version, by_word};

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// True if `text` names `word` in backticks: `` `WORD` `` or `` `WORD:…` ``.
fn names(text: &str, word: &str) -> bool {
    text.match_indices(&format!("`{word}")).any(|(at, _)| {
        let next = text[at + 1 + word.len()..].chars().next();
        matches!(next, Some('`' | ':'))
    })
}

/// Every word in backticks (`` `WORD` `` or `` `WORD:…` ``) that
/// `Request::parse` knows as a request.
fn request_words(doc: &str) -> Vec<String> {
    let mut words: Vec<String> = doc
        .split('`')
        .skip(1)
        .filter_map(|after| {
            let word: String = after.chars().take_while(char::is_ascii_uppercase).collect();
            let next = after[word.len()..].chars().next();
            (!word.is_empty() && matches!(next, None | Some(':'))).then_some(word)
        })
        .filter(|word| !unknown(word))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// True if `Request::parse` does not know `word` at all.
fn unknown(word: &str) -> bool {
    Request::parse(word).is_err_and(|ko| ko.reason.starts_with("unknown request"))
}

/// The version docs/PROTOCOL.md gives `word`: that of the first heading
/// naming it (a `###` takes its `##`'s), else of the page's summary of
/// 1.1 or 1.2 that names it.
fn documented_version(doc: &str, word: &str) -> Option<Version> {
    let version_of = |text: &str| {
        if text.contains("1.2") {
            Version::V1_2
        } else if text.contains("1.1") {
            Version::V1_1
        } else {
            Version::V1_0
        }
    };
    let mut section = "";
    for line in doc.lines() {
        if line.starts_with("## ") {
            section = line;
        }
        if line.starts_with("##") && names(line, word) {
            return Some(version_of(line).max(version_of(section)));
        }
    }
    let summary = |from: &str, to: &str| {
        let start = doc.find(from)?;
        let end = start + doc[start..].find(to)?;
        Some(&doc[start..end])
    };
    let in_summary = |from, to| summary(from, to).is_some_and(|text| names(text, word));
    if in_summary("Version **1.2** adds", "A 1.0 or 1.1 client") {
        return Some(Version::V1_2);
    }
    if in_summary("Version **1.1** adds", "Version **1.2** adds") {
        return Some(Version::V1_1);
    }
    None
}

#[test]
fn every_request_of_the_protocol_page_has_a_row() {
    let words = request_words(&read("docs/PROTOCOL.md"));
    assert!(words.len() >= 30, "too few requests found: {words:?}");
    let missing: Vec<&String> = words.iter().filter(|w| by_word(w).is_none()).collect();
    assert!(missing.is_empty(), "requests without a row in server::requests::TABLE: {missing:?}");
}

#[test]
fn every_word_of_the_table_is_a_request_named_once() {
    let mut seen = Vec::new();
    for word in TABLE.iter().flat_map(|row| row.words) {
        assert!(!unknown(word), "{word} has a row but Request::parse does not know it");
        assert!(!seen.contains(word), "{word} has two rows");
        seen.push(*word);
    }
}

#[test]
fn every_row_has_the_version_the_protocol_page_gives_it() {
    let doc = read("docs/PROTOCOL.md");
    let mut wrong = Vec::new();
    for row in TABLE {
        for word in row.words {
            match documented_version(&doc, word) {
                Some(version) if version == row.since => {}
                found => wrong.push(format!("{word}: row {}, docs/PROTOCOL.md {found:?}", row.since)),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_first_frames_are_the_ways_in() {
    let first: Vec<&str> =
        TABLE.iter().filter(|r| r.first_frame).flat_map(|r| r.words.iter().copied()).collect();
    assert!(first.contains(&"LOGIN") && first.contains(&"REGISTER"), "{first:?}");
    assert!(!first.contains(&"MSG") && !first.contains(&"PING"), "{first:?}");
}

#[test]
fn a_setting_and_its_undoing_are_one_row() {
    // One row each, and one handler given whether it is the change or its undoing.
    for (on, off) in [("BLOCK", "UNBLOCK"), ("PIN", "UNPIN"), ("ARCHIVE", "UNARCHIVE"), ("STAR", "UNSTAR")] {
        let (on_row, off_row) = (by_word(on).unwrap(), by_word(off).unwrap());
        assert!(std::ptr::eq(on_row, off_row), "{on} and {off} are two rows");
    }
}

/// docs/CONTRIBUTING.md's table of requests, as the rows make it.
fn table_in_markdown(rows: &[Row]) -> String {
    let mut out = String::from("| request | since | before login | kept |\n| --- | --- | --- | --- |\n");
    for row in rows {
        let words: Vec<String> = row.words.iter().map(|w| format!("`{w}`")).collect();
        let first = if row.first_frame { "only then" } else { "no" };
        let kept = match row.kind {
            Kind::Stored => "stored",
            Kind::Ephemeral => "ephemeral",
            Kind::Read => "read",
        };
        out += &format!("| {} | {} | {first} | {kept} |\n", words.join(" "), row.since);
    }
    out
}

#[test]
fn the_contributors_page_shows_the_table() {
    let doc = read("docs/CONTRIBUTING.md");
    let table = table_in_markdown(TABLE);
    assert!(
        doc.contains(&table),
        "docs/CONTRIBUTING.md should hold the table of requests as it is now:\n\n{table}"
    );
}

#[test]
fn the_reader_of_the_page_finds_what_it_should() {
    let doc = "## 3. Logging in: `LOGIN`\n\n## 11. Version 1.1\n\n### `LASTSEEN:<user>` (1.1)\n\
               Version **1.1** adds `MEMBERS`. Version **1.2** adds `KICK`/`BAN`. A 1.0 or 1.1 client";
    assert_eq!(documented_version(doc, "LOGIN"), Some(Version::V1_0));
    assert_eq!(documented_version(doc, "LASTSEEN"), Some(Version::V1_1));
    assert_eq!(documented_version(doc, "MEMBERS"), Some(Version::V1_1));
    assert_eq!(documented_version(doc, "BAN"), Some(Version::V1_2));
    assert_eq!(documented_version(doc, "MEMBER"), None);
    assert_eq!(request_words(doc), ["BAN", "KICK", "LASTSEEN", "LOGIN", "MEMBERS"]);
}
