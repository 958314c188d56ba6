//! `/passwd [keep]` and `/delete-account` (protocol 1.2, §20), and
//! `/link` and `/unlink <device>` (§16), in both consoles: short dialogs whose secret answers are
//! never shown.
//!
//! `/link` asks the password (hidden), then asks the server for a link
//! code with it (`LINK:<password>`): a new device is a new credential, and
//! a console that logs in with its device's token must give the password
//! for it (a token is one device's); one that logged in with the password
//! gives it again, as `/passwd` does. `/unlink <device>` asks it too, and
//! sends `UNLINK:<device>:<password>`: a session logged in with a token
//! unlinks another device only so.
//!
//! `/delete-account` asks the password (hidden), then the user's name,
//! typed in full as a confirmation (shown: it is no secret, and a typo
//! must be seen); any other answer deletes nothing.
//!
//! The command itself carries no password (a password typed after
//! `/passwd` would stay on the screen and in the line editor's history),
//! so it opens a [`Dialog`]: its [`Question`]s are asked one at a time,
//! hidden, by the front end (the line console with a hidden prompt, the
//! full-screen one with a masked input box), and [`Dialog::finish`] turns
//! the answers into the command the session carries out. The answers
//! travel as [`Secret`]s, whose `Debug` shows `***`: a command may be
//! printed in a trace or a test's failure.

use std::fmt;

use crate::i18n::account::Msg;
use crate::i18n::{Lang, tr};
use crate::store::password::MIN_CHARS;

/// A password typed in a dialog: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What a dialog is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialog {
    /// `/passwd`, or `/passwd keep` (the other devices stay logged in).
    Passwd { keep: bool },
    /// `/delete-account`: the password, then the name as a confirmation.
    DeleteAccount,
    /// `/link`: the password.
    Link,
    /// `/unlink <device>`: the password.
    Unlink(String),
}

/// The account commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountCommand {
    /// Typed: a dialog for the front end to ask.
    Ask(Dialog),
    /// Its answers: change the password.
    Passwd { old: Secret, new: Secret, keep: bool },
    /// Its answers: delete the account, if `name` is the user's.
    DeleteAccount { password: Secret, name: String },
    /// Its answer: a link code for a new device.
    Link { password: Secret },
    /// Its answer: unlink `device`.
    Unlink { device: String, password: Secret },
}

/// One question of a dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    /// Asked without showing what is typed.
    pub hidden: bool,
}

/// The words of the account commands.
pub const WORDS: &[&str] = &["passwd", "delete-account", "link"];

/// `/passwd [keep]`, `/delete-account`, `/link`.
pub fn parse(lang: Lang, word: &str, args: &str) -> std::result::Result<AccountCommand, String> {
    match (word, args.trim()) {
        ("passwd", "") => Ok(AccountCommand::Ask(Dialog::Passwd { keep: false })),
        ("passwd", "keep") => Ok(AccountCommand::Ask(Dialog::Passwd { keep: true })),
        ("delete-account", "") => Ok(AccountCommand::Ask(Dialog::DeleteAccount)),
        ("delete-account", _) => Err(Msg::UsageDelete.text(lang).to_string()),
        ("link", "") => Ok(AccountCommand::Ask(Dialog::Link)),
        ("link", _) => Err(Msg::UsageLink.text(lang).to_string()),
        _ => Err(Msg::UsagePasswd.text(lang).to_string()),
    }
}

impl Dialog {
    /// The questions, in order.
    pub fn questions(&self, lang: Lang) -> Vec<Question> {
        let hidden = |text: String| Question { text, hidden: true };
        match self {
            Dialog::Passwd { .. } => vec![
                hidden(Msg::AskOld.text(lang).to_string()),
                hidden(tr!(in lang; Msg::AskNew, min = MIN_CHARS)),
                hidden(Msg::AskAgain.text(lang).to_string()),
            ],
            Dialog::DeleteAccount => vec![
                hidden(Msg::AskPassword.text(lang).to_string()),
                Question { text: Msg::AskConfirmName.text(lang).to_string(), hidden: false },
            ],
            Dialog::Link | Dialog::Unlink(_) => vec![hidden(Msg::AskPassword.text(lang).to_string())],
        }
    }

    /// The command the answers make, or why they make none.
    pub fn finish(self, lang: Lang, answers: Vec<String>) -> std::result::Result<AccountCommand, String> {
        match self {
            Dialog::Passwd { keep } => {
                let [old, new, again] = <[String; 3]>::try_from(answers).map_err(|_| cancelled(lang))?;
                if new != again {
                    return Err(Msg::NewPasswordsDiffer.text(lang).to_string());
                }
                if new.chars().count() < MIN_CHARS {
                    return Err(tr!(in lang; Msg::NewPasswordShort, min = MIN_CHARS));
                }
                Ok(AccountCommand::Passwd { old: Secret(old), new: Secret(new), keep })
            }
            Dialog::DeleteAccount => {
                let [password, name] = <[String; 2]>::try_from(answers).map_err(|_| cancelled(lang))?;
                if password.is_empty() {
                    return Err(cancelled(lang));
                }
                Ok(AccountCommand::DeleteAccount {
                    password: Secret(password),
                    name: name.trim().to_string(),
                })
            }
            Dialog::Link => match <[String; 1]>::try_from(answers) {
                Ok([password]) if !password.is_empty() => {
                    Ok(AccountCommand::Link { password: Secret(password) })
                }
                _ => Err(cancelled(lang)),
            },
            Dialog::Unlink(device) => match <[String; 1]>::try_from(answers) {
                Ok([password]) if !password.is_empty() => {
                    Ok(AccountCommand::Unlink { device, password: Secret(password) })
                }
                _ => Err(cancelled(lang)),
            },
        }
    }
}

/// What a dialog left unanswered says.
pub fn cancelled(lang: Lang) -> String {
    Msg::Cancelled.text(lang).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_asks_three_hidden_questions_and_checks_the_answers() {
        let lang = Lang::En;
        assert_eq!(parse(lang, "passwd", " keep "), Ok(AccountCommand::Ask(Dialog::Passwd { keep: true })));
        assert!(parse(lang, "passwd", "now").unwrap_err().starts_with("usage: /passwd [keep]"));
        let dialog = Dialog::Passwd { keep: false };
        let questions = dialog.questions(lang);
        assert_eq!(questions.len(), 3);
        assert!(questions.iter().all(|q| q.hidden));
        let answers = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let done = dialog.clone().finish(lang, answers(&["old", "new-secret", "new-secret"])).unwrap();
        assert_eq!(format!("{done:?}"), "Passwd { old: ***, new: ***, keep: false }", "never shown");
        assert!(
            dialog
                .clone()
                .finish(lang, answers(&["old", "new-secret", "other"]))
                .unwrap_err()
                .contains("differ")
        );
        assert!(
            dialog
                .clone()
                .finish(lang, answers(&["old", "short", "short"]))
                .unwrap_err()
                .contains("at least 6")
        );
        assert!(dialog.clone().finish(lang, answers(&["old"])).unwrap_err().contains("cancelled"));
    }

    #[test]
    fn link_asks_the_password_hidden() {
        let lang = Lang::En;
        assert_eq!(parse(lang, "link", ""), Ok(AccountCommand::Ask(Dialog::Link)));
        assert!(parse(lang, "link", "now").unwrap_err().starts_with("usage: /link"));
        let questions = Dialog::Link.questions(lang);
        assert!(questions.len() == 1 && questions[0].hidden);
        let done = Dialog::Link.finish(lang, vec!["pw".into()]).unwrap();
        assert_eq!(format!("{done:?}"), "Link { password: *** }", "never shown");
        assert!(Dialog::Link.finish(lang, vec![String::new()]).unwrap_err().contains("cancelled"));
    }

    #[test]
    fn delete_account_asks_the_password_hidden_then_the_name_shown() {
        let lang = Lang::En;
        assert_eq!(parse(lang, "delete-account", ""), Ok(AccountCommand::Ask(Dialog::DeleteAccount)));
        assert!(parse(lang, "delete-account", "now").unwrap_err().starts_with("usage: /delete-account"));
        let questions = Dialog::DeleteAccount.questions(lang);
        assert_eq!(questions.iter().map(|q| q.hidden).collect::<Vec<_>>(), [true, false]);
        assert!(questions[1].text.contains("type your user name"), "{}", questions[1].text);
        let answers = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let done = Dialog::DeleteAccount.finish(lang, answers(&["pw:1", " ana "])).unwrap();
        assert_eq!(format!("{done:?}"), "DeleteAccount { password: ***, name: \"ana\" }", "never shown");
        assert!(Dialog::DeleteAccount.finish(lang, answers(&["", "ana"])).unwrap_err().contains("cancelled"));
    }
}
