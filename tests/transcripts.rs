//! The `nc` transcripts of the README and of LAB.md parts 1–3, run as they
//! are printed, with the real `nc` (Debian's netcat-openbsd), against a
//! real server: every `> ` line is typed into the right `nc`, every `< `
//! line must come out of it (timestamps, which differ from run to run,
//! aside). A student who follows the documents sees what they say; if
//! the program or a document changes, this fails.
//!
//! The frames come from the documents themselves. What only the prose
//! says (which terminal a transcript is typed in, "press Ctrl+C in
//! terminal 3", "answer it with `ACK:2`") is in [`LAB_PLAN`], which
//! counts the transcripts, so that a new one in LAB.md is noticed here.
//! It needs `nc` (`.ci/test` installs netcat-openbsd): without it, this
//! fails rather than skips.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use support::{READ_TIMEOUT, TestServer};

/// One `nc 127.0.0.1 <port>`, typed into through a pipe.
struct Nc {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// For failure messages: `terminal 3`.
    name: String,
}

impl Nc {
    fn open(port: u16, name: &str) -> Nc {
        let mut child = Command::new("nc")
            .args(["127.0.0.1", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "`nc` must be installed to check the documents' transcripts (apt-get install netcat-openbsd)",
            );
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stdin = child.stdin.take().unwrap();
        Nc { child, stdin, lines, name: name.to_string() }
    }

    fn type_line(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap_or_else(|e| panic!("{}: typing {line:?}: {e}", self.name));
        self.stdin.flush().unwrap();
    }

    /// Waits for `expected` (see [`matches`]); presence events that the
    /// prose mentions rather than the transcript (`JOINED`, `LEFT`) may
    /// come before it. Anything else first fails.
    fn expect(&mut self, expected: &str) {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if matches(&line, expected) => return,
                Ok(line) if line.starts_with("JOINED:") || line.starts_with("LEFT:") => {}
                Ok(line) => panic!("{}: expected {expected:?}, got {line:?}", self.name),
                Err(RecvTimeoutError::Timeout) => panic!("{}: no {expected:?} in time", self.name),
                Err(RecvTimeoutError::Disconnected) => panic!("{}: nc ended before {expected:?}", self.name),
            }
        }
    }

    /// Ctrl+C.
    fn interrupt(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server is gone: Enter, and `nc` must end (LAB.md §3).
    fn press_enter_and_end(mut self) {
        let _ = writeln!(self.stdin);
        let _ = self.stdin.flush();
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            // A write after the peer's close gets a reset; nc may need a
            // second line to see it.
            let _ = writeln!(self.stdin);
            let _ = self.stdin.flush();
            assert!(Instant::now() < deadline, "{}: nc still runs after Enter", self.name);
            std::thread::sleep(Duration::from_millis(50)); // polling a process
        }
    }
}

impl Drop for Nc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a line from the server is the one a document shows: the same,
/// but for timestamps (13 digits and more), and with a `…` at the end of
/// the document's line standing for the rest.
fn matches(got: &str, shown: &str) -> bool {
    let (got, shown) = (without_times(got), without_times(shown));
    match shown.strip_suffix('…') {
        Some(prefix) => got.starts_with(prefix),
        None => got == shown,
    }
}

fn without_times(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut digits = String::new();
    for c in line.chars().chain(std::iter::once('\u{0}')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        out.push_str(if digits.len() >= 13 { "<ts>" } else { &digits });
        digits.clear();
        if c != '\u{0}' {
            out.push(c);
        }
    }
    out
}

/// The fenced blocks of `text` between the headings that start with
/// `from` and `to`: (language, lines).
fn blocks(text: &str, from: &str, to: &str) -> Vec<(String, Vec<String>)> {
    let start = text.find(from).unwrap_or_else(|| panic!("no {from:?}"));
    let end = start + text[start..].find(to).unwrap_or_else(|| panic!("no {to:?}"));
    let mut blocks = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in text[start..end].lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(lang), None) => open = Some((lang.to_string(), Vec::new())),
            (Some(_), Some(block)) => blocks.push(block),
            (None, Some((lang, mut lines))) => {
                lines.push(line.to_string());
                open = Some((lang, lines));
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The server's real port for a port a document names.
fn port(server: &TestServer, shown: &str) -> u16 {
    match shown {
        "6666" => server.send.port(),
        "9999" => server.recv.port(),
        other => panic!("a transcript uses port {other}"),
    }
}

/// One line of a transcript, typed or awaited in `terminal`'s `nc`.
fn play(server: &TestServer, terms: &mut HashMap<String, Nc>, terminal: &str, line: &str) {
    let line = line.trim_end();
    if let Some(shown) = line.strip_prefix("$ nc 127.0.0.1 ") {
        terms.insert(terminal.to_string(), Nc::open(port(server, shown), terminal));
    } else if let Some(typed) = line.strip_prefix("> ") {
        terms.get_mut(terminal).unwrap_or_else(|| panic!("no nc in {terminal}")).type_line(typed);
        if typed.starts_with("ACK:") {
            // A person's pace: the ACK has no reply to wait for, and the
            // next line, in another terminal, may ask about its effect
            // (HISTORY shows DELIVERED). A person is never that fast.
            std::thread::sleep(Duration::from_millis(200));
        }
    } else if let Some(shown) = line.strip_prefix("< ") {
        terms.get_mut(terminal).unwrap_or_else(|| panic!("no nc in {terminal}")).expect(shown);
    } else {
        assert!(line.is_empty() || line.starts_with("--"), "{terminal}: what is {line:?}?");
    }
}

/// What LAB.md's prose does around its transcripts, one entry per `text`
/// transcript of parts 1–3, in order: in which terminal it is typed,
/// and what the prose has the student do just before it.
const LAB_PLAN: &[(&str, &[Prose])] = &[
    ("terminal 2", &[]),
    ("terminal 3", &[]),
    ("terminal 2", &[]),
    ("terminal 3", &[]),
    ("terminal 2", &[]),
    // §2
    ("terminal 2", &[]),
    ("terminal 4", &[]),
    ("terminal 3", &[]),
    ("terminal 4", &[]),
    ("terminal 5", &[]),
    // "Terminal 4 (ana) gets STATUS:2 …; answer it with ACK:2"
    (
        "terminal 2",
        &[Prose::Gets("terminal 4", "STATUS:2:bob:m1:READ:…"), Prose::Types("terminal 4", "ACK:2")],
    ),
    // bob does not ACK m2, and closes with Ctrl+C
    ("terminal 3", &[Prose::Gets("terminal 3", "MSG:2:ana:bob:m2:…"), Prose::CtrlC("terminal 3")]),
    ("terminal 2", &[Prose::Gets("terminal 4", "STATUS:3:bob:m2:DELIVERED:…")]),
    // §3: "Close bob's receive connection (Ctrl+C in terminal 3)"
    ("terminal 2", &[Prose::CtrlC("terminal 3")]),
    // after kill -9 and a new start
    ("terminal 3", &[]),
    ("terminal 2", &[]),
];

/// A step the prose describes.
enum Prose {
    Gets(&'static str, &'static str),
    Types(&'static str, &'static str),
    CtrlC(&'static str),
}

#[test]
fn lab_parts_1_to_3_run_as_printed_with_the_real_nc() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LAB.md")).unwrap();
    let blocks = blocks(&text, "## 1. ", "## 4. ");
    let transcripts = blocks.iter().filter(|(lang, _)| lang == "text").count();
    assert_eq!(
        transcripts,
        LAB_PLAN.len(),
        "LAB.md parts 1-3 have {transcripts} transcripts: update LAB_PLAN"
    );
    // As LAB.md starts it (the ports aside).
    let mut server = TestServer::start_with(&["--timeout", "600"]);
    let mut terms: HashMap<String, Nc> = HashMap::new();
    let mut plan = LAB_PLAN.iter();
    for (lang, lines) in &blocks {
        if lang != "text" {
            if lines.iter().any(|l| l.starts_with("$ kill -9 ")) {
                server.kill();
                // "press Enter in each nc terminal, and it ends"
                for (_, nc) in terms.drain() {
                    nc.press_enter_and_end();
                }
                server.restart_in_place(&["--timeout", "600"]);
            }
            continue;
        }
        let (terminal, prose) = plan.next().unwrap();
        for step in prose.iter() {
            match step {
                Prose::Gets(t, line) => terms.get_mut(*t).unwrap().expect(line),
                Prose::Types(t, line) => terms.get_mut(*t).unwrap().type_line(line),
                Prose::CtrlC(t) => terms.remove(*t).unwrap().interrupt(),
            }
        }
        for line in lines {
            play(&server, &mut terms, terminal, line);
        }
    }
}

#[test]
fn the_readmes_two_column_transcript_runs_as_printed_with_the_real_nc() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let (_, lines) = blocks(&text, "Or speak the protocol yourself", "The whole protocol")
        .into_iter()
        .find(|(lang, _)| lang == "text")
        .expect("the README's nc transcript");
    // Two columns: bob's receive port on the left, ana's send port from
    // where her `$ nc` starts.
    let column = lines.iter().find_map(|l| l.find("$ nc 127.0.0.1 6666")).expect("ana's column");
    let server = TestServer::start(); // the default --timeout, as the README's
    let mut terms: HashMap<String, Nc> = HashMap::new();
    for line in &lines[1..] {
        let (left, right) = match line.char_indices().nth(column) {
            Some((at, _)) => line.split_at(at),
            None => (line.as_str(), ""),
        };
        for (terminal, part) in [("bob", left), ("ana", right)] {
            if !part.trim().is_empty() {
                play(&server, &mut terms, terminal, part.trim());
            }
        }
    }
}

#[test]
fn timestamps_and_an_ellipsis_are_what_may_differ() {
    assert!(matches("OK:m1:1795244319972", "OK:m1:1795246940612"));
    assert!(matches("STATUS:3:bob:m2:DELIVERED:1795244321855", "STATUS:3:bob:m2:DELIVERED:…"));
    assert!(!matches("OK:m2:1795244319972", "OK:m1:1795246940612"));
    assert!(!matches("OK:1", "OK:2"));
}

#[test]
fn what_the_documents_have_a_student_make_in_the_checkout_is_ignored_by_git() {
    let root = env!("CARGO_MANIFEST_DIR");
    let ignored = std::fs::read_to_string(format!("{root}/.gitignore")).unwrap();
    let mut made = Vec::new();
    for doc in ["README.md", "docs/LAB.md", "docs/BENCHMARKS.md"] {
        let text = std::fs::read_to_string(format!("{root}/{doc}")).unwrap();
        for flag in ["--data-dir ", "--out "] {
            for (at, _) in text.match_indices(flag) {
                let dir: String = text[at + flag.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                    .collect();
                // Absolute paths are elsewhere; `data/` has its own rules
                // (runtime files ignored, samples kept); DIR and FILE are placeholders.
                if !dir.is_empty()
                    && dir != "data"
                    && !dir.chars().all(|c| c.is_ascii_uppercase())
                    && !dir.contains('.')
                {
                    made.push((doc, dir));
                }
            }
        }
    }
    assert!(made.iter().any(|(_, dir)| dir == "lab-data"), "{made:?}");
    for (doc, dir) in made {
        assert!(ignored.lines().any(|l| l == format!("/{dir}/")), "{doc} makes {dir}/, which git would show");
    }
}
