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

/// The fewest characters a new account's password may have (NIST's
/// minimum for a password a person chooses): the server only stores a
/// hash, but one of two letters is guessed before the throttle matters.
pub const MIN_NEW_PASSWORD: usize = 8;

/// A new account's password: from the same sources as [`read_password`],
/// at least [`MIN_NEW_PASSWORD`] characters, and, when typed at the hidden
/// prompt, typed twice (nobody sees a typo there).
pub(crate) fn read_new_password(user: &str, from_stdin: bool) -> Result<String> {
    let prompted = !from_stdin
        && std::env::var("WACHAT_PASSWORD").map_or(true, |p| p.is_empty())
        && std::io::stdin().is_terminal();
    let password = read_password(user, from_stdin)?;
    if password.chars().count() < MIN_NEW_PASSWORD {
        return Err(Error::Usage(tr!(Msg::PasswordTooShort, min = MIN_NEW_PASSWORD)));
    }
    if prompted {
        let again = rpassword::prompt_password(tr!(Msg::AgainPrompt))
            .map_err(|e| Error::io(tr!(Msg::ReadingPassword), e))?;
        if again != password {
            return Err(Error::Usage(tr!(Msg::NewPasswordsDiffer)));
        }
    }
    Ok(password)
}
