//! The rules of `Files` on the disk store (the cluster's store runs the
//! same story in `tests/cluster/files.rs`).

use super::*;

/// The files of a single server in `dir`: its store's log, its bytes.
fn open(dir: &Path, max_size: u64, ttl: Duration) -> io::Result<Files> {
    let store = crate::store::LocalStore::open(dir, Default::default(), Box::new(|_| {})).unwrap();
    Files::open(dir, &std::sync::Arc::new(store), max_size, ttl)
}

fn sha(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_upload_is_served_once_complete_and_only_to_who_may_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let files = open(dir.path(), 1 << 20, Duration::from_secs(3600)).unwrap();
    let bytes: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    let id = files.upload("ana", "a.bin", bytes.len() as u64, &sha(&bytes), 0, 0).unwrap();
    assert_eq!(files.part("ana", &id, 0, &bytes[..12_000]).unwrap(), 12_000);
    assert_eq!(files.part("ana", &id, 0, &bytes[..12_000]).unwrap(), 12_000, "a resend changes nothing");
    assert_eq!(files.part("bob", &id, 12_000, &bytes[12_000..]).unwrap_err().code, Code::UnknownFile);
    assert_eq!(files.part("ana", &id, 20_000, &bytes[20_000..]).unwrap_err().code, Code::BadRequest);
    assert!(files.fetch("ana", &id, 0, |_| true).is_err(), "not complete: not served");
    assert_eq!(files.part("ana", &id, 12_000, &bytes[12_000..]).unwrap(), 30_000);
    assert_eq!(files.part("ana", &id, 0, &bytes[..1]).unwrap(), 30_000, "complete: its size");
    let late = files.part("bob", &id, 0, &bytes[..1]).unwrap_err();
    assert_eq!(late.code, Code::UnknownFile, "someone else's upload is unknown, complete or not");
    files.carry(&id, Carrier::new("ana", "Bob", "m1")).unwrap();
    let mut got = Vec::new();
    loop {
        let part = files.fetch("bob", &id, got.len() as u64, |c| c.to.eq_ignore_ascii_case("bob")).unwrap();
        if part.is_empty() {
            break;
        }
        got.extend(part);
    }
    assert_eq!(got, bytes);
    assert!(files.fetch("eve", &id, 0, |_| false).is_err());
    assert_eq!(files.carried("ANA", "bob", "m1").unwrap().size, 30_000);
    files.forget("ana", "bob", "m1");
    assert!(!dir.path().join("files").join(&id).exists(), "deleted with its last message");
}

#[test]
fn a_wrong_hash_removes_the_upload_and_quota_and_size_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let files = open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
    assert_eq!(files.upload("ana", "a", 101, &sha(b""), 0, 0).unwrap_err().code, Code::TooLong);
    assert_eq!(files.upload("ana", "a", 60, &sha(b""), 50, 100).unwrap_err().code, Code::Full);
    let id = files.upload("ana", "a", 3, &sha(b"abc"), 0, 0).unwrap();
    assert_eq!(files.part("ana", &id, 0, b"abd").unwrap_err().code, Code::BadRequest);
    assert_eq!(files.bytes_of("ana"), 0, "its reservation given back");
}

#[test]
fn an_unfinished_upload_is_swept_and_a_restart_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let files = open(dir.path(), 100, Duration::from_millis(0)).unwrap();
    let stale = files.upload("ana", "a", 3, &sha(b"abc"), 0, 0).unwrap();
    files.sweep(crate::store::now_ms() + 1);
    assert_eq!(files.bytes_of("ana"), 0);
    assert!(!dir.path().join("files").join(format!("{stale}.part")).exists());
    drop(files);
    let files = open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
    let id = files.upload("ana", "a", 3, &sha(b"abc"), 0, 0).unwrap();
    files.part("ana", &id, 0, b"ab").unwrap();
    drop(files);
    // Restarted mid-upload: the upload goes on from the bytes received.
    let again = open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
    assert_eq!(again.part("ana", &id, 2, b"c").unwrap(), 3);
    drop(again);
    let again = open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
    assert_eq!(again.fetch("ana", &id, 0, |_| false).unwrap(), b"abc");
}

/// What a crash leaves between a file's bytes and its description is
/// removed at the next start: the room of an upload made before its
/// `UPLOAD` record (`Files::create_upload`), the bytes of a file whose
/// `GONE` record went first (`Files::remove`), an older build's `.meta`
/// half written. What the log describes stays, and is served.
#[test]
fn bytes_that_nothing_describes_after_a_crash_are_removed_at_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let kept = {
        let files = open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
        let id = files.upload("ana", "a", 3, &sha(b"abc"), 0, 0).unwrap();
        files.part("ana", &id, 0, b"abc").unwrap();
        id
    };
    let at = |name: &str| dir.path().join("files").join(name);
    let left = ["0123.part", "4567", "4567.thumb", "89ab.meta.tmp"];
    for name in left {
        std::fs::write(at(name), b"left by a crash").unwrap();
    }
    let files = open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
    for name in left {
        assert!(!at(name).exists(), "{name} is removed");
    }
    assert!(at(&kept).exists());
    assert_eq!(files.fetch("ana", &kept, 0, |_| false).unwrap(), b"abc");
}

/// An older build kept each description in a `.meta` beside the bytes:
/// it becomes records of the log at the first start, the `.meta` goes,
/// and the file is what it was (its owner gone, a carrier's sides that
/// left, the order of its carriers), after a restart and a checkpoint too.
#[test]
fn an_older_builds_descriptions_become_records_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join("files").join(name);
    std::fs::create_dir_all(at("")).unwrap();
    let id = "0123456789abcdef0123456789abcdef";
    std::fs::write(at(id), b"abc").unwrap();
    let meta = format!(
        "owner=\nname=a, b.txt\nsize=3\nsha256={}\ntype=application/octet-stream\ncreated=17\ncomplete=true\n\
         msg=ana\tBob\tm1\tleft=author\nmsg=cy\t#lab\tm2\n",
        sha(b"abc")
    );
    std::fs::write(at(&format!("{id}.meta")), meta).unwrap();
    let upload = "fedcba9876543210fedcba9876543210";
    std::fs::write(at(&format!("{upload}.part")), b"x").unwrap();
    let now = crate::store::now_ms();
    let half = format!(
        "owner=ana\nname=u\nsize=2\nsha256=00\ntype=application/octet-stream\ncreated={now}\ncomplete=false\n"
    );
    std::fs::write(at(&format!("{upload}.meta")), half).unwrap();
    let files = open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
    let expected = Meta {
        owner: String::new(),
        name: "a, b.txt".into(),
        size: 3,
        sha256: sha(b"abc"),
        kind: OTHER_TYPE.into(),
        created: 17,
        complete: true,
        carriers: vec![
            Carrier { left: Left { author: true, recipient: false }, ..Carrier::new("ana", "Bob", "m1") },
            Carrier::new("cy", "#lab", "m2"),
        ],
    };
    let check = |files: &Files| {
        assert_eq!(files.store.meta(id).as_ref(), Some(&expected));
        assert_eq!(files.fetch("bob", id, 0, |c| c.is_party("bob")).unwrap(), b"abc");
        assert!(files.fetch("ana", id, 0, |c| c.is_party("ana")).is_err(), "ana left that message");
        assert_eq!(files.bytes_of("ana"), 2, "ana's upload under way is hers still");
        let gap = files.part("ana", upload, 2, b"y").unwrap_err();
        assert!(gap.reason.contains("offset 1"), "it received 1 byte: {}", gap.reason);
    };
    check(&files);
    assert!(!at(&format!("{id}.meta")).exists() && !at(&format!("{upload}.meta")).exists());
    drop(files);
    let files = open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
    check(&files);
    drop(files);
    let store = crate::store::LocalStore::open(dir.path(), Default::default(), Box::new(|_| {})).unwrap();
    store.checkpoint().unwrap();
    drop(store);
    check(&open(dir.path(), 100, Duration::from_secs(3600)).unwrap());
}

#[test]
fn the_rules_in_a_few_lines() {
    let meta = |complete, created| Meta {
        owner: "Ana".into(),
        name: "a".into(),
        size: 3,
        sha256: String::new(),
        kind: OTHER_TYPE.into(),
        created,
        complete,
        carriers: vec![Carrier::new("ana", "#lab", "m1")],
    };
    assert!(may_fetch(&meta(true, 0), "ANA", |_| false), "its uploader");
    assert!(may_fetch(&meta(true, 0), "bob", |c| c.to == "#lab"), "a member of a room that carries it");
    assert!(!may_fetch(&meta(false, 0), "ana", |_| true), "never before it is complete");
    assert!(!may_fetch(&meta(true, 0), "eve", |_| false));
    assert!(is_stale(&meta(false, 1000), 2000, Duration::from_secs(1)));
    assert!(!is_stale(&meta(false, 1000), 1999, Duration::from_secs(1)));
    assert!(!is_stale(&meta(true, 0), u64::MAX, Duration::ZERO), "a complete file is never swept");
    assert!(check_quota(90, 10, 100).is_ok() && check_quota(91, 10, 100).is_err());
    assert!(check_quota(99, 0, 100).is_ok() && check_quota(100, 0, 100).is_err(), "a MSG at the quota");
    assert!(check_quota(u64::MAX / 2, 1, 0).is_ok(), "0: no quota");
    assert_eq!(export_name("ab", "lab3.PDF"), "ab.pdf");
    assert_eq!(export_name("ab", "../../etc/passwd"), "ab");
    assert_eq!(export_name("ab", "x.tar/../y"), "ab");
    assert_eq!(export_name("ab", "noext"), "ab");
}

/// What an account's deletion and a forwarder's keeping do to a file's
/// description, the two rules every store runs as it keeps the result
/// (`FilesInLog::reassign`).
#[test]
fn a_deletion_disowns_and_a_forwarded_file_passes_to_its_heir() {
    let meta = Meta {
        owner: "Ana".into(),
        name: "a".into(),
        size: 3,
        sha256: String::new(),
        kind: OTHER_TYPE.into(),
        created: 0,
        complete: true,
        carriers: vec![Carrier::new("bob", "ANA", "m1"), Carrier::new("ana", "#lab", "m2")],
    };
    assert!(concerns(&meta, "ana") && concerns(&meta, "BOB"), "its uploader, a message's author");
    assert!(!concerns(&meta, "lab") && !concerns(&meta, "eve"), "a room's name is no account's");

    let mut gone = meta.clone();
    assert!(disown(&mut gone, "ana"));
    assert_eq!(gone.owner, "", "nobody's: the next account of the name is not its owner");
    assert_eq!(gone.carriers[0].left, Left { author: false, recipient: true }, "ana received m1");
    assert_eq!(gone.carriers[1].left, Left { author: true, recipient: false }, "ana wrote m2");
    assert!(!disown(&mut gone.clone(), "ana"), "a second time changes nothing");
    assert!(!disown(&mut meta.clone(), "eve"), "an account it never touched");
    assert!(!is_unread(&gone), "the room's message stays its members'");

    let mut kept = meta.clone();
    assert!(!pass_to_heir(&mut kept), "a message of its uploader still carries it");
    kept.carriers.retain(|c| c.id != "m2");
    assert!(pass_to_heir(&mut kept), "bob's message alone carries it");
    assert_eq!(kept.owner, "bob");
    assert!(!pass_to_heir(&mut kept), "bob's message carries it: it stays his");
    assert!(!pass_to_heir(&mut gone), "a deleted account's file stays outside any quota");
}

/// One student cannot hold the thumbnailer: while it is busy (its lock
/// held here), a text file completes at once, and an uploader's images
/// queue at most [`THUMBNAILS_QUEUED`] deep: one more is
/// `KO:RATE_LIMITED`, and its last part, sent again once there is room,
/// completes it.
#[test]
fn a_text_never_waits_for_the_thumbnailer_and_images_queue_within_a_bound() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let files = Arc::new(open(dir.path(), 1 << 20, Duration::from_secs(3600)).unwrap());
    let photo = {
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(64, 64, image::Rgb([1, 2, 3]))
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        png.into_inner()
    };
    let busy = files.thumbnails.lock();
    let upload =
        |owner: &str, bytes: &[u8]| files.upload(owner, "f", bytes.len() as u64, &sha(bytes), 0, 0).unwrap();
    let text = upload("bob", b"twenty bytes of text");
    let (done, answer) = std::sync::mpsc::channel();
    let waiting: Vec<_> = (0..THUMBNAILS_QUEUED)
        .map(|_| {
            let (files, photo, done) = (files.clone(), photo.clone(), done.clone());
            let id = files.upload("ana", "p.png", photo.len() as u64, &sha(&photo), 0, 0).unwrap();
            std::thread::spawn(move || done.send(files.part("ana", &id, 0, &photo)).unwrap())
        })
        .collect();
    let texts = {
        let (files, text) = (files.clone(), text.clone());
        std::thread::spawn(move || files.part("bob", &text, 0, b"twenty bytes of text"))
    };
    let at = std::time::Instant::now();
    while !texts.is_finished() {
        assert!(at.elapsed() < Duration::from_secs(10), "the text waits for the thumbnailer");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(texts.join().unwrap().unwrap(), 20);
    while files.queued.lock().get(&Queuer::User("ana".into())).copied() != Some(THUMBNAILS_QUEUED) {
        assert!(at.elapsed() < Duration::from_secs(10), "the images never queued");
        std::thread::sleep(Duration::from_millis(10));
    }
    let one_more = upload("ana", &photo);
    assert_eq!(files.part("ana", &one_more, 0, &photo).unwrap_err().code, Code::RateLimited);
    drop(busy);
    for _ in waiting {
        assert_eq!(answer.recv_timeout(Duration::from_secs(10)).unwrap().unwrap(), photo.len() as u64);
    }
    assert_eq!(files.part("ana", &one_more, 0, &photo).unwrap(), photo.len() as u64, "sent again: complete");
    assert!(files.fetch("ana", &format!("{one_more}-t"), 0, |_| false).is_ok(), "with its thumbnail");
}
