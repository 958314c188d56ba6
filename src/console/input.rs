//! Where the console's lines come from.
//!
//! In a terminal, rustyline edits the line (arrows, history) and gives us
//! an external printer, so that a message arriving while you type is
//! printed *above* your half-written line instead of through it. When stdin
//! is not a terminal (a pipe, a script, a test), there is nothing to edit:
//! plain lines are read and nothing is prompted.
//!
//! Either way, a line ending in `\` continues on the next one, so one
//! message can have several lines.

use std::io::{BufRead, IsTerminal};

use parking_lot::Mutex;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use super::view::Printer;
use crate::error::{Error, Result};
use crate::i18n::console::Msg;
use crate::i18n::tr;

/// The source of the console's input.
pub enum Input {
    Terminal(DefaultEditor),
    Piped(std::io::Stdin),
}

impl Input {
    /// The right input for this stdin, and the printer that goes with it.
    pub fn open() -> Result<(Input, Printer)> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Ok((Input::Piped(stdin), Printer::Plain));
        }
        let mut editor = DefaultEditor::new().map_err(editor_error)?;
        let printer = editor.create_external_printer().map_err(editor_error)?;
        Ok((Input::Terminal(editor), Printer::Editor(Mutex::new(Box::new(printer)))))
    }

    /// Reads one logical line: lines ending in `\` are joined with a
    /// newline to the next. `None` at the end of the input (Ctrl-D, EOF).
    pub fn read(&mut self, prompt: &str) -> Result<Option<String>> {
        let mut text = String::new();
        let mut prompt = prompt.to_string();
        loop {
            let Some(line) = self.read_one(&prompt)? else {
                // EOF in the middle of a continued message: send what there is.
                return Ok((!text.is_empty()).then_some(text));
            };
            match line.strip_suffix('\\') {
                Some(part) => {
                    text.push_str(part);
                    text.push('\n');
                    prompt = "… ".to_string();
                }
                None => {
                    text.push_str(&line);
                    if let Input::Terminal(editor) = self {
                        // In-memory history for the arrow keys; never written to disk.
                        let _ = editor.add_history_entry(text.as_str());
                    }
                    return Ok(Some(text));
                }
            }
        }
    }

    fn read_one(&mut self, prompt: &str) -> Result<Option<String>> {
        match self {
            Input::Terminal(editor) => match editor.readline(prompt) {
                Ok(line) => Ok(Some(line)),
                // Ctrl-C drops the line being typed, as in a shell.
                Err(ReadlineError::Interrupted) => Ok(Some(String::new())),
                Err(ReadlineError::Eof) => Ok(None),
                Err(e) => Err(editor_error(e)),
            },
            Input::Piped(stdin) => {
                let mut line = String::new();
                match stdin.lock().read_line(&mut line) {
                    Ok(0) => Ok(None),
                    Ok(_) => Ok(Some(line.trim_end_matches(['\n', '\r']).to_string())),
                    Err(e) => Err(Error::io(tr!(Msg::ReadingStdin), e)),
                }
            }
        }
    }
}

fn editor_error(e: ReadlineError) -> Error {
    match e {
        ReadlineError::Io(e) => Error::io(tr!(Msg::Terminal), e),
        other => Error::Usage(format!("{}: {other}", tr!(Msg::Terminal))),
    }
}
