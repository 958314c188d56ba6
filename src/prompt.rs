//! Passwords on the command line's side: never from an argument, read
//! from stdin, `WACHAT_PASSWORD` or a hidden prompt; a new account's
//! typed twice and long enough. Used by the command line (`cli`) and by
//! `wachat users add` (`admin`), so it is below both.

use std::io::IsTerminal;

use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;

/// A password from stdin (`from_stdin`), else `WACHAT_PASSWORD`, else a
/// hidden prompt; never from an argument. Also used by `wachat users add`.
pub(crate) fn read_password(user: &str, from_stdin: bool) -> Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| Error::io(tr!(Msg::ReadingPasswordStdin), e))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(password) = std::env::var("WACHAT_PASSWORD").ok().filter(|p| !p.is_empty()) {
        password
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(tr!(Msg::PasswordPrompt, user = user))
            .map_err(|e| Error::io(tr!(Msg::ReadingPassword), e))?
    } else {
        return Err(Error::Usage(tr!(Msg::NoPassword)));
    };
    if password.is_empty() {
        return Err(Error::Usage(tr!(Msg::EmptyPassword)));
    }
    Ok(password)
}

/// The fewest characters a new account's password may have: the server's
/// rule (see [`crate::store::password::MIN_CHARS`]), checked here too so
/// that a person is asked again instead of being refused after the fact.
pub const MIN_NEW_PASSWORD: usize = crate::store::password::MIN_CHARS;

/// How many times a person at the prompt may try before `wachat` gives up
/// (a script that types into it must not loop for ever).
const TRIES: usize = 3;

/// A new account's password: from the same sources as [`read_password`],
/// at least [`MIN_NEW_PASSWORD`] characters. At the hidden prompt it is
/// typed twice (nobody sees a typo there), and a password too short, or a
/// second that differs, is asked for again, up to [`TRIES`] times.
pub(crate) fn read_new_password(user: &str, from_stdin: bool) -> Result<String> {
    let prompted = !from_stdin
        && std::env::var("WACHAT_PASSWORD").map_or(true, |p| p.is_empty())
        && std::io::stdin().is_terminal();
    let too_short = || tr!(Msg::PasswordTooShort, min = MIN_NEW_PASSWORD);
    if !prompted {
        let password = read_password(user, from_stdin)?;
        if password.chars().count() < MIN_NEW_PASSWORD {
            return Err(Error::Usage(too_short()));
        }
        return Ok(password);
    }
    let prompt =
        |text: String| rpassword::prompt_password(text).map_err(|e| Error::io(tr!(Msg::ReadingPassword), e));
    eprintln!("{}", tr!(Msg::NewPasswordRule, min = MIN_NEW_PASSWORD));
    for attempt in 1..=TRIES {
        let password = prompt(tr!(Msg::PasswordPrompt, user = user))?;
        let problem = if password.chars().count() < MIN_NEW_PASSWORD {
            too_short()
        } else if prompt(tr!(Msg::AgainPrompt))? == password {
            return Ok(password);
        } else {
            tr!(Msg::NewPasswordsDiffer)
        };
        if attempt == TRIES {
            return Err(Error::Usage(problem));
        }
        eprintln!("{}", tr!(Msg::TryAgain, problem = problem));
    }
    unreachable!("the last try returns")
}
