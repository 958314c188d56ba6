//! docs/READING.md, the reading path through one `MSG`, still points at
//! code that exists: every stop names a file and a function that is in
//! it, there are at most 18 stops, the figure it gives is theirs, and the
//! functions stay short enough to read in an afternoon (1,000 lines in
//! all).

use super::support;

use std::path::Path;

use support::TestServer;

const MOST_STOPS: usize = 18;
const MOST_LINES: usize = 1000;

// The stops and the functions' lengths are read as `examples/code_figures`
// reads them.
#[path = "../../examples/support/functions.rs"]
mod functions;
use functions::{functions, stop};

/// The stops: `**`path` — `Type::function`**` or `**`path` — `function`**`.
fn stops(doc: &str) -> Vec<(String, String)> {
    doc.lines().filter_map(stop).collect()
}

/// The figure of "about N lines of code in all" in `doc` (a comma
/// allowed: 1,000).
fn figure(doc: &str) -> Option<usize> {
    doc.split("about ")
        .find_map(|rest| rest.split_once(" lines of code in all")?.0.replace(',', "").parse().ok())
}

/// The lines of `fn name` in `source`, from its `fn` line to its closing brace.
fn function_lines(source: &str, name: &str) -> Option<usize> {
    functions(source).into_iter().find(|(function, _)| function == name).map(|(_, lines)| lines)
}

#[test]
fn every_stop_of_the_reading_path_exists_and_the_path_stays_short() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/READING.md")).unwrap();
    let stops = stops(&doc);
    assert!((8..=MOST_STOPS).contains(&stops.len()), "{} stops: {stops:?}", stops.len());
    let mut total = 0;
    for (path, function) in &stops {
        let source = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let lines = function_lines(&source, function)
            .unwrap_or_else(|| panic!("docs/READING.md: no fn {function} in {path}"));
        total += lines;
    }
    assert!(total <= MOST_LINES, "the reading path is {total} lines of code, more than {MOST_LINES}");
    assert!(doc.contains("examples/tiny_server.rs"), "the path starts from the tiny server");
    // The figure the page gives is the one counted here.
    let said =
        figure(&doc).unwrap_or_else(|| panic!("docs/READING.md gives no \"about N lines of code in all\""));
    assert!(
        said.abs_diff(total) * 10 <= total,
        "docs/READING.md says about {said} lines; the stops are {total}"
    );
    // The stops the issue named: the whole path, socket to disk to the
    // receiver and back to the sender's OK.
    for stop in [
        "Inbox::enqueue", // was State::enqueue: an inbox numbers its own events
        "LocalStore::send",
        "Router::deliver",
        "Session::leave_with_store",
        "Replies::fill",
        "Devices::ack",
        "State::acked_direct",
    ] {
        assert!(doc.contains(&format!("`{stop}`**")), "docs/READING.md has no stop at {stop}");
    }
    for named in ["Deref", "when_durable", "router.deliver"] {
        assert!(doc.contains(named), "docs/READING.md does not say {named}");
    }
}

/// The cluster's stops ("The same log on every node", A to H) point at
/// code that exists too: each names its files (`src/…`), and every
/// function it names (`Node::keep`, `look_at_lease`, a trait's method) is
/// a `fn` of one of them, every type or constant (`SharedLog`, `CONFIRM`)
/// a word of one of them.
#[test]
fn every_cluster_stop_names_files_and_functions_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/READING.md")).unwrap();
    let section = doc
        .split("## The same log on every node")
        .nth(1)
        .expect("docs/READING.md has the cluster's stops")
        .split("\n## ")
        .next()
        .unwrap();
    let stops: Vec<&str> = section.split("\n- **").skip(1).collect();
    let letters: String = stops.iter().map(|stop| &stop[..1]).collect();
    assert_eq!(letters, "ABCDEFGH", "the cluster's stops");
    for stop in stops {
        let spans: Vec<&str> = stop.split('`').skip(1).step_by(2).collect();
        let files: Vec<&str> =
            spans.iter().copied().filter(|s| s.starts_with("src/") && s.ends_with(".rs")).collect();
        assert!(!files.is_empty(), "stop {} names no file", &stop[..1]);
        let sources: Vec<String> = files
            .iter()
            .map(|f| {
                std::fs::read_to_string(root.join(f))
                    .unwrap_or_else(|e| panic!("stop {}: {f}: {e}", &stop[..1]))
            })
            .collect();
        let declares = |name: &str| {
            sources.iter().any(|s| s.contains(&format!("fn {name}(")) || s.contains(&format!("fn {name}<")))
        };
        let has_word = |word: &str| sources.iter().any(|s| s.contains(word));
        for span in spans {
            let name = match span.split_once("::") {
                Some((ty, name)) if ty.starts_with(char::is_uppercase) => name,
                Some(_) => continue, // a module's path: tests/tools/names.rs reads it
                None => span,
            };
            if !name.chars().all(|c| c.is_alphanumeric() || c == '_') || name.is_empty() {
                continue;
            }
            if name.starts_with(char::is_lowercase) {
                assert!(declares(name), "docs/READING.md stop {}: no fn {name} in {files:?}", &stop[..1]);
            } else {
                assert!(has_word(name), "docs/READING.md stop {}: no {name} in {files:?}", &stop[..1]);
            }
        }
    }
}

#[test]
fn the_reader_of_stops_reads_a_stop() {
    let doc = "1. **`src/a.rs` — `Thing::run`**\n\n12. **`src/b.rs` — `go`**\n";
    assert_eq!(stops(doc), [("src/a.rs".into(), "run".into()), ("src/b.rs".into(), "go".into())]);
    assert_eq!(function_lines("x\n    pub fn go(a: u8) {\n        if a { }\n    }\n", "go"), Some(3));
    // Braces in strings, characters and comments are not the code's.
    let tricky = "fn f<'a>(x: &'a str) {\n    let s = \"}\"; // }\n    let c = '{';\n}\nfn g() {}\n";
    assert_eq!(function_lines(tricky, "f"), Some(4));
    assert_eq!(function_lines(tricky, "g"), Some(1));
}

/// The code, its help and its documents cite docs/PROTOCOL.md,
/// never a file outside the repository that a reader of the checkout
/// does not have (shared/protocol.md, the draft the protocol began as).
#[test]
fn nothing_cites_the_protocol_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut dirs = vec![root.join("src"), root.join("examples"), root.join("docs"), root.join("web")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| ["rs", "md", "js", "py", "sh", "html"].contains(&e.to_str().unwrap()))
            {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 100, "{} files: the walk found the sources", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!text.contains("shared/protocol"), "{} cites shared/protocol.md", path.display());
    }
    // The help of conform's and chaos's --level says what each level is.
    for command in [&["conform", "server", "--help"][..], &["chaos", "--help"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wachat")).args(command).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for level in ["docs/PROTOCOL.md §1–§10", "docs/PROTOCOL.md §11–§12", "docs/PROTOCOL.md §13–§23"]
        {
            assert!(help.contains(level), "{command:?} --help does not cite {level}:\n{help}");
        }
        assert!(!help.contains("This round"), "{command:?}: {help}");
    }
}

/// LAB.md part 3 sends students to the files table of src/lib.rs to
/// learn which file says what each user acknowledged: every file and
/// directory a running server makes in its data directory is in the table.
#[test]
fn every_file_a_server_makes_is_in_the_files_table_of_lib_rs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let table: String = lib
        .lines()
        .skip_while(|l| !l.starts_with("//! ## Files"))
        .skip(1)
        .take_while(|l| !l.starts_with("//! ## "))
        .collect();
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut bob = server.login_recv("bob", "pw-bob"); // a device: a record of the log
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:hola").starts_with("OK:m1:"));
    assert!(bob.line().starts_with("MSG:1:ana:bob:m1:"));
    bob.send("ACK:1");
    assert!(ana.request("PING") == "OK");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&server.data_dir).unwrap().map(Result::unwrap) {
        let name = entry.file_name().to_string_lossy().into_owned();
        // checkpoint-1234.csv is `checkpoint-<position>.csv` in the table:
        // the digits after a `-` (a name's own digits, `vapid.pk8`, stay).
        let mut shown = String::new();
        let mut digits = false;
        for c in name.chars() {
            if c.is_ascii_digit() && (digits || shown.ends_with('-')) {
                if !digits {
                    shown.push_str("<position>");
                }
                digits = true;
            } else {
                digits = false;
                shown.push(c);
            }
        }
        let shown = if entry.path().is_dir() { format!("`{shown}/") } else { format!("`{shown}`") };
        names.push(shown);
    }
    assert!(names.iter().any(|n| n == "`log/"), "{names:?}");
    for name in names {
        assert!(
            table.contains(&name),
            "{name} is in the data directory but not in the files table of src/lib.rs"
        );
    }
}

/// The teacher has one page, which shows `wachat top` and
/// `--metrics`, and whose links lead to files of the repository.
#[test]
fn the_teachers_page_gathers_the_teachers_commands_and_its_links_hold() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/TEACHING.md")).unwrap();
    for command in [
        "wachat top",
        "--metrics",
        "wachat users invite",
        "wachat users import",
        "wachat conform",
        "--exempt",
    ] {
        assert!(page.contains(command), "docs/TEACHING.md does not show {command}");
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("(docs/TEACHING.md)"), "the README links the teacher's page");
    // Every link `](path#anchor)` to a file of the repository.
    for (at, _) in page.match_indices("](") {
        let target: String = page[at + 2..].chars().take_while(|&c| c != ')').collect();
        let file = target.split('#').next().unwrap();
        if file.is_empty() || file.starts_with("http") {
            continue;
        }
        assert!(root.join("docs").join(file).exists(), "docs/TEACHING.md links {target}, which is not there");
    }
}

/// Every picture README.md shows is in docs/ and under 100 KB (made
/// smaller with pngquant, as tests/web/app.rs's `screenshots_for_the_readme`
/// says): the page stays light to load on a phone.
#[test]
fn every_picture_the_readme_shows_is_there_and_under_100_kb() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let pictures: Vec<&str> = readme
        .split("docs/")
        .skip(1)
        .filter_map(|rest| rest.split_once(".png").map(|(name, _)| name))
        .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .collect();
    assert!(pictures.len() >= 20, "{} pictures found in README.md", pictures.len());
    for name in pictures {
        let size = std::fs::metadata(root.join("docs").join(format!("{name}.png")))
            .unwrap_or_else(|e| panic!("docs/{name}.png: {e}"))
            .len();
        assert!(size < 100_000, "docs/{name}.png is {size} bytes");
    }
}
