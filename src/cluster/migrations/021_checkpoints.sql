-- Schema version 21: checkpoints, and a log that does not grow without
-- end (`cluster::checkpoint`). The leader stores its checkpoint here as
-- the single server writes it to its disk: a node that joins loads the
-- newest and applies only the log's rows after it, instead of every row
-- since the first. Version 19's `checkpoints` was never written: it goes.
-- (Only it: this version's tables are kept, and made only if missing, as
-- versions 18 to 20 do, because a test replays migrations on a newer
-- database.)
DO $$
BEGIN
    IF to_regclass('checkpoint_parts') IS NULL THEN
        DROP TABLE IF EXISTS checkpoints;
    END IF;
END
$$;

-- One checkpoint: the log position it covers, the epoch of the leader
-- that stored it (only while that epoch held the lease: the fence, as
-- for the log's rows), `users.csv` as of that position (no header line),
-- and the erasures the leader still had to do (`erase.csv`'s rows, no
-- header line). The state itself is in `checkpoint_parts`.
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

-- The log's records before the older checkpoint kept, moved out of `log`
-- in pieces of about 4 MiB: no node applies them any more (a node that
-- far behind starts from a checkpoint), but every node keeps their bytes,
-- which `HISTORY`, `SEARCH` and the inbox replays read. `pos` is the
-- position of the piece's first record.
CREATE TABLE IF NOT EXISTS log_archive (
    pos      bigint PRIMARY KEY,
    records  bytea  NOT NULL
);
