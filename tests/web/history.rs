//! The browser app shows a conversation whole and in order:
//! a chat of 1,500 messages, my replies interleaved with a friend's
//! questions, written from raw sockets (my other device and the friend's)
//! while the browser was away (logged out), then opened and scrolled up
//! to its start at a phone's size and a laptop's: every message drawn,
//! once, in the order the server stored them, though many share a
//! millisecond. And a new browser (a fresh profile, a new device that
//! holds none of it) scrolls it whole too, past the 1,000 one `HISTORY`
//! lists. The cluster's browser runs the same (tests/cluster/history.rs).
//! Prints the times to open the chat and to scroll to its start.

use super::support;

use std::time::Instant;

use support::paging::{WRITE_FAST, interleaved_from, same_millisecond, scroll_to_start};
use support::webapp::{log_in_again, logged_in, open_chat, web_server};

const LONG: usize = 1_500;

/// Messages the browser sees arrive live before it goes away.
const BEFORE: usize = 20;

#[test]
fn a_long_chat_written_while_the_browser_was_away_is_drawn_whole_and_in_order() {
    let (server, url) = web_server(&WRITE_FAST);
    for (width, height) in [(390, 844), (1280, 800)] {
        let (me, friend) = (format!("ana{width}"), format!("bob{width}"));
        let [mut mine, mut theirs] = server.logged_in([me.as_str(), friend.as_str()]);
        let browser = logged_in(&url, &me, width, height);
        let mut sent = interleaved_from((&me, &mut mine), (&friend, &mut theirs), 0, BEFORE);
        open_chat(&browser, &friend);
        browser.wait_for(&format!("document.querySelectorAll('#messages li.msg').length === {BEFORE}"));
        // Away: the page left, the password's login gone with it.
        browser.goto("about:blank");
        sent.extend(interleaved_from((&me, &mut mine), (&friend, &mut theirs), BEFORE, LONG - BEFORE));
        assert!(same_millisecond(&mut mine, &friend) > 100, "many neighbours share a millisecond");
        log_in_again(&browser, &url, &me);
        let (opened, ids) = open_and_scroll(&browser, &friend);
        let want: Vec<String> = sent.iter().map(|(_, id)| id.clone()).collect();
        assert_whole(&ids, &want, &format!("{width}×{height}, back from away"));
        eprintln!("{width}×{height}: opened in {:?}, at its start after {:?}", opened.0, opened.1);
        // A new device: a fresh browser profile that holds none of it.
        drop(browser);
        let fresh = logged_in(&url, &me, width, height);
        let (opened, ids) = open_and_scroll(&fresh, &friend);
        assert_whole(&ids, &want, &format!("{width}×{height}, a new browser"));
        eprintln!(
            "{width}×{height} new browser: opened in {:?}, at its start after {:?}",
            opened.0, opened.1
        );
    }
}

/// Opens the chat with `friend` and scrolls it to its start: how long the
/// first page took to draw and the start to come, and the ids drawn.
fn open_and_scroll(
    browser: &support::browser::Browser,
    friend: &str,
) -> ((std::time::Duration, std::time::Duration), Vec<String>) {
    let start = Instant::now();
    open_chat(browser, friend);
    browser.wait_for("document.querySelectorAll('#messages li.msg').length >= 50");
    let opened = start.elapsed();
    let ids = scroll_to_start(browser);
    ((opened, start.elapsed()), ids)
}

/// Every message of `want` drawn once, in its order.
fn assert_whole(ids: &[String], want: &[String], what: &str) {
    let mut seen = std::collections::HashSet::new();
    let twice: Vec<&String> = ids.iter().filter(|id| !seen.insert(*id)).collect();
    assert!(twice.is_empty(), "{what}: drawn twice: {twice:?}");
    let missing: Vec<&String> = want.iter().filter(|id| !seen.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} missing, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let wrong = ids.iter().zip(want).position(|(a, b)| a != b);
    assert_eq!(
        wrong,
        None,
        "{what}: out of order from {wrong:?}: {:?}",
        wrong.map(|i| &ids[i..(i + 4).min(ids.len())])
    );
    assert_eq!(ids.len(), want.len(), "{what}");
}
