//! Protocol 1.2's account requests (docs/PROTOCOL.md §20): a user changes
//! its own password, or deletes its account.
//!
//! - `PASSWD:<old>:<new>`: the new password, once the old one is checked;
//!   every *other* device of the account is logged out and its token
//!   revoked (a stolen laptop stops working the moment the password
//!   changes, which is why people change it).
//! - `PASSWDKEEP:<old>:<new>`: the same, keeping the other devices logged
//!   in with their tokens (a routine change). A word of its own, not a
//!   flag among the fields: the new password is the last field, so it may
//!   hold any `:`, and a flag before or after the passwords could be read
//!   as part of one of them.
//!
//! The **old** password is the field between the first two `:`s, so it
//! cannot hold a `:` here; the new one, the last field, may (as
//! `REGISTER`'s). A user whose current password holds a `:` (possible
//! since version 1) asks the administrator (`wachat users passwd`).
//!
//! - `DELACCOUNT:<password>`: the account is deleted for good, once its
//!   password is checked (a session left open on a lab machine is not
//!   enough). The password is the only field, so it may hold any `:`.
//!
//! And one of the devices' requests (§16) that gives the password again:
//! `LINK:<password>`, a link code asked by a session that logged in with
//! a device's token (plain `LINK` is a password session's), as
//! `DELACCOUNT`'s password, the only field.

use super::{Code, Ko};

/// The words of the account requests.
pub const PASSWD: &str = "PASSWD";
pub const PASSWD_KEEP: &str = "PASSWDKEEP";
pub const DELACCOUNT: &str = "DELACCOUNT";
pub const LINK: &str = "LINK";

fn bad(reason: impl Into<String>) -> Ko {
    Ko::new(Code::BadRequest, reason)
}

/// `PASSWD:<old>:<new>` or `PASSWDKEEP:<old>:<new>`: `(old, new, keep)`.
/// The new password's length is the server's business (`KO:BAD_REQUEST`
/// below six characters, as `REGISTER`), not the grammar's.
pub fn parse_passwd(line: &str) -> Result<(String, String, bool), Ko> {
    let (word, rest) = line.split_once(':').unwrap_or((line, ""));
    let keep = word == PASSWD_KEEP;
    let shape = || bad(format!("expected {word}:<old password>:<new password>"));
    let (old, new) = rest.split_once(':').ok_or_else(shape)?;
    if old.is_empty() || new.is_empty() || !line.contains(':') {
        return Err(shape());
    }
    Ok((old.to_string(), new.to_string(), keep))
}

/// `DELACCOUNT:<password>`: the password, everything after the first `:`.
pub fn parse_delaccount(line: &str) -> Result<String, Ko> {
    match line.split_once(':') {
        Some((_, password)) if !password.is_empty() => Ok(password.to_string()),
        _ => Err(bad(format!("expected {DELACCOUNT}:<password>"))),
    }
}

/// `LINK` (`None`) or `LINK:<password>`: the password, everything after
/// the first `:`.
pub fn parse_link(line: &str) -> Result<Option<String>, Ko> {
    match line.split_once(':') {
        None => Ok(None),
        Some((_, password)) if !password.is_empty() => Ok(Some(password.to_string())),
        Some(_) => Err(bad(format!("expected {LINK}, or {LINK}:<password> after a login with a token"))),
    }
}

/// `UNLINK:<device>`, or `UNLINK:<device>:<password>` (1.2, §16): the
/// password is the rest of the line, so it may hold any `:`.
pub fn parse_unlink(line: &str) -> Result<(&str, Option<String>), Ko> {
    let shape = || bad("expected UNLINK:<device>, or UNLINK:<device>:<password> after a login with a token");
    let rest = line.split_once(':').map(|(_, rest)| rest).ok_or_else(shape)?;
    match rest.split_once(':') {
        None => Ok((rest, None)),
        Some((device, password)) if !password.is_empty() => Ok((device, Some(password.to_string()))),
        Some(_) => Err(shape()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlink_takes_the_whole_rest_as_the_password() {
        assert_eq!(parse_unlink("UNLINK:phone").unwrap(), ("phone", None));
        assert_eq!(parse_unlink("UNLINK:phone:pass:word").unwrap(), ("phone", Some("pass:word".into())));
        for bad in ["UNLINK", "UNLINK:phone:"] {
            assert!(parse_unlink(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delaccount_takes_the_whole_rest_as_the_password() {
        assert_eq!(parse_delaccount("DELACCOUNT:pass:word").unwrap(), "pass:word");
        for bad in ["DELACCOUNT", "DELACCOUNT:"] {
            let ko = parse_delaccount(bad).unwrap_err();
            assert_eq!((ko.code, ko.reason.as_str()), (Code::BadRequest, "expected DELACCOUNT:<password>"));
        }
    }

    #[test]
    fn link_takes_no_field_or_the_whole_rest_as_the_password() {
        assert_eq!(parse_link("LINK").unwrap(), None);
        assert_eq!(parse_link("LINK:pass:word").unwrap().as_deref(), Some("pass:word"));
        assert_eq!(parse_link("LINK:").unwrap_err().code, Code::BadRequest);
    }

    #[test]
    fn the_new_password_takes_the_rest_and_the_old_one_no_colon() {
        assert_eq!(parse_passwd("PASSWD:old:n:e:w").unwrap(), ("old".into(), "n:e:w".into(), false));
        assert_eq!(parse_passwd("PASSWDKEEP:a:b").unwrap(), ("a".into(), "b".into(), true));
        for bad in ["PASSWD", "PASSWD:", "PASSWD:old", "PASSWD::new", "PASSWD:old:"] {
            let ko = parse_passwd(bad).unwrap_err();
            assert_eq!(ko.code, Code::BadRequest, "{bad}");
            assert!(ko.reason.contains("<old password>:<new password>"), "{bad}: {}", ko.reason);
        }
    }
}
