//! Web Push (docs/PROTOCOL.md §28) against hostile push services and
//! subscribers: services that answer a byte every 4 s (after the TLS
//! handshake, or as the first bytes of a TLS record, which needs no
//! certificate) to hold the server's sending threads, from one account,
//! from several on one host, and from ten accounts on ten hosts, while a
//! classmate's push must arrive; what a notification shows with previews
//! off; what a push's `Topic` tells its push service.
//!
//! The bound each test holds is `server::push::sender`'s (its module
//! documentation): one attempt within `http::ATTEMPT` (10 s), all of it;
//! one device, one account ([`PER_ACCOUNT`]), one host ([`PER_HOST`]) and
//! the slow ones together ([`SLOW_SENDERS`]) hold at most their share of
//! the [`SENDERS`].

use std::time::{Duration, Instant};

use super::support;
use support::push_service::{Answer, Browser, Dripper, PushService, Received};
use support::{Conn, TestServer};

/// `http::ATTEMPT`: the most one attempt takes, all of it.
const ATTEMPT: Duration = Duration::from_secs(10);
/// `sender::SENDERS`, `PER_ACCOUNT`, `PER_HOST`, `SLOW_SENDERS`.
const SENDERS: usize = 16;
const PER_ACCOUNT: usize = 2;
const PER_HOST: usize = 8;
const SLOW_SENDERS: usize = 4;
/// The attack's pace: a byte every 4 s.
const DRIP: Duration = Duration::from_secs(4);

/// `user`'s devices `d1`… `d<endpoints.len()>`, each subscribed at its
/// endpoint and kept logged in on the send port only (no receive
/// connection: each is pushed to).
fn subscribe_devices(server: &TestServer, user: &str, endpoints: &[String]) -> Vec<Conn> {
    endpoints
        .iter()
        .enumerate()
        .map(|(i, endpoint)| {
            let mut device = server.login_send(&format!("{user}@d{}", i + 1), &format!("pw-{user}"));
            assert_eq!(device.request(&Browser::new().push_line(endpoint)), "OK", "{endpoint}");
            device
        })
        .collect()
}

/// eve writes to each of `users` (each message a push to each of its
/// devices), and once `held` says the slow attempts are in flight, ana
/// writes to bob, whose phone is subscribed at the well-behaved
/// `service`: bob's push, and how long after ana's `OK` it came.
fn bobs_push_behind(
    server: &TestServer,
    service: &PushService,
    users: &[String],
    held: impl Fn() -> bool,
) -> (Received, Duration) {
    let mut eve = server.login_send("eve", "pw-eve");
    for user in users {
        assert!(eve.request(&format!("MSG:{user}:e-{user}:hello")).starts_with("OK:"));
    }
    let deadline = Instant::now() + ATTEMPT / 2;
    while !held() {
        assert!(Instant::now() < deadline, "the slow attempts did not begin");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:a1:lunch?").starts_with("OK:a1:"));
    let sent = Instant::now();
    let pushes = service.wait_for("bob", 1, ATTEMPT * 3);
    let push = pushes.first().unwrap_or_else(|| panic!("bob's push never came")).clone();
    let took = push.at.saturating_duration_since(sent);
    (push, took)
}

/// A server whose pushes trust `service`'s CA; bob (his phone subscribed
/// at `service`), ana, eve and `users` registered.
fn server_with(service: &PushService, users: &[String]) -> (TestServer, Conn) {
    let server = TestServer::start_with(&["--push-test-ca", &service.ca_arg()]);
    let mut names = vec!["ana", "bob", "eve"];
    names.extend(users.iter().map(String::as_str));
    server.register(&names);
    let mut bob = server.login_send("bob@phone", "pw-bob");
    assert_eq!(bob.request(&Browser::new().push_line(&service.endpoint("bob"))), "OK");
    (server, bob)
}

/// A push service on loopback that answers bob's pushes at once and
/// drips every other's answer (after the handshake and the request).
fn service_dripping_but_bobs() -> PushService {
    let service = PushService::start();
    service.answer(|_, path| match path {
        "/push/bob" => Answer::Status(201, None),
        _ => Answer::Drip(DRIP),
    });
    service
}

/// Requests the service received for paths other than bob's.
fn slow_ones(service: &PushService) -> Vec<Received> {
    service.received().into_iter().filter(|r| r.path != "/push/bob").collect()
}

/// mallory logs in as 4 devices and subscribes each at a service of
/// hers that answers a byte every 4 s (at `localhost`, another host
/// than bob's service's `127.0.0.1`): one message to her makes 4 pushes,
/// of which her account holds [`PER_ACCOUNT`] senders; bob's push goes
/// at once, while hers are held.
#[test]
fn four_slow_endpoints_of_one_account_hold_two_senders_and_anothers_push_goes_meanwhile() {
    let service = service_dripping_but_bobs();
    let users = vec!["mallory".to_string()];
    let (server, _bob) = server_with(&service, &users);
    let endpoints: Vec<String> =
        (1..=4).map(|i| service.endpoint_at("localhost", &format!("m{i}"))).collect();
    let _devices = subscribe_devices(&server, "mallory", &endpoints);
    let (push, took) =
        bobs_push_behind(&server, &service, &users, || slow_ones(&service).len() >= PER_ACCOUNT);
    let slow = slow_ones(&service);
    println!(
        "4 slow endpoints of one account: {} attempts in flight, bob's push {took:?} after ana's OK",
        slow.len()
    );
    assert_eq!(slow.len(), PER_ACCOUNT, "one account holds {PER_ACCOUNT} senders");
    // Sent while every slow attempt was still held (none can end before
    // its ATTEMPT): it waited for none of them.
    let first = slow.iter().map(|r| r.at).min().unwrap();
    assert!(push.at < first + ATTEMPT, "bob's push waited for a slow attempt to end: {took:?}");
}

/// 8 accounts of 5 devices (40 endpoints) on one slow host: the host
/// holds [`PER_HOST`] senders, bob's push goes meanwhile.
#[test]
fn forty_slow_endpoints_of_eight_accounts_on_one_host_hold_its_share_and_anothers_push_goes_meanwhile() {
    let service = service_dripping_but_bobs();
    let users: Vec<String> = (0..8).map(|i| format!("mal{i}")).collect();
    let (server, _bob) = server_with(&service, &users);
    let _devices: Vec<Vec<Conn>> = users
        .iter()
        .map(|user| {
            let endpoints: Vec<String> =
                (1..=5).map(|i| service.endpoint_at("localhost", &format!("{user}-{i}"))).collect();
            subscribe_devices(&server, user, &endpoints)
        })
        .collect();
    let (push, took) = bobs_push_behind(&server, &service, &users, || slow_ones(&service).len() >= PER_HOST);
    let slow = slow_ones(&service);
    println!(
        "40 slow endpoints of 8 accounts on one host: {} attempts in flight, bob's push {took:?} after ana's OK",
        slow.len()
    );
    assert_eq!(slow.len(), PER_HOST, "one host holds {PER_HOST} senders");
    let first = slow.iter().map(|r| r.at).min().unwrap();
    assert!(push.at < first + ATTEMPT, "bob's push waited for a slow attempt to end: {took:?}");
}

/// The worst case: 10 accounts, each device of each (50 endpoints) at a
/// service of its own host (127.0.0.2 … 127.0.0.11) that sends the first
/// bytes of a TLS record a byte every 4 s. Their first attempts take
/// every sender (2 an account, 20 > 16); bob's push waits one attempt at
/// most, then goes. Each host (and its account) is seen slow once an
/// attempt to it ends at its deadline: the 8 of the first round then,
/// the 2 left out of it one round later (they go first, not seen slow
/// yet); once every one is seen slow and what began before has ended,
/// the slow ones are held to [`SLOW_SENDERS`].
#[test]
fn fifty_slow_endpoints_of_ten_accounts_on_ten_hosts_delay_anothers_push_one_attempt_at_most() {
    let service = PushService::start();
    let hosts: Vec<String> = (2..12).map(|i| format!("127.0.0.{i}")).collect();
    let dripper = Dripper::start(&hosts.iter().map(String::as_str).collect::<Vec<_>>(), DRIP);
    let users: Vec<String> = (0..10).map(|i| format!("mal{i}")).collect();
    let (server, _bob) = server_with(&service, &users);
    let _devices: Vec<Vec<Conn>> = users
        .iter()
        .enumerate()
        .map(|(host, user)| {
            let endpoints: Vec<String> =
                (1..=5).map(|i| dripper.endpoint(host, &format!("{user}-{i}"))).collect();
            subscribe_devices(&server, user, &endpoints)
        })
        .collect();
    let (push, took) = bobs_push_behind(&server, &service, &users, || dripper.open() >= SENDERS);
    let first = dripper.first().unwrap();
    // When the last host was seen slow: the first end of an attempt of
    // each, within two rounds (and a margin for a loaded machine).
    let give_up = first + ATTEMPT * 4;
    let all_slow = loop {
        let seen = dripper.seen.lock().unwrap().clone();
        let first_ends: Option<Vec<Instant>> = (0..hosts.len())
            .map(|host| seen.iter().filter(|d| d.host == host).filter_map(|d| d.end).min())
            .collect();
        if let Some(ends) = first_ends {
            break ends.into_iter().max().unwrap();
        }
        assert!(Instant::now() < give_up, "an attempt of each host never ended");
        std::thread::sleep(Duration::from_millis(100));
    };
    // Every attempt begun before it has ended an attempt later (and the
    // dripper has seen it within 2 s); from then a whole round is watched.
    let settled = all_slow + ATTEMPT + Duration::from_secs(2);
    let watched = settled + ATTEMPT + DRIP;
    std::thread::sleep(watched.saturating_duration_since(Instant::now()));
    let seen = dripper.seen.lock().unwrap().clone();
    let open_at = |t: Instant| seen.iter().filter(|d| d.at <= t && d.end.is_none_or(|end| end > t)).count();
    let most = seen.iter().map(|d| open_at(d.at)).max().unwrap();
    // The first round: every slow attempt is held to its deadline, so none
    // begun within half of it followed one that ended (the dripper sees an
    // end up to 2 s late: `most` may count an attempt and the one after it).
    let first_round = seen.iter().filter(|d| d.at < first + ATTEMPT / 2).count();
    // Once every host was seen slow: a sender holds a slow attempt to its
    // deadline, so no more than the slow ones' share begin within half of
    // it (counted by their starts, which the dripper sees at once).
    let begun_within = |t: Instant| seen.iter().filter(|d| d.at >= t && d.at < t + ATTEMPT / 2).count();
    let later = seen.iter().map(|d| d.at).filter(|at| *at >= settled).chain([settled]);
    let most_later = later.map(begun_within).max().unwrap();
    println!(
        "50 slow endpoints of 10 accounts on 10 hosts: {most} attempts in flight at most, every host seen slow \
         {:.1} s after the first attempt, then at most {most_later} begun within half an attempt ({} attempts in {:.0} s); bob's push {took:?} \
         after ana's OK",
        (all_slow - first).as_secs_f64(),
        seen.len(),
        (watched - first).as_secs_f64()
    );
    assert_eq!(first_round, SENDERS, "the first attempts take every sender");
    assert!(
        most_later <= SLOW_SENDERS,
        "{most_later} slow attempts begun within half an attempt once every one was seen slow"
    );
    assert!(seen.iter().any(|d| d.at >= settled), "no attempt watched once all were seen slow");
    // Its documented bound: one attempt (plus its own, and a generous
    // margin for a loaded machine).
    assert!(push.at < first + ATTEMPT + Duration::from_secs(5), "bob's push {took:?} after ana's OK");
}

/// `PREVIEWS:OFF`: a room message's and a direct message's push carry
/// neither the sender nor the room where the notification shows them
/// (title, body), for messages and for calls; the chat stays, unseen,
/// for the notification's tag.
#[test]
fn with_previews_off_a_notification_names_neither_sender_nor_room() {
    let service = PushService::start();
    let server = TestServer::start_with(&["--push-test-ca", &service.ca_arg()]);
    server.register(&["ana", "bob"]);
    let browser = Browser::new();
    let mut bob = server.login_send("bob@phone", "pw-bob");
    assert_eq!(bob.request(&browser.push_line(&service.endpoint("bob"))), "OK");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert_eq!(bob.request("PREVIEWS:OFF"), "OK");
    drop(bob.request("QUIT")); // no device online: a call rings by push
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert!(ana.request("MSG:#lab:r1:the secret plan").starts_with("OK:"));
    assert!(ana.request("MSG:bob:d1:psst").starts_with("OK:"));
    assert_eq!(service.wait_for("bob", 2, Duration::from_secs(15)).len(), 2);
    // (Its topic is the direct chat's: queued behind it, it would replace it.)
    assert_eq!(ana.request("CALL:bob:c1:OFFER:voice:v=0"), "OK");
    let pushes = service.wait_for("bob", 3, Duration::from_secs(15));
    assert_eq!(pushes.len(), 3);
    for push in &pushes {
        let text = browser.decrypt(&push.body).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        println!("previews off: {text}");
        assert!(json.get("title").is_none() && json.get("from").is_none(), "{text}");
        let body = json["body"].as_str().unwrap();
        assert!(!body.contains("ana") && !body.contains("lab") && !body.contains("secret"), "{text}");
    }
}

/// A push's `Topic` is not a hash anyone can make from the names: the
/// push service, with the class list, cannot learn who writes to whom.
#[test]
fn a_push_topic_is_no_hash_of_the_names_a_push_service_could_make() {
    let service = PushService::start();
    let server = TestServer::start_with(&["--push-test-ca", &service.ca_arg()]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob@phone", "pw-bob");
    assert_eq!(bob.request(&Browser::new().push_line(&service.endpoint("bob"))), "OK");
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:hi").starts_with("OK:"));
    let pushes = service.wait_for("bob", 1, Duration::from_secs(10));
    let topic = pushes[0].headers["topic"].clone();
    use base64::Engine;
    let hash = |text: &str| {
        let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..24])
    };
    for guess in ["bob\nana", "ana\nbob", "bob:ana", "bobana"] {
        assert_ne!(topic, hash(guess), "the topic is the hash of {guess:?}");
    }
    // Another server (another key): another topic for the same two names.
    let other = PushService::start();
    let server2 = TestServer::start_with(&["--push-test-ca", &other.ca_arg()]);
    server2.register(&["ana", "bob"]);
    let mut bob2 = server2.login_send("bob@phone", "pw-bob");
    assert_eq!(bob2.request(&Browser::new().push_line(&other.endpoint("bob"))), "OK");
    let mut ana2 = server2.login_send("ana", "pw-ana");
    assert!(ana2.request("MSG:bob:m1:hi").starts_with("OK:"));
    let pushes2 = other.wait_for("bob", 1, Duration::from_secs(10));
    assert_ne!(pushes2[0].headers["topic"], topic);
}
