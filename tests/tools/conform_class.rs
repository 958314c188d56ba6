//! `wachat conform server --class`: a teacher grading a class of 30
//! servers at once, as a roster gives them: 12 tiny servers
//! (examples/tiny_server.rs), each with a restart command of its own (a
//! `kill -9` and a start on its data), 6 copies of examples/minimal_server.py
//! as written, 6 with a bug planted, and 6 ports where nothing listens.
//! The servers are checked in parallel; the report says which are not
//! reachable apart from which fail, gives points per group with the
//! teacher's weights (text, JSON, CSV), links each failing case of the
//! class page to its transcript, and the exit code is non-zero.

use super::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::examples::example;
use support::minimal::{Minimal, minimal_server};

/// A tiny server started in the background by `sh`, which notes its pid
/// in `<dir>/pid`, so that the roster's restart command can kill it and
/// start it again. Started as the restart starts it, so that it is never
/// the test's child: killed, it is reaped at once, and `kill -0` says
/// when it is gone.
struct Tiny {
    dir: PathBuf,
    send: u16,
    recv: u16,
}

impl Tiny {
    /// Started on two free ports below the kernel's range of ephemeral
    /// ports: a port of that range, freed by a `kill -9`, may be taken by
    /// one of the suite's own connections before the restart binds it.
    fn start(dir: &Path, [send, recv]: [u16; 2]) -> Tiny {
        let tiny = Tiny { dir: dir.to_path_buf(), send, recv };
        let started = Command::new("sh").arg("-c").arg(tiny.start_in_background()).status().unwrap();
        assert!(started.success());
        let deadline = Instant::now() + support::READ_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", send)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tiny_server did not start: {:?}",
                std::fs::read_to_string(dir.join("log"))
            );
            std::thread::sleep(Duration::from_millis(20)); // polling its port
        }
        tiny
    }

    /// The shell line that starts it, in the background, on its ports and data.
    fn start_in_background(&self) -> String {
        let d = self.dir.display();
        let start = format!(
            "echo $$ > {d}/pid; exec {tiny} --send-port {} --recv-port {} --timeout 2 --kdf-cost 8 --data-dir {d}/data",
            self.send,
            self.recv,
            tiny = example("tiny_server").display(),
        );
        format!("sh -c '{start}' >/dev/null 2>>{d}/log &")
    }

    /// The restart command of its roster row: a crash, then a start on
    /// the same data and ports, in the background.
    fn restart_command(&self) -> String {
        let pid = self.dir.join("pid");
        let start = self.start_in_background();
        format!(
            "p=$(cat {}); kill -9 $p; while kill -0 $p 2>/dev/null; do sleep 0.05; done; {start}",
            pid.display()
        )
    }
}

impl Drop for Tiny {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pid")) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
    }
}

/// Bugs planted in copies of minimal_server.py (a substitution each).
const BUGS: [(&str, &str); 2] = [
    // A resent id is delivered again.
    (r#"    if mid in u["sent"]:"#, "    if False:"),
    // KO:AUTH_REQUIRED without closing.
    (
        "        conn.send(\"KO:AUTH_REQUIRED:log in first\")\n        return None, True",
        "        conn.send(\"KO:AUTH_REQUIRED:log in first\")\n        return None, False",
    ),
];

/// The failing cases of the roster's student number `s` as the class page
/// shows them (what was expected, what came, and the transcript: each
/// frame with its time), as text: what a failure of a server that should
/// pass needs to explain itself.
fn failures_of(page: &str, s: usize) -> String {
    let Some(section) = page.split(&format!("<h2 id=\"s{s}\">")).nth(1) else { return String::new() };
    let section = section.split("<h2").next().unwrap();
    let mut text = String::new();
    let mut after_time = false;
    for piece in section.split('<').skip(1) {
        let (tag, content) = piece.split_once('>').unwrap_or((piece, ""));
        let is_text = tag.starts_with("text");
        if (tag == "h3" || tag.starts_with("h3 ") || tag == "p" || is_text) && !after_time {
            text.push('\n');
        }
        // The diagram's colours say the direction: sent to the server, or got.
        if is_text && tag.contains("fill=\"#036\"") {
            text.push_str("-> ");
        } else if is_text && tag.contains("fill=\"#060\"") {
            text.push_str("<- ");
        }
        text.push_str(content);
        after_time = is_text && content.ends_with(" ms");
        if after_time {
            text.push_str("  ");
        }
    }
    let text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    text.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

/// A port on loopback where nothing listens, for the whole test: below
/// the ephemeral range, where no other test's port-0 bind lands, and
/// claimed for this process (`support::ports`).
fn closed_port() -> u16 {
    support::ports::free_port()
}

/// `n` free ports of loopback below the ephemeral range, each this
/// process's while it runs (`support::ports`): a tiny server restarted
/// on its ports finds them free.
fn quiet_ports(n: usize) -> Vec<u16> {
    (0..n).map(|_| support::ports::free_port()).collect()
}

#[test]
fn a_class_of_30_servers_is_graded_in_parallel_with_restarts_points_and_transcripts() {
    let dir = tempfile::tempdir().unwrap();
    let mut roster = String::from("student,host,send_port,recv_port,restart\n");
    let ports = quiet_ports(24);
    let tinies: Vec<Tiny> = (0..12)
        .map(|i| {
            let home = dir.path().join(format!("tiny{i}"));
            std::fs::create_dir_all(home.join("data")).unwrap();
            Tiny::start(&home, [ports[2 * i], ports[2 * i + 1]])
        })
        .collect();
    for (i, tiny) in tinies.iter().enumerate() {
        roster += &format!("tiny{i},127.0.0.1,{},{},\"{}\"\n", tiny.send, tiny.recv, tiny.restart_command());
    }
    let original = std::fs::read_to_string(minimal_server()).unwrap();
    let mut minimals = Vec::new();
    for i in 0..12 {
        let script = dir.path().join(format!("server{i}.py"));
        let text = match i {
            0..6 => original.clone(),
            _ => {
                let (from, to) = BUGS[i % 2];
                assert_eq!(original.matches(from).count(), 1, "the bug {from:?} must match once");
                original.replace(from, to)
            }
        };
        std::fs::write(&script, text).unwrap();
        let server = Minimal::start(&script, &["--timeout", "2"]);
        let name = if i < 6 { format!("py{i}") } else { format!("buggy{i}") };
        roster += &format!("{name},127.0.0.1,{},{}\n", server.send, server.recv);
        minimals.push(server);
    }
    for i in 0..6 {
        roster += &format!("away{i},127.0.0.1,{},{}\n", closed_port(), closed_port());
    }
    let roster_path = dir.path().join("servers.csv");
    std::fs::write(&roster_path, roster).unwrap();
    let (html, csv, json) =
        (dir.path().join("class.html"), dir.path().join("grades.csv"), dir.path().join("j"));

    let started = Instant::now();
    let out = support::run_wachat_output(
        "conform",
        &[
            "server",
            "--class",
            roster_path.to_str().unwrap(),
            "--fast",
            "--timeout",
            "2",
            "--jobs",
            "10",
            "--weight",
            "restart=30",
            "--html",
            html.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ],
        Duration::from_secs(600),
    );
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("30 servers in {:.1} s\n{stdout}", took.as_secs_f64());
    assert!(!out.status.success(), "failing and unreachable servers make the exit code non-zero");
    assert!(stderr.contains("6 of 30 servers failed cases, 6 not reachable, 0 not checked"), "{stderr}");

    let line = |student: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{student} ")))
            .unwrap_or_else(|| panic!("{student}: {stdout}"))
            .to_string()
    };
    // Tiny servers pass everything of 1.0, restarts included: all the points.
    let grades = std::fs::read_to_string(&csv).unwrap();
    let header = grades.lines().next().unwrap();
    assert!(header.starts_with("student,address,status,points,max,pass,fail,skip,framing,auth,"), "{header}");
    let restart_column = header.split(',').position(|c| c == "restart").unwrap();
    let page = std::fs::read_to_string(&html).unwrap();
    for (i, tiny) in tinies.iter().enumerate() {
        let restarts = std::fs::read_to_string(tiny.dir.join("log")).unwrap_or_default();
        let row = grades.lines().find(|l| l.starts_with(&format!("tiny{i},"))).unwrap();
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(
            fields[2],
            "passing",
            "{row}; its restarts said: {restarts}; its failing cases:\n{}",
            failures_of(&page, i)
        );
        assert_eq!(
            fields[3].parse::<f64>().unwrap(),
            fields[4].parse::<f64>().unwrap(),
            "all the points: {row}"
        );
        assert_eq!(fields[restart_column], "30.00", "the restart group ran, weighing 30: {row}");
    }
    // The Python servers pass but for the restart group, which they were
    // given no command for: not graded, not counted against them.
    for i in 0..6 {
        let py = line(&format!("py{i}"));
        assert!(py.contains(" passing "), "{py}; its failing cases:\n{}", failures_of(&page, 12 + i));
    }
    for i in 6..12 {
        let want = if i % 2 == 0 { "messages/resend-gets-original-ok" } else { "auth/auth-required-closes" };
        let buggy = line(&format!("buggy{i}"));
        assert!(buggy.contains(" failing ") && buggy.contains(want), "{buggy}");
    }
    for i in 0..6 {
        let away = line(&format!("away{i}"));
        assert!(
            away.contains(" not reachable ") && away.contains(" 0.0/315 "),
            "what a server without a restart command is graded on (9 groups of 10, 3 core cases of 75): {away}"
        );
        assert!(away.to_lowercase().contains("refused"), "{away}");
    }
    // The page: a failing case is one click from its transcript.
    let link = "href=\"#s18-messages-resend-gets-original-ok\"";
    assert!(page.contains(link), "no link {link} in the class page");
    let section = page.split("id=\"s18-messages-resend-gets-original-ok\"").nth(1).expect("its section");
    assert!(section.split("<h2").next().unwrap().contains("<svg"), "its diagram");

    // --json: one object per student, with its status and points.
    let out = support::run_wachat_output(
        "conform",
        &[
            "server",
            "--class",
            roster_path.to_str().unwrap(),
            "--fast",
            "--timeout",
            "2",
            "--json",
            "--only",
            "framing",
        ],
        Duration::from_secs(600),
    );
    std::fs::write(&json, &out.stdout).unwrap();
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 30);
    assert!(lines[24].starts_with("{\"student\":\"away0\""), "{}", lines[24]);
    assert!(lines[24].contains("\"status\":\"not reachable\""), "{}", lines[24]);
    assert!(lines[0].contains("\"groups\":{\"framing\":{\"pass\":"), "{}", lines[0]);
    drop(minimals);
    drop(tinies);
}

/// A mistake of the lab's core planted in a copy of the tiny server: a
/// substitution, and the core case it fails.
struct CoreMistake {
    what: &'static str,
    from: &'static str,
    to: &'static str,
    fails: &'static str,
}

const CORE_MISTAKES: [CoreMistake; 3] = [
    CoreMistake {
        what: "the inbox forgotten once replayed, not once acknowledged: a reconnect replays nothing",
        from: "        self.users[me].inbox.iter().map(|(_, line, _)| line.clone()).collect()",
        to: "        self.users.get_mut(me).expect(\"known\").inbox.drain(..).map(|(_, line, _)| line).collect()",
        fails: "receive/unacked-replayed-after-reconnect",
    },
    CoreMistake {
        what: "DELIVERED as soon as the message is written to an online recipient, before the ACK",
        from: "            self.push(&target, Some(i), &event);\n",
        to: "            self.push(&target, Some(i), &event);\n            if is_direct(&self.messages[i]) && self.online.contains_key(&target) {\n                self.set_state(i, State::Delivered, at);\n            }\n",
        fails: "status/delivered-only-after-ack",
    },
    CoreMistake {
        what: "a resent id stored and delivered again",
        from: "self.users[&fold(me)].sent.get(&id) {",
        to: "self.users[&fold(me)].sent.get(&id).filter(|_| false) {",
        fails: "messages/resend-gets-original-ok",
    },
];

/// The reference class of `--class`'s grades: the tiny server as written,
/// and a copy of it with each mistake of the lab's core planted. The
/// mistakes' rows fail their core case, and each scores below 80 % of
/// its maximum, however well it does the rest (with the default weights:
/// the groups 10 points each, each core case 75 of its own); the tiny
/// server scores all its points.
#[test]
fn a_planted_mistake_of_the_labs_core_ranks_below_80_percent() {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tiny_server.rs")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let programs: Vec<PathBuf> = std::thread::scope(|scope| {
        let built: Vec<_> = CORE_MISTAKES
            .iter()
            .enumerate()
            .map(|(n, mistake)| {
                assert_eq!(
                    source.matches(mistake.from).count(),
                    1,
                    "the substitution for {:?} must match once",
                    mistake.what
                );
                let program = dir.path().join(format!("mistake{n}"));
                let source = source.replace(mistake.from, mistake.to);
                scope.spawn(move || {
                    support::examples::compile_copy(
                        "tiny_server",
                        &source,
                        &["argon2", "getrandom", "rustls", "rcgen", "ring"],
                        &program,
                    );
                    program
                })
            })
            .collect();
        built.into_iter().map(|b| b.join().unwrap()).collect()
    });
    let mut roster = String::from("student,host,send_port,recv_port\n");
    let mut servers = Vec::new();
    for (n, program) in std::iter::once(example("tiny_server")).chain(programs).enumerate() {
        let data = dir.path().join(format!("data{n}"));
        std::fs::create_dir_all(&data).unwrap();
        let server = support::tiny::Tiny::start_program(&program, &data, ["0", "0"], &["--timeout", "2"]);
        roster += &format!("s{n},127.0.0.1,{},{}\n", server.ports[0], server.ports[1]);
        servers.push(server);
    }
    let roster_path = dir.path().join("class.csv");
    std::fs::write(&roster_path, roster).unwrap();
    let csv = dir.path().join("grades.csv");
    let out = support::run_wachat_output(
        "conform",
        &[
            "server",
            "--class",
            roster_path.to_str().unwrap(),
            "--fast",
            "--timeout",
            "2",
            "--csv",
            csv.to_str().unwrap(),
        ],
        Duration::from_secs(600),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{stdout}");
    let grades = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = grades.lines().next().unwrap().split(',').collect();
    for mistake in &CORE_MISTAKES {
        assert!(header.contains(&mistake.fails), "a column of its own for {}: {header:?}", mistake.fails);
    }
    let row = |n: usize| -> Vec<String> {
        let line = grades
            .lines()
            .find(|l| l.starts_with(&format!("s{n},")))
            .unwrap_or_else(|| panic!("s{n}: {grades}"));
        line.split(',').map(String::from).collect()
    };
    let share = |fields: &[String]| fields[3].parse::<f64>().unwrap() / fields[4].parse::<f64>().unwrap();
    let tiny = row(0);
    assert_eq!((tiny[2].as_str(), share(&tiny)), ("passing", 1.0), "the tiny server: {tiny:?}\n{stdout}");
    for (n, mistake) in CORE_MISTAKES.iter().enumerate() {
        let fields = row(n + 1);
        let column = header.iter().position(|c| *c == mistake.fails).unwrap();
        assert_eq!(fields[column], "0.00", "{}: its core case earns nothing: {fields:?}", mistake.what);
        println!("{}: {:.1} %", mistake.what, 100.0 * share(&fields));
        assert!(share(&fields) < 0.8, "{}: {fields:?}\n{stdout}", mistake.what);
    }
}

/// docs/CONFORM.md's table of groups and its totals say what `--list`
/// lists: a case added without its line in the table fails here.
#[test]
fn conform_md_counts_the_cases_that_list_gives() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CONFORM.md")).unwrap();
    let listed = |level: &str| {
        let out = support::run_wachat_output(
            "conform",
            &["server", "--list", "--level", level],
            Duration::from_secs(60),
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let all = listed("1.2");
    // `| `framing` | 1.0 | 10 | …`, `| `timing` | 1.0 | 7 (4 slow) | …`
    for row in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (group, count) = (cells[1].trim_matches('`'), cells[3]);
        let Some(Ok(said)) = count.split(' ').next().map(str::parse::<usize>) else { continue };
        if !all.lines().any(|l| l.starts_with(&format!("{group}/"))) {
            continue; // another table of the page (options, scenarios)
        }
        let counted = all.lines().filter(|l| l.starts_with(&format!("{group}/"))).count();
        assert_eq!(said, counted, "docs/CONFORM.md says {said} cases in {group}; --list lists {counted}");
    }
    let groups_listed: BTreeSet<&str> = all.lines().filter_map(|l| l.split('/').next()).collect();
    for group in groups_listed {
        assert!(doc.contains(&format!("| `{group}` |")), "docs/CONFORM.md has no line for the group {group}");
    }
    // The federation's groups (`| `taking` | 30 (9 of what crosses) | …`).
    let federation =
        support::run_wachat_output("conform", &["federation", "--list"], Duration::from_secs(60));
    let federation = String::from_utf8(federation.stdout).unwrap();
    let mut federation_groups = BTreeSet::new();
    for row in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let group = cells[1].trim_matches('`');
        let counted = federation.lines().filter(|l| l.starts_with(&format!("{group}/"))).count();
        if counted == 0 {
            continue;
        }
        let said: usize = cells[2].split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
        assert_eq!(
            said, counted,
            "docs/CONFORM.md says {said} cases in {group}; conform federation --list lists {counted}"
        );
        federation_groups.insert(group.to_string());
    }
    for group in federation.lines().filter_map(|l| l.split('/').next()) {
        assert!(
            federation_groups.contains(group),
            "docs/CONFORM.md has no line for the federation's group {group}"
        );
    }
    let said = format!("That is {} cases", federation.lines().count());
    assert!(doc.contains(&said), "docs/CONFORM.md should say, of the federation: {said}");
    let totals: Vec<usize> = ["1.0", "1.1", "1.2"].iter().map(|l| listed(l).lines().count()).collect();
    let said =
        format!("That is {} cases at level 1.0, {} at 1.1 and {} at 1.2", totals[0], totals[1], totals[2]);
    assert!(doc.contains(&said), "docs/CONFORM.md should say: {said}");
}
