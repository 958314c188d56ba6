//! 1.2: acting on a message on screen (docs/PROTOCOL.md §19).
//!
//! The line console names a message by its number (`/edit 3`); a
//! full screen lets the user point at it instead. Up on an empty input
//! chooses the newest message of the open chat, Up and Down move the
//! choice, Esc lets go, and a letter acts on it:
//!
//! ```text
//!   r  reply: the input's title shows the quote; Enter sends the reply
//!   e  edit (yours): the input holds its text; Enter sends the edit
//!   d  delete for everyone, after a y/n (someone else's: a room you run)
//!   +  react: 1-6 picks one of the six emoji, Esc none
//!   *  star, or take the star back (1.2, §25): ★ on every device
//!   /  search every chat: the results in a list, Enter opens one there
//! ```
//!
//! The choice is kept as the message's sender and id, not as a row, so a
//! message arriving (or an older page loading) does not move it. What
//! needs the server goes to the worker thread as an [`Intent`].

use crossterm::event::{KeyCode, KeyEvent};

use super::app::{App, Effect, Focus};
use super::choice::{Choosing, Compose, Selection};
use super::worker::{Intent, Work};
use crate::client::fold::Folded;
use crate::i18n::tr;
use crate::i18n::tui::Msg;
use crate::protocol::action::{REACTIONS, is_reaction, snippet};

impl App {
    /// The open chat's messages as shown (actions folded in), and where
    /// the chosen one is among them.
    pub fn chosen(&self) -> (Vec<Folded>, Option<usize>) {
        let Some(view) = &self.view else { return (Vec::new(), None) };
        let shown = view.shown();
        let at = self.select.as_ref().and_then(|s| shown.iter().position(|f| s.is(&f.message)));
        (shown, at)
    }

    /// Up on an empty input: the newest message is chosen.
    pub(super) fn start_selecting(&mut self) -> Vec<Effect> {
        let (shown, _) = self.chosen();
        if let Some(newest) = shown.last() {
            self.select = Some(Selection::of(&newest.message));
            self.hint();
        }
        Vec::new()
    }

    /// A key while a message is chosen.
    pub(super) fn select_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(selection) = self.select.clone() else { return Vec::new() };
        let (shown, at) = self.chosen();
        let Some(at) = at else {
            // Gone from the screen (another chat, a page dropped).
            self.select = None;
            return self.key(key);
        };
        let target = shown[at].message.clone();
        let chat = target.chat(&self.me);
        let act = |act: Intent| vec![Effect::Work(Work::Act(act))];
        match (selection.step, key.code) {
            (Choosing::ConfirmDelete, KeyCode::Char('y' | 'Y' | 's' | 'S')) => {
                self.select = None;
                return act(Intent::Delete { chat, target });
            }
            (Choosing::React, KeyCode::Char(c @ '1'..='6')) => {
                self.select = None;
                let emoji = REACTIONS[c as usize - '1' as usize].to_string();
                return act(Intent::React { chat, target, emoji });
            }
            // Any other emoji typed (an emoji keyboard, a compose key): itself the reaction (1.2).
            (Choosing::React, KeyCode::Char(c)) if is_reaction(c.encode_utf8(&mut [0; 4])) => {
                self.select = None;
                return act(Intent::React { chat, target, emoji: c.to_string() });
            }
            (Choosing::ConfirmDelete | Choosing::React, _) => self.set_step(Choosing::Chosen),
            (Choosing::Chosen, KeyCode::Up) => {
                self.select = Some(Selection::of(&shown[at.saturating_sub(1)].message))
            }
            (Choosing::Chosen, KeyCode::Down) => {
                self.select = Some(Selection::of(&shown[(at + 1).min(shown.len() - 1)].message))
            }
            (Choosing::Chosen, KeyCode::Esc) => {
                self.select = None;
                return Vec::new();
            }
            (Choosing::Chosen, KeyCode::Char('r')) => self.compose(Compose::Reply(target), ""),
            (Choosing::Chosen, KeyCode::Char('e')) if target.is_from(&self.me) => {
                let text = target.text.unescaped();
                self.compose(Compose::Edit(target), &text);
            }
            (Choosing::Chosen, KeyCode::Char('e')) => {
                self.line = Some((Msg::NotYourMessage.text(self.lang).to_string(), true));
                return Vec::new();
            }
            (Choosing::Chosen, KeyCode::Char('d')) => self.set_step(Choosing::ConfirmDelete),
            (Choosing::Chosen, KeyCode::Char('+')) => self.set_step(Choosing::React),
            (Choosing::Chosen, KeyCode::Char('*')) => {
                self.select = None;
                let on = !self.is_starred(&target);
                return act(Intent::Star { chat, target, on });
            }
            (Choosing::Chosen, KeyCode::Char('i')) => {
                self.select = None;
                return act(Intent::Info { target });
            }
            (Choosing::Chosen, KeyCode::Char('/')) => self.compose(Compose::Search, ""),
            // Anything else lets go of the message and does what it does.
            _ => {
                self.select = None;
                return self.key(key);
            }
        }
        if self.select.is_some() {
            self.hint();
        }
        Vec::new()
    }

    /// A key while search results are shown.
    pub(super) fn found_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(found) = &mut self.found else { return Vec::new() };
        match key.code {
            KeyCode::Up => found.chosen = found.chosen.saturating_sub(1),
            KeyCode::Down => found.chosen = (found.chosen + 1).min(found.messages.len().saturating_sub(1)),
            KeyCode::Enter => {
                let chosen = found.messages.get(found.chosen).cloned();
                self.found = None;
                if let Some(m) = chosen {
                    // Chosen there once the chat is open (`App::open`).
                    self.goto = Some(Selection::of(&m));
                    return vec![Effect::Open(m.chat(&self.me))];
                }
            }
            _ => self.found = None,
        }
        Vec::new()
    }

    /// Enter with an action under way: the text typed goes with it.
    pub(super) fn submit_compose(&mut self, compose: Compose, text: String) -> Vec<Effect> {
        if text.trim().is_empty() {
            return Vec::new(); // nothing typed: the action is dropped
        }
        let act = match compose {
            Compose::Reply(target) => Intent::Reply { chat: target.chat(&self.me), target, text },
            Compose::Edit(target) => Intent::Edit { chat: target.chat(&self.me), target, text },
            Compose::Search => Intent::Search(text),
        };
        vec![Effect::Work(Work::Act(act))]
    }

    /// Starts an action that needs words: the input takes them.
    fn compose(&mut self, compose: Compose, text: &str) {
        self.select = None;
        self.editor.take();
        self.editor.paste(text);
        self.compose = Some(compose);
        self.focus = Focus::Input;
    }

    fn set_step(&mut self, step: Choosing) {
        if let Some(selection) = &mut self.select {
            selection.step = step;
        }
    }

    /// The line above the input says what is chosen, or asks.
    pub(super) fn hint(&mut self) {
        let Some(selection) = &self.select else { return };
        let (shown, at) = self.chosen();
        let Some(m) = at.map(|i| &shown[i].message) else { return };
        let lang = self.lang;
        let text = match selection.step {
            Choosing::Chosen => {
                let who =
                    if m.is_from(&self.me) { crate::i18n::console::Msg::You.text(lang) } else { &m.from };
                tr!(in lang; Msg::Chosen, who = who, text = snippet(&m.text))
            }
            Choosing::ConfirmDelete => Msg::ConfirmDelete.text(lang).to_string(),
            Choosing::React => {
                let menu: Vec<String> =
                    REACTIONS.iter().enumerate().map(|(i, e)| format!("{} {e}", i + 1)).collect();
                tr!(in lang; Msg::ReactMenu, menu = menu.join("  "))
            }
        };
        self.line = Some((text, false));
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};

    use super::super::app::{App, Effect};
    use super::super::choice::{Choosing, Compose};
    use super::super::theme::Theme;
    use super::super::worker::{Done, Intent, Work};
    use crate::client::Message;
    use crate::i18n::Lang;
    use crate::protocol::{Chat, MsgState, Text};

    fn msg(from: &str, id: &str, ts: u64, text: &str) -> Message {
        Message {
            from: from.into(),
            to: Chat::Room("lab".into()),
            id: id.into(),
            ts,
            state: MsgState::Received,
            text: Text::from_plain(text).unwrap(),
            refused: None,
            p2p: false,
        }
    }

    /// ana in #lab: bob's b1 (edited), her a1, and a reaction.
    fn app() -> App {
        let mut app = App::new(Lang::En, "ana", "127.0.0.1:6666", Theme { color: true });
        let messages = vec![
            msg("bob", "b1", 1, "helo"),
            msg("ana", "a1", 2, "hi bob"),
            msg("bob", "_e3_b1", 3, "✎ hello"),
            msg("carl", "_r4_b1", 4, "👍 to: hello"),
        ];
        app.open(Chat::Room("lab".into()), messages);
        app
    }

    fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.key(KeyEvent::from(code))
    }

    fn the_act(effects: Vec<Effect>) -> Intent {
        match effects.into_iter().next() {
            Some(Effect::Work(Work::Act(act))) => act,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn i_asks_the_info_of_the_chosen_message() {
        let mut app = app();
        key(&mut app, KeyCode::Up);
        assert!(app.line.as_ref().unwrap().0.contains(" · i info · "));
        let Intent::Info { target } = the_act(key(&mut app, KeyCode::Char('i'))) else { panic!("not info") };
        assert_eq!(target.id, "a1");
        assert!(app.select.is_none(), "the message is let go");
    }

    #[test]
    fn up_chooses_the_newest_and_the_keys_move_and_let_go() {
        let mut app = app();
        key(&mut app, KeyCode::Up);
        assert_eq!(app.select.as_ref().unwrap().id, "a1", "the actions are no messages to choose");
        assert!(app.line.as_ref().unwrap().0.starts_with("chosen: you: hi bob"));
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Up);
        assert_eq!(app.select.as_ref().unwrap().id, "b1", "the oldest stays chosen");
        assert!(app.line.as_ref().unwrap().0.starts_with("chosen: bob: hello"), "its newest text");
        key(&mut app, KeyCode::Esc);
        assert!(app.select.is_none());
        // Typing lets go too, and types.
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Char('x'));
        assert!(app.select.is_none());
        assert_eq!(app.editor.take(), "x");
    }

    #[test]
    fn reply_and_edit_take_words_from_the_input() {
        let mut app = app();
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Char('e'));
        assert_eq!(app.line, Some(("only its author may edit a message".into(), true)));
        key(&mut app, KeyCode::Char('r'));
        assert!(matches!(&app.compose, Some(Compose::Reply(m)) if m.id == "b1"));
        "yes".chars().for_each(|c| _ = key(&mut app, KeyCode::Char(c)));
        match the_act(key(&mut app, KeyCode::Enter)) {
            Intent::Reply { chat, target, text } => {
                assert_eq!(
                    (chat.to_string(), target.text.unescaped(), text.as_str()),
                    ("#lab".into(), "hello".into(), "yes")
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(app.compose.is_none());
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Char('e'));
        assert_eq!(app.editor.text(), "hi bob", "the input holds its text");
        key(&mut app, KeyCode::Esc);
        assert!(app.compose.is_none() && app.editor.is_empty(), "Esc drops the edit");
    }

    #[test]
    fn delete_asks_first_and_react_offers_the_six() {
        let mut app = app();
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Char('d'));
        assert_eq!(app.select.as_ref().unwrap().step, Choosing::ConfirmDelete);
        assert!(key(&mut app, KeyCode::Char('n')).is_empty());
        assert_eq!(app.select.as_ref().unwrap().step, Choosing::Chosen, "n keeps it");
        key(&mut app, KeyCode::Char('d'));
        assert!(
            matches!(the_act(key(&mut app, KeyCode::Char('y'))), Intent::Delete { target, .. } if target.id == "a1")
        );
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Char('+'));
        assert!(app.line.as_ref().unwrap().0.starts_with("react with: 1 👍  2 ❤️"));
        match the_act(key(&mut app, KeyCode::Char('2'))) {
            Intent::React { target, emoji, .. } => {
                assert_eq!((target.id.as_str(), emoji.as_str()), ("a1", "❤️"))
            }
            other => panic!("{other:?}"),
        }
        // Any one emoji typed is a reaction too; a letter is not, and leaves the menu.
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Char('+'));
        assert!(key(&mut app, KeyCode::Char('x')).is_empty());
        key(&mut app, KeyCode::Char('+'));
        match the_act(key(&mut app, KeyCode::Char('🦀'))) {
            Intent::React { emoji, .. } => assert_eq!(emoji, "🦀"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_search_lists_its_results_and_enter_opens_the_chat_there() {
        let mut app = app();
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Char('/'));
        assert_eq!(app.compose, Some(Compose::Search));
        "okapi".chars().for_each(|c| _ = key(&mut app, KeyCode::Char(c)));
        assert!(matches!(the_act(key(&mut app, KeyCode::Enter)), Intent::Search(w) if w == "okapi"));
        let mut found = msg("bob", "m7", 9, "an okapi");
        found.to = Chat::User("ana".into());
        app.done(Done::Found {
            words: "okapi".into(),
            messages: vec![msg("carl", "c1", 8, "okapi!"), found],
        });
        key(&mut app, KeyCode::Down);
        let effects = key(&mut app, KeyCode::Enter);
        assert!(matches!(&effects[..], [Effect::Open(Chat::User(peer))] if peer == "bob"), "{effects:?}");
        assert!(app.found.is_none());
        app.open(Chat::User("bob".into()), vec![msg("bob", "m7", 9, "an okapi")]);
        assert_eq!(app.select.as_ref().map(|s| s.id.as_str()), Some("m7"));
    }
}
