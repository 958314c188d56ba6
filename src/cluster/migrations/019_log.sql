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

-- Every user's devices (protocol 1.2), which the leader keeps here beside
-- its own `devices.csv`, so that a node that leads after it has them:
-- positions, when each was seen and from where, and the SHA-256 of a
-- linked device's token. By the user's name (folded): the accounts are
-- the log's.
-- (A database of the first design has its `devices` by account number:
-- they are copied. A later database that replays this file keeps its own.)
DO $$
BEGIN
    IF to_regclass('users') IS NOT NULL THEN
        ALTER TABLE IF EXISTS devices RENAME TO devices_before_19;
    END IF;
END
$$;
CREATE TABLE IF NOT EXISTS devices (
    user_folded  text   NOT NULL,
    folded       text   NOT NULL,
    name         text   NOT NULL,
    position     bigint,
    seen_ms      bigint NOT NULL,
    address      text   NOT NULL,
    token        bytea,
    PRIMARY KEY (user_folded, folded)
);
DO $$
BEGIN
    IF to_regclass('devices_before_19') IS NOT NULL THEN
        INSERT INTO devices (user_folded, folded, name, position, seen_ms, address, token)
        SELECT u.folded, d.folded, d.name, d.position, d.seen_ms, d.address, d.token
        FROM devices_before_19 d JOIN users u ON u.id = d.user_id;
        DROP TABLE devices_before_19;
    END IF;
END
$$;
