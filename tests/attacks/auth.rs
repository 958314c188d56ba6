//! Attacks on accounts and devices, end to end against `wachat serve`: an
//! unlinked device's open sessions, lock-out by guessing through a
//! restart, a `REGISTER` flood from many addresses, a stolen token that
//! would mint more devices; and a device that logs in with its token (a browser that ticked "stay
//! signed in", a console that keeps one) gets in while a classmate at the
//! same address sprays wrong passwords at its account, through a restart.

use super::support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::{Conn, TestServer};

// ----- UNLINK ends the device's sessions --------------------------------------

/// A link code for `user`, and the token `device` gets for it.
fn pair(server: &TestServer, user: &str, device: &str) -> String {
    let mut owner = server.login_send(user, &format!("pw-{user}"));
    let code = owner.request("LINK").strip_prefix("OK:").expect("OK:<code>").to_string();
    let mut fresh = server.send_conn();
    let token = fresh.request(&format!("PAIR:{user}@{device}:{code}"));
    token.strip_prefix("OK:").expect("OK:<token>").to_string()
}

/// True once the server closed `stream` (EOF or a reset), skipping the
/// lines before it (a `BYE`); false if it is still open after 10 s.
fn closed_by_server(stream: &mut impl Read) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return true, // reset
        }
    }
    false
}

/// Sends `LINK` on a connection the server may have closed: true if a
/// code came back (the device could link a new one).
fn link_succeeds(conn: &mut Conn) -> bool {
    conn.stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    if conn.stream.write_all(b"LINK\n").is_err() {
        return false;
    }
    let mut reply = String::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with('\n') {
        match conn.stream.read(&mut byte) {
            Ok(1) => reply.push(byte[0] as char),
            _ => break,
        }
    }
    reply.starts_with("OK:")
}

#[test]
fn unlink_closes_the_devices_sessions_on_both_ports() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let token = pair(&server, "ana", "phone");
    // The phone's send connection, logged in with its token, and its
    // receive connection; and a second send connection of the phone that
    // logged in with the password.
    let mut phone_send = server.send_conn();
    assert_eq!(phone_send.request(&format!("LOGIN:ana@phone:{token}")), "OK:ana");
    let mut phone_pw = server.login_send("ana@phone", "pw-ana");
    let mut phone_recv = server.recv_conn();
    assert_eq!(phone_recv.request("VERSION:1.2"), "OK");
    assert_eq!(phone_recv.request(&format!("LOGIN:ana@phone:{token}")), "OK:ana");
    assert!(phone_send.listing("HISTORY:bob:10").is_empty(), "the phone reads, for now");
    // Ana unlinks it from her laptop, whose sessions stay.
    let mut laptop = server.login_send("ana@laptop", "pw-ana");
    assert_eq!(laptop.request("UNLINK:phone"), "OK");
    assert!(closed_by_server(&mut phone_recv.stream), "the phone's receive connection is closed");
    assert!(closed_by_server(&mut phone_send.stream), "the phone's send connection is closed");
    assert!(closed_by_server(&mut phone_pw.stream), "every send connection of the phone");
    assert!(!link_succeeds(&mut phone_send), "no new device from the unlinked phone");
    assert_eq!(laptop.request("PING"), "OK", "the laptop stays logged in");
    let mut again = server.send_conn();
    assert!(again.request(&format!("LOGIN:ana@phone:{token}")).starts_with("KO:AUTH_FAILED:"));
}

#[test]
fn a_device_that_unlinks_itself_hears_ok_then_is_closed() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut phone = server.login_send("ana@phone", "pw-ana");
    let _phone_recv = {
        let mut r = server.recv_conn();
        assert_eq!(r.request("LOGIN:ana@phone:pw-ana"), "OK:ana");
        r
    };
    assert_eq!(phone.request("UNLINK:phone"), "OK");
    phone.expect_closed();
}

/// A WebSocket connection to the web port's `path`, opened by hand.
fn websocket(addr: SocketAddr, path: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(support::READ_TIMEOUT)).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).unwrap(), 1, "the handshake's answer");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    tcp
}

/// Sends `line` as a masked text frame (a client's, RFC 6455).
fn ws_send(tcp: &mut TcpStream, line: &str) {
    let payload = line.as_bytes();
    assert!(payload.len() < 126);
    let mask = [3u8, 1, 4, 1];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tcp.write_all(&frame).unwrap();
}

/// The payload of the server's next frame (short, unmasked).
fn ws_read(tcp: &mut TcpStream) -> String {
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).unwrap();
    let len = match head[1] & 0x7F {
        126 => {
            let mut n = [0u8; 2];
            tcp.read_exact(&mut n).unwrap();
            u16::from_be_bytes(n) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).unwrap();
    String::from_utf8_lossy(&payload).trim_end().to_string()
}

#[test]
fn unlink_closes_the_devices_websockets_too() {
    let server = TestServer::start_with(&["--web-port", "0"]);
    server.register(&["ana"]);
    let web = server.web.expect("the web port");
    let token = pair(&server, "ana", "browser");
    let mut send = websocket(web, "/ws/send");
    ws_send(&mut send, &format!("LOGIN:ana@browser:{token}"));
    assert_eq!(ws_read(&mut send), "OK:ana");
    let mut recv = websocket(web, "/ws/receive");
    ws_send(&mut recv, "VERSION:1.2");
    assert_eq!(ws_read(&mut recv), "OK");
    ws_send(&mut recv, &format!("LOGIN:ana@browser:{token}"));
    assert_eq!(ws_read(&mut recv), "OK:ana");
    let mut laptop = server.login_send("ana", "pw-ana");
    assert_eq!(laptop.request("UNLINK:browser"), "OK");
    assert!(closed_by_server(&mut recv), "the browser's receive WebSocket is closed");
    assert!(closed_by_server(&mut send), "the browser's send WebSocket is closed");
}

// ----- lock-out by guessing, through a restart ---------------------------------

/// The lab's NAT: the classmates and the neighbour share it.
const NAT: [u8; 4] = [127, 0, 0, 5];

/// The neighbour at the NAT tries `n` names that are nobody's: the
/// address's budget of failures is spent.
fn spray_names(server: &TestServer, n: usize) {
    let guess = |i| Conn::connect_from(server.send, NAT).request(&format!("LOGIN:stranger{i}:guess"));
    let replies: Vec<String> = (0..n).map(guess).collect();
    assert!(replies.last().unwrap().starts_with("KO:RATE_LIMITED:"), "{replies:?}");
}

/// How many of 15 right logins of `user` from the NAT get in.
fn logins_of_15(server: &TestServer, user: &str) -> usize {
    let mut c = Conn::connect_from(server.send, NAT);
    (0..15)
        .filter(|_| {
            let reply = c.request(&format!("LOGIN:{user}:pw-{user}"));
            if reply.starts_with("OK:") {
                c = Conn::connect_from(server.send, NAT);
            }
            reply.starts_with("OK:")
        })
        .count()
}

#[test]
fn a_classmate_gets_in_during_a_spray_from_her_nat_after_a_restart_too() {
    let mut server = TestServer::start();
    for user in ["ana", "bob"] {
        let mut c = Conn::connect_from(server.send, NAT);
        assert_eq!(c.request(&format!("REGISTER:{user}::pw-{user}")), format!("OK:{user}"));
    }
    spray_names(&server, 40);
    assert!(logins_of_15(&server, "ana") >= 14, "before the restart");
    server.restart(&[]);
    spray_names(&server, 40);
    let (ana, bob) = (logins_of_15(&server, "ana"), logins_of_15(&server, "bob"));
    assert!(ana >= 14 && bob >= 14, "after the restart: ana {ana}/15, bob {bob}/15");
    let known = std::fs::read_to_string(server.data_dir.join("known.csv")).unwrap();
    assert!(!known.contains("pw-"), "no password is written: {known}");
}

#[test]
fn wrong_link_codes_from_many_addresses_do_not_refuse_a_right_password() {
    let server = TestServer::start();
    server.register(&["ana"]);
    for i in 0..60u8 {
        let mut c = Conn::connect_from(server.send, [127, 0, 1, i + 1]);
        let reply = c.request("PAIR:ana@x:wrongcode0");
        assert!(reply.starts_with("KO:"), "{reply}");
    }
    let mut newcomer = Conn::connect_from(server.send, [127, 0, 2, 1]);
    assert!(newcomer.request("PAIR:ana@x:wrongcode1").starts_with("KO:RATE_LIMITED:"), "codes are limited");
    let mut newcomer = Conn::connect_from(server.send, [127, 0, 2, 1]);
    assert_eq!(newcomer.request("LOGIN:ana:pw-ana"), "OK:ana", "a password is not a code");
}

// ----- a REGISTER flood from many addresses ------------------------------------

/// Registers from 70 addresses until the server's overall cap refuses.
fn flood_registrations(server: &TestServer) {
    let mut n = 0;
    for i in 0..70u8 {
        for _ in 0..20 {
            let mut c = Conn::connect_from(server.send, [127, 0, 7, i + 1]);
            let reply = c.request(&format!("REGISTER:flood{n}::secret"));
            n += 1;
            if reply.starts_with("KO:RATE_LIMITED:too many new accounts; ") {
                return; // the overall cap
            }
            if !reply.starts_with("OK:") {
                break; // this address's own cap
            }
        }
    }
    panic!("{n} registrations from 70 addresses, and the overall cap never refused");
}

#[test]
fn after_a_flood_from_many_addresses_a_fresh_address_registers() {
    let server = TestServer::start();
    flood_registrations(&server);
    for i in 1..=5u8 {
        let mut c = Conn::connect_from(server.send, [127, 0, 8, i]);
        assert_eq!(c.request(&format!("REGISTER:classmate{i}::pw-classmate")), format!("OK:classmate{i}"));
    }
    // A flooding address is still refused: the reserve is for fresh ones.
    // Its own bucket has room (it made 20 of its 60), so only the overall
    // cap stops it; that cap gives one account back every 6 s, which a slow
    // run may have earned since the flood. Taken from the reserve, every
    // attempt would pass.
    let mut c = Conn::connect_from(server.send, [127, 0, 7, 1]);
    let replies: Vec<String> = (0..3).map(|i| c.request(&format!("REGISTER:more{i}::secret"))).collect();
    assert!(
        replies.iter().any(|r| r.starts_with("KO:RATE_LIMITED:too many new accounts; ")),
        "a flooding address took accounts from the fresh reserve: {replies:?}"
    );
}

// ----- a token is one device's -------------------------------------------------

/// A stolen token must mint no more devices (`LINK`, then `PAIR`): they
/// would outlive the stolen one's unlinking and could `UNLINK` the
/// owner's browser. A token is one device's: a session that
/// logged in with one gets no link code without the password
/// (`LINK:<password>`, a wrong one refused as `PASSWD`'s, the session
/// staying), so every device on record was made by someone who knows the
/// password, and unlinking the stolen one leaves nothing of the thief's.
#[test]
fn a_session_of_a_token_links_no_device_without_the_password() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let token = pair(&server, "ana", "laptop");
    let mut thief = server.send_conn();
    assert_eq!(thief.request(&format!("LOGIN:ana@laptop:{token}")), "OK:ana");
    let refused = thief.request("LINK");
    assert!(refused.starts_with("KO:FORBIDDEN:") && refused.contains("LINK:<password>"), "{refused}");
    let wrong = thief.request("LINK:a-guess");
    assert!(wrong.starts_with("KO:FORBIDDEN:"), "{wrong}");
    assert_eq!(thief.request("PING"), "OK", "the session stays: the device is still ana's");
    let mut owner = server.login_send("ana@phone", "pw-ana");
    let listed = owner.listing("DEVICES");
    assert_eq!(listed.len(), 1, "nothing minted: {listed:?}");
    // The owner's laptop, with her password, links a tablet from that session.
    let code = thief.request("LINK:pw-ana");
    let code = code.strip_prefix("OK:").unwrap_or_else(|| panic!("{code}"));
    assert!(server.send_conn().request(&format!("PAIR:ana@tablet:{code}")).starts_with("OK:"));
    // Unlinked, the stolen laptop leaves no device of the thief's behind.
    assert_eq!(owner.request("UNLINK:laptop"), "OK");
    let names: Vec<String> =
        owner.listing("DEVICES").iter().map(|l| l.split(':').next().unwrap().into()).collect();
    assert_eq!(names, ["tablet"]);
}

/// A stolen token must not unlink the owner's other devices: from a
/// session that logged in with a token, `UNLINK` of another device needs
/// the password (`UNLINK:<device>:<password>`, a wrong one refused as
/// `LINK:<password>`'s); the device may still unlink itself (a browser's
/// log-out).
#[test]
fn a_session_of_a_token_unlinks_no_other_device_without_the_password() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let token = pair(&server, "ana", "laptop");
    pair(&server, "ana", "phone");
    let mut thief = server.send_conn();
    assert_eq!(thief.request(&format!("LOGIN:ana@laptop:{token}")), "OK:ana");
    let refused = thief.request("UNLINK:phone");
    assert!(refused.starts_with("KO:FORBIDDEN:") && refused.contains("UNLINK:phone:<password>"), "{refused}");
    let wrong = thief.request("UNLINK:phone:a-guess");
    assert!(wrong.starts_with("KO:FORBIDDEN:"), "{wrong}");
    assert_eq!(thief.request("PING"), "OK", "the session stays: the device is still ana's");
    let mut owner = server.login_send("ana", "pw-ana");
    let names = |owner: &mut Conn| -> Vec<String> {
        owner.listing("DEVICES").iter().map(|l| l.split(':').next().unwrap().into()).collect()
    };
    assert_eq!(names(&mut owner), ["laptop", "phone"], "nothing unlinked");
    // With the password, the token's session unlinks another; and its
    // own device without it.
    assert_eq!(thief.request("UNLINK:phone:pw-ana"), "OK");
    assert_eq!(thief.request("UNLINK:laptop"), "OK");
    thief.expect_closed();
    assert!(names(&mut owner).is_empty());
}

// ----- UNLINK on a cluster -----------------------------------------------------

#[cfg(feature = "cluster")]
#[test]
fn unlink_on_one_node_closes_the_devices_send_connection_on_the_other() {
    let cluster = support::cluster::Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    assert_eq!(a.send_conn().request("REGISTER:ana::pw-ana"), "OK:ana");
    let token = pair(&a, "ana", "phone");
    let mut phone = b.send_conn();
    assert_eq!(phone.request(&format!("LOGIN:ana@phone:{token}")), "OK:ana");
    let mut laptop = a.login_send("ana", "pw-ana");
    assert_eq!(laptop.request("UNLINK:phone"), "OK");
    assert!(closed_by_server(&mut phone.stream), "the phone's send connection on node b");
}

// ----- a returning device is not locked out by guesses ------------------------

/// Guesses at `user`'s password from the NAT, `n` of them, each on its own
/// connection (a wrong password closes it); the replies' codes.
fn guess_passwords(server: &TestServer, user: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let reply = Conn::connect_from(server.send, NAT).request(&format!("LOGIN:{user}:wrong-{i}"));
            reply.split(':').take(2).collect::<Vec<_>>().join(":")
        })
        .collect()
}

/// 15 rounds of 20 wrong guesses at `user` from the NAT, each followed by a
/// login of `user`'s `device` with its token, from the NAT too: how many of
/// those logins got in, and the guesses' replies.
fn token_logins_during_a_spray(
    server: &TestServer,
    user: &str,
    device: &str,
    token: &str,
) -> (usize, Vec<String>) {
    let mut guesses = Vec::new();
    let mut ok = 0;
    for _ in 0..15 {
        guesses.extend(guess_passwords(server, user, 20));
        let reply = Conn::connect_from(server.send, NAT).request(&format!("LOGIN:{user}@{device}:{token}"));
        ok += usize::from(reply == format!("OK:{user}"));
    }
    (ok, guesses)
}

#[test]
fn a_returning_device_gets_in_during_a_same_address_spray_before_and_after_a_restart() {
    let mut server = TestServer::start();
    let mut bob = Conn::connect_from(server.send, NAT);
    assert_eq!(bob.request("REGISTER:bob::pw-bob"), "OK:bob");
    // Bob's browser ticked "stay signed in": it linked itself from the NAT.
    let code = bob.request("LINK").strip_prefix("OK:").expect("OK:<code>").to_string();
    let mut fresh = Conn::connect_from(server.send, NAT);
    let token = fresh
        .request(&format!("PAIR:bob@browser-1:{code}"))
        .strip_prefix("OK:")
        .expect("OK:<token>")
        .to_string();
    drop((bob, fresh));

    let (before, guesses) = token_logins_during_a_spray(&server, "bob", "browser-1", &token);
    eprintln!("before the restart: bob's token logins {before}/15 during 300 wrong guesses");
    assert!(before >= 14, "before the restart: {before}/15");
    // Guessing stays bounded: past the first few, the guesses are refused unchecked.
    let limited = guesses.iter().filter(|g| g.as_str() == "KO:RATE_LIMITED").count();
    assert!(limited >= 290, "{limited} of 300 guesses throttled: {:?}", &guesses[..10]);

    server.restart(&[]);
    let (after, guesses) = token_logins_during_a_spray(&server, "bob", "browser-1", &token);
    eprintln!("after the restart: bob's token logins {after}/15 during 300 wrong guesses");
    assert!(after >= 14, "after the restart: {after}/15");
    let limited = guesses.iter().filter(|g| g.as_str() == "KO:RATE_LIMITED").count();
    assert!(limited >= 290, "{limited} of 300 guesses throttled after the restart");
    // The password itself is what the spray made wait (its buckets are
    // empty): the trade-off of docs/RELIABILITY.md, printed for the record.
    let mut c = Conn::connect_from(server.send, NAT);
    assert!(c.request("LOGIN:bob:wrong-x").starts_with("KO:RATE_LIMITED:"));
    let by_password = (0..15)
        .filter(|_| {
            guess_passwords(&server, "bob", 20);
            Conn::connect_from(server.send, NAT).request("LOGIN:bob:pw-bob") == "OK:bob"
        })
        .count();
    eprintln!("after the restart: bob's password logins {by_password}/15 during the same spray");
}
