//! examples/tiny_server.rs as a process of a test: started on given ports
//! (`0`: any free one), crashed (`kill -9`) and started again on the same
//! data, ports (then of its own: [`Tiny::start_restartable`]) and
//! arguments. A changed copy of it (a planted bug, built by
//! [`super::examples::compile_copy`]) runs the same way.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::examples::example;
use super::ports::free_port;

/// A running tiny server and the ports it listens on.
pub struct Tiny {
    child: Child,
    program: PathBuf,
    args: Vec<String>,
    /// Send and receive ports, as it printed them.
    pub ports: [String; 2],
    /// Its link port (1.3), when it joined a network (`--peers`).
    pub link: Option<String>,
}

impl Tiny {
    /// Starts it on `ports` with the data in `dir`, at `--timeout 2`.
    pub fn start(dir: &Path, ports: [&str; 2]) -> Tiny {
        Tiny::start_with(dir, ports, &["--timeout", "2"])
    }

    /// Starts it with more arguments (none: its defaults).
    pub fn start_with(dir: &Path, ports: [&str; 2], args: &[&str]) -> Tiny {
        Tiny::start_program(&example("tiny_server"), dir, ports, args)
    }

    /// Starts it with `args` on ports the test starts it again on
    /// ([`Tiny::crash_and_restart`]): ports of [`free_port`], not of the
    /// kernel, as [`super::TestServer::start_restartable`] explains.
    pub fn start_restartable(dir: &Path, args: &[&str]) -> Tiny {
        let [send, recv] = [free_port().to_string(), free_port().to_string()];
        Tiny::start_with(dir, [&send, &recv], args)
    }

    /// Starts `program`, the tiny server or a changed copy of it.
    pub fn start_program(program: &Path, dir: &Path, ports: [&str; 2], args: &[&str]) -> Tiny {
        let mut all: Vec<String> = ["--send-port", ports[0], "--recv-port", ports[1], "--kdf-cost", "8"]
            .iter()
            .chain(args)
            .map(|a| a.to_string())
            .collect();
        all.extend(["--data-dir".to_string(), dir.display().to_string()]);
        let mut child =
            Command::new(program).args(&all).stdout(Stdio::piped()).spawn().expect("start tiny_server");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("its first line");
        // "listening: send <port> receive <port>[ link <port>]"
        let words: Vec<&str> = first.split_whitespace().collect();
        let after = |word: &str| words.iter().position(|w| *w == word).map(|at| words[at + 1].to_string());
        let ports =
            [after("send"), after("receive")].map(|p| p.unwrap_or_else(|| panic!("it said {first:?}")));
        let link = after("link");
        // A restart listens where this one does (a port 0 became one).
        for (flag, port) in [
            ("--send-port", Some(&ports[0])),
            ("--recv-port", Some(&ports[1])),
            ("--link-port", link.as_ref()),
        ] {
            if let (Some(at), Some(port)) = (all.iter().position(|a| a == flag), port) {
                all[at + 1] = port.clone();
            }
        }
        Tiny { child, program: program.to_path_buf(), args: all, ports, link }
    }

    /// A crash, then a start of the same program on the same data and
    /// ports, with the same arguments: a tiny server of
    /// [`Tiny::start_restartable`].
    pub fn crash_and_restart(&mut self) {
        self.ports.iter().for_each(|port| super::assert_mine(port.parse().expect("a port")));
        self.crash();
        let mut child =
            Command::new(&self.program).args(&self.args).stdout(Stdio::piped()).spawn().expect("start again");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("its first line");
        self.child = child;
    }
}

impl Tiny {
    /// A `kill -9`, the process reaped: its ports are free when this returns.
    pub fn crash(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Tiny {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
