-- Schema version 9: since when a message's action id (`_e…`, `_d…`,
-- `_r…`, `_u…`, `_x…`, protocol 1.2 §19) is the server's own (issue 38,
-- `protocol::action::ActionsSince`). From this version on no node takes
-- such an id from a client's `MSG` or `REPLY`; a message stored before
-- it may hold one that a client chose, and is read as a plain message.
-- The time is this upgrade's, after the newest message's (a fresh
-- database: its creation). A single server keeps the same time in its
-- data directory's `actions.csv` (src/store/actions_since.rs).
-- (IF NOT EXISTS: a test replays migrations from version 7 on a newer database.)
ALTER TABLE server ADD COLUMN IF NOT EXISTS actions_since bigint NOT NULL DEFAULT 0;
UPDATE server SET actions_since = GREATEST(
    (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
    (SELECT coalesce(max(ts), 0) + 1 FROM messages));
