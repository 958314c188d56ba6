//! Reading `history.csv` from its end: where a start begins (the rows of
//! the last [`WINDOW`](super::WINDOW) messages), and the pages
//! older than what is in memory.
//!
//! Why from the end: a start that read the whole file would make a user
//! with 100,000 messages of 4 KB (a flood anyone can send them) wait for
//! 400 MB to be parsed and keep every message's place in RAM. Every row is
//! one line (texts are escaped, as on the wire), and a message's row starts
//! with `msg,` or `p2p,`, so the start of the last N messages is found by
//! counting such lines backwards, a chunk at a time, without parsing
//! anything: what a start costs then depends on N, not on the size of the
//! file. `examples/client_scale.rs` measures it.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::Path;

use crate::sys::disk::At;

use super::{Amendments, HEADER, History, Message, chat_key, key};
use crate::protocol::names::fold;
use crate::protocol::{Chat, Text};

/// Bytes read at once, going backwards.
const CHUNK: usize = 256 * 1024;

/// True for the line of a message (a `msg` or `p2p` row).
pub(super) fn is_message_row(line: &[u8]) -> bool {
    line.starts_with(b"msg,") || line.starts_with(b"p2p,")
}

/// The first six fields of a row (kind, ts, from, to, id, state), split
/// without a CSV parser: none of them is ever quoted (names, numbers and
/// words). `None` if one is, or the row is short: then parse it whole.
pub(super) fn head(line: &[u8]) -> Option<[&str; 6]> {
    let mut fields = [""; 6];
    let mut rest = line;
    for field in fields.iter_mut() {
        let end = rest.iter().position(|&b| b == b',')?;
        *field = std::str::from_utf8(&rest[..end]).ok().filter(|f| !f.starts_with('"'))?;
        rest = &rest[end + 1..];
    }
    Some(fields)
}

/// Calls `each(line, offset)` on the lines of `path` between the byte
/// offsets `from` (a line start: the end of the header) and `end` (the
/// end of a line), newest first, without their `\n`, until it returns
/// `false`.
pub(super) fn lines_back(
    path: &Path,
    from: u64,
    end: u64,
    mut each: impl FnMut(&[u8], u64) -> bool,
) -> io::Result<()> {
    let file = File::open(path)?;
    // `buf` holds the file's bytes [at, at + buf.len()): a chunk, then the
    // beginning of a line that started before it (carried over).
    let mut at = end;
    let mut buf: Vec<u8> = Vec::new();
    while at > from {
        let start = at.saturating_sub(CHUNK as u64).max(from);
        let mut chunk = vec![0; (at - start) as usize];
        file.read_exact_at(&mut chunk, start)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        at = start;
        // `buf` ends with a `\n`. Its first line began before `at`
        // unless `at` is `from`: the others are whole, handed out newest first.
        let newlines: Vec<usize> = (0..buf.len()).filter(|&i| buf[i] == b'\n').collect();
        let first_whole = usize::from(at > from);
        for k in (first_whole..newlines.len()).rev() {
            let line_start = if k == 0 { 0 } else { newlines[k - 1] + 1 };
            if !each(&buf[line_start..newlines[k]], at + line_start as u64) {
                return Ok(());
            }
        }
        if let Some(&first_end) = newlines.first() {
            buf.truncate(first_end + 1); // the end of a line that began earlier
        }
    }
    Ok(())
}

/// The offset of the row of the `n`-th message from the end of `path`
/// (`from` if there are fewer): where a start begins reading.
pub(super) fn tail_start(path: &Path, from: u64, end: u64, n: usize) -> io::Result<u64> {
    let mut seen = 0;
    let mut start = from;
    lines_back(path, from, end, |line, at| {
        if is_message_row(line) {
            seen += 1;
            if seen == n {
                start = at;
                return false;
            }
        }
        true
    })?;
    Ok(start)
}

impl History {
    /// Up to `n` messages of the chat `want` older than the window, newest
    /// first, read back from the file (`paging.rs`): the rows before the
    /// window's first, with the states that later rows gave them. With
    /// `at`, only those before the message `at` names (or older than its
    /// time, if it is not in the file). A row that cannot be read is
    /// passed over, and said in the log.
    pub(super) fn older_on_disk(
        &self,
        me: &str,
        want: &str,
        at: Option<((String, String), u64)>,
        n: usize,
    ) -> Vec<Message> {
        let header_end = HEADER.len() as u64 + 1;
        let end = match self.rows_at.first() {
            Some(&row) => row,
            None => return Vec::new(), // nothing in the window: nothing before it either
        };
        let mut found = Vec::new();
        let mut later: HashMap<(String, String), Amendments> = HashMap::new();
        let mut passed = at.is_none();
        let scanned = lines_back(self.file.path(), header_end, end, |line, _| {
            let is_message = is_message_row(line);
            if !is_message && !line.starts_with(b"state,") {
                return true;
            }
            // The fields before the text, without a CSV parser (building
            // one per row was most of a page's time); the whole row only
            // for a message that is kept.
            let whole;
            let head = match head(line) {
                Some(head) => head,
                None => match parse_row(line) {
                    Ok(row) => {
                        whole = row;
                        std::array::from_fn(|i| whole.get(i).unwrap_or_default())
                    }
                    Err(e) => {
                        log::warn!("{}: {e}", self.file.path().display());
                        return true;
                    }
                },
            };
            let [_, ts, from, to, id, state] = head;
            let ts: u64 = ts.parse().unwrap_or(0);
            if !is_message {
                if let Ok(state) = state.parse() {
                    later.entry(key(from, id)).or_default().add(state, ts);
                }
                return true;
            }
            let k = key(from, id);
            if let Some((at_key, at_ts)) = &at
                && !passed
                && (*at_key == k || ts >= *at_ts)
            {
                passed |= *at_key == k; // older rows than `at` come next
                return true;
            }
            let chat = match Chat::parse(to) {
                Ok(Chat::User(to)) if fold(from) == fold(me) => Chat::User(to),
                Ok(Chat::User(_)) => Chat::User(from.to_string()),
                Ok(room) => room,
                Err(_) => return true,
            };
            if chat_key(&chat) != want {
                return true;
            }
            let Ok(mut m) = parse_row(line).and_then(|row| message_of(&row)) else { return true };
            for states in [self.older.get(&k), later.get(&k)].into_iter().flatten() {
                states.apply(&mut m);
            }
            found.push(m);
            found.len() < n
        });
        if let Err(e) = scanned {
            log::warn!("{}: {e}", self.file.path().display());
        }
        found
    }
}

/// One line of the file as a row.
pub(super) fn parse_row(line: &[u8]) -> std::result::Result<csv::StringRecord, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line);
    let mut row = csv::StringRecord::new();
    match reader.read_record(&mut row) {
        Ok(true) => Ok(row),
        Ok(false) => Err("an empty row".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The message of a `msg` or `p2p` row, as its row has it.
pub(super) fn message_of(row: &csv::StringRecord) -> std::result::Result<Message, String> {
    let field = |i: usize| row.get(i).ok_or_else(|| format!("expected 7 fields, got {}", row.len()));
    Ok(Message {
        from: field(2)?.to_string(),
        to: Chat::parse(field(3)?)?,
        id: field(4)?.to_string(),
        ts: field(1)?.parse().map_err(|_| format!("bad timestamp {:?}", field(1)))?,
        state: field(5)?.parse()?,
        text: Text::parse(field(6)?)?,
        refused: None,
        p2p: field(0)? == "p2p",
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::msg;
    use super::super::{TEXTS_IN_MEMORY, WINDOW, on_disk};
    use super::*;
    use crate::protocol::MsgState;

    fn lines_of(text: &str, from: u64) -> Vec<(String, u64)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, text).unwrap();
        let mut got = Vec::new();
        lines_back(&path, from, text.len() as u64, |line, at| {
            got.push((String::from_utf8(line.to_vec()).unwrap(), at));
            true
        })
        .unwrap();
        got
    }

    #[test]
    fn lines_come_back_newest_first_with_their_offsets() {
        let text = "head\nmsg,1\nstate,2\n\nmsg,3\n";
        let got = lines_of(text, 5);
        let want = [("msg,3", 20), ("", 19), ("state,2", 11), ("msg,1", 5)];
        assert_eq!(got, want.map(|(l, at)| (l.to_string(), at)));
        assert!(lines_of("head\n", 5).is_empty());
    }

    #[test]
    fn the_head_of_a_row_is_split_unless_quoted() {
        assert_eq!(head(b"msg,5,ana,bob,m1,SENT,\"a, b\""), Some(["msg", "5", "ana", "bob", "m1", "SENT"]));
        assert_eq!(head(b"state,5,ana,,m1,READ,"), Some(["state", "5", "ana", "", "m1", "READ"]));
        assert_eq!(head(b"msg,5,\"a,b\",bob,m1,SENT,x"), None);
        assert_eq!(head(b"msg,5"), None);
    }

    #[test]
    fn long_lines_cross_chunks_whole() {
        let long = "x".repeat(CHUNK * 2 + 7);
        let text = format!("head\nmsg,{long}\nmsg,b\np2p,{long}\n");
        let got = lines_of(&text, 5);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, format!("p2p,{long}"));
        assert_eq!(got[1], ("msg,b".to_string(), 5 + 4 + long.len() as u64 + 1));
        assert_eq!(got[2], (format!("msg,{long}"), 5));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, &text).unwrap();
        let end = text.len() as u64;
        assert_eq!(tail_start(&path, 5, end, 2).unwrap(), got[1].1);
        assert_eq!(tail_start(&path, 5, end, 99).unwrap(), 5, "fewer: from the start");
    }

    #[test]
    fn only_the_newest_texts_stay_in_memory_and_older_ones_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let n = TEXTS_IN_MEMORY + 50;
        let text = |i: usize| format!("text {i}, with \"quotes\", commas\nand a second line");
        let mut log = History::open(path.clone()).unwrap();
        for i in 0..n {
            let (from, to) = if i % 3 == 0 { ("bob", "ana") } else { ("ana", "bob") };
            let m = Message {
                text: Text::from_plain(&text(i)).unwrap(),
                ..msg(from, to, &format!("m{i}"), MsgState::Sent)
            };
            assert!(log.add(m).unwrap());
        }
        log.advance("ana", "m1", MsgState::Read, 5).unwrap();
        log.sync().unwrap();
        for log in [log, History::open(path).unwrap()] {
            // In memory: the stand-in for the oldest, the text for the newest.
            assert_eq!(log.messages[0].text, on_disk());
            assert_eq!(log.messages[n - 1].text.unescaped(), text(n - 1));
            // Handed out: always the real text.
            assert_eq!(log.get("bob", "m0").unwrap().text.unescaped(), text(0));
            assert_eq!(log.get("ana", "m1").unwrap().state, MsgState::Read);
            let all = log.conversation("ana", &Chat::User("bob".into()), n);
            assert_eq!(all.len(), n);
            assert!(all.iter().enumerate().all(|(i, m)| m.text.unescaped() == text(i)));
            let page = log.before("ana", &Chat::User("bob".into()), ("ana", "m5", 1), 3);
            assert_eq!(
                page.iter().map(|m| m.text.unescaped()).collect::<Vec<_>>(),
                [text(2), text(3), text(4)]
            );
        }
    }

    #[test]
    fn a_start_reads_the_window_and_older_pages_come_from_the_file_with_their_states() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let n = 3 * WINDOW + 10;
        let mut log = History::open(path.clone()).unwrap();
        let chat_of = |i: usize| if i.is_multiple_of(5) { "#general" } else { "bob" };
        for i in 0..n {
            let m = Message { ts: i as u64, ..msg("ana", chat_of(i), &format!("m{i}"), MsgState::Sent) };
            assert!(log.add(m).unwrap());
            match i {
                1 => assert!(log.advance("ana", "m1", MsgState::Received, 7).unwrap()),
                j if j == 2 * WINDOW + 500 => {
                    // Still in memory now, older than the window at the next start.
                    let old = format!("m{}", 2 * WINDOW + 1);
                    assert!(log.advance("ana", &old, MsgState::Read, 9).unwrap());
                }
                _ => {}
            }
            assert!(log.messages.len() < 2 * WINDOW, "a bounded window while running");
        }
        log.sync().unwrap();
        let log = History::open(path).unwrap();
        assert_eq!(log.messages.len(), WINDOW, "a start reads the window only");
        assert!(log.get("ana", "m1").is_none(), "older ones are on disk");
        let bob = Chat::User("bob".into());
        let all = log.conversation("ana", &bob, n);
        let want: Vec<String> = (0..n).filter(|&i| chat_of(i) == "bob").map(|i| format!("m{i}")).collect();
        assert_eq!(all.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), want, "every one, in order");
        assert_eq!(all[0].text.unescaped(), "text m1\nsecond line");
        assert_eq!((all[0].state, all[0].ts), (MsgState::Received, 7), "a later row's state and time");
        let page = log.before("ana", &bob, ("ana", &format!("m{}", 2 * WINDOW + 3), 0), 2);
        let ids: Vec<(String, MsgState)> = page.into_iter().map(|m| (m.id, m.state)).collect();
        let (a, b) = (format!("m{}", 2 * WINDOW + 1), format!("m{}", 2 * WINDOW + 2));
        assert_eq!(ids, [(a, MsgState::Read), (b, MsgState::Sent)], "a state row read at the start");
        let room = log.conversation("ana", &Chat::parse("#general").unwrap(), 3);
        let ids: Vec<String> = room.into_iter().map(|m| m.id).collect();
        let last = |k: usize| format!("m{}", n - 5 - 5 * k);
        assert_eq!(ids, [last(2), last(1), last(0)]);
    }
}
