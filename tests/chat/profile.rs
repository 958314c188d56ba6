//! Protocol 1.2's profile and privacy (docs/PROTOCOL.md §30), on a
//! single server: `NAME`, `PHOTO` (an upload made into a square photo),
//! `PROFILE`, `PROFILES`, `PHOTOOF`, the `PROFILE` event to your devices
//! and to whoever shares a chat with you (and to nobody else), bad input
//! refused with nothing changed, a 1.0 connection that sees nothing new,
//! `PRIVACY` with WhatsApp's reciprocity, and all of it after a `kill -9`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::support;
use support::TestServer;
use support::files::{photo, upload};

/// The photo `PHOTOOF` answers, decoded.
fn photo_of(conn: &mut support::Conn, user: &str) -> image::DynamicImage {
    let reply = conn.request(&format!("PHOTOOF:{user}"));
    let b64 = reply.strip_prefix("OK:").unwrap_or_else(|| panic!("PHOTOOF: {reply}"));
    let jpeg = STANDARD.decode(b64).unwrap();
    assert!(jpeg.starts_with(&[0xff, 0xd8]) && jpeg.len() <= 12_000, "a JPEG of {} bytes", jpeg.len());
    image::load_from_memory(&jpeg).unwrap()
}

/// The next event that is no message nor status (those are acknowledged
/// on the way).
fn next_told(events: &mut support::Conn) -> String {
    loop {
        let event = events.next_event();
        if !event.starts_with("MSG:") && !event.starts_with("STATUS:") {
            return event;
        }
        events.send(&format!("ACK:{}", event.split(':').nth(1).unwrap()));
    }
}

#[test]
fn a_name_and_a_photo_reach_your_devices_and_who_shares_a_chat_and_survive_a_crash() {
    let mut server = TestServer::start_restartable(&[]);
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    // bob shares a direct chat with ana; carl a room; dan nothing.
    assert!(bob.request("MSG:ana:b1:hi").starts_with("OK:b1:"));
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert_eq!(carl.request("JOIN:#lab"), "OK");
    let [mut dan] = {
        server.register(&["dan"]);
        [server.login_send("dan", "pw-dan")]
    };
    assert_eq!(dan.request("LEAVE:#general"), "OK");
    assert_eq!(ana.request("LEAVE:#general"), "OK");
    let mut ana_laptop = server.events_1_2("ana", Some("laptop"));
    let mut bob_events = server.events_1_2("bob", None);
    let mut dan_events = server.events_1_2("dan", None);
    // carl's client speaks 1.0: it never said VERSION:1.2.
    let mut carl_old = server.recv_conn();
    assert_eq!(carl_old.request("LOGIN:carl:pw-carl"), "OK:carl");

    assert_eq!(ana.request("PROFILE:ana"), "OK:ana::", "nothing yet");
    assert_eq!(ana.request("NAME:Ana María: TA 🎓"), "OK");
    for events in [&mut ana_laptop, &mut bob_events] {
        assert_eq!(next_told(events), "PROFILE:ana::Ana María: TA 🎓");
    }
    let id = upload(&mut ana, "me.png", &photo(1200, 900));
    let tag = ana.request(&format!("PHOTO:{id}"));
    let tag = tag.strip_prefix("OK:").unwrap_or_else(|| panic!("PHOTO: {tag}")).to_string();
    assert_eq!(tag.len(), 16, "{tag}");
    let told = format!("PROFILE:ana:{tag}:Ana María: TA 🎓");
    for events in [&mut ana_laptop, &mut bob_events] {
        assert_eq!(next_told(events), told);
    }
    assert_eq!(bob.request("PROFILE:ANA"), format!("OK:ana:{tag}:Ana María: TA 🎓"));
    assert_eq!(photo_of(&mut bob, "ana").to_rgb8().dimensions(), (192, 192), "cropped square");
    assert_eq!(
        support::files::fetch(&mut ana, &id).unwrap_err(),
        "KO:UNKNOWN_FILE:no such file that you may see",
        "the upload is gone once made into the photo"
    );
    assert_eq!(bob.listing("PROFILES"), [format!("ana:{tag}:Ana María: TA 🎓")]);
    assert_eq!(dan.listing("PROFILES"), Vec::<String>::new(), "dan shares no chat with ana");

    // Neither dan nor a 1.0 connection heard anything.
    assert_eq!(dan.request("NAME:Dan"), "OK");
    assert_eq!(next_told(&mut dan_events), "PROFILE:dan::Dan", "dan's own first");
    while let Some(line) = carl_old.line_within(std::time::Duration::from_millis(300)) {
        assert!(["PING", "JOINED:", "LEFT:"].iter().any(|p| line.starts_with(p)), "a 1.0 client got {line}");
    }
    assert_eq!(carl.listing("PROFILES"), [format!("ana:{tag}:Ana María: TA 🎓")], "carl asks for it");

    server.kill();
    server.restart(&[]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("PROFILE:ana"), format!("OK:ana:{tag}:Ana María: TA 🎓"), "after kill -9");
    assert_eq!(photo_of(&mut bob, "ana").to_rgb8().dimensions(), (192, 192));
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("PHOTO:"), "OK");
    assert_eq!(ana.request("NAME:"), "OK");
    assert_eq!(bob.request("PROFILE:ana"), "OK:ana::");
    assert_eq!(bob.request("PHOTOOF:ana"), "KO:UNKNOWN_FILE:ana has no photo");
}

#[test]
fn bad_names_and_photos_are_refused_and_change_nothing() {
    let server = TestServer::start();
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    assert_eq!(ana.request("NAME:Ana"), "OK");
    let long = "я".repeat(65);
    assert_eq!(
        ana.request(&format!("NAME:{long}")),
        "KO:BAD_REQUEST:a display name is at most 64 characters, not 65"
    );
    let ok = "я".repeat(64);
    assert_eq!(
        ana.request("NAME:b\u{202E}ob"),
        "KO:BAD_REQUEST:a display name may not hold U+202E (right-to-left override)"
    );
    assert_eq!(ana.request("PROFILE:ana"), "OK:ana::Ana", "unchanged");

    // Not an image: a text file; and a decompression bomb.
    let text = upload(&mut ana, "notes.txt", b"hello, lab 3\n");
    assert_eq!(
        ana.request(&format!("PHOTO:{text}")),
        "KO:BAD_REQUEST:not an image: a photo is a PNG, JPEG, GIF or WebP that decodes"
    );
    let bomb = upload(&mut ana, "bomb.png", &support::png::png_claiming(100_000, 100_000));
    assert!(ana.request(&format!("PHOTO:{bomb}")).starts_with("KO:BAD_REQUEST:not an image"));
    // Somebody else's upload, or one that does not exist, is no file of yours.
    let bobs = upload(&mut bob, "bob.png", &photo(300, 300));
    assert_eq!(ana.request(&format!("PHOTO:{bobs}")), "KO:UNKNOWN_FILE:no such file that you may see");
    assert_eq!(
        ana.request("PHOTO:0123456789abcdef0123456789abcdef"),
        "KO:UNKNOWN_FILE:no such file that you may see"
    );
    assert!(ana.request("PHOTO:x").starts_with("KO:BAD_REQUEST:bad file id"));
    assert_eq!(ana.request("PROFILE:ana"), "OK:ana::Ana", "still no photo");
    assert_eq!(ana.request("PHOTOOF:ana"), "KO:UNKNOWN_FILE:ana has no photo");
    assert_eq!(ana.request("PROFILE:nobody"), "KO:UNKNOWN_USER:no user named nobody");
    // An image too large is refused at its upload, before any byte.
    let too_big = ana.request(&format!("UPLOAD:big.png:{}:{}", 17 * 1024 * 1024, "0".repeat(64)));
    assert!(too_big.starts_with("KO:TOO_LONG:a file is at most 16 MB"), "{too_big}");
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request(&format!("NAME:{ok}")), "OK", "64 characters of any script");
}

#[test]
fn hidden_last_seen_and_read_receipts_go_both_ways() {
    let server = TestServer::start();
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    // Each was online once, so each has a time last seen.
    for user in ["ana", "bob", "carl"] {
        drop(server.login_recv(user, &format!("pw-{user}")));
    }
    let seen = |conn: &mut support::Conn, user: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let reply = conn.request(&format!("LASTSEEN:{user}"));
            if !reply.ends_with(":ONLINE") || std::time::Instant::now() > deadline {
                return reply;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let is_time = |reply: &str| reply.rsplit(':').next().unwrap().parse::<u64>().is_ok();
    assert!(is_time(&seen(&mut bob, "ana")));

    let mut ana_laptop = server.events_1_2("ana", Some("laptop"));
    assert_eq!(ana.request("PRIVACY"), "OK:lastseen:on:receipts:on");
    assert_eq!(ana.request("PRIVACY:lastseen:off"), "OK:lastseen:off:receipts:on");
    assert_eq!(ana_laptop.next_event(), "PRIVACY:lastseen:off:receipts:on");
    drop(ana_laptop);
    assert_eq!(seen(&mut bob, "ana"), "OK:ana:UNKNOWN", "ana hides hers");
    assert_eq!(seen(&mut ana, "bob"), "OK:bob:UNKNOWN", "and sees nobody's");
    assert!(is_time(&seen(&mut bob, "carl")), "bob and carl still see each other's");
    let members = carl.listing("MEMBERS:#general");
    assert!(members.contains(&"ana:UNKNOWN".to_string()), "{members:?}");
    assert!(members.iter().any(|m| m.starts_with("bob:") && is_time(m)), "{members:?}");

    // Read receipts: bob turns his off.
    assert_eq!(bob.request("PRIVACY:receipts:off"), "OK:lastseen:on:receipts:off");
    let mut ana_events = server.events_1_2("ana", None);
    assert!(ana.request("MSG:bob:a1:did you read it?").starts_with("OK:a1:"));
    assert!(carl.request("MSG:bob:c1:and mine?").starts_with("OK:c1:"));
    assert_eq!(bob.request("READ:ana:a1"), "OK");
    assert_eq!(bob.request("READ:carl:c1"), "OK");
    assert!(bob.request("MSG:ana:b1:yes").starts_with("OK:b1:"));
    // ana hears bob's reply but no READ of a1.
    loop {
        let event = ana_events.next_event();
        assert!(!event.contains(":a1:READ:"), "{event}");
        if let Some(seq) = event.split(':').nth(1) {
            ana_events.send(&format!("ACK:{seq}"));
        }
        if event.contains(":b1:") {
            break;
        }
    }
    let history = ana.listing("HISTORY:bob:10");
    assert!(history.iter().any(|l| l.contains(":a1:") && l.contains(":DELIVERED:")), "{history:?}");
    assert!(carl.listing("HISTORY:bob:10").iter().all(|l| !l.contains(":READ:")));
    let searched = ana.listing("SEARCH:bob:read");
    assert!(searched.iter().all(|l| !l.contains(":READ:")) && !searched.is_empty(), "{searched:?}");
    assert_eq!(ana.request("STAR:bob:ana:a1"), "OK");
    assert!(ana.listing("STARRED").iter().all(|l| l.contains(":DELIVERED:")), "nor in STARRED");
    // ana reads b1: bob, who hides his, is not told hers either.
    assert_eq!(ana.request("READ:bob:b1"), "OK");
    let history = bob.listing("HISTORY:ana:10");
    assert!(history.iter().any(|l| l.contains(":b1:") && l.contains(":DELIVERED:")), "{history:?}");
    // Turned on again, the reads are shown: the server kept them.
    assert_eq!(bob.request("PRIVACY:receipts:on"), "OK:lastseen:on:receipts:on");
    let history = bob.listing("HISTORY:ana:10");
    assert!(history.iter().any(|l| l.contains(":b1:") && l.contains(":READ:")), "{history:?}");
    assert_eq!(
        bob.request("PRIVACY:typing:off"),
        "KO:BAD_REQUEST:expected PRIVACY:<lastseen|receipts>:<on|off>"
    );
}
