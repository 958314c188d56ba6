//! A dialog of the full-screen console (`/passwd`, `/delete-account`,
//! `console::account`):
//! its questions are asked in the input box, one at a time, what is typed
//! shown as `•` when the question is hidden; Enter answers, Esc cancels.
//! The answers never reach the screen, the panel's log or the editor's
//! text once answered.

use super::app::{App, Effect};
use super::asking::Prompt;
use super::worker::Work;
use crate::console::account::{Dialog, cancelled};
use crate::console::command::Typed;

impl App {
    /// `/passwd`: starts asking, with whatever was in the input dropped.
    pub(super) fn begin_dialog(&mut self, dialog: Dialog) -> Vec<Effect> {
        self.editor.take();
        self.asking = Some(Prompt::new(dialog, self.lang));
        Vec::new()
    }

    /// Enter while asking: the answer to the question; the next one, or
    /// the command once all are answered.
    pub(super) fn answer(&mut self) -> Vec<Effect> {
        let answer = self.editor.take();
        let Some(asking) = &mut self.asking else { return Vec::new() };
        if !asking.answer(answer) {
            return Vec::new();
        }
        let (dialog, answers) = self.asking.take().expect("asking").into_answers();
        match dialog.finish(self.lang, answers) {
            Ok(command) => vec![Effect::Work(Work::Command(Typed::Account(command)))],
            Err(why) => {
                let line = crate::i18n::tr!(in self.lang; crate::i18n::console::Msg::ErrorLine, error = why);
                self.line = Some((line, true));
                Vec::new()
            }
        }
    }

    /// Esc while asking: nothing changes.
    pub(super) fn cancel_dialog(&mut self) -> Vec<Effect> {
        self.editor.take();
        self.asking = None;
        self.line = Some((cancelled(self.lang), false));
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};

    use super::*;
    use crate::console::account::AccountCommand;
    use crate::i18n::Lang;

    fn typed(app: &mut App, text: &str) -> Vec<Effect> {
        for c in text.chars() {
            app.key(KeyEvent::from(KeyCode::Char(c)));
        }
        app.key(KeyEvent::from(KeyCode::Enter))
    }

    #[test]
    fn passwd_is_asked_in_the_input_and_sent_as_one_command() {
        let mut app = App::new(Lang::En, "ana", "server", super::super::theme::Theme { color: true });
        app.focus = super::super::app::Focus::Input;
        assert!(typed(&mut app, "/passwd").is_empty());
        assert!(app.asking.as_ref().is_some_and(|a| a.question().hidden));
        assert!(typed(&mut app, "old-pw").is_empty());
        assert!(typed(&mut app, "new-secret").is_empty());
        let effects = typed(&mut app, "new-secret");
        let [Effect::Work(Work::Command(Typed::Account(AccountCommand::Passwd { old, new, keep })))] =
            &effects[..]
        else {
            panic!("{effects:?}");
        };
        assert_eq!((old.0.as_str(), new.0.as_str(), *keep), ("old-pw", "new-secret", false));
        assert!(app.asking.is_none() && app.editor.is_empty());
        // Esc cancels, and says so.
        typed(&mut app, "/passwd keep");
        app.key(KeyEvent::from(KeyCode::Char('x')));
        assert!(app.key(KeyEvent::from(KeyCode::Esc)).is_empty());
        assert!(app.asking.is_none() && app.editor.is_empty());
        assert_eq!(app.line, Some(("cancelled: nothing changed".into(), false)));
    }

    #[test]
    fn delete_account_asks_the_password_masked_then_the_name_in_the_clear() {
        let mut app = App::new(Lang::En, "ana", "server", super::super::theme::Theme { color: true });
        app.focus = super::super::app::Focus::Input;
        assert!(typed(&mut app, "/delete-account").is_empty());
        assert!(app.asking.as_ref().is_some_and(|a| a.question().hidden));
        assert!(typed(&mut app, "my-pw").is_empty());
        assert!(app.asking.as_ref().is_some_and(|a| !a.question().hidden), "the name is shown");
        let effects = typed(&mut app, "ana");
        let [Effect::Work(Work::Command(Typed::Account(AccountCommand::DeleteAccount { password, name })))] =
            &effects[..]
        else {
            panic!("{effects:?}");
        };
        assert_eq!((password.0.as_str(), name.as_str()), ("my-pw", "ana"));
        assert!(app.asking.is_none() && app.editor.is_empty());
    }
}
