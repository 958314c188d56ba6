//! Render tests: an [`App`] built by hand, drawn on ratatui's
//! `TestBackend`, read back as rows of text (and styles where they carry
//! meaning). No terminal, no server.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use unicode_width::UnicodeWidthStr;

use super::super::app::{App, ConnectionStatus, Focus};
use super::super::conversation::{ChatView, Top};
use super::super::theme::Theme;
use crate::client::{ChatSummary, Message, Presence};
use crate::display::local_time;
use crate::i18n::Lang;
use crate::protocol::{Chat, MsgState, Text};

/// 2024-03-05 14:02 UTC: "now" in every test.
const NOW: u64 = 1_709_647_320_000;
const MINUTE: u64 = 60_000;

fn msg(from: &str, to: &str, id: &str, minutes_ago: u64, state: MsgState, text: &str) -> Message {
    Message {
        from: from.into(),
        to: Chat::parse(to).unwrap(),
        id: id.into(),
        ts: NOW - minutes_ago * MINUTE,
        state,
        text: Text::from_plain(text).unwrap(),
        refused: None,
        p2p: false,
    }
}

fn clock(minutes_ago: u64) -> String {
    local_time(NOW - minutes_ago * MINUTE).clock()
}

/// ana's screen: bob online with 2 unread, #general, dave over P2P.
fn app(color: bool) -> App {
    let mut app = App::new(Lang::En, "ana", "127.0.0.1:6666", Theme { color });
    app.now = NOW;
    app.chats.replace(vec![
        ChatSummary {
            chat: Chat::User("bob".into()),
            unread: 2,
            last: Some(msg("bob", "ana", "b2", 5, MsgState::Delivered, "sí, a las 8")),
            online: Some(true),
        },
        ChatSummary {
            chat: Chat::Room("general".into()),
            unread: 0,
            last: Some(msg("carl", "#general", "c1", 10, MsgState::Received, "who's up for lunch?")),
            online: None,
        },
        ChatSummary {
            chat: Chat::User("dave".into()),
            unread: 0,
            last: Some(msg("ana", "dave", "a9", 60 * 24, MsgState::Read, "see you")),
            online: Some(false),
        },
    ]);
    app.direct.insert("dave".into());
    app
}

fn draw(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| _ = super::draw(frame, app)).unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as rows of text (a wide character once, not once per cell).
fn rows(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            let mut row = String::new();
            let mut skip = 0;
            for x in 0..area.width {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let symbol = buffer[(x, y)].symbol();
                skip = symbol.width().saturating_sub(1);
                row.push_str(symbol);
            }
            row
        })
        .collect()
}

fn row_with<'a>(rows: &'a [String], needle: &str) -> &'a str {
    rows.iter()
        .find(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in\n{}", rows.join("\n")))
}

#[test]
fn the_chat_list_shows_badges_previews_times_online_dots_and_p2p() {
    let app = app(true);
    let buffer = draw(&app, 80, 24);
    let rows = rows(&buffer);
    let list: Vec<String> = rows.iter().map(|r| r.chars().take(24).collect()).collect();
    assert_eq!(list[0], "┌ Chats ───────────────┐");
    assert_eq!(list[1], format!("│● bob            {}│", clock(5)));
    assert_eq!(list[2], "│  sí, a las 8       2 │");
    assert_eq!(list[3], format!("│  #general       {}│", clock(10)));
    assert_eq!(list[4], "│  carl: who's up for… │");
    assert_eq!(list[5], "│  dave [p2p] yesterday│");
    assert_eq!(list[6], "│  ✓✓ read see you     │");
    // The badge stands out; the online dot is green; the chosen chat reversed.
    let badge = buffer[(20, 2)].style();
    assert_eq!((badge.fg, badge.bg), (Some(Color::Black), Some(Color::Green)));
    assert_eq!(buffer[(1, 1)].style().fg, Some(Color::Green));
    assert!(buffer[(5, 1)].style().add_modifier.contains(ratatui::style::Modifier::REVERSED));
    assert!(!buffer[(5, 3)].style().add_modifier.contains(ratatui::style::Modifier::REVERSED));
}

/// bob's chat with one message of yours in each state.
fn conversation(app: &mut App) {
    let mut refused = msg("ana", "bob", "a6", 1, MsgState::Sent, "to nobody");
    refused.refused = Some("no user named bob".into());
    let mut direct = msg("ana", "bob", "a7", 0, MsgState::Delivered, "straight to you");
    direct.p2p = true;
    let messages = vec![
        msg("bob", "ana", "b1", 60 * 24 + 5, MsgState::Read, "¿tienes los apuntes?"),
        msg("ana", "bob", "a1", 6, MsgState::Read, "mañana te los paso"),
        msg("ana", "bob", "a2", 5, MsgState::Delivered, "delivered"),
        msg("ana", "bob", "a3", 4, MsgState::Received, "on the server"),
        msg("ana", "bob", "a4", 3, MsgState::Sent, "on its way"),
        msg("bob", "ana", "b2", 2, MsgState::Delivered, "sí, a las 8"),
        refused,
        direct,
    ];
    let mut view = ChatView::new("ana", Chat::User("bob".into()), messages, 1);
    view.presence = Some(Presence::Online);
    view.top = Top::Start;
    app.view = Some(view);
    app.focus = Focus::Input;
}

#[test]
fn a_conversation_shows_every_tick_in_place_and_read_in_colour() {
    let mut app = app(true);
    conversation(&mut app);
    let buffer = draw(&app, 80, 24);
    let rows = rows(&buffer);
    assert!(rows[0].contains("┌ bob · online "), "{}", rows[0]);
    let read = row_with(&rows, "mañana te los paso");
    assert!(read.ends_with(&format!("mañana te los paso {} ✓✓ read│", clock(6))), "{read}");
    let ends = |text: &str, ticks: &str, ago| {
        let row = row_with(&rows, text);
        assert!(row.ends_with(&format!("{text} {} {ticks}│", clock(ago))), "{row}");
    };
    ends("delivered", "✓✓", 5);
    ends("on the server", "✓", 4);
    ends("on its way", "…", 3);
    ends("to nobody", "✗", 1);
    ends("[p2p] straight to you", "✓✓", 0);
    assert!(row_with(&rows, "not delivered").ends_with("✗ not delivered: no user named bob│"));
    // Theirs on the left with their time; a date line per day; the unread line.
    assert!(rows.iter().any(|r| r.contains(&format!("││{} sí, a las 8    ", clock(2)))));
    let order: Vec<usize> =
        ["── start of the conversation ──", "── yesterday ──", "── today ──", "── 1 unread"]
            .iter()
            .map(|needle| rows.iter().position(|r| r.contains(needle)).unwrap())
            .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let theirs = format!("{} sí, a las 8", clock(2));
    assert!(
        rows.iter().position(|r| r.contains("── 1 unread")) < rows.iter().position(|r| r.contains(&theirs))
    );
    // "read" in colour, the other ticks dim.
    let y = rows.iter().position(|r| r.contains("mañana te los paso")).unwrap() as u16;
    assert_eq!(buffer[(77, y)].style().fg, Some(Color::Cyan));
    let y = rows.iter().position(|r| r.contains("delivered ")).unwrap() as u16;
    assert_eq!(buffer[(77, y)].style().fg, Some(Color::DarkGray));
    // A notice about the chat stands among its messages, at its time.
    let note = super::super::conversation::Note { ts: NOW - 2 * MINUTE - 1, text: "bob is online".into() };
    app.notes.add(&Chat::User("BOB".into()), note);
    let shown = self::rows(&draw(&app, 80, 24));
    let at = |needle: &str| shown.iter().position(|r| r.contains(needle)).unwrap();
    assert!(
        at("on its way") < at("bob is online") && at("bob is online") < at(&theirs),
        "{}",
        shown.join("\n")
    );
    assert!(row_with(&shown, "bob is online").contains("      bob is online      "), "centred");
}

#[test]
fn the_status_line_says_offline_reconnecting_and_what_waits() {
    let mut app = app(true);
    let status = |app: &App| rows(&draw(app, 80, 24))[23].clone();
    let connected = " ● connected │ ana @ 127.0.0.1:6666 │ outbox 0 │ bell on                F1 keys ";
    assert_eq!(status(&app), connected);
    app.link = ConnectionStatus::Reconnecting("the server closed the connection".into());
    app.pending = 3;
    app.bell = false;
    let line = status(&app);
    // The help key makes room for why.
    assert_eq!(line, " ○ reconnecting: the server close… │ ana @ 127.0.0.1:6666 │ outbox 3 │ bell off ");
    app.link = ConnectionStatus::Offline("no server at 127.0.0.1:6666".into());
    assert!(status(&app).starts_with(" ✗ offline: no server"));
    // And in Spanish.
    app.lang = Lang::Es;
    assert!(status(&app).starts_with(" ✗ sin conexión: no server"), "{}", status(&app));
}

#[test]
fn an_80_by_24_screen_whole() {
    let mut app = app(true);
    conversation(&mut app);
    app.editor.paste("hola bob,\nnos vemos");
    // `@5` is the time 5 minutes before now (the zone decides how it reads).
    let expected = "\
┌ Chats ───────────────┐┌ bob · online ────────────────────────────────────────┐
│● bob            @5│││                                                      │
│  sí, a las 8       2 ││                                                      │
│  #general       @10│││                                                      │
│  carl: who's up for… ││                                                      │
│  dave [p2p] yesterday││            ── start of the conversation ──           │
│  ✓✓ read see you     ││                    ── yesterday ──                   │
│                      ││@Y ¿tienes los apuntes?                            │
│                      ││                      ── today ──                     │
│                      ││                      mañana te los paso @6 ✓✓ read│
│                      ││                                    delivered @5 ✓✓│
│                      ││                                 on the server @4 ✓│
│                      ││                                    on its way @3 …│
│                      ││               ── 1 unread message(s) ──              │
│                      ││@2 sí, a las 8                                     │
│                      ││                                     to nobody @1 ✗│
│                      ││                    ✗ not delivered: no user named bob│
│                      ││                        [p2p] straight to you @0 ✓✓│
└──────────────────────┘└──────────────────────────────────────────────────────┘
┌ message to bob ──────────────────────────── Enter sends · Alt+Enter new line ┐
│hola bob,                                                                     │
│nos vemos                                                                     │
└──────────────────────────────────────────────────────────────────────────────┘
 ● connected │ ana @ 127.0.0.1:6666 │ outbox 0 │ bell on                F1 keys ";
    let mut expected = expected.replace("@Y", &clock(60 * 24 + 5));
    for ago in [10, 6, 5, 4, 3, 2, 1, 0] {
        expected = expected.replace(&format!("@{ago}"), &clock(ago));
    }
    // The `@5│` of the first line was one `│` short of the frame's.
    let expected = expected.replace("│││", "││");
    let got = rows(&draw(&app, 80, 24)).join("\n");
    assert_eq!(got, expected, "got:\n{got}");
}

#[test]
fn no_colour_with_no_color() {
    let mut app = app(false);
    conversation(&mut app);
    app.link = ConnectionStatus::Reconnecting("gone".into());
    let buffer = draw(&app, 80, 24);
    for cell in buffer.content() {
        let style = cell.style();
        assert!(matches!(style.fg, None | Some(Color::Reset)), "{cell:?}");
        assert!(matches!(style.bg, None | Some(Color::Reset)), "{cell:?}");
    }
    // The same words say it: read is "read".
    assert!(rows(&buffer).iter().any(|r| r.contains("✓✓ read")));
}

#[test]
fn hostile_text_never_breaks_the_frame() {
    let mut app = app(true);
    let evil = [
        "\u{1b}[2J\u{1b}]0;owned\u{7}clear",
        "tab\there\r\u{8}\u{7f}",
        "evil\u{202E}txt.exe \u{200B}\u{FEFF}",
        "你好你好你好你好你好你好你好你好你好你好你好你好你好你好你好你好你好你好",
        "👨\u{200D}👩\u{200D}👧 👍\u{1F3FD} ❤\u{FE0F} e\u{301}",
        &"x".repeat(300),
        "line one\nline two\n\n\nline five",
    ];
    let messages = evil
        .iter()
        .enumerate()
        .map(|(i, t)| msg("bob", "ana", &format!("e{i}"), 9 - i as u64, MsgState::Delivered, t));
    let mut mine = msg("ana", "bob", "m", 0, MsgState::Read, evil[3]);
    mine.text = Text::from_plain(&format!("{}{}", evil[0], evil[4])).unwrap();
    app.view = Some(ChatView::new("ana", Chat::User("bob".into()), messages.chain([mine]).collect(), 0));
    app.chats.apply(
        &crate::client::Notice::Message(msg("bob", "ana", "last", 0, MsgState::Delivered, evil[0])),
        None,
    );
    for (w, h) in [(80, 24), (120, 40), (81, 25)] {
        let buffer = draw(&app, w, h);
        let rows = rows(&buffer);
        let list = (w * 3 / 10).clamp(20, 34) as usize;
        for (y, row) in rows.iter().enumerate().take(h as usize - 5) {
            assert_eq!(row.width(), w as usize, "row {y} is not {w} wide: {row:?}");
            let chars: Vec<char> = row.chars().collect();
            // Every row of the panes has its four borders where they belong.
            // Measured by cells, as a terminal draws them: `❤️` is 2 columns.
            let at = |col: usize| {
                crate::tui::text::cells(row)
                    .scan(0, |used, (cell, w)| {
                        let start = *used;
                        *used += w;
                        Some((start, cell.chars().next()))
                    })
                    .find(|(start, _)| *start == col)
                    .and_then(|(_, c)| c)
            };
            for col in [0, list - 1, list, w as usize - 1] {
                assert!(matches!(at(col), Some('│' | '┌' | '┐' | '└' | '┘')), "row {y} col {col}: {row:?}");
            }
            assert!(!chars.iter().any(|c| c.is_control()), "row {y}: {row:?}");
        }
    }
}

#[test]
fn smaller_than_80_by_24_still_draws() {
    let mut app = app(true);
    conversation(&mut app);
    for (w, h) in [(40, 12), (20, 6), (1, 1)] {
        draw(&app, w, h);
    }
}

#[test]
fn the_help_fits_a_100_by_30_terminal_whole() {
    for lang in [Lang::En, Lang::Es, Lang::Pt] {
        let mut app = app(false);
        app.lang = lang;
        app.key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::F(1)));
        let rows = rows(&draw(&app, 100, 30));
        let screen = rows.join("\n");
        // Its first line and its last, without PgDn.
        let help = super::super::keys::help(lang);
        let (first, last) = (help.lines().next().unwrap(), help.lines().last().unwrap().trim());
        assert!(screen.contains(first), "{first:?} not on\n{screen}");
        assert!(screen.contains(last), "{last:?} not on\n{screen}");
    }
}

#[test]
fn a_message_taller_than_the_pane_shows_its_first_rows_and_how_many_more() {
    let mut app = app(false);
    let tall = vec!["l"; 2_000].join("\n"); // 2,000 lines, 3,999 bytes
    let messages = vec![
        msg("bob", "ana", "b1", 3, MsgState::Read, "before it"),
        msg("bob", "ana", "b2", 2, MsgState::Read, &tall),
        msg("bob", "ana", "b3", 1, MsgState::Read, "after it"),
        msg("ana", "bob", "a1", 0, MsgState::Read, &tall),
    ];
    app.view = Some(ChatView::new("ana", Chat::User("bob".into()), messages, 0));
    let rows = rows(&draw(&app, 80, 24));
    // The pane has 24 - 6 rows inside its border; each tall message takes
    // at most that minus two, so what came after it is still in sight.
    assert!(row_with(&rows, "… 1985 more lines").contains("… 1985 more lines"), "{}", rows.join("\n"));
    let lines = super::conversation::lines(&app, app.view.as_ref().unwrap(), 56, 18);
    assert!(lines.len() < 2 * 18 + 6, "{} lines", lines.len());
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(text.iter().filter(|l| l.contains("more lines (wachat history prints it whole)")).count(), 2);
    assert!(text.iter().any(|l| l.contains("after it")));
}

#[test]
fn a_rooms_title_shows_announce_its_topic_and_a_mute() {
    let mut app = app(false);
    let room = Chat::Room("general".into());
    let messages = vec![msg("carl", "#general", "c1", 10, MsgState::Received, "who's up for lunch?")];
    app.open(room.clone(), messages);
    let info = [
        crate::protocol::RoomInfoLine::Mode(crate::protocol::RoomMode::Announce),
        crate::protocol::RoomInfoLine::Topic("week 2: sockets".into()),
        crate::protocol::RoomInfoLine::Muted(NOW + 10 * MINUTE),
    ];
    app.rooms.set(&room, super::super::room::RoomHeader::from_info(&info));
    let rows = rows(&draw(&app, 120, 24));
    let title = row_with(&rows, "#general");
    assert!(title.contains("📢"), "{title}");
    assert!(title.contains("week 2: sockets"), "{title}");
    // (With its date: the test's "now" is not today's.)
    assert!(title.contains("you are muted until"), "{title}");
    assert!(title.contains(&local_time(NOW + 10 * MINUTE).clock()), "{title}");
}

#[test]
fn actions_fold_into_their_messages_and_the_chosen_one_is_reversed() {
    let mut app = app(false);
    let messages = vec![
        msg("bob", "ana", "b1", 6, MsgState::Read, "helo"),
        msg("ana", "bob", "a1", 5, MsgState::Read, "> bob: hello\nyes!"),
        msg("bob", "ana", "_e1_b1", 4, MsgState::Read, "✎ hello"),
        msg("ana", "bob", "_r2_b1", 3, MsgState::Read, "👍 to: hello"),
        msg("bob", "ana", "b2", 2, MsgState::Read, "secret"),
        msg("bob", "ana", "_d3_b2", 1, MsgState::Read, "(message deleted)"),
    ];
    app.view = Some(ChatView::new("ana", Chat::User("bob".into()), messages, 0));
    app.select = Some(super::super::choice::Selection {
        from: "bob".into(),
        id: "b1".into(),
        step: super::super::choice::Choosing::Chosen,
    });
    let buffer = draw(&app, 80, 24);
    let rows = rows(&buffer);
    let screen = rows.join("\n");
    assert!(row_with(&rows, "hello (edited)").contains(&format!("{} hello (edited)", clock(6))), "{screen}");
    assert!(row_with(&rows, "👍 1").contains("│      👍 1"), "under it, indented: {screen}");
    assert!(screen.contains("> bob: hello") && screen.contains("yes!"), "the reply's quote: {screen}");
    assert!(screen.contains("(message deleted)") && !screen.contains("secret"), "{screen}");
    assert!(!screen.contains("✎") && !screen.contains("to: hello"), "no action shown as itself: {screen}");
    // The chosen message's rows are reversed, and only those.
    let y = rows.iter().position(|r| r.contains("hello (edited)")).unwrap();
    let x = rows[y].find("hello (edited)").map(|b| rows[y][..b].width()).unwrap() as u16;
    let reversed = |y: usize| buffer[(x, y as u16)].modifier.contains(ratatui::style::Modifier::REVERSED);
    assert!(reversed(y) && reversed(y + 1), "the message and its reactions");
    let other = rows.iter().position(|r| r.contains("(message deleted)")).unwrap();
    assert!(!reversed(other));
}

#[test]
fn pinned_chats_come_first_muted_ones_are_marked_and_a_mention_stands_out() {
    let mut app = app(true);
    app.chats.set_prefs(vec![
        crate::protocol::PrefLine::parse("dave:none:pinned").unwrap(),
        crate::protocol::PrefLine::parse("#general:mentions:unpinned").unwrap(),
    ]);
    let rows = rows(&draw(&app, 100, 30));
    let (dave, bob) = (row_with(&rows, "dave"), row_with(&rows, "bob"));
    assert!(dave.contains("📌 🔕"), "{dave}");
    assert!(row_with(&rows, "#general").contains("#general @"), "{rows:?}");
    let position = |needle: &str| rows.iter().position(|r| r.contains(needle)).unwrap();
    assert!(position("dave") < position(bob), "a pinned chat is on top:\n{}", rows.join("\n"));

    let mention = msg("carl", "#general", "c2", 1, MsgState::Received, "@ana lunch?");
    let plain = msg("carl", "#general", "c3", 0, MsgState::Received, "anyone?");
    app.view = Some(ChatView::new("ana", Chat::Room("general".into()), vec![plain, mention], 0));
    let buffer = draw(&app, 100, 30);
    let rows_now = super::tests::rows(&buffer);
    let y = rows_now.iter().position(|r| r.contains("@ana lunch?")).unwrap() as u16;
    let x = (0..100u16).find(|&x| buffer[(x, y)].symbol() == "@").unwrap();
    let plain_y = rows_now.iter().position(|r| r.contains("anyone?")).unwrap() as u16;
    let plain_x = (0..100u16).rev().find(|&x| buffer[(x, plain_y)].symbol() == "a").unwrap();
    assert_ne!(buffer[(x, y)].style(), buffer[(plain_x, plain_y)].style(), "the mention stands out");
}

#[test]
fn archived_chats_come_last_under_their_count_and_the_chosen_one_stays_in_view() {
    let mut app = app(false);
    app.chats.set_archived(vec![Chat::parse("Bob").unwrap(), Chat::parse("#general").unwrap()]);
    let rows = rows(&draw(&app, 100, 30));
    let position = |needle: &str| rows.iter().position(|r| r.contains(needle)).unwrap();
    let order = ["dave", "Archived (2)", "bob", "#general"].map(position);
    assert!(order.is_sorted(), "{order:?}:\n{}", rows.join("\n"));
    assert_eq!(position("Archived (2)") + 1, position("bob"), "the heading is one row");
    // Only the last chat fits beside its heading: it is the one shown.
    app.selected = 2;
    for height in [9, 10] {
        let rows = super::tests::rows(&draw(&app, 60, height));
        let screen = rows.join("\n");
        assert!(screen.contains("#general") && screen.contains("carl: who"), "{height}:\n{screen}");
        let half = screen.contains("sí, a las 8") && !screen.contains("● bob");
        assert!(!half, "no preview without its name: {height}:\n{screen}");
    }
    app.chats.set_archived(Vec::new());
    let rows = super::tests::rows(&draw(&app, 100, 30));
    assert!(!rows.join("\n").contains("Archived"), "no heading without archived chats");
}
