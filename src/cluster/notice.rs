//! What nodes tell each other over NATS: one notice per line of text, so
//! a payload reads like the wire protocol (`nats sub 'wachat.>'` shows it).
//!
//! | line | meaning |
//! |---|---|
//! | `E <user> <frame>` | a numbered event (`MSG:…`/`STATUS:…`/`READMARK:…`, as on the receive port) for a user on the node it is sent to |
//! | `C <user> <frame>` | a copy of the user's own message (`MSG:…`, protocol 1.2), for its devices on the node it is sent to: apart from `E`, so that a 1.0/1.1 connection there is not sent it |
//! | `ON <user> <epoch> <node> <name> <device>` | `user`'s `device` logged in on `node` (session `epoch`); a lower epoch of the same device elsewhere says `BYE:REPLACED` |
//! | `OFF <user> <epoch> <node> <device>` | session `epoch` of `user`'s `device` on `node` ended (the user is offline once no device is online) |
//! | `PEER <user> <from>` | a request: introduce `from` to `user` (`PEER:<user>`) |
//! | `UNLINK <user> <device> <node> <why>` | `user`'s `device` (`*`: every session of `user`) was logged out on `node` (protocol 1.2), `why` being `UNLINKED` (an `UNLINK`, a `PASSWD`) or `DELETED` (a `DELACCOUNT`; `router::LoggedOut`): another node where it is online logs it out, telling it as `node` told its own (`node` did already, all but the asking connection, which closes after its `OK`); a line without `<why>`, from a node of an older build, is an unlinking |
//! | `CALL <user> <peer> <device> <call id> <step>` | a request (protocol 1.2, §24): `user`'s `device` sends `ANSWER`/`ICE`/`DECLINE`/`HANGUP` about a call with `peer` that the asked node may keep; the answer is `NONE` (not kept there), `OK ANSWERED`, `OK ICE`, `OK ENDED <voice\|video> <caller> <0: not answered, or 1 <ms it went on>>` or the refusal, `KO:<CODE>:<reason>` |
//! | `KEPT <user> <peer> <call id> <node> <user name> <peer name>` | (protocol 1.2, §24) `peer` just offered the call `id` to `user`, and `node` keeps it: every node remembers it until its end (`kept::Elsewhere`), the two names being what an answer or an end names it by (`calls::is_about`): the signals about it go to that node alone, and new calls are judged against it. A node of an older build sent `KEEP <user> <peer> <call id> <node>`, without the names, and read the last field as the rest of the line: each build skips the other's line (logged), so a call offered on the other is as one whose notice was lost (its signals ask a round of nodes) |
//! | `R <user> <frame>` | an unstored event (`TYPING:…`, as on the receive port) for a user on the node it is sent to (`server::relay`) |
//!
//! Everything here came from another node of the same cluster, but is
//! still parsed with care: a line that does not parse is logged and
//! skipped.

use crate::protocol::call::{End, Media};
use crate::protocol::{Ko, Reply};
use crate::router::LoggedOut;
use crate::server::calls::{Ended, Outcome, Party};
use crate::store::UserId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    Event { user: UserId, frame: String },
    Copy { user: UserId, frame: String },
    Online { user: UserId, epoch: u64, node: String, name: String, device: String },
    Offline { user: UserId, epoch: u64, node: String, device: String },
    Peer { user: UserId, from: String },
    Call { user: UserId, peer: UserId, device: String, id: String, step: String },
    Keep { user: UserId, peer: UserId, id: String, node: String, names: (String, String) },
    Relay { user: UserId, node: String, frame: String },
    Unlinked { user: UserId, device: String, node: String, why: LoggedOut },
}

impl Notice {
    /// The line, `\n` included.
    pub fn encode(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Notice::Event { user, frame } => writeln!(out, "E {user} {frame}"),
            Notice::Copy { user, frame } => writeln!(out, "C {user} {frame}"),
            Notice::Online { user, epoch, node, name, device } => {
                writeln!(out, "ON {user} {epoch} {node} {name} {device}")
            }
            Notice::Offline { user, epoch, node, device } => {
                writeln!(out, "OFF {user} {epoch} {node} {device}")
            }
            Notice::Peer { user, from } => writeln!(out, "PEER {user} {from}"),
            Notice::Call { user, peer, device, id, step } => {
                writeln!(out, "CALL {user} {peer} {device} {id} {step}")
            }
            // A call `peer` offered to `user`, kept by `node`; with the two
            // names, which an answer or an end names it by (`calls::is_about`).
            Notice::Keep { user, peer, id, node, names: (user_name, peer_name) } => {
                writeln!(out, "KEPT {user} {peer} {id} {node} {user_name} {peer_name}")
            }
            Notice::Relay { user, node, frame } => writeln!(out, "R {user} {node} {frame}"),
            Notice::Unlinked { user, device, node, why } => {
                writeln!(out, "UNLINK {user} {device} {node} {}", why.as_str())
            }
        };
    }

    pub fn parse(line: &str) -> Result<Notice, String> {
        let bad = || format!("not a notice: {line:?}");
        let (word, rest) = line.split_once(' ').ok_or_else(bad)?;
        let (user, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let user: UserId = user.parse().map_err(|_| bad())?;
        let mut fields = rest.splitn(4, ' ');
        let mut next = || fields.next().filter(|f| !f.is_empty()).ok_or_else(bad);
        Ok(match word {
            "E" => Notice::Event { user, frame: rest.to_string() },
            "C" => Notice::Copy { user, frame: rest.to_string() },
            "ON" => {
                let epoch = next()?.parse().map_err(|_| bad())?;
                let (node, name) = (next()?.into(), next()?.into());
                Notice::Online { user, epoch, node, name, device: next()?.into() }
            }
            "OFF" => {
                let epoch = next()?.parse().map_err(|_| bad())?;
                Notice::Offline { user, epoch, node: next()?.into(), device: next()?.into() }
            }
            "PEER" => Notice::Peer { user, from: next()?.into() },
            "CALL" => {
                let peer = next()?.parse().map_err(|_| bad())?;
                let (device, id) = (next()?.into(), next()?.into());
                Notice::Call { user, peer, device, id, step: next()?.into() }
            }
            "KEPT" => {
                let peer = next()?.parse().map_err(|_| bad())?;
                let (id, node) = (next()?.into(), next()?.into());
                // The fourth field is the rest: the two names.
                let (user_name, peer_name) = next()?.split_once(' ').ok_or_else(bad)?;
                Notice::Keep { user, peer, id, node, names: (user_name.into(), peer_name.into()) }
            }
            "R" => {
                let (node, frame) =
                    rest.split_once(' ').filter(|(node, _)| !node.is_empty()).ok_or_else(bad)?;
                Notice::Relay { user, node: node.into(), frame: frame.into() }
            }
            "UNLINK" => {
                let (device, node) = (next()?.into(), next()?.into());
                let why = match fields.next() {
                    None => LoggedOut::Unlinked,
                    Some(word) => LoggedOut::parse(word).ok_or_else(bad)?,
                };
                Notice::Unlinked { user, device, node, why }
            }
            _ => return Err(bad()),
        })
    }
}

/// The answer to a `CALL` notice: what `Calls::step` said on the node
/// that keeps the call, or `NONE` (`None`: no such call kept there).
pub fn call_answer(kept: Option<Result<Outcome, Ko>>) -> String {
    match kept {
        None => "NONE".to_string(),
        Some(Err(ko)) => ko.to_string(),
        Some(Ok(Outcome::Answered)) => "OK ANSWERED".to_string(),
        Some(Ok(Outcome::Ice)) => "OK ICE".to_string(),
        Some(Ok(Outcome::Ended(call, why))) => {
            let media = call.media.as_str();
            let answered = match call.answered {
                Some(talked) => format!("1 {}", talked.as_millis()),
                None => "0".to_string(),
            };
            format!("OK ENDED {} {media} {} {answered}", why.as_str(), call.caller.id)
        }
    }
}

/// Reads [`call_answer`]'s line on the asking node, where `me` sent the
/// step about the call `id` with `peer`: `Ok(None)` for `NONE`.
pub fn call_outcome(
    answer: &str,
    me: &Party,
    peer: &Party,
    id: &str,
) -> Result<Option<Result<Outcome, Ko>>, String> {
    let bad = || format!("not an answer to CALL: {:?}", crate::protocol::truncate(answer, 80));
    if answer == "NONE" {
        return Ok(None);
    }
    if answer.starts_with("KO:") {
        return match Reply::parse(answer) {
            Ok(Reply::Ko(ko)) => Ok(Some(Err(ko))),
            _ => Err(bad()),
        };
    }
    let fields: Vec<&str> = answer.split(' ').collect();
    Ok(Some(Ok(match fields[..] {
        ["OK", "ANSWERED"] => Outcome::Answered,
        ["OK", "ICE"] => Outcome::Ice,
        ["OK", "ENDED", why, media, caller, "0" | "1", ..] if fields.len() <= 7 => {
            // `1 <ms>`: answered, and how long it went on (`1` alone: a
            // node of an older build, which did not say).
            let talked_ms = fields.get(6).map_or(Ok(0), |ms| ms.parse::<u64>()).map_err(|_| bad())?;
            let answered = (fields[5] == "1").then_some(std::time::Duration::from_millis(talked_ms));
            let why = End::parse(why).map_err(|_| bad())?;
            let media = Media::parse(media).map_err(|_| bad())?;
            let caller: UserId = caller.parse().map_err(|_| bad())?;
            let (caller, callee) = if caller == me.id { (me, peer) } else { (peer, me) };
            let (caller, callee) = (caller.clone(), callee.clone());
            Outcome::Ended(Ended { id: id.to_string(), caller, callee, media, answered }, why)
        }
        _ => return Err(bad()),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_reads_back_as_written() {
        let notices = [
            Notice::Event { user: 7, frame: "MSG:3:ana:bob:m1:17:hola: que tal".into() },
            Notice::Copy { user: 7, frame: "MSG:4:bob:ana:m2:18:hi".into() },
            Notice::Online {
                user: 7,
                epoch: 4,
                node: "host-6666".into(),
                name: "Bob".into(),
                device: "phone".into(),
            },
            Notice::Offline { user: 7, epoch: 4, node: "host-6666".into(), device: "phone".into() },
            Notice::Peer { user: 7, from: "ana".into() },
            Notice::Call { user: 7, peer: 3, device: "phone".into(), id: "c1".into(), step: "HANGUP".into() },
            Notice::Keep {
                user: 7,
                peer: 3,
                id: "c1".into(),
                node: "host-6666".into(),
                names: ("bob".into(), "ana".into()),
            },
            Notice::Relay { user: 7, node: "host-6666".into(), frame: "TYPING:ana:#tea".into() },
            Notice::Relay { user: 7, node: "b".into(), frame: "ARCHIVE:my chat:archived".into() },
            Notice::Unlinked {
                user: 7,
                device: "laptop".into(),
                node: "host-6666".into(),
                why: LoggedOut::Unlinked,
            },
            Notice::Unlinked {
                user: 7,
                device: "default".into(),
                node: "b".into(),
                why: LoggedOut::AccountDeleted,
            },
        ];
        for notice in notices {
            let mut line = String::new();
            notice.encode(&mut line);
            assert_eq!(Notice::parse(line.trim_end()).unwrap(), notice, "{line}");
        }
        assert!(Notice::parse("ON x 1 n a").is_err());
        assert!(Notice::parse("ON 1 1 n").is_err());
        assert!(Notice::parse("ON 1 1 n ana").is_err(), "no device");
        assert!(Notice::parse("OFF 1 1 n").is_err(), "no device");
        assert!(Notice::parse("HELLO 1").is_err());
        assert!(Notice::parse("UNLINK 1").is_err(), "no device");
        // A node of an older build says no reason: an unlinking.
        let older =
            Notice::Unlinked { user: 1, device: "phone".into(), node: "a".into(), why: LoggedOut::Unlinked };
        assert_eq!(Notice::parse("UNLINK 1 phone a"), Ok(older));
        assert!(Notice::parse("UNLINK 1 phone a GONE").is_err(), "an unknown reason");
        assert!(Notice::parse("R 7 TYPING:ana:#tea").is_err(), "no node");
        assert!(Notice::parse("CALL 7 3 phone c1").is_err(), "no step");
        // An older build's KEEP has no names: skipped, as a lost one (an
        // older build skips KEPT, whose names it would read as its node).
        assert!(Notice::parse("KEEP 7 3 c1 host-6666").is_err());
        assert!(Notice::parse("KEPT 7 3 c1 host-6666 bob").is_err(), "one name");
    }

    /// The keeping node's `Ended` reads back on the asking node as the
    /// same call (seen from either end), to be told as one ended here.
    #[test]
    fn an_ended_call_reads_back_as_the_keeping_node_ended_it() {
        let (ana, bob) = (Party { id: 1, name: "ana".into() }, Party { id: 2, name: "bob".into() });
        for answered in [None, Some(std::time::Duration::from_millis(252_031))] {
            let ended = Ended {
                id: "c1".into(),
                caller: ana.clone(),
                callee: bob.clone(),
                media: Media::Video,
                answered,
            };
            let line = call_answer(Some(Ok(Outcome::Ended(ended.clone(), End::Hangup))));
            for (me, peer) in [(&ana, &bob), (&bob, &ana)] {
                let read = call_outcome(&line, me, peer, "c1").unwrap();
                let Some(Ok(Outcome::Ended(back, End::Hangup))) = read else { panic!("{line}: {read:?}") };
                assert_eq!(back, ended, "{line}");
            }
        }
        assert!(matches!(call_outcome(&call_answer(None), &ana, &bob, "c1"), Ok(None)));
        // An older build says answered without how long.
        let read = call_outcome("OK ENDED hangup voice 1 1", &ana, &bob, "c1");
        let Ok(Some(Ok(Outcome::Ended(back, _)))) = read else { panic!("{read:?}") };
        assert_eq!(back.answered, Some(std::time::Duration::ZERO));
    }
}
