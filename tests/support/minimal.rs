//! examples/minimal_server.py, the protocol's teaching server in Python,
//! as a process on free ports: `conform` and `chaos` are both tried
//! against it (and against copies of it with a bug planted), so both
//! start it here, one way.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// examples/minimal_server.py itself.
pub fn minimal_server() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/minimal_server.py"))
}

/// A running minimal server (or a copy of it), killed when dropped.
pub struct Minimal {
    child: Child,
    /// Its send port, as it printed it.
    pub send: String,
    /// Its receive port.
    pub recv: String,
}

impl Minimal {
    /// Starts `script` on port 0 for both ports, with `args` after, and
    /// reads the ports it chose from its first line. The line comes once
    /// it is listening, so there is nothing to wait for after.
    pub fn start(script: &Path, args: &[&str]) -> Minimal {
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--send-port", "0", "--recv-port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut first = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut first).unwrap();
        // "listening: send <port> receive <port>"
        let words: Vec<&str> = first.split_whitespace().collect();
        assert_eq!(words.len(), 5, "{first:?}");
        Minimal { child, send: words[2].to_string(), recv: words[4].to_string() }
    }
}

impl Drop for Minimal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
