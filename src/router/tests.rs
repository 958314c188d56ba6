//! Tests of the router and of `Outlet`s on real loopback connections:
//! delivery in order, a slow reader's bounded buffer, goodbyes.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::*;
use crate::protocol::Text;
use crate::store::StoredMessage;

/// An outlet on a real connection, and the client's end of it.
fn outlet(user: UserId, max_pending: usize) -> (Arc<Outlet>, BufReader<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (server, _) = listener.accept().unwrap();
    let server = Arc::new(Stream::plain(server));
    let peer_ip = server.peer_addr().unwrap().ip();
    let outlet = Outlet::new(user, format!("u{user}").into(), server, peer_ip, max_pending);
    (Arc::new(outlet), BufReader::new(client))
}

fn event(id: &str) -> Arc<Pushed> {
    let text = Text::parse("hi").unwrap();
    Arc::new(Pushed::Msg(Arc::new(StoredMessage {
        from: "ana".into(),
        to: "#x".into(),
        id: id.into(),
        ts: 7,
        text,
    })))
}

fn line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

#[test]
fn events_reach_online_users_in_order_once_and_offline_ones_not_at_all() {
    let router = Router::default();
    let (outlet, mut client) = outlet(1, 1 << 20);
    router.insert_with(1, outlet.clone(), || outlet.start_replay(1));
    outlet.finish_replay();
    let (one, two) = (event("m1"), event("m2"));
    let deliveries = [
        Delivery { user: 1, seq: 1, event: one.clone() }, // already in the replay
        Delivery { user: 2, seq: 1, event: one },         // offline
        Delivery { user: 1, seq: 2, event: two },
    ];
    router.deliver(&deliveries);
    assert_eq!(line(&mut client), "MSG:2:ana:#x:m2:7:hi");
    router.send_to(1, &Event::Ping);
    assert_eq!(line(&mut client), "PING");
    assert!(!router.send_to(2, &Event::Ping));
    assert_eq!(router.online_names(), ["u1"]);
}

#[test]
fn live_events_wait_behind_the_replay() {
    let router = Router::default();
    let (outlet, mut client) = outlet(1, 1 << 20);
    router.insert_with(1, outlet.clone(), || outlet.start_replay(0));
    router.deliver(&[Delivery { user: 1, seq: 1, event: event("live") }]);
    outlet.push(&Event::Joined { user: "cy".into() }); // queued too, behind nothing the thread wrote
    outlet.finish_replay();
    assert_eq!(line(&mut client), "MSG:1:ana:#x:live:7:hi");
    assert_eq!(line(&mut client), "JOINED:cy");
}

#[test]
fn an_event_goes_only_to_clients_that_speak_its_version() {
    let (outlet, mut client) = outlet(1, 1 << 20);
    let member = Event::Member { room: "#tea".into(), user: "cy".into(), joined: true };
    outlet.push(&member); // a 1.0 client: not sent
    outlet.opt_in(1);
    outlet.push(&member);
    outlet.opt_in(0); // a version is never taken back
    outlet.push(&Event::Ping);
    assert_eq!(line(&mut client), "MEMBER:#tea:cy:JOINED");
    assert_eq!(line(&mut client), "PING");
}

#[test]
fn a_newer_connection_replaces_the_older_one() {
    let router = Router::default();
    let (first, _c1) = outlet(1, 1 << 20);
    let (second, _c2) = outlet(1, 1 << 20);
    assert!(router.insert_with(1, first.clone(), || {}).is_none());
    let replaced = router.insert_with(1, second.clone(), || {}).unwrap();
    assert!(Arc::ptr_eq(&replaced, &first));
    assert!(!router.remove(&first), "the old one no longer counts");
    assert!(router.is_online(1));
    assert!(router.remove(&second));
    assert!(!router.is_online(1));
}

#[test]
fn a_receiver_that_does_not_read_is_told_bye_slow_after_a_whole_frame() {
    let router = Router::default();
    let (outlet, client) = outlet(1, 64 * 1024);
    let mut client = client;
    router.insert_with(1, outlet.clone(), || outlet.start_replay(0));
    outlet.finish_replay();
    let big = Text::parse(&"y".repeat(4000)).unwrap();
    let mut seq = 0;
    while !outlet.is_closing() {
        seq += 1;
        let m = StoredMessage {
            from: "ana".into(),
            to: "#x".into(),
            id: format!("b{seq}").into(),
            ts: 7,
            text: big.clone(),
        };
        router.deliver(&[Delivery { user: 1, seq, event: Arc::new(Pushed::Msg(Arc::new(m))) }]);
        assert!(seq < 100_000, "never gave up");
    }
    // The client reads now: whole frames, then the goodbye, then the
    // end. What the kernel could not take is flushed by the
    // connection's thread (here: this one) as it makes room.
    let reading = std::thread::spawn(move || {
        let mut last = String::new();
        loop {
            let mut line = String::new();
            if client.read_line(&mut line).unwrap() == 0 {
                return last;
            }
            assert!(line.ends_with('\n'), "a torn frame: {line:?}");
            last = line;
        }
    });
    while !outlet.is_closed() {
        outlet.flush();
        std::thread::yield_now();
    }
    assert_eq!(reading.join().unwrap(), "BYE:SLOW\n");
}
