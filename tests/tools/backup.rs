//! `wachat backup` and `wachat restore`, run as an operator runs them:
//! the drill of README's "Backups" — a backup of a server under traffic,
//! the server killed, its data directory lost, the backup restored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{self, TestServer};

/// The restored server is checked by `conform` too, which needs the
/// limits out of its way.
const SERVE: [&str; 4] = ["--exempt", "127.0.0.1", "--timeout", "2"];

/// Most messages the traffic sends: one `HISTORY` page shows them all.
const MOST: usize = 900;

/// ana sends to bob, one message every 3 ms (about 300 a second), until
/// told to stop; the ids acknowledged go into `acked`, in order.
fn traffic(
    server: &TestServer,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    let mut ana = server.login_send("ana", "pw-ana");
    std::thread::spawn(move || {
        for i in 0..MOST {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let id = format!("m{i}");
            ana.send(&format!("MSG:bob:{id}:drill {i}"));
            match ana.line_or_none() {
                Some(ok) if ok.starts_with(&format!("OK:{id}:")) => acked.lock().unwrap().push(id),
                _ => return,
            }
            std::thread::sleep(Duration::from_millis(3)); // the pace of the traffic, not a wait for anything
        }
    })
}

fn acked_count(acked: &Mutex<Vec<String>>) -> usize {
    acked.lock().unwrap().len()
}

/// Waits until at least `n` messages were acknowledged.
fn wait_acked(acked: &Mutex<Vec<String>>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked_count(acked) < n {
        assert!(Instant::now() < deadline, "only {} messages acknowledged", acked_count(acked));
        std::thread::sleep(Duration::from_millis(10)); // polling the traffic's count
    }
}

#[test]
fn the_drill_a_backup_under_traffic_restored_after_a_crash_keeps_every_acknowledged_message() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut server = TestServer::start_in(&data, &SERVE);
    server.register(&["ana", "bob"]);
    let id = server.login_send("ana", "pw-ana").request("SERVER");
    let code = server.login_send("ana", "pw-ana").request("LINK").strip_prefix("OK:").unwrap().to_string();
    let token = server.send_conn().request(&format!("PAIR:ana@laptop:{code}"));
    let token = token.strip_prefix("OK:").expect("OK:<token>").to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let sender = traffic(&server, stop.clone(), acked.clone());
    wait_acked(&acked, 150);
    let before: Vec<String> = acked.lock().unwrap().clone();
    let out = root.path().join("backup");
    let backup = support::run_wachat_output(
        "backup",
        &["--data-dir", data.to_str().unwrap(), out.to_str().unwrap()],
        Duration::from_secs(60),
    );
    let said = String::from_utf8_lossy(&backup.stdout);
    assert!(backup.status.success(), "{said}{}", String::from_utf8_lossy(&backup.stderr));
    assert!(said.contains("backup of") && said.contains("files"), "{said}");
    // More traffic, then a crash and the data directory lost.
    let at_backup_end = acked_count(&acked);
    wait_acked(&acked, at_backup_end + 100);
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    server.kill();
    std::fs::remove_dir_all(&data).unwrap();

    let restore = support::run_wachat_output(
        "restore",
        &["--data-dir", data.to_str().unwrap(), out.to_str().unwrap()],
        Duration::from_secs(60),
    );
    let said = String::from_utf8_lossy(&restore.stdout);
    assert!(restore.status.success(), "{said}{}", String::from_utf8_lossy(&restore.stderr));
    assert!(said.contains("restored") && said.contains(id.strip_prefix("OK:").unwrap()), "{said}");
    assert!(said.contains("2 accounts"), "{said}");

    let server = TestServer::start_in(&data, &SERVE);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("SERVER"), id, "the server's identity is the backup's");
    let history = ana.listing("HISTORY:bob:1000");
    let ids: Vec<&str> = history.iter().map(|line| line.split(':').nth(2).unwrap()).collect();
    // The history is the messages sent, in order, each once, up to some
    // point at or after the backup began: every one acknowledged before
    // it is there.
    let sent: Vec<String> = (0..ids.len()).map(|i| format!("m{i}")).collect();
    assert_eq!(ids, sent, "in order, each once, none missing");
    assert!(
        ids.len() >= before.len(),
        "{} of the {} acknowledged before the backup",
        ids.len(),
        before.len()
    );
    assert!(ids.len() < acked_count(&acked), "what came after the backup is forgotten");
    assert_eq!(
        server.send_conn().request(&format!("LOGIN:ana@laptop:{token}")),
        "OK:ana",
        "the token logs in"
    );
    println!(
        "acknowledged before the backup {}, restored {}, acknowledged in all {}",
        before.len(),
        ids.len(),
        acked_count(&acked)
    );

    let [send, recv] = [server.send.port().to_string(), server.recv.port().to_string()];
    let conform = support::run_wachat_output(
        "conform",
        &["server", "127.0.0.1", "--send-port", &send, "--recv-port", &recv, "--level", "1.2", "--fast"],
        Duration::from_secs(240),
    );
    let stdout = String::from_utf8_lossy(&conform.stdout);
    assert!(conform.status.success(), "{stdout}");
}

/// Backups taken while the log rolls into a new segment every 4 KiB and
/// a checkpoint is written every 5 records (both go on under the copy,
/// which starts again if a checkpoint it was copying is replaced): each
/// backup opens, and holds the messages in order, each once, every one
/// acknowledged before it began.
#[test]
fn backups_taken_while_segments_roll_and_checkpoints_are_written_each_hold_a_whole_prefix() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let args = ["--segment-size", "4096", "--checkpoint-records", "5", "--exempt", "127.0.0.1"];
    let server = TestServer::start_in(&data, &args);
    server.register(&["ana", "bob"]);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let sender = traffic(&server, stop.clone(), acked.clone());
    let mut taken = Vec::new();
    for n in 0..4 {
        wait_acked(&acked, 60 * (n + 1));
        let before = acked_count(&acked);
        let out = root.path().join(format!("backup-{n}"));
        let backup = support::run_wachat_output(
            "backup",
            &["--data-dir", data.to_str().unwrap(), out.to_str().unwrap()],
            Duration::from_secs(60),
        );
        assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
        taken.push((out, before));
    }
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    let segments = std::fs::read_dir(data.join("log")).unwrap().count();
    assert!(segments > 3, "the log rolled: {segments} segments");
    drop(server);
    for (n, (out, before)) in taken.iter().enumerate() {
        let restored = root.path().join(format!("restored-{n}"));
        let restore = support::run_wachat_output(
            "restore",
            &["--data-dir", restored.to_str().unwrap(), out.to_str().unwrap()],
            Duration::from_secs(60),
        );
        assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
        let server = TestServer::start_in(&restored, &args);
        // Its newest checkpoint is within the log it came with (copied
        // before the log, it cannot be ahead of it), so the start uses it.
        let passed_over: Vec<String> =
            server.log().into_iter().filter(|l| l.contains("is not usable")).collect();
        assert!(passed_over.is_empty(), "backup {n}: {passed_over:?}");
        let history = server.login_send("ana", "pw-ana").listing("HISTORY:bob:1000");
        let ids: Vec<&str> = history.iter().map(|line| line.split(':').nth(2).unwrap()).collect();
        let sent: Vec<String> = (0..ids.len()).map(|i| format!("m{i}")).collect();
        assert_eq!(ids, sent, "backup {n}: in order, each once");
        assert!(ids.len() >= *before, "backup {n}: {} of the {before} acknowledged before it", ids.len());
    }
}

/// `wachat backup --help` says what a backup holds that must stay
/// private: the server's private keys as well as messages and hashes.
#[test]
fn backup_help_names_the_keys_a_backup_holds() {
    let out = support::run_wachat_output("backup", &["--help"], Duration::from_secs(20));
    let help = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(out.status.success());
    for needle in ["password hashes", "link-key.pem", "vapid.pk8", "pass for this server"] {
        assert!(help.contains(needle), "{needle:?} not in {help}");
    }
}
