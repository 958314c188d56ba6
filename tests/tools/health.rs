//! `GET /healthz` on the web port and the metrics port, as a monitor asks
//! it: 200 and `ok` while the server takes requests, 503 and the reason
//! while it refuses writes.

use super::support;

use support::TestServer;
use support::metrics::{http_get, metrics_address};

/// The web and metrics addresses of a server started with both.
fn both_ports(args: &[&str]) -> (TestServer, [std::net::SocketAddr; 2]) {
    let mut all = vec!["--web-port", "0", "--metrics", "0"];
    all.extend_from_slice(args);
    let server = TestServer::start_with(&all);
    let metrics = metrics_address(&server);
    let web = server.web.expect("the web port");
    (server, [web, metrics])
}

/// The status line and the body of a response.
fn status_and_body(response: &str) -> (&str, &str) {
    let status = response.lines().next().unwrap_or("");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, body)
}

#[test]
fn a_server_that_takes_requests_is_healthy_on_both_ports() {
    let (server, ports) = both_ports(&[]);
    for addr in ports {
        let response = http_get(addr, "/healthz");
        assert_eq!(status_and_body(&response), ("HTTP/1.1 200 OK", "ok\n"), "{addr}: {response}");
    }
    // And it does take them.
    server.register(&["ana"]);
}

#[test]
fn a_server_that_refuses_writes_is_503_with_the_reason_in_one_line() {
    let (server, ports) = both_ports(&["--min-free", "100%"]);
    for addr in ports {
        let response = http_get(addr, "/healthz");
        let (status, body) = status_and_body(&response);
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable", "{addr}: {response}");
        assert!(body.contains("FULL") && body.contains("--min-free"), "{body}");
        assert_eq!(body.lines().count(), 1, "one line: {body:?}");
    }
    // What the monitor is told is what a client meets.
    let ko = server.send_conn().request("REGISTER:ana::pw-ana-long");
    assert!(ko.starts_with("KO:FULL:"), "{ko}");
}
