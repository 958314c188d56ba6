//! Text that can't forge lines (protocol 1.2, §1
//! "Text"): a text sent with `MSG` may not hold a control character other
//! than tab (a newline travels escaped, as `\n`), nor U+2028 or U+2029,
//! where Python's `str.splitlines()` also ends a line. Before 1.2 a bare CR
//! was relayed raw, and a classmate's line-reading client could be shown a
//! forged line. Old data that holds one still loads and is served as stored.

use super::support;

use support::{TestServer, without_ts};

/// What the server refuses, and the reason it gives, over a real socket.
#[test]
fn a_control_character_in_a_sent_text_is_a_bad_request_that_names_it() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    for (text, why) in [
        ("hi\rSYSTEM: your password expired", "U+000D (carriage return)"),
        ("\u{1b}[2Jboo", "U+001B (escape)"),
        ("one\u{2028}two", "U+2028 (line separator)"),
        ("one\u{2029}two", "U+2029 (paragraph separator)"),
        ("nul\0", "U+0000 (null)"),
        ("del\u{7f}", "U+007F (delete)"),
        ("nel\u{85}", "U+0085 (next line)"),
        ("csi\u{9b}2J", "U+009B (control sequence introducer)"),
        ("vt\u{b}ff", "U+000B (vertical tab)"),
        ("rs\u{1e}", "U+001E (information separator)"),
    ] {
        let reply = ana.request(&format!("MSG:bob:m1:{text}"));
        assert_eq!(reply, format!("KO:BAD_REQUEST:a text may not hold {why}"), "{text:?}");
    }
    // The connection stays open, and nothing was stored or delivered.
    assert_eq!(ana.request("PING"), "OK");
    assert_eq!(ana.listing("HISTORY:bob:10"), Vec::<String>::new());
    // The same in a room.
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert_eq!(
        ana.request("MSG:#lab:r1:a\rb"),
        "KO:BAD_REQUEST:a text may not hold U+000D (carriage return)"
    );
}

/// Tab, an escaped newline and ordinary Unicode pass, and reach the
/// receiver as they were sent; a CR right before the `\n` is still part of
/// the line ending (protocol 1.0), not of the text.
#[test]
fn tab_escaped_newlines_and_a_crlf_line_ending_are_accepted() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:col 1\tcol 2\\nline 2 ñ €").starts_with("OK:m1:"));
    ana.send_raw(b"MSG:bob:m2:telnet\r\n");
    assert!(ana.line().starts_with("OK:m2:"));
    let mut bob = server.login_recv("bob", "pw-bob");
    assert_eq!(without_ts(&bob.next_msg()), "MSG:1:ana:bob:m1:<ts>:col 1\tcol 2\\nline 2 ñ €");
    assert_eq!(without_ts(&bob.next_msg()), "MSG:2:ana:bob:m2:<ts>:telnet");
}

/// A record stored before 1.2 (here planted in the log) still loads: the
/// server starts, and `HISTORY` serves it as stored.
#[test]
fn old_data_with_a_control_character_still_loads() {
    let mut server = TestServer::start_restartable(&[]);
    server.register(&["ana", "bob"]);
    support::old_data::plant_old_text(&mut server, &[], "ana", "bob", "old", "\u{1b}[1mold\u{7}");
    let mut bob = server.login_send("bob", "pw-bob");
    let lines = bob.listing("HISTORY:ana:10");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("ana:bob:old:") && lines[0].ends_with(":\u{1b}[1mold\u{7}"), "{lines:?}");
    // And a new message after it is stored and served next to it.
    assert!(bob.request("MSG:ana:new:hi").starts_with("OK:new:"));
    assert_eq!(bob.listing("HISTORY:ana:10").len(), 2);
}
