//! docs/READING.md, the reading path through one `MSG`, still points at
//! code that exists: every stop names a file and a function that is in
//! it, there are at most 12 stops, and the functions stay short enough
//! to read in an afternoon (1,500 lines in all).

use std::path::Path;

const MOST_STOPS: usize = 12;
const MOST_LINES: usize = 1500;

// The stops and the functions' lengths are read as `examples/code_figures`
// reads them.
#[path = "../examples/support/functions.rs"]
mod functions;
use functions::{functions, stop};

/// The stops: `**`path` — `Type::function`**` or `**`path` — `function`**`.
fn stops(doc: &str) -> Vec<(String, String)> {
    doc.lines().filter_map(stop).collect()
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
