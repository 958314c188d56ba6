//! The open conversation (right pane), WhatsApp's way: messages from
//! others on the left, with their time (and their sender, in a room);
//! yours on the right, ending in their time and ticks, which change in
//! place; a date line before each day; the "unread" line where you left
//! off; notices (`bob is online`) between the messages, in their time.
//!
//! ```text
//!                  ── today ──
//! 09:14 carl: who's up for lunch?
//!                                     me! 09:15 ✓
//!            ── 2 unread message(s) ──
//! ```

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::super::app::App;
use super::super::conversation::{ChatView, Divider, Top};
use super::super::text::{clean, one_line, width, wrap};
use super::list::tick_style;
use crate::client::Message;
use crate::client::fold::Folded;
use crate::display::local_time;
use crate::i18n::console::ticks;
use crate::i18n::tr;
use crate::i18n::tui::Msg;
use crate::protocol::Chat;
use crate::protocol::names::fold;

/// Columns of `HH:MM ` before a message from someone else.
const TIME: usize = 6;

/// Draws the open chat in `area`; returns the rows shown and the lines
/// the conversation has, for scrolling.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) -> (usize, usize) {
    let Some(view) = &app.view else {
        let block = Block::bordered();
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let hint = wrap(Msg::PickAChat.text(app.lang), inner.width as usize);
        let lines: Vec<Line> = hint.into_iter().map(|l| Line::styled(l, app.theme.dim())).collect();
        let top = inner.height.saturating_sub(lines.len() as u16) / 2;
        let at = Rect { y: inner.y + top, height: inner.height - top, ..inner };
        frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center), at);
        return (inner.height as usize, 0);
    };
    let block = Block::bordered().title(Line::from(title(app, view)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (mut lines, chosen) = lines_and_choice(app, view, inner.width as usize, inner.height as usize);
    let (rows, total) = (inner.height as usize, lines.len());
    // Few lines sit at the bottom, above the input, as in a phone.
    let pad = rows.saturating_sub(total);
    if total < rows {
        let mut padded = vec![Line::raw(""); rows - total];
        padded.append(&mut lines);
        lines = padded;
    }
    let mut first = lines.len().saturating_sub(rows + view.scroll.min(total.saturating_sub(rows)));
    // 1.2: the chosen message in sight (its first rows, if it is taller).
    if let Some(range) = chosen.map(|r| r.start + pad..r.end + pad) {
        if range.start < first {
            first = range.start;
        } else if range.end > first + rows {
            first = range.end.saturating_sub(rows).min(range.start);
        }
    }
    frame.render_widget(Paragraph::new(lines).scroll((first as u16, 0)), inner);
    (rows, total)
}

/// ` bob [p2p] · online `
fn title(app: &App, view: &ChatView) -> Vec<Span<'static>> {
    let mut spans = vec![Span::styled(format!(" {}", one_line(&view.chat.to_string())), app.theme.strong())];
    if matches!(&view.chat, Chat::User(peer) if app.direct.contains(&fold(peer))) {
        spans.push(Span::styled(" [p2p]", app.theme.p2p()));
    }
    // 1.2: a room's 📢, topic and your mute.
    for part in app.rooms.get(&view.chat).map(|h| h.parts(app.lang)).unwrap_or_default() {
        spans.push(Span::styled(format!(" · {}", one_line(&part)), app.theme.dim()));
    }
    if let Some(p) = view.presence {
        spans.push(Span::styled(
            format!(" · {}", crate::console::view::presence(app.lang, p, app.now)),
            app.theme.dim(),
        ));
    }
    if let Some(from) = app.typing_in(&view.chat) {
        let typing = crate::i18n::console::Msg::Typing;
        spans.push(Span::styled(
            format!(" · {}", tr!(in app.lang; typing, user = one_line(from))),
            app.theme.dim(),
        ));
    }
    spans.push(Span::raw(" "));
    spans
}

/// Something shown in time order: a message, or a notice about the chat.
enum Item<'a> {
    Message(&'a Folded),
    Note(&'a str),
}

/// The lines of [`lines_and_choice`] alone, for the tests.
#[cfg(test)]
pub fn lines(app: &App, view: &ChatView, width_: usize, pane_rows: usize) -> Vec<Line<'static>> {
    lines_and_choice(app, view, width_, pane_rows).0
}

/// The whole conversation as lines of `width` columns, for a pane of
/// `pane_rows` rows: a message taller than the pane shows its first rows
/// and how many more it has ([`cap`]), so that one message of 2,000 lines
/// cannot bury the conversation; and which of the lines the chosen
/// message (1.2, `select.rs`) has.
fn lines_and_choice(
    app: &App,
    view: &ChatView,
    width_: usize,
    pane_rows: usize,
) -> (Vec<Line<'static>>, Option<std::ops::Range<usize>>) {
    let shown = view.shown();
    let mut chosen = None;
    let max_rows = pane_rows.saturating_sub(2).max(3);
    let theme = app.theme;
    let mut lines = Vec::new();
    let top = match view.top {
        Top::More => None,
        Top::Loading => Some(Msg::LoadingOlder.text(app.lang).to_string()),
        Top::Start => Some(format!("── {} ──", Msg::StartOfChat.text(app.lang))),
        Top::ServerLimit => Some(tr!(in app.lang; Msg::ServerListsAtMost, n = crate::protocol::MAX_HISTORY)),
        Top::Offline => Some(Msg::OlderWhenOnline.text(app.lang).to_string()),
    };
    if let Some(top) = top {
        lines.push(centred(top, theme.dim()));
    }
    let mut items: Vec<(u64, Item)> = shown.iter().map(|f| (f.message.ts, Item::Message(f))).collect();
    for note in app.notes.of(&view.chat) {
        let at = items.partition_point(|(ts, _)| *ts <= note.ts);
        items.insert(at, (note.ts, Item::Note(&note.text)));
    }
    let mut day = None;
    for (ts, item) in items {
        let f = match item {
            Item::Note(text) => {
                for line in wrap(&clean(text), width_) {
                    lines.push(centred(line, theme.note()));
                }
                continue;
            }
            Item::Message(f) => f,
        };
        let m = &f.message;
        let t = local_time(ts);
        if !day.is_some_and(|d: crate::display::LocalTime| d.same_day(&t)) {
            day = Some(t);
            lines.push(centred(crate::console::view::date_line(app.lang, &t, app.now), theme.dim()));
        }
        if let Divider::At { from, id, n } = &view.divider
            && fold(&m.from) == *from
            && m.id == *id
        {
            let text = format!("── {} ──", tr!(in app.lang; Msg::UnreadDivider, n = n));
            lines.push(centred(text, theme.divider()));
        }
        // The local time is looked up once per message (`localtime_r`).
        let clock = t.clock();
        let start = lines.len();
        let m = &marked(app, f);
        if m.is_from(&app.me) {
            mine(app, m, &clock, width_, max_rows, &mut lines);
        } else {
            theirs(app, m, &clock, matches!(view.chat, Chat::Room(_)), width_, max_rows, &mut lines);
        }
        reactions(app, f, &mut lines);
        if app.select.as_ref().is_some_and(|s| s.is(m)) {
            for line in &mut lines[start..] {
                *line = std::mem::take(line).patch_style(theme.selected());
            }
            chosen = Some(start..lines.len());
        }
    }
    (lines, chosen)
}

/// 1.2: the message with `(edited)` after its text, if it was, and (§25)
/// a `★` before it if starred (never a deleted one: `protocol::erase::star_shows`).
fn marked(app: &App, f: &Folded) -> Message {
    let mut m = f.message.clone();
    if f.edited {
        let mark = format!("{} ({})", m.text.unescaped(), Msg::EditedMark.text(app.lang));
        m.text = crate::protocol::Text::from_plain(&mark).unwrap_or(m.text);
    }
    let deleted = f.message.text.unescaped() == crate::protocol::action::DELETED;
    if !deleted && app.is_starred(&f.message) {
        m.text = crate::protocol::Text::from_plain(&format!("★ {}", m.text.unescaped())).unwrap_or(m.text);
    }
    m
}

/// 1.2: the reactions under a message, with their counts: `👍 2  ❤️ 1`,
/// on its side of the pane.
fn reactions(app: &App, f: &Folded, lines: &mut Vec<Line<'static>>) {
    if f.reactions.is_empty() {
        return;
    }
    let counts: Vec<String> = f.reactions.iter().map(|(e, n)| format!("{e} {n}")).collect();
    let text = counts.join("  ");
    let line = match f.message.is_from(&app.me) {
        true => Line::styled(format!("{text} "), app.theme.dim()).alignment(Alignment::Right),
        false => Line::styled(format!("{:TIME$}{text}", ""), app.theme.dim()),
    };
    lines.push(line);
}

/// A message's `rows` cut to `max`: the first `max - 1`, then `… N more
/// lines` (`wachat history` prints a message whole).
fn cap(app: &App, mut rows: Vec<String>, max: usize) -> Vec<String> {
    if rows.len() > max {
        let more = rows.len() - (max - 1);
        rows.truncate(max - 1);
        rows.push(tr!(in app.lang; crate::i18n::console::Msg::MoreLines, n = more));
    }
    rows
}

fn centred(text: String, style: Style) -> Line<'static> {
    Line::styled(text, style).alignment(Alignment::Center)
}

/// `09:14 carl: who's up for lunch?`, the sender only in a room; lines
/// after the first indented under the text.
fn theirs(
    app: &App,
    m: &Message,
    clock: &str,
    in_room: bool,
    width_: usize,
    max_rows: usize,
    lines: &mut Vec<Line<'static>>,
) {
    let theme = app.theme;
    // 1.3: a post only the room's home vouches for names it (§27, "Rooms").
    let (from, words) = crate::console::view::relayed_author(app.lang, m, m.text.unescaped());
    let who = if in_room { format!("{}: ", one_line(&from)) } else { String::new() };
    let p2p = if m.p2p { "[p2p] " } else { "" };
    let text = format!("{p2p}{who}{}", clean(&words));
    for (i, mut line) in cap(app, wrap(&text, width_.saturating_sub(TIME)), max_rows).into_iter().enumerate()
    {
        if i > 0 {
            lines.push(Line::raw(format!("{:TIME$}{line}", "")));
            continue;
        }
        let mut spans = vec![Span::styled(format!("{clock} "), theme.dim())];
        for (prefix, style) in [(p2p, theme.p2p()), (who.as_str(), theme.strong())] {
            if !prefix.is_empty() && line.starts_with(prefix) {
                spans.push(Span::styled(prefix.to_string(), style));
                line = line[prefix.len()..].to_string();
            }
        }
        // 1.2: a room message that mentions me stands out (`protocol::mentions`).
        let mentioned = in_room && crate::protocol::mentions::mentions(&m.text.unescaped(), &app.me);
        spans.push(if mentioned { Span::styled(line, theme.badge()) } else { Span::raw(line) });
        lines.push(Line::from(spans));
    }
}

/// Your message on the right: its lines left-aligned in a block pushed to
/// the right edge, the last ending in ` 09:15 ✓✓ read`.
fn mine(app: &App, m: &Message, clock: &str, width_: usize, max_rows: usize, lines: &mut Vec<Line<'static>>) {
    let theme = app.theme;
    let p2p = if m.p2p { "[p2p] " } else { "" };
    let text = format!("{p2p}{}", clean(&m.text.unescaped()));
    let mut rows = cap(app, wrap(&text, (width_ * 3 / 4).max(8)), max_rows);
    let mark = match &m.refused {
        Some(_) => "✗".to_string(),
        None => ticks(app.lang, m.state).to_string(),
    };
    let meta = format!(" {clock} {mark}");
    let last = rows.last().map_or(0, |l| width(l));
    if last + width(&meta) > width_ {
        rows.push(String::new());
    }
    let widest = rows.iter().map(|r| width(r)).max().unwrap_or(0);
    let block = widest.max(rows.last().map_or(0, |l| width(l)) + width(&meta)).min(width_);
    let n = rows.len();
    for (i, row) in rows.into_iter().enumerate() {
        let pad = width_.saturating_sub(block);
        let mut spans = vec![Span::raw(" ".repeat(pad))];
        let (lead, row) = match row.strip_prefix(p2p) {
            Some(rest) if i == 0 && !p2p.is_empty() => (p2p, rest.to_string()),
            _ => ("", row),
        };
        spans.push(Span::styled(lead, theme.p2p()));
        let fill =
            block.saturating_sub(width(lead) + width(&row) + if i + 1 == n { width(&meta) } else { 0 });
        spans.push(Span::styled(row, theme.mine()));
        spans.push(Span::raw(" ".repeat(fill)));
        if i + 1 == n {
            spans.push(Span::styled(format!(" {clock}"), theme.dim()));
            let style = if m.refused.is_some() { theme.bad() } else { tick_style(app, m.state) };
            spans.push(Span::styled(format!(" {mark}"), style));
        }
        lines.push(Line::from(spans));
    }
    if let Some(reason) = &m.refused {
        let why = tr!(in app.lang; Msg::NotDelivered, reason = one_line(reason));
        for row in wrap(&why, width_) {
            lines.push(Line::styled(row, theme.bad()).alignment(Alignment::Right));
        }
    }
}
