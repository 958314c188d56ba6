//! The recorded frames read back as what the guarantees speak of:
//! messages written and their `OK`s, receipts, `ACK`s, `READ`s and
//! `STATUS` events, each pointing at the frame it came from.
//!
//! Every frame is parsed with the protocol's own types; a reply is matched
//! to its request by connection (a sender waits for each reply before its
//! next request, so the reply after a `MSG` is that `MSG`'s).

use std::collections::HashMap;

use super::history::{DeviceIndex, Recording, Way};
use crate::protocol::Port;
use crate::protocol::{Accepted, Chat, Event, EventReply, MsgState, Reply, Request};

/// A message as its sender wrote it (the first time).
#[derive(Clone, Debug)]
pub struct Authored {
    pub user: usize,
    pub id: String,
    /// The peer's name or the `#room`, as written.
    pub chat: String,
    pub text: String,
    /// Its place among the user's messages, in the outbox's order.
    pub index: usize,
    pub frame: usize,
    /// A file message's file, as its sender's server named the upload
    /// (`FILE:<to>:<id>:<file id>:…`).
    pub file: Option<String>,
}

/// An upload as its sender announced it: `UPLOAD:<name>:<size>:<sha256>`.
#[derive(Clone, Debug)]
pub struct Announced {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// What a send connection's request asked, for its reply.
enum Asked {
    Nothing,
    Msg(String),
    Upload(Announced),
    /// `FILEOF`: the sender's user (if one of the run's) and the id.
    FileOf(Option<usize>, String),
    Fetch(String, u64),
}

/// A queued event read on a receive connection.
#[derive(Clone, Debug)]
pub struct InboxRead {
    pub user: usize,
    pub device: DeviceIndex,
    pub conn: u64,
    pub seq: u64,
    pub frame: usize,
    pub event: Event,
}

/// A bounce as a 1.3 client reads it (§27): its message `id` to `peer`
/// was not delivered, `STATUS:<seq>:<peer>:<id>:FAILED:<ts>:<reason>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailedNotice<'a> {
    pub seq: u64,
    pub peer: &'a str,
    pub id: &'a str,
}

impl FailedNotice<'_> {
    /// The bounce `line` is, if it is one.
    pub fn parse(line: &str) -> Option<FailedNotice<'_>> {
        let f: Vec<&str> = line.splitn(7, ':').collect();
        if f.len() != 7 || f[0] != "STATUS" || f[4] != "FAILED" {
            return None;
        }
        Some(FailedNotice { seq: f[1].parse().ok()?, peer: f[2], id: f[3] })
    }
}

/// A bounce read on a receive connection.
#[derive(Clone, Debug)]
pub struct Bounced {
    pub user: usize,
    pub device: DeviceIndex,
    pub conn: u64,
    pub seq: u64,
    /// The address it names, as written.
    pub peer: String,
    pub id: String,
    pub frame: usize,
}

#[derive(Clone, Debug)]
pub struct Ack {
    pub user: usize,
    pub device: DeviceIndex,
    pub seq: u64,
    pub frame: usize,
}

#[derive(Clone, Debug)]
pub struct ReadReq {
    pub user: usize,
    pub peer: String,
    pub id: String,
    pub frame: usize,
}

pub struct Model<'a> {
    pub run: &'a Recording,
    /// By (sender, id).
    pub sent: HashMap<(usize, String), Authored>,
    /// By (sender, id): every `OK:<id>:<ts>`, with its frame.
    pub oks: HashMap<(usize, String), Vec<(u64, usize)>>,
    /// Every queued event, in the order read.
    pub queued: Vec<InboxRead>,
    /// Every bounce (1.3), in the order read.
    pub bounces: Vec<Bounced>,
    pub acks: Vec<Ack>,
    pub reads: Vec<ReadReq>,
    /// By (uploader, file id): what its `UPLOAD` announced.
    pub uploads: HashMap<(usize, String), Announced>,
    /// By (recipient, sender, id): the file id `FILEOF` answered the
    /// recipient, with the frame of the answer.
    pub files_of: HashMap<(usize, usize, String), (String, usize)>,
    /// By (user, file id): the bytes its `FETCH`es got, in order.
    pub fetched: HashMap<(usize, String), Vec<u8>>,
}

impl<'a> Model<'a> {
    pub fn build(run: &'a Recording) -> Model<'a> {
        let mut m = Model {
            run,
            sent: HashMap::new(),
            oks: HashMap::new(),
            queued: Vec::new(),
            bounces: Vec::new(),
            acks: Vec::new(),
            reads: Vec::new(),
            uploads: HashMap::new(),
            files_of: HashMap::new(),
            fetched: HashMap::new(),
        };
        let mut asked: HashMap<u64, Asked> = HashMap::new();
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for (i, f) in run.frames.iter().enumerate() {
            match (f.port, f.dir) {
                (Port::Send, Way::Out) => {
                    let id = m.request(i, &mut counts);
                    asked.insert(f.conn, id);
                }
                (Port::Send, Way::In) => {
                    if let Some(request) = asked.insert(f.conn, Asked::Nothing) {
                        m.reply(i, request);
                    }
                }
                (Port::Receive, Way::Out) => {
                    if let Some(EventReply::Ack(seq)) = EventReply::parse(&f.text) {
                        m.acks.push(Ack { user: f.user, device: f.device, seq, frame: i });
                    }
                }
                (Port::Receive, Way::In) => {
                    if let Some(b) = FailedNotice::parse(&f.text) {
                        let (peer, id) = (b.peer.to_string(), b.id.to_string());
                        let (user, device, conn, seq) = (f.user, f.device, f.conn, b.seq);
                        m.bounces.push(Bounced { user, device, conn, seq, peer, id, frame: i });
                    } else if let Ok(event) = Event::parse(&f.text)
                        && let Some(seq) = event.seq()
                    {
                        m.queued.push(InboxRead {
                            user: f.user,
                            device: f.device,
                            conn: f.conn,
                            seq,
                            frame: i,
                            event,
                        });
                    }
                }
            }
        }
        m
    }

    /// A request written on a send port: what its reply answers.
    fn request(&mut self, i: usize, counts: &mut HashMap<usize, usize>) -> Asked {
        let f = &self.run.frames[i];
        let Ok(request) = Request::parse(&f.text) else { return Asked::Nothing };
        let (to, id, text, file) = match request {
            Request::Msg { to, id, text } => (to, id, text.unescaped(), None),
            Request::File { to, id, file, caption } => {
                // The text every recipient reads: `📎 <name> (<size>) <caption>`.
                let announced = self.uploads.get(&(f.user, file.clone()));
                let text = announced
                    .and_then(|a| {
                        crate::protocol::files::readable_text(&a.name, a.size, caption.as_ref()).ok()
                    })
                    .map_or_else(String::new, |t| t.unescaped());
                (to, id, text, Some(file))
            }
            Request::Upload { name, size, sha256 } => return Asked::Upload(Announced { name, size, sha256 }),
            Request::FileOf { from, id, .. } => return Asked::FileOf(self.user(&from), id),
            Request::Fetch { file, offset } => return Asked::Fetch(file, offset),
            Request::Read { chat: Chat::User(peer), id } => {
                self.reads.push(ReadReq { user: f.user, peer, id, frame: i });
                return Asked::Nothing;
            }
            _ => return Asked::Nothing,
        };
        // A resend keeps the first write's place and frame.
        if let std::collections::hash_map::Entry::Vacant(slot) = self.sent.entry((f.user, id.clone())) {
            let n = counts.entry(f.user).or_default();
            *n += 1;
            let chat = to.to_string();
            slot.insert(Authored { user: f.user, id: id.clone(), chat, text, index: *n, frame: i, file });
        }
        Asked::Msg(id)
    }

    fn reply(&mut self, i: usize, asked: Asked) {
        let f = &self.run.frames[i];
        let Ok(Reply::OkWith(rest)) = Reply::parse(&f.text) else { return };
        match asked {
            Asked::Msg(id) => {
                if let Ok(accepted) = Accepted::parse(&rest)
                    && accepted.id == id
                {
                    self.oks.entry((f.user, id)).or_default().push((accepted.ts, i));
                }
            }
            Asked::Upload(announced) => {
                self.uploads.insert((f.user, rest), announced);
            }
            Asked::FileOf(Some(sender), id) => {
                if let Ok(info) = crate::protocol::files::FileInfo::parse(&rest) {
                    self.files_of.insert((f.user, sender, id), (info.id, i));
                }
            }
            Asked::Fetch(file, offset) => {
                let bytes = self.fetched.entry((f.user, file)).or_default();
                if let Ok(part) = crate::protocol::files::decode(&rest)
                    && offset == bytes.len() as u64
                {
                    bytes.extend_from_slice(&part);
                }
            }
            Asked::FileOf(None, _) | Asked::Nothing => {}
        }
    }

    /// The user called `name` (or, in a federation, at this address),
    /// ignoring case.
    pub fn user(&self, name: &str) -> Option<usize> {
        super::history::user_of(&self.run.names, &self.run.homes, name)
    }

    /// The room a chat names: `#r0`, or, in a federation, `#r0@lab2`
    /// when `lab2` is its home, ignoring case. Room names are the run's
    /// own, so `#r0` names one room on whichever server it is read.
    pub fn room(&self, chat: &str) -> Option<usize> {
        let (name, server) = match chat.split_once('@') {
            Some((name, server)) => (name, Some(server)),
            None => (chat, None),
        };
        let room = self.run.rooms.iter().position(|(r, _)| r.eq_ignore_ascii_case(name))?;
        match server {
            None => Some(room),
            Some(server) => {
                self.run.room_homes.get(room).filter(|home| home.eq_ignore_ascii_case(server)).map(|_| room)
            }
        }
    }

    /// A user's devices, as the frames name them.
    pub fn devices_of(&self) -> Vec<DeviceIndex> {
        match self.run.devices {
            0 | 1 => vec![None],
            n => (0..n).map(Some).collect(),
        }
    }

    /// How a report names a device of a user.
    pub fn who(&self, (user, device): (usize, DeviceIndex)) -> String {
        super::history::who(&self.run.names, user, device)
    }

    /// Who must receive a message: every device of the peer, or of the
    /// room's other members; with several devices, every device of the
    /// sender too (its copy, §16).
    pub fn recipients(&self, sent: &Authored) -> Vec<(usize, DeviceIndex)> {
        let mut users: Vec<usize> = match self.room(&sent.chat) {
            Some(room) => self.run.rooms[room].1.iter().copied().filter(|&u| u != sent.user).collect(),
            None => self.user(&sent.chat).into_iter().collect(),
        };
        if self.run.devices > 1 {
            users.push(sent.user);
        }
        users.into_iter().flat_map(|u| self.devices_of().into_iter().map(move |d| (u, d))).collect()
    }

    /// The messages the server answered `OK`, in a stable order.
    pub fn accepted(&self) -> Vec<&Authored> {
        let mut out: Vec<&Authored> =
            self.sent.values().filter(|s| self.oks.contains_key(&(s.user, s.id.clone()))).collect();
        out.sort_by_key(|s| (s.user, s.index));
        out
    }

    /// The `MSG` and `FILE` events a device read, as (from, id, seq, frame).
    pub fn receipts(
        &self,
        (user, device): (usize, DeviceIndex),
    ) -> impl Iterator<Item = (&str, &str, u64, usize)> {
        self.queued
            .iter()
            .filter(move |q| q.user == user && q.device == device)
            .filter_map(|q| Model::message(q).map(|(from, _, id, _)| (from, id, q.seq, q.frame)))
    }

    /// A message event's (from, to, id, text): a `MSG`, or a `FILE` (its
    /// text the `MSG`'s, §21).
    pub fn message(q: &InboxRead) -> Option<(&str, &str, &str, &crate::protocol::Text)> {
        match &q.event {
            Event::Msg { from, to, id, text, .. } => Some((from, to, id, text)),
            Event::File(file) => Some((&file.from, &file.to, &file.id, &file.text)),
            _ => None,
        }
    }

    /// The first frame at which a device had `ACK`ed `seq`, if ever.
    pub fn acked_at(&self, (user, device): (usize, DeviceIndex), seq: u64) -> Option<usize> {
        self.acks.iter().find(|a| a.user == user && a.device == device && a.seq >= seq).map(|a| a.frame)
    }

    /// The first frame at which any device of `user` had `ACK`ed `seq`
    /// (the numbers are the user's, one inbox for all its devices).
    pub fn acked_by_any(&self, user: usize, seq: u64) -> Option<usize> {
        self.acks.iter().find(|a| a.user == user && a.seq >= seq).map(|a| a.frame)
    }

    pub fn at_us(&self, frame: usize) -> u64 {
        self.run.frames[frame].at_us
    }

    /// A `STATUS` event's parts.
    pub fn status(q: &InboxRead) -> Option<(&str, &str, MsgState)> {
        match &q.event {
            Event::Status { peer, id, state, .. } => Some((peer, id, *state)),
            _ => None,
        }
    }
}
