//! Property: any sequence of requests gets the same replies, the same
//! `HISTORY` and the same inbox replays whether or not the store is
//! restarted (gracefully, or killed) and checkpointed in between. Two
//! stores on simulated disks run the same requests; one of them also
//! restarts and checkpoints where the sequence says so.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use wachat::protocol::{Chat, Text};
use wachat::store::disk::Disk;
use wachat::store::sim_disk::SimDisk;
use wachat::store::{Hasher, LocalStore, Store, StoreOptions, UserId};

const USERS: [&str; 3] = ["ana", "bob", "cy"];
const ROOMS: [&str; 3] = ["general", "club", "dev"];

#[derive(Clone, Debug)]
enum Op {
    Msg {
        from: usize,
        to: Target,
        id: u8,
    },
    Read {
        user: usize,
        chat: Target,
        id: u8,
    },
    Join {
        user: usize,
        room: usize,
    },
    Leave {
        user: usize,
        room: usize,
    },
    Ack {
        user: usize,
        back: u8,
    },
    History {
        user: usize,
        chat: Target,
        limit: u8,
    },
    Chats {
        user: usize,
    },
    Rooms {
        user: usize,
    },
    Replay {
        user: usize,
    },
    /// Only for the store that restarts.
    Restart {
        kill: bool,
    },
    Checkpoint,
}

#[derive(Clone, Debug)]
enum Target {
    User(usize),
    Room(usize),
}

impl Target {
    fn chat(&self) -> Chat {
        match self {
            Target::User(u) => Chat::User(USERS[*u].into()),
            Target::Room(r) => Chat::Room(ROOMS[*r].into()),
        }
    }
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![(0..3usize).prop_map(Target::User), (0..3usize).prop_map(Target::Room)]
}

fn op() -> impl Strategy<Value = Op> {
    let u = 0..3usize;
    prop_oneof![
        6 => (u.clone(), target(), 0..12u8).prop_map(|(from, to, id)| Op::Msg { from, to, id }),
        2 => (u.clone(), target(), 0..12u8).prop_map(|(user, chat, id)| Op::Read { user, chat, id }),
        1 => (u.clone(), 0..3usize).prop_map(|(user, room)| Op::Join { user, room }),
        1 => (u.clone(), 0..3usize).prop_map(|(user, room)| Op::Leave { user, room }),
        2 => (u.clone(), 0..3u8).prop_map(|(user, back)| Op::Ack { user, back }),
        2 => (u.clone(), target(), 0..8u8).prop_map(|(user, chat, limit)| Op::History { user, chat, limit }),
        1 => u.clone().prop_map(|user| Op::Chats { user }),
        1 => u.clone().prop_map(|user| Op::Rooms { user }),
        1 => u.clone().prop_map(|user| Op::Replay { user }),
        2 => any::<bool>().prop_map(|kill| Op::Restart { kill }),
        1 => Just(Op::Checkpoint),
    ]
}

/// A store on a simulated disk that can be restarted.
struct Running {
    disk: Arc<SimDisk>,
    backend: Arc<LocalStore>,
    store: Store,
    ids: Vec<UserId>,
}

fn open(disk: &Arc<SimDisk>) -> (Arc<LocalStore>, Store) {
    let options = StoreOptions { segment_size: 4096, ..StoreOptions::default() };
    let d: Arc<dyn Disk> = Arc::new(disk.clone());
    let backend =
        Arc::new(LocalStore::open_on(d, Path::new("/data"), options, Box::new(|_| {}), None).unwrap());
    let store = Store::new(backend.clone(), Hasher::new(8).unwrap());
    (backend, store)
}

impl Running {
    fn new() -> Running {
        let disk = SimDisk::new();
        let (backend, store) = open(&disk);
        let ids = USERS.iter().map(|u| store.register(u, "", "pw").unwrap().0).collect();
        Running { disk, backend, store, ids }
    }

    fn restart(&mut self, kill: bool) {
        if kill {
            // SIGKILL once the last request's writes are out (an ACK has no
            // reply to wait for): what was written stays (page cache),
            // nothing is flushed, no checkpoint is written.
            self.backend.sync().unwrap();
            self.disk.kill_process();
        }
        self.store.stop();
        let (backend, store) = open(&self.disk);
        (self.backend, self.store) = (backend, store);
    }
}

/// Timestamps differ between two runs: every field of 12 or more digits
/// reads `<ts>`.
fn norm(line: &str) -> String {
    line.split(':')
        .map(|f| if f.len() >= 12 && f.bytes().all(|b| b.is_ascii_digit()) { "<ts>" } else { f })
        .collect::<Vec<_>>()
        .join(":")
}

fn reply(r: Result<(), wachat::protocol::Ko>) -> String {
    match r {
        Ok(()) => "OK".into(),
        Err(ko) => format!("KO:{}", ko.code),
    }
}

/// Runs one request; what a client would see.
fn apply(run: &mut Running, op: &Op, restarts: bool) -> Option<String> {
    let s = &run.store;
    let id = |u: usize| run.ids[u];
    Some(match op {
        Op::Msg { from, to, id: n } => {
            let text = Text::parse(&format!("text {n} from {}", USERS[*from])).unwrap();
            let (mut results, ticket) = s.send(id(*from), &[(to.chat(), format!("m{n}"), text)]);
            match results.pop().expect("one result per message") {
                Ok(ok) => reply(s.wait(ticket)) + &norm(&ok.to_string()),
                Err(ko) => format!("KO:{}", ko.code),
            }
        }
        Op::Read { user, chat, id: n } => {
            reply(s.read(id(*user), &chat.chat(), &format!("m{n}")).and_then(|t| s.wait(t)))
        }
        Op::Join { user, room } => reply(s.join(id(*user), ROOMS[*room]).and_then(|t| s.wait(t))),
        Op::Leave { user, room } => reply(s.leave(id(*user), ROOMS[*room]).and_then(|t| s.wait(t))),
        Op::Ack { user, back } => {
            // What a client has received is on disk: wait for the last
            // request's writes (an ACK's own DELIVERED records are not
            // waited for) so that both runs see the same inbox.
            run.backend.sync().unwrap();
            let end = s.inbox_end(id(*user));
            s.ack(id(*user), end.saturating_sub(u64::from(*back)));
            return None;
        }
        Op::History { user, chat, limit } => {
            match s.history(id(*user), &chat.chat(), usize::from(*limit), usize::MAX) {
                Ok(listing) => {
                    listing.collect().unwrap().iter().map(|l| norm(l)).collect::<Vec<_>>().join("\n")
                }
                Err(ko) => format!("KO:{}", ko.code),
            }
        }
        Op::Chats { user } => {
            s.chats(id(*user)).unwrap().iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n")
        }
        Op::Rooms { user } => s.rooms(id(*user)).iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n"),
        Op::Replay { user } => {
            run.backend.sync().unwrap();
            let end = s.inbox_end(id(*user));
            let mut frames = String::new();
            let mut lines = s.replay(id(*user), 0, end, 0);
            while lines.next_chunk(&mut frames).unwrap() {}
            frames.lines().map(norm).collect::<Vec<_>>().join("\n")
        }
        Op::Restart { kill } => {
            if restarts {
                run.restart(*kill);
            }
            return None;
        }
        Op::Checkpoint => {
            if restarts {
                run.backend.checkpoint().unwrap();
            }
            return None;
        }
    })
}

proptest! {
    // 48 cases in CI; `PROPTEST_CASES=2000` for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn restarts_and_checkpoints_change_no_reply(ops in proptest::collection::vec(op(), 1..40)) {
        let mut straight = Running::new();
        let mut restarted = Running::new();
        for (i, op) in ops.iter().enumerate() {
            let a = apply(&mut straight, op, false);
            let b = apply(&mut restarted, op, true);
            prop_assert_eq!(a, b, "request {} ({:?})", i, op);
        }
        // And at the end, after one more restart, every conversation reads the same.
        restarted.restart(false);
        for user in 0..3 {
            for chat in [Target::User(0), Target::User(1), Target::User(2), Target::Room(0), Target::Room(1), Target::Room(2)] {
                let op = Op::History { user, chat, limit: 100 };
                prop_assert_eq!(apply(&mut straight, &op, false), apply(&mut restarted, &op, false));
            }
            for op in [Op::Chats { user }, Op::Rooms { user }, Op::Replay { user }] {
                prop_assert_eq!(apply(&mut straight, &op, false), apply(&mut restarted, &op, false));
            }
        }
    }
}
