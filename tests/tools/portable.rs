//! wachat builds on Linux, macOS and Windows; this machine builds only the
//! first (and Windows, in `.ci/windows`). So that no Linux-only call slips
//! into the macOS build unseen, the rule that keeps it portable is checked
//! on the sources:
//!
//! 1. What differs between systems lives in `src/sys/` (its module
//!    documentation is the list). Everywhere else in `src/` and
//!    `examples/`: no `libc::`, no `std::os::`, no `windows_sys::`, no
//!    `signal_hook::` and no `cfg` on the operating system.
//! 2. In `src/sys/`, whatever is defined for some systems only (a
//!    function, a constant, a type, an import, an `impl`, a `let`) is
//!    defined again for the others: under `cfg(X)` and `cfg(not(X))`, or
//!    under `cfg(unix)` and `cfg(windows)`. A `cfg` on a statement that
//!    defines nothing (a call Linux needs and the others do without) may
//!    stand alone.
//!
//! The cluster (`src/cluster/`, the examples that need `--features
//! cluster`, and what only they include) is for Linux, and left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Written only in `src/sys/`.
const SYSTEM_ONLY: [&str; 4] = ["libc::", "std::os::", "windows_sys::", "signal_hook::"];

/// The `cfg` predicates that name an operating system.
const OS_CFG: [&str; 4] = ["unix", "windows", "target_os", "target_family"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT).unwrap().to_string_lossy().replace('\\', "/")
}

/// The examples that need `--features cluster` (Cargo.toml's `[[example]]`
/// rows), and the files only they include with `#[path = …]`.
fn cluster_examples() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
    let mut cluster = BTreeSet::new();
    for row in manifest.split("[[example]]").skip(1) {
        let row = row.split("\n[").next().unwrap();
        if row.contains("required-features = [\"cluster\"]") {
            let name = row.split("name = \"").nth(1).unwrap().split('"').next().unwrap();
            cluster.insert(format!("examples/{name}.rs"));
        }
    }
    // Who includes which support file.
    let mut includers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("examples"), &mut files);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for included in text.split("#[path = \"").skip(1) {
            let included = included.split('"').next().unwrap();
            let path = file.parent().unwrap().join(included);
            includers.entry(relative(&path)).or_default().insert(relative(file));
        }
    }
    let only_cluster: Vec<String> = includers
        .iter()
        .filter(|(_, by)| by.iter().all(|example| cluster.contains(example)))
        .map(|(file, _)| file.clone())
        .collect();
    cluster.extend(only_cluster);
    cluster
}

#[test]
fn system_calls_and_cfgs_on_the_system_are_only_in_src_sys() {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    rust_files(&Path::new(ROOT).join("examples"), &mut files);
    let cluster = cluster_examples();
    assert!(cluster.contains("examples/room_flood_cluster.rs"), "{cluster:?}");
    let mut found = Vec::new();
    for file in files {
        let name = relative(&file);
        if name.starts_with("src/sys/") || name.starts_with("src/cluster/") || cluster.contains(&name) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            let os_cfg = code.contains("cfg(") && OS_CFG.iter().any(|os| code.contains(os));
            if os_cfg || SYSTEM_ONLY.iter().any(|word| code.contains(word)) {
                found.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "calls that differ between systems belong in src/sys/:\n{}", found.join("\n"));
}

/// The name an item or a `let` defines on `line`, if it defines one.
fn defined_name(line: &str) -> Option<String> {
    let line = line.trim().trim_start_matches("pub(crate) ").trim_start_matches("pub(super) ");
    let line = line.trim_start_matches("pub ").trim_start_matches("unsafe ");
    let words = ["fn ", "const ", "static ", "type ", "struct ", "enum ", "mod ", "let "];
    if let Some(word) = words.iter().find(|w| line.starts_with(**w)) {
        let rest = line[word.len()..].trim_start_matches("mut ");
        // A name, or for a `let` the whole pattern.
        let ends = |c: char| {
            if *word == "let " {
                c == '=' || c == ':' || c == ';'
            } else {
                !(c.is_alphanumeric() || c == '_')
            }
        };
        let end = rest.find(ends).unwrap_or(rest.len());
        return Some(format!("{word}{}", rest[..end].trim()));
    }
    if line.starts_with("impl") {
        return Some(line.trim_end_matches('{').trim().to_string());
    }
    if let Some(path) = line.strip_prefix("use ") {
        let last = path.trim_end_matches(';').rsplit([':', ' ']).next().unwrap_or(path);
        return Some(format!("use {last}"));
    }
    None
}

/// True if code under these `cfg` predicates exists on every system.
fn covers_every_system(predicates: &BTreeSet<String>) -> bool {
    let both = predicates.contains("unix") && predicates.contains("windows");
    both || predicates.iter().any(|p| predicates.contains(&format!("not({p})")))
}

#[test]
fn what_src_sys_defines_for_some_systems_it_defines_for_the_others() {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src/sys"), &mut files);
    assert!(files.len() >= 5, "src/sys/ has {} files", files.len());
    let mut one_sided = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Each name defined under a cfg, with every cfg it is defined under.
        let mut defined: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
        for (i, line) in lines.iter().enumerate() {
            let Some(predicate) = line.trim().strip_prefix("#[cfg(").and_then(|p| p.strip_suffix(")]"))
            else {
                continue;
            };
            if predicate == "test" {
                continue;
            }
            // The line it applies to: after doc comments, comments and other attributes.
            let target = lines[i + 1..]
                .iter()
                .map(|l| l.trim())
                .find(|l| !(l.starts_with("//") || l.starts_with("#[") || l.is_empty()));
            if let Some(name) = target.and_then(defined_name) {
                defined.entry(name).or_insert((i + 1, BTreeSet::new())).1.insert(predicate.to_string());
            }
        }
        for (name, (line, predicates)) in defined {
            if !covers_every_system(&predicates) {
                one_sided.push(format!("{}:{line}: `{name}` only under {predicates:?}", relative(&file)));
            }
        }
    }
    assert!(
        one_sided.is_empty(),
        "defined for some systems only (add the branch for the others):\n{}",
        one_sided.join("\n")
    );
}

#[test]
fn the_rule_sees_a_one_sided_definition_and_accepts_both_forms_of_a_pair() {
    let set = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<BTreeSet<_>>();
    assert!(!covers_every_system(&set(&["target_os = \"linux\""])));
    assert!(covers_every_system(&set(&["target_os = \"linux\"", "not(target_os = \"linux\")"])));
    assert!(covers_every_system(&set(&["unix", "windows"])));
    assert!(!covers_every_system(&set(&["unix"])));
    assert_eq!(defined_name("pub fn reserve(file: &File) {").as_deref(), Some("fn reserve"));
    assert_eq!(defined_name("let (shell, flag) = (\"sh\", \"-c\");").as_deref(), Some("let (shell, flag)"));
    assert_eq!(defined_name("pub use std::os::fd::AsFd as AsSocket;").as_deref(), Some("use AsSocket"));
    assert_eq!(defined_name("unsafe {"), None);
}
