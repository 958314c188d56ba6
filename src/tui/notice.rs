//! How the full screen follows what the client tells ([`Notice`]): a
//! message joins the open chat and the list, a tick changes in place,
//! presence and member changes become notes in their chat, the status
//! line follows the connection, and the rest is a line in the panel (F2).
//!
//! Each kind of notice has its named step below; [`App::notice`] first
//! lets the chat list follow (and rings the bell for a chat that rose),
//! then calls the step. Like the rest of `app.rs`, this is pure data: what
//! needs the client or the worker comes back as [`Effect`]s.

use super::app::{App, ConnectionStatus, Effect};
use super::conversation::Note;
use super::worker::Work;
use crate::client::{Message, Notice, Presence};
use crate::console::view;
use crate::protocol::Chat;
use crate::protocol::names::fold;

impl App {
    /// What the client tells, as it happens.
    pub fn notice(&mut self, notice: &Notice) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.list_follows(notice) {
            effects.push(Effect::Bell);
        }
        let now = self.now;
        match notice {
            Notice::Moderation { room, by, change } => effects.extend(self.moderated(room, by, change)),
            Notice::Typing { from, chat } => {
                self.typing.insert(fold(&chat.to_string()), (from.clone(), now));
            }
            Notice::Message(m) | Notice::Sent(m) => {
                let incoming = matches!(notice, Notice::Message(_));
                effects.extend(self.message(m, incoming));
            }
            Notice::State { to, id, state } => {
                if let Some(view) = self.view.as_mut().filter(|v| v.is(to)) {
                    view.set_state(&self.me, id, *state);
                }
            }
            Notice::Refused { to, id, reason, .. } => {
                if let Some(view) = self.view.as_mut().filter(|v| v.is(to)) {
                    view.refuse(&self.me, id, reason);
                }
                let line = self.log_notice(notice);
                self.line = Some((line.trim().to_string(), true));
            }
            Notice::Joined(user) | Notice::Left(user) => self.presence(notice, user),
            Notice::Member { room, .. } => {
                if let Ok(chat) = Chat::parse(room) {
                    self.note(&chat, notice);
                }
            }
            Notice::P2pOpened { peer, .. } | Notice::P2pClosed { peer, .. } => {
                match notice {
                    Notice::P2pOpened { .. } => self.direct.insert(fold(peer)),
                    _ => self.direct.remove(&fold(peer)),
                };
                self.note(&Chat::User(peer.clone()), notice);
            }
            Notice::Offline(_) | Notice::Online | Notice::ServerChanged(_) => {
                effects.extend(self.link_changed(notice));
            }
            // The loop ends the console before it gets here.
            // The chat list's badge went (`LiveChats::apply`).
            Notice::Replaced | Notice::Unlinked | Notice::Ended(_) | Notice::ReadElsewhere { .. } => {}
            // 1.2: the list follows (`LiveChats::apply`); the panel says it.
            // 1.2 (§25): another device's star is said; this one's changed nothing (`Done::Starring`).
            Notice::Starred { chat, from, id, starred } => {
                let key = crate::protocol::prefs::star_key(chat, from, id);
                let changed = if *starred { self.stars.insert(key) } else { self.stars.remove(&key) };
                if changed {
                    self.log_notice(notice);
                }
            }
            Notice::Pref(_) | Notice::Blocked { .. } | Notice::Archived { .. } => {
                self.log_notice(notice);
            }
            // 1.2 (§24): said in the panel, like a change of another device.
            Notice::Ringing { .. } | Notice::CallEnded { .. } | Notice::GroupCall { .. } => {
                self.log_notice(notice);
            }
        }
        effects
    }

    /// The chat list follows `notice` (keeping the user's choice); true if
    /// the bell should ring: a chat rose, the bell is on, and (1.2) the
    /// chat's notification level lets a message ring, filed down to
    /// mentions if the chat is archived (`LiveChats::notifies`).
    fn list_follows(&mut self, notice: &Notice) -> bool {
        let open = self.view.as_ref().map(|v| v.chat.clone());
        let rose = self.keeping_selection(|app| app.chats.apply(notice, open.as_ref()));
        let notifies = match notice {
            Notice::Message(m) => self.chats.notifies(m),
            _ => true,
        };
        rose.is_some() && self.bell && notifies
    }

    /// 1.2: a room's moderation changed. Only a change about me is said
    /// (the room's text tells the rest); an open room's header is asked
    /// again.
    fn moderated(&mut self, room: &str, by: &str, change: &crate::protocol::Change) -> Option<Effect> {
        let chat = Chat::parse(room).ok()?;
        if let Some(line) = crate::console::moderation::line(self.lang, &self.me, room, by, change) {
            self.notes.add(&chat, Note { ts: self.now, text: line.clone() });
            self.line = Some((line, false));
        }
        let open = self.is_open(&chat);
        open.then_some(Effect::Work(Work::RoomInfo(chat)))
    }

    /// A message came (`incoming`) or left: its sender stops typing, and
    /// it joins the open chat. One that came is then on screen, so read
    /// (a direct message has no `READ`).
    fn message(&mut self, m: &Message, incoming: bool) -> Option<Effect> {
        let chat = m.chat(&self.me);
        let key = fold(&chat.to_string());
        if self.typing.get(&key).is_some_and(|(from, _)| fold(from) == fold(&m.from)) {
            self.typing.remove(&key);
        }
        let view = self.view.as_mut().filter(|v| v.is(&chat))?;
        view.merge(vec![m.clone()], false);
        (incoming && !m.p2p).then(|| Effect::Work(Work::Read(m.clone())))
    }

    /// `user` came online or left: a note in their chat, and the open
    /// chat's title follows.
    fn presence(&mut self, notice: &Notice, user: &str) {
        let chat = Chat::User(user.to_string());
        self.note(&chat, notice);
        let now = self.now;
        if let Some(view) = self.view.as_mut().filter(|v| v.is(&chat)) {
            let joined = matches!(notice, Notice::Joined(_));
            view.presence = Some(if joined { Presence::Online } else { Presence::LastSeen(now) });
        }
    }

    /// The connection was lost, came back, or reached another server: the
    /// status line follows, the panel says it, and after a return the
    /// chat list is asked again.
    fn link_changed(&mut self, notice: &Notice) -> Option<Effect> {
        let line = self.log_notice(notice);
        match notice {
            Notice::Offline(why) => {
                self.link = match self.link {
                    ConnectionStatus::Offline(_) => ConnectionStatus::Offline(why.clone()),
                    _ => ConnectionStatus::Reconnecting(why.clone()),
                };
                None
            }
            Notice::Online => {
                self.link = ConnectionStatus::Connected;
                // Counts and presence may have changed while away.
                Some(Effect::Work(Work::ChatList))
            }
            // Another server at this address: the local history is another.
            _ => {
                self.line = Some((line, true));
                Some(Effect::Work(Work::ChatList))
            }
        }
    }

    /// `notice` as the console says it.
    fn notice_text(&self, notice: &Notice) -> String {
        view::notice(self.lang, &self.me, notice, |_| None)
    }

    /// `notice`, said as a note in `chat`, at the current time.
    fn note(&mut self, chat: &Chat, notice: &Notice) {
        let text = self.notice_text(notice);
        self.notes.add(chat, Note { ts: self.now, text });
    }

    /// `notice`, said in the panel's log; returns the line.
    fn log_notice(&mut self, notice: &Notice) -> String {
        let line = self.notice_text(notice);
        self.log_lines([line.as_str()]);
        line
    }
}
