//! `--html FILE`: the run as one self-contained page: the guarantees, a
//! strip of the whole run (faults and violations on a time line), and a
//! Lamport diagram of the users and the server around the first
//! violation (or of the run's first seconds when all held), with the
//! failing window shaded. Inline SVG; no script, nothing from elsewhere.

use std::fmt::Write as _;

use super::check::Verdict;
use super::history::{Recording, Way};
use crate::conform::html::escape;

/// Most frames the diagram draws (the page stays readable and small).
const MAX_ROWS: usize = 400;
/// Frames drawn before the first one of the violation.
const CONTEXT: usize = 40;
const ROW: usize = 16;
const COL: usize = 110;
const STYLE: &str = "body{font-family:sans-serif;margin:2em}.held{color:#070}.violated{color:#b00;font-weight:bold}\
svg text{font-family:monospace;font-size:11px}";

pub fn page(title: &str, run: &Recording, verdicts: &[Verdict]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>\n<h1>{t}</h1>\n<ul>\n",
        t = escape(title)
    );
    for v in verdicts {
        let (class, word) = if v.violations.is_empty() {
            ("held", "held".to_string())
        } else {
            ("violated", format!("VIOLATED {} times", v.violations.len()))
        };
        let first = v
            .violations
            .first()
            .map(|e| format!(": first at {:.3} s, {}", e.at_us as f64 / 1e6, escape(&e.what)));
        let _ = writeln!(
            out,
            "<li><b>{}</b> <span class=\"{class}\">{word}</span>{}</li>",
            v.name,
            first.unwrap_or_default()
        );
    }
    out.push_str("</ul>\n<h2>The run</h2>\n");
    out.push_str(&strip(run, verdicts));
    out.push_str("<h2>Lamport diagram</h2>\n");
    out.push_str(&diagram(run, verdicts));
    out.push_str("</body></html>\n");
    out
}

/// The whole run on one line of time: faults as bars, violations as marks.
fn strip(run: &Recording, verdicts: &[Verdict]) -> String {
    let width = 1000.0;
    let total = run.duration_us.max(1) as f64;
    let x = |us: u64| 10.0 + width * us as f64 / total;
    let lanes = run.names.len() + 2;
    let mut svg = format!("<svg width=\"1040\" height=\"{}\">\n", lanes * ROW + 30);
    for (i, name) in
        run.names.iter().chain(["server".to_string(), "violations".to_string()].iter()).enumerate()
    {
        let _ = writeln!(svg, "<text x=\"{}\" y=\"{}\">{}</text>", x(0), (i + 1) * ROW - 4, escape(name));
    }
    for f in &run.faults {
        let lane = f.user.unwrap_or(run.names.len());
        let (x0, x1) = (x(f.from_us), x(f.to_us));
        let _ = writeln!(
            svg,
            "<rect x=\"{x0:.1}\" y=\"{}\" width=\"{:.1}\" height=\"10\" fill=\"#f0a030\" opacity=\"0.6\"><title>{} at {:.3} s</title></rect>",
            lane * ROW + 4,
            (x1 - x0).max(2.0),
            escape(&f.what),
            f.from_us as f64 / 1e6
        );
    }
    for v in verdicts {
        for e in v.violations.iter().take(50) {
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{}\" width=\"3\" height=\"12\" fill=\"#c00\"><title>{}: {}</title></rect>",
                x(e.at_us),
                (lanes - 1) * ROW + 2,
                v.name,
                escape(&e.what)
            );
        }
    }
    let _ =
        writeln!(svg, "<text x=\"10\" y=\"{}\">0 s … {:.1} s</text>\n</svg>", lanes * ROW + 20, total / 1e6);
    svg
}

/// The frames around the first violation, as arrows between the users'
/// lines and the server's, one row each in the order they happened.
fn diagram(run: &Recording, verdicts: &[Verdict]) -> String {
    let first = verdicts.iter().filter_map(|v| v.violations.first()).min_by_key(|e| e.at_us);
    let marked: Vec<usize> = first.map(|e| e.frames.clone()).unwrap_or_default();
    // A few dozen frames of what led to it, then the violation near the top.
    let lo = marked.iter().copied().min().unwrap_or(0).saturating_sub(CONTEXT);
    let rows: Vec<usize> = (lo..run.frames.len()).take(MAX_ROWS).collect();
    let server_x = 40 + COL * run.names.len() + 200;
    let height = (rows.len() + 3) * ROW;
    let mut svg = format!("<svg width=\"{}\" height=\"{height}\">\n", server_x + 480);
    let lane_x = |u: usize| 40 + COL * u;
    for (u, name) in run.names.iter().enumerate() {
        line_with_name(&mut svg, lane_x(u), height, name);
    }
    line_with_name(&mut svg, server_x, height, "server");
    if let (Some(a), Some(b)) = (marked.iter().min(), marked.iter().max()) {
        // A violation longer than the diagram is shaded to its last row.
        let last = rows.len().saturating_sub(1);
        let row = |f: &usize| Some(rows.iter().position(|r| r == f).unwrap_or(last));
        let (ya, yb) = (row_y(row(a)), row_y(row(b)));
        let _ = writeln!(
            svg,
            "<rect x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fdd\"/>",
            ya - ROW / 2,
            server_x + 480,
            yb - ya + ROW
        );
    }
    for (row, &f) in rows.iter().enumerate() {
        let frame = &run.frames[f];
        let (ux, y) = (lane_x(frame.user), row_y(Some(row)));
        let color = if marked.contains(&f) {
            "#c00"
        } else if frame.dir == Way::Out {
            "#246"
        } else {
            "#484"
        };
        let (x1, y1, x2, y2) = match frame.dir {
            Way::Out => (ux, y - 6, server_x, y),
            Way::In => (server_x, y - 6, ux, y),
        };
        let _ = writeln!(
            svg,
            "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"{color}\" marker-end=\"url(#a)\"/>\
             <text x=\"{}\" y=\"{y}\" fill=\"{color}\">{}</text>",
            server_x + 8,
            escape(&frame.show(&run.names))
        );
    }
    svg.push_str("<defs><marker id=\"a\" markerWidth=\"6\" markerHeight=\"6\" refX=\"6\" refY=\"3\" orient=\"auto\"><path d=\"M0,0 L6,3 L0,6 z\"/></marker></defs>\n</svg>\n");
    svg
}

fn row_y(row: Option<usize>) -> usize {
    (row.unwrap_or(0) + 2) * ROW
}

fn line_with_name(svg: &mut String, x: usize, height: usize, name: &str) {
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"12\">{}</text><line x1=\"{x}\" y1=\"18\" x2=\"{x}\" y2=\"{height}\" stroke=\"#999\"/>",
        x.saturating_sub(30),
        escape(name)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::check::Example;
    use crate::chaos::history::Observed;
    use crate::protocol::Port;

    #[test]
    fn a_violation_longer_than_the_diagram_is_shaded_to_its_last_row() {
        let frame = |at: usize| Observed {
            at_us: at as u64,
            user: 0,
            device: None,
            conn: 1,
            port: Port::Receive,
            dir: Way::In,
            text: format!("PING {at}"),
        };
        let run = Recording {
            names: vec!["u0".into()],
            homes: vec![],
            room_homes: vec![],
            devices: 1,
            rooms: vec![],
            frames: (0..2000).map(frame).collect(),
            faults: vec![],
            listings: vec![],
            duration_us: 2000,
            failovers: 0,
        };
        let far = Example { at_us: 1500, what: "far apart".into(), frames: vec![100, 1500] };
        let verdicts = [Verdict { name: "lost", promise: "", violations: vec![far] }];
        let page = page("t", &run, &verdicts);
        let rect = page.split("<rect x=\"0\"").nth(1).expect("the shaded window");
        let height: usize =
            rect.split("height=\"").nth(1).and_then(|h| h.split('"').next()).unwrap().parse().unwrap();
        assert!(height <= MAX_ROWS * ROW, "{height}");
    }
}
