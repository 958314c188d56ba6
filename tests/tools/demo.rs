//! `wachat demo` runs to the end, exits 0, shows every step it promises
//! (as real frames), and deletes its data directory.

use super::support;

use support::console::run_wachat;

#[test]
fn the_demo_shows_every_step_and_cleans_up() {
    let demo = run_wachat(&["demo".into()], "", "");
    assert!(demo.status.success(), "exit {}\n{}\n{}", demo.status, demo.stdout, demo.stderr);
    let out = &demo.stdout;
    for frame in [
        // A message to bob while he is offline, stored: ✓.
        "ana send > MSG:bob:m1:hola bob, ¿estás?\nana send < OK:m1:",
        // Delivered when he logs in.
        "bob recv > LOGIN:bob:bob-pw\nbob recv < OK:bob\nbob recv < MSG:1:ana:bob:m1:",
        // ✓✓, then ✓✓ read.
        "ana recv < STATUS:1:bob:m1:DELIVERED:",
        "bob send > READ:ana:m1\nbob send < OK\nana recv < STATUS:2:bob:m1:READ:",
        // A room message.
        "bob recv < MSG:2:ana:#general:m2:",
        // The restart, and what waited across it.
        "bob recv < BYE:SHUTDOWN",
        "ana recv < MSG:3:bob:ana:b1:",
        "bob recv < STATUS:3:ana:b1:DELIVERED:",
        ":READ:hola bob, ¿estás?\nana send < bob:ana:b1:",
    ] {
        assert!(out.contains(frame), "the demo did not show {frame:?}:\n{out}");
    }
    let steps = out.lines().filter(|l| l.starts_with("── ")).count();
    assert_eq!(steps, 12, "{out}");

    let first = out.lines().next().unwrap_or_default();
    let dir = first.split("its data in ").nth(1).expect("the first line names the data directory");
    assert!(!std::path::Path::new(dir).exists(), "{dir} was not deleted");
}

/// On a terminal, the demo goes frame by frame (piped,
/// as above, it prints at once). Between step 2's line and step 3's it
/// pauses before each frame and before step 3: at least 1.5 s (a lower
/// bound that the sleeps make sure of; a slow machine only makes it longer).
#[test]
fn on_a_terminal_the_demo_is_paced() {
    let tmp = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(support::wachat_bin());
    command
        .arg("demo")
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        // Killed before its end, it leaves its data directory here.
        .env("TMPDIR", tmp.path());
    let mut demo = support::pty::Pty::spawn(command);
    demo.expect("── 2. ");
    let shown = std::time::Instant::now();
    demo.expect("── 3. ");
    let took = shown.elapsed();
    assert!(took >= std::time::Duration::from_millis(1500), "all at once: step 3 came {took:?} after step 2");
}
