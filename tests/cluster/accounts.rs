//! A user's own account (protocol 1.2, §20) in a cluster: a new password
//! is the database's at once, on every node.

use super::support::cluster::Cluster;
use super::support::{Conn, TestServer};
use super::{PW, register, send_conn};

/// What a `wachat users` command said.
struct Said {
    ok: bool,
    out: String,
    err: String,
}

/// `wachat users <args> --store <the cluster's database>`: given longer
/// than a request's wait for a node (a minute, `admin::room`), so that a
/// command no node answers ends by itself.
fn users(cluster: &Cluster, args: &[&str]) -> Said {
    let args: Vec<&str> = args.iter().copied().chain(["--store", &cluster.pg.url]).collect();
    let run = super::support::run_wachat_output("users", &args, std::time::Duration::from_secs(90));
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Said { ok: run.status.success(), out: text(run.stdout), err: text(run.stderr) }
}

/// The command failed because no node took its request: it gave up once
/// no node had held the lease for 15 s, not after its whole minute (the
/// seconds it says are those it waited, a slow machine's included).
fn assert_no_node_took_it(said: &Said) {
    assert!(!said.ok && said.out.is_empty(), "{}", said.out);
    let waited = said.err.split("took the request within ").nth(1).and_then(|rest| rest.split(' ').next());
    let waited: u64 = waited.and_then(|secs| secs.parse().ok()).unwrap_or_else(|| panic!("{}", said.err));
    assert!((15..60).contains(&waited), "{}", said.err);
}

/// `count` invite codes for the cluster, printed one a line.
fn invite_codes(cluster: &Cluster, count: usize) -> Vec<String> {
    let said = users(cluster, &["invite", "--count", &count.to_string(), "--days", "1"]);
    assert!(said.ok, "{}", said.err);
    said.out.lines().map(String::from).collect()
}

/// Ana's devices on `node`: a phone linked with a code (its token) and a
/// laptop online (its 1.2 receive connection).
fn phone_and_laptop(node: &TestServer) -> (String, Conn) {
    let code = send_conn(node, "ana").request("LINK").strip_prefix("OK:").expect("OK:<code>").to_string();
    let paired = node.send_conn().request(&format!("PAIR:ana@phone:{code}"));
    let token = paired.strip_prefix("OK:").expect("OK:<token>").to_string();
    let mut laptop: Conn = node.recv_conn();
    assert_eq!(laptop.request("VERSION:1.2"), "OK");
    assert_eq!(laptop.request(&format!("LOGIN:ana@laptop:{PW}")), "OK:ana");
    (token, laptop)
}

#[test]
fn a_password_changed_on_one_node_is_the_only_one_on_every_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    // Node b has the old password in its cache of recent logins, and
    // knows ana at a second address (a lab's), with it.
    send_conn(&b, "ana");
    let from_lab = || Conn::connect_from(b.send, [127, 0, 0, 2]);
    assert_eq!(from_lab().request(&format!("LOGIN:ana:{PW}")), "OK:ana");
    // A linked phone (its token) and a laptop online on node b.
    let (token, mut laptop) = phone_and_laptop(&b);

    let mut desk = a.send_conn();
    assert_eq!(desk.request(&format!("LOGIN:ana@desk:{PW}")), "OK:ana");
    assert_eq!(desk.request("PASSWD:wrong:new-secret"), "KO:FORBIDDEN:wrong password");
    assert_eq!(desk.request(&format!("PASSWD:{PW}:new-secret")), "OK");
    assert_eq!(laptop.read_to_close(), "BYE:UNLINKED\n", "a device on the other node");
    for node in [&a, &b] {
        assert!(node.send_conn().request(&format!("LOGIN:ana:{PW}")).starts_with("KO:AUTH_FAILED:"));
        assert!(node.send_conn().request(&format!("LOGIN:ana@phone:{token}")).starts_with("KO:AUTH_FAILED:"));
        node.login_send("ana", "new-secret");
    }
    // Past the lab pair's failed-login bucket, node b's second chance for
    // a known pair does not let the old password in either.
    for _ in 0..5 {
        assert!(from_lab().request("LOGIN:ana:guess").starts_with("KO:AUTH_FAILED:"));
    }
    assert!(from_lab().request(&format!("LOGIN:ana:{PW}")).starts_with("KO:RATE_LIMITED:"));
}

#[test]
fn an_account_deleted_on_one_node_is_gone_on_every_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    // ana is a server admin (a cluster's are set in its database).
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:m1:keep this").starts_with("OK:m1:"));
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let (token, mut laptop) = phone_and_laptop(&b);

    assert_eq!(ana.request("DELACCOUNT:wrong"), "KO:FORBIDDEN:wrong password");
    assert_eq!(ana.request(&format!("DELACCOUNT:{PW}")), "OK");
    ana.expect_closed();
    assert!(laptop.read_to_close().ends_with("BYE:UNLINKED\n"), "a device on the other node");
    // The password on one node, the token on the other (the failed logins
    // are counted once for the cluster, by its leader, as one server's).
    assert!(a.send_conn().request(&format!("LOGIN:ana:{PW}")).starts_with("KO:AUTH_FAILED:"));
    let by_token = b.send_conn().request(&format!("LOGIN:ana@phone:{token}"));
    assert!(by_token.starts_with("KO:AUTH_FAILED:"), "{by_token}");
    for node in [&a, &b] {
        let again = node.send_conn().request("REGISTER:ANA::another-pw");
        assert!(
            again.starts_with("KO:USER_EXISTS:the name ana belonged to an account that was deleted"),
            "{again}"
        );
        let mut bob = send_conn(node, "bob");
        let history = bob.listing("HISTORY:ana:10");
        assert!(history.iter().any(|l| l.ends_with(":keep this")), "{history:?}");
        assert!(!bob.listing("MEMBERS:#general").iter().any(|l| l.starts_with("ana")), "out of #general");
    }
    let mut bob_events = b.login_recv("bob", PW);
    assert!(bob_events.next_msg().ends_with(":keep this"), "delivered after the deletion");
}

/// `wachat users invite --store` prints codes for the whole cluster: a
/// student redeems one through either node, once, whichever node the
/// classmate who typed it too reached (codes are in the shared store, not
/// in one node's data directory).
#[test]
fn an_invite_code_printed_for_the_cluster_lets_one_student_in_through_any_node() {
    let cluster = Cluster::start();
    let invite = ["--registration", "invite"];
    let (a, b) = (cluster.node_with("a", &invite), cluster.node_with("b", &invite));
    let codes = invite_codes(&cluster, 3);
    assert_eq!(codes.len(), 3, "{codes:?}");

    // The first code, on node b; then on node a it is used.
    assert_eq!(b.send_conn().request(&format!("REDEEM:{}:ana::pw-ana", codes[0])), "OK:ana");
    let again = a.send_conn().request(&format!("REDEEM:{}:bob::pw-bob", codes[0]));
    assert_eq!(again, "KO:AUTH_FAILED:this invite code was used already: ask for another");
    // A taken name uses nothing up: the same code then works for
    // another name, on the other node.
    let taken = a.send_conn().request(&format!("REDEEM:{}:ANA::pw-xyz", codes[1]));
    assert!(taken.starts_with("KO:USER_EXISTS:"), "{taken}");
    assert_eq!(b.send_conn().request(&format!("REDEEM:{}:bob::pw-bob", codes[1])), "OK:bob");
    // Typed as a person types it, on node a.
    let typed = format!("{}-{}", codes[2][..5].to_uppercase(), &codes[2][5..]);
    assert_eq!(a.send_conn().request(&format!("REDEEM:{typed}:carl::pw-carl")), "OK:carl");
    let unknown = b.send_conn().request("REDEEM:nosuchcode:dan::pw-dan");
    assert_eq!(unknown, "KO:AUTH_FAILED:no such invite code: check how you typed it");
    // Each account is the cluster's: it logs in on both nodes.
    for node in [&a, &b] {
        for (user, pw) in [("ana", "pw-ana"), ("bob", "pw-bob"), ("carl", "pw-carl")] {
            node.login_send(user, pw);
        }
    }
    // Two students typing one code at the same moment, on the two nodes:
    // exactly one gets in.
    let code = invite_codes(&cluster, 1).remove(0);
    let racers: Vec<_> = [(&a, "eve"), (&b, "fay")]
        .into_iter()
        .map(|(node, user)| {
            let (mut conn, line) = (node.send_conn(), format!("REDEEM:{code}:{user}::pw-{user}"));
            std::thread::spawn(move || conn.request(&line))
        })
        .collect();
    let answers: Vec<String> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(answers.iter().filter(|a| a.starts_with("OK:")).count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| a.contains("used already")).count(), 1, "{answers:?}");
}

/// `wachat users disable --store` shuts a student out of every node: its
/// sessions on both nodes close, and no node lets it log in, until
/// `enable` (on a single server, tests/tools/accounts.rs). A disable through
/// one node's data directory reached that node alone.
#[test]
fn an_account_disabled_for_the_cluster_is_refused_by_every_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    // ana receives on node b (1.2) and sends through node a.
    let mut ana_recv = b.recv_conn();
    assert_eq!(ana_recv.request("VERSION:1.2"), "OK");
    assert_eq!(ana_recv.request(&format!("LOGIN:ana:{PW}")), "OK:ana");
    let mut ana_send = send_conn(&a, "ana");
    assert_eq!(ana_send.request("PING"), "OK");

    let said = users(&cluster, &["disable", "Ana"]);
    assert!(said.ok, "{}", said.err);
    assert_eq!(said.out, "Ana disabled: its logins are refused, its sessions closed\n");
    assert!(ana_recv.read_to_close().ends_with("BYE:DISABLED\n"), "the session on node b");
    ana_send.expect_closed();
    for node in [&a, &b] {
        let refused = node.send_conn().request(&format!("LOGIN:ana:{PW}"));
        assert_eq!(refused, "KO:AUTH_FAILED:the account ana is disabled by the server's administrator");
    }
    assert!(users(&cluster, &["disable", "ana"]).out.contains("was already disabled"));
    let nobody = users(&cluster, &["disable", "nobody"]);
    assert!(!nobody.ok && nobody.err.contains("no account named nobody"), "{}", nobody.err);
    // Messages to her are still taken, on either node.
    assert!(send_conn(&b, "bob").request("MSG:ana:m1:still there?").starts_with("OK:m1:"));

    assert_eq!(users(&cluster, &["enable", "ana"]).out, "ana enabled: it may log in again\n");
    for node in [&a, &b] {
        node.login_send("ana", PW);
    }
    assert!(users(&cluster, &["enable", "ana"]).out.contains("was not disabled"));
}

/// With no node running, `wachat users disable --store` is not written
/// by the command: a cluster's log has one writer, its leader. The
/// command waits for a node to take its request, then says that none did
/// and fails, as `users add` does; nothing is written (not the log, not
/// the lease), and the request it withdrew is not done by the next node.
#[test]
fn disabling_an_account_with_no_node_running_fails_and_writes_nothing() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    register(&a, "ana");
    assert!(a.terminate().success(), "stopped, it lets go of its lease");
    let written = |cluster: &Cluster| -> (i64, i64, i64) {
        let row = cluster
            .pg
            .client()
            .query_one(
                "SELECT (SELECT epoch FROM lease),
                        (SELECT coalesce(max(pos + octet_length(records)), 0) FROM log),
                        (SELECT count(*) FROM admin_requests)",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    let before = written(&cluster);
    let said = users(&cluster, &["disable", "ana"]);
    assert_no_node_took_it(&said);
    assert_eq!(written(&cluster), before, "the lease's epoch, the log's end, no request left");
    let b = cluster.node("b");
    b.login_send("ana", PW);
}

/// A teacher's request made while no node leads, the leader just killed,
/// waits for the next one: the command gives up only once no node has
/// held the lease for longer than a failover takes.
#[test]
fn a_request_made_while_the_leader_is_dead_waits_for_the_next_one() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    let b = cluster.node("b");
    register(&a, "ana");
    b.wait_for_log("this node follows");
    a.kill();
    let said = users(&cluster, &["disable", "ana"]);
    assert!(said.ok, "{}", said.err);
    assert_eq!(said.out, "ana disabled: its logins are refused, its sessions closed\n");
    b.wait_for_log("cluster: node b took over in");
    let refused = b.send_conn().request(&format!("LOGIN:ana:{PW}"));
    assert_eq!(refused, "KO:AUTH_FAILED:the account ana is disabled by the server's administrator");
}

/// With no node running, `wachat users invite --store` fails as `users
/// add` does (its codes are records of the log, whose one writer is the
/// leader): no code is printed, and none is kept.
#[test]
fn inviting_with_no_node_running_fails_and_keeps_no_code() {
    let cluster = Cluster::start();
    let said = users(&cluster, &["invite", "--count", "2"]);
    assert_no_node_took_it(&said);
    let _a = cluster.node_with("a", &["--registration", "invite"]);
    let listed = users(&cluster, &["invites", "--all"]);
    assert!(listed.ok, "{}", listed.err);
    assert!(listed.out.is_empty(), "{}", listed.out);
}

/// `wachat users list --store` lists the cluster's accounts as its
/// database has them, beside running nodes: who is online on any node,
/// rooms, chats and unread messages, and the marks (disabled; deleted by
/// its user, with --all), in the listing a single server's gives (tests/tools/accounts.rs).
#[test]
fn users_list_shows_the_accounts_of_the_cluster_as_its_nodes_know_them() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
    }
    let _ana_online = b.login_recv("ana", PW);
    assert!(send_conn(&a, "bob").request("MSG:ana:b1:hi").starts_with("OK:b1:"));
    let mut carl = send_conn(&b, "carl");
    assert_eq!(carl.request(&format!("DELACCOUNT:{PW}")), "OK");
    assert!(users(&cluster, &["disable", "bob"]).ok);
    // Accounts deleted by their users are left out, unless --all.
    assert_eq!(
        users(&cluster, &["list"]).out,
        "ana  online  rooms 1  chats 1  unread 1\n\
         bob  (disabled)  never seen  rooms 1  chats 1  unread 0\n"
    );
    assert_eq!(
        users(&cluster, &["list", "--all"]).out,
        "ana   online  rooms 1  chats 1  unread 1\n\
         bob   (disabled)  never seen  rooms 1  chats 1  unread 0\n\
         carl  (deleted by its user)\n"
    );
}
