//! [`PgBackend`]: the server's [`Backend`] on a cluster's PostgreSQL.
//!
//! Changes go to the node's committer (`committer.rs`) as jobs and come
//! back once their transaction has committed: the [`Ticket`] a change
//! returns is already durable, so [`Backend::wait`] has nothing to wait
//! for. Reads run on pooled connections (`reads.rs`).

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;

use super::committer::{Committer, Job};
use super::db::{Db, OrKo, count};
use super::moderation;
use super::names::Names;
use super::reads;
use crate::protocol::action::ActionsSince;
use crate::protocol::names::fold;
use crate::protocol::page::Start;
use crate::protocol::{Accepted, Change, Chat, ChatLine, Code, Ko, RoomInfoLine, RoomLine};
use crate::store::backend::{Ack, DevicesChange, Membership, Moderated, Notice, ServerFacts};
use crate::store::deadline;
use crate::store::prefs::BLOCK;
use crate::store::settings::{KeptKey, KeyChange, Keys, Setting};
use crate::store::{Account, AccountChange, Backend, Lines, Listing, Members, Outgoing, Ticket, UserId};

/// Every change is durable when it returns.
const DURABLE: Ticket = Ticket(0);

pub struct PgBackend {
    pub(super) db: Arc<Db>,
    pub(super) names: Arc<Names>,
    pub(super) committer: Committer,
    /// Reads kept to answer from while no primary does (`memory.rs`).
    pub(super) memory: super::memory::Memory,
}

fn stopped() -> Ko {
    Ko::new(Code::Internal, "the server is shutting down")
}

/// The committer's answer to a job, waited for until `until` at most
/// (the database's deadline: docs/CLUSTER.md, "Nodes that never hang").
/// Too late, the request gets `KO:UNAVAILABLE`; its job may still
/// commit, and a `MSG` sent again with its id is then recognised.
fn answer_within<T>(answer: &Receiver<T>, until: Instant) -> Result<T, Ko> {
    answer.recv_deadline(until).map_err(|e| match e {
        crossbeam_channel::RecvTimeoutError::Timeout => {
            log::debug!("cluster: no answer from the committer within the deadline");
            super::db::down()
        }
        crossbeam_channel::RecvTimeoutError::Disconnected => stopped(),
    })
}

impl PgBackend {
    /// Submits a job and waits for its answer.
    fn run<T>(&self, job: Job, answer: Receiver<Result<T, Ko>>) -> Result<T, Ko> {
        if !self.committer.submit(job) {
            return Err(stopped());
        }
        answer_within(&answer, deadline::until()).unwrap_or_else(Err)
    }

    fn change(
        &self,
        make: impl FnOnce(crossbeam_channel::Sender<Result<(), Ko>>) -> Job,
    ) -> Result<Ticket, Ko> {
        let (done, answer) = crossbeam_channel::bounded(1);
        self.run(make(done), answer).map(|()| DURABLE)
    }

    /// 1.2 `DELACCOUNT`: the rooms left and the inbox acknowledged by the
    /// jobs a `LEAVE` and an `ACK` are (so every node's view of the rooms
    /// and the committer's counters follow), then the row marked.
    fn delete_account(&self, user: UserId) -> Result<(), Ko> {
        for (room, _) in self.rooms_of(user, 0)? {
            let ticket = self.leave(user, &room.room)?;
            self.wait(ticket)?;
        }
        self.memory.forget_account(user);
        super::accounts::mark_deleted(&self.db, user)
    }

    /// 1.2: a ban or an invite-only room may refuse it (`apply::join_rules`),
    /// a new room is owned by its joiner, and an invitation is used up
    /// (`Work::join`), all in the batch's transaction once the room is
    /// locked.
    fn join(&self, user: UserId, room: &str) -> Result<Ticket, Ko> {
        self.change(|done| Job::Join { user, room: room.into(), done })
    }

    /// 1.2: a room admin's rank goes in the batch's transaction too.
    fn leave(&self, user: UserId, room: &str) -> Result<Ticket, Ko> {
        self.change(|done| Job::Leave { user, room: room.into(), done })
    }

    /// 1.2: from the next batch on, `user`'s inbox gets copies of its own
    /// messages and read marks (`inboxes.several`), or no longer does.
    fn set_several(&self, user: UserId, several: bool) {
        let set = self.db.get().and_then(|mut conn| {
            conn.execute("UPDATE inboxes SET several = $2 WHERE user_id = $1", &[&(user as i64), &several])
                .or_ko("noting several devices")
        });
        if let Err(ko) = set {
            log::warn!("cluster: user #{user}'s devices: {}", ko.reason);
        }
    }

    /// The one row `sql` reads about `user` (its `$1`), on a pooled connection.
    fn row_of(&self, user: UserId, sql: &str, doing: &str) -> Result<postgres::Row, Ko> {
        self.db.get().and_then(|mut conn| conn.query_one(sql, &[&(user as i64)]).or_ko(doing))
    }

    /// Logs a read that failed where the server's interface has no error to give.
    fn or_log<T>(result: Result<T, Ko>, what: &str, fallback: T) -> T {
        result.unwrap_or_else(|ko| {
            log::warn!("cluster: {what}: {}", ko.reason);
            fallback
        })
    }
}

impl Backend for PgBackend {
    /// While no primary answers, the account as this node read it last
    /// (`memory.rs`): a user who logged in here lately logs in again.
    fn account(&self, name: &str) -> Result<Option<Account>, Ko> {
        let read = self.db.get().and_then(|mut conn| {
            let row = conn
                .query_opt("SELECT id, name, hash, admin FROM users WHERE folded = $1", &[&fold(name)])
                .or_ko("reading an account")?;
            Ok(row.map(|row| {
                let id = row.get::<_, i64>(0) as UserId;
                Account { id, name: self.names.learn(id, row.get(1)), hash: row.get(2), admin: row.get(3) }
            }))
        });
        let unavailable = read.is_err();
        let account = self.memory.accounts.or_recall_some(fold(name), read);
        if unavailable && let Ok(Some(account)) = &account {
            log::info!("cluster: {}'s account as this node read it last (no primary answers)", account.name);
        }
        account
    }

    /// A registration is a job of the committer's (it joins `#general`
    /// in the batch's transaction); the other changes are one transaction
    /// each (`accounts.rs`). A node's memory forgets the account first, so
    /// a login reads the new row.
    fn change_account(&self, change: AccountChange) -> Result<(UserId, Ticket), Ko> {
        match change {
            AccountChange::Create { name, email, hash } => {
                let (done, answer) = crossbeam_channel::bounded(1);
                let job = Job::Register { name: name.into(), email: email.into(), hash, done };
                self.run(job, answer).map(|account| (account.id, DURABLE))
            }
            // 1.2: every node reads the hash from the row at a login and
            // the name never changes, so no node's cache has anything to
            // forget.
            AccountChange::Reuse { user, email, hash } => {
                let (id, name) = super::accounts::reuse(&self.db, user, email, &hash)?;
                self.names.learn(id, &name);
                Ok((id, DURABLE))
            }
            AccountChange::Password { user, hash } => {
                self.memory.forget_account(user);
                super::accounts::set_password(&self.db, user, &hash).map(|()| (user, DURABLE))
            }
            AccountChange::Delete { user } => self.delete_account(user).map(|()| (user, DURABLE)),
            AccountChange::ServerAdmin { user, on } => {
                self.memory.forget_account(user);
                super::accounts::set_admin(&self.db, user, on).map(|()| (user, DURABLE))
            }
        }
    }

    /// A room's policy (1.2: `+announce`, mutes) is checked in the
    /// batch's transaction, after a resend is recognised (`apply.rs`).
    fn send(&self, from: UserId, msgs: &[Outgoing]) -> (Vec<Result<Accepted, Ko>>, Ticket) {
        let until = deadline::until();
        let (done, answer) = crossbeam_channel::bounded(1);
        let sent = if !self.committer.submit(Job::Send { from, msgs: msgs.to_vec(), done }) {
            vec![Err(stopped()); msgs.len()]
        } else {
            answer_within(&answer, until).unwrap_or_else(|ko| vec![Err(ko); msgs.len()])
        };
        (sent, DURABLE)
    }

    fn read(&self, user: UserId, chat: &Chat, id: &str) -> Result<Ticket, Ko> {
        self.change(|done| Job::Read { user, chat: chat.clone(), id: id.into(), done })
    }

    fn change_membership(&self, user: UserId, room: &str, change: Membership) -> Result<Ticket, Ko> {
        match change {
            Membership::Join => self.join(user, room),
            Membership::Leave => self.leave(user, room),
        }
    }

    /// 1.2 `DELETE`: the rows rewritten before the `OK` (`cluster::erase`).
    fn erase(&self, author: &str, chat: &Chat, id: &str) -> Result<(), Ko> {
        super::erase::erase(&self.db, author, chat, id)
    }

    /// 1.2: DELIVERED at the first device's `ACK` (`Ack::Deliver`): what an
    /// `ACK` up to `upto` would mark, the inbox kept for the devices behind
    /// (`Job::Deliver`). The events after `after` are among those the
    /// inbox holds from its acknowledged mark on, which the job reads.
    fn ack(&self, user: UserId, ack: Ack) {
        match ack {
            Ack::Trim { device, seq } => {
                self.committer.submit(Job::Ack { user, seq, device: device.map(Into::into) });
            }
            Ack::Deliver { after, upto } if upto > after => {
                self.committer.submit(Job::Deliver { user, seq: upto });
            }
            Ack::Deliver { .. } => {}
        }
    }

    /// A last-seen time rides the committer's next batch as an `ACK`
    /// does (`Job::Seen`); several devices is one `UPDATE` of the inbox's
    /// row, read by the batches after it.
    fn change_devices(&self, user: UserId, change: DevicesChange) {
        match change {
            DevicesChange::Offline { at_ms } => {
                self.committer.submit(Job::Seen { user, ts: at_ms });
            }
            DevicesChange::Several(several) => self.set_several(user, several),
        }
    }

    fn wait(&self, _ticket: Ticket) -> Result<(), Ko> {
        Ok(()) // committed before the change returned
    }

    /// While no primary answers: the lines this node read last, each
    /// small room with its members as this node read them last
    /// (`memory.rs`), kept at each read as `room_members` keeps them.
    fn rooms_of(&self, user: UserId, members_up_to: usize) -> Result<Vec<(RoomLine, Members)>, Ko> {
        let ko = match reads::rooms(&self.db, user, members_up_to) {
            Ok(rooms) => {
                self.memory.rooms.keep(user, rooms.iter().map(|(line, _)| line.clone()).collect());
                for (line, members) in rooms.iter().filter(|(_, members)| !members.is_empty()) {
                    let room = (format!("#{}", line.room).into(), members.clone());
                    self.memory.members.keep(fold(&line.room), room);
                }
                return Ok(rooms);
            }
            Err(ko) => ko,
        };
        let members = |line: &RoomLine| match line.members <= members_up_to as u64 {
            true => self.memory.members.recall(&fold(&line.room)).map(|(_, m)| m).unwrap_or_default(),
            false => Vec::new(),
        };
        let lines = self.memory.rooms.or_recall(user, Err(ko))?;
        Ok(lines
            .into_iter()
            .map(|line| {
                let m = members(&line);
                (line, m)
            })
            .collect())
    }

    fn chats(&self, user: UserId) -> Result<Vec<ChatLine>, Ko> {
        reads::chats(&self.db, user)
    }

    fn last_seen(&self, user: UserId) -> Option<u64> {
        let seen = self.row_of(user, "SELECT last_seen FROM users WHERE id = $1", "reading a last-seen time");
        let seen = seen.map(|row| row.get::<_, Option<i64>>(0).map(count));
        Self::or_log(self.memory.last_seen.or_recall(user, seen), "last seen", None)
    }

    fn history_page(
        &self,
        user: UserId,
        chat: &Chat,
        start: Start,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Listing, Ko> {
        reads::history(&self.db, &self.names, user, chat, start, limit, max_bytes)
    }

    fn room_members(&self, room: &str) -> Option<(Arc<str>, Members)> {
        let members = reads::room_members(&self.db, room);
        let members = self.memory.members.or_recall_some(fold(room.trim_start_matches('#')), members);
        Self::or_log(members, "reading a room", None)
    }

    /// The bytes the committer counts against `user`'s quota
    /// (`budget.rs`), to which its files are added, as on a single server
    /// (`server::files`): read only for a user who has files.
    fn stored_bytes(&self, user: UserId) -> u64 {
        let stored =
            self.row_of(user, "SELECT stored FROM inboxes WHERE user_id = $1", "reading a quota's counter");
        // Unknown (no primary answers): the files alone are checked now;
        // the batch's own check counts the messages.
        Self::or_log(stored.map(|row| count(row.get(0))), "reading a quota", 0)
    }

    fn inbox_end(&self, user: UserId) -> u64 {
        let end = self.row_of(user, "SELECT last_seq FROM inboxes WHERE user_id = $1", "reading an inbox");
        // Unknown: replay nothing now; the events come as refills instead.
        Self::or_log(end.map(|row| count(row.get(0))), "reading an inbox", 0)
    }

    /// A device's replay starts at its own position (read from the
    /// database's `devices` at its login, `cluster::devices`); copies and
    /// read marks are left out below 1.2.
    fn replay(&self, user: UserId, after: u64, upto: u64, minor: u8) -> Box<dyn Lines> {
        Box::new(reads::Replay { db: self.db.clone(), user, after, upto, minor })
    }

    fn stop(&self) {
        self.committer.stop();
    }

    /// 1.2: the change, its notice and a removed member's `LEAVE`, where
    /// `Rules::aftermath` says, in one batch's transaction
    /// (`Job::Moderate`, `apply::moderate`).
    fn moderate(&self, by: UserId, room: &str, change: &Change, notice: &Notice) -> Result<Moderated, Ko> {
        let by_name = self.names.name_pooled(&self.db, by)?;
        let target = match change.target() {
            Some(t) => Some(crate::store::meaning::accounts::user(t, self.names.find_pooled(&self.db, t)?)?),
            None => None,
        };
        let (done, answer) = crossbeam_channel::bounded(1);
        let job = Job::Moderate {
            by: (by, by_name.clone()),
            target,
            room: room.into(),
            change: change.clone(),
            notice: (notice.id.clone(), notice.text.clone()),
            done,
        };
        let made = self.run(job, answer)?;
        Ok(Moderated {
            room: made.room,
            by: by_name,
            changed: made.changed,
            tell: made.tell,
            ticket: DURABLE,
        })
    }

    fn room_info(&self, user: UserId, room: &str) -> Result<Vec<RoomInfoLine>, Ko> {
        let name = self.names.name_pooled(&self.db, user)?;
        moderation::info(&self.db, user, &name, room)
    }

    /// The `server` row (its time: `009_actions_since.sql`), one row read
    /// with each `SERVER`, `HISTORY` and `SEARCH` that folds actions. Read
    /// each time, not at start: `wachat migrate` replaces the id a new
    /// database was given with the single server's, and nodes already
    /// running must answer the new one.
    fn server(&self) -> Result<ServerFacts, Ko> {
        let mut conn = self.db.get()?;
        let row =
            conn.query_one("SELECT id, actions_since FROM server", &[]).or_ko("reading the server's row")?;
        let actions_since = ActionsSince(count(row.get(1)));
        Ok(ServerFacts { id: row.get::<_, String>(0).into(), actions_since })
    }

    // ----- 1.2: settings (`cluster::settings`)
    fn change_setting(
        &self,
        user: UserId,
        setting: &'static Setting,
        key: &str,
        change: KeyChange,
    ) -> Result<Ticket, Ko> {
        let changed = super::settings::change(&self.db, user, setting, key, change);
        // After the commit (a failure too: it may have committed), and
        // for a block only: the node's memory keeps no other setting.
        if setting.name == BLOCK.name {
            let owner = self.names.known_name(user).map(|name| fold(&name));
            self.memory.forget_block(owner.as_deref(), self.names.known_id(key));
        }
        changed.map(|()| DURABLE)
    }

    /// What presence, a `DELETE`, a call and `MEMBERS` ask (a block about a user) is kept in
    /// the node's memory, to answer while no primary does.
    fn read_settings(&self, setting: &Setting, keys: Keys) -> Result<Vec<KeptKey>, Ko> {
        let read = super::settings::read(&self.db, setting, keys);
        match keys {
            _ if setting.name != BLOCK.name => read,
            Keys::Of(_) => read,
            Keys::OfAbout { owner, about } => self.memory.blocks.or_recall((Some(fold(owner)), about), read),
            Keys::About(about) => self.memory.blocks.or_recall((None, about), read),
        }
    }
}
