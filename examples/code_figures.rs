//! The figures of the code's shape that can be counted from the source: files of
//! `src/` over 500 lines, functions over 80 lines, and the reading path
//! of one `MSG` (docs/READING.md's stops: how many files, how many lines
//! of functions). Give it another checkout to compare with (a commit
//! unpacked with `git archive <commit> | tar -x -C /tmp/before`):
//!
//! ```sh
//! cargo run --example code_figures                 # this checkout
//! cargo run --example code_figures -- /tmp/before  # another one
//! ```
//!
//! A function is counted from its `fn` line to its closing brace, by
//! counting braces outside comments, strings and character literals;
//! `#[cfg(test)]` modules are left out (their tests are not the textbook).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[path = "support/functions.rs"]
mod functions;
use functions::{functions, stop};

const LONG_FILE: usize = 500;
const LONG_FUNCTION: usize = 80;

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let files = rust_files(&root.join("src"));
    let mut long_files = Vec::new();
    let mut long_functions = Vec::new();
    let mut lines_in_all = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let name = path.strip_prefix(&root).unwrap_or(path).display().to_string();
        let lines = text.lines().count();
        lines_in_all += lines;
        if lines > LONG_FILE {
            long_files.push((lines, name.clone()));
        }
        for (function, length) in functions(&text) {
            if length > LONG_FUNCTION {
                long_functions.push((length, format!("{name} {function}")));
            }
        }
    }
    long_files.sort_by(|a, b| b.cmp(a));
    long_functions.sort_by(|a, b| b.cmp(a));
    println!("{} files, {lines_in_all} lines in src/", files.len());
    println!("\nfiles over {LONG_FILE} lines: {}", long_files.len());
    for (lines, name) in &long_files {
        println!("  {lines:5} {name}");
    }
    println!("\nfunctions over {LONG_FUNCTION} lines: {}", long_functions.len());
    for (lines, name) in &long_functions {
        println!("  {lines:5} {name}");
    }
    reading_path(&root);
}

/// The `.rs` files under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// docs/READING.md's stops: files, and lines of their functions.
fn reading_path(root: &Path) {
    let Ok(doc) = std::fs::read_to_string(root.join("docs/READING.md")) else { return };
    let mut files = BTreeSet::new();
    let mut total = 0;
    let mut stops = 0;
    for line in doc.lines() {
        let Some((path, function)) = stop(line) else { continue };
        let text = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
        let length = functions(&text).into_iter().find(|(name, _)| *name == function).map_or(0, |f| f.1);
        println!("  stop: {path} {function}: {length} lines");
        files.insert(path);
        total += length;
        stops += 1;
    }
    println!(
        "\nthe reading path of a MSG (docs/READING.md): {stops} stops, {} files, {total} lines",
        files.len()
    );
}
