//! 1.2: photos and files in chats (docs/PROTOCOL.md §21): the vocabulary
//! of `UPLOAD`, `PART`, `FILE` and `FETCH` and of the `FILE` event.
//!
//! A file travels in parts of at most [`PART_BYTES`] bytes, base64 in a
//! frame, so that it is never whole in memory on either side and a client
//! typed by hand (`nc`) can still speak it. The server names a file by an
//! id it chooses ([`check_file_id`]: 128 random bits in hex), never by the
//! name the sender gave, which is only shown.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::escape::{forbidden, is_format};
use super::{Text, split_fields};

/// Most bytes of one `PART` or one `FETCH` reply: 16,000 base64
/// characters, which with the frame's words fit in a 16 KiB frame
/// (`MAX_FRAME`) with room to spare.
pub const PART_BYTES: usize = 12_000;

/// Hex digits of a file id (128 bits).
pub const FILE_ID_LEN: usize = 32;

/// The suffix that names a file's thumbnail to `FETCH` (`<file id>-t`).
pub const THUMB_SUFFIX: &str = "-t";

/// Most bytes of a file's name.
pub const MAX_NAME: usize = 200;

/// The first characters of a file message's readable text.
pub const CLIP: &str = "📎 ";

/// Longest voice message a client records (1.2): 5 minutes.
pub const MAX_VOICE_SECONDS: u32 = 300;

/// A voice message (1.2, docs/PROTOCOL.md §21) is a file like
/// any other, recorded by the browser's microphone, named
/// `voice-<seconds>s.<webm|ogg|m4a>` (`voice-12s.webm`): the name alone
/// says what it is, so no new request and no new type are needed, and
/// every client shows it from the message's readable text,
/// `📎 voice-12s.webm (9 KB) [caption]`. Its length in seconds and its
/// caption, or `None` for any other text. web/voice.js reads names by the
/// same rule: both pass the cases of tests/data/voice.txt.
pub fn voice(text: &str) -> Option<(u32, &str)> {
    let rest = text.strip_prefix(CLIP)?.strip_prefix("voice-")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 3 || (digits > 1 && rest.starts_with('0')) {
        return None;
    }
    let seconds: u32 = rest[..digits].parse().ok().filter(|s| *s <= MAX_VOICE_SECONDS)?;
    let rest = rest[digits..].strip_prefix("s.")?;
    let ext = ["webm", "ogg", "m4a"].into_iter().find(|e| rest.starts_with(&format!("{e} (")))?;
    let size = &rest[ext.len() + 1..];
    let close = size.find(')')?;
    let caption = &size[close + 1..];
    match caption.strip_prefix(' ') {
        Some(caption) => Some((seconds, caption)),
        None if caption.is_empty() => Some((seconds, "")),
        None => None,
    }
}

/// `0:12`, `4:05`: a voice message's length as a player shows it.
pub fn clock(seconds: u32) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Checks a file id as the server makes them: 32 lowercase hex digits.
pub fn check_file_id(id: &str) -> Result<(), String> {
    let hex = id.len() == FILE_ID_LEN && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex {
        return Err(format!("bad file id {:?} (32 lowercase hex digits)", super::truncate(id, 40)));
    }
    Ok(())
}

/// What a `FETCH` names: a file id, or its thumbnail's (`<file id>-t`).
pub fn split_thumb(what: &str) -> Result<(&str, bool), String> {
    let (id, thumb) = match what.strip_suffix(THUMB_SUFFIX) {
        Some(id) => (id, true),
        None => (what, false),
    };
    check_file_id(id)?;
    Ok((id, thumb))
}

/// Checks the name a sender gives its file: shown to people, never used
/// as a path, but kept to what reads as one file name: 1-200 bytes, no
/// `/`, `\`, control or invisible character, not `.` or `..`.
pub fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!("bad file name: 1-{MAX_NAME} bytes"));
    }
    if name == "." || name == ".." || name.trim() != name {
        return Err(format!("bad file name {:?}", super::truncate(name, 40)));
    }
    if let Some(c) =
        name.chars().find(|&c| c == '/' || c == '\\' || forbidden(c) || is_format(c) || c == '\t')
    {
        return Err(format!("bad file name: it may not hold U+{:04X}", c as u32));
    }
    Ok(())
}

/// Checks a sha256 in hex (either case); returns it in lowercase.
pub fn check_sha256(hex: &str) -> Result<String, String> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the sha256 is 64 hex digits".into());
    }
    Ok(hex.to_ascii_lowercase())
}

/// Base64 (RFC 4648, with padding) of a part.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The bytes of a part's base64; an error names what is wrong.
pub fn decode(b64: &str) -> Result<Vec<u8>, String> {
    if b64.len() > PART_BYTES.div_ceil(3) * 4 {
        return Err(format!("a part is at most {PART_BYTES} bytes"));
    }
    STANDARD.decode(b64).map_err(|e| format!("bad base64: {e}"))
}

/// A size as people read it: `812 B`, `245 KB`, `3.4 MB` (1 KB = 1024 B).
pub fn size_words(bytes: u64) -> String {
    const KB: u64 = 1024;
    match bytes {
        b if b < KB => format!("{b} B"),
        b if b < KB * KB => format!("{} KB", b.div_ceil(KB)),
        b => format!("{:.1} MB", b as f64 / (KB * KB) as f64),
    }
}

/// The text of a file's message as every client reads it, 1.0 ones too:
/// `📎 lab3.pdf (245 KB) <caption>` (escaped, as stored).
pub fn readable_text(name: &str, size: u64, caption: Option<&Text>) -> Result<Text, String> {
    let head = format!("{CLIP}{name} ({})", size_words(size));
    let escaped = match caption {
        Some(caption) => format!("{head} {}", caption.as_escaped()),
        None => head,
    };
    Text::parse(&escaped)
}

/// The media types a file is given: an image the server decoded (and made
/// a thumbnail of), or anything else. Only these four are ever shown inline.
pub const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The type of every file that is not one of [`IMAGE_TYPES`].
pub const OTHER_TYPE: &str = "application/octet-stream";

/// What a 1.2 client needs to show and fetch a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub id: String,
    pub size: u64,
    /// One of [`IMAGE_TYPES`] (the file has a thumbnail) or [`OTHER_TYPE`].
    pub kind: String,
    pub name: String,
}

impl FileInfo {
    /// Parses `<file id>:<size>:<type>:<name>`, the fields of `FILEOF`'s
    /// `OK` (1.2), with the checks of the `FILE` event's.
    pub fn parse(fields: &str) -> Result<FileInfo, String> {
        let f = split_fields(fields, 4)
            .ok_or_else(|| format!("expected <file id>:<size>:<type>:<name>, got {fields:?}"))?;
        check_file_id(f[0])?;
        check_file_name(f[3])?;
        let size = f[1].parse::<u64>().map_err(|_| format!("bad size in {fields:?}"))?;
        Ok(FileInfo { id: f[0].into(), size, kind: f[2].into(), name: f[3].into() })
    }

    /// True if the server made a thumbnail (`FETCH:<id>-t:<offset>`).
    pub fn is_image(&self) -> bool {
        IMAGE_TYPES.contains(&self.kind.as_str())
    }
}

impl fmt::Display for FileInfo {
    /// `<file id>:<size>:<type>:<name>`, the middle of the `FILE` event.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}:{}", self.id, self.size, self.kind, self.name)
    }
}

/// 1.2 event: `FILE:<seq>:<from>:<to>:<id>:<ts>:<file id>:<size>:<type>:<name>:<text>`,
/// what a connection that said `VERSION:1.2` is sent instead of the `MSG`
/// of a message carrying a file (`text` is that `MSG`'s, escaped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEvent {
    pub seq: u64,
    pub from: String,
    pub to: String,
    pub id: String,
    pub ts: u64,
    pub file: FileInfo,
    pub text: Text,
}

impl FileEvent {
    /// Parses the frame (its first word is `FILE`).
    pub fn parse(line: &str) -> Result<FileEvent, String> {
        let shape = "FILE:<seq>:<from>:<to>:<id>:<ts>:<file id>:<size>:<type>:<name>:<text>";
        let f = split_fields(line, 11).ok_or_else(|| format!("expected {shape}, got {line:?}"))?;
        let number = |s: &str| s.parse::<u64>().map_err(|_| format!("bad number {s:?} in {line:?}"));
        check_file_id(f[6])?;
        let file = FileInfo { id: f[6].into(), size: number(f[7])?, kind: f[8].into(), name: f[9].into() };
        Ok(FileEvent {
            seq: number(f[1])?,
            from: f[2].into(),
            to: f[3].into(),
            id: f[4].into(),
            ts: number(f[5])?,
            file,
            text: Text::parse(f[10])?,
        })
    }
}

impl fmt::Display for FileEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let FileEvent { seq, from, to, id, ts, file, text } = self;
        write!(f, "FILE:{seq}:{from}:{to}:{id}:{ts}:{file}:{}", text.as_escaped())
    }
}

/// 1.2: a line of `FILES`: `<file id>:<size>:<type>:<sha256>:<to>:<id>:<name>`,
/// one of your complete files and one of your messages that carries it
/// (`<to>` and `<id>` empty for a file no message carries: a line each).
/// What `wachat export` lists and fetches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLine {
    pub file: FileInfo,
    pub sha256: String,
    /// The message's chat and id (`None`: carried by none).
    pub message: Option<(String, String)>,
}

impl FileLine {
    pub fn parse(line: &str) -> Result<FileLine, String> {
        let f = split_fields(line, 7).ok_or_else(|| {
            format!("expected <file id>:<size>:<type>:<sha256>:<to>:<id>:<name>, got {line:?}")
        })?;
        check_file_id(f[0])?;
        check_file_name(f[6])?;
        let size = f[1].parse::<u64>().map_err(|_| format!("bad size in {line:?}"))?;
        let file = FileInfo { id: f[0].into(), size, kind: f[2].into(), name: f[6].into() };
        let message = (!f[4].is_empty()).then(|| (f[4].to_string(), f[5].to_string()));
        Ok(FileLine { file, sha256: check_sha256(f[3])?, message })
    }
}

impl fmt::Display for FileLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let FileInfo { id, size, kind, name } = &self.file;
        let (to, msg) = self.message.as_ref().map_or(("", ""), |(to, id)| (to, id));
        write!(f, "{id}:{size}:{kind}:{}:{to}:{msg}:{name}", self.sha256)
    }
}

#[cfg(test)]
mod tests {
    /// The shared cases, which web/voice.js passes too (tests/web/media.rs).
    #[test]
    fn a_voice_message_is_told_by_its_name_alone() {
        let cases = include_str!("../../tests/data/voice.txt");
        let mut n = 0;
        for line in cases.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let f: Vec<&str> = line.split('\t').collect();
            let want = f[1].parse::<u32>().ok().map(|s| (s, f[2]));
            assert_eq!(voice(f[0]), want, "{line}");
            n += 1;
        }
        assert!(n >= 12);
        assert_eq!(clock(12), "0:12");
        assert_eq!(clock(245), "4:05");
    }

    use super::*;

    #[test]
    fn names_that_could_be_paths_or_hide_things_are_refused() {
        for bad in ["", ".", "..", "a/b", "..\\x", "a\u{1b}b", "a\u{202e}fdp.exe", " lead", &"x".repeat(201)]
        {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        for good in ["lab3.pdf", "photo of the whiteboard.jpg", "résumé.txt", "..hidden"] {
            assert!(check_file_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn the_readable_text_is_what_a_version_1_client_shows() {
        let caption = Text::parse("for friday").unwrap();
        let text = readable_text("lab3.pdf", 245 * 1024, Some(&caption)).unwrap();
        assert_eq!(text.as_escaped(), "📎 lab3.pdf (245 KB) for friday");
        assert_eq!(readable_text("a.png", 10, None).unwrap().as_escaped(), "📎 a.png (10 B)");
        assert_eq!(size_words(16 * 1024 * 1024), "16.0 MB");
    }

    #[test]
    fn ids_and_parts_are_checked() {
        assert!(check_file_id(&"a".repeat(32)).is_ok());
        assert!(check_file_id(&"A".repeat(32)).is_err());
        assert!(check_file_id("../../etc/passwd").is_err());
        assert!(split_thumb(&format!("{}-t", "0".repeat(32))).unwrap().1);
        assert_eq!(decode(&encode(b"hello")).unwrap(), b"hello");
        assert!(decode("not base64!").is_err());
        assert!(decode(&"A".repeat(16_004)).unwrap_err().contains("at most"));
        assert!(check_sha256("xyz").is_err());
    }

    #[test]
    fn the_file_event_round_trips() {
        let line =
            format!("FILE:3:ana:#lab3:m1:17:{}:2048:image/png:white board.png:📎 x: y", "f".repeat(32));
        assert_eq!(FileEvent::parse(&line).unwrap().to_string(), line);
    }

    #[test]
    fn the_fields_of_fileof_round_trip_and_are_checked() {
        let fields = format!("{}:2048:image/png:white: board.png", "f".repeat(32));
        assert_eq!(FileInfo::parse(&fields).unwrap().to_string(), fields);
        assert!(FileInfo::parse("x:1:a:b").unwrap_err().contains("bad file id"));
        assert!(FileInfo::parse(&format!("{}:big:a:b", "f".repeat(32))).is_err());
        assert!(FileInfo::parse(&format!("{}:1:a:../b", "f".repeat(32))).is_err());
    }

    #[test]
    fn a_files_line_round_trips() {
        let (id, sha) = ("f".repeat(32), "a".repeat(64));
        for line in [format!("{id}:3:image/png:{sha}:#lab3:m1:a: b.png"), format!("{id}:3:x:{sha}:::c")] {
            assert_eq!(FileLine::parse(&line).unwrap().to_string(), line);
        }
        assert!(FileLine::parse(&format!("{id}:3:x:{sha}:::../x/y")).is_err(), "a name that is a path");
    }
}
