//! What a request naming a user, or a name for a new account, is
//! answered when the store finds nothing there (or someone there),
//! decided once, here: a single server and every node of a cluster run
//! this same code. A deleted account named by
//! a request is [`super::named`].

use crate::protocol::Ko;

/// A request about the user named `asked` (`HISTORY` of a direct chat, a
/// moderation change's target): `KO:UNKNOWN_USER` when the store found
/// no such account.
pub fn user<U>(asked: &str, found: Option<U>) -> Result<U, Ko> {
    found.ok_or_else(|| Ko::no_user(asked))
}

/// `REGISTER` of `name`: `KO:USER_EXISTS` if an account has it already
/// (ignoring case), `taken`, or another of the same batch took it first.
/// A deleted account's name waits out its quarantine first
/// (`Account::refusal`).
pub fn free_name(name: &str, taken: bool) -> Result<(), Ko> {
    if taken {
        return Err(Ko::name_taken(name));
    }
    Ok(())
}

/// 1.2: a new account for a deleted account's freed `name`, once its
/// quarantine is over. If the account is live again (`deleted` false),
/// two registrations of the name came at once and this one lost.
pub fn reuses(name: &str, deleted: bool) -> Result<(), Ko> {
    free_name(name, !deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Code;

    #[test]
    fn a_name_finds_its_account_or_is_unknown() {
        assert_eq!(user("bob", Some(2)), Ok(2));
        assert_eq!(user::<u32>("bob", None), Err(Ko::no_user("bob")));
    }

    #[test]
    fn a_name_is_given_once() {
        assert!(free_name("Ana", false).is_ok());
        let ko = free_name("Ana", true).unwrap_err();
        assert_eq!((ko.code, ko.reason.as_str()), (Code::UserExists, "the name Ana is taken"));
        assert!(reuses("Ana", true).is_ok(), "the account was deleted: its name is free");
        assert_eq!(reuses("Ana", false), Err(Ko::name_taken("Ana")), "another registration won");
    }
}
