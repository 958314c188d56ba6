//! How the console shows things: one function per kind of line, pure
//! (language and data in, string out) so each can be tested and changed in
//! one place, and the [`Printer`] that puts lines on the screen. The words
//! are the catalogue's ([`crate::i18n::console`]); in Spanish `you` is
//! `tú`, in Portuguese `você`.
//!
//! ```text
//! ── Tuesday 2024-03-05 ──                 a new day (in a listing, or at midnight)
//! 14:02 bob: hola                          a direct message to you
//! 14:02 [#general] ana: hi all             a room message
//! 14:03 you → bob: hola …                  your message, as you send it
//!   ✓✓ read  (to bob: hola)                a change of its state
//! ana is online / ana went offline         presence
//! [#tea] carl joined the room              a member joined or left a room
//! 14:05 [p2p] bob: hola                    a message of a direct chat (no server)
//! ```
//!
//! Times are the local time zone's ([`crate::display::local_time`]); what
//! a line says of "today" is decided by the `now` passed in, so the tests
//! can pin it.

use parking_lot::Mutex;
use rustyline::ExternalPrinter;

use crate::client::{ChatSummary, Message, Notice, Presence};
use crate::display::{LocalTime, local_time};
use crate::i18n::console::{Msg, ticks};
use crate::i18n::{Lang, tr};
use crate::protocol::{Chat, MsgState};

/// Longest excerpt of a text quoted in a state line.
const EXCERPT: usize = 30;

/// Where console lines go.
pub enum Printer {
    /// Piped stdin: plain lines on stdout.
    Plain,
    /// A terminal: rustyline's printer writes above the line being typed,
    /// until `detached` (the console stopped in the middle of a read).
    Editor(Mutex<Box<dyn ExternalPrinter + Send>>, std::sync::atomic::AtomicBool),
}

impl Printer {
    /// The printer of a terminal, through rustyline.
    pub fn editor(printer: Box<dyn ExternalPrinter + Send>) -> Printer {
        Printer::Editor(Mutex::new(printer), std::sync::atomic::AtomicBool::new(false))
    }

    /// Prints one line (or several, for a multi-line message), with every
    /// control character made visible ([`crate::display::visible`]): the
    /// one door to the screen, whatever the line quotes.
    pub fn line(&self, text: &str) {
        let text = crate::display::visible(text);
        match self {
            Printer::Editor(printer, detached) if !detached.load(std::sync::atomic::Ordering::SeqCst) => {
                if printer.lock().print(format!("{text}\n")).is_err() {
                    println!("{text}");
                }
            }
            _ => {
                use std::io::Write;
                // stdout is line-buffered; a closed stdout only loses output.
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }
        }
    }

    /// True in a terminal.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Printer::Editor(..))
    }

    /// From now on, print straight to stdout: rustyline's read was cut
    /// short and will never draw what its printer is given.
    pub fn detach(&self) {
        if let Printer::Editor(_, detached) = self {
            detached.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// A message as a chat line, its time first. `me` decides between "you"
/// and a name.
pub fn message(lang: Lang, me: &str, m: &Message) -> String {
    format!("{} {}", local_time(m.ts).clock(), message_body(lang, me, m, Some(MAX_MESSAGE_LINES)))
}

/// The same, whole however long (`wachat history`, which a person asked
/// for and may page with `less`).
pub fn whole_message(lang: Lang, me: &str, m: &Message) -> String {
    format!("{} {}", local_time(m.ts).clock(), message_body(lang, me, m, None))
}

/// Most lines of one message the console prints: a message of 2,000 lines
/// (a paste, or a student's flood) would push the whole conversation off
/// the screen. The rest is said in one line, `… 1980 more lines`.
pub const MAX_MESSAGE_LINES: usize = 20;

/// The author of a room message as the console names her, and its
/// words: 1.3, a post that only the room's home vouches for is said to be
/// relayed by it, its marker off the words (`protocol::relayed`).
pub fn relayed_author(lang: Lang, m: &Message, whole: String) -> (String, String) {
    match crate::protocol::relayed::relayed_by(&m.from, &m.to.to_string(), &whole) {
        Some((home, words)) => {
            (tr!(in lang; Msg::RelayedAuthor, from = m.from, home = home), words.to_string())
        }
        None => (m.from.to_string(), whole),
    }
}

/// A message as a chat line, without its time; at most `max_lines` lines
/// of its text.
fn message_body(lang: Lang, me: &str, m: &Message, max_lines: Option<usize>) -> String {
    let whole = m.text.unescaped();
    let (from, whole) = relayed_author(lang, m, whole);
    // 1.2 (§21): a voice message by its length, its caption after; `/save` saves its file.
    let whole = match crate::protocol::files::voice(&whole) {
        Some((seconds, caption)) => {
            let length = crate::protocol::files::clock(seconds);
            let said = tr!(in lang; crate::i18n::files::Msg::Voice, length = length);
            if caption.is_empty() { said } else { format!("{said} {caption}") }
        }
        None => whole,
    };
    // 1.2 (§24): a call's line said from this side (`calllog`).
    let whole = super::calllog::said(lang, me, m, &whole).unwrap_or(whole);
    let text = match max_lines {
        Some(max) if whole.lines().count() > max => {
            let shown: Vec<&str> = whole.lines().take(max - 1).collect();
            let more = whole.lines().count() - shown.len();
            indent(&format!("{}\n{}", shown.join("\n"), tr!(in lang; Msg::MoreLines, n = more)))
        }
        _ => indent(&whole),
    };
    let mine = m.is_from(me);
    let line = match (&m.to, mine) {
        (Chat::Room(_), true) => tr!(in lang; Msg::MineInRoom, room = m.to, text = text),
        // 1.2: a room message that mentions me is marked (`protocol::mentions`).
        (Chat::Room(_), false) if crate::protocol::mentions::mentions(&whole, me) => {
            format!("{MENTION_MARK}[{}] {from}: {text}", m.to)
        }
        (Chat::Room(_), false) => format!("[{}] {from}: {text}", m.to),
        (Chat::User(to), true) => tr!(in lang; Msg::MineToUser, to = to, text = text),
        (Chat::User(_), false) => format!("{}: {text}", m.from),
    };
    let line = if m.p2p { format!("[p2p] {line}") } else { line };
    match (&m.refused, mine) {
        // The reason is the server's, as the local log kept it.
        (Some(reason), _) => format!("{line} ✗ ({reason})"),
        (None, true) if !super::calllog::is_call_line(m) => format!("{line} {}", ticks(lang, m.state)),
        (None, _) => line,
    }
}

/// What starts the line of a room message that mentions you (`@you`).
pub const MENTION_MARK: &str = "(@) ";

/// A notice from the client as a line. `lookup` finds the text of your
/// message by id, so that a state change can quote it.
pub fn notice(lang: Lang, me: &str, n: &Notice, lookup: impl Fn(&str) -> Option<Message>) -> String {
    match n {
        Notice::Message(m) | Notice::Sent(m) => message(lang, me, m),
        Notice::State { to, id, state } => state_change(lang, to, *state, lookup(id).as_ref()),
        Notice::Refused { to, code: Some(code), reason, .. } => {
            let meaning = crate::i18n::client::ko_meaning_in(lang, *code);
            tr!(in lang; Msg::NotDelivered, to = to, meaning = meaning, reason = reason)
        }
        // 1.3: a bounce, in the peer's words.
        Notice::Refused { to, id, code: None, reason } if id.is_empty() => {
            tr!(in lang; Msg::NotJoined, room = to, reason = reason)
        }
        Notice::Refused { to, code: None, reason, .. } => {
            tr!(in lang; Msg::Bounced, to = to, reason = reason)
        }
        Notice::Joined(user) => tr!(in lang; Msg::IsOnline, user = user),
        Notice::Left(user) => tr!(in lang; Msg::WentOffline, user = user),
        Notice::Member { room, user, joined: true } => {
            tr!(in lang; Msg::MemberJoined, room = room, user = user)
        }
        Notice::Member { room, user, joined: false } => {
            tr!(in lang; Msg::MemberLeft, room = room, user = user)
        }
        Notice::Typing { from, chat: Chat::Room(room) } => {
            format!("[#{room}] {}", tr!(in lang; Msg::Typing, user = from))
        }
        Notice::Typing { from, .. } => tr!(in lang; Msg::Typing, user = from),
        Notice::Moderation { room, by, change } => {
            super::moderation::line(lang, me, room, by, change).unwrap_or_default()
        }
        Notice::Offline(why) => tr!(in lang; Msg::Offline, why = why),
        Notice::Online => tr!(in lang; Msg::BackOnline),
        Notice::Replaced => tr!(in lang; Msg::Replaced),
        Notice::Ended(why) => why.clone(),
        Notice::ReadElsewhere { chat, .. } => tr!(in lang; Msg::ReadElsewhere, chat = chat),
        Notice::Unlinked => tr!(in lang; crate::i18n::client::Msg::UnlinkedHere, device = "", user = me),
        Notice::ServerChanged(moved) => crate::client::server_id::changed_text(lang, moved),
        Notice::P2pOpened { peer, incoming: true } => tr!(in lang; Msg::P2pOpenedByPeer, peer = peer),
        Notice::P2pOpened { peer, incoming: false } => tr!(in lang; Msg::P2pOpened, peer = peer),
        Notice::P2pClosed { peer, why, resent: 0 } => tr!(in lang; Msg::P2pEnded, peer = peer, why = why),
        Notice::P2pClosed { peer, why, resent } => {
            tr!(in lang; Msg::P2pEndedResent, peer = peer, why = why, n = resent)
        }
        Notice::Pref(_) | Notice::Blocked { .. } | Notice::Archived { .. } | Notice::Starred { .. } => {
            super::prefs::notice(lang, n)
        }
        Notice::Ringing { .. } | Notice::CallEnded { .. } | Notice::GroupCall { .. } => call_line(lang, n),
    }
}

/// A call's notice as the consoles' one line, empty for any other notice.
fn call_line(lang: Lang, notice: &Notice) -> String {
    use crate::i18n::calls::Msg;
    use crate::protocol::call::{End, Media};
    match notice {
        Notice::Ringing { from, media } => {
            let media = match media {
                Media::Voice => Msg::Voice,
                Media::Video => Msg::Video,
            };
            tr!(in lang; Msg::Ringing, user = from, media = media.text(lang))
        }
        Notice::CallEnded { by, why } => {
            let msg = match why {
                End::Declined => Msg::EndedDeclined,
                End::Hangup => Msg::EndedHangup,
                End::Missed => Msg::EndedMissed,
                End::Gone => Msg::EndedGone,
                End::Busy => Msg::EndedBusy,
            };
            tr!(in lang; msg, user = by)
        }
        Notice::GroupCall { room, by, media } => {
            let media = match media {
                Media::Voice => Msg::Voice,
                Media::Video => Msg::Video,
            };
            tr!(in lang; Msg::GroupStarted, room = room, user = by, media = media.text(lang))
        }
        _ => String::new(),
    }
}

/// The one line saying a direct chat could not be made, and what happens
/// instead: the user must know the server will see these messages.
pub fn no_direct_chat(lang: Lang, peer: &str, why: &str) -> String {
    tr!(in lang; Msg::NoDirectChat, peer = peer, why = why)
}

/// `  ✓✓ read  (to bob: hola)`: compact, one line per change.
fn state_change(lang: Lang, to: &Chat, state: MsgState, m: Option<&Message>) -> String {
    let ticks = ticks(lang, state);
    match m {
        Some(m) => {
            let excerpt = excerpt(&m.text.unescaped());
            tr!(in lang; Msg::StateOfMessage, ticks = ticks, to = to, excerpt = excerpt)
        }
        None => tr!(in lang; Msg::StateOfUnknown, ticks = ticks, to = to),
    }
}

/// The `/help` text.
pub fn help(lang: Lang) -> &'static str {
    Msg::Help.text(lang)
}

/// The first line of a text, cut at 30 characters (`EXCERPT`).
pub fn excerpt(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    if first.chars().count() > EXCERPT || first.len() < text.len() {
        format!("{}…", first.chars().take(EXCERPT).collect::<String>())
    } else {
        first.to_string()
    }
}

/// Continuation lines of a multi-line message, indented past the time of
/// the first: a line of a message can never pass for a line of its own.
fn indent(text: &str) -> String {
    text.replace('\n', "\n      ")
}

/// The line before the messages of a new day: `── today ──`,
/// `── yesterday ──`, `── Tuesday 2024-03-05 ──`.
pub fn date_line(lang: Lang, day: &LocalTime, now_ms: u64) -> String {
    tr!(in lang; Msg::DateLine, day = day_name(lang, day, now_ms))
}

/// `today`, `yesterday`, or the weekday and the date.
fn day_name(lang: Lang, day: &LocalTime, now_ms: u64) -> String {
    if day.same_day(&local_time(now_ms)) {
        return Msg::Today.text(lang).to_string();
    }
    if day.same_day(&local_time(now_ms.saturating_sub(DAY_MS))) {
        return Msg::Yesterday.text(lang).to_string();
    }
    let weekday =
        [Msg::Sunday, Msg::Monday, Msg::Tuesday, Msg::Wednesday, Msg::Thursday, Msg::Friday, Msg::Saturday]
            [day.weekday as usize % 7];
    format!("{} {}", weekday.text(lang), day.date())
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// When something happened, as short as it can be said: `14:02` today,
/// `yesterday 14:02`, `Tuesday 2024-03-05 14:02`.
pub fn when(lang: Lang, ts: u64, now_ms: u64) -> String {
    let t = local_time(ts);
    if t.same_day(&local_time(now_ms)) {
        return t.clock();
    }
    format!("{} {}", day_name(lang, &t, now_ms), t.clock())
}

/// The lines of a conversation (`wachat history`): each message with its
/// time, and a date line before the first one of each day, today's
/// included: the lines are often read later, or elsewhere, than printed.
pub fn listing(lang: Lang, me: &str, messages: &[Message], now_ms: u64) -> Vec<String> {
    let mut lines = Vec::with_capacity(messages.len() + 2);
    let mut day: Option<LocalTime> = None;
    for m in messages {
        let t = local_time(m.ts);
        if !day.is_some_and(|d| d.same_day(&t)) {
            lines.push(date_line(lang, &t, now_ms));
        }
        day = Some(t);
        lines.push(whole_message(lang, me, m));
    }
    lines
}

/// `online`, `last seen today 14:02`, `offline`.
pub fn presence(lang: Lang, p: Presence, now_ms: u64) -> String {
    match p {
        Presence::Online => Msg::Online.text(lang).to_string(),
        Presence::LastSeen(ts) => {
            let t = local_time(ts);
            let when = format!("{} {}", day_name(lang, &t, now_ms), t.clock());
            tr!(in lang; Msg::LastSeen, when = when)
        }
        Presence::Unknown => Msg::OfflineUser.text(lang).to_string(),
    }
}

/// One line of `/chats`: the chat, whether the peer is online, how many
/// messages are unread, when the last one came, and its first words.
/// `direct`: a direct chat (P2P) is open with the peer.
pub fn chat_line(lang: Lang, me: &str, c: &ChatSummary, direct: bool, now_ms: u64) -> String {
    let mut line = c.chat.to_string();
    if direct {
        line.push_str(" [p2p]");
    }
    if c.online == Some(true) {
        line.push_str(Msg::OnlineMark.text(lang));
    }
    if c.unread > 0 {
        line.push_str(&tr!(in lang; Msg::UnreadMark, n = c.unread));
    }
    if let Some(m) = &c.last {
        let who = match m.is_from(me) {
            true => Msg::You.text(lang).to_string(),
            false => m.from.clone(),
        };
        line.push_str(&format!("  {}  {who}: {}", when(lang, m.ts, now_ms), excerpt(&m.text.unescaped())));
    }
    line
}

/// True if a moderation notice says nothing to `me` (it is about someone
/// else: the room's text says it).
pub fn notice_is_empty(room: &str, by: &str, change: &crate::protocol::Change, me: &str) -> bool {
    super::moderation::line(Lang::En, me, room, by, change).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_a_line_in_each_language() {
        use crate::protocol::call::{End, Media};
        let ringing = Notice::Ringing { from: "ana".into(), media: Media::Video };
        assert_eq!(call_line(Lang::En, &ringing), "📞 ana is calling (video): answer in the browser");
        assert_eq!(
            call_line(Lang::Es, &ringing),
            "📞 ana te está llamando (vídeo): contesta en el navegador"
        );
        let group = Notice::GroupCall { room: "#lab".into(), by: "ana".into(), media: Media::Voice };
        assert_eq!(
            call_line(Lang::En, &group),
            "📞 #lab: call started by ana (voice) — join from the browser"
        );
        let gone = Notice::CallEnded { by: "bob".into(), why: End::Gone };
        assert_eq!(call_line(Lang::Pt, &gone), "📞 a chamada terminou: bob saiu");
    }
    use crate::protocol::{Code, Text};

    const EN: Lang = Lang::En;

    /// A line of a message sent at `ts` 1 (the time depends on the zone).
    fn at(line: &str) -> String {
        format!("{} {line}", local_time(1).clock())
    }

    fn m(from: &str, to: &str, text: &str, state: MsgState) -> Message {
        Message {
            from: from.into(),
            to: Chat::parse(to).unwrap(),
            id: "m1".into(),
            ts: 1,
            state,
            text: Text::from_plain(text).unwrap(),
            refused: None,
            p2p: false,
        }
    }

    #[test]
    fn messages_read_like_a_chat() {
        assert_eq!(message(EN, "ana", &m("bob", "ana", "hola", MsgState::Delivered)), at("bob: hola"));
        assert_eq!(message(EN, "ana", &m("ana", "bob", "hola", MsgState::Sent)), at("you → bob: hola …"));
        assert_eq!(message(EN, "ana", &m("Ana", "bob", "hi", MsgState::Read)), at("you → bob: hi ✓✓ read"));
        assert_eq!(
            message(EN, "ana", &m("bob", "#general", "hi", MsgState::Received)),
            at("[#general] bob: hi")
        );
        assert_eq!(
            message(EN, "ana", &m("ana", "#general", "hi", MsgState::Received)),
            at("[#general] you: hi ✓")
        );
        assert_eq!(
            message(EN, "ana", &m("bob", "ana", "one\ntwo", MsgState::Delivered)),
            at("bob: one\n      two")
        );
        let mut refused = m("ana", "zed", "hi", MsgState::Sent);
        refused.refused = Some("no such user".into());
        assert_eq!(message(EN, "ana", &refused), at("you → zed: hi ✗ (no such user)"));
    }

    #[test]
    fn a_post_only_its_room_s_home_vouches_for_says_so() {
        let relayed = m("eve@lab3", "#lab@lab2", "[relayed by lab2] hi all", MsgState::Received);
        assert_eq!(message(EN, "ana", &relayed), at("[#lab@lab2] eve@lab3 (relayed by lab2): hi all"));
        let own = m("zoe@lab2", "#lab@lab2", "[relayed by lab2] hi all", MsgState::Received);
        assert_eq!(message(EN, "ana", &own), at("[#lab@lab2] zoe@lab2: [relayed by lab2] hi all"));
    }

    #[test]
    fn a_voice_message_reads_as_one_with_its_length() {
        let voice = m("bob", "ana", "📎 voice-12s.webm (9 KB)", MsgState::Delivered);
        assert_eq!(message(EN, "ana", &voice), at("bob: 🎤 voice message (0:12)"));
        let captioned = m("bob", "#lab", "📎 voice-75s.ogg (30 KB) listen", MsgState::Received);
        assert_eq!(message(EN, "ana", &captioned), at("[#lab] bob: 🎤 voice message (1:15) listen"));
        let other = m("bob", "ana", "📎 voice-memo.webm (9 KB)", MsgState::Delivered);
        assert_eq!(message(EN, "ana", &other), at("bob: 📎 voice-memo.webm (9 KB)"));
    }

    #[test]
    fn a_message_of_many_lines_shows_its_first_and_how_many_more_but_history_shows_it_whole() {
        let tall = vec!["l"; 2_000].join("\n");
        let shown = message(EN, "ana", &m("bob", "ana", &tall, MsgState::Delivered));
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), MAX_MESSAGE_LINES);
        assert_eq!(lines[MAX_MESSAGE_LINES - 1], "      … 1981 more lines (wachat history prints it whole)");
        let whole = whole_message(EN, "ana", &m("bob", "ana", &tall, MsgState::Delivered));
        assert_eq!(whole.lines().count(), 2_000);
        // Up to the limit, nothing changes.
        let twenty = vec!["l"; MAX_MESSAGE_LINES].join("\n");
        assert_eq!(message(EN, "ana", &m("bob", "ana", &twenty, MsgState::Delivered)).lines().count(), 20);
    }

    #[test]
    fn listings_have_a_date_line_for_each_day_today_included() {
        let now = 1_709_647_320_000; // some moment; the lines depend on the zone
        let ago = |days: u64| now - days * DAY_MS;
        let at =
            |ts: u64, id: &str| Message { ts, id: id.into(), ..m("bob", "ana", id, MsgState::Delivered) };
        let messages = [at(ago(3), "a"), at(ago(3) + 1, "b"), at(ago(1), "c"), at(now, "d")];
        let lines = listing(EN, "ana", &messages, now);
        let t = |ts: u64| local_time(ts);
        let weekday = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
        let old = t(ago(3));
        assert_eq!(
            lines,
            [
                format!("── {} {} ──", weekday[old.weekday as usize], old.date()),
                format!("{} bob: a", old.clock()),
                format!("{} bob: b", t(ago(3) + 1).clock()),
                "── yesterday ──".to_string(),
                format!("{} bob: c", t(ago(1)).clock()),
                "── today ──".to_string(),
                format!("{} bob: d", t(now).clock()),
            ]
        );
        // Today's messages alone get theirs too: a listing always says its day.
        assert_eq!(
            listing(EN, "ana", &messages[3..], now),
            ["── today ──".to_string(), format!("{} bob: d", t(now).clock())]
        );
        assert_eq!(when(EN, now, now), t(now).clock());
        assert_eq!(when(Lang::Es, ago(1), now), format!("ayer {}", t(ago(1)).clock()));
        assert_eq!(
            presence(EN, Presence::LastSeen(ago(1)), now),
            format!("last seen yesterday {}", t(ago(1)).clock())
        );
        assert_eq!(presence(Lang::Pt, Presence::Online, now), "online");
        assert_eq!(presence(Lang::Es, Presence::Unknown, now), "sin conexión");
    }

    #[test]
    fn a_chat_list_line_says_who_unread_when_and_what() {
        let now = 1_709_647_320_000;
        let last = Message { ts: now, ..m("ana", "bob", "see you\nat 8", MsgState::Read) };
        let mut chat =
            ChatSummary { chat: Chat::User("bob".into()), unread: 2, last: Some(last), online: Some(true) };
        let clock = local_time(now).clock();
        assert_eq!(
            chat_line(EN, "ana", &chat, false, now),
            format!("bob (online), 2 unread  {clock}  you: see you…")
        );
        chat.online = Some(false);
        chat.unread = 0;
        assert_eq!(chat_line(Lang::Es, "ana", &chat, true, now), format!("bob [p2p]  {clock}  tú: see you…"));
        let room = ChatSummary { chat: Chat::Room("general".into()), unread: 0, last: None, online: None };
        assert_eq!(chat_line(EN, "ana", &room, false, now), "#general");
    }

    #[test]
    fn state_changes_are_one_short_line() {
        let sent = m("ana", "bob", "a rather long message that goes on and on", MsgState::Sent);
        let n = Notice::State { to: Chat::User("bob".into()), id: "m1".into(), state: MsgState::Read };
        let line = notice(EN, "ana", &n, |_| Some(sent.clone()));
        assert_eq!(line, "  ✓✓ read  (to bob: a rather long message that goe…)");
        assert_eq!(notice(EN, "ana", &n, |_| None), "  ✓✓ read  (to bob)");
        assert_eq!(notice(EN, "ana", &Notice::Joined("bob".into()), |_| None), "bob is online");
        assert_eq!(notice(EN, "ana", &Notice::Left("bob".into()), |_| None), "bob went offline");
    }

    #[test]
    fn direct_chats_are_marked_p2p() {
        let direct = |m: Message| Message { p2p: true, ..m };
        assert_eq!(
            message(EN, "ana", &direct(m("bob", "ana", "hola", MsgState::Delivered))),
            at("[p2p] bob: hola")
        );
        assert_eq!(
            message(EN, "ana", &direct(m("ana", "bob", "hi", MsgState::Sent))),
            at("[p2p] you → bob: hi …")
        );
        let closed =
            Notice::P2pClosed { peer: "bob".into(), why: "bob closed the connection".into(), resent: 2 };
        assert_eq!(
            notice(EN, "ana", &closed, |_| None),
            "[p2p] direct chat with bob ended (bob closed the connection); \
             2 unacknowledged message(s) resent through the server"
        );
        let opened = Notice::P2pOpened { peer: "ana".into(), incoming: true };
        assert!(notice(EN, "bob", &opened, |_| None).starts_with("[p2p] ana opened a direct chat with you"));
        assert_eq!(no_direct_chat(EN, "bob", "bob is offline").lines().count(), 1);
    }

    #[test]
    fn lines_speak_spanish_and_portuguese() {
        let mine = m("ana", "bob", "hola", MsgState::Read);
        assert_eq!(message(Lang::Es, "ana", &mine), at("tú → bob: hola ✓✓ leído"));
        assert_eq!(message(Lang::Pt, "ana", &mine), at("você → bob: hola ✓✓ lido"));
        let room = m("ana", "#general", "oi", MsgState::Received);
        assert_eq!(message(Lang::Pt, "ana", &room), at("[#general] você: oi ✓"));
        let n = Notice::State { to: Chat::User("bob".into()), id: "m1".into(), state: MsgState::Read };
        assert_eq!(notice(Lang::Es, "ana", &n, |_| Some(mine.clone())), "  ✓✓ leído  (a bob: hola)");
        assert_eq!(notice(Lang::Pt, "ana", &n, |_| None), "  ✓✓ lido  (para bob)");
        assert_eq!(notice(Lang::Es, "ana", &Notice::Joined("bob".into()), |_| None), "bob está en línea");
        assert_eq!(notice(Lang::Pt, "ana", &Notice::Left("bob".into()), |_| None), "bob ficou offline");
        // A refusal: the code's meaning translated, the server's reason as it came.
        let refused = Notice::Refused {
            to: Chat::User("zed".into()),
            id: "m1".into(),
            code: Some(Code::UnknownUser),
            reason: "no user named zed".into(),
        };
        assert_eq!(
            notice(Lang::Es, "ana", &refused, |_| None),
            "  ✗ no entregado a zed (ese usuario no existe): no user named zed"
        );
        // 1.3: a bounce has the peer's words and no code; a JOIN refused no id.
        let reason = "lab2 refused it: lab2 has no user zed".to_string();
        let bounced =
            Notice::Refused { to: Chat::User("zed@lab2".into()), id: "m1".into(), code: None, reason };
        assert_eq!(
            notice(Lang::En, "ana", &bounced, |_| None),
            "  ✗ not delivered to zed@lab2: lab2 refused it: lab2 has no user zed"
        );
        let reason = "lab2 refused it: lab2 has no room #nope".to_string();
        let join =
            Notice::Refused { to: Chat::Room("nope@lab2".into()), id: String::new(), code: None, reason };
        assert_eq!(
            notice(Lang::Pt, "ana", &join, |_| None),
            "  ✗ não entrou em #nope@lab2: lab2 refused it: lab2 has no room #nope"
        );
        assert!(help(Lang::Pt).starts_with("comandos:\n"));
        assert!(help(Lang::Es).contains("/chat <usuario|#sala>"));
    }
}
