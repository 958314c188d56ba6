//! The suite's link port (the door): where the server under test dials
//! the suite, as it dials any peer of its roster. A thread per
//! connection, as in `wachat serve`, each TLS with the suite's link key.
//! The first frame is the server's `HELLO`: the door checks who is
//! speaking (its name, the suite's name, the key its connection showed
//! against its roster fingerprint), answers `OK:<last>`, then reads its
//! frames with the server's own table of families and answers each in
//! one `match` on the family, as `wachat serve`'s acceptor does: a told
//! one at once, a numbered one with `ACK` or what a case's [`FrameRule`]
//! says, noting every one for the cases.
//!
//! Every line goes to the peer's transcript, labelled `in<k>` (the k-th
//! connection to the door).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::peer::{FrameRule, Peer, TheirHello};
use crate::conform::wire::Conn;
use crate::protocol::Code;
use crate::protocol::link::{Answer, FileFrame, Frame, GroupCallFrame, MessageFrame, NO_DIALBACK, Opening};
use crate::protocol::names::fold;

/// The suite's link port, opened and closed as the cases ask (a peer
/// that goes down and comes back): what it sees goes to its [`Peer`].
pub struct LinkPort {
    peer: Arc<Peer>,
    /// Where it listens (its port fixed at the first opening).
    bind: Mutex<SocketAddr>,
    /// Its accept thread while it is open.
    open: Mutex<Option<Listening>>,
}

impl LinkPort {
    /// The door of `peer`, to open on `bind` ([`LinkPort::up`]).
    pub fn new(peer: Arc<Peer>, bind: SocketAddr) -> LinkPort {
        LinkPort { peer, bind: Mutex::new(bind), open: Mutex::new(None) }
    }

    /// Opens the door (again): the server under test can reach the suite.
    pub fn up(&self) -> std::io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.is_none() {
            let mut bind = self.bind.lock().unwrap_or_else(|e| e.into_inner());
            let listening = Listening::start(self.peer.clone(), *bind)?;
            *bind = listening.addr;
            *open = Some(listening);
        }
        Ok(())
    }

    /// Closes the door and cuts the links through it: the suite is down,
    /// as a server that stopped (its port refuses connections).
    pub fn down(&self) {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(listening) = open {
            listening.stop();
        }
        self.peer.cut_links();
    }

    /// Where the door listens.
    pub fn addr(&self) -> SocketAddr {
        *self.bind.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The door while it is open: its accept thread, and how to stop it.
struct Listening {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Listening {
    /// Listens on `bind` (the same port again after a close: a peer that
    /// comes back comes back where the roster says) and accepts.
    fn start(peer: Arc<Peer>, bind: SocketAddr) -> std::io::Result<Listening> {
        let listener = bind_again(bind)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new().name("conform-door".into()).spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return; // the wake-up connection of `stop`
                }
                let Ok(stream) = stream else { continue };
                let peer = peer.clone();
                let _ = std::thread::Builder::new().name("conform-door-in".into()).spawn(move || {
                    serve(&peer, stream);
                });
            }
        })?;
        Ok(Listening { addr, stop, thread })
    }

    /// Stops accepting: the flag, then a connection that wakes `accept`.
    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let _ = self.thread.join();
    }
}

/// Binds `addr`, trying for a few seconds while the port is still held
/// by the connections of a door just closed.
fn bind_again(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50)); // the port is freed by the system, not by us
            }
            other => return other,
        }
    }
}

fn serve(peer: &Peer, stream: TcpStream) {
    let n = peer.change(|s| {
        s.accepted += 1;
        s.accepted
    });
    let Ok(copy) = stream.try_clone() else { return };
    let Ok(mut conn) = Conn::accepted_tls(stream, &peer.acceptor, &format!("in{n}"), &peer.log, peer.wait)
    else {
        return;
    };
    let Ok(Some(first)) = conn.read_within(peer.timeout + peer.wait) else { return };
    match Opening::parse(&first) {
        Err(why) if why == NO_DIALBACK => {
            let _ = conn.send(&format!("KO:BAD_REQUEST:{why}"));
            conn.close();
        }
        Ok(Opening { from, to, identity }) => {
            let shown =
                conn.peer_certificate().map(|c| crate::federation::key::fingerprint(&c)).unwrap_or_default();
            let hello = TheirHello { from, to, identity, line: first.clone(), shown, wrong: None };
            if hello_of(peer, &mut conn, hello) {
                peer.change(|s| s.links.push(copy));
                take_frames(peer, &mut conn);
            }
        }
        Err(why) => {
            peer.change(|s| s.bad.push(first.clone()));
            let _ = conn.send(&format!("KO:BAD_REQUEST:{why}"));
        }
    }
}

/// Checks a hello as §27 lists the checks, and answers; true once the
/// link is up.
fn hello_of(peer: &Peer, conn: &mut Conn, mut hello: TheirHello) -> bool {
    let names = &peer.names;
    let wrong = if fold(&hello.from) != fold(&names.them) {
        Some((Code::UnknownServer, format!("this suite plays {} only, not {}", names.me, hello.from)))
    } else if fold(&hello.to) != fold(&names.me) {
        Some((Code::UnknownServer, format!("this is {}, not {}", names.me, hello.to)))
    } else if !crate::federation::key::same(&hello.shown, &names.their_fingerprint) {
        let why = format!(
            "this link's key is not {}'s (the roster's fingerprint for it is {})",
            names.them, names.their_fingerprint
        );
        Some((Code::AuthFailed, why))
    } else {
        None
    };
    hello.wrong = wrong.as_ref().map(|(_, why)| why.clone());
    peer.change(|s| s.hellos.push(hello));
    if let Some((code, why)) = wrong {
        let _ = conn.send(&Answer::Ko(None, code, why).to_string());
        return false;
    }
    peer.wait_released(peer.timeout);
    conn.send(&Answer::Hello(peer.resume()).to_string()).is_ok()
}

/// The stream: each frame read with the server's own grammar (the table
/// of families, `protocol::link::FAMILIES`) and answered in order by its
/// family, as the suite plays a peer: a told one at once, a numbered one
/// as a case's rule says or with `ACK`. Ends when the link closes or a
/// rule closes it.
fn take_frames(peer: &Peer, conn: &mut Conn) {
    // A linked server sends PING every half --timeout: an hour of silence
    // is a link that is gone (the door's close cuts it sooner).
    while let Ok(Some(line)) = conn.read_within(Duration::from_secs(3600)) {
        let frame = match Frame::parse(&line) {
            Ok(frame) => frame,
            Err((n, why)) => {
                peer.change(|s| s.bad.push(line.clone()));
                if conn.send(&Answer::Ko(n, Code::BadRequest, why).to_string()).is_err() {
                    return;
                }
                continue;
            }
        };
        let told = match &frame {
            Frame::Ping => "PONG".to_string(),
            Frame::Quit => {
                let _ = conn.send("OK");
                conn.close();
                return;
            }
            Frame::Message(_) | Frame::Room(_) | Frame::Receipt(_) | Frame::File(FileFrame::File { .. }) => {
                if take_numbered(peer, conn, frame) {
                    continue;
                }
                return;
            }
            // The suite's peer has no users to ring: it answers a call's
            // signal as a server that does not carry calls (§27).
            Frame::Call(_) => {
                let why = "the conformance suite's peer carries no calls";
                Answer::Ko(None, Code::BadRequest, why.into()).to_string()
            }
            // 1.3: a room's call: the suite's peer is a member's server,
            // which takes the home's events for its members (noted for
            // the cases), and homes no room: a request or a listing is
            // refused.
            Frame::GroupCall(group @ GroupCallFrame::Event { .. }) => {
                peer.change(|s| s.group_events.push(group.clone()));
                "OK".to_string()
            }
            Frame::GroupCall(GroupCallFrame::Request { .. } | GroupCallFrame::Calls { .. }) => {
                let why = "the conformance suite's peer homes no room with a call";
                Answer::Ko(None, Code::BadRequest, why.into()).to_string()
            }
            // 1.3: a home asks which of the suite's members it has in a
            // call are in it: the suite's peer leaves a call only by
            // saying so, so each of them is.
            Frame::GroupCall(GroupCallFrame::In { members, .. }) => {
                let mut lines = Answer::Hello(members.len() as u64).to_string();
                members.iter().for_each(|m| lines.push_str(&format!("\n{m}")));
                lines
            }
            // 1.3: a search of the suite's people: it has one, whose name
            // is the start searched for, never seen (`people_across`).
            Frame::People(search) => {
                peer.change(|s| s.searched.push(search.start.clone()));
                format!("OK:1\n{}:UNKNOWN", search.start)
            }
            // 1.3: a user's profile, told: the suite shows no profiles.
            Frame::Profile(_) => "OK".to_string(),
            // 1.3: the server's users' presence, noted for the cases.
            Frame::Presence(presence) => {
                peer.change(|s| {
                    s.presence_frames.push(Instant::now());
                    s.presence.extend(presence.seen.iter().cloned());
                });
                "OK".to_string()
            }
            Frame::File(file) => peer.change(|s| s.take_file_frame(file)),
        };
        if conn.send(&told).is_err() {
            return;
        }
    }
}

/// A numbered frame, answered as a case's rule for its message says, or
/// with `ACK`; false once the link is closed.
fn take_numbered(peer: &Peer, conn: &mut Conn, frame: Frame) -> bool {
    let Some(n) = frame.number() else { return true };
    let rule = match &frame {
        Frame::Message(MessageFrame::Msg { id, .. }) | Frame::File(FileFrame::File { id, .. }) => {
            peer.take_rule(id)
        }
        // The suite is the home of no room: a room's JOIN or LEAVE, or
        // a member's RECEIPT, is taken like any frame, and no case has a
        // rule for it.
        _ => None,
    };
    match rule {
        None => {
            // Answered before it is noted: a case that acts on the note
            // (goes down) does so after the ACK left.
            let sent = conn.send(&Answer::Ack(n).to_string());
            peer.note_frame(frame, true, true);
            sent.is_ok()
        }
        Some(FrameRule::Refuse(code, why)) => {
            peer.note_frame(frame, false, false);
            let _ = conn.send(&format!("KO:{n}:{}:{why}", code.as_str()));
            if Answer::for_now(code) {
                conn.note("the suite refused it for now, and closes the link (§27)");
                conn.close();
                return false;
            }
            true
        }
        Some(FrameRule::Lose) => {
            peer.note_frame(frame, false, false);
            conn.note("the suite closes the link without an answer, the frame not taken");
            conn.close();
            false
        }
        Some(FrameRule::TakeSilently) => {
            peer.note_frame(frame, true, false);
            conn.note("the suite took the frame, and closes the link before its ACK");
            conn.close();
            false
        }
    }
}
