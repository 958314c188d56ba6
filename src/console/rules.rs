//! The server's rules (`INFO`, protocol 1.2) as both consoles show them:
//! all of them on `/info`, and how long messages are kept and how much an
//! account may store once, at the first login of this user on this
//! server from this computer (a marker file in the client's folder says
//! it was shown), so that a student knows them before trusting the server.
//! Keys the console does not know are skipped; text from the network goes
//! through [`crate::display::visible`] like every other.

use std::path::Path;

use crate::client::Client;
use crate::display::visible;
use crate::i18n::rules::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::InfoLine;

/// The marker file, in the client's folder for this user and server.
pub const SHOWN_MARKER: &str = "rules_shown";

/// The lines that tell `lines`; `first`: only retention and quota.
pub fn describe(lang: Lang, lines: &[InfoLine], first: bool) -> Vec<String> {
    let get = |key: &str| InfoLine::find(lines, key).map(|v| visible(v).into_owned());
    let mut out = vec![tr!(in lang; Msg::RulesHeader)];
    out.push(match get("retention_days").as_deref() {
        Some("none") | None => tr!(in lang; Msg::RetentionNone),
        Some(days) => tr!(in lang; Msg::RetentionDays, days = days),
    });
    out.push(match get("quota_bytes").and_then(|q| q.parse::<u64>().ok()) {
        Some(bytes) => tr!(in lang; Msg::QuotaBytes, size = size(bytes)),
        None => tr!(in lang; Msg::QuotaNone),
    });
    if first {
        out.push(tr!(in lang; Msg::MoreWithInfo));
        return out;
    }
    if let Some(n) = get("max_devices") {
        out.push(tr!(in lang; Msg::MaxDevices, n = n));
    }
    let mode = match get("registration").as_deref() {
        Some("open") => Some(Msg::RegistrationOpen),
        Some("invite") => Some(Msg::RegistrationInvite),
        Some("closed") => Some(Msg::RegistrationClosed),
        _ => None,
    };
    if let Some(mode) = mode {
        out.push(tr!(in lang; Msg::Registration, mode = mode.text(lang)));
    }
    if let Some(n) = get("max_text_bytes") {
        out.push(tr!(in lang; Msg::MaxText, n = n));
    }
    if let Some(days) = get("name_quarantine_days") {
        out.push(tr!(in lang; Msg::NameQuarantine, days = days));
    }
    if let Some(n) = get("rate").filter(|r| r != "none") {
        out.push(tr!(in lang; Msg::Rate, n = n));
    }
    if let (Some(server), Some(version)) = (get("server"), get("version")) {
        out.push(tr!(in lang; Msg::Version, server = server, version = version));
    }
    out
}

/// The first login's notice: the lines to show if this user has not seen
/// this server's rules on this computer yet (and then they count as
/// seen); none if seen, offline, or the server is older than 1.2.
pub fn first_time(lang: Lang, client: &Client, folder: &Path) -> Vec<String> {
    let marker = folder.join(SHOWN_MARKER);
    if marker.exists() {
        return Vec::new();
    }
    let lines = match client.info() {
        Ok(lines) => lines,
        Err(e) => {
            log::debug!("INFO: {e}");
            return Vec::new();
        }
    };
    if let Err(e) = std::fs::write(&marker, b"") {
        log::debug!("{}: {e}", marker.display());
    }
    describe(lang, &lines, true)
}

/// Bytes for a person: `512 MiB`.
fn size(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut value, mut unit) = (bytes as f64, 0);
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.0} {}", units[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_in_words() {
        let lines: Vec<InfoLine> =
            ["retention_days=30", "quota_bytes=536870912", "registration=invite", "future_key=x"]
                .iter()
                .map(|l| InfoLine::parse(l).unwrap())
                .collect();
        let first = describe(Lang::En, &lines, true);
        assert_eq!(
            first,
            [
                "this server's rules:",
                "  messages are deleted from the server after 30 days",
                "  each account may store 512 MiB",
                "  (/info shows these again, with the server's limits)",
            ]
        );
        let all = describe(Lang::Es, &lines, false);
        assert!(all.contains(&"  cuentas nuevas: con un código de invitación".to_string()), "{all:?}");
        assert!(!all.iter().any(|l| l.contains("future_key")));
        let none = describe(Lang::Pt, &[], true);
        assert_eq!(none[1], "  as mensagens ficam no servidor sem limite de tempo");
        assert_eq!(none[2], "  sem cota de armazenamento por conta");
    }
}
