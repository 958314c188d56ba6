//! The restart command a teacher gives (`--allow-restart CMD`, or a
//! roster's fifth column: `ssh lab-17 ./restart.sh`), run with a bound on
//! what it may cost the teacher's run: it ends within [`RESTART_SECS`]
//! (past it, it is killed and the restart fails), and what it prints never
//! reaches the teacher's terminal as it is: at most [`OUTPUT_MAX`] bytes
//! are kept, the rest counted, and every control character is made
//! visible (`display::visible`) before the transcript shows it. The
//! command belongs to the student's machine as much as to the teacher: a
//! hung `restart.sh` must not hang the class's run, nor an escape
//! sequence in its output repaint the teacher's screen.

use std::io::Read;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a restart command may run.
pub const RESTART_SECS: u64 = 60;

/// Bytes of a restart command's output kept, stdout and stderr together.
pub const OUTPUT_MAX: usize = 2048;

/// What a restart command did: whether it ended well, and its output, cut
/// and filtered for a screen.
pub struct Ran {
    pub result: Result<(), String>,
    pub output: String,
}

/// Runs `line` with the system's shell, within `limit`.
pub fn run(line: &str, limit: Duration) -> Ran {
    let child = crate::sys::shell::command(line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return Ran { result: Err(format!("could not start it: {e}")), output: String::new() },
    };
    let kept = Arc::new(Mutex::new(Output::default()));
    // One reader each: a full pipe would stop the command. They read to
    // the end, keeping the first bytes; a server the command starts in the
    // background may hold the pipes open for ever, so their end is not
    // waited for.
    for pipe in [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let kept = kept.clone();
        std::thread::spawn(move || drain(pipe, &kept));
    }
    let result = wait(&mut child, limit);
    std::thread::sleep(Duration::from_millis(50)); // the readers take what was written last
    let output = kept.lock().map(|o| o.shown()).unwrap_or_default();
    Ran { result, output }
}

/// Waits for `child` until `limit`, then kills it.
fn wait(child: &mut Child, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("it ended with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("it was still running after {} s, and was stopped", limit.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)), // polling a process exit
            Err(e) => return Err(format!("waiting for it: {e}")),
        }
    }
}

/// The output kept, and how many bytes more came.
#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    more: u64,
}

impl Output {
    /// As a screen may show it: control characters visible, the bytes
    /// left out counted.
    fn shown(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        let mut shown = crate::display::visible(text.trim_end()).into_owned();
        if self.more > 0 {
            shown.push_str(&format!(" … ({} more bytes not shown)", self.more));
        }
        shown
    }
}

fn drain(mut pipe: Box<dyn Read + Send>, kept: &Mutex<Output>) {
    let mut chunk = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut chunk) {
        if n == 0 {
            return;
        }
        let Ok(mut out) = kept.lock() else { return };
        let room = OUTPUT_MAX.saturating_sub(out.bytes.len()).min(n);
        out.bytes.extend_from_slice(&chunk[..room]);
        out.more += (n - room) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_hangs_is_stopped_and_its_output_cut_and_made_visible() {
        let ran = run("printf 'ok\\033[2J'; sleep 30", Duration::from_millis(500));
        let why = ran.result.unwrap_err();
        assert!(why.contains("still running after 0 s"), "{why}");
        assert_eq!(ran.output, "ok^[[2J");
        let ran = run("head -c 5000 /dev/zero | tr '\\0' x", Duration::from_secs(10));
        assert!(ran.result.is_ok());
        assert_eq!(ran.output, format!("{} … (2952 more bytes not shown)", "x".repeat(OUTPUT_MAX)));
    }
}
