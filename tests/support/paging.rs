//! A long conversation written from raw sockets and read back a page at a
//! time (protocol 1.2, `HISTORY:<chat>:<limit>:<start>`): shared by the
//! single server's tests (`tests/chat/history.rs`, `tests/web/history.rs`) and
//! the cluster's (`tests/cluster/history.rs`).

use super::Conn;

/// Messages each side sends before the other answers: sent at once
/// (pipelined), so that several share a millisecond.
pub const BURST: usize = 5;

/// Server flags for writing a long chat at once: no limit on requests
/// from the one address all of a test's users share.
pub const WRITE_FAST: [&str; 2] = ["--address-rate", "0"];

/// Writes `n` messages between `me` and `friend`, alternating bursts of
/// [`BURST`]: the friend's questions and my replies, interleaved. Returns
/// the `(from, id)` of each, in the order the server stored them.
pub fn interleaved(me: (&str, &mut Conn), friend: (&str, &mut Conn), n: usize) -> Vec<(String, String)> {
    interleaved_from(me, friend, 0, n)
}

/// [`interleaved`], numbering the messages from `first` (ids differ from
/// those written before: an id sent again is a resend, not a message).
pub fn interleaved_from(
    me: (&str, &mut Conn),
    friend: (&str, &mut Conn),
    first: usize,
    n: usize,
) -> Vec<(String, String)> {
    let (me_name, me_conn) = me;
    let (friend_name, friend_conn) = friend;
    let mut sent = Vec::with_capacity(n);
    let mut i = first;
    let n = first + n;
    while i < n {
        let turn = (i / BURST) % 2;
        let (from, to, conn) = match turn {
            0 => (friend_name, me_name, &mut *friend_conn),
            _ => (me_name, friend_name, &mut *me_conn),
        };
        let burst = BURST.min(n - i);
        for k in 0..burst {
            let id = format!("{}{}", if turn == 0 { "q" } else { "r" }, i + k);
            let text = text_of(i + k);
            conn.send(&format!("MSG:{to}:{id}:{text}"));
            sent.push((from.to_string(), id));
        }
        for k in 0..burst {
            let ok = conn.line();
            assert!(ok.starts_with(&format!("OK:{}:", sent[i - first + k].1)), "{ok}");
        }
        i += burst;
    }
    sent
}

/// The text of the `i`-th message [`interleaved`] writes: the friend's
/// question or my reply, by turns of [`BURST`].
pub fn text_of(i: usize) -> String {
    if (i / BURST).is_multiple_of(2) { format!("question {i}?") } else { format!("my reply {i}") }
}

/// One page: its lines and its cursor (`None`: the conversation's start).
pub fn page(conn: &mut Conn, request: &str) -> (Vec<String>, Option<String>) {
    let head = conn.request(request);
    let rest = head.strip_prefix("OK:").unwrap_or_else(|| panic!("{request}: {head}"));
    let (n, cursor) = rest.split_once(':').unwrap_or_else(|| panic!("{request}: no cursor in {head}"));
    let n: usize = n.parse().unwrap_or_else(|_| panic!("{request}: {head}"));
    let lines = (0..n).map(|_| conn.line()).collect();
    (lines, (!cursor.is_empty()).then(|| cursor.to_string()))
}

/// Every line of `chat`, read back `limit` at a time from the newest:
/// oldest first, and how many pages it took.
pub fn read_back(conn: &mut Conn, chat: &str, limit: usize) -> (Vec<String>, usize) {
    let mut pages = Vec::new();
    let mut start = "*".to_string();
    loop {
        let (lines, cursor) = page(conn, &format!("HISTORY:{chat}:{limit}:{start}"));
        assert!(lines.len() <= limit);
        pages.push(lines);
        match cursor {
            Some(cursor) => start = cursor,
            None => break,
        }
        assert!(pages.len() <= 100_000, "no end");
    }
    let n = pages.len();
    (pages.into_iter().rev().flatten().collect(), n)
}

/// The `(from, id)` of a `HISTORY` line.
pub fn who_and_id(line: &str) -> (String, String) {
    let f: Vec<&str> = line.splitn(4, ':').collect();
    (f[0].to_string(), f[2].to_string())
}

/// The ids of the messages the browser draws in the open chat, top to bottom.
pub fn drawn_ids(browser: &super::browser::Browser) -> Vec<String> {
    let ids = browser.exec(
        "return [...document.querySelectorAll('#messages li.msg')].map((li) => li.dataset.id)",
        serde_json::json!([]),
    );
    serde_json::from_value(ids).expect("a list of ids")
}

/// Scrolls the browser's open chat to the top until its first message is
/// drawn (the app marks the list `data-start="true"`), as a reader
/// scrolling up does, or until scrolling up draws nothing more for
/// [`READ_TIMEOUT`](super::READ_TIMEOUT) (an app that stops
/// short); the ids drawn then, top to bottom.
pub fn scroll_to_start(browser: &super::browser::Browser) -> Vec<String> {
    use std::time::{Duration, Instant};
    let scroll = "const m = document.getElementById('messages'); m.scrollTop = 0; \
                  m.dispatchEvent(new Event('scroll')); \
                  return [m.dataset.start === 'true', m.querySelectorAll('li.msg').length]";
    let (mut count, mut since) = (0, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let state = browser.exec(scroll, serde_json::json!([]));
        if state[0] == serde_json::json!(true) {
            return drawn_ids(browser);
        }
        let now = state[1].as_u64().unwrap_or(0);
        if now != count {
            (count, since) = (now, Instant::now());
        } else if since.elapsed() > super::READ_TIMEOUT {
            return drawn_ids(browser); // nothing more comes: what it shows is all it will
        }
        assert!(Instant::now() < deadline, "still scrolling after 2 minutes: {count} drawn");
        std::thread::sleep(Duration::from_millis(50)); // polling the page, as Browser::wait_for does
    }
}

/// How many of `chat`'s neighbouring messages share a millisecond, as
/// `conn` reads them back: the order the tests check is one times alone
/// cannot give.
pub fn same_millisecond(conn: &mut Conn, chat: &str) -> usize {
    let (lines, _) = read_back(conn, chat, 1000);
    let ts: Vec<&str> = lines.iter().map(|l| l.split(':').nth(3).unwrap_or_default()).collect();
    ts.windows(2).filter(|w| w[0] == w[1]).count()
}
