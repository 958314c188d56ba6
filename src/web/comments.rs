//! What the web port sends of a JavaScript file: the file without its
//! whole-line comments.
//!
//! The files in `web/` are written to be read, as the Rust is: a comment
//! above most functions, a paragraph at the top of each module. About a
//! sixth of their bytes are those comments, and a phone on a slow link
//! need not fetch them (issue 41's budget: under 120 KB for the first
//! load). So the server sends each script once stripped, computed at the
//! first request ([`assets::body`](super::assets::body)); `web/` keeps
//! every word, and that is where a reader reads them.
//!
//! Only whole lines go, so that no code can change:
//!
//! - a line whose first characters (after spaces) are `//`;
//! - the lines of a `/* … */` or `/** … */` block that starts a line and
//!   ends one;
//! - never a comment after code on its line, and never a line inside a
//!   template literal (`` `…` `` over several lines, whose lines are a
//!   string's characters, whatever they look like).
//!
//! Anything else (a block closed with code after it on its line) is sent
//! as it is: the worst a surprise can do is keep a comment.

/// `source` without its whole-line comments (see the module's doc).
pub fn strip(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let (mut in_block, mut in_template) = (false, false);
    for line in source.split_inclusive('\n') {
        let text = line.trim_start();
        if in_block {
            // A block ends on the line holding `*/`; code after it stays.
            if let Some(end) = text.find("*/") {
                in_block = false;
                let rest = &text[end + 2..];
                if !rest.trim().is_empty() {
                    out.push_str(rest);
                }
            }
            continue;
        }
        if !in_template && text.starts_with("//") {
            continue;
        }
        if !in_template && text.starts_with("/*") && block_ends_line(text) {
            in_block = !text[2..].contains("*/");
            continue;
        }
        in_template ^= backticks(line) % 2 == 1;
        out.push_str(line);
    }
    out
}

/// True if the block comment opening `text` closes at the end of a line
/// (this one or a later one): false only for `/* … */ code`, kept whole.
fn block_ends_line(text: &str) -> bool {
    match text[2..].find("*/") {
        Some(end) => text[2 + end + 2..].trim().is_empty(),
        None => true,
    }
}

/// The template literal's quotes on a line of code, leaving out a `\``
/// (an escaped one inside a literal) and any after a `//` comment.
fn backticks(line: &str) -> usize {
    let code = match line.find("//") {
        // A `//` inside a string ("http://…") is not a comment; counting
        // the whole line there is the safe side (the literal stays open
        // only if its quotes are odd, as they would be anyway).
        Some(at) if !line[..at].contains(['\'', '"', '`']) => &line[..at],
        _ => line,
    };
    code.matches('`').count() - code.matches("\\`").count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_line_comments_go_and_everything_else_stays() {
        let source = "// a module's doc\n\
                      import { t } from './i18n.js';\n\
                      \n\
                      /**\n \
                      * A function's doc.\n \
                      */\n\
                      export function f(x) {\n  \
                      // a comment inside\n  \
                      const url = 'http://example'; // kept: after code\n  \
                      /* a short one */\n  \
                      return x * 2; /* kept too */\n\
                      }\n\
                      /* before */ const y = 1;\n";
        assert_eq!(
            strip(source),
            "import { t } from './i18n.js';\n\
             \n\
             export function f(x) {\n  \
             const url = 'http://example'; // kept: after code\n  \
             return x * 2; /* kept too */\n\
             }\n\
             /* before */ const y = 1;\n"
        );
    }

    #[test]
    fn a_template_literal_over_several_lines_keeps_its_lines() {
        let source =
            "const page = `<p>\n// not a comment here\n/* nor here */\n</p>`;\n// this one goes\nf();\n";
        assert_eq!(strip(source), "const page = `<p>\n// not a comment here\n/* nor here */\n</p>`;\nf();\n");
    }

    #[test]
    fn a_block_that_closes_before_code_keeps_the_code() {
        assert_eq!(strip("/* one\n   two */ const z = 3;\nz;\n"), " const z = 3;\nz;\n");
    }

    /// The app's own scripts: stripping removes only comment lines (every
    /// line sent is a line of the file, in order).
    #[test]
    fn the_apps_scripts_lose_only_comment_lines() {
        for asset in super::super::assets::ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let source = std::str::from_utf8(asset.source).unwrap();
            let sent = strip(source);
            let mut lines = source.lines();
            for kept in sent.lines() {
                let found = lines.by_ref().find(|line| *line == kept);
                assert!(found.is_some(), "{}: {kept:?} is not a line of the file", asset.path);
            }
            for line in source.lines().filter(|line| !sent.lines().any(|kept| kept == *line)) {
                let text = line.trim_start();
                assert!(
                    text.starts_with("//") || text.starts_with("/*") || text.starts_with('*'),
                    "{}: {line:?} was dropped",
                    asset.path
                );
            }
        }
    }
}
