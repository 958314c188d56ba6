-- Schema version 2: the cluster's identity, which protocol 1.1's `SERVER`
-- answers (docs/PROTOCOL.md §11). One row, made once, when this migration
-- runs, and shared by every node: a client that fails over from one node
-- to another meets the same server. A single server keeps its id in its
-- data directory (`server.csv`); `wachat migrate` copies that one here.
-- 32 lowercase hex digits, like a single server's (a random UUID's digits).
CREATE TABLE server (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    id          text    NOT NULL,
    created_ms  bigint  NOT NULL
);
INSERT INTO server (id, created_ms)
VALUES (replace(gen_random_uuid()::text, '-', ''), (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
