//! The full-screen console's styles, in one place: colours where the
//! terminal may use them, and the same meaning without colour where the
//! user asked for none (`NO_COLOR`, <https://no-color.org>): bold,
//! reverse video and dim carry it then, and `✓✓ read` says "read" in
//! words anyway.

use ratatui::style::{Color, Modifier, Style};

/// How things are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// False when `NO_COLOR` is set (to anything but the empty string).
    pub color: bool,
}

impl Theme {
    /// The theme the environment asks for.
    pub fn from_env() -> Theme {
        Theme { color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) }
    }

    /// `colour` if colours are allowed, else `plain`.
    fn pick(&self, colour: Style, plain: Style) -> Style {
        if self.color { colour } else { plain }
    }

    fn fg(&self, color: Color) -> Style {
        self.pick(Style::new().fg(color), Style::new())
    }

    /// Times, date lines, hints: what the eye may skip.
    pub fn dim(&self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new().add_modifier(Modifier::DIM))
    }

    /// The chosen line of the chat list.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// A pane with the focus has this border.
    pub fn focused(&self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new().add_modifier(Modifier::BOLD))
    }

    /// The unread count of a chat.
    pub fn badge(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Green).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    }

    /// A chat with unread messages, and the names of senders.
    pub fn strong(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// The dot of a peer online.
    pub fn online(&self) -> Style {
        self.fg(Color::Green)
    }

    /// `✓✓ read`: WhatsApp's blue ticks.
    pub fn read(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// `…`, `✓`, `✓✓`.
    pub fn ticks(&self) -> Style {
        self.dim()
    }

    /// `[p2p]`, a direct connection.
    pub fn p2p(&self) -> Style {
        self.fg(Color::Magenta)
    }

    /// A refused message, an error, offline.
    pub fn bad(&self) -> Style {
        self.pick(Style::new().fg(Color::Red), Style::new().add_modifier(Modifier::BOLD))
    }

    /// Reconnecting: not lost, not there.
    pub fn warn(&self) -> Style {
        self.pick(Style::new().fg(Color::Yellow), Style::new().add_modifier(Modifier::BOLD))
    }

    /// The "unread" line in a conversation.
    pub fn divider(&self) -> Style {
        self.pick(Style::new().fg(Color::Yellow), Style::new().add_modifier(Modifier::BOLD))
    }

    /// Presence and room notices inside a conversation.
    pub fn note(&self) -> Style {
        self.dim().add_modifier(Modifier::ITALIC)
    }

    /// Your own messages.
    pub fn mine(&self) -> Style {
        self.fg(Color::LightGreen)
    }

    /// The status line.
    pub fn status(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}
