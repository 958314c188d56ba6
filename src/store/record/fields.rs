//! The CSV of the log and of checkpoints, by hand: [`CsvLine`] writes a
//! record's line field by field, [`Rows`] a checkpoint's rows, and
//! [`Fields`] splits a line back into its fields, borrowing them where no
//! quote had to be undone. Every record kind (`record/*.rs`) reads and
//! writes through these, so the quoting rules are written once.

use std::borrow::Cow;

use super::message::{NO_POS, Pos};

/// Writes one CSV line field by field.
pub struct CsvLine<'a>(pub &'a mut Vec<u8>);

impl CsvLine<'_> {
    /// The first field (no comma before it).
    pub fn word(&mut self, word: &str) {
        self.0.extend_from_slice(word.as_bytes());
    }

    pub fn field(&mut self, value: &str) {
        self.0.push(b',');
        push_field(self.0, value);
    }

    pub fn fields(&mut self, values: &[&str]) {
        for value in values {
            self.field(value);
        }
    }

    pub fn number(&mut self, n: u64) {
        self.0.push(b',');
        self.0.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    pub fn pos(&mut self, pos: Pos) {
        if pos == NO_POS { self.field("") } else { self.number(pos) }
    }
}

/// Appends a CSV field, in double quotes only if it needs them (a comma, a
/// quote or a line break in it), as spreadsheets and the `csv` crate write.
pub fn push_field(out: &mut Vec<u8>, value: &str) {
    if !value.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    out.push(b'"');
    for b in value.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Most fields in a line of the log or of a checkpoint.
const MAX_FIELDS: usize = 12;

/// The fields of one CSV line, borrowed where no quote had to be undone.
/// Kept in an array, not a `Vec`: reading a `HISTORY` splits thousands of
/// lines, and an allocation each would cost more than the split.
pub struct Fields<'a> {
    fields: [Cow<'a, str>; MAX_FIELDS],
    len: usize,
}

impl<'a> Fields<'a> {
    /// Splits a line (without its `\n`) into fields.
    pub fn split(line: &'a str) -> Result<Fields<'a>, String> {
        let mut f = Fields { fields: std::array::from_fn(|_| Cow::Borrowed("")), len: 0 };
        let mut rest = line;
        loop {
            if f.len == MAX_FIELDS {
                return Err(format!("more than {MAX_FIELDS} fields"));
            }
            if let Some(quoted) = rest.strip_prefix('"') {
                // A quoted field: up to the quote not doubled; `""` is one quote.
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((i, '"')) => {
                            if quoted[i + 1..].starts_with('"') {
                                value.push('"');
                                chars.next();
                            } else {
                                break i + 1;
                            }
                        }
                        Some((_, c)) => value.push(c),
                        None => return Err("a quoted field is not closed".into()),
                    }
                };
                f.fields[f.len] = Cow::Owned(value);
                f.len += 1;
                rest = &quoted[end..];
                match rest.strip_prefix(',') {
                    Some(after) => rest = after,
                    None if rest.is_empty() => break,
                    None => return Err("text after a closing quote".into()),
                }
            } else {
                match rest.bytes().position(|b| b == b',') {
                    Some(i) => {
                        f.fields[f.len] = Cow::Borrowed(&rest[..i]);
                        f.len += 1;
                        rest = &rest[i + 1..];
                    }
                    None => {
                        f.fields[f.len] = Cow::Borrowed(rest);
                        f.len += 1;
                        break;
                    }
                }
            }
        }
        Ok(f)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Field `i`; a missing trailing field reads as empty.
    pub fn get(&self, i: usize) -> Result<&Cow<'a, str>, String> {
        static EMPTY: Cow<'static, str> = Cow::Borrowed("");
        Ok(self.fields[..self.len].get(i).unwrap_or(&EMPTY))
    }

    pub fn number(&self, i: usize) -> Result<u64, String> {
        let s = self.get(i)?;
        s.parse().map_err(|_| format!("field {}: {s:?} is not a number", i + 1))
    }

    /// A position; empty is [`NO_POS`].
    pub fn pos(&self, i: usize) -> Result<Pos, String> {
        if self.get(i)?.is_empty() { Ok(NO_POS) } else { self.number(i) }
    }
}

/// Rows of CSV (a checkpoint's), one field at a time.
pub struct Rows(pub Vec<u8>);

impl Rows {
    pub fn row(&mut self, fields: &[&str]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.0.push(b',');
            }
            push_field(&mut self.0, f);
        }
        self.0.push(b'\n');
    }
}
