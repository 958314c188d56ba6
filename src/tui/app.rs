//! The full-screen console's state, and how it changes: with each
//! [`Notice`] of the client (`notice.rs`), each answer of the worker
//! thread ([`Done`]), and each key (`keys.rs`). Pure data: no terminal, no server. What must
//! touch the client comes back as [`Effect`]s for the loop in `mod.rs` to
//! carry out, so every rule here is tested with plain values, and the
//! render tests draw an `App` built by hand.

use std::collections::{HashMap, HashSet, VecDeque};

use super::choice::{Compose, SearchResults, Selection};
use super::conversation::{ChatView, Notes, Top};
use super::editor::Editor;
use super::theme::Theme;
use super::worker::{Done, Work};
use crate::client::{LiveChats, Message, Notice, Presence, TYPING_SHOWN};
use crate::console::session::Opened;
use crate::i18n::Lang;
use crate::i18n::console::Msg;
use crate::protocol::Chat;
use crate::protocol::names::fold;

/// Lines of answers, notices and `--trace` frames kept for the panel (F2).
pub const MAX_LOG: usize = 2000;

/// Where the keys go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Up/Down choose a chat, Enter opens it.
    List,
    /// Keys type the message; Enter sends it.
    Input,
}

/// The connection, as the status line says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    Connected,
    /// The server could not be reached since the start; the client retries.
    Offline(String),
    /// The connection was lost; the client retries.
    Reconnecting(String),
}

/// What the loop must do for the state: the client, the worker, the terminal.
#[derive(Debug)]
pub enum Effect {
    /// Hand this to the worker thread.
    Work(Work),
    /// Open a chat: its messages from the local log at once, then the
    /// server's (`/chat`, which also marks it read).
    Open(Chat),
    /// Tell the chat that you are typing (the client paces it).
    Typing(Chat),
    /// Ring the terminal's bell.
    Bell,
    /// Leave.
    Quit,
    /// Draw the whole screen again (Ctrl+L).
    Redraw,
}

/// What the last frame measured, for scrolling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
    /// Rows of the conversation pane, and lines of the conversation.
    pub rows: usize,
    pub lines: usize,
    /// The same for the panel (F2), when open, and the row at its top.
    pub panel_rows: usize,
    pub panel_lines: usize,
    pub panel_top: usize,
}

/// Where the panel (F2) starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelTop {
    /// At this line of the log (an answer just came: its first line).
    Entry(usize),
    /// At this row of the wrapped lines (scrolled by hand).
    Row(usize),
}

/// Everything on screen.
pub struct App {
    pub lang: Lang,
    pub me: String,
    /// `127.0.0.1:6666`, as the user gave it.
    pub server: String,
    pub theme: Theme,
    pub chats: LiveChats,
    /// The chosen line of the chat list.
    pub selected: usize,
    /// The user chose a chat (moved in the list, opened one): it stays
    /// chosen as the list reorders. Until then the choice is the top one.
    pub chosen: bool,
    pub focus: Focus,
    /// The open chat.
    pub view: Option<ChatView>,
    /// Presence, member and direct-chat notices, by chat.
    pub notes: Notes,
    pub editor: Editor,
    pub link: ConnectionStatus,
    /// Messages waiting in the outbox (read from the client before each frame).
    pub pending: usize,
    /// Ring for messages in chats that are not open (Ctrl+G).
    pub bell: bool,
    /// One line above the input until the next key: `error: …`, or a short
    /// answer; `true` if it is an error.
    pub line: Option<(String, bool)>,
    /// Answers to commands, notices, `--trace` frames: the panel's lines.
    pub log: VecDeque<String>,
    /// The panel is open, from there.
    pub panel: Option<PanelTop>,
    /// Ctrl+C asked whether to quit with messages in the outbox.
    pub quitting: bool,
    /// Peers with an open direct chat, folded.
    pub direct: HashSet<String>,
    /// Who is typing, by folded chat: the name and since when (ms); shown
    /// for [`TYPING_SHOWN`] or until their message arrives.
    pub typing: HashMap<String, (String, u64)>,
    /// The time "today" is decided by (set before each frame; pinned in tests).
    pub now: u64,
    pub geometry: Geometry,
    /// 1.2: the rooms' headers (📢, topic, your mute), from `ROOMINFO`.
    pub rooms: super::room::RoomHeaders,
    /// 1.2: the message chosen in the open chat (`select.rs`).
    pub select: Option<Selection>,
    /// 1.2: what Enter in the input does instead of sending (reply, edit, search).
    pub compose: Option<Compose>,
    /// 1.2: a search's results, over the chat list.
    pub found: Option<SearchResults>,
    /// 1.2: the message to choose once the chat opening is open (a search's).
    pub goto: Option<Selection>,
    /// 1.2: a dialog being asked in the input box (`/passwd`, `dialog.rs`).
    pub asking: Option<super::asking::Prompt>,
    /// 1.2 (§25): the starred messages' keys ([`star_key`]), for their ★
    /// and the `*` of a chosen message: `STARRED` at start, then the
    /// `STAR` events.
    pub stars: HashSet<String>,
}

/// The key of `from`'s message `id` of `chat` among [`App::stars`]: the
/// protocol's, names folded.
use crate::protocol::prefs::star_key;

impl App {
    pub fn new(lang: Lang, me: &str, server: &str, theme: Theme) -> App {
        App {
            lang,
            me: me.to_string(),
            server: server.to_string(),
            theme,
            chats: LiveChats::new(me),
            selected: 0,
            chosen: false,
            focus: Focus::List,
            view: None,
            notes: Notes::default(),
            editor: Editor::default(),
            link: ConnectionStatus::Connected,
            pending: 0,
            bell: true,
            line: None,
            log: VecDeque::new(),
            panel: None,
            quitting: false,
            direct: HashSet::new(),
            typing: HashMap::new(),
            now: 0,
            geometry: Geometry::default(),
            rooms: Default::default(),
            select: None,
            compose: None,
            found: None,
            goto: None,
            asking: None,
            stars: HashSet::new(),
        }
    }

    /// 1.2 (§25): whether `m` wears a ★.
    pub fn is_starred(&self, m: &crate::client::Message) -> bool {
        self.stars.contains(&star_key(&m.chat(&self.me), &m.from, &m.id))
    }

    /// Who is typing in `chat` now ("ana is typing…" for its title).
    pub fn typing_in(&self, chat: &Chat) -> Option<&str> {
        let (from, at) = self.typing.get(&fold(&chat.to_string()))?;
        (self.now < at + TYPING_SHOWN.as_millis() as u64).then_some(from.as_str())
    }

    /// Forgets who stopped typing; true if that changes the screen.
    pub fn typing_expired(&mut self, now: u64) -> bool {
        let before = self.typing.len();
        self.typing.retain(|_, (_, at)| now < *at + TYPING_SHOWN.as_millis() as u64);
        self.typing.len() != before
    }

    /// True if `chat` is the open one.
    pub fn is_open(&self, chat: &Chat) -> bool {
        self.view.as_ref().is_some_and(|v| v.is(chat))
    }

    /// The chat chosen in the list.
    pub fn selected_chat(&self) -> Option<Chat> {
        self.chats.chats().get(self.selected).map(|c| c.chat.clone())
    }

    /// Adds lines to the panel's log, the oldest dropped past [`MAX_LOG`].
    pub fn log_lines<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>) {
        for line in lines {
            for part in line.split('\n') {
                if self.log.len() == MAX_LOG {
                    self.log.pop_front();
                    // The panel keeps showing the same lines.
                    if let Some(PanelTop::Entry(i)) = &mut self.panel {
                        *i = i.saturating_sub(1);
                    }
                }
                self.log.push_back(part.to_string());
            }
        }
    }

    /// Opens the panel at the first of its last `n` lines.
    pub fn show_panel(&mut self, n: usize) {
        self.panel = Some(PanelTop::Entry(self.log.len().saturating_sub(n)));
    }

    /// Keeps the same chat chosen while `change` reorders the list.
    pub(super) fn keeping_selection<T>(&mut self, change: impl FnOnce(&mut App) -> T) -> T {
        let chosen = self.selected_chat().filter(|_| self.chosen);
        let result = change(self);
        if let Some(i) = chosen.and_then(|chat| self.chats.position(&chat)) {
            self.selected = i;
        }
        self.selected = self.selected.min(self.chats.chats().len().saturating_sub(1));
        result
    }

    /// Opens `chat` with the local log's `messages`: on screen at once,
    /// its unread count gone, chosen in the list, the input ready.
    pub fn open(&mut self, chat: Chat, messages: Vec<Message>) {
        let unread = self.chats.position(&chat).map_or(0, |i| self.chats.chats()[i].unread);
        let online = self.chats.position(&chat).and_then(|i| self.chats.chats()[i].online);
        let mut view = ChatView::new(&self.me, chat.clone(), messages, unread);
        view.presence = online.filter(|&on| on).map(|_| Presence::Online);
        self.view = Some(view);
        // A search result is chosen in its chat; anything else under way ends.
        self.select = self.goto.take();
        self.compose = None;
        self.selected = self.chats.ensure(&chat);
        self.chosen = true;
        self.chats.set_read(&chat);
        self.focus = Focus::Input;
        self.hint();
    }

    /// What the worker thread answers.
    pub fn done(&mut self, done: Done) -> Vec<Effect> {
        match done {
            Done::Answer(lines) => match lines.as_slice() {
                [] => {}
                [one] => {
                    self.log_lines([one.as_str()]);
                    self.line = Some((one.clone(), false));
                }
                _ => {
                    self.log_lines(lines.iter().map(String::as_str));
                    let n = lines.iter().map(|l| l.split('\n').count()).sum();
                    self.show_panel(n);
                }
            },
            Done::Failed(error) => {
                let line = crate::i18n::tr!(in self.lang; Msg::ErrorLine, error = error);
                self.log_lines([line.as_str()]);
                self.line = Some((line, true));
            }
            Done::Opened(opened) => self.opened(opened),
            Done::OpenChat(Some(chat)) if !self.is_open(&chat) => return vec![Effect::Open(chat)],
            Done::OpenChat(Some(_)) => {}
            Done::OpenChat(None) => self.view = None,
            Done::Page { chat, page } => {
                if let Some(view) = self.view.as_mut().filter(|v| v.is(&chat)) {
                    view.prepend(page);
                }
            }
            Done::PageFailed { chat, error } => {
                if let Some(view) = self.view.as_mut().filter(|v| v.is(&chat)) {
                    view.top = Top::More;
                }
                return self.done(Done::Failed(error));
            }
            Done::RoomInfo { room, info } => self.rooms.set(&room, super::room::RoomHeader::from_info(&info)),
            Done::Acted { chat, message, said } => {
                // The list's preview as for any message sent: a deleted
                // text must leave it too.
                let open = self.view.as_ref().map(|v| v.chat.clone());
                self.keeping_selection(|app| app.chats.apply(&Notice::Sent(message.clone()), open.as_ref()));
                if let Some(view) = self.view.as_mut().filter(|v| v.is(&chat)) {
                    view.merge(vec![message], false);
                    view.scroll = 0;
                }
                if !said.is_empty() {
                    self.line = Some((said, false));
                }
            }
            Done::Found { words, messages } => {
                self.found = Some(SearchResults { words, messages, chosen: 0 });
            }
            Done::Prefs(prefs) => self.keeping_selection(|app| app.chats.set_prefs(prefs)),
            Done::Archived(chats) => self.keeping_selection(|app| app.chats.set_archived(chats)),
            Done::Starring { key, on, said } => {
                // Before the STAR event that follows, so that it changes nothing (`notice.rs`).
                if on {
                    self.stars.insert(key);
                } else {
                    self.stars.remove(&key);
                }
                self.line = Some((said, false));
            }
            Done::Starred(messages) => {
                self.stars = messages.iter().map(|m| star_key(&m.chat(&self.me), &m.from, &m.id)).collect();
            }
            Done::ChatList(list) => {
                self.keeping_selection(|app| {
                    app.chats.replace(list);
                    if let Some(view) = &app.view {
                        app.chats.ensure(&view.chat);
                        app.chats.set_read(&view.chat);
                    }
                });
            }
        }
        Vec::new()
    }

    /// `/chat` answered: the server's messages join what is on screen.
    fn opened(&mut self, opened: Opened) {
        if !self.is_open(&opened.chat) {
            self.open(opened.chat.clone(), Vec::new());
        }
        if let Some(view) = self.view.as_mut() {
            view.chat = opened.chat.clone();
            view.presence = opened.presence.or(view.presence);
            view.merge(opened.messages, !opened.offline);
            if opened.offline {
                view.top = Top::Offline;
            }
        }
        if self.line.is_none() {
            self.hint(); // a search's result may have come with the server's messages
        }
        self.keeping_selection(|app| {
            app.chats.ensure(&opened.chat);
            app.chats.set_read(&opened.chat);
        });
    }
}
