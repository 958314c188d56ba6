//! The guarantees of docs/MODEL.md, one function each, over the [`Model`]
//! of a run. Each returns its violations, every one with the frames that
//! show it; none looks at anything the protocol leaves open (a `MSG` that
//! got no `OK`, an event that was not `ACK`ed yet).

use std::collections::{HashMap, HashSet};

use super::history::DeviceIndex;
use super::model::{Authored, Model};
use crate::protocol::{Event, HistoryLine, MsgState};

/// One violation: when, what, and the frames that show it.
#[derive(Clone, Debug)]
pub struct Example {
    pub at_us: u64,
    pub what: String,
    pub frames: Vec<usize>,
}

/// A guarantee and how the run went for it.
pub struct Verdict {
    pub name: &'static str,
    pub promise: &'static str,
    /// Every violation, earliest first.
    pub violations: Vec<Example>,
}

type Check = fn(&Model) -> Vec<Example>;

/// A room's messages as one member got them: (seq, frame, message).
type Got<'a> = Vec<(u64, usize, &'a Authored)>;

/// A device of a user (`None`: its one device).
type Dev = (usize, DeviceIndex);

/// Per (device, peer, id, state): the seqs and frames of that `STATUS`.
type Statuses = HashMap<(Dev, String, String, MsgState), Vec<(u64, usize)>>;

/// Per device, (sender, id) → the receipts' (seq, frame), in order.
type Receipts = HashMap<(Dev, usize, String), Vec<(u64, usize)>>;

/// The guarantees, by the names docs/MODEL.md gives them.
pub const GUARANTEES: [(&str, &str, Check); 8] = [
    ("lost", "every OK'd MSG reaches each recipient (across servers: or is bounced to its sender)", lost),
    ("duplicated", "a (from, id) under one seq only; a resend gets the original OK, stored once", duplicated),
    (
        "reordered",
        "seqs increase per connection; per sender and chat in OK order; one order per room",
        reordered,
    ),
    ("phantom", "nothing delivered that was never sent", phantom),
    ("status", "DELIVERED after the ACK, READ after the READ, each once; on every device", status),
    ("history", "HISTORY shows every OK'd message once", history),
    ("bounced", "a bounce (FAILED) only for a message sent and never delivered, once", bounced),
    ("files", "a file delivered is on its recipient's server whole: its sender's bytes (sha256)", files),
];

pub fn all(model: &Model) -> Vec<Verdict> {
    GUARANTEES
        .iter()
        .map(|(name, promise, check)| {
            let mut violations = check(model);
            violations.sort_by_key(|e| e.at_us);
            Verdict { name, promise, violations }
        })
        .collect()
}

fn example(m: &Model, frames: Vec<usize>, what: String) -> Example {
    let at_us = frames.iter().map(|&f| m.at_us(f)).max().unwrap_or(0);
    Example { at_us, what, frames }
}

/// Whether two names or addresses name the same user, or the same room,
/// of the run (`#r0` on its home, `#r0@lab2` elsewhere).
fn same(m: &Model, a: &str, b: &str) -> bool {
    match (m.user(a), m.user(b), m.room(a), m.room(b)) {
        (Some(x), Some(y), ..) => x == y,
        (.., Some(x), Some(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    }
}

fn ok_frame(m: &Model, s: &Authored) -> usize {
    m.oks.get(&(s.user, s.id.clone())).and_then(|o| o.first()).map_or(s.frame, |o| o.1)
}

/// Every device of every user.
fn all_devices(m: &Model) -> Vec<Dev> {
    (0..m.run.names.len()).flat_map(|u| m.devices_of().into_iter().map(move |d| (u, d))).collect()
}

/// Per device, (sender, id) → the receipts' (seq, frame), in order.
fn receipts(m: &Model) -> Receipts {
    let mut out: Receipts = HashMap::new();
    for dev in all_devices(m) {
        for (from, id, seq, frame) in m.receipts(dev) {
            if let Some(sender) = m.user(from) {
                out.entry((dev, sender, id.to_string())).or_default().push((seq, frame));
            }
        }
    }
    out
}

fn lost(m: &Model) -> Vec<Example> {
    let got = receipts(m);
    // Bounced to its sender: not delivered, and said so (`bounced` checks
    // that it was not delivered either).
    let bounced: HashSet<(usize, &str)> = m.bounces.iter().map(|b| (b.user, b.id.as_str())).collect();
    let mut out = Vec::new();
    for s in m.accepted() {
        if bounced.contains(&(s.user, s.id.as_str())) {
            continue;
        }
        for r in m.recipients(s) {
            if !got.contains_key(&(r, s.user, s.id.clone())) {
                let what =
                    format!("{} never got {}'s {} to {} (OK'd)", m.who(r), m.run.names[s.user], s.id, s.chat);
                out.push(example(m, vec![s.frame, ok_frame(m, s)], what));
            }
        }
    }
    out
}

fn duplicated(m: &Model) -> Vec<Example> {
    let mut out = Vec::new();
    for ((user, id), oks) in &m.oks {
        if let Some(other) = oks.iter().find(|o| o.0 != oks[0].0) {
            let what = format!(
                "{}'s resend of {id} got OK:{id}:{}, the first OK:{id}:{}",
                m.run.names[*user], other.0, oks[0].0
            );
            out.push(example(m, vec![oks[0].1, other.1], what));
        }
    }
    // A replay repeats an event under its own seq; a second seq means a
    // second copy stored (whether or not the first was ACKed yet).
    for ((r, sender, id), got) in receipts(m) {
        let Some(again) = got.iter().find(|g| g.0 != got[0].0) else { continue };
        let acked = m.acked_at(r, got[0].0).is_some_and(|a| a < again.1);
        let what = format!(
            "{} got {}'s {id} as seq {} and again as seq {} ({}): stored twice",
            m.who(r),
            m.run.names[sender],
            got[0].0,
            again.0,
            if acked { "after ACKing the first" } else { "the first not ACKed yet" }
        );
        out.push(example(m, vec![got[0].1, again.1], what));
    }
    out
}

/// The first receipt of something under another seq than the first one,
/// once the first one was `ACK`ed.
fn twice(m: &Model, dev: Dev, got: &[(u64, usize)]) -> Option<((u64, usize), (u64, usize))> {
    let first = *got.first()?;
    let acked = m.acked_at(dev, first.0)?;
    got.iter().find(|g| g.0 != first.0 && g.1 > acked).map(|g| (first, *g))
}

fn reordered(m: &Model) -> Vec<Example> {
    let mut out = seqs_increase(m);
    out.extend(sender_order(m));
    out.extend(room_order(m));
    out
}

fn seqs_increase(m: &Model) -> Vec<Example> {
    // Queued events and bounces, as (frame, connection, seq, device).
    let mut numbered: Vec<(usize, u64, u64, Dev)> =
        m.queued.iter().map(|q| (q.frame, q.conn, q.seq, (q.user, q.device))).collect();
    numbered.extend(m.bounces.iter().map(|b| (b.frame, b.conn, b.seq, (b.user, b.device))));
    numbered.sort_by_key(|n| n.0);
    let mut last: HashMap<u64, (u64, usize)> = HashMap::new();
    let mut out = Vec::new();
    for (frame, conn, seq, dev) in numbered {
        if let Some(prev) = last.insert(conn, (seq, frame))
            && seq <= prev.0
        {
            let what = format!("{}'s connection {conn}: seq {seq} after seq {}", m.who(dev), prev.0);
            out.push(example(m, vec![prev.1, frame], what));
        }
    }
    out
}

/// Per device, (sender, id) → the seq and frame of the first receipt.
fn first_seqs(m: &Model) -> HashMap<(Dev, usize, String), (u64, usize)> {
    receipts(m).into_iter().map(|(k, v)| (k, v[0])).collect()
}

fn sender_order(m: &Model) -> Vec<Example> {
    let first = first_seqs(m);
    let mut chats: HashMap<(usize, String), Vec<&Authored>> = HashMap::new();
    for s in m.accepted() {
        chats.entry((s.user, s.chat.to_lowercase())).or_default().push(s);
    }
    let mut out = Vec::new();
    for sent in chats.values() {
        for r in m.recipients(sent[0]) {
            let mut prev: Option<(&Authored, (u64, usize))> = None;
            for s in sent {
                let Some(&got) = first.get(&(r, s.user, s.id.clone())) else { continue };
                if let Some((p, pg)) = prev
                    && got.0 < pg.0
                {
                    let what = format!(
                        "{} got {}'s {} (seq {}) before {} (seq {}), OK'd in the other order",
                        m.who(r),
                        m.run.names[s.user],
                        s.id,
                        got.0,
                        p.id,
                        pg.0
                    );
                    out.push(example(m, vec![pg.1, got.1], what));
                }
                prev = Some((s, got));
            }
        }
    }
    out
}

fn room_order(m: &Model) -> Vec<Example> {
    let first = first_seqs(m);
    let mut out = Vec::new();
    for (k, (room, members)) in m.run.rooms.iter().enumerate() {
        // Each member device's order of the room's messages: (sender, id) by seq.
        let devices = members.iter().flat_map(|&u| m.devices_of().into_iter().map(move |d| (u, d)));
        let orders: Vec<(Dev, Got)> = devices
            .map(|r| {
                let mut got: Vec<_> = m
                    .accepted()
                    .into_iter()
                    .filter(|s| m.room(&s.chat) == Some(k))
                    .filter_map(|s| first.get(&(r, s.user, s.id.clone())).map(|g| (g.0, g.1, s)))
                    .collect();
                got.sort_by_key(|g| g.0);
                (r, got)
            })
            .collect();
        for (i, (a, order_a)) in orders.iter().enumerate() {
            for (b, order_b) in &orders[i + 1..] {
                out.extend(inversion(m, room, (*a, order_a), (*b, order_b)));
            }
        }
    }
    out
}

/// The first two messages of a room that two members got in opposite orders.
fn inversion(
    m: &Model,
    room: &str,
    a: (Dev, &[(u64, usize, &Authored)]),
    b: (Dev, &[(u64, usize, &Authored)]),
) -> Option<Example> {
    let place: HashMap<(usize, &str), (usize, usize)> =
        b.1.iter().enumerate().map(|(i, g)| ((g.2.user, g.2.id.as_str()), (i, g.1))).collect();
    let mut best: Option<(usize, usize, &Authored)> = None; // b's place of the latest so far in a's order
    for g in a.1 {
        let Some(&(pos, frame)) = place.get(&(g.2.user, g.2.id.as_str())) else { continue };
        if let Some((bpos, bframe, prev)) = best
            && pos < bpos
        {
            let what = format!(
                "{room}: {} got {} before {}, {} the other way",
                m.who(a.0),
                prev.id,
                g.2.id,
                m.who(b.0)
            );
            return Some(example(m, vec![g.1, frame, bframe], what));
        }
        if best.is_none_or(|(bpos, ..)| pos > bpos) {
            best = Some((pos, frame, g.2));
        }
    }
    None
}

fn phantom(m: &Model) -> Vec<Example> {
    let mut out = Vec::new();
    for q in &m.queued {
        let Some((from, to, id, text)) = Model::message(q) else { continue };
        let ours = |name: &str| m.user(name.split('@').next().unwrap_or(name)).is_some();
        let Some(sender) = m.user(from) else {
            if ours(from) {
                // One of ours, at a server it is not on.
                let what =
                    format!("{} got {id} from {from}, not where that user is", m.who((q.user, q.device)));
                out.push(example(m, vec![q.frame], what));
            }
            continue; // someone else's user: not ours to judge
        };
        // A post a room's home relayed from a third server is marked so
        // (§27): the words after the marker are the author's.
        let plain = text.unescaped();
        let said = crate::protocol::relayed::relayed_by(from, to, &plain).map_or(&*plain, |(_, w)| w);
        let why = match m.sent.get(&(sender, id.to_string())) {
            None => format!("{from} never sent {id}"),
            Some(s) if s.text != said => format!("{from}'s {id} came with another text"),
            Some(s) if !same(m, &s.chat, to) => {
                format!("{from}'s {id} to {} came as to {to}", s.chat)
            }
            Some(_) => continue,
        };
        out.push(example(m, vec![q.frame], format!("{} got {why}", m.who((q.user, q.device)))));
    }
    out
}

fn status(m: &Model) -> Vec<Example> {
    let first = first_seqs(m);
    let mut seen: Statuses = HashMap::new();
    let mut out = Vec::new();
    for q in &m.queued {
        let Some((peer, id, state)) = Model::status(q) else { continue };
        let dev = (q.user, q.device);
        seen.entry((dev, peer.to_lowercase(), id.to_string(), state)).or_default().push((q.seq, q.frame));
        let name = m.who(dev);
        let Some(s) = m.sent.get(&(q.user, id.to_string())).filter(|s| same(m, &s.chat, peer)) else {
            out.push(example(m, vec![q.frame], format!("{name} got {state} for {id} to {peer}, never sent")));
            continue;
        };
        let Some(p) = m.user(peer) else { continue };
        let why = match state {
            MsgState::Delivered => delivered_early(m, p, s, q.frame, &first),
            MsgState::Read => read_early(m, p, s, q.frame),
            _ => None,
        };
        if let Some((why, mut frames)) = why {
            frames.push(q.frame);
            out.push(example(m, frames, format!("{name} got {state} for {id}: {why}")));
        }
    }
    for ((dev, peer, id, state), got) in seen {
        if let Some((a, b)) = twice(m, dev, &got) {
            let what =
                format!("{} got {state} for {id} to {peer} twice (seq {}, then {})", m.who(dev), a.0, b.0);
            out.push(example(m, vec![a.1, b.1], what));
        }
    }
    out.extend(every_device(m));
    out
}

/// Several devices (§16): a `STATUS` or `READMARK` is an event of the
/// user's one inbox, so each device that keeps logging in gets it, under
/// the same number: the ticks and the read marks agree everywhere.
fn every_device(m: &Model) -> Vec<Example> {
    if m.run.devices < 2 {
        return Vec::new();
    }
    let mut got: HashMap<(usize, u64), Vec<&super::model::InboxRead>> = HashMap::new();
    for q in m.queued.iter().filter(|q| matches!(q.event, Event::Status { .. } | Event::ReadMark { .. })) {
        got.entry((q.user, q.seq)).or_default().push(q);
    }
    let mut out = Vec::new();
    for ((user, seq), copies) in got {
        for device in m.devices_of() {
            if !copies.iter().any(|q| q.device == device) {
                let what = format!("{} never got seq {seq}, which another device got", m.who((user, device)));
                out.push(example(m, vec![copies[0].frame], what));
            }
        }
    }
    out
}

/// Why a `DELIVERED` (at `frame`) came before the recipient's `ACK`.
fn delivered_early(
    m: &Model,
    peer: usize,
    s: &Authored,
    frame: usize,
    first: &HashMap<(Dev, usize, String), (u64, usize)>,
) -> Option<(String, Vec<usize>)> {
    // The first device of the peer to get it (the numbers are the user's).
    let got = m.devices_of().into_iter().filter_map(|d| first.get(&((peer, d), s.user, s.id.clone()))).min();
    let Some(&(seq, got)) = got else {
        return Some((format!("{} never got it", m.run.names[peer]), vec![]));
    };
    match m.acked_by_any(peer, seq) {
        Some(ack) if ack < frame => None,
        _ => Some((format!("{} had not ACKed seq {seq}", m.run.names[peer]), vec![got])),
    }
}

/// Why a `READ` (at `frame`) came before any `READ` of the peer covering it.
fn read_early(m: &Model, peer: usize, s: &Authored, frame: usize) -> Option<(String, Vec<usize>)> {
    let covered = m.reads.iter().any(|r| {
        r.user == peer
            && r.frame < frame
            && m.user(&r.peer) == Some(s.user)
            && m.sent.get(&(s.user, r.id.clone())).is_some_and(|read| read.index >= s.index)
    });
    (!covered).then(|| (format!("{} had sent no READ covering it", m.run.names[peer]), vec![]))
}

fn history(m: &Model) -> Vec<Example> {
    // A room message bounced never reached its home, and a room's history
    // is its home's (§27): it is in no one's.
    let bounced: HashSet<(usize, &str)> = m.bounces.iter().map(|b| (b.user, b.id.as_str())).collect();
    let mut out = Vec::new();
    for s in m.accepted() {
        if m.room(&s.chat).is_some() && bounced.contains(&(s.user, s.id.as_str())) {
            continue;
        }
        let Some(listing) =
            m.run.listings.iter().find(|l| l.user == s.user && l.chat.eq_ignore_ascii_case(&s.chat))
        else {
            let what = format!("{} could not read HISTORY of {}", m.run.names[s.user], s.chat);
            out.push(example(m, vec![ok_frame(m, s)], what));
            continue;
        };
        let lines: Vec<HistoryLine> =
            listing.lines.iter().filter_map(|l| HistoryLine::parse(l).ok()).collect();
        let oldest = lines.first().map_or(0, |l| l.ts);
        let ts = m.oks[&(s.user, s.id.clone())][0].0;
        if listing.lines.len() >= listing.limit && ts < oldest {
            continue; // older than what one HISTORY shows
        }
        let name = &m.run.names[s.user];
        let n = lines.iter().filter(|l| l.from.eq_ignore_ascii_case(name) && l.id == s.id).count();
        if n != 1 {
            let what = format!("HISTORY:{}: {name}'s {} shown {n} times", s.chat, s.id);
            out.push(example(m, vec![ok_frame(m, s)], what));
        }
    }
    out
}

/// A bounce is for a message its user sent, to the address it names; it
/// comes under one number (a replay repeats that number); and a message
/// bounced was delivered to nobody, before or after: custody ends in one
/// of the two, never both.
fn bounced(m: &Model) -> Vec<Example> {
    let got = receipts(m);
    let mut seqs: HashMap<(usize, &str), Vec<(u64, usize)>> = HashMap::new();
    let mut out = Vec::new();
    for b in &m.bounces {
        let copies = seqs.entry((b.user, b.id.as_str())).or_default();
        copies.push((b.seq, b.frame));
        if copies.len() > 1 {
            continue; // a replay, or a second bounce (below): judged once
        }
        let name = m.who((b.user, b.device));
        let Some(s) = m.sent.get(&(b.user, b.id.clone())).filter(|s| same(m, &s.chat, &b.peer)) else {
            let what = format!("{name} got a bounce of {} to {}, which it never sent", b.id, b.peer);
            out.push(example(m, vec![b.frame], what));
            continue;
        };
        for r in m.recipients(s) {
            let Some(&(_, delivered)) = got.get(&(r, s.user, s.id.clone())).and_then(|g| g.first()) else {
                continue;
            };
            let order = if delivered < b.frame { "then" } else { "and later" };
            let what = format!(
                "{} got {}'s {} to {}, {order} {name} got a bounce of it",
                m.who(r),
                m.run.names[s.user],
                s.id,
                s.chat
            );
            out.push(example(m, vec![delivered, b.frame], what));
        }
    }
    for ((user, id), got) in seqs {
        if let Some(again) = got.iter().find(|g| g.0 != got[0].0) {
            let what = format!(
                "{} got a bounce of {id} twice (seq {}, then {})",
                m.run.names[user], got[0].0, again.0
            );
            out.push(example(m, vec![got[0].1, again.1], what));
        }
    }
    out
}

/// Every file message a recipient got is on the recipient's own server
/// whole: the bytes it fetched there at the end (`FILEOF`, then `FETCH`
/// to the end) have the sha256 its sender's `UPLOAD` announced, which the
/// sender's server checked before the message was taken. That it came
/// once, in order, or at all, is judged as for any message.
fn files(m: &Model) -> Vec<Example> {
    let got = receipts(m);
    let mut out = Vec::new();
    for s in m.accepted() {
        let Some(announced) = s.file.as_ref().and_then(|f| m.uploads.get(&(s.user, f.clone()))) else {
            continue;
        };
        for r in m.recipients(s) {
            let Some(&(_, frame)) = got.get(&(r, s.user, s.id.clone())).and_then(|g| g.first()) else {
                continue;
            };
            let whose = format!("{}'s {} ({})", m.run.names[s.user], s.id, announced.name);
            let Some((file, answered)) = m.files_of.get(&(r.0, s.user, s.id.clone())) else {
                let what = format!("{} got {whose}, and its server named no file for it (FILEOF)", m.who(r));
                out.push(example(m, vec![frame], what));
                continue;
            };
            let bytes = m.fetched.get(&(r.0, file.clone())).map_or(&[][..], Vec::as_slice);
            if super::schedule::sha256(bytes) != announced.sha256 {
                let what = format!(
                    "{} got {whose}: its server serves {} bytes of {}, not its sender's (sha256)",
                    m.who(r),
                    bytes.len(),
                    announced.size
                );
                out.push(example(m, vec![frame, *answered], what));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::history::{Observed, Recording, Way};
    use crate::protocol::Port;

    /// A frame of `user`'s device `device` on connection `conn`.
    fn frame(
        at: u64,
        (user, device): (usize, DeviceIndex),
        conn: u64,
        (port, dir): (Port, Way),
        text: &str,
    ) -> Observed {
        Observed { at_us: at, user, device, conn, port, dir, text: text.into() }
    }

    /// Two users of two devices: u0 (its d0) writes m1 to u1; both of
    /// u1's devices get it; u1@d0 ACKs it and u0@d0 gets DELIVERED. What
    /// `drop` names is left out of the run.
    fn run(drop: &str) -> Recording {
        let (send, recv) = ((Port::Send, Way::Out), (Port::Receive, Way::In));
        let ok = (Port::Send, Way::In);
        let msg = "MSG:1:u0:u1:m1:100:chaos m1 from u0";
        let frames = vec![
            frame(1, (0, Some(0)), 1, send, "MSG:u1:m1:chaos m1 from u0"),
            frame(2, (0, Some(0)), 1, ok, "OK:m1:100"),
            frame(3, (1, Some(0)), 2, recv, msg),
            frame(4, (1, Some(1)), 3, recv, msg),
            frame(5, (0, Some(0)), 4, recv, msg),
            frame(6, (0, Some(1)), 5, recv, if drop == "copy" { "PING" } else { msg }),
            frame(7, (1, Some(0)), 2, (Port::Receive, Way::Out), "ACK:1"),
            frame(8, (0, Some(0)), 4, recv, "STATUS:2:u1:m1:DELIVERED:110"),
            frame(
                9,
                (0, Some(1)),
                5,
                recv,
                if drop == "status" { "PING" } else { "STATUS:2:u1:m1:DELIVERED:110" },
            ),
        ];
        let listing = crate::chaos::history::HistoryRead {
            user: 0,
            chat: "u1".into(),
            lines: vec!["u0:u1:m1:100:DELIVERED:chaos m1 from u0".into()],
            limit: 1000,
        };
        Recording {
            names: vec!["u0".into(), "u1".into()],
            homes: vec![],
            room_homes: vec![],
            devices: 2,
            rooms: vec![],
            frames,
            faults: vec![],
            listings: vec![listing],
            duration_us: 10,
            failovers: 0,
        }
    }

    fn violated(run: &Recording) -> Vec<&'static str> {
        all(&Model::build(run)).into_iter().filter(|v| !v.violations.is_empty()).map(|v| v.name).collect()
    }

    #[test]
    fn every_device_gets_its_copy_and_every_status() {
        assert_eq!(violated(&run("")), Vec::<&str>::new());
        assert_eq!(violated(&run("copy")), ["lost"], "the sender's other device missed its copy");
        assert_eq!(violated(&run("status")), ["status"], "a device missed a STATUS its twin got");
    }

    /// A federation: u0 on lab1 writes m1 and m2 to u1 on lab2, both
    /// `OK`'d; u1 gets them in order and `ACK`s them. `plant` names what
    /// goes wrong: `duplicate` (m1 again, under a new number), `lost` (m2
    /// never comes), `reorder` (m2 comes first), `bounce after delivery`
    /// (u0 is told m1 failed, which u1 got), `bounced` (m2 never comes,
    /// and u0 is told it failed: what custody allows).
    fn federation(plant: &str) -> Recording {
        let (send, ok, recv) = ((Port::Send, Way::Out), (Port::Send, Way::In), (Port::Receive, Way::In));
        let u0 = (0, None);
        let u1 = (1, None);
        let m = |seq: u64, id: &str, ts: u64| format!("MSG:{seq}:u0@lab1:u1:{id}:{ts}:chaos {id} from u0");
        let mut frames = vec![
            frame(1, u0, 1, send, "MSG:u1@lab2:m1:chaos m1 from u0"),
            frame(2, u0, 1, ok, "OK:m1:100"),
            frame(3, u0, 1, send, "MSG:u1@lab2:m2:chaos m2 from u0"),
            frame(4, u0, 1, ok, "OK:m2:101"),
        ];
        let got: Vec<String> = match plant {
            "duplicate" => vec![m(1, "m1", 100), m(2, "m2", 101), m(3, "m1", 100)],
            "lost" | "bounced" => vec![m(1, "m1", 100)],
            "reorder" => vec![m(1, "m2", 101), m(2, "m1", 100)],
            _ => vec![m(1, "m1", 100), m(2, "m2", 101)],
        };
        for (k, text) in got.iter().enumerate() {
            frames.push(frame(10 + k as u64, u1, 2, recv, text));
        }
        frames.push(frame(20, u1, 2, (Port::Receive, Way::Out), &format!("ACK:{}", got.len())));
        match plant {
            "bounce after delivery" => {
                frames.push(frame(30, u0, 3, recv, "STATUS:1:u1@lab2:m1:FAILED:130:lab2 unreachable for 8 s"))
            }
            "bounced" => {
                frames.push(frame(30, u0, 3, recv, "STATUS:1:u1@lab2:m2:FAILED:130:lab2 refused it"))
            }
            _ => {}
        }
        let history =
            ["u0:u1@lab2:m1:100:DELIVERED:chaos m1 from u0", "u0:u1@lab2:m2:101:DELIVERED:chaos m2 from u0"];
        across(frames, history.map(String::from).to_vec())
    }

    /// The plants every run across servers is judged on, each by the one
    /// guarantee it breaks (`run` draws a run with `plant` in it).
    fn custody_held(run: fn(&str) -> Recording) {
        assert_eq!(violated(&run("")), Vec::<&str>::new());
        assert_eq!(violated(&run("bounced")), Vec::<&str>::new(), "a bounce instead of the delivery");
        assert_eq!(violated(&run("duplicate")), ["duplicated"]);
        assert_eq!(violated(&run("lost")), ["lost"]);
        assert_eq!(violated(&run("reorder")), ["reordered"]);
        assert_eq!(violated(&run("bounce after delivery")), ["bounced"]);
    }

    #[test]
    fn across_servers_each_message_is_delivered_once_or_bounced_in_order() {
        custody_held(federation);
    }

    /// A room across servers: `#r0` is homed on lab2, its members u0 and
    /// u2 on lab1 and u1 on lab2. u0 writes m1 and m2 to `#r0@lab2`, both
    /// `OK`'d; the home names the room `#r0` and u0 by its address, lab1
    /// names it `#r0@lab2` and u0 by its name. `plant` names what goes
    /// wrong, as in [`federation`].
    fn room_across(plant: &str) -> Recording {
        let (send, ok, recv) = ((Port::Send, Way::Out), (Port::Send, Way::In), (Port::Receive, Way::In));
        let (u0, u1, u2) = ((0, None), (1, None), (2, None));
        let at_home = |seq: u64, id: &str| format!("MSG:{seq}:u0@lab1:#r0:{id}:10{seq}:chaos {id} from u0");
        let at_lab1 = |seq: u64, id: &str| format!("MSG:{seq}:u0:#r0@lab2:{id}:10{seq}:chaos {id} from u0");
        let mut frames = vec![
            frame(1, u0, 1, send, "MSG:#r0@lab2:m1:chaos m1 from u0"),
            frame(2, u0, 1, ok, "OK:m1:100"),
            frame(3, u0, 1, send, "MSG:#r0@lab2:m2:chaos m2 from u0"),
            frame(4, u0, 1, ok, "OK:m2:101"),
        ];
        let (home, lab1) = match plant {
            "duplicate" => (vec![at_home(1, "m1"), at_home(2, "m2"), at_home(3, "m1")], vec![]),
            "lost" => (vec![at_home(1, "m1"), at_home(2, "m2")], vec![at_lab1(1, "m1")]),
            "reorder" => (vec![at_home(1, "m1"), at_home(2, "m2")], vec![at_lab1(1, "m2"), at_lab1(2, "m1")]),
            "bounced" => (vec![at_home(1, "m1")], vec![at_lab1(1, "m1")]),
            "elsewhere" => (vec![at_home(1, "m1"), at_home(2, "m2").replace("#r0", "#r0@lab3")], vec![]),
            _ => (vec![at_home(1, "m1"), at_home(2, "m2")], vec![at_lab1(1, "m1"), at_lab1(2, "m2")]),
        };
        let lab1 = if matches!(plant, "duplicate" | "elsewhere") {
            vec![at_lab1(1, "m1"), at_lab1(2, "m2")]
        } else {
            lab1
        };
        for (k, text) in home.iter().enumerate() {
            frames.push(frame(10 + k as u64, u1, 2, recv, text));
        }
        for (k, text) in lab1.iter().enumerate() {
            frames.push(frame(20 + k as u64, u2, 3, recv, text));
        }
        let bounce = match plant {
            "bounced" => Some("m2"),
            "bounce after delivery" => Some("m1"),
            _ => None,
        };
        let mut shown = vec!["u0:#r0@lab2:m1:100:RECEIVED:chaos m1 from u0".to_string()];
        if let Some(id) = bounce {
            let failed = format!("STATUS:1:#r0@lab2:{id}:FAILED:130:lab2 unreachable for 8 s");
            frames.push(frame(30, u0, 4, recv, &failed));
        }
        if bounce != Some("m2") {
            shown.push("u0:#r0@lab2:m2:101:RECEIVED:chaos m2 from u0".into());
        }
        let listing = crate::chaos::history::HistoryRead {
            user: 0,
            chat: "#r0@lab2".into(),
            lines: shown,
            limit: 1000,
        };
        Recording {
            names: vec!["u0".into(), "u1".into(), "u2".into()],
            homes: vec!["lab1".into(), "lab2".into(), "lab1".into()],
            room_homes: vec!["lab2".into()],
            devices: 1,
            rooms: vec![("#r0".into(), vec![0, 1, 2])],
            frames,
            faults: vec![],
            listings: vec![listing],
            duration_us: 40,
            failovers: 0,
        }
    }

    #[test]
    fn across_servers_each_member_gets_a_room_message_once_or_its_author_a_bounce() {
        custody_held(room_across);
        assert_eq!(violated(&room_across("elsewhere")), ["phantom"], "m2 came as to a room of lab3");
        let run = room_across("");
        let m = Model::build(&run);
        assert_eq!((m.room("#r0"), m.room("#R0@LAB2"), m.room("#r0@lab1")), (Some(0), Some(0), None));
    }

    /// A file across servers: u0 on lab1 uploads 5 bytes and sends them
    /// to u1 on lab2 as m1, `OK`'d; u1 gets the `FILE` event (lab2's own
    /// file id) and `ACK`s it, then fetches the file at the end. `plant`
    /// names what goes wrong: `torn` (lab2 serves other bytes),
    /// `unknown` (lab2 names no file for it), `duplicate` (the event
    /// again, under a new number), `lost` (no event).
    fn file_across(plant: &str) -> Recording {
        let (send, ok, recv) = ((Port::Send, Way::Out), (Port::Send, Way::In), (Port::Receive, Way::In));
        let (u0, u1) = ((0, None), (1, None));
        let bytes = b"hello";
        let sha = crate::chaos::schedule::sha256(bytes);
        let (ours, theirs) = ("0".repeat(31) + "1", "0".repeat(31) + "2");
        let text = "📎 f.bin (5 B) chaos m1 from u0";
        let event = |seq: u64| {
            format!("FILE:{seq}:u0@lab1:u1:m1:100:{theirs}:5:application/octet-stream:f.bin:{text}")
        };
        let mut frames = vec![
            frame(1, u0, 1, send, &format!("UPLOAD:f.bin:5:{sha}")),
            frame(2, u0, 1, ok, &format!("OK:{ours}")),
            frame(3, u0, 1, send, &format!("PART:{ours}:0:aGVsbG8=")),
            frame(4, u0, 1, ok, "OK:5"),
            frame(5, u0, 1, send, &format!("FILE:u1@lab2:m1:{ours}:chaos m1 from u0")),
            frame(6, u0, 1, ok, "OK:m1:100"),
        ];
        let got = match plant {
            "lost" => vec![],
            "duplicate" => vec![event(1), event(2)],
            _ => vec![event(1)],
        };
        for (k, text) in got.iter().enumerate() {
            frames.push(frame(10 + k as u64, u1, 2, recv, text));
        }
        frames.push(frame(20, u1, 2, (Port::Receive, Way::Out), &format!("ACK:{}", got.len())));
        let answer = match plant {
            "unknown" => "KO:UNKNOWN_FILE:no such file".to_string(),
            _ => format!("OK:{theirs}:5:application/octet-stream:f.bin"),
        };
        let served = if plant == "torn" { "OK:aGVsbA==" } else { "OK:aGVsbG8=" };
        frames.extend([
            frame(30, u1, 3, send, "FILEOF:u0@lab1:u0@lab1:m1"),
            frame(31, u1, 3, ok, &answer),
            frame(32, u1, 3, send, &format!("FETCH:{theirs}:0")),
            frame(33, u1, 3, ok, served),
            frame(34, u1, 3, send, &format!("FETCH:{theirs}:5")),
            frame(35, u1, 3, ok, "OK:"),
        ]);
        across(frames, vec![format!("u0:u1@lab2:m1:100:DELIVERED:{text}")])
    }

    /// A run across two servers, u0 of lab1 writing to u1 of lab2 with
    /// `frames`, and u0's `HISTORY` of that chat read at its end.
    fn across(frames: Vec<Observed>, history: Vec<String>) -> Recording {
        let listing = crate::chaos::history::HistoryRead {
            user: 0,
            chat: "u1@lab2".into(),
            lines: history,
            limit: 1000,
        };
        Recording {
            names: vec!["u0".into(), "u1".into()],
            homes: vec!["lab1".into(), "lab2".into()],
            room_homes: vec![],
            devices: 1,
            rooms: vec![],
            frames,
            faults: vec![],
            listings: vec![listing],
            duration_us: 40,
            failovers: 0,
        }
    }

    #[test]
    fn a_file_across_servers_arrives_once_with_its_senders_bytes() {
        assert_eq!(violated(&file_across("")), Vec::<&str>::new());
        assert_eq!(violated(&file_across("torn")), ["files"]);
        assert_eq!(violated(&file_across("unknown")), ["files"]);
        assert_eq!(violated(&file_across("duplicate")), ["duplicated"]);
        assert_eq!(violated(&file_across("lost")), ["lost"]);
        let run = file_across("");
        let m = Model::build(&run);
        assert_eq!(m.accepted()[0].text, "📎 f.bin (5 B) chaos m1 from u0", "the text its recipients read");
    }

    #[test]
    fn addresses_name_users_where_they_live() {
        let run = federation("");
        let m = Model::build(&run);
        assert_eq!((m.user("u1@lab2"), m.user("U1@LAB2"), m.user("u1")), (Some(1), Some(1), Some(1)));
        assert_eq!(m.user("u1@lab1"), None, "u1 lives on lab2");
        assert_eq!(m.bounces.len(), 0);
        let bounced = Model::build(&federation("bounced")).bounces;
        assert_eq!((bounced[0].seq, bounced[0].peer.as_str(), bounced[0].id.as_str()), (1, "u1@lab2", "m2"));
    }
}
