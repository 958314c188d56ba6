//! 1.2: acting on a message on screen (issue 30, docs/PROTOCOL.md §19).
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
//!   /  search every chat: the results in a list, Enter opens one there
//! ```
//!
//! The choice is kept as the message's sender and id, not as a row, so a
//! message arriving (or an older page loading) does not move it. What
//! needs the server goes to the worker thread as a [`Act`].

use crossterm::event::{KeyCode, KeyEvent};

use super::app::{App, Effect, Focus};
use super::worker::{Act, Work};
use crate::client::Message;
use crate::client::fold::Folded;
use crate::i18n::tr;
use crate::i18n::tui::Msg;
use crate::protocol::action::{REACTIONS, snippet};
use crate::protocol::names::fold;

/// A message chosen in the open chat, and what is being asked about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Its sender and id: what names it on the wire.
    pub from: String,
    pub id: String,
    pub step: Step,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Chosen: a letter acts on it.
    Chosen,
    /// `d`: waiting for y or n.
    ConfirmDelete,
    /// `+`: waiting for 1-6.
    React,
}

/// What Enter in the input does instead of sending a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compose {
    /// Answers this message (as shown: its newest text).
    Reply(Message),
    /// Replaces the text of this message of yours.
    Edit(Message),
    /// Searches every chat for the words typed.
    Search,
}

/// A search's results, shown over the chat list until Esc or Enter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub words: String,
    /// Newest first, as the server lists them.
    pub messages: Vec<Message>,
    /// The chosen line.
    pub chosen: usize,
}

impl Selection {
    fn of(m: &Message) -> Selection {
        Selection { from: m.from.clone(), id: m.id.clone(), step: Step::Chosen }
    }

    /// True for the message `m`.
    pub fn is(&self, m: &Message) -> bool {
        m.id == self.id && fold(&m.from) == fold(&self.from)
    }
}

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
        let act = |act: Act| vec![Effect::Work(Work::Act(act))];
        match (selection.step, key.code) {
            (Step::ConfirmDelete, KeyCode::Char('y' | 'Y' | 's' | 'S')) => {
                self.select = None;
                return act(Act::Delete { chat, target });
            }
            (Step::React, KeyCode::Char(c @ '1'..='6')) => {
                self.select = None;
                let emoji = REACTIONS[c as usize - '1' as usize].to_string();
                return act(Act::React { chat, target, emoji });
            }
            (Step::ConfirmDelete | Step::React, _) => self.set_step(Step::Chosen),
            (Step::Chosen, KeyCode::Up) => {
                self.select = Some(Selection::of(&shown[at.saturating_sub(1)].message))
            }
            (Step::Chosen, KeyCode::Down) => {
                self.select = Some(Selection::of(&shown[(at + 1).min(shown.len() - 1)].message))
            }
            (Step::Chosen, KeyCode::Esc) => {
                self.select = None;
                return Vec::new();
            }
            (Step::Chosen, KeyCode::Char('r')) => self.compose(Compose::Reply(target), ""),
            (Step::Chosen, KeyCode::Char('e')) if target.is_from(&self.me) => {
                let text = target.text.unescaped();
                self.compose(Compose::Edit(target), &text);
            }
            (Step::Chosen, KeyCode::Char('e')) => {
                self.line = Some((Msg::NotYourMessage.text(self.lang).to_string(), true));
                return Vec::new();
            }
            (Step::Chosen, KeyCode::Char('d')) => self.set_step(Step::ConfirmDelete),
            (Step::Chosen, KeyCode::Char('+')) => self.set_step(Step::React),
            (Step::Chosen, KeyCode::Char('/')) => self.compose(Compose::Search, ""),
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
            Compose::Reply(target) => Act::Reply { chat: target.chat(&self.me), target, text },
            Compose::Edit(target) => Act::Edit { chat: target.chat(&self.me), target, text },
            Compose::Search => Act::Search(text),
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

    fn set_step(&mut self, step: Step) {
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
            Step::Chosen => {
                let who =
                    if m.is_from(&self.me) { crate::i18n::console::Msg::You.text(lang) } else { &m.from };
                tr!(in lang; Msg::Chosen, who = who, text = snippet(&m.text))
            }
            Step::ConfirmDelete => Msg::ConfirmDelete.text(lang).to_string(),
            Step::React => {
                let menu: Vec<String> =
                    REACTIONS.iter().enumerate().map(|(i, e)| format!("{} {e}", i + 1)).collect();
                tr!(in lang; Msg::ReactMenu, menu = menu.join("  "))
            }
        };
        self.line = Some((text, false));
    }
}
