//! Bounded by design (issue 25): each test plays one attack of the issue
//! against a real server, over sockets, and checks the limit that now
//! stops it. Each failed on the code before the issue. The figures are
//! measured by `examples/abuse` (`cargo run --release --example abuse`).

mod support;

use support::{Conn, TestServer};

/// Attack 6: a stranger behind bob's NAT guesses bob's password, and keeps
/// guessing while bob logs in 15 times from there with the right one.
#[test]
fn a_neighbour_guessing_does_not_lock_bob_out() {
    let server = TestServer::start();
    server.register(&["bob"]); // bob is known at 127.0.0.1 from now on
    let guess = |conn: &mut Option<Conn>| {
        let c = conn.get_or_insert_with(|| server.send_conn());
        let reply = c.request("LOGIN:bob:guess");
        if reply.starts_with("KO:AUTH_FAILED") {
            *conn = None; // closed after a wrong password
        }
        reply
    };
    let mut stranger = None;
    let replies: Vec<String> = (0..20).map(|_| guess(&mut stranger)).collect();
    assert!(
        replies.iter().any(|r| r.starts_with("KO:RATE_LIMITED")),
        "the stranger is throttled: {replies:?}"
    );
    let mut bob_ok = 0;
    for _ in 0..15 {
        if server.send_conn().request("LOGIN:bob:pw-bob") == "OK:bob" {
            bob_ok += 1;
        }
        assert!(guess(&mut stranger).starts_with("KO:RATE_LIMITED"), "the stranger stays throttled");
    }
    assert!(bob_ok >= 14, "bob got in {bob_ok} times of 15");
    // The guesses came from a pair that is known: the account is not locked.
    let mut elsewhere = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(elsewhere.request("LOGIN:bob:pw-bob"), "OK:bob", "the account itself is not locked");
}
