//! The suite's links to the server under test: it dials the server's link
//! port as a peer of the roster does (TLS, the suite's link key shown,
//! the server's taken only with its roster fingerprint), says a hello
//! (its own, or a wrong one), and sends numbered frames.

use std::time::Instant;

use super::case::LinkCtx;
use super::peer::now_ms;
use crate::conform::wire::Conn;
use crate::conform::{Failure, case::check};
use crate::protocol::Code;
use crate::protocol::link::{Answer, Opening};

/// A hello as the suite says it: its own, or changed by a case.
#[derive(Clone, Debug)]
pub struct Hello {
    pub from: String,
    pub to: String,
    pub identity: String,
    /// Said on a connection that shows a key of nobody's in the roster
    /// (an impostor's), not the suite's.
    pub stranger: bool,
}

impl Hello {
    pub fn line(&self) -> String {
        let Hello { from, to, identity, .. } = self.clone();
        Opening { from, to, identity }.to_string()
    }
}

/// A link that the server answered `OK:<last>`.
pub struct OpenedLink {
    pub conn: Conn,
    /// What the server said it has of the suite's frames.
    pub last: u64,
}

impl LinkCtx<'_> {
    /// The suite's own hello.
    pub fn hello(&self) -> Hello {
        Hello {
            from: self.peer.names.me.clone(),
            to: self.peer.names.them.clone(),
            identity: self.peer.identity.clone(),
            stranger: false,
        }
    }

    /// Says `hello` on a new connection labelled `label`; the server's
    /// first answer.
    pub fn say_hello(&self, label: &str, hello: &Hello) -> Result<(Conn, String), Failure> {
        self.say_first(label, &hello.line(), hello.stranger)
    }

    /// Says `line`, the first frame of a new TLS connection to the
    /// server's link port, showing the suite's key (a stranger's if
    /// `stranger`); the connection and the answer.
    pub fn say_first(&self, label: &str, line: &str, stranger: bool) -> Result<(Conn, String), Failure> {
        let key = if stranger { &self.peer.stranger } else { &self.peer.key };
        let tls = key
            .dialer(&self.peer.names.their_fingerprint)
            .map_err(|e| Failure::new("a TLS configuration of the suite's key", e.to_string()))?;
        let mut conn =
            Conn::open(&self.peer.names.their_link, Some(&tls), label, &self.transcript, self.peer.wait)?;
        conn.close_wait = self.peer.wait;
        let answer = conn.send(line).and_then(|()| {
            let deadline = Instant::now() + self.peer.timeout + self.peer.wait;
            conn.line_by(deadline, "an answer")
        });
        Ok((conn, answer?))
    }

    /// A link of the suite's, up: its hello answered `OK:<last>`, the
    /// suite's numbers going on after `last`.
    pub fn link(&self, label: &str) -> Result<OpenedLink, Failure> {
        let (conn, answer) = self.say_hello(label, &self.hello())?;
        match Answer::parse(&answer) {
            Ok(Answer::Hello(last)) => {
                self.peer.resumed(last);
                Ok(OpenedLink { conn, last })
            }
            _ => Err(Failure::new("OK:<last> (the hello taken)", answer)),
        }
    }

    /// A hello that must be refused with `code` and the link closed.
    pub fn refused_hello(&self, label: &str, hello: &Hello, code: Code) -> Result<(), Failure> {
        let (conn, answer) = self.say_hello(label, hello)?;
        closed_with(conn, &answer, code)
    }

    /// A direct message frame of the suite's user `from` (an alias) to
    /// the server's user `to` (an alias), numbered `n`.
    pub fn msg_frame(&self, n: u64, from: &str, to: &str, id: &str, text: &str) -> String {
        format!("MSG:{n}:{}:{}:{id}:{}:{text}", self.remote(from), self.address(to), now_ms())
    }
}

impl OpenedLink {
    /// Sends one frame (its answer is read by [`OpenedLink::answer`]).
    pub fn send(&mut self, frame: &str) -> Result<(), Failure> {
        self.conn.send(frame)
    }

    /// Reads the next answer, which must be `want`.
    pub fn answer(&mut self, want: &str) -> Result<(), Failure> {
        let got = self.conn.line(want)?;
        check(got == want, want, got)
    }

    /// Sends frame `n` and reads its `ACK:<n>`.
    pub fn acked(&mut self, n: u64, frame: &str) -> Result<(), Failure> {
        self.send(frame)?;
        self.answer(&format!("ACK:{n}"))
    }

    /// Sends frame `n`, which must be refused with `KO:<n>:<code>:…`; the
    /// reason is for people and never compared.
    pub fn refused(&mut self, n: u64, frame: &str, code: Code) -> Result<(), Failure> {
        self.send(frame)?;
        let want = format!("KO:{n}:{}:…", code.as_str());
        let got = self.conn.line(&want)?;
        match Answer::parse(&got) {
            Ok(Answer::Ko(Some(m), c, _)) if m == n && c == code => Ok(()),
            _ => Err(Failure::new(want, got)),
        }
    }

    /// `PING`, answered `PONG`: the link is still up.
    pub fn alive(&mut self) -> Result<(), Failure> {
        self.send("PING")?;
        self.answer("PONG")
    }

    /// Ends the link from the suite's side.
    pub fn close(&mut self) {
        self.conn.close();
    }
}

/// A first frame's `answer` must be `KO:<code>:…`, and `conn` closed
/// after it.
pub fn closed_with(mut conn: Conn, answer: &str, code: Code) -> Result<(), Failure> {
    match Answer::parse(answer) {
        Ok(Answer::Ko(None, got, _)) if got == code => conn.expect_closed(),
        _ => Err(Failure::new(format!("KO:{}:…", code.as_str()), answer)),
    }
}
