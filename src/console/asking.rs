//! The account dialogs carried out (protocol 1.2, `console::account`:
//! `/passwd`, `/delete-account`, `/link`):
//! the line console asks their questions ([`Console::ask`](super::Console)),
//! and the session sends the answered request. Apart from `account.rs`,
//! which only parses and words them, so that `command` can name them
//! without a circle back through the session.

use std::fmt;
use std::sync::Arc;

use crossbeam_channel::Receiver;

use super::account::{AccountCommand, Dialog, cancelled};
use super::input::{LivePrompt, Read, Reader};
use super::session::{ConsoleSession, Output};
use crate::error::{Error, Result};
use crate::i18n::account::Msg;
use crate::i18n::tr;

impl ConsoleSession<'_> {
    /// Carries out an answered dialog.
    pub(super) fn account(&self, command: AccountCommand, out: &dyn Output) -> Result<()> {
        let lang = self.lang;
        match command {
            // Each front end asks its dialog before it gets here.
            AccountCommand::Ask(_) => Err(Error::Usage(cancelled(lang))),
            AccountCommand::Passwd { old, new, keep } => {
                self.client.change_password(&old.0, &new.0, keep)?;
                out.line(if keep { Msg::PasswordChangedKept } else { Msg::PasswordChanged }.text(lang));
                Ok(())
            }
            AccountCommand::DeleteAccount { password, name } => {
                let me = self.client.me();
                // The name as registered, or another case of it (as logins).
                if !name.eq_ignore_ascii_case(me) {
                    return Err(Error::Usage(tr!(in lang; Msg::NotYourName, typed = name, user = me)));
                }
                self.client.delete_account(&password.0)?;
                out.line(&tr!(in lang; Msg::AccountDeleted, user = me));
                Ok(())
            }
            AccountCommand::Link { password } => self.link(&password.0, out),
            AccountCommand::Unlink { device, password } => self.unlink(&device, &password.0, out),
        }
    }
}

impl super::Console<'_> {
    /// The line console asks a dialog: hidden prompts in a terminal, plain
    /// lines from a pipe (each question said first, for whoever reads the
    /// output); Ctrl+C or the end of the input cancels it. True once the
    /// account is deleted: the console ends.
    pub(super) fn ask(&self, dialog: Dialog, reader: &Reader, stop: &Receiver<Error>) -> Result<bool> {
        let lang = self.lang;
        let mut answers = Vec::new();
        for question in dialog.questions(lang) {
            let answer = if self.printer.is_terminal() && question.hidden {
                rpassword::prompt_password(&question.text)
                    .map_err(|e| Error::io(crate::i18n::commands::Msg::ReadingPassword.text(lang), e))?
            } else {
                self.say(question.text.trim_end());
                if reader.prompts.send(Arc::new(LivePrompt::fixed(String::new()))).is_err() {
                    return Ok(false);
                }
                crossbeam_channel::select! {
                    recv(reader.lines) -> read => match read {
                        Ok(Ok(Read::Line(line))) => line,
                        Ok(Err(e)) => return Err(e),
                        Ok(Ok(_)) | Err(_) => {
                            self.say(&cancelled(lang));
                            return Ok(false);
                        }
                    },
                    recv(stop) -> why => return Err(why.unwrap_or(Error::Offline)),
                }
            };
            answers.push(answer);
        }
        let error = |e: &dyn fmt::Display| tr!(in lang; crate::i18n::console::Msg::ErrorLine, error = e);
        let deletes = dialog == Dialog::DeleteAccount;
        match dialog.finish(lang, answers) {
            Ok(command) => match self.session.act(super::command::Typed::Account(command), self) {
                Ok(()) => return Ok(deletes),
                Err(e) => self.say(&error(&e)),
            },
            Err(why) => self.say(&error(&why)),
        }
        Ok(false)
    }
}
