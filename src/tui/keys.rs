//! What each key does (the table is in `i18n/tui.rs`'s `Keys`, shown by
//! F1, and in the README). Keys change the [`App`]; what needs the client
//! comes back as [`Effect`]s.
//!
//! Terminals send Alt+Enter as `ESC CR` and Ctrl+J as a line feed, which
//! crossterm reports as Enter with Alt and as `j` with Ctrl: both add a
//! line to the message. In raw mode Ctrl+C is a key, not a signal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{App, ConnectionStatus, Effect, Focus, PanelTop};
use super::conversation::Top;
use super::worker::Work;
use crate::console::command::{self, Typed};
use crate::console::view;
use crate::i18n::tr;
use crate::i18n::tui::Msg;

/// Lines PgUp and PgDn move, short of a whole pane (one stays in view).
fn page(rows: usize) -> usize {
    rows.saturating_sub(1).max(1)
}

impl App {
    /// One key.
    pub fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        self.line = None;
        if self.quitting {
            self.quitting = false;
            return match key.code {
                KeyCode::Char('y' | 'Y' | 's' | 'S') => vec![Effect::Quit],
                KeyCode::Char('c') if ctrl => vec![Effect::Quit],
                _ => Vec::new(),
            };
        }
        if self.panel.is_some() {
            let (rows, top) = (self.geometry.panel_rows, self.geometry.panel_top);
            let last = self.geometry.panel_lines.saturating_sub(rows);
            let row = |r: usize| Some(PanelTop::Row(r.min(last)));
            match key.code {
                KeyCode::Esc | KeyCode::F(2) => self.panel = None,
                KeyCode::Up => self.panel = row(top.saturating_sub(1)),
                KeyCode::Down => self.panel = row(top + 1),
                KeyCode::PageUp => self.panel = row(top.saturating_sub(page(rows))),
                KeyCode::PageDown => self.panel = row(top + page(rows)),
                // Anything else closes it and does what it does.
                _ => {
                    self.panel = None;
                    return self.key(key);
                }
            }
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('c') if ctrl => return self.ctrl_c(),
            KeyCode::Char('g') if ctrl => {
                self.bell = !self.bell;
                let said = if self.bell { Msg::BellOn } else { Msg::BellOff };
                self.line = Some((said.text(self.lang).to_string(), false));
                return Vec::new();
            }
            KeyCode::Char('l') if ctrl => return vec![Effect::Redraw],
            KeyCode::Char('n') if ctrl => return self.choose(1),
            KeyCode::Char('p') if ctrl => return self.choose(-1),
            KeyCode::F(1) => {
                let help = help(self.lang);
                self.log_lines([help.as_str()]);
                self.show_panel(help.split('\n').count());
                return Vec::new();
            }
            KeyCode::F(2) => {
                self.show_panel(self.geometry.panel_rows.max(1));
                return Vec::new();
            }
            KeyCode::PageUp => return self.scroll_up(page(self.geometry.rows)),
            KeyCode::PageDown => {
                if let Some(view) = &mut self.view {
                    view.scroll = view.scroll.saturating_sub(page(self.geometry.rows));
                }
                return Vec::new();
            }
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = if self.focus == Focus::List { Focus::Input } else { Focus::List };
                return Vec::new();
            }
            _ => {}
        }
        // 1.2: search results, or a message chosen (`select.rs`).
        if self.found.is_some() {
            return self.found_key(key);
        }
        if self.select.is_some() {
            return self.select_key(key);
        }
        match self.focus {
            Focus::List => self.list_key(key, ctrl, alt),
            Focus::Input => self.input_key(key, ctrl, alt),
        }
    }

    /// A paste, with its lines: it goes to the input.
    pub fn paste(&mut self, text: &str) {
        self.line = None;
        self.focus = Focus::Input;
        self.editor.paste(text);
    }

    fn list_key(&mut self, key: KeyEvent, ctrl: bool, alt: bool) -> Vec<Effect> {
        match key.code {
            KeyCode::Up => self.choose(-1),
            KeyCode::Down => self.choose(1),
            KeyCode::Home => self.choose(-(self.selected as isize)),
            KeyCode::End => self.choose(isize::MAX / 2),
            KeyCode::Enter => {
                self.focus = Focus::Input;
                match self.selected_chat() {
                    Some(chat) => vec![Effect::Open(chat)],
                    None => Vec::new(),
                }
            }
            // Typing starts a message.
            KeyCode::Char(c) if !ctrl && !alt => {
                self.focus = Focus::Input;
                self.editor.insert(c);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn input_key(&mut self, key: KeyEvent, ctrl: bool, alt: bool) -> Vec<Effect> {
        // A dialog (`/passwd`): Enter answers, Esc cancels, one line only.
        match key.code {
            KeyCode::Enter if self.asking.is_some() => return self.answer(),
            KeyCode::Esc if self.asking.is_some() => return self.cancel_dialog(),
            KeyCode::Enter | KeyCode::Char('j') if self.asking.is_some() && (alt || ctrl) => {
                return Vec::new();
            }
            _ => {}
        }
        let e = &mut self.editor;
        match key.code {
            KeyCode::Enter if alt => e.insert('\n'),
            KeyCode::Char('j') if ctrl => e.insert('\n'),
            KeyCode::Enter => return self.submit(),
            // A reply, edit or search under way: dropped, with its words.
            KeyCode::Esc if self.compose.is_some() => {
                self.compose = None;
                e.take();
            }
            KeyCode::Esc => self.focus = Focus::List,
            KeyCode::Up if e.is_empty() && self.view.is_some() => return self.start_selecting(),
            KeyCode::Backspace => e.backspace(),
            KeyCode::Delete => e.delete(),
            KeyCode::Left => e.left(),
            KeyCode::Right => e.right(),
            KeyCode::Home => e.home(),
            KeyCode::End => e.end(),
            KeyCode::Up => {
                e.vertical(true);
            }
            KeyCode::Down => {
                e.vertical(false);
            }
            KeyCode::Char(c) if !ctrl && !alt => {
                e.insert(c);
                // Typing a message (not a command) in an open chat.
                if let Some(view) = self.view.as_ref().filter(|_| !self.editor.text().starts_with('/')) {
                    return vec![Effect::Typing(view.chat.clone())];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Moves the choice in the chat list by `by` (negative: up).
    fn choose(&mut self, by: isize) -> Vec<Effect> {
        let last = self.chats.chats().len().saturating_sub(1) as isize;
        self.chosen = true;
        self.selected = (self.selected as isize).saturating_add(by).clamp(0, last.max(0)) as usize;
        Vec::new()
    }

    /// Ctrl+C: drops the draft; on an empty one, quits, asking first if
    /// messages wait in the outbox with no server to take them.
    fn ctrl_c(&mut self) -> Vec<Effect> {
        if !self.editor.is_empty() {
            self.editor.take();
            self.line = Some((Msg::DraftDiscarded.text(self.lang).to_string(), false));
            return Vec::new();
        }
        self.quit()
    }

    /// `/quit` and Ctrl+C on an empty line. Online, the outbox leaves as
    /// the client closes; offline it stays, so the user is asked first.
    fn quit(&mut self) -> Vec<Effect> {
        if self.pending > 0 && self.link != ConnectionStatus::Connected {
            self.quitting = true;
            self.line = Some((tr!(in self.lang; Msg::QuitWithOutbox, n = self.pending), true));
            return Vec::new();
        }
        vec![Effect::Quit]
    }

    /// Enter in the input: a message for the open chat, or a command.
    fn submit(&mut self) -> Vec<Effect> {
        let text = self.editor.take();
        if let Some(compose) = self.compose.take() {
            return self.submit_compose(compose, text);
        }
        let lang = self.lang;
        let error = |e: &dyn std::fmt::Display| tr!(in lang; crate::i18n::console::Msg::ErrorLine, error = e);
        // A text too long even for several messages stays in the input.
        if let Some(why) = crate::console::session::too_long_to_split(lang, &text) {
            self.editor.paste(&text);
            self.line = Some((error(&why), true));
            return Vec::new();
        }
        match command::parse(lang, &text) {
            Ok(Typed::Nothing) => Vec::new(),
            Ok(Typed::Quit) => self.quit(),
            Ok(Typed::Help) => self.key(KeyEvent::from(KeyCode::F(1))),
            Ok(Typed::Account(crate::console::account::AccountCommand::Ask(dialog))) => {
                self.begin_dialog(dialog)
            }
            // Plain text goes to the chat on screen, whatever the session
            // thinks is open: what you see is where it goes.
            Ok(Typed::Say(text)) => match &mut self.view {
                Some(view) => {
                    view.scroll = 0;
                    vec![Effect::Work(Work::Command(Typed::Send { to: view.chat.clone(), text }))]
                }
                None => {
                    let why = crate::i18n::console::Msg::NoChatOpenToSay.text(lang);
                    self.line = Some((error(&why), true));
                    Vec::new()
                }
            },
            Ok(command) => vec![Effect::Work(Work::Command(command))],
            Err(e) => {
                // Given back, to be mended rather than typed again.
                self.editor.paste(&text);
                self.line = Some((error(&e), true));
                Vec::new()
            }
        }
    }

    /// PgUp: older lines; at the top, the page before (local log, then server).
    fn scroll_up(&mut self, by: usize) -> Vec<Effect> {
        let Some(view) = &mut self.view else { return Vec::new() };
        let top = self.geometry.lines.saturating_sub(self.geometry.rows);
        view.scroll = (view.scroll + by).min(top);
        if view.scroll == top && matches!(view.top, Top::More | Top::Offline) {
            view.top = Top::Loading;
            let shown = view.messages.clone();
            let resume = view.resume.clone();
            return vec![Effect::Work(Work::Earlier { chat: view.chat.clone(), shown, resume })];
        }
        Vec::new()
    }
}

/// The TUI's help: its keys, then the console's commands without the two
/// lines that only the line console has (typing `<text>` with a trailing
/// `\`, and its Ctrl+C: the keys above say both for the TUI). Short enough
/// to fit a 100×30 terminal whole.
pub(super) fn help(lang: crate::i18n::Lang) -> String {
    let commands = view::help(lang).lines().filter(|l| !l.starts_with("  <") && !l.starts_with("Ctrl+C"));
    std::iter::once(Msg::Keys.text(lang)).chain(commands).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::super::app::{App, ConnectionStatus, Effect, Focus};
    use super::super::theme::Theme;
    use super::super::worker::{Done, Work};
    use crate::client::{ChatSummary, Message, Notice};
    use crate::console::command::Typed;
    use crate::i18n::Lang;
    use crate::protocol::{Chat, MsgState, Text};

    fn msg(from: &str, to: &str, id: &str) -> Message {
        Message {
            from: from.into(),
            to: Chat::parse(to).unwrap(),
            id: id.into(),
            ts: 1,
            state: MsgState::Delivered,
            text: Text::from_plain("hi").unwrap(),
            refused: None,
            p2p: false,
        }
    }

    fn app() -> App {
        let mut app = App::new(Lang::En, "ana", "127.0.0.1:6666", Theme { color: true });
        let chat = |name: &str, unread| ChatSummary {
            chat: Chat::parse(name).unwrap(),
            unread,
            last: Some(msg("x", name, "l")),
            online: None,
        };
        app.done(Done::ChatList(vec![chat("bob", 2), chat("#tea", 0)]));
        app
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::from(code)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(app: &mut App, text: &str) {
        text.chars().for_each(|c| _ = app.key(key(KeyCode::Char(c))));
    }

    #[test]
    fn a_long_text_goes_to_the_worker_whole_and_one_too_long_even_to_split_stays_in_the_input() {
        let mut app = app();
        app.open(Chat::Room("tea".into()), Vec::new());
        // 5,003 bytes: the worker sends it as 2 messages (client::split).
        let long = "palabra ".repeat(625) + "fin";
        app.editor.paste(&long);
        let effects = app.key(key(KeyCode::Enter));
        assert!(
            matches!(&effects[..], [Effect::Work(Work::Command(Typed::Send { text, .. }))] if *text == long)
        );
        // 70,000 bytes: more than 16 messages; refused, and nothing lost.
        let huge = "x".repeat(70_000);
        app.editor.paste(&huge);
        assert!(app.key(key(KeyCode::Enter)).is_empty());
        let (line, error) = app.line.clone().unwrap();
        assert!(error && line.contains("the text is 70000 bytes: more than 16 messages"), "{line}");
        assert_eq!(app.editor.take(), huge);
    }

    #[test]
    fn enter_opens_the_chosen_chat_and_text_goes_to_it() {
        let mut app = app();
        app.key(key(KeyCode::Down));
        let effects = app.key(key(KeyCode::Enter));
        assert!(matches!(&effects[..], [Effect::Open(Chat::Room(r))] if r == "tea"), "{effects:?}");
        app.open(Chat::Room("tea".into()), Vec::new());
        assert_eq!(app.focus, Focus::Input);
        typed(&mut app, "one");
        app.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
        typed(&mut app, "two");
        let effects = app.key(key(KeyCode::Enter));
        let [Effect::Work(Work::Command(Typed::Send { to, text }))] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!((to.to_string(), text.as_str()), ("#tea".into(), "one\ntwo"));
        assert!(app.editor.is_empty());
        // A command is the worker's; a mistake is explained and the line kept.
        typed(&mut app, "/users");
        assert!(matches!(&app.key(key(KeyCode::Enter))[..], [Effect::Work(Work::Command(Typed::Users))]));
        typed(&mut app, "/frobnicate");
        assert!(app.key(key(KeyCode::Enter)).is_empty());
        assert_eq!(app.line, Some(("error: unknown command /frobnicate (try /help)".into(), true)));
        assert_eq!(app.editor.take(), "/frobnicate");
    }

    #[test]
    fn messages_raise_badges_ring_for_other_chats_and_are_read_in_the_open_one() {
        let mut app = app();
        app.open(Chat::User("bob".into()), Vec::new());
        assert_eq!(app.chats.chats()[0].unread, 0, "opened: read");
        let effects = app.notice(&Notice::Message(msg("carl", "#tea", "c1")));
        assert!(matches!(&effects[..], [Effect::Bell]), "{effects:?}");
        let effects = app.notice(&Notice::Message(msg("bob", "ana", "b9")));
        assert!(matches!(&effects[..], [Effect::Work(Work::Read(m))] if m.id == "b9"), "{effects:?}");
        assert_eq!(app.view.as_ref().unwrap().messages.len(), 1);
        app.key(ctrl('g'));
        assert!(app.notice(&Notice::Message(msg("carl", "#tea", "c2"))).is_empty(), "the bell is off");
        let tea = app.chats.position(&Chat::Room("tea".into())).unwrap();
        assert_eq!(app.chats.chats()[tea].unread, 2);
        // The chosen chat stays chosen while the list reorders.
        assert_eq!(app.selected_chat(), Some(Chat::User("bob".into())));
        app.notice(&Notice::Joined("bob".into()));
        assert_eq!(app.notes.of(&Chat::User("bob".into())).count(), 1);
    }

    #[test]
    fn ctrl_c_discards_then_quits_asking_only_when_the_outbox_cannot_leave() {
        let mut app = app();
        typed(&mut app, "draft");
        assert!(app.key(ctrl('c')).is_empty());
        assert!(app.editor.is_empty());
        assert!(matches!(&app.key(ctrl('c'))[..], [Effect::Quit]), "online: the outbox leaves on close");
        app.notice(&Notice::Offline("gone".into()));
        assert_eq!(app.link, ConnectionStatus::Reconnecting("gone".into()));
        app.pending = 2;
        assert!(app.key(ctrl('c')).is_empty());
        assert!(app.line.as_ref().unwrap().0.starts_with("2 message(s) still wait in the outbox"));
        assert!(app.key(key(KeyCode::Char('n'))).is_empty());
        app.key(ctrl('c'));
        assert!(matches!(&app.key(key(KeyCode::Char('y')))[..], [Effect::Quit]));
        typed(&mut app, "/quit");
        assert!(app.key(key(KeyCode::Enter)).is_empty(), "/quit asks too");
    }
}
