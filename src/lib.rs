//! # wachat
//!
//! A WhatsApp-style chat over plain TCP sockets: a server that routes
//! direct and room messages, keeps them on disk while users are offline and
//! tracks every message through `SENT … → RECEIVED ✓ → DELIVERED ✓✓ →
//! READ ✓✓ read`. The wire protocol is in `docs/PROTOCOL.md`.
//!
//! First time here? Read `examples/tiny_server.rs` (the whole idea in
//! about 1,000 plain lines, its own framing and parsing; the class network
//! in its last section), then `docs/READING.md`, which follows one `MSG`
//! through this crate in 18 stops; this page is the map beside them.
//!
//! ## Layout
//!
//! | module | what it is |
//! |---|---|
//! | [`protocol`] | the wire protocol as data: framing, names, text escaping, `Request`/`Reply`/`Event` and the payloads and listing lines of replies (`protocol::lines`), each with `parse` and `Display`. Touches no socket but a reader; no other module writes or splits a frame. |
//! | [`transport`] | the bytes under the frames: one `Stream`, plaintext or TLS (rustls), shared by threads that never wait under its lock; the TLS configurations of both sides. |
//! | [`server`] | `wachat serve`: listeners, one handler thread per connection, login, shutdown (`server::lifecycle`); what the handlers share, `server::Ctx`, on the `server::Base` its parts take (config, store, router, files, door); every request of the send port one file of `server::requests`, with its row of the table (cost, version, before login or not, stored or not). |
//! | [`web`] | the web port (`--web-port`, 8080): the browser app embedded from `web/`, and `/ws/send`, `/ws/receive`, WebSockets that carry the protocol's lines to the same handlers as the two ports; and the `--metrics` endpoint, which speaks the same little HTTP; `GET /healthz` on both (`server::health` says whether the server takes writes). |
//! | [`router`] | who is online; an `Outlet` per receive connection that never blocks the writer. |
//! | [`store`] | what the server remembers: `Store` (checks passwords; every other call goes straight to the `LocalStore` behind it, through `Deref`), the one store — routing state in memory, messages in a segmented CSV log on disk, checkpoints, the group commit; a cluster replicates its log (`store::shared_log`). |
//! | `cluster` | (cargo feature `cluster`) a node of several, each running the single server's store: a leader holding a lease in PostgreSQL writes each batch into the shared log there (fenced by its epoch), the others apply it (woken by PostgreSQL's `NOTIFY`) and pass each of their clients' connections on to the leader over one TCP connection of its own; checkpoints, the files' bytes and the door in PostgreSQL (one schema file; devices and the files' descriptions are records of the log). docs/CLUSTER.md. |
//! | `migrate` | (cargo feature `cluster`) `wachat migrate`, every node stopped: a single server's data directory into a cluster's database, or a database of an older schema (the first design's rows) converted into the log. docs/CLUSTER-OPS.md. |
//! | [`client`] | the client library (`wachat::client`): a `Client` with a sender thread and a receiver thread, the outbox and the local log. The bots in `examples/` use nothing else. |
//! | [`p2p`] | direct chats between two clients (protocol §8): the P2P listener, the token check, one thread per peer connection, flood limits. The server only introduces the peers. |
//! | [`console`] | `wachat connect`: the interactive console on top of [`client`]; its commands ([`console::session`]) serve both consoles. |
//! | [`tui`] | `wachat connect --tui`: the full-screen console (ratatui), on the same client and commands. |
//! | [`display`] | what reaches a screen: control characters from the network made visible (`^[`), local times. |
//! | [`oneshot`] | `wachat register`, `send`, `users`, `history`: one request each, for scripts. |
//! | [`bench`](mod@bench) | `wachat bench`, the load generator. |
//! | [`demo`] | `wachat demo`: two scripted users on a throwaway server, every frame printed. |
//! | [`admin`] | `wachat users add\|list\|remove\|passwd\|import`: class accounts, on the data directory; `invite` (codes), `check` (damaged log lines), `disable`/`enable`, `list` and `export`, beside a running server (`admin/live.rs`, `admin/export.rs`, `server::operator`). |
//! | [`conform`] | `wachat conform`: the protocol's test suite, for anyone's server (cases per group of docs/PROTOCOL.md, transcripts, JSON and HTML reports, a class roster) or client (the suite playing the server), and `conform federation`, a peer server of the class network against a server's link port. tests/tools/conform.rs and tests/federation/conform.rs run it against `wachat serve`. |
//! | [`chaos`] | `wachat chaos`: users driven through a fault-injecting proxy (delay, reset mid-frame, partition, restart), the run recorded frame by frame and checked against docs/MODEL.md's guarantees (lost, duplicated, reordered, phantom, status, history, bounced); with `--federation`, servers of a class network split through proxies on their link ports and killed with `kill -9`; text, JSON, a Lamport diagram. tests/tools/chaos.rs, tests/federation/chaos.rs. |
//! | [`cert`] | `wachat cert`: a self-signed certificate and key for a class server's TLS. |
//! | [`i18n`] | what users read, in English, Spanish and Portuguese: one catalogue, `--lang` and `LANG`. |
//! | [`federation`] | 1.3: the class network (`--name --peers --link-port`): the roster, the link port (a thread per link: TLS with the server's link key, hello, each frame handed to its family), the families of frames, a file each (`federation::frames`, their grammar `protocol::link`'s table: messages, rooms, calls, people, profiles, presence, files), a dialer thread per peer of the roster as it is now (started when the file gains the peer, ended when it loses it; its outbound queue: the store's queue sent in windows, rung once on disk, and the told frames, each with its reply slot; answers recorded, backoff, bounces past `--give-up`, a catch-up of the rooms homed here for a peer that fell behind). What it stores is the store's (`store::state::remote`: remote users, peers' queues, copies of rooms homed elsewhere; `store::local::link`), so a cluster replicates it, and only its leader links (a follower passes links to it). docs/PROTOCOL.md §27. |
//! | [`backup`] | `wachat backup` and `wachat restore`: a running server's data directory copied in the order the store writes it (checkpoints, the log's committed length, then every other file), with a checksummed manifest that `restore` checks before it copies back. |
//! | [`export`](mod@export) | `wachat export --user NAME`: everything the server holds about you, as JSON Lines. |
//! | [`metrics`] | `--metrics ADDR`: the server's Prometheus counters, gauges and histograms (one set per process, prometheus-client); a leaf. The small HTTP listener that serves them is `web::metrics`. |
//! | [`top`] | `wachat top`: a live dashboard of a server read from its metrics. |
//! | [`sys`] | what differs between operating systems (Linux, macOS, Windows), one file per concern: sockets, disk, file modes, limits, signals, the terminal. |
//! | [`csvlog`] | the append-only CSV discipline shared by the store and the client's files. |
//! | [`pidlock`] | the lock file that names its holder, shared by the server's data directory and the client's folders. |
//! | [`cli`] | the command line, and where `serve`'s settings come from: a flag, its `WACHAT_` variable, the `--config` file, the default ([`cli::config`]). |
//! | [`prompt`] | passwords from stdin, `WACHAT_PASSWORD` or a hidden prompt, for `cli` and `admin`. |
//! | [`error`] | the error type. |
//!
//! ## Threads and channels of `wachat serve`
//!
//! ```text
//!             send port (6666)                       receive port (9999)
//!                   │                                        │
//!          accept-send thread                       accept-receive thread
//!                   │ spawns one per connection              │ spawns one per connection
//!                   ▼                                        ▼
//!     send handler thread ──────┐               receive handler thread
//!     reads requests; leaves    │ apply +       logs in, attaches an Outlet,
//!     its OKs with the store    │ pending       replays the inbox (read from the
//!     and reads on (Replies:    ▼               log a chunk at a time), reads
//!     in order)     ┌────────────────────┐      ACK/PONG, sends PING
//!                   │ Store → LocalStore │  ACK ─────────┘
//!                   │  Mutex<State>      │
//!                   │  Mutex<Pending>    │   group commit: the first thread that
//!                   │  queue, leadership │   needs the disk LEADS one batch: writes
//!                   └────────────────────┘   it, fsyncs once, hands the leadership
//!                      │ every N records:    on (to a sleeping waiter, else to the
//!                      ▼                     committer thread), hands the events to
//!              checkpointer thread           Router::deliver, writes the OKs left
//!      snapshots the state under the lock,   with it; the committer also writes the
//!      writes checkpoint-<pos>.csv outside   receipts no batch took along (1 ms)
//!                                                                     │
//!                                  Router: user → Outlet ◀────────────┘
//!                                  Outlet: non-blocking write into the user's
//!                                  receive socket; what the kernel does not take
//!                                  waits in a bounded buffer (full: BYE:SLOW)
//! ```
//!
//! With `--tls-cert`, every socket above is a TLS [`transport::Stream`]:
//! the same threads, the handshake inside the first frame's deadline, and
//! the outlet still never waits (the stream's lock is never held while
//! waiting for the network).
//!
//! With `--web-port` (default 8080), one more accept thread, `accept-web`,
//! spawns a thread per connection of the web port ([`web`]): it serves
//! the app's embedded files, and a connection that asks for `/ws/send` or
//! `/ws/receive` becomes a WebSocket [`transport::Stream`] handed to the
//! send or receive handler above, which cannot tell it from a TCP client.
//!
//! A message's path: the sender's handler parses `MSG`, the store checks it
//! and applies a `Record::Msg` to the in-memory state (which gives the
//! recipient's event its sequence number and the message its position in
//! the log) and leaves its line in the pending batch; the handler leaves
//! its `OK` with the store and reads on; the leader of the group commit
//! (this handler itself if no batch was being written) writes and fsyncs
//! the batch; only then does the recipient's outlet get the `MSG` event and
//! the sender its `OK:<id>:<ts>`, both written by the leader. The
//! recipient's `ACK` goes back through the store, which records
//! `DELIVERED` and queues a `STATUS` event for the sender; those ride
//! with the next batch (see `store::local::committer`). The text stays in the log: memory
//! keeps the position of each undelivered event, and `HISTORY` walks a
//! conversation's chain of positions on disk.
//!
//! ## Lock order
//!
//! A thread that holds one of these locks takes only locks further down
//! the list, so no two threads can wait for each other:
//!
//! 1. `Router::online` (the receive handler attaching: it reads where its
//!    inbox replay ends inside it, see `server::recv`);
//! 2. `LocalStore` state (`Mutex<State>`);
//! 3. `LocalStore` pending batch (a leader takes only this one);
//! 4. the log's segment list, then the group commit's queue;
//! 5. an `Outlet`'s buffer (taken by the router after it let its table go),
//!    or a send connection's `Replies`;
//! 6. a WebSocket [`transport::Stream`]'s state (a browser's connection,
//!    `transport::websocket`), then a TLS stream's state (taken under an
//!    outlet's buffer while it writes; neither calls out while held).
//!
//! **Leaf locks**, under which nothing else is taken, and which may be
//! taken under any of the above: the login cache (`store::password`),
//! the limits' buckets (`server::throttle`) and known (account, address)
//! pairs (`server::known`, under its file's writer when it appends), the damage reported (`store::damage`), the connection counts (`server::connections`), the send connections by device (`router::SendSessions`, whose sockets are shut outside it),
//! announced P2P ports, and who was told `JOINED` (`server::presence`,
//! which takes only its own buckets under it); and, protocol 1.2's, the
//! erasures to do (`store::local::erase`, held while `erase.csv` is written) and
//! the search index's blocks (`store::local::search`, held while a search reads
//! the log to extend it, under which only the log's segment list is
//! taken), both taken with no other lock held.
//!
//! A leader holds the log's writer (nobody else takes it), and, while it
//! hands its batch to the router, the store's *delivery turn*, which keeps
//! the batches in order and which nothing holding a lock above takes: so
//! the router's table may be taken under it. It runs the callbacks left
//! with it (the `OK`s) holding no lock.
//!
//! A cluster node (`--store postgres://…`) has the same threads and
//! locks, its committer writing each batch into PostgreSQL's shared log
//! before its own files (the leader) or applying the leader's (a
//! follower), plus a keeper (a follower reads the log's table as the
//! leader's `NOTIFY` says and watches the lease; the leader renews it)
//! and the node port's accept thread. A follower serves no client: each
//! connection it accepts is passed on to the leader over a TCP connection
//! of its own (a node link), with one more thread for the way back; the
//! leader serves it with a connection thread as its own clients'
//! (`cluster::links`; see `src/cluster/`).
//!
//! Four more kinds of thread: the **closer** (one), which lingers over
//! every closing socket with one `poll()` once its handler thread has
//! ended, at most 1 s and 64 KiB each and a bounded number at once
//! (`server::closer`), so closing connections hold no thread; the
//! **hasher** pool (one thread per core)
//! runs argon2 for every `LOGIN`/`REGISTER`, so a crowd of logins queues
//! instead of hashing hundreds at once; handlers send it a job and wait on
//! a channel of their own (two channels into the pool: logins are taken
//! before registrations). And one **accept** thread per port, which
//! refuses with `KO:BUSY` past `--max-connections` or `--max-per-address`
//! without spawning. And the **presence timer** (one), which tells a
//! user's roommates a `JOINED`/`LEFT` that its limit held back, at the
//! deadline the limit sets (`server::presence`). The **operator** thread
//! (one) looks at the door twice a second for the questions and changes
//! of `wachat users` (`server::operator`); with `--metrics`, one **metrics** accept thread
//! and a thread per scrape, at most 32 at once and 4 an address
//! (`web::metrics`). The four **push** threads (1.2, §28) POST Web Push
//! notifications to the browsers' push services, each device's in order,
//! from queues the router's batches fill (`server::push`; their lock is a
//! leaf, taken after the router's table, never under it).
//!
//! Every cost a client can make the server pay is bounded
//! (docs/RELIABILITY.md §7): requests per user (`--rate`) and per address
//! (`--address-rate`), failed logins
//! and new accounts per account and address (`server::auth`), listings
//! per request, and time: a frame must arrive, and what the server writes
//! must be taken, within `--timeout`. What it stores has budgets too
//! (`store::budget`, `KO:FULL`): bytes per sender (`--user-quota`),
//! events per inbox (`--inbox-max`) and a free-space floor (`--min-free`);
//! a write that fails anyway is retried by the committer every second, so
//! writes resume by themselves once there is room.
//!
//! ## Files (in `--data-dir`, default `data/`; directories 0700, files 0600)
//!
//! | file | rows |
//! |---|---|
//! | `users.csv` | one per account: name, email, argon2id hash, creation time (1.2: a name registered again after its quarantine has a newer row, which counts) |
//! | `log/<position>.csv` | the log, in segments of `--segment-size` bytes: one row per message, `DELIVERED`/`READ` change, `JOIN`/`LEAVE`, acknowledgement and last-seen time, and (1.2) change of a room's rules or of a server admin, a user's new password hash (`PASSWD`), a deleted account (`DELACCOUNT`), its name registered again after its quarantine (`REUSE`), a user's settings (`SET`: a disabled account among them, `store::disabled`; and each of its devices, 1.2: how far in its user's inbox the device has acknowledged, when and from where it was last seen, the SHA-256 of its token if it was linked with a code, `store::devices`), and an invite code made, used or revoked (`INVITE`, `store::invites`) (formats in `store::record`; the rules in `store::moderation`, their requests in `server::moderation`) |
//! | `status.request`, `status.csv` | `wachat users list` asking a running server for its figures, and its answer (`server::operator`) |
//! | `export.request`, `export.jsonl` | `wachat users export NAME` asking a running server for an account's export, and its answer (`server::accounts`) |
//! | `accounts.request`, `accounts.answer` | `wachat users add\|import\|passwd\|admin\|room\|disable\|enable\|invite\|revoke` asking a running server for changes to accounts, and its answer (`server::operator::changes`); all these requests are left and taken at the door, `store::door` |
//! | `cluster-node.txt` | a cluster node's directory (its name): `wachat users` refuses it and names `--store` (`store::door::NODE_MARK`) |
//! | `invites.request`, `invites.csv` | `wachat users invites` asking a running server for its invite codes, and its answer (`server::operator`) |
//! | `checkpoint-<position>.csv` | the in-memory state as of that log position (the two newest are kept; see `store::checkpoint`) |
//! | `erase.csv` | one per deleted message (protocol 1.2) whose text the eraser has not yet overwritten in the log: author, chat, id (see `store::local::erase`) |
//! | `actions.csv` | one row: since when the ids of edits, deletions and reactions are the server's own (1.2; `store::actions_since`) |
//! | `files/<id>`, `<id>.part`, `<id>.thumb`, `<id>.meta` | photos and files sent in chats (1.2): their bytes, an upload not finished yet, a thumbnail, and who sent it under which name (see `store::files::disk`) |
//! | `web.csv` | one row: the web port the server last served the browser app on, for the link `wachat users invite` prints (`admin::web_port`) |
//! | `known.csv` | one per (account, address) pair that logged in within 30 days: the folded name, the address, the time; no password (`server::known`) |
//! | `format.csv` | one row: the directory's data format and the version of the wachat that wrote it; a wachat refuses a newer format, naming both (`store::format`) |
//! | `server.csv` | one row: the data directory's random identity, made at its first start, which `SERVER` answers (`store::server_id`) |
//! | `vapid.pk8`, `push.csv` | 1.2 (§28): the server's Web Push key (PKCS#8, made at the first start, never replaced by the server) and the subscriptions, one per device, with who turned previews off (`server::push`) |
//! | `ballast` | no rows: 8 MiB of disk kept in reserve, removed so that a write that meets a full disk is still answered (and a device's token revoked then goes in its room, `store::devices`), and made again once there is room (`store::ballast`) |
//! | `wachat.lock` | no rows: its `flock` keeps a second server (or `wachat users`) out of the directory, and it names its holder (`store::lock`, [`pidlock`]) |
//!
//! Every file is CSV, one record per line (texts stay escaped as on the
//! wire), so a crash can only tear the last line of a file, which the next
//! start drops with a warning. A start reads `users.csv`, the newest whole
//! checkpoint and the log after it; a directory of the first layout
//! (`rooms.csv`, `history.csv`, `inbox.csv`, `seen.csv`) is converted once,
//! the old files kept in `v1-<time>/`.
//!
//! ## Threads and files of `wachat connect`
//!
//! ```text
//!   input thread ── reads a line per prompt ──▶ main thread ── parses, acts;
//!   (rustyline, or plain lines from a pipe)       stops if told   ▲ stop (replaced)
//!                                                  │              │
//!        outbox_tmp.csv ◀── Client::send    Job channel       events thread
//!                                                  ▼          prints each Notice above
//!                                                             the prompt; READ for the
//!                                                             open chat    ▲ Notice channel
//!                     sender thread ── send port        receive port ── receiver thread
//!                     drains the outbox pipelined,      MSG/STATUS → history.csv, fsync,
//!                     requests/replies, PING when idle  then ACK; PONG; reconnects
//! ```
//!
//! `wachat connect --tui` ([`tui`]) keeps the client's threads and changes
//! the front: a keys thread (crossterm), the main thread that owns the
//! screen's state and draws it (ratatui) on every key, notice or answer,
//! and a worker thread that runs the commands, `READ`s and older pages,
//! so that no round trip to the server ever freezes the screen. Both
//! consoles carry out commands through one [`console::session::ConsoleSession`].
//!
//! Everything printed goes through [`display::visible`]: text from the
//! network reaches the terminal with its control characters shown, not obeyed.
//!
//! Direct chats (`/p2p <user>`, protocol §8) add a P2P accept thread and
//! one thread per peer connection ([`p2p`]); those messages never touch the
//! server's ports, and what a peer did not acknowledge falls back to the
//! outbox.
//!
//! The client keeps, in `<data dir>/<host>:<send port>/<user>/devices/<device>/`
//! (a folder per server, user and device, protocol 1.2; default data dir
//! `~/.local/share/wachat`):
//! `history.csv`, every message both ways with each change of state, and
//! `outbox_tmp.csv`, the messages the server has not yet answered `OK` for
//! (empty when all is well), a linked device's `token`, and `wachat.lock`,
//! whose `flock` keeps a second client of the same device out of the
//! folder. See [`client`] and `client/local.rs`.

// The crate's documentation is read with its private items
// (`cargo doc --document-private-items --open`): a student reads how the
// server works, not only what it exports, so a public item's text may
// point at the private one that explains it.
#![allow(rustdoc::private_intra_doc_links)]

pub mod admin;
pub mod backup;
pub mod bench;
pub mod cert;
pub mod chaos;
pub mod cli;
pub mod client;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod conform;
pub mod console;
pub mod csvlog;
pub mod demo;
pub mod display;
pub mod error;
pub mod export;
pub mod federation;
pub mod i18n;
pub mod metrics;
#[cfg(feature = "cluster")]
pub mod migrate;
pub mod oneshot;
pub mod p2p;
pub mod pidlock;
pub mod prompt;
pub mod protocol;
pub mod router;
pub mod server;
pub mod store;
pub mod sys;
pub mod top;
pub mod transport;
pub mod tui;
pub mod web;
