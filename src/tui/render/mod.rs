//! Drawing the [`App`]: one pure function from the state to a frame, so
//! the render tests draw on ratatui's `TestBackend` what a terminal would
//! show. ratatui keeps the last frame and sends the terminal only the cells
//! that changed: a new tick rewrites three cells, not the screen.
//!
//! ```text
//! ┌ Chats ──────────────┐┌ bob · online ──────────────────────────────┐
//! │● bob           09:15││                ── today ──                 │
//! │  sí, a las 8     2  ││09:14 ¿vienes hoy?                          │
//! │  #general      09:20││                     sí, a las 8 09:15 ✓✓   │
//! └─────────────────────┘└────────────────────────────────────────────┘
//! ┌ message to bob ──────────────── Enter sends · Alt+Enter new line ─┐
//! │hola                                                               │
//! └───────────────────────────────────────────────────────────────────┘
//!  ● connected │ ana @ 127.0.0.1:6666 │ outbox 0 │ bell on    F1 keys
//! ```
//!
//! It works from 80×24 up; smaller, it still draws, cramped.

mod conversation;
mod found;
mod list;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::app::{App, ConnectionStatus, Focus, Geometry, PanelTop};
use super::text::{clean, one_line, truncate, width, wrap};
use crate::i18n::tr;
use crate::i18n::tui::Msg;

/// Most rows the input grows to; a longer draft scrolls.
const INPUT_ROWS: usize = 5;

/// Draws the whole screen; returns what scrolling needs to know.
pub fn draw(frame: &mut Frame, app: &App) -> Geometry {
    let area = frame.area();
    let input_width = area.width.saturating_sub(2) as usize;
    let (draft, cursor) = match &app.asking {
        // A dialog's hidden answer: a dot per character, never the text.
        Some(asking) if asking.question().hidden => {
            let dots = "•".repeat(app.editor.text().chars().count().min(input_width.saturating_sub(1)));
            let n = dots.chars().count();
            (vec![dots], (0, n))
        }
        _ => app.editor.rows(input_width),
    };
    let input_rows = draft.len().clamp(1, INPUT_ROWS) as u16;
    let line_rows = u16::from(app.line.is_some());
    let [main, line, input, status] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(line_rows),
        Constraint::Length(input_rows + 2),
        Constraint::Length(1),
    ])
    .areas(area);
    let list_width = (area.width * 3 / 10).clamp(20, 34).min(area.width / 2);
    let [left, right] = Layout::horizontal([Constraint::Length(list_width), Constraint::Min(10)]).areas(main);
    list::draw(frame, left, app);
    let (rows, lines) = conversation::draw(frame, right, app);
    if let Some((text, error)) = &app.line {
        let style = if *error { app.theme.bad() } else { Style::new() };
        frame.render_widget(Paragraph::new(Line::styled(one_line(text), style)), line);
    }
    draw_input(frame, input, app, &draft, cursor);
    draw_status(frame, status, app);
    let mut geometry = Geometry { rows, lines, ..Geometry::default() };
    if let Some(results) = &app.found {
        found::draw(frame, main, app, results);
    }
    if app.panel.is_some() {
        // Over the chats; over the whole screen when what it opens on
        // (the help, a long listing) would not fit there.
        let over = if panel_rows_from_top(app, main.width) + 2 > main.height as usize { area } else { main };
        (geometry.panel_rows, geometry.panel_lines, geometry.panel_top) = draw_panel(frame, over, app);
    }
    geometry
}

/// The input box: who the message goes to, the keys, the draft.
fn draw_input(frame: &mut Frame, area: Rect, app: &App, draft: &[String], cursor: (usize, usize)) {
    let title = match (&app.asking, &app.compose, &app.view) {
        (Some(asking), _, _) => {
            tr!(in app.lang; crate::i18n::account::Msg::SecretTitle, question = asking.question().text)
        }
        (None, Some(compose), _) => found::compose_title(app, compose),
        (None, None, Some(view)) => tr!(in app.lang; Msg::InputTo, chat = one_line(&view.chat.to_string())),
        (None, None, None) => Msg::InputNoChat.text(app.lang).to_string(),
    };
    let focused = app.focus == Focus::Input;
    let border = if focused { app.theme.focused() } else { Style::new() };
    let keys = Line::styled(format!(" {} ", Msg::InputKeys.text(app.lang)), app.theme.dim()).right_aligned();
    let block = Block::bordered().title(format!(" {title} ")).title_top(keys).border_style(border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The rows around the cursor, when the draft is longer than the box.
    let first = (cursor.0 + 1).saturating_sub(inner.height as usize);
    let shown: Vec<Line> = draft.iter().skip(first).map(|row| Line::raw(row.clone())).collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if focused && app.panel.is_none() && inner.height > 0 {
        let x = inner.x + (cursor.1 as u16).min(inner.width.saturating_sub(1));
        frame.set_cursor_position((x, inner.y + (cursor.0 - first) as u16));
    }
}

/// ` ● connected │ ana @ 127.0.0.1:6666 │ outbox 2 │ bell on       F1 keys `.
/// On a narrow screen the help key, then the bell, then who you are make
/// room for why the connection is down; the state and the outbox stay.
fn draw_status(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let lang = app.lang;
    let (mark, state, why, style) = match &app.link {
        ConnectionStatus::Connected => ("●", Msg::Connected, "", theme.online()),
        ConnectionStatus::Reconnecting(why) => ("○", Msg::Reconnecting, why.as_str(), theme.warn()),
        ConnectionStatus::Offline(why) => ("✗", Msg::OfflineStatus, why.as_str(), theme.bad()),
    };
    let bell = if app.bell { Msg::BellOn } else { Msg::BellOff };
    let state = format!(" {mark} {}", state.text(lang));
    let outbox = format!(" │ {} ", tr!(in lang; Msg::Outbox, n = app.pending));
    // Dropped from the first when there is no room.
    let mut optional = [
        format!(" {} ", Msg::HelpKey.text(lang)),
        format!("│ {} ", bell.text(lang)),
        format!(" │ {} @ {}", one_line(&app.me), one_line(&app.server)),
    ];
    let room = area.width as usize;
    let wanted = if why.is_empty() { 0 } else { 12 };
    let used = |optional: &[String; 3]| {
        width(&state) + width(&outbox) + optional.iter().map(|p| width(p)).sum::<usize>()
    };
    for i in 0..optional.len() {
        if used(&optional) + wanted > room {
            optional[i].clear();
        }
    }
    let used = used(&optional);
    let [help, bell, who] = optional;
    let why = match why {
        "" => String::new(),
        why => truncate(&format!(": {}", one_line(why)), room.saturating_sub(used)),
    };
    let gap = room.saturating_sub(used + width(&why));
    let outbox_style = if app.pending > 0 { theme.strong() } else { Style::new() };
    let line = Line::from(vec![
        Span::styled(state, style),
        Span::styled(why, style),
        Span::raw(who),
        Span::styled(outbox, outbox_style),
        Span::raw(bell),
        Span::raw(" ".repeat(gap)),
        Span::raw(help),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.status()), area);
}

/// How many rows the panel's lines take from the one it opened on, in a
/// panel `width` columns wide (borders included).
fn panel_rows_from_top(app: &App, width: u16) -> usize {
    let Some(PanelTop::Entry(first)) = app.panel else { return 0 };
    let inner = width.saturating_sub(2) as usize;
    app.log.iter().skip(first).map(|line| wrap(&clean(line), inner).len()).sum()
}

/// The panel of answers, notices and `--trace` frames, over the chats;
/// returns its rows, its lines and the line at its top.
fn draw_panel(frame: &mut Frame, area: Rect, app: &App) -> (usize, usize, usize) {
    let block = Block::bordered()
        .title(format!(" {} ", Msg::PanelTitle.text(app.lang)))
        .border_style(app.theme.focused());
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let mut rows = Vec::new();
    let mut top = 0;
    for (i, line) in app.log.iter().enumerate() {
        if app.panel == Some(PanelTop::Entry(i)) {
            top = rows.len();
        }
        rows.extend(wrap(&clean(line), inner.width as usize));
    }
    let height = inner.height as usize;
    let last = rows.len().saturating_sub(height);
    let top = match app.panel {
        Some(PanelTop::Row(row)) => row,
        _ => top,
    }
    .min(last);
    let shown: Vec<Line> = rows.into_iter().skip(top).take(height).map(Line::raw).collect();
    let total = last + height;
    frame.render_widget(Paragraph::new(shown), inner);
    (height, total, top)
}

#[cfg(test)]
mod tests;
