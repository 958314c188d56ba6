-- Schema version 6: a receive session per device (protocol 1.2), so that
-- the devices of one user may be online on different nodes at once.
--
-- One row per device online: the node holding its receive connection and
-- the epoch of its login. Epochs still come from the user's one row in
-- `sessions`, which every login and logout of any of its devices locks
-- first: the count of a user's devices (`--max-devices`) is taken under
-- that lock, across nodes. A device that logs in again (on any node)
-- takes its row with a higher epoch: the node holding the lower one says
-- `BYE:REPLACED` to that device only. Rows of a node whose heartbeat is
-- stale (`nodes`) do not count: its devices are offline.
CREATE TABLE device_sessions (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    folded   text   NOT NULL,
    node     text   NOT NULL,
    epoch    bigint NOT NULL,
    PRIMARY KEY (user_id, folded)
);
CREATE INDEX device_sessions_by_node ON device_sessions (node);

-- A user with several devices (protocol 1.2) gets, in its inbox, copies
-- of its own messages (for its other devices) and read marks: events of
-- kinds 3 (a copy: a run of the messages it sent, in their stream) and 4
-- (`READMARK`: a run of the messages it read). A node sets `several` when
-- the user's second live device logs in, and clears it when one is left.
ALTER TABLE inboxes ADD COLUMN several boolean NOT NULL DEFAULT false;
