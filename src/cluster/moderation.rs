//! Moderation on a cluster (protocol 1.2): a room's rules in PostgreSQL
//! (schema version 4: columns of `rooms`, rows of `room_rules`), checked
//! and changed in one transaction that locks the room's row, so that two
//! nodes acting on one room at once take turns. Who may do what is
//! `store::moderation`'s, as on a single server: this file only moves the
//! rules between the tables and a [`Rules`].
//!
//! The change, its notice in the room's text and a kicked member's
//! `LEAVE` are one commit, as a single server writes them in one batch:
//! the change is a job of the committer's (`Job::Moderate`), made in the
//! batch's transaction after its other jobs, and its notice and `LEAVE`
//! are worked out there as any `MSG` and `LEAVE` (`apply::moderate`).
//! (Issue 54: they were three commits, and a node dying between them
//! left a ban made with the banned member still in the room.) The event
//! reaches members on every node through `server::relay`, as `TYPING`
//! does.
//!
//! The check on the way of a room `MSG` costs one query per batch, in
//! the batch's transaction (`send_refusals`); a `JOIN` reads the room's
//! rules there too, once the room is locked (`apply::join_rules`). What a
//! membership changes in the rules (`Rules::joined`, `Rules::left`, a new
//! room's owner) is written by the `JOIN`'s or `LEAVE`'s own batch, in
//! the same transaction (`Work::join`, `Work::leave`, `writes.rs`), so a
//! node that dies after the `LEAVE` cannot leave a departed admin its rank.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use postgres::GenericClient;

use super::db::{Db, OrKo};
use super::tx::Tx;
use crate::protocol::names::fold;
use crate::protocol::{Change, Ko, Role, RoomInfoLine};
use crate::store::meaning::rooms;
use crate::store::moderation::{Party, Rules};
use crate::store::{UserId, now_ms};

/// A live room, its rules, and the ids of the names they hold.
pub struct Room {
    pub id: i64,
    pub name: Arc<str>,
    pub rules: Rules,
}

fn folded(room: &str) -> String {
    fold(room.trim_start_matches('#'))
}

/// The kinds of name a room's rules hold: the column `room_rules.kind`.
pub const ADMIN: &str = "ADMIN";
pub const INVITED: &str = "INVITED";
pub const BANNED: &str = "BANNED";
pub const MUTED: &str = "MUTED";

/// A live room's row and its owner's name, by folded name.
const ROOM: &str = "SELECT r.id, r.name, u.name, r.announce, r.invite_only, r.topic FROM rooms r \
                    LEFT JOIN users u ON u.id = r.owner WHERE r.folded = $1 AND r.live";

/// Reads the live room `room` and its rules (`lock`: its row `FOR UPDATE`).
pub fn load(db: &mut impl GenericClient, room: &str, lock: bool) -> Result<Option<Room>, postgres::Error> {
    let query = if lock { format!("{ROOM} FOR UPDATE OF r") } else { ROOM.to_string() };
    let Some(row) = db.query_opt(&query, &[&folded(room)])? else { return Ok(None) };
    let id: i64 = row.get(0);
    let mut rules = Rules {
        owner: row.get::<_, Option<String>>(2).map(Arc::from),
        announce: row.get(3),
        invite_only: row.get(4),
        topic: row.get(5),
        ..Rules::default()
    };
    let names = db.query(
        "SELECT u.name, x.kind, x.until FROM room_rules x JOIN users u ON u.id = x.user_id WHERE x.room = $1",
        &[&id],
    )?;
    for r in names {
        let (name, until): (Arc<str>, u64) = (r.get::<_, String>(0).into(), r.get::<_, i64>(2) as u64);
        match r.get::<_, &str>(1) {
            ADMIN => drop(rules.admins.insert(name)),
            INVITED => drop(rules.invited.insert(name)),
            BANNED => drop(rules.bans.insert(name, until)),
            _ => drop(rules.mutes.insert(name, until)),
        }
    }
    Ok(Some(Room { id, name: row.get::<_, String>(1).into(), rules }))
}

/// Writes the rules of the room `id` back, its few `room_rules` rows
/// rewritten whole (a change's way, and `wachat migrate`'s way in).
pub fn save_rules(db: &mut impl GenericClient, id: i64, r: &Rules) -> Result<(), postgres::Error> {
    db.execute(
        "UPDATE rooms SET owner = (SELECT id FROM users WHERE name = $2), announce = $3, invite_only = $4, \
         topic = $5 WHERE id = $1",
        &[&id, &r.owner.as_deref(), &r.announce, &r.invite_only, &r.topic],
    )?;
    db.execute("DELETE FROM room_rules WHERE room = $1", &[&id])?;
    let mut rows: Vec<(String, &str, i64)> = Vec::new();
    rows.extend(r.admins.iter().map(|n| (n.to_string(), ADMIN, 0)));
    rows.extend(r.invited.iter().map(|n| (n.to_string(), INVITED, 0)));
    rows.extend(r.bans.iter().map(|(n, &t)| (n.to_string(), BANNED, t as i64)));
    rows.extend(r.mutes.iter().map(|(n, &t)| (n.to_string(), MUTED, t as i64)));
    if rows.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let untils: Vec<i64> = rows.iter().map(|r| r.2).collect();
    db.execute(
        "INSERT INTO room_rules (room, user_id, kind, until) \
         SELECT $1, u.id, x.kind, x.until FROM unnest($2::text[], $3::text[], $4::bigint[]) AS x(name, kind, until) \
         JOIN users u ON u.name = x.name",
        &[&id, &names, &kinds, &untils],
    )?;
    Ok(())
}

/// Where a user stands in a room: its rank, and whether it is a member
/// (a rank above member does not say: an owner may have left).
struct Standing {
    role: Role,
    member: bool,
}

/// Where `user` (`name`) stands in `room`, in one query.
fn standing(
    db: &mut impl GenericClient,
    room: &Room,
    user: UserId,
    name: &str,
) -> Result<Standing, postgres::Error> {
    let row = db.query_one(
        "SELECT EXISTS (SELECT 1 FROM members WHERE room = $1 AND user_id = $2), \
                COALESCE((SELECT admin FROM users WHERE id = $2), false)",
        &[&room.id, &(user as i64)],
    )?;
    let member: bool = row.get(0);
    Ok(Standing { role: room.rules.role(name, member, row.get(1)), member })
}

/// What the change did: the room as registered, whether anything
/// changed, whether its actor and its target are in the room, and who
/// is: the facts [`Rules::aftermath`] needs, read under the room's lock.
pub struct Done {
    pub room: Arc<str>,
    pub changed: bool,
    pub by: Party,
    pub target: Option<Party>,
    pub members: Vec<UserId>,
}

/// Checks and makes `change` to `room` by `by` (`by_name`) in the
/// batch's transaction `tx` (`apply::moderate`, which then writes its
/// notice and a removed member's `LEAVE` in the same one); `target` is
/// the change's user, looked up. A change that would store something is
/// refused with `KO:FULL` once its author's stored bytes reach `quota`
/// (`--user-quota`), the single server's check (`store::budget`): its
/// notice counts against the author as any message. The outer `Err` is
/// the database's (the batch fails or is tried again), the inner one the
/// protocol's refusal (nothing written).
pub fn change(
    tx: &mut impl GenericClient,
    by: (UserId, &str),
    target: Option<(UserId, &str)>,
    room: &str,
    change: &Change,
    quota: u64,
) -> Result<Result<Done, Ko>, postgres::Error> {
    let mut r = match rooms::existing(room, load(tx, room, true)?) {
        Ok(r) => r,
        Err(ko) => return Ok(Err(ko)),
    };
    let actor = standing(tx, &r, by.0, by.1)?;
    let about = match target {
        Some((id, name)) => standing(tx, &r, id, name)?,
        None => Standing { role: Role::None, member: false },
    };
    if let Err(ko) = Rules::decide(actor.role, change, (about.role, about.member), &r.name) {
        return Ok(Err(ko));
    }
    let now = now_ms();
    let changed = !r.rules.unchanged_by(change, now);
    if changed {
        if let Err(ko) = super::budget::quota(quota, stored(tx, by.0)?).check() {
            return Ok(Err(ko));
        }
        r.rules.apply(change, now);
        save_rules(tx, r.id, &r.rules)?;
    }
    // Read under the room's lock, after the batch's other jobs.
    let members = tx
        .query("SELECT user_id FROM members WHERE room = $1", &[&r.id])?
        .iter()
        .map(|row| row.get::<_, i64>(0) as UserId)
        .collect();
    let by = Party { user: by.0, member: actor.member };
    let target = target.map(|(id, _)| Party { user: id, member: about.member });
    Ok(Ok(Done { room: r.name, changed, by, target, members }))
}

/// Bytes `user` has stored (`inboxes.stored`, `budget.rs`).
fn stored(db: &mut impl GenericClient, user: UserId) -> Result<i64, postgres::Error> {
    let row = db.query_opt("SELECT stored FROM inboxes WHERE user_id = $1", &[&(user as i64)])?;
    Ok(row.map_or(0, |row| row.get(0)))
}

/// `ROOMINFO` for `user` (`name`).
pub fn info(db: &Db, user: UserId, name: &str, room: &str) -> Result<Vec<RoomInfoLine>, Ko> {
    let mut conn = db.get()?;
    let r = rooms::existing(room, load(&mut *conn, room, false).or_ko("reading a room's rules")?)?;
    let asker = standing(&mut *conn, &r, user, name).or_ko("reading a rank")?;
    r.rules.info_for((room, &r.name), name, asker.role, now_ms())
}

/// For each (sender, room) of a batch's room messages, why the sender
/// may not write to that room now (`+announce`, a mute), if so. It runs
/// in the batch's transaction, after its rooms are locked (step 5 of
/// `apply.rs`): a moderation change locks the room's row too, so it is
/// wholly before the message or wholly after it, as on a single server.
/// One query for the batch, reading what [`Rules::may_send`] looks at
/// and no more (a room message is the cluster's hot path); the rank and
/// the refusal are `store::moderation`'s.
pub fn send_refusals(
    tx: &mut Tx,
    pairs: &BTreeSet<(UserId, i64)>,
) -> Result<HashMap<(UserId, i64), Ko>, postgres::Error> {
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let (users, rooms): (Vec<i64>, Vec<i64>) = pairs.iter().map(|&(user, room)| (user as i64, room)).unzip();
    let rows = tx.query(
        "SELECT x.u, r.id, r.name, u.name, r.announce, r.owner IS NOT DISTINCT FROM x.u, u.admin, \
                EXISTS (SELECT 1 FROM room_rules y WHERE y.room = r.id AND y.user_id = x.u AND y.kind = 'ADMIN'), \
                (SELECT until FROM room_rules y WHERE y.room = r.id AND y.user_id = x.u AND y.kind = 'MUTED') \
         FROM unnest($1::int8[], $2::int8[]) AS x(u, room) JOIN rooms r ON r.id = x.room JOIN users u ON u.id = x.u",
        &[&users, &rooms],
    )?;
    let now = now_ms();
    let mut refused = HashMap::new();
    for row in rows {
        let name: Arc<str> = row.get::<_, String>(3).into();
        let mut rules = Rules { announce: row.get(4), ..Rules::default() };
        if row.get(5) {
            rules.owner = Some(name.clone());
        }
        if row.get(7) {
            rules.admins.insert(name.clone());
        }
        if let Some(until) = row.get::<_, Option<i64>>(8) {
            rules.mutes.insert(name.clone(), until as u64);
        }
        // A member: one who is not is refused before (`Work::send`).
        let role = rules.role(&name, true, row.get(6));
        if let Err(ko) = rules.may_send(&name, role, now, row.get(2)) {
            refused.insert((row.get::<_, i64>(0) as UserId, row.get::<_, i64>(1)), ko);
        }
    }
    Ok(refused)
}
