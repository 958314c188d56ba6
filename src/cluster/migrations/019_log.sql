-- Schema version 19: one engine. The leader runs the single server's
-- store and commits each of its batches here, as one row of `log`, before
-- it writes the batch to its own disk; every other node reads the rows in
-- order and applies them with the same code (`store::shared_log`,
-- `cluster::log`). `lease` says which node leads, and its epoch: a row is
-- written only under the epoch that holds the lease (the fence), so a
-- deposed leader's write fails instead of forking the log.
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

-- A checkpoint of the leader's state at a position of the log, with the
-- whole `users.csv` as of it: a node that joins starts from the newest and
-- reads only the log after it.
CREATE TABLE IF NOT EXISTS checkpoints (
    pos      bigint PRIMARY KEY,
    users    bytea  NOT NULL,
    state    bytea  NOT NULL
);
