//! 1.3 (§26, §27): `PEOPLE:<start>@<server>`, finding people of another
//! server of the class network. The asking side ([`ask`]) sends the
//! search over the link to `server` and waits for its answer (the
//! session's reply keeps its place meanwhile); the answering side
//! ([`for_peer`]) lists whom one of its own users would be shown.
//!
//! **Whom a server lists to another's user** is whom `PEOPLE` shows a
//! user of its own who shares the same rooms: the members of
//! `#general` (where every account starts) and of the rooms homed here
//! that the asker is in, its own users only, each online or last seen as
//! `MEMBERS` shows them (`UNKNOWN` for one who blocked the asker or its
//! server, no time for one who hides it). A search stores nothing.

use std::sync::Arc;

use super::Ctx;
use super::presence;
use crate::protocol::names::{check_name, fold};
use crate::protocol::profile::PrivacyLine;
use crate::protocol::{Chat, Code, Ko, Presence, SeenLine};
use crate::store::{GENERAL, UserId};

/// `PEOPLE:<start>@<server>` of `me` (`my_name`): the people of
/// `server` whose names begin with `start`. This server's own name is a
/// local search; a server in no network answers as before 1.3.
pub fn ask(ctx: &Ctx, (me, my_name): (UserId, &str), start: &str, server: &str) -> Result<Vec<SeenLine>, Ko> {
    let address = format!("{start}@{server}");
    let Some(links) = ctx.federation.get() else {
        let why = check_name(&address).err().unwrap_or_default();
        return Err(Ko::new(Code::BadRequest, format!("bad start of a name: {why}")));
    };
    if let Some(Chat::User(local)) = links.route(&Chat::User(address))? {
        return Ok(presence::people(ctx, me, &local, crate::protocol::request::MAX_PEOPLE));
    }
    let mut lines = links.ask_people(my_name, server, start)?;
    // Who hides its own last seen sees nobody's (§30).
    if !super::profile::privacy(ctx, me).last_seen {
        for line in &mut lines {
            if matches!(line.presence, Presence::LastSeen(_)) {
                line.presence = Presence::Unknown;
            }
        }
    }
    Ok(lines)
}

/// The answer to a search of `asker` (`ana@lab1`, a user of another
/// server): at most `most` of this server's users whose names begin
/// with `start`, ignoring case, sorted ignoring case, among the members
/// of `#general` and of the rooms of this server `asker` is in.
pub fn for_peer(ctx: &Ctx, asker: &str, start: &str, most: usize) -> Vec<SeenLine> {
    let start = fold(start);
    let mut found: Vec<(UserId, Arc<str>)> =
        ctx.store.room_members(GENERAL).map(|(_, members)| members).unwrap_or_default();
    if let Some(remote) = ctx.store.find_account(asker) {
        found.extend(ctx.store.rooms_of(remote.id, usize::MAX).into_iter().flat_map(|(_, members)| members));
    }
    found.retain(|(_, name)| !name.contains('@') && fold(name).starts_with(&start));
    found.sort_by_key(|(_, name)| fold(name));
    found.dedup_by_key(|(user, _)| *user);
    found.truncate(most);
    found
        .into_iter()
        .map(|(user, name)| {
            let presence = match super::calls_across::blocks(ctx, user, asker) {
                true => Presence::Unknown,
                false => {
                    super::profile::seen_as(ctx, user, PrivacyLine::default(), presence::seen(ctx, user))
                }
            };
            SeenLine { user: name.to_string(), presence }
        })
        .collect()
}
