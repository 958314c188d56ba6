//! The chat list kept up to date as things happen, for a front end that
//! shows it all the time (the full-screen console's left pane).
//!
//! [`Client::chat_list`](super::Client::chat_list) is a snapshot: the
//! server's unread counts, who was online, each chat's last message. A
//! screen that shows it for hours must follow the [`Notice`]s instead of
//! asking again at every message: a message raises its chat's unread count
//! (unless that chat is open: it is being read), puts it first and becomes
//! its preview (an action never does: [`crate::protocol::unread`]); a
//! tick changes the preview's ticks; `JOINED`/`LEFT` light
//! and put out a peer's online dot; (1.2) a chat's level and pin, and
//! whether it is archived (§23), decide where it goes and whether its
//! messages ring. Pure data, no server and no terminal,
//! so each rule is tested here.

use super::fold::fold_parts;
use super::history::chat_key;
use super::{ChatSummary, Message, Notice};
use crate::protocol::mentions::mentions;
use crate::protocol::names::fold;
use crate::protocol::unread::is_action;
use crate::protocol::{Chat, PrefLine};

/// The chat list, most recent first, as the notices leave it.
#[derive(Clone, Debug, Default)]
pub struct LiveChats {
    /// Whose list: a message from `me` is never unread.
    me: String,
    chats: Vec<ChatSummary>,
    /// 1.2 (§22): the chats' notification levels and pins, by chat key,
    /// as `PREFS` said and `PREF` notices changed them.
    prefs: std::collections::HashMap<String, PrefLine>,
    /// 1.2 (§23): the archived chats, by chat key, as `ARCHIVED` said and
    /// `ARCHIVE` notices changed them. They go last, and ring for `@`
    /// mentions only ([`Level::rings`](crate::protocol::Level::rings)).
    archived: std::collections::HashSet<String>,
}

impl LiveChats {
    pub fn new(me: &str) -> LiveChats {
        LiveChats {
            me: me.to_string(),
            chats: Vec::new(),
            prefs: Default::default(),
            archived: Default::default(),
        }
    }

    /// 1.2 (§23): the archived chats as the server has them (`ARCHIVED`).
    pub fn set_archived(&mut self, archived: Vec<Chat>) {
        self.archived = archived.iter().map(chat_key).collect();
        self.sort();
    }

    /// 1.2 (§23): whether `chat` is archived.
    pub fn is_archived(&self, chat: &Chat) -> bool {
        self.archived.contains(&chat_key(chat))
    }

    /// 1.2 (§23): how many chats of the list are archived: the last ones.
    pub fn archived_count(&self) -> usize {
        self.chats.iter().filter(|c| self.is_archived(&c.chat)).count()
    }

    /// 1.2: the chats' preferences as the server has them (`PREFS`).
    pub fn set_prefs(&mut self, prefs: Vec<PrefLine>) {
        self.prefs.clear();
        prefs.into_iter().for_each(|p| self.set_pref(p));
        self.sort();
    }

    fn set_pref(&mut self, pref: PrefLine) {
        if let Ok(chat) = Chat::parse(&pref.chat) {
            self.prefs.insert(chat_key(&chat), pref);
        }
    }

    /// 1.2: `chat`'s preference (the default: every message notifies).
    pub fn pref(&self, chat: &Chat) -> PrefLine {
        self.prefs.get(&chat_key(chat)).cloned().unwrap_or_else(|| PrefLine::new(&chat.to_string()))
    }

    /// 1.2: whether a new message `m` in its chat notifies (rings), as
    /// the chat's level says, filed down to mentions if it is archived
    /// (§23): a direct message or a mention counts as a mention
    /// (`protocol::mentions`).
    pub fn notifies(&self, m: &Message) -> bool {
        let chat = m.chat(&self.me);
        let (direct, named) = (matches!(chat, Chat::User(_)), mentions(&m.text.unescaped(), &self.me));
        self.pref(&chat).level.rings(self.is_archived(&chat), direct, named)
    }

    /// The chats, most recent first.
    pub fn chats(&self) -> &[ChatSummary] {
        &self.chats
    }

    /// Where `chat` is in the list.
    pub fn position(&self, chat: &Chat) -> Option<usize> {
        let want = chat_key(chat);
        self.chats.iter().position(|c| chat_key(&c.chat) == want)
    }

    /// A fresh snapshot (`Client::chat_list`). A chat whose last message
    /// here is newer than the snapshot's keeps what it has: that notice
    /// came after the server answered, and the snapshot does not count it.
    /// A chat the snapshot lacks (opened, still empty) is kept too.
    pub fn replace(&mut self, snapshot: Vec<ChatSummary>) {
        let mut old = std::mem::take(&mut self.chats);
        for mut fresh in snapshot {
            if let Some(i) = old.iter().position(|c| chat_key(&c.chat) == chat_key(&fresh.chat)) {
                let mine = old.remove(i);
                let ts = |c: &ChatSummary| c.last.as_ref().map_or(0, |m| m.ts);
                if ts(&mine) > ts(&fresh) {
                    fresh = ChatSummary { online: fresh.online.or(mine.online), ..mine };
                }
            }
            self.chats.push(fresh);
        }
        self.chats.extend(old.into_iter().filter(|c| c.last.is_none()));
        self.sort();
    }

    /// A chat is on the list, even without messages (`/chat carl` opened
    /// it); returns its position.
    pub fn ensure(&mut self, chat: &Chat) -> usize {
        match self.position(chat) {
            Some(i) => i,
            // Last of its group: before the archived chats, unless archived.
            None => {
                self.chats.push(ChatSummary { chat: chat.clone(), unread: 0, last: None, online: None });
                self.sort();
                self.position(chat).unwrap_or(self.chats.len() - 1)
            }
        }
    }

    /// Everything in `chat` has been read (it was opened).
    pub fn set_read(&mut self, chat: &Chat) {
        if let Some(i) = self.position(chat) {
            self.chats[i].unread = 0;
        }
    }

    /// Follows one notice. `open` is the chat on screen: its messages are
    /// read as they come. Returns the chat whose unread count went up (a
    /// front end rings for it), if any.
    pub fn apply(&mut self, notice: &Notice, open: Option<&Chat>) -> Option<Chat> {
        match notice {
            Notice::Message(m) | Notice::Sent(m) if is_action(&m.id) => {
                self.act_on_preview(m);
                None
            }
            Notice::Message(m) | Notice::Sent(m) => self.note_message(m, open),
            Notice::State { to, id, state } => {
                if let Some(i) = self.position(to)
                    && let Some(last) = &mut self.chats[i].last
                    && last.is_from(&self.me)
                    && last.id == *id
                {
                    // A READ of an earlier message does not reach the last
                    // one: READ covers the messages *up to* its id.
                    last.state = last.state.max(*state);
                }
                None
            }
            Notice::Refused { to, id, reason, .. } => {
                if let Some(i) = self.position(to)
                    && let Some(last) = &mut self.chats[i].last
                    && last.is_from(&self.me)
                    && last.id == *id
                {
                    last.refused = Some(reason.clone());
                }
                None
            }
            // Read on another of my devices (1.2), up to `id`: no badge
            // here either, unless a message came after the one marked
            // (the next snapshot counts it).
            Notice::ReadElsewhere { chat, id } => {
                if let Some(i) = self.position(chat)
                    && self.chats[i].last.as_ref().is_none_or(|last| last.id == *id || last.is_from(&self.me))
                {
                    self.chats[i].unread = 0;
                }
                None
            }
            Notice::Pref(pref) => {
                self.set_pref(pref.clone());
                self.sort();
                None
            }
            // A new message leaves an archived chat archived (§23).
            Notice::Archived { chat, archived } => {
                match archived {
                    true => self.archived.insert(chat_key(chat)),
                    false => self.archived.remove(&chat_key(chat)),
                };
                self.sort();
                None
            }
            Notice::Joined(user) => self.set_online(user, Some(true)),
            Notice::Left(user) => self.set_online(user, Some(false)),
            // Offline, nobody's presence is known any more.
            Notice::Offline(_) => {
                self.chats.iter_mut().for_each(|c| c.online = None);
                None
            }
            _ => None,
        }
    }

    /// A message (not an action) of a chat: its preview, and one more
    /// unread unless it is mine, its chat is open, or a snapshot counted
    /// it already. The chat, if it is newly unread.
    fn note_message(&mut self, m: &Message, open: Option<&Chat>) -> Option<Chat> {
        let chat = m.chat(&self.me);
        let i = self.ensure(&chat);
        let summary = &mut self.chats[i];
        // A snapshot taken as the inbox was being replayed already
        // counts this message (or newer ones): not counted twice.
        let counted = summary
            .last
            .as_ref()
            .is_some_and(|last| last.ts > m.ts || (last.id == m.id && fold(&last.from) == fold(&m.from)));
        if summary.last.as_ref().is_none_or(|last| last.ts <= m.ts) {
            summary.last = Some(m.clone());
        }
        let is_open = open.is_some_and(|o| chat_key(o) == chat_key(&chat));
        let unread = !m.is_from(&self.me) && !is_open && !counted;
        if unread {
            summary.unread += 1;
        }
        self.sort();
        unread.then_some(chat)
    }

    /// An action (1.2: a reaction, an edit, a deletion) is not a message:
    /// never unread, never the preview, and it leaves the chat where it is
    /// in the list. An edit or a deletion of the preview changes its text.
    fn act_on_preview(&mut self, action: &Message) {
        let chat = action.chat(&self.me);
        if let Some(i) = self.position(&chat)
            && let Some(last) = self.chats[i].last.take()
        {
            let folded = fold_parts(vec![last.clone(), action.clone()]).pop().map(|f| f.message);
            self.chats[i].last = Some(folded.unwrap_or(last));
        }
    }

    fn set_online(&mut self, user: &str, online: Option<bool>) -> Option<Chat> {
        if let Some(i) = self.position(&Chat::User(user.to_string())) {
            self.chats[i].online = online;
        }
        None
    }

    /// Archived chats last (1.2, §23), pinned chats first (§22), then
    /// most recent first; stable, so chats without messages keep their
    /// place.
    fn sort(&mut self) {
        let (prefs, archived) = (&self.prefs, &self.archived);
        let pinned = |c: &ChatSummary| prefs.get(&chat_key(&c.chat)).is_some_and(|p| p.pinned);
        let last = |c: &ChatSummary| c.last.as_ref().map_or(0, |m: &Message| m.ts);
        self.chats
            .sort_by_key(|c| (archived.contains(&chat_key(&c.chat)), !pinned(c), std::cmp::Reverse(last(c))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MsgState, Text};

    fn m(from: &str, to: &str, id: &str, ts: u64) -> Message {
        Message {
            from: from.into(),
            to: Chat::parse(to).unwrap(),
            id: id.into(),
            ts,
            state: if from == "ana" { MsgState::Sent } else { MsgState::Delivered },
            text: Text::from_plain("hi").unwrap(),
            refused: None,
            p2p: false,
        }
    }

    fn summary(chat: &str, unread: u64, last: Option<Message>) -> ChatSummary {
        ChatSummary { chat: Chat::parse(chat).unwrap(), unread, last, online: Some(false) }
    }

    fn names(live: &LiveChats) -> Vec<(String, u64)> {
        live.chats().iter().map(|c| (c.chat.to_string(), c.unread)).collect()
    }

    fn pairs(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }

    #[test]
    fn messages_raise_the_count_of_chats_not_open_and_come_first() {
        let mut live = LiveChats::new("ana");
        live.replace(vec![
            summary("bob", 1, Some(m("bob", "ana", "b1", 20))),
            summary("#tea", 0, Some(m("carl", "#tea", "c1", 10))),
        ]);
        let bob = Chat::User("bob".into());
        let rang = live.apply(&Notice::Message(m("carl", "#tea", "c2", 30)), Some(&bob));
        assert_eq!(rang, Some(Chat::Room("tea".into())));
        assert_eq!(names(&live), pairs(&[("#tea", 1), ("bob", 1)]));
        // The open chat's messages are read as they come; your own never count.
        assert_eq!(live.apply(&Notice::Message(m("Bob", "ana", "b2", 40)), Some(&bob)), None);
        assert_eq!(live.apply(&Notice::Sent(m("ana", "#tea", "a1", 50)), Some(&bob)), None);
        assert_eq!(names(&live), pairs(&[("#tea", 1), ("bob", 1)]));
        live.set_read(&Chat::Room("TEA".into()));
        // A new chat appears at the top.
        live.apply(&Notice::Message(m("dave", "ana", "d1", 60)), None);
        assert_eq!(names(&live), pairs(&[("dave", 1), ("#tea", 0), ("bob", 1)]));
    }

    #[test]
    fn an_action_is_never_unread_nor_the_preview_but_edits_it() {
        let mut live = LiveChats::new("ana");
        live.replace(vec![summary("bob", 1, Some(m("bob", "ana", "b1", 20))), summary("#tea", 0, None)]);
        let act = |from: &str, id: &str, ts, text: &str| {
            Notice::Message(Message { text: Text::from_plain(text).unwrap(), ..m(from, "ana", id, ts) })
        };
        let text = |live: &LiveChats| live.chats()[0].last.as_ref().unwrap().text.unescaped();
        assert_eq!(live.apply(&act("bob", "_r1_a0", 30, "❤️ to: hi"), None), None, "a reaction");
        assert_eq!(names(&live), pairs(&[("bob", 1), ("#tea", 0)]));
        assert_eq!(live.chats()[0].last.as_ref().unwrap().id, "b1");
        live.apply(&act("bob", "_e2_b1", 40, "✎ hola"), None);
        assert_eq!((text(&live), names(&live)[0].1), ("hola".to_string(), 1), "edited, still one");
        live.apply(&act("bob", "_d3_b1", 50, "(message deleted)"), None);
        assert_eq!(text(&live), "(message deleted)");
    }

    #[test]
    fn ticks_and_refusals_reach_the_preview_and_presence_the_dot() {
        let mut live = LiveChats::new("ana");
        live.replace(vec![summary("bob", 0, Some(m("ana", "bob", "a1", 10)))]);
        let tick = |id: &str, state| Notice::State { to: Chat::User("bob".into()), id: id.into(), state };
        live.apply(&tick("a1", MsgState::Delivered), None);
        assert_eq!(live.chats()[0].last.as_ref().unwrap().state, MsgState::Delivered);
        live.apply(&tick("a0", MsgState::Received), None);
        assert_eq!(live.chats()[0].last.as_ref().unwrap().state, MsgState::Delivered, "another message");
        live.apply(&tick("a0", MsgState::Read), None);
        assert_eq!(
            live.chats()[0].last.as_ref().unwrap().state,
            MsgState::Delivered,
            "read up to an older one"
        );
        live.apply(&tick("a1", MsgState::Read), None);
        assert_eq!(live.chats()[0].last.as_ref().unwrap().state, MsgState::Read);
        live.apply(&Notice::Joined("Bob".into()), None);
        assert_eq!(live.chats()[0].online, Some(true));
        live.apply(&Notice::Offline("gone".into()), None);
        assert_eq!(live.chats()[0].online, None);
    }

    #[test]
    fn a_read_on_another_device_clears_the_badge_unless_newer_came() {
        let mut live = LiveChats::new("ana");
        live.replace(vec![summary("bob", 2, Some(m("bob", "ana", "b2", 20))), summary("#tea", 3, None)]);
        let read =
            |chat: &str, id: &str| Notice::ReadElsewhere { chat: Chat::parse(chat).unwrap(), id: id.into() };
        assert_eq!(live.apply(&read("bob", "b1"), None), None);
        assert_eq!(names(&live), pairs(&[("bob", 2), ("#tea", 3)]), "b2 came after the one read");
        live.apply(&read("Bob", "b2"), None);
        live.apply(&read("#tea", "t9"), None);
        assert_eq!(names(&live), pairs(&[("bob", 0), ("#tea", 0)]));
    }

    #[test]
    fn a_message_the_snapshot_counted_is_not_counted_again() {
        let mut live = LiveChats::new("ana");
        live.replace(vec![summary("bob", 1, Some(m("bob", "ana", "b1", 10)))]);
        // The inbox's replay brings b1 after the server counted it.
        assert_eq!(live.apply(&Notice::Message(m("bob", "ana", "b1", 10)), None), None);
        assert_eq!(live.apply(&Notice::Message(m("bob", "ana", "b0", 5)), None), None);
        assert_eq!(names(&live), pairs(&[("bob", 1)]));
        assert_eq!(live.chats()[0].last.as_ref().unwrap().id, "b1", "the newest stays the preview");
    }

    #[test]
    fn a_snapshot_older_than_a_notice_does_not_undo_it() {
        let mut live = LiveChats::new("ana");
        live.replace(vec![summary("bob", 0, Some(m("bob", "ana", "b1", 10)))]);
        live.apply(&Notice::Message(m("bob", "ana", "b2", 30)), None);
        live.ensure(&Chat::User("carl".into()));
        // The server answered before b2 was stored.
        live.replace(vec![
            summary("bob", 0, Some(m("bob", "ana", "b1", 10))),
            summary("#tea", 2, Some(m("x", "#tea", "t", 20))),
        ]);
        assert_eq!(names(&live), pairs(&[("bob", 1), ("#tea", 2), ("carl", 0)]));
        assert_eq!(live.chats()[0].last.as_ref().unwrap().id, "b2");
        assert_eq!(live.chats()[0].online, Some(false), "presence is the snapshot's");
    }

    #[test]
    fn pinned_chats_go_first_and_levels_decide_what_notifies() {
        let mut live = LiveChats::new("ana");
        live.replace(vec![
            summary("bob", 0, Some(m("bob", "ana", "b1", 30))),
            summary("#tea", 0, Some(m("x", "#tea", "t", 20))),
        ]);
        live.set_prefs(vec![PrefLine::parse("#Tea:mentions:pinned").unwrap()]);
        assert_eq!(names(&live), pairs(&[("#tea", 0), ("bob", 0)]));
        let mut plain = m("x", "#tea", "t2", 40);
        assert!(!live.notifies(&plain), "a room at `mentions` rings for mentions only");
        plain.text = Text::from_plain("look @Ana").unwrap();
        assert!(live.notifies(&plain));
        live.apply(&Notice::Pref(PrefLine::parse("bob:none:unpinned").unwrap()), None);
        assert!(!live.notifies(&m("bob", "ana", "b2", 50)), "a muted chat never rings");
        live.apply(&Notice::Pref(PrefLine::parse("#tea:all:unpinned").unwrap()), None);
        assert_eq!(names(&live), pairs(&[("bob", 0), ("#tea", 0)]), "unpinned: by recency again");
    }

    #[test]
    fn archived_chats_go_last_stay_there_and_ring_for_mentions_only() {
        let mut live = LiveChats::new("ana");
        live.replace(vec![
            summary("bob", 0, Some(m("bob", "ana", "b1", 30))),
            summary("#tea", 0, Some(m("x", "#tea", "t", 20))),
            summary("carl", 0, Some(m("carl", "ana", "c1", 10))),
        ]);
        live.set_prefs(vec![PrefLine::parse("bob:all:pinned").unwrap()]);
        live.set_archived(vec![Chat::parse("#Tea").unwrap(), Chat::parse("bob").unwrap()]);
        assert_eq!(
            names(&live),
            pairs(&[("carl", 0), ("bob", 0), ("#tea", 0)]),
            "a pin goes first among the archived"
        );
        assert_eq!(live.archived_count(), 2);
        assert!(live.is_archived(&Chat::Room("TEA".into())));
        // A new message neither unarchives nor lifts an archived chat.
        assert_eq!(
            live.apply(&Notice::Message(m("x", "#tea", "t2", 40)), None),
            Some(Chat::Room("tea".into()))
        );
        assert_eq!(names(&live), pairs(&[("carl", 0), ("bob", 0), ("#tea", 1)]));
        assert!(!live.notifies(&m("x", "#tea", "t3", 50)), "an archived room rings for mentions only");
        let mut mention = m("x", "#tea", "t4", 60);
        mention.text = Text::from_plain("@ana look").unwrap();
        assert!(live.notifies(&mention));
        assert!(!live.notifies(&m("bob", "ana", "b2", 70)), "an archived direct chat is quiet");
        let mut named = m("bob", "ana", "b2", 70);
        named.text = Text::from_plain("@ana are you there?").unwrap();
        assert!(live.notifies(&named), "but for an @");
        live.apply(&Notice::Pref(PrefLine::parse("bob:none:pinned").unwrap()), None);
        assert!(!live.notifies(&m("bob", "ana", "b3", 80)), "archived or not, a muted chat never rings");
        // Unarchived by another device (any case): back by recency.
        let unarchive = |chat: &str| Notice::Archived { chat: Chat::parse(chat).unwrap(), archived: false };
        live.apply(&unarchive("#TEA"), None);
        assert_eq!(names(&live), pairs(&[("#tea", 1), ("carl", 0), ("bob", 0)]));
        assert!(live.notifies(&m("x", "#tea", "t5", 90)));
        live.apply(&Notice::Archived { chat: Chat::parse("carl").unwrap(), archived: true }, None);
        assert_eq!(names(&live), pairs(&[("#tea", 1), ("bob", 0), ("carl", 0)]));
        assert_eq!(live.archived_count(), 2);
        // A chat opened without messages goes before the archived ones.
        assert_eq!(live.ensure(&Chat::User("dave".into())), 1);
        assert_eq!(names(&live), pairs(&[("#tea", 1), ("dave", 0), ("bob", 0), ("carl", 0)]));
    }
}
