-- A cluster's database, made by `schema.rs` in one transaction with the
-- version it is (`wachat_schema`). What the cluster keeps here is what
-- no node's copy of the store holds: the shared log and its lease, the
-- checkpoints, the bytes of the files of chats, the door and the server's
-- identity. Everything else a single server keeps is in the log, the
-- devices, the disabled accounts, the invite codes and the files'
-- descriptions too.
--
-- (IF NOT EXISTS: a database of schema 18 or 22 has the tables of the
-- door and the server's identity already, as they are here, and the
-- files' in their older shape; `wachat migrate` brings it to this schema
-- with this file, `migrate::convert`.)

-- The cluster's identity, which protocol 1.1 tells clients: one row,
-- made once and shared by every node, so that a client that fails over
-- from one node to another meets the same server. A single server keeps
-- its id in its data directory (`server.csv`); `wachat migrate` copies
-- that one here. 32 lowercase hex digits, like a single server's. Since
-- `actions_since` (Unix ms), a message's action id (`_e…`, `_d…`, …,
-- protocol 1.2 §19) is the server's own (`protocol::action::ActionsSince`,
-- a single server's `actions.csv`).
CREATE TABLE IF NOT EXISTS server (
    one            boolean PRIMARY KEY DEFAULT true CHECK (one),
    id             text    NOT NULL,
    created_ms     bigint  NOT NULL,
    actions_since  bigint  NOT NULL
);
INSERT INTO server (id, created_ms, actions_since)
SELECT replace(gen_random_uuid()::text, '-', ''), now_ms, now_ms
FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms) AS now
WHERE NOT EXISTS (SELECT 1 FROM server);

-- Which node leads, and its epoch (`cluster::lease`). The leader runs the
-- single server's store and commits each of its batches as one row of
-- `log` before it writes the batch to its own disk; every other node
-- reads the rows in order and applies them with the same code
-- (`store::shared_log`, `cluster::log`). A row is written only under the
-- epoch that holds the lease (the fence), so a deposed leader's write
-- fails instead of forking the log.
CREATE TABLE IF NOT EXISTS lease (
    one      boolean     PRIMARY KEY DEFAULT true CHECK (one),
    -- Grows by one with each new leader.
    epoch    bigint      NOT NULL,
    -- The leader's node name.
    holder   text        NOT NULL,
    -- Its last renewal, by the database's clock: the lease runs out
    -- `cluster::lease::TERM` after it.
    renewed  timestamptz NOT NULL
);

-- One group commit of the leader: its first record's position in the log
-- (positions count the bytes of records, as a single server's log files
-- do), the epoch it was written under, the new accounts' lines of
-- `users.csv`, and the records, one line each.
CREATE TABLE IF NOT EXISTS log (
    pos      bigint PRIMARY KEY,
    epoch    bigint NOT NULL,
    users    bytea  NOT NULL,
    records  bytea  NOT NULL
);

-- The log's records before the older checkpoint kept, moved out of `log`
-- in pieces of about 4 MiB (`cluster::checkpoint`): no node applies them
-- any more (a node that far behind starts from a checkpoint), but every
-- node keeps their bytes, which reads of history and search and the
-- inbox replays read. `pos` is the position of the piece's first record.
CREATE TABLE IF NOT EXISTS log_archive (
    pos      bigint PRIMARY KEY,
    records  bytea  NOT NULL
);

-- A checkpoint of the leader's state, stored here as the single server
-- writes it to its disk: a node that joins loads the newest and applies
-- only the log's rows after it. The log position it covers, the epoch of
-- the leader that stored it (only while that epoch held the lease: the
-- fence, as for the log's rows), `users.csv` as of that position (no
-- header line), and the erasures the leader still had to do
-- (`erase.csv`'s rows, no header line).
CREATE TABLE IF NOT EXISTS checkpoints (
    pos       bigint  PRIMARY KEY,
    epoch     bigint  NOT NULL,
    users     bytea   NOT NULL,
    erasures  bytea   NOT NULL,
    parts     integer NOT NULL
);

-- The checkpoint's file (`store::checkpoint`), in parts of 4 MiB at most.
CREATE TABLE IF NOT EXISTS checkpoint_parts (
    pos    bigint  NOT NULL REFERENCES checkpoints (pos) ON DELETE CASCADE,
    part   integer NOT NULL,
    bytes  bytea   NOT NULL,
    PRIMARY KEY (pos, part)
);

-- The door (`cluster::door`, `store::door`): the way a teacher's
-- commands reach the cluster's leader.
--
-- The requests of a teacher's commands (`wachat users
-- add|import|passwd|admin|room|export --store`), left at the door for a
-- running node, as a single server's are left in its data directory
-- (`accounts.request`). The command inserts a row and waits for its
-- `answer`; one node takes the oldest row no one took (`FOR UPDATE SKIP
-- LOCKED`), makes the changes and writes the answer. The command deletes
-- its row once read, or when no node took it in time; rows a killed
-- command left are deleted by the next command an hour on.
CREATE TABLE IF NOT EXISTS admin_requests (
    id       bigserial PRIMARY KEY,
    kind     text NOT NULL,
    body     bytea NOT NULL,
    asked_ms bigint NOT NULL,
    taken_by text,
    answer   bytea
);

-- The bytes of the photos and files in chats (protocol 1.2, §21), so that
-- any node serves any file (`cluster::files`). Their descriptions (owner,
-- name, size, sha256, the messages that carry them) are FILE records of
-- the log, as on a single server, whose bytes are in <data>/files/
-- (src/store/files/disk.rs); src/store/files/mod.rs holds the rules.
-- A file's row: the bytes its upload received so far, which each part
-- moves on from where they end (two parts of one upload take turns on it).
CREATE TABLE IF NOT EXISTS file_blobs (
    file     text   PRIMARY KEY,            -- 128 random bits in hex
    received bigint NOT NULL DEFAULT 0      -- bytes in file_chunks so far
);
-- The bytes, a row per part uploaded (at most 12,000 bytes each), and the
-- thumbnail's (thumb = true) cut the same way: a download reads one or two
-- rows, never the whole file.
CREATE TABLE IF NOT EXISTS file_chunks (
    file  text    NOT NULL REFERENCES file_blobs (file) ON DELETE CASCADE,
    thumb boolean NOT NULL,
    off   bigint  NOT NULL,
    data  bytea   NOT NULL,
    PRIMARY KEY (file, thumb, off)
);
-- Photos and archives do not compress: stored as they are, out of line.
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
