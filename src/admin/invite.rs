//! `wachat users invite|invites|revoke`: the invite codes of
//! `serve --registration invite` (`store::invites`), records of the log.
//! The running server (a cluster's leader) makes and revokes them when
//! asked at its door, as it makes the changes of `users add`
//! (`admin::room::ask`, answered by `server::operator::changes`), and
//! lists them from its state (`Inquiry::Invites`). With no server running
//! on a data directory, the command opens the directory as the server
//! would and writes the records there itself. A cluster's log is written
//! by its leader alone: with no node running, the command says so after
//! its wait, and nothing is written.

use std::path::PathBuf;

use super::reach::{OpenedDoor, ServerAt};
use super::web_port;
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::protocol::Ko;
use crate::server::operator::changes::{self, AccountChange, Applied};
use crate::store::accounts::Accounts;
use crate::store::door::Inquiry;
use crate::store::invites::{self, Kept};

/// Where the codes are: asked of the running server, or in a stopped
/// server's data directory, opened as the server opens it.
enum Codes {
    Asking(OpenedDoor),
    Here(Accounts, PathBuf),
}

impl Codes {
    fn open(at: &ServerAt) -> Result<Codes> {
        match OpenedDoor::running(at)? {
            Some(door) => Ok(Codes::Asking(door)),
            None if !at.data.data_dir.is_dir() => {
                Err(Error::Usage(tr!(Msg::NoDataDir, dir = at.data.data_dir.display())))
            }
            None => Ok(Codes::Here(Accounts::open(&at.data.data_dir)?, at.data.data_dir.clone())),
        }
    }

    /// The command's error for a `KO` of the directory's store.
    fn error(dir: &std::path::Path, ko: Ko) -> Error {
        Error::Usage(format!("{}: {}", dir.display(), ko.reason))
    }

    /// Keeps `codes`, valid until `expires_ms`: all, or none.
    fn keep(&self, codes: &[String], expires_ms: u64) -> Result<()> {
        match self {
            Codes::Asking(door) => {
                let asked: Vec<AccountChange> =
                    codes.iter().map(|code| AccountChange::invite(code, expires_ms)).collect();
                super::room::refused(&super::room::ask(door, &asked)?)
            }
            Codes::Here(accounts, dir) => crate::store::keep_invites(accounts.backend(), codes, expires_ms)
                .map_err(|ko| Codes::error(dir, ko)),
        }
    }

    /// Every code, by expiry then code.
    fn list(&self) -> Result<Vec<(String, Kept)>> {
        match self {
            Codes::Asking(door) => {
                read_listing(&door.ask(Inquiry::Invites, b"", super::room::ANSWER_WITHIN)?)
            }
            Codes::Here(accounts, _) => Ok(accounts.backend().invites()),
        }
    }

    /// Revokes each of `codes` if unused: what became of each.
    fn revoke(&self, codes: &[String]) -> Result<Vec<Applied>> {
        match self {
            Codes::Asking(door) => super::room::ask(
                door,
                &codes.iter().map(|code| AccountChange::revoke(code)).collect::<Vec<_>>(),
            ),
            Codes::Here(accounts, _) => Ok(codes
                .iter()
                .map(|code| changes::revoked(crate::store::revoke_invite(accounts.backend(), code)))
                .collect()),
        }
    }
}

/// The running server's answer to `Inquiry::Invites`
/// (`server::operator::INVITES_HEADER`).
fn read_listing(answer: &[u8]) -> Result<Vec<(String, Kept)>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(answer);
    let mut all = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| Error::Usage(format!("the server's list of invite codes: {e}")))?;
        let expires_ms = row.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        let used = row.get(2) == Some("true");
        all.push((row.get(0).unwrap_or_default().to_string(), Kept { expires_ms, used }));
    }
    Ok(all)
}

/// `wachat users invite`: the codes on stdout, one a line (for a script
/// or a printer), what they are on stderr.
pub fn invite(count: u32, days: u32, at: &ServerAt) -> Result<()> {
    let expires_ms = crate::store::now_ms() + u64::from(days) * 86_400_000;
    let codes = invites::make(count as usize).map_err(|ko| Error::Usage(ko.reason))?;
    Codes::open(at)?.keep(&codes, expires_ms)?;
    crate::display::print_lines(&codes)?;
    let until = crate::display::local_time(expires_ms);
    eprintln!(
        "{} invite codes, each for one account, valid until {} {}: wachat register --invite CODE \
         (or REDEEM:CODE:<user>:<email>:<password>), with serve --registration invite",
        codes.len(),
        until.date(),
        until.clock()
    );
    // The browser's way: a link that fills the code in. Its host is the
    // server's address as the class reaches it, which only the teacher
    // knows; its scheme and port how the server serves the web app
    // (`web.csv`); the code rides in the fragment, which no server logs.
    if let Some(code) = codes.first() {
        eprintln!("{}", invite_link(at, code));
    }
    Ok(())
}

/// `wachat users invites`: the codes, one a line, with what they allow;
/// those used or expired only with `all`.
pub fn invites(all: bool, at: &ServerAt) -> Result<()> {
    let kept = Codes::open(at)?.list()?;
    let now = crate::store::now_ms();
    let (mut used, mut expired) = (0, 0);
    let mut shown = Vec::new();
    for (code, kept) in &kept {
        let until = crate::display::local_time(kept.expires_ms);
        let said = match invites::judge(Some(*kept), now) {
            Ok(()) => tr!(Msg::InviteValid, date = until.date(), time = until.clock()),
            Err(invites::Refused::Used) => {
                used += 1;
                tr!(Msg::InviteUsed)
            }
            Err(_) => {
                expired += 1;
                tr!(Msg::InviteExpired, date = until.date(), time = until.clock())
            }
        };
        if all || (!kept.used && kept.expires_ms > now) {
            shown.push(format!("{code}  {said}"));
        }
    }
    crate::display::print_lines(shown)?;
    if !all && used + expired > 0 {
        eprintln!("{}", tr!(Msg::InvitesHidden, used = used, expired = expired));
    }
    Ok(())
}

/// `wachat users revoke`: each code said revoked, or why not.
pub fn revoke(codes: &[String], unused: bool, at: &ServerAt) -> Result<()> {
    let at_codes = Codes::open(at)?;
    let codes: Vec<String> = match unused {
        true => {
            let now = crate::store::now_ms();
            let kept = at_codes.list()?;
            kept.into_iter().filter(|(_, k)| !k.used && k.expires_ms > now).map(|(code, _)| code).collect()
        }
        false => codes.iter().map(|c| crate::protocol::codes::normalize(c)).collect(),
    };
    let mut refused = Vec::new();
    for (code, outcome) in codes.iter().zip(at_codes.revoke(&codes)?) {
        match outcome {
            Applied::Done => println!("{}", tr!(Msg::InviteRevoked, code = code)),
            Applied::Unchanged => refused.push(tr!(Msg::InviteAlreadyUsed, code = code)),
            Applied::Refused(why) if why == changes::NO_SUCH_CODE => {
                refused.push(tr!(Msg::NoSuchInvite, code = code))
            }
            Applied::Refused(why) => refused.push(format!("{code}: {why}")),
        }
    }
    if unused {
        println!("{}", tr!(Msg::InvitesRevoked, n = codes.len()));
    }
    match refused.is_empty() {
        true => Ok(()),
        false => Err(Error::Usage(refused.join("\n"))),
    }
}

/// How a student opens an invite in a browser, as the server at `at`
/// serves the web app: `in a browser: https://<server>:8443/#invite=…`.
fn invite_link(at: &ServerAt, code: &str) -> String {
    let served = match &at.store {
        // A cluster's nodes each say their own; the database knows none.
        Some(_) => None,
        None => web_port::recorded(&at.data.data_dir),
    };
    match served {
        Some(served) => {
            let url = served.url("<server>");
            format!("in a browser: {url}#invite=CODE (the server's address), e.g. {url}#invite={code}")
        }
        None if at.store.is_some() => format!(
            "in a browser: the web app of any node, with #invite=CODE after its address, e.g. \
             https://<node>:<web port>/#invite={code}"
        ),
        None => format!(
            "in a browser: the server serves no web app now (serve --web-port off, or it never ran on {}); \
             once it does, its address with #invite=CODE, e.g. http://<server>:{}/#invite={code}",
            at.data.data_dir.display(),
            crate::web::DEFAULT_WEB_PORT
        ),
    }
}
