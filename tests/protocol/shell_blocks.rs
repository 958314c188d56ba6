//! LAB.md's and TEACHING.md's `sh` blocks, as a student or a teacher
//! types them: every block of the two documents is in [`PLAN`], run here
//! or marked with why not (another test plays it, or it needs what a test
//! cannot have: another machine, a full-screen program, a release build,
//! a file only the reader has). A block run here is run by `bash` as
//! written, in a directory of the test's, with `wachat` on the `PATH`;
//! only ports and paths are replaced: each port it names by a free one,
//! the same through the whole run ([`PORTS`]); the default ports a command
//! leaves out (6666, 9999, 8080) by the same free ones, given in the
//! `WACHAT_` variables a flag's default yields to; `examples/` by the
//! checkout's; `/tmp/` by the group's directory; and the every-address
//! host `0.0.0.0` by `127.0.0.1`, since a test listens on loopback only.
//! Run as root, part 11's PostgreSQL commands get what its prose has root
//! add (`runuser -u postgres --`), and its PostgreSQL is stopped at the
//! end of the group as the prose says. Each command must end as the block
//! shows (an error when the block shows `wachat: …`), and each line of
//! output the block shows without a number or a `…` (what differs from
//! run to run) must come out. A `$ cat FILE` whose file the prose has the
//! reader make (the roster) writes the lines shown into it. A server the
//! block starts (`wachat serve`, the Python server, `turnserver`), in
//! the background (`… &`) or in a terminal of its own, must be listening
//! before the next command, and is stopped at the end of its group. So a
//! document that drifts from the program (a flag renamed, an answer
//! reworded) fails here. The `nc` transcripts are `transcripts.rs`'s.

use super::support;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What to do with a block, found by its first command.
enum Run {
    /// Run here, in the directory of its group: the blocks of one group
    /// run in order, in one directory, as one person types them.
    Here(&'static str),
    /// Not run here, and why.
    Not(&'static str),
}

const TRANSCRIPTS: &str = "transcripts.rs plays it between the part's nc transcripts, on their server";
const CLUSTER: &str =
    "on part 11's cluster, which the document starts after this block; tests/cluster/ plays a cluster";
const LOOP: &str = "part 11's ana loop runs a minute in one terminal while another kills or freezes the \
                    leader (steps 3 to 5); examples/cluster_failover.py and tests/cluster/ play that";
const NETWORK: &str = "transcripts.rs plays part 12 (the_labs_class_network_part_runs_as_printed)";

/// Every `sh` block of the two documents: (document, how the block
/// begins, what to do).
const PLAN: &[(&str, &str, Run)] = &[
    (
        "LAB.md",
        "$ cargo build --release",
        Run::Not("builds the release binary: minutes, and the tests run the test build"),
    ),
    ("LAB.md", "$ wachat serve --data-dir lab-data --timeout 600", Run::Not(TRANSCRIPTS)),
    ("LAB.md", "$ tail -n 1 lab-data/log/*.csv", Run::Not(TRANSCRIPTS)),
    ("LAB.md", "$ wachat users list --data-dir lab-data", Run::Not(TRANSCRIPTS)),
    ("LAB.md", "$ kill -9 $(cat lab-data/wachat.lock)", Run::Not(TRANSCRIPTS)),
    (
        "LAB.md",
        "$ wachat cert --host 127.0.0.1 --host localhost --out class-tls\n$ wachat serve",
        Run::Here("tls"),
    ),
    (
        "LAB.md",
        "$ wachat cert --host 127.0.0.1 --host localhost --out class-tls\ncertificate:",
        Run::Here("class-tls"),
    ),
    ("LAB.md", "$ RUST_LOG=warn wachat serve --data-dir bench-data", Run::Here("bench")),
    (
        "LAB.md",
        "$ wachat bench --send-port 7666 --recv-port 7999 --pairs 4 --messages 2000 --window 1",
        Run::Here("bench"),
    ),
    (
        "LAB.md",
        "$ python3 examples/minimal_server.py &\n$ wachat conform server 127.0.0.1 --send-port 6666",
        Run::Here("conform"),
    ),
    (
        "LAB.md",
        "wachat conform client -- sh -c",
        Run::Not(
            "my_client.py is the student's (the lab's Python client fails four scenarios of eight, as the part says); tests/tools/conform.rs runs conform client against it",
        ),
    ),
    ("LAB.md", "$ cat roster.csv", Run::Here("class")),
    ("LAB.md", "$ cat late.csv", Run::Here("class")),
    ("LAB.md", "$ wachat users add prof --email prof@example.org", Run::Here("class")),
    ("LAB.md", "$ wachat users room '#lab3' --add bea,bob,carla.souza", Run::Here("class")),
    ("LAB.md", "$ S=postgres://wachat@127.0.0.1:5433/wachat", Run::Not(CLUSTER)),
    ("LAB.md", "$ wachat users add prof --data-dir class-data", Run::Here("admin")),
    ("LAB.md", "python3 examples/minimal_server.py --send-port 17666", Run::Here("chaos")),
    (
        "LAB.md",
        "wachat chaos --send-port 17666 --recv-port 17999 --duration 10 --faults reset,partition --seed 2024",
        Run::Not("against part 9's buggy server, which the reader makes by hand"),
    ),
    ("LAB.md", "wachat chaos --send-port 6001 --recv-port 9001 --server", Run::Not(CLUSTER)),
    ("LAB.md", "kill -9 $(pgrep -f -- '--node b')", Run::Not(CLUSTER)),
    (
        "LAB.md",
        "wachat connect --user bob --trace",
        Run::Not("an interactive console; tests/clients/console.rs drives it with --trace"),
    ),
    (
        "LAB.md",
        "curl -s 127.0.0.1:9100/metrics",
        Run::Not("during a call between two browsers; tests/web/calls.rs makes calls"),
    ),
    ("LAB.md", "turnserver -n --listening-ip=127.0.0.1", Run::Here("turn")),
    (
        "LAB.md",
        "cargo build --release --features cluster",
        Run::Not("builds the release binary: minutes, and the tests run the test build (with `cluster`)"),
    ),
    ("LAB.md", "PG=$(ls -d /usr/lib/postgresql/*/bin | tail -1)", Run::Here("cluster")),
    ("LAB.md", "S=\"--store postgres://wachat@127.0.0.1:5433/wachat", Run::Here("cluster")),
    ("LAB.md", "watch -n 0.5 \"psql", Run::Not("`watch`: a full-screen program, refreshed until Ctrl+C")),
    // Its console reads nothing (no terminal): it registers bob, and
    // ends at the end of its input.
    ("LAB.md", "wachat connect --user bob --register --server", Run::Here("cluster")),
    ("LAB.md", "export WACHAT_PASSWORD=lab-password-1", Run::Not(LOOP)),
    ("LAB.md", "kill -9 $(pgrep -f -- '--node a')", Run::Not(LOOP)),
    ("LAB.md", "grep -c ' OK$' /tmp/oks", Run::Not(LOOP)),
    ("LAB.md", "psql -h 127.0.0.1 -p 5433", Run::Here("cluster")),
    ("LAB.md", "L=$(psql -h 127.0.0.1 -p 5433", Run::Not(LOOP)),
    (
        "LAB.md",
        "python3 examples/cluster_failover.py",
        Run::Not("runs the release build's binary for minutes; tests/cluster/ plays its failovers"),
    ),
    ("LAB.md", "wachat roster-line --data-dir /tmp/lab1 --name lab1", Run::Not(NETWORK)),
    (
        "TEACHING.md",
        "wachat roster-line --data-dir data --name lab17 --link-addr ",
        Run::Not("servers on other machines (10.0.0.17, a class roster)"),
    ),
    ("LAB.md", "wachat roster-line --data-dir /tmp/lab9 --name lab9 --link-a", Run::Not(NETWORK)),
    ("LAB.md", "kill -9 $(pgrep -f -- '--name lab2')", Run::Not(NETWORK)),
    ("LAB.md", "wachat top 9101 --once", Run::Not(NETWORK)),
    ("LAB.md", "until wachat top 9101 --once | grep -q 'lab2 .* linked';", Run::Not(NETWORK)),
    ("LAB.md", "wachat serve --name lab1 --peers /tmp/class.csv", Run::Not(NETWORK)),
    ("TEACHING.md", "wachat cert --host chat.school.example", Run::Here("teaching")),
    (
        "TEACHING.md",
        "wachat top 9100",
        Run::Not(
            "a full-screen program first; tests/clients/class.rs runs top --once against a class server",
        ),
    ),
    (
        "TEACHING.md",
        "wachat conform server 10.0.0.17",
        Run::Not("servers on other machines (10.0.0.17, a class roster)"),
    ),
];

/// The ports the blocks run here name, and the free ones they get: the
/// three defaults first ([`DEFAULTS`]), then part 5's bench, part 9's
/// Python server, part 10's TURN relay, TEACHING's metrics, and part
/// 11's PostgreSQL and nodes.
const PORTS: &[u16] =
    &[6666, 9999, 8080, 7666, 7999, 17666, 17999, 3478, 9100, 5433, 6001, 6002, 6003, 9001, 9002, 9003];

/// The variables that give `wachat serve` the default ports a command
/// leaves out, with the port each stands for.
const DEFAULTS: [(&str, u16); 3] =
    [("WACHAT_SEND_PORT", 6666), ("WACHAT_RECV_PORT", 9999), ("WACHAT_WEB_PORT", 8080)];

/// A document's `sh` blocks: (the whole text, every line).
fn blocks(doc: &str) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(doc)).unwrap();
    let mut found = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == "```sh" {
            let body: Vec<String> = lines.by_ref().take_while(|l| *l != "```").map(String::from).collect();
            found.push((body.join("\n"), body));
        }
    }
    found
}

/// The plan's entry of a block, by how it begins.
fn planned(doc: &str, first: &str) -> Option<&'static Run> {
    PLAN.iter()
        .filter(|(d, _, _)| *d == doc)
        .find(|(_, start, _)| first.starts_with(start))
        .map(|(_, _, run)| run)
}

/// One command of a block and what the block shows it printing.
struct Typed {
    command: String,
    shown: Vec<String>,
    /// The block's first command (a `cat` of what the reader made).
    first: bool,
}

/// A block's commands: lines after `$ ` (joined over a trailing `\`),
/// each with the lines shown after it; a block without prompts is all
/// commands.
fn commands(lines: &[String]) -> Vec<Typed> {
    let prompted = lines.iter().any(|l| l.starts_with("$ "));
    let mut typed: Vec<Typed> = Vec::new();
    let mut continued = false;
    for line in lines {
        let command = if prompted { line.strip_prefix("$ ") } else { Some(line.as_str()) };
        match command {
            _ if continued => {
                let last = typed.last_mut().unwrap();
                last.command.push('\n');
                last.command.push_str(line);
            }
            Some(command) => {
                typed.push(Typed { command: command.to_string(), shown: Vec::new(), first: typed.is_empty() })
            }
            None => typed.last_mut().unwrap().shown.push(line.clone()),
        }
        continued = line.ends_with('\\');
    }
    typed
}

/// A command with this run's ports and paths: each port of [`PORTS`]
/// (whole numbers only: 6666, not the 6666 of 16666) its free one,
/// loopback for every address, the group's directory `dir` for `/tmp/`,
/// the checkout's `examples/`, and what the prose has a root reader add
/// ([`as_root`]). The command's own words are rewritten first, the
/// directories put in after: a checkout or a directory under `/tmp`, or
/// whose name holds a port's digits, is never rewritten itself.
fn here(command: &str, dir: &Path) -> String {
    rewritten(command, dir, Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// [`here`], the checkout at `checkout`.
fn rewritten(command: &str, dir: &Path, checkout: &Path) -> String {
    let command = command.replace("0.0.0.0", "127.0.0.1");
    let mut mapped = String::new();
    let mut digits = String::new();
    for c in command.chars().chain(['\u{0}']) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        match digits.parse::<u16>().ok().and_then(|n| PORTS.iter().position(|&p| p == n)) {
            Some(at) if !digits.starts_with('0') => mapped.push_str(&free_ports()[at].to_string()),
            _ => mapped.push_str(&digits),
        }
        digits.clear();
        if c != '\u{0}' {
            mapped.push(c);
        }
    }
    let examples = format!(" {}/examples/", checkout.display());
    let mapped = mapped.replace("/tmp/", &format!("{}/", dir.display())).replace(" examples/", &examples);
    as_root(&mapped)
}

/// A clone under `/tmp`, or one whose path holds a port's digits, is
/// not rewritten: only the command's own words are (a clone under
/// `/tmp` had its own path's `/tmp/` replaced once, and Python was told
/// to run `…/tmp/.tmp…/wachat/examples/minimal_server.py` where the
/// checkout is `/tmp/…/wachat`).
#[test]
fn a_command_is_rewritten_and_never_the_directories_put_in_it() {
    let checkout = Path::new("/tmp/wachat-test.6666/tmp/.tmpAb/wachat");
    let dir = Path::new("/tmp/wachat-test.6666/tmp/.tmp9999");
    let command = "python3 examples/minimal_server.py 6666 & wachat serve --data-dir /tmp/lab1 --port 6666";
    let free = free(6666);
    assert_eq!(
        rewritten(command, dir, checkout),
        format!(
            "python3 {}/examples/minimal_server.py {free} & wachat serve --data-dir {}/lab1 --port {free}",
            checkout.display(),
            dir.display()
        )
    );
}

/// What part 11's prose has a reader who is root do, since PostgreSQL
/// refuses root: `chown postgres` the directory after its `mkdir`, and
/// `runuser -u postgres --` before `initdb` and `pg_ctl`.
fn as_root(command: &str) -> String {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return command.to_string();
    }
    match command.strip_prefix("mkdir ") {
        Some(made) if made.ends_with("/lab-pg") => format!("{command} && chown postgres {made}"),
        _ => ["initdb", "pg_ctl"].iter().fold(command.to_string(), |c, program| {
            c.replace(&format!("$PG/{program}"), &format!("runuser -u postgres -- $PG/{program}"))
        }),
    }
}

/// What ends a group besides its servers, as the prose says at the end of
/// its part: part 11's PostgreSQL. Run when the group ends, whether its
/// blocks passed or not.
const STOPS: &[(&str, &str)] =
    &[("cluster", "PG=$(ls -d /usr/lib/postgresql/*/bin | tail -1); $PG/pg_ctl -D /tmp/lab-pg/data stop")];

/// Runs a group's [`STOPS`] in its directory when dropped.
struct Stop<'a>(&'a str, &'a Path);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        for (_, stop) in STOPS.iter().filter(|(group, _)| *group == self.0) {
            let stopped = Command::new("bash").args(["-c", &here(stop, self.1)]).current_dir(self.1).status();
            assert!(stopped.is_ok_and(|s| s.success()) || std::thread::panicking(), "{stop}");
        }
    }
}

/// The free port standing for `port`, one of [`PORTS`].
fn free(port: u16) -> u16 {
    free_ports()[PORTS.iter().position(|&p| p == port).unwrap()]
}

/// A server a command starts, which the reader waits for before typing
/// on: the port it listens on, and for `wachat serve` the data directory
/// whose lock names it (the next command may read it: `--server-pid
/// $(cat …)`).
fn server(command: &str) -> Option<(u16, Option<String>)> {
    let value = |flag: &str| command.split_once(flag).and_then(|(_, v)| v.split_whitespace().next());
    let port = |flag: &str| value(flag).and_then(|p| p.parse().ok());
    let words: Vec<&str> = command.split_whitespace().skip_while(|w| w.contains('=')).collect();
    match words.as_slice() {
        ["wachat", "serve", ..] => {
            let data = value("--data-dir ").unwrap_or("data").to_string();
            Some((port("--send-port ").unwrap_or(free(6666)), Some(data)))
        }
        // The Python server takes the same variables for the ports it
        // is not given.
        ["python3", script, ..] if script.ends_with("_server.py") => {
            Some((port("--send-port ").unwrap_or(free(6666)), None))
        }
        ["turnserver", ..] => Some((port("--listening-port=")?, None)),
        _ => None,
    }
}

/// Runs one group's blocks as one bash script in `dir`: each command
/// followed by a marker with its status; a `$ cat FILE` that opens a
/// block shows a file the reader made: what it shows is written into it.
/// A server started in a terminal of its own runs in the background here.
fn run_group(dir: &Path, typed: &[Typed]) -> Vec<(i32, String)> {
    let mut script = String::new();
    for (n, t) in typed.iter().enumerate() {
        let command = here(&t.command, dir);
        let made_by_hand = |f: &&str| t.first && !f.contains(' ') && !t.shown.is_empty();
        if let Some(file) = command.strip_prefix("cat ").filter(made_by_hand) {
            std::fs::write(dir.join(file), t.shown.join("\n") + "\n").unwrap();
        }
        let Some((port, data)) = server(&command) else {
            script.push_str(&format!("{command}\necho \"@@{n} $?\"\n"));
            continue;
        };
        // Which terminal it runs in (`# terminal 2`) is the reader's.
        let command = command.split_once(" # ").map_or(command.as_str(), |(c, _)| c.trim_end());
        let background = if command.trim_end().ends_with('&') { "" } else { " &" };
        // The reader waits until it listens (and has written its lock)
        // before typing on; a server that ended instead stops the wait,
        // and its marker says it failed.
        let locked = data.map_or(String::new(), |d| format!(" && [ -s {d}/wachat.lock ]"));
        script.push_str(&format!(
            "{command}{background}\n\
             until (echo > /dev/tcp/127.0.0.1/{port}) 2>/dev/null{locked}; \
             do kill -0 $! 2>/dev/null || break; sleep 0.05; done\n\
             kill -0 $! 2>/dev/null\necho \"@@{n} $?\"\n"
        ));
    }
    // Whatever the blocks left running in the background (a server).
    script.push_str("kill $(jobs -p) 2>/dev/null; wait\n");
    let bin = Path::new(support::wachat_bin()).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut command = Command::new("bash");
    command
        .args(["-c", &script])
        .current_dir(dir)
        .env("PATH", path)
        .env("LANG", "C")
        .env_remove("RUST_LOG")
        .envs(DEFAULTS.map(|(name, port)| (name, free(port).to_string())))
        // The password `users add` would ask for at the terminal, given
        // the other way the prose says.
        .env("WACHAT_PASSWORD", "a-long-password-1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe, as pre_exec needs: a session of
    // its own, with no terminal to ask anything at.
    unsafe {
        command.pre_exec(|| if libc::setsid() < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) });
    }
    let mut child = command.spawn().expect("bash");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            // SAFETY: kill(2) of the process group this test started.
            unsafe { libc::killpg(child.id() as libc::pid_t, libc::SIGKILL) };
            panic!("the blocks' script did not end in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50)); // polling a process
    };
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "the blocks' script ended with {status:?}\n{out}\n{err}");
    // Each command's output: the lines before its marker (stderr after
    // stdout, both checked the same way).
    let mut said = Vec::new();
    let mut lines = String::new();
    for line in out.lines() {
        match line.strip_prefix("@@").and_then(|m| m.split_once(' ')) {
            Some((_, code)) => said.push((code.parse().unwrap(), std::mem::take(&mut lines))),
            None => lines.push_str(&format!("{line}\n")),
        }
    }
    assert_eq!(said.len(), typed.len(), "{out}\n{err}");
    // stderr is not split by command: every command sees all of it.
    said.into_iter().map(|(code, text)| (code, format!("{text}{err}"))).collect()
}

/// Free ports for [`PORTS`], the same for every block of a run.
fn free_ports() -> &'static [u16] {
    static PORTS_TAKEN: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    PORTS_TAKEN.get_or_init(|| PORTS.iter().map(|_| support::ports::free_port()).collect())
}

/// `text` with its spaces squeezed and its random passwords made
/// `<password>`: what differs from run to run. A password is told by
/// where it is printed (the word after `password:`, the field after a
/// name in an import's passwords file), not by its letters: 12 letters
/// and digits in any mix, all small letters too.
fn squeezed(text: &str) -> String {
    let secret = |word: &str| word.len() == 12 && word.chars().all(|c| c.is_ascii_alphanumeric());
    let mut after_password = false;
    let words = text.split_whitespace().map(|word| {
        let squeezed = match word.rsplit_once(',') {
            Some((head, tail)) if secret(tail) => format!("{head},<password>"),
            None if after_password && secret(word) => "<password>".to_string(),
            _ => word.to_string(),
        };
        after_password = word == "password:";
        squeezed
    });
    words.collect::<Vec<_>>().join(" ")
}

#[test]
fn the_labs_and_teachings_shell_blocks_run_as_written_or_say_why_not() {
    let mut groups: Vec<(&str, Vec<Typed>)> = Vec::new();
    for doc in ["LAB.md", "TEACHING.md"] {
        let found = blocks(doc);
        for (first, lines) in found.iter() {
            match planned(doc, first) {
                None => panic!("{doc}: a sh block not in PLAN (run it here, or say why not):\n{first}"),
                Some(Run::Not(why)) => assert!(!why.is_empty()),
                Some(Run::Here(group)) => match groups.iter_mut().find(|(g, _)| g == group) {
                    Some((_, typed)) => typed.extend(commands(lines)),
                    None => groups.push((group, commands(lines))),
                },
            }
        }
        for (_, start, _) in PLAN.iter().filter(|(d, _, _)| *d == doc) {
            assert!(
                found.iter().any(|(first, _)| first.starts_with(start)),
                "{doc} has no block {start:?} any more"
            );
        }
    }
    assert!(groups.len() >= 3, "the blocks run here");
    let started = Instant::now();
    for (group, typed) in &groups {
        let dir = tempfile::tempdir().unwrap();
        // The postgres user of part 11 goes through it to its own.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let _stop = Stop(group, dir.path());
        for (t, (code, out)) in typed.iter().zip(run_group(dir.path(), typed)) {
            let fails = t.shown.first().is_some_and(|l| l.starts_with("wachat: "));
            assert_eq!(code != 0, fails, "{group}: `{}` ended with {code}:\n{out}", t.command);
            let out = squeezed(&out);
            let fixed = |l: &&String| !l.contains('…') && !squeezed(l).chars().any(|c| c.is_ascii_digit());
            for shown in t.shown.iter().filter(fixed) {
                assert!(
                    out.contains(&squeezed(shown)),
                    "{group}: `{}` did not print {shown:?}:\n{out}",
                    t.command
                );
            }
        }
    }
    println!("{} groups of blocks ran in {:.1} s", groups.len(), started.elapsed().as_secs_f64());
}

#[test]
fn a_random_password_is_told_apart_whatever_its_letters() {
    // `--random` now and then makes one with no capital letter, or no small one.
    let out = "added eva (a member of #general); password: 2d5nri4d8tmu\nbea,ysk6mrj4zmcv\nbob,4PUR8RIRZAMW";
    let want = "added eva (a member of #general); password: <password> bea,<password> bob,<password>";
    assert_eq!(squeezed(out), want);
    // A twelve-letter word elsewhere is text.
    assert_eq!(squeezed("every  participants"), "every participants");
}

/// Why a command, as LAB.md writes it, runs in a POSIX shell only (bash,
/// zsh) and in neither PowerShell nor cmd; `None` if it runs in them as
/// written, once the Windows table's substitutions are made (`ncat` for
/// `nc`, `py` for `python3`).
fn posix_only(command: &str) -> Option<String> {
    const TOOLS: [&str; 24] = [
        "export", "tail", "head", "cat", "kill", "pkill", "pgrep", "grep", "seq", "ss", "top", "sleep", "ls",
        "rm", "sed", "awk", "chmod", "sudo", "runuser", "source", "ulimit", "while", "for", "jq",
    ];
    let words: Vec<&str> = command.split_whitespace().collect();
    let first = *words.first()?;
    let assigns = first.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    });
    let piped_into = words.windows(2).find(|w| w[0] == "|" && TOOLS.contains(&w[1])).map(|w| w[1]);
    if assigns {
        Some(format!("{first}: a variable set for one command"))
    } else if command.trim_end().ends_with(" &") {
        Some("`&`: a command put in the background".into())
    } else if command.contains("$(") {
        Some("`$(…)`: a command's output in a command".into())
    } else if words.windows(2).any(|w| w == ["sh", "-c"]) {
        Some("`sh -c`".into())
    } else if command.contains("<<") {
        Some("a heredoc".into())
    } else if command.contains("/tmp/") {
        Some("/tmp".into())
    } else {
        let tool = TOOLS.iter().find(|t| **t == first).or(piped_into.as_ref());
        tool.map(|tool| format!("`{tool}` is no command of PowerShell or cmd"))
    }
}

/// LAB.md's table of what each part needs on Windows is true line by
/// line: in every part the table gives to PowerShell or cmd, each command
/// of a block (`sh`, or a transcript's `$` lines) that only a POSIX shell
/// runs has its Windows lines beside it, a `powershell` block after its
/// own with nothing but prose between; and each such command in a
/// sentence (a code span of two words or more) has them in the same
/// paragraph (`PowerShell: …`), or is marked there as what Windows has
/// not.
#[test]
fn the_labs_windows_table_is_true_line_by_line() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/LAB.md")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The table: `| 1, 2, 6 | PowerShell or cmd, … |`.
    let table = lines.iter().skip_while(|l| !l.starts_with("| part | on Windows |")).skip(2);
    let mut windows: Vec<String> = Vec::new();
    for row in table.take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if cells[2].starts_with("PowerShell") {
            windows.extend(cells[1].split(',').map(|p| p.trim().to_string()));
        }
    }
    assert!(windows.len() >= 9, "the table gives PowerShell or cmd parts 0 to 8: {windows:?}");
    let mut wrong = Vec::new();
    let mut part: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(heading) = line.strip_prefix("## ") {
            part = heading.split_once('.').map(|(n, _)| n.to_string()).filter(|n| n.parse::<u32>().is_ok());
        }
        let on_windows = part.as_ref().is_some_and(|p| windows.contains(p));
        if let Some(lang) = line.strip_prefix("```") {
            let end = i + 1 + lines[i + 1..].iter().position(|l| *l == "```").expect("a closed block");
            let body: Vec<String> = lines[i + 1..end].iter().map(|l| l.to_string()).collect();
            let typed = match lang {
                "sh" => commands(&body).into_iter().map(|t| t.command).collect(),
                "text" | "" => body.iter().filter_map(|l| l.strip_prefix("$ ")).map(String::from).collect(),
                _ => Vec::new(),
            };
            // The next block, with only prose between.
            let next = lines[end + 1..].iter().find(|l| l.starts_with("```") || l.starts_with('#'));
            let beside = next.is_some_and(|l| *l == "```powershell");
            for command in typed.iter().filter(|_| on_windows && !beside) {
                if let Some(why) = posix_only(command) {
                    let n = part.as_deref().unwrap_or("?");
                    wrong.push(format!("part {n}, line {}: `{command}`: {why}", i + 1));
                }
            }
            i = end + 1;
            continue;
        }
        if on_windows && !line.trim().is_empty() && !line.starts_with('|') && !line.starts_with('#') {
            // A paragraph of prose: its code spans.
            let end =
                i + lines[i..].iter().position(|l| l.trim().is_empty() || l.starts_with("```")).unwrap_or(0);
            let end = end.max(i + 1);
            let paragraph = lines[i..end].join(" ");
            let spans = paragraph.split('`').skip(1).step_by(2);
            // Its Windows form (`PowerShell: …`), or a sentence about
            // Windows that marks it as POSIX's.
            let windows_beside = paragraph.contains("PowerShell") || paragraph.contains("Windows");
            for span in spans.filter(|s| s.split_whitespace().count() >= 2) {
                if let Some(why) = posix_only(span).filter(|_| !windows_beside) {
                    let n = part.as_deref().unwrap_or("?");
                    wrong.push(format!("part {n}, line {}: `{span}`: {why}", i + 1));
                }
            }
            i = end;
            continue;
        }
        i += 1;
    }
    assert!(
        wrong.is_empty(),
        "LAB.md's Windows table gives these parts to PowerShell or cmd, but these lines run in a POSIX \
         shell only, with no Windows line beside them:\n{}",
        wrong.join("\n")
    );
}
