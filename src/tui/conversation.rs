//! The open conversation as data: its messages (from the local log, the
//! server, and the notices as they come, merged so that none shows twice),
//! the notices about it (presence, members, direct chats), where the
//! "unread" line goes, how far it is scrolled, and whether older pages may
//! be loaded. Drawing it is `render/conversation.rs`'s.

use std::collections::{HashMap, VecDeque};

use crate::client::{Message, Page, Presence, Resume};
use crate::protocol::names::fold;
use crate::protocol::{Chat, MsgState};

/// Notices kept per chat: enough to read what happened lately.
pub const MAX_NOTES: usize = 100;

/// A line about the chat that is not a message (`bob is online`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub ts: u64,
    pub text: String,
}

/// Where the "unread" line goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Divider {
    /// None: everything was read.
    None,
    /// Before the `n`-th newest message to you, once the messages are here.
    Pending(u64),
    /// Before this message (`from` folded, `id`), saying `n` unread.
    At { from: String, id: String, n: u64 },
}

/// How the top of the conversation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Top {
    /// Older messages may be loaded by scrolling up.
    More,
    /// Being loaded.
    Loading,
    /// The first message of the chat is shown.
    Start,
    /// The server lists no more than this many.
    ServerLimit,
    /// The server could not be asked; scrolling up asks again.
    Offline,
}

/// The open chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatView {
    /// Whose screen: your messages have ticks, and are never unread.
    pub me: String,
    pub chat: Chat,
    /// Whether its user is online, or since when not (direct chats).
    pub presence: Option<Presence>,
    /// Oldest first.
    pub messages: Vec<Message>,
    pub divider: Divider,
    /// Lines scrolled up from the bottom (0: the newest at the bottom).
    pub scroll: usize,
    pub top: Top,
    /// Where the server's page above the oldest message shown starts
    /// (protocol 1.2), once a page came from it.
    pub resume: Option<Resume>,
}

fn same(a: &Message, b: &Message) -> bool {
    a.id == b.id && fold(&a.from) == fold(&b.from)
}

/// A message's `(sender, id)`, the sender folded: what [`same`] compares.
fn key(m: &Message) -> (String, String) {
    (fold(&m.from), m.id.clone())
}

impl ChatView {
    /// A chat opened with these messages (the local log's, at once) and
    /// `unread` messages to you not yet read.
    pub fn new(me: &str, chat: Chat, messages: Vec<Message>, unread: u64) -> ChatView {
        let divider = if unread > 0 { Divider::Pending(unread) } else { Divider::None };
        let me = me.to_string();
        let mut view = ChatView {
            me,
            chat,
            presence: None,
            messages: Vec::new(),
            divider,
            scroll: 0,
            top: Top::More,
            resume: None,
        };
        view.merge(messages, false);
        view
    }

    /// 1.2: the messages as shown: the actions folded into the messages
    /// they name (`client::fold`), the actions' own messages left out.
    pub fn shown(&self) -> Vec<crate::client::fold::Folded> {
        crate::client::fold::fold_parts(self.messages.clone())
    }

    /// True if `chat` is this one (names compared ignoring case).
    pub fn is(&self, chat: &Chat) -> bool {
        fold(&self.chat.to_string()) == fold(&chat.to_string())
    }

    /// Adds messages, from anywhere: one already here keeps its place and
    /// takes the furthest state of the two (states only move forward) and
    /// the server's time once it has one; the rest go in by time.
    /// `complete`: these are the chat's last messages as the server has
    /// them, so the "unread" line can be placed whatever is missing, and
    /// they are in the server's order, which the view takes (several may
    /// share a millisecond: their times cannot tell it).
    pub fn merge(&mut self, messages: Vec<Message>, complete: bool) {
        let order: HashMap<(String, String), usize> =
            messages.iter().enumerate().map(|(i, m)| (key(m), i)).collect();
        for m in messages {
            match self.messages.iter_mut().find(|old| same(old, &m)) {
                Some(old) => {
                    if m.state > old.state {
                        old.state = m.state;
                        if m.state >= MsgState::Received && !m.p2p {
                            old.ts = m.ts;
                        }
                    }
                    old.refused = old.refused.take().or(m.refused);
                    old.p2p = m.p2p && old.p2p;
                }
                None => {
                    let at = self.messages.partition_point(|old| old.ts <= m.ts);
                    self.messages.insert(at, m);
                }
            }
        }
        if complete {
            self.take_order(&order);
        }
        self.place_divider(complete);
    }

    /// Puts the messages `order` names in that order; the others (direct
    /// ones, those not sent yet) keep theirs, each before the first of
    /// `order` that is later.
    fn take_order(&mut self, order: &HashMap<(String, String), usize>) {
        let (mut listed, rest): (Vec<Message>, Vec<Message>) =
            std::mem::take(&mut self.messages).into_iter().partition(|m| order.contains_key(&key(m)));
        listed.sort_by_key(|m| order[&key(m)]);
        let mut rest = rest.into_iter().peekable();
        for m in listed {
            while let Some(r) = rest.next_if(|r| r.ts < m.ts) {
                self.messages.push(r);
            }
            self.messages.push(m);
        }
        self.messages.extend(rest);
    }

    /// A page of older messages came.
    pub fn prepend(&mut self, page: Page) {
        self.top = match (page.offline, page.more, page.at_limit) {
            (true, _, _) => Top::Offline,
            (false, true, _) => Top::More,
            (false, false, true) => Top::ServerLimit,
            (false, false, false) => Top::Start,
        };
        self.resume = page.resume;
        let fresh: Vec<Message> =
            page.messages.into_iter().filter(|m| !self.messages.iter().any(|old| same(old, m))).collect();
        let mut all = fresh;
        all.append(&mut self.messages);
        self.messages = all;
        self.place_divider(true);
    }

    /// One of your messages moved to `state` (`READ` covers the earlier
    /// ones too, except direct-chat messages, which have no `READ`; in a
    /// room (1.2, §31) `DELIVERED` does too).
    pub fn set_state(&mut self, me: &str, id: &str, state: MsgState) {
        let mine = |m: &Message| m.is_from(me);
        let Some(at) = self.messages.iter().position(|m| mine(m) && m.id == id) else { return };
        let room = matches!(self.chat, Chat::Room(_));
        let upto = if state == MsgState::Read || (room && state == MsgState::Delivered) { 0 } else { at };
        for m in &mut self.messages[upto..=at] {
            if mine(m) && !(state == MsgState::Read && m.p2p) {
                m.state = m.state.max(state);
            }
        }
    }

    /// The server refused one of your messages for good.
    pub fn refuse(&mut self, me: &str, id: &str, reason: &str) {
        if let Some(m) = self.messages.iter_mut().find(|m| m.is_from(me) && m.id == id) {
            m.refused = Some(reason.to_string());
        }
    }

    /// Places a pending divider before the `n`-th newest message to you,
    /// once all `n` are here (the local log may lack some: the server's
    /// answer, `complete`, brings them, or says there are fewer).
    fn place_divider(&mut self, complete: bool) {
        let Divider::Pending(n) = self.divider else { return };
        let me = fold(&self.me);
        let to_me: Vec<&Message> =
            self.messages.iter().rev().filter(|m| fold(&m.from) != me && !m.p2p).take(n as usize).collect();
        if let Some(first) = to_me.last()
            && (to_me.len() as u64 == n || complete)
        {
            self.divider = Divider::At { from: fold(&first.from), id: first.id.clone(), n };
        }
    }
}

/// The notices of each chat, newest last, [`MAX_NOTES`] each.
#[derive(Clone, Debug, Default)]
pub struct Notes {
    by_chat: std::collections::HashMap<String, VecDeque<Note>>,
}

impl Notes {
    pub fn add(&mut self, chat: &Chat, note: Note) {
        let notes = self.by_chat.entry(fold(&chat.to_string())).or_default();
        if notes.len() == MAX_NOTES {
            notes.pop_front();
        }
        notes.push_back(note);
    }

    pub fn of(&self, chat: &Chat) -> impl Iterator<Item = &Note> {
        self.by_chat.get(&fold(&chat.to_string())).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Text;

    pub fn msg(from: &str, to: &str, id: &str, ts: u64, state: MsgState) -> Message {
        Message {
            from: from.into(),
            to: Chat::parse(to).unwrap(),
            id: id.into(),
            ts,
            state,
            text: Text::from_plain(id).unwrap(),
            refused: None,
            p2p: false,
        }
    }

    fn ids(view: &ChatView) -> Vec<&str> {
        view.messages.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn the_servers_list_of_one_millisecond_is_shown_in_its_order() {
        // The local log had b1 (received here); a1 and a2 were sent from
        // another device: the server stored a1, b1, a2 in one millisecond.
        let local = vec![msg("bob", "ana", "b1", 10, MsgState::Delivered)];
        let mut view = ChatView::new("ana", Chat::User("bob".into()), local, 0);
        let server = ["a1", "b1", "a2"].map(|id| {
            msg(
                if id == "b1" { "bob" } else { "ana" },
                if id == "b1" { "ana" } else { "bob" },
                id,
                10,
                MsgState::Received,
            )
        });
        view.merge(server.to_vec(), true);
        assert_eq!(ids(&view), ["a1", "b1", "a2"]);
    }

    #[test]
    fn merged_messages_show_once_in_time_order_with_the_furthest_state() {
        let bob = Chat::User("bob".into());
        let local = vec![
            msg("bob", "ana", "b1", 10, MsgState::Delivered),
            msg("ana", "bob", "a1", 25, MsgState::Sent),
        ];
        let mut view = ChatView::new("ana", bob, local, 0);
        // The server has a1 with its own time and further on, and b0 from before.
        let server = vec![
            msg("bob", "ana", "b0", 5, MsgState::Delivered),
            msg("Bob", "ana", "b1", 10, MsgState::Delivered),
            msg("ana", "bob", "a1", 20, MsgState::Delivered),
        ];
        view.merge(server, true);
        assert_eq!(ids(&view), ["b0", "b1", "a1"]);
        assert_eq!((view.messages[2].ts, view.messages[2].state), (20, MsgState::Delivered));
        view.merge(vec![msg("ana", "bob", "a1", 20, MsgState::Received)], false);
        assert_eq!(view.messages[2].state, MsgState::Delivered, "never backwards");
    }

    #[test]
    fn read_covers_your_earlier_messages_and_ticks_change_in_place() {
        let me = "ana";
        let mut direct = msg("ana", "bob", "d1", 2, MsgState::Delivered);
        direct.p2p = true;
        let messages = vec![
            msg("ana", "bob", "a1", 1, MsgState::Delivered),
            direct,
            msg("bob", "ana", "b1", 3, MsgState::Delivered),
            msg("ana", "bob", "a2", 4, MsgState::Received),
            msg("ana", "bob", "a3", 5, MsgState::Sent),
        ];
        let mut view = ChatView::new(me, Chat::User("bob".into()), messages, 0);
        view.set_state(me, "a3", MsgState::Received);
        view.set_state(me, "a2", MsgState::Read);
        let states: Vec<MsgState> = view.messages.iter().map(|m| m.state).collect();
        let expected =
            [MsgState::Read, MsgState::Delivered, MsgState::Delivered, MsgState::Read, MsgState::Received];
        assert_eq!(states, expected);
        view.refuse("ANA", "a3", "no such user");
        assert_eq!(view.messages[4].refused.as_deref(), Some("no such user"));
    }

    #[test]
    fn the_unread_line_waits_for_the_messages_it_goes_before() {
        let bob = Chat::User("bob".into());
        let local = vec![
            msg("bob", "ana", "b3", 30, MsgState::Delivered),
            msg("ana", "bob", "a1", 40, MsgState::Read),
        ];
        let mut view = ChatView::new("ana", bob, local, 2);
        assert_eq!(view.divider, Divider::Pending(2), "only one of the two is here");
        view.merge(vec![msg("bob", "ana", "b2", 20, MsgState::Delivered)], false);
        assert_eq!(view.divider, Divider::At { from: "bob".into(), id: "b2".into(), n: 2 });
        // Fewer than counted, but the server's answer is complete: the oldest.
        let mut view = ChatView::new("ana", Chat::Room("tea".into()), vec![], 5);
        view.merge(vec![msg("carl", "#tea", "c1", 1, MsgState::Received)], true);
        assert_eq!(view.divider, Divider::At { from: "carl".into(), id: "c1".into(), n: 5 });
    }

    #[test]
    fn older_pages_go_on_top_and_say_where_the_start_is() {
        let bob = Chat::User("bob".into());
        let mut view = ChatView::new("ana", bob, vec![msg("bob", "ana", "b5", 50, MsgState::Delivered)], 0);
        let page = |ids: &[(&str, u64)], more, at_limit, from_server| Page {
            messages: ids.iter().map(|(id, ts)| msg("bob", "ana", id, *ts, MsgState::Delivered)).collect(),
            from_server,
            more,
            at_limit,
            offline: false,
            resume: None,
        };
        view.prepend(page(&[("b3", 30), ("b4", 40)], true, false, false));
        assert_eq!((ids(&view), view.top), (vec!["b3", "b4", "b5"], Top::More));
        view.prepend(page(&[("b1", 10), ("b2", 20), ("b3", 30)], false, false, true));
        assert_eq!((ids(&view), view.top), (vec!["b1", "b2", "b3", "b4", "b5"], Top::Start));
        view.prepend(page(&[], false, true, true));
        assert_eq!(view.top, Top::ServerLimit);
    }
}
