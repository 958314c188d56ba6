//! What `wachat conform server` checks before its first case, and what it
//! cleans up after its last.
//!
//! Run blindly against a class server, the suite would fail half its cases
//! on `KO:RATE_LIMITED` (the new-account limit of the teacher's address,
//! which the students behind it share), every case of an invite-only server
//! with no word about why, and leave its accounts behind for good. So,
//! before the cases, one probe account asks the server what it allows
//! (`REGISTER`, then `INFO`'s `registration` and `rate` on a 1.2 server):
//!
//! - registration refused (invite-only, closed): the run stops at once and
//!   says what to do, unless invite codes were given (`--invite`,
//!   `--invites FILE`), with which the suite makes its users (`REDEEM`);
//! - new accounts refused for the address (`KO:RATE_LIMITED`): the run
//!   stops at once, naming `--exempt`;
//! - new accounts limited for the address (1.2, `INFO`'s
//!   `new_accounts_left` is a number, not `unlimited`) and no invite codes:
//!   the run stops before its first case, its probe deleted, naming
//!   `--exempt` (a run would spend the teacher's address's budget and
//!   leave it rate-limited for a minute). A run leaves the address's
//!   budget as it found it, but for the probe's one account, back within a
//!   minute.
//!
//! During the run, the first `KO:RATE_LIMITED` a case meets stops the run
//! (the runner): the rest would only spend the address's limits more.
//! After it, every account the suite made is deleted (`DELACCOUNT`, 1.2);
//! a server without it keeps them, and the suite says how many.

use std::time::Duration;

use super::case::CaseCtx;
use super::wire::Conn;
use super::{Failure, SuiteConfig};
use crate::protocol::info::InfoLine;

/// What the probe learned.
#[derive(Debug, Default)]
pub struct Allowed {
    /// `INFO`'s lines (a 1.2 server), else none.
    pub info: Vec<InfoLine>,
}

/// Asks the server what it allows; `Err` with what to do when the suite
/// cannot run against it as it is. Sets `settings.invite_only`.
pub fn check(settings: &mut SuiteConfig) -> Result<Allowed, String> {
    let (name, password, reply, info) = {
        let ctx = CaseCtx::new(settings, format!("{}p", super::case::run_prefix()));
        let name = ctx.name("probe");
        let password = ctx.password(&name);
        let mut conn = ctx.send_conn("probe.send").map_err(|f| f.to_string())?;
        let reply = conn.request(&format!("REGISTER:{name}::{password}")).map_err(|f| f.to_string())?;
        // INFO is 1.2's: an older server refuses it, and says nothing.
        let info =
            if reply.starts_with("OK") { conn.listing("INFO").unwrap_or_default() } else { Vec::new() };
        (name, password, reply, info)
    };
    let addr = settings.send_addr();
    if reply.starts_with("OK") {
        let info: Vec<InfoLine> = info.iter().filter_map(|l| InfoLine::parse(l).ok()).collect();
        let has_codes = !settings.invites.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
        if let Some(left) = limited(&info).filter(|_| !has_codes) {
            // The probe goes at once; the run makes nothing more.
            let _ = delete(&CaseCtx::new(settings, String::new()), &name, &password);
            return Err(format!(
                "{addr} limits the new accounts of this address (it may make {left} more now; \
                 INFO's new_accounts_left).\n\
                 The suite makes its own accounts, about 150 in a full run, and would spend the \
                 budget that everyone behind this address shares (a class behind one NAT): a \
                 student registering after it would wait. Start the server with \
                 --exempt <this machine's address> for the run (its budget is then not touched), \
                 give the suite invite codes (--invites FILE), or run it against a server of your \
                 own (wachat serve --data-dir conform-data --exempt 127.0.0.1)."
            ));
        }
        settings.made.lock().unwrap_or_else(|e| e.into_inner()).push((name, password));
        // Requests limited (a rate), and this address not exempt from the
        // per-address limits (its new accounts are counted): a class's
        // budget the clean-up must leave alone.
        let rate = InfoLine::find(&info, "rate").is_some_and(|rate| rate.parse::<f64>().is_ok());
        settings.limited = rate && limited(&info).is_some();
        return Ok(Allowed { info });
    }
    if reply.starts_with("KO:RATE_LIMITED") {
        return Err(format!(
            "{addr} refuses new accounts from this address now ({reply}).\n\
             The suite makes accounts of its own, and would spend the limit that everyone behind \
             this address shares (a class behind one NAT). Run it against a server of your own \
             (wachat serve --data-dir conform-data --exempt 127.0.0.1), or start this one with \
             --exempt <this machine's address>."
        ));
    }
    let has_codes = !settings.invites.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
    if reply.starts_with("KO:AUTH_FAILED") && has_codes {
        settings.invite_only = true;
        return Ok(Allowed::default());
    }
    if reply.starts_with("KO:AUTH_FAILED") {
        return Err(format!(
            "{addr} does not let the suite register its accounts ({reply}).\n\
             On an invite-only server, give it invite codes, one per account it makes: \
             wachat users invite --count 200 --data-dir DIR > codes.txt, then \
             --invites codes.txt (or --invite CODE, repeatable); the cases that test REGISTER \
             itself are skipped. Or run it against a server of your own \
             (wachat serve --data-dir conform-data --exempt 127.0.0.1)."
        ));
    }
    // Anything else is for the cases to report (a server that does not
    // know REGISTER yet fails `auth` with its transcript).
    Ok(Allowed::default())
}

/// `INFO`'s `new_accounts_left` when it is a number: the server limits
/// this address's new accounts. `None` when it is `unlimited` (`--exempt`)
/// or not said (a server before it: the run goes on, and stops at its
/// first `KO:RATE_LIMITED`).
fn limited(info: &[InfoLine]) -> Option<u32> {
    InfoLine::find(info, "new_accounts_left")?.parse().ok()
}

/// What `--invite` and `--invites FILE` give: the codes, in order.
pub fn read_invites(codes: &[String], file: Option<&std::path::Path>) -> Result<Vec<String>, String> {
    let mut all = codes.to_vec();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        all.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from));
    }
    Ok(all)
}

/// Deletes the accounts the run made (`LOGIN`, then `DELACCOUNT`).
/// Returns how many were deleted, and how many are left.
///
/// On a server that limits requests (a class server: `settings.limited`),
/// one account every [`CLEANUP_EVERY`] at most: a `DELACCOUNT` costs ten
/// requests, and 150 of them at once would empty the budget that the
/// suite's address shares with a class (its students refused, the
/// server's log full of refusals) for a clean-up nobody waits for.
pub fn clean_up(settings: &SuiteConfig) -> (usize, usize) {
    let made = std::mem::take(&mut *settings.made.lock().unwrap_or_else(|e| e.into_inner()));
    let ctx = CaseCtx::new(settings, String::new());
    let mut deleted = 0;
    let mut next = std::time::Instant::now();
    for (i, (name, password)) in made.iter().enumerate() {
        if settings.limited {
            std::thread::sleep(next.saturating_duration_since(std::time::Instant::now())); // the pace
            next = std::time::Instant::now() + CLEANUP_EVERY;
        }
        match delete(&ctx, name, password) {
            Ok(true) => deleted += 1,
            Ok(false) => {}
            // No DELACCOUNT (a server before 1.2), or the server stopped
            // answering: the others would fail the same way.
            Err(_) => return (deleted, made.len() - i),
        }
    }
    (deleted, 0)
}

/// After a run: [`clean_up`], and what it did said (on stderr, the
/// report keeps stdout).
pub fn clean_up_and_say(settings: &SuiteConfig) {
    let (deleted, left) = clean_up(settings);
    if deleted > 0 {
        eprintln!("deleted the {deleted} accounts the suite made (DELACCOUNT)");
    }
    if left > 0 {
        eprintln!(
            "{left} accounts the suite made are left on {} (names starting with c, then 2 letters \
             and 4 digits): the server could not delete them (DELACCOUNT is protocol 1.2)",
            settings.send_addr()
        );
    }
}

/// `Ok(false)`: the account is gone already (a case deleted it, or it was
/// never made); `Err`: it could not be deleted.
fn delete(ctx: &CaseCtx, name: &str, password: &str) -> Result<bool, Failure> {
    let mut conn = ctx.send_conn("cleanup.send")?;
    if !paced(&mut conn, &format!("LOGIN:{name}:{password}"))?.starts_with("OK") {
        return Ok(false);
    }
    let reply = paced(&mut conn, &format!("DELACCOUNT:{password}"))?;
    if reply.starts_with("OK") { Ok(true) } else { Err(Failure::new("OK", reply)) }
}

/// A request that waits out `KO:RATE_LIMITED` as the server asks ("try
/// again in N ms"), at most [`CLEANUP_PATIENCE`] in all: the suite has
/// spent the address's tokens, and the clean-up must neither fail for it
/// nor spend more of them than the server gives back.
fn paced(conn: &mut Conn, line: &str) -> Result<String, Failure> {
    let started = std::time::Instant::now();
    loop {
        let reply = conn.request(line)?;
        let Some(reason) = reply.strip_prefix("KO:RATE_LIMITED:") else { return Ok(reply) };
        let ko = crate::protocol::Ko::new(crate::protocol::Code::RateLimited, reason);
        let wait = ko
            .retry_after()
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(10), Duration::from_secs(5));
        if started.elapsed() + wait > CLEANUP_PATIENCE {
            return Ok(reply);
        }
        std::thread::sleep(wait); // the server said how long
    }
}

/// How long the clean-up waits for the server's limits, per request.
const CLEANUP_PATIENCE: Duration = Duration::from_secs(30);

/// The clean-up's pace on a server that limits requests: ten requests
/// (a `DELACCOUNT`) every 100 ms are half of wachat's default
/// `--address-rate`.
pub const CLEANUP_EVERY: Duration = Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_codes_come_from_the_flag_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("codes.txt");
        std::fs::write(&file, "abc\n\n  def \n").unwrap();
        let codes = read_invites(&["x1".into()], Some(&file)).unwrap();
        assert_eq!(codes, ["x1", "abc", "def"]);
        assert!(read_invites(&[], Some(&dir.path().join("none"))).is_err());
    }

    #[test]
    fn only_a_number_of_new_accounts_left_limits_the_run() {
        let info = |v: &str| vec![InfoLine::new("version", "1.2"), InfoLine::new("new_accounts_left", v)];
        assert_eq!(limited(&info("59")), Some(59));
        assert_eq!(limited(&info("0")), Some(0));
        assert_eq!(limited(&info("unlimited")), None);
        assert_eq!(limited(&[InfoLine::new("version", "1.2")]), None, "a server that does not say");
    }
}
