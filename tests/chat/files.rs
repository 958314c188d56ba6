//! 1.2: photos and files in chats (docs/PROTOCOL.md §21), end to
//! end against a real `wachat serve`, on the wire as `nc` would speak it:
//! `UPLOAD`, `PART`, `FILE`, `FETCH`; what a 1.0 and a 1.2 receiver see;
//! who may fetch; `FILEOF` for a message seen in `HISTORY` (and `/save`'s
//! fallback to it); `DELETE`; the quota and the sweep of unfinished uploads;
//! a `kill -9` in the middle of an upload; a decompression bomb; and
//! `wachat send --file` with a 10 MB file, byte for byte.

use super::support;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use support::console::{connection_args, run_wachat};
use support::files::{
    fetch, login_recv_1_2, next_file_event, noise, photo, request_at_once, send_parts, sha256, upload,
};
use support::png::png_claiming;
use support::{READ_TIMEOUT, TestServer, without_ts};

fn files_dir(server: &TestServer) -> std::path::PathBuf {
    server.data_dir.join("files")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    names.sort();
    names
}

fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + READ_TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "not in time: {what}");
        std::thread::sleep(Duration::from_millis(20)); // polling the server's disk
    }
}

#[test]
fn a_file_reaches_a_1_0_receiver_as_text_a_1_2_one_as_a_file_and_only_chat_members_fetch_it() {
    let server = TestServer::start_with(&["--erase-minutes", "0"]);
    server.register(&["ana", "bob", "carl", "eve"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob_events = server.login_recv("bob", "pw-bob"); // 1.0: says no VERSION
    let mut carl_events = login_recv_1_2(&server, "carl");
    for user in ["carl", "eve"] {
        let mut conn = server.login_send(user, &format!("pw-{user}"));
        if user == "carl" {
            assert_eq!(conn.request("JOIN:#lab3"), "OK");
        }
    }
    assert_eq!(ana.request("JOIN:#lab3"), "OK");

    let bytes = noise(250_880, 7); // 245 KB, three parts of 12,000 and more
    let id = upload(&mut ana, "lab3.pdf", &bytes);
    assert!(ana.request(&format!("FILE:bob:f1:{id}:for friday")).starts_with("OK:f1:"));
    assert_eq!(without_ts(&bob_events.next_msg()), "MSG:1:ana:bob:f1:<ts>:📎 lab3.pdf (245 KB) for friday");
    // A resend is deduplicated as a MSG: the first OK, nothing stored.
    let again = ana.request(&format!("FILE:bob:f1:{id}:for friday"));
    assert!(again.starts_with("OK:f1:"), "{again}");
    assert!(ana.request(&format!("FILE:#lab3:f2:{id}:")).starts_with("OK:f2:"));
    let event = next_file_event(&mut carl_events);
    let fields: Vec<&str> = event.splitn(11, ':').collect();
    assert_eq!(fields[0], "FILE", "{event}");
    assert_eq!(fields[2..5], ["ana", "#lab3", "f2"]);
    assert_eq!(fields[6..10], [id.as_str(), "250880", "application/octet-stream", "lab3.pdf"]);
    assert_eq!(fields[10], "📎 lab3.pdf (245 KB)");

    // Bob (the peer) and carl (in the room) fetch it byte for byte; eve,
    // in neither chat, is told no more than for a file that does not exist.
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(fetch(&mut bob, &id).unwrap(), bytes);
    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(fetch(&mut carl, &id).unwrap(), bytes);
    let mut eve = server.login_send("eve", "pw-eve");
    let refused = fetch(&mut eve, &id).unwrap_err();
    assert_eq!(refused, "KO:UNKNOWN_FILE:no such file that you may see");
    assert_eq!(fetch(&mut eve, &"0".repeat(32)).unwrap_err(), refused);
    assert!(eve.request(&format!("FILE:ana:e1:{id}:mine now")).starts_with("KO:UNKNOWN_FILE"));
    assert!(eve.request(&format!("PART:{id}:0:aGk=")).starts_with("KO:UNKNOWN_FILE"));

    // A DELETE of one message keeps the file for the other; of the last,
    // the bytes leave the data directory.
    assert!(ana.request("DELETE:bob:f1").starts_with("OK:"));
    assert!(files_dir(&server).join(&id).exists());
    assert_eq!(fetch(&mut bob, &id).unwrap_err(), refused, "bob's message is gone");
    assert!(ana.request("DELETE:#lab3:f2").starts_with("OK:"));
    eventually("the bytes removed", || !files_dir(&server).join(&id).exists());
    assert_eq!(names_in(&files_dir(&server)), Vec::<String>::new());
    assert_eq!(fetch(&mut ana, &id).unwrap_err(), refused);
}

#[test]
fn bad_uploads_are_refused_with_a_reason_and_the_quota_counts_files() {
    let server = TestServer::start_with(&["--max-file-mb", "1", "--user-quota", "1500000"]);
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let sha = sha256(b"");
    assert!(
        ana.request(&format!("UPLOAD:big.iso:1048577:{sha}"))
            .starts_with("KO:TOO_LONG:a file is at most 1 MB")
    );
    ana.expect_closed(); // as after every TOO_LONG (§5)
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(
        ana.request(&format!("UPLOAD:../../etc/passwd:10:{sha}")).starts_with("KO:BAD_REQUEST:bad file name")
    );
    assert!(ana.request("UPLOAD:a.txt:10:nothex").starts_with("KO:BAD_REQUEST"));
    let first = ana.request(&format!("UPLOAD:one.bin:1000000:{sha}"));
    assert!(first.starts_with("OK:"), "{first}");
    // The reservation of the first counts: a second does not fit.
    assert!(ana.request(&format!("UPLOAD:two.bin:1000000:{sha}")).starts_with("KO:FULL:"));
    let id = &first[3..];
    assert_eq!(ana.request(&format!("PART:{id}:12:aGk=")), "KO:BAD_REQUEST:expected the part at offset 0");
    assert!(ana.request(&format!("FILE:ana:x1:{id}:")).starts_with("KO:UNKNOWN_FILE:the file"));
    // Bytes that do not match the sha256 remove the upload, and give its quota back.
    let part = STANDARD.encode(vec![0u8; 1000]);
    let small = ana.request(&format!("UPLOAD:s.bin:1000:{sha}"));
    let small = small.strip_prefix("OK:").unwrap();
    assert!(
        ana.request(&format!("PART:{small}:0:{part}"))
            .starts_with("KO:BAD_REQUEST:the bytes received do not match")
    );
    assert!(ana.request(&format!("PART:{small}:0:{part}")).starts_with("KO:UNKNOWN_FILE"));
}

#[test]
fn an_unfinished_upload_is_removed_and_its_quota_given_back() {
    let server = TestServer::start_with(&["--upload-minutes", "0", "--user-quota", "1500000"]);
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let bytes = noise(1_000_000, 3);
    let reply = ana.request(&format!("UPLOAD:x.bin:1000000:{}", sha256(&bytes)));
    assert!(reply.starts_with("OK:"), "{reply}");
    eventually("the sweep", || names_in(&files_dir(&server)).is_empty());
    let again = ana.request(&format!("UPLOAD:x.bin:1000000:{}", sha256(&bytes)));
    assert!(again.starts_with("OK:"), "the quota came back: {again}");
}

#[test]
fn an_upload_cut_by_kill_9_is_never_served_half_and_resumes_after_the_restart() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let bytes = noise(100_000, 11);
    let reply = ana.request(&format!("UPLOAD:notes.txt:100000:{}", sha256(&bytes)));
    let id = reply.strip_prefix("OK:").unwrap().to_string();
    send_parts(&mut ana, &id, &bytes[..48_000], 0);
    assert!(ana.request(&format!("FILE:bob:n1:{id}:")).starts_with("KO:UNKNOWN_FILE"));
    assert!(fetch(&mut ana, &id).is_err(), "not served before it is complete");
    server.restart(&[]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(fetch(&mut ana, &id).is_err(), "nor after the crash");
    // The client resumes where the server's bytes end (a part again is harmless).
    let received = ana.request(&format!("PART:{id}:36000:{}", STANDARD.encode(&bytes[36_000..48_000])));
    assert_eq!(received, "OK:48000");
    send_parts(&mut ana, &id, &bytes, 48_000);
    assert!(ana.request(&format!("FILE:bob:n1:{id}:")).starts_with("OK:n1:"));
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(fetch(&mut bob, &id).unwrap(), bytes);
    server.restart(&[]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(fetch(&mut bob, &id).unwrap(), bytes, "a restart keeps the file and who may see it");
}

#[test]
fn a_photo_gets_a_thumbnail_and_a_decompression_bomb_is_a_file_never_shown() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob_events = login_recv_1_2(&server, "bob");

    let bomb = png_claiming(100_000, 100_000);
    assert!(bomb.len() < 1024);
    let started = Instant::now();
    let id = upload(&mut ana, "bomb.png", &bomb);
    println!("the bomb's last PART answered in {:?}", started.elapsed());
    assert!(ana.request(&format!("FILE:bob:b1:{id}:look")).starts_with("OK:b1:"));
    let event = next_file_event(&mut bob_events);
    assert!(event.contains(&format!(":{id}:{}:application/octet-stream:bomb.png:", bomb.len())), "{event}");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(fetch(&mut bob, &format!("{id}-t")).unwrap_err().starts_with("KO:UNKNOWN_FILE"));

    let photo = photo(1200, 900);
    let id = upload(&mut ana, "whiteboard.png", &photo);
    assert!(ana.request(&format!("FILE:bob:p1:{id}:the board")).starts_with("OK:p1:"));
    let event = next_file_event(&mut bob_events);
    assert!(event.contains(&format!(":{id}:{}:image/png:whiteboard.png:", photo.len())), "{event}");
    let thumb = fetch(&mut bob, &format!("{id}-t")).unwrap();
    assert!(thumb.starts_with(&[0xff, 0xd8]) && thumb.len() <= 100 * 1024, "a JPEG of {} bytes", thumb.len());
    assert_eq!(fetch(&mut bob, &id).unwrap(), photo);

    // A JPEG, a phone's photo: decoded off the handler's small stack (it
    // overflowed there, ending the server), it gets its thumbnail too.
    let id = upload(&mut ana, "phone.jpg", &thumb);
    assert!(ana.request(&format!("FILE:bob:p2:{id}:from my phone")).starts_with("OK:p2:"));
    let event = next_file_event(&mut bob_events);
    assert!(event.contains(&format!(":{id}:{}:image/jpeg:phone.jpg:", thumb.len())), "{event}");
    assert!(fetch(&mut bob, &format!("{id}-t")).unwrap().starts_with(&[0xff, 0xd8]));
}

#[test]
fn wachat_send_file_sends_ten_megabytes_byte_for_byte() {
    let server = TestServer::start_with(&["--rate", "0"]);
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let bytes = noise(10 * 1024 * 1024, 42);
    let path = dir.path().join("dataset.bin");
    std::fs::write(&path, &bytes).unwrap();
    let mut args: Vec<String> = ["send", "--user", "ana"].map(String::from).to_vec();
    args.extend(connection_args(server.send, server.recv, &dir.path().join("client")));
    args.extend(["--to", "bob", "--file", path.to_str().unwrap(), "the", "data"].map(String::from));
    let sent = run_wachat(&args, "pw-ana", "");
    assert!(sent.status.success(), "{}", sent.stderr);
    assert_eq!(sent.stdout, "sent to bob ✓\n");

    let mut bob_events = server.login_recv("bob", "pw-bob");
    let msg = bob_events.next_msg();
    assert!(msg.ends_with(":📎 dataset.bin (10.0 MB) the data"), "{msg}");
    drop(bob_events);
    let mut bob_events = login_recv_1_2(&server, "bob");
    let event = next_file_event(&mut bob_events);
    let id = event.split(':').nth(6).unwrap().to_string();
    let mut bob = server.login_send("bob", "pw-bob");
    let got = fetch(&mut bob, &id).unwrap();
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes, "byte for byte");
    let missing = run_wachat(
        &[
            ["send", "--user", "ana"].map(String::from).to_vec(),
            connection_args(server.send, server.recv, &dir.path().join("client")),
            ["--to", "bob", "--file", "/nonexistent/x.pdf"].map(String::from).to_vec(),
        ]
        .concat(),
        "pw-ana",
        "",
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stderr.contains("/nonexistent/x.pdf"), "{}", missing.stderr);
}

/// Library options for `user` (password `pw-<user>`) on `server`.
fn client(server: &TestServer, user: &str, data_dir: &Path) -> wachat::client::Client {
    let mut options = wachat::client::ClientOptions::new(user, &format!("pw-{user}"));
    options.send_port = server.send.port();
    options.recv_port = server.recv.port();
    options.data_dir = data_dir.to_path_buf();
    wachat::client::Client::connect(options).expect("connect")
}

#[test]
fn the_consoles_client_sends_a_file_and_the_receiver_saves_it_by_its_message() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let ana = client(&server, "ana", &dir.path().join("ana"));
    let bob = client(&server, "bob", &dir.path().join("bob"));
    let bytes = noise(100_000, 9);
    let path = dir.path().join("lab3.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let chat = wachat::protocol::Chat::User("bob".into());
    let sent = ana.send_file(&chat, &path, Some("for friday")).unwrap();
    assert_eq!(sent.text.unescaped(), "📎 lab3.pdf (98 KB) for friday");
    assert!(ana.file_of(&sent).is_some(), "the sender can save its own file too");
    let deadline = Instant::now() + READ_TIMEOUT;
    let got = loop {
        let notice = bob.events().recv_deadline(deadline).expect("bob's message");
        if let wachat::client::Notice::Message(m) = notice {
            break m;
        }
    };
    assert_eq!(got.text.unescaped(), "📎 lab3.pdf (98 KB) for friday");
    let saved = bob.save_file(&got, Some(dir.path())).err();
    assert!(saved.is_some(), "lab3.pdf is there already: not overwritten");
    let out = dir.path().join("saved");
    std::fs::create_dir(&out).unwrap();
    assert_eq!(bob.save_file(&got, Some(&out)).unwrap(), out.join("lab3.pdf"));
    assert!(std::fs::read(out.join("lab3.pdf")).unwrap() == bytes);
}

/// A user's messages count for a file, and its files for a message
/// (tests/cluster/files.rs tells a cluster the same story).
#[test]
fn messages_and_files_share_the_quota() {
    let server = TestServer::start_with(&["--user-quota", "200000", "--rate", "0"]);
    server.register(&["ana", "bob", "carl"]);
    support::files::messages_and_files_share_the_quota(&server, &server);
}

#[test]
fn a_user_whose_files_fill_the_quota_gets_full_on_msg() {
    let server = TestServer::start_with(&["--user-quota", "200000", "--rate", "0"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let text = "x".repeat(500);
    assert!(ana.request(&format!("MSG:bob:m0:{text}")).starts_with("OK:m0:"), "room left before the file");
    // 199,000 bytes of files: the messages' share of the quota is what
    // is left, a couple of messages of 500 bytes at most.
    let id = upload(&mut ana, "big.bin", &noise(199_000, 3));
    assert!(ana.request(&format!("FILE:bob:f1:{id}:")).starts_with("OK:f1:"));
    let replies = support::files::messages_until_full(&mut ana, "bob", &text);
    let last = replies.last().unwrap();
    assert!(last.starts_with("KO:FULL:") && last.contains("messages and files"), "{replies:?}");
    assert!(replies.len() <= 3, "the file counted at once: {replies:?}");
    // Without the file, its bytes are the messages' again.
    assert!(ana.request("DELETE:bob:f1").starts_with("OK:"));
    let deadline = Instant::now() + READ_TIMEOUT;
    for i in 0.. {
        // The file bytes a MSG saw are trusted for a second: polled.
        if ana.request(&format!("MSG:bob:n{i}:{text}")).starts_with("OK:") {
            break;
        }
        assert!(Instant::now() < deadline, "the quota not given back");
        std::thread::sleep(Duration::from_millis(100)); // polling
    }
}

/// Bob forwards ana's 900 KiB file to himself and ana deletes her
/// message: the file must not stay in her quota, where no message of
/// hers is left whose deletion would free it. A file is its
/// uploader's while a message of hers carries it; after that it is the
/// forwarder's: in his quota, and freed when he deletes his message.
#[test]
fn a_forwarded_file_is_the_forwarders_once_its_sender_deleted_hers() {
    let server = TestServer::start_with(&["--user-quota", "1000000", "--rate", "0"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    let bytes = noise(900 * 1024, 7);
    let id = upload(&mut ana, "notes.pdf", &bytes);
    assert!(ana.request(&format!("FILE:bob:f1:{id}:")).starts_with("OK:f1:"));
    assert!(bob.request(&format!("FILE:bob:fw1:{id}:↪ ")).starts_with("OK:fw1:"), "bob keeps it");
    let sha = sha256(&bytes);
    let hers = format!("UPLOAD:again.pdf:{}:{sha}", bytes.len());
    assert!(ana.request(&hers).starts_with("KO:FULL:"), "ana pays while her message carries it");

    assert!(ana.request("DELETE:bob:f1").starts_with("OK:"));
    let again = ana.request(&hers);
    assert!(again.starts_with("OK:"), "ana's quota is hers again: {again}");
    let small = noise(200 * 1024, 8);
    let his = format!("UPLOAD:more.bin:{}:{}", small.len(), sha256(&small));
    let full = bob.request(&his);
    assert!(full.starts_with("KO:FULL:"), "bob pays for what he kept: {full}");
    assert_eq!(fetch(&mut bob, &id).unwrap(), bytes, "and still has it");

    assert!(bob.request("DELETE:bob:fw1").starts_with("OK:"));
    assert!(bob.request(&his).starts_with("OK:"), "deleting his message frees it");
    assert!(fetch(&mut bob, &id).is_err(), "nothing carries it any more: gone");
}

/// The lines of an export, parsed.
fn export_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn wachat_export_copies_your_files_under_safe_names_and_says_which_message_carries_which() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let pdf = noise(30_000, 5);
    let lab = upload(&mut ana, "lab 3.PDF", &pdf);
    assert!(ana.request(&format!("FILE:bob:f1:{lab}:for friday")).starts_with("OK:f1:"));
    assert!(ana.request(&format!("FILE:#lab:f2:{lab}:")).starts_with("OK:f2:"));
    let notes = noise(100, 6);
    let kept = upload(&mut ana, "README", &notes); // sent nowhere: still yours
    let mut bob = server.login_send("bob", "pw-bob");
    upload(&mut bob, "bobs.bin", &noise(10, 7)); // not ana's

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ana.jsonl");
    let mut args: Vec<String> =
        ["export", "--user", "ana", "--out", out.to_str().unwrap()].iter().map(|s| s.to_string()).collect();
    args.extend(connection_args(server.send, server.recv, tmp.path()));
    let outcome = run_wachat(&args, "pw-ana", "");
    assert!(outcome.status.success(), "{}", outcome.stderr);
    let lines = export_lines(&out);
    let of = |kind: &str| lines.iter().filter(|l| l["type"] == kind).cloned().collect::<Vec<_>>();
    let files: Vec<(String, String, String, u64)> = of("file")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("file"), s("name"), s("path"), f["size"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        files,
        [
            (lab.clone(), "lab 3.PDF".into(), format!("files/{lab}.pdf"), 30_000),
            (kept.clone(), "README".into(), format!("files/{kept}"), 100)
        ]
    );
    assert_eq!(std::fs::read(tmp.path().join(format!("files/{lab}.pdf"))).unwrap(), pdf);
    assert_eq!(std::fs::read(tmp.path().join(format!("files/{kept}"))).unwrap(), notes);
    assert_eq!(names_in(&tmp.path().join("files")).len(), 2, "only ana's files");
    let mode = std::fs::metadata(tmp.path().join("files")).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o700);
    let carried: Vec<String> = of("attachment")
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap().to_string();
            format!("{}>{}:{} {} {}", s("from"), s("to"), s("id"), s("file"), s("path"))
        })
        .collect();
    let path = format!("files/{lab}.pdf");
    assert_eq!(carried, [format!("ana>bob:f1 {lab} {path}"), format!("ana>#lab:f2 {lab} {path}")]);

    // An administrator's export of the stopped server: the same files.
    assert_eq!(server.terminate().code(), Some(0));
    let admin = tempfile::tempdir().unwrap();
    let admin_out = admin.path().join("ana.jsonl");
    let args: Vec<String> = ["users", "export", "ana", "--out", admin_out.to_str().unwrap(), "--data-dir"]
        .iter()
        .map(|s| s.to_string())
        .chain([server.data_dir.display().to_string()])
        .collect();
    let outcome = run_wachat(&args, "", "");
    assert!(outcome.status.success(), "{}", outcome.stderr);
    let admin_files: Vec<serde_json::Value> = export_lines(&admin_out)
        .into_iter()
        .filter(|l| l["type"] == "file" || l["type"] == "attachment")
        .collect();
    assert_eq!(
        admin_files,
        lines
            .iter()
            .filter(|l| l["type"] == "file" || l["type"] == "attachment")
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(std::fs::read(admin.path().join(format!("files/{lab}.pdf"))).unwrap(), pdf);
}

#[test]
fn fileof_names_the_file_of_a_message_seen_in_history_to_whoever_may_read_it_and_no_one_else() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl", "eve"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(ana.request("JOIN:#lab3"), "OK");
    assert_eq!(carl.request("JOIN:#lab3"), "OK");
    let bytes = noise(30_000, 5);
    let id = upload(&mut ana, "lab3.pdf", &bytes);
    assert!(ana.request(&format!("FILE:bob:f1:{id}:for friday")).starts_with("OK:f1:"));
    assert!(ana.request(&format!("FILE:#lab3:f2:{id}:")).starts_with("OK:f2:"));
    assert!(ana.request("MSG:bob:m1:📎 not a file").starts_with("OK:m1:"));

    let answer = format!("OK:{id}:30000:application/octet-stream:lab3.pdf");
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("FILEOF:ana:ana:f1"), answer, "the recipient, its chat named by the other user");
    assert_eq!(ana.request("FILEOF:bob:ana:f1"), answer, "the sender");
    assert_eq!(carl.request("FILEOF:#lab3:ana:f2"), answer, "a member of the room");
    let unknown = bob.request("FILEOF:ana:ana:m1");
    assert!(unknown.starts_with("KO:UNKNOWN_FILE"), "a plain MSG carries nothing: {unknown}");
    // Eve, in neither chat, gets the answer of a message that does not exist.
    let mut eve = server.login_send("eve", "pw-eve");
    for line in ["FILEOF:bob:ana:f1", "FILEOF:ana:ana:f1", "FILEOF:#lab3:ana:f2", "FILEOF:#lab3:ana:zz"] {
        assert_eq!(eve.request(line), unknown, "{line}");
    }
    assert_eq!(carl.request("FILEOF:bob:ana:f1"), unknown, "not carl's direct chat");
    assert!(bob.request("FILEOF:ana:a/b:f1").starts_with("KO:BAD_REQUEST"));

    // A console on a new device: no FILE event noted, `/save` asks FILEOF.
    let dir = tempfile::tempdir().unwrap();
    let fresh = client(&server, "bob", &dir.path().join("bob-new"));
    let ana_chat = wachat::protocol::Chat::User("ana".into());
    let info = fresh.file_of_message(&ana_chat, "ana", "f1").unwrap().expect("the file of f1");
    assert_eq!((info.id.as_str(), info.size, info.name.as_str()), (id.as_str(), 30_000, "lab3.pdf"));
    assert_eq!(fresh.file_of_message(&ana_chat, "ana", "m1").unwrap(), None);
    let fresher = client(&server, "bob", &dir.path().join("bob-newer"));
    let history = fresher.conversation(&ana_chat, 10).unwrap().messages;
    let f1 = history.iter().find(|m| m.id == "f1").expect("f1 in the history");
    let out = dir.path().join("saved.pdf");
    assert_eq!(fresher.save_file(f1, Some(&out)).unwrap(), out);
    assert!(std::fs::read(&out).unwrap() == bytes);
    // Onto a file that exists, a sentence, not "entity already
    // exists"; the file is left as it was.
    let again = fresher.save_file(f1, Some(&out)).unwrap_err().to_string();
    assert!(again.contains("exists already") && again.contains("/save"), "{again}");
    assert!(std::fs::read(&out).unwrap() == bytes);
}

/// A file belongs to the account that uploaded it, not
/// to its name. Ana's new account (same name, registered again once the
/// old one was deleted) sees nothing of the old one's files; the file the
/// old ana never sent is gone from the disk; the one she sent bob stays
/// his to read, and only his.
#[test]
fn a_deleted_accounts_files_are_not_the_next_owner_of_its_name() {
    let mut server = TestServer::start_with(&["--name-quarantine-days", "0"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let sent = noise(20_000, 7);
    let kept = noise(5_000, 8);
    let f1 = upload(&mut ana, "private.pdf", &sent);
    let f2 = upload(&mut ana, "never-sent.pdf", &kept);
    assert!(ana.request(&format!("FILE:bob:f1:{f1}:for you")).starts_with("OK:f1:"));
    assert_eq!(ana.request("DELACCOUNT:pw-ana"), "OK");
    eventually("the unsent file leaves the disk", || {
        !names_in(&files_dir(&server)).iter().any(|n| n.starts_with(&f2))
    });

    let mut again = server.send_conn();
    assert_eq!(again.request("REGISTER:ana::pw-new-ana"), "OK:ana");
    let mut new_ana = server.login_send("ana", "pw-new-ana");
    assert_eq!(new_ana.listing("FILES"), Vec::<String>::new(), "none of the old account's files");
    let unknown = "KO:UNKNOWN_FILE:no such file that you may see";
    assert_eq!(fetch(&mut new_ana, &f1).unwrap_err(), unknown);
    assert_eq!(fetch(&mut new_ana, &f2).unwrap_err(), unknown);
    assert_eq!(new_ana.request("FILEOF:bob:ana:f1"), unknown);
    assert!(new_ana.request(&format!("FILE:bob:f9:{f1}:")).starts_with("KO:UNKNOWN_FILE"));

    // Bob keeps what was sent to him, as he keeps its message.
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(fetch(&mut bob, &f1).unwrap(), sent);
    assert!(bob.request("FILEOF:ana:ana:f1").starts_with(&format!("OK:{f1}:20000:")));
    assert_eq!(fetch(&mut bob, &f2).unwrap_err(), unknown);

    // A restart reads the same from the disk.
    drop((bob, new_ana));
    server.restart(&["--name-quarantine-days", "0"]);
    let mut new_ana = server.login_send("ana", "pw-new-ana");
    assert_eq!(new_ana.listing("FILES"), Vec::<String>::new());
    assert_eq!(fetch(&mut new_ana, &f1).unwrap_err(), unknown);
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(fetch(&mut bob, &f1).unwrap(), sent);
}

/// The quota's check and the upload's reservation are
/// one step. Sixty connections of one user ask at once for an upload of
/// 1.5 MB each under a 2 MB quota: one fits, the others are `KO:FULL`.
#[test]
fn concurrent_uploads_cannot_pass_the_quota() {
    let server = TestServer::start_with(&["--user-quota", "2000000", "--rate", "0", "--address-rate", "0"]);
    server.register(&["ana"]);
    let size = 1_500_000;
    let sha = sha256(&noise(size, 1));
    let mut conns: Vec<_> = (0..60).map(|_| server.login_send("ana", "pw-ana")).collect();
    let replies = request_at_once(&mut conns, &format!("UPLOAD:big.bin:{size}:{sha}"));
    let accepted = replies.iter().filter(|r| r.starts_with("OK:")).count();
    assert_eq!(accepted, 1, "{replies:?}");
    assert!(replies.iter().all(|r| r.starts_with("OK:") || r.starts_with("KO:FULL:")), "{replies:?}");
}

/// Unfinished uploads are counted, not only their
/// bytes: past 32 of a user, and 128 of an address, `UPLOAD` is
/// `KO:FULL`, so what they leave on the disk is bounded.
#[test]
fn unfinished_uploads_are_capped_per_user_and_per_address() {
    let server = TestServer::start_with(&["--rate", "0", "--address-rate", "0"]);
    let users = ["uma", "ulf", "una", "uri", "uwe"];
    server.register(&users);
    let sha = sha256(b"x");
    let mut accepted = Vec::new();
    let mut refusals = Vec::new();
    for user in users {
        let mut conn = server.login_send(user, &format!("pw-{user}"));
        for _ in 0..40 {
            let reply = conn.request(&format!("UPLOAD:a.bin:1:{sha}"));
            match reply.strip_prefix("OK:") {
                Some(id) => accepted.push(id.to_string()),
                None => refusals.push(reply),
            }
        }
    }
    let first = accepted[0].clone();
    let accepted = accepted.len();
    assert_eq!(accepted, 128, "4 users' 32, then the address is full: {refusals:?}");
    assert!(refusals[0].starts_with("KO:FULL:") && refusals[0].contains("32"), "{}", refusals[0]);
    assert!(refusals.last().unwrap().starts_with("KO:FULL:") && refusals.last().unwrap().contains("128"));
    assert!(names_in(&files_dir(&server)).len() <= 2 * 128, "a .part and a .meta each");
    // An upload finished makes room for another.
    let mut u1 = server.login_send("uma", "pw-uma");
    assert!(u1.request(&format!("UPLOAD:a.bin:1:{sha}")).starts_with("KO:FULL:"));
    assert_eq!(u1.request(&format!("PART:{first}:0:eA==")), "OK:1");
    assert!(u1.request(&format!("UPLOAD:a.bin:1:{sha}")).starts_with("OK:"));
}
