//! `/profile [user]`, `/name [display name]`, `/photo [path]` and
//! `/privacy [lastseen|receipts on|off]` (protocol 1.2, §30), in both
//! consoles, as [`super::session`] does every other command.

use std::path::PathBuf;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::i18n::profile::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::names::check_user;
use crate::protocol::profile::{PrivacyKey, PrivacyLine, ProfileLine, check_display_name};

/// The words of these commands.
pub const WORDS: &[&str] = &["profile", "name", "photo", "privacy"];

/// One of these commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileCommand {
    /// `/profile [user]`: `None`, yours.
    Show(Option<String>),
    /// `/name <display name>`; empty removes it.
    Name(String),
    /// `/photo <path>`; `None` removes it.
    Photo(Option<PathBuf>),
    /// `/privacy`, or `/privacy lastseen|receipts on|off`.
    Privacy(Option<(PrivacyKey, bool)>),
}

/// Parses `/<word> <args>`; `Err` is what is wrong, in `lang`.
pub fn parse(lang: Lang, word: &str, args: &str) -> std::result::Result<ProfileCommand, String> {
    let args = args.trim();
    match word {
        "profile" => match args.split_whitespace().collect::<Vec<_>>()[..] {
            [] => Ok(ProfileCommand::Show(None)),
            // 1.3: a user of another server, by its address.
            [user] if check_user(user).is_ok() => Ok(ProfileCommand::Show(Some(user.to_string()))),
            _ => Err(Msg::UsageProfile.text(lang).to_string()),
        },
        "name" => Ok(ProfileCommand::Name(check_display_name(args)?.to_string())),
        "photo" => Ok(ProfileCommand::Photo((!args.is_empty()).then(|| PathBuf::from(args)))),
        _ => match args.split_whitespace().collect::<Vec<_>>()[..] {
            [] => Ok(ProfileCommand::Privacy(None)),
            [key, on] => {
                let key = PrivacyKey::parse(key).ok_or_else(|| Msg::UsagePrivacy.text(lang).to_string())?;
                match on {
                    "on" => Ok(ProfileCommand::Privacy(Some((key, true)))),
                    "off" => Ok(ProfileCommand::Privacy(Some((key, false)))),
                    _ => Err(Msg::UsagePrivacy.text(lang).to_string()),
                }
            }
            _ => Err(Msg::UsagePrivacy.text(lang).to_string()),
        },
    }
}

/// A profile in words: `ana: display name Ana María, with a photo`.
pub fn profile_line(lang: Lang, line: &ProfileLine) -> String {
    let name = if line.name.is_empty() { Msg::NoName.text(lang).to_string() } else { line.name.clone() };
    let photo = if line.tag.is_empty() { Msg::NoPhoto } else { Msg::HasPhoto };
    tr!(in lang; Msg::Shown, user = line.user, name = crate::display::visible(&name), photo = photo.text(lang))
}

/// The privacy in words.
pub fn privacy_line(lang: Lang, privacy: PrivacyLine) -> String {
    let word = |on: bool| if on { Msg::On.text(lang) } else { Msg::Off.text(lang) };
    tr!(in lang; Msg::Privacy, seen = word(privacy.last_seen), receipts = word(privacy.receipts))
}

/// Carries out one of these commands for `client`: the lines to show.
pub fn act(lang: Lang, client: &Client, command: ProfileCommand) -> Result<Vec<String>> {
    let older = |e| older_server(lang, e);
    Ok(match command {
        ProfileCommand::Show(user) => {
            let user = user.unwrap_or_else(|| client.me().to_string());
            vec![profile_line(lang, &client.profile(&user).map_err(older)?)]
        }
        ProfileCommand::Name(name) => {
            client.set_name(&name).map_err(older)?;
            match name.is_empty() {
                true => vec![Msg::NameRemoved.text(lang).to_string()],
                false => vec![tr!(in lang; Msg::NameSet, name = crate::display::visible(&name))],
            }
        }
        ProfileCommand::Photo(path) => {
            let tag = client.set_photo(path.as_deref()).map_err(older)?;
            let msg = if tag.is_empty() { Msg::PhotoRemoved } else { Msg::PhotoSet };
            vec![msg.text(lang).to_string()]
        }
        ProfileCommand::Privacy(change) => vec![privacy_line(lang, client.privacy(change).map_err(older)?)],
    })
}

/// A server older than 1.2 does not know these requests.
fn older_server(lang: Lang, e: Error) -> Error {
    super::prefs::older_server_says(e, Msg::ProfileUnknownServer.text(lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_parse_and_say_their_usage() {
        let en = Lang::En;
        assert_eq!(parse(en, "profile", ""), Ok(ProfileCommand::Show(None)));
        assert_eq!(parse(en, "profile", " bob "), Ok(ProfileCommand::Show(Some("bob".into()))));
        assert_eq!(parse(en, "profile", "bob carl"), Err("usage: /profile [user]".into()));
        assert_eq!(parse(en, "profile", "bob@lab2"), Ok(ProfileCommand::Show(Some("bob@lab2".into()))));
        assert_eq!(parse(en, "name", "Ana María: TA"), Ok(ProfileCommand::Name("Ana María: TA".into())));
        assert_eq!(parse(en, "name", ""), Ok(ProfileCommand::Name(String::new())));
        assert!(parse(en, "name", &"я".repeat(65)).unwrap_err().contains("at most 64 characters"));
        assert_eq!(parse(en, "photo", "me.png"), Ok(ProfileCommand::Photo(Some("me.png".into()))));
        assert_eq!(parse(en, "photo", ""), Ok(ProfileCommand::Photo(None)));
        assert_eq!(parse(en, "privacy", ""), Ok(ProfileCommand::Privacy(None)));
        assert_eq!(
            parse(en, "privacy", "receipts off"),
            Ok(ProfileCommand::Privacy(Some((PrivacyKey::Receipts, false))))
        );
        assert_eq!(
            parse(Lang::Es, "privacy", "seen off"),
            Err("uso: /privacy [lastseen|receipts on|off]".into())
        );
    }
}
