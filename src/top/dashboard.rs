//! The full screen of `wachat top`: a scrape every interval, drawn with
//! ratatui (only the cells that change reach the terminal, which keeps
//! it light over SSH); `q`, Esc or Ctrl+C quits.
//!
//! ```text
//!  wachat top: 127.0.0.1:9100 — every 1.0 s — q quits
//! ┌messages/s 212.0 (5301 total)─────────────────────────────────┐
//! │▁▂▃▅▇█▇▅▃▂▁                                                  │
//! └──────────────────────────────────────────────────────────────┘
//! ┌deliveries/s 212.0 (5301 total)───────────────────────────────┐
//! └──────────────────────────────────────────────────────────────┘
//!  request        p50 0.41 ms   p99 2.3 ms
//!  …
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};

use super::figures::Figures;
use super::scrape::{self, Scrape};
use crate::error::Result;
use crate::tui::screen::{Screen, terminal_error};

/// Points kept for the sparklines: more than any terminal is wide.
const HISTORY: usize = 512;

/// What the screen shows.
#[derive(Default)]
struct View {
    last: Option<Scrape>,
    figures: Option<Figures>,
    messages: VecDeque<u64>,
    deliveries: VecDeque<u64>,
    /// Why the last scrape failed (the view keeps its last figures).
    error: Option<String>,
}

impl View {
    fn scrape(&mut self, addr: &str) {
        match scrape::fetch(addr, super::SCRAPE_TIMEOUT) {
            Ok(now) => {
                let figures = Figures::new(self.last.as_ref(), &now);
                if self.last.is_some() {
                    push(&mut self.messages, figures.messages_per_s);
                    push(&mut self.deliveries, figures.deliveries_per_s);
                }
                self.figures = Some(figures);
                self.last = Some(now);
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }
}

fn push(history: &mut VecDeque<u64>, value: f64) {
    if history.len() == HISTORY {
        history.pop_front();
    }
    history.push_back(value.round() as u64);
}

/// Runs the dashboard until the user quits.
pub fn run(addr: &str, interval: Duration) -> Result<()> {
    // The full-screen console's terminal handling: the alternate screen
    // and raw mode, given back when `screen` is dropped, or on a panic.
    let mut screen = Screen::enter()?;
    watch(&mut screen, addr, interval)
}

fn watch(screen: &mut Screen, addr: &str, interval: Duration) -> Result<()> {
    let mut view = View::default();
    let mut next = Instant::now();
    loop {
        if Instant::now() >= next {
            view.scrape(addr);
            next = Instant::now() + interval;
        }
        screen.draw_with(|frame| draw(frame, &view, addr, interval))?;
        let wait = next.saturating_duration_since(Instant::now());
        if event::poll(wait).map_err(terminal_error)?
            && let Event::Key(key) = event::read().map_err(terminal_error)?
            && key.kind != KeyEventKind::Release
        {
            let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
            if ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                return Ok(());
            }
        }
    }
}

fn draw(frame: &mut ratatui::Frame, view: &View, addr: &str, interval: Duration) {
    let [title, messages, deliveries, rest] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Min(0),
    ])
    .areas(frame.area());
    let status = match &view.error {
        Some(e) => format!(" — {e}"),
        None => String::new(),
    };
    // A row wider than the terminal is cut with `…`, so that it shows it was.
    let fit =
        |line: String, area: ratatui::layout::Rect| crate::tui::text::truncate(&line, area.width.into());
    let header = format!(" wachat top: {addr} — every {:.1} s — q quits{status}", interval.as_secs_f64());
    frame.render_widget(Paragraph::new(fit(header, title)), title);
    let figures = view.figures.clone().unwrap_or_default();
    for (area, label, rate, total, history) in [
        (messages, "messages/s", figures.messages_per_s, figures.messages, &view.messages),
        (deliveries, "deliveries/s", figures.deliveries_per_s, figures.deliveries, &view.deliveries),
    ] {
        // The newest points that fit, right-aligned as time goes on.
        let width = area.width.saturating_sub(2) as usize;
        let data: Vec<u64> = history.iter().skip(history.len().saturating_sub(width)).copied().collect();
        let block =
            Block::default().borders(Borders::ALL).title(format!("{label} {rate:.1} ({total} total)"));
        frame.render_widget(Sparkline::default().block(block).data(&data), area);
    }
    let lines: Vec<Line> =
        figures.lines().into_iter().skip(2).map(|l| Line::from(fit(format!(" {l}"), rest))).collect();
    frame.render_widget(Paragraph::new(lines), rest);
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    #[test]
    fn a_row_wider_than_the_terminal_ends_in_an_ellipsis() {
        let mut terminal = Terminal::new(TestBackend::new(30, 24)).unwrap();
        let view = super::View::default();
        terminal
            .draw(|frame| super::draw(frame, &view, "127.0.0.1:9100", super::Duration::from_secs(1)))
            .unwrap();
        let buffer = terminal.backend().buffer();
        let row = |y: u16| (0..30).map(|x| buffer[(x, y)].symbol()).collect::<String>();
        assert_eq!(row(0), " wachat top: 127.0.0.1:9100 —…", "the header, cut");
        let rows: Vec<String> = (11..24).map(row).collect();
        let logins = rows.iter().find(|r| r.starts_with(" logins")).expect("a logins row");
        assert!(logins.ends_with('…'), "{rows:#?}");
        assert!(rows.iter().any(|r| r.starts_with(" inbox events   0") && !r.contains('…')), "{rows:#?}");
    }
}
