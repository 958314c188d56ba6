//! `--html FILE`: one self-contained page for a teacher: a table of the
//! cases, and for each failure a sequence diagram of the frames between
//! the suite's connections and the server, with their times (plain SVG
//! inside the page: no script, no style sheet or font from elsewhere).
//!
//! Every text from the server under test is escaped for HTML, and control
//! characters were already made visible by the transcript.

use std::fmt::Write as _;

use super::class::{ClassRow, Grade, Weights};
use super::wire::{Dir, TranscriptLine};
use super::{CaseOutcome, Status, report};

/// Escapes text for HTML and SVG.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.pass{color:#070}.fail{color:#b00;font-weight:bold}\
.skip{color:#888}svg text{font-family:monospace;font-size:12px}";

/// The page for one run.
pub fn page(title: &str, peer: &str, outcomes: &[CaseOutcome]) -> String {
    let (p, f, s) = report::counts(outcomes);
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>\n\
         <h1>{t}</h1>\n<p>{p} passed, {f} failed, {s} skipped.</p>\n<table><tr><th>case</th><th>section</th>\
         <th>level</th><th>result</th><th>ms</th></tr>\n",
        t = escape(title)
    );
    for (n, o) in outcomes.iter().enumerate() {
        let (class, word) = match &o.status {
            Status::Pass => ("pass", "pass".to_string()),
            Status::Fail(_) => ("fail", format!("<a href=\"#case{n}\">FAIL</a>")),
            Status::Skip(why) => ("skip", format!("skipped: {}", escape(why))),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td></tr>",
            escape(&o.id),
            escape(o.section),
            o.level.as_str(),
            o.ms
        );
    }
    out.push_str("</table>\n");
    for (n, o) in outcomes.iter().enumerate() {
        out.push_str(&failure_section(&format!("case{n}"), "h2", o, peer));
    }
    out.push_str("</body></html>\n");
    out
}

/// A failed case as a section of a page (`anchor` its id, `level` its
/// heading): what was expected and what came, then the sequence diagram,
/// which ends where the case did; nothing for a case that did not fail.
fn failure_section(anchor: &str, level: &str, o: &CaseOutcome, peer: &str) -> String {
    let Status::Fail(failure) = &o.status else { return String::new() };
    let mut lines = o.transcript.clone();
    let text = format!("FAILED here: expected {}, got {}", failure.expected, failure.got);
    lines.push(TranscriptLine { at_ms: o.ms, conn: "suite".into(), dir: Dir::Note, text });
    format!(
        "<{level} id=\"{anchor}\">{}</{level}>\n<p>{}. Expected <code>{}</code>, got <code>{}</code>.</p>\n{}\n",
        escape(&o.id),
        escape(o.section),
        escape(&failure.expected),
        escape(&failure.got),
        diagram(&lines, peer)
    )
}

/// The class (`--class`) as a page: one row per student (status, points,
/// the failing cases), each failing case a link to its transcript and
/// diagram further down the same page.
pub fn class_page(rows: &[ClassRow], weights: &Weights) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wachat conform: class</title>\
         <style>{STYLE}</style></head><body>\n<h1>wachat conform: class</h1>\n<table><tr><th>student</th>\
         <th>address</th><th>status</th><th>pass</th><th>fail</th><th>skip</th><th>points</th><th>failing</th></tr>\n"
    );
    for (s, row) in rows.iter().enumerate() {
        let (p, f, k) = match &row.checked {
            Grade::Ran(outcomes) => report::counts(outcomes),
            _ => (0, 0, 0),
        };
        let (points, max) = row.points(weights);
        let failing = match row.why_not() {
            Some(why) => escape(why),
            None => row
                .failing()
                .iter()
                .map(|o| format!("<a href=\"#s{s}-{}\">{}</a>", anchor_of(&o.id), escape(&o.id)))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let class = if row.status() == "passing" { "pass" } else { "fail" };
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#s{s}\">{}</a></td><td>{}</td><td class=\"{class}\">{}</td><td>{p}</td><td>{f}</td>\
             <td>{k}</td><td>{points:.1} / {max:.0}</td><td>{failing}</td></tr>",
            escape(&row.student),
            escape(&row.address),
            row.status(),
        );
    }
    out.push_str("</table>\n");
    for (s, row) in rows.iter().enumerate() {
        let _ = writeln!(out, "<h2 id=\"s{s}\">{} ({})</h2>", escape(&row.student), escape(&row.address));
        let groups = row
            .grades(weights)
            .into_iter()
            .filter_map(|g| Some((g.group.as_str().to_string(), g.points?, g.weight)));
        let cases = row.case_grades(weights).into_iter().filter_map(|c| Some((c.id, c.points?, c.weight)));
        let grades: Vec<String> = groups
            .chain(cases)
            .map(|(what, points, weight)| format!("{what} {points:.1}/{weight}"))
            .collect();
        let _ =
            writeln!(out, "<p>{}. {}</p>", row.status(), escape(row.why_not().unwrap_or(&grades.join(", "))));
        for o in row.failing() {
            out.push_str(&failure_section(&format!("s{s}-{}", anchor_of(&o.id)), "h3", o, "server"));
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// A case id as a fragment of a link: `auth/wrong-password` is
/// `auth-wrong-password` (only letters, digits and `-`).
fn anchor_of(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

const LANE: usize = 150;
const ROW: usize = 22;
const LEFT: usize = 70;

/// A sequence diagram: one lifeline per connection of the suite, one for
/// the other side (`peer`: the server, or the client) on the right, an arrow per frame, its time on the left.
pub fn diagram(lines: &[TranscriptLine], peer: &str) -> String {
    let mut lanes: Vec<&str> = Vec::new();
    for line in lines {
        if line.conn != "suite" && !lanes.contains(&line.conn.as_str()) {
            lanes.push(&line.conn);
        }
    }
    let server_x = LEFT + LANE * lanes.len().max(1) + 40;
    let x_of = |conn: &str| lanes.iter().position(|&l| l == conn).map_or(LEFT, |i| LEFT + LANE * i);
    let width = server_x + 520;
    let height = ROW * (lines.len() + 3);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n"
    );
    for (name, x) in lanes.iter().map(|l| (*l, x_of(l))).chain([(peer, server_x)]) {
        let _ = writeln!(
            svg,
            "<text x=\"{x}\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\
             <line x1=\"{x}\" y1=\"20\" x2=\"{x}\" y2=\"{height}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>",
            escape(name)
        );
    }
    for (i, line) in lines.iter().enumerate() {
        let y = ROW * (i + 2);
        let x = x_of(&line.conn);
        let text = escape(&line.text);
        let _ = write!(svg, "<text x=\"4\" y=\"{y}\" fill=\"#666\">{} ms</text>", line.at_ms);
        match line.dir {
            Dir::Sent | Dir::Got => {
                let (from, to, color) =
                    if line.dir == Dir::Sent { (x, server_x, "#036") } else { (server_x, x, "#060") };
                let head = if to > from { to - 8 } else { to + 8 };
                let _ = writeln!(
                    svg,
                    "<line x1=\"{from}\" y1=\"{y}\" x2=\"{to}\" y2=\"{y}\" stroke=\"{color}\"/>\
                     <polygon points=\"{to},{y} {head},{} {head},{}\" fill=\"{color}\"/>\
                     <text x=\"{}\" y=\"{}\" fill=\"{color}\">{text}</text>",
                    y - 4,
                    y + 4,
                    if line.dir == Dir::Sent { x + 6 } else { server_x + 6 },
                    y - 3
                );
            }
            Dir::Note => {
                let _ = writeln!(
                    svg,
                    "<text x=\"{}\" y=\"{y}\" fill=\"#a60\" font-style=\"italic\">-- {text}</text>",
                    x + 6
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_frame_is_text_in_the_page() {
        let line = TranscriptLine {
            at_ms: 3,
            conn: "a.send".into(),
            dir: Dir::Got,
            text: "<script>x</script>".into(),
        };
        let svg = diagram(&[line], "server");
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
        assert!(svg.contains(">3 ms<"));
    }
}
