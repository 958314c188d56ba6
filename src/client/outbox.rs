//! The outbox, `outbox_tmp.csv`: messages the user wrote that the server
//! has not yet answered `OK` for (state `SENT`, shown `…`).
//!
//! Why a file and not a queue in memory: "sent" must mean "will arrive",
//! even if the server is down for an hour or the client is closed in the
//! meantime. A message goes into the outbox (and to the disk) *before* it
//! goes to the socket; the sender thread resends the outbox in order every
//! time it (re)connects, stopping at the first failure so that the order is
//! kept; and only when everything in it has its `OK` is the file emptied.
//! That is why it is a `_tmp` file: when all goes well it is empty.
//!
//! A resend is always safe: the server answers a message id it already has
//! with the original `OK:<id>:<ts>` and does not deliver it again. So after
//! a crash the outbox may resend a message that already had its `OK`; the
//! recipient still sees it once.
//!
//! The file is never emptied over messages this outbox did not write: one
//! client at a time may use the folder (`client/local.rs`), and should a
//! second program append to the file anyway, its rows are found before
//! the file is emptied and are taken into the queue, to be sent too.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;

use super::csv_file::CsvFile;
use crate::error::Result;
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::{Chat, Text};

const HEADER: &str = "ts,to,id,text";

/// A message waiting for the server's `OK`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unconfirmed {
    /// When the user wrote it (local clock, Unix milliseconds).
    pub ts: u64,
    pub to: Chat,
    pub id: String,
    pub text: Text,
}

/// The outbox of one user.
pub struct Outbox {
    file: CsvFile,
    /// Every message in the file, oldest first.
    queued: VecDeque<Unconfirmed>,
    /// How many messages at the front already have their `OK`. They stay in
    /// the file until all have it (then it is emptied at once): rewriting the
    /// file for each `OK` would cost more and could lose the rest in a crash.
    confirmed: usize,
    /// The file's length with exactly the rows in `queued`: if it is longer,
    /// someone else appended rows, and emptying it would lose them.
    known_len: u64,
}

impl Outbox {
    /// Opens (or creates) the outbox; what it holds was never confirmed.
    pub fn open(path: PathBuf) -> Result<Outbox> {
        let file = CsvFile::open(path, HEADER)?;
        let queued = read_rows(&file)?;
        let known_len = file.len()?;
        Ok(Outbox { file, queued, confirmed: 0, known_len })
    }

    /// Adds a message at the end, durably: when this returns, the message
    /// will be sent even if the client is closed right after.
    pub fn push(&mut self, m: Unconfirmed) -> Result<()> {
        self.take_foreign_rows()?;
        self.file.append(&[&m.ts.to_string(), &m.to.to_string(), &m.id, m.text.as_escaped()])?;
        self.file.sync()?;
        self.known_len = self.file.len()?;
        self.queued.push_back(m);
        Ok(())
    }

    /// Rows another program appended since we last looked: queued behind
    /// ours, so that they leave too, and are never emptied away unsent.
    fn take_foreign_rows(&mut self) -> Result<()> {
        if self.file.len()? == self.known_len {
            return Ok(());
        }
        let known: HashSet<String> = self.queued.iter().map(|m| m.id.clone()).collect();
        let foreign: Vec<Unconfirmed> =
            read_rows(&self.file)?.into_iter().filter(|m| !known.contains(&m.id)).collect();
        let (path, n) = (self.file.path().display(), foreign.len());
        log::warn!("{}", tr!(Msg::ForeignOutboxRows, path = path, n = n));
        self.queued.extend(foreign);
        self.known_len = self.file.len()?;
        Ok(())
    }

    /// Up to `n` messages still waiting for their `OK`, oldest first.
    pub fn waiting(&self, n: usize) -> Vec<Unconfirmed> {
        self.queued.iter().skip(self.confirmed).take(n).cloned().collect()
    }

    /// How many messages still wait for their `OK`.
    pub fn len(&self) -> usize {
        self.queued.len() - self.confirmed
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n` waiting messages got their `OK` (or were refused for
    /// good). Once nothing waits, the file is emptied.
    pub fn confirm(&mut self, n: usize) -> Result<()> {
        self.confirmed = (self.confirmed + n).min(self.queued.len());
        // Never empty the file over rows we have not sent.
        self.take_foreign_rows()?;
        if self.confirmed == self.queued.len() && self.confirmed > 0 {
            self.file.clear()?;
            self.queued.clear();
            self.confirmed = 0;
            self.known_len = self.file.len()?;
        }
        Ok(())
    }
}

/// Every row of the file, oldest first.
fn read_rows(file: &CsvFile) -> Result<VecDeque<Unconfirmed>> {
    let mut queued = VecDeque::new();
    file.rows(|row| {
        if row.len() != 4 {
            return Err(format!("expected 4 fields, got {}", row.len()));
        }
        queued.push_back(Unconfirmed {
            ts: row[0].parse().map_err(|_| format!("bad timestamp {:?}", &row[0]))?,
            to: Chat::parse(&row[1])?,
            id: row[2].to_string(),
            text: Text::parse(&row[3])?,
        });
        Ok(())
    })?;
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(id: &str) -> Unconfirmed {
        Unconfirmed {
            ts: 7,
            to: Chat::parse("bob").unwrap(),
            id: id.into(),
            text: Text::from_plain("a, b").unwrap(),
        }
    }

    #[test]
    fn waiting_messages_survive_a_restart_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox_tmp.csv");
        let mut outbox = Outbox::open(path.clone()).unwrap();
        for id in ["m1", "m2", "m3"] {
            outbox.push(out(id)).unwrap();
        }
        outbox.confirm(1).unwrap();
        assert_eq!(outbox.waiting(10), [out("m2"), out("m3")]);
        drop(outbox);
        // Confirmed but not yet emptied: resent after a restart (safe by id).
        let outbox = Outbox::open(path).unwrap();
        assert_eq!(outbox.waiting(2), [out("m1"), out("m2")]);
    }

    #[test]
    fn rows_another_program_appended_are_sent_not_emptied_away() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox_tmp.csv");
        // Two programs on one outbox, as if the folder's lock were bypassed.
        let (mut a, mut b) = (Outbox::open(path.clone()).unwrap(), Outbox::open(path.clone()).unwrap());
        a.push(out("x1")).unwrap();
        b.push(out("y1")).unwrap();
        a.confirm(1).unwrap(); // a's x1 got its OK
        assert_eq!(a.waiting(10), [out("y1")], "b's message is a's to send now");
        assert!(std::fs::read_to_string(&path).unwrap().contains(",y1,"), "not emptied away");
        a.confirm(1).unwrap();
        assert!(a.is_empty());
        assert_eq!(Outbox::open(path).unwrap().waiting(10), []);
    }

    #[test]
    fn the_file_is_emptied_once_everything_is_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox_tmp.csv");
        let mut outbox = Outbox::open(path.clone()).unwrap();
        outbox.push(out("m1")).unwrap();
        outbox.push(out("m2")).unwrap();
        outbox.confirm(2).unwrap();
        assert!(outbox.is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{HEADER}\n"));
        outbox.push(out("m3")).unwrap();
        assert_eq!(outbox.waiting(10), [out("m3")]);
    }
}
