//! Text from the network made fit for a frame, and measured.
//!
//! The line console prints text through [`crate::display::visible`], which shows
//! control characters as `^[` and the like. A frame needs more: each
//! cell holds one character, and the frame is only right if what the
//! terminal draws takes exactly the columns that were counted. So,
//! besides `visible`:
//!
//! - a tab becomes spaces (a terminal would jump to its next tab stop,
//!   past cells the frame owns);
//! - a newline starts a new line of the message (never a raw line feed);
//! - the characters that glue emoji into one picture (ZWJ, skin tones,
//!   text-style selectors) are dropped: terminals disagree on how wide the
//!   glued picture is, and a frame must know. The emoji selector U+FE0F
//!   stays, with the character before it: `❤️` is an emoji two columns
//!   wide, as unicode-width, ratatui and the terminals that draw it as an
//!   emoji count it (one that draws it narrower leaves a blank cell, and
//!   ratatui moves the cursor past it: the frame's borders stay put);
//! - (the invisible characters that reorder or hide text, such as U+202E,
//!   are shown as `<U+202E>` by `visible` itself, in every client).
//!
//! Wide characters (`你`, most emoji) take two columns and combining accents
//! none; [`width`] measures with `unicode-width`, as ratatui does, and so
//! does [`cells`], a character at a time with its emoji selector (`❤️` is
//! 2, not `❤` 1 and U+FE0F 0); what ratatui draws is clipped to its area
//! whatever it is given.

use crate::display::visible;

/// Spaces a tab becomes.
const TAB: &str = "    ";

/// `text` with nothing left that could act on the terminal or shift the
/// frame (see the module's header); newlines stay, for [`wrap`] to break on.
pub fn clean(text: &str) -> String {
    visible(&text.replace('\t', TAB)).chars().filter(|&c| !is_joiner(c)).collect()
}

/// What glues several emoji into one picture (a family, a skin tone, a
/// flag of a region, the emoji form of a symbol): drawn as one picture
/// two columns wide, or as its parts side by side, depending on the
/// terminal, and ratatui cannot know which. Without them each part is one
/// picture everywhere, so the frame counts what the terminal draws.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200D}' | '\u{FE00}'..='\u{FE0E}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}')
}

/// One line of `text`, for a title or a preview: [`clean`], with each
/// newline shown as a space.
pub fn one_line(text: &str) -> String {
    clean(text).replace('\n', " ")
}

/// Columns `text` takes on screen.
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `text` a character at a time, each with the emoji selector U+FE0F that
/// follows it, and the columns each takes: what can be cut between and
/// measured alone (`❤️` is one cell of 2 columns).
pub fn cells(text: &str) -> impl Iterator<Item = (&str, usize)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let mut chars = rest.chars();
        let c = chars.next()?;
        let len = c.len_utf8() + if chars.next() == Some('\u{FE0F}') { '\u{FE0F}'.len_utf8() } else { 0 };
        let (cell, tail) = rest.split_at(len);
        rest = tail;
        Some((cell, width(cell)))
    })
}

/// `text` cut to `max` columns, ending in `…` if it was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for (cell, w) in cells(text) {
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push_str(cell);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `text` (already [`clean`]) in lines of at most `max` columns: broken at
/// its newlines, then between words, and inside a word longer than a line.
/// Never an empty result: an empty text is one empty line.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = Wrapping::default();
        for (i, word) in paragraph.split(' ').enumerate() {
            let w = width(word);
            let sep = usize::from(i > 0);
            if line.used + sep + w <= max {
                line.push_str(&" ".repeat(sep), sep);
                line.push_str(word, w);
                continue;
            }
            if w <= max {
                lines.push(line.take());
                line.push_str(word, w);
                continue;
            }
            // Longer than a line: cut it by characters, from where we are.
            if line.used + sep < max {
                line.push_str(&" ".repeat(sep), sep);
            } else {
                lines.push(line.take());
            }
            for (cell, cw) in cells(word) {
                if line.used + cw > max {
                    lines.push(line.take());
                }
                line.push_str(cell, cw);
            }
        }
        lines.push(line.take());
    }
    lines
}

/// A line being filled, and the columns it takes.
#[derive(Default)]
struct Wrapping {
    text: String,
    used: usize,
}

impl Wrapping {
    fn push_str(&mut self, s: &str, width: usize) {
        self.text.push_str(s);
        self.used += width;
    }

    /// The line, trailing spaces dropped, and a fresh one begun.
    fn take(&mut self) -> String {
        self.used = 0;
        std::mem::take(&mut self.text).trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_that_acts_on_a_terminal_survives() {
        assert_eq!(clean("a\tb"), "a    b");
        assert_eq!(clean("\u{1b}[2Jx\r"), "^[[2Jx^M");
        assert_eq!(clean("evil\u{202E}txt.exe"), "evil<U+202E>txt.exe");
        assert_eq!(clean("a\u{200B}b\u{FEFF}"), "a<U+200B>b<U+FEFF>");
        assert_eq!(clean("one\ntwo"), "one\ntwo");
        assert_eq!(one_line("one\ntwo\tthree"), "one two    three");
        // What makes sense stays: accents, wide letters, emoji.
        for kept in ["café", "cafe\u{301}", "你好", "👍"] {
            assert_eq!(clean(kept), kept);
        }
        // Emoji glued into one picture come apart, the same width everywhere;
        // an emoji's selector stays: `❤\u{FE0F}` is two columns everywhere.
        assert_eq!(clean("👨\u{200D}👩\u{200D}👧 👍\u{1F3FD} ❤\u{FE0F} ❤\u{FE0E}"), "👨👩👧 👍 ❤\u{FE0F} ❤");
    }

    #[test]
    fn an_emoji_with_its_selector_is_two_columns_everywhere() {
        let heart = "❤\u{FE0F}";
        assert_eq!(width(heart), 2);
        assert_eq!(cells(&format!("a{heart}b")).collect::<Vec<_>>(), [("a", 1), (heart, 2), ("b", 1)]);
        // Cut and wrapped as two columns, never inside.
        assert_eq!(truncate(&heart.repeat(3), 5), format!("{heart}{heart}…"));
        for line in wrap(&heart.repeat(5), 4) {
            assert!(width(&line) <= 4 && !line.starts_with('\u{FE0F}'), "{line:?}");
        }
        assert_eq!(wrap(&heart.repeat(3), 4), [heart.repeat(2), heart.to_string()]);
    }

    #[test]
    fn lines_are_cut_between_words_and_by_columns() {
        assert_eq!(wrap("hola bob, ¿vienes hoy?", 10), ["hola bob,", "¿vienes", "hoy?"]);
        assert_eq!(wrap("one\n\ntwo", 10), ["one", "", "two"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        // Wide letters take two columns each.
        assert_eq!(wrap("你好你好你", 4), ["你好", "你好", "你"]);
        for line in wrap("a very long word: supercalifragilistic and 你好世界 too", 7) {
            assert!(width(&line) <= 7, "{line:?}");
        }
        assert_eq!(truncate("hola bob", 6), "hola …");
        assert_eq!(truncate("hola", 6), "hola");
        assert_eq!(truncate("你好你好", 5), "你好…");
    }
}
