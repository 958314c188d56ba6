//! The refusals every request shares, worded once.
//!
//! A `KO` names a code for programs and a reason for people (§5). Most
//! reasons belong to one request and are written beside it; these few are
//! given by many requests, so a client — or a test, or a translation —
//! meets the same words for the same refusal, whichever request or
//! server refused. A request that refuses in
//! one of these ways calls the constructor here instead of spelling it.

use std::fmt;
use std::time::Duration;

use super::{Code, Ko};

impl Ko {
    /// `KO:BAD_REQUEST`: `word` is no request of this server's (`Request::parse`,
    /// and the server for a request it has no handler for).
    pub fn unknown_request(word: &str) -> Ko {
        match word {
            "" => Ko::new(Code::BadRequest, "empty request"),
            other => Ko::new(Code::BadRequest, format!("unknown request {:?}", super::truncate(other, 40))),
        }
    }

    /// `KO:UNKNOWN_USER`: no account is named `name`, for every request
    /// that names a user (`MSG`, `BLOCK`, `LASTSEEN`, `INVITE`, …).
    pub fn no_user(name: &str) -> Ko {
        Ko::new(Code::UnknownUser, format!("no user named {name}"))
    }

    /// `KO:UNKNOWN_MESSAGE`: `READ`/`DELIVERED` of a message from a user
    /// who does not exist. The contract has one code for these requests
    /// (§5), the message's; the reason says which part is unknown.
    pub fn no_sender(name: &str) -> Ko {
        Ko { code: Code::UnknownMessage, ..Ko::no_user(name) }
    }

    /// `KO:UNKNOWN_MESSAGE`: message `id` of `from` (a user, or `#room`)
    /// is not among those the asker received.
    pub fn no_message(id: &str, from: impl fmt::Display) -> Ko {
        Ko::new(Code::UnknownMessage, format!("no message {id} from {from} to you"))
    }

    /// `KO:NOT_MEMBER`: no room is named `room` (with its `#` or not).
    pub fn no_room(room: &str) -> Ko {
        Ko::new(Code::NotMember, format!("no room named #{}", room.trim_start_matches('#')))
    }

    /// `KO:NOT_MEMBER`: the asker is not in `room` (with its `#` or
    /// not), for every request on a room's messages or members.
    pub fn not_member(room: &str) -> Ko {
        Ko::new(Code::NotMember, format!("you are not in #{}", room.trim_start_matches('#')))
    }

    /// `KO:AUTH_FAILED` for a wrong name and a wrong password alike, so a
    /// guesser does not learn which names exist (§3).
    pub fn wrong_login() -> Ko {
        Ko::new(Code::AuthFailed, "wrong user or password")
    }

    /// `KO:USER_EXISTS`: `REGISTER` of a name an account has (in any
    /// case), on a single server or any node.
    pub fn name_taken(name: &str) -> Ko {
        Ko::new(Code::UserExists, format!("the name {name} is taken"))
    }

    /// `KO:INTERNAL`: the store could not be reached for this request;
    /// nothing was changed, and the same request may be sent again.
    pub fn store_unavailable() -> Ko {
        Ko::new(Code::Internal, "the database is unavailable; try again")
    }

    /// `KO:RATE_LIMITED`: a request over a budget of requests, `whose`
    /// (`""` for the user's own, `" from your address"`), named by the
    /// server flag that sets it (`--rate`, `--address-rate`), with how
    /// long until one fits: `… try again in 196 ms (--rate)`.
    pub fn too_many_requests(whose: &str, wait: Duration, flag: &str) -> Ko {
        let ms = wait.as_millis() + 1;
        Ko::new(Code::RateLimited, format!("too many requests{whose}; try again in {ms} ms ({flag})"))
    }

    /// How long a `KO:RATE_LIMITED` asks to wait, as its reason says it
    /// (`try again in 196 ms`, `… in 3 s`); `None` for another code, or a
    /// reason that does not say (another server's). A client waits that
    /// long before it sends the refused request again.
    pub fn retry_after(&self) -> Option<Duration> {
        if self.code != Code::RateLimited {
            return None;
        }
        let (_, rest) = self.reason.split_once("try again in ")?;
        let mut words = rest.split(' ');
        let n: u64 = words.next()?.parse().ok()?;
        match words.next()?.trim_end_matches([',', ';', '.', ')']) {
            "ms" => Some(Duration::from_millis(n)),
            "s" => Some(Duration::from_secs(n)),
            _ => None,
        }
    }

    /// `KO:FULL`: a write refused once the server's disk is full: nothing
    /// of it is kept, and it may be sent again.
    pub fn disk_full() -> Ko {
        Ko::new(Code::Full, "the server's disk is full; writes resume by themselves once there is room")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words are the contract's (docs/PROTOCOL.md quotes them), so a
    /// change here is a change a client sees.
    #[test]
    fn shared_refusals_keep_their_words_and_codes() {
        assert_eq!(Ko::no_user("bob").to_string(), "KO:UNKNOWN_USER:no user named bob");
        assert_eq!(
            Ko::disk_full().to_string(),
            "KO:FULL:the server's disk is full; writes resume by themselves once there is room"
        );
        assert_eq!(Ko::no_sender("bob").to_string(), "KO:UNKNOWN_MESSAGE:no user named bob");
        assert_eq!(
            Ko::no_message("7", "#ops").to_string(),
            "KO:UNKNOWN_MESSAGE:no message 7 from #ops to you"
        );
        assert_eq!(Ko::no_room("ops").to_string(), "KO:NOT_MEMBER:no room named #ops");
        assert_eq!(Ko::not_member("ops").to_string(), "KO:NOT_MEMBER:you are not in #ops");
        assert_eq!(Ko::wrong_login().to_string(), "KO:AUTH_FAILED:wrong user or password");
        assert_eq!(Ko::store_unavailable().code, Code::Internal);
        assert_eq!(
            Ko::too_many_requests(" from your address", Duration::from_millis(876), "--address-rate")
                .to_string(),
            "KO:RATE_LIMITED:too many requests from your address; try again in 877 ms (--address-rate)"
        );
    }

    #[test]
    fn a_rate_refusal_says_how_long_to_wait() {
        let wait = |ko: &Ko| ko.retry_after();
        let refused = Ko::too_many_requests("", Duration::from_millis(195), "--rate");
        assert_eq!(wait(&refused), Some(Duration::from_millis(196)));
        let logins = Ko::new(Code::RateLimited, "too many failed logins; try again in 3 s");
        assert_eq!(wait(&logins), Some(Duration::from_secs(3)));
        assert_eq!(wait(&Ko::new(Code::RateLimited, "slow down")), None);
        assert_eq!(wait(&Ko::new(Code::Busy, "try again in 3 s")), None, "only RATE_LIMITED");
    }
}
