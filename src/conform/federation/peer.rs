//! The suite as a server of the class network: its name, link key and
//! identity, and what its link port (the door, `super::door`) saw and
//! was told to do.
//!
//! The door's threads write here; the cases read, and wait, with a
//! deadline, as a client waits for a line: one lock around what was seen
//! ([`Seen`]), one condition variable rung at every change.

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::conform::wire::Transcript;
use crate::protocol::Code;
use crate::protocol::link::{FileFrame, Frame, LinkState, MessageFrame};
use crate::protocol::names::fold;

/// Who the suite is in the network, and where the server under test is.
#[derive(Clone, Debug)]
pub struct Names {
    /// The suite's name (`--as`), as on its line of the roster.
    pub me: String,
    /// The server under test's name (`--name`).
    pub them: String,
    /// Its link port, `host:port`, where the suite dials it.
    pub their_link: String,
    /// The fingerprint of its link key, as on its line of the roster: the
    /// suite takes its TLS certificate, dialing and dialed, only with it.
    pub their_fingerprint: String,
}

/// A file as the door received it: the sha256 announced, the bytes.
pub type Received = (String, Vec<u8>);

/// What the door does with the frame of one message, instead of taking
/// it and answering `ACK` (a case sets it, for one frame).
#[derive(Clone, Debug)]
pub enum FrameRule {
    /// Answers `KO:<n>:<code>:<reason>`; a refusal for now closes the
    /// link after it, as §27 says an acceptor does.
    Refuse(Code, String),
    /// Closes the link without an answer, the frame not taken: a door
    /// that crashed before the frame was on its disk.
    Lose,
    /// Takes the frame and closes the link without an answer: an `ACK`
    /// lost on its way back.
    TakeSilently,
}

/// A numbered frame the door read from the server under test.
#[derive(Clone, Debug)]
pub struct ReadFrame {
    pub frame: Frame,
    /// Numbered at or below what the door had taken already: a replay,
    /// answered `ACK` and not taken again.
    pub again: bool,
    /// Answered `ACK` (a case's rule may have answered otherwise).
    pub acked: bool,
}

/// A hello the server under test said to the door.
#[derive(Clone, Debug, Default)]
pub struct TheirHello {
    pub from: String,
    pub to: String,
    pub identity: String,
    /// The hello as it was said.
    pub line: String,
    /// The fingerprint of the key its connection showed.
    pub shown: String,
    /// What was wrong with it (the door refused it), if anything.
    pub wrong: Option<String>,
}

/// What the door saw and was told, under [`Peer`]'s lock.
#[derive(Default)]
pub struct Seen {
    /// The number of the last frame the door took from the server.
    took: u64,
    /// The suite's next frame number on its links to the server.
    next_n: u64,
    /// Frames taken since the case began.
    pub taken: Vec<ReadFrame>,
    /// Frames that did not parse (answered `KO:…:BAD_REQUEST`).
    pub bad: Vec<String>,
    /// 1.3: the files the server sent the door (`UPLOAD`, `PART`), by its
    /// file id: the size and sha256 announced, and the bytes received.
    pub files: HashMap<String, (u64, String, Vec<u8>)>,
    /// 1.3: the starts of names the server searched the suite's people
    /// for (`PEOPLE` frames), oldest first.
    pub searched: Vec<String>,
    /// Every hello of the run, oldest first.
    pub hellos: Vec<TheirHello>,
    /// 1.3: each user's presence as the server's `PRESENCE` frames said
    /// it last (its address), and when each frame came.
    pub presence: HashMap<String, crate::protocol::Presence>,
    pub presence_frames: Vec<Instant>,
    /// 1.3: the server's `GROUPEVENT` frames for the suite's members,
    /// since the case began.
    pub group_events: Vec<crate::protocol::link::GroupCallFrame>,
    /// What to do with the frame of a message, by its id (one frame each).
    rules: HashMap<String, FrameRule>,
    /// The `OK:<last>` to say to the next hello instead of what was taken.
    resume_at: Option<u64>,
    /// Hellos wait (before their answer) until [`Peer::release`].
    holding: bool,
    /// The links open to the door now (cut when it goes down).
    pub(super) links: Vec<TcpStream>,
    /// Connections the door accepted in the run (their labels' numbers).
    pub(super) accepted: usize,
}

impl Seen {
    /// The door takes a file's `UPLOAD` or `PART` as §27 says an acceptor
    /// does: its answer.
    pub(super) fn take_file_frame(&mut self, frame: &FileFrame) -> String {
        match frame {
            FileFrame::Upload { file, size, sha256, .. } => {
                let entry =
                    self.files.entry(file.clone()).or_insert_with(|| (*size, sha256.clone(), Vec::new()));
                format!("OK:{}", entry.2.len())
            }
            FileFrame::Part { file, offset, data } => {
                let Some((size, _, bytes)) = self.files.get_mut(file) else {
                    return format!("KO:UNKNOWN_FILE:no file {file} was announced");
                };
                let have = bytes.len() as u64;
                if *offset > have {
                    return format!("KO:BAD_REQUEST:expected the part at offset {have}");
                }
                let end = offset + data.len() as u64;
                if end > *size {
                    return format!("KO:TOO_LONG:the file is {size} bytes, this part ends at {end}");
                }
                if end > have {
                    bytes.extend_from_slice(&data[(have - offset) as usize..]);
                }
                format!("OK:{}", bytes.len())
            }
            FileFrame::File { .. } => "KO:BAD_REQUEST:a FILE is numbered, not told".into(),
        }
    }
}

/// The suite's side of the network: its names, and what its door saw.
pub struct Peer {
    pub names: Names,
    /// The suite's link key (`--key-dir`): its certificate at both ends.
    pub key: crate::federation::key::LinkKey,
    /// A key of nobody's in the roster: an impostor's.
    pub stranger: crate::federation::key::LinkKey,
    /// The door's TLS configuration, of [`Peer::key`].
    pub(super) acceptor: std::sync::Arc<rustls::ServerConfig>,
    /// What the suite says as `<identity>` in its hellos ([`identity`]).
    pub identity: String,
    /// How long a line that must come is waited for (`--wait`).
    pub wait: Duration,
    /// The server's `--timeout` (a hello is answered within it).
    pub timeout: Duration,
    /// What the door's connections said, the whole run: each case takes
    /// the part said while it ran ([`Transcript::merge`]).
    pub log: Transcript,
    seen: Mutex<Seen>,
    changed: Condvar,
}

/// The suite's identity: 32 hex digits, the same for the same name and
/// key run after run (a server pins the identity it met first under a
/// key, §27, so a new one each run would be refused), another for
/// another `under`.
pub fn identity(me: &str, under: &str) -> String {
    let text = format!("wachat conform federation\n{}\n{under}", fold(me));
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The time now, Unix milliseconds (the `<ts>` of the suite's frames).
pub fn now_ms() -> u64 {
    crate::store::now_ms()
}

impl Peer {
    /// The suite's side, nothing seen yet.
    pub fn new(
        names: Names,
        key: crate::federation::key::LinkKey,
        wait: Duration,
        timeout: Duration,
    ) -> crate::error::Result<Peer> {
        Ok(Peer {
            identity: identity(&names.me, &key.fingerprint),
            acceptor: key.acceptor()?,
            stranger: crate::federation::key::LinkKey::generate()?,
            key,
            names,
            wait,
            timeout,
            log: Transcript::new(),
            seen: Mutex::default(),
            changed: Condvar::new(),
        })
    }

    pub(super) fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes what was seen and wakes every waiting case.
    pub(super) fn change<T>(&self, f: impl FnOnce(&mut Seen) -> T) -> T {
        let out = f(&mut self.seen());
        self.changed.notify_all();
        out
    }

    /// Waits until `f` finds what it looks for, or `deadline`.
    pub fn wait_for<T>(&self, deadline: Instant, mut f: impl FnMut(&mut Seen) -> Option<T>) -> Option<T> {
        let mut seen = self.seen();
        loop {
            if let Some(found) = f(&mut seen) {
                return Some(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            seen = self.changed.wait_timeout(seen, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// A case begins: no frame taken yet, no rule, no hold.
    pub fn begin_case(&self) {
        self.change(|s| {
            s.taken.clear();
            s.bad.clear();
            s.presence_frames.clear();
            s.group_events.clear();
            s.rules.clear();
            s.resume_at = None;
            s.holding = false;
        });
    }

    /// The first `MSG` frame of message `id` that the door took and
    /// acknowledged by `deadline` (a replay of a frame taken before is
    /// not one).
    pub fn msg(&self, id: &str, deadline: Instant) -> Option<ReadFrame> {
        self.wait_for(deadline, |s| {
            let new = |t: &&ReadFrame| t.acked && !t.again;
            s.taken
                .iter()
                .filter(new)
                .find(|t| matches!(&t.frame, Frame::Message(MessageFrame::Msg { id: i, .. }) if i == id))
                .cloned()
        })
    }

    /// The first `MSG` frame of message `id` the door read, whatever it
    /// answered.
    pub fn any_msg(&self, id: &str, deadline: Instant) -> Option<ReadFrame> {
        self.wait_for(deadline, |s| {
            s.taken
                .iter()
                .find(|t| matches!(&t.frame, Frame::Message(MessageFrame::Msg { id: i, .. }) if i == id))
                .cloned()
        })
    }

    /// How many frames of message `id` the door read (replays included).
    pub fn frames_of(&self, id: &str) -> usize {
        self.seen()
            .taken
            .iter()
            .filter(|t| matches!(&t.frame, Frame::Message(MessageFrame::Msg { id: i, .. }) if i == id))
            .count()
    }

    /// The first `FILE` frame of message `id` the door acknowledged, and
    /// the bytes the door had then of the file it names, with the sha256
    /// announced.
    pub fn file_frame(&self, id: &str, deadline: Instant) -> Option<(Frame, Option<Received>)> {
        self.wait_for(deadline, |s| {
            let found = s.taken.iter().find(|t| {
                t.acked && matches!(&t.frame, Frame::File(FileFrame::File { id: i, .. }) if i == id)
            });
            let frame = found?.frame.clone();
            let Frame::File(FileFrame::File { file, .. }) = &frame else { return None };
            let bytes = s.files.get(file).map(|(_, sha, bytes)| (sha.clone(), bytes.clone()));
            Some((frame, bytes))
        })
    }

    /// The first new `STATUS` frame for message `id` in `state`.
    pub fn status(&self, id: &str, state: LinkState, deadline: Instant) -> Option<ReadFrame> {
        self.wait_for(deadline, |s| {
            s.taken
                .iter()
                .find(|t| {
                    t.acked
                        && !t.again
                        && matches!(&t.frame, Frame::Message(MessageFrame::Status { id: i, state: st, .. }) if i == id && *st == state)
                })
                .cloned()
        })
    }

    /// What to do with the frame of message `id`.
    pub fn rule(&self, id: &str, rule: FrameRule) {
        self.change(|s| s.rules.insert(id.to_string(), rule));
    }

    pub(super) fn take_rule(&self, id: &str) -> Option<FrameRule> {
        self.seen().rules.remove(id)
    }

    /// The next hello says `OK:<last>` with this `last`.
    pub fn resume_at(&self, last: u64) {
        self.change(|s| s.resume_at = Some(last));
    }

    /// What the door answers a hello: `OK:<last>`.
    pub(super) fn resume(&self) -> u64 {
        self.change(|s| s.resume_at.take().unwrap_or(s.took))
    }

    /// Notes a numbered frame the door read: `count`, it is taken (the
    /// next hello's `OK:<last>` says it), `acked`, answered `ACK`.
    pub(super) fn note_frame(&self, frame: Frame, count: bool, acked: bool) {
        let n = frame.number().unwrap_or(0);
        self.change(|s| {
            let again = n <= s.took;
            if count && !again {
                s.took = n;
            }
            s.taken.push(ReadFrame { frame, again, acked });
        });
    }

    /// Hellos wait before their answer until [`Peer::release`].
    pub fn hold_hellos(&self) {
        self.change(|s| s.holding = true);
    }

    pub fn release(&self) {
        self.change(|s| s.holding = false);
    }

    /// Blocks a hello's thread while hellos are held (at most `within`).
    pub(super) fn wait_released(&self, within: Duration) {
        let deadline = Instant::now() + within;
        self.wait_for(deadline, |s| (!s.holding).then_some(()));
    }

    /// The hellos of the run after the first `count`, when one comes.
    pub fn hello_after(&self, count: usize, deadline: Instant) -> Option<TheirHello> {
        self.wait_for(deadline, |s| s.hellos.get(count).cloned())
    }

    /// How many hellos the door heard so far.
    pub fn hellos(&self) -> usize {
        self.seen().hellos.len()
    }

    /// The server said `OK:<last>` to the suite's hello: its frames go on
    /// from `last + 1` (or from where they were, if further).
    pub fn resumed(&self, last: u64) {
        self.change(|s| s.next_n = s.next_n.max(last + 1));
    }

    /// The suite's next frame number.
    pub fn number(&self) -> u64 {
        self.change(|s| {
            let n = s.next_n.max(1);
            s.next_n = n + 1;
            n
        })
    }

    /// Cuts the links open to the door: the server must dial again.
    pub fn cut_links(&self) {
        for link in self.change(|s| std::mem::take(&mut s.links)) {
            let _ = link.shutdown(std::net::Shutdown::Both);
        }
    }
}
