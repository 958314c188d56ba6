//! `GET /healthz` on the web port and the metrics port: `200 OK` and
//! `ok` while the server takes requests, `503 Service Unavailable` and
//! one line saying why while it refuses writes (the rule is
//! `server::health`'s). For a monitor: `curl -fsS http://127.0.0.1:8080/healthz`.

use crate::server::Ctx;

/// The path a monitor asks.
pub const PATH: &str = "/healthz";

/// The whole HTTP response to `GET /healthz` (`head_only`: `HEAD`, the
/// same head without its body).
pub fn response(ctx: &Ctx, head_only: bool) -> String {
    let (status, text) = match crate::server::health::check(ctx) {
        Ok(()) => ("200 OK", "ok".to_string()),
        Err(why) => ("503 Service Unavailable", why),
    };
    let mut response = super::http::text_response(status, &text, true);
    if head_only && let Some(end) = response.find("\r\n\r\n") {
        response.truncate(end + 4);
    }
    response
}
