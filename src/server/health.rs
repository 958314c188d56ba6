//! Health: whether the server takes requests, which `GET /healthz` on
//! the web port and the metrics port says (`web::health`), for a monitor (systemd, Kubernetes, a load
//! balancer, a cron job with `curl -f`).
//!
//! `200 OK` and `ok` once the server answers requests; `503 Service
//! Unavailable` and one line saying why while it refuses writes: the
//! disk below its floor (`--min-free`) or full (`store::budget`), a
//! cluster's follower that sees no leader (its lease ran out, or the
//! database does not answer: `cluster::node` says so with
//! [`Ctx::refuse_writes`]), or a server shutting down. The listeners
//! start once the store is open, so a server still loading its data
//! does not answer at all (a refused connection: not ready either).

use super::ctx::Ctx;

/// THE rule of health: `Ok` while the server takes writes, or the reason
/// it does not.
pub fn check(ctx: &Ctx) -> Result<(), String> {
    if ctx.shutting_down() {
        return Err("shutting down".into());
    }
    if let Some(why) = ctx.refusing_writes() {
        return Err(why);
    }
    ctx.store.check_room().map_err(|ko| format!("writes refused ({}): {}", ko.code, ko.reason))
}
