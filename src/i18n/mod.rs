//! What wachat says to people, in English, Spanish and Portuguese.
//!
//! wachat is taught in Spanish-, Portuguese- and English-speaking
//! classrooms, so everything a *user* reads — the console's lines, its
//! help, the one-shot and `wachat users` commands' output, the errors —
//! comes from one catalogue, split by area:
//!
//! | module | what it holds |
//! |---|---|
//! | [`console`] | `wachat connect`: prompts, chat lines, notices, help, command mistakes |
//! | [`client`] | the client library's errors and notices: connections, `KO` codes, direct chats, names |
//! | [`commands`] | the one-shot commands, `wachat users …`, passwords, the data directory's lock |
//! | [`demo`] | `wachat demo`'s annotations |
//! | [`tui`] | `wachat connect --tui`: panes, status line, keys |
//!
//! Each message is one variant of an area's `Msg` enum with its three
//! translations side by side (see the `catalogue!` macro below), so adding a
//! message without its translations does not compile, and a test checks
//! that the three agree on their `{placeholders}`.
//!
//! What stays English, on purpose: the wire protocol (a `KO`'s reason is
//! the server's, in English; in another language the console shows a
//! translated meaning of the `KO` code before it, in English the reason
//! alone, which says it once), the server's log and `wachat serve`/`bench`
//! output (for operators), `--trace` frames, and clap's own `--help` and
//! argument errors.
//!
//! ## Which language
//!
//! `--lang en|es|pt`, else the locale of the environment (`LC_ALL`, then
//! `LC_MESSAGES`, then `LANG`, as POSIX orders them): `es_AR.UTF-8` is
//! Spanish, `pt_BR.UTF-8` Portuguese, anything else English.
//!
//! The language is a property of the whole process, like `LANG` itself:
//! [`set`] is called once by the command line before any work, and
//! messages built deep in the client library (an error while connecting)
//! read it with [`current`]. Passing a language through every function
//! that might fail would add a parameter to dozens of signatures that have
//! nothing to do with language. The console's pure view functions take a
//! [`Lang`] argument instead, so their tests can check every language
//! without touching the process-wide one. `wachat serve` never calls
//! [`set`]: the server speaks English whatever the locale.

pub mod account;
pub mod actions;
pub mod calls;
pub mod client;
pub mod commands;
pub mod console;
pub mod demo;
pub mod files;
pub mod moderation;
pub mod prefs;
pub mod profile;
pub mod receipts;
pub mod rules;
pub mod stars;
pub mod tui;

use std::fmt::{self, Display};
use std::sync::atomic::{AtomicU8, Ordering};

/// A language wachat speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Lang {
    /// English.
    En = 0,
    /// Spanish (neutral: for Spain and Latin America).
    Es = 1,
    /// Portuguese (Brazilian).
    Pt = 2,
}

impl Lang {
    /// Every language, in the order of the catalogue's columns.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Es, Lang::Pt];

    /// The language of a POSIX locale name: `es`, `es_AR.UTF-8`,
    /// `pt_BR@euro` … Anything else (`C`, `POSIX`, `fr_FR`) is English.
    pub fn from_locale(locale: &str) -> Lang {
        let language = locale.split(['_', '.', '@', '-']).next().unwrap_or("");
        match language.to_ascii_lowercase().as_str() {
            "es" => Lang::Es,
            "pt" => Lang::Pt,
            _ => Lang::En,
        }
    }

    /// The language of the environment: the first of `LC_ALL`,
    /// `LC_MESSAGES`, `LANG` that is set and not empty (the order in which
    /// POSIX programs look them up), else English.
    pub fn from_env() -> Lang {
        Lang::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Lang::from_env`] with the lookup as an argument, for tests.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .find_map(|name| var(name).filter(|v| !v.is_empty()))
            .map_or(Lang::En, |locale| Lang::from_locale(&locale))
    }

    /// The code used by `--lang`: `en`, `es`, `pt`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Pt => "pt",
        }
    }
}

impl Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The process's language, as a `Lang` discriminant. English until [`set`].
static CURRENT: AtomicU8 = AtomicU8::new(Lang::En as u8);

/// Chooses the language of this process's messages.
pub fn set(lang: Lang) {
    // Relaxed: one value, written before the threads that read it start.
    CURRENT.store(lang as u8, Ordering::Relaxed);
}

/// The language chosen by [`set`] (English if nobody chose).
pub fn current() -> Lang {
    match CURRENT.load(Ordering::Relaxed) {
        1 => Lang::Es,
        2 => Lang::Pt,
        _ => Lang::En,
    }
}

/// Defines one area's messages: an enum `Msg` whose variants each carry
/// their English, Spanish and Portuguese text, `Msg::ALL` for the tests,
/// and `Msg::text(lang)`.
///
/// ```text
/// catalogue! {
///     /// `connected to 127.0.0.1 as ana`
///     Connected {
///         en: "connected to {server} as {me}",
///         es: "conectado a {server} como {me}",
///         pt: "conectado a {server} como {me}",
///     },
/// }
/// ```
macro_rules! catalogue {
    ($( $(#[$doc:meta])* $key:ident { en: $en:expr, es: $es:expr, pt: $pt:expr $(,)? } ),* $(,)?) => {
        /// The messages of this area; [`Msg::text`] gives one in a language.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Msg {
            $( $(#[$doc])* $key, )*
        }

        impl Msg {
            /// Every message of the area, for the tests.
            pub const ALL: &'static [Msg] = &[$(Msg::$key),*];

            /// The three translations, in the order of [`crate::i18n::Lang::ALL`].
            pub fn texts(self) -> [&'static str; 3] {
                match self {
                    $( Msg::$key => [$en, $es, $pt], )*
                }
            }

            /// The template in `lang`, placeholders unfilled.
            pub fn text(self, lang: $crate::i18n::Lang) -> &'static str {
                self.texts()[lang as usize]
            }
        }
    };
}
pub(crate) use catalogue;

/// A message filled in: `tr!(Msg::Connected, server = host, me = name)`
/// in the process's language, or `tr!(in lang; Msg::Connected, …)` in a
/// given one. Each `name = value` fills `{name}`; values are any
/// `Display`.
macro_rules! tr {
    (in $lang:expr; $key:expr $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::i18n::fill(
            $key.text($lang),
            &[$((stringify!($name), &$value as &dyn ::std::fmt::Display)),*],
        )
    };
    ($key:expr $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::i18n::tr!(in $crate::i18n::current(); $key $(, $name = $value)*)
    };
}
pub(crate) use tr;

/// Fills the `{name}` placeholders of `template` from `args`; `{{` and
/// `}}` stand for literal braces.
///
/// Only the template is scanned: a value is copied as it is, so a user's
/// text that contains `{me}` is never mistaken for a placeholder. A
/// placeholder without a value, or a value without its placeholder, is a
/// bug in the caller: debug builds (the tests) stop on it, release builds
/// leave the placeholder visible rather than lose the message.
pub fn fill(template: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16 * args.len());
    let mut used = vec![false; args.len()];
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        match placeholder(tail) {
            Some(name) => {
                match args.iter().position(|(arg, _)| *arg == name) {
                    Some(i) => {
                        used[i] = true;
                        out.push_str(&args[i].1.to_string());
                    }
                    None => {
                        debug_assert!(false, "no value for {{{name}}} in {template:?}");
                        out.push_str(&tail[..name.len() + 2]);
                    }
                }
                rest = &tail[name.len() + 2..];
            }
            None => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    debug_assert!(
        used.iter().all(|&u| u),
        "unused values {:?} for {template:?}",
        args.iter().zip(&used).filter(|(_, u)| !**u).map(|((n, _), _)| n).collect::<Vec<_>>()
    );
    out
}

/// The name of the `{name}` placeholder at the start of `s`, if there is one.
fn placeholder(s: &str) -> Option<&str> {
    let body = s.strip_prefix('{')?;
    let end = body.find('}')?;
    let name = &body[..end];
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholder names of a template, sorted, each once.
    fn placeholders(template: &str) -> Vec<&str> {
        let mut names = Vec::new();
        let mut rest = template;
        while let Some(at) = rest.find('{') {
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("{{") {
                rest = after;
                continue;
            }
            match placeholder(tail) {
                Some(name) => {
                    names.push(name);
                    rest = &tail[name.len() + 2..];
                }
                None => rest = &tail[1..],
            }
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Every message of every area as `(area and key, [en, es, pt])`, for the
    /// test that checks the catalogue is complete.
    fn all_messages() -> Vec<(String, [&'static str; 3])> {
        let area = |name: &str, key: &dyn fmt::Debug, texts| (format!("{name}::{key:?}"), texts);
        let mut all = Vec::new();
        all.extend(console::Msg::ALL.iter().map(|m| area("console", m, m.texts())));
        all.extend(client::Msg::ALL.iter().map(|m| area("client", m, m.texts())));
        all.extend(commands::Msg::ALL.iter().map(|m| area("commands", m, m.texts())));
        all.extend(demo::Msg::ALL.iter().map(|m| area("demo", m, m.texts())));
        all.extend(tui::Msg::ALL.iter().map(|m| area("tui", m, m.texts())));
        all.extend(actions::Msg::ALL.iter().map(|m| area("actions", m, m.texts())));
        all.extend(account::Msg::ALL.iter().map(|m| area("account", m, m.texts())));
        all.extend(prefs::Msg::ALL.iter().map(|m| area("prefs", m, m.texts())));
        all.extend(stars::Msg::ALL.iter().map(|m| area("stars", m, m.texts())));
        all.extend(receipts::Msg::ALL.iter().map(|m| area("receipts", m, m.texts())));
        all.extend(calls::Msg::ALL.iter().map(|m| area("calls", m, m.texts())));
        all
    }

    #[test]
    fn every_message_has_all_three_languages_with_the_same_placeholders() {
        let all = all_messages();
        assert!(all.len() > 100, "the catalogue has {} messages", all.len());
        for (key, [en, es, pt]) in &all {
            for (lang, text) in Lang::ALL.iter().zip([en, es, pt]) {
                assert!(!text.trim().is_empty(), "{key} has no {lang} text");
                assert_eq!(
                    placeholders(text),
                    placeholders(en),
                    "{key}: {lang} and en differ in placeholders"
                );
                // A brace that is not a placeholder nor `{{`/`}}` is a typo.
                let stray = without_placeholders(text);
                assert!(!stray.contains(['{', '}']), "{key} ({lang}): stray brace in {text:?}");
            }
            // A translation is not a copy of the English, unless it is a
            // few letters that read the same in both ("chats", "pid").
            let wordy = without_placeholders(en).chars().filter(|c| c.is_alphabetic()).count() > 12;
            if wordy {
                assert!(es != en && pt != en, "{key} is not translated: {en:?}");
            }
        }
    }

    /// The text with its placeholders and escaped braces taken out.
    fn without_placeholders(text: &str) -> String {
        let mut rest = text.replace("{{", "").replace("}}", "");
        for name in placeholders(text) {
            rest = rest.replace(&format!("{{{name}}}"), "");
        }
        rest
    }

    #[test]
    fn placeholders_are_filled_by_name_and_values_are_never_rescanned() {
        let filled = fill("{a} to {b}, {{literal}} {a}", &[("b", &"{a}"), ("a", &1)]);
        assert_eq!(filled, "1 to {a}, {literal} 1");
        assert_eq!(placeholders("{who} said {what} to {who}: {{no}}"), ["what", "who"]);
    }

    #[test]
    #[should_panic(expected = "no value for {who}")]
    fn a_missing_value_is_a_bug_caught_in_tests() {
        fill("hello {who}", &[]);
    }

    #[test]
    fn the_language_comes_from_the_locale() {
        assert_eq!(Lang::from_locale("es_AR.UTF-8"), Lang::Es);
        assert_eq!(Lang::from_locale("es"), Lang::Es);
        assert_eq!(Lang::from_locale("pt_BR.UTF-8"), Lang::Pt);
        assert_eq!(Lang::from_locale("pt_PT@euro"), Lang::Pt);
        for other in ["C", "POSIX", "C.UTF-8", "en_US.UTF-8", "fr_FR", ""] {
            assert_eq!(Lang::from_locale(other), Lang::En, "{other}");
        }
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        };
        assert_eq!(Lang::from_vars(env(&[("LANG", "pt_BR.UTF-8")])), Lang::Pt);
        assert_eq!(Lang::from_vars(env(&[("LANG", "pt_BR.UTF-8"), ("LC_ALL", "es_MX.UTF-8")])), Lang::Es);
        assert_eq!(Lang::from_vars(env(&[("LANG", "es_ES"), ("LC_MESSAGES", "C")])), Lang::En);
        assert_eq!(Lang::from_vars(env(&[("LC_ALL", ""), ("LANG", "es_ES")])), Lang::Es);
        assert_eq!(Lang::from_vars(env(&[])), Lang::En);
    }
}
