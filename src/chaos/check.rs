//! The guarantees of docs/MODEL.md, one function each, over the [`Model`]
//! of a run. Each returns its violations, every one with the frames that
//! show it; none looks at anything the protocol leaves open (a `MSG` that
//! got no `OK`, an event that was not `ACK`ed yet).

use std::collections::HashMap;

use super::history::Device;
use super::model::{Model, Sent};
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
type Got<'a> = Vec<(u64, usize, &'a Sent)>;

/// A device of a user (`None`: its one device).
type Dev = (usize, Device);

/// Per (device, peer, id, state): the seqs and frames of that `STATUS`.
type Statuses = HashMap<(Dev, String, String, MsgState), Vec<(u64, usize)>>;

/// Per device, (sender, id) → the receipts' (seq, frame), in order.
type Receipts = HashMap<(Dev, usize, String), Vec<(u64, usize)>>;

/// The guarantees, by the names docs/MODEL.md gives them.
pub const GUARANTEES: [(&str, &str, Check); 6] = [
    ("lost", "every OK'd MSG reaches each recipient", lost),
    ("duplicated", "a (from, id) under one seq only; a resend gets the original OK, stored once", duplicated),
    (
        "reordered",
        "seqs increase per connection; per sender and chat in OK order; one order per room",
        reordered,
    ),
    ("phantom", "nothing delivered that was never sent", phantom),
    ("status", "DELIVERED after the ACK, READ after the READ, each once; on every device", status),
    ("history", "HISTORY shows every OK'd message once", history),
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

fn ok_frame(m: &Model, s: &Sent) -> usize {
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
    let mut out = Vec::new();
    for s in m.accepted() {
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
    let mut last: HashMap<u64, (u64, usize)> = HashMap::new();
    let mut out = Vec::new();
    for q in &m.queued {
        if let Some(prev) = last.insert(q.conn, (q.seq, q.frame))
            && q.seq <= prev.0
        {
            let what = format!(
                "{}'s connection {}: seq {} after seq {}",
                m.who((q.user, q.device)),
                q.conn,
                q.seq,
                prev.0
            );
            out.push(example(m, vec![prev.1, q.frame], what));
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
    let mut chats: HashMap<(usize, String), Vec<&Sent>> = HashMap::new();
    for s in m.accepted() {
        chats.entry((s.user, s.chat.to_lowercase())).or_default().push(s);
    }
    let mut out = Vec::new();
    for sent in chats.values() {
        for r in m.recipients(sent[0]) {
            let mut prev: Option<(&Sent, (u64, usize))> = None;
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
    for (room, members) in &m.run.rooms {
        // Each member device's order of the room's messages: (sender, id) by seq.
        let devices = members.iter().flat_map(|&u| m.devices_of().into_iter().map(move |d| (u, d)));
        let orders: Vec<(Dev, Got)> = devices
            .map(|r| {
                let mut got: Vec<_> = m
                    .accepted()
                    .into_iter()
                    .filter(|s| s.chat.eq_ignore_ascii_case(room))
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
    a: (Dev, &[(u64, usize, &Sent)]),
    b: (Dev, &[(u64, usize, &Sent)]),
) -> Option<Example> {
    let place: HashMap<(usize, &str), (usize, usize)> =
        b.1.iter().enumerate().map(|(i, g)| ((g.2.user, g.2.id.as_str()), (i, g.1))).collect();
    let mut best: Option<(usize, usize, &Sent)> = None; // b's place of the latest so far in a's order
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
        let Event::Msg { from, to, id, text, .. } = &q.event else { continue };
        let Some(sender) = m.user(from) else { continue }; // someone else's user: not ours to judge
        let why = match m.sent.get(&(sender, id.clone())) {
            None => format!("{from} never sent {id}"),
            Some(s) if s.text != text.unescaped() => format!("{from}'s {id} came with another text"),
            Some(s) if !s.chat.eq_ignore_ascii_case(to) => {
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
        let Some(s) = m.sent.get(&(q.user, id.to_string())).filter(|s| s.chat.eq_ignore_ascii_case(peer))
        else {
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
    let mut got: HashMap<(usize, u64), Vec<&super::model::Queued>> = HashMap::new();
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
    s: &Sent,
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
fn read_early(m: &Model, peer: usize, s: &Sent, frame: usize) -> Option<(String, Vec<usize>)> {
    let covered = m.reads.iter().any(|r| {
        r.user == peer
            && r.frame < frame
            && r.peer.eq_ignore_ascii_case(&m.run.names[s.user])
            && m.sent.get(&(s.user, r.id.clone())).is_some_and(|read| read.index >= s.index)
    });
    (!covered).then(|| (format!("{} had sent no READ covering it", m.run.names[peer]), vec![]))
}

fn history(m: &Model) -> Vec<Example> {
    let mut out = Vec::new();
    for s in m.accepted() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::history::{Dir, Frame, Run};
    use crate::chaos::schedule::Port;

    /// A frame of `user`'s device `device` on connection `conn`.
    fn frame(
        at: u64,
        (user, device): (usize, Device),
        conn: u64,
        (port, dir): (Port, Dir),
        text: &str,
    ) -> Frame {
        Frame { at_us: at, user, device, conn, port, dir, text: text.into() }
    }

    /// Two users of two devices: u0 (its d0) writes m1 to u1; both of
    /// u1's devices get it; u1@d0 ACKs it and u0@d0 gets DELIVERED. What
    /// `drop` names is left out of the run.
    fn run(drop: &str) -> Run {
        let (send, recv) = ((Port::Send, Dir::Out), (Port::Recv, Dir::In));
        let ok = (Port::Send, Dir::In);
        let msg = "MSG:1:u0:u1:m1:100:chaos m1 from u0";
        let frames = vec![
            frame(1, (0, Some(0)), 1, send, "MSG:u1:m1:chaos m1 from u0"),
            frame(2, (0, Some(0)), 1, ok, "OK:m1:100"),
            frame(3, (1, Some(0)), 2, recv, msg),
            frame(4, (1, Some(1)), 3, recv, msg),
            frame(5, (0, Some(0)), 4, recv, msg),
            frame(6, (0, Some(1)), 5, recv, if drop == "copy" { "PING" } else { msg }),
            frame(7, (1, Some(0)), 2, (Port::Recv, Dir::Out), "ACK:1"),
            frame(8, (0, Some(0)), 4, recv, "STATUS:2:u1:m1:DELIVERED:110"),
            frame(
                9,
                (0, Some(1)),
                5,
                recv,
                if drop == "status" { "PING" } else { "STATUS:2:u1:m1:DELIVERED:110" },
            ),
        ];
        let listing = crate::chaos::history::Listing {
            user: 0,
            chat: "u1".into(),
            lines: vec!["u0:u1:m1:100:DELIVERED:chaos m1 from u0".into()],
            limit: 1000,
        };
        Run {
            names: vec!["u0".into(), "u1".into()],
            devices: 2,
            rooms: vec![],
            frames,
            faults: vec![],
            listings: vec![listing],
            duration_us: 10,
            failovers: 0,
        }
    }

    fn violated(run: &Run) -> Vec<&'static str> {
        all(&Model::build(run)).into_iter().filter(|v| !v.violations.is_empty()).map(|v| v.name).collect()
    }

    #[test]
    fn every_device_gets_its_copy_and_every_status() {
        assert_eq!(violated(&run("")), Vec::<&str>::new());
        assert_eq!(violated(&run("copy")), ["lost"], "the sender's other device missed its copy");
        assert_eq!(violated(&run("status")), ["status"], "a device missed a STATUS its twin got");
    }
}
