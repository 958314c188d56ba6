//! `HISTORY` a page at a time on a cluster (protocol 1.2, docs/PROTOCOL.md
//! §4 "Paging back"), as on a single server (tests/chat/history.rs): a chat of
//! 1,500 messages written from two nodes, read back whole and in order
//! on either node, a room too; a cursor of another chat refused; and a
//! new browser (a fresh profile) scrolls the chat to its start.

use super::support::cluster::Cluster;
use super::support::paging::{interleaved, page, read_back, same_millisecond, scroll_to_start, who_and_id};
use super::support::webapp::{app_url, logged_in, open_chat};

const LONG: usize = 1_500;

#[test]
fn a_chat_of_1500_is_read_back_whole_on_either_node_and_in_a_new_browser() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--web-port", "0"]);
    let b = cluster.node("b");
    let [mut ana] = a.logged_in(["ana"]);
    a.register(&["carl"]);
    b.register(&["bob"]);
    let mut bob = b.login_send("bob", "pw-bob");
    let sent = interleaved(("ana", &mut ana), ("bob", &mut bob), LONG);
    assert!(same_millisecond(&mut ana, "bob") > 100, "many neighbours share a millisecond");
    for node in [&a, &b] {
        let mut fresh = node.login_send("ana", "pw-ana");
        for limit in [100, 1000, 7] {
            let (lines, pages) = read_back(&mut fresh, "bob", limit);
            let got: Vec<(String, String)> = lines.iter().map(|l| who_and_id(l)).collect();
            assert!(got == sent, "pages of {limit}: every message once, in the order stored");
            assert_eq!(pages, LONG.div_ceil(limit));
        }
        let (newest, _) = page(&mut fresh, "HISTORY:bob:1000:*");
        assert_eq!(fresh.listing("HISTORY:bob:1000"), newest, "version 1's HISTORY, as before");
    }
    // A room, read back in pages of 7 from the other node.
    for (conn, id) in [(&mut ana, "a"), (&mut bob, "b")] {
        assert_eq!(conn.request("JOIN:#tea"), "OK");
        for i in 0..15 {
            assert!(conn.request(&format!("MSG:#tea:{id}{i}:tea {i}")).starts_with("OK:"));
        }
    }
    let (room, _) = read_back(&mut bob, "#tea", 7);
    let ids: Vec<String> = room.iter().map(|l| who_and_id(l).1).collect();
    let want: Vec<String> =
        ["a", "b"].iter().flat_map(|id| (0..15).map(move |i| format!("{id}{i}"))).collect();
    assert_eq!(ids, want);
    // Cursors of other chats: refused, and the connection goes on.
    let (_, Some(cursor)) = page(&mut ana, "HISTORY:bob:10:*") else { panic!("more than 10") };
    let (_, Some(room_cursor)) = page(&mut ana, "HISTORY:#tea:10:*") else { panic!("more than 10") };
    let refused = |conn: &mut super::support::Conn, request: String| {
        let reply = conn.request(&request);
        assert!(
            reply.starts_with("KO:BAD_REQUEST:") && reply.contains("start again at *"),
            "{request}: {reply}"
        );
    };
    refused(&mut a.login_send("carl", "pw-carl"), format!("HISTORY:ana:10:{cursor}"));
    refused(&mut ana, format!("HISTORY:carl:10:{cursor}"));
    refused(&mut ana, format!("HISTORY:#tea:10:{cursor}"));
    refused(&mut ana, format!("HISTORY:bob:10:{room_cursor}"));
    refused(&mut ana, "HISTORY:bob:10:99999999999".to_string());
    assert_eq!(page(&mut ana, &format!("HISTORY:bob:10:{cursor}")).0.len(), 10);
    // A new browser on the cluster scrolls the whole chat.
    let browser = logged_in(&app_url(&a), "ana", 390, 844);
    open_chat(&browser, "bob");
    let drawn = scroll_to_start(&browser);
    let want: Vec<String> = sent.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(drawn.len(), LONG);
    assert!(drawn == want, "every message drawn once, in order");
}
