//! `wachat conform`: the protocol's test suite, for a server or a client
//! that someone else wrote (a student's, in any language).
//!
//! A course that asks students to implement the protocol needs a way for
//! them to ask "does mine speak it?" with nothing but `wachat` and their
//! own code, and for a teacher to grade a class with one command. So the
//! suite lives in the binary, and the project's own tests run these same
//! cases against `wachat serve` (tests/tools/conform.rs): one suite, not two.
//!
//! - [`case`]: what a case is, the context it runs in (fresh users with a
//!   random prefix, labelled connections), and the [`Failure`] it returns;
//! - [`wire`]: connections that write every frame into a transcript;
//! - the cases, one file per group, in the order of docs/PROTOCOL.md:
//!   [`framing`], [`auth`], [`messages`], [`receive`], [`status`],
//!   [`rooms`], [`listings`], [`codes`], [`timing`], [`restart`], [`later`]
//!   (the 1.1 and 1.2 additions), [`prefs`] (1.2: blocks, levels, pins),
//!   [`archive`] (1.2: archived chats), [`starred`] (1.2: starred messages),
//!   [`paging`] (1.2: `HISTORY` a page at a time);
//! - [`runner`]: which cases run, and their outcomes; [`preflight`]: what
//!   the server allows, asked before the first case, and the accounts the
//!   run made, deleted after the last;
//! - [`report`]: text and JSON; [`html`]: the page with sequence
//!   diagrams; [`class`]: a roster of servers checked in parallel, with
//!   points per group (`--class`);
//! - [`client`]: `wachat conform client`, the suite playing the server;
//! - [`federation`]: `wachat conform federation`, the suite playing a
//!   peer server of the class network (1.3), and `--class`'s table;
//! - [`command`]: the command line, `wachat conform server|client|federation`;
//!   [`shell`]: the restart command, run within a time limit, its output
//!   cut and filtered.
//!
//! The cases assume only what the protocol promises (docs/PROTOCOL.md),
//! never wachat's own choices: a `KO`'s text is never compared, only its code; orders the protocol leaves open are accepted
//! in any order; presence events that other users cause are skipped.

pub mod archive;
pub mod auth;
pub mod case;
pub mod class;
pub mod client;
pub mod codes;
pub mod command;
pub mod failure;
pub mod federation;
pub mod framing;
pub mod html;
pub mod later;
pub mod listings;
pub mod messages;
pub mod paging;
pub mod preflight;
pub mod prefs;
pub mod receive;
pub mod report;
pub mod restart;
pub mod rooms;
pub mod runner;
pub mod shell;
pub mod starred;
pub mod status;
pub mod timing;
pub mod wire;

pub use case::{Case, CaseCtx, Failure, Group, Needs, ProtocolLevel, SuiteConfig};
pub use runner::{CaseOutcome, Status};

/// Every case of the suite, in the order they run: the groups in the
/// order a student should tackle them (docs/LAB.md).
pub fn all_cases() -> Vec<Case> {
    [
        framing::cases(),
        auth::cases(),
        messages::cases(),
        receive::cases(),
        status::cases(),
        rooms::cases(),
        listings::cases(),
        codes::cases(),
        timing::cases(),
        restart::cases(),
        later::cases(),
        prefs::cases(),
        archive::cases(),
        starred::cases(),
        paging::cases(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names_are_unique_and_users_valid() {
        let cases = all_cases();
        let mut ids: Vec<String> = cases.iter().map(Case::id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), cases.len(), "two cases share a name");
        // The longest user name a case makes: prefix, case number, alias.
        let longest = format!("{}n{}nobody", case::run_prefix(), cases.len());
        assert!(crate::protocol::names::check_name(&longest).is_ok(), "{longest}");
    }

    #[test]
    fn levels_add_cases_and_never_remove_them() {
        let at = |level| cases_at(level).len();
        assert!(
            at(ProtocolLevel::V1_0) < at(ProtocolLevel::V1_1)
                && at(ProtocolLevel::V1_1) < at(ProtocolLevel::V1_2)
        );
        assert!(cases_at(ProtocolLevel::V1_0).iter().all(|c| c.level == ProtocolLevel::V1_0));
    }

    fn cases_at(level: ProtocolLevel) -> Vec<Case> {
        let settings = SuiteConfig::new("127.0.0.1".into(), 1, 2, level);
        runner::selected(all_cases(), &settings)
    }
}
