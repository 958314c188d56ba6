//! What the client's two threads and the [`Client`](super::Client) share:
//! the options, the local folder and its files (the log, the outbox), the
//! link's state and the channel of notices, and the few things done
//! under their locks (logging in again, telling ticks in order, meeting
//! another server at the address, forgetting an unlinked device's token).

use std::sync::Arc;

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use super::direct::{self, announce};
use super::link::Connectivity;
use super::reads::Reads;
use super::{
    ClientOptions, Connection, History, Message, Notice, Outbox, Unconfirmed, keepalive, login, server_id,
    token,
};
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::p2p::Tokens;
use crate::protocol::Port;
use crate::protocol::{Code, MsgState};

/// What the two threads and the [`Client`](super::Client) share.
///
/// Locks: `folder`, then `log`, then `outbox`, never the other way.
pub(super) struct Shared {
    pub(super) options: ClientOptions,
    /// The user name as registered (as typed while offline since the start).
    pub(super) me: String,
    /// The local folder (locked for this program) and whose files are open
    /// in `log` and `outbox`: both are opened again when a login finds
    /// another server at the address ([`Shared::meet`]).
    pub(super) folder: Mutex<server_id::Folder>,
    pub(super) log: Mutex<History>,
    pub(super) outbox: Mutex<Outbox>,
    pub(super) link: Connectivity,
    /// To the application; unbounded, so a slow reader never stalls the
    /// receiver (which would make the server drop it with `BYE:SLOW`).
    pub(super) notices: Sender<Notice>,
    /// The port direct chats are accepted on, announced after each login.
    pub(super) p2p_port: Option<u16>,
    /// The tokens of the peers the server introduced (`P2P:<from>:<token>`
    /// events, put there by the receiver thread, used up by the P2P threads).
    pub(super) tokens: Arc<Tokens>,
    /// The secret in `options.password` is this device's token (see
    /// [`token`]), not the password: a refusal means the device was unlinked.
    pub(super) uses_token: bool,
    /// 1.2: the password this client changed to (`PASSWD`, see
    /// `client::account`), which every login from now on uses in place
    /// of `options.password`.
    pub(super) new_password: Mutex<Option<String>>,
    /// 1.2: this client deleted its account (`DELACCOUNT`): the server's
    /// `BYE:UNLINKED` that follows says so, not "unlinked".
    pub(super) deleted: std::sync::atomic::AtomicBool,
    /// 1.2: the server's `--timeout`, learned at each send login
    /// ([`keepalive`]): both threads keep their connections alive within it.
    pub(super) server_timeout: keepalive::Learned,
    /// The `READ`s the sender thread owes the server, paced ([`Reads`]).
    pub(super) reads: Mutex<Reads>,
    /// The server will not let this client in any more ([`Notice::Ended`]):
    /// neither thread reconnects.
    pub(super) ended: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// Connects one port and logs in. On the send port, asks the server
    /// who it is first, and settles the folder ([`Shared::meet`]) before
    /// the connection sends anything from the outbox; then (a server that
    /// knows `SERVER`, 1.1 or later) its timeout ([`keepalive`]).
    pub(super) fn open(&self, port: Port) -> Result<Connection> {
        let changed = self.new_password.lock().clone();
        let options = changed.map(|password| ClientOptions { password, ..self.options.clone() });
        let options = options.as_ref().unwrap_or(&self.options);
        let (mut conn, _) = login::open(options, port).map_err(|e| self.refused(e))?;
        if port == Port::Send {
            let id = server_id::ask(&mut conn)?;
            let knows_ids = id.is_some();
            self.meet(id)?;
            self.server_timeout.set(if knows_ids { keepalive::ask(&mut conn)? } else { None });
            announce(&mut conn, self.p2p_port)?
        }
        Ok(conn)
    }

    /// A login refused for a token: the device was unlinked (from another
    /// device, maybe while this one was offline). The token is forgotten,
    /// the application told once ([`Notice::Unlinked`]).
    pub(super) fn refused(&self, e: Error) -> Error {
        match &e {
            Error::Refused { ko, .. } if ko.code == Code::AuthFailed && self.uses_token => {
                self.unlinked();
                e
            }
            _ => e,
        }
    }

    /// The server will not let this client in any more: offline for good,
    /// no thread reconnects, the application told once why.
    pub(super) fn end(&self, why: String) {
        self.link.replaced();
        if !self.ended.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let _ = self.notices.send(Notice::Ended(why));
        }
    }

    /// A login refused after the start (`KO:AUTH_FAILED` while
    /// reconnecting, with the password or token that logged in before):
    /// the client ends ([`Shared::end`]); a token's refusal is an unlink,
    /// said as one ([`Shared::refused`]). True if the client has ended.
    pub(super) fn ended_by(&self, e: &Error) -> bool {
        match e {
            Error::Refused { ko, .. } if ko.code == Code::AuthFailed && !self.uses_token => {
                let lang = crate::i18n::current();
                self.end(tr!(in lang; Msg::LoginRefusedNow, user = self.me, reason = ko.reason));
                true
            }
            _ => self.is_ended(),
        }
    }

    /// True once the client ended ([`Shared::end`]).
    pub(super) fn is_ended(&self) -> bool {
        self.ended.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// This device is unlinked: its token forgotten, the application told
    /// (once: the token is forgotten the first time).
    pub(super) fn unlinked(&self) {
        self.link.replaced();
        if token::forget(&self.folder.lock().dir) {
            let _ = self.notices.send(Notice::Unlinked);
        }
    }

    /// Hands notices to the application, given the log (locked by the
    /// caller): a tick is told only if the message is still in that state.
    ///
    /// Why: ticks are found by two threads, the sender (`✓`, on the `OK`)
    /// and the receiver (`✓✓`, on the `STATUS`), and each tells its notices
    /// only once its files are synced. The `✓✓` can be logged after the
    /// `✓` and still be told first; checked here, under the log's lock,
    /// the late `✓` is dropped instead (the screen already shows more), so
    /// ticks never go backwards on screen.
    pub(super) fn tell(&self, log: &History, notices: Vec<Notice>) {
        for notice in notices {
            if let Notice::State { id, state, .. } = &notice
                && log.get(&self.me, id).is_some_and(|m| m.state != *state)
            {
                continue;
            }
            // The application may have dropped its end; then nobody listens.
            let _ = self.notices.send(notice);
        }
    }

    /// The server reached said who it is (`None`: it cannot say, version
    /// 1). If it is another server than the one whose files are open, the
    /// folder is moved aside ([`server_id::Folder::meet`]) and the log and
    /// the outbox are opened again from the fresh (or restored) folder:
    /// nothing of the old outbox is sent, and no event is stored, until then
    /// (the receiver waits for the sender's check after each reconnection).
    pub(super) fn meet(&self, id: Option<String>) -> Result<()> {
        let Some(id) = id else { return Ok(()) };
        let mut folder = self.folder.lock();
        if folder.files_of.as_deref() == Some(id.as_str()) {
            return Ok(());
        }
        // Nothing may write to the files while they move.
        let mut log = self.log.lock();
        let mut outbox = self.outbox.lock();
        let moved = folder.meet(&self.options, &id)?;
        // Files open for another server (a move, or one done before that
        // failed to open the new files) are opened again; a folder that had
        // no id kept its files, which are now this server's.
        if moved.is_some() || folder.files_of.is_some() {
            let mut new_log = History::open(folder.dir.join("history.csv"))?;
            let mut new_outbox = Outbox::open(folder.dir.join("outbox_tmp.csv"))?;
            direct::recover(&self.me, &mut new_log, &mut new_outbox)?;
            (*log, *outbox) = (new_log, new_outbox);
        }
        folder.files_of = Some(id);
        if let Some(moved) = moved {
            let _ = self.notices.send(Notice::ServerChanged(moved));
        }
        Ok(())
    }

    /// The log's view of an outbox entry written by `me`.
    pub(super) fn as_logged(&self, m: &Unconfirmed, state: MsgState, ts: u64) -> Message {
        Message {
            from: self.me.clone(),
            to: m.to.clone(),
            id: m.id.clone(),
            ts,
            state,
            text: m.text.clone(),
            refused: None,
            p2p: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Chat;
    use crate::protocol::Text;

    #[test]
    fn a_tick_behind_the_message_is_never_told() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut options = ClientOptions::new("ana", "pw");
        options.data_dir = dir.path().to_path_buf();
        let shared = Shared {
            folder: Mutex::new(server_id::Folder::open(&options).unwrap()),
            options,
            me: "ana".into(),
            log: Mutex::new(History::open(dir.path().join("history.csv")).unwrap()),
            outbox: Mutex::new(Outbox::open(dir.path().join("outbox_tmp.csv")).unwrap()),
            link: Connectivity::new(true, true, tx.clone()),
            notices: tx,
            p2p_port: None,
            tokens: Arc::default(),
            uses_token: false,
            new_password: Mutex::new(None),
            deleted: Default::default(),
            server_timeout: Default::default(),
            reads: Mutex::default(),
            ended: Default::default(),
        };
        let out = Unconfirmed {
            ts: 1,
            to: Chat::User("bob".into()),
            id: "m1".into(),
            text: Text::parse("hi").unwrap(),
        };
        let tick = |state| Notice::State { to: Chat::User("bob".into()), id: "m1".into(), state };
        let mut log = shared.log.lock();
        log.add(shared.as_logged(&out, MsgState::Sent, 1)).unwrap();
        // The sender thread logs ✓ and waits for the disk; meanwhile the
        // receiver thread logs ✓✓ and tells it first.
        log.advance("ana", "m1", MsgState::Received, 2).unwrap();
        log.advance("ana", "m1", MsgState::Delivered, 3).unwrap();
        shared.tell(&log, vec![tick(MsgState::Delivered)]);
        shared.tell(&log, vec![tick(MsgState::Received)]);
        log.advance("ana", "m1", MsgState::Read, 4).unwrap();
        shared.tell(&log, vec![tick(MsgState::Delivered), tick(MsgState::Read), Notice::Online]);
        let told: Vec<Notice> = rx.try_iter().collect();
        assert_eq!(told, [tick(MsgState::Delivered), tick(MsgState::Read), Notice::Online]);
    }
}
