//! `wachat serve --metrics`: the Prometheus endpoint, scraped over HTTP
//! while known traffic goes through a real server (10 messages: the
//! counter +10), and who may scrape it. `wachat top --once` reads the same
//! endpoint: tested at the bottom.

use super::support;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::metrics::{http_get, metrics_address, scrape_until, value};
use support::{READ_TIMEOUT, TestServer};

/// A server with `--metrics` on a free loopback port (unless `args`
/// give another), and the endpoint's address.
fn server_with_metrics(args: &[&str]) -> (TestServer, SocketAddr) {
    let mut all = args.to_vec();
    if !all.contains(&"--metrics") {
        all.extend(["--metrics", "0"]);
    }
    let server = TestServer::start_with(&all);
    let addr = metrics_address(&server);
    (server, addr)
}

#[test]
fn values_move_with_known_traffic() {
    let (server, metrics) = server_with_metrics(&[]);
    let before = http_get(metrics, "/metrics");
    assert!(before.starts_with("HTTP/1.1 200 OK\r\n"), "{before}");
    assert!(before.contains("Content-Type: application/openmetrics-text"), "{before}");
    assert!(before.trim_end().ends_with("# EOF"), "{before}");
    let accepted = "wachat_messages_accepted_total";
    let delivered = "wachat_deliveries_total";
    assert_eq!(value(&before, accepted), 0.0);

    server.register(&["ana", "bob"]);
    let mut bob = server.login_recv("bob", "pw-bob");
    let mut ana = server.login_send("ana", "pw-ana");
    for i in 0..10 {
        assert!(ana.request(&format!("MSG:bob:m{i}:hola {i}")).starts_with(&format!("OK:m{i}:")));
    }
    assert_eq!(bob.events(10).len(), 10);
    // A resend is not a new message; a KO is counted by its code.
    assert!(ana.request("MSG:bob:m0:hola 0").starts_with("OK:m0:"));
    assert!(ana.request("MSG:nobody:x1:hi").starts_with("KO:UNKNOWN_USER:"));
    assert!(server.send_conn().request("LOGIN:ana:wrong").starts_with("KO:AUTH_FAILED:"));

    let after = scrape_until(metrics, delivered, 10.0);
    assert_eq!(value(&after, accepted), 10.0, "the counter +10");
    assert_eq!(value(&after, delivered), 10.0);
    assert_eq!(value(&after, "wachat_ko_replies_total{code=\"UNKNOWN_USER\"}"), 1.0);
    assert_eq!(value(&after, "wachat_ko_replies_total{code=\"AUTH_FAILED\"}"), 1.0);
    assert_eq!(value(&after, "wachat_logins_total{result=\"failed\"}"), 1.0);
    // Two REGISTERs, one LOGIN on each port.
    assert_eq!(value(&after, "wachat_logins_total{result=\"ok\"}"), 4.0);
    assert_eq!(value(&after, "wachat_online_users"), 1.0);
    assert_eq!(value(&after, "wachat_connections{port=\"receive\"}"), 1.0);
    assert!(value(&after, "wachat_connections{port=\"send\"}") >= 1.0);
    assert!(value(&after, "wachat_request_latency_seconds_count") >= 14.0);
    assert!(value(&after, "wachat_delivery_latency_seconds_count") >= 10.0);
    assert!(value(&after, "wachat_batch_records_count") >= 1.0);
    assert!(value(&after, "wachat_fsync_seconds_count") >= 1.0);
    assert!(value(&after, "wachat_disk_used_bytes") > 0.0);
    assert!(value(&after, "wachat_disk_free_bytes") > 0.0);

    // Bob goes offline: his next messages wait in his inbox.
    drop(bob);
    let gone = scrape_until(metrics, "wachat_connections{port=\"receive\"}", 0.0);
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut scrape = gone;
    while value(&scrape, "wachat_online_users") > 0.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20)); // polling the endpoint
        scrape = http_get(metrics, "/metrics");
    }
    assert_eq!(value(&scrape, "wachat_online_users"), 0.0);
    assert!(ana.request("MSG:bob:m10:later").starts_with("OK:m10:"));
    let waiting = scrape_until(metrics, "wachat_inbox_events", 1.0);
    assert!(value(&waiting, "wachat_inbox_events") >= 1.0);
}

#[test]
fn anything_but_a_get_of_the_metrics_is_refused() {
    let (_server, metrics) = server_with_metrics(&[]);
    assert!(http_get(metrics, "/other").starts_with("HTTP/1.1 404 "));
    let mut stream = TcpStream::connect(metrics).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.write_all(b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 405 "), "{out}");
    let mut stream = TcpStream::connect(metrics).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.write_all(b"\x16\x03\x01 not http\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
}

#[test]
fn silent_sockets_do_not_delay_a_scrape() {
    let (_server, metrics) = server_with_metrics(&[]);
    // 20 connections that never send a request, each allowed 2 s: served
    // one at a time, a scrape behind them would wait 40 s.
    // From the scraper's own address, they hold its few places until
    // their head's deadline: the scrape is served within it.
    let silent: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(metrics).unwrap()).collect();
    let at = Instant::now();
    let scrape = loop {
        let scrape = http_get(metrics, "/metrics");
        if !scrape.starts_with("HTTP/1.1 503 ") || at.elapsed() > READ_TIMEOUT {
            break scrape;
        }
        std::thread::sleep(Duration::from_millis(50)); // polling
    };
    assert!(scrape.starts_with("HTTP/1.1 200 OK\r\n"), "answered beside the silent ones: {scrape:?}");
    // The silent ones are closed at their deadline, unanswered, or
    // refused at once when their address had no place left.
    for mut socket in silent {
        socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest);
        let rest = String::from_utf8_lossy(&rest);
        assert!(rest.is_empty() || rest.starts_with("HTTP/1.1 503 "), "{rest:?}");
    }
}

/// 32 silent connections from one address would take every place, and
/// every scrape would be answered `503` while they last, if one address
/// could hold them all: it holds a few places, and a scrape from another
/// address is served.
#[test]
fn silent_connections_from_one_address_leave_room_for_a_scrape() {
    let (_server, metrics) = server_with_metrics(&[]);
    let silent: Vec<TcpStream> = (0..32)
        .map(|_| {
            let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.bind(&SocketAddr::from(([127, 0, 0, 2], 0)).into()).unwrap();
            socket.connect(&metrics.into()).unwrap();
            socket.into()
        })
        .collect();
    let scrape = http_get(metrics, "/metrics"); // from 127.0.0.1, after the 32 in the accept queue
    assert!(scrape.starts_with("HTTP/1.1 200 OK\r\n"), "another address is served: {scrape:?}");
    drop(silent);
}

/// The status line of `GET /metrics` naming `host`.
fn status_for_host(addr: SocketAddr, host: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out.lines().next().unwrap_or("").to_string()
}

#[test]
fn a_rebinding_page_cannot_read_the_metrics() {
    // A page on the attacker's name, pointed at 127.0.0.1, is a loopback
    // peer: only the name it gives tells it apart.
    let (_server, metrics) = server_with_metrics(&["--web-host", "stats.school.example"]);
    let port = metrics.port();
    assert_eq!(status_for_host(metrics, &format!("rebind.evil.example:{port}")), "HTTP/1.1 403 Forbidden");
    for host in [metrics.to_string(), format!("localhost:{port}"), format!("stats.school.example:{port}")] {
        assert_eq!(status_for_host(metrics, &host), "HTTP/1.1 200 OK", "{host}");
    }
    // `wachat top PORT` and `wachat top localhost:PORT` still read them.
    for addr in [port.to_string(), format!("localhost:{port}")] {
        let (ok, text) = top_once(&addr, "0.1");
        assert!(ok, "wachat top {addr}: {text}");
    }
}

/// An address of this machine that is not loopback, if it has one.
fn own_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?; // no packet is sent: it picks the route
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn only_loopback_may_scrape_unless_allowed() {
    let Some(ip) = own_address() else {
        eprintln!("skipped: this machine has no address but loopback");
        return;
    };
    let (_server, metrics) = server_with_metrics(&["--metrics", "0.0.0.0:0"]);
    let from_lan = SocketAddr::new(ip, metrics.port());
    assert_eq!(http_get(from_lan, "/metrics"), "", "closed unanswered");
    let local = SocketAddr::new([127, 0, 0, 1].into(), metrics.port());
    assert!(http_get(local, "/metrics").starts_with("HTTP/1.1 200 OK"));

    let allow = ip.to_string();
    let (_server, metrics) = server_with_metrics(&["--metrics", "0.0.0.0:0", "--metrics-allow", &allow]);
    let from_lan = SocketAddr::new(ip, metrics.port());
    assert!(http_get(from_lan, "/metrics").starts_with("HTTP/1.1 200 OK"));
}

/// `wachat top <addr> --once --interval <s>`: its stdout, or its stderr if
/// it failed.
fn top_once(addr: &str, interval: &str) -> (bool, String) {
    let output = std::process::Command::new(support::wachat_bin())
        .args(["top", addr, "--once", "--interval", interval])
        .output()
        .unwrap();
    let text = if output.status.success() { output.stdout } else { output.stderr };
    (output.status.success(), String::from_utf8_lossy(&text).into_owned())
}

/// An endpoint between `top` and the server's, for `top`'s two scrapes:
/// each is answered (by a scrape of `metrics` made then) once the test
/// sends on `go`, and `answered` says when it was. The test so decides
/// what happens between the two scrapes by order, whatever the interval.
fn scrapes_in_step(metrics: SocketAddr) -> (SocketAddr, mpsc::Sender<()>, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let step = listener.local_addr().unwrap();
    let (go, leave) = mpsc::channel();
    let (tell, answered) = mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut scrape, _) = listener.accept().unwrap();
            scrape.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
            let mut request = Vec::new();
            let mut byte = [0u8];
            while !request.ends_with(b"\r\n\r\n") && scrape.read(&mut byte).unwrap() == 1 {
                request.push(byte[0]);
            }
            leave.recv_timeout(READ_TIMEOUT).unwrap();
            scrape.write_all(http_get(metrics, "/metrics").as_bytes()).unwrap();
            drop(scrape); // top reads to the close
            tell.send(()).unwrap();
        }
    });
    (step, go, answered)
}

#[test]
fn top_once_prints_the_figures_of_known_traffic() {
    let (server, metrics) = server_with_metrics(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_recv("bob", "pw-bob");
    let mut ana = server.login_send("ana", "pw-ana");
    for i in 0..10 {
        assert!(ana.request(&format!("MSG:bob:m{i}:hi")).starts_with("OK:"));
    }
    assert_eq!(bob.events(10).len(), 10);
    assert!(ana.request("JOIN:bad").starts_with("KO:BAD_REQUEST:"));
    scrape_until(metrics, "wachat_deliveries_total", 10.0);

    // Messages sent during the interval show as a rate: between top's two
    // scrapes by the order of events, not by a bet on its interval.
    let (step, go, answered) = scrapes_in_step(metrics);
    let during = std::thread::spawn(move || top_once(&step.to_string(), "1"));
    go.send(()).unwrap(); // the first scrape, before the messages
    answered.recv_timeout(READ_TIMEOUT).expect("top's first scrape");
    for i in 10..15 {
        assert!(ana.request(&format!("MSG:bob:m{i}:hi")).starts_with("OK:"));
    }
    go.send(()).unwrap(); // the second, after them
    let (ok, text) = during.join().unwrap();
    assert!(ok, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    // The rates are over the time measured between the two scrapes: the
    // asked-for second, or more when the machine is loaded.
    let over = lines[0].strip_prefix(&format!("wachat top: {step} (rates over ")).expect(&text);
    let interval: f64 = over.trim_end_matches(" s)").parse().expect(&text);
    assert!(interval >= 1.0, "{text}");
    let line = |label: &str| {
        *lines.iter().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("{label}: {text}"))
    };
    let messages: Vec<&str> = line("messages ").split_whitespace().collect();
    assert_eq!(messages[1..3], ["15", "total"], "{text}");
    let per_s: f64 = messages[3].trim_end_matches("/s").parse().unwrap();
    assert!((per_s * interval - 5.0).abs() <= 0.6, "5 messages in {interval} s: {text}");
    assert!(line("request ").contains("p50 ") && line("request ").contains(" ms"), "{text}");
    assert!(line("connections ").contains("receive 1"), "{text}");
    assert_eq!(line("online users "), "online users   1");
    assert!(line("logins ").starts_with("logins         ok 4   failed 0"), "{text}");
    assert_eq!(line("KO replies "), "KO replies     BAD_REQUEST 1");
    assert!(line("disk ").contains("used ") && !line("disk ").contains("used 0 B"), "{text}");
    assert!(!text.contains("cluster"), "a single server: {text}");

    // Nobody there: a clear refusal, exit 1.
    drop(server);
    let (ok, text) = top_once(&metrics.to_string(), "0.1");
    assert!(!ok);
    assert!(text.contains(&format!("metrics at {metrics}")), "{text}");
}

/// The live dashboard in a terminal (a pseudo-terminal, read as a person
/// sees it): the sparklines' titles, the figures, and `q` quits, giving
/// the terminal back.
#[test]
fn top_draws_a_live_dashboard_and_q_quits() {
    use support::pty::Pty;
    let (server, metrics) = server_with_metrics(&[]);
    server.register(&["ana"]);
    let mut command = std::process::Command::new(support::wachat_bin());
    command.args(["top", &metrics.to_string(), "--interval", "0.2"]).env("TERM", "xterm-256color");
    let mut top = Pty::spawn_sized(command, 30, 100);
    let screen = top.wait_screen("the dashboard with its figures", |s| {
        s.alternate && s.find("messages/s").is_some() && s.find("online users").is_some()
    });
    assert!(screen.find("deliveries/s").is_some(), "{:?}", screen.rows);
    assert!(screen.find(&format!("wachat top: {metrics}")).is_some(), "{:?}", screen.rows);
    // A message sent now is counted on the screen.
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:#general:m1:hi").starts_with("OK:"));
    top.wait_screen("the message counted", |s| {
        s.find("messages/s").is_some_and(|(_, r)| r.contains("(1 total)"))
    });
    top.type_keys("q");
    assert!(top.wait().success());
    assert!(top.is_cooked(), "the terminal is given back");
}

/// A cluster node counts what a single server does, plus its own: its
/// part (leader or follower, and the epoch), the batches a follower read.
/// The leader serves every client, those a follower passes on too: it
/// accepts every message and makes every delivery.
#[cfg(feature = "cluster")]
#[test]
fn a_cluster_node_has_its_own_metrics() {
    use support::cluster::{Cluster, eventually};
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--metrics", "0"]);
    let b = cluster.node_with("b", &["--metrics", "0"]);
    let (at_a, at_b) = (metrics_address(&a), metrics_address(&b));
    a.register(&["bob"]);
    a.register(&["ana"]);
    let mut bob = b.login_recv("bob", "pw-bob");
    let mut ana = b.login_send("ana", "pw-ana");
    for i in 0..5 {
        assert!(ana.request(&format!("MSG:bob:c{i}:hi")).starts_with("OK:"));
    }
    assert_eq!(bob.events(5).len(), 5);
    eventually("the leader counts 5 deliveries", READ_TIMEOUT, || {
        value(&http_get(at_a, "/metrics"), "wachat_deliveries_total") >= 5.0
    });
    eventually("the follower read the batches", READ_TIMEOUT, || {
        value(&http_get(at_b, "/metrics"), "wachat_cluster_batches_read_total") >= 1.0
    });
    let scrape_a = http_get(at_a, "/metrics");
    let scrape_b = http_get(at_b, "/metrics");
    assert_eq!(value(&scrape_a, "wachat_messages_accepted_total"), 5.0, "accepted by the leader");
    assert_eq!(value(&scrape_b, "wachat_messages_accepted_total"), 0.0, "{scrape_b}");
    assert!(value(&scrape_a, "wachat_delivery_latency_seconds_count") >= 5.0);
    assert_eq!(value(&scrape_b, "wachat_deliveries_total"), 0.0, "{scrape_b}");
    assert!(value(&scrape_a, "wachat_batch_records_count") >= 1.0);
    for (scrape, leading) in [(&scrape_a, 1.0), (&scrape_b, 0.0)] {
        assert_eq!(value(scrape, "wachat_cluster_epoch"), 1.0, "{scrape}");
        assert_eq!(value(scrape, "wachat_cluster_leading"), leading, "{scrape}");
    }
    let (ok, text) = top_once(&at_b.to_string(), "0.2");
    assert!(ok && text.contains("cluster        follows in epoch 1 "), "{text}");
}
