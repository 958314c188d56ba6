//! The prose names only what is there. Comments and documents point at
//! the code they explain: files (`src/server/recv.rs`), modules and items
//! (`server::presence`, `Router::deliver`). In a doc comment that is an
//! intra-doc link, which rustdoc resolves (`.ci/run` denies a broken one);
//! everything else is read here: the documents (README.md, docs/), every
//! comment of `src/`, `tests/` and `examples/` (doc comments too: a path
//! in backticks is no link), the schema's SQL comments and the browser
//! app's comments. Every path of the repository they name exists, and
//! every Rust path they name in backticks is a module, or an item defined
//! where it says.
//!
//! The reading is textual, an approximation of what the compiler knows,
//! lenient where it cannot tell: a path is resolved from any module of
//! the crate (or of `tests/`, `examples/`), as a comment deep in a folder
//! names its neighbours (`links::take`); a member (`Type::member`) is
//! looked for among the fields, variants and `impl` blocks of every type
//! of that name. What it catches is what goes stale: a file, a module or
//! a function that was removed or renamed while the prose kept its name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The crates a path may start with that are not this one: the standard
/// library's and Cargo.toml's (read from it), and the crates a comment
/// names to say what wachat does not use.
const OTHER_CRATES: [&str; 6] = ["std", "core", "alloc", "tokio", "mio", "postgres"];

/// The standard library's modules and primitive types, which a comment
/// names without `std::` (`io::Error`, `u64::MAX`).
const STD_NAMES: [&str; 24] = [
    "any",
    "char",
    "cmp",
    "collections",
    "env",
    "fmt",
    "fs",
    "hash",
    "i32",
    "i64",
    "io",
    "iter",
    "mem",
    "net",
    "ops",
    "panic",
    "process",
    "ptr",
    "str",
    "sync",
    "thread",
    "time",
    "u32",
    "u64",
];

/// Names a comment makes up to show a form (`a::b::c`, `Type::member`,
/// `foo.rs`): a path with one of them is not looked for.
const PLACEHOLDERS: [&str; 10] = ["a", "b", "c", "x", "foo", "child", "name", "Type", "member", "NAME"];

/// Types of other crates a comment names with a member (`Duration::MAX`,
/// clap's `Command::build`): a type named here and defined nowhere in the
/// repository is one of these, or a type that is gone.
const OTHER_TYPES: [&str; 37] = [
    "Arc",
    "AtomicBool",
    "AtomicU64",
    "BorrowedFd",
    "BufReader",
    "Builder",
    "CharSearcher",
    "Command",
    "Condvar",
    "Duration",
    "File",
    "FromSql",
    "HashMap",
    "Instant",
    "IpAddr",
    "Mutex",
    "OpenOptions",
    "Option",
    "PathBuf",
    "RandomState",
    "Rc",
    "ReaderBuilder",
    "Receiver",
    "Result",
    "RwLock",
    "Sender",
    "ServerConfig",
    "SocketAddr",
    "String",
    "SystemTime",
    "TcpListener",
    "TcpStream",
    "ToSql",
    "UdpSocket",
    "UnixStream",
    "Vec",
    "WebSocket",
];

/// The methods of the standard library's traits, which a type of ours
/// has through an `impl` or a `derive` (`Stream::read`, `Record::fmt`).
const TRAIT_METHODS: [&str; 24] = [
    "fmt",
    "from",
    "into",
    "drop",
    "deref",
    "deref_mut",
    "clone",
    "default",
    "eq",
    "cmp",
    "partial_cmp",
    "hash",
    "read",
    "write",
    "flush",
    "next",
    "from_str",
    "try_from",
    "as_ref",
    "borrow",
    "index",
    "to_string",
    "write_all",
    "read_exact",
];

/// A file of the repository, relative to its root, with `/`.
fn files_under(dir: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(Path::new(ROOT).join(dir)) else { return };
    for entry in entries.map(Result::unwrap) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{dir}/{name}");
        if entry.path().is_dir() {
            if name != "target" && name != "node_modules" {
                files_under(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The Rust sources, as modules ([`module_of`]).
struct Sources {
    /// Module path → the names of its children.
    children: BTreeMap<Vec<String>, BTreeSet<String>>,
    /// Module path → the names it defines, imports or re-exports.
    names: BTreeMap<Vec<String>, BTreeSet<String>>,
    /// Name → the modules that define it.
    definers: BTreeMap<String, BTreeSet<Vec<String>>>,
    /// Type name → its members (fields, variants, methods, associated
    /// constants); `None`: a type made by a macro, whose members the text
    /// does not show.
    members: BTreeMap<String, Option<BTreeSet<String>>>,
}

impl Sources {
    fn read() -> Sources {
        let mut sources = Sources {
            children: BTreeMap::new(),
            names: BTreeMap::new(),
            definers: BTreeMap::new(),
            members: BTreeMap::new(),
        };
        let mut globs: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for root in ["src", "tests", "examples"] {
            let mut files = Vec::new();
            files_under(root, &mut files);
            for file in files.into_iter().filter(|f| f.ends_with(".rs")) {
                let code = without_comments(&read(&file));
                let module = module_of(&file);
                for depth in 0..module.len() {
                    let parent = module[..depth].to_vec();
                    sources.children.entry(parent).or_default().insert(module[depth].clone());
                }
                let mut inline = Vec::new();
                for (kind, name) in definitions(&code) {
                    sources.names.entry(module.clone()).or_default().insert(name.to_string());
                    if kind == "mod {" {
                        let mut inner = module.clone();
                        inner.push(name.to_string());
                        sources.children.entry(module.clone()).or_default().insert(name.to_string());
                        inline.push(inner);
                    }
                }
                // A module written inline (`mod tests { … }`) is read as
                // having every name of its file.
                let own = sources.names.get(&module).cloned().unwrap_or_default();
                for inner in inline {
                    sources.names.entry(inner).or_default().extend(own.iter().cloned());
                }
                let names = sources.names.entry(module.clone()).or_default();
                for used in uses(&code) {
                    let mut word = String::new();
                    for c in used.chars().chain([' ']) {
                        if c.is_alphanumeric() || c == '_' {
                            word.push(c);
                        } else if !word.is_empty() {
                            names.insert(std::mem::take(&mut word));
                        }
                    }
                    if let Some(glob) = used.trim_end().strip_suffix("::*") {
                        let child = glob.rsplit("::").next().unwrap().to_string();
                        let mut inner = module.clone();
                        inner.push(child);
                        globs.push((module.clone(), inner));
                    }
                }
                sources.read_types(&code);
            }
        }
        for (module, child) in globs {
            let theirs = sources.names.get(&child).cloned().unwrap_or_default();
            sources.names.entry(module).or_default().extend(theirs);
        }
        for (module, names) in &sources.names {
            for name in names {
                sources.definers.entry(name.clone()).or_default().insert(module.clone());
            }
        }
        sources
    }

    /// Adds the types `code` defines, and its `impl` blocks' members.
    fn read_types(&mut self, code: &str) {
        let mut at = 0;
        while let Some(found) = code[at..].find(|c: char| c.is_alphabetic()) {
            let start = at + found;
            let word = word_at(code, start);
            at = start + word.len().max(1);
            if code[..start].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            match word {
                "struct" | "enum" | "trait" | "union" | "type" => {
                    let name = word_at(code, skip_space(code, at)).to_string();
                    if name.is_empty() {
                        continue;
                    }
                    let entry = self.members.entry(name).or_insert_with(|| Some(BTreeSet::new()));
                    if word == "type" {
                        continue;
                    }
                    let Some(body) = body_after(code, at) else { continue };
                    if body.contains('$') {
                        *entry = None; // made by a macro
                    } else if let Some(members) = entry {
                        members.extend(members_of_definition(body));
                    }
                }
                "impl" => {
                    let Some(open) = code[at..].find(['{', ';']).map(|i| at + i) else { continue };
                    if code.as_bytes()[open] == b';' {
                        continue;
                    }
                    let head = code[at..open].split(" where ").next().unwrap();
                    let name = type_name(head.rsplit(" for ").next().unwrap());
                    if name.is_empty() {
                        continue;
                    }
                    let Some(body) = body_after(code, at) else { continue };
                    let entry = self.members.entry(name).or_insert_with(|| Some(BTreeSet::new()));
                    if let Some(members) = entry {
                        members.extend(items_of_block(body));
                    }
                }
                _ => {}
            }
        }
    }

    fn is_child(&self, module: &[String], name: &str) -> bool {
        self.children.get(module).is_some_and(|c| c.contains(name))
    }

    /// Whether module `module` defines `name`, imports it, or re-exports
    /// it (through a glob from a child too).
    fn defines(&self, module: &[String], name: &str) -> bool {
        self.names.get(module).is_some_and(|names| names.contains(name))
    }

    /// Whether type `ty` (ours, or another crate's) has `member`.
    fn has_member(&self, ty: &str, member: &str) -> bool {
        match self.members.get(ty) {
            Some(Some(members)) => members.contains(member) || TRAIT_METHODS.contains(&member),
            Some(None) => true,
            None => OTHER_TYPES.contains(&ty),
        }
    }

    /// Whether the Rust path `segments` names something, read from
    /// `within` (the module of the file that names it).
    fn resolves(&self, segments: &[&str], within: &[String]) -> bool {
        // The tests' and the examples' prose speaks of the crate's code:
        // a `super::` there is one of the crate's modules (from any).
        let segments = if within.first().is_some_and(|m| m.starts_with('<')) {
            let relative = segments.iter().take_while(|s| ["self", "super", "Self"].contains(s)).count();
            if relative == segments.len() {
                return true;
            }
            &segments[relative..]
        } else {
            segments
        };
        let (starts, segments): (Vec<Vec<String>>, &[&str]) = match segments[0] {
            "crate" | "wachat" => (vec![Vec::new()], &segments[1..]),
            "self" => (vec![within.to_vec()], &segments[1..]),
            // A method of the type whose `impl` the comment is in.
            "Self" => return segments.len() == 2 && self.defines(within, segments[1]),
            "super" => {
                let ups = segments.iter().take_while(|s| **s == "super").count();
                (vec![within[..within.len().saturating_sub(ups)].to_vec()], &segments[ups..])
            }
            // Any module with such a child, or that defines the first name.
            first => {
                let parents = self.children.iter().filter(|(_, c)| c.contains(first)).map(|(m, _)| m.clone());
                let definers = self.definers.get(first).into_iter().flatten().cloned();
                (parents.chain(definers).collect(), segments)
            }
        };
        if segments.is_empty() {
            return true;
        }
        for start in &starts {
            let mut module = start.clone();
            let mut i = 0;
            while i < segments.len() && self.is_child(&module, segments[i]) {
                module.push(segments[i].to_string());
                i += 1;
            }
            if i == segments.len() {
                return true;
            }
            if self.defines(&module, segments[i])
                && segments[i..].windows(2).all(|pair| self.has_member(pair[0], pair[1]))
            {
                return true;
            }
        }
        // `Type::member` of a type of another crate.
        OTHER_TYPES.contains(&segments[0])
    }
}

/// The module of a source file: `src/server/recv.rs` is `server::recv`;
/// the tests and the examples are trees of their own, apart from the
/// crate's (`tests/support/cluster.rs` is `<tests>::support::cluster`).
fn module_of(file: &str) -> Vec<String> {
    let (root, rest) = file.split_once('/').unwrap();
    let mut module: Vec<String> = match root {
        "src" => Vec::new(),
        other => vec![format!("<{other}>")],
    };
    module.extend(rest.trim_end_matches(".rs").split('/').map(str::to_string));
    if module.last().is_some_and(|m| m == "mod" || m == "lib" || m == "main") {
        module.pop();
    }
    module
}

/// The items `code` defines: `(kind, name)`, a module written inline of
/// the kind `mod {`.
fn definitions(code: &str) -> Vec<(&'static str, &str)> {
    let kinds = ["fn", "struct", "enum", "trait", "const", "static", "type", "union", "mod", "macro_rules!"];
    let mut found = Vec::new();
    for kind in kinds {
        for (at, _) in code.match_indices(kind) {
            let before = code[..at].chars().last();
            let after = &code[at + kind.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') || !after.starts_with(' ') {
                continue;
            }
            let name = word_at(after, 1);
            if name.is_empty() {
                continue;
            }
            // `mod name { … }` is written inline; `mod name;` is a file.
            let inline = kind == "mod" && after[1 + name.len()..].trim_start().starts_with('{');
            found.push((if inline { "mod {" } else { kind }, name));
        }
    }
    found
}

/// `text` with its comments blanked (strings kept: they hold no braces
/// that matter here often enough to count).
fn without_comments(text: &str) -> String {
    text.lines().map(|line| line.find("//").map_or(line, |at| &line[..at])).collect::<Vec<_>>().join("\n")
}

fn word_at(text: &str, at: usize) -> &str {
    let rest = &text[at..];
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    &rest[..end]
}

fn skip_space(text: &str, at: usize) -> usize {
    at + text[at..].len() - text[at..].trim_start().len()
}

/// The type an `impl` is for: `impl<T> Trait for path::Name<T>` is `Name`.
fn type_name(target: &str) -> String {
    let mut target = target.trim();
    // `impl<'a, T> …`: the generics of the impl first.
    if target.starts_with('<') {
        let mut depth = 0;
        let end = target.char_indices().find_map(|(i, c)| {
            depth += i32::from(c == '<') - i32::from(c == '>');
            (depth == 0).then_some(i)
        });
        target = end.map_or("", |end| &target[end + 1..]);
    }
    let target = target.trim().trim_start_matches('&').trim_start_matches("mut ").trim_start_matches("dyn ");
    let target = target.split('<').next().unwrap().trim();
    let target =
        if target.starts_with("impl") { target.split_whitespace().last().unwrap_or("") } else { target };
    target.rsplit("::").next().unwrap().trim().to_string()
}

/// The block that opens after `at` (before any `;`), without its braces.
fn body_after(code: &str, at: usize) -> Option<&str> {
    let open = at + code[at..].find(['{', ';', '('])?;
    let bytes = code.as_bytes();
    let (opening, closing) = match bytes[open] {
        b'{' => (b'{', b'}'),
        b'(' => {
            // A tuple struct: its fields have no names; what follows may
            // be a `;` or a `where … {`.
            return Some("");
        }
        _ => return None,
    };
    let mut depth = 0;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        if b == opening {
            depth += 1;
        } else if b == closing {
            depth -= 1;
            if depth == 0 {
                return Some(&code[open + 1..i]);
            }
        }
    }
    None
}

/// The names a struct's, enum's or trait's body defines: fields,
/// variants, methods.
fn members_of_definition(body: &str) -> BTreeSet<String> {
    let mut names = items_of_block(body);
    let mut depth = 0;
    let mut start_of_line = true;
    for (i, c) in body.char_indices() {
        match c {
            '{' | '(' | '<' | '[' => depth += 1,
            '}' | ')' | '>' | ']' => depth -= 1,
            '\n' | ',' => start_of_line = true,
            c if c.is_whitespace() => {}
            _ => {
                if depth == 0 && start_of_line {
                    let mut rest = &body[i..];
                    if let Some(restricted) = rest.strip_prefix("pub(") {
                        rest = restricted.split_once(')').map_or("", |(_, after)| after.trim_start());
                    }
                    let rest = rest.trim_start_matches("pub ");
                    let rest = if rest.starts_with('#') { "" } else { rest };
                    let name = word_at(rest, 0);
                    if !name.is_empty() {
                        names.insert(name.to_string());
                    }
                }
                start_of_line = false;
            }
        }
    }
    names
}

/// The `fn`, `const` and `type` names a block defines.
fn items_of_block(body: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for keyword in ["fn ", "const ", "type "] {
        for (at, _) in body.match_indices(keyword) {
            if body[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name = word_at(body, at + keyword.len());
            if !name.is_empty() {
                names.insert(name.to_string());
            }
        }
    }
    names
}

/// What `use` statements bring in: the text between `use` and `;`.
fn uses(code: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("use ") {
        if code[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(end) = code[at..].find(';') {
            found.push(&code[at + 4..at + end]);
        }
    }
    found
}

/// The prose of a file: a document whole, its fenced code blocks left
/// out (commands and frames); of a source, its comments, each run of
/// comment lines as one paragraph.
fn prose_of(path: &str, text: &str) -> Vec<String> {
    if path.ends_with(".md") {
        let mut out = Vec::new();
        let mut fenced = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            } else if !fenced {
                out.push(line.to_string());
            }
        }
        return paragraphs(out);
    }
    let marker = if path.ends_with(".sql") { "--" } else { "//" };
    let mut lines = Vec::new();
    let mut block = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if path.ends_with(".js") && (block || trimmed.starts_with("/*")) {
            block = !trimmed.contains("*/");
            lines.push(
                trimmed
                    .trim_start_matches("/**")
                    .trim_start_matches("/*")
                    .trim_start_matches('*')
                    .to_string(),
            );
            continue;
        }
        // A comment at the end of code too (` // why`), not `://` in a URL.
        let at = line.match_indices(marker).find(|(at, _)| !line[..*at].ends_with(':')).map(|(at, _)| at);
        match at {
            Some(at) => {
                lines.push(line[at + marker.len()..].trim_start_matches(['/', '!']).to_string());
            }
            None => lines.push(String::new()),
        }
    }
    paragraphs(lines)
}

/// Lines joined into paragraphs (a blank line ends one), so that a name
/// broken across two lines of a comment reads whole.
fn paragraphs(lines: Vec<String>) -> Vec<String> {
    let mut out = vec![String::new()];
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            out.push(String::new());
        } else {
            let last = out.last_mut().unwrap();
            // A path broken after its `::` is joined whole.
            if !last.is_empty() && !last.ends_with("::") {
                last.push(' ');
            }
            last.push_str(line);
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The spans in backticks of a paragraph.
fn code_spans(paragraph: &str) -> Vec<&str> {
    paragraph.split('`').skip(1).step_by(2).collect()
}

/// The Rust path a span starts with (`a::b::c`, of two segments or
/// more), if it is one.
fn rust_path(span: &str) -> Option<Vec<&str>> {
    let end = span.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(span.len());
    let path = &span[..end];
    let rest = &span[end..];
    if !path.contains("::") || path.starts_with(':') || path.ends_with(':') || rest.starts_with(['*', '…'])
    {
        return None;
    }
    let segments: Vec<&str> = path.split("::").collect();
    let odd = |s: &&str| s.is_empty() || s.contains(':') || s.starts_with(|c: char| c.is_ascii_digit());
    if segments.iter().any(odd) || segments.iter().any(|s| PLACEHOLDERS.contains(s)) {
        return None;
    }
    // `KO::…`, `HH::MM`: words of the protocol or of a format, not Rust.
    if segments[0].chars().all(|c| c.is_ascii_uppercase() || c == '_') {
        return None;
    }
    Some(segments)
}

/// The extensions of the repository's own files a prose names (data files
/// a server writes, `users.csv`, are not the repository's).
const FILE_KINDS: [&str; 10] = [".rs", ".md", ".js", ".css", ".html", ".sql", ".toml", ".py", ".sh", ".json"];

/// The roots a path names from: one that starts with one of these is the
/// repository's, wherever it stands in the prose.
const ROOTS: [&str; 6] = ["src/", "tests/", "examples/", "docs/", "web/", ".ci/"];

/// Whether `path`, named in `file`, exists: from the repository's root,
/// from `src/`, or from `file`'s folder or one above it; a bare name
/// (`presence.rs`) anywhere under the folder that `file` is in (for a
/// document: anywhere).
fn file_exists(path: &str, file: &str, all: &[String]) -> bool {
    let root = Path::new(ROOT);
    let mut tries: Vec<PathBuf> = vec![root.join(path), root.join("src").join(path)];
    let mut dir = Path::new(file).parent();
    while let Some(d) = dir {
        tries.push(root.join(d).join(path));
        dir = d.parent();
    }
    if tries.iter().any(|p| p.exists()) {
        return true;
    }
    // A path from a folder the prose does not say (`requests/mod.rs`,
    // a bare `presence.rs`): a file of the repository that ends so. The
    // code does not point into the tests by a bare name.
    let trimmed = path.trim_end_matches('/');
    let from_src = file.starts_with("src/");
    all.iter()
        .filter(|f| !(from_src && f.starts_with("tests/")))
        .any(|f| f.ends_with(&format!("/{trimmed}")) || f.contains(&format!("/{trimmed}/")))
}

/// Everything that is named and is not there, as `file: name`.
fn stale_names() -> Vec<String> {
    let sources = Sources::read();
    let mut all = Vec::new();
    for dir in ["src", "tests", "examples", "docs", "web", ".ci"] {
        files_under(dir, &mut all);
    }
    let documents: Vec<String> = ["README.md".to_string()]
        .into_iter()
        .chain(
            all.iter()
                .filter(|f| {
                    let kind = [".rs", ".md", ".sql", ".js"].iter().any(|k| f.ends_with(k));
                    kind && !f.starts_with("tests/fixtures") && !f.starts_with("tests/data")
                })
                .cloned(),
        )
        .collect();
    let mut stale = Vec::new();
    for file in &documents {
        let text = read(file);
        let within = if file.ends_with(".rs") { module_of(file) } else { Vec::new() };
        let mut said = BTreeSet::new();
        for paragraph in prose_of(file, &text) {
            for span in code_spans(&paragraph) {
                let span = span.trim();
                if !said.insert(span.to_string()) {
                    continue;
                }
                if let Some(segments) = rust_path(span) {
                    let other = OTHER_CRATES.contains(&segments[0])
                        || STD_NAMES.contains(&segments[0])
                        || cargo_crates().iter().any(|c| c == segments[0]);
                    if !other && !sources.resolves(&segments, &within) {
                        stale.push(format!("{file}: `{span}`"));
                    }
                } else if is_file_name(span) && !file_exists(span, file, &all) {
                    stale.push(format!("{file}: `{span}`"));
                }
            }
            // Paths of the repository outside backticks too.
            for root in ROOTS {
                for (at, _) in paragraph.match_indices(root) {
                    let before = paragraph[..at].chars().last();
                    if before.is_some_and(|c| c.is_alphanumeric() || "/.~-_`$".contains(c)) {
                        continue;
                    }
                    let path: String = paragraph[at..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || "_./-".contains(*c))
                        .collect();
                    let path = path.trim_end_matches('.');
                    if path.contains(['<', '*']) || !said.insert(path.to_string()) {
                        continue;
                    }
                    if !Path::new(ROOT).join(path).exists() {
                        stale.push(format!("{file}: {path}"));
                    }
                }
            }
        }
    }
    stale
}

/// Whether a span in backticks is the name of a file of the repository
/// (a path of one of [`FILE_KINDS`], or a folder under one of [`ROOTS`]).
fn is_file_name(span: &str) -> bool {
    let plain = !span.is_empty()
        && !span.starts_with(['/', '.', '~'])
        && span.chars().all(|c| c.is_alphanumeric() || "_./-".contains(c));
    let stem = span.rsplit('/').next().unwrap().split('.').next().unwrap();
    if !plain || PLACEHOLDERS.contains(&stem) {
        return false;
    }
    // A bare name of a script or a page (`restart.sh`, `run.html`) is a
    // file the reader makes; one of code is the repository's.
    let kinds: &[&str] =
        if span.contains('/') { &FILE_KINDS } else { &[".rs", ".sql", ".js", ".css", ".md"] };
    kinds.iter().any(|k| span.ends_with(k))
        || (span.ends_with('/') && ROOTS.iter().any(|r| span.starts_with(r)))
}

/// The crates of Cargo.toml, as a path names them (`crossbeam_channel`).
fn cargo_crates() -> &'static Vec<String> {
    static CRATES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CRATES.get_or_init(|| {
        let manifest = read("Cargo.toml");
        let mut crates = Vec::new();
        let mut in_deps = false;
        for line in manifest.lines() {
            if line.starts_with('[') {
                in_deps = line.contains("dependencies");
                continue;
            }
            if in_deps && let Some((name, _)) = line.split_once('=') {
                let name = name.trim();
                if !name.is_empty() && !name.starts_with('#') {
                    crates.push(name.replace('-', "_"));
                }
            }
        }
        crates.push("md5".into()); // md-5's crate
        crates
    })
}

#[test]
fn every_file_module_and_item_the_prose_names_exists() {
    let stale = stale_names();
    assert!(stale.is_empty(), "{} names of what is not there:\n{}", stale.len(), stale.join("\n"));
}

#[test]
fn the_reader_of_names_finds_what_is_gone_and_only_that() {
    let sources = Sources::read();
    let at = |module: &str| -> Vec<String> {
        module.split("::").filter(|m| !m.is_empty()).map(str::to_string).collect()
    };
    let resolves = |path: &str, within: &str| sources.resolves(&rust_path(path).unwrap(), &at(within));
    // Modules, items, members; from the crate's root and from a neighbour.
    assert!(resolves("server::presence", ""));
    assert!(resolves("crate::store::local::LocalStore", "server"));
    assert!(resolves("Router::deliver", ""));
    assert!(resolves("requests::msg", "server::send"));
    assert!(resolves("super::Ctx", "server::requests"));
    assert!(resolves("Request::Marked", ""));
    assert!(resolves("Duration::MAX", ""));
    // What a design took with it.
    assert!(!resolves("cluster::dispatch", ""));
    assert!(!resolves("server::leader", ""));
    assert!(!resolves("Router::no_such_method", ""));
    assert!(!resolves("crate::store::export", "store"));
    assert!(!resolves("Gone::away", ""));
    // Files.
    let all = vec!["src/server/recv.rs".to_string(), "tests/store/upgrade.rs".to_string()];
    assert!(file_exists("src/server/recv.rs", "docs/READING.md", &all));
    assert!(file_exists("db/config.rs", "src/cluster/mod.rs", &all));
    assert!(!file_exists("src/server/leader.rs", "docs/READING.md", &all));
    assert!(!file_exists("upgrade.rs", "src/cluster/schema.sql", &all), "only the tests have one");
    // Prose: comments, a name broken across lines, spans.
    let prose = prose_of("src/a.rs", "let x = 1; // see `server::\n// presence` and src/lib.rs\nfn f() {}\n");
    assert_eq!(prose, ["see `server::presence` and src/lib.rs"]);
    assert_eq!(code_spans("a `b` c `d::e`"), ["b", "d::e"]);
    assert_eq!(rust_path("Request::Login { .. }"), Some(vec!["Request", "Login"]));
    assert_eq!(rust_path("KO:RATE_LIMITED"), None);
    assert_eq!(rust_path("protocol::DEFAULT_*"), None);
}
