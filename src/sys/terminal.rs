//! The terminal's settings, saved before a line editor changes them and
//! put back if the program stops while it reads: termios on Unix, the
//! console's input mode on Windows. (The full-screen console goes through
//! crossterm, which does this itself on every system.)

/// The settings of the terminal on standard input, as they were.
pub struct Saved(Modes);

#[cfg(unix)]
type Modes = libc::termios;
#[cfg(windows)]
type Modes = windows_sys::Win32::System::Console::CONSOLE_MODE;

impl Saved {
    /// The settings now; `None` if standard input is no terminal.
    #[cfg(unix)]
    pub fn save() -> Option<Saved> {
        // SAFETY: tcgetattr fills the struct we pass for descriptor 0.
        unsafe {
            let mut termios: libc::termios = std::mem::zeroed();
            (libc::tcgetattr(libc::STDIN_FILENO, &mut termios) == 0).then_some(Saved(termios))
        }
    }

    /// Puts the settings back, and turns off the bracketed-paste mode a
    /// line editor may have turned on.
    #[cfg(unix)]
    pub fn restore(&self) {
        // SAFETY: tcsetattr reads the struct we saved for descriptor 0.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.0);
        }
        use std::io::Write;
        let _ = std::io::stdout().write_all(b"\x1b[?2004l");
    }

    #[cfg(windows)]
    pub fn save() -> Option<Saved> {
        use windows_sys::Win32::System::Console::{GetConsoleMode, GetStdHandle, STD_INPUT_HANDLE};
        let mut mode = 0;
        // SAFETY: GetStdHandle returns a handle the process owns (or
        // none); GetConsoleMode writes only into `mode`.
        (unsafe { GetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), &mut mode) } != 0).then_some(Saved(mode))
    }

    #[cfg(windows)]
    pub fn restore(&self) {
        use windows_sys::Win32::System::Console::{GetStdHandle, STD_INPUT_HANDLE, SetConsoleMode};
        // SAFETY: sets the mode of the console handle of standard input.
        unsafe {
            SetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), self.0);
        }
    }
}
