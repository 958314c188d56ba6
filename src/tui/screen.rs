//! The terminal, borrowed for the full screen and given back as it was.
//!
//! [`Screen::enter`] switches to the alternate screen (what was on the
//! terminal comes back at the end, as with `less` or `vim`), raw mode
//! (keys one at a time, Ctrl+C a key), and bracketed paste (a paste comes
//! as one piece, its newlines kept, instead of as keys that would send
//! each line). Dropping the [`Screen`] undoes all three, and so does a
//! panic, through a hook: a crash must not leave a terminal that shows
//! nothing typed.
//!
//! Each frame is drawn inside a synchronized update (`ESC [ ? 2026 h … l`):
//! terminals that know it show the frame at once, whole, with no tearing
//! on a slow link such as SSH; the others ignore it.

use std::io::{IsTerminal, Stdout, Write};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute, queue};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::app::{App, Geometry};
use crate::error::{Error, Result};
use crate::i18n::console::Msg as Words;
use crate::i18n::tr;
use crate::i18n::tui::Msg;

/// Refuses, with the reason, when this is no place for a full screen:
/// stdin or stdout is not a terminal (a pipe, a file, a script), or the
/// terminal cannot move its cursor (`TERM=dumb`).
pub fn check() -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Error::Usage(tr!(Msg::NeedsTerminal)));
    }
    if let Ok(term) = std::env::var("TERM")
        && term == "dumb"
    {
        return Err(Error::Usage(tr!(Msg::DumbTerminal, term = term)));
    }
    Ok(())
}

/// The terminal while the full screen is up.
pub struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    pub fn enter() -> Result<Screen> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            hook(info);
        }));
        enable_raw_mode().map_err(terminal_error)?;
        let mut stdout = std::io::stdout();
        if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableBracketedPaste) {
            restore();
            return Err(terminal_error(e));
        }
        match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(terminal) => Ok(Screen { terminal }),
            Err(e) => {
                restore();
                Err(terminal_error(e))
            }
        }
    }

    /// Draws the full screen's frame of `app`.
    pub fn draw(&mut self, app: &App) -> Result<Geometry> {
        let mut geometry = Geometry::default();
        self.draw_with(|frame| geometry = super::render::draw(frame, app))?;
        Ok(geometry)
    }

    /// Draws a frame with `render` (only the cells that changed reach the
    /// terminal): the full screen's, or `wachat top`'s dashboard.
    pub fn draw_with(&mut self, render: impl FnOnce(&mut ratatui::Frame)) -> Result<()> {
        queue!(self.terminal.backend_mut(), BeginSynchronizedUpdate).map_err(terminal_error)?;
        self.terminal.draw(render).map_err(terminal_error)?;
        execute!(self.terminal.backend_mut(), EndSynchronizedUpdate).map_err(terminal_error)
    }

    /// The terminal's bell (`BEL`): it beeps, or flashes, as its user set it.
    pub fn bell(&mut self) {
        let out = self.terminal.backend_mut();
        let _ = out.write_all(b"\x07").and_then(|()| out.flush());
    }

    /// The next frame is drawn whole (Ctrl+L, after line noise on a link).
    pub fn clear(&mut self) -> Result<()> {
        self.terminal.clear().map_err(terminal_error)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// The terminal as it was: ordinary mode, the shell's screen, the cursor shown.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), DisableBracketedPaste, LeaveAlternateScreen, cursor::Show);
}

/// A failure of the terminal (drawing, reading keys), in the user's words.
pub fn terminal_error(e: std::io::Error) -> Error {
    Error::io(tr!(Words::Terminal), e)
}
