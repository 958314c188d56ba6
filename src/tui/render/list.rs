//! The chat list (left pane): two rows a chat.
//!
//! ```text
//! ● bob [p2p]    09:15      online dot, name, direct chat, time of the last message
//!   ✓✓ sí, a las 8   2      the last message (your ticks first), unread badge
//! ● #lab 📌 🔕   09:10      1.2: pinned (on top), muted (🔕) or mentions only (@)
//!   …
//! Archived (2)              1.2 (§23): the archived chats, last, under their count
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::super::app::{App, Focus};
use super::super::text::{one_line, truncate, width};
use crate::client::ChatSummary;
use crate::display::local_time;
use crate::i18n::console::{Msg as Words, ticks};
use crate::i18n::tr;
use crate::i18n::tui::Msg;
use crate::protocol::names::fold;
use crate::protocol::{Chat, MsgState};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let border = if app.focus == Focus::List { theme.focused() } else { Style::new() };
    let block = Block::bordered().title(format!(" {} ", Msg::ChatsTitle.text(app.lang))).border_style(border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let chats = app.chats.chats();
    if chats.is_empty() {
        let hint = super::super::text::wrap(Msg::NoChats.text(app.lang), inner.width as usize);
        let lines: Vec<Line> = hint.into_iter().map(|l| Line::styled(l, theme.dim())).collect();
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    // 1.2 (§23): the archived chats come last, under a heading row.
    let filed = app.chats.archived_count();
    let heading = chats.len() - filed;
    let top_row = |i: usize| 2 * i + usize::from(filed > 0 && i >= heading);
    let height = inner.height as usize;
    // The chosen chat's two rows are on screen, at the bottom if need be.
    let first = (top_row(app.selected) + 2).saturating_sub(height);
    let shown = first..first + height;
    let mut lines = Vec::new();
    for (i, chat) in chats.iter().enumerate() {
        if filed > 0 && i == heading && shown.contains(&(top_row(i) - 1)) {
            let title = tr!(in app.lang; Msg::ArchivedTitle, n = filed);
            lines.push(Line::styled(truncate(&title, inner.width as usize), theme.dim()));
        }
        if top_row(i) + 2 <= first {
            continue;
        }
        if top_row(i) >= shown.end {
            break;
        }
        if top_row(i) < first {
            lines.push(Line::raw("")); // half a chat would be a preview without its name
            continue;
        }
        let [top, bottom] = rows(app, chat, inner.width as usize);
        let chosen = i == app.selected;
        lines.extend([top, bottom].map(|l| if chosen { l.patch_style(theme.selected()) } else { l }));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The two rows of one chat, `width` columns each.
fn rows(app: &App, c: &ChatSummary, width_: usize) -> [Line<'static>; 2] {
    let theme = app.theme;
    let lang = app.lang;
    let direct = matches!(&c.chat, Chat::User(peer) if app.direct.contains(&fold(peer)));
    let name_style = if c.unread > 0 { theme.strong() } else { Style::new() };
    let dot = match c.online {
        Some(true) => Span::styled("● ", theme.online()),
        _ => Span::raw("  "),
    };
    let time = c.last.as_ref().map_or_else(String::new, |m| short_time(app, m.ts));
    // 1.2 (§22): a pin, and a level other than `all`, after the name.
    let pref = app.chats.pref(&c.chat);
    let level = match pref.level {
        crate::protocol::Level::All => "",
        crate::protocol::Level::Mentions => " @",
        crate::protocol::Level::None => " 🔕",
    };
    let pin = if pref.pinned { " 📌" } else { "" };
    let p2p = format!("{}{pin}{level}", if direct { " [p2p]" } else { "" });
    let p2p = p2p.as_str();
    let room = width_.saturating_sub(2 + width(p2p) + width(&time) + 1);
    let name = truncate(&one_line(&c.chat.to_string()), room);
    let gap = width_.saturating_sub(2 + width(&name) + width(p2p) + width(&time));
    let top = Line::from(vec![
        dot,
        Span::styled(name, name_style),
        Span::styled(p2p.to_string(), theme.p2p()),
        Span::raw(" ".repeat(gap)),
        Span::styled(time, theme.dim()),
    ]);

    let badge = if c.unread > 0 { format!(" {} ", c.unread) } else { String::new() };
    let mut spans = vec![Span::raw("  ")];
    let mut used = 2;
    if let Some(m) = &c.last {
        if m.is_from(&app.me) {
            let mark = match &m.refused {
                Some(_) => Span::styled("✗ ", theme.bad()),
                None => Span::styled(format!("{} ", ticks(lang, m.state)), tick_style(app, m.state)),
            };
            used += width(&mark.content);
            spans.push(mark);
        } else if matches!(c.chat, Chat::Room(_)) {
            let who = format!("{}: ", one_line(&m.from));
            used += width(&who);
            spans.push(Span::raw(who));
        }
        let room = width_.saturating_sub(used + width(&badge) + 1);
        let preview = truncate(&one_line(&m.text.unescaped()), room);
        used += width(&preview);
        spans.push(Span::styled(preview, theme.dim()));
    }
    spans.push(Span::raw(" ".repeat(width_.saturating_sub(used + width(&badge)))));
    spans.push(Span::styled(badge, theme.badge()));
    [top, Line::from(spans)]
}

/// `09:15` today, `yesterday`, else the date: what fits a list.
fn short_time(app: &App, ts: u64) -> String {
    let t = local_time(ts);
    if t.same_day(&local_time(app.now)) {
        return t.clock();
    }
    if t.same_day(&local_time(app.now.saturating_sub(24 * 60 * 60 * 1000))) {
        return Words::Yesterday.text(app.lang).to_string();
    }
    t.date()
}

/// Ticks are dim until read, which is in colour (or bold).
pub fn tick_style(app: &App, state: MsgState) -> Style {
    if state == MsgState::Read { app.theme.read() } else { app.theme.ticks() }
}
