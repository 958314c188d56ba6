//! The `nc` transcripts of the README and of LAB.md parts 1–8 and 12, run
//! as they are printed, with the real `nc` (Debian's netcat-openbsd), against a
//! real server: every `> ` line is typed into the right `nc`, every `< `
//! line must come out of it (timestamps, which differ from run to run,
//! aside). A student who follows the documents sees what they say; if
//! the program or a document changes, this fails.
//!
//! LAB.md's transcripts, parts 1 to 8, run as one student plays them: in
//! the document's order, against one server (killed and started again
//! where part 3 says), each id typed once, the Python client of part 4
//! included; so a section that reuses an earlier one's id, or numbers
//! that only a fresh server gives, fail here.
//!
//! The frames come from the documents themselves. What only the prose
//! says (which terminal a transcript is typed in, "press Ctrl+C in
//! terminal 3", "answer it with `ACK:2`") is in [`LAB_PLAN`], which
//! counts the transcripts, so that a new one in LAB.md is noticed here.
//! It needs `nc` (`.ci/test` installs netcat-openbsd): without it, this
//! fails rather than skips.
//!
//! LAB.md part 12 (the class network, 1.3) runs the same way on two
//! servers of its own: its shell commands too (the roster written, a
//! server started, stopped and killed, `wachat top`, a loop of 200
//! messages, the wait for the queue to drain), its ports and files this
//! test's; what its prose has the student do is in [`NETWORK_PLAN`].

use super::support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use support::{READ_TIMEOUT, TestServer};

/// One `nc 127.0.0.1 <port>` (or the lab's Python client), typed into
/// through a pipe.
struct Nc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// For failure messages: `terminal 3`.
    name: String,
    /// The file ids the document shows (its server's, made at random),
    /// each with the one this run's server made in its place.
    ids: HashMap<String, String>,
}

impl Nc {
    fn open(port: u16, name: &str) -> Nc {
        let mut command = Command::new("nc");
        command.args(["127.0.0.1", &port.to_string()]);
        Nc::spawn(
            command,
            name,
            "`nc` must be installed to check the documents' transcripts (apt-get install netcat-openbsd)",
        )
    }

    /// `openssl s_client …` as LAB.md §12 types it (a link by hand, with
    /// a server's key files), its ports and files already this test's.
    fn openssl(args: &str, name: &str) -> Nc {
        let mut command = Command::new("openssl");
        command.args(args.split_whitespace());
        Nc::spawn(
            command,
            name,
            "`openssl` must be installed to check the documents' transcripts (apt-get install openssl)",
        )
    }

    /// `examples/wachat_client.py` as LAB.md §4 starts it, on the test
    /// server's ports; its output unbuffered, as on a terminal.
    fn python_client(server: &TestServer, user: &str, password: &str, name: &str) -> Nc {
        let mut command = Command::new("python3");
        command
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wachat_client.py"))
            .args([user, "127.0.0.1", &server.send.port().to_string(), &server.recv.port().to_string()])
            .env("WACHAT_PASSWORD", password)
            .env("PYTHONUNBUFFERED", "1");
        Nc::spawn(command, name, "`python3` must be installed to run LAB.md's client")
    }

    fn spawn(mut command: Command, name: &str, missing: &str) -> Nc {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(missing);
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stdin = child.stdin.take();
        Nc { child, stdin, lines, name: name.to_string(), ids: HashMap::new() }
    }

    fn type_line(&mut self, line: &str) {
        let line = &self.ours(line);
        let stdin = self.stdin.as_mut().unwrap_or_else(|| panic!("{}: stdin closed", self.name));
        writeln!(stdin, "{line}").unwrap_or_else(|e| panic!("{}: typing {line:?}: {e}", self.name));
        stdin.flush().unwrap();
    }

    /// Waits for `expected` (see [`matches`]) and returns the line that
    /// came; presence events that the prose mentions rather than the
    /// transcript (`JOINED`, `LEFT`, and the Python client's `(JOINED:…)`)
    /// may come before it. Anything else first fails.
    fn expect(&mut self, expected: &str) -> String {
        let expected = &self.ours(expected);
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if matches(&line, expected) => return line,
                Ok(line) if matches(&file_ids(&line).0, &file_ids(expected).0) => {
                    self.ids.extend(file_ids(expected).1.into_iter().zip(file_ids(&line).1));
                    return line;
                }
                Ok(line) if is_presence(&line) => {}
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

    /// Ctrl+D: the end of input, and the program must end.
    fn end_of_input(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + READ_TIMEOUT;
        while !matches!(self.child.try_wait(), Ok(Some(_))) {
            assert!(Instant::now() < deadline, "{}: still runs after Ctrl+D", self.name);
            std::thread::sleep(Duration::from_millis(50)); // polling a process
        }
    }

    /// The server is gone: Enter, and `nc` must end (LAB.md §3).
    fn press_enter_and_end(mut self) {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            // A write after the peer's close gets a reset; nc may need a
            // second line to see it.
            if let Some(stdin) = self.stdin.as_mut() {
                let _ = writeln!(stdin);
                let _ = stdin.flush();
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            assert!(Instant::now() < deadline, "{}: nc still runs after Enter", self.name);
            std::thread::sleep(Duration::from_millis(50)); // polling a process
        }
    }
}

fn is_presence(line: &str) -> bool {
    ["JOINED:", "LEFT:", "(JOINED:", "(LEFT:"].iter().any(|p| line.starts_with(p))
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
/// `line` with each file id (32 hex digits) made `<file>`, and the ids.
fn file_ids(line: &str) -> (String, Vec<String>) {
    let (mut out, mut ids, mut run) = (String::new(), Vec::new(), String::new());
    for c in line.chars().chain(std::iter::once('\u{0}')) {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
            continue;
        }
        if run.len() == 32 {
            out.push_str("<file>");
            ids.push(std::mem::take(&mut run));
        } else {
            out.push_str(&std::mem::take(&mut run));
        }
        if c != '\u{0}' {
            out.push(c);
        }
    }
    (out, ids)
}

impl Nc {
    /// `line` with the document's file ids replaced by this run's.
    fn ours(&self, line: &str) -> String {
        self.ids.iter().fold(line.to_string(), |line, (shown, ours)| line.replace(shown, ours))
    }
}

fn matches(got: &str, shown: &str) -> bool {
    let (got, shown) = (without_stamps(&without_times(got)), without_stamps(&without_times(shown)));
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

/// `line` with the stamp of each action id the server made (`_e<stamp>_m9`,
/// its clock in base 36, protocol 1.2 §19) made `<stamp>`.
fn without_stamps(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        let stamp = rest
            .strip_prefix('_')
            .filter(|r| r.starts_with(['e', 'd', 'r', 'u', 'x']))
            .map(|r| r[1..].bytes().take_while(|b| b.is_ascii_digit() || b.is_ascii_lowercase()).count())
            .filter(|&n| n > 0 && rest[2 + n..].starts_with('_'));
        match stamp {
            Some(n) => {
                out.push_str(&rest[..2]);
                out.push_str("<stamp>");
                rest = &rest[2 + n..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// `line` with each `2026-11-23 11:34` (a local date and time, which
/// differ from run to run) made `<date>`.
fn without_dates(line: &str) -> String {
    let shape = "dddd-dd-dd dd:dd";
    let fits = |s: &str| {
        s.len() >= shape.len()
            && s.bytes().zip(shape.bytes()).all(|(c, p)| if p == b'd' { c.is_ascii_digit() } else { c == p })
    };
    let mut out = String::new();
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if fits(rest) {
            out.push_str("<date>");
            rest = &rest[shape.len()..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
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

/// One line of an `nc` transcript, typed or awaited in `terminal`'s `nc`;
/// `port` gives the real port of one a document names.
fn play(port: &dyn Fn(&str) -> u16, terms: &mut HashMap<String, Nc>, terminal: &str, line: &str) {
    let line = line.trim_end();
    if let Some(shown) = line.strip_prefix("$ nc 127.0.0.1 ") {
        terms.insert(terminal.to_string(), Nc::open(port(shown), terminal));
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

/// The Python client's terminal in LAB.md §4.
const PYTHON: &str = "python";
/// How LAB.md §4 starts it (the ports are the defaults: the test's here).
/// A block starting with `  ✓` is more of its output.
const PYTHON_START: &str = "$ WACHAT_PASSWORD=ana-secret python3 examples/wachat_client.py ana";

/// What LAB.md's prose does around one transcript it has the student play.
struct Step {
    /// Where the transcript is typed.
    terminal: &'static str,
    /// What the prose has the student do (or see) just before it.
    before: &'static [Prose],
    /// Lines of a program's transcript (the Python client's) that the
    /// student types; the others are its output.
    typed: &'static [&'static str],
}

const fn at(terminal: &'static str) -> Step {
    Step { terminal, before: &[], typed: &[] }
}

const fn after(terminal: &'static str, before: &'static [Prose]) -> Step {
    Step { terminal, before, typed: &[] }
}

/// One entry per transcript LAB.md has the student play against the lab
/// server (parts 1 to 8), in order. Not played: the demo's output (§0),
/// the Python client against a TLS server (another server, §4), the
/// bench's output (another server, §5), the browser's developer tools
/// (§6), and the teacher's sections (another server, a console).
const LAB_PLAN: &[Step] = &[
    at("terminal 2"),
    at("terminal 3"),
    at("terminal 2"),
    at("terminal 3"),
    at("terminal 2"),
    // §2
    at("terminal 2"),
    at("terminal 4"),
    at("terminal 3"),
    at("terminal 4"),
    at("terminal 5"),
    // "Terminal 4 (ana) gets STATUS:2 …; answer it with ACK:2"
    after(
        "terminal 2",
        &[Prose::Gets("terminal 4", "STATUS:2:bob:m1:READ:…"), Prose::Types("terminal 4", "ACK:2")],
    ),
    // bob does not ACK m2, and closes with Ctrl+C
    after("terminal 3", &[Prose::Gets("terminal 3", "MSG:2:ana:bob:m2:…"), Prose::CtrlC("terminal 3")]),
    after("terminal 2", &[Prose::Gets("terminal 4", "STATUS:3:bob:m2:DELIVERED:…")]),
    // §3: "Close bob's receive connection (Ctrl+C in terminal 3): bob is
    // offline, and ana (terminal 4) gets `< LEFT:bob`" (its last-seen time
    // is written then, before ana's next message: part 3's `tail -n 1`).
    after("terminal 2", &[Prose::CtrlC("terminal 3"), Prose::Gets("terminal 4", "LEFT:bob")]),
    // after kill -9 and a new start
    at("terminal 3"),
    at("terminal 2"),
    // §4: bob's send port, then ana's Python client
    at("terminal 5"),
    Step { terminal: PYTHON, before: &[], typed: &["bob hola desde python"] },
    at("terminal 3"),
    // "When bob acknowledges it there, and then sends READ on his send port"
    after(
        PYTHON,
        &[
            Prose::Types("terminal 3", "ACK:6"),
            Prose::Types("terminal 5", "READ:ana:{py}"),
            Prose::Gets("terminal 5", "OK"),
        ],
    ),
    // §6: "zed hola" shows the server's reason; Ctrl+D quits.
    after(
        "terminal 6",
        &[
            Prose::Types(PYTHON, "zed hola"),
            Prose::Gets(PYTHON, "  not sent: KO:UNKNOWN_USER:no user named zed"),
            Prose::CtrlD(PYTHON),
        ],
    ),
    // §8: ana edits, searches, deletes; a room's owner deletes bob's message
    at("terminal 2"),
    at("terminal 3"),
    at("terminal 2"),
    at("terminal 2"),
    at("terminal 2"),
    at("terminal 5"),
    at("terminal 2"),
    at("terminal 3"),
    at("terminal 5"),
];

/// A step the prose describes. `{py}` in a typed line stands for the id
/// the Python client gave its message.
enum Prose {
    Gets(&'static str, &'static str),
    Types(&'static str, &'static str),
    CtrlC(&'static str),
    CtrlD(&'static str),
}

/// The lab as one student plays it: one server, the terminals it opened.
struct Lab {
    server: TestServer,
    terms: HashMap<String, Nc>,
    /// The id of the Python client's message (`py…`), once it printed it.
    py: Option<String>,
    /// Killed, and not started again yet (the prose does, before the
    /// next transcript: "Start the server again in terminal 1").
    down: bool,
}

impl Lab {
    fn prose(&mut self, step: &Prose) {
        match step {
            Prose::Gets(t, line) => {
                self.term(t).expect(line);
            }
            Prose::Types(t, line) => {
                let line = line.replace("{py}", self.py.as_deref().unwrap_or("(no py id yet)"));
                self.term(t).type_line(&line);
                if line.starts_with("ACK:") {
                    std::thread::sleep(Duration::from_millis(200)); // a person's pace, as in `play`
                }
            }
            Prose::CtrlC(t) => self.terms.remove(*t).unwrap().interrupt(),
            Prose::CtrlD(t) => self.terms.remove(*t).unwrap().end_of_input(),
        }
    }

    fn term(&mut self, terminal: &str) -> &mut Nc {
        self.terms.get_mut(terminal).unwrap_or_else(|| panic!("nothing runs in {terminal}"))
    }

    /// A line of the Python client's transcript: its start, a line typed
    /// into it, or one it prints.
    fn python(&mut self, line: &str, typed: &[&str]) {
        if line == PYTHON_START {
            let client = Nc::python_client(&self.server, "ana", "ana-secret", PYTHON);
            self.terms.insert(PYTHON.to_string(), client);
        } else if typed.contains(&line) {
            // A person's pace: the client acknowledges what it printed
            // just after printing it.
            std::thread::sleep(Duration::from_millis(200));
            self.term(PYTHON).type_line(line);
        } else {
            let got = self.term(PYTHON).expect(line);
            if let Some(id) = got.strip_prefix("  ✓ py") {
                self.py = Some(format!("py{id}"));
            }
        }
    }

    /// The commands of a `sh` block that look at the lab's server or act
    /// on it, run by `bash` as written, `lab-data` being its data
    /// directory: `tail` of its log and `cat` of its lock, whose output
    /// must be the one shown (the lock naming this server's process), and
    /// `kill -9`; and `wachat users list`, whose output must be the one
    /// shown.
    fn shell(&mut self, lines: &[String]) {
        let shown_after = |i: usize| -> Vec<&str> {
            lines[i + 1..].iter().map(String::as_str).take_while(|l| !l.starts_with("$ ")).collect()
        };
        for (i, line) in lines.iter().enumerate() {
            let looks = ["$ tail ", "$ cat lab-data/", "$ kill -9 $(cat lab-data/"];
            if looks.iter().any(|p| line.starts_with(p)) && !self.down {
                let data = self.server.data_dir.display().to_string();
                let out = Command::new("bash")
                    .args(["-c", &line[2..].replace("lab-data", &data)])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
                let got = String::from_utf8_lossy(&out.stdout);
                let got: Vec<&str> = got.lines().collect();
                let pid = self.server.pid().to_string();
                let shown = shown_after(i);
                assert_eq!(got.len(), shown.len(), "{line} printed {got:?}, LAB.md shows {shown:?}");
                for (got, shown) in got.iter().zip(&shown) {
                    // The shown process id is the one of the reader's server;
                    // a `…` inside a line stands for what differs (the
                    // sender's device).
                    let same = match shown.split_once('…') {
                        _ if shown.bytes().all(|b| b.is_ascii_digit()) => *got == pid,
                        Some((head, tail)) => matches(got, &format!("{head}…")) && got.ends_with(tail),
                        None => matches(got, shown),
                    };
                    assert!(same, "{line} printed {got:?}, LAB.md shows {shown:?}");
                }
            }
            if line.starts_with("$ kill -9 ") {
                self.server.kill();
                // "press Enter in each nc terminal, and it ends"
                for (_, nc) in self.terms.drain() {
                    nc.press_enter_and_end();
                }
                self.down = true;
            } else if line.starts_with("$ wachat users list --data-dir lab-data") {
                let shown = shown_after(i);
                let out = Command::new(support::wachat_bin())
                    .args(["users", "list", "--data-dir"])
                    .arg(&self.server.data_dir)
                    .output()
                    .unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout);
                let stderr = String::from_utf8_lossy(&out.stderr);
                let got: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
                assert!(
                    got.len() == shown.len()
                        && got.iter().zip(&shown).all(|(g, s)| matches(&without_dates(g), &without_dates(s))),
                    "`wachat users list` printed {got:?}, LAB.md shows {shown:?}"
                );
            }
        }
    }
}

#[test]
fn every_lab_transcript_runs_in_order_against_one_server() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LAB.md")).unwrap();
    let blocks = blocks(&text, "## 1. ", "## For the teacher");
    let played = |lang: &str, lines: &[String]| {
        lang == "text"
            && lines.first().is_some_and(|first| {
                ["$ nc ", "> ", "< ", "  ✓"].iter().any(|p| first.starts_with(p)) || first == PYTHON_START
            })
    };
    let transcripts = blocks.iter().filter(|(lang, lines)| played(lang, lines)).count();
    assert_eq!(transcripts, LAB_PLAN.len(), "LAB.md has {transcripts} transcripts to play: update LAB_PLAN");
    // What the plan has the student type or see must be what the prose says.
    for step in LAB_PLAN.iter().flat_map(|s| s.before) {
        if let Prose::Gets(_, line) | Prose::Types(_, line) = step {
            let shown = line.trim_end_matches('…').replace("{py}", "");
            assert!(text.contains(shown.trim()), "LAB.md's prose does not say {line:?}");
        }
    }
    // As LAB.md starts it (the ports aside).
    let server = TestServer::start_restartable(&["--timeout", "600"]);
    let mut lab = Lab { server, terms: HashMap::new(), py: None, down: false };
    let mut plan = LAB_PLAN.iter();
    for (lang, lines) in &blocks {
        if lang == "sh" {
            lab.shell(lines);
        }
        if !played(lang, lines) {
            continue;
        }
        if std::mem::take(&mut lab.down) {
            lab.server.restart_in_place(&["--timeout", "600"]);
        }
        let step = plan.next().unwrap();
        for prose in step.before {
            lab.prose(prose);
        }
        for line in lines {
            if step.terminal == PYTHON {
                lab.python(line.trim_end(), step.typed);
            } else {
                play(&|shown| port(&lab.server, shown), &mut lab.terms, step.terminal, line);
            }
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
    // Two columns: carol's receive port on the left, dave's send port
    // from where his `$ nc` starts.
    let column = lines.iter().find_map(|l| l.find("$ nc 127.0.0.1 6666")).expect("ana's column");
    let server = TestServer::start(); // the default --timeout, as the README's
    // In the README's order: its quick start registered ana and bob, so
    // the transcript must not register them again.
    server.register(&["ana", "bob"]);
    let mut terms: HashMap<String, Nc> = HashMap::new();
    for line in &lines[1..] {
        let (left, right) = match line.char_indices().nth(column) {
            Some((at, _)) => line.split_at(at),
            None => (line.as_str(), ""),
        };
        for (terminal, part) in [("carol", left), ("dave", right)] {
            if !part.trim().is_empty() {
                play(&|shown| port(&server, shown), &mut terms, terminal, part.trim());
            }
        }
    }
}

/// LAB.md's table of parts names every part with the minutes of its
/// heading, and its total is their sum (a table edited by hand drifts:
/// a total that is not the sum, a part added but not listed).
#[test]
fn the_labs_table_of_parts_adds_up_and_names_every_part() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LAB.md")).unwrap();
    let minutes = |cell: &str| cell.trim().trim_end_matches('+').parse::<u32>().ok();
    let mut rows = Vec::new();
    let mut total = None;
    for line in text.lines().skip_while(|l| !l.starts_with("| part |")).skip(2) {
        let Some(row) = line.strip_prefix('|') else { break };
        let cells: Vec<&str> = row.split('|').collect();
        match cells[0].trim().parse::<u32>() {
            Ok(part) => rows.push((part, minutes(cells[2]))),
            Err(_) => total = minutes(cells[2]),
        }
    }
    let headings: Vec<(u32, Option<u32>)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|h| {
            let (number, rest) = h.split_once(". ")?;
            let part = number.parse().ok()?;
            let shown = rest.rsplit_once(" (").and_then(|(_, m)| m.strip_suffix(" min)")).and_then(minutes);
            Some((part, shown))
        })
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        headings.iter().map(|h| h.0).collect::<Vec<_>>()
    );
    for ((part, in_table), (_, in_heading)) in rows.iter().zip(&headings) {
        if in_heading.is_some() {
            assert_eq!(in_table, in_heading, "part {part}: the table and the heading disagree");
        }
    }
    let sum: u32 = rows.iter().filter_map(|r| r.1).sum();
    assert_eq!(total, Some(sum), "the table's total is not the sum of its parts");
}

#[test]
fn timestamps_and_an_ellipsis_are_what_may_differ() {
    assert!(matches("OK:m1:1795244319972", "OK:m1:1795246940612"));
    assert!(matches("STATUS:3:bob:m2:DELIVERED:1795244321855", "STATUS:3:bob:m2:DELIVERED:…"));
    assert!(!matches("OK:m2:1795244319972", "OK:m1:1795246940612"));
    assert!(!matches("OK:1", "OK:2"));
    assert!(matches("OK:_emwt6vnm5_m9:1795433718605", "OK:_emwsl1ft5_m9:1795244401020"));
    assert!(!matches("OK:_emwt6vnm5_m9:1795433718605", "OK:_dmwsl1ft5_m9:1795244401020"));
    assert_eq!(without_dates("bob  last seen 2026-11-23 11:34  rooms 1"), "bob  last seen <date>  rooms 1");
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
                // (runtime files ignored, samples kept); DIR, FILE and
                // DATA_DIR are placeholders.
                if !dir.is_empty()
                    && dir != "data"
                    && !dir.chars().all(|c| c.is_ascii_uppercase() || c == '_')
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

/// `cargo run -- serve` in the checkout keeps its files in `data/`: every
/// file a server writes there (its ballast, its accounts, its log, the
/// web app's files) is one git ignores, so `git status` stays clean.
#[test]
fn what_a_server_writes_into_data_is_ignored_by_git() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut server = TestServer::start_with(&["--web-port", "0"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:hello").starts_with("OK:m1:"));
    assert!(server.terminate().success());
    let mut written = Vec::new();
    let mut dirs = vec![server.data_dir.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            match entry.file_type().unwrap().is_dir() {
                true => dirs.push(entry.path()),
                false => {
                    written.push(entry.path().strip_prefix(&server.data_dir).unwrap().display().to_string())
                }
            }
        }
    }
    assert!(written.iter().any(|f| f == "ballast"), "{written:?}");
    let shown: Vec<&String> = written
        .iter()
        .filter(|file| {
            let check = std::process::Command::new("git")
                .args(["-C", root, "check-ignore", "-q", "--no-index", &format!("data/{file}")])
                .status()
                .unwrap();
            !check.success()
        })
        .collect();
    assert!(shown.is_empty(), "git status would show these files of data/: {shown:?}");
}

/// What LAB.md part 12's prose has the student do around a block.
enum Act {
    /// Ctrl+C in a terminal where `nc` runs.
    CtrlC(&'static str),
    /// Enter in a terminal whose server died: `nc` ends.
    Enter(&'static str),
    /// Ctrl+C in a server's terminal: it stops.
    Stop(&'static str),
    /// A server started again with the command it was started with.
    Start(&'static str),
}

/// One block of LAB.md part 12, in order, with what the prose does
/// before it.
enum Net {
    /// A transcript typed in a terminal.
    Nc(&'static str, &'static [Act]),
    /// Commands for the shell; what the output's last line starts with,
    /// when the prose says.
    Shell(&'static [Act], Option<&'static str>),
    /// What the shell block before printed (`wachat top`'s last line).
    Output,
    /// Not played here, and why.
    Not(&'static str),
}

/// LAB.md part 12 as a student plays it, block by block.
const NETWORK_PLAN: &[Net] = &[
    // 1. the roster, the two servers
    Net::Shell(&[], None),
    // 2. send across
    Net::Nc("terminal 3", &[]),
    Net::Nc("terminal 4", &[]),
    Net::Nc("terminal 5", &[]),
    Net::Nc("terminal 6", &[]),
    Net::Nc("terminal 3", &[]),
    Net::Nc("terminal 6", &[]),
    Net::Nc("terminal 4", &[]),
    Net::Nc("terminal 5", &[]),
    Net::Nc("terminal 4", &[]),
    // a file crosses: sent, read by bob's 1.0 connection, asked of lab2
    Net::Nc("terminal 3", &[]),
    Net::Nc("terminal 6", &[]),
    Net::Nc("terminal 5", &[]),
    // two mistakes, the bounce
    Net::Nc("terminal 3", &[]),
    Net::Nc("terminal 4", &[]),
    // people of lab2, found from lab1; bob's display name reaches ana
    Net::Nc("terminal 3", &[]),
    Net::Nc("terminal 5", &[]),
    Net::Nc("terminal 4", &[]),
    // 3. lab9, by hand, with its key files
    Net::Shell(&[], None),
    Net::Nc("terminal 7", &[]),
    Net::Nc("terminal 4", &[]),
    // 4. a room of lab2; "Close terminal 7 (Ctrl+C)"
    Net::Nc("terminal 5", &[Act::CtrlC("terminal 7")]),
    Net::Nc("terminal 3", &[]),
    Net::Nc("terminal 4", &[]),
    Net::Nc("terminal 6", &[]),
    Net::Nc("terminal 5", &[]),
    // members and presence across: ana's MEMBERS and LASTSEEN
    Net::Nc("terminal 3", &[]),
    // 5. lab2 killed; "press Enter there, and nc ends"
    Net::Shell(&[], None),
    Net::Nc("terminal 3", &[Act::Enter("terminal 6")]),
    Net::Shell(&[], None),
    Net::Output,
    // "Start lab2 again (the same command in terminal 2)"
    Net::Nc("terminal 6", &[Act::Start("lab2")]),
    Net::Nc("terminal 4", &[]),
    // 6. 200 messages, lab2 back, the queue drained
    Net::Shell(&[], Some("200")),
    Net::Shell(&[Act::Start("lab2")], None),
    // 7. lab1 with --give-up 5s ("Ctrl+C in terminal 1"), lab2 killed
    Net::Shell(&[Act::Stop("lab1")], None),
    Net::Nc("terminal 3", &[]),
    Net::Nc("terminal 4", &[]),
    // 8. a call across: one block of three terminals, each line marked
    Net::Not("three terminals in one block; tests/federation/calls.rs rings across"),
];

/// The ports LAB.md part 12 names: each server's send, receive, link and
/// metrics ports, and lab9's.
const NETWORK_PORTS: [u16; 9] = [6661, 9991, 7001, 9101, 6662, 9992, 7002, 9102, 7009];

/// LAB.md part 12 as one student plays it on one machine: its servers,
/// its terminals, and where the document's names are here.
struct Network {
    root: tempfile::TempDir,
    /// Each port LAB.md names, and the free one the test gives it.
    ports: HashMap<u16, u16>,
    /// Each server by its `--name`, with the command it was started with.
    servers: HashMap<String, (TestServer, Vec<String>)>,
    terms: HashMap<String, Nc>,
    /// What the last shell block printed.
    output: String,
}

impl Network {
    fn new() -> Network {
        let ports = NETWORK_PORTS.iter().map(|&shown| (shown, support::ports::free_port())).collect();
        Network {
            root: tempfile::tempdir().unwrap(),
            ports,
            servers: HashMap::new(),
            terms: HashMap::new(),
            output: String::new(),
        }
    }

    /// A line of LAB.md with its ports and files those of this test: the
    /// ports of the line as written, then its files, so that nothing
    /// rewrites the test's own directory (its name may hold a port's
    /// digits).
    fn here(&self, line: &str) -> String {
        // Whole numbers only: 7001, not the 7001 of 17001.
        let mut mapped = String::new();
        let mut digits = String::new();
        for c in line.chars().chain(std::iter::once('\u{0}')) {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            match digits.parse::<u16>().ok().and_then(|n| self.ports.get(&n)) {
                Some(real) if digits.len() == 4 => mapped.push_str(&real.to_string()),
                _ => mapped.push_str(&digits),
            }
            digits.clear();
            if c != '\u{0}' {
                mapped.push(c);
            }
        }
        let root = self.root.path().display().to_string();
        let mut out = mapped.replace("/tmp/class.csv", &format!("{root}/class.csv"));
        for lab in ["lab1", "lab2", "lab9"] {
            out = out.replace(&format!("/tmp/{lab}"), &format!("{root}/{lab}"));
        }
        out
    }

    fn act(&mut self, act: &Act) {
        match act {
            Act::CtrlC(t) => {
                self.terms.remove(*t).unwrap_or_else(|| panic!("nothing runs in {t}")).interrupt()
            }
            Act::Enter(t) => {
                self.terms.remove(*t).unwrap_or_else(|| panic!("nothing runs in {t}")).press_enter_and_end()
            }
            Act::Stop(lab) => {
                let (mut server, _) =
                    self.servers.remove(*lab).unwrap_or_else(|| panic!("{lab} does not run"));
                assert!(server.terminate().success(), "{lab} stops on Ctrl+C");
            }
            Act::Start(lab) => {
                let (mut server, args) =
                    self.servers.remove(*lab).unwrap_or_else(|| panic!("{lab} never ran"));
                server.kill();
                drop(server);
                self.serve(&args);
            }
        }
    }

    /// `wachat serve <args>` (ports and files already this test's).
    fn serve(&mut self, args: &[String]) {
        let value = |flag: &str| args.iter().position(|a| a == flag).map(|i| args[i + 1].clone());
        let name = value("--name").expect("a server of the network has a --name");
        let dir = std::path::PathBuf::from(value("--data-dir").expect("--data-dir"));
        let send: u16 = value("--send-port").unwrap().parse().unwrap();
        let recv: u16 = value("--recv-port").unwrap().parse().unwrap();
        let mut rest: Vec<&str> = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if ["--data-dir", "--send-port", "--recv-port"].contains(&a.as_str()) {
                it.next();
            } else {
                rest.push(a);
            }
        }
        std::fs::create_dir_all(&dir).unwrap();
        let server = TestServer::start_on(&dir, send, recv, &rest);
        server.wait_for_log("listening: link ");
        self.servers.insert(name, (server, args.to_vec()));
    }

    /// A shell block: `wachat serve` and `kill -9 $(pgrep …)` as the
    /// test's own servers (pgrep would find any on this machine); the
    /// rest run by `bash`, in order, with `wachat` on the `PATH`.
    fn shell(&mut self, lines: &[String]) {
        let mut script = Vec::new();
        let mut output = String::new();
        let bin = std::path::Path::new(support::wachat_bin()).parent().unwrap().to_path_buf();
        let run = |script: &mut Vec<String>, output: &mut String| {
            if script.is_empty() {
                return;
            }
            let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
            let out = Command::new("timeout")
                .args(["120", "bash", "-c", &script.join("\n")])
                .env("PATH", path)
                .output()
                .unwrap();
            assert!(out.status.success(), "{script:?}: {}", String::from_utf8_lossy(&out.stderr));
            *output = String::from_utf8_lossy(&out.stdout).into_owned();
            script.clear();
        };
        for line in lines {
            let line = self.here(line);
            let command = line.split("   #").next().unwrap().trim();
            if let Some(args) = command.strip_prefix("wachat serve ") {
                run(&mut script, &mut output);
                let args: Vec<String> = args.split_whitespace().map(String::from).collect();
                self.serve(&args);
            } else if let Some(lab) =
                command.strip_prefix("kill -9 $(pgrep -f -- '--name ").and_then(|r| r.strip_suffix("')"))
            {
                run(&mut script, &mut output);
                self.servers.get_mut(lab).unwrap_or_else(|| panic!("{lab} does not run")).0.kill();
            } else {
                script.push(line);
            }
        }
        run(&mut script, &mut output);
        self.output = output;
    }
}

/// `wachat top`'s line of a peer with its seconds (which differ from run
/// to run) made `N`.
fn without_seconds(line: &str) -> String {
    let mut out = Vec::new();
    let words: Vec<&str> = line.split(' ').collect();
    for (i, word) in words.iter().enumerate() {
        let seconds = words.get(i + 1).is_some_and(|next| *next == "s" || next.starts_with("s,"));
        out.push(if seconds && word.bytes().all(|b| b.is_ascii_digit()) && !word.is_empty() {
            "N"
        } else {
            word
        });
    }
    out.join(" ")
}

#[test]
fn the_labs_class_network_part_runs_as_printed() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LAB.md")).unwrap();
    let start = text.find("## 12. ").expect("LAB.md part 12");
    let blocks = blocks(&text[start..], "## 12. ", "When you are done");
    assert_eq!(
        blocks.len(),
        NETWORK_PLAN.len(),
        "LAB.md part 12 has {} blocks: update NETWORK_PLAN",
        blocks.len()
    );
    let mut net = Network::new();
    for ((lang, lines), step) in blocks.iter().zip(NETWORK_PLAN) {
        match step {
            Net::Shell(before, last) => {
                assert_eq!(lang, "sh", "{lines:?}");
                for act in *before {
                    net.act(act);
                }
                net.shell(lines);
                if let Some(prefix) = last {
                    let got = net.output.lines().last().unwrap_or("");
                    assert!(got.starts_with(prefix), "{lines:?} printed {got:?}, LAB.md says {prefix}…");
                }
            }
            Net::Not(why) => println!("not played: {:?} ({why})", lines[0]),
            Net::Output => {
                let shown = without_seconds(&lines[0]);
                let got: Vec<String> = net.output.lines().map(without_seconds).collect();
                assert!(got.contains(&shown), "LAB.md shows {shown:?}; the command printed {got:?}");
            }
            Net::Nc(terminal, before) => {
                assert_eq!(lang, "text", "{lines:?}");
                for act in *before {
                    net.act(act);
                }
                let ports = net.ports.clone();
                let port = |shown: &str| -> u16 {
                    let n: u16 = shown.trim().parse().unwrap();
                    *ports.get(&n).unwrap_or_else(|| panic!("LAB.md part 12 uses port {n}"))
                };
                for line in lines {
                    if let Some(args) = line.strip_prefix("$ openssl ") {
                        let nc = Nc::openssl(&net.here(args), terminal);
                        net.terms.insert(terminal.to_string(), nc);
                        continue;
                    }
                    play(&port, &mut net.terms, terminal, line);
                }
            }
        }
    }
}

/// LAB.md part 1 shows what `wachat serve` prints at its first start on a
/// new data directory: the same lines, in the same order, figures aside
/// (the machine's limits, the directory's id, the time, the ports).
#[test]
fn the_labs_first_start_shows_every_line_the_server_prints() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LAB.md")).unwrap();
    let start = "$ wachat serve --data-dir lab-data --timeout 600\n";
    let shown: Vec<&str> = text[text.find(start).expect("part 1's start") + start.len()..]
        .lines()
        .take_while(|l| l.starts_with("[… "))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("lab-data");
    let server = TestServer::start_in(&data, &["--timeout", "600", "--web-port", "0"]);
    server.wait_for_log("listening: web ");
    let printed = server.log();
    // What may differ: the figures, and where the data directory is. A
    // figure is a run of hex digits with a decimal digit in it, so that the
    // directory's random id is one whether it begins with a digit or with
    // a letter ("4f6f…", "f3a9…"), and words ("accounts") stay words.
    let plain = |line: &str| {
        let line = line
            .split_once("] ")
            .map_or(line, |(_, rest)| rest)
            .replace(&data.display().to_string(), "lab-data");
        let mut out = String::new();
        let mut run = String::new();
        for c in line.chars().chain(['\n']) {
            if c.is_ascii_hexdigit() {
                run.push(c);
                continue;
            }
            out.push_str(if run.contains(|d: char| d.is_ascii_digit()) { "#" } else { &run });
            run.clear();
            out.push(c);
        }
        out.pop();
        out
    };
    // The first line is there only on a machine whose limits allow fewer
    // connections than the default --max-connections, as LAB.md says.
    let limits = "serving up to";
    let limited = printed.iter().any(|l| l.contains(limits));
    let shown: Vec<String> =
        shown.iter().filter(|l| limited || !l.contains(limits)).map(|l| plain(l)).collect();
    let printed: Vec<String> = printed.iter().take(shown.len()).map(|l| plain(l)).collect();
    assert_eq!(shown, printed, "LAB.md part 1 shows other lines than the server prints");
}
