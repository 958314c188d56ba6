//! The bots of `examples/`, run as the compiled examples against a real
//! server on port 0: the echo bot, and the Telegram bridge between a room
//! and a fake Telegram Bot API on loopback (`support::fake_telegram`).
//! The room's other member, ana, speaks raw protocol frames, so what the
//! bots put on the wire is pinned byte for byte.

use super::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Instant;

use support::examples::example;
use support::fake_telegram::{FakeTelegram, Outage, TOKEN};
use support::{Conn, READ_TIMEOUT, TestServer, wait_with_timeout, without_ts};

/// The Telegram chat the bridge serves, a supergroup as Telegram numbers them.
const CHAT: i64 = -1_001_234;

/// A running example, its stdout and stderr read line by line.
struct Bot {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Bot {
    fn start(name: &str, args: &[String], password: &str) -> Bot {
        let mut child = Command::new(example(name))
            .args(args)
            .env("WACHAT_PASSWORD", password)
            .env("TELEGRAM_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let (tx, lines) = channel();
        let streams = [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ];
        for stream in streams {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Bot { child, lines, seen: Vec::new() }
    }

    /// Waits for a line containing `needle` and returns it; fails the
    /// test after [`READ_TIMEOUT`], showing everything the bot said.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            if let Some(i) = self.seen.iter().position(|l| l.contains(needle)) {
                return self.seen.drain(..=i).next_back().expect("the line found");
            }
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no line with {needle:?} in time:\n{}", self.seen.join("\n"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the bot ended without a line with {needle:?}:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Ctrl+C: SIGINT, then the exit status.
    fn interrupt(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        wait_with_timeout(&mut self.child, READ_TIMEOUT)
    }

    /// A crash: SIGKILL, nothing saved on the way out.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `--user <user> --send-port … --recv-port … --data-dir <dir>/data`.
fn wachat_args(server: &TestServer, user: &str, dir: &Path) -> Vec<String> {
    let args = ["--user", user, "--send-port", &server.send.port().to_string()];
    let more = ["--recv-port".into(), server.recv.port().to_string(), "--data-dir".into()];
    args.iter().map(|a| a.to_string()).chain(more).chain([dir.join("data").display().to_string()]).collect()
}

/// Polls a file until `done` holds for its text, and returns the text;
/// fails the test after [`READ_TIMEOUT`].
fn file_eventually(path: &Path, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if done(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "{} is still {text:?}", path.display());
        std::thread::sleep(std::time::Duration::from_millis(20)); // polling a file
    }
}

/// A user on raw protocol connections.
struct Member {
    send: Conn,
    recv: Conn,
    /// The highest event sequence number seen: the server replays what it
    /// did not have acknowledged (our `ACK` may be lost when it is killed),
    /// and a client drops what it already has.
    last_seq: u64,
}

impl Member {
    fn login(server: &TestServer, user: &str) -> Member {
        let pw = format!("pw-{user}");
        Member { send: server.login_send(user, &pw), recv: server.login_recv(user, &pw), last_seq: 0 }
    }

    /// The same user after the server restarted: new connections, same memory.
    fn relogin(self, server: &TestServer, user: &str) -> Member {
        Member { last_seq: self.last_seq, ..Member::login(server, user) }
    }

    /// Sends a message (`text` escaped as on the wire) and checks the `OK`.
    fn say(&mut self, to: &str, id: &str, text: &str) {
        let reply = self.send.request(&format!("MSG:{to}:{id}:{text}"));
        assert!(reply.starts_with(&format!("OK:{id}:")), "{reply}");
    }

    /// The next queued event (`MSG` or `STATUS`) without its timestamp,
    /// acknowledged; presence is skipped and `PING` answered on the way.
    fn next_event(&mut self) -> String {
        loop {
            let line = self.recv.line();
            if line == "PING" {
                self.recv.send("PONG");
            } else if line.starts_with("MSG:") || line.starts_with("STATUS:") {
                let seq: u64 = line.split(':').nth(1).unwrap().parse().unwrap();
                self.recv.send(&format!("ACK:{seq}"));
                if seq > self.last_seq {
                    self.last_seq = seq;
                    return without_ts(&line);
                }
            }
        }
    }
}

#[test]
fn the_echo_bot_answers_across_a_server_restart_and_on_a_fresh_server_at_the_same_address() {
    let mut server = TestServer::start_restartable(&[]);
    server.register(&["ana", "echo-bot"]);
    // A text that would clear a terminal, stored before protocol 1.2
    // refused control characters in MSG: the bot logs it with its control
    // characters shown; its echo is refused by the server, and it goes on.
    support::old_data::plant_old_text(&mut server, &[], "ana", "echo-bot", "a0", "\u{1b}[2Jboo");
    let dir = tempfile::tempdir().unwrap();
    let mut bot = Bot::start("echo_bot", &wachat_args(&server, "echo-bot", dir.path()), "pw-echo-bot");
    bot.expect("answering direct messages to echo-bot");
    let logged = bot.expect("echo_bot: ana: ^[[2Jboo");
    assert!(!logged.contains('\u{1b}'), "{logged:?}");
    let mut ana = Member::login(&server, "ana");

    // A room message is not answered: the next message ana gets is the
    // echo of her direct one, not a reply in #general.
    ana.say("#general", "r1", "hola a todos");
    ana.say("echo-bot", "a1", "hola bot\\ncon dos líneas");
    let (ticks, echo) = ticks_then_message(&mut ana);
    assert_eq!(echo, ("echo-bot".into(), "ana".into(), "hola bot\\ncon dos líneas".into()));
    // The bot reads before it answers, and its client says a chat's READ
    // before it writes there (client::reads); a READ the server refuses
    // for the rate waits, so the tick may come just after the echo.
    read_by_the_bot(&mut ana, ticks, "echo-bot:a1:READ");

    // The server restarts; the bot logs in again by itself.
    server.restart_in_place(&[]);
    bot.expect("echo_bot: back online");
    let mut ana = ana.relogin(&server, "ana");
    ana.say("echo-bot", "a2", "¿sigues ahí?");
    let (ticks, echo) = ticks_then_message(&mut ana);
    assert_eq!(echo, ("echo-bot".into(), "ana".into(), "¿sigues ahí?".into()));
    read_by_the_bot(&mut ana, ticks, "echo-bot:a2:READ");

    // 1.2: the same text sent now is refused; nothing the bot logged
    // carried the control character raw.
    let refused = ana.send.request("MSG:echo-bot:a3:\u{1b}[2Jboo");
    assert_eq!(refused, "KO:BAD_REQUEST:a text may not hold U+001B (escape)");
    assert!(bot.seen.iter().all(|l| !l.contains('\u{1b}')), "{:?}", bot.seen);

    // A fresh server at the same address (its data deleted; accounts made
    // by their first login): ana's a1 there is a new message, answered,
    // not taken for the a1 of the first server.
    server.kill();
    let fresh_data = tempfile::tempdir().unwrap();
    let fresh =
        TestServer::start_on(fresh_data.path(), server.send.port(), server.recv.port(), &["--auto-register"]);
    bot.expect("is another server now");
    let mut ana = Member::login(&fresh, "ana");
    ana.say("echo-bot", "a1", "hola, servidor nuevo");
    let (_, echo) = ticks_then_message(&mut ana);
    assert_eq!(echo, ("echo-bot".into(), "ana".into(), "hola, servidor nuevo".into()));
}

/// The `STATUS` events (`peer:id:state`) up to the next `MSG`, and that
/// message's sender, recipient and text.
/// `read` is among `ticks` (the statuses before the bot's answer) or the
/// next status, within the client's pace of `READ`s; nothing follows a READ.
fn read_by_the_bot(member: &mut Member, mut ticks: Vec<String>, read: &str) {
    if ticks.last().map(String::as_str) != Some(read) {
        let event = member.next_event();
        let f: Vec<&str> = event.splitn(7, ':').collect();
        assert_eq!(f[0], "STATUS", "{event}");
        ticks.push(format!("{}:{}:{}", f[2], f[3], f[4]));
    }
    assert_eq!(ticks.last().map(String::as_str), Some(read), "{ticks:?}");
}

fn ticks_then_message(member: &mut Member) -> (Vec<String>, (String, String, String)) {
    let mut ticks = Vec::new();
    loop {
        let event = member.next_event();
        let f: Vec<&str> = event.splitn(7, ':').collect();
        match f[0] {
            "STATUS" => ticks.push(format!("{}:{}:{}", f[2], f[3], f[4])),
            _ => return (ticks, (f[2].into(), f[3].into(), f[6].into())),
        }
    }
}

/// A server where ana is in `#family` and the bridge has an account, and
/// a fake Telegram where the bridge's bot is in the chat [`CHAT`].
struct Bridged {
    server: TestServer,
    telegram: FakeTelegram,
    dir: tempfile::TempDir,
}

impl Bridged {
    /// The world, and ana.
    fn new() -> (Bridged, Member) {
        // The examples are built (once per run) before anyone connects:
        // the build can take longer than the server's --timeout, and ana's
        // idle connections would be closed while it runs.
        example("telegram_bridge");
        let server = TestServer::start_restartable(&[]);
        server.register(&["ana", "bridge"]);
        let mut ana = Member::login(&server, "ana");
        assert_eq!(ana.send.request("JOIN:#family"), "OK");
        (Bridged { server, telegram: FakeTelegram::start(), dir: tempfile::tempdir().unwrap() }, ana)
    }

    /// Starts the bridge and waits until it is in the room.
    fn start_bridge(&self, extra: &[&str]) -> Bot {
        let mut args = wachat_args(&self.server, "bridge", self.dir.path());
        let chat = CHAT.to_string();
        let api = self.telegram.api_base();
        let flags = ["--chat-id", &chat, "--room", "#family", "--api-base", &api, "--poll-timeout", "5"];
        args.extend(flags.iter().chain(extra).map(|a| a.to_string()));
        let mut bridge = Bot::start("telegram_bridge", &args, "pw-bridge");
        bridge.expect("bridging #family as bridge and Telegram chat -1001234 as @wachat_bridge_bot");
        bridge
    }

    /// Where the bridge keeps its state when not told (`--state`).
    fn default_state_path(&self) -> PathBuf {
        let data = self.dir.path().join("data");
        let folder = support::console::user_dir(&data, self.server.send, "bridge");
        folder.join(format!("telegram-{CHAT}.json"))
    }

    /// What Telegram got, texts only, all in our chat.
    fn sent_texts(&self, n: usize) -> Vec<String> {
        let sent = self.telegram.wait_sent(n);
        assert!(sent.iter().all(|(chat, _)| *chat == CHAT), "{sent:?}");
        sent.into_iter().map(|(_, text)| text).collect()
    }
}

#[test]
fn the_bridge_relays_both_ways_without_echoes_and_survives_a_wachat_restart() {
    let (mut world, mut ana) = Bridged::new();
    // Waiting before the bridge starts: a bot's message and one from
    // another chat, which it must skip, then Juan's, over two lines.
    world.telegram.push_message(CHAT, "OtherBot", true, "beep");
    world.telegram.push_message(-42, "Stranger", false, "wrong chat");
    let juan = world.telegram.push_message(CHAT, "Juan", false, "hola desde Telegram\ncon dos líneas");
    let mut bridge = world.start_bridge(&[]);
    assert_eq!(
        ana.next_event(),
        format!("MSG:1:bridge:#family:tg-4242-{juan}:<ts>:[tg] Juan: hola desde Telegram\\ncon dos líneas")
    );

    ana.say("#family", "a1", "hola desde wachat");
    ana.say("#family", "a2", "dos\\nlíneas");
    let texts = world.sent_texts(2);
    assert_eq!(texts, ["ana: hola desde wachat", "ana: dos\nlíneas"]);

    // wachat goes down. Telegram's messages wait in the bridge's outbox,
    // and it logs in again by itself.
    world.server.kill();
    let pepa = world.telegram.push_message(CHAT, "Pepa", false, "¿hay alguien?");
    bridge.expect("wachat offline");
    world.server.restart_in_place(&[]);
    let mut ana = ana.relogin(&world.server, "ana");
    assert_eq!(
        ana.next_event(),
        format!("MSG:2:bridge:#family:tg-4242-{pepa}:<ts>:[tg] Pepa: ¿hay alguien?")
    );
    ana.say("#family", "a3", "aquí");
    assert_eq!(world.sent_texts(3)[2], "ana: aquí");

    // No echo either way: Telegram got only ana's three messages, and the
    // room only the two people's (ana's next event is the next of those).
    let last = world.telegram.push_message(CHAT, "Juan", false, "fin");
    assert_eq!(ana.next_event(), format!("MSG:3:bridge:#family:tg-4242-{last}:<ts>:[tg] Juan: fin"));
    assert_eq!(world.telegram.sent().len(), 3);

    assert!(bridge.interrupt().success());
}

#[test]
fn a_restarted_bridge_relays_nothing_twice_and_misses_nothing() {
    let (world, mut ana) = Bridged::new();
    let mut bridge = world.start_bridge(&[]);
    let uno = world.telegram.push_message(CHAT, "Juan", false, "uno");
    assert_eq!(ana.next_event(), format!("MSG:1:bridge:#family:tg-4242-{uno}:<ts>:[tg] Juan: uno"));
    ana.say("#family", "a1", "one");
    assert_eq!(world.sent_texts(1), ["ana: one"]);
    // Telegram has "one" a moment before the state file says so.
    let expected =
        format!(r#"{{"telegram_offset":{},"last_to_telegram":{{"from":"ana","id":"a1"}}}}"#, uno + 1);
    let state_after_one = file_eventually(&world.default_state_path(), |state| state.trim_end() == expected);

    // "dos" reaches the room; then the bridge crashes, and its state file
    // is set back to before "dos": the crash came after the message went
    // into the outbox but before the offset was saved.
    let dos = world.telegram.push_message(CHAT, "Juan", false, "dos");
    assert_eq!(ana.next_event(), format!("MSG:2:bridge:#family:tg-4242-{dos}:<ts>:[tg] Juan: dos"));
    bridge.kill();
    std::fs::write(world.default_state_path(), &state_after_one).unwrap();

    // While the bridge is down, both sides go on talking.
    ana.say("#family", "a2", "two");
    let tres = world.telegram.push_message(CHAT, "Juan", false, "tres");

    let mut bridge = world.start_bridge(&[]);
    // "dos" is sent again under the same id, and the server drops it: the
    // next message in the room is "tres".
    assert_eq!(ana.next_event(), format!("MSG:3:bridge:#family:tg-4242-{tres}:<ts>:[tg] Juan: tres"));
    ana.say("#family", "a3", "three");
    assert_eq!(world.sent_texts(3), ["ana: one", "ana: two", "ana: three"]);
    let history = ana.send.listing("HISTORY:#family:10");
    let from_telegram = history.iter().filter(|line| line.starts_with("bridge:")).count();
    assert_eq!(from_telegram, 3, "{history:?}");
    assert!(bridge.interrupt().success());
    let state = std::fs::read_to_string(world.default_state_path()).unwrap();
    assert!(state.contains(&format!(r#""telegram_offset":{}"#, tres + 1)), "{state}");
}

#[test]
fn telegram_down_for_a_while_loses_nothing_and_ctrl_c_stops_the_bridge_cleanly() {
    let (world, mut ana) = Bridged::new();
    // The bridge account was used before, by hand, in the room: a new
    // bridge does not send Telegram what its local log already holds.
    let mut options = wachat::client::ClientOptions::new("bridge", "pw-bridge");
    (options.send_port, options.recv_port) = (world.server.send.port(), world.server.recv.port());
    options.data_dir = world.dir.path().join("data");
    let by_hand = wachat::client::Client::connect(options).unwrap();
    by_hand.join("#family").unwrap();
    ana.say("#family", "r0", "from before the bridge");
    let deadline = Instant::now() + READ_TIMEOUT;
    let first = loop {
        match by_hand.events().recv_deadline(deadline) {
            Ok(wachat::client::Notice::Message(m)) => break m,
            Ok(_) => {}
            Err(e) => panic!("the account got no message in time: {e}"),
        }
    };
    assert_eq!(first.id, "r0");
    by_hand.close();

    let state = world.dir.path().join("bridge-state.json");
    let state_flag = ["--state", state.to_str().unwrap()];
    let mut bridge = world.start_bridge(&state_flag);

    // Telegram answers 502 for a while, then hangs up on every connection.
    world.telegram.set_outage(Some(Outage::BadGateway));
    ana.say("#family", "r1", "one");
    ana.say("#family", "r2", "two");
    world.telegram.wait_failed("sendMessage", 2);
    let juan = world.telegram.push_message(CHAT, "Juan", false, "¿me oís?");
    let (sends, polls) = (world.telegram.failed("sendMessage"), world.telegram.failed("getUpdates"));
    world.telegram.set_outage(Some(Outage::HangUp));
    world.telegram.wait_failed("sendMessage", sends + 2);
    world.telegram.wait_failed("getUpdates", polls + 1);
    world.telegram.set_outage(None);
    assert_eq!(world.sent_texts(2), ["ana: one", "ana: two"]);
    assert_eq!(ana.next_event(), format!("MSG:1:bridge:#family:tg-4242-{juan}:<ts>:[tg] Juan: ¿me oís?"));

    // Down again, with a message waiting for it, when the bridge is stopped:
    // Ctrl+C ends it at once, and its next run sends the message.
    world.telegram.set_outage(Some(Outage::BadGateway));
    let failed = world.telegram.failed("sendMessage");
    ana.say("#family", "r3", "three");
    world.telegram.wait_failed("sendMessage", failed + 1);
    assert!(bridge.interrupt().success());
    bridge.expect("telegram_bridge: stopped");
    world.telegram.set_outage(None);
    let mut bridge = world.start_bridge(&state_flag);
    assert_eq!(world.sent_texts(3), ["ana: one", "ana: two", "ana: three"]);
    // The catch-up sent it; the client does not announce it again.
    ana.say("#family", "r4", "four");
    assert_eq!(world.sent_texts(4), ["ana: one", "ana: two", "ana: three", "ana: four"]);
    assert!(bridge.interrupt().success());
    assert!(std::fs::read_to_string(&state).unwrap().contains(r#""id":"r4""#));
}

/// `Client::send_with_id`, which the bridge relies on: an id of the
/// program's choosing, checked, and a second send under it delivered once.
#[test]
fn a_message_sent_twice_with_the_same_id_is_delivered_once() {
    let server = TestServer::start();
    server.register(&["ana", "bridge"]);
    let dir = tempfile::tempdir().unwrap();
    let mut options = wachat::client::ClientOptions::new("bridge", "pw-bridge");
    (options.send_port, options.recv_port) = (server.send.port(), server.recv.port());
    options.data_dir = dir.path().to_path_buf();
    let client = wachat::client::Client::connect(options).unwrap();
    assert!(matches!(client.send_with_id("ana", "no spaces", "x"), Err(wachat::error::Error::Usage(_))));

    let mut ana = Member::login(&server, "ana");
    client.send_with_id("ana", "tg-1-7", "once").unwrap();
    client.send_with_id("ana", "tg-1-7", "once again?").unwrap();
    client.send_with_id("ana", "tg-1-8", "next").unwrap();
    assert_eq!(ana.next_event(), "MSG:1:bridge:ana:tg-1-7:<ts>:once");
    assert_eq!(ana.next_event(), "MSG:2:bridge:ana:tg-1-8:<ts>:next");
}

/// Refuses a login with a reason that would clear the screen and ring the bell.
fn refuse(stream: &mut TcpStream) {
    let _ = stream.write_all(b"KO:AUTH_FAILED:\x1b[2Jwrong\x07 password\n");
}

#[test]
fn the_bots_show_a_servers_refusal_with_its_control_characters_harmless() {
    let refusing = support::fake_server(refuse);
    let port = refusing.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let telegram = FakeTelegram::start();
    let (api, chat) = (telegram.api_base(), CHAT.to_string());
    let common = ["--user", "bot", "--send-port", &port, "--recv-port", &port, "--data-dir", &data];
    let bridge_flags = ["--chat-id", &chat, "--room", "#family", "--api-base", &api, "--poll-timeout", "5"];
    for (name, extra) in [("echo_bot", &[][..]), ("telegram_bridge", &bridge_flags[..])] {
        let args: Vec<String> = common.iter().chain(extra).map(|a| a.to_string()).collect();
        let mut bot = Bot::start(name, &args, "pw-bot");
        let line = bot.expect(&format!("{name}: "));
        assert!(line.contains("^[[2Jwrong^G password") && !line.contains('\u{1b}'), "{line:?}");
        let status = wait_with_timeout(&mut bot.child, READ_TIMEOUT);
        assert_eq!(status.code(), Some(1), "{name}");
    }
}
