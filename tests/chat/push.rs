//! Web Push (protocol 1.2, docs/PROTOCOL.md §28) against a push service
//! on loopback (`support::push_service`, its own CA given to `serve
//! --push-test-ca`) that plays the browser's side with keys the test made:
//! what is pushed (decrypted, its VAPID token checked), to which device,
//! when not; what the service's answers do (404, 429 with `Retry-After`,
//! 5xx); the requests' refusals; a call rung by push; and what 500 pushes
//! to a service that never answers cost the server.

use std::time::{Duration, Instant};

use super::support;

use support::push_service::{Answer, Browser, PushService, Received, check_vapid};
use support::{Conn, TestServer};

const KEY: &str = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

/// A server trusting `service`'s CA, ana and bob (and carl) registered.
fn server(service: &PushService) -> TestServer {
    let server = TestServer::start_with(&["--push-test-ca", &service.ca_arg()]);
    server.register(&["ana", "bob", "carl"]);
    server
}

/// bob's send connection on `device`, subscribed with `browser` at the
/// endpoint `name` of `service`.
fn subscribe(
    server: &TestServer,
    service: &PushService,
    browser: &Browser,
    device: &str,
    name: &str,
) -> Conn {
    let mut bob = server.login_send(&format!("bob@{device}"), "pw-bob");
    assert_eq!(bob.request(&browser.push_line(&service.endpoint(name))), "OK");
    bob
}

/// The decrypted JSON of a push.
fn open(browser: &Browser, push: &Received) -> serde_json::Value {
    let text = browser.decrypt(&push.body).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn header<'a>(push: &'a Received, name: &str) -> &'a str {
    push.headers.get(name).map(String::as_str).unwrap_or_else(|| panic!("no {name} header"))
}

/// Nothing more than `n` pushes for `name` in `wait`.
fn no_more(service: &PushService, name: &str, n: usize, wait: Duration) {
    std::thread::sleep(wait);
    assert_eq!(service.received_for(name).len(), n, "{:?}", service.received_for(name));
}

#[test]
fn a_message_to_a_closed_browser_is_one_push_with_sender_and_text_or_new_message() {
    let service = PushService::start();
    let server = server(&service);
    let browser = Browser::new();
    let mut bob = subscribe(&server, &service, &browser, "phone", "bob");
    let key = bob.request("PUSHKEY").strip_prefix("OK:").unwrap().to_string();
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:lunch at noon?").starts_with("OK:m1:"));

    let pushes = service.wait_for("bob", 1, Duration::from_secs(10));
    assert_eq!(pushes.len(), 1);
    let push = &pushes[0];
    let json = open(&browser, push);
    assert_eq!((json["type"].as_str(), json["chat"].as_str()), (Some("message"), Some("ana")));
    assert_eq!((json["title"].as_str(), json["body"].as_str()), (Some("ana"), Some("lunch at noon?")));
    check_vapid(push, &key, &format!("https://127.0.0.1:{}", service.addr.port()));
    assert_eq!(header(push, "content-encoding"), "aes128gcm");
    assert_eq!(header(push, "urgency"), "normal");
    assert!(header(push, "ttl").parse::<u64>().unwrap() > 0);
    let topic = header(push, "topic");
    assert!(topic.len() <= 32 && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)));
    assert!(push.body.len() <= 4096);
    no_more(&service, "bob", 1, Duration::from_secs(1));

    // Previews off: the push says only "New message", on every device.
    assert_eq!(bob.request("PREVIEWS:OFF"), "OK");
    assert!(ana.request("MSG:bob:m2:the secret plan").starts_with("OK:m2:"));
    let pushes = service.wait_for("bob", 2, Duration::from_secs(10));
    let json = open(&browser, &pushes[1]);
    assert_eq!(json["body"].as_str(), Some("New message"));
    assert!(!browser.decrypt(&pushes[1].body).unwrap().contains("secret"));
    assert_eq!(header(&pushes[1], "topic"), topic, "one topic per chat");
    assert_eq!(bob.request("PREVIEWS:ON"), "OK");
}

#[test]
fn ten_messages_in_one_chat_share_its_topic_and_the_last_push_holds_the_last() {
    let service = PushService::start();
    let server = server(&service);
    let browser = Browser::new();
    let _bob = subscribe(&server, &service, &browser, "phone", "bob");
    let mut ana = server.login_send("ana", "pw-ana");
    for i in 1..=10 {
        assert!(ana.request(&format!("MSG:bob:m{i}:message {i}")).starts_with("OK:"));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let pushes = loop {
        let pushes = service.received_for("bob");
        let last = pushes.last().map(|p| open(&browser, p)["body"].as_str().unwrap_or("").to_string());
        if last.as_deref() == Some("message 10") || Instant::now() > deadline {
            break pushes;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    no_more(&service, "bob", pushes.len(), Duration::from_secs(1));
    println!(
        "ten messages made {} pushes (a waiting push of one topic is replaced by the next)",
        pushes.len()
    );
    let topic = header(&pushes[0], "topic");
    assert!(pushes.iter().all(|p| header(p, "topic") == topic));
    assert_eq!(open(&browser, pushes.last().unwrap())["body"].as_str(), Some("message 10"));
    // In order: each push's message is later than the one before.
    let numbers: Vec<u32> = pushes
        .iter()
        .map(|p| open(&browser, p)["body"].as_str().unwrap().trim_start_matches("message ").parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
}

#[test]
fn a_message_read_on_the_laptop_first_is_not_pushed_and_a_read_closes_a_notification() {
    let service = PushService::start();
    let server = server(&service);
    let browser = Browser::new();
    let _phone = subscribe(&server, &service, &browser, "phone", "bob");
    let mut laptop_events = server.events_1_2("bob", Some("laptop"));
    let mut laptop = server.login_send("bob@laptop", "pw-bob");
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:seen on the laptop").starts_with("OK:m1:"));
    let event = laptop_events.next_msg();
    assert!(event.contains(":m1:"), "{event}");
    assert_eq!(laptop.request("READ:ana:m1"), "OK");
    no_more(&service, "bob", 0, Duration::from_secs(4));

    // Not read in time: pushed after its wait, although the laptop is live.
    let sent = Instant::now();
    assert!(ana.request("MSG:bob:m2:not read yet").starts_with("OK:m2:"));
    let pushes = service.wait_for("bob", 1, Duration::from_secs(10));
    assert_eq!(pushes.len(), 1);
    let waited = pushes[0].at - sent;
    println!("a push while another device is live waited {waited:?}");
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert_eq!(open(&browser, &pushes[0])["body"].as_str(), Some("not read yet"));

    // Read on the laptop now: a push of the same topic, no text, closes it.
    let read = Instant::now();
    assert_eq!(laptop.request("READ:ana:m2"), "OK");
    let pushes = service.wait_for("bob", 2, Duration::from_secs(10));
    assert_eq!(pushes.len(), 2);
    println!("the closing push came {:?} after the read", pushes[1].at - read);
    assert_eq!(header(&pushes[1], "topic"), header(&pushes[0], "topic"));
    let json = open(&browser, &pushes[1]);
    assert_eq!((json["type"].as_str(), json["body"].as_str()), (Some("read"), Some("")));
}

/// bob reads on his laptop while his phone's push is still with the
/// push service (it answers 3 s late): the notification it shows is
/// closed all the same, by a push queued behind it.
#[test]
fn a_read_while_the_push_service_has_not_answered_yet_closes_the_notification() {
    let service = PushService::start();
    service.answer(|n, _| {
        if n == 0 { Answer::Late(Duration::from_secs(3), 201) } else { Answer::Status(201, None) }
    });
    let server = server(&service);
    let browser = Browser::new();
    let _phone = subscribe(&server, &service, &browser, "phone", "bob");
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:read on the laptop").starts_with("OK:m1:"));
    let pushes = service.wait_for("bob", 1, Duration::from_secs(10));
    assert_eq!(pushes.len(), 1);
    assert_eq!(open(&browser, &pushes[0])["body"].as_str(), Some("read on the laptop"));
    let answered = pushes[0].at + Duration::from_secs(3);
    let mut laptop = server.login_send("bob@laptop", "pw-bob");
    assert_eq!(laptop.request("READ:ana:m1"), "OK");
    assert!(Instant::now() < answered, "the read came after the service's answer: the test proves nothing");
    let pushes = service.wait_for("bob", 2, Duration::from_secs(15));
    assert_eq!(pushes.len(), 2, "no closing push");
    assert_eq!(header(&pushes[1], "topic"), header(&pushes[0], "topic"));
    let json = open(&browser, &pushes[1]);
    assert_eq!((json["type"].as_str(), json["body"].as_str()), (Some("read"), Some("")));
}

#[test]
fn a_muted_chat_pushes_nothing_and_a_mentions_only_room_only_a_mention() {
    let service = PushService::start();
    let server = server(&service);
    let browser = Browser::new();
    let mut bob = subscribe(&server, &service, &browser, "phone", "bob");
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(bob.request("NOTIFY:ana:none"), "OK");
    assert_eq!(bob.request("NOTIFY:#general:mentions"), "OK");
    assert!(ana.request("MSG:bob:m1:muted").starts_with("OK:"));
    assert!(ana.request("MSG:#general:m2:to everyone").starts_with("OK:"));
    assert!(ana.request("MSG:#general:m3:@bob look").starts_with("OK:"));
    let pushes = service.wait_for("bob", 1, Duration::from_secs(10));
    no_more(&service, "bob", 1, Duration::from_secs(2));
    let json = open(&browser, &pushes[0]);
    assert_eq!((json["chat"].as_str(), json["body"].as_str()), (Some("#general"), Some("@bob look")));
    assert_eq!(json["title"].as_str(), Some("ana in #general"));
}

#[test]
fn a_404_removes_the_subscription_and_the_next_message_sends_nothing() {
    let service = PushService::start();
    service.answer(|_, _| Answer::Status(404, None));
    let server = server(&service);
    let browser = Browser::new();
    let _bob = subscribe(&server, &service, &browser, "phone", "bob");
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:one").starts_with("OK:"));
    assert_eq!(service.wait_for("bob", 1, Duration::from_secs(10)).len(), 1);
    let csv = server.data_dir.join("push.csv");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&csv).unwrap().contains("/push/bob") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!std::fs::read_to_string(&csv).unwrap().contains("/push/bob"));
    assert!(ana.request("MSG:bob:m2:two").starts_with("OK:"));
    no_more(&service, "bob", 1, Duration::from_secs(3));
}

#[test]
fn a_429_with_retry_after_2_is_retried_after_2_s_and_a_5xx_within_30_s() {
    let service = PushService::start();
    service.answer(|n, path| match (n, path) {
        (0, "/push/bob") => Answer::Status(429, Some(2)),
        (0, "/push/carl") => Answer::Status(503, None),
        _ => Answer::Status(201, None),
    });
    let server = server(&service);
    let (bob_browser, carl_browser) = (Browser::new(), Browser::new());
    let _bob = subscribe(&server, &service, &bob_browser, "phone", "bob");
    let mut carl = server.login_send("carl@phone", "pw-carl");
    assert_eq!(carl.request(&carl_browser.push_line(&service.endpoint("carl"))), "OK");
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:again").starts_with("OK:"));
    assert!(ana.request("MSG:carl:m2:again").starts_with("OK:"));

    let bob = service.wait_for("bob", 2, Duration::from_secs(20));
    assert_eq!(bob.len(), 2);
    let after = bob[1].at - bob[0].at;
    println!("429 with Retry-After: 2, tried again after {after:?}");
    assert!(after >= Duration::from_secs(2), "{after:?}");
    assert_eq!(open(&bob_browser, &bob[1])["body"].as_str(), Some("again"));

    let carl = service.wait_for("carl", 2, Duration::from_secs(30));
    assert_eq!(carl.len(), 2, "a 503 is tried again within 30 s");
    println!("503, tried again after {:?}", carl[1].at - carl[0].at);
    no_more(&service, "bob", 2, Duration::from_secs(1));
}

#[test]
fn push_requests_refuse_what_is_not_a_subscription_and_keep_what_is_across_restarts() {
    let service = PushService::start();
    let mut server = TestServer::start_restartable(&["--push-test-ca", &service.ca_arg()]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob@phone", "pw-bob");
    let key = bob.request("PUSHKEY");
    assert_eq!(key.len(), "OK:".len() + 87, "{key}");
    let endpoint = service.endpoint("bob");
    let line = |key: &str, auth: &str, endpoint: &str| format!("PUSH:{key}:{auth}:{endpoint}");
    let refused = |c: &mut Conn, l: &str| {
        let reply = c.request(l);
        assert!(reply.starts_with("KO:BAD_REQUEST:"), "{l} → {reply}");
        reply
    };
    refused(&mut bob, &line(KEY, AUTH, "http://127.0.0.1/x"));
    refused(&mut bob, &line(KEY, AUTH, &format!("https://example.net/{}", "a".repeat(1024))));
    for host in ["10.0.0.1", "192.168.1.1", "169.254.169.254", "[fe80::1]", "0.0.0.0", "[::]"] {
        refused(&mut bob, &line(KEY, AUTH, &format!("https://{host}/x")));
    }
    let mut off_curve = KEY.to_string();
    off_curve.replace_range(80.., "AAAAAAA");
    assert!(refused(&mut bob, &line(&off_curve, AUTH, &endpoint)).contains("P-256"));
    refused(&mut bob, &line(KEY, "AAAA", &endpoint));
    refused(&mut bob, "PUSH:a:b");
    refused(&mut bob, "PREVIEWS:MAYBE");
    refused(&mut bob, "PUSHKEY:x");
    assert_eq!(bob.request(&line(KEY, AUTH, &endpoint)), "OK");
    // Another user's endpoint: refused, and bob's stays.
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request(&line(KEY, AUTH, &endpoint)).starts_with("KO:FORBIDDEN:"));
    let path = server.data_dir.join("push.csv");
    let csv = || std::fs::read_to_string(&path).unwrap();
    assert!(csv().starts_with("sub,bob,phone,"), "{}", csv());
    assert!(!csv().contains("ana"));

    // Kept across a restart, with the same key.
    drop((bob, ana));
    server.restart_in_place(&["--push-test-ca", &service.ca_arg()]);
    let mut bob = server.login_send("bob@phone", "pw-bob");
    assert_eq!(bob.request("PUSHKEY"), key);
    assert!(csv().contains("/push/bob"));
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request(&line(KEY, AUTH, &endpoint)).starts_with("KO:FORBIDDEN:"));
    // PUSH:OFF, then again and UNLINK of the device: gone each time.
    assert_eq!(bob.request("PUSH:OFF"), "OK");
    assert!(!csv().contains("/push/bob"));
    assert_eq!(bob.request("PUSH:OFF"), "OK");
    assert_eq!(bob.request(&line(KEY, AUTH, &endpoint)), "OK");
    drop(server.events_1_2("bob", Some("phone")));
    let mut laptop = server.login_send("bob@laptop", "pw-bob");
    assert_eq!(laptop.request("UNLINK:phone"), "OK");
    assert!(!csv().contains("/push/bob"), "{}", csv());
}

#[test]
fn without_the_test_ca_no_endpoint_reaches_this_machine_in_any_notation() {
    let server = TestServer::start();
    server.register(&["bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    for host in
        ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0x7f.0.0.1", "localhost", "0.0.0.0"]
            .into_iter()
            .chain(["[::127.0.0.1]", "[::7f00:1]", "[::ffff:0:7f00:1]", "[2002:7f00:1::1]"])
    {
        let reply = bob.request(&format!("PUSH:{KEY}:{AUTH}:https://{host}:8443/push"));
        assert!(reply.starts_with("KO:BAD_REQUEST:the endpoint's host"), "{host}: {reply}");
    }
    assert_eq!(
        bob.request(&format!("PUSH:{KEY}:{AUTH}:https://2130706433/x")),
        "KO:BAD_REQUEST:the endpoint's host 2130706433 is 127.0.0.1 (loopback: this machine's own ports)"
    );
    // An IPv6 form of 127.0.0.1 is refused as what it stands for.
    assert_eq!(
        bob.request(&format!("PUSH:{KEY}:{AUTH}:https://[2002:7f00:1::1]/x")),
        "KO:BAD_REQUEST:the endpoint's host 2002:7f00:1::1 is 2002:7f00:1::1, which stands for 127.0.0.1 \
         (loopback: this machine's own ports)"
    );
}

#[test]
fn a_call_to_a_user_with_no_device_online_but_a_subscribed_one_rings_by_push() {
    let service = PushService::start();
    let server = TestServer::start_with(&["--push-test-ca", &service.ca_arg(), "--ring-seconds", "1"]);
    server.register(&["ana", "bob", "carl"]);
    let browser = Browser::new();
    let mut bob = subscribe(&server, &service, &browser, "phone", "bob");
    drop(bob.request("QUIT"));
    let mut ana = server.login_send("ana", "pw-ana");
    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(ana.request("CALL:bob:c1:OFFER:voice:v=0"), "OK");
    let pushes = service.wait_for("bob", 1, Duration::from_secs(10));
    assert_eq!(pushes.len(), 1);
    assert_eq!(header(&pushes[0], "urgency"), "high");
    assert!(header(&pushes[0], "ttl").parse::<u64>().unwrap() > 0);
    let json = open(&browser, &pushes[0]);
    assert_eq!(
        (json["type"].as_str(), json["from"].as_str(), json["id"].as_str()),
        (Some("call"), Some("ana"), Some("c1"))
    );
    // Rung out: the missed call's line, a message of the chat, takes the
    // ringing notification's place (one topic, one tag).
    let pushes = service.wait_for("bob", 2, Duration::from_secs(10));
    assert_eq!(pushes.len(), 2);
    assert_eq!(header(&pushes[1], "topic"), header(&pushes[0], "topic"));
    assert_eq!(open(&browser, &pushes[1])["body"].as_str(), Some("📞 Missed voice call"));
    // Without a subscription, offline is offline.
    assert!(carl.request("CALL:ana:c2:OFFER:voice:v=0").starts_with("KO:"), "ana has no receive connection");
}

/// 500 pushes queued for a push service that never answers: the server's
/// memory stays bounded and every other user is answered. Figures printed.
#[test]
fn pushes_to_a_service_that_never_answers_cost_bounded_memory_and_block_nobody() {
    let service = PushService::start();
    service.answer(|_, _| Answer::Never);
    let server = TestServer::start_with(&["--push-test-ca", &service.ca_arg()]);
    let users: Vec<String> = (0..50).map(|i| format!("user{i:02}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    server.register(&names);
    let senders: Vec<String> = (0..10).map(|i| format!("sender{i}")).collect();
    server.register(&senders.iter().map(String::as_str).collect::<Vec<_>>());
    for user in &users {
        let browser = Browser::new();
        let mut c = server.login_send(&format!("{user}@phone"), &format!("pw-{user}"));
        assert_eq!(c.request(&browser.push_line(&service.endpoint(user))), "OK");
    }
    let pid = server.pid();
    let rss = || wachat::sys::process::rss_bytes(pid).unwrap_or(0);
    let before = rss();
    let mut from: Vec<Conn> = senders.iter().map(|s| server.login_send(s, &format!("pw-{s}"))).collect();
    let mut slowest = Duration::ZERO;
    // 50 recipients × 10 senders: 500 pushes of 500 topics, none
    // replacing another.
    for (i, user) in users.iter().enumerate() {
        for (j, sender) in from.iter_mut().enumerate() {
            let reply = sender.request(&format!("MSG:{user}:m{i}:push {i} {j}"));
            assert!(reply.starts_with("OK:"), "{reply}");
        }
        let asked = Instant::now();
        assert_eq!(from[0].request("PING"), "OK");
        slowest = slowest.max(asked.elapsed());
    }
    std::thread::sleep(Duration::from_secs(3));
    let asked = Instant::now();
    assert_eq!(from[1].request("PING"), "OK");
    slowest = slowest.max(asked.elapsed());
    let after = rss();
    let grew = after.saturating_sub(before);
    println!(
        "500 pushes to a silent service: RSS {} → {} KiB (+{} KiB), {} connections held by the service, slowest PING {slowest:?}",
        before / 1024,
        after / 1024,
        grew / 1024,
        service.received().len()
    );
    assert!(grew < 64 << 20, "RSS grew by {grew} bytes");
    assert!(slowest < Duration::from_secs(3), "{slowest:?}");
}
