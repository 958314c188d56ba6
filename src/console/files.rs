//! Files in the consoles (protocol 1.2, §21): `/file PATH [caption]`
//! sends a file to the open chat, `/save N [PATH]` saves the file of the
//! message numbered `N` on screen (into the current folder under its own
//! name, or into `PATH`, a folder or a file name); a message seen only in
//! `HISTORY` has its file asked of the server (`FILEOF`, 1.2). The chat shows a file
//! as its message's text, `📎 lab3.pdf (245 KB) caption`, as every client.

use std::path::{Path, PathBuf};

use super::numbers::{Numbered, numbered};
use super::view;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::i18n::files::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::Chat;

/// A file command typed in a console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileCommand {
    /// `/file PATH [caption]`
    Send(PathBuf, Option<String>),
    /// `/save N [PATH]`
    Save(usize, Option<PathBuf>),
}

/// The commands' words, without their `/`.
pub const WORDS: [&str; 2] = ["file", "save"];

/// Parses `/file` or `/save` (`word` without its `/`).
pub fn parse(lang: Lang, word: &str, args: &str) -> std::result::Result<FileCommand, String> {
    let usage = |msg: Msg| tr!(in lang; crate::i18n::console::Msg::Usage, usage = msg.text(lang));
    let (first, rest) = match args.trim().split_once(char::is_whitespace) {
        Some((first, rest)) => (first, Some(rest.trim()).filter(|r| !r.is_empty())),
        None => (args.trim(), None),
    };
    match word {
        "file" if !first.is_empty() => Ok(FileCommand::Send(first.into(), rest.map(str::to_string))),
        "file" => Err(usage(Msg::UsageFile)),
        _ => match first.parse::<usize>() {
            Ok(n) if n > 0 && rest.is_none_or(|r| !r.contains(char::is_whitespace)) => {
                Ok(FileCommand::Save(n, rest.map(PathBuf::from)))
            }
            _ => Err(usage(Msg::UsageSave)),
        },
    }
}

/// Carries out a file command of `client`'s user in the `open` chat; the
/// lines to show.
pub fn act(
    lang: Lang,
    client: &Client,
    screen: &Numbered,
    open: Option<Chat>,
    command: FileCommand,
) -> Result<Vec<String>> {
    match command {
        FileCommand::Send(path, caption) => {
            let chat = open.ok_or_else(|| Error::Usage(Msg::NoChatOpen.text(lang).to_string()))?;
            let sent = client.send_file(&chat, &path, caption.as_deref())?;
            Ok(vec![numbered(screen, &view::message(lang, client.me(), &sent), &sent)])
        }
        FileCommand::Save(n, dest) => {
            let no_file = || Error::Usage(tr!(in lang; Msg::NoFile, n = n));
            let m = screen.get(n).ok_or_else(no_file)?;
            client.file_for(&m)?.ok_or_else(no_file)?;
            let path = client.save_file(&m, dest.as_deref().or(Some(Path::new("."))))?;
            Ok(vec![tr!(in lang; Msg::Saved, n = n, path = path.display())])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_commands_parse_and_mistakes_say_the_usage() {
        let p = |w, a| parse(Lang::En, w, a);
        assert_eq!(p("file", "lab3.pdf"), Ok(FileCommand::Send("lab3.pdf".into(), None)));
        assert_eq!(
            p("file", "a.png  the board"),
            Ok(FileCommand::Send("a.png".into(), Some("the board".into())))
        );
        assert_eq!(p("save", "3"), Ok(FileCommand::Save(3, None)));
        assert_eq!(p("save", "3 /tmp"), Ok(FileCommand::Save(3, Some("/tmp".into()))));
        assert!(p("file", "").unwrap_err().starts_with("usage: /file"));
        assert!(p("save", "x").unwrap_err().starts_with("usage: /save"));
        assert!(p("save", "0").is_err());
    }
}
