//! The server's settings from four places, in one order: a flag, then its
//! environment variable (`WACHAT_SEND_PORT`), then the configuration file
//! (`--config FILE`, TOML: `send-port = 6666`), then the flag's default.
//!
//! Nothing here names a flag of `serve`. The keys and the variables are
//! made from clap's own definition of `wachat serve`, so a flag added there
//! is a key and a variable at once: a key is the flag's long name without
//! `--`, its variable `WACHAT_` and that name in capitals with `_` for `-`.
//! clap reads the variables itself (its `env`). The file's values are all
//! checked here, even those a flag overrides, each by the flag's own value
//! parser; then the keys that neither the command line nor the environment
//! set are given to clap as flags after the command line's own, so that a
//! value from the file is parsed, and checked against the other flags
//! (`--turn` needs `--turn-secret`), exactly as the same flag would be.
//!
//! A value that names a file or a folder (a flag whose value is a path)
//! is, when relative, the configuration file's folder's, wherever the
//! command runs: `data-dir = "data"` in `/etc/wachat/wachat.toml` is
//! `/etc/wachat/data`. A repeatable flag's variable takes several values
//! separated by commas (`WACHAT_EXEMPT=10.0.0.9,10.0.0.8`), as its flag
//! does.
//!
//! Any subcommand with a `--config` flag ([`super::ConfigFile`], flattened into its
//! arguments) reads the same file, the server's: it takes the keys it has
//! a flag for (`wachat backup` its `data-dir`) and ignores the others,
//! after the whole file was checked against `serve`'s flags. Every command
//! that works on a data directory has both, through one definition
//! ([`super::DataDirArgs`]).

use std::any::TypeId;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};
use toml::de::{DeTable, DeValue};

use super::{Cli, Command as Subcommand};

/// The subcommand whose flags are the file's keys.
const SERVER: &str = "serve";

/// Ids of flags of `serve` that are about the configuration itself, not
/// settings: they are no key of the file, and have no variable of their
/// own made for them.
const NOT_KEYS: [&str; 2] = ["config", "print_config"];

/// The prefix of every setting's environment variable.
const ENV_PREFIX: &str = "WACHAT_";

/// One line of `wachat serve --print-config`: a key, its value as TOML
/// (`None`: not set) and where it came from.
#[derive(Debug, Clone)]
pub struct Setting {
    pub key: String,
    pub value: Option<String>,
    pub source: Source,
}

/// Where a setting's value came from, in the order they win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    /// The variable's name.
    Env(String),
    /// The file and the line of the key.
    File(PathBuf, usize),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => write!(f, "flag"),
            Source::Env(name) => write!(f, "env {name}"),
            Source::File(path, line) => write!(f, "file {}:{line}", path.display()),
            Source::Default => write!(f, "default"),
        }
    }
}

impl fmt::Display for Setting {
    /// `key = value  # source`; a key that is not set is commented out,
    /// so that the whole listing is a configuration file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} = {value}  # {}", self.key, self.source),
            None => write!(f, "# {} (not set)  # {}", self.key, self.source),
        }
    }
}

/// The command line's definition with a `WACHAT_` variable on every key:
/// on `serve`'s flags, and on those flags of every other subcommand that
/// reads the configuration file (`--data-dir`, not its own `--force`),
/// however deep (`users add`). A repeatable key takes several values at
/// once, separated by commas: its variable has but one value
/// (`WACHAT_EXEMPT=10.0.0.9,10.0.0.8`), and its flag takes the same.
pub fn command() -> Command {
    let cli = Cli::command();
    let serve = cli.find_subcommand(SERVER).expect("wachat has a serve subcommand");
    let keys: Vec<String> =
        serve.get_arguments().filter(|a| is_key(a)).filter_map(|a| a.get_long()).map(String::from).collect();
    with_variables(cli, &keys)
}

/// `cmd`'s subcommands, and theirs, with [`command`]'s variables.
fn with_variables(cmd: Command, keys: &[String]) -> Command {
    cmd.mut_subcommands(|sub| {
        let sub = with_variables(sub, keys);
        if !takes_config(&sub) {
            return sub;
        }
        sub.mut_args(|arg| {
            match arg.get_long().filter(|long| is_key(&arg) && keys.iter().any(|k| k == long)) {
                Some(long) => {
                    let name = env_name(long);
                    let list = matches!(arg.get_action(), ArgAction::Append);
                    let arg = arg.env(name);
                    if list && arg.get_value_delimiter().is_none() { arg.value_delimiter(',') } else { arg }
                }
                None => arg,
            }
        })
    })
}

/// The subcommand a command line names, however deep (`users add`): its
/// definition and what was matched.
fn deepest<'a>(cmd: &'a Command, matches: &'a ArgMatches) -> Option<(&'a Command, &'a ArgMatches)> {
    let (name, sub) = matches.subcommand()?;
    let def = cmd.find_subcommand(name)?;
    Some(deepest(def, sub).unwrap_or((def, sub)))
}

/// Parses the process's command line: [`try_parse_from`] of `std::env::args_os`.
pub fn try_parse() -> Result<Cli, clap::Error> {
    try_parse_from(std::env::args_os())
}

/// Parses a command line with its variables and its configuration file
/// (flag > environment > file > default). An error (clap's own, a bad
/// variable, a bad file) is a clap error: `exit()` prints it and exits 2.
pub fn try_parse_from<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let mut cmd = command();
    cmd.build();
    // A first look, which lets pass what the file may yet give (a
    // required --data-dir, --turn-secret for --turn): which subcommand,
    // which file, and what the flags and the variables set.
    let first = command().ignore_errors(true).try_get_matches_from(&argv).ok();
    let found = first.as_ref().and_then(|m| deepest(&cmd, m));
    if let Some((sub, _)) = found {
        check_variables(sub)?;
    }
    let file = match found.map(|(_, matched)| matched.try_get_one::<PathBuf>("config")) {
        Some(Ok(Some(path))) => Some(File::load(path, &server_keys(&cmd)).map_err(usage)?),
        _ => None,
    };
    // The file's keys that this subcommand has and that neither a flag
    // nor a variable set, as flags after the command line's own (before a
    // `--`, after which they would be taken for operands).
    let mut from_file = HashMap::new();
    if let (Some(file), Some((args, matched))) = (&file, found) {
        let mut flags = Vec::new();
        for entry in &file.entries {
            let Some(arg) = args.get_arguments().find(|a| a.get_long() == Some(entry.key.as_str())) else {
                continue;
            };
            if matches!(
                matched.value_source(arg.get_id().as_str()),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            ) {
                continue;
            }
            from_file.insert(entry.key.clone(), entry.line);
            flags.extend(entry.flags());
        }
        let end = argv.iter().position(|word| word == "--").unwrap_or(argv.len());
        argv.splice(end..end, flags);
    }
    let matches = cmd.clone().try_get_matches_from(&argv)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let (Subcommand::Serve(args), Some((_, sub))) = (&mut cli.command, matches.subcommand()) {
        let path = file.map(|f| f.path).unwrap_or_default();
        args.settings = settings(&server_keys(&cmd), sub, &path, &from_file);
    }
    Ok(cli)
}

/// A subcommand reads the configuration file if it has `--config`.
fn takes_config(cmd: &Command) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == "config")
}

/// A flag that is a key of the file: a long flag of the subcommand's own
/// that takes a value or is a switch (not `--help`, not the global `--lang`).
pub fn is_key(arg: &Arg) -> bool {
    arg.get_long().is_some()
        && !NOT_KEYS.contains(&arg.get_id().as_str())
        && !arg.is_global_set()
        && matches!(arg.get_action(), ArgAction::Set | ArgAction::Append | ArgAction::SetTrue)
}

/// A key's environment variable: `send-port` → `WACHAT_SEND_PORT`.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_uppercase().replace('-', "_"))
}

/// The keys of the file: `serve`'s flags, in the order of its `--help`.
/// `cmd` is built ([`Command::build`]).
fn server_keys(cmd: &Command) -> Vec<Key<'_>> {
    let serve = cmd.find_subcommand(SERVER).expect("wachat has a serve subcommand");
    serve.get_arguments().filter(|a| is_key(a)).map(Key::new).collect()
}

/// What TOML value a key takes, from its flag's action and the type its
/// value parser makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A flag without a value: `true` or `false`.
    Switch,
    /// A whole number (`send-port = 6666`).
    Integer,
    /// A number of bytes, written as a number or with a unit
    /// (`user-quota = "64MiB"`): a whole number whose default is not one.
    IntegerOrText,
    /// A number, fractions allowed (`rate = 2.5`).
    Float,
    /// Anything else (an address, a path, a choice, a duration): a string,
    /// or a whole number where the flag takes one (`web-port = 8080`).
    Text,
}

/// A key of the file: its flag and what it takes.
struct Key<'c> {
    arg: &'c Arg,
    name: &'c str,
    kind: Kind,
    /// A repeatable flag: an array of values.
    list: bool,
    /// A flag that names a file or a folder: a relative path in the file
    /// is the file's folder's.
    path: bool,
}

impl<'c> Key<'c> {
    fn new(arg: &'c Arg) -> Key<'c> {
        let made = arg.get_value_parser().type_id();
        let integers = [
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<usize>(),
            TypeId::of::<i32>(),
            TypeId::of::<i64>(),
        ];
        let default_is_integer = arg
            .get_default_values()
            .first()
            .is_none_or(|d| d.to_str().is_some_and(|d| d.parse::<i128>().is_ok()));
        let kind = if matches!(arg.get_action(), ArgAction::SetTrue) {
            Kind::Switch
        } else if integers.iter().any(|t| made == *t) {
            if default_is_integer { Kind::Integer } else { Kind::IntegerOrText }
        } else if made == TypeId::of::<f64>() || made == TypeId::of::<f32>() {
            Kind::Float
        } else {
            Kind::Text
        };
        let name = arg.get_long().expect("a key is a long flag");
        let list = matches!(arg.get_action(), ArgAction::Append);
        Key { arg, name, kind, list, path: made == TypeId::of::<PathBuf>() }
    }

    /// The flag's words for a TOML value (`["7000"]`, `["true"]`), or why
    /// the value is not one this key takes. A relative path is `folder`'s,
    /// the file's.
    fn words(&self, value: &DeValue<'_>, folder: &Path) -> Result<Vec<String>, String> {
        if !self.list {
            return Ok(vec![self.word(value, folder)?]);
        }
        let Some(items) = value.as_array() else {
            return Err(format!("expected an array (the flag is repeatable), found {}", value.type_str()));
        };
        items.iter().map(|item| self.word(item.get_ref(), folder)).collect()
    }

    /// One value's word, checked by the flag's own value parser.
    fn word(&self, value: &DeValue<'_>, folder: &Path) -> Result<String, String> {
        let word = match (self.kind, value) {
            (Kind::Switch, DeValue::Boolean(b)) => return Ok(b.to_string()),
            (Kind::Integer | Kind::IntegerOrText | Kind::Text | Kind::Float, DeValue::Integer(n)) => {
                i128::from_str_radix(n.as_str(), n.radix()).map_err(|e| e.to_string())?.to_string()
            }
            (Kind::Float, DeValue::Float(x)) => x.as_str().replace('_', ""),
            (Kind::Text, DeValue::String(s)) if self.path && Path::new(s.as_ref()).is_relative() => {
                folder.join(s.as_ref()).display().to_string()
            }
            (Kind::IntegerOrText | Kind::Text, DeValue::String(s)) => s.to_string(),
            (kind, value) => return Err(format!("expected {}, found {}", kind.expected(), value.type_str())),
        };
        self.check(&word).map_err(|why| match why {
            _ if word.starts_with('-') && word.parse::<i128>().is_ok() => {
                format!("{word} is negative: expected 0 or more")
            }
            why if why.contains(&word) => why,
            why => format!("{word:?}: {why}"),
        })?;
        Ok(word)
    }

    /// Whether the flag's value parser takes `word`: a command of this one
    /// flag parses it (the flag's relations to others left out).
    fn check(&self, word: &str) -> Result<(), String> {
        let mut probe = Arg::new(self.arg.get_id().clone())
            .long(self.name.to_string())
            .action(ArgAction::Append)
            .value_parser(self.arg.get_value_parser().clone());
        if let Some(delimiter) = self.arg.get_value_delimiter() {
            probe = probe.value_delimiter(delimiter);
        }
        let probe = Command::new("wachat").no_binary_name(true).arg(probe);
        probe.try_get_matches_from([format!("--{}={word}", self.name)]).map(drop).map_err(|e| reason(&e))
    }

    /// The key's value in TOML, from the flag's words as clap kept them.
    fn toml(&self, words: &[String]) -> String {
        let one = |word: &String| match self.kind {
            Kind::Switch => word.clone(),
            Kind::Integer | Kind::IntegerOrText if word.parse::<i128>().is_ok() => word.clone(),
            Kind::Float if toml_number(word) => word.clone(),
            _ => toml_string(word),
        };
        if self.list {
            format!("[{}]", words.iter().map(one).collect::<Vec<_>>().join(", "))
        } else {
            words.first().map(one).unwrap_or_default()
        }
    }

    /// A value that must not be shown: a secret, or a connection string's
    /// password.
    fn masked(&self, toml: String) -> String {
        let secret = ["secret", "password", "token"].iter().any(|word| self.name.contains(word));
        if secret { toml_string("********") } else { mask_password(&toml) }
    }

    /// Whether `words`, this key's value, holds what [`Key::masked`] hides.
    fn holds_secret(&self, words: &[String]) -> bool {
        let toml = self.toml(words);
        self.masked(toml.clone()) != toml
    }
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Switch => "true or false",
            Kind::Integer => "a whole number",
            Kind::IntegerOrText => "a number or a size (\"64MiB\")",
            Kind::Float => "a number",
            Kind::Text => "a string",
        }
    }
}

/// A number TOML writes as it is (`2.5`, `5`, `1e3`; not `inf` or `.5`).
fn toml_number(word: &str) -> bool {
    word.parse::<f64>().is_ok_and(f64::is_finite)
        && word.trim_start_matches(['-', '+']).starts_with(|c: char| c.is_ascii_digit())
        && !word.ends_with('.')
}

/// A TOML basic string: quoted, with `"`, `\` and control characters escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `postgres://user:PASSWORD@host/db` and libpq's `password=PASSWORD`,
/// the password replaced by `********`.
fn mask_password(value: &str) -> String {
    let mut out = value.to_string();
    if let Some(scheme) = out.find("://") {
        let rest = scheme + 3;
        if let Some(at) = out[rest..].find('@').map(|at| rest + at)
            && let Some(colon) = out[rest..at].find(':').map(|c| rest + c)
        {
            out.replace_range(colon + 1..at, "********");
        }
    }
    if let Some(start) = out.find("password=").map(|p| p + "password=".len()) {
        let end = out[start..].find([' ', '"']).map_or(out.len(), |e| start + e);
        out.replace_range(start..end, "********");
    }
    out
}

/// What a clap error says about a value, without clap's framing.
fn reason(e: &clap::Error) -> String {
    if e.kind() == ErrorKind::ValueValidation
        && let Some(source) = std::error::Error::source(e)
    {
        return source.to_string();
    }
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        let value = match e.get(ContextKind::InvalidValue) {
            Some(ContextValue::String(value)) => format!("{value:?} is not one of "),
            _ => "expected one of ".to_string(),
        };
        return format!("{value}{}", valid.join(", "));
    }
    let text = e.to_string();
    text.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string()
}

/// Every variable set for a flag of the subcommand `sub`, checked by the
/// flag's own value parser, even where a flag overrides it (clap reads a
/// variable only when it is used, and does not name it).
fn check_variables(sub: &Command) -> Result<(), clap::Error> {
    for arg in sub.get_arguments().filter(|a| a.get_long().is_some()) {
        let Some(name) = arg.get_env() else { continue };
        let Some(value) = std::env::var_os(name) else { continue };
        let value = value.to_string_lossy();
        Key::new(arg)
            .check(&value)
            .map_err(|why| usage(format!("{}={value}: {why}", name.to_string_lossy())))?;
    }
    Ok(())
}

/// A message as clap's error, which `exit()` prints as it prints its own.
fn usage(message: String) -> clap::Error {
    clap::Error::raw(ErrorKind::InvalidValue, format!("{message}\n"))
}

/// The configuration file, read and checked whole.
struct File {
    path: PathBuf,
    entries: Vec<Entry>,
}

/// One key of the file.
struct Entry {
    key: String,
    line: usize,
    /// The flag's words ([`Key::words`]).
    words: Vec<String>,
    switch: bool,
}

impl Entry {
    /// The key as flags on a command line: `--key=word` for each word, a
    /// switch's `--key` alone when it is true.
    fn flags(&self) -> Vec<OsString> {
        if self.switch {
            return if self.words == ["true"] { vec![format!("--{}", self.key).into()] } else { vec![] };
        }
        self.words.iter().map(|word| format!("--{}={word}", self.key).into()).collect()
    }
}

impl File {
    /// Reads and checks the file: TOML, every key one of `keys`, every
    /// value one its flag takes. The first fault is the error, with the
    /// file, the line and the key.
    fn load(path: &Path, keys: &[Key<'_>]) -> Result<File, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{shown}: cannot read the configuration: {e}"))?;
        let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let folder = path.parent().unwrap_or(Path::new(""));
        let table = DeTable::parse(&text).map_err(|e| {
            let at = e.span().map_or(String::new(), |span| format!(":{}", line(span.start)));
            let key = e.span().map(|span| key_at(&text, span.start)).unwrap_or_default();
            format!("{shown}{at}: not valid TOML: {}{key}", e.message().trim_end())
        })?;
        let (mut entries, mut secrets) = (Vec::new(), Vec::new());
        for (name, value) in table.get_ref() {
            let at = line(name.span().start);
            let Some(key) = keys.iter().find(|k| k.name == name.get_ref().as_ref()) else {
                let hint = match keys.iter().find(|k| k.name == name.get_ref().replace('_', "-")) {
                    Some(k) => format!(" (did you mean {}?)", k.name),
                    None => " (the keys are the flags of `wachat serve --help`, without --)".into(),
                };
                return Err(format!("{shown}:{at}: unknown key {}{hint}", name.get_ref()));
            };
            let words = key
                .words(value.get_ref(), folder)
                .map_err(|why| format!("{shown}:{at}: {}: {why}", key.name))?;
            if key.holds_secret(&words) {
                secrets.push(key.name);
            }
            entries.push(Entry {
                key: key.name.to_string(),
                line: at,
                words,
                switch: key.kind == Kind::Switch,
            });
        }
        refuse_if_others_read(path, &secrets)?;
        Ok(File { path: path.to_path_buf(), entries })
    }
}

/// A file that holds `secrets` (keys `--print-config` masks: a
/// `turn-secret`, a database password) is refused if other users can
/// read it: every account of the machine (a lab machine's students) could
/// mint TURN credentials or write to the database. Refused, not warned
/// of: a warning at each start is a line nobody reads while the secret
/// stays open, and the fix is one `chmod`. (A file without a secret is
/// read whatever its mode; on Windows, modes are not read.)
fn refuse_if_others_read(path: &Path, secrets: &[&str]) -> Result<(), String> {
    if secrets.is_empty() {
        return Ok(());
    }
    let mode = std::fs::metadata(path).ok().and_then(|m| crate::sys::private::mode_of(&m)).unwrap_or(0);
    if mode & 0o004 != 0 {
        let shown = path.display();
        return Err(format!(
            "{shown}: other users can read this file (mode {:04o}), and it holds {}: take \
             their reading away (chmod o-r {shown}: its owner and its group still read it, a \
             service's user among them), then change the secret: whoever read it may have kept it",
            mode & 0o777,
            secrets.join(", ")
        ));
    }
    Ok(())
}

/// ` (key K)` for the key that starts the line at `offset`, where TOML's
/// message does not say it (a key given twice).
fn key_at(text: &str, offset: usize) -> String {
    let start = text[..offset.min(text.len())].rfind('\n').map_or(0, |n| n + 1);
    let line = text[start..].lines().next().unwrap_or_default();
    match line.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() && !key.contains('[') => format!(" (key {})", key.trim()),
        _ => String::new(),
    }
}

/// Every key's value and where it came from, for `--print-config`.
fn settings(
    keys: &[Key<'_>],
    sub: &ArgMatches,
    path: &Path,
    from_file: &HashMap<String, usize>,
) -> Vec<Setting> {
    keys.iter()
        .map(|key| {
            let id = key.arg.get_id().as_str();
            let source = match (from_file.get(key.name), sub.value_source(id)) {
                (Some(line), _) => Source::File(path.to_path_buf(), *line),
                (None, Some(ValueSource::CommandLine)) => Source::Flag,
                (None, Some(ValueSource::EnvVariable)) => Source::Env(env_name(key.name)),
                (None, _) => Source::Default,
            };
            let words: Vec<String> = sub
                .get_raw(id)
                .map(|raw| raw.map(|w| w.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let value = (!words.is_empty() || key.list).then(|| key.masked(key.toml(&words)));
            Setting { key: key.name.to_string(), value, source }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_are_the_flags_in_capitals() {
        assert_eq!(env_name("send-port"), "WACHAT_SEND_PORT");
    }

    #[test]
    fn passwords_in_connection_strings_are_masked() {
        assert_eq!(mask_password("\"postgres://ana:pw@db/chat\""), "\"postgres://ana:********@db/chat\"");
        assert_eq!(
            mask_password("\"host=db password=pw user=ana\""),
            "\"host=db password=******** user=ana\""
        );
        assert_eq!(mask_password("\"postgres://ana@db/chat\""), "\"postgres://ana@db/chat\"");
    }

    #[test]
    fn strings_are_quoted_as_toml() {
        assert_eq!(toml_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000A\"");
        assert!(toml_number("2.5") && toml_number("5") && !toml_number("inf") && !toml_number(".5"));
    }
}
