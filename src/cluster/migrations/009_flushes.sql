-- Schema version 9: rows that a durability barrier updates
-- (src/cluster/durable.rs, docs/CLUSTER.md "Commits that do not hold
-- their locks across the flush"). A committer commits a batch without
-- waiting for PostgreSQL's log to reach the disk, so that the batch's row
-- locks are released at once; then, before anyone hears of the batch, it
-- commits a one-row update here the ordinary way, whose flush carries the
-- batch's commit record with it (the log is written in order). 64 rows,
-- so that barriers of different committers and readers rarely queue on
-- one row.
CREATE TABLE flushes (
    slot    smallint PRIMARY KEY,
    n       bigint   NOT NULL DEFAULT 0
);
INSERT INTO flushes (slot) SELECT generate_series(0, 63);
