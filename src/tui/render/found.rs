//! 1.2: a search's results over the chats and the conversation, and the
//! input's title while a reply, an edit or a search is typed
//! (`tui/select.rs`).
//!
//! ```text
//! ┌ 2 found for "okapi" · ↑ ↓ · Enter opens · Esc closes ───────────────┐
//! │▶ #lab3 · bob: the okapi plan                                        │
//! │  ana · ana: okapis, anyone?                                         │
//! └─────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

use super::super::app::App;
use super::super::choice::{Compose, SearchResults};
use super::super::text::{one_line, truncate};
use crate::i18n::tr;
use crate::i18n::tui::Msg;
use crate::protocol::action::{quote_line, snippet};

/// Draws the results in `area`, the chosen one marked `▶` and reversed.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, found: &SearchResults) {
    let title = tr!(in app.lang; Msg::FoundTitle, n = found.messages.len(), words = one_line(&found.words));
    let block = Block::bordered().title(format!(" {title} ")).border_style(app.theme.focused());
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let rows = inner.height as usize;
    // The chosen line in sight.
    let first = (found.chosen + 1).saturating_sub(rows);
    let lines: Vec<Line> = found
        .messages
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, m)| {
            let chat = m.chat(&app.me).to_string();
            let text = format!("{chat} · {}: {}", m.from, snippet(&m.text));
            let mark = if i == found.chosen { "▶ " } else { "  " };
            let line = truncate(&format!("{mark}{}", one_line(&text)), inner.width as usize);
            match i == found.chosen {
                true => Line::styled(line, app.theme.selected()),
                false => Line::raw(line),
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The input's title while an action takes words: `reply > ana: hello…`.
pub fn compose_title(app: &App, compose: &Compose) -> String {
    match compose {
        Compose::Reply(m) => {
            tr!(in app.lang; Msg::InputReply, quote = one_line(&quote_line(&m.from, &m.text)))
        }
        Compose::Edit(_) => Msg::InputEdit.text(app.lang).to_string(),
        Compose::Search => Msg::InputSearch.text(app.lang).to_string(),
    }
}
