//! Functions of a Rust source file and their lengths, read as text: what
//! `examples/code_figures.rs` counts and `tests/tools/reading.rs` checks the
//! reading path with. A function is counted from its `fn` line to its
//! closing brace, by counting braces outside comments, strings and
//! character literals; `#[cfg(test)]` items are left out.

/// Every function of `text` with a body, outside `#[cfg(test)]` modules:
/// its name and its lines, from `fn` to the closing brace.
pub fn functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let code: Vec<String> = code_only(text);
    let mut found = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        if lines[at].starts_with("#[cfg(test)]") {
            // A test module, or one test item (a `use` has no body: skipped alone).
            at = end_of_item(&code, at + 1).map_or(at + 2, |end| end + 1);
            continue;
        }
        if let Some(name) = fn_name(&code[at])
            && let Some(end) = end_of_item(&code, at)
        {
            found.push((name, end - at + 1));
        }
        at += 1;
    }
    found
}

/// The name of the function declared on this line, if one is.
fn fn_name(line: &str) -> Option<String> {
    let mut rest = line.trim_start();
    for prefix in ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", "unsafe "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    if rest.starts_with("pub(in ") {
        rest = rest.split_once(") ")?.1;
    }
    let rest = rest.strip_prefix("fn ")?;
    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

/// The line where the item starting at `start` ends: its closing brace,
/// or `None` if it has no body (a `;` comes first).
fn end_of_item(code: &[String], start: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut opened = false;
    for (n, line) in code.iter().enumerate().skip(start) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                ';' if !opened => return None,
                _ => {}
            }
            if opened && depth == 0 {
                return Some(n);
            }
        }
    }
    None
}

/// The text's lines with comments, strings and character literals
/// blanked out, so that only the code's own braces are left.
fn code_only(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_string = false;
    let mut in_block_comment = 0;
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        let mut code = String::new();
        let mut i = 0;
        while i < chars.len() {
            let (c, next) = (chars[i], chars.get(i + 1).copied());
            if in_block_comment > 0 {
                if c == '*' && next == Some('/') {
                    in_block_comment -= 1;
                    i += 1;
                }
            } else if in_string {
                if c == '\\' {
                    i += 1;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '/' && next == Some('/') {
                break;
            } else if c == '/' && next == Some('*') {
                in_block_comment += 1;
                i += 1;
            } else if c == '"' {
                in_string = true;
            } else if c == '\'' && char_literal_len(&chars[i..]).is_some() {
                i += char_literal_len(&chars[i..]).unwrap_or(1) - 1;
            } else {
                code.push(c);
            }
            i += 1;
        }
        out.push(code);
    }
    out
}

/// The length of the character literal at the start of `chars` (`'{'`,
/// `'\n'`, `'\u{7b}'`), or `None` for a lifetime (`'a`).
fn char_literal_len(chars: &[char]) -> Option<usize> {
    match chars {
        ['\'', '\\', rest @ ..] => rest.iter().position(|&c| c == '\'').map(|p| p + 3),
        ['\'', _, '\'', ..] => Some(3),
        _ => None,
    }
}

/// A stop of docs/READING.md: `N. **`path` — `Type::function`**`.
pub fn stop(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().trim_start_matches(|c: char| c.is_ascii_digit()).strip_prefix(". **`")?;
    let (path, rest) = rest.split_once("` — `")?;
    let (function, _) = rest.split_once("`**")?;
    Some((path.to_string(), function.rsplit("::").next()?.to_string()))
}
