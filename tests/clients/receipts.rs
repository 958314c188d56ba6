//! Message info and ticks of room messages (docs/PROTOCOL.md §31) in the
//! line console, end to end: a message of ana's in a room of three goes
//! ✓ → ✓✓ only once both others' devices have it → read once both read
//! it; `/info N` lists "Read by" then "Delivered to" with the right
//! names; a new device's `HISTORY` shows the ticks; a member with read
//! receipts off (§30) stays under "Delivered to"; a room of 65 members
//! says it keeps no receipts. tests/chat/receipts.rs has the server's
//! side (the raw protocol).

use std::time::{Duration, Instant};

use super::support;

use support::console::Console;
use support::{Conn, TestServer};

/// The next `MSG` on a 1.0 receive connection, acknowledged: its id.
fn ack_next(conn: &mut Conn) -> String {
    let msg = conn.next_msg();
    let seq = msg.split(':').nth(1).unwrap().to_string();
    conn.send(&format!("ACK:{seq}"));
    msg.split(':').nth(4).unwrap().to_string()
}

/// Asks `RECEIPTS` until a line holds `needle` (an `ACK` is stored
/// without anyone waiting for it).
fn until_receipt(conn: &mut Conn, ask: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = conn.listing(ask);
        if lines.iter().any(|l| l.starts_with(needle)) {
            return;
        }
        assert!(Instant::now() < deadline, "{ask}: still {lines:?}");
        std::thread::sleep(Duration::from_millis(30)); // polling the store
    }
}

#[test]
fn a_room_message_goes_delivered_then_read_by_all_and_info_says_who() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let (mut bob, mut carl) = (server.login_send("bob", "pw-bob"), server.login_send("carl", "pw-carl"));
    for c in [&mut bob, &mut carl] {
        assert_eq!(c.request("JOIN:#lab"), "OK");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    lab.type_line("/join #lab");
    lab.type_line("/chat #lab");
    lab.type_line("lab at 10?");
    lab.expect("[1] [#lab] you: lab at 10?");
    lab.expect("  ✓  (to #lab: lab at 10?)");

    // bob's device has it: one of two, still ✓; the info says bob.
    let mut bob_in = server.login_recv("bob", "pw-bob");
    let id = ack_next(&mut bob_in);
    let mut ana = server.login_send("ana@raw", "pw-ana");
    until_receipt(&mut ana, &format!("RECEIPTS:#lab:{id}"), "DELIVERED:bob:");
    lab.type_line("/info 1");
    lab.expect("[1] message info (2 other members):");
    lab.expect("Read by:");
    lab.expect("  nobody yet");
    lab.expect("Delivered to:");
    lab.expect("  bob  ");
    assert_eq!(lab.count("✓✓"), 0, "✓✓ before carl has it");

    // carl's too: ✓✓, then read once both read it.
    let mut carl_in = server.login_recv("carl", "pw-carl");
    assert_eq!(ack_next(&mut carl_in), id);
    lab.expect("✓✓  (to #lab: lab at 10?)");
    assert_eq!(bob.request(&format!("READ:#lab:{id}")), "OK");
    until_receipt(&mut ana, &format!("RECEIPTS:#lab:{id}"), "READ:bob:");
    lab.type_line("/info 1");
    lab.expect("Read by:");
    lab.expect("  bob  ");
    lab.expect("Delivered to:");
    lab.expect("  carl  ");
    assert_eq!(lab.count("✓✓ read"), 0, "read before carl read it");
    assert_eq!(carl.request(&format!("READ:#lab:{id}")), "OK");
    lab.expect("✓✓ read  (to #lab: lab at 10?)");
    lab.type_line("/info 1");
    lab.expect("Read by:");
    let both = [lab.expect("  "), lab.expect("  ")];
    assert!(both.iter().any(|l| l.starts_with("  bob  ")) && both.iter().any(|l| l.starts_with("  carl  ")));
    lab.expect("Delivered to:");
    lab.expect("  nobody yet");

    // Another message is not bob's or carl's to ask about; bob's is not ana's.
    assert!(bob.request("MSG:#lab:b1:yes").starts_with("OK:b1:"));
    lab.expect("[#lab] bob: yes");
    lab.type_line("/info 2");
    lab.expect("[2] is not your message: only its sender sees who has it");
    lab.type_line("/info x");
    lab.expect("usage: /info (the server's rules), or /info <n>");

    // A new device (an empty folder) reads the chat from the server's
    // HISTORY: read, in Spanish; and its /info says the same.
    let (status, _) = lab.quit("/quit");
    assert!(status.success());
    let fresh = tempfile::tempdir().unwrap();
    let mut es = Console::start(&server, "ana", fresh.path(), &["--lang", "es", "--device", "casa"]);
    es.expect("conectado");
    es.type_line("/chat #lab");
    es.expect("[#lab] tú: lab at 10? ✓✓ leído");
    es.type_line("/info 1");
    es.expect("Leído por:");
    es.expect("Entregado a:");
}

#[test]
fn a_member_with_read_receipts_off_stays_delivered_and_a_large_room_keeps_none() {
    let server = TestServer::start_with(&["--exempt", "127.0.0.1", "--rate", "0"]);
    let names: Vec<String> = (0..65).map(|i| format!("u{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    server.register(&refs);
    server.register(&["ana", "dee"]);
    let mut dee = server.login_send("dee", "pw-dee");
    let mut u00 = server.login_send("u00", "pw-u00");
    assert_eq!(dee.request("PRIVACY:receipts:off"), "OK:lastseen:on:receipts:off");
    for c in [&mut dee, &mut u00] {
        assert_eq!(c.request("JOIN:#lab"), "OK");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut pt = Console::start(&server, "ana", dir.path(), &["--device", "lab", "--lang", "pt"]);
    pt.expect("conectado");
    pt.type_line("/join #lab");
    pt.type_line("/chat #lab");
    pt.type_line("olá");
    pt.expect("[1] [#lab] você: olá");
    pt.expect("  ✓  (para #lab: olá)");
    let (mut dee_in, mut u00_in) = (server.login_recv("dee", "pw-dee"), server.login_recv("u00", "pw-u00"));
    let id = ack_next(&mut dee_in);
    ack_next(&mut u00_in);
    pt.expect("✓✓  (para #lab: olá)");
    // dee reads it, but said nobody sees its reads: u00's read makes it
    // read, and dee stays under "Entregue a".
    assert_eq!(dee.request(&format!("READ:#lab:{id}")), "OK");
    assert_eq!(u00.request(&format!("READ:#lab:{id}")), "OK");
    pt.expect("✓✓ lido  (para #lab: olá)");
    pt.type_line("/info 1");
    pt.expect("Lido por:");
    pt.expect("  u00  ");
    pt.expect("Entregue a:");
    pt.expect("  dee  ");

    // 65 members: no receipts, said in the info.
    let mut sends: Vec<Conn> = names[1..].iter().map(|n| server.login_send(n, &format!("pw-{n}"))).collect();
    for c in &mut sends {
        assert_eq!(c.request("JOIN:#big"), "OK");
    }
    pt.type_line("/join #big");
    pt.type_line("/chat #big");
    pt.type_line("oi");
    pt.expect("[2] [#big] você: oi");
    pt.expect("  ✓  (para #big: oi)");
    pt.type_line("/info 2");
    pt.expect("[2] #big tem 65 membros, mais de 64: não guarda recibos, suas mensagens ficam em ✓");
}
