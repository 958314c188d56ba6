//! The system's shell, which runs the command lines a user gives
//! (`conform --allow-restart`, `chaos --restart`): `sh -c` on Unix,
//! `cmd /C` on Windows.

use std::process::Command;

/// `line` as the shell would run it.
pub fn command(line: &str) -> Command {
    #[cfg(unix)]
    let (shell, flag) = ("sh", "-c");
    #[cfg(not(unix))]
    let (shell, flag) = ("cmd", "/C");
    let mut command = Command::new(shell);
    command.arg(flag).arg(line);
    command
}
