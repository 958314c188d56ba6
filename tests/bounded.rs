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

/// Pipelines `n` `JOIN:#lab` (one token each) and counts the replies that
/// were refused by the address's bucket.
fn joins_refused_per_address(conn: &mut Conn, n: usize) -> usize {
    conn.send_raw("JOIN:#lab\n".repeat(n).as_bytes());
    let replies: Vec<String> = (0..n).map(|_| conn.line()).collect();
    assert!(replies.iter().all(|r| r == "OK" || r.starts_with("KO:RATE_LIMITED")), "{replies:?}");
    replies.iter().filter(|r| r.contains("(--address-rate)")).count()
}

/// Attack 3: more accounts do not bring more requests from one address.
#[test]
fn rates_cannot_be_multiplied_by_accounts() {
    // A burst of 200 per address (2 s of 100/s); 1,000 per user (--rate).
    let server = TestServer::start_with(&["--address-rate", "100", "--rate", "500"]);
    let users = ["ana", "bob", "carl"];
    server.register(&users);
    let refused: usize = users
        .iter()
        .map(|u| joins_refused_per_address(&mut server.login_send(u, &format!("pw-{u}")), 150))
        .sum();
    // 450 asked, none past a user's own --rate: the address held them to
    // its burst and what refilled meanwhile.
    assert!(refused >= 100, "only {refused} of 450 refused by the address's bucket");
    // Another address has its own budget.
    let mut dan = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(dan.request("REGISTER:dan::pw-dan"), "OK:dan");
    assert_eq!(joins_refused_per_address(&mut dan, 150), 0);
    // An exempt address is held to --rate only.
    let exempt = TestServer::start_with(&["--address-rate", "100", "--exempt", "127.0.0.1"]);
    exempt.register(&users);
    for u in users {
        assert_eq!(joins_refused_per_address(&mut exempt.login_send(u, &format!("pw-{u}")), 150), 0);
    }
}
