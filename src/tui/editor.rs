//! The input box: a small multi-line editor. Enter sends the whole text
//! (the caller takes it), Alt+Enter or Ctrl+J adds a line, a paste keeps its
//! lines. The text is what the user typed: control characters other than
//! the newline are never inserted, so the draft shows as it will be sent.

use super::text::cells;

/// The draft being typed and where the cursor is in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Editor {
    text: String,
    /// A byte index in `text`, always on a character boundary.
    cursor: usize,
}

impl Editor {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The draft, which is left empty.
    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    pub fn insert(&mut self, c: char) {
        if c == '\n' || !c.is_control() {
            self.text.insert(self.cursor, c);
            self.cursor += c.len_utf8();
        }
    }

    /// A paste: its lines kept (`\r\n` and `\r` read as newlines), tabs as
    /// spaces, other control characters dropped.
    pub fn paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n").replace('\t', "    ");
        text.chars().for_each(|c| self.insert(c));
    }

    pub fn backspace(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
            self.text.remove(self.cursor);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.len() {
            self.text.remove(self.cursor);
        }
    }

    pub fn left(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
        }
    }

    pub fn right(&mut self) {
        if let Some(c) = self.text[self.cursor..].chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    /// To the start of the line the cursor is on.
    pub fn home(&mut self) {
        self.cursor = self.line_start();
    }

    /// To the end of the line the cursor is on.
    pub fn end(&mut self) {
        self.cursor += self.text[self.cursor..].find('\n').unwrap_or(self.text.len() - self.cursor);
    }

    /// One line up (`up`) or down, at the same character of the line or
    /// its end; false if there is no such line (a one-line draft).
    pub fn vertical(&mut self, up: bool) -> bool {
        let start = self.line_start();
        let column = self.text[start..self.cursor].chars().count();
        let target = if up {
            if start == 0 {
                return false;
            }
            self.text[..start - 1].rfind('\n').map_or(0, |i| i + 1)
        } else {
            match self.text[self.cursor..].find('\n') {
                Some(i) => self.cursor + i + 1,
                None => return false,
            }
        };
        let line = self.text[target..].split('\n').next().unwrap_or("");
        self.cursor = target + line.chars().take(column).map(char::len_utf8).sum::<usize>();
        true
    }

    fn line_start(&self) -> usize {
        self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The draft as rows of at most `width` columns (each line cut where it
    /// is full, so the cursor can be placed), and the cursor's row and column.
    pub fn rows(&self, width: usize) -> (Vec<String>, (usize, usize)) {
        let width = width.max(2);
        let mut rows = vec![String::new()];
        let (mut col, mut at, mut i) = (0, (0, 0), 0);
        // By cells, as the screen draws them: `❤️` is 2 columns (text.rs).
        for (cell, w) in cells(&self.text) {
            // A cursor inside a cell (before its emoji selector) shows before it.
            if (i..i + cell.len()).contains(&self.cursor) {
                at = (rows.len() - 1, col);
            }
            i += cell.len();
            if cell == "\n" {
                rows.push(String::new());
                col = 0;
                continue;
            }
            if col + w > width {
                rows.push(String::new());
                col = 0;
            }
            rows.last_mut().expect("never empty").push_str(cell);
            col += w;
        }
        if self.cursor == self.text.len() {
            // The cursor after a full row goes to the next one.
            if col >= width {
                rows.push(String::new());
                col = 0;
            }
            at = (rows.len() - 1, col);
        }
        (rows, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(keys: &str) -> Editor {
        let mut e = Editor::default();
        keys.chars().for_each(|c| e.insert(c));
        e
    }

    #[test]
    fn an_emoji_with_its_selector_takes_two_columns_in_the_input() {
        let e = typed("a❤\u{FE0F}b");
        assert_eq!(e.rows(10), (vec!["a❤\u{FE0F}b".to_string()], (0, 4)));
        // A row of 4 holds "a", the heart and nothing more.
        assert_eq!(e.rows(3).0, ["a❤\u{FE0F}", "b"]);
    }

    #[test]
    fn typing_editing_and_moving() {
        let mut e = typed("hola");
        e.left();
        e.left();
        e.insert('X');
        assert_eq!(e.text(), "hoXla");
        e.backspace();
        e.delete();
        assert_eq!(e.text(), "hoa");
        e.home();
        e.insert('¿');
        e.end();
        e.insert('?');
        assert_eq!(e.text(), "¿hoa?");
        e.insert('\u{1b}'); // never inserted
        assert_eq!(e.take(), "¿hoa?");
        assert!(e.is_empty());
    }

    #[test]
    fn lines_of_a_draft() {
        let mut e = typed("first line\nsecond");
        assert!(e.vertical(true));
        e.insert('>');
        assert_eq!(e.text(), "first >line\nsecond");
        assert!(e.vertical(false));
        assert!(!e.vertical(false), "no line below");
        e.end();
        e.paste("\r\nthird\tend\u{7}");
        assert_eq!(e.text(), "first >line\nsecond\nthird    end");
        let (rows, cursor) = e.rows(8);
        assert_eq!(rows, ["first >l", "ine", "second", "third   ", " end"]);
        assert_eq!(cursor, (4, 4));
        assert_eq!(typed("你好").rows(3), (vec!["你".to_string(), "好".to_string()], (1, 2)));
        assert_eq!(typed("abc").rows(3).1, (1, 0), "after a full row, the next");
    }
}
