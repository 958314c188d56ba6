//! The dispatcher thread of a node: what the bus brings it from the
//! other nodes (`notice.rs` has the notices' grammar). Numbered events for
//! users here go to the feeder (`feeder.rs`), which puts them in order and
//! refills any gap; session notices keep the directory (`node.rs`) and
//! replace a device that logged in elsewhere; unnumbered events (`TYPING`,
//! `JOINED`, …) go straight to the outlets; a `PEER` is answered.

use std::sync::Arc;

use crossbeam_channel::Receiver;

use super::bus::Incoming;
use super::node::Node;
use super::notice::{Notice, call_answer};
use crate::protocol::names::fold;
use crate::protocol::{Bye, Code, Event, Ko};
use crate::server::Nodes;
use crate::server::calls::{Party, Step};
use crate::store::{Pushed, UserId};

impl Node {
    /// Reads the bus until it stops.
    pub(super) fn dispatch(&self, incoming: &Receiver<Incoming>) {
        while let Ok(message) = incoming.recv() {
            let text = String::from_utf8_lossy(&message.payload);
            let mut events: Vec<(UserId, u64, Pushed)> = Vec::new();
            for line in text.lines() {
                match Notice::parse(line) {
                    Ok(Notice::Event { user, frame }) => match Pushed::parse(&frame) {
                        Some((seq, event)) => events.push((user, seq, event)),
                        None => log::warn!("cluster: {}: not an event: {frame:?}", message.subject),
                    },
                    Ok(Notice::Copy { user, frame }) => match Pushed::parse(&frame) {
                        Some((seq, Pushed::Msg(m))) => events.push((user, seq, Pushed::Copy(m))),
                        _ => log::warn!("cluster: {}: not a copy: {frame:?}", message.subject),
                    },
                    Ok(Notice::Peer { user, from }) => {
                        self.answer_peer(user, &from, message.reply.as_deref())
                    }
                    Ok(Notice::Call { user, peer, device, id, step }) => {
                        self.answer_call((user, peer), &device, &id, &step, message.reply.as_deref())
                    }
                    Ok(Notice::Keep { user, peer, id, node, names: (user_name, peer_name) }) => {
                        // 1.2 (§24): a call offered there (`kept.rs`), to a user
                        // here or not: every node judges new calls against it,
                        // and sends the signals about it to that node alone.
                        if node != self.name {
                            let caller = Party { id: peer, name: peer_name };
                            let callee = Party { id: user, name: user_name };
                            self.elsewhere.offered(caller, callee, &id, node.into());
                        }
                    }
                    // Relayed events go to every node (`Nodes::relay`): our own
                    // were handed to this node's outlets already.
                    Ok(Notice::Relay { node, .. }) if node == self.name => {}
                    Ok(Notice::Relay { user, frame, .. }) => match Event::parse(&frame) {
                        Ok(event) if event.seq().is_none() => {
                            // 1.2 (§24): an answer or an end served by another node.
                            crate::server::calls::heard(&self.router.calls, user, &event);
                            self.elsewhere.heard(user, &event);
                            let _ = self.router.send_to(user, &event);
                        }
                        _ => log::warn!("cluster: {}: not an unnumbered event: {frame:?}", message.subject),
                    },
                    Ok(notice) => self.heard(notice),
                    Err(e) => log::warn!("cluster: {}: {e}", message.subject),
                }
            }
            let mut i = 0;
            while i < events.len() {
                let user = events[i].0;
                let end = events[i..].iter().position(|e| e.0 != user).map_or(events.len(), |n| i + n);
                let batch: Vec<(u64, &Pushed)> = events[i..end].iter().map(|(_, s, e)| (*s, e)).collect();
                self.feeder.feed(user, &batch);
                i = end;
            }
        }
    }

    /// A session notice from another node (or our own, ignored).
    fn heard(&self, notice: Notice) {
        match notice {
            Notice::Online { user, epoch, node, name, device } if node != self.name => {
                let device: Arc<str> = fold(&device).into();
                self.replace_local(user, &device, epoch);
                let name: Arc<str> = name.into();
                let new = self.directory.write().on(user, &name, device, (node.into(), epoch));
                if new && !self.router.is_online(user) {
                    self.presence.tell(user, &name, true);
                }
            }
            Notice::Offline { user, epoch, node, device } if node != self.name => {
                let device = fold(&device);
                let gone = self.directory.write().off(user, &device, &node, epoch);
                log::debug!(
                    "cluster: user #{user}'s {device} left node {node} (last there: {})",
                    gone.is_some()
                );
                if let Some(remote) = gone
                    && !self.staying_here(user)
                {
                    self.presence.tell(user, &remote.name, false);
                }
                // 1.2 (§24): the calls kept here that the device was an end
                // of end, `gone`, as on a single server, unless the device
                // is online again, here or elsewhere. (Before, a caller
                // whose receive connection was on another node than its
                // offer's kept ringing; differential seed 1 at 200 steps.)
                let online_here = self
                    .router
                    .outlets(user)
                    .iter()
                    .any(|o| !o.is_closing() && o.device.eq_ignore_ascii_case(&device));
                let elsewhere =
                    self.directory.read().get(&user).is_some_and(|r| r.devices.contains_key(device.as_str()));
                if !online_here && !elsewhere {
                    self.router.calls.left_elsewhere(user, &device);
                }
            }
            // The node that unlinked it closed its own connections, all
            // but the asking one, which closes after its `OK`: closing that
            // one here too lost the `OK` of a `DELACCOUNT` (issue 54).
            Notice::Unlinked { user, device, node, why } if node != self.name => {
                // Its send connections too (issue 38); every session of
                // the user for `EVERY_DEVICE` (a deleted account, a reset).
                let every = device == crate::router::EVERY_DEVICE;
                if every {
                    self.router.sends.close(user, None);
                } else {
                    self.router.sends.close_device(user, &device, None);
                }
                for outlet in self.router.outlets(user) {
                    if every || outlet.device.eq_ignore_ascii_case(&device) {
                        outlet.log_out(why);
                    }
                }
            }
            _ => {}
        }
    }

    /// A session of `user`'s `device` (folded) here with a lower epoch
    /// than `epoch` is replaced: that device only is told `BYE:REPLACED`.
    pub(super) fn replace_local(&self, user: UserId, device: &Arc<str>, epoch: u64) {
        let key = (user, device.clone());
        let replaced = {
            let mut local = self.local.lock();
            match local.get(&key) {
                Some((mine, _)) if *mine < epoch => local.remove(&key).and_then(|(_, o)| o.upgrade()),
                _ => None,
            }
        };
        if let Some(outlet) = replaced {
            log::debug!("cluster: {}@{} logged in on another node: BYE:REPLACED here", outlet.name, device);
            outlet.close(Bye::Replaced);
        }
    }

    /// Answers another node's `PEER` for a user whose session is here:
    /// the introduction, or why not, without the user's name, which the
    /// asking node puts in front (`server::p2p::offline`, as a single
    /// server words it; it once said the name twice).
    fn answer_peer(&self, user: UserId, from: &str, reply: Option<&str>) {
        let Some(reply) = reply else { return };
        let answer = match self.router.get(user) {
            Some(outlet) => {
                let port = self.p2p_port(user);
                crate::server::p2p::introduce_to(&outlet, from, &outlet.name, port).map_err(|ko| {
                    let why = ko.reason.strip_prefix(&*outlet.name).unwrap_or(&ko.reason);
                    why.trim_start().to_string()
                })
            }
            None => Err("is not connected".to_string()),
        };
        let text = match answer {
            Ok(intro) => format!("OK {intro}"),
            Err(why) => format!("KO {why}"),
        };
        self.bus.publish(reply.to_string(), text.into_bytes());
    }

    /// Answers another node's `CALL` (1.2, §24): if this node keeps the
    /// call `id` between `user` and `peer`, the one rule decides
    /// (`Calls::step`, as on a single server), and the asking node tells
    /// the outcome; `NONE` if it keeps no such call.
    fn answer_call(
        &self,
        (user, peer): (UserId, UserId),
        device: &str,
        id: &str,
        step: &str,
        reply: Option<&str>,
    ) {
        let Some(reply) = reply else { return };
        crate::metrics::get().call_asks.inc();
        let calls = &self.router.calls;
        let kept = match Step::parse(step) {
            Some(step) => calls.step_if_kept(user, device, peer, id, step),
            // The cluster's own: a node's message on the bus that no node
            // sends (the asking node parsed the client's request already).
            None => Some(Err(Ko::new(Code::BadRequest, format!("not a step of a call: {step:?}")))),
        };
        self.bus.publish(reply.to_string(), call_answer(kept).into_bytes());
    }
}
