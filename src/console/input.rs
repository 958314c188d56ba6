//! Where the console's lines come from.
//!
//! In a terminal, rustyline edits the line (arrows, history) and gives us
//! an external printer, so that a message arriving while you type is
//! printed *above* your half-written line instead of through it. When stdin
//! is not a terminal (a pipe, a script, a test), there is nothing to edit:
//! plain lines are read and nothing is prompted.
//!
//! What is typed ahead or pasted while the console is busy is kept for the
//! next read: rustyline reads the terminal through a buffer that outlives
//! one `readline` (its `buffer-redux` feature), so five pasted lines are
//! five reads, none dropped with the reader.
//!
//! Either way, a line ending in `\` continues on the next one, so one
//! message can have several lines. In a terminal, Ctrl+C drops what is
//! being typed (a whole multi-line message too: it is never sent half
//! typed) and Ctrl+D on an empty line ends the console; each says so.
//!
//! Reading blocks, and the console must be able to stop while it does (a
//! login elsewhere took over): so the input lives in a thread of its own
//! ([`Reader`]), which reads one logical line each time it is handed a
//! prompt, and the console waits for that line *or* a reason to stop.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use super::view::Printer;
use crate::error::{Error, Result};
use crate::i18n::console::Msg;
use crate::i18n::tr;

/// What one read gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// A logical line (continued lines joined with `\n`).
    Line(String),
    /// Ctrl+C: what was being typed is dropped; `draft` if it was a
    /// message of several lines begun with `\`.
    Cancelled { draft: bool },
    /// The end of the input (Ctrl+D, or the end of a pipe); `draft` if an
    /// unfinished multi-line message was dropped with it.
    End { draft: bool },
}

/// A prompt that can change while it is shown: the console shows
/// `bob [p2p]> ` while a direct chat with bob is open, and if that chat
/// ends while you type, the prompt must stop saying so at once.
///
/// rustyline measures the prompt once, when the read starts, and draws it
/// again (on every message printed above it) through [`rustyline::Prompt`],
/// which may answer differently each time, provided the width stays the
/// same: so the plain version is padded to the width of the direct one.
pub struct LivePrompt {
    /// For a direct chat: `bob [p2p]> `.
    direct: String,
    /// `bob> `, padded with spaces to the width of `direct`.
    plain: String,
    /// Which one to show.
    is_direct: AtomicBool,
    /// The peer of the direct chat the prompt is about, folded.
    pub peer: Option<String>,
}

impl LivePrompt {
    /// A prompt that never changes.
    pub fn fixed(text: String) -> LivePrompt {
        LivePrompt { direct: text.clone(), plain: text, is_direct: AtomicBool::new(false), peer: None }
    }

    /// `direct` while the direct chat with `peer` lasts, `plain` after.
    pub fn direct(direct: String, plain: &str, peer: &str) -> LivePrompt {
        let width = direct.chars().count();
        let plain = format!("{plain:width$}");
        let peer = Some(crate::protocol::names::fold(peer));
        LivePrompt { direct, plain, is_direct: AtomicBool::new(true), peer }
    }

    /// The direct chat ended: show the plain prompt from the next redraw.
    pub fn end_direct(&self) {
        self.is_direct.store(false, Ordering::SeqCst);
    }

    fn text(&self) -> &str {
        if self.is_direct.load(Ordering::SeqCst) { &self.direct } else { &self.plain }
    }
}

impl rustyline::Prompt for LivePrompt {
    fn raw(&self) -> &str {
        self.text()
    }
}

/// The source of the console's input.
pub enum Input {
    Terminal(Box<DefaultEditor>),
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
        Ok((Input::Terminal(Box::new(editor)), Printer::editor(Box::new(printer))))
    }

    /// Reads one logical line: lines ending in `\` are joined with a
    /// newline to the next.
    pub fn read(&mut self, prompt: &LivePrompt) -> Result<Read> {
        let mut text = String::new();
        let mut draft = false;
        loop {
            let line = match (&mut *self, draft) {
                (Input::Terminal(editor), false) => editor.readline(prompt),
                (Input::Terminal(editor), true) => editor.readline("… "),
                (Input::Piped(stdin), _) => read_piped(stdin),
            };
            let line = match line {
                Ok(line) => line,
                Err(ReadlineError::Interrupted) => return Ok(Read::Cancelled { draft }),
                // The end of a pipe in the middle of a continued message:
                // a script meant to send what it wrote.
                Err(ReadlineError::Eof) if draft && matches!(self, Input::Piped(_)) => {
                    return Ok(Read::Line(text));
                }
                Err(ReadlineError::Eof) => return Ok(Read::End { draft }),
                Err(e) => return Err(editor_error(e)),
            };
            match line.strip_suffix('\\') {
                Some(part) => {
                    text.push_str(part);
                    text.push('\n');
                    draft = true;
                }
                None => {
                    text.push_str(&line);
                    if let Input::Terminal(editor) = self {
                        // In-memory history for the arrow keys; never written to disk.
                        let _ = editor.add_history_entry(text.as_str());
                    }
                    return Ok(Read::Line(text));
                }
            }
        }
    }

    /// Moves the input into a thread of its own: see [`Reader`].
    pub fn spawn(mut self) -> Result<Reader> {
        let (prompts, prompts_rx) = crossbeam_channel::bounded::<Arc<LivePrompt>>(0);
        let (lines_tx, lines) = crossbeam_channel::bounded(1);
        let terminal = match &self {
            Input::Terminal(_) => crate::sys::terminal::Saved::save(),
            Input::Piped(_) => None,
        };
        std::thread::Builder::new()
            .name("wachat-input".into())
            .spawn(move || {
                // Ends when the console drops its end of `prompts`.
                for prompt in prompts_rx {
                    let read = self.read(&prompt);
                    let end = !matches!(read, Ok(Read::Line(_) | Read::Cancelled { .. }));
                    if lines_tx.send(read).is_err() || end {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io(tr!(Msg::Terminal), e))?;
        Ok(Reader { prompts, lines, terminal })
    }
}

/// The input thread, seen from the console: hand it a prompt, then wait
/// for what it read (or for something else). It is never joined: when the
/// console is done, the process ends, and a thread blocked on the keyboard
/// goes with it.
pub struct Reader {
    /// One prompt per read wanted.
    pub prompts: Sender<Arc<LivePrompt>>,
    /// What each read gave.
    pub lines: Receiver<Result<Read>>,
    /// The terminal's settings from before rustyline changed them.
    terminal: Option<crate::sys::terminal::Saved>,
}

impl Reader {
    /// The console stops while a read may be going on: puts the terminal
    /// back as it was (rustyline would, had its read ended), so that the
    /// shell after us does not inherit a terminal that shows nothing typed.
    pub fn restore_terminal(&self) {
        if let Some(terminal) = &self.terminal {
            terminal.restore();
            // A fresh line for the shell's prompt.
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"\r\n");
            let _ = out.flush();
        }
    }
}

/// One line of a pipe, as rustyline would give it.
fn read_piped(stdin: &std::io::Stdin) -> std::result::Result<String, ReadlineError> {
    let mut line = String::new();
    match stdin.lock().read_line(&mut line) {
        Ok(0) => Err(ReadlineError::Eof),
        Ok(_) => Ok(line.trim_end_matches(['\n', '\r']).to_string()),
        Err(e) => Err(ReadlineError::Io(e)),
    }
}

fn editor_error(e: ReadlineError) -> Error {
    match e {
        ReadlineError::Io(e) => Error::io(tr!(Msg::Terminal), e),
        other => Error::Usage(format!("{}: {other}", tr!(Msg::Terminal))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::Prompt;

    #[test]
    fn a_live_prompt_keeps_its_width_when_the_direct_chat_ends() {
        let prompt = LivePrompt::direct("bob [p2p]> ".into(), "bob> ", "Bob");
        assert_eq!(prompt.raw(), "bob [p2p]> ");
        prompt.end_direct();
        assert_eq!(prompt.raw(), "bob>       ");
        assert_eq!(prompt.peer.as_deref(), Some("bob"));
        assert_eq!(LivePrompt::fixed("> ".into()).raw(), "> ");
    }
}
