//! The one door through which the state changes: a record, applied for a
//! running server ([`State::commit`]) and at a start ([`State::load`]),
//! by the same code. What each kind of record does is in its own file
//! (`store/record/<kind>.rs`, `State::apply_…`); here are the steps they
//! share: a room made and forgotten, a member leaving. (An inbox numbers
//! its own events, `Inbox::enqueue` in `inbox.rs`; who gets one is
//! decided by the rules of `store::meaning::effects`.)

use std::sync::Arc;

use super::{Batch, Direct, IdMap, Room, RoomId, State, User, UserId, pair, side};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::store::record::{NO_POS, Pos, Record};

fn internal(reason: String) -> Ko {
    log::error!("store: {reason}");
    Ko::new(Code::Internal, "internal error, see the server log")
}

impl State {
    /// Counts a record of `len` bytes (its `\n` included) against the
    /// quota of who caused it ([`Record::payer`]: a message's sender, a
    /// rule change's author).
    pub(in crate::store) fn count_usage(&mut self, record: &Record, len: u64) {
        if let Some(name) = record.payer()
            && let Some(user) = self.user_id(&name)
        {
            self.add_usage(user, len);
        }
    }

    // ----- changing the state -------------------------------------------

    /// Adds an account (from `users.csv`, or a registration).
    pub fn add_user(&mut self, name: &str, hash: &str) -> Result<UserId, String> {
        if self.user_id(name).is_some() {
            return Err(format!("account {name:?} exists twice"));
        }
        let name: Arc<str> = name.into();
        let id = self.users.len();
        self.user_ids.insert(fold(&name), id);
        self.exact_ids.insert(name.clone(), id);
        // Everything else starts empty: a field a record kind adds to
        // `User` needs no line here.
        if super::remote::is_peer_account(&name) {
            self.peer_queues.push((id, 0));
        }
        self.users.push(User { name, hash: hash.to_string(), ..User::default() });
        Ok(id)
    }

    /// Applies a record read back from the log at `pos` (`len` bytes with
    /// its `\n`): nothing is written and nothing is pushed.
    pub fn load(&mut self, pos: Pos, len: u64, record: &Record) -> Result<(), String> {
        record.apply(self, pos, None)?;
        self.count_usage(record, len);
        self.end = pos + len;
        self.sync_end = self.end;
        self.since_checkpoint += 1;
        Ok(())
    }

    /// Applies a record of a batch the leader of a cluster committed
    /// (`store::shared_log`), at the end of the state, `len` bytes with
    /// its `\n`: what [`State::commit`] does on the leader, with the
    /// events it pushes, but its line is written already.
    pub fn follow(&mut self, record: &Record, len: u64, batch: &mut Batch) -> Result<(), String> {
        record.apply(self, self.end, Some(&mut batch.deliveries))?;
        self.note_disabled(record, batch);
        self.note_unlinked(record, batch);
        self.note_links(batch);
        self.count_usage(record, len);
        self.end += len;
        self.sync_end = self.end;
        self.since_checkpoint += 1;
        Ok(())
    }

    /// Applies a new record and adds it to `batch`: its line for the log,
    /// and the events to push once it is written.
    pub fn commit(&mut self, record: Record, batch: &mut Batch) -> Result<(), Ko> {
        let start = batch.log.len();
        record.encode(&mut batch.log);
        let len = (batch.log.len() - start) as u64;
        if let Err(e) = record.apply(self, self.end, Some(&mut batch.deliveries)) {
            batch.log.truncate(start);
            return Err(internal(e));
        }
        self.note_disabled(&record, batch);
        self.note_unlinked(&record, batch);
        self.note_links(batch);
        self.count_usage(&record, len);
        self.end += len;
        if record.needs_sync() {
            batch.sync = true;
            self.sync_end = self.end;
        }
        self.since_checkpoint += 1;
        Ok(())
    }

    /// Notes in `batch` the account `record` disabled, if it disables one
    /// (`store::disabled`): the router closes its sessions once the batch
    /// is written, on the leader and on every follower that applies it.
    fn note_disabled(&self, record: &Record, batch: &mut Batch) {
        use crate::store::disabled::{DISABLED, KEY};
        if let Record::Set { user, name, key, value: Some(_), .. } = record
            && name == DISABLED.name
            && key == KEY
            && let Some(id) = self.user_id(user)
        {
            batch.disabled.push((id, self.users[id].name.clone()));
        }
    }

    /// Notes in `batch` the device `record` removes, if it removes one
    /// (`store::devices`: its setting cleared): the router logs its
    /// receive connection out once the batch is written, on the leader and
    /// on every follower that applies it, whatever reached them or not.
    fn note_unlinked(&self, record: &Record, batch: &mut Batch) {
        use crate::store::devices::DEVICE;
        if let Record::Set { user, name, key, value: None, .. } = record
            && name == DEVICE.name
            && let Some(device) = key.strip_prefix('@')
            && let Some(id) = self.user_id(user)
        {
            batch.unlinked.push((id, device.to_string()));
        }
    }

    /// `user` is no longer a member of `room` (freed once nobody is in it:
    /// `meaning::rooms::forgotten`).
    pub(in crate::store) fn leave(&mut self, user: UserId, room: RoomId) {
        let name = self.users[user].name.clone();
        let r = self.room_mut(room);
        r.members.remove(&user);
        r.rules.left(&name);
        let forgotten = crate::store::meaning::rooms::forgotten(r.members.len());
        self.users[user].rooms.remove(&room);
        if forgotten {
            self.free_room(room);
        }
    }

    /// Checks that `sender` sent at least `dord + 1` messages to `to`.
    pub(in crate::store) fn need_sent(&self, sender: UserId, to: UserId, dord: u64) -> Result<(), String> {
        let sent = self.direct(sender, to).map_or(0, |d| d.sent[side(sender, to)]);
        if dord < sent {
            Ok(())
        } else {
            Err(format!(
                "no message number {dord} from {} to {}",
                self.users[sender].name, self.users[to].name
            ))
        }
    }

    pub(in crate::store) fn direct_mut(&mut self, a: UserId, b: UserId) -> &mut Direct {
        self.directs.entry(pair(a, b)).or_default()
    }

    pub(in crate::store) fn create_room(&mut self, name: &str, born: Pos) -> RoomId {
        let name = format!("#{}", name.trim_start_matches('#'));
        let room = Room {
            name: name.as_str().into(),
            members: IdMap::default(),
            head: NO_POS,
            count: 0,
            last_order: 0,
            born,
            rules: Default::default(),
            pending: Default::default(),
        };
        let id = match self.free_rooms.pop() {
            Some(id) => {
                self.rooms[id] = Some(room);
                id
            }
            None => {
                self.rooms.push(Some(room));
                self.rooms.len() - 1
            }
        };
        self.room_ids.insert(fold(&name[1..]), id);
        id
    }

    /// A room nobody is in is forgotten: its messages stay in the log, but
    /// joining its name again starts a new, empty room.
    fn free_room(&mut self, room: RoomId) {
        if let Some(r) = self.rooms[room].take() {
            self.room_ids.remove(&fold(r.name.trim_start_matches('#')));
            self.free_rooms.push(room);
        }
    }
}
