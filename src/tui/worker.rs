//! The worker thread: everything that waits for the server, away from the
//! thread that draws. A command (`/users`, `/chat bob`) is a round trip,
//! and a slow or lost server would freeze the screen for up to the
//! timeout; here it only delays that command's answer, while keys, ticks
//! and new messages go on being shown.
//!
//! One thread, so the work is done in the order it was asked: `/chat bob`
//! then a message is opened, then sent. Every command goes through the
//! same [`ConsoleSession`] as the line console's; its [`Output`] here collects the
//! answer and hands it back to the screen's loop as a [`Done`].

use std::cell::RefCell;

use crossbeam_channel::{Receiver, Sender};

use crate::client::{ChatSummary, Message, Page, Resume};
use crate::console::command::Typed;
use crate::console::session::{ConsoleSession, Opened, Output};
use crate::protocol::Chat;

/// Messages asked for each time the conversation is scrolled past its top.
pub const PAGE: usize = 50;

/// Work for the worker thread.
#[derive(Debug)]
pub enum Work {
    /// A command, as the line console would do it.
    Command(Typed),
    /// This message was shown: `READ`.
    Read(Message),
    /// The page of `chat` before the messages shown.
    /// The page above `shown`; `resume`: where the last one from the
    /// server said it starts.
    Earlier { chat: Chat, shown: Vec<Message>, resume: Option<Resume> },
    /// The chat list again, from the server (after a reconnection).
    ChatList,
    /// 1.2: a room's rules for its header (`ROOMINFO`).
    RoomInfo(Chat),
    /// 1.2: an action on a message chosen on screen, or a search.
    Act(Intent),
}

/// 1.2: what the select mode (`select.rs`) asks of a message `target` of
/// `chat`, or a search of every chat.
#[derive(Debug)]
pub enum Intent {
    Reply {
        chat: Chat,
        target: Message,
        text: String,
    },
    Edit {
        chat: Chat,
        target: Message,
        text: String,
    },
    Delete {
        chat: Chat,
        target: Message,
    },
    React {
        chat: Chat,
        target: Message,
        emoji: String,
    },
    /// 1.2 (§31): `i` on a chosen message: who of its room has it.
    Info {
        target: Message,
    },
    /// 1.2 (§25): `*` on a chosen message: starred (`on`) or the star taken back.
    Star {
        chat: Chat,
        target: Message,
        on: bool,
    },
    Search(String),
}

/// What came of it, for the screen's loop.
#[derive(Debug)]
pub enum Done {
    /// A command's answer, a line each.
    Answer(Vec<String>),
    /// A command failed: why, in the user's words.
    Failed(String),
    /// `/chat` or `/history` opened a chat.
    Opened(Opened),
    /// After `/p2p` or `/leave`: the chat the session has open now.
    OpenChat(Option<Chat>),
    Page {
        chat: Chat,
        page: Page,
    },
    PageFailed {
        chat: Chat,
        error: String,
    },
    ChatList(Vec<ChatSummary>),
    /// 1.2 (§22): the chats' notification levels and pins (`PREFS`).
    Prefs(Vec<crate::protocol::PrefLine>),
    /// 1.2 (§23): the archived chats (`ARCHIVED`).
    Archived(Vec<Chat>),
    /// 1.2 (§25): the starred messages (`STARRED`).
    Starred(Vec<Message>),
    /// 1.2 (§25): a message starred (`on`) or not any more, by `*` here.
    Starring {
        key: String,
        on: bool,
        said: String,
    },
    /// 1.2: a room's rules, for its header.
    RoomInfo {
        room: Chat,
        info: Vec<crate::protocol::RoomInfoLine>,
    },
    /// 1.2: an action the server took, as logged (a reply, or the action's
    /// own message, which the open chat folds in), and what to say.
    Acted {
        chat: Chat,
        message: Message,
        said: String,
    },
    /// 1.2: a search's results, newest first.
    Found {
        words: String,
        messages: Vec<Message>,
    },
}

/// A command's output, collected.
#[derive(Default)]
struct Collect {
    lines: RefCell<Vec<String>>,
    opened: RefCell<Option<Opened>>,
}

impl Output for Collect {
    fn line(&self, text: &str) {
        self.lines.borrow_mut().push(text.to_string());
    }

    fn chat(&self, opened: &Opened) {
        *self.opened.borrow_mut() = Some(opened.clone());
    }
}

/// Runs until `work` is disconnected (the screen's loop has ended).
pub fn run(session: &ConsoleSession, work: Receiver<Work>, done: Sender<Done>) {
    for job in work {
        for answer in answer(session, job) {
            if done.send(answer).is_err() {
                return;
            }
        }
    }
}

fn answer(session: &ConsoleSession, job: Work) -> Vec<Done> {
    let client = session.client;
    match job {
        Work::Command(command) => {
            let follows_open = matches!(command, Typed::P2p(_) | Typed::Leave(_));
            let out = Collect::default();
            let result = session.act(command, &out);
            let mut answers = Vec::new();
            if let Some(opened) = out.opened.into_inner() {
                let room = opened.chat.clone();
                answers.push(Done::Opened(opened));
                answers.extend(room_info(client, room));
            }
            answers.push(Done::Answer(out.lines.into_inner()));
            if let Err(e) = result {
                answers.push(Done::Failed(e.to_string()));
            }
            if follows_open {
                answers.push(Done::OpenChat(session.open_chat()));
            }
            answers
        }
        Work::Read(message) => {
            session.mark_read(&message);
            Vec::new()
        }
        Work::Earlier { chat, shown, resume } => match client.earlier(&chat, &shown, PAGE, resume.as_ref()) {
            Ok(page) => vec![Done::Page { chat, page }],
            Err(e) => vec![Done::PageFailed { chat, error: e.to_string() }],
        },
        Work::ChatList => match client.chat_list() {
            // 1.2: with the levels and pins, and the archived chats (an
            // older server has none).
            Ok((list, _offline)) => vec![
                Done::ChatList(list),
                Done::Prefs(client.prefs().unwrap_or_default()),
                Done::Archived(client.archived().unwrap_or_default()),
                Done::Starred(client.starred().unwrap_or_default()),
            ],
            Err(e) => vec![Done::Failed(e.to_string())],
        },
        Work::RoomInfo(room) => room_info(client, room).into_iter().collect(),
        Work::Act(act) => vec![acted(session, act).unwrap_or_else(|e| Done::Failed(e.to_string()))],
    }
}

/// Carries out an action of the select mode (as the console's `/reply`,
/// `/edit`, `/delete`, `/react` and `/search` do).
fn acted(session: &ConsoleSession, act: Intent) -> crate::error::Result<Done> {
    use crate::i18n::tr;
    use crate::i18n::tui::Msg;
    let (client, lang) = (session.client, session.lang);
    let done = |chat: Chat, message: Message, said: String| Done::Acted { chat, message, said };
    Ok(match act {
        Intent::Reply { chat, target, text } => {
            let m = client.reply(&chat, &target, &text)?;
            done(chat, m, String::new())
        }
        Intent::Edit { chat, target, text } => {
            let m = client.edit(&chat, &target.id, &text)?;
            done(chat, m, Msg::EditedIt.text(lang).to_string())
        }
        Intent::Delete { chat, target } => {
            let m = client.delete(&chat, &target)?;
            done(chat, m, Msg::DeletedIt.text(lang).to_string())
        }
        Intent::React { chat, target, emoji } => {
            let m = client.react(&chat, &target, &emoji)?;
            let said = match crate::client::actions::is_added(&m) {
                true => tr!(in lang; Msg::ReactedWith, emoji = emoji),
                false => tr!(in lang; Msg::TookBack, emoji = emoji),
            };
            done(chat, m, said)
        }
        Intent::Star { chat, target, on } => {
            client.star(&chat, &target, on)?;
            let said = if on { Msg::StarredIt } else { Msg::UnstarredIt };
            Done::Starring {
                key: crate::protocol::prefs::star_key(&chat, &target.from, &target.id),
                on,
                said: said.text(lang).to_string(),
            }
        }
        Intent::Info { target } => {
            let which = format!("“{}”", crate::console::view::excerpt(&target.text.unescaped()));
            Done::Answer(crate::console::receipts::of_message(lang, client, &which, &target)?)
        }
        Intent::Search(words) => Done::Found { messages: client.search(None, &words)?, words },
    })
}

/// A room's `ROOMINFO` (1.2), if it is a room and the server says.
fn room_info(client: &crate::client::Client, room: Chat) -> Option<Done> {
    let Chat::Room(_) = &room else { return None };
    let info = crate::console::moderation::room_info(client, &room.to_string())?;
    Some(Done::RoomInfo { room, info })
}
