//! [`Record`]: one durable fact, and its line in the log.
//!
//! Everything the server remembers is a list of records; the in-memory
//! state is what you get by applying them in order (at startup, the tail of
//! the log after the newest checkpoint; while running, as they happen). One
//! code path for both, so a restart rebuilds exactly what was there.
//!
//! ## The log's lines
//!
//! One record per line, CSV, under the header [`LOG_HEADER`]
//! `kind,ts,user,chat,id,prev,ord,dord,text`:
//!
//! | kind | user | chat | id | prev | ord | dord | text |
//! |---|---|---|---|---|---|---|---|
//! | `MSG` | sender | recipient or `#room` | message id | position of the conversation's previous message | its number in the conversation | its number among the sender's messages of this direct conversation | the text, escaped as on the wire |
//! | `DELIVERED` | recipient | sender | id | | | the message's `dord` | |
//! | `READ` | reader | sender or `#room` | id | | the message's `ord` (a room) | the message's `dord` (a direct chat) | |
//! | `JOIN` | member | `#room` | | | the member's read mark | | |
//! | `LEAVE` | member | `#room` | | | | | |
//! | `ACK` | user | | | | the sequence number acknowledged | | |
//! | `SEEN` | user (its receive connection ended at `ts`) | | | | | | |
//! | `RULE` (1.2) | who acted (or the owner, or the server admin) | `#room` (empty for `ADMIN`) | `TOPIC`, `MODE`, `KICKED`, `BANNED`, `MUTED`, `OPPED`, … or `OWNER`, `ADMIN` | the user it is about, or `+announce` … | until when (Unix ms, 0: until lifted); `ADMIN`: 1 granted, 0 removed | | the topic |
//! | `DEVICES` (1.2) | user | | | | 1: it has several devices, 0: one | | |
//! | `PASSWD` (1.2) | user | | | | | | the new argon2id hash |
//! | `DELACCOUNT` (1.2) | user (its account deleted at `ts`) | | | | | | |
//! | `REUSE` (1.2) | user (a deleted account's name registered again at `ts`) | | | | | | the new account's argon2id hash |
//! | `BLOCK` (1.2) | user | the user it blocked or unblocked | | | 1: blocked, 0: unblocked | | |
//! | `PREF` (1.2) | user | the chat (`bob`, `#lab3`) | `all`, `mentions` or `none` | | 1: pinned, 0: not | | |
//!
//! `DELACCOUNT` is a user deleting its own account (§20): applied, it
//! replaces the hash by a mark that no password matches and that says when
//! (`state::deleted_hash`), empties the inbox and takes the user out of
//! every room. The name stays in the log's other records (the messages it
//! sent stay with their recipients), so the account's row stays too, and
//! its name taken until its quarantine is over (`REUSE`, below). A
//! checkpoint carries the mark on as it carries a changed hash (a `HASH`
//! row).
//!
//! `REUSE` is a `REGISTER` of a deleted account's name once its quarantine
//! is over (`--name-quarantine-days`, §20): the name gets a new account
//! that sees nothing from before the record's position (its *cut*, see
//! `state::User::since`), with the record's hash. Its `users.csv` row is
//! appended with the record's batch, after the old one: the newest row of
//! a name is its e-mail and creation time.
//!
//! `PASSWD` is a new password (`PASSWD`, §20, or `wachat users passwd`):
//! a record, not an edit of `users.csv`, because `users.csv` is appended
//! to by every `REGISTER` while the server runs; a record goes through
//! the same group commit (synced before the `OK`), a checkpoint carries
//! the hash on (`HASH` rows), and the newest record wins at a start. Its
//! hash is no secret beyond `users.csv`'s: both files are the server's
//! only (0600).
//!
//! `DEVICES` turns on (and off) what a user with several devices gets in
//! its inbox besides the events of version 1: a copy of each message it
//! sends, and a read mark for each `READ` it makes (protocol 1.2, §16).
//! It is a record, so that a restart gives the very same sequence numbers;
//! a user with one device (every user of an older data directory) never
//! has one, and its inbox is exactly version 1's.
//!
//! A *position* is a byte offset in the log as if its segments were one
//! file without their header lines (see `log.rs`). `prev` makes every
//! conversation a chain on disk, newest first: `HISTORY` walks it with
//! positioned reads, and memory holds only the newest position of each
//! conversation. Numbers count from 0; an empty `prev` ends a chain.
//!
//! Texts stay escaped (as on the wire), so a record is always one line and
//! a crash can only tear the last line of the last segment.

use std::borrow::Cow;
use std::sync::Arc;

use super::moderation::Rule;
use crate::protocol::{Change, Text};

/// A position in the log (see the module documentation).
pub type Pos = u64;
/// "No position": the end of a chain.
pub const NO_POS: Pos = u64::MAX;

/// The header line of every log segment.
pub const LOG_HEADER: &str = "kind,ts,user,chat,id,prev,ord,dord,text";

/// A message as the server keeps it.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    /// The sender, spelled as registered.
    pub from: Arc<str>,
    /// The recipient as it appears on the wire: a user name or `#room`.
    pub to: Arc<str>,
    /// The id chosen by the sender (unique per sender).
    pub id: Arc<str>,
    /// Server time of acceptance, Unix milliseconds.
    pub ts: u64,
    /// The text, still escaped.
    pub text: Text,
}

impl Message {
    pub fn is_room(&self) -> bool {
        self.to.starts_with('#')
    }
}

/// Where a message sits in its conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Position of the conversation's previous message ([`NO_POS`]: none).
    pub prev: Pos,
    /// Number of the message in its conversation, from 0.
    pub ord: u64,
    /// Number of the message among those its sender sent in this direct
    /// conversation, from 0 (DELIVERED and READ marks count these); for a
    /// room message, equal to `ord`.
    pub dord: u64,
}

/// One durable fact, with names (not in-memory ids), so that it reads on
/// its own and a backend can store it anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A message was accepted.
    Msg { msg: Arc<Message>, link: Link },
    /// `user`'s client acknowledged the message `id` (number `dord`) from `chat`.
    Delivered { ts: u64, user: Arc<str>, chat: Arc<str>, id: Arc<str>, dord: u64 },
    /// `user` read `chat` (a sender or `#room`) up to the message `id`,
    /// whose number is `ord` (a room's `ord`, a direct chat's `dord`).
    Read { ts: u64, user: Arc<str>, chat: Arc<str>, id: Arc<str>, ord: u64 },
    /// `user` is a member of `room`, and has read its first `read` messages.
    Join { ts: u64, user: Arc<str>, room: Arc<str>, read: u64 },
    /// `user` left `room`.
    Leave { ts: u64, user: Arc<str>, room: Arc<str> },
    /// `user` acknowledged every event up to `seq`.
    Ack { ts: u64, user: Arc<str>, seq: u64 },
    /// `user`'s receive connection ended at `ts` (last seen).
    Seen { ts: u64, user: Arc<str> },
    /// 1.2: a rule of `room` changed, by `by` (see `store::moderation`).
    Rule { ts: u64, by: Arc<str>, room: Arc<str>, rule: Rule },
    /// 1.2: `user` has several devices (or, `false`, one again): its
    /// inbox gets copies of its own messages and read marks.
    Devices { ts: u64, user: Arc<str>, several: bool },
    /// 1.2: `user` has a new password, whose argon2id hash this is.
    Passwd { ts: u64, user: Arc<str>, hash: Arc<str> },
    /// 1.2: `user` deleted its account.
    DelAccount { ts: u64, user: Arc<str> },
    /// 1.2: the name of `user`, a deleted account, was registered again
    /// (its quarantine over): a new account, with the password `hash` is of.
    Reuse { ts: u64, user: Arc<str>, hash: Arc<str> },
    /// 1.2: `user` blocked `whom` (or, `on` false, unblocked them).
    Block { ts: u64, user: Arc<str>, whom: Arc<str>, on: bool },
    /// 1.2: `user`'s preference of a chat is now `pref`.
    Pref { ts: u64, user: Arc<str>, pref: crate::protocol::PrefLine },
}

impl Record {
    /// True for records that must be on disk before anyone is told about
    /// them (an `OK`, a delivery). `ACK` and `SEEN` are not: losing the
    /// last few in a power cut only makes a client get a few events again
    /// (which it drops by `(from, id)`) or a last-seen time a moment older.
    pub fn needs_sync(&self) -> bool {
        !matches!(self, Record::Ack { .. } | Record::Seen { .. } | Record::Devices { .. })
    }

    pub fn ts(&self) -> u64 {
        match self {
            Record::Msg { msg, .. } => msg.ts,
            Record::Delivered { ts, .. }
            | Record::Read { ts, .. }
            | Record::Join { ts, .. }
            | Record::Leave { ts, .. }
            | Record::Ack { ts, .. }
            | Record::Seen { ts, .. }
            | Record::Rule { ts, .. }
            | Record::Devices { ts, .. }
            | Record::Passwd { ts, .. }
            | Record::DelAccount { ts, .. }
            | Record::Reuse { ts, .. }
            | Record::Block { ts, .. }
            | Record::Pref { ts, .. } => *ts,
        }
    }

    /// Appends the record's line, `\n` included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut line = Line(out);
        match self {
            Record::Msg { msg, link } => {
                line.word("MSG");
                line.number(msg.ts);
                line.fields(&[&msg.from, &msg.to, &msg.id]);
                line.pos(link.prev);
                line.number(link.ord);
                line.number(link.dord);
                line.field(msg.text.as_escaped());
            }
            Record::Delivered { ts, user, chat, id, dord } => {
                line.word("DELIVERED");
                line.number(*ts);
                line.fields(&[user, chat, id, ""]);
                line.field("");
                line.number(*dord);
            }
            Record::Read { ts, user, chat, id, ord } => {
                line.word("READ");
                line.number(*ts);
                line.fields(&[user, chat, id, ""]);
                if chat.starts_with('#') {
                    line.number(*ord);
                } else {
                    line.field("");
                    line.number(*ord);
                }
            }
            Record::Join { ts, user, room, read } => {
                line.word("JOIN");
                line.number(*ts);
                line.fields(&[user, room, "", ""]);
                line.number(*read);
            }
            Record::Leave { ts, user, room } => {
                line.word("LEAVE");
                line.number(*ts);
                line.fields(&[user, room]);
            }
            Record::Ack { ts, user, seq } => {
                line.word("ACK");
                line.number(*ts);
                line.fields(&[user, "", "", ""]);
                line.number(*seq);
            }
            Record::Seen { ts, user } => {
                line.word("SEEN");
                line.number(*ts);
                line.field(user);
            }
            Record::DelAccount { ts, user } => {
                line.word("DELACCOUNT");
                line.number(*ts);
                line.field(user);
            }
            Record::Rule { ts, by, room, rule } => {
                line.word("RULE");
                line.number(*ts);
                line.fields(&[by, room]);
                match rule {
                    Rule::Change(change) => {
                        let (word, target, until, text) = change.parts();
                        line.fields(&[word, &target]);
                        line.number(until);
                        line.field("");
                        line.field(text);
                    }
                    Rule::Owner => line.field("OWNER"),
                    Rule::ServerAdmin(on) => {
                        line.fields(&["ADMIN", ""]);
                        line.number(u64::from(*on));
                    }
                }
            }
            Record::Devices { ts, user, several } => {
                line.word("DEVICES");
                line.number(*ts);
                line.fields(&[user, "", "", ""]);
                line.number(u64::from(*several));
            }
            Record::Passwd { ts, user, hash } | Record::Reuse { ts, user, hash } => {
                line.word(if matches!(self, Record::Passwd { .. }) { "PASSWD" } else { "REUSE" });
                line.number(*ts);
                line.fields(&[user, "", "", "", "", ""]);
                line.field(hash);
            }
            Record::Block { ts, user, whom, on } => {
                line.word("BLOCK");
                line.number(*ts);
                line.fields(&[user, whom, "", ""]);
                line.number(u64::from(*on));
            }
            Record::Pref { ts, user, pref } => {
                line.word("PREF");
                line.number(*ts);
                line.fields(&[user, &pref.chat, pref.level.as_str(), ""]);
                line.number(u64::from(pref.pinned));
            }
        }
        line.0.push(b'\n');
    }

    /// Reads a record from its line (without the `\n`).
    pub fn decode(line: &str) -> Result<Record, String> {
        let f = Fields::split(line)?;
        let ts = f.number(1)?;
        let name = |i| -> Result<Arc<str>, String> { Ok(Arc::from(f.get(i)?.as_ref())) };
        Ok(match f.get(0)?.as_ref() {
            "MSG" => {
                let m = MsgRef::from_fields(&f)?;
                let text = Text::parse(&m.text)?;
                let msg = Message { from: m.from.into(), to: m.to.into(), id: m.id.into(), ts, text };
                let link = Link { prev: m.prev, ord: m.ord, dord: m.dord };
                Record::Msg { msg: Arc::new(msg), link }
            }
            "DELIVERED" => {
                Record::Delivered { ts, user: name(2)?, chat: name(3)?, id: name(4)?, dord: f.number(7)? }
            }
            "READ" => {
                let chat = name(3)?;
                let ord = if chat.starts_with('#') { f.number(6)? } else { f.number(7)? };
                Record::Read { ts, user: name(2)?, chat, id: name(4)?, ord }
            }
            "JOIN" => Record::Join { ts, user: name(2)?, room: name(3)?, read: f.number(6)? },
            "LEAVE" => Record::Leave { ts, user: name(2)?, room: name(3)? },
            "ACK" => Record::Ack { ts, user: name(2)?, seq: f.number(6)? },
            "SEEN" => Record::Seen { ts, user: name(2)? },
            "DELACCOUNT" => Record::DelAccount { ts, user: name(2)? },
            "RULE" => {
                let rule = match f.get(4)?.as_ref() {
                    "OWNER" => Rule::Owner,
                    "ADMIN" => Rule::ServerAdmin(f.number(6)? == 1),
                    word => {
                        let until = if f.get(6)?.is_empty() { 0 } else { f.number(6)? };
                        Rule::Change(Change::from_parts(word, f.get(5)?, until, f.get(8)?)?)
                    }
                };
                Record::Rule { ts, by: name(2)?, room: name(3)?, rule }
            }
            "DEVICES" => Record::Devices { ts, user: name(2)?, several: f.number(6)? == 1 },
            "PASSWD" => Record::Passwd { ts, user: name(2)?, hash: name(8)? },
            "REUSE" => Record::Reuse { ts, user: name(2)?, hash: name(8)? },
            "BLOCK" => Record::Block { ts, user: name(2)?, whom: name(3)?, on: f.number(6)? == 1 },
            "PREF" => {
                let chat = f.get(3)?.to_string();
                let pref =
                    crate::protocol::PrefLine { chat, level: f.get(4)?.parse()?, pinned: f.number(6)? == 1 };
                Record::Pref { ts, user: name(2)?, pref }
            }
            other => return Err(format!("unknown kind {other:?}")),
        })
    }
}

/// A `MSG` record borrowed from its line: what reading a conversation
/// needs (`HISTORY`, the inbox replay, the search of `READ`), without
/// copying its fields. [`Record::decode`] reads a `MSG` through it too:
/// one decoder, one place that knows the field numbers.
pub struct MsgRef<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub id: &'a str,
    pub ts: u64,
    pub prev: Pos,
    pub ord: u64,
    pub dord: u64,
    /// Escaped as on the wire (it was stored so); quotes undone.
    pub text: Cow<'a, str>,
}

impl<'a> MsgRef<'a> {
    /// Reads a `MSG` line (without the `\n`).
    pub fn decode(line: &'a str) -> Result<MsgRef<'a>, String> {
        let f = Fields::split(line)?;
        if f.get(0)?.as_ref() != "MSG" {
            return Err(format!("expected a message, found {:?}", f.get(0)?));
        }
        MsgRef::from_fields(&f)
    }

    fn from_fields(f: &Fields<'a>) -> Result<MsgRef<'a>, String> {
        let field = |i| -> Result<&'a str, String> {
            match f.get(i)? {
                Cow::Borrowed(s) => Ok(*s),
                // Names and ids never need quotes.
                Cow::Owned(_) => Err(format!("field {} is quoted", i + 1)),
            }
        };
        Ok(MsgRef {
            from: field(2)?,
            to: field(3)?,
            id: field(4)?,
            ts: f.number(1)?,
            prev: f.pos(5)?,
            ord: f.number(6)?,
            dord: f.number(7)?,
            text: f.get(8)?.clone(),
        })
    }

    /// The message as event number `seq` of an inbox.
    pub fn event(&self, seq: u64) -> crate::protocol::EventRef<'_> {
        let (from, to, id, ts, text) = (self.from, self.to, self.id, self.ts, &*self.text);
        crate::protocol::EventRef::Msg { seq, from, to, id, ts, text }
    }
}

/// Writes one CSV line field by field.
struct Line<'a>(&'a mut Vec<u8>);

impl Line<'_> {
    /// The first field (no comma before it).
    fn word(&mut self, word: &str) {
        self.0.extend_from_slice(word.as_bytes());
    }

    fn field(&mut self, value: &str) {
        self.0.push(b',');
        push_field(self.0, value);
    }

    fn fields(&mut self, values: &[&str]) {
        for value in values {
            self.field(value);
        }
    }

    fn number(&mut self, n: u64) {
        use std::io::Write;
        self.0.push(b',');
        let _ = write!(self.0, "{n}"); // into a Vec: cannot fail
    }

    fn pos(&mut self, pos: Pos) {
        if pos == NO_POS { self.field("") } else { self.number(pos) }
    }
}

/// Appends a CSV field, in double quotes only if it needs them (a comma, a
/// quote or a line break in it), as spreadsheets and the `csv` crate write.
pub fn push_field(out: &mut Vec<u8>, value: &str) {
    if !value.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    out.push(b'"');
    for b in value.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Most fields in a line of the log or of a checkpoint.
const MAX_FIELDS: usize = 12;

/// The fields of one CSV line, borrowed where no quote had to be undone.
/// Kept in an array, not a `Vec`: reading a `HISTORY` splits thousands of
/// lines, and an allocation each would cost more than the split.
pub struct Fields<'a> {
    fields: [Cow<'a, str>; MAX_FIELDS],
    len: usize,
}

impl<'a> Fields<'a> {
    /// Splits a line (without its `\n`) into fields.
    pub fn split(line: &'a str) -> Result<Fields<'a>, String> {
        let mut f = Fields { fields: std::array::from_fn(|_| Cow::Borrowed("")), len: 0 };
        let mut rest = line;
        loop {
            if f.len == MAX_FIELDS {
                return Err(format!("more than {MAX_FIELDS} fields"));
            }
            if let Some(quoted) = rest.strip_prefix('"') {
                // A quoted field: up to the quote not doubled; `""` is one quote.
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((i, '"')) => {
                            if quoted[i + 1..].starts_with('"') {
                                value.push('"');
                                chars.next();
                            } else {
                                break i + 1;
                            }
                        }
                        Some((_, c)) => value.push(c),
                        None => return Err("a quoted field is not closed".into()),
                    }
                };
                f.fields[f.len] = Cow::Owned(value);
                f.len += 1;
                rest = &quoted[end..];
                match rest.strip_prefix(',') {
                    Some(after) => rest = after,
                    None if rest.is_empty() => break,
                    None => return Err("text after a closing quote".into()),
                }
            } else {
                match rest.bytes().position(|b| b == b',') {
                    Some(i) => {
                        f.fields[f.len] = Cow::Borrowed(&rest[..i]);
                        f.len += 1;
                        rest = &rest[i + 1..];
                    }
                    None => {
                        f.fields[f.len] = Cow::Borrowed(rest);
                        f.len += 1;
                        break;
                    }
                }
            }
        }
        Ok(f)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Field `i`; a missing trailing field reads as empty.
    pub fn get(&self, i: usize) -> Result<&Cow<'a, str>, String> {
        static EMPTY: Cow<'static, str> = Cow::Borrowed("");
        Ok(self.fields[..self.len].get(i).unwrap_or(&EMPTY))
    }

    pub fn number(&self, i: usize) -> Result<u64, String> {
        let s = self.get(i)?;
        s.parse().map_err(|_| format!("field {}: {s:?} is not a number", i + 1))
    }

    /// A position; empty is [`NO_POS`].
    pub fn pos(&self, i: usize) -> Result<Pos, String> {
        if self.get(i)?.is_empty() { Ok(NO_POS) } else { self.number(i) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(record: Record) -> String {
        let mut out = Vec::new();
        record.encode(&mut out);
        let line = String::from_utf8(out).unwrap();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "{line}");
        assert_eq!(Record::decode(line.trim_end_matches('\n')).unwrap(), record, "{line}");
        line
    }

    fn msg(to: &str, text: &str, prev: Pos) -> Record {
        let text = Text::parse(text).unwrap();
        let msg = Message { from: "ana".into(), to: to.into(), id: "m1".into(), ts: 17, text };
        Record::Msg { msg: Arc::new(msg), link: Link { prev, ord: 3, dord: 1 } }
    }

    #[test]
    fn every_record_is_one_line_and_reads_back() {
        assert_eq!(round_trip(msg("bob", "hi", NO_POS)), "MSG,17,ana,bob,m1,,3,1,hi\n");
        assert_eq!(
            round_trip(msg("#club", "a, \"quoted\"\\n text", 120)),
            "MSG,17,ana,#club,m1,120,3,1,\"a, \"\"quoted\"\"\\n text\"\n"
        );
        let (user, chat, id): (Arc<str>, Arc<str>, Arc<str>) = ("bob".into(), "ana".into(), "m1".into());
        let delivered =
            Record::Delivered { ts: 5, user: user.clone(), chat: chat.clone(), id: id.clone(), dord: 4 };
        assert_eq!(round_trip(delivered), "DELIVERED,5,bob,ana,m1,,,4\n");
        assert_eq!(
            round_trip(Record::Read {
                ts: 6,
                user: user.clone(),
                chat: chat.clone(),
                id: id.clone(),
                ord: 4
            }),
            "READ,6,bob,ana,m1,,,4\n"
        );
        let room: Arc<str> = "#club".into();
        assert_eq!(
            round_trip(Record::Read { ts: 6, user: user.clone(), chat: room.clone(), id, ord: 9 }),
            "READ,6,bob,#club,m1,,9\n"
        );
        assert_eq!(
            round_trip(Record::Join { ts: 7, user: user.clone(), room: room.clone(), read: 2 }),
            "JOIN,7,bob,#club,,,2\n"
        );
        assert_eq!(round_trip(Record::Leave { ts: 8, user: user.clone(), room }), "LEAVE,8,bob,#club\n");
        assert_eq!(round_trip(Record::Ack { ts: 9, user: user.clone(), seq: 12 }), "ACK,9,bob,,,,12\n");
        assert_eq!(round_trip(Record::Seen { ts: 10, user: user.clone() }), "SEEN,10,bob\n");
        let (ana, lab): (Arc<str>, Arc<str>) = ("ana".into(), "#lab".into());
        let rule = |rule| Record::Rule { ts: 11, by: ana.clone(), room: lab.clone(), rule };
        assert_eq!(round_trip(rule(Rule::Owner)), "RULE,11,ana,#lab,OWNER\n");
        let muted = Rule::Change(Change::Muted("bob".into(), 99));
        assert_eq!(round_trip(rule(muted)), "RULE,11,ana,#lab,MUTED,bob,99,,\n");
        let topic = Rule::Change(Change::Topic("a, b".into()));
        assert_eq!(round_trip(rule(topic)), "RULE,11,ana,#lab,TOPIC,,0,,\"a, b\"\n");
        let admin = Record::Rule { ts: 12, by: user, room: "".into(), rule: Rule::ServerAdmin(true) };
        assert_eq!(round_trip(admin), "RULE,12,bob,,ADMIN,,1\n");
        let hash: Arc<str> = "$argon2id$v=19$m=8,t=2,p=1$c2FsdA$aGFzaA".into();
        let reuse = round_trip(Record::Reuse { ts: 15, user: "ana".into(), hash: hash.clone() });
        assert!(reuse.starts_with("REUSE,15,ana,,,,,,"), "{reuse}");
        let passwd = round_trip(Record::Passwd { ts: 13, user: "ana".into(), hash });
        assert_eq!(passwd, "PASSWD,13,ana,,,,,,\"$argon2id$v=19$m=8,t=2,p=1$c2FsdA$aGFzaA\"\n");
        assert_eq!(round_trip(Record::DelAccount { ts: 14, user: "ana".into() }), "DELACCOUNT,14,ana\n");
        let block = Record::Block { ts: 16, user: "ana".into(), whom: "bob".into(), on: true };
        assert_eq!(round_trip(block), "BLOCK,16,ana,bob,,,1\n");
        let pref = crate::protocol::PrefLine::parse("#lab:mentions:pinned").unwrap();
        assert_eq!(
            round_trip(Record::Pref { ts: 17, user: "ana".into(), pref }),
            "PREF,17,ana,#lab,mentions,,1\n"
        );
    }

    #[test]
    fn the_csv_crate_reads_the_same_fields() {
        let mut out = Vec::new();
        msg("#club", "a, \"b\"", 7).encode(&mut out);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&out[..]);
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[8], "a, \"b\"");
        assert_eq!(&row[5], "7");
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(Record::decode("MSG,x,ana,bob,m1,,0,0,hi").unwrap_err().contains("not a number"));
        assert!(Record::decode("NOPE,1").unwrap_err().contains("unknown kind"));
        assert!(Record::decode("MSG,1,ana,bob,m1,,0,0,\"open").unwrap_err().contains("not closed"));
        assert!(Record::decode("MSG,1,ana,bob,m1,,0,0,").is_err(), "an empty text");
    }
}

#[cfg(test)]
mod golden;
