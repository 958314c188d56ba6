//! Where a new password comes from: typed twice at a hidden prompt, read
//! from stdin or `WACHAT_PASSWORD` (for scripts), or made up here from
//! the operating system's random generator and shown once. Never an
//! argument: the process list would show it.

use std::io::IsTerminal;

use super::NewPassword;
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;

/// `, password: …` after a made-up password, nothing after one typed.
pub(super) fn shown_password(shown: bool, secret: &str) -> String {
    if shown { tr!(Msg::ShownPassword, password = secret) } else { String::new() }
}

/// The new password and whether it must be shown (it was made up here).
pub(super) fn new_password(name: &str, how: &NewPassword) -> Result<(String, bool)> {
    if how.random {
        return Ok((random_password()?, true));
    }
    let from_env = std::env::var("WACHAT_PASSWORD").is_ok_and(|p| !p.is_empty());
    if how.password_stdin || from_env || !std::io::stdin().is_terminal() {
        return Ok((crate::prompt::read_password(name, how.password_stdin)?, false));
    }
    // Typed at a hidden prompt: asked twice, as passwd(1) does, since a
    // typo here would lock the student out.
    let ask = |prompt: String| {
        rpassword::prompt_password(prompt).map_err(|e| Error::io(tr!(Msg::ReadingPassword), e))
    };
    let first = ask(tr!(Msg::NewPasswordPrompt, name = name))?;
    if first.is_empty() {
        return Err(Error::Usage(tr!(Msg::EmptyPassword)));
    }
    if ask(tr!(Msg::AgainPrompt))? != first {
        return Err(Error::Usage(tr!(Msg::PasswordsDiffer)));
    }
    Ok((first, false))
}

/// Characters of a random password: no `0/O`, `1/l/I`, which students
/// would mistype when copying from a printed list.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 12 characters from 56: about 70 bits, beyond guessing at argon2's pace.
const PASSWORD_LEN: usize = 12;

/// A password from the operating system's random generator.
pub fn random_password() -> Result<String> {
    let mut password = String::with_capacity(PASSWORD_LEN);
    // Bytes at or above the largest multiple of 56 are thrown away, so
    // every character is equally likely (a plain `% 56` would favour some).
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    while password.len() < PASSWORD_LEN {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Usage(tr!(crate::i18n::client::Msg::NoRandom, error = e)))?;
        for b in bytes.into_iter().filter(|&b| b < limit).take(PASSWORD_LEN - password.len()) {
            password.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
        }
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_passwords_use_the_alphabet_and_differ() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_eq!(a.len(), PASSWORD_LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
    }
}
